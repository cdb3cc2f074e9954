"""How signals become stops: the exceptions in an error's chain, and the handlers of `akhbar run`."""

from __future__ import annotations

import os
import signal

import pytest
from prefect.exceptions import TerminationSignal

from flows.stops import Stopped, raise_on_signals, stop_signal


def _wrapped(inner: BaseException) -> ValueError:
    """``inner`` as Prefect's task engine can leave it: the context of an unrelated error."""
    try:
        try:
            raise inner
        except BaseException:
            raise ValueError("Task run is not set")  # noqa: B904 - the implicit context is the point
    except ValueError as error:
        assert error.__context__ is inner
        return error


def test_the_signal_is_read_from_the_chain() -> None:
    assert stop_signal(Stopped(signal.SIGTERM)) == signal.SIGTERM
    assert stop_signal(TerminationSignal(signal.SIGTERM)) == signal.SIGTERM
    assert stop_signal(KeyboardInterrupt()) == signal.SIGINT
    assert stop_signal(_wrapped(TerminationSignal(signal.SIGTERM))) == signal.SIGTERM
    failed = RuntimeError("run failed")
    failed.__cause__ = _wrapped(Stopped(signal.SIGINT))
    assert stop_signal(failed) == signal.SIGINT


def test_an_error_without_a_signal_is_no_stop() -> None:
    error = RuntimeError("disk full")
    error.__context__ = OSError("No space left on device")
    assert stop_signal(error) is None
    looped = ValueError("a")
    looped.__context__ = ValueError("b")
    looped.__context__.__context__ = looped
    assert stop_signal(looped) is None


@pytest.fixture
def restore_handlers():
    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


def test_first_signal_raises_then_sigterm_is_ignored_and_sigint_interrupts(restore_handlers) -> None:
    raise_on_signals()
    with pytest.raises(Stopped) as stopped:
        os.kill(os.getpid(), signal.SIGTERM)  # the handler runs in this thread before kill returns to us
    assert stopped.value.signum == signal.SIGTERM
    os.kill(os.getpid(), signal.SIGTERM)  # already stopping: ignored, this process goes on
    with pytest.raises(KeyboardInterrupt) as interrupted:
        os.kill(os.getpid(), signal.SIGINT)
    assert not isinstance(interrupted.value, Stopped)
