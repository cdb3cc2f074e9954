"""`akhbar serve`: the nightly and the on-arrival ingest as Prefect deployments, served by this process.

Schedules fire only while a Prefect server runs and something serves the deployments: this is
that something. Both deployments run the same flow over the same folder and warehouse, each
with a deployment concurrency limit of 1 (further runs are queued, not dropped); the runner
executes one flow run at a time, and the writer lock covers anything started elsewhere, so two
ingests never write at once. The folder watcher runs in a thread of this process and triggers
the on-arrival deployment through the API, so every ingest is visible in the Prefect UI.
Before serving, it creates or updates the server's automations that notify of failed, crashed
and missing runs (`flows.alerts`).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from flows.alerts import AlertConfig, apply_alerts
from flows.watch import FolderWatcher, WatchConfig, deployment_trigger
from transforms.discover import FolderFilter

LOGGER = logging.getLogger("akhbar.serve")
FLOW_NAME = "akhbar-ingest"
NIGHTLY = "nightly"
ON_ARRIVAL = "on-arrival"
DEFAULT_CRON = "0 2 * * *"
DEFAULT_TIMEZONE = "UTC"
SERVED_LOCK_TIMEOUT_S = 3600.0  # a served run waits for a manual `akhbar run` rather than failing


@dataclass(frozen=True)
class ServeConfig:
    input_dir: Path
    warehouse_dir: Path
    batch_size: int                  # the pipeline's own defaults come from the CLI, which reads their owners
    max_file_bytes: int
    cron: str = DEFAULT_CRON
    timezone: str = DEFAULT_TIMEZONE
    lock_timeout_s: float = SERVED_LOCK_TIMEOUT_S
    watch: bool = True
    maintain: bool = True            # a completed run maintains the warehouse when due
    workers: int | None = None       # None: the flow's default (every core)
    dask_address: str | None = None  # tag on this Dask cluster (`flows.ingest.ingest_flow`)
    watch_config: WatchConfig = field(default_factory=WatchConfig)
    folder_filter: FolderFilter = field(default_factory=FolderFilter)
    alerts: AlertConfig | None = None  # None: leave the server's automations as they are


def build_deployments(config: ServeConfig) -> list:
    """The two RunnerDeployments (nightly cron, on-arrival without schedule), both limited to one run."""
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
    from prefect.schedules import Cron

    from flows.ingest import ingest_flow

    ingest = ingest_flow(config.dask_address)
    parameters = {
        "input_dir": str(config.input_dir.resolve()), "warehouse_dir": str(config.warehouse_dir.resolve()),
        "batch_size": config.batch_size, "lock_timeout_s": config.lock_timeout_s,
        "max_file_bytes": config.max_file_bytes, "maintain": config.maintain, "workers": config.workers,
        # None unless given: the flow's own default (prefect.yaml leaves them out).
        "include": list(config.folder_filter.include) or None, "exclude": list(config.folder_filter.exclude) or None,
    }
    one_at_a_time = ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.ENQUEUE)
    nightly = ingest.to_deployment(
        NIGHTLY, schedules=[Cron(config.cron, timezone=config.timezone)], parameters=parameters,
        concurrency_limit=one_at_a_time, tags=["akhbar", "nightly"],
        description=f"Nightly ingest of {parameters['input_dir']} ({config.cron}, {config.timezone}).",
    )
    on_arrival = ingest.to_deployment(
        ON_ARRIVAL, parameters=parameters, concurrency_limit=one_at_a_time, tags=["akhbar", "watch"],
        description=f"Ingest triggered by the folder watcher of `akhbar serve` when files in "
                    f"{parameters['input_dir']} are completely written.",
    )
    return [nightly, on_arrival]


def _wait_for_deployment(name: str, stop: threading.Event, timeout_s: float = 120.0) -> bool:
    """The runner registers the deployments as it starts; the watcher triggers only after that."""
    from prefect.client.orchestration import get_client

    deadline = time.monotonic() + timeout_s
    while not stop.is_set():
        try:
            with get_client(sync_client=True) as client:
                client.read_deployment_by_name(name)
            return True
        except Exception:
            if time.monotonic() > deadline:
                LOGGER.error("deployment %s never appeared; the folder watcher is off", name)
                return False
            stop.wait(1.0)
    return False


def serve(config: ServeConfig) -> None:
    """Register and serve both deployments until interrupted (SIGINT/SIGTERM)."""
    from prefect import serve as prefect_serve

    # A shell starting us in the background ignores SIGINT; Ctrl-C and `kill -INT` must still stop us.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    # Prefect's runner leaves a coroutine un-awaited when it stops on SIGTERM; the stop itself is clean.
    warnings.filterwarnings("ignore", message="coroutine 'Runner.astop' was never awaited", category=RuntimeWarning)
    deployments = build_deployments(config)
    if config.alerts is not None:
        try:
            apply_alerts(config.alerts)
        except Exception as error:  # loud, but the schedule is still worth serving
            LOGGER.error("alerts not set up: %s: %s", type(error).__name__, error)
    stop = threading.Event()
    watcher_thread = None
    if config.watch:
        watcher = FolderWatcher(config.input_dir, config.warehouse_dir,
                                deployment_trigger(f"{FLOW_NAME}/{ON_ARRIVAL}"), config.watch_config,
                                config.folder_filter)

        def watch() -> None:
            try:
                if _wait_for_deployment(f"{FLOW_NAME}/{ON_ARRIVAL}", stop):
                    watcher.run(stop)
            except Exception:  # the watcher dying must be loud, but the schedule keeps being served
                LOGGER.exception("folder watcher stopped")

        watcher_thread = threading.Thread(target=watch, name="akhbar-watcher", daemon=True)
    LOGGER.info("serving %s/%s (%s, %s) and %s/%s%s", FLOW_NAME, NIGHTLY, config.cron, config.timezone,
                FLOW_NAME, ON_ARRIVAL, f" (watching {config.input_dir})" if config.watch else "")
    try:
        if watcher_thread is not None:
            watcher_thread.start()
        # limit=1: this runner executes one flow run at a time, whichever deployment it belongs to.
        prefect_serve(*deployments, limit=1, print_starting_message=False)
    finally:
        stop.set()
        if watcher_thread is not None:
            watcher_thread.join(timeout=30)
        LOGGER.info("stopped serving")
