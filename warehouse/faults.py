"""Named crash points for the crash-consistency tests.

`AKHBAR_CRASH_AT=<point>` makes the process SIGKILL itself at that point, so the tests can kill
a run at a chosen phase (inside the commit transaction included) instead of guessing timings.
Unset, a crash point costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

CRASH_ENV = "AKHBAR_CRASH_AT"
POINTS = ("after-open", "after-stage", "before-commit", "mid-commit", "after-commit")


def crash_point(name: str) -> None:
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
