"""The IOB2 tag scheme: entity types, the tag set, entity chunks and repair (pure Python).

Shared by tagging (decoding, the consistency pass) and by training and scoring; it needs no numpy,
so `akhbar ner`'s argument parsing stays light.
"""

from __future__ import annotations

from collections.abc import Sequence

TYPES = ("PER", "ORG", "LOC", "MISC")
TAGS = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC")
TAG_ID = {t: i for i, t in enumerate(TAGS)}


def spans(tags: Sequence[str], scheme_strict: bool = False) -> list[tuple[str, int, int]]:
    """Entity chunks `(type, start, end_exclusive)` of one sentence, conlleval-style.

    conlleval (and seqeval's default mode) opens a chunk at an `I-X` after `O` or another type;
    with `scheme_strict` (seqeval's `mode="strict", scheme=IOB2`) only `B-X` opens one, and an
    `I-X` that does not continue an `X` chunk belongs to no chunk.
    """
    if scheme_strict:
        return _strict_spans(tags)
    out: list[tuple[str, int, int]] = []
    cur_type: str | None = None
    start = 0
    for i, tag in enumerate([*tags, "O"]):
        if tag == "O":  # the common case, decided without splitting the tag
            if cur_type is not None:
                out.append((cur_type, start, i))
                cur_type = None
            continue
        bio, _, typ = tag.partition("-")
        if bio not in ("B", "I"):
            bio, typ = "O", ""
        ends = cur_type is not None and (bio in ("O", "B") or typ != cur_type)
        if ends:
            out.append((cur_type, start, i))
            cur_type = None
        if bio == "B" or (bio == "I" and cur_type is None):
            cur_type, start = typ, i
    return out


def _strict_spans(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    out: list[tuple[str, int, int]] = []
    cur_type: str | None = None
    start = 0
    for i, tag in enumerate([*tags, "O"]):
        bio, _, typ = tag.partition("-")
        if cur_type is not None and bio == "I" and typ == cur_type:
            continue
        if cur_type is not None:
            out.append((cur_type, start, i))
            cur_type = None
        if bio == "B":
            cur_type, start = typ, i
    return out


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
