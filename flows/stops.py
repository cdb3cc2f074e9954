"""SIGTERM and SIGINT stop a command so that nothing it started outlives it.

Without PREFECT_API_URL, Prefect starts a temporary API server (a uvicorn subprocess) for the first
flow run and stops it, terminated and reaped, from an atexit hook. A signal's default action ends
the process without running atexit hooks, so every stopped run left that server behind, re-parented
to pid 1. Here the first signal becomes an exception in the main thread instead: the run unwinds
(its writer lock and staging folder are released by their own context managers), the interpreter
exits normally, and Prefect's hook stops the server.

Inside a flow run Prefect swaps in its own SIGTERM handler, which raises `TerminationSignal`, marks
the run crashed, and then delivers the signal again to the handler it replaced (ours); a
TerminationSignal that lands while a task starts can also come out wrapped in another error. So a
stop is recognised by the exceptions in an error's chain (`stop_signal`), never by message text.
"""

from __future__ import annotations

import signal
import sys
import threading

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Stopped(KeyboardInterrupt):
    """The first SIGTERM or SIGINT, raised wherever the main thread is.

    A KeyboardInterrupt, so that code which unwinds cleanly on Ctrl-C (Prefect cancels its pending
    calls and marks the flow run crashed) does the same on SIGTERM.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def signal_name(signum: int) -> str:
    return signal.Signals(signum).name


def raise_on_signals() -> None:
    """From now until the process exits, the first SIGTERM or SIGINT raises `Stopped`.

    After that first one, while the command unwinds and the interpreter exits, a second SIGINT
    interrupts at once (KeyboardInterrupt) and further SIGTERMs are ignored: the process is already
    stopping, and the default action would skip the hooks that stop the server. The handlers stay
    installed until exit for the same reason. Replaces an inherited SIG_IGN for SIGINT (a shell's
    background job), so `kill -INT` stops the run too.
    """
    received = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        if not received.is_set():
            received.set()
            raise Stopped(signum)
        if signum == signal.SIGINT:
            raise KeyboardInterrupt

    for signum in STOP_SIGNALS:
        signal.signal(signum, on_signal)


def event_on_signals() -> threading.Event:
    """An event set by the first SIGINT/SIGTERM (the loop stops after its current run); a second SIGINT
    interrupts at once. Nothing is raised by the first signal, so the process always exits normally."""
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        print(f"akhbar: {signal_name(signum)}: stopping after the current run", file=sys.stderr)
        stop.set()

    for signum in STOP_SIGNALS:
        signal.signal(signum, on_signal)
    return stop


def stop_signal(error: BaseException) -> int | None:
    """The signal that stopped the work which raised ``error``, or None when no signal did.

    Walks ``error`` and its causes and contexts: `Stopped` names its signal, Prefect's
    `TerminationSignal` (SIGTERM inside a flow run) its own, a plain KeyboardInterrupt is SIGINT.
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, Stopped):
            return current.signum
        if isinstance(current, KeyboardInterrupt):
            return signal.SIGINT
        termination = _termination_signal(current)
        if termination is not None:
            return termination
        current = current.__cause__ or current.__context__
    return None


def _termination_signal(error: BaseException) -> int | None:
    """The signal of a Prefect `TerminationSignal`; Prefect is only imported if something else already did."""
    exceptions = sys.modules.get("prefect.exceptions")
    if exceptions is not None and isinstance(error, exceptions.TerminationSignal):
        return int(error.signal)
    return None
