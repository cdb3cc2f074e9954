"""`make bench`: every benchmark, each printing its own figures. Needs ../shared/data; skips without it.

Run one with `python -m tests.bench pipeline` (names: the modules tests/bench_<name>.py).
"""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path

from flows.workers import keep_freed_memory, limit_native_threads

BENCHES = sorted(p.stem.removeprefix("bench_") for p in Path(__file__).parent.glob("bench_*.py"))


def main(argv: list[str]) -> int:
    chosen = argv or BENCHES
    unknown = [name for name in chosen if name not in BENCHES]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; available: {BENCHES}", file=sys.stderr)
        return 2
    limit_native_threads()  # as `akhbar` does, before numpy loads
    keep_freed_memory()
    for name in chosen:
        print(f"\n=== bench {name} ===", flush=True)
        started = time.perf_counter()
        module = importlib.import_module(f"tests.bench_{name}")
        module.main()
        print(f"=== bench {name}: {time.perf_counter() - started:.1f} s ===", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
