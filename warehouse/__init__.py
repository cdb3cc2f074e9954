"""The warehouse: storage, its read layer and the one writer. ``from warehouse import connect`` opens it
read-only in a notebook (see warehouse/attach.py)."""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    # Lazy, so importing any warehouse module does not load DuckDB's extensions.
    if name == "connect":
        from warehouse.attach import connect

        return connect
    raise AttributeError(f"module 'warehouse' has no attribute {name!r}")
