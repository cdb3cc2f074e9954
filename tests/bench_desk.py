"""The analyst's desk on the corpus warehouse: `akhbar search` and every example query, timed.

Builds the warehouse in process from ../shared/data (about 6 minutes on 2 cores), or reads the one at
$AKHBAR_BENCH_WAREHOUSE when set. Also checks that the ar_norm macro equals the Python matching key
on every stored body and title.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import polars as pl

from tests.conftest import SHARED_DATA
from tests.warehouse_state import REPO, ingest_in_process
from transforms.arabic import match_key
from warehouse.search import search
from warehouse.store import open_reader, open_writer

SPELLINGS = ("إيران", "ايران", "وإيران")


def _timed(label: str, work) -> object:
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    print(f"  {label:<28} {time.perf_counter() - wall:6.2f} s wall {time.process_time() - cpu:6.2f} s cpu")
    return result


def _measure(root: Path) -> None:
    open_writer(root).close()  # the current views, macros and comments
    con = open_reader(root)
    try:
        print(f"articles: {con.execute('SELECT count(*) FROM articles').fetchone()[0]}")
        for spelling in SPELLINGS:
            _timed(f"search {spelling} (top 10)", lambda spelling=spelling: search(con, spelling, limit=10))
        found = [{h.article_id for h in search(con, s, limit=10**6)} for s in SPELLINGS]
        print(f"  the three spellings find the same {len(found[0])} articles: {found[0] == found[1] == found[2]}")
        for path in sorted((REPO / "warehouse" / "queries").glob("*.sql")):
            _timed(path.stem, lambda path=path: con.execute(path.read_text()).fetchall())
        keys = _timed("ar_norm over every body", lambda: con.execute(
            "SELECT body, ar_norm(body) AS key FROM articles").pl())
        differing = keys.filter(pl.col("key") != match_key(pl.col("body"))).height
        print(f"  bodies where ar_norm differs from match_key: {differing}")
    finally:
        con.close()


def main() -> None:
    given = os.environ.get("AKHBAR_BENCH_WAREHOUSE")
    if given:
        _measure(Path(given))
        return
    corpus = SHARED_DATA / "news_corpus" / "ant_multisource_v2.1"
    if not corpus.exists():
        print(f"skipped: no corpus at {corpus}")
        return
    with tempfile.TemporaryDirectory(prefix="akhbar-desk-") as folder:
        root = Path(folder) / "warehouse"
        _timed("build the corpus warehouse", lambda: ingest_in_process(corpus, root))
        _measure(root)
