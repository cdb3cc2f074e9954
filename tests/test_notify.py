"""The failure webhook: JSON body, bounded retries with backoff, never failing a run."""

from __future__ import annotations

import json
import shutil
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from flows.notify import WEBHOOK_ENV, WebhookConfig, failure_payload, notify_run, send_webhook
from flows.results import RunSummary
from tests.conftest import SEEDS
from tests.http_receiver import serving

FAST = WebhookConfig(attempts=3, backoff_s=0.05, timeout_s=2.0)
ENGLISH = (
    "The foreign ministers met in Vienna on Tuesday to discuss the agreement.\n"
    "Officials said the talks would continue next week, according to several agencies.\n"
    "No statement was issued after the meeting, which lasted more than four hours.\n"
)


def _summary(run_id: str, status: str, reason: str | None = None, **files: int) -> RunSummary:
    now = datetime.now(UTC)
    return RunSummary(run_id=run_id, status=status, reason=reason, input_dir="/in", started_at=now, finished_at=now,
                      **files)


RUN_VALIDATION = {"suite": pl.String, "expectation": pl.String, "column": pl.String, "severity": pl.String,
                  "scope": pl.String, "success": pl.Boolean, "unexpected_count": pl.Int64,
                  "example_values": pl.String, "details": pl.String}


def _failed(*rows: dict) -> pl.DataFrame:
    """Failed rows of a run's validation results (one row per expectation), as the flow hands them on."""
    return pl.DataFrame([{**row, "success": False} for row in rows], schema=RUN_VALIDATION)


@dataclass
class Receiver:
    """A webhook endpoint on 127.0.0.1 answering with scripted status codes (then 200)."""

    url: str
    codes: list[int]
    bodies: list[dict] = field(default_factory=list)
    times: list[float] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="", codes=[])

    def on_post(path: str, headers, body: bytes) -> int:
        state.times.append(time.monotonic())
        state.bodies.append({"content_type": headers["Content-Type"], "json": json.loads(body)})
        return state.codes.pop(0) if state.codes else 200

    with serving(on_post) as address:
        state.url = f"http://{address}/hook"
        yield state


def test_retries_with_backoff_until_delivered(receiver: Receiver) -> None:
    receiver.codes = [500, 503]
    assert send_webhook(receiver.url, {"event": "run_failed", "text": "خبر"}, FAST) is True
    assert len(receiver.bodies) == 3
    assert receiver.bodies[-1] == {"content_type": "application/json; charset=utf-8",
                                   "json": {"event": "run_failed", "text": "خبر"}}
    gaps = [b - a for a, b in zip(receiver.times, receiver.times[1:], strict=False)]
    assert gaps[0] >= 0.05 and gaps[1] >= 0.1  # exponential backoff


def test_bounded_attempts_then_gives_up_without_raising(receiver: Receiver) -> None:
    receiver.codes = [500] * 10
    assert send_webhook(receiver.url, {"event": "x"}, FAST) is False
    assert len(receiver.bodies) == FAST.attempts


def test_client_errors_are_not_retried(receiver: Receiver) -> None:
    receiver.codes = [404]
    assert send_webhook(receiver.url, {"event": "x"}, FAST) is False
    assert len(receiver.bodies) == 1


def test_unreachable_endpoint_is_bounded_and_silent() -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    assert send_webhook(f"http://127.0.0.1:{port}/", {"event": "x"}, FAST) is False
    assert time.monotonic() - started < 5
    assert notify_run(_summary("r", "failed"), _failed(), url="not a url") is False


def test_validation_event_names_the_warehouse_and_its_worst_severity(tmp_path: Path) -> None:
    from flows.notify import MAX_EVENT_EXPECTATIONS, VALIDATION_FAILED_EVENT, validation_event

    warning = {"suite": "articles", "expectation": "expect_column_value_lengths_to_be_between", "column": "title",
               "severity": "warning", "scope": "row", "unexpected_count": 2, "example_values": "a", "details": ""}
    assert validation_event(_summary("r", "completed"), _failed(), tmp_path / "wh") is None
    event = validation_event(_summary("r", "completed"), _failed(warning), tmp_path / "wh")
    assert event is not None and event["event"] == VALIDATION_FAILED_EVENT
    assert event["resource"] == {"prefect.resource.id": "akhbar.warehouse.wh", "prefect.resource.name": "wh",
                                 "akhbar.warehouse.path": str(tmp_path / "wh"), "akhbar.severity": "warning"}
    assert event["payload"]["failed_expectations"] == [
        {k: warning[k] for k in ("suite", "expectation", "column", "severity", "scope", "unexpected_count")}]
    many = _failed(*([warning] * MAX_EVENT_EXPECTATIONS), {**warning, "severity": "error"})
    event = validation_event(_summary("r", "failed", "blocking"), many, tmp_path / "wh")
    assert event["resource"]["akhbar.severity"] == "error" and event["payload"]["reason"] == "blocking"
    assert (event["payload"]["failed_count"], len(event["payload"]["failed_expectations"])) == (
        MAX_EVENT_EXPECTATIONS + 1, MAX_EVENT_EXPECTATIONS)


def test_payload_only_for_failed_runs_or_error_expectations() -> None:
    warning = {"suite": "articles", "expectation": "expect_column_values_to_match_regex", "column": "url",
               "severity": "warning", "scope": "row", "unexpected_count": 2, "example_values": "a | b"}
    error = {**warning, "expectation": "expect_column_values_to_be_in_set", "column": "lang", "severity": "error",
             "example_values": "'en' | 'fr'", "details": "2 of 9 rows failed"}
    completed = _summary("r1", "completed", files_loaded=7, files_quarantined=2)
    assert failure_payload(completed, _failed(warning)) is None
    payload = failure_payload(completed, _failed(warning, error))
    assert payload is not None and payload["event"] == "expectation_failed"
    assert payload["files"]["quarantined"] == 2 and payload["files"]["loaded"] == 7
    assert [f["expectation"] for f in payload["failed_expectations"]] == ["expect_column_values_to_be_in_set"]
    assert payload["failed_expectations"][0]["example_values"] == ["'en'", "'fr'"]
    assert payload["failed_expectations"][0]["details"] == "2 of 9 rows failed"
    assert payload["input_dir"] == "/in" and payload["run_id"] == "r1"
    failed = failure_payload(_summary("r2", "failed", "blocking validation failure: x"), _failed())
    assert failed is not None and failed["event"] == "run_failed" and failed["reason"].startswith("blocking")
    # A run that failed before validation has no results frame at all, and still notifies.
    early = failure_payload(_summary("r3", "failed", "OSError: x"), pl.DataFrame())
    assert early is not None and early["failed_expectations"] == []


def _validation_event(run_id: str, timeout: float = 30.0):
    """The run's `akhbar.validation.failed` event, once the test server has stored it."""
    from prefect.client.orchestration import get_client
    from prefect.events.filters import EventFilter, EventNameFilter

    from flows.notify import VALIDATION_FAILED_EVENT

    deadline = time.monotonic() + timeout
    while True:
        with get_client(sync_client=True) as client:
            page = client.read_events(EventFilter(event=EventNameFilter(name=[VALIDATION_FAILED_EVENT])), limit=50)
        found = [event for event in page.events if event.payload.get("run_id") == run_id]
        if found or time.monotonic() > deadline:
            assert len(found) == 1, f"{len(found)} {VALIDATION_FAILED_EVENT} events for run {run_id}"
            return found[0]
        time.sleep(0.5)


@pytest.mark.e2e
def test_run_with_a_quarantined_article_notifies(prefect_api_url, tmp_path: Path, receiver: Receiver,
                                                 monkeypatch) -> None:
    from flows.ingest import ingest

    source = tmp_path / "input"
    source.mkdir()
    shutil.copy2(sorted(SEEDS.iterdir())[0], source)
    (source / "english.txt").write_text(ENGLISH, encoding="utf-8")
    receiver.codes = [503]  # the first delivery fails; the retry gets through
    monkeypatch.setenv(WEBHOOK_ENV, receiver.url)
    summary = ingest(str(source), str(tmp_path / "wh"))
    assert (summary.status, summary.files_loaded, summary.files_quarantined) == ("completed", 1, 1)
    assert len(receiver.bodies) == 2
    body = receiver.bodies[-1]["json"]
    assert (body["event"], body["run_id"], body["status"]) == ("expectation_failed", summary.run_id, "completed")
    failed = {(f["suite"], f["expectation"], f["column"]) for f in body["failed_expectations"]}
    assert ("articles", "expect_column_values_to_be_in_set", "lang") in failed
    assert all(f["severity"] == "error" for f in body["failed_expectations"])

    # The run also emitted an event for automations, tied to its warehouse and to its flow run.
    event = _validation_event(summary.run_id)
    assert event.resource.id == "akhbar.warehouse.wh" and event.resource["akhbar.severity"] == "error"
    assert event.resource["akhbar.warehouse.path"] == str((tmp_path / "wh").resolve())
    assert f"prefect.flow-run.{summary.run_id}" in {related.id for related in event.related}
    assert ("articles", "expect_column_values_to_be_in_set", "lang") in {
        (f["suite"], f["expectation"], f["column"]) for f in event.payload["failed_expectations"]}
    assert event.payload["failed_count"] == len(event.payload["failed_expectations"])

    # A dead endpoint costs a few quick retries and never fails the run.
    receiver.codes = [500] * 10
    (source / "english 2.txt").write_text(ENGLISH.replace("Vienna", "Geneva"), encoding="utf-8")
    again = ingest(str(source), str(tmp_path / "wh"))
    assert (again.status, again.files_quarantined) == ("completed", 1)
    assert len(receiver.bodies) == 2 + WebhookConfig().attempts
