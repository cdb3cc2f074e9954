"""Unsupervised word representations learned from the unlabeled news corpus (training time only).

Word2vec vectors over normalised keys give the tagger a notion of "this unseen word is used like
a person name / a place": most test-set persons never occur in the labeled data. K-means over the
vectors turns them into discrete cluster ids that a CRF can use at full speed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..text import key, news_tokens

_TEXT = re.compile(r"<TEXT>(.*?)</TEXT>", re.S)
_TITLE = re.compile(r"<TITLE>(.*?)</TITLE>", re.S)


def news_paragraphs(root: Path) -> Iterator[list[str]]:
    """Token keys of every title and body paragraph of the news corpus, in a fixed file order."""
    for path in sorted(root.rglob("*.txt")):
        raw = path.read_text(encoding="utf-8", errors="replace")
        for rx in (_TITLE, _TEXT):
            for block in rx.findall(raw):
                for line in block.split("\n"):
                    toks = news_tokens(line)
                    if len(toks) > 1:
                        yield toks


def build_corpus(news_root: Path, labeled: list[list[str]], out: Path) -> Path:
    """Write the embedding corpus (news paragraphs + labeled sentences as keys), one line each."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as fh:
        for toks in news_paragraphs(news_root):
            fh.write(" ".join(toks) + "\n")
        for sent in labeled:
            toks = [k for k in (key(w) for w in sent) if k]
            fh.write(" ".join(toks) + "\n")
    return out


def train_word2vec(corpus: Path, dim: int = 100, seed: int = 1, epochs: int = 5, min_count: int = 3):
    """Skip-gram vectors; one worker thread so the result is identical on every run."""
    from gensim.models import Word2Vec
    from gensim.models.word2vec import LineSentence

    return Word2Vec(
        LineSentence(str(corpus)),
        vector_size=dim,
        window=5,
        min_count=min_count,
        sg=1,
        negative=5,
        sample=1e-4,
        epochs=epochs,
        workers=1,
        seed=seed,
    )


def kmeans(x: np.ndarray, k: int, seed: int = 0, iters: int = 25) -> np.ndarray:
    """Cluster ids of the (unit-normalised) rows of `x`: spherical k-means.

    Initial centres are drawn among the most frequent words (rows are sorted by frequency), which
    is deterministic and keeps clusters centred on well-trained vectors.
    """
    rng = np.random.default_rng(seed)
    xn = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-8)
    top = min(len(xn), max(k * 4, 5000))
    cent = xn[rng.choice(top, size=k, replace=False)].copy()
    assign = np.zeros(len(xn), dtype=np.int64)
    for _ in range(iters):
        for s in range(0, len(xn), 20000):
            assign[s : s + 20000] = np.argmax(xn[s : s + 20000] @ cent.T, axis=1)
        sums = np.zeros_like(cent)
        np.add.at(sums, assign, xn)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        empty = norms[:, 0] < 1e-8
        cent = np.where(empty[:, None], cent, sums / np.maximum(norms, 1e-8))
    return assign


_TOKEN = re.compile(r"\d+(?:[.,٫]\d+)+|[\w\u064b-\u0652\u0640]+|[^\w\s]")
_SENT_END = {".", "!", "?", "؟", "…"}


def news_sentences(root: Path, max_sents: int, min_len: int = 6, max_len: int = 50, every: int = 1) -> list[list[str]]:
    """Raw-token sentences from news bodies, punctuation split off as in ANERcorp (for self-training).

    Takes every `every`-th body paragraph in the fixed file order, so the sample is spread over
    sources and months without randomness.
    """
    out: list[list[str]] = []
    n_par = 0
    for path in sorted(root.rglob("*.txt")):
        raw = path.read_text(encoding="utf-8", errors="replace")
        for block in _TEXT.findall(raw):
            for line in block.split("\n"):
                n_par += 1
                if n_par % every:
                    continue
                cur: list[str] = []
                for tok in _TOKEN.findall(line):
                    cur.append(tok)
                    if tok in _SENT_END:
                        if min_len <= len(cur) <= max_len:
                            out.append(cur)
                        cur = []
                if min_len <= len(cur) <= max_len:
                    out.append(cur)
                if len(out) >= max_sents:
                    return out
    return out
