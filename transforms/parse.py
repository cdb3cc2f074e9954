"""Decoded text -> article fields (title, section, byline, publisher, url, date, body).

Four input formats, told apart by content (never by file name or folder):

* ``trec``: TREC/CLEF-style tagged files (``<DOC><DOCNO>…<TEXT>…</TEXT></DOC>``), not
  well-formed XML, so the tags are read with regular expressions. One article per file.
* ``plain``: text as scraped from news sites: optionally a section line, a title and a
  ``| source`` byline, each followed by a blank line, then the body, then site boilerplate and
  a publisher footer. Some files are hard-wrapped mid-sentence and are joined back.
* ``gigaword``: LDC Gigaword SGML, many stories per file (``<DOC id="…" type="story">`` with
  ``<HEADLINE>``, ``<DATELINE>``, ``<TEXT><P>…</P></TEXT>``). Markup is removed and SGML/HTML
  entities decoded; only ``type="story"`` (or untyped) documents are articles, the others
  (``multi``, ``advis``, ``other``: lists, advisories, schedules) are refused with their type.
* ``jsonl``: JSON Lines, one article object per line, as scrapers and news APIs export them;
  the field names are configurable (``JsonFields``).

Multi-story files explode into one row per story (``story_index``); every story gets a stable
``source_doc_id`` (the DOC id, the JSON id, or ``<source_path>#<position>``).

The parse never loses text: every line that is not boilerplate ends up in ``body`` or in one of
the header fields. Rows with no article text left are rejected with the reason.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

import polars as pl

from transforms.frame import REJECTED, alive, label
from transforms.normalize import clean_display_column
from transforms.schema import PARSED_SCHEMA

TREC = "trec"
PLAIN = "plain"
GIGAWORD = "gigaword"
JSONL = "jsonl"
MULTI_STORY = (GIGAWORD, JSONL)

# Sniff: a document that opens with <DOC>, or holds a complete <TEXT> element anywhere.
_TREC_SNIFF = r"(?is)\A\s*<DOC>|<TEXT>.*</TEXT>"
# Gigaword: a DOC element with attributes (TREC's has none) at the start of the file.
_GIGAWORD_SNIFF = r"(?is)\A\s*<DOC\s[^>]*\bid\s*="
# JSON Lines: the first line is a whole JSON object with a key (a plain title such as ``{عاجل}`` is not).
_JSONL_SNIFF = r"\A\s*\{\s*\"[^\n]*\}[^\S\n]*(?:\n|\z)"
# Markup of SGML/HTML sources: paragraph-level tags become paragraph breaks, other tags go.
_BLOCK_TAG = r"(?i)</?(?:p|br|div|li|h[1-6]|tr)\b[^<>]*>"
_ANY_TAG = r"</?[A-Za-z][A-Za-z0-9:_-]*(?:\s[^<>]*)?/?>|<!--.*?-->"
_ENTITY = r"&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});"

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
class JsonFields:
    """Where a JSON Lines object keeps each field: candidate keys, the first present one wins.

    A dotted key reads inside an object (``source.name`` for NewsAPI-style exports). The defaults fit
    common scraper and news-API exports.
    """

    title: tuple[str, ...] = ("title", "headline")
    body: tuple[str, ...] = ("body", "text", "content", "article", "maintext")
    date: tuple[str, ...] = ("date", "published_at", "publishedAt", "date_publish", "pubDate", "published",
                             "datetime")
    url: tuple[str, ...] = ("url", "link")
    publisher: tuple[str, ...] = ("publisher", "source.name", "source", "source_domain", "site")
    id: tuple[str, ...] = ("id", "_id", "doc_id", "guid")
    section: tuple[str, ...] = ("section", "category")
    byline: tuple[str, ...] = ("author", "byline", "authors")
    abstract: tuple[str, ...] = ("description", "summary", "abstract")


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
    json_fields: JsonFields = field(default_factory=JsonFields)
    # Gigaword DOC types that are articles (null: a DOC without a type attribute).
    gigaword_story_types: tuple[str, ...] = ("story",)

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


# --- many stories per file ------------------------------------------------------------------

_STORY_TEXT = ("title", "section", "byline", "publisher", "url", "abstract", "body")
_ONE_LINE = ("source_doc_id", "title", "section", "byline", "publisher", "url")


def _markup_text(expr: pl.Expr, wrapped: bool) -> pl.Expr:
    """SGML/HTML -> text, one paragraph per line; block tags end paragraphs and other tags go.

    ``wrapped`` (Gigaword): inside a paragraph a line break is only the source's line wrapping, so
    paragraphs end at block tags and blank lines; otherwise every line break ends a paragraph.
    """
    text = expr.str.replace_all(_BLOCK_TAG, "\n\n").str.replace_all(_ANY_TAG, "")
    if wrapped:
        text = (text.str.replace_all(r"\n[^\S\n]*\n\s*", "\x00").str.replace_all(r"\s+", " ")
                .str.replace_all(r" ?\x00 ?", "\n"))
    return text.str.strip_chars()


def decode_entities(frame: pl.DataFrame, columns: tuple[str, ...]) -> pl.DataFrame:
    """SGML/HTML character references (``&amp;``, ``&#1604;``, ``&#x644;``) -> characters, then tags
    that decoding revealed (``&lt;p&gt;``) removed.

    The distinct references present are resolved once with ``html.unescape``; one Aho-Corasick pass
    (``str.replace_many``) per column applies them, with no per-row Python.
    """
    found = pl.concat([frame.select(pl.col(name).str.extract_all(_ENTITY).alias("entity")) for name in columns])
    entities = found.explode("entity").drop_nulls().unique()["entity"].to_list()
    table = {entity: html.unescape(entity) for entity in entities}
    table = {entity: char for entity, char in table.items() if char != entity}
    if not table:
        return frame
    decoded = frame.with_columns(pl.col(name).str.replace_many(table) for name in columns)
    revealed = any(char in ("<", ">") for char in table.values())
    return decoded.with_columns(pl.col(name).str.replace_all(_ANY_TAG, "") for name in columns) if revealed else decoded


def _gigaword_stories(files: pl.DataFrame, config: ParseConfig) -> pl.DataFrame:
    """One row per ``<DOC>`` of each Gigaword file (``_row``, ``source_path``, ``text``)."""
    docs = (
        files.select(
            "_row", "source_path",
            pl.col("text").str.replace_all("\x00", "").str.replace_all(r"(?i)<DOC\b", "\x00<DOC")
            .str.split("\x00").list.slice(1).alias("_s_text"),
        )
        .explode("_s_text")
        .filter(pl.col("_s_text").is_not_null())
        .with_columns(pl.col("_s_text").str.replace(r"(?is)</DOC\s*>.*\z", "</DOC>"))
        .with_columns(story_index=pl.int_range(pl.len(), dtype=pl.Int32).over("_row"))
    )
    doc = pl.col("_s_text")

    def attribute(name: str) -> pl.Expr:
        return doc.str.extract(rf"(?is)\A<DOC\b[^>]*?\b{name}\s*=\s*[\"']?([^\"'\s>]*)", 1)

    def element(name: str) -> pl.Expr:
        return doc.str.extract(rf"(?is)<{name}\b[^>]*>(.*?)</{name}\s*>", 1)

    doc_id = _one_line(attribute("id"))
    doc_type = attribute("type").str.to_lowercase()
    has_text = doc.str.contains(r"(?i)<TEXT\b")
    # Cut out with two replaces (see _trec_fields); a TEXT cut off by </DOC> or the end still counts.
    body = pl.when(has_text).then(
        doc.str.replace(r"(?is)\A.*?<TEXT\b[^>]*>", "").str.replace(r"(?is)(?:</TEXT\s*>|</DOC>).*\z", "")
    )
    story = pl.when(doc_type.is_null()).then(True).otherwise(doc_type.is_in(list(config.gigaword_story_types)))
    return docs.with_columns(
        source_doc_id=doc_id,
        title=_markup_text(element("HEADLINE"), wrapped=True),
        section=pl.lit(None, dtype=pl.String),
        byline=_markup_text(element("DATELINE"), wrapped=True),
        # The id names the agency and the day: AFP_ARB_20010101.0001, or AFA20010101.0001 in early editions.
        publisher=doc_id.str.extract(r"^([A-Za-z]{3})", 1).str.to_uppercase(),
        url=pl.lit(None, dtype=pl.String),
        published_at=doc_id.str.extract(r"((?:19|20)\d{6})(?:\.\d+)?$", 1).str.to_datetime("%Y%m%d", strict=False)
        .dt.replace_time_zone("UTC").dt.cast_time_unit("us"),
        abstract=pl.lit(None, dtype=pl.String),
        body=_markup_text(body, wrapped=True),
        _refusal=pl.when(~story)
        .then(pl.format("Gigaword DOC of type '{}', not a story", doc_type))
        .when(~has_text)
        .then(pl.lit("unrecognised format: Gigaword DOC without a <TEXT> element")),
        _empty=pl.lit("no article text: empty <TEXT> element"),
    )


def _json_path(key: str) -> str:
    return "$" + "".join(f"['{part}']" for part in key.split("."))


def _json_field(keys: tuple[str, ...]) -> pl.Expr:
    """The first of ``keys`` present with a non-empty value, as text (numbers too: ids often are)."""
    values = [pl.col("_s_text").str.json_path_match(_json_path(key)) for key in keys]
    values = [pl.when(value.str.strip_chars() != "").then(value) for value in values]
    return pl.coalesce(values) if values else pl.lit(None, dtype=pl.String)


def _any_date(expr: pl.Expr) -> pl.Expr:
    """ISO 8601 (with or without zone; naive times are UTC), RFC 822, or Unix seconds/milliseconds."""
    text = expr.str.strip_chars().str.replace(r"(?i)z$", "+00:00").str.replace(r"([+-]\d{2})(\d{2})$", "$1:$2")
    aware = [text.str.to_datetime(fmt, strict=False, time_zone="UTC")
             for fmt in ("%Y-%m-%dT%H:%M:%S%.f%:z", "%Y-%m-%d %H:%M:%S%.f%:z")]
    naive = [text.str.to_datetime(fmt, strict=False).dt.replace_time_zone("UTC")
             for fmt in ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M",
                         "%Y-%m-%d")]
    epoch = pl.when(text.str.contains(r"^\d{9,10}$")).then(text.cast(pl.Int64, strict=False) * 1_000_000).when(
        text.str.contains(r"^\d{12,13}$")).then(text.cast(pl.Int64, strict=False) * 1_000)
    as_epoch = epoch.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    parsed = [value.dt.cast_time_unit("us") for value in (*aware, *naive, _rfc822(expr), as_epoch)]
    return pl.coalesce(parsed)


def _jsonl_stories(files: pl.DataFrame, config: ParseConfig) -> pl.DataFrame:
    """One row per non-blank line of each JSON Lines file (``_row``, ``source_path``, ``text``)."""
    keys = config.json_fields
    lines = (
        files.select("_row", "source_path", pl.col("text").str.split("\n").alias("_s_text"))
        .explode("_s_text")
        .with_columns(pl.col("_s_text").str.strip_chars())
        .with_columns(_line=pl.int_range(1, pl.len() + 1, dtype=pl.Int32).over("_row"))
        .filter(pl.col("_s_text").fill_null("") != "")
        .with_columns(story_index=pl.int_range(pl.len(), dtype=pl.Int32).over("_row"))
    )
    is_object = pl.col("_s_text").str.starts_with("{") & pl.col("_s_text").str.json_path_match("$").is_not_null()
    # JSON text is one string per field: HTML inside it (scraped bodies) is markup, not paragraphs' text.
    return lines.with_columns(
        source_doc_id=_one_line(_json_field(keys.id)),
        title=_markup_text(_json_field(keys.title), wrapped=False),
        section=_json_field(keys.section),
        byline=_json_field(keys.byline),
        publisher=_json_field(keys.publisher),
        url=_json_field(keys.url),
        published_at=_any_date(_json_field(keys.date)),
        abstract=_markup_text(_json_field(keys.abstract), wrapped=False),
        body=_markup_text(_json_field(keys.body), wrapped=False),
        _refusal=pl.when(~is_object).then(pl.format("unrecognised format: line {} is not a JSON object", "_line")),
        _empty=pl.lit(f"no article text: no non-empty body field ({', '.join(keys.body)})"),
    ).drop("_line")


def _parse_stories(files: pl.DataFrame, config: ParseConfig) -> pl.DataFrame:
    """Multi-story files -> one row per story with cleaned PARSED fields, ``_refusal`` and ``_empty``.

    ``files`` holds ``_row``, ``source_path``, ``format`` and ``text``. A file that yields no story at
    all keeps one row (``story_index`` null), refused with the reason.
    """
    line_re, inline_re = config.line_regex(), config.inline_regex()
    parts = [
        _gigaword_stories(files.filter(pl.col("format") == GIGAWORD), config),
        _jsonl_stories(files.filter(pl.col("format") == JSONL), config),
    ]
    columns = ["_row", "story_index", "_s_text", "source_doc_id", *_STORY_TEXT, "published_at", "_refusal", "_empty"]
    stories = pl.concat([part.select(columns) for part in parts], how="vertical_relaxed")
    stories = decode_entities(stories, _STORY_TEXT)
    for name in _STORY_TEXT:
        stories = clean_display_column(stories, name)
    stories = stories.with_columns(
        _had_boilerplate=pl.col("body").str.contains(line_re) | pl.col("body").str.contains(inline_re),
        body=pl.col("body").str.replace_all(inline_re, "").str.replace_all(line_re, ""),
    ).with_columns(
        *(_one_line(pl.col(name)).alias(name) for name in _ONE_LINE),
        *(_paragraphs(pl.col(name)).alias(name) for name in ("body", "abstract")),
    )
    # Without an id of its own, a story is its file and its position there (1-based).
    stories = stories.join(files.select("_row", "source_path"), on="_row", how="left").with_columns(
        source_doc_id=pl.coalesce("source_doc_id", pl.format("{}#{}", "source_path", pl.col("story_index") + 1))
    ).drop("source_path")
    storyless = files.join(stories, on="_row", how="anti").select(
        "_row", pl.lit(None, dtype=pl.Int32).alias("story_index"), pl.lit(None, dtype=pl.String).alias("_s_text"),
        pl.lit("unrecognised format: no story in the file").alias("_refusal"), pl.lit(False).alias("_had_boilerplate"),
    )
    return pl.concat([stories, storyless], how="diagonal_relaxed")


# --- the step ------------------------------------------------------------------------------


def _source_doc_id_from_name() -> pl.Expr:
    """The 16-hex-digit id in a plain file's name (``004_e4e0e2c84b5f7231.txt``)."""
    name = pl.col("source_path").str.replace(r"^.*/", "")
    return name.str.extract(r"(?:^|[^0-9A-Fa-f])([0-9A-Fa-f]{16})(?:[^0-9A-Fa-f]|$)", 1).str.to_lowercase()


def parse_articles(frame: pl.DataFrame, config: ParseConfig = ParseConfig()) -> pl.DataFrame:
    """Add the PARSED_SCHEMA columns; reject rows with no article text (or an unusable format).

    A multi-story file (``gigaword``, ``jsonl``) becomes one row per story, in story order, with
    ``story_index`` 0, 1, ...; a single-article file keeps its one row (``story_index`` 0, or null
    when it was refused before parsing). ``text`` is then the story's own part of the file.
    """
    line_re, inline_re = config.line_regex(), config.inline_regex()
    is_trec, is_plain = pl.col("format") == TREC, pl.col("format") == PLAIN
    is_multi = pl.col("format").is_in(list(MULTI_STORY))

    base = frame.with_row_index("_row").with_columns(_clean=pl.when(alive()).then(pl.col("text")))
    base = clean_display_column(base, "_clean")
    # Lazy from here: common subexpressions (a tag read by several field expressions) run once.
    base = (
        base.lazy()
        .with_columns(
            format=pl.when(pl.col("_clean").is_null())
            .then(None)
            .when(pl.col("_clean").str.contains(_GIGAWORD_SNIFF))
            .then(pl.lit(GIGAWORD))
            .when(pl.col("_clean").str.contains(_JSONL_SNIFF))
            .then(pl.lit(JSONL))
            .when(pl.col("_clean").str.contains(_TREC_SNIFF))
            .then(pl.lit(TREC))
            .otherwise(pl.lit(PLAIN)),
        )
        .with_columns(pl.when(is_multi).then(None).otherwise(pl.col("_clean")).alias("_clean"))
        .with_columns(
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
    ).with_columns(pl.col(name).cast(dtype) for name, dtype in PARSED_SCHEMA.items() if name != "story_index")
    parsed = parsed.with_columns(pl.when(pl.col("format").is_not_null()).then(0).cast(pl.Int32).alias("story_index"))
    columns = [*frame.columns, *(name for name in PARSED_SCHEMA if name not in frame.columns)]
    single = _reject_empty(parsed.filter(~is_multi.fill_null(False)))
    single = single.select(*columns, "_row")
    multi = parsed.filter(is_multi.fill_null(False))
    if multi.height:
        single = pl.concat([single, _story_rows(multi, columns, config)]).sort("_row", "story_index", nulls_last=True)
    return single.drop("_row")


def _story_rows(multi: pl.DataFrame, columns: list[str], config: ParseConfig) -> pl.DataFrame:
    """The rows of multi-story files, one per story, labelled with their refusals (``columns`` + ``_row``)."""
    stories = _parse_stories(multi.select("_row", "source_path", "format", "text"), config)
    story_fields = [name for name in PARSED_SCHEMA if name != "format"]
    file_columns = [name for name in multi.columns if name not in (*story_fields, "text") and name in columns]
    rows = multi.select(*file_columns, "_row").join(stories, on="_row", how="inner").rename({"_s_text": "text"})
    rows = rows.with_columns(pl.col(name).cast(dtype) for name, dtype in PARSED_SCHEMA.items())
    rows = label(rows, pl.col("_refusal").is_not_null(), REJECTED, pl.col("_refusal"))
    rows = label(
        rows, pl.col("body").is_null(), REJECTED,
        pl.when(pl.col("_had_boilerplate")).then(pl.lit("no article text: only boilerplate"))
        .otherwise(pl.col("_empty")),
    )
    return rows.select(*columns, "_row")


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
