"""The end of a run: its Prefect artifacts and, when something failed, the webhook and a Prefect event.

Wiring only: the markdown comes from `warehouse.report.render`, the webhook and the event from
`flows.notify`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import polars as pl
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from flows.notify import emit_validation_failed, notify_run
from flows.results import RunSummary
from warehouse.report.render import failed_markdown

LOGGER = logging.getLogger("akhbar.report")
QUARANTINE_COLUMNS = {"source_path": pl.String, "reason": pl.String, "title": pl.String}


def summary_table(summary: RunSummary) -> list[dict[str, Any]]:
    """The run summary as metric/value rows for a Prefect table artifact."""
    rows = [("status", summary.status), ("reason", summary.reason or "")]
    rows += [(f"files {outcome}", count) for outcome, count in summary.files().items()]
    rows += [("articles loaded", summary.articles_loaded), ("entity mentions loaded", summary.mentions_loaded)]
    return [{"metric": metric, "value": value} for metric, value in rows]


def _staged_quarantine(staging: Path | None) -> pl.DataFrame:
    files = sorted((staging / "quarantine").glob("*.parquet")) if staging else []
    if not files:
        return pl.DataFrame(schema=QUARANTINE_COLUMNS)
    return pl.concat([pl.read_parquet(f, columns=list(QUARANTINE_COLUMNS)) for f in files])


def failed_expectations(validation: pl.DataFrame) -> pl.DataFrame:
    """The failed rows of a run's validation results (none before validation ran)."""
    if "success" not in validation.columns:
        return validation.clear()
    return validation.filter(~pl.col("success"))


def publish_run(
    summary: RunSummary, validation: pl.DataFrame, staging: Path | None = None, warehouse: Path | None = None
) -> None:
    """Publish the run's artifacts, its validation event and its webhook notice.

    Never raises: monitoring must not fail a run.
    """
    failed = pl.DataFrame()
    try:
        failed = failed_expectations(validation)
        create_table_artifact(summary_table(summary), key="akhbar-run-summary",
                              description=f"akhbar run {summary.run_id}: files by status, articles, mentions")
        create_markdown_artifact(failed_markdown(summary.run_id, failed, _staged_quarantine(staging)),
                                 key="akhbar-failed-expectations",
                                 description=f"akhbar run {summary.run_id}: failed expectations with example rows")
    except Exception as error:  # monitoring must never fail the run it describes
        LOGGER.warning("could not publish run artifacts: %s: %s", type(error).__name__, error)
    if warehouse is not None:
        emit_validation_failed(summary, failed, warehouse)
    notify_run(summary, failed)
