"""The feature CRF evaluated in numpy for batch tagging (trained with python-crfsuite: `training/crf.py`)."""

from __future__ import annotations

import numpy as np

from .features import WINDOW, Featurizer
from .type_features import Lookup, NewTypes, crf_attribute_ids

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
        self._memo: dict[str, tuple[int, np.ndarray, np.ndarray]] = {}
        self._bound = np.stack([self._sum([f"{o}BOUND"]) for o in WINDOW])
        self._key_id, self._bigrams = _bigram_table(attrs)
        self._lookup: Lookup | None = None

    def _sum(self, attrs: list[str]) -> np.ndarray:
        rows = [i for i in (self.attr_index.get(a) for a in attrs) if i is not None]
        return self.w[rows].sum(axis=0) if rows else np.zeros(self.w.shape[1], np.float32)

    def _add_types(self, toks: list[str]) -> None:
        """Memoise the local and per-offset context score vectors of new token types, all at once."""
        if self._lookup is None:
            self._lookup = Lookup.of(self.attr_index)
        types = NewTypes.of(toks, self.feat.lex)
        rows, counts = crf_attribute_ids(types, self._lookup)
        # Each segment's rows behind the zero weight row, which closes no sum but keeps every segment
        # non-empty: row j lands after the zero rows of its own and every earlier segment.
        n_seg = len(counts)
        segment = np.repeat(np.arange(n_seg), counts)
        ids = np.full(len(rows) + n_seg, len(self.w) - 1, np.int64)
        ids[np.arange(len(rows)) + segment + 1] = rows
        starts = np.arange(n_seg) + np.concatenate([[0], np.cumsum(counts)[:-1]])
        sums = np.add.reduceat(self.w[ids], starts, axis=0).reshape(len(toks), 1 + len(WINDOW), -1)
        key_id = self._key_id
        for tok, k, v in zip(toks, types.keys, sums, strict=True):
            self._memo[tok] = (key_id.get(k, -1), v[0], v[1:])

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
        type_key = np.fromiter((x[0] for x in enc), np.int64, len(enc))
        keys = type_key[tid - 2]  # -1: a key no bigram attribute names
        first = np.zeros(len(toks), bool)
        first[np.cumsum(np.concatenate([[0], lengths[:-1]]))[lengths > 0]] = True
        last = np.zeros(len(toks), bool)
        last[(np.cumsum(lengths) - 1)[lengths > 0]] = True
        start_id, end_id = self._key_id.get("^", -1), self._key_id.get("$", -1)
        prev = np.where(first, start_id, np.roll(keys, 1))
        nxt = np.where(last, end_id, np.roll(keys, -1))
        for side, (a, b) in enumerate(((prev, keys), (keys, nxt))):
            rows = self._bigrams.rows(side, a, b)
            hit = rows >= 0
            e[hit] += self.w[rows[hit]]
        return e


class _Bigrams:
    """Rows of the `b-=prev|key` (side 0) and `b+=key|next` (side 1) attributes by pairs of key ids."""

    def __init__(self, pairs: list[dict[tuple[int, int], int]], n_keys: int):
        self.n = max(n_keys, 1)
        self.codes, self.row_of = [], []
        for side in pairs:
            codes = np.array([a * self.n + b for a, b in side], np.int64)
            order = np.argsort(codes)
            self.codes.append(codes[order])
            self.row_of.append(np.array(list(side.values()), np.int64)[order])

    def rows(self, side: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Attribute row per pair, -1 where the pair has no attribute (or either key is unknown)."""
        codes, row_of = self.codes[side], self.row_of[side]
        out = np.full(len(a), -1, np.int64)
        if not len(codes):
            return out
        known = (a >= 0) & (b >= 0)
        c = a[known] * self.n + b[known]
        at = np.minimum(np.searchsorted(codes, c), len(codes) - 1)
        out[known] = np.where(codes[at] == c, row_of[at], -1)
        return out


def _bigram_table(attrs: list[str]) -> tuple[dict[str, int], _Bigrams]:
    """Key ids and the bigram attributes as pairs of them.

    An attribute `b-=x|y` is registered under every split of `x|y` at a `|`, so a key holding `|`
    matches exactly when the string `b-={prev}|{key}` would.
    """
    key_id: dict[str, int] = {}
    pairs: list[dict[tuple[int, int], int]] = [{}, {}]
    for row, a in enumerate(attrs):
        side = 0 if a.startswith("b-=") else 1 if a.startswith("b+=") else -1
        if side < 0:
            continue
        body = a[3:]
        at = body.find("|")
        while at >= 0:
            ids = tuple(key_id.setdefault(x, len(key_id)) for x in (body[:at], body[at + 1 :]))
            pairs[side].setdefault(ids, row)
            at = body.find("|", at + 1)
    return key_id, _Bigrams(pairs, len(key_id))
