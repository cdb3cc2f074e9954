"""A year of nights, compressed: 120 nightly runs of 50 new news-corpus files each through the real flow.

One Prefect test server for all runs. Days pass by a simulated clock: after each night the catalog's
new snapshots and deletion schedules are dated to that night (the SQLite catalog keeps them as text),
and the daily maintenance the flow does after a completed run (`flows.ingest.maintain_task`: due
once a day, default retention and grace) is called with that night's clock; the flow's own
maintenance is turned off so that it does not run on the real clock.

Compared with one run over the same 6,000 files: data files in the folder (bound < 60), warehouse
size (<= 1.3x), and the median time of the README example queries (<= 1.5x).
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from tests.conftest import SHARED_DATA
from tests.corpus_sample import copy_files, spread_files

NIGHTS = int(os.environ.get("AKHBAR_BENCH_NIGHTS", "120"))
FILES_PER_NIGHT = 50
QUERY_REPEATS = 7
QUERIES = Path(__file__).resolve().parents[1] / "warehouse" / "queries"
BOUNDS = {"files": 60, "size": 1.3, "query": 1.5}




def _redate(catalog: Path, after_snapshot: int, night: dt.datetime, real_start: dt.datetime) -> int:
    """Date the snapshots newer than ``after_snapshot``, and the deletions scheduled since (on the real
    clock, after ``real_start``; simulated nights are all before it), to ``night``, keeping their order;
    the newest snapshot id."""
    with sqlite3.connect(catalog) as con:
        ids = [r[0] for r in con.execute(
            "SELECT snapshot_id FROM ducklake_snapshot WHERE snapshot_id > ? ORDER BY snapshot_id", [after_snapshot]
        ).fetchall()]
        for offset, snapshot_id in enumerate(ids):
            con.execute("UPDATE ducklake_snapshot SET snapshot_time = ? WHERE snapshot_id = ?",
                        [_text_time(night + dt.timedelta(seconds=offset)), snapshot_id])
        con.execute("UPDATE ducklake_files_scheduled_for_deletion SET schedule_start = ? WHERE schedule_start >= ?",
                    [_text_time(night), _text_time(real_start)])
    return ids[-1] if ids else after_snapshot


def _text_time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00")


def _scanned_files(root: Path) -> int:
    """Data and delete files the current snapshot references: what a query scans."""
    from warehouse.store import CATALOG_ALIAS, open_reader

    con = open_reader(root)
    try:
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = ? AND table_type = 'BASE TABLE'",
            [CATALOG_ALIAS]).fetchall()]
        return sum(con.execute(
            f"SELECT count(data_file) + count(delete_file) FROM ducklake_list_files('{CATALOG_ALIAS}', '{table}')"
        ).fetchone()[0] for table in tables)
    finally:
        con.close()


def _query_seconds(root: Path) -> dict[str, float]:
    """The median wall time of each example query, on a fresh reader as `akhbar sql` uses."""
    from warehouse.store import open_reader

    medians = {}
    for path in sorted(QUERIES.glob("*.sql")):
        sql = path.read_text()
        times = []
        for _ in range(QUERY_REPEATS):
            con = open_reader(root)
            try:
                clock = time.perf_counter()
                con.execute(sql).fetchall()
                times.append(time.perf_counter() - clock)
            finally:
                con.close()
        medians[path.stem] = statistics.median(times)
    return medians


def main() -> None:
    corpus = SHARED_DATA / "news_corpus" / "ant_multisource_v2.1"
    if not corpus.exists():
        print(f"skipped: no corpus at {corpus}")
        return
    from prefect.testing.utilities import prefect_test_harness

    from flows.ingest import ingest
    from warehouse import maintenance
    from warehouse.store import WarehousePaths

    files = spread_files(corpus, NIGHTS * FILES_PER_NIGHT)
    with tempfile.TemporaryDirectory(prefix="akhbar-bench-lifecycle-") as folder, \
            prefect_test_harness(server_startup_timeout=None):
        base = Path(folder)
        nightly, source = base / "nightly", base / "nightly-input"
        real_start = dt.datetime.now(dt.UTC)
        first_night = real_start - dt.timedelta(days=NIGHTS + 1)  # every simulated time is in the past
        last_snapshot = -1
        passes = []
        clock = time.perf_counter()
        for night in range(NIGHTS):
            copy_files(files[night * FILES_PER_NIGHT:(night + 1) * FILES_PER_NIGHT], corpus, source)
            summary = ingest(str(source), str(nightly), maintain=False)
            assert summary.status == "completed", summary
            now = first_night + dt.timedelta(days=night)
            catalog = WarehousePaths(nightly).catalog
            last_snapshot = _redate(catalog, last_snapshot, now, real_start)
            if maintenance.is_due(nightly, now):
                passes.append(maintenance.maintain(nightly, now=now))
                last_snapshot = _redate(catalog, last_snapshot, now + dt.timedelta(minutes=5), real_start)
            if night % 10 == 9 or night == NIGHTS - 1:
                count, size = maintenance.data_files(WarehousePaths(nightly))
                print(f"night {night + 1:>3}: {count} data files ({_scanned_files(nightly)} in the current snapshot), "
                      f"{size / 2**20:.1f} MiB, "
                      f"{len(passes)} maintenance passes, {time.perf_counter() - clock:.0f} s", flush=True)
        nights_seconds = time.perf_counter() - clock

        one_run, one_source = base / "one-run", base / "one-run-input"
        copy_files(files, corpus, one_source)
        clock = time.perf_counter()
        summary = ingest(str(one_source), str(one_run), maintain=False)
        assert summary.status == "completed", summary
        one_run_seconds = time.perf_counter() - clock

        files_nightly, bytes_nightly = maintenance.data_files(WarehousePaths(nightly))
        files_one, bytes_one = maintenance.data_files(WarehousePaths(one_run))
        queries_nightly, queries_one = _query_seconds(nightly), _query_seconds(one_run)
        scanned_nightly, scanned_one = _scanned_files(nightly), _scanned_files(one_run)

    size_ratio = bytes_nightly / bytes_one
    query_ratio = sum(queries_nightly.values()) / sum(queries_one.values())
    print(f"{NIGHTS} nights of {FILES_PER_NIGHT} files in {nights_seconds:.0f} s; one run of the same "
          f"{len(files)} files in {one_run_seconds:.0f} s")
    print(f"data files in the folder: {files_nightly} after {NIGHTS} nights (bound < {BOUNDS['files']}), "
          f"{files_one} in one run; in the current snapshot (what queries scan): {scanned_nightly} vs {scanned_one}")
    print(f"size: {bytes_nightly / 2**20:.2f} MiB vs {bytes_one / 2**20:.2f} MiB in one run: "
          f"{size_ratio:.2f}x (bound <= {BOUNDS['size']}x)")
    print(f"{'query':<24}{'nightly ms':>12}{'one run ms':>12}{'ratio':>8}")
    for name in queries_one:
        print(f"{name:<24}{queries_nightly[name] * 1000:>12.1f}{queries_one[name] * 1000:>12.1f}"
              f"{queries_nightly[name] / queries_one[name]:>8.2f}")
    print(f"example queries, sum of medians: {query_ratio:.2f}x (bound <= {BOUNDS['query']}x)")
    last = passes[-1] if passes else None
    if last:
        print(f"last maintenance: {last.files_before} -> {last.files_after} files, "
              f"{last.snapshots_expired} snapshots expired, {last.files_deleted} files deleted")
    ok = files_nightly < BOUNDS["files"] and size_ratio <= BOUNDS["size"] and query_ratio <= BOUNDS["query"]
    print("within bounds" if ok else "OUT OF BOUNDS")


if __name__ == "__main__":
    main()
