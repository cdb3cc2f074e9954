"""The warehouse tables' DDL, generated from `transforms.schema`; the views stay SQL in `views.sql`.

DuckLake stores every table as Parquet, so each polars dtype maps to the DuckDB type whose Parquet
form it reads back as. Tables reach a warehouse through the numbered migrations
(`warehouse/migrations/`); what is derived from them (views, macros) is re-created on every writer
start by `derived_statements`, so a changed view reaches every existing warehouse.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from transforms.schema import TABLES, Relation

VIEWS_FILE = Path(__file__).with_name("views.sql")

_SCALAR_TYPES: dict[type[pl.DataType], str] = {
    pl.String: "VARCHAR",
    pl.Int16: "SMALLINT",
    pl.Int32: "INTEGER",
    pl.Int64: "BIGINT",
    pl.Float64: "DOUBLE",
    pl.Boolean: "BOOLEAN",
}
_VIEW_NAME = re.compile(r"CREATE\s+(?:OR\s+REPLACE\s+)?VIEW\s+(\w+)", re.I)


def duckdb_type(dtype: pl.DataType) -> str:
    """The DuckDB column type for a polars dtype of the schema."""
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone != "UTC":
            raise ValueError(f"timestamps are stored in UTC, not {dtype}")
        return "TIMESTAMP WITH TIME ZONE"
    if isinstance(dtype, pl.List):
        return f"{duckdb_type(dtype.inner)}[]"
    for kind, name in _SCALAR_TYPES.items():
        if isinstance(dtype, kind):
            return name
    raise ValueError(f"no warehouse type for polars dtype {dtype}")


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def create_table(relation: Relation) -> str:
    width = max(len(c.name) for c in relation.columns) + 2
    lines = [f"    {quote(c.name):<{width}} {duckdb_type(c.dtype)}" for c in relation.columns]
    return f"CREATE TABLE IF NOT EXISTS {relation.name} (\n" + ",\n".join(lines) + "\n)"


def view_statements() -> list[tuple[str, str]]:
    """(view name, statement) for every statement of views.sql, in order."""
    text = "\n".join(line.split("--", 1)[0] for line in VIEWS_FILE.read_text().splitlines())
    statements = []
    for statement in (s.strip() for s in text.split(";")):
        if statement:
            match = _VIEW_NAME.search(statement)
            if not match:
                raise ValueError(f"views.sql holds a statement that is not a view: {statement[:60]}")
            statements.append((match.group(1), statement))
    return statements


def table_statements() -> list[tuple[str, str]]:
    """(table name, CREATE TABLE IF NOT EXISTS) for every declared table, as the schema says it is today."""
    return [(relation.name, create_table(relation)) for relation in TABLES]


def derived_statements() -> list[tuple[str, str]]:
    """(name, idempotent CREATE OR REPLACE statement): what the writer re-creates on every start, after
    the migrations, in this order. Views now; macros and comments belong here too."""
    return view_statements()


def schema_statements() -> list[tuple[str, str]]:
    """(relation name, statement): every table, then every derived relation, in the order they are created."""
    return table_statements() + derived_statements()
