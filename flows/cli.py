"""`akhbar`: the command line (see README for the commands)."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Callable, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from flows import prefect_home as prefect_home_template
from flows import prefect_server, stops
from flows.errors import RunFailedError
from flows.workers import keep_freed_memory, limit_native_threads, settle_heap
from warehouse.lock import DEFAULT_TIMEOUT_S, WarehouseBusyError

if TYPE_CHECKING:
    from flows.results import RunSummary

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
    limit_native_threads()
    keep_freed_memory()
    user_profiles = Path.home() / ".prefect" / "profiles.toml"
    if not any(os.environ.get(k) for k in ("PREFECT_API_URL", "PREFECT_HOME")) and not user_profiles.exists():
        prefect_home = warehouse.resolve() / ".prefect"
        prefect_home.mkdir(parents=True, exist_ok=True)
        os.environ["PREFECT_HOME"] = str(prefect_home)
        prefect_home_template.seed(prefect_home)


def _usage_error(message: str) -> int:
    print(f"akhbar: {message}", file=sys.stderr)
    return EXIT_USAGE


def _missing_input(source: Path) -> int:
    return _usage_error(f"input folder {source} does not exist or is not a folder")


def _failure(message: str) -> int:
    print(f"akhbar: {' '.join(str(message).split())}", file=sys.stderr)
    return EXIT_FAILED


def cmd_run(args: argparse.Namespace) -> int:
    source, root = args.input, args.warehouse
    if not source.is_dir():
        return _missing_input(source)
    stops.raise_on_signals()  # before Prefect can start its temporary server
    started = dt.datetime.now(dt.UTC)
    try:
        summary = _ingest(args)
    except BaseException as error:
        signum = stops.stop_signal(error)
        if signum is not None:
            return _stopped(stops.signal_name(signum), source, root, started)
        if not isinstance(error, Exception):
            raise
        if isinstance(error, RunFailedError | WarehouseBusyError):
            return _failure(f"run failed: {error}")
        return _failure(f"run failed: {type(error).__name__}: {error}")  # one line, never a traceback dump
    print(
        f"akhbar run {summary.run_id} {summary.status} in {summary.seconds:.1f} s\n"
        f"  files:    {summary.files_seen} seen, {summary.files_loaded} loaded, "
        f"{summary.files_duplicate} duplicate, {summary.files_quarantined} quarantined, "
        f"{summary.files_rejected} rejected, {summary.files_unchanged} unchanged, "
        f"{summary.files_deferred} still being written, {summary.files_ignored} ignored\n"
        f"  articles: {summary.articles_loaded} loaded with {summary.mentions_loaded} entity mentions\n"
        f"  warehouse: {root}"
    )
    return EXIT_OK


def _ingest(args: argparse.Namespace) -> RunSummary:
    """One ingest run in this process, with its progress shown."""
    configure_runtime(args.warehouse)
    _use_webhook(args)
    server = prefect_server.early_server()  # boots while the modules below import; stops at exit
    from flows import progress
    from flows.ingest import ingest_flow, warm_up_validation  # Prefect reads its settings at import time

    ingest = ingest_flow(args.dask_address)
    if server is not None:
        warm_up_validation()  # while this process waits for the server
    # The progress: a bar on a terminal, plain lines on stdout otherwise; gone before the summary.
    with prefect_server.serving(server), progress.shown():
        return ingest(
            str(args.input), str(args.warehouse), batch_size=args.batch_size, lock_timeout_s=args.lock_timeout,
            max_file_bytes=args.max_file_bytes, include=list(args.folder_filter.include),
            exclude=list(args.folder_filter.exclude), maintain=not args.no_maintain, workers=args.workers)


def _stopped(signal_name: str, source: Path, root: Path, started: dt.datetime) -> int:
    """A run stopped by a signal did not complete (exit 1), though the stop may have come after its commit."""
    if _committed_since(source, root, started):
        return _failure(f"run stopped by {signal_name} after its commit; its files are loaded")
    return _failure(f"run stopped by {signal_name}; nothing was loaded")


def _committed_since(source: Path, root: Path, started: dt.datetime) -> bool:
    """Whether a run of ``source`` that started at ``started`` or later is committed in the warehouse."""
    import duckdb

    from warehouse.store import WarehouseMissingError, open_reader

    try:
        con = open_reader(root)
    except WarehouseMissingError:
        return False
    try:
        row = con.execute("SELECT count(*) FROM runs WHERE status = 'completed' AND started_at >= ? "
                          "AND input_dir = ?", [started, str(source.resolve())]).fetchone()
    except duckdb.CatalogException:  # stopped before the first run created the tables
        return False
    finally:
        con.close()
    return bool(row and row[0])


def cmd_ner(args: argparse.Namespace) -> int:
    from flows.ner_command import run

    if args.context < 0:
        return _usage_error(f"--context must be 0 or more sentences, not {args.context}")
    if args.file is None:
        return run(sys.stdin, sys.stdout, context=args.context)
    if not args.file.is_file():
        return _usage_error(f"token file {args.file} does not exist")
    with args.file.open(encoding="utf-8", newline="") as stream:
        return run(stream, sys.stdout, context=args.context)


def _read_sql(args: argparse.Namespace) -> str | None:
    """The SQL to run: QUERY, `-` (stdin), -f FILE, or stdin when it is not a terminal; None: prompt."""
    if args.file is not None:
        if args.query is not None:
            raise _Usage("give either QUERY or -f FILE, not both")
        if str(args.file) == "-":
            return sys.stdin.read()
        if not args.file.is_file():
            raise _Usage(f"SQL file {args.file} does not exist")
        return args.file.read_text(encoding="utf-8")
    if args.query == "-" or (args.query is None and not sys.stdin.isatty()):
        return sys.stdin.read()
    return args.query


class _Usage(Exception):
    """A usage error found after parsing: exit 2 with its message."""


def _exit_on_closed_pipe() -> int:
    """The reader (`| head`) went away: stop quietly, as command-line tools do."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush cannot fail too
    return EXIT_OK


def cmd_sql(args: argparse.Namespace) -> int:
    from flows.sql_command import QueryError, interactive, run_statements
    from warehouse.store import WarehouseMissingError, open_reader
    from warehouse.timetravel import AsOfError, resolve_as_of

    if args.max_rows is not None and args.max_rows < 0:
        return _usage_error("--max-rows must be 0 or more")
    try:
        sql = _read_sql(args)
    except _Usage as error:
        return _usage_error(str(error))
    try:
        version = None if args.as_of is None else resolve_as_of(args.warehouse, args.as_of)
        con = open_reader(args.warehouse, snapshot_version=version)
    except (WarehouseMissingError, AsOfError) as error:
        return _failure(str(error))
    try:
        if sql is None:
            return interactive(con, args.format, args.max_rows)
        run_statements(con, sql, args.format, args.max_rows, sys.stdout)
    except QueryError as error:
        return _failure(f"query failed: {error}")
    except BrokenPipeError:
        return _exit_on_closed_pipe()
    finally:
        con.close()
    return EXIT_OK


def cmd_maintain(args: argparse.Namespace) -> int:
    from warehouse.maintenance import maintain
    from warehouse.store import WarehouseMissingError

    if args.retain_days is not None and args.retain_days < 0:
        return _usage_error(f"--retain-days must be 0 or more, not {args.retain_days}")
    try:
        summary = maintain(args.warehouse, retain_days=args.retain_days, lock_timeout_s=args.lock_timeout,
                           report=lambda line: print(f"  {line}", flush=True))
    except (WarehouseMissingError, WarehouseBusyError) as error:
        return _failure(str(error))
    except Exception as error:
        return _failure(f"maintenance failed: {type(error).__name__}: {error}")
    print(summary.text())
    return EXIT_OK


def cmd_backup(args: argparse.Namespace) -> int:
    from warehouse.backup import BackupError, backup
    from warehouse.store import WarehouseMissingError

    try:
        summary = backup(args.warehouse, args.dest)
    except (WarehouseMissingError, BackupError) as error:
        return _failure(str(error))
    print(f"akhbar backup: {args.warehouse} -> {args.dest} ({summary.files} data files, "
          f"{summary.bytes / 2**20:.2f} MiB)")
    return EXIT_OK


def cmd_search(args: argparse.Namespace) -> int:
    from warehouse.search import search
    from warehouse.store import WarehouseMissingError, open_reader

    if args.limit < 1:
        return _usage_error("--limit must be at least 1")
    if not any(ch.isalnum() for ch in args.query):
        return _usage_error("the search query holds no word")
    try:
        since = dt.datetime.fromisoformat(args.since) if args.since else None
    except ValueError:
        return _usage_error(f"--since wants a date such as 2018-04-01, not {args.since!r}")
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=dt.UTC)
    try:
        con = open_reader(args.warehouse)
    except WarehouseMissingError as error:
        return _failure(str(error))
    try:
        hits = search(con, args.query, limit=args.limit, publisher=args.publisher, since=since)
    finally:
        con.close()
    bold = ("\033[1m", "\033[0m") if sys.stdout.isatty() else ("**", "**")
    try:
        for rank, hit in enumerate(hits, 1):
            when = hit.published_at.date().isoformat() if hit.published_at else "undated"
            print(f"{rank}. {hit.title or '(no title)'}\n   {hit.publisher or 'unknown publisher'}, {when}, "
                  f"score {hit.score}, article {hit.article_id}")
            before, word, after = hit.snippet
            print(f"   ...{before}{bold[0] + word + bold[1] if word else ''}{after}...")
        if not hits:
            print(f"no article names {args.query!r}", file=sys.stderr)
        sys.stdout.flush()
    except BrokenPipeError:
        return _exit_on_closed_pipe()
    return EXIT_OK


def cmd_attach(args: argparse.Namespace) -> int:
    from warehouse.attach import attach_sql
    from warehouse.store import WarehouseMissingError

    try:
        print(attach_sql(args.warehouse), end="")
    except WarehouseMissingError as error:
        return _failure(str(error))
    return EXIT_OK


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("akhbar")
    except PackageNotFoundError:
        return "unknown (not installed)"


def _use_webhook(args: argparse.Namespace) -> None:
    """--webhook-url wins over $AKHBAR_WEBHOOK_URL; flow runs (served ones too) read the variable."""
    if getattr(args, "webhook_url", None):
        os.environ["AKHBAR_WEBHOOK_URL"] = args.webhook_url


def _log_to_stderr() -> None:
    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S"))
    logger = logging.getLogger("akhbar")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False


def _watch_config(args: argparse.Namespace):
    from flows.watch import WatchConfig

    return WatchConfig(settle_s=args.settle_seconds, sweep_s=args.sweep_seconds, max_wait_s=args.max_wait_seconds)


def cmd_watch(args: argparse.Namespace) -> int:
    source, root = args.input, args.warehouse
    if not source.is_dir():
        return _missing_input(source)
    stop = stops.event_on_signals()  # before Prefect can start its temporary server
    configure_runtime(root)
    _use_webhook(args)
    _log_to_stderr()
    from flows.watch import FolderWatcher, deployment_trigger, local_trigger

    if args.deployment:
        trigger = deployment_trigger(args.deployment)
    else:
        trigger = local_trigger(source, root, batch_size=args.batch_size, lock_timeout_s=args.lock_timeout,
                                max_file_bytes=args.max_file_bytes, include=list(args.folder_filter.include),
                                exclude=list(args.folder_filter.exclude), maintain=not args.no_maintain,
                                workers=args.workers, dask_address=args.dask_address)
    try:
        FolderWatcher(source, root, _stopped_by_signals(trigger), _watch_config(args), args.folder_filter).run(stop)
    except KeyboardInterrupt as interrupt:
        if isinstance(interrupt, stops.Stopped):
            print(f"akhbar: {stops.signal_name(interrupt.signum)}: the current run was stopped", file=sys.stderr)
        else:
            print("akhbar: interrupted", file=sys.stderr)
    return EXIT_OK


def _stopped_by_signals(trigger: Callable[[], None]) -> Callable[[], None]:
    """``trigger``, raising `Stopped` when a signal ended its run, so the watcher stops instead of retrying.

    Inside an in-process run SIGTERM reaches Prefect's handler, not the watcher's; the run ends with
    Prefect's TerminationSignal, or with an error that wraps it.
    """

    def stoppable() -> None:
        try:
            trigger()
        except KeyboardInterrupt:
            raise
        except BaseException as error:
            signum = stops.stop_signal(error)
            if signum is None:
                raise
            raise stops.Stopped(signum) from error

    return stoppable


DEFAULT_PREFECT_API = "http://127.0.0.1:4200/api"


def cmd_serve(args: argparse.Namespace) -> int:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    source, root = args.input, args.warehouse
    if not source.is_dir():
        return _missing_input(source)
    try:
        ZoneInfo(args.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return _usage_error(f"unknown timezone {args.timezone!r} (use an IANA name such as UTC or Asia/Riyadh)")
    # Schedules need a real server: without a configured one, use the local default of `prefect server start`.
    if not os.environ.get("PREFECT_API_URL") and not (Path.home() / ".prefect" / "profiles.toml").exists():
        os.environ["PREFECT_API_URL"] = DEFAULT_PREFECT_API
    os.environ.setdefault("PREFECT_RUNNER_POLL_FREQUENCY", "5")
    configure_runtime(root)
    _use_webhook(args)
    _log_to_stderr()
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL

    from flows.alerts import AlertConfigError, alert_config
    from flows.notify import webhook_url
    from flows.serve import FLOW_NAME, NIGHTLY, ON_ARRIVAL, ServeConfig, serve

    try:
        alerts = alert_config(FLOW_NAME, (NIGHTLY, ON_ARRIVAL), webhook_url())
    except AlertConfigError as error:
        return _usage_error(str(error))

    api = PREFECT_API_URL.value()
    if not api:
        return _usage_error("akhbar serve needs a Prefect server: set PREFECT_API_URL")
    try:
        with get_client(sync_client=True) as client:
            problem = client.api_healthcheck()
    except Exception as error:
        problem = error
    if problem is not None:
        return _failure(f"no Prefect server answers at {api} ({type(problem).__name__}); start one with "
                        "`prefect server start --host 127.0.0.1` or set PREFECT_API_URL")
    config = ServeConfig(
        input_dir=source, warehouse_dir=root, cron=args.cron, timezone=args.timezone,
        lock_timeout_s=args.lock_timeout, batch_size=args.batch_size, max_file_bytes=args.max_file_bytes,
        maintain=not args.no_maintain, workers=args.workers, dask_address=args.dask_address,
        watch=not args.no_watch, watch_config=_watch_config(args), folder_filter=args.folder_filter,
        alerts=alerts,
    )
    try:
        serve(config)
    except ValueError as error:  # e.g. an invalid cron expression
        return _usage_error(str(error))
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from warehouse.report.queries import load_report
    from warehouse.report.render import render_text, write_html
    from warehouse.store import WarehouseMissingError

    if args.runs < 1:
        return _usage_error("--runs must be at least 1")
    try:
        data = load_report(args.warehouse, runs=args.runs)
    except WarehouseMissingError as error:
        return _failure(str(error))
    render_text(data, sys.stdout)
    if args.html:
        path = write_html(data, args.html)
        print(f"monitoring page: {path}")
    return EXIT_OK


# ---------------------------------------------------------------- option defaults

class _Default:
    """An option's default, read from the one place that owns it (or from ``env`` when set) only when
    needed: when the command runs, or --help shows it. Its owners import polars or the pipeline, which
    `akhbar sql` and `akhbar ner` should not pay for just to build the parser."""

    def __init__(self, owned: Callable[[], object], show: Callable[[object], str] = str, env: str | None = None,
                 convert: Callable[[str], object] = str) -> None:
        self._owned, self._show, self._env, self._convert = owned, show, env, convert

    @cached_property
    def owned(self) -> object:
        return self._owned()

    @property
    def value(self) -> object:
        from_env = os.environ.get(self._env) if self._env else None
        return self._convert(from_env) if from_env else self.owned

    def __str__(self) -> str:  # what %(default)s shows in the help
        return self._show(self.owned)


def _resolve_defaults(args: argparse.Namespace) -> None:
    for name, value in vars(args).items():
        if isinstance(value, _Default):
            setattr(args, name, value.value)


def _batch_size() -> int:
    from transforms.pipeline import PipelineConfig

    return PipelineConfig().batch_size


def _workers() -> int:
    from flows.workers import default_workers

    return default_workers()


def _ner_context() -> int:
    from flows.ner_command import CONTEXT_SENTENCES

    return CONTEXT_SENTENCES


def _max_file_bytes() -> int:
    from transforms.read import ReadConfig

    return ReadConfig().max_bytes


def _watch_defaults():
    from flows.watch import WatchConfig

    return WatchConfig()


def _serve_defaults():
    """`flows.serve`, whose constants own the served deployments' defaults."""
    from flows import serve

    return serve


def _report_runs() -> int:
    from warehouse.report.queries import DEFAULT_RUNS

    return DEFAULT_RUNS


class _StoredInWarehouse(_Default):
    """An option whose value, when not given, is the one stored in the warehouse: None here; the help
    shows the built-in default used when the warehouse stores none."""

    @property
    def value(self) -> object:
        return None


def _retain_days() -> int:
    from warehouse.maintenance import DEFAULT_RETAIN_DAYS

    return DEFAULT_RETAIN_DAYS


def _seconds(value: object) -> str:
    return f"{value:.0f}"


def _size(value: object) -> str:
    return f"{value / 2**20:g} MiB" if value % 2**20 == 0 else f"{value:,} bytes"


WRITER_LOCK_TIMEOUT = _Default(lambda: DEFAULT_TIMEOUT_S, _seconds)
SERVED_LOCK_TIMEOUT = _Default(lambda: _serve_defaults().SERVED_LOCK_TIMEOUT_S, _seconds)


def _add_ingest_options(parser: argparse.ArgumentParser, lock_timeout: _Default) -> None:
    parser.add_argument("--input", type=Path, default=None, help="input folder (default: $AKHBAR_INPUT or seeds/)")
    parser.add_argument("--warehouse", type=Path, default=None,
                        help="warehouse folder (default: $AKHBAR_WAREHOUSE)")
    parser.add_argument("--batch-size", type=int, default=_Default(_batch_size),
                        help="files per batch (default: %(default)s)")
    parser.add_argument("--lock-timeout", type=float, default=lock_timeout,
                        help="seconds a run waits for another writer to finish (default: %(default)s)")
    parser.add_argument("--max-file-bytes", type=int,
                        default=_Default(_max_file_bytes, _size, env="AKHBAR_MAX_FILE_BYTES", convert=int),
                        help="larger files are rejected unread (default: $AKHBAR_MAX_FILE_BYTES or %(default)s)")
    parser.add_argument("--workers", type=int, default=_Default(_workers, env="AKHBAR_WORKERS", convert=int),
                        metavar="N", help="pieces each batch's entity tagging is cut into, run in at most one process "
                                          "per core; results never depend on it (default: $AKHBAR_WORKERS or every "
                                          "core, here %(default)s)")
    parser.add_argument("--include", action="append", default=None, metavar="PATTERN",
                        help="only files matching PATTERN (gitignore syntax; repeat, or separate with commas)")
    parser.add_argument("--exclude", action="append", default=None, metavar="PATTERN",
                        help="never read files matching PATTERN (gitignore syntax, like a line of the input "
                             "folder's .akhbarignore; repeat, or separate with commas)")
    parser.add_argument("--no-maintain", action="store_true",
                        help="do not run the daily maintenance after a completed run (see `akhbar maintain`)")
    parser.add_argument("--dask-address", default=_Default(lambda: None, env="AKHBAR_DASK_ADDRESS"),
                        metavar="tcp://HOST:PORT",
                        help="tag on this running Dask cluster's workers instead of local processes "
                             "(default: $AKHBAR_DASK_ADDRESS)")
    parser.add_argument("--webhook-url", default=None,
                        help="POST a JSON notice here when a run or an error expectation fails "
                             "(default: $AKHBAR_WEBHOOK_URL)")


def _add_watch_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--settle-seconds", type=float, default=_Default(lambda: _watch_defaults().settle_s, _seconds),
                        help="a file is complete once its size and mtime are unchanged this long "
                             "(default: %(default)s)")
    parser.add_argument("--sweep-seconds", type=float, default=_Default(lambda: _watch_defaults().sweep_s, _seconds),
                        help="compare the whole folder with the ledger this often (default: %(default)s)")
    parser.add_argument("--max-wait-seconds", type=float,
                        default=_Default(lambda: _watch_defaults().max_wait_s, _seconds),
                        help="ingest settled files after this long even if another file is still being "
                             "written (default: %(default)s)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="akhbar", description="Arabic news folders into a DuckDB warehouse.")
    parser.add_argument("--version", action="version", version=f"akhbar {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="one ingest pass over the input folder")
    _add_ingest_options(run, lock_timeout=WRITER_LOCK_TIMEOUT)
    run.set_defaults(handler=cmd_run)

    ner = commands.add_parser("ner", help="tag tokens (one per line, blank line between sentences) with the NER model")
    ner.add_argument("file", nargs="?", type=Path, default=None, help="token file (default: standard input)")
    ner.add_argument(
        "--context",
        type=int,
        default=_Default(_ner_context),
        metavar="N",
        help="without -DOCSTART- lines, a sentence's document context is the N sentences on each side"
        " (default %(default)s; 0 tags every sentence on its own)",
    )
    ner.set_defaults(handler=cmd_ner, warehouse=None)

    sql = commands.add_parser("sql", help="run read-only SQL against the warehouse (a prompt without QUERY)")
    sql.add_argument("--warehouse", type=Path, default=None, help="warehouse folder (default: $AKHBAR_WAREHOUSE)")
    sql.add_argument("--format", choices=("table", "csv", "json", "jsonl", "markdown"), default="table")
    sql.add_argument("--max-rows", type=int, default=None, metavar="N", help="print at most N rows per result")
    sql.add_argument("-f", "--file", type=Path, default=None, metavar="FILE",
                     help="read the statements from FILE ('-': standard input)")
    sql.add_argument("--as-of", default=None, metavar="RUN_ID|TIMESTAMP",
                     help="query the warehouse as it was right after that run, or at that time (within the "
                          "retention of `akhbar maintain`)")
    sql.add_argument("query", nargs="?", default=None,
                     help="statements separated by ';' ('-': standard input); every result is printed, in "
                          "order; every warehouse relation is visible unqualified")
    sql.set_defaults(handler=cmd_sql)

    search = commands.add_parser("search", help="Arabic search over the articles, ranked, with a snippet")
    search.add_argument("query", help="one or more words; spelling variants and leading proclitics are folded")
    search.add_argument("--warehouse", type=Path, default=None, help="warehouse folder (default: $AKHBAR_WAREHOUSE)")
    search.add_argument("--limit", type=int, default=10, metavar="N", help="articles to show (default: %(default)s)")
    search.add_argument("--publisher", default=None, help="only this publisher's articles")
    search.add_argument("--since", default=None, metavar="DATE", help="only articles published on or after DATE")
    search.set_defaults(handler=cmd_search)

    attach = commands.add_parser("attach", help="print the SQL that attaches the warehouse in any DuckDB client")
    attach.add_argument("--warehouse", type=Path, default=None, help="warehouse folder (default: $AKHBAR_WAREHOUSE)")
    attach.set_defaults(handler=cmd_attach)

    watch = commands.add_parser("watch", help="ingest files as they arrive, once completely written")
    _add_ingest_options(watch, lock_timeout=WRITER_LOCK_TIMEOUT)
    _add_watch_options(watch)
    watch.add_argument("--deployment", default=None, metavar="FLOW/DEPLOYMENT",
                       help="trigger this served deployment (e.g. akhbar-ingest/on-arrival) instead of "
                            "running the flow in this process")
    watch.set_defaults(handler=cmd_watch)

    serve = commands.add_parser("serve", help="serve the nightly and on-arrival ingest deployments")
    _add_ingest_options(serve, lock_timeout=SERVED_LOCK_TIMEOUT)
    _add_watch_options(serve)
    serve.add_argument("--cron", default=_Default(lambda: _serve_defaults().DEFAULT_CRON, env="AKHBAR_CRON"),
                       help="nightly schedule (default: $AKHBAR_CRON or '%(default)s')")
    serve.add_argument("--timezone",
                       default=_Default(lambda: _serve_defaults().DEFAULT_TIMEZONE, env="AKHBAR_TIMEZONE"),
                       help="timezone of the schedule, IANA name (default: $AKHBAR_TIMEZONE or %(default)s)")
    serve.add_argument("--no-watch", action="store_true",
                       help="serve the deployments without watching the folder")
    serve.set_defaults(handler=cmd_serve)

    maintain = commands.add_parser("maintain", help="merge small files, expire old snapshots, delete unused files")
    maintain.add_argument("--warehouse", type=Path, default=None, help="warehouse folder (default: $AKHBAR_WAREHOUSE)")
    maintain.add_argument("--retain-days", type=int, default=_StoredInWarehouse(_retain_days), metavar="N",
                          help="keep snapshots (for --as-of) this many days; stored in the warehouse for later "
                               "passes (default: the stored value, else %(default)s)")
    maintain.add_argument("--lock-timeout", type=float, default=WRITER_LOCK_TIMEOUT,
                          help="seconds to wait for a running writer (default: %(default)s)")
    maintain.set_defaults(handler=cmd_maintain)

    backup = commands.add_parser("backup", help="a consistent copy of the warehouse, safe during a run")
    backup.add_argument("dest", type=Path, help="new or empty folder for the copy")
    backup.add_argument("--warehouse", type=Path, default=None, help="warehouse folder (default: $AKHBAR_WAREHOUSE)")
    backup.set_defaults(handler=cmd_backup)

    report = commands.add_parser("report", help="recent runs and failed validations")
    report.add_argument("--warehouse", type=Path, default=None, help="warehouse folder (default: $AKHBAR_WAREHOUSE)")
    report.add_argument("--html", type=Path, default=None, metavar="FILE",
                        help="also write a self-contained monitoring page to FILE")
    report.add_argument("--runs", type=int, default=_Default(_report_runs),
                        help="how many recent runs to show (default: %(default)s)")
    report.set_defaults(handler=cmd_report)
    for command in (run, sql, search, attach, watch, serve, maintain, backup, report):
        _add_catalog_options(command)
    return parser


def _add_catalog_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--catalog", default=None, metavar="postgresql://USER@HOST:PORT/DB",
                        help="keep the catalog in this PostgreSQL database, shared by every machine whose "
                             "warehouse folder is bound to it (default: $AKHBAR_CATALOG, else catalog.sqlite "
                             "in the warehouse folder); the first use binds the folder")
    parser.add_argument("--data-path", type=Path, default=None, metavar="DIR",
                        help="with --catalog: the Parquet files' folder, at the same path on every machine "
                             "(default: $AKHBAR_DATA_PATH, else data/ in the warehouse folder)")


def _bind_catalog(args: argparse.Namespace) -> str | None:
    """Bind the warehouse folder to --catalog/--data-path (or $AKHBAR_CATALOG/$AKHBAR_DATA_PATH); the
    problem, if any."""
    from warehouse.catalog import CatalogError, bind

    catalog = args.catalog or os.environ.get("AKHBAR_CATALOG") or None
    data_path = args.data_path or (Path(os.environ["AKHBAR_DATA_PATH"]) if os.environ.get("AKHBAR_DATA_PATH") else None)
    try:
        bind(args.warehouse, catalog, data_path)
    except CatalogError as error:
        return str(error)
    return None


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _resolve_defaults(args)
    if getattr(args, "input", "absent") is None:
        args.input = _default_input()
    if args.warehouse is None:
        args.warehouse = _default_warehouse()
    if hasattr(args, "catalog"):
        problem = _bind_catalog(args)
        if problem is not None:
            return _usage_error(problem)
    if getattr(args, "batch_size", 1) < 1:
        return _usage_error("--batch-size must be at least 1")
    if getattr(args, "workers", 1) < 1:
        return _usage_error("--workers must be at least 1")
    if getattr(args, "max_file_bytes", 1) < 1:
        return _usage_error("--max-file-bytes must be at least 1")
    if hasattr(args, "include"):
        problem = _folder_filter(args)
        if problem is not None:
            return _usage_error(problem)
    return args.handler(args)


def _folder_filter(args: argparse.Namespace) -> str | None:
    """Set ``args.folder_filter`` from --include/--exclude; the problem with them or .akhbarignore, if any."""
    from transforms.discover import FolderFilter, patterns

    args.folder_filter = FolderFilter(include=patterns(args.include), exclude=patterns(args.exclude))
    if args.input.is_dir():
        try:
            args.folder_filter.compile(args.input)
        except ValueError as error:
            return str(error)
    return None


def entry() -> int:
    """The `akhbar` command: ``main``, and the process's objects left out of the collector's last pass
    at shutdown (`flows.workers.settle_heap`), which otherwise holds the exit up for seconds."""
    code = main()
    settle_heap()
    return code


if __name__ == "__main__":
    sys.exit(entry())
