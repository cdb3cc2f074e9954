"""Arabic text: fold tables, marks, word patterns, proclitics and the named lookup keys.

Every step that compares Arabic text takes its tables and keys from here. News spelling varies
freely between alef forms (إيران/ايران), final ya and alef maqsura (على/علي), ta marbuta and ha
(سورية/سوريه), and carries optional diacritics and tatweel, so lookups compare folded keys, never
raw surfaces. Three keys are built from the same tables and differ on purpose:

* ``match_key`` (polars): the dedup key. Article ids are the SHA-256 of it, and boilerplate and
  near-duplicate detection compare it, so it must never change: a different fold would renumber
  every article. It folds the most (compatibility characters, punctuation, digits, case, spaces).
* ``token_key`` (polars): the key of one token for gazetteer and lexicon lookups: diacritics and
  tatweel removed, letter variants folded, lower-cased; digits and punctuation kept.
* ``ner_key`` and ``ner_normalize`` (plain Python, per token): the NER model's feature key. It is
  frozen with the committed model (its vocabulary, feature names and gazetteer are keyed on it):
  it maps every digit to ``0`` and does not fold the Persian keyboard letters ی and ک.

Proclitics (و ف, then ب ل ك, and the contraction لل = ل + ال) stay attached in tokens: whether
``وليد`` is و + ليد depends on a lexicon. ``clitic_variants`` lists every reading of a token with
its offset shift; ``strip_clitics`` keeps a stripped reading only when its key is a known word.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Collection

import polars as pl

# --- characters ----------------------------------------------------------------------------

TATWEEL = "\u0640"

# Letter variants that news spelling uses interchangeably.
ALEF_FOLDS: dict[str, str] = {"\u0623": "\u0627", "\u0625": "\u0627", "\u0622": "\u0627", "\u0671": "\u0627"}  # أ إ آ ٱ
YA_FOLDS: dict[str, str] = {"\u0649": "\u064a"}  # alef maqsura ى -> ي
TA_MARBUTA_FOLDS: dict[str, str] = {"\u0629": "\u0647"}  # ة -> ه
# Persian yeh ی and keheh ک: keyboard variants of ي and ك.
KEYBOARD_FOLDS: dict[str, str] = {"\u06cc": "\u064a", "\u06a9": "\u0643"}
LETTER_FOLDS: dict[str, str] = {**ALEF_FOLDS, **TA_MARBUTA_FOLDS, **YA_FOLDS, **KEYBOARD_FOLDS}

# Arabic-Indic and extended (Persian) digits, with the ASCII digit each one writes.
DIGIT_FOLDS: dict[str, str] = {
    **{chr(0x0660 + d): str(d) for d in range(10)},
    **{chr(0x06F0 + d): str(d) for d in range(10)},
}

# Harakat, tanwin, shadda, sukun, hamza marks and the superscript alef: the marks that can sit on a
# letter, including a proclitic letter (a regex class body, to go inside ``[...]``).
MARKS = "\u064b-\u065f\u0670"
# Diacritics and tatweel, removed by the lookup keys: MARKS plus the Quranic annotation signs.
DIACRITICS = f"[\u0610-\u061a{MARKS}\u06d6-\u06ed{TATWEEL}]"

# Invisible characters: zero-width and bidi controls (incl. the Arabic letter mark U+061C and the
# word joiner U+2060), BOMs inside text, and C0/C1 controls other than TAB and LF.
INVISIBLE_RANGES: tuple[tuple[int, int], ...] = (
    (0x200B, 0x200F), (0x202A, 0x202E), (0x2066, 0x2069), (0x061C, 0x061C), (0x2060, 0x2060),
    (0xFEFF, 0xFEFF), (0x00, 0x08), (0x0E, 0x1F), (0x7F, 0x9F),
)  # fmt: skip
# Code points ``unicodedata`` covers and that can carry text (planes 0-2).
TEXT_PLANES = range(0x30000)

# --- word patterns -------------------------------------------------------------------------

# A word: a whitespace-separated token holding a letter or a digit ("-", "***" and "|" are not).
# One match per such token (from its first letter or digit to the next whitespace), so
# ``str.count_matches(WORD)`` counts words; stats, dedup and boilerplate all count with it.
WORD = r"[\p{L}\p{N}]\S*"
# A whole token made only of Arabic letters, marks and tatweel (no digits, Latin or punctuation).
ARABIC_WORD = r"^[\u0621-\u064a\u064b-\u065f\u0670\u0640]+$"

# --- proclitics and enclitics --------------------------------------------------------------

CONJUNCTIONS = ("و", "ف")
PREPOSITIONS = ("ب", "ل", "ك")
ARTICLE = "ال"
# Every proclitic group a word can carry before its stem (or its article): conjunction,
# preposition, conjunction + preposition.
PROCLITICS = CONJUNCTIONS + PREPOSITIONS + tuple(c + p for c in CONJUNCTIONS for p in PREPOSITIONS)

# A key that starts with a conjunction (what is left after it is the bare word).
LEADING_CONJUNCTION = rf"^[{''.join(CONJUNCTIONS)}]"
# A definite key: the article, after an optional conjunction and ب or ك, or the contraction لل.
DEFINITE = rf"^[{''.join(CONJUNCTIONS)}]?(?:{ARTICLE}|لل|ب{ARTICLE}|ك{ARTICLE})"

_CONJ = rf"^([{''.join(CONJUNCTIONS)}][{MARKS}]*)"
_PREP = rf"^([{''.join(PREPOSITIONS)}][{MARKS}]*)"
_CONJ_PREP = rf"^([{''.join(CONJUNCTIONS)}][{MARKS}]*[{''.join(PREPOSITIONS)}][{MARKS}]*)"

# The NER model's proclitics (with the article), in the order ``ner_strip_prefix`` tries them.
# Frozen with the committed model.
NER_PREFIXES = (
    "وبال", "وكال", "فبال", "وال", "فال", "بال", "كال", "ولل", "فلل",
    "لل", "ال", "وب", "ول", "وك", "فب", "فل", "و", "ف", "ب", "ل", "ك",
)  # fmt: skip
_NER_PREFIX_FIRST = frozenset(p[0] for p in NER_PREFIXES)

# --- match key (dedup) ---------------------------------------------------------------------

_MATCH_FOLDS: dict[str, str] = {**LETTER_FOLDS, TATWEEL: "", **DIGIT_FOLDS}
_INVISIBLE_CODES = frozenset(code for lo, hi in INVISIBLE_RANGES for code in range(lo, hi + 1))


def _fold_for_match_key(char: str) -> str:
    if char in _MATCH_FOLDS:
        return _MATCH_FOLDS[char]
    code = ord(char)
    category = unicodedata.category(char)
    if category == "Mn" and (0x0600 <= code <= 0x06FF or 0x08D3 <= code <= 0x08FF):
        return ""  # harakat, tanwin, shadda, sukun, hamza marks, superscript alef, Quranic marks
    if code in _INVISIBLE_CODES:
        return ""
    if category.startswith("P"):
        return " "  # punctuation separates words: "سوريا،الخميس" and "سوريا، الخميس" agree
    return char.lower()


@functools.cache
def match_key_table() -> dict[str, str]:
    """Every character whose match-key form differs: NFKC first (presentation forms, ligatures,
    full-width and other compatibility characters), then the letter, digit, diacritic,
    punctuation and case folds. Built on first use (about 0.2 s)."""
    table: dict[str, str] = {}
    for code in TEXT_PLANES:
        if 0xD800 <= code <= 0xDFFF:
            continue
        char = chr(code)
        folded = "".join(_fold_for_match_key(part) for part in unicodedata.normalize("NFKC", char))
        if folded != char:
            table[char] = folded
    return table


def match_key(expr: pl.Expr) -> pl.Expr:
    """The normalized key for exact deduplication and MinHash shingles.

    Alef forms -> ا, ى -> ي, ة -> ه; no diacritics or tatweel; punctuation (Arabic and Latin)
    becomes a word break; Arabic-Indic digits -> ASCII; lowercase; compatibility characters
    folded (NFKC per character); all whitespace runs -> one space; stripped. Give it display
    text (NFC, as ``transforms.normalize.clean_display_text`` returns): canonical composition is
    not redone here. Article ids hash this key: it must not change.
    """
    key = expr.str.replace_many(match_key_table())
    return key.str.replace_all(r"\s{2,}|[^\S ]", " ").str.strip_chars()


def with_match_key(frame: pl.DataFrame, column: str = "body", alias: str = "match_key") -> pl.DataFrame:
    """Add ``alias`` = ``match_key(column)`` (null where the column is null)."""
    return frame.with_columns(match_key(pl.col(column)).alias(alias))


# --- token key (lookups) -------------------------------------------------------------------


def token_key(expr: pl.Expr) -> pl.Expr:
    """The lookup form of Arabic text: no diacritics or tatweel, alef/ya/ta-marbuta variants folded.

    News spelling varies freely between these variants (إيران/ايران, سورية/سوريه, على/علي), so every
    lookup compares keys, never raw surfaces. Latin letters are lower-cased; digits and punctuation
    stay, so a token's key keeps its shape (unlike ``match_key``).
    """
    folds = expr.str.replace_all(DIACRITICS, "").str.replace_many(list(LETTER_FOLDS), list(LETTER_FOLDS.values()))
    return folds.str.to_lowercase()


def clitic_variants(frame: pl.DataFrame, column: str = "token") -> pl.DataFrame:
    """Every reading of each token with its attached proclitics removed, one row per reading.

    Adds ``clitic_shift`` (characters removed at the front: the stem starts at
    ``start_char + clitic_shift``), ``stem`` (the token without them) and ``stem_key`` (its
    ``token_key``). The unstripped reading (shift 0) is always present. After ل the article's
    alef is elided (ل + الأمن = للأمن), so a stem beginning with ل also gets the key ا + stem.
    Stripping never leaves fewer than two letters.
    """
    tok = pl.col(column)
    readings = [frame.with_columns(pl.lit(0, dtype=pl.Int32).alias("clitic_shift"), tok.alias("stem"))]
    for pattern in (_CONJ, _PREP, _CONJ_PREP):
        prefix = tok.str.extract(pattern, 1)
        readings.append(
            frame.filter(prefix.is_not_null() & (tok.str.len_chars() - prefix.str.len_chars() >= 2)).with_columns(
                prefix.str.len_chars().cast(pl.Int32).alias("clitic_shift"),
                tok.str.slice(prefix.str.len_chars()).alias("stem"),
            )
        )
    out = pl.concat(readings).with_columns(token_key(pl.col("stem")).alias("stem_key"))
    elided = out.filter(
        (pl.col("clitic_shift") > 0)
        & pl.col(column).str.slice(0, pl.col("clitic_shift")).str.contains(f"ل[{MARKS}]*$")
        & pl.col("stem_key").str.starts_with("ل")
    ).with_columns(("ا" + pl.col("stem_key")).alias("stem_key"))
    return pl.concat([out, elided])


def strip_clitics(
    frame: pl.DataFrame,
    known: Collection[str],
    protected: Collection[str] = (),
    column: str = "token",
) -> pl.DataFrame:
    """Add ``stem``, ``stem_key`` and ``clitic_shift`` to every row, stripping only where it is safe.

    Rule: a token is stripped only when its own key is not in ``known`` and not in ``protected``
    (first names such as وليد, فيصل, بشار), and some stripped reading's key is in ``known``
    (gazetteer keys) and keeps at least three letters; among those the shortest strip wins.
    Otherwise the token stays whole, so لبنان, كما and وليد are never cut. Row order and count
    are kept.
    """
    known_s = pl.Series(list(known), dtype=pl.String)
    protected_s = pl.Series(list(protected), dtype=pl.String)
    indexed = frame.with_row_index("_row")
    variants = clitic_variants(indexed, column)
    whole_key = token_key(pl.col(column))
    best = (
        variants.filter(
            (pl.col("clitic_shift") > 0)
            & (pl.col("stem_key").str.len_chars() >= 3)
            & pl.col("stem_key").is_in(known_s.implode())
            & ~whole_key.is_in(known_s.implode())
            & ~whole_key.is_in(protected_s.implode())
        )
        .sort("_row", "clitic_shift")
        .unique("_row", keep="first")
        .select("_row", "stem", "stem_key", "clitic_shift")
    )
    return (
        indexed.join(best, on="_row", how="left")
        .with_columns(
            pl.col("stem").fill_null(pl.col(column)),
            pl.col("stem_key").fill_null(whole_key),
            pl.col("clitic_shift").fill_null(0),
        )
        .sort("_row")
        .drop("_row")
    )


# --- NER key (frozen with the committed model) ---------------------------------------------

_NER_DIACRITICS = re.compile(DIACRITICS)
_NER_FOLDS = str.maketrans(
    {**ALEF_FOLDS, **YA_FOLDS, **TA_MARBUTA_FOLDS, **{d: "0" for d in "0123456789" + "".join(DIGIT_FOLDS)}}
)
# A word of the NER key: a run of Python ``re`` word characters (letters, digits, marks, underscore).
NER_WORD = re.compile(r"\w+")


def ner_normalize(token: str) -> str:
    """Diacritics and tatweel removed, alef/ya/ta-marbuta variants unified, digits mapped to 0.

    Unlike ``token_key``: every digit becomes ``0``, ی/ک are kept and case is kept, because the
    committed NER model's vocabulary and features were built on exactly this form.
    """
    return _NER_DIACRITICS.sub("", token).translate(_NER_FOLDS)


def ner_key(token: str) -> str:
    """The NER lookup key of a whitespace token: normalised, with attached punctuation dropped."""
    norm = ner_normalize(token)
    parts = NER_WORD.findall(norm)
    return "".join(parts) if parts else norm


def ner_strip_prefix(key: str) -> tuple[str, str]:
    """Split the first proclitic of ``NER_PREFIXES`` off a key when at least three letters stay behind."""
    if key[:1] in _NER_PREFIX_FIRST:  # most keys start with no proclitic's letter: one set lookup
        for prefix in NER_PREFIXES:
            if key.startswith(prefix) and len(key) - len(prefix) >= 3:
                return prefix, key[len(prefix) :]
    return "", key


@functools.lru_cache(maxsize=200_000)
def ner_forms(token: str) -> tuple[str, str, str]:
    """``ner_key`` of a token, and that key split by ``ner_strip_prefix`` (proclitic, stem).

    Every NER feature set (the network's, the CRF's, the consistency pass) starts from these three
    forms of each new token type; kept here, they are computed once per type, not once per feature set.
    """
    k = ner_key(token)
    return (k, *ner_strip_prefix(k))


def ner_words(text: str) -> list[str]:
    """NER keys of an unlabeled text, in the same form as ``ner_key`` gives for labeled tokens."""
    return NER_WORD.findall(ner_normalize(text))
