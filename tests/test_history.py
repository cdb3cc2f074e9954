"""The warehouse read layer for ingest: snapshot, ledger and stored bodies, in their schema."""

from __future__ import annotations

import pickle
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from transforms.pipeline import BatchTables, History
from transforms.schema import ARTICLES, BANDS, BOILERPLATE_LINES, KNOWN_KEYS, LEDGER, LEDGER_HISTORY, TABLES
from warehouse import staging as staged
from warehouse import store
from warehouse.history import StoredBodies, open_snapshot, read_ledger

AT = datetime(2026, 1, 1, tzinfo=UTC)
RUN = {"run_id": "r1", "started_at": AT, "finished_at": AT, "status": "completed"}


def _article(article_id: str, path: str, body: str) -> pl.DataFrame:
    row = dict.fromkeys(ARTICLES.names)
    row.update(article_id=article_id, source_path=path, body=body, content_hash=article_id * 4, run_id="r1")
    return pl.DataFrame([row], schema=ARTICLES.schema)


def _commit(root: Path, staging: Path, articles: pl.DataFrame, ledger: pl.DataFrame) -> None:
    for relation, frame in ((ARTICLES, articles), (LEDGER_HISTORY, ledger)):
        (staging / relation.name).mkdir(parents=True, exist_ok=True)
        frame.write_parquet(staging / relation.name / "batch-00000.parquet")
    con = store.open_writer(root)
    try:
        store.commit_run(con, staging, RUN)
    finally:
        con.close()


def test_a_new_warehouse_has_an_empty_history_in_its_schema(tmp_path: Path):
    snapshot = open_snapshot(tmp_path / "wh", "scheme")
    found = snapshot.ledger(pl.Series(["a.txt"]))
    assert found.schema == pl.Schema(LEDGER.schema) and found.height == 0
    history = snapshot.history
    assert history.previous_sha == {}
    assert history.known.schema == pl.Schema(KNOWN_KEYS.schema)
    assert history.bands.schema == pl.Schema(BANDS.schema)
    assert history.boilerplate.schema == pl.Schema(BOILERPLATE_LINES.schema)
    assert pickle.loads(pickle.dumps(history)).known.equals(History.empty().known)
    assert history.stored is None  # nothing stored to search: no batch opens a reader for it


def test_snapshot_and_ledger_read_what_was_committed(tmp_path: Path):
    root = tmp_path / "wh"
    ledger_rows = pl.DataFrame(
        [{"source_path": "a.txt", "sha256": "ab", "size_bytes": 3, "mtime_ns": 1, "status": "loaded",
          "reason": None, "article_id": "0123456789abcdef", "run_id": "r1", "recorded_at": AT},
         {"source_path": "b.txt", "sha256": None, "size_bytes": None, "mtime_ns": None, "status": "rejected",
          "reason": "not a regular file", "article_id": None, "run_id": "r1", "recorded_at": AT}],
        schema=LEDGER_HISTORY.schema,
    )
    _commit(root, tmp_path / "staging", _article("0123456789abcdef", "a.txt", "نص"), ledger_rows)
    snapshot = open_snapshot(root, "scheme")
    # Discovery asks for the ledger rows of the paths it found, and only those come back.
    assert snapshot.ledger(pl.Series(["a.txt", "new.txt"]))["source_path"].to_list() == ["a.txt"]
    history = snapshot.history
    assert history.known.height == 0  # nothing of the history is loaded: each batch looks up its keys
    assert history.stored is not None
    stored = ("0123456789abcdef" * 4, "0123456789abcdef", "a.txt")
    asked = pl.Series(["0123456789abcdef" * 4, "f" * 64])
    assert history.known_matching(asked).rows() == [stored]
    assert pickle.loads(pickle.dumps(history)).known_matching(asked).rows() == [stored]
    assert history.without_articles_of(["a.txt"]).known_matching(asked).height == 0  # a changed file
    ledger = read_ledger(root)
    assert ledger.schema == pl.Schema(LEDGER.schema)
    assert sorted(ledger["source_path"]) == ["a.txt", "b.txt"]


def test_stored_bodies_come_from_the_warehouse_and_the_staging_folder(tmp_path: Path):
    root, run_staging = tmp_path / "wh", tmp_path / "run"
    _commit(root, tmp_path / "committed", _article("1" * 16, "a.txt", "محفوظ"), LEDGER_HISTORY.empty())
    empty = {relation.name: relation.empty() for relation in TABLES}
    tables = {f.name: empty[f.name] for f in fields(BatchTables)}
    staged.write_batch(run_staging, BatchTables(**{**tables, "articles": _article("2" * 16, "b.txt", "مرحلي")}), 0)
    bodies = pickle.loads(pickle.dumps(StoredBodies(root, run_staging)))
    found = bodies(["1" * 16, "2" * 16, "3" * 16]).sort("article_id")
    assert found.rows() == [("1" * 16, "محفوظ"), ("2" * 16, "مرحلي")]
    only_staged = StoredBodies(tmp_path / "no-warehouse", run_staging)(["2" * 16])
    assert only_staged.rows() == [("2" * 16, "مرحلي")]
    assert StoredBodies(tmp_path / "no-warehouse", tmp_path / "nothing")(["2" * 16]).height == 0



def test_stored_bands_and_boilerplate_come_back_only_where_keys_match(tmp_path: Path):
    from transforms.schema import ARTICLE_MINHASH

    root, staging = tmp_path / "wh", tmp_path / "staging"
    bands = ARTICLE_MINHASH.conform(pl.DataFrame(
        {"article_id": ["a" * 16, "a" * 16, "b" * 16], "source_path": ["a.txt", "a.txt", "b.txt"],
         "band_index": [0, 1, 0], "band_hash": [10, 11, 20], "scheme": ["scheme", "scheme", "other"]}
    ))
    (staging / "article_minhash").mkdir(parents=True)
    bands.write_parquet(staging / "article_minhash" / "batch-00000.parquet")
    lines = BOILERPLATE_LINES.conform(pl.DataFrame(
        {"publisher": ["site", "site"], "line_key": ["k1", "k2"], "line": ["x", "y"], "word_count": [1, 1],
         "article_count": [9, 2], "article_keys": [[1], [2]], "example_source_path": ["a.txt", "a.txt"],
         "boilerplate": [True, False]}
    ))
    (staging / "boilerplate_lines").mkdir(parents=True)
    lines.write_parquet(staging / "boilerplate_lines" / "run.parquet")
    _commit(root, staging, _article("a" * 16, "a.txt", "نص"), LEDGER_HISTORY.empty())
    history = open_snapshot(root, "scheme").history
    keys = pl.DataFrame({"band_index": [0, 1, 0], "band_hash": [10, 99, 20]})
    # (0, 20) is stored under another scheme; (1, 99) matches nothing.
    assert history.bands_matching(keys).rows() == [("a" * 16, "a.txt", 0, 10)]
    wanted = pl.DataFrame({"publisher": ["site", "other"], "line_key": ["k2", "k1"]})
    assert history.boilerplate_matching(wanted)["line_key"].to_list() == ["k2"]
