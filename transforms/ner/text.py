"""Reading ANERcorp-style files and the light Arabic normalisation every feature is keyed on.

Spelling in news text varies freely between alef forms, final ya/alef maqsura and ta marbuta/ha;
keying every lookup (vocabulary, clusters, embeddings, gazetteers) on one normalised form lets
the tagger treat those variants as the same word. The key itself (``normalize``, ``key``,
``strip_prefix``, ``news_tokens``) is the NER key of ``transforms.arabic``, frozen with the model.
"""

from __future__ import annotations

from pathlib import Path

from transforms.arabic import NER_PREFIXES as PREFIXES
from transforms.arabic import NER_SUFFIXES as SUFFIXES
from transforms.arabic import ner_key as key
from transforms.arabic import ner_normalize as normalize
from transforms.arabic import ner_strip_prefix as strip_prefix
from transforms.arabic import ner_words as news_tokens

__all__ = [
    "PREFIXES", "SUFFIXES", "TYPES", "affix_features", "key", "news_tokens", "normalize", "read_conll",
    "repair_iob2", "strip_prefix",
]  # fmt: skip

TYPES = ("PER", "ORG", "LOC", "MISC")


def read_conll(path: Path) -> tuple[list[list[str]], list[list[str]]]:
    """Sentences of tokens and IOB2 tags (`PERS` renamed `PER`) from a `token tag` file."""
    sents: list[list[str]] = []
    tags: list[list[str]] = []
    cur_w: list[str] = []
    cur_t: list[str] = []
    for line in path.read_text(encoding="utf-8").split("\n"):
        line = line.strip()
        if not line:
            if cur_w:
                sents.append(cur_w)
                tags.append(cur_t)
                cur_w, cur_t = [], []
            continue
        word, _, tag = line.rpartition(" ")
        if not word:  # a line holding only one field: a token with no tag
            word, tag = tag, "O"
        cur_w.append(word)
        cur_t.append(tag.replace("PERS", "PER"))
    if cur_w:
        sents.append(cur_w)
        tags.append(cur_t)
    return sents, tags


def repair_iob2(tags: list[str]) -> list[str]:
    """Valid IOB2: an `I-X` after `O` or after another type becomes `B-X`."""
    out: list[str] = []
    prev = "O"
    for t in tags:
        if t.startswith("I-") and (prev == "O" or prev[2:] != t[2:]):
            t = "B-" + t[2:]
        out.append(t)
        prev = t
    return out


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
