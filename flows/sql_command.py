"""`akhbar sql`: run statements read-only and print every result, in order, in the chosen format.

Imports only DuckDB and the warehouse store (no Prefect, no Great Expectations): it starts fast.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import decimal
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

import duckdb

FORMATS = ("table", "csv", "json", "jsonl", "markdown")
HISTORY_FILE = Path(os.environ.get("AKHBAR_HISTORY", Path.home() / ".akhbar_history"))
PROMPT, CONTINUATION = "akhbar> ", "   ...> "


def jsonable(value: object) -> object:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def _text(value: object) -> str:
    return "NULL" if value is None else str(value)


def _table(columns: list[str], rows: list[tuple], more: bool, out: TextIO) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(*columns, show_lines=False, header_style="bold")
    for row in rows:
        table.add_row(*(_text(v) for v in row))
    Console(file=out, soft_wrap=False).print(table)
    shown = f"({len(rows)} row{'s' if len(rows) != 1 else ''}"
    print(shown + (", more not shown)" if more else ")"), file=out)


def _markdown(columns: list[str], rows: list[tuple], more: bool, out: TextIO) -> None:
    def cell(value: object) -> str:
        return _text(value).replace("|", "\\|").replace("\n", " ")

    out.write("| " + " | ".join(cell(c) for c in columns) + " |\n")
    out.write("|" + "|".join("---" for _ in columns) + "|\n")
    for row in rows:
        out.write("| " + " | ".join(cell(v) for v in row) + " |\n")


def _csv(columns: list[str], rows: list[tuple], more: bool, out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(["" if v is None else v for v in row] for row in rows)


def _json(columns: list[str], rows: list[tuple], more: bool, out: TextIO) -> None:
    json.dump([dict(zip(columns, row, strict=True)) for row in rows], out, ensure_ascii=False,
              default=jsonable, indent=1)
    out.write("\n")


def _jsonl(columns: list[str], rows: list[tuple], more: bool, out: TextIO) -> None:
    for row in rows:
        out.write(json.dumps(dict(zip(columns, row, strict=True)), ensure_ascii=False, default=jsonable) + "\n")


WRITERS: dict[str, Callable[[list[str], list[tuple], bool, TextIO], None]] = {
    "table": _table, "csv": _csv, "json": _json, "jsonl": _jsonl, "markdown": _markdown,
}


class QueryError(RuntimeError):
    """A statement failed; its message is DuckDB's."""


def run_statements(con: duckdb.DuckDBPyConnection, sql: str, fmt: str, max_rows: int | None,
                   out: TextIO) -> int:
    """Run every statement of ``sql`` in order and print each result; returns how many printed."""
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as error:
        raise QueryError(str(error)) from error
    printed = 0
    for statement in statements:
        try:
            relation = con.execute(statement)
            if relation.description is None:
                continue
            columns = [d[0] for d in relation.description]
            if columns == ["Success"] and statement.type != duckdb.StatementType.SELECT:
                continue  # SET, CREATE and the like: nothing to show
            rows = relation.fetchall() if max_rows is None else relation.fetchmany(max_rows + 1)
        except duckdb.Error as error:
            raise QueryError(str(error)) from error
        more = max_rows is not None and len(rows) > max_rows
        if more:
            rows = rows[:max_rows]
            print(f"akhbar: showing the first {max_rows} rows", file=sys.stderr)
        if printed and fmt in ("table", "markdown", "csv"):
            out.write("\n")
        WRITERS[fmt](columns, rows, more, out)
        printed += 1
    out.flush()
    return printed


def _complete(buffer: str) -> bool:
    """Whether ``buffer`` ends a statement (a final ';'); DuckDB reports what is wrong with it."""
    return buffer.rstrip().endswith(";")


def _lines() -> Iterator[str]:
    """Statements typed at the prompt, one complete buffer at a time (Ctrl-D ends)."""
    buffer = ""
    while True:
        try:
            line = input(CONTINUATION if buffer else PROMPT)
        except EOFError:
            print()
            if buffer.strip():
                yield buffer
            return
        except KeyboardInterrupt:
            print()
            buffer = ""
            continue
        buffer += line + "\n"
        if buffer.strip() in (".quit", ".exit", "\\q"):
            return
        if _complete(buffer):
            yield buffer
            buffer = ""


def interactive(con: duckdb.DuckDBPyConnection, fmt: str, max_rows: int | None) -> int:
    """A prompt with line editing and history (readline, kept in $AKHBAR_HISTORY or ~/.akhbar_history)."""
    try:
        import readline
    except ImportError:  # not on every platform: the prompt still works, without history
        readline = None
    if readline is not None:
        with contextlib.suppress(OSError):  # no history yet
            readline.read_history_file(HISTORY_FILE)
    print("akhbar sql: statements end with ';'. Ctrl-D quits.", file=sys.stderr)
    try:
        for sql in _lines():
            try:
                run_statements(con, sql, fmt, max_rows, sys.stdout)
            except QueryError as error:
                print(f"akhbar: query failed: {' '.join(str(error).split())}", file=sys.stderr)
    finally:
        if readline is not None:
            with contextlib.suppress(OSError):  # history is a convenience, never an error
                readline.write_history_file(HISTORY_FILE)
    return 0
