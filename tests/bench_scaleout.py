"""Past one machine, on one machine: a 2,000-file slice of the news corpus through the flow with a
PostgreSQL catalog and the tagging on a two-worker Dask cluster (loopback), against the embedded run
(SQLite catalog, one process, `--workers 1`). The relations must be the same; the times are printed.
Needs a PostgreSQL server installed (Debian's `postgresql`); skips without one.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from tests.conftest import SHARED_DATA
from tests.corpus_sample import copy_files, spread_files

FILES = int(os.environ.get("AKHBAR_BENCH_FILES", "2000"))




def main() -> None:
    corpus = SHARED_DATA / "news_corpus" / "ant_multisource_v2.1"
    from tests.postgres_server import binaries, new_database, postgres_server

    if not corpus.exists() or binaries() is None:
        print(f"skipped: needs the corpus at {corpus} and a PostgreSQL server")
        return
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    from flows.ingest import ingest_flow
    from tests.dask_cluster import dask_cluster
    from tests.warehouse_state import state
    from warehouse.catalog import bind

    with tempfile.TemporaryDirectory(prefix="akhbar-bench-scaleout-") as folder, \
            prefect_test_harness(server_startup_timeout=None), postgres_server() as admin:
        base = Path(folder)
        source = base / "slice"
        copy_files(spread_files(corpus, FILES), corpus, source)
        embedded = base / "embedded"
        clock = time.perf_counter()
        first = ingest_flow()(str(source), str(embedded), workers=1, maintain=False)
        embedded_s = time.perf_counter() - clock
        shared = base / "shared"
        bind(shared, new_database(admin), base / "shared-data")
        with dask_cluster(workers=2, env={"PREFECT_API_URL": PREFECT_API_URL.value()}) as cluster:
            clock = time.perf_counter()
            second = ingest_flow(cluster.address)(str(source), str(shared), workers=2, maintain=False)
            shared_s = time.perf_counter() - clock
        assert first.status == second.status == "completed", (first, second)
        same = state(embedded) == state(shared)
        print(f"{FILES} files, {first.files_loaded} loaded")
        print(f"embedded (SQLite, one process):        {embedded_s:6.1f} s")
        print(f"PostgreSQL catalog + 2 Dask workers:   {shared_s:6.1f} s  ({embedded_s / shared_s:.2f}x)")
        print("relations: the same" if same else "relations: DIFFERENT")


if __name__ == "__main__":
    main()
