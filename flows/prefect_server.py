"""Prefect's temporary server, started as `akhbar run` starts instead of at the run's first API call.

Without a configured server, Prefect starts its temporary one (`prefect.server.api.server`'s app under
uvicorn, in a process of its own) when the flow makes its first call: the run's process first imports
the server's modules only to launch it (about 3 s of CPU), then waits, one core idle, while the server
imports and opens its database (about 4 s). Started here, before the run imports Prefect, the server
boots on the other core while the run imports its own modules, and the run never imports the server.

The process is the one Prefect would start (same app, options and variables), launched through this
module so that it stops with the run, even one killed with ``kill -9`` (Linux's parent-death signal).
Only where Prefect itself would start one: no ``PREFECT_API_URL`` and no profile file (whose settings
would have to reach the server); otherwise `early_server` returns None and Prefect does as it always did.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from flows.workers import glibc

_PR_SET_PDEATHSIG = 1
_PORT_IN_USE = 3  # uvicorn's exit status when it cannot bind
_STOP_TIMEOUT_S = 5.0
# What Prefect's SubprocessASGIServer sets for its temporary server (prefect/server/api/server.py).
SERVER_VARIABLES = {"PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}


class ServerStartError(RuntimeError):
    """The temporary server exited or did not answer in time."""


def _profile_files() -> list[Path]:
    home = Path(os.environ.get("PREFECT_HOME") or Path.home() / ".prefect")
    return [home / "profiles.toml", Path.home() / ".prefect" / "profiles.toml", Path("prefect.toml"), Path(".env")]


def _free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class TemporaryServer:
    """One temporary Prefect server process on a free loopback port."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0
        self._launch()
        # At exit, after the handlers Prefect registers later (atexit runs them last in, first out): its log
        # and event workers send what they still hold to this server as the process exits.
        atexit.register(self.stop)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def _launch(self) -> None:
        self.port = _free_port()
        spec = importlib.util.find_spec("prefect")
        assert spec is not None and spec.origin is not None
        app_dir = str(Path(spec.origin).resolve().parent.parent)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flows.prefect_server", str(os.getpid()), "--app-dir", app_dir, "--factory",
             "prefect.server.api.server:create_app", "--host", "127.0.0.1", "--port", str(self.port),
             "--log-level", "error", "--lifespan", "on"],
            env={**os.environ, **SERVER_VARIABLES}, stdin=subprocess.DEVNULL,
        )

    def wait_ready(self, timeout_s: float) -> None:
        """Block until the server answers its health check; relaunch on another port if this one was taken."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.process is not None
            status = self.process.poll()
            if status == _PORT_IN_USE:
                self._launch()
                continue
            if status is not None:
                raise ServerStartError(f"Prefect's temporary server exited with status {status} while starting")
            try:
                with urllib.request.urlopen(f"{self.api_url}/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)
        raise ServerStartError(f"Prefect's temporary server did not answer within {timeout_s:.0f} s")

    def stop(self) -> None:
        """Terminate the server and reap it (killed if it takes longer than 5 s, as Prefect does)."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def early_server() -> TemporaryServer | None:
    """Launch the temporary server now if Prefect would start one for this run; None if it would not
    (a server configured by ``PREFECT_API_URL``, or settings in a profile file left to Prefect)."""
    if os.environ.get("PREFECT_API_URL") or any(path.is_file() for path in _profile_files()):
        return None
    return TemporaryServer()


@contextlib.contextmanager
def serving(server: TemporaryServer | None) -> Iterator[None]:
    """The run's Prefect settings pointed at ``server`` (ready first), for this process and the worker
    processes it starts; the server stops as the process exits. Without one, or where Prefect's own
    settings name a server or rule out a temporary one after all, the server is stopped now and nothing
    changes."""
    if server is None:
        yield
        return
    from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

    settings = get_current_settings()
    if settings.api.url or not settings.server.ephemeral.enabled:
        server.stop()
        yield
        return
    try:
        server.wait_ready(float(settings.server.ephemeral.startup_timeout_seconds))
    except BaseException:
        server.stop()
        raise
    from prefect.context import refresh_global_settings_context

    os.environ["PREFECT_API_URL"] = server.api_url  # the worker processes inherit it
    # Threads start without this thread's context and read Prefect's process-wide settings, built at import:
    # without the refresh the task runner's thread that forwards the workers' events found no server and
    # started a second temporary one of its own (and sent those events there).
    refresh_global_settings_context()
    try:
        with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
            yield
    finally:
        os.environ.pop("PREFECT_API_URL", None)
        refresh_global_settings_context()


def _serve(parent_pid: int, uvicorn_args: list[str]) -> None:
    """The server process: stop when the run that launched it is gone, then run uvicorn."""
    libc = glibc()
    if libc is not None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        sys.exit(1)
    import uvicorn.main

    sys.argv = ["uvicorn", *uvicorn_args]
    uvicorn.main.main()


if __name__ == "__main__":
    _serve(int(sys.argv[1]), sys.argv[2:])
