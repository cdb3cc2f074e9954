"""One writer at a time: a second `akhbar run` waits a bounded time, then gives up; readers never wait.

The first writer is frozen (SIGSTOP) right after it staged its first batch, i.e. while it holds the
writer lock in the middle of a run, so the test decides the timing instead of racing it.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.warehouse_state import query, start_cli, state, unreferenced_files

pytestmark = pytest.mark.e2e


def _wait_until_staged(warehouse: Path, process, timeout: float = 240) -> None:
    staging = warehouse / "staging"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if staging.exists() and any(staging.rglob("*.parquet")):
            return
        if process.poll() is not None:
            raise AssertionError(f"first writer ended early: {process.communicate()[1][-3000:]}")
        time.sleep(0.02)
    raise AssertionError("first writer never staged a batch")


def test_two_writers_and_a_reader(prefect_api_url, akhbar, seed_input: Path, warehouse_dir: Path) -> None:
    args = ["run", "--input", str(seed_input), "--warehouse", str(warehouse_dir)]
    first = start_cli([*args, "--batch-size", "1"], prefect_api_url)
    waiter = None
    frozen = False
    try:
        _wait_until_staged(warehouse_dir, first)
        os.kill(first.pid, signal.SIGSTOP)
        frozen = True
        holder = (warehouse_dir / ".writer.lock").read_text()
        assert holder.startswith(f"pid {first.pid} ")

        # A reader works and sees the last commit: nothing of the half-done run.
        during = akhbar(["sql", "--warehouse", str(warehouse_dir), "--format", "csv",
                         "SELECT (SELECT count(*) FROM articles) AS articles, (SELECT count(*) FROM runs) AS runs"])
        assert during.returncode == 0, during.stderr
        assert during.stdout.splitlines() == ["articles,runs", "0,0"]
        # A second writer (in this process) waits for its --lock-timeout, then exits 1 with a one-line reason.
        started = time.monotonic()
        busy_run = akhbar([*args, "--lock-timeout", "2"])
        assert busy_run.returncode == 1, busy_run.stderr[-2000:]
        assert busy_run.stderr.count("\n") == 1  # exactly one line
        reason = busy_run.stderr.strip()
        assert reason.startswith("akhbar: run failed: another akhbar writer holds")
        assert f"pid {first.pid}" in reason and "gave up after 2 s" in reason
        assert time.monotonic() - started >= 2

        # A patient second writer queues behind the first and then finds nothing left to do.
        waiter = start_cli([*args, "--lock-timeout", "300"], prefect_api_url)
        time.sleep(1)
        os.kill(first.pid, signal.SIGCONT)
        frozen = False
        out, err = first.communicate(timeout=300)
        assert first.returncode == 0, err[-3000:]
        assert "5 loaded" in out
        out, err = waiter.communicate(timeout=300)
        assert waiter.returncode == 0, err[-3000:]
        assert "0 loaded" in out and "5 unchanged" in out
    finally:
        for process in (first, waiter):
            if process is not None and process.poll() is None:
                if frozen and process is first:
                    os.kill(first.pid, signal.SIGCONT)
                process.kill()
                process.communicate()

    runs = query(warehouse_dir, "SELECT status, files_loaded FROM runs ORDER BY started_at")
    assert runs.rows() == [("completed", 5), ("completed", 0)]  # the one that gave up left no trace
    ledger = query(warehouse_dir, "SELECT source_path, count(*) AS n FROM ledger_history GROUP BY ALL")
    assert ledger.height == 5 and set(ledger["n"]) == {1}
    assert len(state(warehouse_dir)["articles"]) == 5
    assert unreferenced_files(warehouse_dir) == set()
