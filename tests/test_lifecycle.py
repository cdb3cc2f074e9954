"""The warehouse over time: upgrades of an old warehouse, moves and copies, backups, time travel,
maintenance (kill -9 included). In process, without Prefect, on the fixture an older release wrote."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.warehouse_state import DATA_RELATIONS, REPO, RUN_SPECIFIC, ingest_in_process, query, state
from transforms.schema import TABLES
from warehouse import maintenance, store
from warehouse.backup import BackupError, backup
from warehouse.faults import CRASH_ENV
from warehouse.migrations import MigrationFileError, migrations
from warehouse.timetravel import AsOfError, resolve_as_of

OLD_RELEASE = REPO / "tests" / "fixtures" / "warehouse_c77ee5c"
# The release before the learned boilerplate became append-only (migrations 1 to 3).
LAST_RELEASE = REPO / "tests" / "fixtures" / "warehouse_2c0bec4"
# What each release's run over seeds/ left in its fixture.
OLD_ROWS = {"articles": 5, "entity_mentions": 249, "ledger_history": 5, "runs": 1, "validation_results": 24,
            "article_minhash": 80, "boilerplate_lines": 8, "duplicates": 0, "quarantine": 0}


def _listing(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()}


def _rows(root: Path) -> dict[str, int]:
    con = store.open_reader(root)
    try:
        return {table: con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in OLD_ROWS}
    finally:
        con.close()


def _commit_run_row(root: Path, run_id: str) -> None:
    """A small commit of the writer: one `runs` row, with the run id as commit message, as a run does."""
    con = store.open_writer(root)
    try:
        con.execute("BEGIN")
        store.insert_runs_row(con, {"run_id": run_id, "status": "completed", "started_at": dt.datetime.now(dt.UTC)})
        store.set_commit_message(con, run_id)
        con.execute("COMMIT")
    finally:
        con.close()


def _relations_and_columns(root: Path) -> dict[str, list[str]]:
    """The data relations a warehouse has, each with its columns (an old release lacks later ones)."""
    con = store.open_reader(root)
    try:
        present = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        return {relation: [r[0] for r in con.execute(f"DESCRIBE {relation}").fetchall()]
                for relation in DATA_RELATIONS if relation in present}
    finally:
        con.close()


def _rows_of(root: Path, shape: dict[str, list[str]]) -> dict[str, list[tuple]]:
    """The rows of ``shape``'s relations and columns only, run-specific columns left out, sorted."""
    con = store.open_reader(root)
    try:
        rows = {}
        for relation, columns in shape.items():
            kept = ", ".join(f'"{c}"' for c in columns if c not in RUN_SPECIFIC)
            rows[relation] = sorted(con.execute(f"SELECT {kept} FROM {relation}").fetchall(), key=repr)
        return rows
    finally:
        con.close()


@pytest.fixture
def upgraded(tmp_path: Path) -> Path:
    root = tmp_path / "wh"
    shutil.copytree(OLD_RELEASE, root)
    store.open_writer(root).close()
    return root


def _boilerplate_rows(root: Path) -> list[tuple]:
    con = store.open_reader(root)
    try:
        return sorted(con.execute("SELECT * FROM boilerplate_lines").fetchall(), key=repr)
    finally:
        con.close()


@pytest.mark.parametrize("release", [OLD_RELEASE, LAST_RELEASE], ids=lambda path: path.name)
def test_a_warehouse_of_an_older_release_upgrades_with_nothing_lost(release: Path, tmp_path: Path):
    fixture_before = _listing(release)
    root = tmp_path / "old"
    shutil.copytree(release, root)
    assert _rows(root) == OLD_ROWS  # today's reader reads it before any upgrade
    shape = _relations_and_columns(root)
    before = _rows_of(root, shape)
    boilerplate_before = _boilerplate_rows(root)
    store.open_writer(root).close()
    store.open_writer(root).close()  # a second start applies nothing more
    con = store.open_reader(root)
    try:
        applied = con.execute("SELECT version, name FROM schema_migrations ORDER BY version").fetchall()
        tables = {r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = ? AND table_type = 'BASE TABLE'",
            [store.CATALOG_ALIAS]).fetchall()}
    finally:
        con.close()
    assert applied == [(m.version, m.name) for m in migrations()]
    assert tables == {t.name for t in TABLES}
    assert _rows(root) == OLD_ROWS and _rows_of(root, shape) == before
    assert _boilerplate_rows(root) == boilerplate_before  # now a view over its history (migration 4)
    state(root)  # every relation of today reads, the ones the upgrade added included
    _commit_run_row(root, "after-upgrade")
    assert _rows(root)["runs"] == OLD_ROWS["runs"] + 1
    new_files = set(_listing(root)) - set(fixture_before)
    assert any(name.startswith("data/main/runs/") for name in new_files)  # written where the copy is
    assert _listing(release) == fixture_before


def test_migrations_are_numbered_without_gaps(tmp_path: Path):
    assert [m.version for m in migrations()] == list(range(1, len(migrations()) + 1))
    (tmp_path / "0001_first.sql").write_text("SELECT 1;")
    (tmp_path / "0003_third.sql").write_text("SELECT 3;")
    with pytest.raises(MigrationFileError):
        migrations(tmp_path)


def test_a_moved_warehouse_reads_and_writes_where_it_is(upgraded: Path, tmp_path: Path):
    before = state(upgraded)
    moved = tmp_path / "elsewhere" / "wh"
    moved.parent.mkdir()
    shutil.move(upgraded, moved)
    assert state(moved) == before
    _commit_run_row(moved, "moved")
    assert _rows(moved)["runs"] == OLD_ROWS["runs"] + 1
    assert not upgraded.exists()


def test_a_copy_is_an_independent_warehouse(upgraded: Path, tmp_path: Path):
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-r", str(upgraded), str(copy)], check=True)
    original = _listing(upgraded)
    _commit_run_row(copy, "in-the-copy")
    maintenance.maintain(copy)
    assert _rows(copy)["runs"] == OLD_ROWS["runs"] + 1
    assert _listing(upgraded) == original
    assert _rows(upgraded) == OLD_ROWS


def test_backup_during_an_open_write_copies_the_committed_state(upgraded: Path, tmp_path: Path):
    committed = state(upgraded)
    writer = store.open_writer(upgraded)
    writer.execute("BEGIN")
    store.insert_runs_row(writer, {"run_id": "uncommitted", "status": "completed"})
    writer.execute("DELETE FROM articles")
    dest = tmp_path / "backup"
    summary = backup(upgraded, dest)
    writer.execute("COMMIT")
    writer.close()
    assert summary.files >= len(OLD_ROWS) - 2
    assert state(dest) == committed and _rows(dest)["runs"] == OLD_ROWS["runs"]
    assert _rows(upgraded)["articles"] == 0
    _commit_run_row(dest, "in-the-backup")  # the backup is a warehouse of its own
    assert _rows(upgraded)["runs"] == OLD_ROWS["runs"] + 1
    with pytest.raises(BackupError):
        backup(upgraded, dest)  # never over an existing warehouse


def test_as_of_a_run_shows_the_warehouse_after_it(upgraded: Path):
    _commit_run_row(upgraded, "run-a")
    middle = dt.datetime.now(dt.UTC)
    _commit_run_row(upgraded, "run-b")

    def runs_as_of(as_of: str) -> list[str]:
        con = store.open_reader(upgraded, snapshot_version=resolve_as_of(upgraded, as_of))
        try:
            return sorted(r[0] for r in con.execute("SELECT run_id FROM runs WHERE run_id LIKE 'run-%'").fetchall())
        finally:
            con.close()

    assert runs_as_of("run-a") == ["run-a"]
    assert runs_as_of("run-b") == ["run-a", "run-b"]
    assert runs_as_of(middle.isoformat()) == ["run-a"]
    with pytest.raises(AsOfError, match="neither a run id"):
        resolve_as_of(upgraded, "no-such-run")
    with pytest.raises(AsOfError, match="before the oldest"):
        resolve_as_of(upgraded, "2001-01-01")
    old_run = _old_run_id(upgraded)
    with pytest.raises(AsOfError, match="no longer kept"):
        resolve_as_of(upgraded, old_run)  # committed by the old release, without its run id


def _old_run_id(root: Path) -> str:
    con = store.open_reader(root)
    try:
        return con.execute("SELECT run_id FROM runs WHERE run_id NOT LIKE 'run-%'").fetchone()[0]
    finally:
        con.close()


def test_maintain_merges_expires_and_reads_the_same(upgraded: Path):
    for n in range(4):
        _commit_run_row(upgraded, f"night-{n}")
    before = state(upgraded)
    files_before, _ = maintenance.data_files(store.WarehousePaths(upgraded))
    now = dt.datetime.now(dt.UTC)
    first = maintenance.maintain(upgraded, now=now)
    assert first.files_merged >= 4 and first.snapshots_expired == 0
    assert first.files_deleted == 0  # merged-away files wait out the grace period
    assert state(upgraded) == before
    assert resolve_as_of(upgraded, "night-1")  # time travel survives the merge
    assert not maintenance.is_due(upgraded, now + dt.timedelta(hours=23))
    assert maintenance.is_due(upgraded, now + dt.timedelta(days=1))
    later = maintenance.maintain(upgraded, now=now + dt.timedelta(days=40))  # the retention has passed
    assert later.snapshots_expired > 0 and later.files_deleted > 0
    assert later.files_after < files_before
    assert state(upgraded) == before
    with pytest.raises(AsOfError):
        resolve_as_of(upgraded, "night-1")
    con = store.open_reader(upgraded)
    try:
        assert con.execute("SELECT count(*) FROM maintenance").fetchone()[0] == 2
    finally:
        con.close()


@pytest.mark.slow
@pytest.mark.parametrize("point", maintenance.CRASH_POINTS)
def test_kill_during_maintain_leaves_a_warehouse_that_reads_the_same(point: str, upgraded: Path):
    for n in range(3):
        _commit_run_row(upgraded, f"night-{n}")
    store.open_writer(upgraded).close()
    before = state(upgraded)
    env = {**os.environ, CRASH_ENV: point}
    killed = subprocess.run(
        [sys.executable, "-m", "flows.cli", "maintain", "--warehouse", str(upgraded), "--retain-days", "0"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert state(upgraded) == before
    again = maintenance.maintain(upgraded)
    assert again.files_after <= again.files_before
    assert state(upgraded) == before


def test_the_next_run_on_an_upgraded_warehouse_equals_a_fresh_one(tmp_path: Path):
    """The last release's warehouse, upgraded, then given the seeds again plus one new story by today's
    code, reads the same as today's code loading all of them into an empty warehouse."""
    inputs = tmp_path / "in"
    shutil.copytree(REPO / "seeds", inputs)
    upgraded = tmp_path / "upgraded"
    shutil.copytree(LAST_RELEASE, upgraded)
    (inputs / "new-story.txt").write_text(
        "عنوان: خبر جديد\nالناشر: site\n\nعقد وزير الخارجية الأردني أيمن الصفدي اجتماعا في عمان مع نظيره المصري.\n",
        encoding="utf-8",
    )
    result = ingest_in_process(inputs, upgraded)
    assert result.counts.loaded == 1  # the seeds are unchanged: only the new story loads
    fresh = tmp_path / "fresh"
    ingest_in_process(inputs, fresh)
    upgraded_state, fresh_state = state(upgraded), state(fresh)
    # The seeds' mentions are the old release's tagging, kept as they were stored; the new story's are
    # today's, as in the fresh warehouse.
    entity_relations = {"entity_mentions", "entities"}
    assert {k: v for k, v in upgraded_state.items() if k not in entity_relations} == {
        k: v for k, v in fresh_state.items() if k not in entity_relations}
    new_id = query(upgraded, "SELECT article_id FROM articles WHERE source_path = 'new-story.txt'")["article_id"][0]
    mentions_of_new = (f"SELECT * EXCLUDE (run_id) FROM entity_mentions WHERE article_id = '{new_id}' "
                       "ORDER BY start_char")
    assert query(upgraded, mentions_of_new).rows() == query(fresh, mentions_of_new).rows()
    assert _boilerplate_rows(upgraded) == _boilerplate_rows(fresh)
