"""The committed tagger: feature CRF and window neural tagger combined in one Viterbi pass.

The two models err differently (the CRF leans on exact word and bigram identities, the neural
tagger on news-corpus vectors and character n-grams). They are combined as a product of experts:
each token's tag score is `w * CRF emission + (1 - w) * neural log-probability`, transitions are
`w * CRF transitions` plus the IOB2 constraints, and one Viterbi pass decodes. Both models run in
numpy (the CRF's weights are read out of crfsuite at training time, `training/crf.py`), so tagging
needs neither crfsuite nor any deep-learning runtime.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Sequence
from pathlib import Path

import numpy as np

from . import nn
from .consistency import propagate
from .crf import NumpyCRF
from .features import Featurizer, Lexicon
from .iob2 import TAGS, repair_iob2
from .viterbi import allowed_transitions, decode

CRF_ARRAYS = "crf.npz"
CRF_ATTRS = "crf_attributes.txt"


def load_crf(path: Path, net: nn.WindowTagger) -> NumpyCRF:
    """The CRF stored by `training.crf.save_crf`, keyed on the network's clusters and gazetteer."""
    arr = np.load(path / CRF_ARRAYS)
    attrs = (path / CRF_ATTRS).read_text(encoding="utf-8").split("\n")[:-1]
    feat = Featurizer(Lexicon(clusters=net.clusters, gazetteer=net.gazetteer))
    return NumpyCRF(attrs, arr["w"].astype(np.float32), arr["trans"], feat)


class NERModel:
    """Neural tagger (one network or an averaged ensemble), optional CRF, the CRF's weight, decoding."""

    def __init__(self, net: nn.WindowTagger | None, crf: NumpyCRF | None, crf_weight: float):
        if net is None and crf is None:
            raise ValueError("a model needs a neural tagger, a CRF, or both")
        self.net = net
        self.crf = crf
        self.crf_weight = 1.0 if net is None else (0.0 if crf is None else crf_weight)
        n_tags = len(TAGS)
        trans = allowed_transitions()
        if crf is not None:
            trans = trans + self.crf_weight * np.vstack([crf.trans, np.zeros((1, n_tags), np.float32)])
        self.trans = trans

    @classmethod
    def load(cls, path: Path) -> NERModel:
        meta = json.loads((path / "config.json").read_text())
        net = nn.load(path)
        crf = load_crf(path, net) if (path / CRF_ARRAYS).exists() else None
        return cls(net, crf, meta.get("crf_weight", 0.5))

    def scores(self, sents: list[list[str]]) -> np.ndarray:
        """(n_tokens, n_tags) combined per-token scores."""
        w = self.crf_weight
        out = None
        if self.net is not None and w < 1:
            out = (1 - w) * self.net.log_probs(sents)
        if self.crf is not None and w > 0:
            e = w * self.crf.emissions(sents)
            out = e if out is None else out + e
        return out

    def tag(
        self, sents: list[list[str]], doc_ids: Sequence[Hashable] | None = None, context_radius: int | None = None
    ) -> list[list[str]]:
        lengths = np.array([len(s) for s in sents], np.int64)
        if not len(sents) or lengths.sum() == 0:
            return [[] for _ in sents]
        # The constrained Viterbi gives valid IOB2, and the consistency pass only writes `B-X I-X ...`
        # over runs of `O`; the repair is a guard for the sentences that pass changed.
        tags = decode(self.scores(sents), lengths, self.trans)
        if doc_ids is None:
            return tags
        filled = propagate(sents, tags, doc_ids, radius=context_radius)
        return [f if f == t else repair_iob2(f) for f, t in zip(filled, tags, strict=True)]
