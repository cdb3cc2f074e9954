"""CRF features: clitic-aware word forms, affixes, shape, news-corpus clusters, gazetteers, context.

Features of a token type are computed once and memoised, so tagging a large batch costs one dict
lookup per token plus list concatenation: the CRF's speed budget is spent on the CRF, not on Python
string work.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .text import affix_features, cluster_features, forms

_LATIN = re.compile(r"[A-Za-z]")
_DIGIT = re.compile(r"[0-9٠-٩]")
_PUNCT = re.compile(r"[^\w]")

WINDOW = (-2, -1, 1, 2)


def crf_shape(tok: str) -> list[str]:
    """The CRF's shape attributes of the raw token: `latin`, `digit`, and up to three punctuation marks."""
    f = []
    if _LATIN.search(tok):
        f.append("latin")
    if _DIGIT.search(tok):
        f.append("digit")
    if _PUNCT.search(tok):
        f.append("punct=" + "".join(sorted(set(_PUNCT.findall(tok))))[:3])
    return f


@dataclass
class Lexicon:
    """Word-level resources keyed by normalised key: cluster ids and gazetteer labels."""

    clusters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    gazetteer: dict[str, str] = field(default_factory=dict)  # key -> "LOC" / "PER" / "LOC|PER" ...

    def cluster(self, k: str, stem: str) -> tuple[str, ...] | None:
        c = self.clusters.get(k)
        if c is None and stem != k:
            c = self.clusters.get(stem)
        return c

    def gaz(self, k: str, stem: str) -> str | None:
        g = self.gazetteer.get(k)
        if g is None and stem != k:
            g = self.gazetteer.get(stem)
        return g


class Featurizer:
    """Turns sentences of whitespace tokens into crfsuite attribute lists."""

    def __init__(self, lex: Lexicon):
        self.lex = lex
        self._memo: dict[str, tuple[str, list[str], dict[int, list[str]]]] = {}

    def token_attrs(self, tok: str) -> tuple[str, list[str], dict[int, list[str]]]:
        """Key, own-position attributes, and the attributes it lends to each window offset."""
        k, pfx, stem = forms(tok)
        cl = self.lex.cluster(k, stem)
        gz = self.lex.gaz(k, stem)
        local = affix_features(k, pfx, stem) + crf_shape(tok)
        local.extend(["oov"] if cl is None else cluster_features(cl))
        if gz is not None:
            local.extend("gz=" + g for g in gz.split("|"))
        ctx_base = ["w=" + k, "st=" + stem]
        if cl is not None:
            ctx_base.extend(cluster_features(cl, 1))
        if gz is not None:
            ctx_base.extend("gz=" + g for g in gz.split("|"))
        ctx = {o: [f"{o}{f}" for f in ctx_base] for o in WINDOW}
        return k, local, ctx

    def sentence(self, sent: list[str]) -> list[list[str]]:
        memo = self._memo
        toks = []
        for t in sent:
            a = memo.get(t)
            if a is None:
                a = memo[t] = self.token_attrs(t)
            toks.append(a)
        keys = [t[0] for t in toks]
        n = len(sent)
        out: list[list[str]] = []
        for i in range(n):
            f = list(toks[i][1])
            for o in WINDOW:
                j = i + o
                if 0 <= j < n:
                    f.extend(toks[j][2][o])
                elif j == -1 or j == n:
                    f.append(f"{o}BOUND")
            f.append("b-=" + (keys[i - 1] if i else "^") + "|" + keys[i])
            f.append("b+=" + keys[i] + "|" + (keys[i + 1] if i + 1 < n else "$"))
            out.append(f)
        return out
