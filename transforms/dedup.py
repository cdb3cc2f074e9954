"""Exact deduplication: repeated paragraphs inside an article, identical articles across files.

Order in the pipeline: ``collapse_repeated_paragraphs`` -> ``add_content_keys`` -> ``exact_dedup``,
so two copies that differ only by a pasted-twice paragraph still get the same key. Two files are
exact duplicates when their bodies have the same ``match_key`` (normalization folds spelling
variants, punctuation, digits and spacing), compared by its SHA-256. The canonical copy of a group
is the one already in the warehouse, else the first in ``DedupConfig.canonical_order`` (default: the
smallest ``source_path``): batches are cut from the file list sorted the same way, so the choice does
not depend on arrival order or batching.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import polars as pl

from transforms.arabic import WORD, match_key
from transforms.frame import DUPLICATE, alive, label

EXACT = "exact"
ARTICLE_ID_LENGTH = 16



@dataclass(frozen=True)
class DedupConfig:
    # Paragraphs shorter than this many words are structure, not content: a repeated subheading
    # ("السعر"), a separator ("×××") or a fixture line ("التوقيت: غرينتش + 3 ساعات.") is kept.
    min_repeated_paragraph_words: int = 5
    # Inside a batch the canonical copy is the first in this column order (nulls last), then by
    # source_path. Batches must be cut from the input sorted the same way.
    canonical_order: tuple[str, ...] = ("source_path",)


def collapse_repeated_paragraphs(frame: pl.DataFrame, config: DedupConfig | None = None) -> pl.DataFrame:
    """Keep a paragraph repeated verbatim (ignoring surrounding whitespace) only at its first position.

    Adds ``repeated_paragraph_count`` (paragraphs removed; null for rows already refused). A
    list expression per row: measured on 19,792 news bodies it is 2-4x faster than exploding to
    one row per paragraph and grouping back, and it keeps each paragraph's original text.
    """
    config = config or DedupConfig()
    paragraph = pl.element().str.strip_chars()
    # Short paragraphs never count as repeats; ``is_first_distinct`` sees them as distinct by
    # pairing each with its position.
    short = paragraph.str.count_matches(WORD) < config.min_repeated_paragraph_words
    key = pl.when(short).then(pl.int_range(pl.len()).cast(pl.String)).otherwise(pl.lit("\x00") + paragraph)
    paragraphs = pl.col("body").str.split("\n")
    kept = paragraphs.list.eval(pl.element().filter(key.is_first_distinct()))
    live = alive() & pl.col("body").is_not_null()
    return (
        frame.with_columns(
            pl.when(live).then(kept).alias("_kept"),
            pl.when(live).then(paragraphs.list.len()).alias("_before"),
        )
        .with_columns(
            pl.when(live).then(pl.col("_kept").list.join("\n")).otherwise(pl.col("body")).alias("body"),
            (pl.col("_before") - pl.col("_kept").list.len()).cast(pl.Int32).alias("repeated_paragraph_count"),
        )
        .drop("_kept", "_before")
    )


def _sha256_hex(values: list[str | None]) -> list[str | None]:
    # polars has no SHA-256 expression; hashlib over the column is one tight C-level call per body.
    return [None if v is None else hashlib.sha256(v.encode("utf-8")).hexdigest() for v in values]


def add_content_keys(frame: pl.DataFrame) -> pl.DataFrame:
    """Add ``match_key``, ``content_hash`` (SHA-256 hex of the key) and ``article_id`` (its first 16 hex).

    Null for rows already refused or without a body. The id is derived from content, not from
    the file, so the same article gets the same id in every run and every warehouse.
    """
    frame = frame.with_columns(pl.when(alive()).then(match_key(pl.col("body"))).alias("match_key"))
    hashes = pl.Series("content_hash", _sha256_hex(frame["match_key"].to_list()), dtype=pl.String)
    return frame.with_columns(hashes).with_columns(
        pl.col("content_hash").str.slice(0, ARTICLE_ID_LENGTH).alias("article_id")
    )


def _known_keys(known: pl.DataFrame) -> pl.DataFrame:
    """One row per content hash (smallest path wins if the warehouse ever held two)."""
    return (
        known.select(
            pl.col("content_hash"),
            pl.col("article_id").alias("_known_id"),
            pl.col("source_path").alias("_known_path"),
        )
        .filter(pl.col("content_hash").is_not_null())
        .sort("content_hash", "_known_path", nulls_last=True)
        .unique("content_hash", keep="first", maintain_order=True)
    )


def exact_dedup(frame: pl.DataFrame, known: pl.DataFrame, config: DedupConfig | None = None) -> pl.DataFrame:
    """Label alive rows whose content hash is already known or not canonical in the batch as duplicates.

    ``known`` (KNOWN_KEYS) holds ``content_hash``, ``article_id`` and ``source_path`` of every article
    in the warehouse; inside the batch the first row in ``config.canonical_order`` is kept. Adds
    ``duplicate_of`` (article id of the kept copy), ``duplicate_kind`` (``exact``) and ``similarity``
    (1.0) on the rows labelled here, null elsewhere.
    """
    config = config or DedupConfig()
    frame = frame.with_row_index("_i").join(_known_keys(known), on="content_hash", how="left", maintain_order="left")
    live = alive() & pl.col("content_hash").is_not_null()
    in_warehouse = live & pl.col("_known_id").is_not_null()
    candidate = live & pl.col("_known_id").is_null()
    # Window over the batch's candidates only: rows outside it share the null partition and are masked.
    group = pl.when(candidate).then(pl.col("content_hash"))
    order = [*config.canonical_order, "source_path", "_i"]
    first = pl.col("_i").sort_by(order, nulls_last=True).first().over(group)
    canonical_id = pl.col("article_id").sort_by(order, nulls_last=True).first().over(group)
    canonical_path = pl.col("source_path").sort_by(order, nulls_last=True).first().over(group)
    in_batch = candidate & (pl.col("_i") != first)
    frame = frame.with_columns(
        pl.when(in_warehouse).then(pl.col("_known_id")).when(in_batch).then(canonical_id).alias("duplicate_of"),
        pl.when(in_warehouse).then(pl.col("_known_path")).when(in_batch).then(canonical_path).alias("_dup_path"),
    )
    hit = pl.col("duplicate_of").is_not_null()
    # The same words whether the kept copy came in this batch or an earlier one: the outcome must
    # not depend on how the input was split into runs.
    reason = pl.concat_str(
        pl.lit("exact duplicate of article "),
        pl.col("duplicate_of"),
        pl.lit(" (") + pl.col("_dup_path") + pl.lit(")"),
        ignore_nulls=True,
    )
    frame = label(frame, hit, DUPLICATE, reason)
    return frame.with_columns(
        pl.when(hit).then(pl.lit(EXACT)).alias("duplicate_kind"),
        pl.when(hit).then(pl.lit(1.0)).alias("similarity"),
    ).drop("_i", "_known_id", "_known_path", "_dup_path")
