"""The default of --workers and $AKHBAR_WORKERS, in a module light enough for `akhbar --help`."""

from __future__ import annotations

import os


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
