"""The batch core over the news corpus, stage by stage, with one worker and with two, next to its floor.

    python -m tests.bench pipeline                        # the whole corpus (what `make bench` prints)
    AKHBAR_BENCH_FILES=2000 python -m tests.bench pipeline   # an evenly spread slice of 2,000 files

Runs the pass the flow runs (`transforms.pipeline.run_pass`, batches of the flow's default size)
with the plain steps, staging into a temporary folder as the flow does, once with ``workers=1``
and once with ``workers=2`` (the tagging pieces on two worker processes: a `concurrent.futures`
pool where the flow has Prefect's process-pool task runner, around the same `tag_piece`).
The floor is what no run can beat: read every file's bytes and make one polars pass over them
(decode, count characters), measured in the same process before the runs. The table gives per
stage the seconds, the share of the run, and files per second; then the whole run and its ratio to
the floor. A warm-up pass over 20 files first takes this process's one-off start (imports, the
validation context, the model) out of both runs; the worker processes' start stays in. Both runs
must stage the same rows (checked; run-specific columns aside), and peak RSS
must stay flat as the folder grows (one batch in memory).
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from tests.conftest import SHARED_DATA
from tests.warehouse_state import RUN_SPECIFIC
from transforms.discover import discover
from transforms.pipeline import (
    BatchOutput,
    History,
    PassSteps,
    PipelineConfig,
    finish_batch,
    order_by_date,
    prepare_batch,
    run_pass,
    serial_map,
    tag_batch,
)
from transforms.schema import LEDGER
from warehouse import staging as staged
from warehouse.history import StoredBodies

CORPUS = SHARED_DATA / "news_corpus" / "ant_multisource_v2.1"
# Stages in the order a batch meets them; "reading" is the batch's read, boilerplate, dedup, statistics and
# articles suite, "validating" its mentions suite and split. Entities of batch k run (in a thread) beside the
# reading of batch k+1, so the stage seconds add up to more than the run.
STAGES = ("ordering", "reading", "entities", "validating", "staging")


@dataclass
class Measured:
    workers: int
    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    total: float = 0.0
    cpu: float = 0.0
    files: int = 0
    articles: int = 0
    digest: dict[str, int] = field(default_factory=dict)  # per table: order-free hash of its rows
    rss_mib: list[int] = field(default_factory=list)


def _slice(candidates: pl.DataFrame) -> pl.DataFrame:
    wanted = int(os.environ.get("AKHBAR_BENCH_FILES") or 0)
    if not wanted or wanted >= candidates.height:
        return candidates
    step = candidates.height / wanted  # every outlet and section, not the first folder alone
    return candidates.sort("source_path")[[int(i * step) for i in range(wanted)]]


def floor_seconds(candidates: pl.DataFrame) -> float:
    """Read every file's bytes, then one polars pass over them (decode, count characters)."""
    started = time.perf_counter()
    raw = [(CORPUS / path).read_bytes() for path in candidates["source_path"]]
    frame = pl.DataFrame({"raw": pl.Series(raw, dtype=pl.Binary)})
    frame.select(pl.col("raw").cast(pl.String, strict=False).str.len_chars().sum())
    return time.perf_counter() - started


def _digest(frame: pl.DataFrame) -> int:
    kept = frame.drop([c for c in frame.columns if c in RUN_SPECIFIC])
    return int(kept.hash_rows(seed=0).sum()) if kept.height else 0


def measure(candidates: pl.DataFrame, workers: int, map_: Callable[[Callable[[Any], Any], Sequence[Any]], Any]
            ) -> Measured:
    config = PipelineConfig(workers=workers)
    measured = Measured(workers)
    seconds = measured.seconds
    digests: dict[str, int] = defaultdict(int)

    def timed_order(*args: Any) -> Any:
        started = time.perf_counter()
        order = order_by_date(*args)
        seconds["ordering"] += time.perf_counter() - started
        return order

    def timed(name: str, step: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any) -> Any:
            started = time.perf_counter()
            try:
                return step(*args)
            finally:
                seconds[name] += time.perf_counter() - started

        return run

    def stage(output: BatchOutput, batch_no: int) -> None:
        started = time.perf_counter()
        staged.write_batch(staging, output.tables, batch_no)
        seconds["staging"] += time.perf_counter() - started
        measured.articles += output.tables.articles.height
        for table, frame in output.tables.by_table().items():
            digests[table] = (digests[table] + _digest(frame)) % 2**64
        measured.rss_mib.append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)

    with tempfile.TemporaryDirectory() as folder:
        staging = Path(folder) / "staging"
        clock, cpu = time.perf_counter(), time.process_time()
        result = run_pass(
            CORPUS, candidates, History.empty(), config, f"bench-{workers}", datetime.now(UTC),
            PassSteps(stage=stage, order=timed_order, prepare=timed("reading", prepare_batch),
                      tag=timed("entities", tag_batch), finish=timed("validating", finish_batch), map=map_),
            bodies=StoredBodies(Path(folder) / "warehouse", staging),
        )
        measured.total, measured.cpu = time.perf_counter() - clock, time.process_time() - cpu
    measured.files = len(result.processed)
    measured.digest = dict(digests)
    return measured


def _pool_map(pool: ProcessPoolExecutor) -> Callable[[Callable[[Any], Any], Sequence[Any]], list[Any]]:
    def in_pool(function: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
        return list(pool.map(function, items))

    return in_pool


def print_table(runs: list[Measured], floor: float, files: int) -> None:
    head = f"{'stage':<12}" + "".join(f"{f'workers={m.workers}: s':>16}{'share':>7}{'files/s':>9}" for m in runs)
    print(head)
    print("-" * len(head))
    for name in STAGES:
        cells = "".join(f"{m.seconds[name]:>16.1f}{m.seconds[name] / m.total:>7.0%}"
                        f"{files / max(m.seconds[name], 1e-9):>9,.0f}" for m in runs)
        print(f"{name:<12}{cells}")
    print("-" * len(head))
    print(f"{'whole run':<12}" + "".join(f"{m.total:>16.1f}{1:>7.0%}{files / m.total:>9,.0f}" for m in runs))
    print(f"{'floor':<12}" + "".join(f"{floor:>16.2f}{floor / m.total:>7.1%}{files / floor:>9,.0f}" for m in runs))
    print(f"{'run / floor':<12}" + "".join(f"{m.total / floor:>15.0f}x{'':>16}" for m in runs))
    print(f"{'articles/s':<12}" + "".join(f"{m.articles / m.total:>16,.0f}{'':>16}" for m in runs))
    print(f"{'main CPU s':<12}" + "".join(f"{m.cpu:>16.1f}{'':>16}" for m in runs))
    for m in runs:
        rss = m.rss_mib
        print(f"workers={m.workers}: peak RSS of this process (MiB) after batch 1, middle, last: "
              f"{rss[0]}, {rss[len(rss) // 2]}, {rss[-1]}")


def main() -> None:
    if not CORPUS.exists():
        print(f"skipped: no corpus at {CORPUS}")
        return
    candidates = _slice(discover(CORPUS, LEDGER.empty()).candidates)
    files = candidates.height
    floor = min(floor_seconds(candidates) for _ in range(2))  # the second read is from the page cache, as the runs'
    measure(candidates.head(20), 1, serial_map)  # warm-up: imports, the suites' context, this process's model
    runs = [measure(candidates, 1, serial_map)]
    with ExitStack() as stack:
        pool = stack.enter_context(ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")))
        runs.append(measure(candidates, 2, _pool_map(pool)))
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"files: {files:,} in batches of {PipelineConfig().batch_size} "
          f"({'AKHBAR_BENCH_FILES' if files < 19_000 else 'the whole corpus'}); load average at the end "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print_table(runs, floor, files)
    print(f"workers=2: worker processes' CPU {children.ru_utime + children.ru_stime:.1f} s, "
          f"peak RSS of the largest {children.ru_maxrss // 1024} MiB")
    same = runs[0].digest == runs[1].digest and runs[0].files == runs[1].files
    print(f"staged rows identical for workers 1 and 2: {same}")
    if not same:
        raise SystemExit("workers=1 and workers=2 staged different rows")


if __name__ == "__main__":
    main()
