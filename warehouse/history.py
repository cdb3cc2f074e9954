"""The warehouse read layer for ingest: the ledger, a run's `History`, and stored bodies.

Every query the ingest flow needs lives here, so the flow holds no SQL. Frames come back in their
`transforms.schema` declarations whether the warehouse is new or old, full or empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from transforms.pipeline import History
from transforms.schema import BANDS, BOILERPLATE_LINES, KNOWN_KEYS, LEDGER
from warehouse.staging import staged_files
from warehouse.store import WarehousePaths, open_reader, open_writer


@dataclass(frozen=True)
class Snapshot:
    """What a run starts from: the ledger (for discovery) and the history (for the batches)."""

    ledger: pl.DataFrame  # LEDGER
    history: History


def _select(
    con: duckdb.DuckDBPyConnection, names: list[str], sql_from: str, params: list | None = None
) -> pl.DataFrame:
    columns = ", ".join(f'"{c}"' for c in names)
    return con.execute(f"SELECT {columns} FROM {sql_from}", params or []).pl()


def open_snapshot(root: Path, scheme: str) -> Snapshot:
    """Create or upgrade the warehouse, drop what dead runs left, and read the ledger and the history.

    Call only while holding the writer lock. ``scheme`` names the MinHash scheme whose stored band rows
    are comparable with this run's.
    """
    con = open_writer(root)
    try:
        ledger = LEDGER.conform(_select(con, LEDGER.names, "ingest_ledger"))
        known = _select(con, KNOWN_KEYS.names, "articles")
        bands = _select(con, BANDS.names, "article_minhash WHERE scheme = ?", [scheme])
        boilerplate = _select(con, BOILERPLATE_LINES.names, "boilerplate_lines")
    finally:
        con.close()
    previous_sha = {
        path: sha for path, sha in ledger.select("source_path", "sha256").iter_rows() if sha is not None
    }
    return Snapshot(ledger, History.of(previous_sha, known, bands, boilerplate))


def read_ledger(root: Path) -> pl.DataFrame:
    """The ledger (LEDGER), read-only; an empty frame with its columns when there is no warehouse yet."""
    if not WarehousePaths(root).exists():
        return LEDGER.empty()
    con = open_reader(root)
    try:
        return LEDGER.conform(_select(con, LEDGER.names, "ingest_ledger"))
    finally:
        con.close()


@dataclass(frozen=True)
class StoredBodies:
    """``article_id`` and ``body`` of stored articles by id: committed ones from the warehouse at
    ``root``, the running run's from its ``staging`` folder. Picklable, so it travels with a batch."""

    root: Path
    staging: Path

    def __call__(self, article_ids: list[str]) -> pl.DataFrame:
        staged = staged_files(self.staging, "articles")
        wanted = "article_id IN (SELECT article_id FROM wanted)"
        if not WarehousePaths(self.root).exists():
            if not staged:
                return pl.DataFrame(schema={"article_id": pl.String, "body": pl.String})
            return pl.scan_parquet(staged).select("article_id", "body").filter(
                pl.col("article_id").is_in(article_ids)
            ).collect()
        con = open_reader(self.root)
        try:
            con.execute("CREATE TEMP TABLE wanted AS SELECT unnest(?::VARCHAR[]) AS article_id", [article_ids])
            sql = f"SELECT article_id, body FROM articles WHERE {wanted}"
            if staged:
                sql += f" UNION ALL SELECT article_id, body FROM read_parquet(?) WHERE {wanted}"
            return con.execute(sql, [staged] if staged else []).pl()
        finally:
            con.close()
