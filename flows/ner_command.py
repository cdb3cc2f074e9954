"""`akhbar ner [FILE]`: tag tokens, one per line, blank line between sentences, as `token<TAB>tag`.

The input layout is kept line for line: every token line gives `token<TAB>tag` (the token without
surrounding whitespace), every blank line stays a blank line. Tags are IOB2 with types PER, ORG,
LOC, MISC, from the same model and the same token-level post-processing as the pipeline
(`transforms.mentions.tag_sentences`: IOB2 repair, punctuation and titles cut from entity edges,
coordinated persons split, the first extractor's persons added where the tagger missed them or
cut them short).

Documents: the pipeline passes the tagger one document per article for its consistency pass (a
name tagged once is tagged where it repeats). A token stream does not say where its documents
end, but files of sentences keep a document's sentences together, so by default a sentence's
document is its neighbourhood: the `context` sentences on each side (default 5, chosen on the
ANERcorp dev split: see `transforms.ner.consistency.NEIGHBOUR_SENTENCES`; the whole input as one
document scores worse, since unrelated texts then share names). `context=0` tags every sentence
on its own. A line `-DOCSTART-` (the
CoNLL convention) marks document boundaries: the pass then uses whole documents, as the
pipeline does, and the line is echoed as `-DOCSTART-<TAB>O`.

Line ends may be LF, CRLF or CR; a UTF-8 byte-order mark is ignored. A line holding two fields
(`token tag`, or a token with a space in it) is refused with its line number, exit status 2,
and nothing is written.
"""

from __future__ import annotations

import re
import sys
from typing import TextIO

from transforms.ner.consistency import NEIGHBOUR_SENTENCES

DOCSTART = "-DOCSTART-"
CONTEXT_SENTENCES = NEIGHBOUR_SENTENCES
_INNER_SPACE = re.compile(r"\s")


class InputError(ValueError):
    """The input is not one token per line."""


def parse_lines(text: str) -> tuple[list[str | None], list[list[str]], list[int]]:
    """(output tokens per line, None for blank and DOCSTART lines; sentences; document id per sentence)."""
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the newline ending the last line does not open another line
    tokens: list[str | None] = []
    sentences: list[list[str]] = []
    doc_ids: list[int] = []
    doc = 0
    current: list[str] = []
    for number, line in enumerate(lines, start=1):
        token = line.strip()
        if token and _INNER_SPACE.search(token):
            raise InputError(
                f"line {number}: expected one token per line, found whitespace inside {token!r}"
                " (to tag a 'token tag' file, give only its first column)"
            )
        if not token or token == DOCSTART:
            if current:
                sentences.append(current)
                doc_ids.append(doc)
                current = []
            if token == DOCSTART:
                doc += 1
            tokens.append(token or None)
            continue
        current.append(token)
        tokens.append(token)
    if current:
        sentences.append(current)
        doc_ids.append(doc)
    return tokens, sentences, doc_ids


def run(
    stream_in: TextIO,
    stream_out: TextIO,
    tagger=None,
    stream_err: TextIO | None = None,
    context: int = CONTEXT_SENTENCES,
) -> int:
    """Tag ``stream_in`` to ``stream_out``; 0 on success, 2 on malformed input (message on stderr).

    ``tagger``: anything with ``tag(sentences, doc_ids, context_radius=...)``; default the
    committed model. ``context``: sentences on each side that form a sentence's document when the
    input has no `-DOCSTART-` lines (0: every sentence on its own).
    """
    err = stream_err if stream_err is not None else sys.stderr
    try:
        tokens, sentences, doc_ids = parse_lines(stream_in.read())
    except UnicodeDecodeError as exc:
        print(f"akhbar ner: input is not UTF-8 text ({exc.reason} at byte {exc.start})", file=err)
        return 2
    except InputError as exc:
        print(f"akhbar ner: {exc}", file=err)
        return 2
    if sentences:
        from transforms.mentions import tag_sentences

        if tagger is None:
            from transforms.ner import Tagger

            tagger = Tagger.load()
        if DOCSTART in tokens:
            tagged = tag_sentences(sentences, tagger, doc_ids)
        elif context > 0:
            tagged = tag_sentences(sentences, tagger, [0] * len(sentences), context_radius=context)
        else:
            tagged = tag_sentences(sentences, tagger)
        tags = iter([t for sent in tagged for t in sent])
    else:
        tags = iter(())
    out = []
    for token in tokens:
        if token is None:
            out.append("\n")
        elif token == DOCSTART:
            out.append(f"{DOCSTART}\tO\n")
        else:
            out.append(f"{token}\t{next(tags)}\n")
    stream_out.write("".join(out))
    return 0
