"""Constrained Viterbi decoding: per-token tag scores to valid IOB2 paths, sentences in batches."""

from __future__ import annotations

import numpy as np

from .iob2 import TAGS


def allowed_transitions() -> np.ndarray:
    """`A[i, j]` is 0 when tag j may follow tag i in IOB2, `-inf` otherwise (row 9 = sentence start)."""
    a = np.zeros((len(TAGS) + 1, len(TAGS)), dtype=np.float32)
    for j, t in enumerate(TAGS):
        if t.startswith("I-"):
            for i, p in enumerate((*TAGS, "START")):
                if p[2:] != t[2:]:
                    a[i, j] = -np.inf
    return a


def viterbi_batch(logp: np.ndarray, lengths: np.ndarray, trans: np.ndarray) -> np.ndarray:
    """Best tag path per padded sentence. `logp` is (S, L, T); `trans` (T+1, T) with the start row last."""
    s_n, l_n, t_n = logp.shape
    score = logp[:, 0, :] + trans[-1][None, :]
    back = np.zeros((s_n, l_n, t_n), dtype=np.int8)
    tr = trans[:-1]
    for i in range(1, l_n):
        cand = score[:, :, None] + tr[None, :, :]  # (S, from, to)
        best = cand.argmax(axis=1)
        new = np.take_along_axis(cand, best[:, None, :], axis=1)[:, 0, :] + logp[:, i, :]
        live = (i < lengths)[:, None]
        score = np.where(live, new, score)
        back[:, i, :] = np.where(live, best, np.arange(t_n)[None, :])
    path = np.zeros((s_n, l_n), dtype=np.int64)
    cur = score.argmax(axis=1)
    for i in range(l_n - 1, -1, -1):
        path[:, i] = cur
        cur = back[np.arange(s_n), i, cur]
    return path


def _pad_batches(lengths: np.ndarray, size: int = 256):
    """Groups of sentences of similar length: (indices, flat token rows, padding mask, max length)."""
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    order = np.argsort(lengths, kind="stable")
    order = order[lengths[order] > 0]
    for i in range(0, len(order), size):
        idx = order[i : i + size]
        lmax = int(lengths[idx].max())
        mask = np.arange(lmax)[None, :] < lengths[idx][:, None]
        flat = (starts[idx][:, None] + np.arange(lmax)[None, :])[mask]
        yield idx, flat, mask, lmax


def decode(lp: np.ndarray, lengths: np.ndarray, trans: np.ndarray) -> list[list[str]]:
    """Constrained Viterbi over flat token scores, batching sentences of similar length."""
    out: list[list[str]] = [[] for _ in lengths]
    for idx, flat, mask, lmax in _pad_batches(lengths):
        pad = np.zeros((len(idx), lmax, lp.shape[1]), np.float32)
        pad[mask] = lp[flat]
        path = viterbi_batch(pad, lengths[idx], trans)
        names = _TAG_NAMES[path].tolist()  # one conversion per batch, then a slice per sentence
        for r, s in enumerate(idx):
            out[s] = names[r][: lengths[s]]
    return out


_TAG_NAMES = np.array(TAGS, dtype=object)
