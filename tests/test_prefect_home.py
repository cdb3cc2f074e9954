"""flows/prefect_home.py: the Prefect database template `make setup` builds."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest

from flows import prefect_home


def _server_start(outcomes: list[int], calls: list[str]):
    """A stand-in for the scratch server's process: exits as ``outcomes`` says, creating its database."""

    def run(args, env, **_):
        calls.append(env["PREFECT_HOME"])
        code = outcomes.pop(0)
        with sqlite3.connect(Path(env["PREFECT_HOME"]) / prefect_home.DATABASE) as connection:
            connection.execute("CREATE TABLE flow_run (id TEXT)")
        stderr = "" if code == 0 else "AssertionError: Reactive triggers not started\n"
        return subprocess.CompletedProcess(args, code, None, stderr)

    return run


def test_a_failed_server_start_is_tried_again_in_a_new_scratch_home(tmp_path, monkeypatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(prefect_home.subprocess, "run", _server_start([1, 0], calls))
    template = prefect_home.build(tmp_path / "share" / "prefect.db")
    assert len(calls) == 2 and calls[0] != calls[1]
    with sqlite3.connect(template) as connection:
        assert connection.execute("SELECT name FROM sqlite_master").fetchall() == [("flow_run",)]


def test_the_last_error_is_named_when_every_attempt_fails(tmp_path, monkeypatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(prefect_home.subprocess, "run", _server_start([1, 1, 1], calls))
    with pytest.raises(RuntimeError, match="3 attempts: AssertionError: Reactive triggers not started"):
        prefect_home.build(tmp_path / "prefect.db")
    assert len(calls) == 3 and not (tmp_path / "prefect.db").exists()
