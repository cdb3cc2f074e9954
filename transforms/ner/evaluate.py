"""Strict span scoring with conlleval's rules, and the committed model's score on the test split.

An entity counts only when its type and both boundaries match. Chunks are read the way conlleval
reads them: `B-X` always opens one, and so does an `I-X` after `O` or after another type.

    python -m transforms.ner.evaluate                # committed model on the ANERcorp test split
    python -m transforms.ner.evaluate --docs 50      # also with the document consistency pass
    python -m transforms.ner.evaluate --split dev
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .text import TYPES


def spans(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """Entity chunks `(type, start, end_exclusive)` of one sentence, conlleval-style."""
    out: list[tuple[str, int, int]] = []
    cur_type: str | None = None
    start = 0
    for i, tag in enumerate([*tags, "O"]):
        bio, _, typ = tag.partition("-")
        if bio not in ("B", "I"):
            bio, typ = "O", ""
        ends = cur_type is not None and (bio in ("O", "B") or typ != cur_type)
        if ends:
            out.append((cur_type, start, i))
            cur_type = None
        if bio == "B" or (bio == "I" and cur_type is None):
            cur_type, start = typ, i
    return out


@dataclass(frozen=True)
class Score:
    """Counts and ratios for one type (or all types together)."""

    tp: int
    n_pred: int
    n_gold: int

    @property
    def precision(self) -> float:
        return self.tp / self.n_pred if self.n_pred else 0.0

    @property
    def recall(self) -> float:
        return self.tp / self.n_gold if self.n_gold else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def score(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> dict[str, Score]:
    """Micro (`"ALL"`) and per-type strict span scores over aligned sentences of tags."""
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold sentences but {len(pred)} predicted")
    tp: dict[str, int] = {}
    npred: dict[str, int] = {}
    ngold: dict[str, int] = {}
    for g, p in zip(gold, pred, strict=True):
        if len(g) != len(p):
            raise ValueError(f"sentence of {len(g)} gold tags but {len(p)} predicted")
        gs, ps = set(spans(g)), set(spans(p))
        for s in gs:
            ngold[s[0]] = ngold.get(s[0], 0) + 1
        for s in ps:
            npred[s[0]] = npred.get(s[0], 0) + 1
        for s in gs & ps:
            tp[s[0]] = tp.get(s[0], 0) + 1
    types = sorted(set(ngold) | set(npred), key=lambda t: (TYPES.index(t) if t in TYPES else 99, t))
    out = {t: Score(tp.get(t, 0), npred.get(t, 0), ngold.get(t, 0)) for t in types}
    out["ALL"] = Score(sum(tp.values()), sum(npred.values()), sum(ngold.values()))
    return out


def table(scores: dict[str, Score]) -> str:
    """A fixed-width P/R/F1 table, micro average last."""
    lines = [f"{'type':<6}{'P':>8}{'R':>8}{'F1':>8}{'gold':>7}{'pred':>7}"]
    for name, s in [*((k, v) for k, v in scores.items() if k != "ALL"), ("ALL", scores["ALL"])]:
        lines.append(
            f"{name:<6}{100 * s.precision:>8.2f}{100 * s.recall:>8.2f}{100 * s.f1:>8.2f}{s.n_gold:>7}{s.n_pred:>7}"
        )
    return "\n".join(lines)


def run(tagger, sents: list[list[str]], gold: list[list[str]], doc_ids=None) -> tuple[dict[str, Score], float]:
    """Scores of `tagger` (anything with `tag(sents, doc_ids)`) and its speed in tokens per second."""
    t0 = time.perf_counter()
    pred = tagger.tag(sents, doc_ids)
    secs = time.perf_counter() - t0
    return score(gold, pred), sum(map(len, sents)) / max(secs, 1e-9)


def main(argv: list[str] | None = None) -> int:
    from . import Tagger
    from .train import DATA_DIR, load_splits

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
    res, tps = run(tagger, sents, gold)
    print(f"{args.split}: {len(sents)} sentences, {n} tokens; load {load_s:.2f} s; {tps:,.0f} tokens/s (first call)")
    print(table(res))
    if args.docs:
        res, tps = run(tagger, sents, gold, [i // args.docs for i in range(len(sents))])
        print(f"\nwith the consistency pass, documents = blocks of {args.docs} sentences ({tps:,.0f} tokens/s)")
        print(table(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
