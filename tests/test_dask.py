"""The ingest flow with its tagging on a real Dask cluster (a scheduler and two worker processes on
loopback): the same warehouse as a local run, and a worker killed mid-run changes nothing."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import SEEDS
from tests.dask_cluster import DaskCluster, dask_cluster
from tests.warehouse_state import ingest_in_process, state

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def local_seeds(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("local") / "wh"
    ingest_in_process(SEEDS, root)
    return state(root)


@pytest.fixture
def cluster(prefect_api_url: str) -> Iterator[DaskCluster]:
    with dask_cluster(workers=2, env={"PREFECT_API_URL": prefect_api_url}) as running:
        yield running


@pytest.fixture
def small_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pieces as small as one token, so the seeds' batches really are tagged on the cluster."""
    import flows.ingest
    from transforms import pipeline

    monkeypatch.setattr(flows.ingest, "PipelineConfig", functools.partial(pipeline.PipelineConfig, min_piece_tokens=1))


def _taggers_loaded(cluster: DaskCluster) -> dict[str, int]:
    from distributed import Client

    def loaded() -> int:
        import sys

        module = sys.modules.get("transforms.pipeline")
        return 0 if module is None else module.ner_tagger.cache_info().currsize

    with Client(cluster.address) as client:
        return client.run(loaded)


def test_tagging_on_a_dask_cluster_gives_the_local_warehouse(cluster, small_pieces, local_seeds, tmp_path: Path):
    from flows.ingest import ingest_flow

    summary = ingest_flow(cluster.address)(str(SEEDS), str(tmp_path / "wh"), workers=2, batch_size=2)
    assert summary.status == "completed"
    assert state(tmp_path / "wh") == local_seeds
    assert sorted(_taggers_loaded(cluster).values()) == [1, 1]  # both workers tagged


def test_a_dask_worker_killed_mid_run_changes_nothing(cluster, small_pieces, local_seeds, tmp_path: Path):
    from distributed import Client

    from flows.ingest import ingest_flow

    outcome: dict = {}

    def run() -> None:
        try:
            # Two articles a batch: two pieces of one article each (a piece never cuts an article).
            outcome["summary"] = ingest_flow(cluster.address)(str(SEEDS), str(tmp_path / "wh"), workers=2,
                                                               batch_size=2)
        except Exception as error:  # a failed run must still leave nothing half loaded
            outcome["error"] = error

    runner = threading.Thread(target=run)
    runner.start()
    killed = None
    with Client(cluster.address) as client:
        pids = client.run(__import__("os").getpid)
        deadline = time.monotonic() + 240
        while killed is None and runner.is_alive() and time.monotonic() < deadline:
            busy = [address for address, tasks in client.processing().items() if tasks]
            if busy:
                killed = pids[busy[0]]
                index = next(i for i, worker in enumerate(cluster.workers) if worker.pid == killed)
                cluster.kill_worker(index)
            time.sleep(0.05)
    runner.join(timeout=300)
    assert killed is not None, f"no piece was ever seen running on the cluster: {outcome}"
    if "summary" in outcome and outcome["summary"].status == "completed":
        assert state(tmp_path / "wh") == local_seeds  # Dask reran the lost piece on the other worker
    ingest_in_process(SEEDS, tmp_path / "wh")  # a re-run (of any failed part) equals one clean run
    assert state(tmp_path / "wh") == local_seeds
