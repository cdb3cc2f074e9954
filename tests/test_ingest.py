"""flows/ingest.py: the flow's batch steps."""

from __future__ import annotations

import gc
import weakref

from flows import ingest


class _Held:
    """Stands for a piece's result held by a cycle of futures and their callbacks."""


def test_staging_a_batch_frees_the_cycles_earlier_batches_left(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(ingest, "stage_task", lambda staging, tables, batch_no: None)
    held = _Held()
    cycle: list[object] = [held]
    cycle.append(cycle)
    result = weakref.ref(held)
    gc.collect()  # the cycle is still referenced here: it moves to the oldest generation
    del held, cycle  # now garbage that only a full collection finds
    assert result() is not None

    class Output:
        tables = None

    ingest._steps(tmp_path).stage(Output(), 0)
    assert result() is None
