"""The warehouse read layer for ingest: the ledger, a run's `History`, and stored bodies.

Every query the ingest flow needs lives here, so the flow holds no SQL. Frames come back in their
`transforms.schema` declarations whether the warehouse is new or old, full or empty.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import duckdb
import polars as pl

from transforms.discover import Discovery
from transforms.pipeline import History
from transforms.schema import BANDS, BOILERPLATE_LINES, KNOWN_KEYS, LEDGER, Relation
from warehouse.staging import staged_files
from warehouse.store import WarehousePaths, open_reader, open_writer


@dataclass(frozen=True)
class Snapshot:
    """What a run starts from: the ledger (for discovery) and the history (for the batches), both
    searched in the warehouse rather than loaded."""

    ledger: StoredLedger
    history: History

    def history_for(self, discovery: Discovery) -> History:
        """The batches' history once the folder is discovered: the ledger's hashes of the changed files,
        and none of their stored articles (a changed file must not duplicate its own old version)."""
        return replace(self.history, previous_sha=dict(discovery.previous_sha)).without_articles_of(
            discovery.changed_paths
        )


def _select(
    con: duckdb.DuckDBPyConnection, names: list[str], sql_from: str, params: list | None = None
) -> pl.DataFrame:
    columns = ", ".join(f'"{c}"' for c in names)
    return con.execute(f"SELECT {columns} FROM {sql_from}", params or []).pl()


def open_snapshot(root: Path, scheme: str) -> Snapshot:
    """Create or upgrade the warehouse and drop what dead runs left; the ledger and history to search.

    Call only while holding the writer lock. ``scheme`` names the MinHash scheme whose stored band rows
    are comparable with this run's. Nothing of the history is loaded: discovery looks up the ledger
    rows of the paths it finds (`StoredLedger`), the batches what their keys match (`StoredHistory`),
    unless the warehouse holds no history yet.
    """
    con = open_writer(root)
    try:
        # A warehouse with no articles and no learned lines has nothing for a batch to match: its
        # batches skip the three lookups (a reader each, about a second per batch on a first run).
        holds_history = con.execute(
            "SELECT EXISTS (SELECT 1 FROM articles) OR EXISTS (SELECT 1 FROM boilerplate_lines)"
        ).fetchone()[0]
    finally:
        con.close()
    stored = StoredHistory(root, scheme) if holds_history else None
    history = History.of({}, KNOWN_KEYS.empty(), BANDS.empty(), BOILERPLATE_LINES.empty(), stored=stored)
    return Snapshot(StoredLedger(root), history)


def _matching(root: Path, relation: Relation, sql: str, keys: pl.DataFrame, excluded: Sequence[str] = (),
              params: list | None = None) -> pl.DataFrame:
    """``sql``'s rows in ``relation``'s schema, with ``keys`` as the table ``batch_keys`` and ``excluded``
    as ``excluded(source_path)``: a join in DuckDB, so only the matching rows come back."""
    if keys.height == 0 or not WarehousePaths(root).exists():
        return relation.empty()
    con = open_reader(root)
    try:
        con.register("batch_keys", keys.to_arrow())
        con.execute("CREATE TEMP TABLE excluded AS SELECT unnest(?::VARCHAR[]) AS source_path", [list(excluded)])
        return relation.conform(con.execute(sql, params or []).pl())
    finally:
        con.close()


@dataclass(frozen=True)
class StoredLedger:
    """The ledger of the warehouse at ``root``, searched with the paths a discovery found."""

    root: Path

    def __call__(self, paths: pl.Series) -> pl.DataFrame:
        columns = ", ".join(f'h."{c}"' for c in LEDGER.names)
        # The `ingest_ledger` view's latest row per file, for these paths only.
        return _matching(
            self.root, LEDGER,
            f"SELECT {columns} FROM ledger_history h JOIN (SELECT DISTINCT source_path FROM batch_keys) k "
            "USING (source_path) "
            "QUALIFY row_number() OVER (PARTITION BY h.source_path ORDER BY h.recorded_at DESC) = 1",
            pl.DataFrame({"source_path": paths.cast(pl.String)}),
        )


@dataclass(frozen=True)
class StoredHistory:
    """The committed history of the warehouse at ``root``, searched with a batch's keys: a temporary
    table of the keys joined with the stored rows in DuckDB, so only the matches come back.

    Why not load it at the start of a run: the ledger's keys, the content keys and 16 band keys per
    article grow with the archive, while a night adds a thousand articles. ``excluded`` are input
    files whose stored articles a run replaces. Picklable (paths and strings only).
    """

    root: Path
    scheme: str
    excluded: tuple[str, ...] = ()

    def _matching(self, relation: Relation, sql: str, keys: pl.DataFrame, params: list | None = None) -> pl.DataFrame:
        return _matching(self.root, relation, sql, keys, self.excluded, params)

    def known(self, content_hashes: pl.Series) -> pl.DataFrame:
        return self._matching(
            KNOWN_KEYS,
            "SELECT a.content_hash, a.article_id, a.source_path FROM articles a "
            "JOIN (SELECT DISTINCT content_hash FROM batch_keys) k USING (content_hash) "
            "WHERE a.source_path NOT IN (SELECT source_path FROM excluded)",
            pl.DataFrame({"content_hash": content_hashes.cast(pl.String)}),
        )

    def bands(self, keys: pl.DataFrame) -> pl.DataFrame:
        return self._matching(
            BANDS,
            "SELECT m.article_id, m.source_path, m.band_index, m.band_hash FROM article_minhash m "
            "JOIN (SELECT DISTINCT band_index, band_hash FROM batch_keys) k USING (band_index, band_hash) "
            "WHERE m.scheme = ? AND m.source_path NOT IN (SELECT source_path FROM excluded)",
            keys.select(pl.col("band_index").cast(pl.Int16), pl.col("band_hash").cast(pl.Int64)),
            [self.scheme],
        )

    def boilerplate(self, keys: pl.DataFrame) -> pl.DataFrame:
        columns = ", ".join(f'b."{c}"' for c in BOILERPLATE_LINES.names)
        return self._matching(
            BOILERPLATE_LINES,
            f"SELECT {columns} FROM boilerplate_lines b "
            "JOIN (SELECT DISTINCT publisher, line_key FROM batch_keys) k USING (publisher, line_key)",
            keys.select("publisher", "line_key"),
        )

    def excluding(self, paths: Sequence[str]) -> StoredHistory:
        return replace(self, excluded=tuple(sorted({*self.excluded, *paths})))


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
