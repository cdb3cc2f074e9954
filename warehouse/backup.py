"""`akhbar backup DEST`: a consistent copy of the warehouse, safe while a writer is running.

Why this order: data files are immutable once written, so what has to be consistent is the catalog.
SQLite's online backup API copies it as of one transaction; then every file that copy references
(any snapshot it keeps) is copied. A writer that commits meanwhile only adds files the copy does not
reference, and maintenance deletes a file only after the grace period (`warehouse.maintenance`), far
longer than a copy takes. The copy is an independent warehouse: it attaches with its own data path.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from warehouse.store import WarehouseMissingError, WarehousePaths


class BackupError(RuntimeError):
    """The destination is unusable, or a file the catalog references is missing from the source."""


@dataclass(frozen=True)
class BackupSummary:
    files: int
    bytes: int


# Every file a catalog references, as a path relative to the data path: file path under table path
# under schema path (DuckLake writes all three relative by default).
_REFERENCED = """
WITH schema_path AS (
    SELECT schema_id, max(path) AS path, min(path_is_relative) AS relative FROM ducklake_schema GROUP BY schema_id
), table_path AS (
    SELECT t.table_id, s.path || max(t.path) AS path, min(t.path_is_relative) AND min(s.relative) AS relative
    FROM ducklake_table t JOIN schema_path s USING (schema_id) GROUP BY t.table_id, s.path, s.relative
), files AS (
    SELECT table_id, path, path_is_relative FROM ducklake_data_file
    UNION SELECT table_id, path, path_is_relative FROM ducklake_delete_file
)
SELECT CASE WHEN f.path_is_relative AND t.relative THEN t.path || f.path ELSE NULL END, f.path
FROM files f JOIN table_path t USING (table_id)
"""


def referenced_files(catalog: Path) -> list[str]:
    """Data-path-relative paths of every data and delete file the catalog at ``catalog`` references."""
    with sqlite3.connect(f"file:{catalog}?mode=ro", uri=True) as con:
        rows = con.execute(_REFERENCED).fetchall()
    absolute = [path for relative, path in rows if relative is None]
    if absolute:
        raise BackupError(f"the catalog references {len(absolute)} file(s) outside its data path, e.g. {absolute[0]}")
    return sorted({relative for relative, _ in rows})


def backup(root: Path, dest: Path) -> BackupSummary:
    """Copy the warehouse at ``root`` to ``dest`` (a new or empty folder)."""
    source = WarehousePaths(root)
    if source.catalog_url is not None:
        raise BackupError(
            f"{root} keeps its catalog in PostgreSQL ({source.catalog_url}): back it up with pg_dump, then copy "
            f"its data path {source.data_location} (README, \"When one machine is not enough\")"
        )
    if not source.catalog.exists():
        raise WarehouseMissingError(f"no warehouse at {root} (run `akhbar run` first)")
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BackupError(f"backup destination {dest} exists and is not an empty folder")
    if dest.resolve().is_relative_to(root.resolve()):
        raise BackupError(f"backup destination {dest} is inside the warehouse {root}")
    target = WarehousePaths(dest)
    target.data.mkdir(parents=True)
    partial = target.root / "catalog.sqlite.partial"
    with sqlite3.connect(f"file:{source.catalog}?mode=ro", uri=True) as live, sqlite3.connect(partial) as copy:
        live.backup(copy)
    total = 0
    files = referenced_files(partial)
    for relative in files:
        origin, copied = source.data / relative, target.data / relative
        if not origin.is_file():
            raise BackupError(f"{origin} is referenced by the catalog but missing; the backup in {dest} is incomplete")
        copied.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(origin, copied)
        total += copied.stat().st_size
    os.replace(partial, target.catalog)  # last: a folder without catalog.sqlite is no warehouse
    return BackupSummary(files=len(files), bytes=total)
