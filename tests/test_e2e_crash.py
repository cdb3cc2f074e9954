"""kill -9 at any point of a run leaves the warehouse as before or as after; the next run finishes.

The killed runs are `akhbar` processes; the runs after them and the clean reference run happen in
this process (the next run is any run).
"""

from __future__ import annotations

import shutil
import signal
import time
from pathlib import Path

import pytest

from tests.conftest import SEEDS, run_main
from tests.warehouse_state import query, run_cli, start_cli, state, unreferenced_files
from warehouse.faults import CRASH_ENV, POINTS

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def clean_state(prefect_api_url, tmp_path_factory) -> dict:
    """What one clean run over the seeds (plus one hostile file) leaves behind."""
    root = tmp_path_factory.mktemp("clean")
    source = _input(root)
    code = run_main(["run", "--input", str(source), "--warehouse", str(root / "wh"), "--batch-size", "3"])
    assert code == 0
    return state(root / "wh")


def _input(root: Path) -> Path:
    source = root / "input"
    shutil.copytree(SEEDS, source)
    (source / "empty.txt").write_bytes(b"")
    return source


def _completed_runs(warehouse: Path) -> int:
    return query(warehouse, "SELECT count(*) AS n FROM runs WHERE status = 'completed'")["n"][0]


@pytest.mark.parametrize("point", POINTS)
def test_kill_at_a_point_then_rerun_equals_one_clean_run(point, clean_state, prefect_api_url, akhbar, tmp_path):
    source, warehouse = _input(tmp_path), tmp_path / "wh"
    args = ["run", "--input", str(source), "--warehouse", str(warehouse), "--batch-size", "3"]
    killed = run_cli(args, prefect_api_url, {CRASH_ENV: point})
    assert killed.returncode == -signal.SIGKILL, (killed.returncode, killed.stderr[-2000:])
    if (warehouse / "catalog.sqlite").exists():
        after_kill = state(warehouse)
        # Before the commit nothing is visible; after it, everything is.
        assert after_kill in ({k: [] for k in clean_state}, clean_state)
        assert (after_kill == clean_state) == (point == "after-commit")
    rerun = akhbar(args)
    assert rerun.returncode == 0, rerun.stderr
    assert state(warehouse) == clean_state
    assert _completed_runs(warehouse) == (2 if point == "after-commit" else 1)
    assert unreferenced_files(warehouse) == set()


def test_kill_while_staging_then_rerun(clean_state, prefect_api_url, akhbar, tmp_path):
    """A kill at an unplanned moment: as soon as the run has staged its first batch."""
    source, warehouse = _input(tmp_path), tmp_path / "wh"
    args = ["run", "--input", str(source), "--warehouse", str(warehouse), "--batch-size", "1"]
    process = start_cli(args, prefect_api_url)
    deadline = time.monotonic() + 240
    staging = warehouse / "staging"
    while time.monotonic() < deadline and process.poll() is None:
        if staging.exists() and any(staging.rglob("*.parquet")):
            break
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    rerun = akhbar(args)
    assert rerun.returncode == 0, rerun.stderr
    assert state(warehouse) == clean_state
    assert unreferenced_files(warehouse) == set()
