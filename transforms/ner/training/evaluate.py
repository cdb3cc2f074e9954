"""The committed model's strict span scores and speed on an ANERcorp split.

    python -m transforms.ner.training.evaluate                # committed model on the ANERcorp test split
    python -m transforms.ner.training.evaluate --docs 50      # also with the document consistency pass
    python -m transforms.ner.training.evaluate --split dev
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from .. import Tagger
from .anercorp import DATA_DIR, load_splits
from .scoring import Score, score, table


def run(
    tagger, sents: list[list[str]], gold: list[list[str]], doc_ids=None
) -> tuple[dict[str, Score], Score, float]:
    """Scores of `tagger` (anything with `tag(sents, doc_ids)`), its micro score in seqeval's strict
    IOB2 mode, and its speed in tokens per second."""
    t0 = time.perf_counter()
    pred = tagger.tag(sents, doc_ids)
    secs = time.perf_counter() - t0
    strict = score(gold, pred, scheme_strict=True)["ALL"]
    return score(gold, pred), strict, sum(map(len, sents)) / max(secs, 1e-9)


def _strict_line(s: Score) -> str:
    return (
        f"seqeval strict mode (IOB2): F1 {100 * s.f1:.2f} (P {100 * s.precision:.2f}, "
        f"R {100 * s.recall:.2f}; {s.n_gold} gold entities)"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=None, help="model directory (default: the committed one)")
    ap.add_argument("--split", choices=("test", "dev", "train"), default="test")
    ap.add_argument("--data", type=Path, default=DATA_DIR, help="folder holding the ANERcorp split files")
    ap.add_argument(
        "--docs",
        type=int,
        default=0,
        help="also score with the consistency pass, treating blocks of this many sentences as documents",
    )
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    tagger = Tagger.load(args.model)
    load_s = time.perf_counter() - t0
    sents, gold = load_splits(args.data)[args.split]
    n = sum(map(len, sents))
    res, strict, tps = run(tagger, sents, gold)
    print(f"{args.split}: {len(sents)} sentences, {n} tokens; load {load_s:.2f} s; {tps:,.0f} tokens/s (first call)")
    print(table(res))
    print(_strict_line(strict))
    if args.docs:
        res, strict, tps = run(tagger, sents, gold, [i // args.docs for i in range(len(sents))])
        print(f"\nwith the consistency pass, documents = blocks of {args.docs} sentences ({tps:,.0f} tokens/s)")
        print(table(res))
        print(_strict_line(strict))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
