"""A new warehouse's Prefect home starts from a database made once per installation.

Without a configured Prefect server, a run's flow history lives in `<warehouse>/.prefect/`, and the
first run of a new warehouse waits while Prefect's temporary server creates that database: its
schema migrations and block registration take about 9 s of a cold run, the same work for every
warehouse of one Prefect version. `make setup` builds that database once (`python -m
flows.prefect_home`: start and stop the temporary server in a scratch home) into the virtual
environment, keyed on Prefect's version; `seed` copies it into a warehouse's home that has no
database yet. Without a template (a different install, another Prefect version) nothing changes:
Prefect migrates as before.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

DATABASE = "prefect.db"


def template_path() -> Path:
    """Where this installation keeps the template: inside its environment, one per Prefect version."""
    return Path(sys.prefix) / "share" / "akhbar" / f"prefect-{version('prefect')}.db"


def seed(home: Path) -> bool:
    """Copy the template into ``home`` if ``home`` has no Prefect database yet; True if it did.

    The copy goes to a temporary name first and is hard-linked into place (which fails if the name is
    taken), so two runs starting at once never see half a database and never replace each other's.
    A seeded home's blocks are registered already (the template's server did it, with the same Prefect
    version), so the first server start skips that step.
    """
    target = home / DATABASE
    template = template_path()
    if target.exists() or not template.is_file():
        return False
    partial = home / f".{DATABASE}.{os.getpid()}.partial"
    shutil.copyfile(template, partial)
    try:
        os.link(partial, target)  # fails if another run put a database there first: keep that one
    except FileExistsError:
        return False
    finally:
        partial.unlink()
    os.environ.setdefault("PREFECT_API_BLOCKS_REGISTER_ON_START", "false")
    return True


def _start_and_stop_server() -> None:
    """In this process (PREFECT_HOME set by the caller): what a first run's temporary server does."""
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()
    server.start()
    server.stop()


_ATTEMPTS = 3


def build(template: Path | None = None) -> Path:
    """Make the template: a scratch home's database after one temporary server's start, WAL folded in."""
    template = template or template_path()
    template.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(_ATTEMPTS):
        with tempfile.TemporaryDirectory(prefix="akhbar-prefect-home-") as scratch:
            env = {**os.environ, "PREFECT_HOME": scratch, "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                   "DO_NOT_TRACK": "1", "PREFECT_LOGGING_LEVEL": "ERROR"}
            env.pop("PREFECT_API_URL", None)
            env.pop("PREFECT_API_DATABASE_CONNECTION_URL", None)
            done = subprocess.run(
                [sys.executable, "-c", "from flows.prefect_home import _start_and_stop_server as s; s()"],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            )
            if done.returncode == 0:
                _keep(Path(scratch) / DATABASE, template)
                return template
            # Prefect's server may fail its shutdown when stopped right after its start ("Reactive triggers
            # not started"), a race: the start is tried again in a new scratch home.
            last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
    raise RuntimeError(f"the Prefect database template could not be built in {_ATTEMPTS} attempts: {last}")


def _keep(database: Path, template: Path) -> None:
    """The scratch home's database, WAL folded in, as the template (replaced whole, never half written)."""
    with sqlite3.connect(database) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.execute("PRAGMA journal_mode=DELETE")
    partial = template.with_name(template.name + ".partial")
    shutil.copyfile(database, partial)
    partial.replace(template)


if __name__ == "__main__":
    print(f"Prefect database template: {build()}")
