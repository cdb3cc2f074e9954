"""Progress of an ingest run: a rich bar on a terminal, plain lines otherwise, nothing by default.

The flow calls the module-level hooks (`begin`, `stage`, `advance`, `end`); whoever runs the flow
in-process (the CLI) installs a reporter. Served and watched runs keep the silent default, so
the flow itself never decides where output goes.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO


class Progress:
    """Silent reporter; the base of the two visible ones."""

    def begin(self, total_files: int) -> None:
        """Discovery is done: ``total_files`` new or changed files will be read."""

    def stage(self, name: str) -> None:
        """A stage of the current batch starts."""

    def advance(self, files: int) -> None:
        """A batch of ``files`` files is decided."""

    def end(self) -> None:
        """The run is over (completed or not); safe to call more than once."""


class PlainProgress(Progress):
    """One line per batch and stage change, for logs and pipes (no control characters)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.total = 0
        self.done = 0
        self.clock = time.perf_counter()

    def _line(self, text: str) -> None:
        print(f"akhbar: [{time.perf_counter() - self.clock:6.1f} s] {text}", file=self.stream, flush=True)

    def begin(self, total_files: int) -> None:
        self.total = total_files
        self._line(f"{total_files} new or changed file{'s' if total_files != 1 else ''} to read")

    def stage(self, name: str) -> None:
        self._line(f"{name} ({self.done}/{self.total} files done)")

    def advance(self, files: int) -> None:
        self.done += files
        self._line(f"{self.done}/{self.total} files done")


class RichProgress(Progress):
    """A live bar on the terminal; it starts spinning before discovery (Prefect's start is slow)."""

    def __init__(self, stream: TextIO) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )
        from rich.progress import Progress as Bar

        self.bar = Bar(
            SpinnerColumn(), TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("files"), TimeElapsedColumn(), console=Console(file=stream), transient=True,
        )
        self.task = self.bar.add_task("starting", total=None)
        self.bar.start()

    def begin(self, total_files: int) -> None:
        self.bar.update(self.task, total=total_files, description="reading")

    def stage(self, name: str) -> None:
        self.bar.update(self.task, description=name)

    def advance(self, files: int) -> None:
        self.bar.advance(self.task, files)

    def end(self) -> None:
        self.bar.stop()


_current: Progress = Progress()


def for_streams(bar: TextIO | None = None, lines: TextIO | None = None) -> Progress:
    """A rich bar on ``bar`` (stderr) when it is a terminal, else plain lines on ``lines`` (stdout).

    Plain lines never go to stderr, so a failed run still ends with one line there: its reason.
    """
    bar, lines = bar or sys.stderr, lines or sys.stdout
    return RichProgress(bar) if bar.isatty() else PlainProgress(lines)


def install(reporter: Progress) -> Progress:
    """Make ``reporter`` receive the flow's hooks; returns the one it replaces."""
    global _current
    previous, _current = _current, reporter
    return previous


@contextmanager
def shown(bar: TextIO | None = None, lines: TextIO | None = None) -> Iterator[Progress]:
    """Report the runs inside the block (see `for_streams`); the bar is gone when the block ends."""
    reporter = for_streams(bar, lines)
    previous = install(reporter)
    try:
        yield reporter
    finally:
        reporter.end()
        install(previous)


def begin(total_files: int) -> None:
    _current.begin(total_files)


def stage(name: str) -> None:
    _current.stage(name)


def advance(files: int) -> None:
    _current.advance(files)


def end() -> None:
    _current.end()
