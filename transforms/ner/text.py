"""The light Arabic normalisation every feature is keyed on.

Spelling in news text varies freely between alef forms, final ya/alef maqsura and ta marbuta/ha;
keying every lookup (vocabulary, clusters, embeddings, gazetteers) on one normalised form lets
the tagger treat those variants as the same word. The key itself (``normalize``, ``key``,
``strip_prefix``, ``forms``, ``news_tokens``) is the NER key of ``transforms.arabic``, frozen with the model.
"""

from __future__ import annotations

import re

from transforms.arabic import ner_forms as forms
from transforms.arabic import ner_key as key
from transforms.arabic import ner_normalize as normalize
from transforms.arabic import ner_strip_prefix as strip_prefix
from transforms.arabic import ner_words as news_tokens

__all__ = [
    "NN_LATIN", "affix_features", "cluster_features", "forms", "key", "network_shape", "news_tokens", "normalize",
    "strip_prefix",
]  # fmt: skip

# Characters c with "a" <= c.lower() <= "z" (İ and the Kelvin sign lower to Latin letters): the network's
# `latin` test, as the committed model was trained; `test_ner_type_features` checks it on every code point.
NN_LATIN = re.compile("[A-Za-z\u0130\u212a]")


def affix_features(k: str, pfx: str, stem: str) -> list[str]:
    """Word, clitic-stripped stem, the stripped proclitic, 1-3 letter affixes and length.

    The core token features both taggers share (the CRF and the window network), so the two
    experts see a token the same way.
    """
    return [
        "w=" + k,
        "st=" + stem,
        "pf=" + pfx,
        "s1=" + stem[-1:],
        "s2=" + stem[-2:],
        "s3=" + stem[-3:],
        "p1=" + stem[:1],
        "p2=" + stem[:2],
        "p3=" + stem[:3],
        "len=" + str(min(len(stem), 8)),
    ]


def network_shape(tok: str) -> list[str]:
    """The window network's shape features of the raw token: `latin`, `digit` (`str.isdigit`), `punct`."""
    f = []
    if NN_LATIN.search(tok):
        f.append("latin")
    if not tok.isalpha() and any(c.isdigit() for c in tok):  # no letter is a digit
        f.append("digit")
    if tok and not tok.isalnum():
        f.append("punct")
    return f


def cluster_features(cl: tuple[str, ...] | None, start: int = 0) -> list[str]:
    """`c{i}=` features of the news-corpus cluster ids from level `start` on (none without clusters)."""
    return [] if cl is None else [f"c{i}={c}" for i, c in enumerate(cl[start:], start=start)]
