"""The news corpus through the real flow: every file accounted for, once.

By default a subset runs (two categories of two sources, about 1,100 files copied to a temporary
folder) so that ``make test`` stays fast. Set ``AKHBAR_FULL_CORPUS=1`` to run all 19,792 files in
place instead (read-only; several minutes)::

    AKHBAR_FULL_CORPUS=1 .venv/bin/pytest tests/test_e2e_corpus.py

Skipped when ``../shared/data/news_corpus`` is absent.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import shared_data_or_skip
from tests.warehouse_state import query

pytestmark = [pytest.mark.corpus, pytest.mark.e2e]

FULL = os.environ.get("AKHBAR_FULL_CORPUS") == "1"
# Categories with stories filed twice (exact duplicates inside the subset) and both publishers'
# site lines.
SUBSET = ("France24/middleEast", "France24/culture", "BBC/technology", "BBC/culture")
STATUSES = {"loaded", "duplicate", "quarantined", "rejected"}
_TEXT = re.compile(rb"(?s)<TEXT>(.*?)(?:</TEXT>|\Z)")


@dataclass(frozen=True)
class CorpusRun:
    source: Path
    warehouse: Path
    files: list[str]
    first: object
    second: object
    ledger: pl.DataFrame
    ledger_after_second: pl.DataFrame
    articles: pl.DataFrame
    duplicates: pl.DataFrame
    counts_after_first: dict[str, int]
    counts_after_second: dict[str, int]


def _counts(warehouse: Path) -> dict[str, int]:
    relations = ("articles", "entity_mentions", "entities", "duplicates", "ingest_ledger", "quarantine")
    return {r: query(warehouse, f"SELECT count(*) AS n FROM {r}")["n"][0] for r in relations}


@pytest.fixture(scope="module")
def corpus(prefect_api_url, tmp_path_factory) -> CorpusRun:
    from flows.ingest import ingest

    root = shared_data_or_skip("news_corpus", "ant_multisource_v2.1")
    tmp = tmp_path_factory.mktemp("corpus")
    if FULL:
        source = root
    else:
        source = tmp / "input"
        for part in SUBSET:
            shutil.copytree(root / part, source / part)
    files = sorted(p.relative_to(source).as_posix() for p in source.rglob("*") if p.is_file())
    warehouse = tmp / "warehouse"
    first = ingest(str(source), str(warehouse))
    ledger = query(warehouse, "SELECT * FROM ingest_ledger")
    articles = query(warehouse, "SELECT article_id, source_path, content_hash FROM articles")
    duplicates = query(warehouse, "SELECT * FROM duplicates")
    counts = _counts(warehouse)
    second = ingest(str(source), str(warehouse))
    return CorpusRun(
        source,
        warehouse,
        files,
        first,
        second,
        ledger,
        query(warehouse, "SELECT * FROM ingest_ledger"),
        articles,
        duplicates,
        counts,
        _counts(warehouse),
    )


def test_every_file_has_exactly_one_ledger_row(corpus: CorpusRun) -> None:
    assert len(corpus.files) == 19_792 if FULL else len(corpus.files) > 1000
    paths = corpus.ledger["source_path"]
    assert paths.n_unique() == paths.len() == len(corpus.files)
    assert sorted(paths) == corpus.files


def test_statuses_and_reasons(corpus: CorpusRun) -> None:
    ledger = corpus.ledger
    assert set(ledger["status"]) <= STATUSES
    loaded = ledger["status"] == "loaded"
    assert ledger.filter(loaded)["reason"].is_null().all()
    refused = ledger.filter(~loaded)
    assert refused["reason"].is_not_null().all() and (refused["reason"].str.len_chars() > 10).all()
    with_id = ledger["status"].is_in(["loaded", "duplicate"])
    assert ledger.filter(with_id)["article_id"].is_not_null().all()
    assert ledger.filter(~with_id)["article_id"].is_null().all()
    assert (ledger["status"] == "duplicate").sum() > 0, "the corpus holds stories filed twice"


def test_run_summary_adds_up(corpus: CorpusRun) -> None:
    first, ledger = corpus.first, corpus.ledger
    assert first.status == "completed" and first.files_seen == len(corpus.files)
    assert first.files_deferred == 0 and first.files_unchanged == 0
    by_status = dict(ledger.group_by("status").len().iter_rows())
    assert (
        first.files_loaded,
        first.files_duplicate,
        first.files_quarantined,
        first.files_rejected,
    ) == tuple(by_status.get(s, 0) for s in ("loaded", "duplicate", "quarantined", "rejected"))
    run = query(corpus.warehouse, "SELECT * FROM runs").row(0, named=True)
    assert run["status"] == "completed" and run["files_seen"] == len(corpus.files)


def test_loaded_files_are_the_articles(corpus: CorpusRun) -> None:
    articles, ledger = corpus.articles, corpus.ledger
    assert articles["article_id"].n_unique() == articles.height
    loaded = ledger.filter(pl.col("status") == "loaded")
    assert sorted(loaded["source_path"]) == sorted(articles["source_path"])
    joined = loaded.join(articles, on="source_path")
    assert (joined["article_id"] == joined["article_id_right"]).all()


def test_duplicates_point_at_loaded_articles(corpus: CorpusRun) -> None:
    ids = set(corpus.articles["article_id"])
    duplicate_rows = corpus.ledger.filter(pl.col("status") == "duplicate")
    assert set(duplicate_rows["article_id"]) <= ids
    assert sorted(corpus.duplicates["source_path"]) == sorted(duplicate_rows["source_path"])
    assert set(corpus.duplicates["duplicate_of"]) <= ids
    assert set(corpus.duplicates["kind"]) <= {"exact", "near"}
    assert corpus.duplicates["similarity"].is_between(0, 1).all()
    # Nothing is a duplicate of itself.
    own = corpus.articles.select("source_path", pl.col("article_id").alias("own"))
    assert duplicate_rows.join(own, on="source_path").height == 0


def test_files_with_the_same_text_load_once(corpus: CorpusRun) -> None:
    """An independent check: files whose <TEXT> bytes are equal (whitespace aside) give one article."""
    texts = {}
    for name in corpus.files:
        match = _TEXT.search((corpus.source / name).read_bytes())
        if match:
            texts[name] = b" ".join(match.group(1).split())
    groups = (
        pl.DataFrame(
            {"source_path": list(texts), "text": list(texts.values())}, schema_overrides={"text": pl.Binary}
        )
        .filter(pl.col("text") != b"")
        .join(corpus.ledger.select("source_path", "status", "article_id"), on="source_path")
        .group_by("text")
        .agg(
            pl.len().alias("files"),
            (pl.col("status") == "loaded").sum().alias("loaded"),
            pl.col("article_id").drop_nulls().n_unique().alias("ids"),
        )
        .filter(pl.col("files") > 1)
    )
    assert groups.height > 0
    assert (groups["loaded"] <= 1).all()
    assert (groups["ids"] <= 1).all(), "copies of one text point at one article"


def test_second_run_loads_nothing(corpus: CorpusRun) -> None:
    second = corpus.second
    assert second.status == "completed"
    assert (second.files_seen, second.files_unchanged) == (len(corpus.files), len(corpus.files))
    assert (second.files_loaded, second.files_duplicate, second.files_quarantined, second.files_rejected) == (
        0,
        0,
        0,
        0,
    )
    assert corpus.counts_after_second == corpus.counts_after_first
    assert corpus.ledger_after_second.sort("source_path").equals(corpus.ledger.sort("source_path"))


def test_the_workers_start_while_the_folder_is_ordered(corpus: CorpusRun) -> None:
    """A run with text enough for pieces starts one ``load-tagger`` task per worker before its pieces;
    the second run (nothing new) starts none."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, TaskRunFilter, TaskRunFilterName

    from flows.workers import default_workers

    def loads(run_id: str) -> list[str]:
        with get_client(sync_client=True) as client:
            runs = client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id])),
                task_run_filter=TaskRunFilter(name=TaskRunFilterName(like_="load-tagger")),
            )
        return [run.state.type.value for run in runs]

    if default_workers() < 2:
        pytest.skip("one core: no worker process")
    assert loads(corpus.first.run_id) == ["COMPLETED"] * default_workers()
    assert loads(corpus.second.run_id) == []
