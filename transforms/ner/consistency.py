"""Document-level label consistency: a name tagged once is tagged the same way elsewhere in its document.

News articles repeat their names, often in contexts too weak for the tagger on their own (`وقال
بوش`); when the same word sequence is tagged as an entity somewhere in the same document, untagged
occurrences get the type it has most often there. Only runs of `O` tokens are changed, so the
pass never breaks an entity the tagger found.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, Sequence

from .evaluate import spans
from .text import key, strip_prefix

MAX_LEN = 4


def _forms(tokens: Sequence[str]) -> tuple[list[str], list[str]]:
    """Keys of a sentence, and the same keys with a leading clitic stripped (`وبوش` repeats `بوش`)."""
    keys = [key(t) for t in tokens]
    return keys, [strip_prefix(k)[1] for k in keys]


def propagate(
    sents: Sequence[Sequence[str]], tags: list[list[str]], doc_ids: Sequence[Hashable], min_chars: int = 3
) -> list[list[str]]:
    """Tags with untagged repeats of each document's entities filled in (input lists are not changed)."""
    by_doc: dict[Hashable, list[int]] = defaultdict(list)
    for i, d in enumerate(doc_ids):
        by_doc[d].append(i)
    out = [list(t) for t in tags]
    for idx in by_doc.values():
        forms = {i: _forms(sents[i]) for i in idx}
        seen: dict[tuple[str, ...], Counter] = defaultdict(Counter)
        for i in idx:
            keys, stripped = forms[i]
            for typ, a, b in spans(out[i]):
                if b - a <= MAX_LEN:
                    seen[(stripped[a], *keys[a + 1 : b])][typ] += 1
        best = {f: c.most_common(1)[0][0] for f, c in seen.items() if sum(map(len, f)) >= min_chars}
        if not best:
            continue
        firsts = {f[0] for f in best}
        for i in idx:
            keys, stripped = forms[i]
            t = out[i]
            j = 0
            while j < len(t):
                hit = 0
                if t[j] == "O" and stripped[j] in firsts:
                    for n in range(min(MAX_LEN, len(t) - j), 0, -1):
                        form = (stripped[j], *keys[j + 1 : j + n])
                        if form in best and all(x == "O" for x in t[j : j + n]):
                            hit = n
                            break
                if hit:
                    typ = best[(stripped[j], *keys[j + 1 : j + hit])]
                    t[j : j + hit] = ["B-" + typ] + ["I-" + typ] * (hit - 1)
                    j += hit
                else:
                    j += 1
    return out
