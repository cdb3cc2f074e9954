"""Rendering the monitoring facts: `akhbar report` text, the HTML page, a run's failed-expectation markdown.

The page (`templates/monitoring.html.j2`) is self-contained: inline CSS and SVG, no script and no
network, so it opens offline in any browser and can be mailed or archived as a single file. Python
computes what to draw (cells, bar widths, chart geometry); the template only lays it out, and
jinja2's autoescaping escapes everything the data says.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, TextIO

import jinja2
import polars as pl

from warehouse.report.queries import ReportData

STATUS_COLORS = {
    "loaded": "#2f855a", "duplicate": "#5a67d8", "quarantined": "#dd6b20", "rejected": "#c53030",
    "unchanged": "#a0aec0", "deferred": "#805ad5",
}
RUN_STACK = ("loaded", "duplicate", "quarantined", "rejected")
RUN_COLUMNS = ("seen", "loaded", "duplicate", "quarantined", "rejected", "unchanged", "deferred")
ENTITY_COLORS = {"PER": "#3182ce", "ORG": "#805ad5", "LOC": "#38a169", "MISC": "#718096"}
OTHER_COLOR = "#718096"


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float):
        return f"{value:.2f}"
    return " ".join(str(value).split())


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------- text

def _text_tables(data: ReportData) -> list[tuple[str, list[str], list[list[str]]]]:
    runs = [
        [_fmt(r["started_at"]), r["run_id"][:8], r["status"], *(_fmt(r[f"files_{k}"]) for k in RUN_COLUMNS),
         _short(_fmt(r["reason"]), 60) if r["reason"] else ""]
        for r in data.runs.iter_rows(named=True)
    ]
    failed = [
        [_fmt(r["started_at"]), r["run_id"][:8], r["suite"], r["expectation"], _fmt(r["column"]), r["severity"],
         r["scope"] or "", _fmt(r["unexpected_count"]), _short(_fmt(r["example_values"]), 50)]
        for r in data.failed.iter_rows(named=True)
    ]
    files = [[r["status"], _fmt(r["files"])] for r in data.files_by_status.iter_rows(named=True)]
    return [
        (f"Recent runs ({data.runs.height})",
         ["started (UTC)", "run", "status", "seen", "loaded", "dup", "quar", "rej", "unch", "defer", "reason"], runs),
        (f"Failed expectations in these runs ({data.failed.height})",
         ["started (UTC)", "run", "suite", "expectation", "column", "severity", "scope", "unexpected", "examples"],
         failed),
        ("Files by status (ingest_ledger)", ["status", "files"], files),
    ]


def render_text(data: ReportData, stream: TextIO, rich: bool | None = None) -> None:
    """Print the report: rich tables on a terminal, plain aligned columns otherwise."""
    rich = stream.isatty() if rich is None else rich
    if rich:
        from rich.console import Console
        from rich.table import Table

        console = Console(file=stream)
        for title, headers, rows in _text_tables(data):
            table = Table(*headers, title=title, title_justify="left", header_style="bold")
            for row in rows:
                style = "red" if "failed" in row or "error" in row else None
                table.add_row(*row, style=style)
            console.print(table if rows else f"[bold]{title}[/bold]\n  none")
        console.print(f"warehouse: {data.warehouse} ({data.articles} articles)")
        return
    for title, headers, rows in _text_tables(data):
        print(title, file=stream)
        if not rows:
            print("  none\n", file=stream)
            continue
        widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]
        for row in [headers, *rows]:
            print("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip(), file=stream)
        print(file=stream)
    print(f"warehouse: {data.warehouse} ({data.articles} articles)", file=stream)


# ---------------------------------------------------------------- HTML: what the template draws

@dataclass(frozen=True)
class Cell:
    """One table cell; ``auto`` lets the browser pick the direction (Arabic text)."""

    text: str
    cls: str = ""
    auto: bool = False
    title: str | None = None


def _cell(value: Any, cls: str = "", auto: bool = False) -> Cell:
    return Cell(_fmt(value), cls, auto)


@dataclass(frozen=True)
class Table:
    headers: Sequence[str]
    rows: Sequence[Sequence[Cell]]
    notes: dict[int, str]  # a full-width line under some rows


@dataclass(frozen=True)
class Bar:
    """A horizontal bar: its label lives in an HTML cell (dir="auto", the browser's bidi), the bar is SVG."""

    label: str
    tag: str
    value: float
    color: str
    tip: str
    width: float


def _bars(rows: Sequence[tuple[str, str, float, str, str]]) -> list[Bar]:
    top = max((value for _, _, value, _, _ in rows), default=0) or 1
    return [Bar(label, tag, value, color, tip, max(1.0, 200 * value / top)) for label, tag, value, color, tip in rows]


@dataclass(frozen=True)
class Rect:
    y: float
    height: float
    color: str


@dataclass(frozen=True)
class RunBar:
    x: float
    tip: str
    stack: list[Rect]     # bottom up; a 2 px grey tick when the run decided nothing
    failed: bool
    label: str | None     # the time under every few bars


@dataclass(frozen=True)
class RunsChart:
    """Stacked bars of files by outcome per run, oldest left; failed runs carry a red mark."""

    width: int
    height: int
    left: int
    top: int
    plot_height: float
    bar_width: float
    ticks: list[tuple[float, str]]       # (y, label) of the horizontal grid lines
    bars: list[RunBar]
    legend: list[tuple[int, str, str]]   # (x, outcome, color)
    failmark_x: int


def _runs_chart(runs: pl.DataFrame) -> RunsChart | None:
    if runs.height == 0:
        return None
    rows = list(reversed(runs.rows(named=True)))
    width, height, left, bottom, top = 760, 240, 44, 46, 14
    plot_w, plot_h = width - left - 10, height - bottom - top
    peak = max(max(sum(r[f"files_{k}"] or 0 for k in RUN_STACK) for r in rows), 1)
    step = plot_w / len(rows)
    bar_w = max(2.0, min(36.0, step * 0.7))
    ticks = [(top + plot_h - plot_h * tick / 4, f"{peak * tick / 4:,.0f}") for tick in range(5)]
    label_every = max(1, len(rows) // 6)
    bars = []
    for i, run in enumerate(rows):
        y = top + plot_h
        stack = []
        for key in RUN_STACK:
            h = plot_h * (run[f"files_{key}"] or 0) / peak
            if h > 0:
                y -= h
                stack.append(Rect(y, h, STATUS_COLORS[key]))
        if not stack:  # decided nothing (everything unchanged): a grey tick, so the run still shows
            stack.append(Rect(y - 2, 2, STATUS_COLORS["unchanged"]))
        label = None
        if i % label_every == 0 or i == len(rows) - 1:
            label = run["started_at"].astimezone(UTC).strftime("%m-%d %H:%M") if run["started_at"] else "?"
        tip = f"{_fmt(run['started_at'])} UTC · {run['status']} · " + ", ".join(
            f"{run[f'files_{k}'] or 0} {k}" for k in (*RUN_STACK, "unchanged"))
        bars.append(RunBar(left + step * i + (step - bar_w) / 2, tip, stack, run["status"] != "completed", label))
    legend = [(left + 110 * i, key, STATUS_COLORS[key]) for i, key in enumerate(RUN_STACK)]
    return RunsChart(width, height, left, top, plot_h, bar_w, ticks, bars, legend, left + 110 * len(RUN_STACK))


def _page(data: ReportData) -> dict[str, Any]:
    """Everything the template shows, computed."""
    runs = data.runs
    completed = runs.filter(pl.col("status") == "completed").height
    failed_runs = runs.height - completed
    last = runs.row(0, named=True) if runs.height else None
    errors = data.failed.filter(pl.col("severity") == "error").height
    ledger_total = int(data.files_by_status["files"].sum()) if data.files_by_status.height else 0
    quarantined_now = dict(data.files_by_status.iter_rows()).get("quarantined", 0)
    cards = [
        ("ok" if last and last["status"] == "completed" else "bad",
         last["status"] if last else "none", "last run" + (f" · {_fmt(last['started_at'])} UTC" if last else "")),
        ("", f"{completed}", "completed runs shown"),
        ("bad" if failed_runs else "ok", f"{failed_runs}", "failed runs shown"),
        ("bad" if errors else "ok", f"{data.failed.height}", f"failed expectations ({errors} error)"),
        ("", f"{ledger_total:,}", "files in the ledger"),
        ("bad" if quarantined_now else "", f"{quarantined_now:,}", "files quarantined now"),
        ("", f"{data.articles:,}", "articles in the warehouse"),
    ]
    runs_table = Table(
        ["started (UTC)", "run", "status", "seen", "loaded", "duplicate", "quarantined", "rejected", "unchanged",
         "deferred", "articles"],
        [[_cell(r["started_at"], "mono"), Cell(_fmt(r["run_id"][:8]), "mono", title=_fmt(r["run_id"])),
          Cell(_fmt(r["status"]), "nowrap " + ("ok" if r["status"] == "completed" else "bad")),
          *(_cell(r[f"files_{k}"], "num") for k in RUN_COLUMNS), _cell(r["articles_loaded"], "num")]
         for r in runs.iter_rows(named=True)],
        {i: f"↳ {_fmt(reason)}" for i, reason in enumerate(runs["reason"].to_list()) if reason},
    )
    failed_table = Table(
        ["started (UTC)", "run", "suite", "expectation", "column", "severity", "scope", "unexpected", "examples",
         "details"],
        [[_cell(r["started_at"], "mono"), _cell(r["run_id"][:8], "mono"), _cell(r["suite"]),
          _cell(r["expectation"], "mono"), _cell(r["column"] or "(table)"),
          _cell(r["severity"], "bad" if r["severity"] == "error" else ""), _cell(r["scope"] or ""),
          _cell(r["unexpected_count"], "num"), _cell(r["example_values"] or "", "excerpt", auto=True),
          _cell(r["details"] or "", "long", auto=True)]
         for r in data.failed.iter_rows(named=True)],
        {},
    )
    quarantine_table = Table(
        ["run started (UTC)", "file", "reason", "title", "text", "lang", "arabic ratio"],
        [[_cell(r["started_at"], "mono"), _cell(r["source_path"], "mono", auto=True),
          _cell(r["reason"], "long", auto=True), _cell(r["title"] or "", auto=True),
          _cell(r["excerpt"] or "", "excerpt", auto=True), _cell(r["lang"]), _cell(r["arabic_ratio"], "num")]
         for r in data.quarantined.iter_rows(named=True)],
        {},
    )
    return {
        "warehouse": _fmt(data.warehouse), "generated_at": _fmt(data.generated_at), "run_count": runs.height,
        "cards": cards, "runs_chart": _runs_chart(runs), "runs_table": runs_table,
        "files_bars": _bars([
            (r["status"], "", r["files"], STATUS_COLORS.get(r["status"], OTHER_COLOR),
             f"{r['files']} files {r['status']}")
            for r in data.files_by_status.iter_rows(named=True)]),
        "failed_bars": _bars([
            (f"{r['suite']} · {r['column']} · {r['expectation']}", "", r["unexpected"],
             "#c53030" if r["severity"] == "error" else "#d69e2e",
             f"{r['unexpected']} unexpected values in {r['runs']} run(s), severity {r['severity']}")
            for r in data.failed_by_column.iter_rows(named=True)]),
        "failed_table": failed_table, "quarantine_table": quarantine_table,
        "entity_bars": _bars([
            (r["canonical_name"], r["entity_type"], r["mentions"], ENTITY_COLORS.get(r["entity_type"], OTHER_COLOR),
             f"{r['mentions']} mentions in {r['articles']} article(s)") for r in data.entities.iter_rows(named=True)]),
        "entities_run": data.entities_run,
    }


@cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("warehouse.report", "templates"), autoescape=True,
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )
    return env.get_template("monitoring.html.j2")


def render_html(data: ReportData) -> str:
    """One self-contained page: inline CSS and SVG only (no script, no external resource)."""
    return _template().render(_page(data))


def write_html(data: ReportData, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(render_html(data), encoding="utf-8")
    tmp.replace(path)  # a browser reloading the page never sees half of it
    return path


# ---------------------------------------------------------------- markdown (a run's Prefect artifact)

def _md(value: Any, limit: int = 120) -> str:
    text = _short(_fmt(value), limit)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("`", "'").replace("<", "&lt;").replace(">", "&gt;")


def failed_markdown(run_id: str, failed: pl.DataFrame, quarantined: pl.DataFrame) -> str:
    """A run's failed expectations as a markdown list, each with up to five quarantined example rows.

    ``failed`` holds the failed rows of the run's validation results; ``quarantined`` the run's
    quarantine rows (source_path, reason, title).
    """
    if failed.height == 0:
        return f"### Run `{run_id}`\n\nNo failed expectations."
    lines = [f"### Failed expectations of run `{run_id}`", ""]
    for row in failed.iter_rows(named=True):
        column = f" on `{_md(row.get('column'))}`" if row.get("column") else ""
        lines.append(f"- **{_md(row.get('suite'))}** `{_md(row.get('expectation'))}`{column}: "
                     f"{row.get('severity')} ({row.get('scope') or '?'} scope), "
                     f"{_md(row.get('unexpected_count'))} unexpected")
        if row.get("details"):
            lines.append(f"  - {_md(row['details'], 300)}")
        if row.get("example_values"):
            lines.append(f"  - examples: {_md(row['example_values'], 200)}")
        if quarantined.height and row.get("scope") == "row":
            name = f"{row.get('suite')}.{row.get('expectation')}" + (f"({row['column']})" if row.get("column") else "")
            hits = quarantined.filter(pl.col("reason").str.contains(name, literal=True))
            if hits.height:
                lines += ["", "  | file | reason | title |", "  |---|---|---|"]
                lines += [f"  | {_md(r['source_path'], 80)} | {_md(r['reason'])} | {_md(r.get('title'), 80)} |"
                          for r in hits.head(5).iter_rows(named=True)]
                lines.append("")
    return "\n".join(lines)
