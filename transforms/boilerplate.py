"""Boilerplate learned per publisher: lines that recur across many different articles of one site.

Sites append the same lines to many articles: "اقرأ أيضاً:", a "republished from" note, an
opinion disclaimer, an agency sign-off. They are not article text, and a fixed list cannot know
every site. A line is learned as boilerplate of a publisher when it is a whole paragraph that
stands, in the same normalized form (``match_key``), in enough *different* articles of that
publisher. Three guards keep real sentences out:

* articles are counted by their normalized body, so a paragraph repeated inside one article,
  or a story filed twice (same body under two categories), counts once;
* only short lines qualify (``max_words``): site furniture is short, while the real sentences
  that a newsroom reuses across updates of one story ("about 400,000 people are trapped in
  Eastern Ghouta ...") are long;
* lines longer than ``short_line_words`` need more articles (``long_line_min_articles``).

Measured on the 19,792 news-corpus articles, the defaults learn 20 lines: agency sign-offs
("فرانس24/ أ ف ب"), "republished from" notes ("*نقلاً عن ..."), opinion, partner and social-media
disclaimers, "اقرأ أيضاً:". The real sentence repeated in most different bodies of one publisher
within the word limit stands in 7 of them (a 21-word background line of one story's updates),
well below ``long_line_min_articles``.

The table is a pure function of the set of (publisher, paragraph, normalized body) triples seen,
whatever the batches or runs they came in: for each line it keeps the ``track_articles``
smallest body keys (a bottom-k sketch), which merge exactly across batches. Only the display
text ``line`` may differ (it is kept from a line's second article on, so which of two spellings
shows can depend on arrival order). The table only grows: an article that changes later still
counts with its old body too. What is stripped from an article depends on what had been learned
when it was processed: an article read before its publisher's footer reached the threshold keeps it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import polars as pl

from transforms.arabic import WORD, match_key
from transforms.frame import REJECTED, alive, label
from transforms.schema import BOILERPLATE_SCHEMA

# Keys are SHA-256 prefixes: 16 hex digits for a line, 60 bits (an Int64) for a body.
LINE_KEY_HEX = 16
_BODY_KEY_BITS = 60
_BODY_KEY_SPACE = float(1 << _BODY_KEY_BITS)



@dataclass(frozen=True)
class BoilerplateConfig:
    # Different articles (normalized bodies) of one publisher a line must stand in. The footers of
    # the news corpus stand in 8 to 280; the columnists' recurring phrases ("كلمة أخيرة:") in 5.
    min_articles: int = 8
    # Longer lines are never boilerplate. Real sentences reused across one story's updates are
    # 11-44 words long; the longest site line of the corpus (a CNN disclaimer) has 21.
    max_words: int = 25
    # Lines with more words than this must stand in at least ``long_line_min_articles`` articles.
    short_line_words: int = 12
    long_line_min_articles: int = 12
    # Body keys kept per line: counts are exact up to this many articles, estimated above it.
    track_articles: int = 128


def empty_table() -> pl.DataFrame:
    return pl.DataFrame(schema=BOILERPLATE_SCHEMA)


def is_boilerplate(config: BoilerplateConfig) -> pl.Expr:
    """Whether a table row is learned boilerplate under ``config`` (from its counts, not its stored flag)."""
    words, count = pl.col("word_count"), pl.col("article_count")
    needed = pl.when(words > config.short_line_words).then(config.long_line_min_articles)
    needed = needed.otherwise(config.min_articles)
    return (words >= 1) & (words <= config.max_words) & (count >= needed)


# polars has no hash that is stable across versions, and these keys are stored: hashlib over the
# column, one C-level call per value.
def _line_keys(keys: list[str]) -> list[str]:
    return [hashlib.sha256(k.encode("utf-8")).hexdigest()[:LINE_KEY_HEX] for k in keys]


def _body_keys(bodies: list[str]) -> list[int]:
    shift = 256 - _BODY_KEY_BITS
    return [int.from_bytes(hashlib.sha256(b.encode("utf-8")).digest()) >> shift for b in bodies]


def _paragraphs(frame: pl.DataFrame, columns: list[str], max_words: int) -> pl.DataFrame:
    """One row per paragraph that could be boilerplate: ``columns``, ``_pos``, ``_para``, ``line_key``,
    ``word_count``.

    Paragraphs with more than ``max_words`` words, or nothing but punctuation, are left out.
    """
    paragraphs = (
        frame.select(*columns, _para=pl.col("body").str.split("\n"))
        .with_columns(_pos=pl.int_ranges(0, pl.col("_para").list.len()))
        .explode("_para", "_pos")
        .with_columns(pl.col("_para").str.strip_chars())
        .with_columns(word_count=pl.col("_para").str.count_matches(WORD).cast(pl.Int32))
        .filter(pl.col("word_count").is_between(1, max_words))
        # Spaces go too: "فرانس 24 / أ ف ب" and "فرانس24/ أ ف ب" are one sign-off.
        .with_columns(_key=match_key(pl.col("_para")).str.replace_all(" ", "", literal=True))
        .filter(pl.col("_key") != "")  # a tatweel run is a "word" with an empty key
    )
    keys = pl.Series("line_key", _line_keys(paragraphs["_key"].to_list()), dtype=pl.String)
    return paragraphs.with_columns(keys).drop("_key")


def line_keys(frame: pl.DataFrame, config: BoilerplateConfig = BoilerplateConfig()) -> pl.DataFrame:
    """(``publisher``, ``line_key``) of every paragraph of ``frame`` that could be a boilerplate line: what
    ``learn_boilerplate`` and ``strip_boilerplate`` look up in the known table (a superset is harmless)."""
    rows = frame.filter(pl.col("publisher").is_not_null() & pl.col("body").is_not_null())
    return _paragraphs(rows.select("publisher", "body"), ["publisher"], config.max_words).select(
        "publisher", "line_key"
    ).unique()


def _count(keys: pl.Expr, track: int) -> pl.Expr:
    """Distinct articles from a bottom-k list: exact below k, the k-minimum-values estimate at k."""
    kth = keys.list.get(track - 1, null_on_oob=True).cast(pl.Float64)
    estimate = ((track - 1) * _BODY_KEY_SPACE / kth).round(0).cast(pl.Int64)
    exact = keys.list.len().cast(pl.Int64)
    return pl.when(keys.list.len() < track).then(exact).otherwise(pl.max_horizontal(estimate, exact))


def learn_boilerplate(
    frame: pl.DataFrame, known: pl.DataFrame, config: BoilerplateConfig = BoilerplateConfig()
) -> pl.DataFrame:
    """The boilerplate table updated with the alive rows of ``frame``.

    ``frame`` needs ``publisher``, ``body`` (paragraphs split by ``\\n``) and ``source_path``
    (and ``status``, if present: refused rows are ignored). Rows without a publisher teach
    nothing. ``known`` is the table from earlier runs (BOILERPLATE_LINES, may be empty). Returns every candidate line
    (short enough to ever qualify) in BOILERPLATE_SCHEMA, with ``boilerplate`` set by ``config``.
    """
    live = pl.col("publisher").is_not_null() & pl.col("body").is_not_null()
    if "status" in frame.columns:
        live = live & alive()
    rows = frame.filter(live).select("publisher", "source_path", "body")
    bodies = rows.select(match_key(pl.col("body")))["body"].to_list()
    rows = rows.with_columns(pl.Series("_body_key", _body_keys(bodies), dtype=pl.Int64))

    paragraphs = _paragraphs(rows, ["publisher", "source_path", "_body_key"], config.max_words)
    # One occurrence per (line, body): copies of one body count once (smallest path, first position).
    occurrences = paragraphs.sort("publisher", "line_key", "_body_key", "source_path", "_pos").unique(
        ["publisher", "line_key", "_body_key"], keep="first", maintain_order=True
    )
    new = occurrences.group_by("publisher", "line_key", maintain_order=True).agg(
        pl.col("_para").first().alias("line"),
        pl.col("word_count").first(),
        pl.col("_body_key").head(config.track_articles).alias("article_keys"),
        pl.col("source_path").first().alias("example_source_path"),
    )

    seen = new.select("publisher", "line_key")
    touched = known.join(seen, on=["publisher", "line_key"], how="semi")
    untouched = known.join(seen, on=["publisher", "line_key"], how="anti")
    body_keys = pl.col("article_keys").list.explode(keep_nulls=False, empty_as_null=False)
    merged = (
        pl.concat([touched, new], how="diagonal_relaxed")
        .select("publisher", "line_key", "line", "word_count", "article_keys", "example_source_path")
        # The example is the article with the smallest body key (ties: smallest path), whichever
        # batch it came in; so the merge gives the same table whatever the batches.
        .sort(pl.col("article_keys").list.first(), "example_source_path", nulls_last=True)
        .group_by("publisher", "line_key")
        .agg(
            pl.col("line").drop_nulls().first(),
            pl.col("word_count").first(),
            body_keys.unique().sort().head(config.track_articles).alias("article_keys"),
            pl.col("example_source_path").first(),
        )
        .with_columns(article_count=_count(pl.col("article_keys"), config.track_articles))
        .with_columns(pl.when(pl.col("article_count") > 1).then(pl.col("line")).alias("line"))
    )
    return (
        pl.concat([untouched, merged], how="diagonal_relaxed")
        .with_columns(is_boilerplate(config).alias("boilerplate"))
        .select(pl.col(n).cast(t) for n, t in BOILERPLATE_SCHEMA.items())
        .sort("publisher", "article_count", "line_key", descending=[False, True, False])
    )


def strip_boilerplate(
    frame: pl.DataFrame, lines: pl.DataFrame, config: BoilerplateConfig = BoilerplateConfig()
) -> pl.DataFrame:
    """Drop every paragraph of an alive row that is learned boilerplate of the row's publisher.

    ``lines`` is the table ``learn_boilerplate`` returns; what counts as learned is decided here
    from its counts and ``config``. Adds ``boilerplate_removed`` (paragraphs dropped; null for
    rows refused before this step). A row left without any paragraph is rejected with "no
    article text: only boilerplate lines of <publisher>" and its body becomes null.
    """
    learned = lines.filter(is_boilerplate(config)).select("publisher", "line_key").unique()
    was_alive = alive() if "status" in frame.columns else pl.lit(True)
    live = (
        was_alive & pl.col("body").is_not_null() & pl.col("publisher").is_in(learned["publisher"].implode())
    )
    indexed = frame.with_row_index("_row")
    candidates = indexed.filter(live).select("_row", "publisher", "body")
    drops = (
        _paragraphs(candidates, ["_row", "publisher"], config.max_words)
        .join(learned, on=["publisher", "line_key"], how="semi")
        .group_by("_row")
        .agg(pl.col("_pos").cast(pl.Int64).alias("_drop"))
    )
    out = indexed.join(drops, on="_row", how="left", maintain_order="left")
    paragraphs = pl.col("body").str.split("\n")
    keep = pl.int_ranges(0, paragraphs.list.len(), dtype=pl.Int64).list.set_difference(pl.col("_drop"))
    removed = pl.col("_drop").list.len().fill_null(0).cast(pl.Int32)
    out = out.with_columns(
        pl.when(removed > 0)
        .then(paragraphs.list.gather(keep.list.sort()).list.join("\n"))
        .otherwise(pl.col("body"))
        .alias("body"),
        pl.when(was_alive).then(removed).alias("boilerplate_removed"),
    )
    emptied = (pl.col("boilerplate_removed") > 0) & (pl.col("body") == "")
    if "status" in out.columns:
        out = label(
            out, emptied, REJECTED, pl.format("no article text: only boilerplate lines of {}", "publisher")
        )
    return out.with_columns(pl.when(~emptied.fill_null(False)).then(pl.col("body")).alias("body")).drop(
        "_row", "_drop"
    )
