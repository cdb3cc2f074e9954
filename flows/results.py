"""What a run reports: one typed summary shared by the flow, the CLI, artifacts and notifications."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

FILE_OUTCOMES = ("seen", "loaded", "duplicate", "quarantined", "rejected", "unchanged", "deferred", "ignored")


@dataclass(frozen=True)
class RunSummary:
    """One ingest pass, as recorded in the `runs` relation (plus its wall time)."""

    run_id: str
    status: str  # 'completed' or 'failed'
    reason: str | None
    input_dir: str
    started_at: datetime
    finished_at: datetime
    files_seen: int = 0
    files_unchanged: int = 0
    files_deferred: int = 0
    files_ignored: int = 0
    files_loaded: int = 0
    files_duplicate: int = 0
    files_quarantined: int = 0
    files_rejected: int = 0
    articles_loaded: int = 0
    mentions_loaded: int = 0
    seconds: float = 0.0

    def files(self) -> dict[str, int]:
        """Files by outcome, in the order reports show them."""
        return {name: getattr(self, f"files_{name}") for name in FILE_OUTCOMES}
