"""The monitoring reads: everything the report shows, and how one recorded run ended."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from warehouse.store import WarehouseMissingError, open_reader

DEFAULT_RUNS = 20  # recent runs a report shows


@dataclass(frozen=True)
class ReportData:
    warehouse: str
    generated_at: datetime
    runs: pl.DataFrame              # newest first
    failed: pl.DataFrame            # failed expectations of those runs, newest run first
    failed_by_column: pl.DataFrame  # suite, column, expectation, severity, runs, unexpected
    files_by_status: pl.DataFrame   # status, files (current ledger)
    quarantined: pl.DataFrame       # newest first
    entities: pl.DataFrame          # top entities of the latest run that loaded articles
    entities_run: str | None
    articles: int


def load_report(root: Path, runs: int = DEFAULT_RUNS, examples: int = 20, top_entities: int = 15) -> ReportData:
    """Read everything the report shows in one read-only connection (safe during a run)."""
    con = open_reader(root)
    try:
        recent = con.execute(
            "SELECT run_id, started_at, finished_at, status, reason, files_seen, files_loaded, files_duplicate, "
            "files_quarantined, files_rejected, files_unchanged, files_deferred, articles_loaded, mentions_loaded "
            "FROM runs ORDER BY started_at DESC LIMIT ?", [runs],
        ).pl()
        recent_runs = "(SELECT run_id, started_at FROM runs ORDER BY started_at DESC LIMIT ?)"
        failed = con.execute(
            'SELECT v.run_id, r.started_at, v.suite, v.expectation, v."column", v.severity, v.scope, '
            "v.unexpected_count, v.example_values, v.details "
            f"FROM validation_results v JOIN {recent_runs} r USING (run_id) WHERE NOT v.success "
            "ORDER BY r.started_at DESC, v.severity, v.suite, v.expectation, v.\"column\"", [runs],
        ).pl()
        by_column = con.execute(
            'SELECT v.suite, coalesce(v."column", \'(table)\') AS "column", v.expectation, v.severity, '
            "count(DISTINCT v.run_id) AS runs, sum(coalesce(v.unexpected_count, 0)) AS unexpected "
            f"FROM validation_results v JOIN {recent_runs} r USING (run_id) WHERE NOT v.success "
            "GROUP BY ALL ORDER BY unexpected DESC, runs DESC, v.suite, \"column\"", [runs],
        ).pl()
        files = con.execute(
            "SELECT status, count(*) AS files FROM ingest_ledger GROUP BY status ORDER BY files DESC, status"
        ).pl()
        quarantined = con.execute(
            "SELECT q.run_id, r.started_at, q.source_path, q.reason, q.title, left(q.body, 280) AS excerpt, "
            "q.lang, q.arabic_ratio FROM quarantine q LEFT JOIN runs r USING (run_id) "
            "ORDER BY r.started_at DESC NULLS LAST, q.source_path LIMIT ?", [examples],
        ).pl()
        last = con.execute(
            "SELECT run_id FROM runs WHERE status = 'completed' AND articles_loaded > 0 "
            "ORDER BY started_at DESC LIMIT 1"
        ).fetchone()
        entities_run = last[0] if last else None
        entities = con.execute(
            "SELECT entity_id, mode(canonical_name) AS canonical_name, mode(entity_type) AS entity_type, "
            "count(DISTINCT article_id) AS articles, count(*) AS mentions FROM entity_mentions "
            "WHERE run_id = ? GROUP BY entity_id ORDER BY mentions DESC, articles DESC, canonical_name LIMIT ?",
            [entities_run, top_entities],
        ).pl()
        articles = con.execute("SELECT count(*) FROM articles").fetchone()[0]
    finally:
        con.close()
    return ReportData(
        warehouse=str(root), generated_at=datetime.now(UTC), runs=recent, failed=failed,
        failed_by_column=by_column, files_by_status=files, quarantined=quarantined, entities=entities,
        entities_run=entities_run, articles=int(articles),
    )


@dataclass(frozen=True)
class RecordedRun:
    """How a run ended, as the warehouse recorded it (`runs` plus its `validation_results`)."""

    run_id: str
    status: str           # 'completed' or 'failed'
    reason: str | None
    blocked: bool         # a batch-level `error` expectation failed, so the run loaded nothing


def read_recorded_run(root: Path, run_id: str) -> RecordedRun | None:
    """The `runs` row of ``run_id``, or None when the warehouse holds no such run (or no warehouse yet).

    ``blocked`` applies the validation runner's rule to the recorded results: an `error` expectation
    that failed at batch scope, or could not be evaluated at all (no unexpected count), blocks the load.
    """
    try:
        con = open_reader(root)
    except WarehouseMissingError:
        return None
    try:
        row = con.execute(
            "SELECT status, reason, EXISTS (SELECT 1 FROM validation_results v WHERE v.run_id = r.run_id "
            "AND NOT v.success AND v.severity = 'error' AND (v.scope = 'batch' OR v.unexpected_count IS NULL)) "
            "FROM runs r WHERE r.run_id = ?", [run_id],
        ).fetchone()
    except duckdb.CatalogException:  # the first run has not created the tables yet
        return None
    finally:
        con.close()
    if row is None:
        return None
    return RecordedRun(run_id=run_id, status=row[0], reason=row[1], blocked=bool(row[2]))
