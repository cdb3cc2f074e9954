"""Arabic tokenization with exact character offsets, sentence indices and clitic handling.

Entity extraction and the NER model both need tokens that point back into the article body
(`body[start_char:end_char] == token`), so offsets are computed, never re-derived from cleaned
text. How it stays vectorized: ``str.extract_all`` with one regex whose match is a token plus
the separators after it (a single hard punctuation mark, a word with inner soft punctuation such
as ``3.5`` or ``U.S``, or a single other mark). Every non-separator character starts or continues
a match, so the matches and the body's leading separators partition the body; a token's start is
then the running sum of match lengths in characters (polars ``str.find`` and friends report byte
offsets, wrong for Arabic). The running sums are batch-wide; each document's base is gathered by
document number, which avoids a grouped ``over`` on millions of rows. Measured on the 19,792
news-corpus bodies (5.4 M tokens): about 1.1 M tokens/s on one core, where a Python
``re.finditer`` loop over the same bodies is about five times slower.

Proclitics (و ف ب ل ك and the contraction لل = ل + ال) are not split off by the tokenizer:
whether ``وليد`` is و + ليد depends on a lexicon. ``clitic_variants`` lists every reading of a
token with its offset shift; ``strip_clitics`` keeps a stripped reading only when its key is in a
set of known words and the whole token is not protected (e.g. a first name such as ``وليد``).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

import polars as pl

# Characters between tokens: Unicode White_Space (what regex \s and str.strip_chars agree on) plus the
# invisible direction marks and BOM that copy-pasted news carries. Joiners (ZWNJ/ZWJ) stay in words.
SEPARATORS = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\u200b\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
    "\u2066\u2067\u2068\u2069\ufeff\u061c"
)
# Always split off, wherever they stand: quotes, brackets, Arabic comma/semicolon, sentence marks.
HARD_PUNCT = "«»“”„‟\"'‘’()[]{}<>،؛؟!?…|"
_SEP = "".join(f"\\x{{{ord(c):x}}}" for c in SEPARATORS)
_HARD = "".join(re.escape(c) for c in HARD_PUNCT)
# Other punctuation and symbols split off only at the edges of a word ("3.5", "U.S", "7-8" stay whole).
_SOFT = rf"[\p{{P}}\p{{S}}--[{_HARD}]]"
_WORD = rf"[^{_SEP}\p{{P}}\p{{S}}]"
# One match = one token and the separators after it. Every non-separator character starts or
# continues a match, so matches plus the body's leading separators partition the body exactly.
TOKEN_PATTERN = rf"(?:[{_HARD}]|{_WORD}+(?:{_SOFT}+{_WORD}+)*|[\p{{P}}\p{{S}}])[{_SEP}]*"

SENTENCE_END = (".", "!", "؟", "?", "…")
QUOTES = ("«", "»", "“", "”", "„", "‟", '"', "'", "‘", "’")

_DIACRITICS = "[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]"
_FOLD_FROM = ["أ", "إ", "آ", "ٱ", "ة", "ى", "ی", "ک"]
_FOLD_TO = ["ا", "ا", "ا", "ا", "ه", "ي", "ي", "ك"]
_MARKS = "\u064b-\u065f\u0670"
_CONJ = rf"^([وف][{_MARKS}]*)"
_PREP = rf"^([بلك][{_MARKS}]*)"
_CONJ_PREP = rf"^([وف][{_MARKS}]*[بلك][{_MARKS}]*)"

TOKEN_SCHEMA: dict[str, pl.DataType] = {
    "sentence_index": pl.Int32(),
    "token_index": pl.Int32(),
    "token": pl.String(),
    "start_char": pl.Int64(),
    "end_char": pl.Int64(),
}


@dataclass(frozen=True)
class TokenizeConfig:
    """Column names of the input frame."""

    id_column: str = "article_id"
    text_column: str = "body"


def token_key(expr: pl.Expr) -> pl.Expr:
    """The lookup form of Arabic text: no diacritics or tatweel, alef/ya/ta-marbuta variants folded.

    News spelling varies freely between these variants (إيران/ايران, سورية/سوريه, على/علي), so every
    lookup compares keys, never raw surfaces. Latin letters are lower-cased.
    """
    return expr.str.replace_all(_DIACRITICS, "").str.replace_many(_FOLD_FROM, _FOLD_TO).str.to_lowercase()


def tokenize(frame: pl.DataFrame, config: TokenizeConfig = TokenizeConfig()) -> pl.DataFrame:
    """One row per token of every body, in body order.

    Columns: the id column, ``sentence_index`` (0-based within the document; a sentence ends after
    . ! ؟ ? … and at a line break), ``token_index`` (0-based position in the document), ``token``,
    ``start_char``, ``end_char`` (Python slice offsets into the body). Null or empty bodies give no
    rows. Offsets come from running sums of match lengths in characters over the whole batch,
    minus a per-document base gathered by document number (no grouped window needed).
    """
    ident, text = config.id_column, config.text_column
    body = pl.col(text).fill_null("")
    docs = frame.select(
        pl.col(ident),
        body.str.extract_all(TOKEN_PATTERN).alias("_m"),
        (body.str.len_chars() - body.str.strip_chars_start(SEPARATORS).str.len_chars())
        .cast(pl.Int64)
        .alias("_lead"),
    ).with_columns(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("_doc"),
        pl.col("_m").list.len().cast(pl.Int64).alias("_count"),
        pl.col("_m").list.eval(pl.element().str.len_chars()).list.sum().cast(pl.Int64).alias("_span"),
    )
    # Per document: the batch-wide character offset and row number where it starts.
    char_base = (docs["_span"].cum_sum() - docs["_span"] - docs["_lead"]).rename("_char_base")
    row_base = (docs["_count"].cum_sum() - docs["_count"]).rename("_row_base")
    rows = docs.select(ident, "_doc", "_m").explode("_m").drop_nulls("_m")
    m_len = pl.col("_m").str.len_chars().cast(pl.Int64)
    token = pl.col("_m").str.strip_chars_end(SEPARATORS)
    is_break = (token.is_in(SENTENCE_END) | pl.col("_m").str.contains("\n", literal=True)).cast(pl.Int32)
    rows = rows.with_columns(
        token.alias("token"),
        ((m_len.cum_sum() - m_len) - pl.lit(char_base).gather(pl.col("_doc"))).alias("start_char"),
        (is_break.cum_sum() - is_break).alias("_before"),
        pl.lit(row_base).gather(pl.col("_doc")).alias("_first"),
    )
    return rows.select(
        pl.col(ident),
        (pl.col("_before") - pl.col("_before").gather(pl.col("_first")))
        .cast(pl.Int32)
        .alias("sentence_index"),
        (pl.int_range(pl.len(), dtype=pl.Int64) - pl.col("_first")).cast(pl.Int32).alias("token_index"),
        pl.col("token"),
        pl.col("start_char"),
        (pl.col("start_char") + pl.col("token").str.len_chars()).alias("end_char"),
    )


def tokenize_with_offsets(texts: list[str]) -> pl.DataFrame:
    """``tokenize`` over a plain list of texts; ``article_id`` is the text's position in the list."""
    frame = pl.DataFrame(
        {
            "article_id": pl.Series(range(len(texts)), dtype=pl.Int64),
            "body": pl.Series(texts, dtype=pl.String),
        }
    )
    return tokenize(frame)


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
            frame.filter(
                prefix.is_not_null() & (tok.str.len_chars() - prefix.str.len_chars() >= 2)
            ).with_columns(
                prefix.str.len_chars().cast(pl.Int32).alias("clitic_shift"),
                tok.str.slice(prefix.str.len_chars()).alias("stem"),
            )
        )
    out = pl.concat(readings).with_columns(token_key(pl.col("stem")).alias("stem_key"))
    elided = out.filter(
        (pl.col("clitic_shift") > 0)
        & pl.col(column).str.slice(0, pl.col("clitic_shift")).str.contains(f"ل[{_MARKS}]*$")
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
