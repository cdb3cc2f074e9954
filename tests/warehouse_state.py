"""Helpers for end-to-end tests: run the flow or the batch core in process, read and compare warehouses."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from transforms.discover import discover
from transforms.pipeline import ChunkMap, PassResult, PassSteps, PipelineConfig, run_pass, serial_map
from warehouse import staging as staged
from warehouse.history import StoredBodies, open_snapshot
from warehouse.lock import run_lock
from warehouse.store import CATALOG_ALIAS, WarehousePaths, clear_staging, commit_run, open_reader, open_writer

REPO = Path(__file__).resolve().parents[1]

# Columns that differ between two equivalent runs by construction: run ids, clocks, and the mtime
# of input files (two copies of one input folder are written at different times).
RUN_SPECIFIC = {"run_id", "ingested_at", "recorded_at", "started_at", "finished_at", "mtime_ns"}
DATA_RELATIONS = (
    "articles", "entity_mentions", "entities", "duplicates", "ingest_ledger", "quarantine", "story_ledger",
)


def query(root: Path, sql: str) -> pl.DataFrame:
    con = open_reader(root)
    try:
        return con.execute(sql).pl()
    finally:
        con.close()


def state(root: Path) -> dict[str, list[tuple]]:
    """Every data relation as sorted rows, without run-specific columns."""
    con = open_reader(root)
    try:
        result = {}
        for relation in DATA_RELATIONS:
            frame = con.execute(f"SELECT * FROM {relation}").pl()
            frame = frame.drop([c for c in frame.columns if c in RUN_SPECIFIC])
            result[relation] = sorted(frame.rows(), key=repr)
        return result
    finally:
        con.close()


def unreferenced_files(root: Path) -> set[str]:
    """Parquet files on disk that no committed snapshot references (leftovers of dead runs)."""
    con = open_reader(root)
    try:
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = ? AND table_type = 'BASE TABLE'",
            [CATALOG_ALIAS],
        ).fetchall()]
        referenced: set[str] = set()
        for table in tables:
            rows = con.execute(f"SELECT data_file FROM ducklake_list_files('{CATALOG_ALIAS}', '{table}')").fetchall()
            referenced.update(str(Path(r[0]).resolve()) for r in rows)
    finally:
        con.close()
    on_disk = {str(p.resolve()) for p in WarehousePaths(root).data.rglob("*.parquet")}
    return on_disk - referenced


def run_cli(args: list[str], api_url: str, extra_env: dict[str, str] | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "PREFECT_API_URL": api_url, **(extra_env or {})}
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", *args], cwd=REPO, env=env, capture_output=True, text=True,
        timeout=timeout, stdin=subprocess.DEVNULL,
    )


def start_cli(args: list[str], api_url: str, extra_env: dict[str, str] | None = None) -> subprocess.Popen:
    env = {**os.environ, "PREFECT_API_URL": api_url, **(extra_env or {})}
    return subprocess.Popen(
        [sys.executable, "-m", "flows.cli", *args], cwd=REPO, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
    )


def ingest_in_process(
    input_dir: Path, root: Path, config: PipelineConfig | None = None, map: ChunkMap = serial_map
) -> PassResult:
    """One ingest pass without Prefect: the flow's wiring around the same batch core, with its plain steps
    (and ``map`` for the pieces of tagging)."""
    config = config or PipelineConfig()
    run_id = uuid.uuid4().hex
    started = datetime.now(UTC)
    paths = WarehousePaths(root)
    staging = paths.staging / run_id
    with run_lock(paths.lock, paths.catalog_url):
        clear_staging(paths)
        staging.mkdir(parents=True)
        try:
            snapshot = open_snapshot(root, config.neardup.scheme)
            discovery = discover(input_dir, snapshot.ledger)
            steps = PassSteps(stage=lambda output, batch_no: staged.write_batch(staging, output.tables, batch_no),
                              map=map)
            result = run_pass(
                input_dir, discovery.candidates, snapshot.history_for(discovery),
                config, run_id, started, steps, bodies=StoredBodies(root, staging),
                spill=staged.first_reads_dir(staging),
            )
            if result.blocking_failures:
                raise AssertionError(f"blocking validation failure: {result.blocking_failures}")
            staged.write_validation(staging, run_id, result.validation)
            if discovery.candidates.height:
                staged.write_boilerplate(staging, result.boilerplate)
            row = {
                "run_id": run_id, "started_at": started, "finished_at": datetime.now(UTC), "status": "completed",
                "input_dir": str(input_dir), "files_seen": discovery.files_seen,
                "files_unchanged": discovery.files_unchanged + result.unchanged, "files_deferred": result.deferred,
                "files_ignored": discovery.files_ignored,
                **{f"files_{name}": getattr(result.counts, name)
                   for name in ("loaded", "duplicate", "quarantined", "rejected")},
                "articles_loaded": result.counts.articles, "mentions_loaded": result.counts.mentions,
            }
            replaced = [path for path in result.processed if path in set(discovery.changed_paths)]
            con = open_writer(root)
            try:
                commit_run(con, staging, row, replaced)
            finally:
                con.close()
        finally:
            clear_staging(paths)
    return result
