"""Unicode hygiene for display text.

``clean_display_text`` changes only what a reader cannot see or would read the same way
(invisible controls, presentation-form glyphs, decorative tatweel, line-break flavours), so the
body stored in the warehouse still reads exactly like the source. The folded key that
deduplication compares is a different job, kept apart on purpose: ``transforms.arabic.match_key``
folds everything that varies between copies of one story and is never shown to anyone.

Plain polars expressions. Character tables come from ``unicodedata`` and are applied with
``str.replace_many`` (one Aho-Corasick pass over the column, whatever the table's size).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

import polars as pl

from transforms.arabic import INVISIBLE_RANGES, TATWEEL, TEXT_PLANES

# Line breaks other than LF that a reader sees as line breaks.
_LINE_BREAKS = r"\r\n?|[\x0b\x0c\x{85}\x{2028}\x{2029}]"

INVISIBLE = "[" + "".join(rf"\x{{{lo:X}}}-\x{{{hi:X}}}" for lo, hi in INVISIBLE_RANGES) + "]"

# Arabic letters (tatweel is Lm of the Common script, so it is not one of them).
_AR_LETTER = r"[\p{Arabic}&&\p{L}]"
# A tatweel run between two Arabic letters only stretches the word: pure decoration.
_DECORATIVE_TATWEEL = rf"({_AR_LETTER}\p{{Mn}}*){TATWEEL}+({_AR_LETTER})"

_PRESENTATION_RANGES = ((0xFB50, 0xFDFF), (0xFE70, 0xFEFF))
_PRESENTATION_CLASS = "[" + "".join(rf"\x{{{lo:X}}}-\x{{{hi:X}}}" for lo, hi in _PRESENTATION_RANGES) + "]"


def _char_class(code_points: Iterable[int]) -> str:
    """A regex character class for a set of code points, as compact ranges."""
    ranges: list[list[int]] = []
    for code in sorted(code_points):
        if ranges and code == ranges[-1][1] + 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    return "[" + "".join(rf"\x{{{lo:X}}}" if lo == hi else rf"\x{{{lo:X}}}-\x{{{hi:X}}}" for lo, hi in ranges) + "]"


def _presentation_form_table() -> dict[str, str]:
    """NFKC of every Arabic presentation form that has a compatibility mapping.

    NFKC only for these characters: a whole-text NFKC would also fold things a reader should
    keep (superscripts, full-width Latin, the no-break space).
    """
    table: dict[str, str] = {}
    for lo, hi in _PRESENTATION_RANGES:
        for code in range(lo, hi + 1):
            char = chr(code)
            if char == "\ufeff":
                continue  # the BOM is removed as an invisible control instead
            folded = unicodedata.normalize("NFKC", char)
            if folded != char:
                table[char] = folded
    return table


def _nfc_gate() -> str:
    """Regex that matches wherever NFC could change a string.

    NFC changes text only at a character whose NFC quick-check is not Yes (it decomposes, or
    it can compose with the character before it) or at two adjacent combining marks (which
    may be reordered). Text without either is already NFC, and most news text has neither.
    """
    unstable: set[int] = set(range(0x1161, 0x1176)) | set(range(0x11A8, 0x11C3))  # Hangul V and T jamo
    marks: set[int] = set()
    for code in TEXT_PLANES:
        char = chr(code)
        if unicodedata.combining(char):
            marks.add(code)
        if unicodedata.normalize("NFC", char) != char:
            unstable.add(code)
        decomposition = unicodedata.decomposition(char)
        if decomposition and not decomposition.startswith("<"):
            parts = [chr(int(part, 16)) for part in decomposition.split()]
            if len(parts) == 2 and unicodedata.normalize("NFC", "".join(parts)) == char:
                unstable.add(ord(parts[1]))  # the second half of a composition
    mark_class = _char_class(marks)
    return f"{_char_class(unstable)}|{mark_class}{mark_class}"


PRESENTATION_FORMS: dict[str, str] = _presentation_form_table()
NFC_GATE: str = _nfc_gate()


def _breaks_and_invisible(expr: pl.Expr) -> pl.Expr:
    return expr.str.replace_all(_LINE_BREAKS, "\n").str.replace_all(INVISIBLE, "")


def _fold_and_compose(expr: pl.Expr) -> pl.Expr:
    return expr.str.replace_many(PRESENTATION_FORMS).str.normalize("NFC")


def _tatweel(expr: pl.Expr) -> pl.Expr:
    # Two passes: a match consumes the letter after the run, which can be the letter before the
    # next run (م ـ ح ـ م), so one pass only removes every other run of a chain.
    for _ in range(2):
        expr = expr.str.replace_all(_DECORATIVE_TATWEEL, "${1}${2}")
    return expr.str.replace_all(f"{TATWEEL}{{2,}}", TATWEEL)


def clean_display_text(expr: pl.Expr) -> pl.Expr:
    """Unicode hygiene that leaves the text a reader sees unchanged.

    CRLF, lone CR and the other line-break characters become LF; invisible controls go;
    presentation forms fold to base letters; the result is NFC; tatweel runs between two
    Arabic letters are removed and any other run (``الـ24``) shrinks to one tatweel.
    """
    return _tatweel(_fold_and_compose(_breaks_and_invisible(expr)))


def clean_display_column(frame: pl.DataFrame, column: str, alias: str | None = None) -> pl.DataFrame:
    """``clean_display_text`` over one column of a frame, with the same result, about 4x faster.

    The two costly passes (presentation-form folding and NFC) run only on the rows that hold a
    presentation form or a spot where NFC could change something; polars' ``when/then``
    would evaluate them on every row.
    """
    alias = alias or column
    out = frame.with_columns(_breaks_and_invisible(pl.col(column)).alias(alias))
    cleaned = out.get_column(alias)
    slow = cleaned.str.contains(f"{_PRESENTATION_CLASS}|{NFC_GATE}").fill_null(False).arg_true()
    if slow.len():
        fixed = pl.select(_fold_and_compose(pl.lit(cleaned.gather(slow)))).to_series()
        cleaned = cleaned.clone().scatter(slow, fixed)
    return out.with_columns(_tatweel(pl.lit(cleaned)).alias(alias))

