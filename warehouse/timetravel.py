"""`akhbar sql --as-of RUN_ID|TIMESTAMP`: which catalog snapshot shows the warehouse as it was then.

Every run's commit carries its run id as the snapshot's commit message (`store.commit_run`), so a run
id names the state right after that run; a timestamp names the last snapshot at or before it. Only
snapshots within the retention (`akhbar maintain`) are kept.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from warehouse.store import CATALOG_ALIAS, open_reader


class AsOfError(ValueError):
    """The --as-of value names no state the warehouse still keeps."""


def resolve_as_of(root: Path, as_of: str) -> int:
    """The snapshot id for ``as_of``: a run id of this warehouse, or a timestamp (ISO 8601)."""
    con = open_reader(root)
    try:
        if con.execute("SELECT count(*) FROM runs WHERE run_id = ?", [as_of]).fetchone()[0]:
            return _run_snapshot(con, as_of)
        moment = _timestamp(con, as_of)
        # Compared here, not in SQL: the SQLite catalog keeps times as text (see `warehouse.maintenance`).
        snapshots = con.execute(f"SELECT snapshot_id, snapshot_time FROM {CATALOG_ALIAS}.snapshots()").fetchall()
    finally:
        con.close()
    before = [snapshot_id for snapshot_id, taken in snapshots if taken <= moment]
    if not before:
        oldest = min(taken for _, taken in snapshots)
        raise AsOfError(f"{as_of} is before the oldest state the warehouse keeps ({oldest:%Y-%m-%d %H:%M:%S %Z}); "
                        "older snapshots have expired")
    return max(before)


def _run_snapshot(con: duckdb.DuckDBPyConnection, run_id: str) -> int:
    row = con.execute(
        f"SELECT max(snapshot_id) FROM {CATALOG_ALIAS}.snapshots() WHERE commit_message = ?", [run_id]
    ).fetchone()
    if row[0] is None:
        raise AsOfError(f"the state after run {run_id} is no longer kept (expired by maintenance, "
                        "or committed before run ids were recorded)")
    return int(row[0])


def _timestamp(con: duckdb.DuckDBPyConnection, text: str) -> dt.datetime:
    try:
        return con.execute("SELECT ?::TIMESTAMPTZ", [text]).fetchone()[0]
    except duckdb.ConversionException:
        raise AsOfError(f"--as-of {text!r} is neither a run id of this warehouse nor a timestamp") from None
