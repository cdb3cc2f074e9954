"""`akhbar serve` against a real `prefect server start` on 127.0.0.1 (free port, temporary PREFECT_HOME).

Checks what the schedule promises: both deployments registered with their schedule and a
concurrency limit of 1, a watcher-triggered run completing, and the nightly deployment runnable;
and what the alerts promise: a served run killed by the kernel makes the server itself notify the
webhook and the Apprise URLs. One `akhbar serve` is shared by both tests.
`prefect.yaml` declares the same deployments for work pools; it cannot import Python, so a test
holds its values to the code's defaults.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from flows.serve import (
    DEFAULT_CRON,
    DEFAULT_TIMEZONE,
    FLOW_NAME,
    NIGHTLY,
    ON_ARRIVAL,
    SERVED_LOCK_TIMEOUT_S,
    ServeConfig,
)
from tests.conftest import REPO, SEEDS
from tests.http_receiver import serving
from tests.loopback import free_port
from tests.warehouse_state import query

SERVER_START_TIMEOUT = 240


def test_prefect_yaml_holds_the_code_defaults() -> None:
    import inspect

    import yaml

    from flows.cli import build_parser
    from flows.ingest import ingest
    from flows.serve import build_deployments

    spec = yaml.safe_load((REPO / "prefect.yaml").read_text(encoding="utf-8"))
    deployments = {d["name"]: d for d in spec["deployments"]}
    assert set(deployments) == {NIGHTLY, ON_ARRIVAL}
    assert {d["entrypoint"] for d in deployments.values()} == {"flows/ingest.py:ingest"} and ingest.name == FLOW_NAME
    (nightly,) = deployments[NIGHTLY]["schedules"]
    assert (nightly["cron"], nightly["timezone"]) == (DEFAULT_CRON, DEFAULT_TIMEZONE)
    assert deployments[ON_ARRIVAL]["schedules"] == []

    # What the YAML sets equals what `akhbar serve` passes by default; what it leaves out, the flow's defaults give.
    args = build_parser().parse_args(["serve"])
    config = ServeConfig(Path("/in"), Path("/wh"), batch_size=args.batch_size.value,
                         max_file_bytes=args.max_file_bytes.value)
    served = build_deployments(config)[0].parameters
    in_yaml = spec["definitions"]["ingest_parameters"]
    assert in_yaml["lock_timeout_s"] == SERVED_LOCK_TIMEOUT_S == served["lock_timeout_s"]
    fixed = {name: value for name, value in in_yaml.items() if not str(value).startswith("{{")}  # not $AKHBAR_*
    assert set(in_yaml) <= set(served) and fixed == {name: served[name] for name in fixed}
    flow_defaults = {name: p.default for name, p in inspect.signature(ingest.fn).parameters.items()}
    assert {name: flow_defaults[name] for name in served if name not in in_yaml} == {
        name: value for name, value in served.items() if name not in in_yaml}




def _stop(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
    """Stop a process this test started (its own process group), escalating to SIGKILL."""
    if process.poll() is None:
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("prefect-server-home")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_UI_ENABLED="false",
               PREFECT_LOGGING_LEVEL="WARNING")
    log = (home / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"prefect server did not start: {(home / 'server.log').read_text()[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        _stop(process)
        log.close()


def _client(url: str):
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    class Client:
        def __enter__(self):
            self._settings = temporary_settings(updates={PREFECT_API_URL: url})
            self._settings.__enter__()
            self._client = get_client(sync_client=True)
            return self._client.__enter__()

        def __exit__(self, *exc):
            self._client.__exit__(*exc)
            self._settings.__exit__(*exc)

    return Client()


def _wait(predicate, timeout: float, what: str, process: subprocess.Popen):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if process.poll() is not None:
            raise AssertionError(f"akhbar serve exited: {process.communicate()[1][-3000:]}")
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")


def _deployments(url: str) -> dict:
    from prefect.exceptions import ObjectNotFound

    found = {}
    with _client(url) as client:
        for name in (NIGHTLY, ON_ARRIVAL):
            try:
                found[name] = client.read_deployment_by_name(f"{FLOW_NAME}/{name}")
            except ObjectNotFound:
                return {}
    return found


def _runs(url: str, deployment_id) -> list:
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    with _client(url) as client:
        return client.read_flow_runs(deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])))


def _completed(url: str, deployment_id) -> list:
    runs = _runs(url, deployment_id)
    failed = [r for r in runs if r.state and r.state.is_final() and not r.state.is_completed()]
    assert not failed, [(r.name, r.state.type, r.state.message) for r in failed]
    return [r for r in runs if r.state and r.state.is_completed()]


@dataclass
class Receiver:
    """An HTTP endpoint on 127.0.0.1 that keeps every POST: (path, user agent, JSON body)."""

    url: str = ""
    posts: list[tuple[str, str, dict]] = field(default_factory=list)

    def received(self, path: str) -> list[dict]:
        return [body for posted, _, body in self.posts if posted == path]


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    def on_post(path: str, headers, body: bytes) -> int:
        state.posts.append((path, headers.get("User-Agent", ""), json.loads(body or b"null")))
        return 200

    with serving(on_post) as address:
        state.url = address
        yield state


@dataclass(frozen=True)
class Served:
    process: subprocess.Popen
    source: Path
    warehouse: Path
    webhook_url: str
    apprise_urls: str


@pytest.fixture(scope="module")
def served(prefect_server: str, receiver: Receiver, tmp_path_factory) -> Iterator[Served]:
    """One `akhbar serve` for the module, alerting the receiver by webhook and by an Apprise URL."""
    from flows.alerts import APPRISE_ENV
    from flows.notify import WEBHOOK_ENV

    root = tmp_path_factory.mktemp("served")
    source, warehouse = root / "input", root / "wh"
    source.mkdir()
    webhook, apprise = f"http://{receiver.url}/hook", f"json://{receiver.url}/apprise"
    # Its own session, so the runner's flow-run processes are stopped with it.
    process = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "serve", "--input", str(source), "--warehouse", str(warehouse),
         "--cron", "30 2 * * *", "--timezone", "Asia/Riyadh", "--settle-seconds", "1", "--sweep-seconds", "5"],
        cwd=REPO, env={**os.environ, "PREFECT_API_URL": prefect_server, "PREFECT_RUNNER_POLL_FREQUENCY": "2",
                       WEBHOOK_ENV: webhook, APPRISE_ENV: apprise},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        yield Served(process, source, warehouse, webhook, apprise)
    finally:
        _stop(process, signal.SIGINT, timeout=60)
    assert process.returncode == 0, process.communicate()[1][-3000:]


@pytest.mark.e2e
def test_serve_registers_both_deployments_and_runs_them(prefect_server: str, served: Served) -> None:
    from prefect.client.schemas.objects import ConcurrencyLimitStrategy

    process, source, warehouse = served.process, served.source, served.warehouse
    deployments = _wait(lambda: _deployments(prefect_server), 180, "both deployments", process)
    nightly, on_arrival = deployments[NIGHTLY], deployments[ON_ARRIVAL]
    assert [(s.schedule.cron, s.schedule.timezone, s.active) for s in nightly.schedules] == [
        ("30 2 * * *", "Asia/Riyadh", True)]
    assert on_arrival.schedules == []
    for deployment in (nightly, on_arrival):
        assert deployment.global_concurrency_limit is not None
        assert deployment.global_concurrency_limit.limit == 1
        assert deployment.concurrency_options.collision_strategy == ConcurrencyLimitStrategy.ENQUEUE
        assert deployment.parameters["input_dir"] == str(source.resolve())
        assert deployment.parameters["warehouse_dir"] == str(warehouse.resolve())

    # Files arrive: the watcher in `akhbar serve` triggers the on-arrival deployment.
    for seed in SEEDS.iterdir():
        shutil.copy2(seed, source)
    _wait(lambda: _completed(prefect_server, on_arrival.id), 300, "the on-arrival run", process)
    assert query(warehouse, "SELECT count(*) AS n FROM articles")["n"][0] == 5

    # The nightly deployment runs too (triggered now instead of at 02:30): nothing new to load.
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: prefect_server}):
        run_deployment(f"{FLOW_NAME}/{NIGHTLY}", timeout=0, as_subflow=False)
    _wait(lambda: _completed(prefect_server, nightly.id), 300, "the nightly run", process)
    runs = query(warehouse, "SELECT files_loaded, files_unchanged FROM runs ORDER BY started_at").rows()
    assert runs == [(5, 0), (0, 5)]


def _descendants(pid: int) -> list[int]:
    """Processes below ``pid``, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _flow_run_process(served_pid: int, flow_run_id) -> int | None:
    """The process the runner of `akhbar serve` started for this flow run (it has the run's id in its env)."""
    marker = f"PREFECT__FLOW_RUN_ID={flow_run_id}".encode()
    for pid in _descendants(served_pid):
        try:
            if marker in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
                return pid
        except OSError:
            continue
    return None


def _automations(url: str) -> dict:
    from flows.alerts import AUTOMATION_NAMES

    with _client(url) as client:
        return {name: client.read_automations_by_name(name) for name in AUTOMATION_NAMES}


@pytest.mark.e2e
def test_served_run_that_crashes_is_notified_by_the_server(
    prefect_server: str, served: Served, receiver: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect.deployments import run_deployment
    from prefect.events.schemas.automations import Posture
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.alerts import APPRISE_ENV, NO_COMPLETED_RUN, RUN_FAILED, alert_config, apply_alerts
    from warehouse.lock import WriterLock
    from warehouse.store import WarehousePaths

    process = served.process
    _wait(lambda: _deployments(prefect_server), 180, "both deployments", process)
    automations = _automations(prefect_server)
    assert [len(found) for found in automations.values()] == [1, 1]
    (failed,), (silent,) = automations[RUN_FAILED], automations[NO_COMPLETED_RUN]
    assert (failed.trigger.posture, silent.trigger.posture) == (Posture.Reactive, Posture.Proactive)
    assert silent.trigger.expect == {"prefect.flow-run.Completed"}
    assert silent.trigger.within.total_seconds() == 26 * 3600
    assert len(failed.actions) == len(silent.actions) == 2  # the webhook and the Apprise block

    # Serving again (here: applying the same alerts in-process) keeps one of each, untouched.
    def updated(automation_id) -> str:
        with _client(prefect_server) as client:
            return client._client.get(f"/automations/{automation_id}").json()["updated"]

    before = {automation.id: updated(automation.id) for automation in (failed, silent)}
    monkeypatch.setenv(APPRISE_ENV, served.apprise_urls)
    config = alert_config(FLOW_NAME, (NIGHTLY, ON_ARRIVAL), served.webhook_url)
    with temporary_settings(updates={PREFECT_API_URL: prefect_server}):
        assert sorted(apply_alerts(config), key=str) == sorted(before, key=str)
    assert {automation_id: updated(automation_id) for automation_id in before} == before
    assert [len(found) for found in _automations(prefect_server).values()] == [1, 1]

    # A nightly run that the kernel kills while it waits for the writer lock: nothing inside it can speak.
    busy, empty = tmp_path / "busy-wh", tmp_path / "empty"
    empty.mkdir()
    with WriterLock(WarehousePaths(busy).lock, timeout_s=5), \
            temporary_settings(updates={PREFECT_API_URL: prefect_server}):
        run = run_deployment(f"{FLOW_NAME}/{NIGHTLY}", timeout=0, as_subflow=False,
                             parameters={"input_dir": str(empty), "warehouse_dir": str(busy)})
        try:
            def running():
                with _client(prefect_server) as client:
                    state = client.read_flow_run(run.id).state
                return state is not None and state.is_running() and _flow_run_process(process.pid, run.id)

            os.kill(_wait(running, 180, "the nightly run to start", process), signal.SIGKILL)

            def crashed():
                with _client(prefect_server) as client:
                    state = client.read_flow_run(run.id).state
                return state if state is not None and state.is_final() else None

            assert _wait(crashed, 60, "the run to end", process).is_crashed()
            webhook = _wait(lambda: receiver.received("/hook"), 60, "the webhook notice", process)
            apprise = _wait(lambda: receiver.received("/apprise"), 60, "the Apprise notice", process)
        finally:
            with _client(prefect_server) as client:  # the other test counts this deployment's runs
                client.delete_flow_run(run.id)
    (notice,) = webhook
    assert notice["event"] == "alert"
    assert f"{FLOW_NAME}/{NIGHTLY} run {run.name} ended Crashed" in notice["subject"]
    assert str(run.id) in notice["body"] and str(busy) in notice["body"]
    (apprised,) = apprise
    assert apprised["title"] == notice["subject"] and apprised["type"] == "failure"
    assert all(agent.startswith("Prefect") or "Apprise" in agent for _, agent, _ in receiver.posts), receiver.posts
