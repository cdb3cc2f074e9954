"""The automations `akhbar serve` keeps on the Prefect server, as data (the server firing them: test_serve.py)."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from flows.alerts import (
    APPRISE_ENV,
    COMPLETED_EVENT,
    NO_COMPLETED_RUN,
    RUN_FAILED,
    AlertConfig,
    AlertConfigError,
    _same,
    alert_config,
    automations,
    parse_apprise_urls,
)

SERVED = AlertConfig("akhbar-ingest", ("nightly", "on-arrival"), webhook_url="http://127.0.0.1:9/hook",
                     apprise_urls=("json://127.0.0.1:9/a",))


def test_apprise_urls_are_split_on_commas_and_spaces() -> None:
    assert parse_apprise_urls(" mailto://u:p@example.com, json://127.0.0.1:9/a  tgram://123456789:abcdefg/42,") == (
        "mailto://u:p@example.com", "json://127.0.0.1:9/a", "tgram://123456789:abcdefg/42")
    assert parse_apprise_urls("") == parse_apprise_urls(None) == ()


def test_a_url_apprise_cannot_send_to_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(AlertConfigError, match="cannot use the nosuch:// URL"):
        parse_apprise_urls("json://127.0.0.1:9/a nosuch://x")
    monkeypatch.setenv(APPRISE_ENV, "json://127.0.0.1:9/a")
    assert alert_config("f", ["d"], None).apprise_urls == ("json://127.0.0.1:9/a",)


def test_failed_or_crashed_runs_of_the_served_deployments_notify_every_block() -> None:
    from prefect.events.schemas.automations import Posture

    blocks = [uuid4(), uuid4()]
    failed, silent = automations(SERVED, blocks)
    assert (failed.name, silent.name) == (RUN_FAILED, NO_COMPLETED_RUN)
    assert failed.trigger.posture == Posture.Reactive and failed.trigger.threshold == 1
    assert {"prefect.flow-run.Failed", "prefect.flow-run.Crashed"} <= failed.trigger.expect
    assert silent.trigger.posture == Posture.Proactive and silent.trigger.expect == {COMPLETED_EVENT}
    assert silent.trigger.after == {COMPLETED_EVENT}  # each completed run restarts the window
    assert silent.trigger.within == timedelta(hours=26)
    for automation in (failed, silent):
        assert [action.block_document_id for action in automation.actions] == blocks
        related = {spec["prefect.resource.role"][0]: spec["prefect.resource.name"]
                   for spec in automation.trigger.match_related}
        assert related == {"flow": ["akhbar-ingest"], "deployment": ["nightly", "on-arrival"]}
    assert "{{ flow_run.state.name }}" in failed.actions[0].subject
    assert "{{" not in silent.actions[0].body  # a missing run has no flow run to talk about


def test_an_automation_read_back_equals_the_wanted_one_despite_server_ids() -> None:
    from prefect.events.schemas.automations import Automation

    blocks = [uuid4()]
    wanted = automations(SERVED, blocks)[1]
    stored = Automation.model_validate({**wanted.model_dump(), "id": uuid4()})
    assert _same(stored, wanted)
    shorter = automations(AlertConfig("akhbar-ingest", ("nightly",), "http://127.0.0.1:9/hook",
                                      silence=timedelta(hours=25)), blocks)[1]
    assert not _same(stored, shorter)


def test_serve_refuses_an_apprise_url_before_contacting_a_server(akhbar, tmp_path) -> None:
    served = akhbar(["serve", "--input", str(tmp_path), "--warehouse", str(tmp_path / "wh")],
                    {APPRISE_ENV: "json://127.0.0.1:9/a slack://secret-token", "PREFECT_API_URL": "http://127.0.0.1:9/api"})
    assert served.returncode == 2
    (line,) = served.stderr.strip().splitlines()
    assert line.startswith(f"akhbar: {APPRISE_ENV}: Apprise cannot use the slack:// URL") and "secret" not in line
