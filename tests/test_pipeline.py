"""The batch core in process, without Prefect: re-runs, pieces and offsets over the seeds."""

from __future__ import annotations

import pickle
import shutil
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import SEEDS
from tests.warehouse_state import ingest_in_process, query, state
from transforms.discover import discover
from transforms.pipeline import BatchCounts, BatchInput, History, PipelineConfig, run_batch
from transforms.schema import LEDGER, TABLES
from warehouse.history import StoredBodies, read_ledger

SCHEMAS = {relation.name: relation.schema for relation in TABLES}


@pytest.fixture(scope="module")
def one_pass(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("one-pass")
    source = root / "input"
    shutil.copytree(SEEDS, source)
    ingest_in_process(source, root / "wh")
    return source, root / "wh"


def test_seeds_load_and_a_rerun_loads_nothing(one_pass: tuple[Path, Path]):
    source, warehouse = one_pass
    before = state(warehouse)
    assert len(before["articles"]) == 5 and len(before["ingest_ledger"]) == 5
    again = ingest_in_process(source, warehouse)
    assert again.counts == BatchCounts() and again.processed == ()
    assert state(warehouse) == before
    assert query(warehouse, "SELECT count(*) AS n FROM ledger_history")["n"].to_list() == [5]


def test_seeds_in_two_pieces_equal_one_pass(one_pass: tuple[Path, Path], tmp_path: Path):
    _, whole = one_pass
    source = tmp_path / "input"
    source.mkdir()
    seeds = sorted(SEEDS.iterdir())
    for piece in (seeds[:2], seeds[2:]):
        for path in piece:
            shutil.copy2(path, source / path.name)
        ingest_in_process(source, tmp_path / "wh", PipelineConfig(batch_size=2))
    assert state(tmp_path / "wh") == state(whole)


def test_every_mention_is_its_slice_of_the_body(one_pass: tuple[Path, Path]):
    _, warehouse = one_pass
    rows = query(
        warehouse,
        "SELECT m.surface, m.start_char, m.end_char, a.body FROM entity_mentions m JOIN articles a USING (article_id)",
    )
    assert rows.height > 0
    for surface, start, end, body in rows.iter_rows():
        assert body[start:end] == surface


def test_batch_output_is_picklable_and_in_the_schema(tmp_path: Path):
    source = tmp_path / "input"
    shutil.copytree(SEEDS, source)
    candidates = discover(source, LEDGER.empty()).candidates.sort("source_path")
    batch = BatchInput(source, candidates, 0, "run-1", datetime(2026, 1, 1, tzinfo=UTC))
    bodies = StoredBodies(tmp_path / "no-warehouse", tmp_path / "staging")
    shipped = pickle.loads(pickle.dumps((batch, History.empty(), PipelineConfig(), bodies)))
    phases: list[str] = []
    output = run_batch(*shipped, progress=phases.append)
    output = pickle.loads(pickle.dumps(output))
    assert phases == ["reading", "entities", "validating"]
    assert output.blocking_failures == () and output.counts.loaded == 5 and output.counts.articles == 5
    assert output.processed == tuple(candidates["source_path"])
    for table, frame in output.tables.by_table().items():
        assert frame.schema == pl.Schema(SCHEMAS[table]), table
    assert output.tables.ledger_history["run_id"].to_list() == ["run-1"] * 5
    assert output.loaded_keys.height == 5


def test_history_carries_a_batch_forward(tmp_path: Path):
    source = tmp_path / "input"
    shutil.copytree(SEEDS, source)
    shutil.copy2(source / sorted(p.name for p in SEEDS.iterdir())[0], source / "copy.txt")
    candidates = discover(source, LEDGER.empty()).candidates.sort("source_path")
    at = datetime(2026, 1, 1, tzinfo=UTC)
    config = PipelineConfig()
    bodies = StoredBodies(tmp_path / "no-warehouse", tmp_path / "staging")
    first = run_batch(BatchInput(source, candidates.filter(pl.col("source_path") != "copy.txt"), 0, "r", at),
                      History.empty(), config, bodies)
    history = History.empty().extended(first)
    second = run_batch(BatchInput(source, candidates.filter(pl.col("source_path") == "copy.txt"), 1, "r", at),
                       history, config, bodies)
    assert second.counts.duplicate == 1 and second.tables.duplicates["kind"].to_list() == ["exact"]
    assert history.without_articles_of(["copy.txt"]).known.height == 5
    assert history.without_articles_of(list(candidates["source_path"])).known.height == 0


def test_read_ledger_of_a_missing_warehouse_is_empty(tmp_path: Path):
    ledger = read_ledger(tmp_path / "absent")
    assert ledger.height == 0 and ledger.schema == pl.Schema(LEDGER.schema)
