"""The pipeline's stages over one batch of files: plain functions, no Prefect.

Each stage composes pure transforms; `flows.ingest` wraps every stage in one Prefect task per
batch. Keeping them free of Prefect lets tests and benchmarks call them directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path

import polars as pl

from expectations.runner import validate_frame
from flows.discover import DiscoveryConfig, read_files
from transforms.boilerplate import BoilerplateConfig, learn_boilerplate, strip_boilerplate
from transforms.dedup import DedupConfig, add_content_keys, collapse_repeated_paragraphs, exact_dedup
from transforms.frame import DUPLICATE, LOADED, QUARANTINED, REASON, STATUS, alive, label
from transforms.mentions import MentionConfig, tag_mentions
from transforms.neardup import BAND_SCHEMA, FetchKeys, NearDupConfig, near_dedup
from transforms.ner import Tagger
from transforms.parse import ParseConfig, parse_articles
from transforms.read import ReadConfig, decode_files
from transforms.stats import StatsConfig, add_text_stats

ARTICLE_COLUMNS = [
    "article_id", "source_path", "source_doc_id", "title", "section", "byline", "publisher", "url",
    "published_at", "abstract", "body", "format", "encoding", "read_note", "lang", "lang_score",
    "char_count", "word_count", "sentence_count", "paragraph_count", "repeated_paragraph_count",
    "boilerplate_removed", "arabic_ratio", "content_hash", "sha256",
]
MENTION_COLUMNS = ["article_id", "entity_id", "entity_type", "surface", "start_char", "end_char", "canonical_name"]
KNOWN_SCHEMA = {"content_hash": pl.String, "article_id": pl.String, "source_path": pl.String}


# Inside a run, articles are processed (batches cut) and their canonical copies chosen in this
# order, nulls last: the earliest published article stays canonical, so a corpus fed in pieces in
# date order yields the same duplicates as one run over all of it.
CANONICAL_ORDER = ("published_at", "source_path")


@dataclass(frozen=True)
class PipelineConfig:
    batch_size: int = 1000
    discovery: DiscoveryConfig = field(default_factory=DiscoveryConfig)
    read: ReadConfig = field(default_factory=ReadConfig)
    parse: ParseConfig = field(default_factory=ParseConfig)
    boilerplate: BoilerplateConfig = field(default_factory=BoilerplateConfig)
    dedup: DedupConfig = field(default_factory=lambda: DedupConfig(canonical_order=CANONICAL_ORDER))
    neardup: NearDupConfig = field(default_factory=lambda: NearDupConfig(canonical_order=CANONICAL_ORDER))
    stats: StatsConfig = field(default_factory=StatsConfig)
    mentions: MentionConfig = field(default_factory=MentionConfig)


@dataclass(frozen=True)
class BatchResult:
    counts: dict[str, int]            # files by final status, plus 'mentions'
    loaded_keys: pl.DataFrame         # KNOWN_SCHEMA rows of the articles this batch loads
    validation: pl.DataFrame          # per-expectation results of this batch
    blocking_failures: list[str]
    deferred: list[str]
    unchanged: int
    processed: list[str]              # files read and decided in this batch (their sha256 is new)


def read_and_parse(
    input_dir: Path, candidates: pl.DataFrame, previous_sha: dict[str, str], config: PipelineConfig
) -> tuple[pl.DataFrame, list[str], int]:
    """Bytes -> parsed articles. Returns (frame, deferred paths, files found unchanged by hash)."""
    raw, deferred = read_files(input_dir, candidates, config.discovery)
    # A touched file whose bytes did not change is not new input: no new ledger row.
    same = pl.col("sha256").is_not_null() & (
        pl.col("source_path").replace_strict(previous_sha, default=None, return_dtype=pl.String) == pl.col("sha256")
    )
    unchanged = raw.filter(same.fill_null(False)).height
    raw = raw.filter(~same.fill_null(False))
    frame = parse_articles(decode_files(raw, config.read), config.parse).drop("raw")
    return frame, deferred, unchanged


def strip_site_boilerplate(
    frame: pl.DataFrame, lines: pl.DataFrame, config: PipelineConfig
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Learn each publisher's repeated lines from this batch plus history, then drop them from bodies."""
    lines = learn_boilerplate(frame, lines, config.boilerplate)
    return strip_boilerplate(frame, lines, config.boilerplate), lines


def deduplicate(
    frame: pl.DataFrame, known: pl.DataFrame, bands: pl.DataFrame, config: PipelineConfig,
    fetch_keys: FetchKeys | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Repeated paragraphs, then exact and near duplicates against the batch and the history.

    ``known``: content keys of stored articles; ``bands``: their MinHash band rows. Returns the
    labelled frame and the band rows of this batch's surviving articles.
    """
    frame = collapse_repeated_paragraphs(frame, config.dedup)
    frame = add_content_keys(frame)
    frame = exact_dedup(frame, known, config.dedup)
    return near_dedup(frame, bands, config.neardup, fetch_keys)


@cache
def ner_tagger() -> Tagger:
    """The committed NER model, loaded once per process (about a second)."""
    return Tagger.load()


def enrich(frame: pl.DataFrame, config: PipelineConfig) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Language statistics, then entity mentions: one tagger call over the whole batch."""
    frame = add_text_stats(frame, config.stats)
    articles = frame.filter(alive()).select("article_id", "body")
    return frame, tag_mentions(articles, ner_tagger(), config.mentions)


def validate(
    frame: pl.DataFrame, mentions: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, list[str]]:
    """Quarantine rows failing row-level errors; report batch-level errors as blocking."""
    indexed = frame.with_row_index("_row")
    candidates = indexed.filter(alive())
    outcome = validate_frame(candidates.select(ARTICLE_COLUMNS), "articles")
    reasons = outcome.row_reasons.join(
        candidates.select("_row").with_row_index("row_index").with_columns(pl.col("row_index").cast(pl.Int64)),
        on="row_index",
    ).select("_row", pl.col("reason").alias("_quarantine_reason"))
    indexed = indexed.join(reasons, on="_row", how="left")
    frame = label(indexed, pl.col("_quarantine_reason").is_not_null(), QUARANTINED,
                  pl.col("_quarantine_reason")).drop("_row", "_quarantine_reason")

    kept = frame.filter(alive()).select("article_id", "body")
    checked = mentions.join(kept, on="article_id", how="inner").with_columns(
        offsets_match=pl.col("body").str.slice(pl.col("start_char"), pl.col("end_char") - pl.col("start_char"))
        == pl.col("surface")
    )
    mention_outcome = validate_frame(checked.drop("body"), "entity_mentions")
    mentions = checked.select(MENTION_COLUMNS)
    results = pl.concat([outcome.results, mention_outcome.results], how="vertical_relaxed")
    return frame, mentions, results, [*outcome.blocking_failures, *mention_outcome.blocking_failures]


def finish(frame: pl.DataFrame) -> pl.DataFrame:
    """Whatever survived every step is loaded."""
    return label(frame, pl.lit(True), LOADED, pl.lit(None, dtype=pl.String))


def _write(table: pl.DataFrame, staging: Path, name: str, batch_no: int) -> None:
    if table.height:
        (staging / name).mkdir(parents=True, exist_ok=True)
        table.write_parquet(staging / name / f"batch-{batch_no:05d}.parquet", compression="zstd")


def loaded_bands(frame: pl.DataFrame, bands: pl.DataFrame) -> pl.DataFrame:
    """Band rows of the articles this batch really loads (not those quarantined after dedup)."""
    ids = frame.filter(pl.col(STATUS) == LOADED).select("article_id")
    return bands.join(ids, on="article_id", how="semi").select(list(BAND_SCHEMA))


def stage_batch(
    frame: pl.DataFrame, mentions: pl.DataFrame, bands: pl.DataFrame, scheme: str,
    run_id: str, ingested_at: datetime, staging: Path, batch_no: int,
) -> dict[str, int]:
    """Write the batch's rows for every table as Parquet under the run's staging folder."""
    stamp = [pl.lit(run_id).alias("run_id")]
    loaded = frame.filter(pl.col(STATUS) == LOADED)
    _write(loaded_bands(frame, bands).with_columns(pl.lit(scheme).alias("scheme")), staging, "article_minhash",
           batch_no)
    _write(loaded.select(ARTICLE_COLUMNS).with_columns(*stamp, pl.lit(ingested_at).alias("ingested_at")),
           staging, "articles", batch_no)
    _write(mentions.with_columns(*stamp), staging, "entity_mentions", batch_no)
    _write(
        frame.filter(pl.col(STATUS) == DUPLICATE).select(
            "source_path", "duplicate_of", pl.col("duplicate_kind").alias("kind"), "similarity", "sha256",
            "source_doc_id", "title", "section", "publisher", "url", "published_at", *stamp,
        ),
        staging, "duplicates", batch_no,
    )
    _write(
        frame.select(
            "source_path", "sha256", "size_bytes", "mtime_ns", STATUS, REASON,
            pl.when(pl.col(STATUS) == LOADED).then(pl.col("article_id"))
            .when(pl.col(STATUS) == DUPLICATE).then(pl.col("duplicate_of")).alias("article_id"),
            *stamp, pl.lit(ingested_at).alias("recorded_at"),
        ),
        staging, "ledger_history", batch_no,
    )
    quarantine_columns = [c for c in (
        "source_path", "reason", "sha256", "article_id", "format", "source_doc_id", "title", "section", "byline",
        "publisher", "url", "published_at", "body", "lang", "char_count", "word_count", "arabic_ratio",
    ) if c in frame.columns]
    _write(frame.filter(pl.col(STATUS) == QUARANTINED).select(quarantine_columns).with_columns(*stamp),
           staging, "quarantine", batch_no)
    counts = dict(frame.group_by(STATUS).len().iter_rows())
    counts["mentions"] = mentions.height
    counts["articles"] = loaded.height
    return counts


def summarize_validation(results: list[pl.DataFrame]) -> pl.DataFrame:
    """One row per expectation for the whole run, however many batches it took."""
    if not results:
        return pl.DataFrame()
    frame = pl.concat(results, how="vertical_relaxed")
    return (
        frame.group_by("suite", "expectation", "column", "severity", "scope", maintain_order=True)
        .agg(
            pl.col("success").all(),
            pl.col("unexpected_count").sum(),
            pl.col("example_values").list.explode(keep_nulls=False, empty_as_null=False)
            .unique(maintain_order=True).head(5).str.join(" | ").alias("example_values"),
            pl.col("details").drop_nulls().first().alias("details"),
        )
    )
