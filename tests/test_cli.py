"""`akhbar`'s usage errors and exit codes that need no Prefect run (in-process, fast tier)."""

from __future__ import annotations


def test_cli_usage_and_missing_warehouse(akhbar, tmp_path):
    assert akhbar(["run", "--input", str(tmp_path / "nope")]).returncode == 2
    assert akhbar(["frobnicate"]).returncode == 2
    missing = akhbar(["sql", "--warehouse", str(tmp_path / "none"), "SELECT 1"])
    assert missing.returncode == 1 and "no warehouse" in missing.stderr
