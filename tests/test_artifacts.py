"""`flows.artifacts`: what the end of a run publishes, and that publishing never fails the run.

The artifacts of real runs are checked in `tests/test_warehouse_report.py` (same three runs as the report).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from flows import artifacts
from flows.results import RunSummary
from warehouse.report.render import failed_markdown

NOW = datetime(2026, 11, 1, tzinfo=UTC)
SUMMARY = RunSummary(run_id="r1", status="completed", reason=None, input_dir="/in", started_at=NOW, finished_at=NOW,
                     files_seen=3, files_loaded=2, files_quarantined=1, articles_loaded=2, mentions_loaded=9)
VALIDATION = pl.DataFrame([
    {"suite": "articles", "expectation": "expect_column_values_to_be_in_set", "column": "lang", "severity": "error",
     "scope": "row", "success": False, "unexpected_count": 1, "example_values": "'en'", "details": "1 of 3 rows"},
    {"suite": "articles", "expectation": "expect_column_values_to_not_be_null", "column": "body", "severity": "error",
     "scope": "row", "success": True, "unexpected_count": 0, "example_values": None, "details": None},
])


def test_summary_table_lists_every_outcome() -> None:
    values = {row["metric"]: row["value"] for row in artifacts.summary_table(SUMMARY)}
    assert values["status"] == "completed" and values["reason"] == ""
    assert (values["files seen"], values["files loaded"], values["files quarantined"]) == (3, 2, 1)
    assert values["files deferred"] == 0 and values["entity mentions loaded"] == 9


def test_failed_markdown_names_expectations_with_their_quarantined_rows() -> None:
    failed = artifacts.failed_expectations(VALIDATION)
    assert failed["column"].to_list() == ["lang"]
    quarantined = pl.DataFrame({"source_path": ["english.txt", "other|x.txt"], "title": ["t", None],
                                "reason": ["articles.expect_column_values_to_be_in_set(lang): 'en'", "articles.z"]})
    markdown = failed_markdown("r1", failed, quarantined)
    assert "`expect_column_values_to_be_in_set` on `lang`: error (row scope), 1 unexpected" in markdown
    assert "| english.txt |" in markdown and "other" not in markdown
    assert failed_markdown("r1", artifacts.failed_expectations(pl.DataFrame()), quarantined).endswith(
        "No failed expectations.")


def test_publishing_never_fails_the_run(monkeypatch, tmp_path: Path) -> None:
    notified: list[tuple[RunSummary, pl.DataFrame]] = []

    def broken(*args, **kwargs) -> None:
        raise RuntimeError("no Prefect API")

    monkeypatch.setattr(artifacts, "create_table_artifact", broken)
    monkeypatch.setattr(artifacts, "notify_run", lambda summary, failed: notified.append((summary, failed)))
    artifacts.publish_run(SUMMARY, VALIDATION, tmp_path / "no-staging")
    assert [(summary.run_id, failed.height) for summary, failed in notified] == [("r1", 1)]
