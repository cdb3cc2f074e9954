"""Typed failures of a run, so callers (CLI, watcher, deployments) branch on types, never on message text."""

from __future__ import annotations


class RunFailedError(RuntimeError):
    """The run stopped without loading anything (blocking validation failure or an error)."""


class BlockingValidationError(RunFailedError):
    """An `error`-severity batch-level expectation failed: the run loads nothing."""
