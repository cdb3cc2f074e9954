"""Training of the window network (`nn.WindowTagger`): feature vocabulary, the Adam loop, the artifact writer."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from scipy import sparse

from ..iob2 import TAG_ID
from ..nn import WindowTagger, token_features


def build_feature_vocab(sents: list[list[str]], clusters: dict, gazetteer: dict, min_count: int) -> dict[str, int]:
    """Feature strings seen at least `min_count` times in the training tokens (0 = pad, 1 = boundary)."""
    counts: dict[str, int] = {}
    for s in sents:
        for t in s:
            for f in token_features(t, clusters, gazetteer):
                counts[f] = counts.get(f, 0) + 1
    feats = {"<pad>": 0, "<bound>": 1}
    for f in sorted(counts):
        if counts[f] >= min_count:
            feats[f] = len(feats)
    return feats


def fit(
    model: WindowTagger,
    sents: list[list[str]],
    tags: list[list[str]],
    epochs: int,
    weights: np.ndarray | None = None,
    log=print,
    targets: np.ndarray | None = None,
) -> None:
    """Adam on token cross-entropy with dropout, in place; lazy (row-wise) Adam for the sparse table.

    `weights` weighs each token's loss (pseudo-labels against gold). `targets`, (n_tokens, n_tags)
    probabilities, replaces the one-hot labels of `tags` where a row is not all zero: a teacher's
    soft labels for distillation. Deterministic for a fixed seed and thread count.
    """
    cfg = model.cfg
    p = model.p
    rng = np.random.default_rng(cfg.seed + 1)
    wids, fids, pos = model.encode(sents)
    y = np.fromiter((TAG_ID[t] for ts in tags for t in ts), np.int64)
    soft = targets is not None
    if soft:
        q = np.asarray(targets, np.float32).copy()
        hard = q.sum(axis=1) == 0
        q[np.flatnonzero(hard), y[hard]] = 1.0
    w_tok = np.ones(len(y), np.float32) if weights is None else weights.astype(np.float32)
    k = cfg.window
    offs = np.arange(-k, k + 1)
    de = model.emb.shape[1]
    m = {n: np.zeros_like(v) for n, v in p.items()}
    v2 = {n: np.zeros_like(v) for n, v in p.items()}
    b1, b2, eps = 0.9, 0.999, 1e-8
    step = 0
    for ep in range(epochs):
        order = rng.permutation(len(pos))
        tot = 0.0
        for s in range(0, len(order), cfg.batch):
            bi = order[s : s + cfg.batch]
            win = pos[bi][:, None] + offs[None, :]  # (B, W)
            fw = fids[win]  # (B, W, maxf)
            x = np.concatenate([model.emb[wids[win]], p["F"][fw].sum(axis=2)], axis=2)
            bsz = len(bi)
            h0 = x.reshape(bsz, -1)
            d0 = (rng.random(h0.shape) >= cfg.dropout).astype(np.float32) / (1 - cfg.dropout)
            h0d = h0 * d0
            a1 = h0d @ p["W1"] + p["b1"]
            h1 = np.maximum(a1, 0)
            a2 = h1 @ p["W2"] + p["b2"]
            h2 = np.maximum(a2, 0)
            d2 = (rng.random(h2.shape) >= cfg.dropout).astype(np.float32) / (1 - cfg.dropout)
            h2d = h2 * d2
            z = h2d @ p["W3"] + p["b3"]
            z -= z.max(axis=1, keepdims=True)
            pr = np.exp(z)
            pr /= pr.sum(axis=1, keepdims=True)
            yb = y[bi]
            wb = w_tok[bi]
            if soft:
                qb = q[bi]
                tot += float(-((np.log(pr + 1e-9) * qb).sum(axis=1) * wb).sum())
                g = pr - qb
            else:
                tot += float(-(np.log(pr[np.arange(bsz), yb] + 1e-9) * wb).sum())
                g = pr
                g[np.arange(bsz), yb] -= 1
            g *= (wb / bsz)[:, None]
            grads = {"W3": h2d.T @ g, "b3": g.sum(0)}
            dh2 = (g @ p["W3"].T) * d2 * (a2 > 0)
            grads["W2"] = h1.T @ dh2
            grads["b2"] = dh2.sum(0)
            dh1 = (dh2 @ p["W2"].T) * (a1 > 0)
            grads["W1"] = h0d.T @ dh1
            grads["b1"] = dh1.sum(0)
            dx = ((dh1 @ p["W1"].T) * d0).reshape(bsz, len(offs), -1)[:, :, de:]  # (B, W, fd)
            # dF = S^T dx with S the (window slot x feature) incidence matrix, on the touched rows only.
            uniq, inv = np.unique(fw.reshape(-1), return_inverse=True)
            inc = sparse.csr_matrix(
                (np.ones(inv.size, np.float32), inv.reshape(-1), np.arange(0, inv.size + 1, fw.shape[2])),
                shape=(bsz * len(offs), len(uniq)),
            )
            gf = np.asarray(inc.T @ dx.reshape(-1, dx.shape[2]), dtype=np.float32)
            keep = uniq > 1
            uniq, gf = uniq[keep], gf[keep]
            step += 1
            c1 = 1 - b1**step
            c2 = 1 - b2**step
            for n, gr in grads.items():
                m[n] = b1 * m[n] + (1 - b1) * gr
                v2[n] = b2 * v2[n] + (1 - b2) * gr * gr
                p[n] -= cfg.lr * (m[n] / c1) / (np.sqrt(v2[n] / c2) + eps)
            mf = m["F"][uniq] = b1 * m["F"][uniq] + (1 - b1) * gf
            vf = v2["F"][uniq] = b2 * v2["F"][uniq] + (1 - b2) * gf * gf
            p["F"][uniq] -= cfg.lr * (mf / c1) / (np.sqrt(vf / c2) + eps)
        log(f"epoch {ep + 1}: loss {tot / len(order):.4f}", flush=True)


def save_network(model: WindowTagger, words: list[str], cluster_ids: np.ndarray, out: Path) -> None:
    """Write the network's part of the artifact (read by `nn.load`): int8 embeddings with row scales,
    float16 weights, plain-text vocabularies.
    """
    out.mkdir(parents=True, exist_ok=True)
    emb = model.emb
    scale = np.maximum(np.abs(emb).max(axis=1), 1e-8) / 127.0
    q = np.round(emb / scale[:, None]).astype(np.int8)
    arrays = {"emb_q": q, "emb_scale": scale.astype(np.float32), "clusters": cluster_ids.astype(np.int16)}
    for i, params in enumerate(model.members):  # member 0 unprefixed, the others as `m<i>_<name>`
        prefix = f"m{i}_" if i else ""
        arrays.update({prefix + n: v.astype(np.float16) for n, v in params.items()})
    np.savez(out / "weights.npz", **arrays)  # uncompressed: loads faster, barely larger
    (out / "vocab.txt").write_text("\n".join(words) + "\n", encoding="utf-8")
    feats = sorted(model.feats, key=model.feats.__getitem__)
    (out / "features.txt").write_text("\n".join(feats) + "\n", encoding="utf-8")
    gaz = "".join(f"{k}\t{v}\n" for k, v in sorted(model.gazetteer.items()))
    (out / "gazetteer.tsv").write_text(gaz, encoding="utf-8")
    cfg = {f: getattr(model.cfg, f) for f in model.cfg.__dataclass_fields__}
    (out / "config.json").write_text(json.dumps({"kind": "window-nn", "config": cfg}, indent=2) + "\n")
