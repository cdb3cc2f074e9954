"""Training of the feature CRF with python-crfsuite, and its weights read out for the numpy CRF."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pycrfsuite

from ..crf import NumpyCRF
from ..features import Featurizer
from ..iob2 import TAGS
from ..model import CRF_ARRAYS, CRF_ATTRS


def train_crf(
    feat: Featurizer,
    sents: list[list[str]],
    tags: list[list[str]],
    out: Path,
    c1: float = 0.05,
    c2: float = 0.05,
    iters: int = 200,
) -> Path:
    """L-BFGS CRF with elastic-net regularisation; deterministic (single thread, fixed data order)."""
    tr = pycrfsuite.Trainer(verbose=False)
    for s, t in zip(sents, tags, strict=True):
        tr.append(feat.sentence(s), t)
    tr.set_params({"c1": c1, "c2": c2, "max_iterations": iters, "feature.possible_transitions": True})
    out.parent.mkdir(parents=True, exist_ok=True)
    tr.train(str(out))
    return out


def crf_from_crfsuite(path: Path, feat: Featurizer) -> NumpyCRF:
    """The weights of a trained crfsuite model read out into a `NumpyCRF`, in `iob2.TAGS` order."""
    tg = pycrfsuite.Tagger()
    tg.open(str(path))
    info = tg.info()
    lab = {t: i for i, t in enumerate(TAGS)}
    attrs = sorted({a for a, _ in info.state_features})
    aidx = {a: i for i, a in enumerate(attrs)}
    w = np.zeros((len(attrs), len(TAGS)), np.float32)
    for (a, y), v in info.state_features.items():
        w[aidx[a], lab[y]] = v
    tr = np.zeros((len(TAGS), len(TAGS)), np.float32)
    for (y1, y2), v in info.transitions.items():
        tr[lab[y1], lab[y2]] = v
    return NumpyCRF(attrs, w, tr, feat)


def save_crf(crf: NumpyCRF, out: Path) -> None:
    """CRF weights as float16 arrays plus the attribute names, one per line (read by `model.load_crf`)."""
    np.savez(out / CRF_ARRAYS, w=crf.w[:-1].astype(np.float16), trans=crf.trans.astype(np.float32))
    (out / CRF_ATTRS).write_text("\n".join(crf.attrs) + "\n", encoding="utf-8")
