"""The feature CRF: trained with python-crfsuite, evaluated in numpy for batch tagging."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pycrfsuite

from .features import WINDOW, Featurizer

MEMO_LIMIT = 500_000  # distinct token types kept between calls


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


class CRFModel:
    """A loaded crfsuite model plus the featurizer it was trained with."""

    def __init__(self, path: Path, feat: Featurizer):
        self.tagger = pycrfsuite.Tagger()
        self.tagger.open(str(path))
        self.feat = feat

    def tag(self, sents: list[list[str]]) -> list[list[str]]:
        t = self.tagger
        f = self.feat.sentence
        return [list(t.tag(f(s))) if s else [] for s in sents]


class NumpyCRF:
    """The trained CRF evaluated in numpy: same features and weights, batch Viterbi and marginals.

    A linear-chain CRF's emission score is a sum of weights of the token's attributes. With the
    featurizer's layout (own-token attributes, +-2 window attributes, two bigrams) this splits into
    per-type vectors computed once per distinct token type of a batch, gathered over the window,
    plus two bigram lookups per token: far faster than one crfsuite call per sentence, and it
    gives marginals for mixing with the neural tagger.
    """

    def __init__(self, attrs: list[str], weights: np.ndarray, trans: np.ndarray, feat: Featurizer):
        self.attr_index = {a: i for i, a in enumerate(attrs)}
        self.attrs = attrs
        # (A + 1, T) in nn.TAGS order; the last row stays zero (see `_add_types`).
        self.w = np.vstack([weights, np.zeros((1, weights.shape[1]))]).astype(np.float32)
        self.trans = trans.astype(np.float32)  # (T, T) from -> to
        self.feat = feat
        self._memo: dict[str, tuple[str, np.ndarray, np.ndarray]] = {}
        self._bound = np.stack([self._sum([f"{o}BOUND"]) for o in WINDOW])

    @staticmethod
    def from_crfsuite(path: Path, feat: Featurizer) -> NumpyCRF:
        from .nn import TAGS

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

    def _sum(self, attrs: list[str]) -> np.ndarray:
        rows = [i for i in (self.attr_index.get(a) for a in attrs) if i is not None]
        return self.w[rows].sum(axis=0) if rows else np.zeros(self.w.shape[1], np.float32)

    def _add_types(self, toks: list[str]) -> None:
        """Memoise the local and per-offset context score vectors of new token types, all at once."""
        ai = self.attr_index
        zero_row = len(self.w) - 1  # a zero weight row closes no sum but keeps every segment non-empty
        ids: list[int] = []
        starts: list[int] = []
        keys: list[str] = []
        for tok in toks:
            k, local, ctx = self.feat.token_attrs(tok)
            keys.append(k)
            for attrs in (local, *(ctx[o] for o in WINDOW)):
                starts.append(len(ids))
                ids.append(zero_row)
                ids.extend(i for i in map(ai.get, attrs) if i is not None)
        sums = np.add.reduceat(self.w[np.asarray(ids, np.int64)], np.asarray(starts, np.int64), axis=0)
        sums = sums.reshape(len(toks), 1 + len(WINDOW), -1)
        for tok, k, v in zip(toks, keys, sums, strict=True):
            self._memo[tok] = (k, v[0], v[1:])

    def emissions(self, sents: list[list[str]]) -> np.ndarray:
        """(n_tokens, T) emission scores of all tokens, in order."""
        if len(self._memo) > MEMO_LIMIT:  # bound memory in long-running processes
            self._memo.clear()
        memo = self._memo
        toks = [t for s in sents for t in s]
        index = {t: i for i, t in enumerate(dict.fromkeys(toks), start=2)}  # 0 = nothing, 1 = boundary
        new = [t for t in index if t not in memo]
        if new:
            self._add_types(new)
        enc = [memo[t] for t in index]
        n_t = self.w.shape[1]
        local = np.zeros((len(enc) + 2, n_t), np.float32)
        ctx = np.zeros((len(enc) + 2, len(WINDOW), n_t), np.float32)
        if enc:
            local[2:] = np.stack([e[1] for e in enc])
            ctx[2:] = np.stack([e[2] for e in enc])
        ctx[1] = self._bound
        # Layout: sentences end to end, each gap = [boundary, nothing, nothing, boundary] so that
        # offset +-1 of an edge token sees the boundary and offset +-2 of an edge token sees it too
        # only when it is the adjacent slot (exactly crfsuite's `{o}BOUND` attributes).
        lengths = np.fromiter((len(s) for s in sents), np.int64, len(sents))
        sent_of = np.repeat(np.arange(len(sents)), lengths)
        pos = np.arange(len(toks)) + 4 * sent_of + 2
        flat = np.zeros(len(toks) + 4 * len(sents) + 4, np.int64)
        flat[pos] = [index[t] for t in toks]
        starts = np.cumsum(np.concatenate([[0], lengths[:-1]])) + 4 * np.arange(len(sents)) + 2
        flat[starts - 1] = 1
        flat[starts + lengths] = 1
        tid = flat[pos]
        e = local[tid]
        for j, o in enumerate(WINDOW):
            e += ctx[flat[pos + o], j]
        keys = [enc[i - 2][0] for i in tid]
        first = np.zeros(len(toks), bool)
        first[np.cumsum(np.concatenate([[0], lengths[:-1]]))[lengths > 0]] = True
        last = np.zeros(len(toks), bool)
        last[(np.cumsum(lengths) - 1)[lengths > 0]] = True
        ai = self.attr_index
        prev = ["^" if first[i] else keys[i - 1] for i in range(len(keys))]
        nxt = ["$" if last[i] else keys[i + 1] for i in range(len(keys))]
        b1 = np.fromiter((ai.get(f"b-={p}|{k}", -1) for p, k in zip(prev, keys, strict=True)), np.int64, len(keys))
        b2 = np.fromiter((ai.get(f"b+={k}|{q}", -1) for k, q in zip(keys, nxt, strict=True)), np.int64, len(keys))
        for b in (b1, b2):
            hit = b >= 0
            e[hit] += self.w[b[hit]]
        return e

    def marginals(self, emis: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Per-token label marginals (n_tokens, T) by batched forward-backward."""
        from .nn import _pad_batches

        out = np.empty_like(emis)
        for idx, flat, mask, lmax in _pad_batches(lengths):
            e = np.zeros((len(idx), lmax, emis.shape[1]), np.float32)
            e[mask] = emis[flat]
            ln = lengths[idx]
            alpha = np.zeros_like(e)
            alpha[:, 0] = e[:, 0]
            tr = self.trans[None]
            for i in range(1, lmax):
                a = _lse(alpha[:, i - 1][:, :, None] + tr, axis=1) + e[:, i]
                alpha[:, i] = np.where((i < ln)[:, None], a, alpha[:, i - 1])
            beta = np.zeros_like(e)
            for i in range(lmax - 2, -1, -1):
                b = _lse(tr + (e[:, i + 1] + beta[:, i + 1])[:, None, :], axis=2)
                beta[:, i] = np.where((i + 1 < ln)[:, None], b, 0.0)
            logz = _lse(alpha[np.arange(len(idx)), ln - 1], axis=1)
            m = np.exp(alpha + beta - logz[:, None, None])
            out[flat] = m[mask]
        return out


def _lse(x: np.ndarray, axis: int) -> np.ndarray:
    mx = x.max(axis=axis, keepdims=True)
    return (mx + np.log(np.exp(x - mx).sum(axis=axis, keepdims=True))).squeeze(axis)
