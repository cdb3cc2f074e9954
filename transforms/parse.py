"""Decoded text -> article fields (title, section, byline, publisher, url, date, body).

Two input formats, told apart by content (never by file name or folder):

* ``trec``: TREC/CLEF-style tagged files (``<DOC><DOCNO>…<TEXT>…</TEXT></DOC>``), not
  well-formed XML, so the tags are read with regular expressions.
* ``plain``: text as scraped from news sites: optionally a section line, a title and a
  ``| source`` byline, each followed by a blank line, then the body, then site boilerplate and
  a publisher footer. Some files are hard-wrapped mid-sentence and are joined back.

The parse never loses text: every line that is not boilerplate ends up in ``body`` or in one of
the header fields. Rows with no article text left are rejected with the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl

from transforms.frame import REJECTED, alive, label
from transforms.normalize import clean_display_column
from transforms.schema import PARSED_SCHEMA

TREC = "trec"
PLAIN = "plain"

# Sniff: a document that opens with <DOC>, or holds a complete <TEXT> element anywhere.
_TREC_SNIFF = r"(?is)\A\s*<DOC>|<TEXT>.*</TEXT>"

# A line ends a sentence when its last visible character (closing quotes/brackets aside) is
# sentence punctuation. The colon counts: it introduces a quote on the next line.
_SENTENCE_END = r"[.!?؟…:;؛](?:[\"'»”’)\]]*)$"

# RFC 822 zone names that chrono's %z does not read.
_ZONE_NAMES = {
    "GMT": "+0000", "UT": "+0000", "UTC": "+0000", "Z": "+0000",
    "EST": "-0500", "EDT": "-0400", "CST": "-0600", "CDT": "-0500",
    "MST": "-0700", "MDT": "-0600", "PST": "-0800", "PDT": "-0700",
}  # fmt: skip
# Two-digit years first: %Y would read "18" as the year 18, while %y fails on "2018".
_DATE_FORMATS = ("%d %b %y %H:%M:%S %z", "%d %b %y %H:%M %z", "%d %b %Y %H:%M:%S %z", "%d %b %Y %H:%M %z")


@dataclass(frozen=True)
class ParseConfig:
    # Whole lines dropped wherever they appear (matched after Unicode cleaning, surrounding
    # spaces ignored): site navigation, comment prompts, app adverts, separator rules.
    boilerplate_lines: tuple[str, ...] = ("زر الذهاب إلى الأعلى", "تعليقك")
    boilerplate_line_patterns: tuple[str, ...] = (
        r"[-_=*~•ـ]{3,}",
        r"يمكنكم (?:استلام|تسلم) إشعارات بأهم الموضوعات .*تطبيق بي بي سي عربي.*",
    )
    # Fragments dropped inside lines (news-agency end marks such as ``/انتهى/``).
    inline_boilerplate: tuple[str, ...] = (r"/[^\S\n]*انتهى[^\S\n]*/",)
    # Footer lines that name the publisher when they are the last line of a plain file.
    publisher_footers: tuple[str, ...] = ("صحيفة الوطن",)
    title_max_words: int = 40  # a longer line is a paragraph, not a title
    section_max_words: int = 4  # a section name is a word or two
    # A plain file is hard-wrapped when at least this many (and this share) of its body lines
    # that are followed by another body line do not end a sentence.
    unwrap_min_lines: int = 2
    unwrap_min_share: float = 0.2

    def line_regex(self) -> str:
        """One multi-line regex matching any boilerplate line, its spaces included."""
        alternatives = [re.escape(line) for line in self.boilerplate_lines] + list(self.boilerplate_line_patterns)
        return rf"(?m)^[^\S\n]*(?:{'|'.join(alternatives)})[^\S\n]*$"

    def inline_regex(self) -> str:
        return "|".join(f"(?:{pattern})" for pattern in self.inline_boilerplate)


# --- shared helpers -------------------------------------------------------------------------


def _one_line(expr: pl.Expr) -> pl.Expr:
    """A header field: inner whitespace runs (line breaks included) as one space; empty -> null."""
    text = expr.str.replace_all(r"\s{2,}|[^\S ]", " ").str.strip_chars()
    return pl.when(text != "").then(text)


def _paragraphs(expr: pl.Expr) -> pl.Expr:
    """Paragraphs one per line: trims every line, drops empty ones; empty -> null."""
    text = expr.str.replace_all(r"[^\S\n]*\n\s*", "\n").str.strip_chars()
    return pl.when(text != "").then(text)


def _rfc822(expr: pl.Expr) -> pl.Expr:
    """RFC 822 date (``Thu, 01 Mar 2018 18:50:55 +0400`` or ``… GMT``) -> UTC datetime, null if unreadable."""
    text = expr.str.replace_all(r"\s+", " ").str.replace(r" ?\([^)]*\) ?$", "").str.strip_chars()
    text = text.str.replace(r"^[A-Za-z]+, ?", "")  # the day name is optional and redundant
    # Zone names -> numeric offsets (longest names first: " UT" is a prefix of " UTC").
    zones = sorted(_ZONE_NAMES, key=len, reverse=True)
    text = (text + "\n").str.replace_many([f" {z}\n" for z in zones], [f" {_ZONE_NAMES[z]}" for z in zones])
    text = text.str.strip_chars_end("\n")
    parsed = pl.coalesce([text.str.to_datetime(fmt, strict=False) for fmt in _DATE_FORMATS])
    return parsed.dt.convert_time_zone("UTC").dt.cast_time_unit("us")


def _tag(name: str) -> pl.Expr:
    """A header tag's content, read from the part of the document before <TEXT>."""
    return pl.col("_head").str.extract(rf"(?is)<{name}>(.*?)</{name}>", 1)


# --- TREC ----------------------------------------------------------------------------------


def _trec_head() -> pl.Expr:
    """Everything before the first <TEXT>: the header tags are searched there only (4x less text)."""
    return pl.col("_stripped").str.splitn("<TEXT>", 2).struct.field("field_0").alias("_head")


def _trec_fields() -> list[pl.Expr]:
    """Field expressions for TREC rows (null elsewhere): one dotall regex per tag."""
    # The body is cut out with two replaces instead of one extract: a capture group spanning the
    # whole article makes the regex engine fall back to its slow capturing mode (2 s instead of
    # 0.3 s on the news corpus). A <TEXT> element cut off by </DOC> or the end of file still counts.
    has_text = pl.col("_stripped").str.contains(r"(?i)<TEXT>")
    text = pl.when(has_text).then(
        pl.col("_stripped").str.replace(r"(?is)\A.*?<TEXT>", "").str.replace(r"(?is)(?:</TEXT>|</DOC>).*\z", "")
    )
    return [
        _one_line(_tag("DOCNO")).alias("_t_source_doc_id"),
        _one_line(_tag("TITLE")).alias("_t_title"),
        _one_line(_tag("CAT")).alias("_t_section"),
        _one_line(_tag("AUTHOR")).alias("_t_byline"),
        _one_line(_tag("SRC")).alias("_t_publisher"),
        _one_line(_tag("URL")).alias("_t_url"),
        _rfc822(_tag("TIME")).alias("_t_published_at"),
        _paragraphs(_tag("ABSTRACT")).alias("_t_abstract"),
        _paragraphs(text).alias("_t_body"),
        has_text.alias("_t_has_text"),
        pl.col("_stripped").str.count_matches(r"(?i)<DOC>").alias("_t_docs"),
    ]


# --- plain ---------------------------------------------------------------------------------


def _parse_plain(docs: pl.DataFrame, config: ParseConfig) -> pl.DataFrame:
    """Line-level parse of plain files: one row per line, window expressions per document.

    ``docs`` has ``_row`` and ``_stripped`` (cleaned text, boilerplate lines already blank).
    Returns ``_row`` with ``_p_title``, ``_p_section``, ``_p_byline``, ``_p_publisher``,
    ``_p_body`` and ``_p_lines`` (the number of non-blank lines).
    """
    row = "_row"
    line = pl.col("line")
    blank, k, n = pl.col("blank"), pl.col("k"), pl.col("n")
    words, term, role = pl.col("words"), pl.col("term"), pl.col("role")

    lines = (
        docs.select(row, pl.col("_stripped").fill_null("").str.split("\n").alias("line"))
        .explode("line")
        .with_columns(line.fill_null("").str.strip_chars())
        .with_columns(
            blank=line == "",
            words=line.str.count_matches(r"\S+"),
            term=line.str.contains(_SENTENCE_END),
        )
        .with_columns(
            k=(~blank).cast(pl.Int32).cum_sum().over(row),  # 1-based rank among non-blank lines
            n=(~blank).cast(pl.Int32).sum().over(row),
            prev_blank=blank.shift(1).over(row).fill_null(True),
            next_blank=blank.shift(-1).over(row).fill_null(True),
        )
    )

    # Header: a "| source" byline among the first three lines, or else standalone short lines
    # without sentence punctuation at the top (title; section + title).
    byline_at = pl.when(~blank & line.str.starts_with("|") & (k <= 3)).then(k).min().over(row)
    long_before = (~blank & (words > config.title_max_words) & (k < byline_at)).any().over(row)
    standalone = ~blank & pl.col("prev_blank") & pl.col("next_blank") & ~term & (words <= config.title_max_words)
    first_standalone = (standalone & (k == 1)).any().over(row)
    second_standalone = (standalone & (k == 2)).any().over(row)
    first_short = (~blank & (k == 1) & (words <= config.section_max_words)).any().over(row)
    lines = lines.with_columns(bk=pl.when(~long_before).then(byline_at)).with_columns(
        # Lines before the byline: section and title, or (first line too long for a section)
        # the title and a subtitle that stays in the body.
        hk=pl.when(pl.col("bk").is_not_null())
        .then(pl.when((pl.col("bk") == 3) & ~first_short).then(1).otherwise(pl.col("bk") - 1))
        .when(first_standalone & second_standalone & first_short & (n > 2))
        .then(2)
        .when(first_standalone & (n > 1))
        .then(1)
        .otherwise(0)
    )
    hk, bk = pl.col("hk"), pl.col("bk")
    footer = (k == n) & (k > hk) & (k != bk).fill_null(True) & line.is_in(list(config.publisher_footers))
    lines = lines.with_columns(
        role=pl.when(blank)
        .then(None)
        .when((hk == 2) & (k == 1))
        .then(pl.lit("section"))
        .when(((hk == 2) & (k == 2)) | ((hk == 1) & (k == 1)))
        .then(pl.lit("title"))
        .when(k == bk)
        .then(pl.lit("byline"))
        .when(footer)
        .then(pl.lit("publisher"))
        .otherwise(pl.lit("body"))
    )

    # Unwrap: inside a hard-wrapped file a body line that does not end a sentence continues on
    # the next body line; blank lines and header/boilerplate lines always end a paragraph.
    is_body = role == "body"
    lines = lines.with_columns(
        is_body=is_body,
        prev_body=is_body.shift(1).over(row).fill_null(False),
        next_body=is_body.shift(-1).over(row).fill_null(False),
        prev_term=term.shift(1).over(row).fill_null(True),
    )
    joinable = pl.col("is_body") & pl.col("next_body")
    open_lines = (joinable & ~term).cast(pl.Int32).sum().over(row)
    wrapped = (open_lines >= config.unwrap_min_lines) & (
        open_lines >= config.unwrap_min_share * joinable.cast(pl.Int32).sum().over(row)
    )
    joins = pl.col("is_body") & pl.col("prev_body") & ~pl.col("prev_term") & wrapped
    lines = lines.with_columns(piece=pl.when(joins).then(pl.lit(" ")).otherwise(pl.lit("\n")) + line)

    def first(name: str) -> pl.Expr:
        return line.filter(role == name).first()

    return lines.group_by(row, maintain_order=True).agg(
        _p_title=first("title"),
        _p_section=first("section"),
        _p_byline=first("byline").str.replace(r"^\|\s*", ""),
        _p_publisher=first("publisher"),
        _p_body=pl.col("piece").filter(pl.col("is_body")).str.join("").str.strip_chars(),
        _p_lines=(~blank).sum(),
    )


# --- the step ------------------------------------------------------------------------------


def _source_doc_id_from_name() -> pl.Expr:
    """The 16-hex-digit id in a plain file's name (``004_e4e0e2c84b5f7231.txt``)."""
    name = pl.col("source_path").str.replace(r"^.*/", "")
    return name.str.extract(r"(?:^|[^0-9A-Fa-f])([0-9A-Fa-f]{16})(?:[^0-9A-Fa-f]|$)", 1).str.to_lowercase()


def parse_articles(frame: pl.DataFrame, config: ParseConfig = ParseConfig()) -> pl.DataFrame:
    """Add the PARSED_SCHEMA columns; reject rows with no article text (or an unusable format)."""
    line_re, inline_re = config.line_regex(), config.inline_regex()
    is_trec, is_plain = pl.col("format") == TREC, pl.col("format") == PLAIN

    base = frame.with_row_index("_row").with_columns(_clean=pl.when(alive()).then(pl.col("text")))
    base = clean_display_column(base, "_clean")
    # Lazy from here: common subexpressions (a tag read by several field expressions) run once.
    base = (
        base.lazy()
        .with_columns(
            format=pl.when(pl.col("_clean").is_null())
            .then(None)
            .when(pl.col("_clean").str.contains(_TREC_SNIFF))
            .then(pl.lit(TREC))
            .otherwise(pl.lit(PLAIN)),
            _had_boilerplate=pl.col("_clean").str.contains(line_re) | pl.col("_clean").str.contains(inline_re),
            _stripped=pl.col("_clean").str.replace_all(inline_re, "").str.replace_all(line_re, ""),
        )
        .with_columns(pl.when(is_trec).then(_trec_head()).alias("_head"))
        .with_columns(pl.when(is_trec).then(field).alias(field.meta.output_name()) for field in _trec_fields())
        .collect()
    )

    plain = _parse_plain(base.filter(is_plain).select("_row", "_stripped"), config)
    base = base.join(plain, on="_row", how="left", maintain_order="left")

    def pick(name: str, plain_value: pl.Expr) -> pl.Expr:
        return pl.when(is_trec).then(pl.col(f"_t_{name}")).otherwise(plain_value).alias(name)

    nothing = pl.lit(None, dtype=pl.String)
    parsed = base.with_columns(
        pick("source_doc_id", pl.when(is_plain).then(_source_doc_id_from_name())),
        pick("title", pl.col("_p_title")),
        pick("section", pl.col("_p_section")),
        pick("byline", pl.when(pl.col("_p_byline") != "").then(pl.col("_p_byline"))),
        pick("publisher", pl.col("_p_publisher")),
        pick("url", nothing),
        pick("published_at", pl.lit(None, dtype=PARSED_SCHEMA["published_at"])),
        pick("abstract", nothing),
        pick("body", pl.when(pl.col("_p_body") != "").then(pl.col("_p_body"))),
    ).with_columns(pl.col(name).cast(dtype) for name, dtype in PARSED_SCHEMA.items())

    parsed = _reject_empty(parsed)
    return parsed.drop(name for name in parsed.columns if name.startswith("_"))


def _reject_empty(parsed: pl.DataFrame) -> pl.DataFrame:
    """Label rows that ended up without article text, with the most specific reason."""
    is_trec, is_plain = pl.col("format") == TREC, pl.col("format") == PLAIN
    no_body = pl.col("body").is_null()
    boiler = pl.col("_had_boilerplate")
    parsed = label(parsed, alive() & pl.col("text").is_null(), REJECTED, "no decoded text (decode_files not run)")
    parsed = label(
        parsed,
        is_trec & (pl.col("_t_docs") > 1),
        REJECTED,
        pl.format(
            "unrecognised format: {} <DOC> elements in one file (one article per file expected)", pl.col("_t_docs")
        ),
    )
    parsed = label(
        parsed, is_trec & ~pl.col("_t_has_text"), REJECTED, "unrecognised format: TREC-style tags but no <TEXT> element"
    )
    parsed = label(
        parsed,
        is_trec & no_body,
        REJECTED,
        pl.when(boiler)
        .then(pl.lit("no article text: only boilerplate in the <TEXT> element"))
        .otherwise(pl.lit("no article text: empty <TEXT> element")),
    )
    has_lines = pl.col("_p_lines").fill_null(0) > 0
    return label(
        parsed,
        is_plain & no_body,
        REJECTED,
        pl.when(boiler & has_lines)
        .then(pl.lit("no article text: only boilerplate and title/byline/footer lines"))
        .when(boiler)
        .then(pl.lit("no article text: only boilerplate"))
        .when(has_lines)
        .then(pl.lit("no article text: only title/byline/footer lines"))
        .otherwise(pl.lit("no article text: only invisible or control characters")),
    )
