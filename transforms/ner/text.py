"""The light Arabic normalisation every feature is keyed on.

Spelling in news text varies freely between alef forms, final ya/alef maqsura and ta marbuta/ha;
keying every lookup (vocabulary, clusters, embeddings, gazetteers) on one normalised form lets
the tagger treat those variants as the same word. The key itself (``normalize``, ``key``,
``strip_prefix``, ``forms``, ``news_tokens``) is the NER key of ``transforms.arabic``, frozen with the model.
"""

from __future__ import annotations

from transforms.arabic import ner_forms as forms
from transforms.arabic import ner_key as key
from transforms.arabic import ner_normalize as normalize
from transforms.arabic import ner_strip_prefix as strip_prefix
from transforms.arabic import ner_words as news_tokens

__all__ = ["affix_features", "forms", "key", "news_tokens", "normalize", "strip_prefix"]


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
