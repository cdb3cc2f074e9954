"""Per-phase throughput of the batch core over the news corpus, without Prefect.

Runs the same pass the flow runs (`transforms.pipeline.run_pass`, batches of the flow's default
size) with the plain steps, staging into a temporary folder as the flow does, and prints docs/s and
seconds per phase and the peak RSS, which must stay flat as the folder grows (one batch in memory).
"""

from __future__ import annotations

import resource
import statistics
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

from tests.conftest import SHARED_DATA
from transforms.discover import discover
from transforms.pipeline import BatchOutput, History, PassSteps, PipelineConfig, run_batch, run_pass
from transforms.schema import LEDGER
from warehouse import staging as staged
from warehouse.history import StoredBodies


def main() -> None:
    corpus = SHARED_DATA / "news_corpus" / "ant_multisource_v2.1"
    if not corpus.exists():
        print(f"skipped: no corpus at {corpus}")
        return
    config = PipelineConfig()
    found = discover(corpus, LEDGER.empty())
    seconds: dict[str, list[float]] = defaultdict(list)
    rss_after_batch: list[int] = []
    words = 0

    def timed_batch(batch, history, config, bodies, progress, pieces) -> BatchOutput:
        marks: list[tuple[str, float]] = []
        output = run_batch(batch, history, config, bodies, lambda phase: marks.append((phase, time.perf_counter())),
                           pieces)
        marks.append(("", time.perf_counter()))
        for (phase, start), (_, end) in pairwise(marks):
            seconds[phase].append(end - start)
        return output

    def stage(output: BatchOutput, batch_no: int) -> None:
        nonlocal words
        staged.write_batch(staging, output.tables, batch_no)
        words += int(output.tables.articles["word_count"].sum() or 0)
        rss_after_batch.append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)

    with tempfile.TemporaryDirectory() as folder:
        staging = Path(folder) / "staging"
        clock = time.perf_counter()
        result = run_pass(
            corpus, found.candidates, History.empty(), config, "bench", datetime.now(UTC),
            PassSteps(stage=stage, batch=timed_batch), bodies=StoredBodies(Path(folder) / "warehouse", staging),
        )
        total = time.perf_counter() - clock
    docs = len(result.processed)
    counts = result.counts
    print(f"files: {docs:,} in {len(rss_after_batch)} batches of {config.batch_size}; words loaded: {words:,}")
    print(f"statuses: loaded {counts.loaded}, duplicate {counts.duplicate}, quarantined {counts.quarantined}, "
          f"rejected {counts.rejected}")
    print(f"{'phase':<12}{'seconds':>10}{'docs/s':>12}{'median s/batch':>16}")
    for phase, values in seconds.items():
        print(f"{phase:<12}{sum(values):>10.1f}{docs / sum(values):>12,.0f}{statistics.median(values):>16.2f}")
    print(f"{'total':<12}{total:>10.1f}{docs / total:>12,.0f}  (ordering by date and staging included)")
    print(f"peak RSS (MiB) after batch 1, middle, last: {rss_after_batch[0]}, "
          f"{rss_after_batch[len(rss_after_batch) // 2]}, {rss_after_batch[-1]}")


if __name__ == "__main__":
    main()
