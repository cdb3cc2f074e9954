"""Shared fixtures: one Prefect test server per session, the CLI in-process, quiet and hermetic settings.

Tiers: a test marked ``e2e`` (runs through the Prefect flow) or ``slow`` (seconds of work even without
Prefect) is left out of ``make test-fast``; every other test is in the fast tier. A test that needs the
Prefect server must say so with ``e2e``: collection stops with an error naming any that does not.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

# Before anything imports Prefect or Great Expectations: quiet, local, no analytics. The console
# level is the one `akhbar` itself sets, so in-process CLI runs print what the real command prints.
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="akhbar-prefect-home-"))
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "240")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
os.environ.setdefault("TQDM_DISABLE", "1")

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"
SHARED_DATA = REPO.parent / "shared" / "data"

PREFECT_FIXTURE = "prefect_api_url"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Refuse a test that starts Prefect without the ``e2e`` marker: it would slip into the fast tier."""
    unmarked = [
        item.nodeid for item in items
        if PREFECT_FIXTURE in getattr(item, "fixturenames", ()) and item.get_closest_marker("e2e") is None
    ]
    if unmarked:
        raise pytest.UsageError(
            f"tests using the Prefect server ({PREFECT_FIXTURE}) must be marked e2e: " + ", ".join(unmarked)
        )


@pytest.fixture(scope="session")
def prefect_api_url() -> str:
    """Start Prefect's test server once; in-process flow runs use it, subprocess runs get its API URL."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=None):
        yield PREFECT_API_URL.value()


@dataclass(frozen=True)
class CliResult:
    """What a run of `akhbar` gave: the same three fields as a finished subprocess."""

    returncode: int
    stdout: str
    stderr: str


def run_main(args: Sequence[str], extra_env: dict[str, str] | None = None) -> int:
    """`akhbar ARGS` in this process; the environment is restored afterwards (the CLI sets defaults in it)."""
    from flows.cli import main

    saved = dict(os.environ)
    os.environ.update(extra_env or {})
    try:
        return main(list(args))
    except SystemExit as exit_:  # argparse's usage errors
        return exit_.code if isinstance(exit_.code, int) else 1
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture
def akhbar(capfd: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run `akhbar` in-process, its output captured at the file descriptors as a subprocess's would be.

    Saves a fresh interpreter's Prefect and Great Expectations imports per call. Tests about the
    process itself (signals, kill -9, settings read at import time) keep `tests.warehouse_state.run_cli`.
    A `run` needs the Prefect server: request ``prefect_api_url`` too.
    """

    def run(args: Sequence[str], extra_env: dict[str, str] | None = None) -> CliResult:
        capfd.readouterr()
        code = run_main(args, extra_env)
        out, err = capfd.readouterr()
        return CliResult(code, out, err)

    return run


@pytest.fixture
def seed_input(tmp_path: Path) -> Path:
    target = tmp_path / "input"
    shutil.copytree(SEEDS, target)
    return target


@pytest.fixture
def warehouse_dir(tmp_path: Path) -> Path:
    return tmp_path / "warehouse"


def shared_data_or_skip(*parts: str) -> Path:
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not available at {path}")
    return path

