"""SIGTERM and SIGINT stop a run, and `akhbar watch`, with every process they started.

These runs go without PREFECT_API_URL, so they start Prefect's temporary server (a uvicorn subprocess:
`flows.prefect_server` for `akhbar run`, Prefect's own for `akhbar watch`), as they do for an operator;
the reference and follow-up runs happen in this process, on the session's test server. The stopped
commands share one Prefect home, so only the first one's temporary server creates its database.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import SEEDS, run_main
from tests.warehouse_state import DATA_RELATIONS, REPO, state

pytestmark = pytest.mark.e2e

START_TIMEOUT_S = 300  # a temporary server, then the first batches, on a loaded machine
STOP_TIMEOUT_S = 90    # from the signal to the end of the command, its server stopped and reaped
GONE_TIMEOUT_S = 30    # for every process of the command once the command has exited
BATCH_SIZE = "2"


def _variants() -> dict[str, str]:
    """One more article per seed (its words reversed), so a stopped run has batches left."""
    variants = {}
    for seed in sorted(SEEDS.iterdir()):
        lines = seed.read_text(encoding="utf-8").splitlines()
        variants[f"variant-{seed.name}"] = "\n".join(" ".join(reversed(line.split())) for line in lines) + "\n"
    return variants


def _add_variants(source: Path) -> None:
    for name, text in _variants().items():
        (source / name).write_text(text, encoding="utf-8")


def _seeds_only(root: Path) -> Path:
    source = root / "input"
    shutil.copytree(SEEDS, source)
    return source


def _run_args(source: Path, warehouse: Path) -> list[str]:
    return ["run", "--input", str(source), "--warehouse", str(warehouse), "--batch-size", BATCH_SIZE]


@pytest.fixture(scope="module")
def clean_state(prefect_api_url, tmp_path_factory) -> dict:
    """One clean run over the seeds and their variants."""
    root = tmp_path_factory.mktemp("clean")
    source = _seeds_only(root)
    _add_variants(source)
    assert run_main(_run_args(source, root / "wh")) == 0
    return state(root / "wh")


@pytest.fixture(scope="module")
def prefect_home(tmp_path_factory) -> Path:
    """The temporary servers' home, shared: its database is made (migrated) once, not per command."""
    return tmp_path_factory.mktemp("prefect-home")


class Command:
    """`akhbar ...` in its own session, without PREFECT_API_URL, its output in files the test polls."""

    def __init__(self, args: list[str], root: Path, prefect_home: Path) -> None:
        env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
        env.update(PREFECT_HOME=str(prefect_home), PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="240")
        self.stdout, self.stderr = root / "stdout.txt", root / "stderr.txt"
        with self.stdout.open("wb") as out, self.stderr.open("wb") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "flows.cli", *args], cwd=REPO, env=env, stdout=out, stderr=err,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )

    def wait_for(self, predicate, what: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not predicate():
            if self.process.poll() is not None:
                raise AssertionError(f"exited {self.process.returncode} before {what}: {self.errors()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}: {self.errors()[-3000:]}")
            time.sleep(0.05)

    def output(self) -> str:
        return self.stdout.read_text(encoding="utf-8", errors="replace")

    def errors(self) -> str:
        return self.stderr.read_text(encoding="utf-8", errors="replace")

    def stop(self, signum: int) -> tuple[dict[int, str], int]:
        """Send ``signum`` to the command alone (as `kill` does); the processes it had, and its exit code."""
        tree = _descendants(self.process.pid)
        assert any(_is_server(cmd) for cmd in tree.values()), f"no temporary server among {tree}"
        os.kill(self.process.pid, signum)
        try:
            return tree, self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"still running {STOP_TIMEOUT_S} s after {signal.Signals(signum).name}: "
                                 f"{self.errors()[-3000:]}") from None

    def kill_leftovers(self) -> None:
        """Whatever happened, leave nothing of this command running."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        for pid in _processes_of_session(self.process.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.process.poll() is None:
            self.process.wait(timeout=30)


def _is_server(command_line: str) -> bool:
    """A temporary Prefect server's process: the run's (`flows.prefect_server`) or Prefect's own."""
    return "uvicorn" in command_line or "flows.prefect_server" in command_line


def _stat(pid: int) -> tuple[int, int, str] | None:
    """(parent pid, session id, state) of a live process, None once it is gone or a zombie."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2:].split()  # the command name may hold spaces and parentheses
    state_code, ppid, session = fields[0], int(fields[1]), int(fields[3])
    return None if state_code in ("Z", "X") else (ppid, session, state_code)


def _command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _all_pids() -> list[int]:
    return [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]


def _descendants(root_pid: int) -> dict[int, str]:
    """``root_pid`` and every process below it, with their command lines."""
    children: dict[int, list[int]] = {}
    for pid in _all_pids():
        info = _stat(pid)
        if info is not None:
            children.setdefault(info[0], []).append(pid)
    found, todo = {}, [root_pid]
    while todo:
        pid = todo.pop()
        found[pid] = _command_line(pid)
        todo.extend(children.get(pid, []))
    return found


def _processes_of_session(session: int) -> list[int]:
    return [pid for pid in _all_pids() if (info := _stat(pid)) is not None and info[1] == session]


def _assert_all_gone(command: Command, tree: dict[int, str]) -> None:
    """No process of the command outlives it: neither one it had at the signal, nor one started after."""
    deadline = time.monotonic() + GONE_TIMEOUT_S
    while True:
        alive = {pid: tree.get(pid) or _command_line(pid) for pid in
                 {*(pid for pid in tree if _stat(pid) is not None), *_processes_of_session(command.process.pid)}}
        if not alive or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert alive == {}, f"outlived the command: {alive}"


def _stopped_line(name: str) -> str:
    return f"akhbar: run stopped by {name}; nothing was loaded"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stopped_run_ends_its_server_and_loads_nothing(
    signum, clean_state, prefect_api_url, prefect_home, tmp_path
) -> None:
    source, warehouse = _seeds_only(tmp_path), tmp_path / "wh"
    assert run_main(_run_args(source, warehouse)) == 0
    before = state(warehouse)
    _add_variants(source)

    command = Command(_run_args(source, warehouse), tmp_path, prefect_home)
    try:
        # Mid-run: the first batch is staged, the writer lock is held, more batches are to come.
        command.wait_for(lambda: "batch 2:" in command.output(), "the second batch")
        tree, returncode = command.stop(signum)
        _assert_all_gone(command, tree)
    finally:
        command.kill_leftovers()
    assert returncode == 1, command.errors()[-3000:]
    assert command.errors().splitlines() == [_stopped_line(signal.Signals(signum).name)]
    assert state(warehouse) == before

    assert run_main(_run_args(source, warehouse)) == 0
    assert state(warehouse) == clean_state


def test_a_run_stopped_while_its_server_starts_leaves_nothing(prefect_home, tmp_path) -> None:
    """The stop lands before the flow run (and Prefect's own SIGTERM handler) exists."""
    source, warehouse = _seeds_only(tmp_path), tmp_path / "wh"
    command = Command(_run_args(source, warehouse), tmp_path, prefect_home)
    try:
        command.wait_for(lambda: any(_is_server(cmd) for cmd in _descendants(command.process.pid).values()),
                         "the temporary server")
        tree, returncode = command.stop(signal.SIGTERM)
        _assert_all_gone(command, tree)
    finally:
        command.kill_leftovers()
    assert returncode == 1, command.errors()[-3000:]
    assert command.errors().splitlines() == [_stopped_line("SIGTERM")]
    assert not (warehouse / "catalog.sqlite").exists() or state(warehouse) == {k: [] for k in DATA_RELATIONS}


def test_watch_stopped_during_a_run_ends_its_server(tmp_path) -> None:
    """A watcher with a Prefect home of its own, as an operator's first `akhbar watch` has."""
    source, warehouse = _seeds_only(tmp_path), tmp_path / "wh"
    _add_variants(source)
    command = Command(["watch", "--input", str(source), "--warehouse", str(warehouse), "--batch-size", BATCH_SIZE,
                       "--settle-seconds", "1"], tmp_path, tmp_path / "prefect-home")
    staging = warehouse / "staging"
    try:
        # The first sweep's run has staged a batch: SIGTERM lands inside Prefect's flow run.
        command.wait_for(lambda: staging.exists() and any(staging.rglob("*.parquet")), "a staged batch")
        tree, returncode = command.stop(signal.SIGTERM)
        _assert_all_gone(command, tree)
    finally:
        command.kill_leftovers()
    assert returncode == 0, command.errors()[-3000:]
    assert "akhbar: SIGTERM: the current run was stopped" in command.errors()
    assert "Traceback" not in command.errors()
