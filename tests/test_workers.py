"""flows/workers.py: the allocator settings a run hands to its worker processes."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import textwrap
import time

import pytest

from flows.workers import MALLOC_SETTINGS, keep_freed_memory, release_freed_memory

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's allocator settings")


def test_freed_memory_settings_reach_the_processes_a_run_starts(monkeypatch) -> None:
    for name in MALLOC_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MALLOC_TOP_PAD_", "65536")  # the user's own choice wins
    keep_freed_memory()
    child = subprocess.run(
        [sys.executable, "-c", f"import os; print([os.environ[n] for n in {sorted(MALLOC_SETTINGS)!r}])"],
        capture_output=True, text=True, check=True,
    )
    assert child.stdout.strip() == str(["33554432", "65536", "2147483647"])  # mmap, top pad, trim
    assert os.environ["MALLOC_MMAP_THRESHOLD_"] == str(32 * 2**20)


def test_freed_memory_goes_back_to_the_kernel_after_a_run() -> None:
    import resource

    import numpy as np

    def rss_kib() -> int:
        return int(open("/proc/self/statm").read().split()[1]) * resource.getpagesize() // 1024

    keep_freed_memory()
    blocks = [np.ones(2**18) for _ in range(200)]  # 400 MB in 2 MB blocks: from the heap, not mmap
    del blocks
    before = rss_kib()
    release_freed_memory()
    assert rss_kib() < before - 200_000


def test_a_worker_exits_when_the_run_that_started_it_is_killed(tmp_path) -> None:
    """The run's process starts a pool worker, keeps it busy, and dies by SIGKILL: the worker follows."""
    script = textwrap.dedent("""
        import multiprocessing, os, signal, sys, time
        from concurrent.futures import ProcessPoolExecutor
        from flows.workers import exit_with_parent

        def start():
            exit_with_parent()
            return os.getpid()

        if __name__ == "__main__":
            pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
            print(pool.submit(start).result(), flush=True)
            pool.submit(time.sleep, 600)  # busy, as a worker is in the middle of a piece
            time.sleep(0.5)
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    (tmp_path / "run.py").write_text(script)
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    run = subprocess.run([sys.executable, str(tmp_path / "run.py")], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PYTHONPATH": repo})
    assert run.stdout.split(), run.stderr
    worker = int(run.stdout.split()[0])
    deadline = time.monotonic() + 20
    while os.path.exists(f"/proc/{worker}") and time.monotonic() < deadline:
        time.sleep(0.1)
    alive = os.path.exists(f"/proc/{worker}")
    if alive:
        os.kill(worker, 9)
    assert not alive, "the worker outlived the process that started it"


def test_the_heap_settles_once_per_process() -> None:
    script = textwrap.dedent("""
        import gc
        from flows.workers import settle_heap
        settle_heap()
        first = gc.get_freeze_count()
        kept = [[i] for i in range(10_000)]  # new tracked objects
        settle_heap()  # again: nothing moves
        print(first > 1_000, gc.get_freeze_count() == first)
    """)
    child = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert child.stdout.split() == ["True", "True"]
