"""Strict span scoring with conlleval's rules, and the P/R/F1 table training and evaluation print.

An entity counts only when its type and both boundaries match. Chunks are read the way conlleval
reads them (`iob2.spans`): `B-X` always opens one, and so does an `I-X` after `O` or after another type.
That is seqeval's default mode, the one the published ANERcorp transformer scores use. With
`scheme_strict=True` chunks are read as seqeval's strict IOB2 mode reads them: only `B-X` opens one.
The two differ only where the tags are not valid IOB2 (the test split's gold has 74 such `I-` tags;
the tagger's output is always valid).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..iob2 import TYPES, spans


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


def score(
    gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]], scheme_strict: bool = False
) -> dict[str, Score]:
    """Micro (`"ALL"`) and per-type strict span scores over aligned sentences of tags."""
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold sentences but {len(pred)} predicted")
    tp: dict[str, int] = {}
    npred: dict[str, int] = {}
    ngold: dict[str, int] = {}
    for g, p in zip(gold, pred, strict=True):
        if len(g) != len(p):
            raise ValueError(f"sentence of {len(g)} gold tags but {len(p)} predicted")
        gs, ps = set(spans(g, scheme_strict)), set(spans(p, scheme_strict))
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
