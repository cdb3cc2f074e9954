"""Webhook notification when a run fails or an `error` expectation fails; a Prefect event for any failed expectation.

The webhook is best effort: a few bounded retries with exponential backoff, then a log line.
It never raises, so a dead notification endpoint can never fail (or slow much) a run. The event
(`akhbar.validation.failed`) is for Prefect automations to match; emitting it never raises either.
"""

from __future__ import annotations

import json
import logging
import os
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from flows.results import RunSummary

WEBHOOK_ENV = "AKHBAR_WEBHOOK_URL"
LOGGER = logging.getLogger("akhbar.notify")
FAILED_FIELDS = ("suite", "expectation", "column", "severity", "scope", "unexpected_count", "details")
VALIDATION_FAILED_EVENT = "akhbar.validation.failed"
EVENT_FIELDS = ("suite", "expectation", "column", "severity", "scope", "unexpected_count")
MAX_EVENT_EXPECTATIONS = 100  # an event is limited in size; the validation_results table has them all


@dataclass(frozen=True)
class WebhookConfig:
    # Sent at the end of a run that still holds the writer lock: at most ~16 s in the worst case.
    attempts: int = 3            # first try included
    backoff_s: float = 0.5       # waits 0.5 s, then 1 s between attempts
    timeout_s: float = 5.0       # per request
    max_examples: int = 5        # example values per failed expectation in the body


def webhook_url() -> str | None:
    return os.environ.get(WEBHOOK_ENV) or None


def _retryable(status: int) -> bool:
    # 408 timeout, 425 too early, 429 rate limited, 5xx: the receiver may accept later. Other 4xx will not.
    return status in (408, 425, 429) or status >= 500


def send_webhook(url: str, payload: Mapping[str, Any], config: WebhookConfig = WebhookConfig()) -> bool:
    """POST ``payload`` as JSON; True once the receiver answers 2xx. Never raises."""
    body = json.dumps(payload, ensure_ascii=False, default=str).encode("utf-8")
    request = urllib.request.Request(
        url, data=body, method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": "akhbar-webhook/1"},
    )
    for attempt in range(1, config.attempts + 1):
        try:
            with urllib.request.urlopen(request, timeout=config.timeout_s) as response:
                if 200 <= response.status < 300:
                    return True
                problem, retry = f"HTTP {response.status}", _retryable(response.status)
        except urllib.error.HTTPError as error:
            problem, retry = f"HTTP {error.code}", _retryable(error.code)
        except (OSError, ValueError) as error:  # refused, timeout, DNS, bad URL
            problem, retry = f"{type(error).__name__}: {error}", not isinstance(error, ValueError)
        if not retry or attempt == config.attempts:
            LOGGER.warning("webhook %s not delivered after %d attempt(s): %s", url, attempt, problem)
            return False
        time.sleep(config.backoff_s * 2 ** (attempt - 1))
    return False


def failure_payload(
    summary: RunSummary, failed: pl.DataFrame, config: WebhookConfig = WebhookConfig()
) -> dict[str, Any] | None:
    """The notification for a run, or None when there is nothing to tell.

    ``failed`` holds the run's failed expectations (rows of its validation results: suite,
    expectation, column, severity, scope, unexpected_count, example_values, details); only
    `error` ones are worth a notification.
    """
    errors = failed.filter(pl.col("severity") == "error") if "severity" in failed.columns else failed.clear()
    if summary.status != "failed" and errors.height == 0:
        return None
    return {
        "event": "run_failed" if summary.status == "failed" else "expectation_failed",
        "run_id": summary.run_id,
        "status": summary.status,
        "reason": summary.reason,
        "input_dir": summary.input_dir,
        "files": summary.files(),
        "failed_expectations": [
            {
                **{name: row.get(name) for name in FAILED_FIELDS},
                "example_values": [v for v in (row.get("example_values") or "").split(" | ") if v][
                    : config.max_examples],
            }
            for row in errors.iter_rows(named=True)
        ],
    }


def notify_run(summary: RunSummary, failed: pl.DataFrame, url: str | None = None) -> bool:
    """Send the run's notification if it needs one and a webhook is configured; True if sent."""
    url = url or webhook_url()
    if not url:
        return False
    try:
        payload = failure_payload(summary, failed)
        return payload is not None and send_webhook(url, payload)
    except Exception as error:  # a notification must never fail the run it reports on
        LOGGER.warning("webhook notification skipped: %s: %s", type(error).__name__, error)
        return False


def warehouse_resource(warehouse: Path) -> dict[str, str]:
    """The warehouse as a Prefect event resource: ``akhbar.warehouse.<folder name>``, its path a label."""
    return {"prefect.resource.id": f"akhbar.warehouse.{warehouse.name}", "prefect.resource.name": warehouse.name,
            "akhbar.warehouse.path": str(warehouse)}


def validation_event(summary: RunSummary, failed: pl.DataFrame, warehouse: Path) -> dict[str, Any] | None:
    """The `akhbar.validation.failed` event of a run (``emit_event`` arguments), None if nothing failed.

    The resource carries ``akhbar.severity`` (``error`` when any failed expectation blocks or
    quarantines, else ``warning``), so an automation can match on it without reading the payload.
    """
    if failed.height == 0:
        return None
    severities = set(failed["severity"]) if "severity" in failed.columns else set()
    severity = "error" if "error" in severities else "warning"
    expectations = [{name: row.get(name) for name in EVENT_FIELDS} for row in failed.iter_rows(named=True)]
    return {
        "event": VALIDATION_FAILED_EVENT,
        "resource": {**warehouse_resource(warehouse), "akhbar.severity": severity},
        "payload": {
            "run_id": summary.run_id, "status": summary.status, "reason": summary.reason,
            "input_dir": summary.input_dir, "failed_count": len(expectations),
            "failed_expectations": expectations[:MAX_EVENT_EXPECTATIONS],
        },
    }


def emit_validation_failed(summary: RunSummary, failed: pl.DataFrame, warehouse: Path) -> bool:
    """Emit the run's `akhbar.validation.failed` event if any expectation failed; True if sent. Never raises."""
    try:
        from prefect.events import emit_event

        event = validation_event(summary, failed, warehouse)
        return event is not None and emit_event(**event) is not None
    except Exception as error:  # an event must never fail the run it reports on
        LOGGER.warning("validation event not emitted: %s: %s", type(error).__name__, error)
        return False
