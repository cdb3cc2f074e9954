"""A warehouse whose catalog is a real PostgreSQL server: binding a folder, the contract's promises as on
SQLite (same relations, re-run loads nothing, pieces equal the whole, kill -9 leaves before-or-after),
and one writer across machines (two folders bound to one catalog)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import SEEDS
from tests.postgres_server import binaries, new_database, postgres_server
from tests.warehouse_state import REPO, ingest_in_process, state
from warehouse import store
from warehouse.catalog import SETTINGS_FILE, CatalogError, bind, check_catalog_url, read_settings
from warehouse.faults import CRASH_ENV
from warehouse.lock import WarehouseBusyError, run_lock


def test_catalog_urls_are_checked():
    assert check_catalog_url("postgresql://akhbar@db.example:5432/news") == "postgresql://akhbar@db.example:5432/news"
    for bad in ("sqlite:///x.db", "postgresql://db.example:5432/", "postgresql:///news", "postgresql://h:port/db"):
        with pytest.raises(CatalogError):
            check_catalog_url(bad)


def test_a_folder_is_bound_once(tmp_path: Path):
    url = "postgresql://akhbar@127.0.0.1:5432/news"
    folder = tmp_path / "wh"
    assert not read_settings(folder).shared
    bound = bind(folder, url, tmp_path / "shared-data")
    assert bound.catalog == url and bound.data_path == str((tmp_path / "shared-data").resolve())
    assert json.loads((folder / SETTINGS_FILE).read_text())["catalog"] == url
    assert bind(folder, None, None) == bound and bind(folder, url, None) == bound  # later uses: the same
    paths = store.WarehousePaths(folder)
    assert paths.catalog_url == url and paths.data == tmp_path / "shared-data"
    with pytest.raises(CatalogError, match="is bound to catalog"):
        bind(folder, "postgresql://akhbar@127.0.0.1:5432/other", None)
    sqlite_folder = tmp_path / "sqlite"
    sqlite_folder.mkdir()
    (sqlite_folder / "catalog.sqlite").touch()
    with pytest.raises(CatalogError, match="already holds a SQLite catalog"):
        bind(sqlite_folder, url, None)
    with pytest.raises(CatalogError, match="--data-path needs --catalog"):
        bind(tmp_path / "fresh", None, tmp_path / "d")


# --- against a real server -----------------------------------------------------------------------



@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    if binaries() is None:
        pytest.skip("no PostgreSQL server installed (Debian: apt-get install postgresql)")
    with postgres_server() as admin_url:
        yield admin_url


@pytest.fixture
def catalog(postgres: str) -> str:
    """A new database on the server: one warehouse's catalog."""
    return new_database(postgres)


def _bound(folder: Path, catalog: str, data: Path) -> Path:
    bind(folder, catalog, data)
    return folder


@pytest.fixture(scope="module")
def sqlite_seeds(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The seeds in one run into the embedded SQLite catalog: what every PostgreSQL run must equal."""
    root = tmp_path_factory.mktemp("sqlite") / "wh"
    ingest_in_process(SEEDS, root)
    return state(root)


@pytest.mark.slow
def test_seeds_on_a_postgres_catalog_equal_the_sqlite_run_and_rerun_loads_nothing(
    catalog: str, sqlite_seeds: dict, tmp_path: Path
):
    root = _bound(tmp_path / "wh", catalog, tmp_path / "shared-data")
    assert not store.WarehousePaths(root).exists()
    first = ingest_in_process(SEEDS, root)
    assert first.counts.loaded == 5
    assert not (root / "catalog.sqlite").exists() and not (root / "data").exists()
    assert list((tmp_path / "shared-data").rglob("*.parquet"))  # the data went to the shared path
    assert state(root) == sqlite_seeds
    again = ingest_in_process(SEEDS, root)
    assert again.counts.loaded == 0 and not again.processed  # nothing new: nothing read or loaded
    assert state(root) == sqlite_seeds


@pytest.mark.slow
def test_pieces_equal_the_whole_on_postgres(catalog: str, sqlite_seeds: dict, tmp_path: Path):
    root = _bound(tmp_path / "wh", catalog, tmp_path / "data")
    inputs = tmp_path / "in"
    inputs.mkdir()
    seeds = sorted(SEEDS.iterdir())
    for part in (seeds[:2], seeds[2:]):
        for path in part:
            shutil.copy2(path, inputs / path.name)
        ingest_in_process(inputs, root)
    assert state(root) == sqlite_seeds


@pytest.mark.slow
def test_one_writer_across_machines_and_readers_answer(catalog: str, tmp_path: Path):
    """Two machines: two processes with their own warehouse folders (two local lock files) bound to one
    catalog and data path. Machine A's writer holds the warehouse; machine B's waits, then refuses."""
    data = tmp_path / "shared-data"
    machine_a = _bound(tmp_path / "machine-a", catalog, data)
    machine_b = _bound(tmp_path / "machine-b", catalog, data)
    ingest_in_process(SEEDS, machine_a)
    writer_a = subprocess.Popen(
        [sys.executable, "-c",
         "import time; from pathlib import Path; from warehouse.lock import run_lock; "
         "from warehouse.store import WarehousePaths; "
         f"paths = WarehousePaths(Path({str(machine_a)!r})); "
         "lock = run_lock(paths.lock, paths.catalog_url); lock.__enter__(); print('held', flush=True); "
         "time.sleep(120)"],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
    )
    paths_b = store.WarehousePaths(machine_b)
    try:
        assert writer_a.stdout.readline().strip() == "held"
        clock = time.monotonic()
        busy = r"another akhbar writer holds the catalog .*\(akhbar writer, pid \d+ on .*\); gave up after 1 s"
        with pytest.raises(WarehouseBusyError, match=busy), run_lock(paths_b.lock, paths_b.catalog_url, timeout_s=1):
            pass
        assert time.monotonic() - clock >= 1  # it waited before refusing
        con = store.open_reader(machine_b)  # a reader on the other machine answers during the write
        try:
            assert con.execute("SELECT count(*) FROM articles").fetchone()[0] == 5
        finally:
            con.close()
    finally:
        writer_a.terminate()
        writer_a.wait()
    with run_lock(paths_b.lock, paths_b.catalog_url, timeout_s=10):  # free again once A is gone
        pass


@pytest.mark.slow
def test_a_killed_writer_leaves_no_stale_catalog_lock(catalog: str, tmp_path: Path):
    root = _bound(tmp_path / "wh", catalog, tmp_path / "data")
    paths = store.WarehousePaths(root)
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path; from warehouse.lock import CatalogLock; "
         f"lock = CatalogLock({catalog!r}); lock.acquire(); print('held', flush=True); time.sleep(120)"],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(WarehouseBusyError), run_lock(paths.lock, paths.catalog_url, timeout_s=0.5):
            pass
    finally:
        holder.kill()
        holder.wait()
    with run_lock(paths.lock, paths.catalog_url, timeout_s=10):  # the server dropped the dead session's lock
        pass


@pytest.mark.slow
def test_the_cli_reads_a_postgres_catalog_from_any_bound_folder(catalog: str, tmp_path: Path, akhbar):
    data = tmp_path / "data"
    ingest_in_process(SEEDS, _bound(tmp_path / "writer", catalog, data))
    reader = tmp_path / "reader"
    result = akhbar(["sql", "--warehouse", str(reader), "--catalog", catalog, "--data-path", str(data),
                     "--format", "csv", "SELECT count(*) AS n FROM articles"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["n", "5"]
    again = akhbar(["sql", "--warehouse", str(reader), "--format", "csv", "SELECT count(*) AS n FROM articles"])
    assert again.stdout.splitlines() == ["n", "5"]  # the folder remembers its catalog
    wrong = akhbar(["sql", "--warehouse", str(reader), "--catalog", catalog + "x", "SELECT 1"])
    assert wrong.returncode == 2 and "is bound to catalog" in wrong.stderr
    refused = akhbar(["backup", "--warehouse", str(reader), str(tmp_path / "copy")])
    assert refused.returncode != 0 and "pg_dump" in refused.stderr


@pytest.mark.slow
def test_attach_sql_opens_a_postgres_catalog_in_a_plain_client(catalog: str, tmp_path: Path):
    import duckdb

    from warehouse.attach import attach_statements

    root = _bound(tmp_path / "wh", catalog, tmp_path / "data")
    ingest_in_process(SEEDS, root)
    con = duckdb.connect()
    try:
        for statement in attach_statements(root):
            con.execute(statement)
        assert con.execute("SELECT count(*) FROM articles").fetchone()[0] == 5
    finally:
        con.close()


@pytest.mark.e2e
def test_akhbar_run_through_the_flow_on_a_postgres_catalog(prefect_api_url, catalog: str, tmp_path: Path, akhbar):
    root, data = tmp_path / "wh", tmp_path / "data"
    result = akhbar(["run", "--input", str(SEEDS), "--warehouse", str(root), "--catalog", catalog,
                     "--data-path", str(data)])
    assert result.returncode == 0, result.stderr
    assert json.loads((root / SETTINGS_FILE).read_text())["catalog"] == catalog
    again = akhbar(["run", "--input", str(SEEDS), "--warehouse", str(root)])  # the folder remembers
    assert again.returncode == 0, again.stderr
    con = store.open_reader(root)
    try:
        assert con.execute("SELECT count(*) FROM articles").fetchone()[0] == 5
        assert con.execute("SELECT count(*), sum(files_loaded) FROM runs").fetchone() == (2, 5)
    finally:
        con.close()


# --- data in object storage ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    from tests.s3_server import s3_server

    with s3_server() as endpoint:
        yield endpoint


@pytest.fixture
def s3_bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A new bucket on the test server, with the AWS variables pointing at it; its name."""
    import uuid

    from tests.s3_server import CREDENTIALS, client

    name = f"news-{uuid.uuid4().hex[:10]}"
    client(s3_endpoint).create_bucket(Bucket=name)
    for key, value in {**CREDENTIALS, "AWS_ENDPOINT_URL": s3_endpoint}.items():
        monkeypatch.setenv(key, value)
    return name


@pytest.mark.slow
def test_data_in_object_storage_with_a_postgres_catalog(
    catalog: str, s3_bucket: str, s3_endpoint: str, sqlite_seeds: dict, tmp_path: Path
):
    from tests.s3_server import client
    from warehouse import maintenance

    root = _bound(tmp_path / "machine-a", catalog, f"s3://{s3_bucket}/warehouse")
    assert store.WarehousePaths(root).data_location == f"s3://{s3_bucket}/warehouse"
    assert ingest_in_process(SEEDS, root).counts.loaded == 5
    keys = [o["Key"] for o in client(s3_endpoint).list_objects_v2(Bucket=s3_bucket).get("Contents", [])]
    assert keys and all(key.startswith("warehouse/") and key.endswith(".parquet") for key in keys)
    assert not (root / "data").exists()
    assert state(root) == sqlite_seeds
    assert ingest_in_process(SEEDS, root).counts.loaded == 0  # a re-run loads nothing
    other = _bound(tmp_path / "machine-b", catalog, f"s3://{s3_bucket}/warehouse")
    assert state(other) == sqlite_seeds  # another machine reads the same warehouse
    stored = client(s3_endpoint).list_objects_v2(Bucket=s3_bucket)["KeyCount"]  # the re-run added its runs row
    summary = maintenance.maintain(other)
    assert summary.files_before == stored and summary.files_merged > 0
    assert state(root) == sqlite_seeds


@pytest.mark.e2e
@pytest.mark.parametrize("point", ["mid-commit", "after-commit"])
def test_the_flow_killed_on_a_postgres_catalog_then_rerun_equals_one_clean_run(
    point: str, prefect_api_url, catalog: str, sqlite_seeds: dict, tmp_path: Path, akhbar
):
    from tests.warehouse_state import run_cli

    root = tmp_path / "wh"
    args = ["run", "--input", str(SEEDS), "--warehouse", str(root), "--batch-size", "3"]
    killed = run_cli([*args, "--catalog", catalog, "--data-path", str(tmp_path / "data")], prefect_api_url,
                     {CRASH_ENV: point})
    assert killed.returncode == -9, killed.stderr[-2000:]
    if store.WarehousePaths(root).exists():
        assert state(root) in ({k: [] for k in sqlite_seeds}, sqlite_seeds)  # before or after, never between
    rerun = akhbar(args)  # the folder remembers its catalog
    assert rerun.returncode == 0, rerun.stderr
    assert state(root) == sqlite_seeds
