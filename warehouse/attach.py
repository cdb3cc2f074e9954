"""Open the warehouse from any DuckDB 1.5.5 client: the SQL that attaches it read-only, offline.

A plain client would try to download the ducklake extension on ``ATTACH 'ducklake:...'``; these
statements load it, and the sqlite_scanner it needs for the catalog, from the installed PyPI
packages by absolute path instead. Globbing ``data/*.parquet`` directly is wrong: DuckLake keeps
replaced and deleted rows in files until they are cleaned up.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from warehouse.store import CATALOG_ALIAS, WarehouseMissingError, WarehousePaths, attach_statement, setup_statements


def attach_statements(root: Path) -> list[str]:
    """The statements, in order, that attach the warehouse at ``root`` read-only and make it current."""
    paths = WarehousePaths(Path(root).resolve())
    if not paths.exists():
        raise WarehouseMissingError(f"no warehouse at {root} (run `akhbar run` first)")
    return [
        "SET autoinstall_known_extensions = false",
        "SET autoload_known_extensions = false",
        *setup_statements(paths),
        attach_statement(paths, ", READ_ONLY"),
        f"USE {CATALOG_ALIAS}",
    ]


def attach_sql(root: Path) -> str:
    return "".join(f"{statement};\n" for statement in attach_statements(root))


def connect(warehouse: str | os.PathLike[str] | None = None) -> duckdb.DuckDBPyConnection:
    """A plain read-only DuckDB connection to the warehouse (``$AKHBAR_WAREHOUSE`` by default), for notebooks.

    It runs exactly the statements ``akhbar attach`` prints.
    """
    location = warehouse or os.environ.get("AKHBAR_WAREHOUSE")
    if not location:
        raise WarehouseMissingError("no warehouse given: pass its folder or set AKHBAR_WAREHOUSE")
    statements = attach_statements(Path(location))
    con = duckdb.connect()
    for statement in statements:
        con.execute(statement)
    return con
