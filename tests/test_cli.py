"""`flows.cli`: failures reported by type, usage errors and exit codes, and option defaults read from the one
place that owns each (in-process, no Prefect run)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from flows.cli import EXIT_FAILED, build_parser, main
from flows.errors import BlockingValidationError, RunFailedError
from tests.conftest import REPO
from warehouse.lock import DEFAULT_TIMEOUT_S, WarehouseBusyError


def _parsed(*argv: str):
    from flows.cli import _resolve_defaults

    args = build_parser().parse_args(list(argv))
    _resolve_defaults(args)
    return args


@pytest.mark.parametrize(("error", "line"), [
    (BlockingValidationError("blocking validation failure: articles.x: 2 rows"),
     "akhbar: run failed: blocking validation failure: articles.x: 2 rows"),
    (RunFailedError("OSError: disk\nfull"), "akhbar: run failed: OSError: disk full"),
    (WarehouseBusyError("another akhbar writer holds /wh"), "akhbar: run failed: another akhbar writer holds /wh"),
    (ValueError("unexpected"), "akhbar: run failed: ValueError: unexpected"),
])
def test_a_failed_run_exits_1_with_one_line(tmp_path: Path, monkeypatch, capsys, error: Exception, line: str) -> None:
    import flows.ingest

    def ingest(*args, **kwargs):
        raise error

    monkeypatch.setattr(flows.ingest, "ingest", ingest)
    assert main(["run", "--input", str(tmp_path), "--warehouse", str(tmp_path / "wh")]) == EXIT_FAILED
    assert capsys.readouterr().err == line + "\n"


def test_ingest_defaults_come_from_their_owners(monkeypatch) -> None:
    from flows.serve import DEFAULT_CRON, DEFAULT_TIMEZONE, SERVED_LOCK_TIMEOUT_S
    from flows.watch import WatchConfig
    from transforms.pipeline import PipelineConfig
    from transforms.read import ReadConfig

    monkeypatch.delenv("AKHBAR_MAX_FILE_BYTES", raising=False)
    monkeypatch.delenv("AKHBAR_CRON", raising=False)
    monkeypatch.delenv("AKHBAR_TIMEZONE", raising=False)
    watch = WatchConfig()
    for command, lock_timeout in (("run", DEFAULT_TIMEOUT_S), ("watch", DEFAULT_TIMEOUT_S),
                                  ("serve", SERVED_LOCK_TIMEOUT_S)):
        args = _parsed(command)
        assert (args.batch_size, args.max_file_bytes, args.lock_timeout) == (
            PipelineConfig().batch_size, ReadConfig().max_bytes, lock_timeout), command
    args = _parsed("serve")
    assert (args.settle_seconds, args.sweep_seconds, args.max_wait_seconds) == (
        watch.settle_s, watch.sweep_s, watch.max_wait_s)
    assert (args.cron, args.timezone) == (DEFAULT_CRON, DEFAULT_TIMEZONE)
    assert (_parsed("run").lock_timeout, _parsed("serve").lock_timeout) == (60, 3600)  # the CLI's promise

    monkeypatch.setenv("AKHBAR_MAX_FILE_BYTES", "1000")
    monkeypatch.setenv("AKHBAR_CRON", "5 4 * * *")
    assert _parsed("watch").max_file_bytes == 1000 and _parsed("serve").cron == "5 4 * * *"
    assert _parsed("run", "--max-file-bytes", "7", "--batch-size", "3").max_file_bytes == 7


def test_help_shows_the_owned_defaults(capsys) -> None:
    from transforms.pipeline import PipelineConfig

    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert f"files per batch (default: {PipelineConfig().batch_size})" in help_text
    assert "$AKHBAR_MAX_FILE_BYTES or 50 MiB" in help_text and "(default: 3600)" in help_text
    assert "$AKHBAR_CRON or '0 2 * * *'" in help_text and "unchanged this long (default: 2)" in help_text


def test_commands_that_do_not_ingest_do_not_import_the_pipeline() -> None:
    probe = ("import sys; from flows.cli import build_parser; build_parser().parse_args(['sql', 'SELECT 1']); "
             "print(sorted(m for m in ('polars', 'transforms.pipeline', 'transforms.read') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_cli_usage_and_missing_warehouse(akhbar, tmp_path: Path) -> None:
    assert akhbar(["run", "--input", str(tmp_path / "nope")]).returncode == 2
    assert akhbar(["frobnicate"]).returncode == 2
    missing = akhbar(["sql", "--warehouse", str(tmp_path / "none"), "SELECT 1"])
    assert missing.returncode == 1 and "no warehouse" in missing.stderr


def test_workers_default_to_every_core_and_come_from_the_environment(monkeypatch, capsys) -> None:
    from flows.workers import default_workers

    monkeypatch.delenv("AKHBAR_WORKERS", raising=False)
    assert default_workers() == len(os.sched_getaffinity(0))
    assert {_parsed(command).workers for command in ("run", "watch", "serve")} == {default_workers()}
    monkeypatch.setenv("AKHBAR_WORKERS", "3")
    assert _parsed("serve").workers == 3 and _parsed("run", "--workers", "1").workers == 1
    assert main(["run", "--workers", "0"]) == 2
    assert "--workers must be at least 1" in capsys.readouterr().err
