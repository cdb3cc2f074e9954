"""Monitoring (`warehouse.report`): its reads, `akhbar report`, the self-contained HTML page in a real
browser, and the Prefect artifacts each run publishes (`flows.artifacts`) from the same three runs."""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import zlib
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from flows.cli import main
from tests.conftest import REPO, SEEDS, run_main
from tests.warehouse_state import query
from warehouse.report.queries import ReportData, load_report, read_recorded_run
from warehouse.report.render import render_html, render_text

ENGLISH = (
    "The foreign ministers met in Vienna on Tuesday to discuss the agreement.\n"
    "Officials said the talks would continue next week, according to several agencies.\n"
    "No statement was issued after the meeting, which lasted more than four hours.\n"
)
LANG_EXPECTATION = "expect_column_values_to_be_in_set"


@pytest.fixture(scope="module")
def monitored(prefect_api_url, tmp_path_factory) -> dict:
    """Three runs: one quarantining an English article, one loading nothing, one failing on purpose.

    The failing run uses a copy of the suites where the language check blocks the whole batch,
    so a second English article makes the run fail with its validation results recorded.
    """
    from flows.ingest import ingest

    root = tmp_path_factory.mktemp("monitored")
    source, warehouse = root / "input", root / "wh"
    shutil.copytree(SEEDS, source)
    (source / "english.txt").write_text(ENGLISH, encoding="utf-8")
    first = ingest(str(source), str(warehouse))
    second = ingest(str(source), str(warehouse))

    suites = root / "suites"
    shutil.copytree(REPO / "expectations" / "suites", suites)
    articles = json.loads((suites / "articles.json").read_text(encoding="utf-8"))
    for expectation in articles["expectations"]:
        if expectation["type"] == LANG_EXPECTATION:
            expectation["meta"]["scope"] = "batch"
    (suites / "articles.json").write_text(json.dumps(articles), encoding="utf-8")
    (source / "english 2.txt").write_text(ENGLISH.replace("Vienna", "Geneva"), encoding="utf-8")
    code = run_main(["run", "--input", str(source), "--warehouse", str(warehouse)],
                    {"AKHBAR_EXPECTATIONS_DIR": str(suites)})
    assert code == 1
    reasons = query(warehouse, "SELECT reason FROM runs WHERE status = 'failed'")["reason"].to_list()
    assert len(reasons) == 1 and "blocking validation failure" in reasons[0]
    return {"warehouse": warehouse, "first": first, "second": second, "api": prefect_api_url, "root": root}


@pytest.mark.e2e
def test_report_data_from_the_warehouse(monitored) -> None:
    data = load_report(monitored["warehouse"])
    assert data.runs["status"].to_list() == ["failed", "completed", "completed"]  # newest first
    assert data.runs["files_quarantined"].to_list()[1:] == [0, 1]
    failed = data.failed.rows(named=True)
    assert {(r["run_id"], r["expectation"], r["column"]) for r in failed} >= {
        (monitored["first"].run_id, LANG_EXPECTATION, "lang"),
        (data.runs["run_id"][0], LANG_EXPECTATION, "lang"),
    }
    assert dict(data.files_by_status.iter_rows()) == {"loaded": 5, "quarantined": 1}
    assert data.quarantined["source_path"].to_list() == ["english.txt"]
    assert data.entities_run == monitored["first"].run_id and data.entities.height > 0
    assert data.articles == 5


@pytest.mark.e2e
def test_how_each_recorded_run_ended(monitored) -> None:
    warehouse = monitored["warehouse"]
    newest = load_report(warehouse).runs.row(0, named=True)
    blocked = read_recorded_run(warehouse, newest["run_id"])
    assert blocked is not None and (blocked.status, blocked.blocked) == ("failed", True)
    assert blocked.reason == newest["reason"]
    first = read_recorded_run(warehouse, monitored["first"].run_id)
    # The first run quarantined a row (a row-scope error expectation failed) and still completed.
    assert first is not None and (first.status, first.blocked) == ("completed", False)
    assert read_recorded_run(warehouse, "no-such-run") is None
    assert read_recorded_run(monitored["root"] / "no-warehouse", "x") is None


@pytest.mark.e2e
def test_text_report_plain_when_not_a_terminal(monitored, capsys) -> None:
    assert main(["report", "--warehouse", str(monitored["warehouse"]), "--runs", "2"]) == 0
    out = capsys.readouterr().out
    assert "Recent runs (2)" in out and "failed" in out and "completed" in out
    assert LANG_EXPECTATION in out and "lang" in out
    assert "quarantined  1" in out
    assert "━" not in out and "\x1b[" not in out  # plain columns, no box drawing or colours


@pytest.mark.e2e
def test_text_report_rich_on_a_terminal(monitored) -> None:
    import io

    buffer = io.StringIO()
    render_text(load_report(monitored["warehouse"]), buffer, rich=True)
    text = buffer.getvalue()
    assert "┃" in text and "Failed expectations in these runs (" in text and "quarantined" in text


def test_report_without_a_warehouse(tmp_path, capsys) -> None:
    assert main(["report", "--warehouse", str(tmp_path / "none")]) == 1
    assert "no warehouse" in capsys.readouterr().err


@pytest.mark.e2e
def test_artifacts_of_each_run(monitored) -> None:
    from uuid import UUID

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    first = monitored["first"]
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[UUID(first.run_id)])))
    by_key = {a.key: a for a in artifacts}
    assert set(by_key) == {"akhbar-run-summary", "akhbar-failed-expectations"}
    table = json.loads(by_key["akhbar-run-summary"].data)
    values = {row["metric"]: row["value"] for row in table}
    assert values["files loaded"] == 5 and values["files quarantined"] == 1 and values["articles loaded"] == 5
    markdown = by_key["akhbar-failed-expectations"].data
    assert f"`{LANG_EXPECTATION}` on `lang`" in markdown
    assert "| english.txt |" in markdown  # the quarantined example row

    failed_run = load_report(monitored["warehouse"]).runs.row(0, named=True)
    assert failed_run["status"] == "failed"
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[UUID(failed_run["run_id"])])))
    by_key = {a.key: a for a in artifacts}
    assert json.loads(by_key["akhbar-run-summary"].data)[0] == {"metric": "status", "value": "failed"}
    assert f"`{LANG_EXPECTATION}` on `lang`: error (batch scope)" in by_key["akhbar-failed-expectations"].data


def _write_page(monitored, name: str = "monitoring.html") -> Path:
    page = monitored["root"] / name
    assert main(["report", "--warehouse", str(monitored["warehouse"]), "--html", str(page)]) == 0
    return page


@pytest.mark.e2e
def test_html_page_is_self_contained(monitored) -> None:
    html = _write_page(monitored).read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>") and '<meta charset="utf-8">' in html
    assert not re.search(r"""(?:src|href)\s*=|<script|<link|@import|url\(|https?://""", html, re.I)
    assert html.count("<svg") >= 5 and "<style>" in html
    for section in ("runs", "files", "failed-by-column", "failed", "quarantine", "entities"):
        assert f'<section id="{section}">' in html
    assert LANG_EXPECTATION in html and "english.txt" in html
    assert 'dir="auto"' in html and "سوريا" in html  # Arabic entity names, with the browser's bidi
    assert "failmark" in html  # the failed run is marked in the runs chart


def test_html_escapes_what_the_data_says() -> None:
    empty = pl.DataFrame()
    data = ReportData(
        warehouse="<wh>", generated_at=datetime.now(UTC), runs=pl.DataFrame(schema={
            "run_id": pl.String, "started_at": pl.Datetime("us", "UTC"), "status": pl.String, "reason": pl.String}),
        failed=pl.DataFrame(schema={"severity": pl.String}), failed_by_column=empty,
        files_by_status=pl.DataFrame(schema={"status": pl.String, "files": pl.Int64}),
        quarantined=pl.DataFrame([{"started_at": None, "source_path": "<script>alert(1)</script>.txt",
                                   "reason": "a & b", "title": "عنوان", "excerpt": "x", "lang": "ar",
                                   "arabic_ratio": 1.0}]),
        entities=empty, entities_run=None, articles=0,
    )
    html = render_html(data)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;.txt" in html
    assert "a &amp; b" in html and "no runs yet" in html


def _png_rows_vary(path: Path) -> int:
    """Distinct byte values in the PNG's pixel data: a blank page compresses to almost one value."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"IDAT":
            idat += data[pos + 8:pos + 8 + length]
        pos += 12 + length
    return len(set(zlib.decompress(idat)))


@pytest.fixture(scope="module")
def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.skip("headless Chromium is not installed (Debian: apt-get install -y chromium)")
    return found


@pytest.mark.e2e
def test_html_page_in_headless_chromium_offline(monitored, chromium) -> None:
    page = _write_page(monitored, "offline.html")
    # No network at all: every request would go to a closed loopback proxy port.
    common = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
              "--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND",
              f"--user-data-dir={monitored['root'] / 'chromium-profile'}"]
    dom = subprocess.run([*common, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert LANG_EXPECTATION in dom.stdout and "english.txt" in dom.stdout and "failed" in dom.stdout
    assert "سوريا" in dom.stdout
    shot = monitored["root"] / "monitoring.png"
    taken = subprocess.run([*common, "--window-size=1280,2200", f"--screenshot={shot}", page.as_uri()],
                           capture_output=True, text=True, timeout=120)
    assert taken.returncode == 0 and shot.exists(), taken.stderr[-2000:]
    assert shot.stat().st_size > 20_000
    assert _png_rows_vary(shot) > 40
