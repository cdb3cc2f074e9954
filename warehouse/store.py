"""The DuckLake warehouse: Parquet data files plus a SQLite catalog, in one folder (or a PostgreSQL
catalog shared by several machines, `warehouse.catalog`).

Why this layout: DuckLake commits a whole run (every table) in one catalog transaction, so a
run that dies leaves the warehouse as it was; the SQLite catalog lets readers attach while the
single writer works (a DuckDB-file catalog would lock them out). Extensions load from the
PyPI packages ``duckdb-extension-*``, never from the network.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import duckdb
import duckdb_extension_ducklake
import duckdb_extension_httpfs
import duckdb_extension_postgres_scanner
import duckdb_extension_sqlite_scanner

from transforms.schema import SCHEMA_DERIVED, SCHEMA_MIGRATIONS
from warehouse.catalog import (
    SQLITE_CATALOG,
    CatalogSettings,
    is_object_store,
    postgres_catalog_exists,
    read_settings,
    s3_secret_sql,
)
from warehouse.ddl import create_table, derived_statements, sql_literal
from warehouse.faults import crash_point
from warehouse.migrations import pending
from warehouse.staging import STAGED_TABLES, VERSIONED_TABLES, staged_files

CATALOG_ALIAS = "wh"
COMMIT_AUTHOR = "akhbar"


class WarehouseMissingError(RuntimeError):
    """Raised when a reader opens a folder that holds no warehouse yet."""


@dataclass(frozen=True)
class WarehousePaths:
    """Where the warehouse of the folder ``root`` keeps its parts (``warehouse.catalog`` says why)."""

    root: Path

    @cached_property
    def settings(self) -> CatalogSettings:
        """The folder's binding, read once per instance (every property below needs it)."""
        return read_settings(self.root)

    @property
    def catalog(self) -> Path:
        """The SQLite catalog file (a folder bound to a PostgreSQL catalog has none)."""
        return self.root / SQLITE_CATALOG

    @property
    def catalog_url(self) -> str | None:
        """The PostgreSQL catalog the folder is bound to, or None for its own SQLite file."""
        return self.settings.catalog

    @property
    def data_location(self) -> str:
        """Where the Parquet files are: a local folder, or ``s3://bucket/prefix``."""
        return self.settings.data_path or str(self.root / "data")

    @property
    def remote_data(self) -> bool:
        return is_object_store(self.data_location)

    @property
    def data(self) -> Path:
        """The local folder of the Parquet files (object storage has none)."""
        if self.remote_data:
            raise ValueError(f"the data of {self.root} is in object storage ({self.data_location}), not a folder")
        return Path(self.data_location)

    @property
    def staging(self) -> Path:
        return self.root / "staging"

    @property
    def lock(self) -> Path:
        return self.root / ".writer.lock"

    def exists(self) -> bool:
        """Whether a writer has created the warehouse yet."""
        url = self.catalog_url
        return self.catalog.exists() if url is None else postgres_catalog_exists(url)


@cache
def _extension_file(module_path: str, name: str) -> str:
    found = sorted(Path(module_path).rglob(f"{name}.duckdb_extension"))
    if not found:
        raise RuntimeError(f"DuckDB extension {name!r} is missing from {module_path}; reinstall the venv")
    return str(found[-1])


def extension_files(paths: WarehousePaths) -> list[str]:
    """The extension files of the installed packages the warehouse at ``paths`` needs, in the order they
    must load (absolute paths): the PostgreSQL scanner only for a PostgreSQL catalog, httpfs only for
    data in object storage."""
    files = [
        _extension_file(duckdb_extension_postgres_scanner.__path__[0], "postgres_scanner") if paths.catalog_url
        else _extension_file(duckdb_extension_sqlite_scanner.__path__[0], "sqlite_scanner"),
        _extension_file(duckdb_extension_ducklake.__path__[0], "ducklake"),
    ]
    if paths.remote_data:
        files.append(_extension_file(duckdb_extension_httpfs.__path__[0], "httpfs"))
    return files


def setup_statements(paths: WarehousePaths) -> list[str]:
    """What a connection runs before the ATTACH: the extensions' LOADs and, for object storage, its secret."""
    statements = [f"LOAD {sql_literal(path)}" for path in extension_files(paths)]
    if paths.remote_data:
        statements.append(s3_secret_sql())
    return statements


def _bare_connection(paths: WarehousePaths) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the warehouse's extensions loaded from their installed packages.

    DuckDB checks an extension's signature on every LOAD, hashing its 35 MB file: about 0.3 s per
    extension and connection, the larger part of opening a reader. The files loaded here are the
    ones uv installed from ``uv.lock`` (whose sha256 it checked), by absolute path, so the check is
    skipped (``allow_unsigned_extensions``); nothing is ever installed or loaded from the network.
    """
    con = duckdb.connect(
        config={
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "allow_unsigned_extensions": True,
        }
    )
    for statement in setup_statements(paths):
        con.execute(statement)
    return con


def attach_statement(paths: WarehousePaths, options: str = "") -> str:
    """The ATTACH of the warehouse with its data path as the folder it is in now; ``options`` are
    more ATTACH options, each with its leading comma.

    The catalog remembers the absolute data path it was created with; passing this folder's ``data/``
    with OVERRIDE_DATA_PATH on every attach, reader and writer (and `akhbar attach`), is what lets a
    moved or copied warehouse read and write where it is, never at its old place (the file paths
    inside the catalog are relative to the data path).
    """
    url = paths.catalog_url
    metadata = f"ducklake:sqlite:{paths.catalog}" if url is None else f"ducklake:postgres:{url}"
    return (
        f"ATTACH {sql_literal(metadata)} AS {CATALOG_ALIAS} "
        f"(DATA_PATH {sql_literal(f'{paths.data_location}/')}, OVERRIDE_DATA_PATH true{options})"
    )


def _attach(con: duckdb.DuckDBPyConnection, paths: WarehousePaths, options: str) -> None:
    con.execute(attach_statement(paths, options))
    con.execute(f"USE {CATALOG_ALIAS}")


def open_reader(root: Path, snapshot_version: int | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only connection with every warehouse relation visible unqualified; at ``snapshot_version``
    (see `warehouse.timetravel`) it sees the warehouse as it was then."""
    paths = WarehousePaths(root)
    if not paths.exists():
        raise WarehouseMissingError(f"no warehouse at {root} (run `akhbar run` first)")
    con = _bare_connection(paths)
    at = "" if snapshot_version is None else f", SNAPSHOT_VERSION {int(snapshot_version)}"
    _attach(con, paths, f", READ_ONLY{at}")
    return con


def open_writer(root: Path) -> duckdb.DuckDBPyConnection:
    """The writer's connection: creates the warehouse on first use, migrates it, re-creates its views.

    Call only while holding the writer lock. Removes Parquet files that the catalog does not know at
    all: they are what a run killed mid-commit leaves behind, never committed, so no reader can be
    scanning them. Files that only old snapshots reference are `akhbar maintain`'s to delete, after
    a grace period (`warehouse.maintenance`).
    """
    paths = WarehousePaths(root)
    if not paths.remote_data:
        paths.data.mkdir(parents=True, exist_ok=True)
    con = _bare_connection(paths)
    # Inlining would keep small inserts inside the catalog instead of Parquet: turn it off.
    _attach(con, paths, ", DATA_INLINING_ROW_LIMIT 0")
    _apply_schema(con)
    con.execute(f"CALL ducklake_delete_orphaned_files('{CATALOG_ALIAS}', cleanup_all => true)")
    return con


def _apply_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Apply the pending migrations, then re-create views and macros: one transaction, one snapshot.

    A warehouse made before migrations existed has no `schema_migrations` yet: migration 1 creates
    only what is missing (nothing, there), so it is recorded as applied and the later ones follow.
    When no migration is pending and the derived statements are those last applied (`schema_derived`),
    nothing is written: a writer start does not add an empty snapshot.
    """
    derived = derived_statements()
    fingerprint = hashlib.sha256("\n;\n".join(sql for _, sql in derived).encode()).hexdigest()
    todo = pending(_applied_migrations(con))
    if not todo and _derived_fingerprint(con) == fingerprint:
        return
    con.execute("BEGIN")
    try:
        con.execute(create_table(SCHEMA_MIGRATIONS))
        for migration in todo:
            for statement in migration.statements:
                con.execute(statement)
            con.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                [migration.version, migration.name, dt.datetime.now(dt.UTC)],
            )
        for _, statement in derived:
            con.execute(statement)
        con.execute("DELETE FROM schema_derived")
        con.execute("INSERT INTO schema_derived VALUES (?, ?)", [fingerprint, dt.datetime.now(dt.UTC)])
        set_commit_message(con, "schema")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _relation_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_catalog = ? AND table_name = ?",
        [CATALOG_ALIAS, name],
    ).fetchone()[0])


def _applied_migrations(con: duckdb.DuckDBPyConnection) -> set[int]:
    if not _relation_exists(con, SCHEMA_MIGRATIONS.name):
        return set()
    return {row[0] for row in con.execute("SELECT version FROM schema_migrations").fetchall()}


def _derived_fingerprint(con: duckdb.DuckDBPyConnection) -> str | None:
    if not _relation_exists(con, SCHEMA_DERIVED.name):
        return None
    row = con.execute("SELECT max(fingerprint) FROM schema_derived").fetchone()
    return row[0] if row else None


def set_commit_message(con: duckdb.DuckDBPyConnection, message: str) -> None:
    """Name the open transaction's snapshot: a run's commit carries its run id (`akhbar sql --as-of`)."""
    con.execute(f"CALL ducklake_set_commit_message('{CATALOG_ALIAS}', ?, ?)", [COMMIT_AUTHOR, message])


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_catalog = ? AND table_name = ? ORDER BY ordinal_position",
        [CATALOG_ALIAS, table],
    ).fetchall()
    return [row[0] for row in rows]


def _insert_staged(con: duckdb.DuckDBPyConnection, staging: Path, table: str) -> int:
    """INSERT the run's staged Parquet for ``table``; columns matched by name, extras ignored."""
    files = staged_files(staging, table)
    if not files:
        return 0
    file_list = "[" + ", ".join(f"'{f}'" for f in files) + "]"
    staged_columns = {
        row[0] for row in con.execute(f"DESCRIBE SELECT * FROM read_parquet({file_list})").fetchall()
    }
    columns = [c for c in table_columns(con, table) if c in staged_columns]
    column_sql = ", ".join(f'"{c}"' for c in columns)
    return con.execute(
        f"INSERT INTO {table} ({column_sql}) SELECT {column_sql} FROM read_parquet({file_list})"
    ).fetchone()[0]


def _append_changed(
    con: duckdb.DuckDBPyConnection, staging: Path, view: str, history: str, run_row: Mapping[str, Any]
) -> int:
    """Append to ``history`` the staged rows of ``view`` that differ from its current rows; the rows added.

    Why not replace the changed rows: a delete leaves a file that is never merged and, with the old
    rows, stays on disk for the whole snapshot retention; appending keeps every file mergeable. The
    run's rows get the next revision, so the view's latest row per key is theirs.
    """
    file_list = "[" + ", ".join(f"'{f}'" for f in staged_files(staging, view)) + "]"
    staged_columns = {
        row[0] for row in con.execute(f"DESCRIBE SELECT * FROM read_parquet({file_list})").fetchall()
    }
    columns = [c for c in table_columns(con, view) if c in staged_columns]
    column_sql = ", ".join(f'"{c}"' for c in columns)
    revision = con.execute(f"SELECT coalesce(max(revision), 0) + 1 FROM {history}").fetchone()[0]
    return con.execute(
        f"INSERT INTO {history} ({column_sql}, revision, run_id, recorded_at) "
        f"SELECT *, ?, ?, ? FROM (SELECT {column_sql} FROM read_parquet({file_list}) "
        f"EXCEPT SELECT {column_sql} FROM {view})",
        [revision, run_row["run_id"], run_row.get("started_at")],
    ).fetchone()[0]


def commit_run(
    con: duckdb.DuckDBPyConnection,
    staging: Path,
    run_row: Mapping[str, Any],
    replaced_paths: Iterable[str] = (),
) -> dict[str, int]:
    """Commit one run's staged tables, its `runs` row and replacements in ONE transaction.

    ``replaced_paths`` are input files whose content changed since they were loaded: their old
    articles (every story of a multi-story file, with their mentions), duplicate and story rows are
    removed in the same transaction.
    Returns the number of rows inserted per table.
    """
    inserted: dict[str, int] = {}
    replaced = sorted(set(replaced_paths))
    con.execute("BEGIN")
    try:
        if replaced:
            con.execute("CREATE OR REPLACE TEMP TABLE replaced_paths (source_path VARCHAR)")
            con.executemany("INSERT INTO replaced_paths VALUES (?)", [[p] for p in replaced])
            con.execute(
                "DELETE FROM entity_mentions WHERE article_id IN "
                "(SELECT article_id FROM articles WHERE source_path IN (SELECT source_path FROM replaced_paths))"
            )
            con.execute("DELETE FROM articles WHERE source_path IN (SELECT source_path FROM replaced_paths)")
            for table in ("duplicates", "article_minhash", "story_ledger"):
                con.execute(f"DELETE FROM {table} WHERE source_path IN (SELECT source_path FROM replaced_paths)")
        for table in STAGED_TABLES:
            if table in VERSIONED_TABLES and staged_files(staging, table):
                inserted[table] = _append_changed(con, staging, table, VERSIONED_TABLES[table], run_row)
            else:
                inserted[table] = _insert_staged(con, staging, table)
            crash_point("mid-commit")
        insert_runs_row(con, run_row)
        set_commit_message(con, str(run_row["run_id"]))
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return inserted


def insert_runs_row(con: duckdb.DuckDBPyConnection, run_row: Mapping[str, Any]) -> None:
    columns = [c for c in table_columns(con, "runs") if c in run_row]
    placeholders = ", ".join("?" for _ in columns)
    column_sql = ", ".join(f'"{c}"' for c in columns)
    con.execute(f"INSERT INTO runs ({column_sql}) VALUES ({placeholders})", [run_row[c] for c in columns])


def record_failed_run(
    con: duckdb.DuckDBPyConnection, staging: Path, run_row: Mapping[str, Any]
) -> None:
    """A failed run loads no data, but its `runs` row and validation results are kept for watchers."""
    con.execute("BEGIN")
    try:
        _insert_staged(con, staging, "validation_results")
        insert_runs_row(con, run_row)
        set_commit_message(con, str(run_row["run_id"]))
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def clear_staging(paths: WarehousePaths) -> None:
    """Staged files belong to one run; any left over are from a run that died."""
    if paths.staging.exists():
        shutil.rmtree(paths.staging)
