"""The warehouse DDL, generated from `transforms.schema`; the views stay SQL in `views.sql`.

DuckLake stores every table as Parquet, so each polars dtype maps to the DuckDB type whose Parquet
form it reads back as. Tables reach a warehouse through the numbered migrations
(`warehouse/migrations/`). Everything derived from them (views, the Arabic search macros, the
COMMENT ON of every relation and column) is replaced by `derived_statements` on a writer start
whenever it changed, so a warehouse always carries the current definitions. The DuckLake catalog
stores macros and comments on tables, columns and views, so any client that attaches it sees
them; it refuses comments on a view's columns and on macros (those are documented in the view's
comment and in SCHEMA.md).
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from transforms import arabic
from transforms.schema import TABLES, VIEWS, Relation

VIEWS_FILE = Path(__file__).with_name("views.sql")

_SCALAR_TYPES: dict[type[pl.DataType], str] = {
    pl.String: "VARCHAR",
    pl.Int16: "SMALLINT",
    pl.Int32: "INTEGER",
    pl.Int64: "BIGINT",
    pl.Float64: "DOUBLE",
    pl.Boolean: "BOOLEAN",
    pl.Date: "DATE",
}
_VIEW_NAME = re.compile(r"CREATE\s+(?:OR\s+REPLACE\s+)?VIEW\s+(\w+)", re.I)


def duckdb_type(dtype: pl.DataType) -> str:
    """The DuckDB column type for a polars dtype of the schema."""
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone != "UTC":
            raise ValueError(f"timestamps are stored in UTC, not {dtype}")
        return "TIMESTAMP WITH TIME ZONE"
    if isinstance(dtype, pl.List):
        return f"{duckdb_type(dtype.inner)}[]"
    for kind, name in _SCALAR_TYPES.items():
        if isinstance(dtype, kind):
            return name
    raise ValueError(f"no warehouse type for polars dtype {dtype}")


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def create_table(relation: Relation) -> str:
    width = max(len(c.name) for c in relation.columns) + 2
    lines = [f"    {quote(c.name):<{width}} {duckdb_type(c.dtype)}" for c in relation.columns]
    return f"CREATE TABLE IF NOT EXISTS {relation.name} (\n" + ",\n".join(lines) + "\n)"


def view_statements() -> list[tuple[str, str]]:
    """(view name, statement) for every statement of views.sql, in order."""
    text = "\n".join(line.split("--", 1)[0] for line in VIEWS_FILE.read_text().splitlines())
    statements = []
    for statement in (s.strip() for s in text.split(";")):
        if statement:
            match = _VIEW_NAME.search(statement)
            if not match:
                raise ValueError(f"views.sql holds a statement that is not a view: {statement[:60]}")
            statements.append((match.group(1), statement))
    return statements


def schema_statements() -> list[tuple[str, str]]:
    """(table name, CREATE TABLE IF NOT EXISTS) for every table as the schema declares it, in order (what
    the migrations must reach; the derived views, macros and comments are `derived_statements`)."""
    return [(relation.name, create_table(relation)) for relation in TABLES]


# --- Arabic search macros --------------------------------------------------------------------

# Characters ar_norm removes: the marks match_key drops (Arabic Mn) and the invisible controls.
_REMOVED = (
    "[\\x{610}-\\x{61a}\\x{64b}-\\x{65f}\\x{670}\\x{6d6}-\\x{6dc}\\x{6df}-\\x{6e4}\\x{6e7}\\x{6e8}"
    "\\x{6ea}-\\x{6ed}\\x{8d3}-\\x{8e1}\\x{8e3}-\\x{8ff}"
    + "".join(f"\\x{{{max(lo, 1):x}}}-\\x{{{hi:x}}}" for lo, hi in arabic.INVISIBLE_RANGES)
    + "]"
)
# Whitespace as polars' (Unicode) \\s sees it; RE2's \\s is ASCII only.
_OTHER_SPACES = ("\\t\\n\\x{b}\\f\\r\\x{85}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}"
                 "\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}")
_SPACE = f"[ {_OTHER_SPACES}]"
_CONJ = "".join(arabic.CONJUNCTIONS)
_PREP = "".join(arabic.PREPOSITIONS)
# Where a word starts: the text's start or a character that is no letter or digit.
WORD_START = "(?:^|[^\\pL\\pN])"
# Strip one proclitic group when at least three characters stay behind.
_STEM = f"^(?:[{_CONJ}]?(?:[{_PREP}]{arabic.ARTICLE}|لل|{arabic.ARTICLE}|[{_PREP}])|[{_CONJ}])(\\S{{3,}})$"


def sql_literal(text: str) -> str:
    """``text`` as a SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def ar_norm_sql(arg: str = "s") -> str:
    """The SQL of `transforms.arabic.match_key` over ``arg``, without its NFKC step.

    Same order as the Python key: marks and invisible characters removed, alef/ya/ta marbuta and
    Persian keyboard letters folded, Arabic-Indic digits made ASCII, tatweel removed, lower case,
    punctuation made a space, whitespace runs one space, trimmed. Compatibility characters that
    NFKC would fold (full-width forms, ligatures) stay as they are: bodies hold no presentation
    forms (parse folds them), so on warehouse text the two keys agree.
    """
    folds = {**arabic.LETTER_FOLDS, **arabic.DIGIT_FOLDS}
    source = "".join(folds) + arabic.TATWEEL
    target = "".join(folds.values())
    removed = f"regexp_replace({arg}, {sql_literal(_REMOVED)}, '', 'g')"
    folded = f"lower(translate({removed}, {sql_literal(source)}, {sql_literal(target)}))"
    spaced = f"regexp_replace({folded}, '\\pP', ' ', 'g')"
    runs = sql_literal(_SPACE + "{2,}|[" + _OTHER_SPACES + "]")
    return f"trim(regexp_replace({spaced}, {runs}, ' ', 'g'))"


# What may follow any letter as written: the marks and tatweel the key removes.
_MARKS = "[\\x{610}-\\x{61a}\\x{64b}-\\x{65f}\\x{670}\\x{6d6}-\\x{6ed}\\x{640}]*"


def _spellings() -> dict[str, str]:
    """Every folded character with a class of the characters that fold to it (itself included)."""
    spelled: dict[str, set[str]] = {}
    for raw, folded in {**arabic.LETTER_FOLDS, **arabic.DIGIT_FOLDS}.items():
        spelled.setdefault(folded, {folded}).add(raw)
    return {folded: "[" + "".join(sorted(chars)) + "]" for folded, chars in sorted(spelled.items())}


def _written(letters: str) -> str:
    return "".join(letter + _MARKS for letter in letters)


# The proclitic groups as written: و/ف, then ب/ل/ك with or without the article, the article, or لل.
_WRITTEN_CLITICS = (f"(?:[{_CONJ}]{_MARKS})?(?:[{_PREP}]{_MARKS}(?:{_written(arabic.ARTICLE)})?"
                    f"|{_written('لل')}|{_written(arabic.ARTICLE)})?")


def ar_pattern_sql(word: str = "word") -> str:
    """SQL of the RE2 pattern that finds ``word`` in text as written (not folded).

    The word's stem (``ar_stem``) with every spelling the key folds together, optional marks and
    tatweel after each letter, any leading proclitics, at a word start; group 1 is the word. One
    scan of the raw text: several times faster than folding the text with ar_norm first.
    """
    cases = " ".join(f"WHEN {sql_literal(folded)} THEN {sql_literal(spelled + _MARKS)}"
                     for folded, spelled in _spellings().items())
    between_words = sql_literal("[^\\pL\\pN]+")
    letter = (f"CASE c {cases} WHEN ' ' THEN {between_words} "
              f"ELSE regexp_escape(c) || {sql_literal(_MARKS)} END")
    stem = f"array_to_string(list_transform(string_split(ar_stem({word}), ''), lambda c: {letter}), '')"
    return f"{sql_literal(WORD_START + '(' + _WRITTEN_CLITICS + '(?i:')} || {stem} || '))'"


# (name, arguments, SQL body, description): every macro stored in the catalog.
MACROS: tuple[tuple[str, str, str, str], ...] = (
    ("ar_norm", "s", ar_norm_sql("s"),
     "the matching key of Arabic text (transforms.arabic.match_key without NFKC): alef forms, ya/alef "
     "maqsura, ta marbuta folded; diacritics and tatweel removed; punctuation a space; lower case"),
    ("ar_stem", "word", f"regexp_replace(ar_norm(word), {sql_literal(_STEM)}, '\\1')",
     "ar_norm of a word without one leading proclitic group (و ف, ب ل ك, ال, لل) when three "
     "characters stay behind: وإيران -> ايران"),
    ("ar_pattern", "word", ar_pattern_sql("word"),
     "the regular expression (RE2) finding word in text as written: its ar_stem in every spelling the "
     "key folds, diacritics and tatweel allowed, any leading proclitics, at a word start"),
    ("ar_contains", "text, word", "regexp_matches(text, ar_pattern(word))",
     "whether text names word at a word start, in any spelling, with or without leading proclitics"),
    ("ar_count", "text, word", "len(regexp_extract_all(text, ar_pattern(word)))",
     "how often text names word (as ar_contains finds it)"),
)


def macro_statements() -> list[tuple[str, str]]:
    return [(name, f"CREATE OR REPLACE MACRO {name}({args}) AS {body}") for name, args, body, _ in MACROS]


def comment_statements() -> list[tuple[str, str]]:
    """COMMENT ON every table, its columns and every view (view columns: in the view's comment).

    DuckLake refuses COMMENT ON a view's column and on a macro; SCHEMA.md documents both."""
    statements = []
    for relation in TABLES:
        statements.append((relation.name, f"COMMENT ON TABLE {relation.name} IS {sql_literal(relation.description)}"))
        statements += [
            (relation.name, f"COMMENT ON COLUMN {relation.name}.{quote(c.name)} IS {sql_literal(c.description)}")
            for c in relation.columns
        ]
    for relation in VIEWS:
        columns = "; ".join(f"{c.name}: {c.description}" for c in relation.columns)
        text = f"{relation.description}. Columns: {columns}"
        statements.append((relation.name, f"COMMENT ON VIEW {relation.name} IS {sql_literal(text)}"))
    return statements


def derived_statements() -> list[tuple[str, str]]:
    """(name, statement): views, macros and comments, idempotent; a writer start applies them when they changed."""
    views = view_statements()
    declared = [relation.name for relation in VIEWS]
    if [name for name, _ in views] != declared:
        raise ValueError(f"views.sql creates {[n for n, _ in views]}, transforms/schema.py declares {declared}")
    return macro_statements() + views + comment_statements()
