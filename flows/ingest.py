"""The ingest flow: one Prefect flow run per pass over the input folder.

Thin wiring only: one writer lock for the whole run, one task per stage or per batch (never per
article) around the Prefect-free batch core (`transforms.pipeline.run_pass`), and one warehouse
transaction at the end. Everything before that transaction writes only to the run's staging folder
(`warehouse.staging`), so a run that dies changes nothing the next run can see.

A batch's tagging runs in ``workers`` pieces, one task each, on the flow's process-pool task runner
(one process per core at most): the tagger is Python-heavy and holds the GIL, so threads do not use
a second core (measured on 1,000-article batches: 2.3x with two processes, 1.2x with two threads).
`ingest_flow` runs the pieces on an existing Dask cluster's workers instead.
"""

from __future__ import annotations

import gc
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, replace
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture
from prefect.runtime import flow_run
from prefect.task_runners import ProcessPoolTaskRunner
from prefect.utilities.annotations import quote

from expectations import runner as expectation_runner
from flows import progress
from flows.artifacts import publish_run
from flows.errors import BlockingValidationError, RunFailedError
from flows.results import RunSummary
from flows.workers import default_workers, exit_with_parent, release_freed_memory
from transforms.discover import Discovery, FolderFilter, LedgerLookup, discover
from transforms.neardup import FetchKeys
from transforms.pipeline import (
    BatchInput,
    BatchOutput,
    BatchTables,
    ChunkMap,
    DateOrder,
    History,
    PassResult,
    PassSteps,
    PipelineConfig,
    PreparedBatch,
    Progress,
    finish_batch,
    load_tagger,
    order_by_date,
    prepare_batch,
    run_pass,
    tag_batch,
)
from transforms.read import ReadConfig
from transforms.schema import RUNS
from warehouse import maintenance, store
from warehouse import staging as staged
from warehouse.faults import crash_point
from warehouse.history import Snapshot, StoredBodies, open_snapshot
from warehouse.lock import DEFAULT_TIMEOUT_S, run_lock

__all__ = ["BlockingValidationError", "RunFailedError", "ingest"]

DEFAULT_BATCH_SIZE = PipelineConfig().batch_size
DEFAULT_MAX_FILE_BYTES = ReadConfig().max_bytes


@cache
def _piece_task(function: Callable[[Any], Any]):
    def in_worker(item: Any) -> Any:
        exit_with_parent()  # a run killed with kill -9 leaves no worker behind
        return function(item)

    return task(in_worker, name=function.__name__.replace("_", "-"), cache_policy=NO_CACHE)


def _share_the_temporary_server() -> None:
    """Worker processes report to this run's server. Without a configured one that is Prefect's temporary
    server, started by this process, which they know nothing of: each would start one of its own (seconds,
    and a server per worker). The runner hands them this process's environment at its first submission."""
    from prefect.settings import PREFECT_API_URL

    if PREFECT_API_URL.value() or os.environ.get("PREFECT_API_URL"):
        return
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()  # one per process: the one this run's client started
    if server.server_process is not None:
        os.environ["PREFECT_API_URL"] = server.api_url


def task_map(function: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
    """The pass's map on the flow's task runner: one task per item, submitted together, results in order."""
    _share_the_temporary_server()
    piece = _piece_task(function)
    # Not `quote`d: a piece is a frame and a config, cheap for Prefect to search for futures, and Dask's
    # runner would ship the annotation itself (a tuple) instead of unwrapping it.
    futures = [piece.submit(item) for item in items]
    results = [future.result() for future in futures]
    _uncollected_pieces.set()  # the futures' cycles are garbage once this returns: see _steps' stage
    return results


# Set once pieces ran on the task runner since the last collection (small runs tag in process: no cycles).
_uncollected_pieces = threading.Event()


# A batch is cut into pieces only when it has ``min_piece_tokens`` words per worker; news files run
# at about 14 bytes per word (the corpus: 69 MB, 4.7M words, headers included): 8 is a safe floor.
_BYTES_PER_WORD_FLOOR = 8


def warm_up_validation() -> None:
    """Build Great Expectations (its import and suites, about 3.5 s of CPU) in a thread of this process
    now: for a run about to wait seconds for its temporary server (`flows.prefect_server`), on a core that
    would otherwise idle, so the first batch does not contend for it with the ordering pass."""
    threading.Thread(target=expectation_runner.warm_up, name="akhbar-gx-warm-up", daemon=True).start()


def _start_early(config: PipelineConfig, candidates: pl.DataFrame) -> list[PrefectFuture[None]]:
    """What the first batch would otherwise wait for, started while the ordering pass reads the folder:
    Great Expectations (`warm_up_validation`, unless the server wait started it already), and,
    when the candidates hold enough text for a batch to be cut into pieces, the task runner's worker
    processes, each loading its tagger.

    A smaller run starts no process: its batches are tagged here (``min_piece_tokens``).
    """
    if not candidates.height:
        return []
    warm_up_validation()  # a second call finds the first's work done
    text_bytes = int(candidates["size_bytes"].fill_null(0).sum())
    if config.workers < 2 or text_bytes < config.workers * config.min_piece_tokens * _BYTES_PER_WORD_FLOOR:
        return []
    _share_the_temporary_server()
    start = _piece_task(load_tagger)
    return [start.submit(worker) for worker in range(config.workers)]


@task(name="open-warehouse", cache_policy=NO_CACHE)
def open_warehouse_task(root: Path, scheme: str) -> Snapshot:
    """Create/upgrade the warehouse, drop what dead runs left; the ledger and history to search."""
    return open_snapshot(root, scheme)


@task(name="discover", cache_policy=NO_CACHE)
def discover_task(input_dir: Path, ledger: LedgerLookup, folder_filter: FolderFilter) -> Discovery:
    return discover(input_dir, ledger, folder_filter)


@task(name="date-order", cache_policy=NO_CACHE)
def date_order_task(
    input_dir: Path, candidates: pl.DataFrame, previous_sha: Mapping[str, str], config: PipelineConfig, spill: Path
) -> DateOrder:
    return order_by_date(input_dir, candidates, previous_sha, config, spill)


@task(name="prepare-batch", cache_policy=NO_CACHE)
def prepare_task(
    batch: BatchInput, history: History, config: PipelineConfig, bodies: FetchKeys | None,
    report: Progress | None,
) -> PreparedBatch:
    return prepare_batch(batch, history, config, bodies, report)


@task(name="tag-batch", cache_policy=NO_CACHE)
def tag_task(
    prepared: PreparedBatch, config: PipelineConfig, pieces: ChunkMap, report: Progress | None,
) -> pl.DataFrame:
    return tag_batch(prepared, config, pieces, report)


@task(name="finish-batch", cache_policy=NO_CACHE)
def finish_task(
    prepared: PreparedBatch, mentions: pl.DataFrame, config: PipelineConfig, report: Progress | None,
) -> BatchOutput:
    return finish_batch(prepared, mentions, config, report)


@task(name="stage", cache_policy=NO_CACHE)
def stage_task(staging: Path, tables: BatchTables, batch_no: int) -> None:
    staged.write_batch(staging, tables, batch_no)


@task(name="commit", cache_policy=NO_CACHE)
def commit_task(root: Path, staging: Path, run_row: dict[str, Any], replaced: list[str]) -> dict[str, int]:
    con = store.open_writer(root)
    try:
        return store.commit_run(con, staging, run_row, replaced)
    finally:
        con.close()


@task(name="record-failure", cache_policy=NO_CACHE)
def record_failure_task(root: Path, staging: Path, run_row: dict[str, Any]) -> None:
    con = store.open_writer(root)
    try:
        store.record_failed_run(con, staging, run_row)
    finally:
        con.close()


@task(name="maintain", cache_policy=NO_CACHE)
def maintain_task(root: Path, lock_timeout_s: float) -> None:
    """The daily maintenance pass, when due; its failure is logged, never the run's."""
    logger = get_run_logger()
    if not maintenance.is_due(root):
        return
    try:
        summary = maintenance.maintain(root, lock_timeout_s=lock_timeout_s, report=logger.info)
    except Exception as error:
        logger.error("maintenance failed (the run's commit stands): %s: %s", type(error).__name__, error)
        return
    logger.info("%s", summary.text())


def _steps(staging: Path) -> PassSteps:
    # `quote`: Prefect would otherwise visit every entry of the ledger's hashes (previous_sha, also inside
    # History) looking for futures, seconds of CPU per task call on a large warehouse; the tasks get the
    # values themselves.
    def order(
        input_dir: Path, candidates: pl.DataFrame, previous_sha: Mapping[str, str], config: PipelineConfig,
        spill: Path,
    ) -> DateOrder:
        return date_order_task(input_dir, candidates, quote(previous_sha), config, spill)

    def prepare(
        batch: BatchInput, history: History, config: PipelineConfig, bodies: FetchKeys | None,
        report: Progress | None,
    ) -> PreparedBatch:
        return prepare_task(quote(batch), quote(history), config, bodies, report)

    def tag(prepared: PreparedBatch, config: PipelineConfig, pieces: ChunkMap, report: Progress | None) -> pl.DataFrame:
        return tag_task(quote(prepared), config, pieces, report)

    def finish(
        prepared: PreparedBatch, mentions: pl.DataFrame, config: PipelineConfig, report: Progress | None,
    ) -> BatchOutput:
        return finish_task(quote(prepared), mentions, config, report)

    def stage(output: BatchOutput, batch_no: int) -> None:
        stage_task(staging, output.tables, batch_no)
        crash_point("after-stage")
        # A piece's future on the process-pool runner and its done-callbacks form a reference cycle that
        # holds the piece's result (the tagged tokens). Only a full collection frees such cycles, and polars
        # frames count as one small object each, so Python's own collections came too seldom: on the corpus
        # the run's process grew to 1.8 GB with earlier batches' results. One full collection per batch
        # (about 0.4 s) keeps it near 1 GB; a batch tagged in this process made no such cycle.
        if _uncollected_pieces.is_set():
            _uncollected_pieces.clear()
            gc.collect()

    return PassSteps(stage=stage, order=order, prepare=prepare, tag=tag, finish=finish, map=task_map)


def _counted(summary: RunSummary, discovery: Discovery, result: PassResult) -> RunSummary:
    return replace(
        summary,
        files_seen=discovery.files_seen,
        files_unchanged=discovery.files_unchanged + result.unchanged,
        files_deferred=result.deferred,
        files_ignored=discovery.files_ignored,
        files_loaded=result.counts.loaded,
        files_duplicate=result.counts.duplicate,
        files_quarantined=result.counts.quarantined,
        files_rejected=result.counts.rejected,
        articles_loaded=result.counts.articles,
        mentions_loaded=result.counts.mentions,
    )


_COUNTS = tuple(name for name in RUNS.names if name.startswith("files_") or name.endswith("_loaded"))


def _run_row(summary: RunSummary, counted: bool) -> dict[str, Any]:
    """The `runs` row: the summary less its wall time, finished now; counts stay null if never counted."""
    row = asdict(summary)
    row.pop("seconds")
    if not counted:
        for name in _COUNTS:
            row.pop(name)
    row["finished_at"] = datetime.now(UTC)
    return row


# Processes start on a piece's first submission, so a run with one worker (or small batches) starts none.
@flow(name="akhbar-ingest", log_prints=False, validate_parameters=False,
      task_runner=ProcessPoolTaskRunner(max_workers=default_workers()))
def ingest(
    input_dir: str,
    warehouse_dir: str,
    batch_size: int = DEFAULT_BATCH_SIZE,
    lock_timeout_s: float = DEFAULT_TIMEOUT_S,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    include: list[str] | None = None,
    exclude: list[str] | None = None,
    maintain: bool = True,
    workers: int | None = None,
) -> RunSummary:
    """Ingest every new or changed file under ``input_dir`` into the warehouse at ``warehouse_dir``.

    ``include``/``exclude``: gitignore-syntax patterns (``transforms.discover.FolderFilter``).
    A completed run then maintains the warehouse when that is due (`warehouse.maintenance`), after
    releasing the writer lock, unless ``maintain`` is off. ``workers``: pieces each batch's tagging
    is cut into (default: every core), each run by one of the task runner's processes (at most one
    per core).
    """
    logger = get_run_logger()
    clock = time.perf_counter()
    started = datetime.now(UTC)
    run_id = str(flow_run.id or uuid.uuid4())
    source, root = Path(input_dir).resolve(), Path(warehouse_dir).resolve()
    config = PipelineConfig(batch_size=batch_size, read=ReadConfig(max_bytes=max_file_bytes),
                            workers=workers or default_workers())
    paths = store.WarehousePaths(root)
    summary = RunSummary(run_id=run_id, status="failed", reason=None, input_dir=str(source), started_at=started,
                         finished_at=started)
    with run_lock(paths.lock, paths.catalog_url, timeout_s=lock_timeout_s):
        store.clear_staging(paths)
        staging = paths.staging / run_id
        staging.mkdir(parents=True)
        validation = pl.DataFrame()
        counted = False
        try:
            snapshot = open_warehouse_task(root, config.neardup.scheme)
            crash_point("after-open")
            folder_filter = FolderFilter(include=tuple(include or ()), exclude=tuple(exclude or ()))
            discovery = discover_task(source, snapshot.ledger, folder_filter)
            progress.begin(discovery.candidates.height)
            history = snapshot.history_for(discovery)
            starting = _start_early(config, discovery.candidates)
            try:
                result = run_pass(
                    source, discovery.candidates, history, config, run_id, started, _steps(staging),
                    bodies=StoredBodies(root, staging), progress=progress, spill=staged.first_reads_dir(staging),
                )
            finally:
                for future in starting:  # long done: the pieces queued behind them
                    future.wait()
            summary, counted = _counted(summary, discovery, result), True
            validation = result.validation
            staged.write_validation(staging, run_id, validation)
            if discovery.candidates.height:
                staged.write_boilerplate(staging, result.boilerplate)
            if result.blocking_failures:
                summary = replace(
                    summary, reason="blocking validation failure: " + "; ".join(result.blocking_failures)
                )
                raise BlockingValidationError(summary.reason)
            summary = replace(summary, status="completed", seconds=time.perf_counter() - clock)
            # Only files whose bytes really changed replace their earlier rows; a touched file does not.
            changed = set(discovery.changed_paths)
            replaced = [path for path in result.processed if path in changed]
            crash_point("before-commit")
            progress.stage("committing")
            row = _run_row(summary, counted)
            commit_task(root, staging, row, replaced)
            summary = replace(summary, finished_at=row["finished_at"])
            crash_point("after-commit")
            publish_run(summary, validation, staging, root)  # artifacts, event and webhook; never raises
        except Exception as error:
            summary = replace(summary, status="failed", reason=summary.reason or f"{type(error).__name__}: {error}")
            row = _run_row(summary, counted)
            summary = replace(summary, finished_at=row["finished_at"])
            try:
                record_failure_task(root, staging, row)
            except Exception as record_error:  # the original error matters more
                logger.error("could not record the failed run: %s", record_error)
            publish_run(summary, validation, staging, root)
            if isinstance(error, RunFailedError):
                raise
            raise RunFailedError(summary.reason) from error
        finally:
            store.clear_staging(paths)
            release_freed_memory()  # kept for reuse during the run (`keep_freed_memory`), not after it
    if maintain:
        maintain_task(root, lock_timeout_s)
    summary = replace(summary, seconds=time.perf_counter() - clock)
    logger.info("run summary: %s", asdict(summary))
    return summary



def ingest_flow(dask_address: str | None = None):  # -> the flow, typed by Prefect
    """The ingest flow; with ``dask_address`` (``tcp://HOST:PORT``) its tagging pieces run on that Dask
    cluster's workers, through prefect-dask's ``DaskTaskRunner``.

    Only the pieces travel (sentences in, tags out), so workers need the project installed and
    ``PREFECT_API_URL``, never the input folder or the warehouse. A worker lost mid-piece has its piece
    rerun by Dask on another worker; with none left the run fails, and nothing was committed.
    """
    if not dask_address:
        return ingest
    from prefect_dask import DaskTaskRunner

    return ingest.with_options(task_runner=DaskTaskRunner(address=dask_address))
