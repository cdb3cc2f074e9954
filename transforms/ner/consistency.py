"""Document-level label consistency: a name tagged once is tagged the same way elsewhere in its document.

News articles repeat their names, often in contexts too weak for the tagger on their own (`وقال
بوش`); when the same word sequence is tagged as an entity somewhere in the same document, untagged
occurrences get the type it has most often there. Only runs of `O` tokens are changed, so the
pass never breaks an entity the tagger found.

The context of a sentence is its whole document, or, with ``radius``, the sentences at most
``radius`` places before or after it in the same document: for a token stream whose document
boundaries are unknown, the neighbouring sentences are the best guess at its document.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, Sequence
from itertools import chain

from .iob2 import spans
from .text import forms

MAX_LEN = 4
# Sentences on each side that stand in for a document whose boundaries are unknown (`akhbar ner`).
# Chosen on the ANERcorp dev split, strict F1 of a development model (CRF x four averaged networks):
# every sentence alone 76.3; 2 / 5 / 10 / 20 / 40 sentences each side 76.7 / 76.8 / 76.7 / 76.6 /
# 76.2; the whole input as one document 75.1. The committed model: alone 76.45, 5 each side 76.93.
NEIGHBOUR_SENTENCES = 5

Form = tuple[str, ...]


def _type_forms(sents: Sequence[Sequence[str]]) -> dict[str, tuple[str, str]]:
    """Key and clitic-stripped key (`وبوش` repeats `بوش`) of every token type of the call (`forms` caches them)."""
    return {t: (f[0], f[2]) for t in dict.fromkeys(chain.from_iterable(sents)) for f in (forms(t),)}


def _forms(tokens: Sequence[str], type_forms: dict[str, tuple[str, str]]) -> tuple[list[str], list[str]]:
    """Keys of a sentence, and the same keys with a leading clitic stripped."""
    pairs = [type_forms[t] for t in tokens]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def _found(forms: tuple[list[str], list[str]], tags: Sequence[str]) -> dict[Form, Counter]:
    """Entity forms tagged in one sentence, with their types."""
    keys, stripped = forms
    seen: dict[Form, Counter] = defaultdict(Counter)
    for typ, a, b in spans(tags):
        if b - a <= MAX_LEN:
            seen[(stripped[a], *keys[a + 1 : b])][typ] += 1
    return seen


def _fill(forms: tuple[list[str], list[str]], tags: list[str], best: dict[Form, str]) -> None:
    """Tag, in place, the longest `O` runs of the sentence that repeat a known form."""
    keys, stripped = forms
    firsts = {f[0] for f in best}
    j = 0
    while j < len(tags):
        hit = 0
        if tags[j] == "O" and stripped[j] in firsts:
            for n in range(min(MAX_LEN, len(tags) - j), 0, -1):
                form = (stripped[j], *keys[j + 1 : j + n])
                if form in best and all(x == "O" for x in tags[j : j + n]):
                    hit = n
                    break
        if hit:
            typ = best[(stripped[j], *keys[j + 1 : j + hit])]
            tags[j : j + hit] = ["B-" + typ] + ["I-" + typ] * (hit - 1)
            j += hit
        else:
            j += 1


def propagate(
    sents: Sequence[Sequence[str]],
    tags: list[list[str]],
    doc_ids: Sequence[Hashable],
    min_chars: int = 3,
    radius: int | None = None,
) -> list[list[str]]:
    """Tags with untagged repeats of each context's entities filled in (input lists are not changed).

    The forms are collected from the tagger's output before anything is filled in, so the
    result does not depend on the order in which sentences are visited.
    """
    by_doc: dict[Hashable, list[int]] = defaultdict(list)
    for i, d in enumerate(doc_ids):
        by_doc[d].append(i)
    out = [list(t) for t in tags]
    type_forms = _type_forms(sents)
    for idx in by_doc.values():
        forms = {i: _forms(sents[i], type_forms) for i in idx}
        found = [_found(forms[i], tags[i]) for i in idx]
        whole = None if radius is not None else _best(_merge(found), min_chars)
        for at, i in enumerate(idx):
            near = found[max(0, at - radius) : at + radius + 1] if whole is None else ()
            best = whole if whole is not None else _best(_merge(near), min_chars)
            if best:
                _fill(forms[i], out[i], best)
    return out


def _merge(found: Sequence[dict[Form, Counter]]) -> dict[Form, Counter]:
    seen: dict[Form, Counter] = defaultdict(Counter)
    for part in found:
        for form, types in part.items():
            seen[form].update(types)
    return seen


def _best(seen: dict[Form, Counter], min_chars: int) -> dict[Form, str]:
    """Each form's most frequent type (the first of tied types, as `Counter.most_common(1)` keeps)."""
    return {f: max(c, key=c.__getitem__) for f, c in seen.items() if sum(map(len, f)) >= min_chars}
