"""A window neural tagger in plain numpy: frozen news-corpus embeddings + learned sparse features.

Each token is the concatenation of its word2vec vector (trained on the news corpus, frozen so
that words never seen in the labeled data keep a meaningful vector) and the sum of learned
embeddings of its sparse features (word identity, clitic-stripped stem, affixes, character
n-grams, shape, cluster ids, gazetteer labels). A two-layer MLP reads a +-K token window and gives
tag probabilities; a constrained Viterbi (`viterbi.py`) turns them into valid IOB2. Inference
needs only numpy (and polars, which featurises a batch's new token types at once: `type_features.py`),
so the runtime stays light; training lives in `training/network.py`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

import numpy as np

from .features import Lexicon
from .iob2 import TAGS
from .text import affix_features, cluster_features, forms, network_shape
from .type_features import Lookup, NewTypes, network_feature_ids

MEMO_LIMIT = 500_000  # distinct token types kept between calls


@dataclass(frozen=True)
class NNConfig:
    """Shape and training knobs of the window tagger."""

    window: int = 3
    feat_dim: int = 64
    hidden1: int = 256
    hidden2: int = 128
    dropout: float = 0.3
    lr: float = 1e-3
    batch: int = 64
    epochs: int = 12
    min_feat_count: int = 2
    seed: int = 7


def token_features(tok: str, clusters, gazetteer: dict) -> list[str]:
    """Sparse feature strings of one token (no context: the window supplies it)."""
    k, pfx, stem = forms(tok)
    f = affix_features(k, pfx, stem)
    padded = "<" + stem + ">"
    f.extend("g3=" + padded[i : i + 3] for i in range(len(padded) - 2))
    f.extend("g4=" + padded[i : i + 4] for i in range(len(padded) - 3))
    f.extend(network_shape(tok))
    cl = clusters.get(k) or clusters.get(stem)
    f.extend(["oov"] if cl is None else cluster_features(cl))
    gz = gazetteer.get(k) or gazetteer.get(stem)
    if gz:
        f.extend("gz=" + g for g in gz.split("|"))
    return f


class WindowTagger:
    """Parameters and batch inference of the window tagger (training: `training.network.fit`)."""

    def __init__(
        self,
        cfg: NNConfig,
        vocab: dict[str, int],
        emb: np.ndarray,
        feats: dict[str, int],
        clusters: dict,
        gazetteer: dict,
        params: dict[str, np.ndarray] | None = None,
    ):
        self.cfg = cfg
        self.vocab = vocab  # key -> row of emb (row 0 = unknown)
        self.emb = emb.astype(np.float32)
        self.feats = feats  # feature string -> row of F (0 = padding, 1 = sentence boundary)
        self.clusters = clusters
        self.gazetteer = gazetteer
        self._memo: dict[str, tuple[int, np.ndarray]] = {}
        self._fsum: dict[str, np.ndarray] = {}  # token -> (members, feat_dim) feature sums
        self._fsum_of: tuple[np.ndarray, ...] = ()
        self._tables = np.zeros((0, 0), np.float32)  # the members' F side by side (members * feat_dim wide)
        self._lookup: tuple[dict[str, int], Lookup] | None = None
        d_in = (2 * cfg.window + 1) * (emb.shape[1] + cfg.feat_dim)
        if params is None:
            rng = np.random.default_rng(cfg.seed)
            params = {
                "F": (rng.standard_normal((len(feats), cfg.feat_dim)) * 0.05).astype(np.float32),
                "W1": (rng.standard_normal((d_in, cfg.hidden1)) * np.sqrt(2 / d_in)).astype(np.float32),
                "b1": np.zeros(cfg.hidden1, np.float32),
                "W2": (rng.standard_normal((cfg.hidden1, cfg.hidden2)) * np.sqrt(2 / cfg.hidden1)).astype(np.float32),
                "b2": np.zeros(cfg.hidden2, np.float32),
                "W3": (rng.standard_normal((cfg.hidden2, len(TAGS))) * np.sqrt(1 / cfg.hidden2)).astype(np.float32),
                "b3": np.zeros(len(TAGS), np.float32),
            }
            params["F"][0] = 0
        self.p = params
        self._extra: list[dict[str, np.ndarray]] = []

    # ---- encoding -------------------------------------------------------------------------
    def _token(self, tok: str) -> tuple[int, np.ndarray]:
        k, _, stem = forms(tok)
        wid = self.vocab.get(k)
        if wid is None:
            wid = self.vocab.get(stem, 0)
        fs = token_features(tok, self.clusters, self.gazetteer)
        ids = np.array([i for i in (self.feats.get(f) for f in fs) if i is not None], dtype=np.int32)
        out = (wid, ids)
        self._memo[tok] = out
        return out

    def _add_types(self, toks: list[str]) -> None:
        """Memoise word ids and feature ids of new token types, all at once (as `_token` does one by one)."""
        if self._lookup is None or self._lookup[0] is not self.feats:
            self._lookup = (self.feats, Lookup.of(self.feats))
        types = NewTypes.of(toks, Lexicon(self.clusters, self.gazetteer))
        ids, counts = network_feature_ids(types, self._lookup[1])
        vocab = self.vocab
        memo = self._memo
        per_type = np.split(ids, np.cumsum(counts)[:-1]) if toks else []
        for tok, k, stem, f in zip(toks, types.keys, types.stems, per_type, strict=True):
            wid = vocab.get(k)
            memo[tok] = (vocab.get(stem, 0) if wid is None else wid, f)

    def encode(self, sents: list[list[str]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Flat word ids, padded feature ids, and the flat positions of the real tokens.

        Sentences are laid end to end with `window` boundary tokens between them, so one gather
        with fixed offsets gives every token its window.
        """
        k = self.cfg.window
        memo = self._memo
        wids: list[int] = [0] * k
        fid_list: list[np.ndarray] = [np.array([1], np.int32)] * k
        pos: list[int] = []
        bound = np.array([1], np.int32)
        for s in sents:
            for t in s:
                w, f = memo.get(t) or self._token(t)
                pos.append(len(wids))
                wids.append(w)
                fid_list.append(f)
            wids.extend([0] * k)
            fid_list.extend([bound] * k)
        width = max(len(f) for f in fid_list)
        fids = np.zeros((len(fid_list), width), np.int32)
        lens = np.fromiter((len(f) for f in fid_list), np.int64, len(fid_list))
        fids[np.arange(width)[None, :] < lens[:, None]] = np.concatenate(fid_list)
        return np.asarray(wids, np.int64), fids, np.asarray(pos, np.int64)

    @property
    def members(self) -> list[dict[str, np.ndarray]]:
        """Parameter sets whose log-probabilities are averaged: this network and any added with `add_member`."""
        return [self.p, *self._extra]

    @classmethod
    def ensemble(cls, nets: list[WindowTagger]) -> WindowTagger:
        """One tagger averaging the log-probabilities of `nets` (trained with different seeds)."""
        first = nets[0]
        out = cls(first.cfg, first.vocab, first.emb, first.feats, first.clusters, first.gazetteer, first.p)
        for net in nets[1:]:
            out.add_member(net)
        return out

    def add_member(self, other: WindowTagger) -> None:
        """Average `other`'s predictions with this one's (same features, window and vocabulary)."""
        if other.feats is not self.feats and other.feats != self.feats:
            raise ValueError("ensemble members must share one feature vocabulary")
        if other.cfg.window != self.cfg.window:
            raise ValueError("ensemble members must share one window size")
        self._extra.append(other.p)

    # ---- inference ------------------------------------------------------------------------
    def log_probs(self, sents: list[list[str]], chunk: int = 2048) -> np.ndarray:
        """(n_tokens, n_tags) log-probabilities for all tokens of `sents`, in order (members averaged).

        The first layer is linear in each window slot, so it is computed once per distinct token
        type of the batch (news batches repeat types heavily) and then summed over the window.
        The token encoding is shared by every member of an ensemble.
        """
        k = self.cfg.window
        if len(self._memo) > MEMO_LIMIT:  # bound memory in long-running processes
            self._memo.clear()
        toks = [t for s in sents for t in s]
        index = {t: i for i, t in enumerate(dict.fromkeys(toks), start=1)}
        tid = np.fromiter((index[t] for t in toks), np.int64, len(toks))
        lengths = np.fromiter((len(s) for s in sents), np.int64, len(sents))
        sent_of = np.repeat(np.arange(len(sents)), lengths)
        pos = np.arange(len(toks)) + k * (sent_of + 1)
        flat = np.zeros(len(toks) + k * (len(sents) + 1), np.int64)  # 0 = boundary
        flat[pos] = tid
        memo = self._memo
        types = list(index)
        new = [t for t in types if t not in memo]
        if new:
            self._add_types(new)
        wids = np.fromiter(chain([0], (memo[t][0] for t in types)), np.int64, len(types) + 1)
        members = self.members
        fsums = self._feature_sums(types, members)  # (members, types + 1, feat_dim)
        n_off = 2 * k + 1
        # Row of (type, slot) in the first layer's per-type table, for each slot of each token's window.
        window = np.stack([flat[pos + o - k] * n_off + o for o in range(n_off)])
        emb = self.emb[wids]
        out = self._forward(members[0], np.concatenate([emb, fsums[0]], axis=1), window, chunk)
        for m, params in enumerate(members[1:], start=1):
            out += self._forward(params, np.concatenate([emb, fsums[m]], axis=1), window, chunk)
        if len(members) > 1:
            out /= len(members)
        return out

    def _feature_sums(self, types: list[str], members: list[dict[str, np.ndarray]]) -> np.ndarray:
        """Each member's sum of feature embeddings per type (row 0: the sentence boundary).

        Kept per token type between calls (like the feature ids), so a type seen in an earlier batch
        costs one lookup; the cache follows the parameters it was computed with.
        """
        tables = tuple(p["F"] for p in members)
        if len(self._fsum) > MEMO_LIMIT or len(tables) != len(self._fsum_of) or any(
            a is not b for a, b in zip(tables, self._fsum_of, strict=False)
        ):
            self._fsum = {}
            self._fsum_of = tables
            self._tables = np.hstack(tables)  # one gather serves every member
        cache = self._fsum
        new = [t for t in types if t not in cache]
        if new:
            ids = [self._memo[t][1] for t in new]
            # Each type's feature ids behind a padding id (a zero row), so no segment is empty.
            fids = np.concatenate([*chain.from_iterable((_PAD, i) for i in ids)]).astype(np.int64)
            starts = np.cumsum([0, *(1 + len(i) for i in ids[:-1])])
            sums = np.add.reduceat(self._tables[fids], starts, axis=0).reshape(len(new), len(tables), -1)
            cache.update(zip(new, sums, strict=True))
        bound = np.stack([f[1] for f in tables])[None]  # (1, members, feat_dim)
        rows = np.stack([cache[t] for t in types]) if types else np.zeros((0, *bound.shape[1:]), np.float32)
        return np.concatenate([bound, rows]).transpose(1, 0, 2)

    def _forward(self, p: dict[str, np.ndarray], x: np.ndarray, window: np.ndarray, chunk: int) -> np.ndarray:
        """Log-probabilities of one parameter set for type inputs `x` (row 0: the boundary);
        `window[o, i]` is the first-layer table row of slot o of token i."""
        n_off, n_tok = window.shape
        d = x.shape[1]
        h1 = p["W1"].shape[1]
        w1 = p["W1"].reshape(n_off, d, h1).transpose(1, 0, 2).reshape(d, n_off * h1)
        proj = x @ w1  # (types, slots * h1): each type's first-layer contribution at each window slot
        proj[:, (n_off // 2) * h1 : (n_off // 2 + 1) * h1] += p["b1"]  # the bias rides on the centre slot
        proj = proj.reshape(-1, h1)
        out = np.empty((n_tok, len(TAGS)), np.float32)
        h = np.empty((chunk, h1), np.float32)
        part = np.empty((chunk, h1), np.float32)
        for s in range(0, n_tok, chunk):
            n = min(chunk, n_tok - s)
            hs, ps = h[:n], part[:n]
            np.take(proj, window[0, s : s + n], axis=0, out=hs)
            for o in range(1, n_off):
                np.take(proj, window[o, s : s + n], axis=0, out=ps)
                hs += ps
            np.maximum(hs, 0, out=hs)
            z = np.maximum(hs @ p["W2"] + p["b2"], 0) @ p["W3"] + p["b3"]
            z -= z.max(axis=1, keepdims=True)
            out[s : s + n] = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return out


_PAD = np.zeros(1, np.int32)


class ClusterTable:
    """Cluster ids by key, read from the stored array on demand (a dict of tuples loads slowly)."""

    def __init__(self, vocab: dict[str, int], ids: np.ndarray):
        self.vocab = vocab  # key -> row + 1
        self.ids = ids.tolist()
        self.names = [str(i) for i in range(int(ids.max()) + 1)] if ids.size else []

    def get(self, k: str) -> tuple[str, ...] | None:
        row = self.vocab.get(k)
        if row is None:
            return None
        names = self.names
        return tuple(names[c] for c in self.ids[row - 1])


def load(path: Path) -> WindowTagger:
    """Read an artifact written by `training.network.save_network`; weights come back as float32."""
    meta = json.loads((path / "config.json").read_text())
    cfg = NNConfig(**meta["config"])
    w = np.load(path / "weights.npz")
    words = (path / "vocab.txt").read_text(encoding="utf-8").split("\n")[:-1]
    feats_l = (path / "features.txt").read_text(encoding="utf-8").split("\n")[:-1]
    gaz = dict(line.split("\t") for line in (path / "gazetteer.tsv").read_text(encoding="utf-8").split("\n") if line)
    vocab = {wd: i + 1 for i, wd in enumerate(words)}
    clusters = ClusterTable(vocab, w["clusters"])
    emb = w["emb_q"].astype(np.float32) * w["emb_scale"][:, None]
    names = ("F", "W1", "b1", "W2", "b2", "W3", "b3")
    feats = {f: i for i, f in enumerate(feats_l)}
    net = WindowTagger(cfg, vocab, emb, feats, clusters, gaz, {n: w[n].astype(np.float32) for n in names})
    i = 1
    while f"m{i}_F" in w.files:
        net._extra.append({n: w[f"m{i}_{n}"].astype(np.float32) for n in names})
        i += 1
    return net
