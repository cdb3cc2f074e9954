"""A real Dask cluster on loopback for the tests: a scheduler and worker processes, each its own process
(`dask scheduler`, `dask worker`), started and stopped here."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.loopback import free_port

REPO = Path(__file__).resolve().parents[1]
_BIN = Path(sys.executable).parent




@dataclass
class DaskCluster:
    address: str
    workers: list[subprocess.Popen] = field(default_factory=list)

    def kill_worker(self, index: int = 0) -> None:
        """kill -9 one worker process (its nanny is not used: nothing restarts it)."""
        os.kill(self.workers[index].pid, signal.SIGKILL)
        self.workers[index].wait()


def _wait_for_workers(address: str, count: int, timeout_s: float = 120) -> None:
    from distributed import Client

    with Client(address, timeout=timeout_s) as client:
        client.wait_for_workers(count, timeout=timeout_s)


@contextmanager
def dask_cluster(workers: int = 2, env: dict[str, str] | None = None) -> Iterator[DaskCluster]:
    """A scheduler and ``workers`` single-threaded worker processes, the project on their path and ``env``
    in their environment (e.g. ``PREFECT_API_URL``, which Prefect's tasks on a worker report to)."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, **(env or {}), "PYTHONPATH": str(REPO)}
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "stdin": subprocess.DEVNULL,
             "cwd": REPO, "env": env}
    scheduler = subprocess.Popen([str(_BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                  "--no-dashboard"], **quiet)
    cluster = DaskCluster(address)
    try:
        for _ in range(workers):
            cluster.workers.append(subprocess.Popen(
                [str(_BIN / "dask"), "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                 "--host", "127.0.0.1"], **quiet))
        _wait_for_workers(address, workers)
        yield cluster
    finally:
        for process in [*cluster.workers, scheduler]:
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + 30
        for process in [*cluster.workers, scheduler]:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
