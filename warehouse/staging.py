"""The one writer of a run's staging folder: Parquet per table, committed later in one transaction.

Everything a run produces before its commit lands here (`<warehouse>/staging/<run_id>/<table>/*.parquet`),
in the table's schema from `transforms.schema`; `warehouse.store.commit_run` reads it back. The ordering
pass's spill parts sit beside them (`first_reads_dir`) and are never committed. A run that dies leaves
only this folder behind, and the next writer removes it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from transforms.schema import BOILERPLATE_LINES, TABLES, VALIDATION_RESULTS, Relation

if TYPE_CHECKING:  # the batch core (NER, Great Expectations) is not loaded by readers of the warehouse
    from transforms.pipeline import BatchTables

_BY_NAME = {relation.name: relation for relation in TABLES}
# What a run stages and commits together (`runs` is not staged), in commit order.
STAGED_TABLES = (
    "articles",
    "entity_mentions",
    "duplicates",
    "ledger_history",
    "validation_results",
    "quarantine",
    "boilerplate_lines",
    "article_minhash",
    "story_ledger",
)
# What a run stages whole but commits as history: of the staged rows, those that differ from the
# view's current ones are appended to its append-only table (never a delete: see migration 4).
VERSIONED_TABLES = {"boilerplate_lines": "boilerplate_line_history"}


def first_reads_dir(staging: Path) -> Path:
    """Where the run's ordering pass keeps what it read for the batches (never committed)."""
    return staging / "first-reads"


def staged_files(staging: Path, table: str) -> list[str]:
    """The run's Parquet files for ``table``, in the order they were written."""
    return sorted(str(p) for p in (staging / table).glob("*.parquet"))


def _write(staging: Path, relation: Relation, frame: pl.DataFrame, name: str) -> None:
    if frame.height:
        (staging / relation.name).mkdir(parents=True, exist_ok=True)
        relation.conform(frame).write_parquet(staging / relation.name / f"{name}.parquet", compression="zstd")


def write_batch(staging: Path, tables: BatchTables, batch_no: int) -> None:
    """One batch's rows of every table it stages (empty tables write no file)."""
    for table, frame in tables.by_table().items():
        _write(staging, _BY_NAME[table], frame, f"batch-{batch_no:05d}")


def write_validation(staging: Path, run_id: str, validation: pl.DataFrame) -> None:
    """The run's validation results (one row per expectation, ``summarize_validation``)."""
    _write(staging, VALIDATION_RESULTS, validation.with_columns(pl.lit(run_id).alias("run_id")), "run")


def write_boilerplate(staging: Path, lines: pl.DataFrame) -> None:
    """The whole learned boilerplate table: the commit appends the rows that changed to its history."""
    _write(staging, BOILERPLATE_LINES, lines, "run")
