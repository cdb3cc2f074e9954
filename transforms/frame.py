"""The one frame that travels through the pipeline, and how steps label rows.

Every step is a pure function ``frame -> frame``. Rows are never dropped: a step that
refuses a row sets ``status`` and ``reason`` on it, and later steps only work on rows
whose ``status`` is still null (``alive()``). The batch core splits the frame into tables at
the end. The frame's columns are declared in ``transforms.schema``.
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
