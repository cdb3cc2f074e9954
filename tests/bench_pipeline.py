"""Per-stage throughput of the pipeline over the news corpus, without Prefect.

Prints docs/s and seconds per stage for batches of 1000 files (the flow's default), and the peak RSS,
which must stay flat as the folder grows (the flow keeps one batch in memory).
"""

from __future__ import annotations

import resource
import statistics
import time
from collections import defaultdict
from pathlib import Path

import polars as pl

from flows.discover import discover
from flows.stages import (
    KNOWN_SCHEMA,
    PipelineConfig,
    deduplicate,
    enrich,
    finish,
    loaded_bands,
    read_and_parse,
    strip_site_boilerplate,
    validate,
)
from tests.conftest import SHARED_DATA
from transforms.boilerplate import empty_table
from transforms.neardup import BAND_SCHEMA

EMPTY_LEDGER = pl.DataFrame(schema={"source_path": pl.String, "sha256": pl.String, "size_bytes": pl.Int64,
                                    "mtime_ns": pl.Int64, "status": pl.String, "reason": pl.String})


def main() -> None:
    corpus = SHARED_DATA / "news_corpus" / "ant_multisource_v2.1"
    if not corpus.exists():
        print(f"skipped: no corpus at {corpus}")
        return
    config = PipelineConfig()
    found = discover(corpus, EMPTY_LEDGER, config.discovery)
    candidates = found.candidates.sort("source_path")
    known = pl.DataFrame(schema=KNOWN_SCHEMA)
    bands = pl.DataFrame(schema=BAND_SCHEMA)
    lines = empty_table()
    bodies = pl.DataFrame(schema={"article_id": pl.String, "body": pl.String})  # stands in for the warehouse
    seconds: dict[str, list[float]] = defaultdict(list)
    docs = tokens = 0
    statuses: dict[str, int] = defaultdict(int)
    rss_after_batch: list[int] = []
    for start in range(0, candidates.height, config.batch_size):
        batch = candidates.slice(start, config.batch_size)
        clock = time.perf_counter()
        frame, _, _ = read_and_parse(Path(corpus), batch, {}, config)
        seconds["read+parse"].append(time.perf_counter() - clock)
        clock = time.perf_counter()
        frame, lines = strip_site_boilerplate(frame, lines, config)
        seconds["boilerplate"].append(time.perf_counter() - clock)
        clock = time.perf_counter()
        frame, batch_bands = deduplicate(
            frame, known, bands, config, lambda ids, stored=bodies: stored.filter(pl.col("article_id").is_in(ids))
        )
        seconds["dedup"].append(time.perf_counter() - clock)
        clock = time.perf_counter()
        frame, mentions = enrich(frame, config)
        seconds["enrich"].append(time.perf_counter() - clock)
        clock = time.perf_counter()
        frame, mentions, _, _ = validate(frame, mentions)
        seconds["validate"].append(time.perf_counter() - clock)
        frame = finish(frame)
        loaded = frame.filter(pl.col("status") == "loaded")
        known = pl.concat([known, loaded.select(list(KNOWN_SCHEMA))])
        bands = pl.concat([bands, loaded_bands(frame, batch_bands)])
        bodies = pl.concat([bodies, loaded.select("article_id", "body")])
        docs += frame.height
        tokens += int(frame["word_count"].fill_null(0).sum())
        for status, count in frame.group_by("status").len().iter_rows():
            statuses[status] += count
        rss_after_batch.append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
    total = sum(sum(v) for v in seconds.values())
    print(f"files: {docs:,} in {len(rss_after_batch)} batches of {config.batch_size}; words: {tokens:,}")
    print(f"statuses: {dict(statuses)}")
    print(f"{'stage':<12}{'seconds':>10}{'docs/s':>12}{'median s/batch':>16}")
    for stage, values in seconds.items():
        print(f"{stage:<12}{sum(values):>10.1f}{docs / sum(values):>12,.0f}{statistics.median(values):>16.2f}")
    print(f"{'total':<12}{total:>10.1f}{docs / total:>12,.0f}")
    print(f"peak RSS (MiB) after batch 1, middle, last: {rss_after_batch[0]}, "
          f"{rss_after_batch[len(rss_after_batch) // 2]}, {rss_after_batch[-1]}")


if __name__ == "__main__":
    main()
