"""Alerts for what does not happen: Prefect automations that `akhbar serve` keeps on the server.

A run that is killed by the kernel, a runner that died or a nightly that never started cannot
notify from inside a run. The Prefect server sees all three, so it sends these notices itself:
one automation reacts to a flow run of the served deployments ending Failed or Crashed, one
fires when no such run has completed within 26 hours. Both notify through blocks saved on the
server: a Custom Webhook block for `AKHBAR_WEBHOOK_URL` and an Apprise block for
`AKHBAR_APPRISE_URLS`. Applying them again changes nothing that is already as wanted, so a
restarted `akhbar serve` keeps one automation of each kind, and the proactive clock keeps running.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

if TYPE_CHECKING:
    from prefect.client.orchestration import SyncPrefectClient
    from prefect.events.schemas.automations import AutomationCore

LOGGER = logging.getLogger("akhbar.alerts")
APPRISE_ENV = "AKHBAR_APPRISE_URLS"
WEBHOOK_BLOCK = "akhbar-webhook"
APPRISE_BLOCK = "akhbar-apprise"
RUN_FAILED = "akhbar-run-failed"
NO_COMPLETED_RUN = "akhbar-no-completed-run"
AUTOMATION_NAMES = (RUN_FAILED, NO_COMPLETED_RUN)
DEFAULT_SILENCE = timedelta(hours=26)  # a nightly plus two hours of slack
# TimedOut is a Failed state under its own name; each state name is its own event.
FAILED_EVENTS = ("prefect.flow-run.Failed", "prefect.flow-run.Crashed", "prefect.flow-run.TimedOut")
COMPLETED_EVENT = "prefect.flow-run.Completed"


class AlertConfigError(ValueError):
    """An Apprise URL that Apprise cannot send to."""


@dataclass(frozen=True)
class AlertConfig:
    flow_name: str
    deployments: tuple[str, ...]        # deployment names of that flow
    webhook_url: str | None = None
    apprise_urls: tuple[str, ...] = ()
    silence: timedelta = DEFAULT_SILENCE

    @property
    def has_destination(self) -> bool:
        return bool(self.webhook_url or self.apprise_urls)


def parse_apprise_urls(value: str | None) -> tuple[str, ...]:
    """Comma- or space-separated Apprise URLs, each checked by Apprise itself."""
    import apprise

    urls = tuple(url for url in re.split(r"[,\s]+", value or "") if url)
    for url in urls:
        if not apprise.Apprise().add(url):
            scheme = url.split("://", 1)[0] + "://" if "://" in url else "scheme-less"
            # Only the scheme: the rest of an Apprise URL is often a token or a password.
            raise AlertConfigError(f"{APPRISE_ENV}: Apprise cannot use the {scheme} URL (unknown service or "
                                   "malformed; see https://github.com/caronc/apprise/wiki)")
    return urls


def alert_config(flow_name: str, deployments: Sequence[str], webhook_url: str | None,
                 silence: timedelta = DEFAULT_SILENCE) -> AlertConfig:
    """The alerts of `akhbar serve`: its deployments, the webhook, and `$AKHBAR_APPRISE_URLS`."""
    return AlertConfig(flow_name, tuple(deployments), webhook_url or None,
                       parse_apprise_urls(os.environ.get(APPRISE_ENV)), silence)


def _resources(config: AlertConfig) -> dict[str, Any]:
    """Flow runs of the served deployments (by flow and deployment name: also their work-pool twins)."""
    return {
        "match": {"prefect.resource.id": "prefect.flow-run.*"},
        "match_related": [
            {"prefect.resource.role": "flow", "prefect.resource.name": config.flow_name},
            {"prefect.resource.role": "deployment", "prefect.resource.name": list(config.deployments)},
        ],
    }


def _hours(span: timedelta) -> str:
    seconds = span.total_seconds()
    return f"{seconds / 3600:g} hours" if seconds % 3600 == 0 else f"{seconds:g} seconds"


def automations(config: AlertConfig, blocks: Sequence[UUID]) -> list[AutomationCore]:
    """The two automations, notifying every block in ``blocks``."""
    from prefect.events.actions import SendNotification
    from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture

    served = f"{config.flow_name} ({', '.join(config.deployments)})"
    failed_subject = ("akhbar: {{ flow.name }}/{{ deployment.name }} run {{ flow_run.name }} ended "
                      "{{ flow_run.state.name }}")
    failed_body = (
        "Flow run {{ flow_run.name }} ({{ flow_run.id }}) of {{ flow.name }}/{{ deployment.name }} ended "
        "{{ flow_run.state.name }} at {{ flow_run.state.timestamp }}: {{ flow_run.state.message }}\n"
        "Input folder: {{ flow_run.parameters.input_dir }}; warehouse: {{ flow_run.parameters.warehouse_dir }}."
    )
    silent_subject = f"akhbar: no run of {served} completed in {_hours(config.silence)}"
    silent_body = (
        f"No flow run of {served} has completed in the last {_hours(config.silence)}: the nightly may not "
        "have started, `akhbar serve` or its Prefect server may be down, or every run failed."
    )

    def notify(subject: str, body: str) -> list[SendNotification]:
        return [SendNotification(block_document_id=block, subject=subject, body=body) for block in blocks]

    return [
        AutomationCore(
            name=RUN_FAILED, tags=["akhbar"],
            description=f"Notifies when a flow run of {served} ends Failed or Crashed (killed, out of memory, "
                        "its process or machine died).",
            trigger=EventTrigger(expect=set(FAILED_EVENTS), posture=Posture.Reactive, threshold=1,
                                 within=timedelta(0), **_resources(config)),
            actions=notify(failed_subject, failed_body),
        ),
        AutomationCore(
            name=NO_COMPLETED_RUN, tags=["akhbar"],
            description=f"Notifies when no flow run of {served} has completed within {_hours(config.silence)}.",
            # `after` as well as `expect`: each completed run restarts the window, so the notice
            # comes `silence` after the last one (without it, windows are fixed from creation).
            trigger=EventTrigger(after={COMPLETED_EVENT}, expect={COMPLETED_EVENT}, posture=Posture.Proactive,
                                 threshold=1, within=config.silence, **_resources(config)),
            actions=notify(silent_subject, silent_body),
        ),
    ]


def save_blocks(config: AlertConfig) -> list[UUID]:
    """Save (or overwrite) the notification blocks; their ids stay the same across saves."""
    from prefect.blocks.notifications import CustomWebhookNotificationBlock, SlackWebhook

    ids = []
    if config.webhook_url:
        webhook = CustomWebhookNotificationBlock(
            name=WEBHOOK_BLOCK, url=config.webhook_url,
            json_data={"event": "alert", "subject": "{{subject}}", "body": "{{body}}"},
        )
        ids.append(webhook.save(WEBHOOK_BLOCK, overwrite=True))
    if config.apprise_urls:
        # The server sends the notice, so the block must be a type it knows: Prefect's Slack Webhook
        # block hands any Apprise URL (mailto://, json://, tgram://, ...) to Apprise unchanged.
        apprise = SlackWebhook(url=" ".join(config.apprise_urls), notify_type="failure")
        ids.append(apprise.save(APPRISE_BLOCK, overwrite=True))
    return ids


def _same(existing: AutomationCore, wanted: AutomationCore) -> bool:
    """Equal but for ids the server assigns (an update gives the trigger a new id and restarts its clock)."""
    from prefect.events.schemas.automations import AutomationCore

    def comparable(automation: AutomationCore) -> dict[str, Any]:
        core = AutomationCore.model_validate(automation.model_dump(exclude={"id"}))
        dumped = core.model_dump(mode="json", exclude={"owner_resource"})
        trigger = dumped["trigger"]
        trigger.pop("id", None)
        for name in ("expect", "after", "for_each"):  # sets: their order in JSON is arbitrary
            trigger[name] = sorted(trigger.get(name) or [])
        return dumped

    return comparable(existing) == comparable(wanted)


def _upsert(client: SyncPrefectClient, wanted: AutomationCore) -> UUID:
    found = client.read_automations_by_name(wanted.name)
    for extra in found[1:]:  # two `akhbar serve` started at once: keep one
        client.delete_automation(extra.id)
    if not found:
        return client.create_automation(wanted)
    if not _same(found[0], wanted):
        client.update_automation(found[0].id, wanted)
    return found[0].id


def apply_alerts(config: AlertConfig) -> list[UUID]:
    """Create or update the automations (none without a destination); return their ids."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        if not config.has_destination:
            for name in AUTOMATION_NAMES:
                for stale in client.read_automations_by_name(name):
                    client.delete_automation(stale.id)
            LOGGER.warning("no alerts: set AKHBAR_WEBHOOK_URL or %s to be told of failed, crashed or missing runs",
                           APPRISE_ENV)
            return []
        blocks = save_blocks(config)
        ids = [_upsert(client, automation) for automation in automations(config, blocks)]
    LOGGER.info("alerts on: %s", ", ".join(AUTOMATION_NAMES))
    return ids
