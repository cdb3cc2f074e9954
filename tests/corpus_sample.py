"""Slices of the news corpus for the benchmarks: the same files every time, spread over every publisher."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path


def spread_files(corpus: Path, count: int) -> list[Path]:
    """``count`` files spread over every publisher and section (ordered by a hash of their path)."""
    files = sorted(corpus.rglob("*.txt"), key=lambda p: hashlib.sha1(str(p.relative_to(corpus)).encode()).digest())
    return files[:count]


def copy_files(files: list[Path], corpus: Path, target: Path) -> None:
    """Copy ``files`` of ``corpus`` under ``target``, keeping their paths inside the corpus."""
    for path in files:
        copied = target / path.relative_to(corpus)
        copied.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, copied)
