"""The default of --workers and $AKHBAR_WORKERS, in a module light enough for `akhbar --help`."""

from __future__ import annotations

import os
from functools import cache


def default_workers() -> int:
    """Every core this process may use: one tagging process each."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


# Parallelism is one process per core; the native thread pools of numpy's BLAS (and OpenMP) on top of it
# oversubscribe the cores. Measured on 3,000 corpus files with two workers: 14.7 s with them, 12.9 s
# with one thread each (`AKHBAR_BENCH_FILES=3000 python -m tests.bench pipeline`).
NATIVE_THREAD_LIMITS = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def limit_native_threads() -> None:
    """One native thread per process, unless the environment says otherwise; before numpy loads, and
    inherited by the worker processes."""
    for name, value in NATIVE_THREAD_LIMITS.items():
        os.environ.setdefault(name, value)


# glibc hands freed memory back to the kernel as soon as the top of its heap is free (and maps every
# block above a few MB on its own): a batch's frames and arrays are then page-faulted in afresh each
# time, about 3.7M minor faults and 25 s of system CPU over the news corpus. These keep freed memory
# for reuse (blocks up to 32 MB from the heap, trimmed above 2 GB of free top, grown 256 MB at a time).
# Measured side by side on the whole corpus, three runs each (farm-bench): system CPU 25.0 -> 14.6 s,
# wall 106.5 -> 100.3 s (the three pair ratios 0.89-0.98), peak RSS unchanged (1.42 GB).
MALLOC_SETTINGS = {"MALLOC_MMAP_THRESHOLD_": 32 * 2**20, "MALLOC_TRIM_THRESHOLD_": 2**31 - 1,
                   "MALLOC_TOP_PAD_": 256 * 2**20}
_MALLOPT_PARAMETERS = {"MALLOC_TRIM_THRESHOLD_": -1, "MALLOC_TOP_PAD_": -2, "MALLOC_MMAP_THRESHOLD_": -3}


def glibc():  # -> ctypes.CDLL | None
    """This process's C library when it is glibc (its allocator, tuned below; `prctl` for `flows.prefect_server`)."""
    import ctypes
    import platform

    return ctypes.CDLL(None) if platform.libc_ver()[0] == "glibc" else None


def keep_freed_memory() -> None:
    """``MALLOC_SETTINGS`` for this process (through ``mallopt``: glibc reads the variables only at a
    process's start) and, through the environment, for the processes it starts; a variable already
    set wins. A no-op off glibc."""
    libc = glibc()
    if libc is None:
        return
    for name, value in MALLOC_SETTINGS.items():
        chosen = os.environ.setdefault(name, str(value))
        if chosen.isdigit() and int(chosen) < 2**31:
            libc.mallopt(_MALLOPT_PARAMETERS[name], int(chosen))


def release_freed_memory() -> None:
    """Give the heap's free memory back to the kernel (``malloc_trim``): after a run, so a long-lived
    process (``watch``, ``serve``) does not keep a batch's worth of freed memory between runs."""
    libc = glibc()
    if libc is not None:
        libc.malloc_trim(0)


@cache
def exit_with_parent() -> None:
    """In a worker process (one that `multiprocessing` started), exit as soon as its parent is gone.

    A worker waits for work on its pool's queue, and something in it keeps it alive when the run that
    started it is killed: without this, each stayed idle until killed, holding the run's output pipes.
    Once per process: a daemon thread waits on the parent's sentinel. In a process `multiprocessing`
    did not start (the run's own) it does nothing; a Dask worker started by a nanny exits with it.
    """
    import multiprocessing
    import threading

    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        parent.join()
        os._exit(1)

    threading.Thread(target=watch, name="akhbar-parent-watch", daemon=True).start()


# As the interpreter shuts down, Python's cyclic garbage collector makes a last pass over every tracked
# object, and a run's process holds millions (Prefect, Great Expectations, polars frames): measured on a
# 2,000-file run, that pass held the command's exit up by about 2.4 s (a py-spy profile of the exit), and
# freezing first took the whole command from 30.5 to 27.8 s.
@cache
def settle_heap() -> None:
    """Move every object alive now into the collector's permanent generation (``gc.freeze``), which no
    collection scans: as a command ends, so its exit does not wait for a pass that frees nothing it needs
    (the operating system takes the memory back). Once per process."""
    import gc

    gc.freeze()
