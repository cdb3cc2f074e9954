"""Numbered schema migrations: ``NNNN_name.sql`` files in this folder, applied in order, each once.

Why files and not the schema declarations: a migration is what an *existing* warehouse needs to
reach the next release, so it is frozen when written; `transforms.schema` says what the result must
be, and the tests check that a new warehouse, after every migration, matches it. Each statement is
idempotent (IF NOT EXISTS), so a warehouse made before migrations existed is recognised by running
them. Views and macros are not migrations: `warehouse.ddl.derived_statements` re-creates them on
every writer start.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

MIGRATIONS_DIR = Path(__file__).parent
_FILE_NAME = re.compile(r"^(\d{4})_(\w+)\.sql$")


class MigrationFileError(ValueError):
    """The migrations folder is malformed: a gap or a repeat in the numbering, or a stray file name."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


def split_statements(text: str) -> tuple[str, ...]:
    """The statements of a SQL file: ``--`` comments dropped, split at semicolons."""
    code = "\n".join(line.split("--", 1)[0] for line in text.splitlines())
    return tuple(s.strip() for s in code.split(";") if s.strip())


@cache
def migrations(folder: Path = MIGRATIONS_DIR) -> tuple[Migration, ...]:
    """Every migration in ``folder``, numbered 1, 2, 3 ... without gaps."""
    found = []
    for path in sorted(folder.glob("*.sql")):
        match = _FILE_NAME.match(path.name)
        if not match:
            raise MigrationFileError(f"migration file {path.name} is not named NNNN_name.sql")
        found.append(Migration(int(match.group(1)), match.group(2), split_statements(path.read_text())))
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise MigrationFileError(f"migrations must be numbered 1, 2, 3 ... without gaps, found {versions}")
    return tuple(found)


def pending(applied: set[int], folder: Path = MIGRATIONS_DIR) -> list[Migration]:
    return [m for m in migrations(folder) if m.version not in applied]
