"""flows/prefect_server.py: the temporary Prefect server a run starts as it starts, and stops with it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest

from flows import prefect_server

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def new_user(monkeypatch, tmp_path) -> Path:
    """No server configured and no profile file: where Prefect itself would start a temporary server."""
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    home = tmp_path / "prefect-home"
    home.mkdir()
    monkeypatch.setenv("PREFECT_HOME", str(home))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return home


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"  # a zombie has exited, only its parent has not reaped it yet


def _gone(pid: int, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)
        return False
    return True


def test_no_early_server_where_a_server_is_configured(new_user, monkeypatch) -> None:
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    assert prefect_server.early_server() is None


def test_no_early_server_where_a_profile_holds_settings(new_user) -> None:
    (new_user / "profiles.toml").write_text('active = "local"\n[profiles.local]\n')
    assert prefect_server.early_server() is None


@pytest.mark.slow
def test_the_server_answers_and_stops(new_user) -> None:
    server = prefect_server.early_server()
    assert server is not None and server.process is not None
    pid = server.process.pid
    try:
        server.wait_ready(180)
        with urllib.request.urlopen(f"{server.api_url}/health", timeout=5) as response:
            assert response.status == 200
    finally:
        server.stop()
    assert _gone(pid, 5)
    server.stop()  # again: nothing left to stop


@pytest.mark.slow
def test_the_server_stops_when_its_run_is_killed(new_user, tmp_path) -> None:
    """A run killed with kill -9 runs no exit handler: the server hears its parent's death itself."""
    pid_file = tmp_path / "server.pid"
    script = textwrap.dedent(f"""
        import time
        from pathlib import Path
        from flows import prefect_server
        server = prefect_server.early_server()
        Path({str(pid_file)!r}).write_text(str(server.process.pid))
        server.wait_ready(180)
        Path({str(pid_file)!r} + ".ready").touch()
        time.sleep(600)
    """)
    run = subprocess.Popen([sys.executable, "-c", script], cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)},
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 180
        while not Path(str(pid_file) + ".ready").exists():
            assert run.poll() is None, "the run exited before its server was ready"
            assert time.monotonic() < deadline, "the server was not ready within 180 s"
            time.sleep(0.1)
        server_pid = int(pid_file.read_text())
        os.kill(run.pid, signal.SIGKILL)
        run.wait()
        assert _gone(server_pid, 20)
    finally:
        if run.poll() is None:
            run.kill()


def test_serving_leaves_a_configured_server_alone(new_user, monkeypatch) -> None:
    """Settings that name a server after all (here: set once the early server was launched) win, and the
    early server is stopped at once."""
    server = prefect_server.early_server()
    assert server is not None and server.process is not None
    pid = server.process.pid
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:9/api"}):
        with prefect_server.serving(server):
            assert os.environ["PREFECT_API_URL"] == "http://127.0.0.1:9/api"
        assert server.process is None
    assert _gone(pid, 10)


@pytest.mark.slow
def test_every_thread_of_the_run_sees_the_server(new_user, tmp_path) -> None:
    """A thread starts with no settings context and reads Prefect's process-wide settings: they must name the
    early server too, or Prefect's events worker in such a thread starts a second temporary server.

    In a fresh interpreter, as a run starts: this process's Prefect modules carry other tests' state."""
    script = textwrap.dedent("""
        import threading
        from flows import prefect_server
        from prefect.settings import get_current_settings
        server = prefect_server.early_server()
        seen = []
        try:
            with prefect_server.serving(server):
                thread = threading.Thread(target=lambda: seen.append(get_current_settings().api.url))
                thread.start()
                thread.join()
        finally:
            server.stop()
        print(seen == [server.api_url], get_current_settings().api.url is None, seen)
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    # The thread saw the server; and nothing is left behind once the run is over.
    assert done.stdout.split()[:2] == ["True", "True"], done.stdout
