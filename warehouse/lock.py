"""The warehouse has exactly one writer: an advisory file lock held for a whole run.

The kernel releases an flock when its process dies (kill -9 included), so a crashed run never
leaves a stale lock behind. A warehouse whose catalog is in PostgreSQL is written from several
machines, each with its own folder: there the writer also holds a PostgreSQL advisory lock, on a
session kept open for the whole run, which the server releases when the session ends (a killed
process's connection drops, so that lock never goes stale either).
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import socket
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Self

DEFAULT_TIMEOUT_S = 60.0  # how long a writer waits for another one to finish


class WarehouseBusyError(RuntimeError):
    """Another writer kept the warehouse longer than we were willing to wait."""


def _busy(where: object, holder: str, timeout_s: float) -> WarehouseBusyError:
    return WarehouseBusyError(f"another akhbar writer holds {where} ({holder}); gave up after {timeout_s:.0f} s")


def _holder() -> str:
    return f"pid {os.getpid()} on {socket.gethostname()} since {time.strftime('%Y-%m-%d %H:%M:%S')}"


class _Held(ABC):
    """``with lock:`` acquires and releases."""

    @abstractmethod
    def acquire(self) -> None: ...

    @abstractmethod
    def release(self) -> None: ...

    def __enter__(self) -> Self:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


class WriterLock(_Held):
    def __init__(self, path: Path, timeout_s: float = DEFAULT_TIMEOUT_S, poll_s: float = 0.25) -> None:
        self.path = path
        self.timeout_s = timeout_s
        self.poll_s = poll_s
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.timeout_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "unknown"
                    os.close(fd)
                    raise _busy(self.path.parent, holder, self.timeout_s) from None
                time.sleep(self.poll_s)
        os.ftruncate(fd, 0)
        os.pwrite(fd, _holder().encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


# The advisory lock's key: one writer per catalog database (a constant of this project).
CATALOG_LOCK_KEY = 0x616B68626172  # "akhbar"


class CatalogLock(_Held):
    """``pg_advisory_lock`` on its own session of the PostgreSQL catalog at ``url``, held until release.

    asyncpg is asynchronous, so the session lives on an event loop of its own thread; its
    ``application_name`` tells a waiting writer who holds the lock.
    """

    def __init__(self, url: str, timeout_s: float = DEFAULT_TIMEOUT_S, poll_s: float = 0.25) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self.poll_s = poll_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._connection: Any = None

    def _run(self, coroutine: Any) -> Any:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def acquire(self) -> None:
        import asyncpg  # only a PostgreSQL catalog needs it

        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="akhbar-catalog-lock", daemon=True)
        self._thread.start()
        try:
            self._connection = self._run(asyncpg.connect(
                self.url, server_settings={"application_name": f"akhbar writer, {_holder()}"[:63]}
            ))
            deadline = time.monotonic() + self.timeout_s
            while not self._run(self._connection.fetchval("SELECT pg_try_advisory_lock($1)", CATALOG_LOCK_KEY)):
                if time.monotonic() >= deadline:
                    holder = self._run(self._connection.fetchval(
                        "SELECT max(a.application_name) FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
                        "WHERE l.locktype = 'advisory' AND l.granted AND l.objid = $1", CATALOG_LOCK_KEY & 0xFFFFFFFF
                    )) or "unknown"
                    raise _busy(f"the catalog {self.url}", holder, self.timeout_s)
                time.sleep(self.poll_s)
        except BaseException:
            self.release()
            raise

    def release(self) -> None:
        if self._connection is not None:
            try:
                self._run(self._connection.close())  # ends the session: the server drops the lock
            finally:
                self._connection = None
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._loop.close()
            self._loop, self._thread = None, None


@contextmanager
def run_lock(path: Path, catalog_url: str | None, timeout_s: float = DEFAULT_TIMEOUT_S) -> Iterator[None]:
    """The writer's locks for a whole run: the folder's file lock, then (for a PostgreSQL catalog) the
    catalog's advisory lock, which every machine's writer takes."""
    with WriterLock(path, timeout_s):
        if catalog_url is None:
            yield
        else:
            with CatalogLock(catalog_url, timeout_s):
                yield
