"""The batch core: read -> parse -> boilerplate -> dedup -> enrich -> validate -> split into tables.

``run_batch`` takes one batch of candidate files plus the ``History`` it needs and returns everything
the batch stages (``BatchOutput``). Its arguments and result are plain picklable values (frozen
dataclasses of polars frames, paths and strings; near-duplicate bodies come from a picklable
callable), so a task runner can ship it to another process or machine.

``run_pass`` is the batch loop of one ingest pass: order the candidates by publication date, cut
batches, run each, hand each batch's output to a ``stage`` callback and carry the history forward.
Dates are known only once a file is parsed, so the ordering pass reads and parses every candidate; it
keeps what it parsed in Parquet spill parts (``FirstReads``) and the batches take their rows from
there instead of reading and parsing the files a second time. Memory holds one batch, not the folder.
The loop lives here, once, and its steps are injectable (``PassSteps``): the Prefect flow passes
task-wrapped steps and a stage callback that writes the warehouse's staging folder, while the
invariant tests and the benchmark pass the plain functions.

Parallelism is a ``map`` (``ChunkMap``) the pass hands each batch: the batch cuts its order-independent
per-article work (tokens, the NER tagger, the first extractor: nine tenths of a batch's time) into
``config.workers`` pieces of whole articles, runs them through the map and joins them in order; every
decision that depends on order (boilerplate learning, exact and near duplicates, validation feeding the
history) stays sequential. That work's output for an article depends only on the article, so the result
is the same however the pieces are cut and wherever they run: the flow's map runs them on its Prefect
task runner, the plain one (``serial_map``) in the calling thread. Two batches are in flight: batch k+1
is prepared (read, deduplicated, validated) while batch k is tagged (``run_pass``).

Keeping the loop out of the flow is what lets all three run the same code; keeping staging a
callback keeps this module free of Prefect and of the warehouse (transforms never do I/O beyond
what a step is for).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from contextvars import copy_context
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from functools import cache
from itertools import chain, pairwise
from pathlib import Path
from tempfile import TemporaryDirectory
from threading import Lock
from typing import Any, Protocol

import numpy as np
import polars as pl

from expectations.runner import validate_frame
from transforms.boilerplate import BoilerplateConfig, learn_boilerplate, line_keys, strip_boilerplate
from transforms.dedup import DedupConfig, add_content_keys, collapse_repeated_paragraphs, exact_dedup
from transforms.discover import moved_since_discovery, read_files
from transforms.frame import DUPLICATE, LOADED, QUARANTINED, REASON, REJECTED, STATUS, alive, label
from transforms.mentions import MentionConfig, TaggedArticles, mentions_of, tag_articles, tag_mentions
from transforms.neardup import FetchKeys, NearDupConfig, near_dedup
from transforms.ner import Tagger
from transforms.parse import MULTI_STORY, ParseConfig, parse_articles
from transforms.read import ReadConfig, decode_files
from transforms.schema import (
    ARTICLE_MINHASH,
    ARTICLES,
    BANDS,
    BOILERPLATE_LINES,
    CANDIDATES,
    DUPLICATES,
    ENTITY_MENTIONS,
    EXPECTATION_RESULTS,
    FIRST_READS,
    KNOWN_KEYS,
    LEDGER_HISTORY,
    MENTIONS,
    QUARANTINE,
    STORY_LEDGER,
    VALIDATION_RESULTS,
    Relation,
)
from transforms.stats import StatsConfig, add_text_stats

# Inside a run, articles are processed (batches cut) and their canonical copies chosen in this
# order, nulls last: the earliest published article stays canonical, so a corpus fed in pieces in
# date order yields the same duplicates as one run over all of it.
CANONICAL_ORDER = ("published_at", "source_path")
# What the articles suite validates: the table's columns less what the load stamps on.
_STAMPED = ("run_id", "ingested_at")
ARTICLE_COLUMNS = [name for name in ARTICLES.names if name not in _STAMPED]
# Spill parts: a batch reads a slice of each part, so row groups are small (little read beyond the slice);
# lz4 writes twice as fast as zstd and the parts live only as long as the run.
SPILL_ROW_GROUP_ROWS = 64
PUBLISHED_AT = ARTICLES.schema["published_at"]

Progress = Callable[[str], None]


@dataclass(frozen=True)
class PipelineConfig:
    """Every step's config, and the batch size (files per batch, the one place for its default)."""

    # 2,000: each batch pays fixed costs (a tagging call's polars plans, a Prefect task per piece, a
    # validation per suite); on the news corpus 2,000-file batches ran in 0.85x the wall time of 1,000-file
    # ones (peak RSS 1.8 GB against 1.3 GB then; 1.1 GB since the flow frees each batch's future cycles).
    batch_size: int = 2000
    # How many pieces a batch's tagging is cut into for the pass's map: 1 tags in one call, here.
    workers: int = 1
    # A piece has at least this many words (about 0.4 s of tagging): a small batch is not worth a
    # worker process's start-up, so it is tagged here.
    min_piece_tokens: int = 20_000
    read: ReadConfig = field(default_factory=ReadConfig)
    parse: ParseConfig = field(default_factory=ParseConfig)
    boilerplate: BoilerplateConfig = field(default_factory=BoilerplateConfig)
    dedup: DedupConfig = field(default_factory=lambda: DedupConfig(canonical_order=CANONICAL_ORDER))
    neardup: NearDupConfig = field(default_factory=lambda: NearDupConfig(canonical_order=CANONICAL_ORDER))
    stats: StatsConfig = field(default_factory=StatsConfig)
    mentions: MentionConfig = field(default_factory=MentionConfig)

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {self.batch_size}")
        if self.workers < 1:
            raise ValueError(f"workers must be at least 1, not {self.workers}")


class StoredHistory(Protocol):
    """The warehouse's part of a history, asked only for what a batch's keys match (a join in the
    warehouse, `warehouse.history.StoredHistory`), so a run never holds the whole history in memory.
    Picklable, so it travels with a batch."""

    def known(self, content_hashes: pl.Series) -> pl.DataFrame:
        """KNOWN_KEYS rows of stored articles with one of ``content_hashes``."""
        ...

    def bands(self, keys: pl.DataFrame) -> pl.DataFrame:
        """BANDS rows of stored articles sharing a (``band_index``, ``band_hash``) of ``keys``."""
        ...

    def boilerplate(self, keys: pl.DataFrame) -> pl.DataFrame:
        """BOILERPLATE_LINES rows with one of the (``publisher``, ``line_key``) of ``keys``."""
        ...

    def excluding(self, paths: Sequence[str]) -> StoredHistory:
        """The same history without the stored articles of ``paths``."""
        ...


@dataclass(frozen=True)
class History:
    """What a batch needs from the warehouse and from earlier batches of its run.

    ``previous_sha``: the ledger's sha256 per path (a touched file with the same bytes is not new);
    ``known``: content keys of articles (KNOWN_KEYS); ``bands``: their MinHash band rows (BANDS);
    ``boilerplate``: learned boilerplate lines (BOILERPLATE_LINES). With ``stored`` (a run against a
    warehouse), the frames hold only what earlier batches of this run added and the rest is looked up
    per batch; without it, the frames are the whole history.
    """

    previous_sha: Mapping[str, str]
    known: pl.DataFrame
    bands: pl.DataFrame
    boilerplate: pl.DataFrame
    stored: StoredHistory | None = None

    @classmethod
    def of(
        cls, previous_sha: Mapping[str, str], known: pl.DataFrame, bands: pl.DataFrame, boilerplate: pl.DataFrame,
        stored: StoredHistory | None = None,
    ) -> History:
        """A history whose frames are in their schema (columns, order, dtypes)."""
        return cls(dict(previous_sha), KNOWN_KEYS.conform(known), BANDS.conform(bands),
                   BOILERPLATE_LINES.conform(boilerplate), stored)

    @classmethod
    def empty(cls) -> History:
        return cls({}, KNOWN_KEYS.empty(), BANDS.empty(), BOILERPLATE_LINES.empty())

    def without_articles_of(self, paths: Sequence[str]) -> History:
        """Forget the stored articles of ``paths``: a changed file must not duplicate its own old version."""
        if not paths:
            return self
        gone = pl.col("source_path").is_in(list(paths))
        stored = None if self.stored is None else self.stored.excluding(paths)
        return replace(self, known=self.known.filter(~gone), bands=self.bands.filter(~gone), stored=stored)

    def known_matching(self, content_hashes: pl.Series) -> pl.DataFrame:
        """Every known key a batch with ``content_hashes`` can match (or more)."""
        if self.stored is None:
            return self.known
        return pl.concat([KNOWN_KEYS.conform(self.stored.known(content_hashes)), self.known])

    def bands_matching(self, keys: pl.DataFrame) -> pl.DataFrame:
        """Every band row sharing a key with ``keys`` (``band_index``, ``band_hash``), or more."""
        if self.stored is None:
            return self.bands
        return pl.concat([BANDS.conform(self.stored.bands(keys)), self.bands])

    def boilerplate_matching(self, keys: pl.DataFrame) -> pl.DataFrame:
        """The current row of every line of ``keys`` (``publisher``, ``line_key``), or more: this run's
        rows first, then the stored ones it has not replaced."""
        if self.stored is None:
            return self.boilerplate
        stored = BOILERPLATE_LINES.conform(self.stored.boilerplate(keys))
        older = stored.join(self.boilerplate, on=["publisher", "line_key"], how="anti")
        return pl.concat([self.boilerplate, older])

    def extended(self, output: BatchOutput | PreparedBatch) -> History:
        """The history the next batch of the same run needs (known once the batch is prepared)."""
        return replace(
            self,
            known=pl.concat([self.known, output.loaded_keys]),
            bands=pl.concat([self.bands, output.loaded_bands]),
            boilerplate=output.boilerplate,
        )


@dataclass(frozen=True)
class FirstReads:
    """What the ordering pass read: parsed rows in Parquet parts under ``folder``, found by ``rows``.

    ``rows`` (FIRST_READS) says per candidate which part holds its parsed row and where, or that the
    file was unchanged by hash; a candidate with neither was deferred by the ordering pass. Each part
    is one ordering batch, sorted in processing order, so a batch needs one contiguous slice of each.
    Picklable: the folder travels as a path.
    """

    folder: Path
    rows: pl.DataFrame

    def part(self, number: int) -> Path:
        return self.folder / f"part-{number:05d}.parquet"

    def slice(self, start: int, length: int) -> FirstReads:
        return replace(self, rows=self.rows.slice(start, length))


@dataclass(frozen=True)
class DateOrder:
    """The ordering pass's result: the candidates in processing order and, row for row, their first reads."""

    candidates: pl.DataFrame  # CANDIDATES
    first_reads: FirstReads


@dataclass(frozen=True)
class BatchInput:
    input_dir: Path
    candidates: pl.DataFrame  # CANDIDATES rows, in processing order
    batch_no: int
    run_id: str
    ingested_at: datetime  # stamped on articles (ingested_at) and ledger rows (recorded_at)
    # Row for row with ``candidates``: what the ordering pass read; without it the batch reads the files.
    first_reads: FirstReads | None = None


@dataclass(frozen=True)
class BatchCounts:
    """Files by final status, and rows for the two tables the run summary counts."""

    loaded: int = 0
    duplicate: int = 0
    quarantined: int = 0
    rejected: int = 0
    articles: int = 0
    mentions: int = 0

    def __add__(self, other: BatchCounts) -> BatchCounts:
        return BatchCounts(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


@dataclass(frozen=True)
class BatchTables:
    """A batch's rows of every table it stages, each in the table's schema; field names are table names."""

    articles: pl.DataFrame
    entity_mentions: pl.DataFrame
    duplicates: pl.DataFrame
    ledger_history: pl.DataFrame
    quarantine: pl.DataFrame
    article_minhash: pl.DataFrame
    story_ledger: pl.DataFrame

    def by_table(self) -> dict[str, pl.DataFrame]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class BatchOutput:
    tables: BatchTables
    counts: BatchCounts
    validation: pl.DataFrame  # EXPECTATION_RESULTS of this batch
    blocking_failures: tuple[str, ...]  # non-empty: nothing of this run may be loaded
    deferred: tuple[str, ...]  # files still being written: no row, the next run takes them
    unchanged: int  # files touched but with the bytes the ledger knows: no row
    processed: tuple[str, ...]  # files read and decided in this batch (their sha256 is new)
    boilerplate: pl.DataFrame  # the boilerplate table learned up to and including this batch
    loaded_keys: pl.DataFrame  # KNOWN_KEYS of the articles this batch loads
    loaded_bands: pl.DataFrame  # BANDS of the articles this batch loads


@cache
def ner_tagger() -> Tagger:
    """The committed NER model, loaded once per process (about a second)."""
    return Tagger.load()


# The tagger keeps per-type caches that one call at a time may grow: two batches are tagged at once
# (`_run_pass`), and where both run in this process (one worker, small batches) they take turns.
_TAGGING = Lock()


# map(function, items) -> [function(item) for item in items], in order, wherever it runs them; the
# function and items are picklable (a module-level function, pieces of articles).
ChunkMap = Callable[[Callable[[Any], Any], Sequence[Any]], Sequence[Any]]
# A piece as it travels to a worker: whole articles (article_id, body) and the mention settings. Frames,
# not nested lists: a task runner pickles (and scans for futures) a frame in milliseconds.
ArticlePiece = tuple[pl.DataFrame, MentionConfig]


def serial_map(function: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
    """The plain map: one item after another, in this thread."""
    return [function(item) for item in items]


def load_tagger(_worker: int) -> None:
    """Load this process's tagger ahead of its first piece (imports and the model: seconds); the result
    stays in the process, nothing travels back."""
    ner_tagger()


def tag_piece(piece: ArticlePiece) -> TaggedArticles:
    """The per-article part of the entity step for one piece, by this process's tagger (loaded once per process)."""
    articles, config = piece
    with _TAGGING:
        return tag_articles(articles, ner_tagger(), config)


def cut_articles(articles: pl.DataFrame, pieces: int, min_tokens: int = 1) -> list[pl.DataFrame]:
    """``articles`` in at most ``pieces`` runs of whole articles of about equal words (``min_tokens`` at least)."""
    words = articles.select(pl.col("body").fill_null("").str.count_matches(r"\S+").cum_sum())["body"].to_numpy()
    total = int(words[-1]) if len(words) else 0
    pieces = max(1, min(pieces, articles.height, total // max(min_tokens, 1)))
    # Each cut after the article where the running count first reaches its share.
    cuts = np.unique(np.searchsorted(words, [total * k / pieces for k in range(1, pieces)], side="left") + 1)
    bounds = [0, *(int(c) for c in cuts if 0 < c < articles.height), articles.height]
    return [articles.slice(start, end - start) for start, end in pairwise(bounds)]


@dataclass(frozen=True)
class ParsedFiles:
    """Candidate files as parsed rows, less the ones that get no row in this run."""

    frame: pl.DataFrame  # the parsed rows, in the order of the candidates
    deferred: tuple[str, ...]  # moved since discovery: no row, the next run takes them
    unchanged: tuple[str, ...]  # touched, but with the bytes the ledger knows: no row


def read_and_parse(
    input_dir: Path, candidates: pl.DataFrame, previous_sha: Mapping[str, str], config: PipelineConfig
) -> ParsedFiles:
    """Bytes -> parsed articles, for files the run has not read yet."""
    raw, deferred = read_files(input_dir, candidates, config.read)
    # A touched file whose bytes did not change is not new input: no new ledger row.
    same = (pl.col("sha256").is_not_null() & (
        pl.col("source_path").replace_strict(dict(previous_sha), default=None, return_dtype=pl.String)
        == pl.col("sha256")
    )).fill_null(False)
    unchanged = raw.filter(same)["source_path"].to_list()
    frame = parse_articles(decode_files(raw.filter(~same), config.read), config.parse).drop("raw")
    return ParsedFiles(frame, tuple(deferred), tuple(unchanged))


def _in_processing_order(frame: pl.DataFrame) -> pl.DataFrame:
    """Files by (earliest story's date, path), each file's stories together in story order."""
    file_at = pl.col("published_at").min().over("source_path").alias("_file_at")
    order = ["_file_at", "source_path", "story_index"]
    return frame.with_columns(file_at).sort(order, nulls_last=True, maintain_order=True).drop("_file_at")


def order_by_date(
    input_dir: Path, candidates: pl.DataFrame, previous_sha: Mapping[str, str], config: PipelineConfig,
    spill: Path,
) -> DateOrder:
    """Candidates sorted by ``(published_at nulls last, source_path)``, the order batches are cut in.

    Dates are known only after parsing, so this pass reads and parses batch by batch, and writes each
    batch's parsed frame to a part under ``spill`` for the batches to take their rows from; it keeps
    four small columns per file (memory stays bounded). Processing a run in publication order makes
    the earliest article of a cluster canonical whether the corpus comes in one run or in date pieces.
    Deferred and unchanged files have no date: they come last, as does every file without one.
    """
    spill.mkdir(parents=True, exist_ok=True)
    first_reads = FirstReads(spill, FIRST_READS.empty())

    def locate(number: int) -> list[pl.DataFrame]:
        start = number * config.batch_size
        parsed = read_and_parse(input_dir, candidates.slice(start, config.batch_size), previous_sha, config)
        frame = _in_processing_order(parsed.frame)
        if frame.height:
            frame.write_parquet(first_reads.part(number), compression="lz4", row_group_size=SPILL_ROW_GROUP_ROWS)
        unchanged = pl.DataFrame({"source_path": list(parsed.unchanged)}, schema={"source_path": pl.String})
        # One row per file: where its stories start in the part, how many there are, its earliest date.
        return [
            frame.with_row_index("offset")
            .group_by("source_path", maintain_order=True)
            .agg(pl.col("offset").first().cast(pl.Int64), pl.len().cast(pl.Int64).alias("rows"),
                 pl.col("published_at").min())
            .select("source_path", pl.lit(number, dtype=pl.Int32).alias("part"), "offset",
                    pl.lit(False).alias("unchanged"), "rows", "published_at"),
            unchanged.with_columns(
                pl.lit(None, dtype=pl.Int32).alias("part"), pl.lit(None, dtype=pl.Int64).alias("offset"),
                pl.lit(True).alias("unchanged"), pl.lit(None, dtype=pl.Int64).alias("rows"),
                pl.lit(None, dtype=PUBLISHED_AT).alias("published_at"),
            ),
        ]

    # The parts are independent; their file reads and polars work leave the GIL, the Python between
    # them does not: ``config.workers`` threads share them (the corpus: 3.2 s on one, 3.0 s on two).
    with ThreadPoolExecutor(max_workers=config.workers, thread_name_prefix="akhbar-order") as readers:
        parts = readers.map(locate, range(-(-candidates.height // config.batch_size)))
        located = [pl.DataFrame(schema={**FIRST_READS.schema, "published_at": PUBLISHED_AT}),
                   *chain.from_iterable(parts)]
    ordered = (
        candidates.join(pl.concat(located), on="source_path", how="left")
        .with_columns(pl.col("unchanged").fill_null(False))
        .sort(CANONICAL_ORDER, nulls_last=True)
    )
    return DateOrder(CANDIDATES.conform(ordered), replace(first_reads, rows=FIRST_READS.conform(ordered)))


def recall_first_reads(
    input_dir: Path, candidates: pl.DataFrame, first_reads: FirstReads, previous_sha: Mapping[str, str],
    config: PipelineConfig,
) -> ParsedFiles:
    """What ``read_and_parse`` gives for ``candidates``, from the ordering pass's parts where it may.

    A file's first read stands only while its size and mtime are still what discovery saw (the check
    ``read_files`` makes); a file that moved since, or that the ordering pass deferred, is read again,
    so it is deferred exactly as if this were its only read.
    """
    rows = first_reads.rows
    wanted = pl.col("source_path").is_in(rows["source_path"].to_list())
    ranges = (
        rows.filter(pl.col("part").is_not_null())
        .group_by("part").agg(pl.col("offset").min().alias("first"),
                              (pl.col("offset") + pl.col("rows") - 1).max().alias("last"))
        .sort("part")
    )
    spilled = pl.concat([
        pl.scan_parquet(first_reads.part(part)).slice(first, last - first + 1).filter(wanted).collect()
        for part, first, last in ranges.iter_rows()
    ]) if ranges.height else None
    # Files this run has read (bytes or hash) must still be as discovery saw them.
    read_before = rows.filter(pl.col("unchanged"))["source_path"].to_list()
    if spilled is not None:
        read_before += spilled.filter(pl.col("sha256").is_not_null())["source_path"].to_list()
    moved = moved_since_discovery(input_dir, candidates.filter(pl.col("source_path").is_in(read_before)))
    not_moved = ~pl.col("source_path").is_in(moved)
    again = rows.filter((pl.col("part").is_null() & ~pl.col("unchanged")) | ~not_moved)["source_path"].to_list()
    unchanged = tuple(rows.filter(pl.col("unchanged") & not_moved)["source_path"])
    if spilled is not None and not again:
        fresh = ParsedFiles(spilled.clear(), (), ())
    else:
        fresh = read_and_parse(input_dir, candidates.filter(pl.col("source_path").is_in(again)), previous_sha, config)
    frame = fresh.frame if spilled is None else pl.concat([spilled.filter(not_moved), fresh.frame])
    # Each part is in processing order, but the batch's rows come part after part: back to the batch's order.
    position = candidates.select("source_path").with_row_index("_position")
    frame = (frame.join(position, on="source_path", how="left")
             .sort("_position", "story_index", nulls_last=True, maintain_order=True).drop("_position"))
    return ParsedFiles(frame, fresh.deferred, (*unchanged, *fresh.unchanged))


def _deduplicate(
    frame: pl.DataFrame, history: History, config: PipelineConfig, bodies: FetchKeys | None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Repeated paragraphs, then exact and near duplicates against the batch and the history."""
    frame = collapse_repeated_paragraphs(frame, config.dedup)
    frame = add_content_keys(frame)
    frame = exact_dedup(frame, history.known_matching(frame["content_hash"].drop_nulls().unique()), config.dedup)
    return near_dedup(frame, history.bands_matching, config.neardup, bodies)


def _validate_articles(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, list[str]]:
    """Quarantine rows failing row-level errors; report batch-level errors as blocking.

    Only the articles suite decides which rows stay, so the rows a batch loads (and the history the next
    batch deduplicates against) are known before its entities are.
    """
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
    return frame, outcome.results, list(outcome.blocking_failures)


def _validate_mentions(frame: pl.DataFrame, mentions: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, list[str]]:
    """The mentions of the rows that stay, checked against their bodies (offsets) by the mentions suite."""
    kept = frame.filter(alive()).select("article_id", "body")
    checked = mentions.join(kept, on="article_id", how="inner").with_columns(
        offsets_match=pl.col("body").str.slice(pl.col("start_char"), pl.col("end_char") - pl.col("start_char"))
        == pl.col("surface")
    )
    outcome = validate_frame(checked.drop("body"), "entity_mentions")
    return checked.select(MENTIONS.names), outcome.results, list(outcome.blocking_failures)


def _stamped(relation: Relation, frame: pl.DataFrame, *stamps: pl.Expr) -> pl.DataFrame:
    return relation.conform(frame.with_columns(*stamps))


# A file's status is its best story's: loaded if any story loaded, else duplicate, quarantined, rejected.
_STATUS_RANK = {LOADED: 0, DUPLICATE: 1, QUARANTINED: 2, REJECTED: 3}


def _story_article() -> pl.Expr:
    status = pl.col(STATUS)
    return (pl.when(status == LOADED).then(pl.col("article_id"))
            .when(status == DUPLICATE).then(pl.col("duplicate_of")).alias("article_id"))


def file_outcomes(frame: pl.DataFrame) -> pl.DataFrame:
    """One row per file of the decided frame (one row per story): what the ledger records.

    The file takes its best story's status, and that story's reason and article (a loaded file's
    reason stays null); multi-story files also get a ``story_summary``.
    """
    rank = pl.col(STATUS).replace_strict(_STATUS_RANK, return_dtype=pl.Int8)
    stories = frame.with_columns(_story_article(), _rank=rank)
    best = pl.col("_rank") == pl.col("_rank").min()
    counted = {status: (pl.col(STATUS) == status).sum() for status in _STATUS_RANK}
    summary = pl.format(
        "{} stories: {}", pl.len(),
        pl.concat_str([pl.when(count > 0).then(pl.format(f"{{}} {status}", count))
                       for status, count in counted.items()], separator=", ", ignore_nulls=True),
    )
    first_refusal = pl.format("story {} ({}): {}", pl.col("story_index") + 1, pl.col("source_doc_id"), pl.col(REASON))
    refusal = first_refusal.filter(pl.col(STATUS) != LOADED).first()
    multi = pl.col("format").is_in(list(MULTI_STORY)).any()
    return stories.group_by("source_path", maintain_order=True).agg(
        pl.col("sha256", "size_bytes", "mtime_ns").first(),
        pl.col(STATUS).filter(best).first(),
        pl.col(REASON).filter(best).first(),
        pl.col("article_id").filter(best).first(),
        pl.col("story_index").is_not_null().sum().cast(pl.Int32).alias("story_count"),
        counted[LOADED].cast(pl.Int32).alias("stories_loaded"),
        pl.when(multi).then(pl.concat_str([summary, pl.lit("; first refusal: ") + refusal], ignore_nulls=True))
        .alias("story_summary"),
    ).with_columns(pl.when(pl.col(STATUS) != LOADED).then(pl.col(REASON)).alias(REASON))


def split_tables(
    frame: pl.DataFrame, mentions: pl.DataFrame, bands: pl.DataFrame, scheme: str, run_id: str,
    ingested_at: datetime,
) -> BatchTables:
    """The decided frame (a row per story) as rows of every table a batch stages (bands: this batch's
    loaded band rows). The ledger gets one row per file; stories of multi-story files get theirs in
    ``story_ledger``."""
    run = pl.lit(run_id).alias("run_id")
    at = pl.lit(ingested_at, dtype=ARTICLES.schema["ingested_at"])
    status = pl.col(STATUS)
    multi = pl.col("format").is_in(list(MULTI_STORY)).fill_null(False)
    return BatchTables(
        articles=_stamped(ARTICLES, frame.filter(status == LOADED), run, at.alias("ingested_at")),
        entity_mentions=_stamped(ENTITY_MENTIONS, mentions, run),
        duplicates=_stamped(
            DUPLICATES, frame.filter(status == DUPLICATE), pl.col("duplicate_kind").alias("kind"), run
        ),
        ledger_history=_stamped(LEDGER_HISTORY, file_outcomes(frame), run, at.alias("recorded_at")),
        quarantine=_stamped(QUARANTINE, frame.filter(status == QUARANTINED), run),
        article_minhash=_stamped(ARTICLE_MINHASH, bands, pl.lit(scheme).alias("scheme")),
        story_ledger=_stamped(STORY_LEDGER, frame.filter(multi & pl.col("story_index").is_not_null()),
                              _story_article(), run, at.alias("recorded_at")),
    )


def _counts(tables: BatchTables) -> BatchCounts:
    by_status = dict(tables.ledger_history.group_by(STATUS).len().iter_rows())
    return BatchCounts(
        loaded=by_status.get(LOADED, 0), duplicate=by_status.get(DUPLICATE, 0),
        quarantined=by_status.get(QUARANTINED, 0), rejected=by_status.get(REJECTED, 0),
        articles=tables.articles.height, mentions=tables.entity_mentions.height,
    )


@dataclass(frozen=True)
class PreparedBatch:
    """A batch read, deduplicated, measured and validated: all it needs is its entities.

    Everything the next batch depends on (the rows loaded, their keys and bands, the boilerplate learned)
    is decided here, so the next batch can be prepared while this one is tagged.
    """

    batch: BatchInput
    frame: pl.DataFrame  # one row per story, statuses decided (alive rows will load)
    to_tag: pl.DataFrame  # article_id, body: the rows alive before validation (the tagger's batch)
    validation: pl.DataFrame  # the articles suite's results
    blocking_failures: tuple[str, ...]
    deferred: tuple[str, ...]
    unchanged: int
    boilerplate: pl.DataFrame  # the boilerplate table learned up to and including this batch
    loaded_keys: pl.DataFrame  # KNOWN_KEYS of the articles this batch loads
    loaded_bands: pl.DataFrame  # BANDS of the articles this batch loads


@dataclass(frozen=True)
class PendingBodies:
    """``article_id`` and ``body`` by id: the loading rows of the batch still being tagged (not staged
    yet), then ``stored``'s. The next batch's near duplicates are verified against both."""

    pending: pl.DataFrame  # article_id, body
    stored: FetchKeys | None

    def __call__(self, article_ids: list[str]) -> pl.DataFrame:
        here = self.pending.filter(pl.col("article_id").is_in(article_ids))
        found = set(here["article_id"].to_list())
        rest = [article_id for article_id in article_ids if article_id not in found]
        if not rest or self.stored is None:
            return here
        return pl.concat([here, self.stored(rest).select("article_id", "body")], how="vertical_relaxed")


def prepare_batch(
    batch: BatchInput, history: History, config: PipelineConfig, bodies: FetchKeys | None = None,
    progress: Progress | None = None,
) -> PreparedBatch:
    """Read (or recall), strip boilerplate, deduplicate, add text statistics, validate the articles."""
    (progress or (lambda _: None))("reading")
    if batch.first_reads is None:
        parsed = read_and_parse(batch.input_dir, batch.candidates, history.previous_sha, config)
    else:
        parsed = recall_first_reads(batch.input_dir, batch.candidates, batch.first_reads, history.previous_sha, config)
    frame = parsed.frame
    known_lines = history.boilerplate_matching(line_keys(frame, config.boilerplate))
    boilerplate = learn_boilerplate(frame, known_lines, config.boilerplate)
    frame = strip_boilerplate(frame, boilerplate, config.boilerplate)
    frame, batch_bands = _deduplicate(frame, history, config, bodies)
    frame = add_text_stats(frame, config.stats)
    to_tag = frame.filter(alive()).select("article_id", "body")
    frame, validation, blocking = _validate_articles(frame)
    loaded = frame.filter(alive())
    loaded_bands = batch_bands.join(loaded.select("article_id"), on="article_id", how="semi")
    return PreparedBatch(
        batch=batch, frame=frame, to_tag=to_tag, validation=validation, blocking_failures=tuple(blocking),
        deferred=parsed.deferred, unchanged=len(parsed.unchanged), boilerplate=boilerplate,
        loaded_keys=KNOWN_KEYS.conform(loaded), loaded_bands=BANDS.conform(loaded_bands),
    )


def tag_batch(
    prepared: PreparedBatch, config: PipelineConfig, map: ChunkMap = serial_map, progress: Progress | None = None,
) -> pl.DataFrame:
    """The batch's entity mentions (MENTIONS).

    The per-article part (tokens, the tagger, the first extractor; nine tenths of the work) is cut into
    ``config.workers`` pieces of whole articles run through ``map``; the batch-wide rest runs here, on the
    joined pieces, so the mentions are the same however the batch was cut.
    """
    (progress or (lambda _: None))("entities")
    articles = prepared.to_tag
    # The model loads (and its modules import) only for a batch with something to tag.
    if not articles.height:
        return MENTIONS.empty()
    pieces = cut_articles(articles, config.workers, config.min_piece_tokens)
    if len(pieces) == 1:
        with _TAGGING:
            return tag_mentions(articles, ner_tagger(), config.mentions)
    tagged = TaggedArticles.concat(map(tag_piece, [(piece, config.mentions) for piece in pieces]))
    return mentions_of(articles, tagged, config.mentions)


def finish_batch(
    prepared: PreparedBatch, mentions: pl.DataFrame, config: PipelineConfig, progress: Progress | None = None,
) -> BatchOutput:
    """Validate the mentions and split the decided batch into the rows of every table it stages."""
    (progress or (lambda _: None))("validating")
    batch = prepared.batch
    mentions, mention_results, mention_blocking = _validate_mentions(prepared.frame, mentions)
    frame = label(prepared.frame, pl.lit(True), LOADED, pl.lit(None, dtype=pl.String))  # what survived every step
    tables = split_tables(frame, mentions, prepared.loaded_bands, config.neardup.scheme, batch.run_id,
                          batch.ingested_at)
    validation = pl.concat([prepared.validation, mention_results], how="vertical_relaxed")
    return BatchOutput(
        tables=tables,
        counts=_counts(tables),
        validation=EXPECTATION_RESULTS.conform(validation),
        blocking_failures=(*prepared.blocking_failures, *mention_blocking),
        deferred=prepared.deferred,
        unchanged=prepared.unchanged,
        processed=tuple(tables.ledger_history["source_path"].to_list()),
        boilerplate=prepared.boilerplate,
        loaded_keys=prepared.loaded_keys,
        loaded_bands=prepared.loaded_bands,
    )


def run_batch(
    batch: BatchInput, history: History, config: PipelineConfig, bodies: FetchKeys | None = None,
    progress: Progress | None = None, map: ChunkMap = serial_map,
) -> BatchOutput:
    """One batch, start to end: ``prepare_batch``, ``tag_batch``, ``finish_batch``.

    ``bodies(article_ids)`` returns ``article_id`` and ``body`` of stored articles (committed or
    staged by earlier batches): near-duplicate candidates from the history are verified against them.
    ``progress``, if given, hears the name of each phase as it starts: ``reading`` (read, parse,
    boilerplate, dedup, statistics, the articles suite), ``entities`` (NER), ``validating`` (the
    mentions suite, split into tables). ``map`` runs the entity step's ``config.workers`` pieces.
    """
    prepared = prepare_batch(batch, history, config, bodies, progress)
    return finish_batch(prepared, tag_batch(prepared, config, map, progress), config, progress)


def summarize_validation(results: Sequence[pl.DataFrame]) -> pl.DataFrame:
    """One row per expectation for the whole run, however many batches it took (VALIDATION_RESULTS less run_id)."""
    columns = [name for name in VALIDATION_RESULTS.names if name != "run_id"]
    if not results:
        return pl.DataFrame(schema={name: VALIDATION_RESULTS.schema[name] for name in columns})
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
        .select(pl.col(name).cast(VALIDATION_RESULTS.schema[name]) for name in columns)
    )


class PassProgress(Protocol):
    """Where a pass reports how far it got (``flows.progress`` is one)."""

    def stage(self, name: str) -> None: ...

    def advance(self, files: int) -> None: ...


class _Silent:
    def stage(self, name: str) -> None:
        pass

    def advance(self, files: int) -> None:
        pass


OrderStep = Callable[[Path, pl.DataFrame, Mapping[str, str], PipelineConfig, Path], DateOrder]
PrepareStep = Callable[[BatchInput, History, PipelineConfig, FetchKeys | None, Progress | None], PreparedBatch]
TagStep = Callable[[PreparedBatch, PipelineConfig, ChunkMap, Progress | None], pl.DataFrame]
FinishStep = Callable[[PreparedBatch, pl.DataFrame, PipelineConfig, Progress | None], BatchOutput]


@dataclass(frozen=True)
class PassSteps:
    """The steps ``run_pass`` calls: the plain functions by default, task-wrapped ones in the flow.

    ``stage(output, batch_no)`` receives every batch that is not blocked, before the next one starts;
    ``map`` is what each batch runs its pieces of tagging through. ``tag`` runs in a thread of its own
    (with the caller's context), while the next batch is prepared.
    """

    stage: Callable[[BatchOutput, int], None]
    order: OrderStep = order_by_date
    prepare: PrepareStep = prepare_batch
    tag: TagStep = tag_batch
    finish: FinishStep = finish_batch
    map: ChunkMap = serial_map


@dataclass(frozen=True)
class PassResult:
    counts: BatchCounts  # of the batches staged (a blocked batch stages nothing)
    unchanged: int  # files found unchanged by hash while reading
    deferred: int  # files still being written
    processed: tuple[str, ...]  # files read and decided, in processing order
    validation: pl.DataFrame  # one row per expectation for the pass (summarize_validation)
    blocking_failures: tuple[str, ...]  # sorted, distinct; non-empty means the run must fail
    boilerplate: pl.DataFrame  # the learned boilerplate table after the last batch


def run_pass(
    input_dir: Path, candidates: pl.DataFrame, history: History, config: PipelineConfig, run_id: str,
    ingested_at: datetime, steps: PassSteps, bodies: FetchKeys | None = None,
    progress: PassProgress | None = None, spill: Path | None = None,
) -> PassResult:
    """Every candidate of one ingest pass, batch by batch in publication order; stops at a blocked batch.

    ``spill`` is the folder for what the ordering pass read (the run's staging area); without one, a
    temporary folder that the pass removes.
    """
    with ExitStack() as cleanup:
        if spill is None:
            spill = Path(cleanup.enter_context(TemporaryDirectory(prefix="akhbar-first-reads-")))
        return _run_pass(input_dir, candidates, history, config, run_id, ingested_at, steps, bodies,
                         progress or _Silent(), spill)


def _run_pass(
    input_dir: Path, candidates: pl.DataFrame, history: History, config: PipelineConfig, run_id: str,
    ingested_at: datetime, steps: PassSteps, bodies: FetchKeys | None, shown: PassProgress, spill: Path,
) -> PassResult:
    """The batch loop, two batches in flight: while batch k is tagged (in a thread, its pieces wherever
    ``map`` runs them), batch k+1 is read, deduplicated and validated against the history batch k left,
    and its tagging is submitted at once, so its pieces queue behind batch k's: a worker that finishes
    early takes the next piece instead of waiting for the slowest. Batch k is then finished and staged.

    That history is complete once batch k is prepared (entities decide nothing a later batch reads), so
    every decision is the one a strictly sequential loop makes. A batch prepared after a blocked one is
    dropped unstaged.
    """
    shown.stage("ordering by date")
    order = steps.order(input_dir, candidates, history.previous_sha, config, spill)
    ordered = order.candidates
    counts = BatchCounts()
    unchanged = deferred = 0
    processed: list[str] = []
    validations: list[pl.DataFrame] = []
    blocking: set[str] = set()
    starts = range(0, ordered.height, config.batch_size)

    def phase_of(number: int) -> Progress:
        return lambda name: shown.stage(f"batch {number}: {name}")

    def prepare(batch_no: int, history: History, bodies: FetchKeys | None) -> PreparedBatch:
        start = starts[batch_no]
        batch = BatchInput(input_dir, ordered.slice(start, config.batch_size), batch_no, run_id, ingested_at,
                           order.first_reads.slice(start, config.batch_size))
        return steps.prepare(batch, history, config, bodies, phase_of(batch_no + 1))

    with (ThreadPoolExecutor(max_workers=2, thread_name_prefix="akhbar-tag") as tagging,
          ThreadPoolExecutor(max_workers=1, thread_name_prefix="akhbar-prepare") as preparing):
        # The two long steps run in threads (with the caller's context, for Prefect's run context) and this
        # thread waits for them: a stop signal then lands here, in a plain wait, never inside a native call.
        def in_thread(pool: ThreadPoolExecutor, step: Callable[..., Any], *args: Any) -> Future[Any]:
            return pool.submit(copy_context().run, step, *args)

        def tag(prepared: PreparedBatch | None) -> Future[pl.DataFrame] | None:
            if prepared is None:
                return None
            return in_thread(tagging, steps.tag, prepared, config, steps.map, phase_of(prepared.batch.batch_no + 1))

        prepared = in_thread(preparing, prepare, 0, history, bodies).result() if starts else None
        tagged = tag(prepared)
        while prepared is not None and tagged is not None:
            batch_no = prepared.batch.batch_no
            after = history.extended(prepared)
            following = None
            if not prepared.blocking_failures and batch_no + 1 < len(starts):
                pending = prepared.frame.filter(alive()).select("article_id", "body")
                following = in_thread(preparing, prepare, batch_no + 1, after, PendingBodies(pending, bodies))
            # The next batch's entities are submitted before this batch's are back, so the workers never
            # wait for this thread; a batch after a blocked one is then tagged for nothing, and dropped.
            next_prepared = None if following is None else following.result()
            next_tagged = tag(next_prepared)
            mentions = tagged.result()
            output = steps.finish(prepared, mentions, config, phase_of(batch_no + 1))
            validations.append(output.validation)
            unchanged += output.unchanged
            deferred += len(output.deferred)
            processed.extend(output.processed)
            size = prepared.batch.candidates.height
            if output.blocking_failures:
                blocking.update(output.blocking_failures)
                shown.advance(size)
                break
            steps.stage(output, batch_no)
            counts += output.counts
            shown.advance(size)
            history, prepared, tagged = after, next_prepared, next_tagged
    return PassResult(
        counts=counts, unchanged=unchanged, deferred=deferred, processed=tuple(processed),
        validation=summarize_validation(validations), blocking_failures=tuple(sorted(blocking)),
        boilerplate=history.boilerplate,
    )
