"""The feature CRF evaluated in numpy for batch tagging (trained with python-crfsuite: `training/crf.py`)."""

from __future__ import annotations

import numpy as np

from .features import WINDOW, Featurizer

MEMO_LIMIT = 500_000  # distinct token types kept between calls


class NumpyCRF:
    """The trained CRF evaluated in numpy: same features and weights, emission scores of whole batches.

    A linear-chain CRF's emission score is a sum of weights of the token's attributes. With the
    featurizer's layout (own-token attributes, +-2 window attributes, two bigrams) this splits into
    per-type vectors computed once per distinct token type of a batch, gathered over the window,
    plus two bigram lookups per token: far faster than one crfsuite call per sentence, and the
    scores mix with the neural tagger's in one Viterbi pass (`model.NERModel`).
    """

    def __init__(self, attrs: list[str], weights: np.ndarray, trans: np.ndarray, feat: Featurizer):
        self.attr_index = {a: i for i, a in enumerate(attrs)}
        self.attrs = attrs
        # (A + 1, T) in iob2.TAGS order; the last row stays zero (see `_add_types`).
        self.w = np.vstack([weights, np.zeros((1, weights.shape[1]))]).astype(np.float32)
        self.trans = trans.astype(np.float32)  # (T, T) from -> to
        self.feat = feat
        self._memo: dict[str, tuple[str, np.ndarray, np.ndarray]] = {}
        self._bound = np.stack([self._sum([f"{o}BOUND"]) for o in WINDOW])

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
