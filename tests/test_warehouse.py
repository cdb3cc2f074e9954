"""The DuckLake warehouse: schema, one-transaction commits, readers during writes, one writer."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from warehouse import store
from warehouse.lock import WarehouseBusyError, WriterLock

RUN = {"run_id": "r1", "started_at": datetime(2026, 1, 1, tzinfo=UTC), "finished_at": datetime(2026, 1, 1, tzinfo=UTC),
       "status": "completed", "files_seen": 1, "files_loaded": 1}


def _stage(staging: Path, table: str, frame: pl.DataFrame) -> None:
    (staging / table).mkdir(parents=True, exist_ok=True)
    frame.write_parquet(staging / table / "batch-00000.parquet")


def _snapshots(root: Path) -> int:
    con = store.open_reader(root)
    try:
        return con.execute(f"SELECT count(*) FROM ducklake_snapshots('{store.CATALOG_ALIAS}')").fetchone()[0]
    finally:
        con.close()


def test_schema_is_created_once(tmp_path: Path):
    store.open_writer(tmp_path).close()
    first = _snapshots(tmp_path)
    store.open_writer(tmp_path).close()
    # Nothing changed: a later writer start writes nothing (no empty snapshot).
    assert _snapshots(tmp_path) == first
    con = store.open_reader(tmp_path)
    names = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    con.close()
    assert {"articles", "entity_mentions", "entities", "duplicates", "ingest_ledger", "runs",
            "validation_results", "quarantine"} <= names


def test_commit_is_one_transaction(tmp_path: Path):
    staging = tmp_path / "staging"
    _stage(staging, "articles", pl.DataFrame({"article_id": ["0123456789abcdef"], "body": ["نص"], "extra": [1]}))
    _stage(staging, "ledger_history", pl.DataFrame({"source_path": ["a.txt"], "status": ["loaded"]}))
    con = store.open_writer(tmp_path / "wh")
    inserted = store.commit_run(con, staging, RUN)
    con.close()
    assert inserted["articles"] == 1 and inserted["ledger_history"] == 1 and inserted["quarantine"] == 0
    reader = store.open_reader(tmp_path / "wh")
    assert reader.execute("SELECT body FROM articles").fetchall() == [("نص",)]
    assert reader.execute("SELECT run_id FROM runs").fetchall() == [("r1",)]
    reader.close()
    # Every table really is Parquet: no rows inlined into the catalog.
    assert list((tmp_path / "wh" / "data").rglob("*.parquet"))


def test_failed_commit_leaves_nothing(tmp_path: Path):
    staging = tmp_path / "staging"
    _stage(staging, "articles", pl.DataFrame({"article_id": ["0123456789abcdef"]}))
    _stage(staging, "runs_not_a_table", pl.DataFrame({"x": [1]}))
    _stage(staging, "entity_mentions", pl.DataFrame({"start_char": ["not a number"]}))
    con = store.open_writer(tmp_path / "wh")
    with pytest.raises(Exception, match=r"(?i)conver|cast"):
        store.commit_run(con, staging, RUN)
    con.close()
    reader = store.open_reader(tmp_path / "wh")
    assert reader.execute("SELECT count(*) FROM articles").fetchone() == (0,)
    assert reader.execute("SELECT count(*) FROM runs").fetchone() == (0,)
    reader.close()


def test_reader_sees_last_commit_while_writer_is_in_a_transaction(tmp_path: Path):
    root = tmp_path / "wh"
    writer = store.open_writer(root)
    writer.execute("INSERT INTO runs (run_id) VALUES ('committed')")
    writer.execute("BEGIN")
    writer.execute("INSERT INTO runs (run_id) VALUES ('pending')")
    reader = store.open_reader(root)
    assert reader.execute("SELECT run_id FROM runs").fetchall() == [("committed",)]
    reader.close()
    writer.execute("COMMIT")
    writer.close()


def test_reader_refuses_a_missing_warehouse(tmp_path: Path):
    with pytest.raises(store.WarehouseMissingError, match="no warehouse"):
        store.open_reader(tmp_path / "absent")


def test_second_writer_waits_then_gives_up(tmp_path: Path):
    lock_path = tmp_path / ".writer.lock"
    with WriterLock(lock_path):
        started = time.monotonic()
        with pytest.raises(WarehouseBusyError, match="another akhbar writer"):
            WriterLock(lock_path, timeout_s=0.5).acquire()
        assert time.monotonic() - started >= 0.5
    with WriterLock(lock_path, timeout_s=0.5):
        pass


def test_lock_dies_with_its_process(tmp_path: Path):
    lock_path = tmp_path / ".writer.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from warehouse.lock import WriterLock; "
         f"l = WriterLock(__import__('pathlib').Path({str(lock_path)!r})); l.acquire(); "
         "print('held', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[1],
    )
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(WarehouseBusyError):
        WriterLock(lock_path, timeout_s=0.3).acquire()
    holder.kill()
    holder.wait()
    with WriterLock(lock_path, timeout_s=5):
        pass


def _boilerplate(rows: list[tuple[str, str, int]]) -> pl.DataFrame:
    """Boilerplate table rows (publisher, line_key, article_count), the other columns filled in."""
    from transforms.schema import BOILERPLATE_LINES

    return BOILERPLATE_LINES.conform(pl.DataFrame(
        [{"publisher": p, "line_key": k, "line": f"line {k}", "word_count": 2, "article_count": n,
          "article_keys": list(range(n)), "example_source_path": "a.txt", "boilerplate": n >= 8} for p, k, n in rows]
    ))


def _commit_boilerplate(root: Path, run_id: str, lines: pl.DataFrame) -> dict[str, int]:
    staging = root / "staging" / run_id
    _stage(staging, "boilerplate_lines", lines)
    con = store.open_writer(root)
    try:
        return store.commit_run(con, staging, {**RUN, "run_id": run_id})
    finally:
        con.close()


def test_boilerplate_commits_append_only_the_rows_that_changed(tmp_path: Path):
    first = _boilerplate([("site", "a", 3), ("site", "b", 9)])
    assert _commit_boilerplate(tmp_path, "r1", first)["boilerplate_lines"] == 2
    # The next run stages the whole table again: "a" counted up, "b" unchanged, "c" new.
    second = _boilerplate([("site", "a", 8), ("site", "b", 9), ("site", "c", 1)])
    assert _commit_boilerplate(tmp_path, "r2", second)["boilerplate_lines"] == 2
    con = store.open_reader(tmp_path)
    try:
        current = con.execute(
            "SELECT line_key, article_count, boilerplate FROM boilerplate_lines ORDER BY 1"
        ).fetchall()
        history = con.execute(
            "SELECT line_key, article_count, revision, run_id FROM boilerplate_line_history ORDER BY revision, 1"
        ).fetchall()
        deletes = con.execute(
            f"SELECT count(delete_file) FROM ducklake_list_files('{store.CATALOG_ALIAS}', 'boilerplate_line_history')"
        ).fetchone()[0]
    finally:
        con.close()
    assert current == [("a", 8, True), ("b", 9, True), ("c", 1, False)]
    assert history == [("a", 3, 1, "r1"), ("b", 9, 1, "r1"), ("a", 8, 2, "r2"), ("c", 1, 2, "r2")]
    assert deletes == 0  # nothing is ever deleted, so every file stays mergeable
