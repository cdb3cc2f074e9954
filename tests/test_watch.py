"""`akhbar watch`: settle detection, retries by error type, and a real watcher ingesting a file written in chunks."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from flows.errors import BlockingValidationError, RunFailedError
from flows.watch import FolderWatcher, Retry, RetryPolicy, Settler, WatchConfig, deployment_trigger, retry_for
from tests.conftest import SEEDS
from tests.warehouse_state import query, start_cli
from warehouse.lock import WarehouseBusyError
from warehouse.report.queries import RecordedRun
from warehouse.store import WarehouseMissingError


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _settler(settle_s: float = 2.0) -> tuple[Settler, Clock]:
    clock = Clock()
    # Wall time far in the past: file mtimes (now) always look young, so only observation counts.
    return Settler(settle_s, clock=clock, wall=lambda: 0.0), clock


def test_a_growing_file_settles_only_after_its_last_write(tmp_path: Path) -> None:
    settler, clock = _settler()
    path = tmp_path / "a.txt"
    path.write_bytes(b"first chunk")
    settler.touch("a.txt", tmp_path)
    clock.now += 1.5
    with path.open("ab") as handle:
        handle.write(b" second chunk")
    assert settler.poll(tmp_path) == ({}, ["a.txt"])  # changed since seen: the clock restarts
    clock.now += 1.9
    assert settler.poll(tmp_path) == ({}, ["a.txt"])
    clock.now += 0.2
    ready, waiting = settler.poll(tmp_path)
    info = path.stat()
    assert ready == {"a.txt": (info.st_size, info.st_mtime_ns)} and waiting == []


def test_old_files_and_vanished_files(tmp_path: Path) -> None:
    settler = Settler(2.0)
    old = tmp_path / "renamed-into-place.txt"
    old.write_bytes(b"complete")
    os.utime(old, (time.time() - 60, time.time() - 60))
    (tmp_path / "gone.part").write_bytes(b"x")
    settler.touch(old.name, tmp_path)
    settler.touch("gone.part", tmp_path)
    (tmp_path / "gone.part").unlink()
    ready, waiting = settler.poll(tmp_path)
    assert list(ready) == [old.name] and waiting == []  # settled at once; the vanished one is dropped
    assert "gone.part" not in settler.pending


def _watcher(tmp_path: Path, trigger, attempts: int = 5, **config) -> tuple[FolderWatcher, Clock]:
    source = tmp_path / "in"
    source.mkdir(exist_ok=True)
    watcher = FolderWatcher(source, tmp_path / "wh", trigger,
                            WatchConfig(settle_s=2.0, retry=RetryPolicy(attempts=attempts, base_s=0.01, max_s=0.02),
                                        **config))
    clock = Clock()
    watcher.settler.clock, watcher.settler.wall = clock, lambda: 0.0
    return watcher, clock


def test_no_run_while_another_file_is_still_being_written(tmp_path: Path) -> None:
    calls: list[int] = []
    watcher, clock = _watcher(tmp_path, lambda: calls.append(1), max_wait_s=30.0)
    (watcher.root / "done.txt").write_bytes(b"done")
    (watcher.root / "busy.txt").write_bytes(b"1")
    watcher.on_change(str(watcher.root / "done.txt"))
    watcher.on_change(str(watcher.root / "busy.txt"))
    stop = threading.Event()
    for step in range(10):  # busy.txt grows every second for 10 s; done.txt settled long ago
        clock.now += 1.0
        (watcher.root / "busy.txt").write_bytes(b"1" * (step + 2))
        watcher.step(stop)
    assert calls == []
    clock.now += 2.0
    watcher.step(stop)  # quiet folder: one run takes both
    assert calls == [1] and set(watcher.done) == {"done.txt", "busy.txt"} and not watcher.settler.pending
    watcher.on_change(str(watcher.root / "done.txt"))  # touched, same stamp: nothing new
    clock.now += 5.0
    watcher.step(stop)
    assert calls == [1, 1]  # the flow decides by content; the watcher only saw an event
    assert watcher.runs == 2


def test_max_wait_lets_settled_files_through(tmp_path: Path) -> None:
    calls: list[int] = []
    watcher, clock = _watcher(tmp_path, lambda: calls.append(1), max_wait_s=5.0)
    (watcher.root / "done.txt").write_bytes(b"done")
    watcher.on_change(str(watcher.root / "done.txt"))
    stop = threading.Event()
    for step in range(10):
        clock.now += 1.0
        (watcher.root / "busy.txt").write_bytes(b"1" * (step + 1))
        watcher.on_change(str(watcher.root / "busy.txt"))
        watcher.step(stop)
    assert calls == [1] and "done.txt" in watcher.done and "busy.txt" not in watcher.done


def test_transient_errors_are_retried_with_backoff(tmp_path: Path) -> None:
    outcomes: list[Exception | None] = [WarehouseBusyError("busy"), ConnectionError("api down"), None]

    def trigger() -> None:
        outcome = outcomes.pop(0)
        if outcome is not None:
            raise outcome

    watcher, _ = _watcher(tmp_path, trigger)
    assert watcher.ingest({"a.txt": (1, 1)}, threading.Event()) is True
    assert outcomes == [] and watcher.done == {"a.txt": (1, 1)}


def test_retry_policy_backs_off_exponentially_up_to_a_cap() -> None:
    policy = RetryPolicy(attempts=6, base_s=2.0, max_s=10.0)
    assert [policy.delay(attempt) for attempt in range(1, 7)] == [2.0, 4.0, 8.0, 10.0, 10.0, None]
    assert RetryPolicy(attempts=1).delay(1) is None


def test_failures_are_classified_by_type_not_message() -> None:
    assert retry_for(BlockingValidationError("anything")) is Retry.WHEN_CHANGED
    assert retry_for(RunFailedError("blocking validation failure: the words do not matter")) is Retry.AT_NEXT_SWEEP
    assert retry_for(WarehouseBusyError("busy")) is Retry.AFTER_BACKOFF
    assert retry_for(ConnectionError("BlockingValidationError")) is Retry.AFTER_BACKOFF


def test_retries_are_bounded_and_failed_runs_wait_for_a_sweep(tmp_path: Path) -> None:
    attempts: list[int] = []

    def always_busy() -> None:
        attempts.append(1)
        raise WarehouseBusyError("busy")

    watcher, _ = _watcher(tmp_path, always_busy, attempts=3)
    assert watcher.ingest({"a.txt": (1, 1)}, threading.Event()) is False
    assert len(attempts) == 3 and watcher.done == {} and watcher.runs == 0

    def fails(error: Exception):
        def trigger() -> None:
            attempts.append(1)
            raise error
        return trigger

    attempts.clear()
    watcher.trigger = fails(RunFailedError("boom"))
    assert watcher.ingest({"b.txt": (1, 1)}, threading.Event()) is False
    assert len(attempts) == 1 and "b.txt" not in watcher.done  # the next sweep finds it again
    watcher.trigger = fails(BlockingValidationError("boom"))
    assert watcher.ingest({"c.txt": (1, 1)}, threading.Event()) is False
    assert len(attempts) == 2 and watcher.done["c.txt"] == (1, 1)  # same bytes, same verdict: not retried
    assert watcher.runs == 2


def test_a_stop_request_ends_the_backoff(tmp_path: Path) -> None:
    def busy() -> None:
        raise WarehouseBusyError("busy")

    watcher = FolderWatcher(tmp_path, tmp_path / "wh", busy,
                            WatchConfig(retry=RetryPolicy(attempts=5, base_s=600.0, max_s=600.0)))
    stop = threading.Event()
    stop.set()
    started = time.monotonic()
    assert watcher.ingest({"a.txt": (1, 1)}, stop) is False
    assert time.monotonic() - started < 5


class _FlowRun:
    """What `run_deployment` returns, as far as the trigger reads it."""

    def __init__(self, state, warehouse: Path) -> None:
        self.id, self.name, self.state = "0b1c", "calm-otter", state
        self.parameters = {"input_dir": "/in", "warehouse_dir": str(warehouse)}


@pytest.mark.parametrize(("state", "recorded", "expected"), [
    ("failed", None, WarehouseBusyError),  # never got past the writer lock: no `runs` row
    ("failed", RecordedRun("0b1c", "failed", "blocking validation failure: x", blocked=True),
     BlockingValidationError),
    ("failed", RecordedRun("0b1c", "failed", "OSError: disk full", blocked=False), RunFailedError),
    ("crashed", None, RuntimeError),
    ("running", None, TimeoutError),
])
def test_deployment_runs_are_classified_by_their_warehouse_record(
    tmp_path: Path, monkeypatch, state: str, recorded, expected: type[Exception]
) -> None:
    import prefect.deployments
    from prefect import states

    import warehouse.report.queries

    made = {"failed": states.Failed, "crashed": states.Crashed, "running": states.Running}[state]
    # The message says "blocking" for every case: only the warehouse record may decide.
    flow_run = _FlowRun(made(message="BlockingValidationError: blocking validation failure"), tmp_path / "wh")
    looked_up: list[tuple[Path, str]] = []

    def read_recorded_run(root: Path, run_id: str):
        looked_up.append((root, run_id))
        return recorded

    monkeypatch.setattr(prefect.deployments, "run_deployment", lambda *args, **kwargs: flow_run)
    monkeypatch.setattr(warehouse.report.queries, "read_recorded_run", read_recorded_run)
    with pytest.raises(expected) as raised:
        deployment_trigger("akhbar-ingest/on-arrival", timeout_s=1)()
    assert type(raised.value) is expected
    assert looked_up == ([(tmp_path / "wh", "0b1c")] if state == "failed" else [])


def test_a_completed_deployment_run_is_a_success(tmp_path: Path, monkeypatch) -> None:
    import prefect.deployments
    from prefect import states

    monkeypatch.setattr(prefect.deployments, "run_deployment",
                        lambda *args, **kwargs: _FlowRun(states.Completed(), tmp_path))
    deployment_trigger("akhbar-ingest/on-arrival")()


def _ledger(warehouse: Path) -> list[dict]:
    import duckdb

    try:
        return query(warehouse, "SELECT * FROM ledger_history ORDER BY recorded_at").to_dicts()
    except (WarehouseMissingError, duckdb.CatalogException):  # before the first run's schema commit
        return []


def _wait_for(predicate, timeout: float, process) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if process.poll() is not None:
            raise AssertionError(f"watcher exited early: {process.communicate()[1][-3000:]}")
        time.sleep(0.25)
    raise AssertionError("timed out waiting for the watcher")


@pytest.mark.e2e
def test_watcher_ingests_a_chunked_file_once_after_its_last_chunk(prefect_api_url, tmp_path: Path) -> None:
    source, warehouse = tmp_path / "input", tmp_path / "wh"
    source.mkdir()
    seeds = sorted(SEEDS.iterdir())
    for seed in seeds[:2]:  # present before the watcher starts: the first sweep takes them
        shutil.copy2(seed, source)
    process = start_cli(["watch", "--input", str(source), "--warehouse", str(warehouse),
                         "--settle-seconds", "2", "--sweep-seconds", "4"], prefect_api_url)
    try:
        _wait_for(lambda: len(_ledger(warehouse)) == 2, 240, process)

        content = seeds[2].read_bytes()
        chunks = [content[i:i + len(content) // 6 + 1] for i in range(0, len(content), len(content) // 6 + 1)]
        target = source / "slow.txt"
        with target.open("wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
                handle.flush()
                time.sleep(0.5)  # well under the 2 s settle time
        last_chunk_at = datetime.now(UTC)
        _wait_for(lambda: any(r["source_path"] == "slow.txt" for r in _ledger(warehouse)), 120, process)

        # Touched with the same bytes, plus a file renamed into place: one more run, no new row for slow.txt.
        target.touch()
        staged = source / "incoming.part"
        shutil.copy2(seeds[3], staged)
        staged.rename(source / "renamed.txt")
        _wait_for(lambda: any(r["source_path"] == "renamed.txt" for r in _ledger(warehouse)), 120, process)

        # A browser's download: the first bytes as .part, a stall longer than the settle time, the rest, the rename.
        download, complete = source / "download.txt.part", seeds[4].read_bytes()
        with download.open("wb") as handle:
            handle.write(complete[:1500])
            handle.flush()
            time.sleep(2.5)
            handle.write(complete[1500:])
        download.rename(source / "download.txt")
        _wait_for(lambda: any(r["source_path"] == "download.txt" for r in _ledger(warehouse)), 120, process)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            _, stderr = process.communicate(timeout=60)
        except Exception:
            process.kill()
            process.communicate()
            raise
    assert process.returncode == 0, stderr[-3000:]
    assert "stopped after" in stderr

    rows = _ledger(warehouse)
    slow = [r for r in rows if r["source_path"] == "slow.txt"]
    assert len(slow) == 1 and slow[0]["status"] == "loaded"
    assert slow[0]["sha256"] == hashlib.sha256(content).hexdigest()  # all chunks, not a prefix
    assert sorted(r["source_path"] for r in rows) == sorted(
        [seeds[0].name, seeds[1].name, "renamed.txt", "slow.txt", "download.txt"])  # never a row for a .part
    run = query(warehouse, f"SELECT started_at FROM runs WHERE run_id = '{slow[0]['run_id']}'").row(0, named=True)
    assert run["started_at"] >= last_chunk_at
    body = query(warehouse, "SELECT body FROM articles WHERE source_path = 'slow.txt'")["body"][0]
    ending = "الاستقرار المستديم فيها."
    assert ending.encode() in chunks[-1] and body.endswith(ending)  # the last chunk's text is in the article
    assert query(warehouse, "SELECT count(*) AS n FROM articles")["n"][0] == 5
    download_row = next(r for r in rows if r["source_path"] == "download.txt")
    assert download_row["status"] == "loaded" and download_row["sha256"] == hashlib.sha256(complete).hexdigest()
