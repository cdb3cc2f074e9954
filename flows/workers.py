"""The default of --workers and $AKHBAR_WORKERS, in a module light enough for `akhbar --help`."""

from __future__ import annotations

import os


def default_workers() -> int:
    """Every core this process may use: one tagging process each."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
