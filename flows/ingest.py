"""The ingest flow: one Prefect flow run per pass over the input folder.

Thin wiring only: one task per stage per batch (never per article), one writer lock for the
whole run, and one warehouse transaction at the end. Everything before that transaction writes
only to the run's staging folder, so a run that dies changes nothing the next run can see.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from flows import progress, results
from flows.artifacts import publish_run
from flows.discover import Discovery, DiscoveryConfig, discover
from flows.stages import (
    KNOWN_SCHEMA,
    BatchResult,
    PipelineConfig,
    deduplicate,
    enrich,
    finish,
    loaded_bands,
    read_and_parse,
    stage_batch,
    strip_site_boilerplate,
    summarize_validation,
    validate,
)
from transforms.frame import DUPLICATE, LOADED, QUARANTINED, REJECTED
from transforms.neardup import BAND_SCHEMA, FetchKeys
from transforms.read import ReadConfig
from warehouse import store
from warehouse.faults import crash_point
from warehouse.lock import WriterLock

DEFAULT_MAX_FILE_BYTES = DiscoveryConfig().max_bytes


class RunFailedError(RuntimeError):
    """The run stopped without loading anything (blocking validation failure or an error)."""


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    status: str
    reason: str | None
    files_seen: int
    files_unchanged: int
    files_deferred: int
    files_loaded: int
    files_duplicate: int
    files_quarantined: int
    files_rejected: int
    articles_loaded: int
    mentions_loaded: int
    seconds: float


@dataclass(frozen=True)
class Snapshot:
    ledger: pl.DataFrame
    known: pl.DataFrame
    boilerplate: pl.DataFrame
    bands: pl.DataFrame


@task(name="open-warehouse", cache_policy=NO_CACHE)
def open_warehouse(root: Path, scheme: str) -> Snapshot:
    """Create/upgrade the warehouse, drop what dead runs left, read the ledger and dedup history."""
    con = store.open_writer(root)
    try:
        ledger = con.execute(
            "SELECT source_path, sha256, size_bytes, mtime_ns, status, reason FROM ingest_ledger"
        ).pl()
        known = con.execute("SELECT content_hash, article_id, source_path FROM articles").pl()
        boilerplate = con.execute("SELECT * FROM boilerplate_lines").pl()
        bands = con.execute(
            "SELECT article_id, source_path, band_index, band_hash FROM article_minhash WHERE scheme = ?", [scheme]
        ).pl()
    finally:
        con.close()
    return Snapshot(
        ledger=ledger,
        known=known.cast(KNOWN_SCHEMA),  # type: ignore[arg-type]
        boilerplate=boilerplate,
        bands=bands.cast(BAND_SCHEMA),  # type: ignore[arg-type]
    )


@task(name="discover", cache_policy=NO_CACHE)
def discover_files(input_dir: Path, ledger: pl.DataFrame, config: PipelineConfig) -> Discovery:
    return discover(input_dir, ledger, config.discovery)


@task(name="read-parse", cache_policy=NO_CACHE)
def read_parse_task(input_dir: Path, candidates: pl.DataFrame, previous_sha: dict[str, str], config: PipelineConfig):
    return read_and_parse(input_dir, candidates, previous_sha, config)


@task(name="boilerplate", cache_policy=NO_CACHE)
def boilerplate_task(
    frame: pl.DataFrame, lines: pl.DataFrame, config: PipelineConfig
) -> tuple[pl.DataFrame, pl.DataFrame]:
    return strip_site_boilerplate(frame, lines, config)


def _stored_bodies(root: Path, staging: Path) -> FetchKeys:
    """Bodies of candidate articles by id: committed ones from the warehouse, this run's from staging."""

    def fetch(article_ids: list[str]) -> pl.DataFrame:
        staged = sorted(str(p) for p in (staging / "articles").glob("*.parquet"))
        con = store.open_reader(root)
        try:
            con.execute("CREATE TEMP TABLE wanted AS SELECT unnest(?::VARCHAR[]) AS article_id", [article_ids])
            sql = "SELECT article_id, body FROM articles WHERE article_id IN (SELECT article_id FROM wanted)"
            if staged:
                sql += (" UNION ALL SELECT article_id, body FROM read_parquet(?) "
                        "WHERE article_id IN (SELECT article_id FROM wanted)")
            return con.execute(sql, [staged] if staged else []).pl()
        finally:
            con.close()

    return fetch


@task(name="deduplicate", cache_policy=NO_CACHE)
def dedup_task(
    frame: pl.DataFrame, known: pl.DataFrame, bands: pl.DataFrame, config: PipelineConfig, fetch_keys: FetchKeys
) -> tuple[pl.DataFrame, pl.DataFrame]:
    return deduplicate(frame, known, bands, config, fetch_keys)


@task(name="enrich", cache_policy=NO_CACHE)
def enrich_task(frame: pl.DataFrame, config: PipelineConfig) -> tuple[pl.DataFrame, pl.DataFrame]:
    return enrich(frame, config)


@task(name="validate-stage", cache_policy=NO_CACHE)
def validate_stage_task(
    frame: pl.DataFrame, mentions: pl.DataFrame, bands: pl.DataFrame, config: PipelineConfig,
    run_id: str, ingested_at: datetime, staging: Path, batch_no: int,
) -> tuple[dict[str, int], pl.DataFrame, pl.DataFrame, pl.DataFrame, list[str]]:
    frame, mentions, results, blocking = validate(frame, mentions)
    frame = finish(frame)
    counts = {}
    if not blocking:
        counts = stage_batch(frame, mentions, bands, config.neardup.scheme, run_id, ingested_at, staging, batch_no)
    loaded = frame.filter(pl.col("status") == LOADED).select(list(KNOWN_SCHEMA))
    return counts, loaded, loaded_bands(frame, bands), results, blocking


@task(name="commit", cache_policy=NO_CACHE)
def commit_task(root: Path, staging: Path, run_row: dict, replaced: list[str]) -> dict[str, int]:
    con = store.open_writer(root)
    try:
        return store.commit_run(con, staging, run_row, replaced)
    finally:
        con.close()


@task(name="record-failure", cache_policy=NO_CACHE)
def record_failure_task(root: Path, staging: Path, run_row: dict) -> None:
    con = store.open_writer(root)
    try:
        store.record_failed_run(con, staging, run_row)
    finally:
        con.close()


@task(name="date-order", cache_policy=NO_CACHE)
def date_order_task(
    input_dir: Path, candidates: pl.DataFrame, previous_sha: dict[str, str], config: PipelineConfig
) -> pl.DataFrame:
    """Candidates sorted by ``(published_at nulls last, source_path)``, the order batches are cut in.

    Dates are known only after parsing, so this is a first pass that reads and parses batch by batch
    and keeps two columns per file (memory stays bounded). Processing a run in publication order makes
    the earliest article of a cluster canonical whether the corpus comes in one run or in date pieces.
    """
    dates = [pl.DataFrame(schema={"source_path": pl.String, "published_at": pl.Datetime("us", "UTC")})]
    for start in range(0, candidates.height, config.batch_size):
        frame, _, _ = read_and_parse(input_dir, candidates.slice(start, config.batch_size), previous_sha, config)
        dates.append(frame.select("source_path", "published_at"))
    first = pl.concat(dates, how="vertical_relaxed").group_by("source_path").agg(pl.col("published_at").min())
    return (
        candidates.join(first, on="source_path", how="left")
        .sort("published_at", "source_path", nulls_last=True)
        .drop("published_at")
    )


def _process_batches(
    input_dir: Path, root: Path, discovery: Discovery, snapshot: Snapshot, run_id: str, started: datetime,
    staging: Path, config: PipelineConfig,
) -> tuple[list[BatchResult], list[pl.DataFrame]]:
    previous_sha = {
        row[0]: row[1] for row in snapshot.ledger.select("source_path", "sha256").iter_rows() if row[1] is not None
    }
    # A changed file's own earlier article must not make its new version a duplicate of itself.
    known = snapshot.known.filter(~pl.col("source_path").is_in(discovery.changed_paths))
    bands = snapshot.bands.filter(~pl.col("source_path").is_in(discovery.changed_paths))
    fetch_keys = _stored_bodies(root, staging)
    progress.stage("ordering by date")
    candidates = date_order_task(input_dir, discovery.candidates, previous_sha, config)
    results: list[BatchResult] = []
    validations: list[pl.DataFrame] = []
    boilerplate = snapshot.boilerplate
    for batch_no, start in enumerate(range(0, candidates.height, config.batch_size)):
        batch = candidates.slice(start, config.batch_size)
        progress.stage(f"batch {batch_no + 1}: reading")
        frame, deferred, unchanged = read_parse_task(input_dir, batch, previous_sha, config)
        frame, boilerplate = boilerplate_task(frame, boilerplate, config)
        frame, batch_bands = dedup_task(frame, known, bands, config, fetch_keys)
        progress.stage(f"batch {batch_no + 1}: entities")
        frame, mentions = enrich_task(frame, config)
        progress.stage(f"batch {batch_no + 1}: validating")
        counts, loaded, kept_bands, validation, blocking = validate_stage_task(
            frame, mentions, batch_bands, config, run_id, started, staging, batch_no
        )
        validations.append(validation)
        crash_point("after-stage")
        processed = frame["source_path"].to_list()
        results.append(BatchResult(counts, loaded, validation, blocking, deferred, unchanged, processed))
        progress.advance(batch.height)
        if blocking:
            break
        known = pl.concat([known, loaded], how="vertical_relaxed")
        bands = pl.concat([bands, kept_bands], how="vertical_relaxed")
    if candidates.height and boilerplate.height:
        (staging / "boilerplate_lines").mkdir(exist_ok=True)
        boilerplate.write_parquet(staging / "boilerplate_lines" / "run.parquet")
    return results, validations


def _run_row(run_id: str, started: datetime, input_dir: Path, summary: dict) -> dict:
    return {
        "run_id": run_id, "started_at": started, "finished_at": datetime.now(UTC), "input_dir": str(input_dir),
        **{k: v for k, v in summary.items() if k not in ("run_id", "seconds")},
    }


@flow(name="akhbar-ingest", log_prints=False, validate_parameters=False)
def ingest(
    input_dir: str,
    warehouse_dir: str,
    batch_size: int = 1000,
    lock_timeout_s: float = 60.0,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> RunSummary:
    """Ingest every new or changed file under ``input_dir`` into the warehouse at ``warehouse_dir``."""
    logger = get_run_logger()
    clock = time.perf_counter()
    started = datetime.now(UTC)
    run_id = str(flow_run.id or uuid.uuid4())
    source, root = Path(input_dir).resolve(), Path(warehouse_dir).resolve()
    config = PipelineConfig(
        batch_size=batch_size,
        discovery=DiscoveryConfig(max_bytes=max_file_bytes),
        read=ReadConfig(max_bytes=max_file_bytes),
    )
    paths = store.WarehousePaths(root)
    with WriterLock(paths.lock, timeout_s=lock_timeout_s):
        store.clear_staging(paths)
        staging = paths.staging / run_id
        staging.mkdir(parents=True)
        summary: dict = {"run_id": run_id, "status": "failed", "reason": None, "input_dir": str(source)}
        validation = pl.DataFrame()
        try:
            snapshot = open_warehouse(root, config.neardup.scheme)
            crash_point("after-open")
            discovery = discover_files(source, snapshot.ledger, config)
            progress.begin(discovery.candidates.height)
            batches, validations = _process_batches(
                source, root, discovery, snapshot, run_id, started, staging, config
            )
            counts: dict[str, int] = {}
            for batch in batches:
                for key, value in batch.counts.items():
                    counts[key] = counts.get(key, 0) + value
            summary.update(
                files_seen=discovery.files_seen,
                files_unchanged=discovery.files_unchanged + sum(b.unchanged for b in batches),
                files_deferred=sum(len(b.deferred) for b in batches),
                files_loaded=counts.get(LOADED, 0),
                files_duplicate=counts.get(DUPLICATE, 0),
                files_quarantined=counts.get(QUARANTINED, 0),
                files_rejected=counts.get(REJECTED, 0),
                articles_loaded=counts.get("articles", 0),
                mentions_loaded=counts.get("mentions", 0),
            )
            validation = summarize_validation(validations)
            if validation.height:
                (staging / "validation_results").mkdir(exist_ok=True)
                validation.with_columns(pl.lit(run_id).alias("run_id")).write_parquet(
                    staging / "validation_results" / "run.parquet"
                )
            blocking = sorted({name for batch in batches for name in batch.blocking_failures})
            if blocking:
                summary["reason"] = "blocking validation failure: " + "; ".join(blocking)
                raise RunFailedError(summary["reason"])
            summary["status"] = "completed"
            summary["seconds"] = time.perf_counter() - clock
            # Only files whose bytes really changed replace their earlier rows; a touched file does not.
            changed = set(discovery.changed_paths)
            replaced = [path for batch in batches for path in batch.processed if path in changed]
            crash_point("before-commit")
            progress.stage("committing")
            commit_task(root, staging, _run_row(run_id, started, source, summary), replaced)
            crash_point("after-commit")
            publish_run(results.RunSummary(**_run_row(run_id, started, source, summary)),
                        validation, staging)  # artifacts and webhook; never raises
        except Exception as error:
            summary["status"] = "failed"
            summary["reason"] = summary["reason"] or f"{type(error).__name__}: {error}"
            try:
                record_failure_task(root, staging, _run_row(run_id, started, source, summary))
            except Exception as record_error:  # the original error matters more
                logger.error("could not record the failed run: %s", record_error)
            publish_run(results.RunSummary(**_run_row(run_id, started, source, summary)),
                        validation, staging)
            raise RunFailedError(summary["reason"]) from error
        finally:
            store.clear_staging(paths)
    summary["seconds"] = time.perf_counter() - clock
    fields = {name: summary.get(name, 0) for name in RunSummary.__dataclass_fields__}
    result = RunSummary(**fields)
    logger.info("run summary: %s", asdict(result))
    return result
