"""The one frame that travels through the pipeline, and how steps label rows.

Every step is a pure function ``frame -> frame``. Rows are never dropped: a step that
refuses a row sets ``status`` and ``reason`` on it, and later steps only work on rows
whose ``status`` is still null (``alive()``). The flow splits the frame at the end.
"""

from __future__ import annotations

import polars as pl

# Terminal statuses an input file can end with (CONTRACT: ingest_ledger.status).
LOADED = "loaded"
DUPLICATE = "duplicate"
QUARANTINED = "quarantined"
REJECTED = "rejected"

STATUS = "status"
REASON = "reason"

# Columns the discovery step provides; every later step keeps them.
INPUT_SCHEMA: dict[str, pl.DataType] = {
    "source_path": pl.String(),  # relative to the input folder, '/'-separated
    "size_bytes": pl.Int64(),
    "mtime_ns": pl.Int64(),
    "sha256": pl.String(),
    "raw": pl.Binary(),
    STATUS: pl.String(),
    REASON: pl.String(),
}

# Columns the parse step adds (null where unknown).
PARSED_SCHEMA: dict[str, pl.DataType] = {
    "format": pl.String(),
    "source_doc_id": pl.String(),
    "title": pl.String(),
    "section": pl.String(),
    "byline": pl.String(),
    "publisher": pl.String(),
    "url": pl.String(),
    "published_at": pl.Datetime("us", "UTC"),
    "abstract": pl.String(),
    "body": pl.String(),
}


def alive() -> pl.Expr:
    """Rows no step has refused yet."""
    return pl.col(STATUS).is_null()


def label(frame: pl.DataFrame, condition: pl.Expr, status: str, reason: pl.Expr | str) -> pl.DataFrame:
    """Give still-alive rows matching ``condition`` a terminal ``status`` and a ``reason``.

    Rows already labelled keep their first status and reason: the earliest refusal is the
    one users need to see.
    """
    reason_expr = pl.lit(reason) if isinstance(reason, str) else reason
    hit = alive() & condition.fill_null(False)
    return frame.with_columns(
        pl.when(hit).then(pl.lit(status)).otherwise(pl.col(STATUS)).alias(STATUS),
        pl.when(hit).then(reason_expr).otherwise(pl.col(REASON)).alias(REASON),
    )


def empty_input_frame() -> pl.DataFrame:
    return pl.DataFrame(schema=INPUT_SCHEMA)
