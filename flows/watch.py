"""`akhbar watch`: ingest files as they arrive, each only once it is completely written.

Prefect has no file sensor, so this is a small loop around watchfiles:
- every event marks a file as pending; a pending file is *settled* once its size and mtime have
  not moved for ``settle_s`` (a file renamed into place, or present at start, with an older mtime
  is settled at once);
- an ingest runs when something is settled and nothing else is still being written (the quiet
  period doubles as the debounce, so a burst of files becomes one run), or when a settled file
  has waited ``max_wait_s`` behind a file that never settles;
- a periodic sweep compares the folder with the ledger (the flow's own discovery) and catches
  whatever the events missed, including files present at start;
- errors are told apart by type: transient ones (another writer, an unreachable Prefect API) are
  retried with backoff (`RetryPolicy`); a run that failed is not retried before the next sweep,
  one blocked by validation not before its files change;
- SIGINT/SIGTERM stop the loop cleanly (after the current run, for SIGINT).
The ingest itself is the normal flow over the whole folder, so the ledger keeps every file
ingested exactly once however often it is touched.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from flows.errors import BlockingValidationError, RunFailedError
from transforms.discover import IGNORE_FILE, FolderFilter, PathFilter
from warehouse.lock import WarehouseBusyError

LOGGER = logging.getLogger("akhbar.watch")
Stamp = tuple[int, int]  # (size in bytes, mtime in ns)


@dataclass(frozen=True)
class RetryPolicy:
    """How often, and after how long, a batch is tried again after a transient error.

    A small policy rather than a retry library: none is locked, and the loop must wait on its stop
    event (so SIGTERM is never stuck behind a backoff) and decide by the error's type whether to
    retry at all (`retry_for`), both plainer to read here than hidden in a decorator.
    """

    attempts: int = 5            # attempts per batch, the first included
    base_s: float = 2.0          # backoff 2, 4, 8, 16 s ...
    max_s: float = 60.0

    def delay(self, attempt: int) -> float | None:
        """Seconds to wait after failed attempt ``attempt`` (1-based), or None when it was the last."""
        if attempt >= self.attempts:
            return None
        return min(self.max_s, self.base_s * 2 ** (attempt - 1))


@dataclass(frozen=True)
class WatchConfig:
    settle_s: float = 2.0        # size and mtime unchanged this long = completely written
    sweep_s: float = 300.0       # full comparison of folder and ledger
    max_wait_s: float = 600.0    # run anyway when a settled file waits this long behind an unsettled one
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    tick_ms: int = 500           # how often the loop wakes without events (settle checks, stop requests)
    debounce_ms: int = 300       # watchfiles groups events arriving within this window


class Retry(Enum):
    """When the watcher tries a batch again, decided by the type of the trigger's error."""

    AFTER_BACKOFF = "after backoff"          # nothing was recorded (busy writer, API down, crashed run)
    AT_NEXT_SWEEP = "at the next sweep"      # the run failed and is recorded in `runs`
    WHEN_CHANGED = "when the files change"   # blocking validation: same bytes, same verdict


def retry_for(error: Exception) -> Retry:
    if isinstance(error, BlockingValidationError):
        return Retry.WHEN_CHANGED
    if isinstance(error, RunFailedError):
        return Retry.AT_NEXT_SWEEP
    return Retry.AFTER_BACKOFF  # WarehouseBusyError, an unreachable Prefect API, I/O: worth another try


@dataclass
class _Pending:
    stamp: Stamp | None
    since: float                 # monotonic time the stamp was first seen
    settled_at: float | None = None


def _stamp(path: Path) -> tuple[Stamp | None, bool]:
    """(size, mtime) of a regular file (links followed), and whether the path still exists."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return None, os.path.lexists(path)
    except OSError:
        return None, True
    if not stat.S_ISREG(info.st_mode):
        return None, True
    return (info.st_size, info.st_mtime_ns), True


@dataclass
class Settler:
    """Which pending files are completely written (pure bookkeeping; clocks injectable for tests)."""

    settle_s: float
    clock: Callable[[], float] = time.monotonic
    wall: Callable[[], float] = time.time
    pending: dict[str, _Pending] = field(default_factory=dict)

    def touch(self, rel: str, root: Path) -> None:
        stamp, _ = _stamp(root / rel)
        entry = self.pending.get(rel)
        if entry is None or entry.stamp != stamp:
            self.pending[rel] = _Pending(stamp, self.clock())

    def poll(self, root: Path) -> tuple[dict[str, Stamp | None], list[str]]:
        """Re-check every pending file: (settled files with their stamp, files still being written)."""
        now, wall = self.clock(), self.wall()
        ready: dict[str, Stamp | None] = {}
        waiting: list[str] = []
        for rel, entry in list(self.pending.items()):
            stamp, exists = _stamp(root / rel)
            if not exists:
                del self.pending[rel]  # gone (renamed away or deleted): nothing to ingest
                continue
            if stamp != entry.stamp:
                self.pending[rel] = _Pending(stamp, now)
                waiting.append(rel)
                continue
            # Not a regular file (link out of the folder, pipe): the flow records its refusal at once.
            old_enough = stamp is None or wall - stamp[1] / 1e9 >= self.settle_s
            if now - entry.since >= self.settle_s or old_enough:
                entry.settled_at = entry.settled_at or now
                ready[rel] = stamp
            else:
                waiting.append(rel)
        return ready, waiting

    def oldest_settled(self, paths: list[str] | dict) -> float | None:
        times = [self.pending[p].settled_at for p in paths if p in self.pending]
        return min((t for t in times if t is not None), default=None)

    def forget(self, done: dict[str, Stamp | None]) -> None:
        """Drop files a run has taken, unless they changed again since."""
        for rel, stamp in done.items():
            entry = self.pending.get(rel)
            if entry is not None and entry.stamp == stamp:
                del self.pending[rel]


class FolderWatcher:
    """Runs ``trigger`` (one ingest over the folder) whenever settled new or changed files wait."""

    def __init__(self, input_dir: Path, warehouse_dir: Path, trigger: Callable[[], None],
                 config: WatchConfig = WatchConfig(), folder_filter: FolderFilter | None = None) -> None:
        self.root = input_dir.resolve()
        self.warehouse = warehouse_dir.resolve()
        self.trigger = trigger
        self.config = config
        self.folder_filter = folder_filter or FolderFilter()  # the ingest's own: never read, never a trigger
        self.keep: PathFilter = self.folder_filter.compile(self.root)
        self.settler = Settler(config.settle_s)
        self.done: dict[str, Stamp | None] = {}  # files some run has taken, with the stamp it saw
        self.runs = 0

    # -- events and sweeps
    def _relative(self, path: str) -> str | None:
        full = Path(path)
        if full == self.warehouse or self.warehouse in full.parents:
            return None  # a warehouse inside the input folder must not trigger itself
        try:
            return full.relative_to(self.root).as_posix()
        except ValueError:
            return None

    def on_change(self, path: str) -> None:
        rel = self._relative(path)
        if rel == self.folder_filter.ignore_file:
            self._recompile()
        if rel is None or self.keep.skips(rel) or (self.root / rel).is_dir():
            return
        self.settler.touch(rel, self.root)

    def _recompile(self) -> None:
        try:
            self.keep = self.folder_filter.compile(self.root)
        except ValueError as error:  # a half-written .akhbarignore: keep the last good filter
            LOGGER.warning("%s not applied: %s", IGNORE_FILE, error)

    def sweep(self) -> int:
        """Mark every new or changed file (per the ledger) pending; returns how many were marked."""
        from transforms.discover import discover
        from warehouse.history import StoredLedger

        self._recompile()
        try:
            candidates = discover(self.root, StoredLedger(self.warehouse), self.folder_filter).candidates
        except Exception as error:  # e.g. the catalog is being created by a first run: next sweep
            LOGGER.warning("sweep skipped: %s: %s", type(error).__name__, error)
            return 0
        marked = 0
        for rel, size, mtime in candidates.select("source_path", "size_bytes", "mtime_ns").iter_rows():
            stamp = (size, mtime) if size is not None else None
            if rel in self.settler.pending or (rel in self.done and self.done[rel] == stamp):
                continue  # already pending, or a run took it (touched with the same bytes: no new ledger row)
            self.settler.touch(rel, self.root)
            marked += 1
        return marked

    # -- runs
    def _due(self) -> dict[str, Stamp | None]:
        ready, waiting = self.settler.poll(self.root)
        if not ready:
            return {}
        if waiting:
            oldest = self.settler.oldest_settled(ready)
            if oldest is None or self.settler.clock() - oldest < self.config.max_wait_s:
                return {}  # another file is still being written: wait for the folder to be quiet
            LOGGER.warning("%d file(s) still being written after %.0f s; ingesting the settled ones",
                           len(waiting), self.config.max_wait_s)
        return ready

    def ingest(self, batch: dict[str, Stamp | None], stop: threading.Event) -> bool:
        """Run the trigger, retrying transient errors per the policy; True when the run completed."""
        policy = self.config.retry
        attempt = 0
        while True:
            attempt += 1
            LOGGER.info("ingesting: %d settled file(s)%s", len(batch),
                        f" (attempt {attempt}/{policy.attempts})" if attempt > 1 else "")
            try:
                self.trigger()
            except Exception as error:
                retry = retry_for(error)
                delay = policy.delay(attempt) if retry is Retry.AFTER_BACKOFF else None
                if delay is None:
                    self._put_aside(batch, retry, error, attempt)
                    return False
                LOGGER.warning("transient error (%s: %s); retrying in %.0f s", type(error).__name__, error, delay)
                if stop.wait(delay):
                    return False
            else:
                self.runs += 1
                self.done.update(batch)
                self.settler.forget(batch)
                LOGGER.info("run %d completed", self.runs)
                return True

    def _put_aside(self, batch: dict[str, Stamp | None], retry: Retry, error: Exception, attempt: int) -> None:
        """A batch not tried again now; ``retry`` says when it is."""
        if retry is Retry.AFTER_BACKOFF:
            LOGGER.error("giving up for now after %d attempts (%s: %s); the next sweep retries",
                         attempt, type(error).__name__, error)
        else:  # the run happened and failed
            self.runs += 1
            LOGGER.error("run failed (retried %s): %s", retry.value, error)
        if retry is Retry.WHEN_CHANGED:
            self.done.update(batch)  # the sweep skips them until their bytes change (or on restart)
        self.settler.forget(batch)  # otherwise forgotten, not done: the next sweep finds them again

    def step(self, stop: threading.Event) -> None:
        batch = self._due()
        if batch:
            self.ingest(batch, stop)

    def run(self, stop: threading.Event) -> None:
        """Watch until ``stop`` is set."""
        import watchfiles

        LOGGER.info("watching %s (settle %.1f s, sweep every %.0f s)", self.root, self.config.settle_s,
                    self.config.sweep_s)
        LOGGER.info("initial sweep: %d new or changed file(s)", self.sweep())
        next_sweep = time.monotonic() + self.config.sweep_s
        changes = watchfiles.watch(
            self.root, watch_filter=lambda change, _path: change != watchfiles.Change.deleted,
            debounce=self.config.debounce_ms, step=50, rust_timeout=self.config.tick_ms, yield_on_timeout=True,
            stop_event=stop, raise_interrupt=False, ignore_permission_denied=True,
        )
        self.step(stop)
        for batch in changes:
            for _change, path in batch:
                self.on_change(path)
            if time.monotonic() >= next_sweep:
                marked = self.sweep()
                if marked:
                    LOGGER.info("sweep: %d new or changed file(s)", marked)
                next_sweep = time.monotonic() + self.config.sweep_s
            if stop.is_set():
                break
            self.step(stop)
        LOGGER.info("stopped after %d run(s)", self.runs)


# ---------------------------------------------------------------- triggers
# A trigger runs one ingest and raises the flow's own typed errors (`flows.errors`,
# `warehouse.lock.WarehouseBusyError`) when it did not complete; `retry_for` decides what follows.

def local_trigger(
    input_dir: Path, warehouse_dir: Path, dask_address: str | None = None, **options: object
) -> Callable[[], None]:
    """Run the ingest flow in this process (its tagging on the Dask cluster at ``dask_address``, if
    given); ``options`` are the flow's other parameters."""

    def trigger() -> None:
        from flows.ingest import ingest_flow

        ingest_flow(dask_address)(str(input_dir), str(warehouse_dir), **options)

    return trigger


def deployment_trigger(name: str, timeout_s: float = 3 * 3600) -> Callable[[], None]:
    """Create a run of a served deployment (e.g. ``akhbar-ingest/on-arrival``) and wait for it.

    The flow run's final state says only *that* it failed: results are not persisted, so its
    exception stays in the worker process, and the state's message is text. Why it failed is read
    from the warehouse instead, where every run records itself under its flow run id: a `runs` row
    with a blocking validation result is a blocking failure (`BlockingValidationError`), any other
    `runs` row a failed run (`RunFailedError`), and no row at all means the run never got past the
    writer lock, the one step before it records itself (`WarehouseBusyError`, retried). Crashed,
    cancelled and unfinished runs are retried too.
    """

    def trigger() -> None:
        from prefect.deployments import run_deployment

        from warehouse.report.queries import read_recorded_run

        flow_run = run_deployment(name, timeout=timeout_s, poll_interval=2, as_subflow=False,
                                  tags=["akhbar", "watch"])
        state = flow_run.state
        if state is not None and state.is_completed():
            return
        message = (state.message if state else None) or "no final state"
        if state is None or not state.is_final():
            raise TimeoutError(f"flow run {flow_run.name} not finished after {timeout_s:.0f} s ({message})")
        if not state.is_failed():
            raise RuntimeError(f"flow run {flow_run.name} ended {state.type.value}: {message}")  # crashed, cancelled
        warehouse = Path(flow_run.parameters["warehouse_dir"])
        recorded = read_recorded_run(warehouse, str(flow_run.id))
        if recorded is None:
            raise WarehouseBusyError(f"flow run {flow_run.name} recorded no run in {warehouse}: {message}")
        failure = BlockingValidationError if recorded.blocked else RunFailedError
        raise failure(f"flow run {flow_run.name}: {recorded.reason or message}")

    return trigger
