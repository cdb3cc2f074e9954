"""Warehouse maintenance: merge small files, expire old snapshots, delete files nothing needs.

Why: every run adds a few small Parquet files and a snapshot, so after months of nights analysts
would scan thousands of files. DuckLake's merge
keeps time travel (a merged file remembers which snapshot added each row), so the merged-away files
are unreferenced at once; they are deleted only after a grace period, because a reader that
attached before the merge may still be scanning them. Snapshots older than the retention are
expired: `akhbar sql --as-of` cannot go further back.

Every step is its own catalog transaction and files are deleted only after the catalog forgot
them, so a pass killed at any point leaves a warehouse that reads the same; the next pass finishes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb

from warehouse.faults import crash_point
from warehouse.lock import DEFAULT_TIMEOUT_S, run_lock
from warehouse.store import (
    CATALOG_ALIAS,
    WarehouseMissingError,
    WarehousePaths,
    open_reader,
    open_writer,
    set_commit_message,
)

DEFAULT_RETAIN_DAYS = 30
DEFAULT_GRACE = dt.timedelta(hours=1)  # no reader query runs longer than this
DEFAULT_INTERVAL = dt.timedelta(days=1)  # a completed run maintains when the last pass is this old
# Files this large are never merged again: merging rewrites its inputs, and the rewritten ones stay on
# disk through the grace period, so without a bound every night would rewrite (and keep twice) the
# whole of every table. A year of nights gives tables of a few 1-2 MiB files each.
MERGE_MAX_FILE_BYTES = 2**20
# A file with deleted rows is never merged; it is rewritten once this share of its rows is deleted.
# Runs delete only the rows of input files that changed (no table is rewritten every night any more,
# migration 4), so few files qualify; rewriting sooner would keep more old copies within the retention.
REWRITE_DELETED_SHARE = 0.5
# The retention and the grace live in the warehouse, as DuckLake's own options.
RETAIN_OPTION = "expire_older_than"
GRACE_OPTION = "delete_older_than"
CRASH_POINTS = ("maintain-after-merge", "maintain-after-expire", "maintain-after-cleanup")

Report = Callable[[str], None]


@dataclass(frozen=True)
class MaintenanceSummary:
    """One pass, as recorded in the `maintenance` relation."""

    started_at: dt.datetime
    finished_at: dt.datetime
    retain_days: int
    files_before: int
    files_after: int
    bytes_before: int
    bytes_after: int
    files_merged: int
    snapshots_before: int
    snapshots_expired: int
    files_deleted: int

    def text(self) -> str:
        seconds = (self.finished_at - self.started_at).total_seconds()
        return (
            f"akhbar maintain done in {seconds:.1f} s\n"
            f"  files:     {self.files_before} -> {self.files_after} "
            f"({_mib(self.bytes_before)} -> {_mib(self.bytes_after)}); "
            f"{self.files_merged} merged, {self.files_deleted} deleted\n"
            f"  snapshots: {self.snapshots_before} -> {self.snapshots_before - self.snapshots_expired} "
            f"({self.snapshots_expired} older than {self.retain_days} days expired)"
        )


def _mib(size: int) -> str:
    return f"{size / 2**20:.2f} MiB"


def data_files(paths: WarehousePaths, con: duckdb.DuckDBPyConnection | None = None) -> tuple[int, int]:
    """(count, bytes) of the Parquet files in the warehouse's data folder; in object storage, listed
    through ``con`` (a connection of the warehouse: it holds the storage's secret)."""
    if paths.remote_data:
        if con is None:
            raise ValueError("listing object storage needs a connection of the warehouse")
        count, size = con.execute(
            "SELECT count(*), coalesce(sum(size), 0) FROM read_blob(?)", [f"{paths.data_location}/**/*.parquet"]
        ).fetchone()
        return int(count), int(size)
    files = [p for p in paths.data.rglob("*.parquet") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def _option(con: duckdb.DuckDBPyConnection, name: str) -> dt.timedelta | None:
    row = con.execute(
        f"SELECT value::INTERVAL FROM ducklake_options('{CATALOG_ALIAS}') WHERE option_name = ?", [name]
    ).fetchone()
    return row[0] if row and row[0] is not None else None


def retention(con: duckdb.DuckDBPyConnection) -> dt.timedelta:
    stored = _option(con, RETAIN_OPTION)
    return dt.timedelta(days=DEFAULT_RETAIN_DAYS) if stored is None else stored


def set_retention(con: duckdb.DuckDBPyConnection, days: int) -> None:
    con.execute(f"CALL {CATALOG_ALIAS}.set_option('{RETAIN_OPTION}', '{int(days)} days')")


def maintain(
    root: Path,
    retain_days: int | None = None,
    now: dt.datetime | None = None,
    lock_timeout_s: float = DEFAULT_TIMEOUT_S,
    report: Report = lambda line: None,
) -> MaintenanceSummary:
    """One maintenance pass under the writer lock. ``retain_days``, when given, becomes the warehouse's
    retention from now on. ``now`` is the pass's clock (tests and the benchmark simulate days)."""
    paths = WarehousePaths(root)
    if not paths.exists():
        raise WarehouseMissingError(f"no warehouse at {root} (run `akhbar run` first)")
    if retain_days is not None and retain_days < 0:
        raise ValueError(f"--retain-days must be 0 or more, not {retain_days}")
    started = dt.datetime.now(dt.UTC)
    now = now or started
    with run_lock(paths.lock, paths.catalog_url, timeout_s=lock_timeout_s):
        con = open_writer(root)
        try:
            con.execute("SET enable_progress_bar = false")  # the pass prints its own lines
            if retain_days is not None:
                set_retention(con, retain_days)
            retain = retention(con)
            grace = _option(con, GRACE_OPTION)
            grace = DEFAULT_GRACE if grace is None else grace
            files_before, bytes_before = data_files(paths, con)
            snapshots_before = _snapshot_count(con)
            report(f"merging adjacent files ({files_before} files, {_mib(bytes_before)})")
            con.execute("BEGIN")
            # Files with many deleted rows (the articles of changed input files) are rewritten first:
            # a file with deletes is never merged.
            con.execute(
                f"CALL ducklake_rewrite_data_files('{CATALOG_ALIAS}', delete_threshold => {REWRITE_DELETED_SHARE})"
            )
            merged = con.execute(
                f"CALL ducklake_merge_adjacent_files('{CATALOG_ALIAS}', max_file_size => {MERGE_MAX_FILE_BYTES})"
            ).fetchall()
            set_commit_message(con, "maintenance: merge")
            con.execute("COMMIT")
            crash_point("maintain-after-merge")
            report(f"expiring snapshots older than {retain.days} days ({snapshots_before} snapshots)")
            expired = _expire(con, now - retain)
            crash_point("maintain-after-expire")
            report(f"deleting files unreferenced for more than {_hours(grace)}, since an earlier day")
            deleted = con.execute(
                f"CALL ducklake_cleanup_old_files('{CATALOG_ALIAS}', older_than => ?::TIMESTAMPTZ)",
                [_whole_days_before(now - grace)],
            ).fetchall()
            crash_point("maintain-after-cleanup")
            files_after, bytes_after = data_files(paths, con)
            summary = MaintenanceSummary(
                started_at=started, finished_at=dt.datetime.now(dt.UTC), retain_days=retain.days,
                files_before=files_before, files_after=files_after, bytes_before=bytes_before,
                bytes_after=bytes_after, files_merged=sum(int(row[2]) for row in merged),
                snapshots_before=snapshots_before, snapshots_expired=len(expired), files_deleted=len(deleted),
            )
            _record(con, summary, now)
        finally:
            con.close()
    return summary


def _expire(con: duckdb.DuckDBPyConnection, cutoff: dt.datetime) -> list[int]:
    """Expire the snapshots taken before ``cutoff`` (never the current one); their ids.

    The versions are chosen here, not with ``older_than``: the SQLite catalog keeps times as text and
    DuckLake compares them as text, which orders two times of the same day wrongly.
    """
    snapshots = con.execute(f"SELECT snapshot_id, snapshot_time FROM {CATALOG_ALIAS}.snapshots()").fetchall()
    current = max(snapshot_id for snapshot_id, _ in snapshots)
    versions = sorted(snapshot_id for snapshot_id, taken in snapshots if taken < cutoff and snapshot_id != current)
    if versions:  # an empty list is a syntax error inside DuckLake
        con.execute(f"CALL ducklake_expire_snapshots('{CATALOG_ALIAS}', versions => {versions})")
    return versions


def _whole_days_before(cutoff: dt.datetime) -> dt.datetime:
    """The last instant of the UTC day before ``cutoff``'s: DuckLake compares the text times of the SQLite
    catalog correctly only across days (see `_expire`), so files are deleted once unreferenced since
    before the UTC day of ``cutoff``: never sooner than the grace period, at most a day later."""
    day = cutoff.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day - dt.timedelta(microseconds=1)


def _hours(span: dt.timedelta) -> str:
    return f"{span.total_seconds() / 3600:g} h"


def _snapshot_count(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute(f"SELECT count(*) FROM {CATALOG_ALIAS}.snapshots()").fetchone()[0]


def _record(con: duckdb.DuckDBPyConnection, summary: MaintenanceSummary, now: dt.datetime) -> None:
    row = asdict(summary)
    # The pass is dated by its clock, so a simulated day is due by the simulated clock too.
    shift = now - summary.started_at
    row["started_at"], row["finished_at"] = now, summary.finished_at + shift
    columns = ", ".join(f'"{c}"' for c in row)
    con.execute("BEGIN")
    con.execute(f"INSERT INTO maintenance ({columns}) VALUES ({', '.join('?' for _ in row)})", list(row.values()))
    set_commit_message(con, "maintenance")
    con.execute("COMMIT")


def is_due(root: Path, now: dt.datetime | None = None, interval: dt.timedelta = DEFAULT_INTERVAL) -> bool:
    """Whether the last pass (or, before any, the warehouse's first snapshot) is at least ``interval`` old."""
    now = now or dt.datetime.now(dt.UTC)
    try:
        con = open_reader(root)
    except WarehouseMissingError:
        return False
    try:
        last = con.execute("SELECT max(started_at) FROM maintenance").fetchone()[0]
        if last is None:
            # Compared here, not in SQL: the SQLite catalog keeps times as text (see `_expire`).
            times = con.execute(f"SELECT snapshot_time FROM {CATALOG_ALIAS}.snapshots()").fetchall()
            last = min(row[0] for row in times)
    except duckdb.CatalogException:  # not yet migrated: the next writer start adds `maintenance`
        return False
    finally:
        con.close()
    return now - last >= interval
