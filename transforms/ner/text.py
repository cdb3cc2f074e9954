"""The light Arabic normalisation every feature is keyed on.

Spelling in news text varies freely between alef forms, final ya/alef maqsura and ta marbuta/ha;
keying every lookup (vocabulary, clusters, embeddings, gazetteers) on one normalised form lets
the tagger treat those variants as the same word.
"""

from __future__ import annotations

import re

_DIACRITICS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
_TRANS = str.maketrans(
    {
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ى": "ي",
        "ة": "ه",
        **{d: "0" for d in "0123456789٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹"},
    }
)
_WORD = re.compile(r"\w+")

# Proclitics that attach to a following word, longest first (conjunction, preposition, article).
PREFIXES = (
    "وبال", "وكال", "فبال", "وال", "فال", "بال", "كال", "ولل", "فلل",
    "لل", "ال", "وب", "ول", "وك", "فب", "فل", "و", "ف", "ب", "ل", "ك",
)  # fmt: skip
# Enclitic pronouns and common endings.
SUFFIXES = ("هما", "كما", "هم", "هن", "كم", "نا", "ها", "ون", "ين", "ان", "ات", "يه", "ه", "ي", "ك")


def normalize(token: str) -> str:
    """Diacritics and tatweel removed, alef/ya/ta-marbuta variants unified, digits mapped to 0."""
    return _DIACRITICS.sub("", token).translate(_TRANS)


def key(token: str) -> str:
    """The lookup key of a whitespace token: normalised, with attached punctuation dropped."""
    norm = normalize(token)
    parts = _WORD.findall(norm)
    return "".join(parts) if parts else norm


def strip_prefix(k: str) -> tuple[str, str]:
    """Split the longest proclitic off a key when at least three letters stay behind."""
    for p in PREFIXES:
        if k.startswith(p) and len(k) - len(p) >= 3:
            return p, k[len(p) :]
    return "", k


def news_tokens(text: str) -> list[str]:
    """Keys of an unlabeled news paragraph, in the same form as `key` gives for labeled tokens."""
    return _WORD.findall(normalize(text))


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
