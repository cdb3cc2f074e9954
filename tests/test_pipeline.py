"""The batch core in process, without Prefect: re-runs, pieces and offsets over the seeds."""

from __future__ import annotations

import itertools
import os
import pickle
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import REPO, SEEDS
from tests.warehouse_state import ingest_in_process, query, state
from transforms import pipeline
from transforms.discover import discover
from transforms.pipeline import (
    BatchCounts,
    BatchInput,
    DateOrder,
    History,
    PipelineConfig,
    order_by_date,
    read_and_parse,
    recall_first_reads,
    run_batch,
)
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


def _ordered(tmp_path: Path, batch_size: int = 2) -> tuple[Path, DateOrder, PipelineConfig]:
    source = tmp_path / "input"
    shutil.copytree(SEEDS, source)
    config = PipelineConfig(batch_size=batch_size)
    candidates = discover(source, LEDGER.empty()).candidates
    return source, order_by_date(source, candidates, {}, config, tmp_path / "spill"), config


def _batches(order: DateOrder, size: int) -> list[tuple[pl.DataFrame, pipeline.FirstReads]]:
    return [(order.candidates.slice(start, size), order.first_reads.slice(start, size))
            for start in range(0, order.candidates.height, size)]


def test_batches_take_the_first_reads_and_read_no_file_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    source, order, config = _ordered(tmp_path)
    assert order.candidates["source_path"].to_list() == order.first_reads.rows["source_path"].to_list()
    expected = [read_and_parse(source, candidates, {}, config) for candidates, _ in _batches(order, 2)]
    asked: list[int] = []
    real_read_files = pipeline.read_files

    def counting_read_files(input_dir, candidates, read_config=None):
        asked.append(candidates.height)
        return real_read_files(input_dir, candidates, read_config)

    monkeypatch.setattr(pipeline, "read_files", counting_read_files)
    for (candidates, first_reads), reread in zip(_batches(order, 2), expected, strict=True):
        recalled = recall_first_reads(source, candidates, first_reads, {}, config)
        assert recalled.frame.schema == reread.frame.schema and recalled.frame.equals(reread.frame)
        assert (recalled.deferred, recalled.unchanged) == (reread.deferred, reread.unchanged)
    assert sum(asked) == 0


def _trec(day: int) -> str:
    return (f"<DOC>\n<DOCNO>doc-{day}</DOCNO>\n<TIME>{day:02d} Mar 2018 18:50:55 +0000</TIME>\n"
            f"<TEXT>\nقال المتحدث في اليوم {day} إن الاجتماع انتهى باتفاق.\n</TEXT>\n</DOC>\n")


def test_batches_follow_the_date_order_across_parts(tmp_path: Path):
    """Parts are cut in discovery order, batches in date order: a batch's rows come from several parts."""
    source = tmp_path / "input"
    source.mkdir()
    days = {"a.txt": 2, "b.txt": 4, "c.txt": 3, "d.txt": 1}
    for name, day in days.items():
        (source / name).write_text(_trec(day), encoding="utf-8")
    config = PipelineConfig(batch_size=2)
    order = order_by_date(source, discover(source, LEDGER.empty()).candidates, {}, config, tmp_path / "spill")
    assert order.candidates["source_path"].to_list() == ["d.txt", "a.txt", "c.txt", "b.txt"]
    assert order.first_reads.rows["part"].to_list() == [1, 0, 1, 0]
    for candidates, first_reads in _batches(order, 2):
        recalled = recall_first_reads(source, candidates, first_reads, {}, config)
        reread = read_and_parse(source, candidates, {}, config)
        assert recalled.frame["source_path"].to_list() == candidates["source_path"].to_list()
        assert recalled.frame.equals(reread.frame)


def test_bytes_changed_behind_an_unchanged_size_and_mtime_come_from_the_spill(tmp_path: Path):
    source, order, config = _ordered(tmp_path, batch_size=10)
    path = order.candidates["source_path"][0]
    info = (source / path).stat()
    original = (source / path).read_bytes()
    (source / path).write_bytes(original.replace("ال".encode(), "لا".encode(), 1))
    os.utime(source / path, ns=(info.st_atime_ns, info.st_mtime_ns))
    recalled = recall_first_reads(source, order.candidates, order.first_reads, {}, config)
    assert recalled.frame.filter(pl.col("source_path") == path)["text"].to_list() == [original.decode()]


def test_a_file_changed_between_the_passes_is_deferred(tmp_path: Path):
    source, order, config = _ordered(tmp_path)
    changed = order.candidates["source_path"][1]
    with (source / changed).open("ab") as handle:
        handle.write("\nسطر جديد\n".encode())
    recalled = recall_first_reads(source, order.candidates, order.first_reads, {}, config)
    assert recalled.deferred == (changed,)
    assert changed not in recalled.frame["source_path"].to_list()
    assert recalled.frame.height == order.candidates.height - 1


def test_a_file_deferred_by_the_ordering_pass_is_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    source = tmp_path / "input"
    shutil.copytree(SEEDS, source)
    config = PipelineConfig(batch_size=2)
    candidates = discover(source, LEDGER.empty()).candidates
    moving = candidates["source_path"][0]
    discovered_mtime = candidates["mtime_ns"][0]
    real_read_files = pipeline.read_files

    def read_while_moving(input_dir, batch, read_config=None):  # the file is touched while read, then restored
        if moving in batch["source_path"].to_list():
            os.utime(source / moving, ns=(discovered_mtime, discovered_mtime + 1))
        try:
            return real_read_files(input_dir, batch, read_config)
        finally:
            os.utime(source / moving, ns=(discovered_mtime, discovered_mtime))

    monkeypatch.setattr(pipeline, "read_files", read_while_moving)
    order = order_by_date(source, candidates, {}, config, tmp_path / "spill")
    monkeypatch.setattr(pipeline, "read_files", real_read_files)
    row = order.first_reads.rows.filter(pl.col("source_path") == moving)
    assert row["part"].to_list() == [None] and row["unchanged"].to_list() == [False]
    recalled = recall_first_reads(source, order.candidates, order.first_reads, {}, config)
    assert recalled.deferred == () and moving in recalled.frame["source_path"].to_list()


def test_unchanged_files_are_counted_from_the_first_reads(tmp_path: Path):
    source = tmp_path / "input"
    shutil.copytree(SEEDS, source)
    config = PipelineConfig(batch_size=2)
    candidates = discover(source, LEDGER.empty()).candidates
    first = read_and_parse(source, candidates, {}, config)
    previous_sha = dict(first.frame.select("source_path", "sha256").iter_rows())
    order = order_by_date(source, candidates, previous_sha, config, tmp_path / "spill")
    assert order.first_reads.rows["unchanged"].all() and order.first_reads.rows["part"].is_null().all()
    recalled = recall_first_reads(source, order.candidates, order.first_reads, previous_sha, config)
    assert sorted(recalled.unchanged) == sorted(candidates["source_path"]) and recalled.frame.height == 0


_HEAVY = ("great_expectations", "transforms.ner.model", "transforms.ner.nn", "transforms.ner.crf")


def test_nothing_to_validate_or_tag_imports_no_validator_and_no_tagger(one_pass: tuple[Path, Path], tmp_path: Path):
    """In a fresh process: a rerun over an unchanged folder, and a batch whose only file is refused."""
    source, warehouse = one_pass
    refused = tmp_path / "refused"
    refused.mkdir()
    (refused / "empty.txt").write_bytes(b"")
    script = f"""
import sys
from datetime import UTC, datetime
from pathlib import Path
from tests.warehouse_state import ingest_in_process
from transforms.discover import discover
from transforms.pipeline import BatchInput, History, PipelineConfig, run_batch
from transforms.schema import LEDGER
assert ingest_in_process(Path({str(source)!r}), Path({str(warehouse)!r})).processed == ()
candidates = discover(Path({str(refused)!r}), LEDGER.empty()).candidates
batch = BatchInput(Path({str(refused)!r}), candidates, 0, "r", datetime.now(UTC))
assert run_batch(batch, History.empty(), PipelineConfig()).counts.rejected == 1
print(sorted(m for m in sys.modules if m.startswith({_HEAVY!r})))
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_pieces_keep_articles_whole_and_balance_their_words():
    articles = pl.DataFrame({"article_id": list("abcdef"),
                             "body": [" ".join(["w"] * n) for n in (3, 2, 5, 1, 4, 6)]})
    two = pipeline.cut_articles(articles, 2)
    assert [piece["article_id"].to_list() for piece in two] == [["a", "b", "c", "d"], ["e", "f"]]  # 11 and 10
    assert pl.concat(two).equals(articles)
    assert 1 < len(pipeline.cut_articles(articles, 9)) <= 6  # never more pieces than articles
    assert len(pipeline.cut_articles(articles, 3, min_tokens=10)) == 2  # 21 words: two pieces of 10 at least
    assert len(pipeline.cut_articles(articles.head(0), 2)) == 1


def _seed_articles() -> pl.DataFrame:
    parsed = read_and_parse(SEEDS, discover(SEEDS, LEDGER.empty()).candidates, {}, PipelineConfig()).frame
    return parsed.select(pl.col("source_path").alias("article_id"), pl.col("body"))


def test_pieces_of_the_entity_step_give_the_mentions_of_one_call():
    from transforms.mentions import MentionConfig, TaggedArticles, mentions_of, tag_mentions

    articles = _seed_articles()
    config = MentionConfig()
    whole = tag_mentions(articles, pipeline.ner_tagger(), config)
    for bounds in ((0, 2, 5), (0, 1, 3, 4, 5), (0, 1, 2, 3, 4, 5)):
        cut = [articles.slice(start, end - start) for start, end in itertools.pairwise(bounds)]
        tagged = TaggedArticles.concat(pipeline.serial_map(pipeline.tag_piece, [(p, config) for p in cut]))
        assert mentions_of(articles, tagged, config).equals(whole), bounds


def test_batches_tagged_in_this_process_take_turns(monkeypatch):
    """Two batches are tagged at once; in one process they must not share the tagger's caches at once."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    from transforms.mentions import MentionConfig

    inside: list[int] = []
    most = [0]
    guard = threading.Lock()

    class SlowTagger:
        def tag(self, sentences, doc_ids=None, context_radius=None):
            with guard:
                inside.append(1)
                most[0] = max(most[0], len(inside))
            time.sleep(0.05)
            with guard:
                inside.pop()
            return [["O"] * len(s) for s in sentences]

    monkeypatch.setattr(pipeline, "ner_tagger", lambda: SlowTagger())
    piece = (_seed_articles().head(1), MentionConfig())
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert len(list(pool.map(pipeline.tag_piece, [piece] * 4))) == 4
    assert most[0] == 1


def test_seeds_are_the_same_whatever_the_workers(one_pass: tuple[Path, Path], tmp_path: Path):
    _, whole = one_pass
    source = tmp_path / "input"
    shutil.copytree(SEEDS, source)
    ingest_in_process(source, tmp_path / "two", PipelineConfig(workers=2, min_piece_tokens=1))
    ingest_in_process(source, tmp_path / "three-batched", PipelineConfig(batch_size=2, workers=3, min_piece_tokens=1))
    assert state(tmp_path / "two") == state(whole)
    assert state(tmp_path / "three-batched") == state(whole)


@pytest.mark.slow
def test_seeds_tagged_in_worker_processes_equal_one_pass(one_pass: tuple[Path, Path], tmp_path: Path):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    _, whole = one_pass
    source = tmp_path / "input"
    shutil.copytree(SEEDS, source)
    where: list[int] = []

    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        def in_workers(function, items):
            where.extend(pool.submit(os.getpid).result() for _ in items)
            return list(pool.map(function, items))

        for batch_size in (1000, 2):
            ingest_in_process(source, tmp_path / f"wh-{batch_size}",
                              PipelineConfig(batch_size=batch_size, workers=2, min_piece_tokens=1), in_workers)
            assert state(tmp_path / f"wh-{batch_size}") == state(whole), batch_size
    assert where and os.getpid() not in where


@pytest.mark.parametrize("batch_size", [1, 2])
def test_a_near_duplicate_in_a_later_batch_of_the_run_is_found(tmp_path: Path, batch_size: int):
    """While a batch is tagged the next one is deduplicated against it, before it is staged."""
    source = tmp_path / "input"
    shutil.copytree(SEEDS, source)
    lines = (source / "002_17848a7770633ebb.txt").read_text(encoding="utf-8").split("\n")
    lines[20] = "وقال مصدر دبلوماسي إن الزيارة تأتي في إطار التنسيق المستمر بين البلدين."
    (source / "zz refiled.txt").write_text("\n".join(lines), encoding="utf-8")
    ingest_in_process(source, tmp_path / "whole", PipelineConfig())
    ingest_in_process(source, tmp_path / "batched", PipelineConfig(batch_size=batch_size))
    kinds = query(tmp_path / "whole", "SELECT kind FROM duplicates")["kind"].to_list()
    assert kinds == ["near"]
    assert state(tmp_path / "batched") == state(tmp_path / "whole")
