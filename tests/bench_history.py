"""A nightly run against a long history: 1,000 new news-corpus files into a warehouse that already holds a
synthetic history of one million articles (ledger rows, content keys and 16 MinHash band keys each,
generated into a real warehouse), against the same files into an empty warehouse, on the SQLite catalog
and (when a PostgreSQL server is installed) on a PostgreSQL catalog.

Each run is its own process, the batch core without Prefect (`tests.warehouse_state.ingest_in_process`),
so its peak RSS is its own. Bounds (issue "when one machine is not enough"): peak RSS under 1 GB, under
10 s more than the empty warehouse's run (what the history costs), at most 1.2x its time.
`AKHBAR_BENCH_HISTORY=N` changes the history's size.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from tests.conftest import SHARED_DATA
from tests.corpus_sample import copy_files, spread_files

HISTORY = int(os.environ.get("AKHBAR_BENCH_HISTORY", "1000000"))
NEW_FILES = 1000
BOUNDS = {"rss_mib": 1024, "history_s": 10.0, "ratio": 1.2}
REPO = Path(__file__).resolve().parents[1]

_RUN = """
import json, resource, sys, time
from pathlib import Path
from tests.warehouse_state import ingest_in_process
clock = time.perf_counter()
result = ingest_in_process(Path(sys.argv[1]), Path(sys.argv[2]))
print(json.dumps({"seconds": time.perf_counter() - clock, "loaded": result.counts.loaded,
                  "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""




def synthesize_history(root: Path, articles: int) -> float:
    """``articles`` loaded articles of a past, in one commit: their ledger rows, content keys and band
    keys (random, so they match no real article); the seconds it took."""
    from transforms.neardup import NearDupConfig
    from warehouse.store import open_writer

    scheme, bands = NearDupConfig().scheme, NearDupConfig().bands
    clock = time.perf_counter()
    con = open_writer(root)
    try:
        con.execute("BEGIN")
        con.execute(f"""
            CREATE TEMP TABLE past AS
            SELECT i, 'history/' || (i // 1000) || '/' || i || '.txt' AS source_path,
                   sha256('past article ' || i) AS content_hash
            FROM range({articles}) t(i)""")
        con.execute("""
            INSERT INTO articles (article_id, content_hash, source_path, title, publisher, body, lang, run_id,
                                  ingested_at)
            SELECT substr(content_hash, 1, 16), content_hash, source_path, 'مقال ' || i, 'archive',
                   'نص مقال قديم رقم ' || i, 'ar', 'synthetic-history', now() FROM past""")
        con.execute("""
            INSERT INTO ledger_history (source_path, sha256, size_bytes, mtime_ns, status, reason, article_id,
                                        run_id, recorded_at, story_count, stories_loaded)
            SELECT source_path, sha256(source_path), 1000, 0, 'loaded', NULL, substr(content_hash, 1, 16),
                   'synthetic-history', now(), 1, 1 FROM past""")
        con.execute(f"""
            INSERT INTO article_minhash (article_id, source_path, band_index, band_hash, scheme)
            SELECT substr(content_hash, 1, 16), source_path, b::SMALLINT,
                   (hash(i, b) & 9223372036854775807)::BIGINT, '{scheme}'
            FROM past, range({bands}) s(b)""")
        con.execute("COMMIT")
    finally:
        con.close()
    return time.perf_counter() - clock


def _run(source: Path, root: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", _RUN, str(source), str(root)], cwd=REPO, capture_output=True,
                          text=True, timeout=3600, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise RuntimeError(f"the run failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    corpus = SHARED_DATA / "news_corpus" / "ant_multisource_v2.1"
    if not corpus.exists():
        print(f"skipped: no corpus at {corpus}")
        return
    from tests.postgres_server import binaries, new_database, postgres_server
    from warehouse.catalog import bind

    with tempfile.TemporaryDirectory(prefix="akhbar-bench-history-") as folder, ExitStack() as servers:
        base = Path(folder)
        source = base / "new"
        copy_files(spread_files(corpus, NEW_FILES), corpus, source)
        catalogs = ["sqlite"]
        admin = None
        if binaries() is not None:
            admin = servers.enter_context(postgres_server())
            catalogs.append("postgresql")
        print(f"{NEW_FILES} new corpus files; a synthetic history of {HISTORY:,} articles "
              f"({HISTORY * 16:,} band rows)", flush=True)
        print(f"{'catalog':<11} {'warehouse':<9} {'run s':>7} {'peak RSS MiB':>13} {'loaded':>7}")
        failures = []
        for catalog in catalogs:
            results = {}
            for kind in ("empty", "history"):
                root = base / f"{catalog}-{kind}"
                if catalog == "postgresql":
                    assert admin is not None
                    bind(root, new_database(admin), base / f"{catalog}-{kind}-data")
                if kind == "history":
                    seconds = synthesize_history(root, HISTORY)
                    print(f"  (history generated in {seconds:.0f} s)", flush=True)
                results[kind] = _run(source, root)
                row = results[kind]
                print(f"{catalog:<11} {kind:<9} {row['seconds']:>7.1f} {row['rss_mib']:>13.0f} {row['loaded']:>7}",
                      flush=True)
            extra = results["history"]["seconds"] - results["empty"]["seconds"]
            ratio = results["history"]["seconds"] / results["empty"]["seconds"]
            rss = results["history"]["rss_mib"]
            print(f"{catalog}: the history costs {extra:+.1f} s ({ratio:.2f}x the empty warehouse's run), "
                  f"peak RSS {rss:.0f} MiB")
            if results["history"]["loaded"] != results["empty"]["loaded"]:
                failures.append(f"{catalog}: loaded {results['history']['loaded']} vs {results['empty']['loaded']}")
            if rss > BOUNDS["rss_mib"]:
                failures.append(f"{catalog}: peak RSS {rss:.0f} MiB > {BOUNDS['rss_mib']}")
            if extra > BOUNDS["history_s"]:
                failures.append(f"{catalog}: history costs {extra:.1f} s > {BOUNDS['history_s']}")
            if ratio > BOUNDS["ratio"]:
                failures.append(f"{catalog}: {ratio:.2f}x > {BOUNDS['ratio']}x")
        print("within bounds" if not failures else "OUT OF BOUNDS: " + "; ".join(failures))


if __name__ == "__main__":
    main()
