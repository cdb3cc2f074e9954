"""`akhbar`: the command line (see README for the commands)."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import decimal
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_INPUT = PROJECT_ROOT / "seeds"
DEFAULT_WAREHOUSE = PROJECT_ROOT / "warehouse" / "local"

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _default_input() -> Path:
    return Path(os.environ.get("AKHBAR_INPUT") or DEFAULT_INPUT)


def _default_warehouse() -> Path:
    return Path(os.environ.get("AKHBAR_WAREHOUSE") or DEFAULT_WAREHOUSE)


def configure_runtime(warehouse: Path) -> None:
    """Quiet, local-first defaults; anything the user set in the environment wins.

    Without a configured Prefect server, flow runs go to Prefect's temporary local server whose
    state lives beside the warehouse, so one warehouse keeps one history.
    """
    defaults = {
        # Task logs still reach the Prefect server (and its UI); the terminal gets akhbar's own lines.
        "PREFECT_LOGGING_LEVEL": "INFO",
        "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "CRITICAL",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "GX_ANALYTICS_ENABLED": "False",
        "TQDM_DISABLE": "1",
    }
    for key, value in defaults.items():
        os.environ.setdefault(key, value)
    user_profiles = Path.home() / ".prefect" / "profiles.toml"
    if not any(os.environ.get(k) for k in ("PREFECT_API_URL", "PREFECT_HOME")) and not user_profiles.exists():
        prefect_home = warehouse.resolve() / ".prefect"
        prefect_home.mkdir(parents=True, exist_ok=True)
        os.environ["PREFECT_HOME"] = str(prefect_home)


def _usage_error(message: str) -> int:
    print(f"akhbar: {message}", file=sys.stderr)
    return EXIT_USAGE


def _failure(message: str) -> int:
    print(f"akhbar: {' '.join(str(message).split())}", file=sys.stderr)
    return EXIT_FAILED


def cmd_run(args: argparse.Namespace) -> int:
    source, root = args.input, args.warehouse
    if not source.is_dir():
        return _usage_error(f"input folder {source} does not exist or is not a folder")
    configure_runtime(root)
    from flows.ingest import RunFailedError, ingest  # Prefect reads its settings at import time
    from warehouse.lock import WarehouseBusyError

    try:
        summary = ingest(str(source), str(root), batch_size=args.batch_size, lock_timeout_s=args.lock_timeout,
                         max_file_bytes=args.max_file_bytes)
    except (RunFailedError, WarehouseBusyError) as error:
        return _failure(f"run failed: {error}")
    except Exception as error:  # any other error: one line, never a traceback dump
        return _failure(f"run failed: {type(error).__name__}: {error}")
    print(
        f"akhbar run {summary.run_id} {summary.status} in {summary.seconds:.1f} s\n"
        f"  files:    {summary.files_seen} seen, {summary.files_loaded} loaded, "
        f"{summary.files_duplicate} duplicate, {summary.files_quarantined} quarantined, "
        f"{summary.files_rejected} rejected, {summary.files_unchanged} unchanged, "
        f"{summary.files_deferred} still being written\n"
        f"  articles: {summary.articles_loaded} loaded with {summary.mentions_loaded} entity mentions\n"
        f"  warehouse: {root}"
    )
    return EXIT_OK


def _jsonable(value: object) -> object:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def cmd_sql(args: argparse.Namespace) -> int:
    import duckdb

    from warehouse.store import WarehouseMissingError, open_reader

    try:
        con = open_reader(args.warehouse)
    except WarehouseMissingError as error:
        return _failure(str(error))
    try:
        relation = con.execute(args.query)
        if relation.description is None:
            return EXIT_OK
        columns = [d[0] for d in relation.description]
        rows = relation.fetchall()
    except duckdb.Error as error:
        return _failure(f"query failed: {error}")
    finally:
        con.close()
    out = sys.stdout
    if args.format == "json":
        json.dump([dict(zip(columns, row, strict=True)) for row in rows], out, ensure_ascii=False,
                  default=_jsonable, indent=1)
        out.write("\n")
    elif args.format == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(["" if v is None else v for v in row] for row in rows)
    else:
        _print_table(columns, rows)
    return EXIT_OK


def _print_table(columns: list[str], rows: list[tuple]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(*columns, show_lines=False, header_style="bold")
    for row in rows:
        table.add_row(*("NULL" if v is None else str(v) for v in row))
    Console(soft_wrap=False).print(table)
    print(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="akhbar", description="Arabic news folders into a DuckDB warehouse.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="one ingest pass over the input folder")
    run.add_argument("--input", type=Path, default=None, help="input folder (default: $AKHBAR_INPUT or seeds/)")
    run.add_argument("--warehouse", type=Path, default=None, help="warehouse folder (default: $AKHBAR_WAREHOUSE)")
    run.add_argument("--batch-size", type=int, default=1000, help="files per batch (default: 1000)")
    run.add_argument("--lock-timeout", type=float, default=60.0,
                     help="seconds to wait for another writer to finish (default: 60)")
    run.add_argument("--max-file-bytes", type=int,
                     default=int(os.environ.get("AKHBAR_MAX_FILE_BYTES") or 50 * 1024 * 1024),
                     help="larger files are rejected unread (default: $AKHBAR_MAX_FILE_BYTES or 50 MiB)")
    run.set_defaults(handler=cmd_run)

    sql = commands.add_parser("sql", help="run a read-only SQL query against the warehouse")
    sql.add_argument("--warehouse", type=Path, default=None)
    sql.add_argument("--format", choices=("table", "csv", "json"), default="table")
    sql.add_argument("query", help="SQL; every warehouse relation is visible unqualified")
    sql.set_defaults(handler=cmd_sql)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "input", "absent") is None:
        args.input = _default_input()
    if args.warehouse is None:
        args.warehouse = _default_warehouse()
    if getattr(args, "batch_size", 1) < 1:
        return _usage_error("--batch-size must be at least 1")
    if getattr(args, "max_file_bytes", 1) < 1:
        return _usage_error("--max-file-bytes must be at least 1")
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
