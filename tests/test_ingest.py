"""flows/ingest.py: the flow's batch steps."""

from __future__ import annotations

import gc
import weakref
from concurrent.futures import Future

from flows import ingest


class _Held:
    """Stands for a piece's result held by a cycle of futures and their callbacks."""


def _garbage_in_the_oldest_generation() -> weakref.ref:
    held = _Held()
    cycle: list[object] = [held]
    cycle.append(cycle)
    result = weakref.ref(held)
    gc.collect()  # the cycle is still referenced here: it moves to the oldest generation
    return result  # and is garbage once this returns, which only a full collection finds


class _Output:
    tables = None


def test_staging_a_batch_frees_the_cycles_its_pieces_left(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(ingest, "stage_task", lambda staging, tables, batch_no: None)
    monkeypatch.setattr(ingest, "_piece_task", lambda function: _Inline(function))
    monkeypatch.setattr(ingest, "_share_the_temporary_server", lambda: None)
    result = _garbage_in_the_oldest_generation()
    assert result() is not None
    assert ingest.task_map(len, ["ab", "c"]) == [2, 1]  # pieces ran on the task runner
    ingest._steps(tmp_path).stage(_Output(), 0)
    assert result() is None


def test_a_batch_tagged_in_process_costs_no_collection(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(ingest, "stage_task", lambda staging, tables, batch_no: None)
    result = _garbage_in_the_oldest_generation()
    ingest._steps(tmp_path).stage(_Output(), 0)
    assert result() is not None
    gc.collect()


class _Inline:
    """A piece task run at once, as a future that is already done."""

    def __init__(self, function):
        self.function = function

    def submit(self, item) -> Future:
        done: Future = Future()
        done.set_result(self.function(item))
        return done
