"""Monitoring: what recent runs did and which expectations failed.

Three outputs from the same facts: Prefect artifacts at the end of each run (`publish_run`), the
`akhbar report` text (rich tables on a terminal, plain columns otherwise) and one self-contained
HTML page (`render_html`): inline CSS and hand-drawn SVG, no script and no network, so it opens
offline in any browser and can be mailed or archived as a single file.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import polars as pl

from flows.results import RunSummary

LOGGER = logging.getLogger("akhbar.report")

STATUS_COLORS = {
    "loaded": "#2f855a", "duplicate": "#5a67d8", "quarantined": "#dd6b20", "rejected": "#c53030",
    "unchanged": "#a0aec0", "deferred": "#805ad5",
}
RUN_STACK = ("loaded", "duplicate", "quarantined", "rejected")
ENTITY_COLORS = {"PER": "#3182ce", "ORG": "#805ad5", "LOC": "#38a169", "MISC": "#718096"}


@dataclass(frozen=True)
class ReportData:
    warehouse: str
    generated_at: datetime
    runs: pl.DataFrame              # newest first
    failed: pl.DataFrame            # failed expectations of those runs, newest run first
    failed_by_column: pl.DataFrame  # suite, column, expectation, severity, runs, unexpected
    files_by_status: pl.DataFrame   # status, files (current ledger)
    quarantined: pl.DataFrame       # newest first
    entities: pl.DataFrame          # top entities of the latest run that loaded articles
    entities_run: str | None
    articles: int


# ---------------------------------------------------------------- reading the warehouse

def load_report(root: Path, runs: int = 20, examples: int = 20, top_entities: int = 15) -> ReportData:
    """Read everything the report shows in one read-only connection (safe during a run)."""
    from warehouse.store import open_reader

    con = open_reader(root)
    try:
        recent = con.execute(
            "SELECT run_id, started_at, finished_at, status, reason, files_seen, files_loaded, files_duplicate, "
            "files_quarantined, files_rejected, files_unchanged, files_deferred, articles_loaded, mentions_loaded "
            "FROM runs ORDER BY started_at DESC LIMIT ?", [runs],
        ).pl()
        recent_runs = "(SELECT run_id, started_at FROM runs ORDER BY started_at DESC LIMIT ?)"
        failed = con.execute(
            'SELECT v.run_id, r.started_at, v.suite, v.expectation, v."column", v.severity, v.scope, '
            "v.unexpected_count, v.example_values, v.details "
            f"FROM validation_results v JOIN {recent_runs} r USING (run_id) WHERE NOT v.success "
            "ORDER BY r.started_at DESC, v.severity, v.suite, v.expectation, v.\"column\"", [runs],
        ).pl()
        by_column = con.execute(
            'SELECT v.suite, coalesce(v."column", \'(table)\') AS "column", v.expectation, v.severity, '
            "count(DISTINCT v.run_id) AS runs, sum(coalesce(v.unexpected_count, 0)) AS unexpected "
            f"FROM validation_results v JOIN {recent_runs} r USING (run_id) WHERE NOT v.success "
            "GROUP BY ALL ORDER BY unexpected DESC, runs DESC, v.suite, \"column\"", [runs],
        ).pl()
        files = con.execute(
            "SELECT status, count(*) AS files FROM ingest_ledger GROUP BY status ORDER BY files DESC, status"
        ).pl()
        quarantined = con.execute(
            "SELECT q.run_id, r.started_at, q.source_path, q.reason, q.title, left(q.body, 280) AS excerpt, "
            "q.lang, q.arabic_ratio FROM quarantine q LEFT JOIN runs r USING (run_id) "
            "ORDER BY r.started_at DESC NULLS LAST, q.source_path LIMIT ?", [examples],
        ).pl()
        last = con.execute(
            "SELECT run_id FROM runs WHERE status = 'completed' AND articles_loaded > 0 "
            "ORDER BY started_at DESC LIMIT 1"
        ).fetchone()
        entities_run = last[0] if last else None
        entities = con.execute(
            "SELECT entity_id, mode(canonical_name) AS canonical_name, mode(entity_type) AS entity_type, "
            "count(DISTINCT article_id) AS articles, count(*) AS mentions FROM entity_mentions "
            "WHERE run_id = ? GROUP BY entity_id ORDER BY mentions DESC, articles DESC, canonical_name LIMIT ?",
            [entities_run, top_entities],
        ).pl()
        articles = con.execute("SELECT count(*) FROM articles").fetchone()[0]
    finally:
        con.close()
    return ReportData(
        warehouse=str(root), generated_at=datetime.now(UTC), runs=recent, failed=failed,
        failed_by_column=by_column, files_by_status=files, quarantined=quarantined, entities=entities,
        entities_run=entities_run, articles=int(articles),
    )


# ---------------------------------------------------------------- text

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


def _text_tables(data: ReportData) -> list[tuple[str, list[str], list[list[str]]]]:
    runs = [
        [_fmt(r["started_at"]), r["run_id"][:8], r["status"], *(_fmt(r[f"files_{k}"]) for k in (
            "seen", "loaded", "duplicate", "quarantined", "rejected", "unchanged", "deferred")),
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


# ---------------------------------------------------------------- HTML

def _e(value: Any) -> str:
    return html.escape(_fmt(value), quote=True)


def _bar_rows(rows: Sequence[tuple[str, str, float, str, str]], unit: str = "") -> str:
    """Horizontal bars as table rows: (label, tag, value, color, tooltip). Labels live in HTML cells
    (dir="auto") so Arabic names get the browser's bidi handling, apart from the (Latin) tag; each
    bar is a small inline SVG."""
    if not rows:
        return '<p class="none">none</p>'
    top = max(value for _, _, value, _, _ in rows) or 1
    out = ['<table class="bars">']
    for label, tag, value, color, tip in rows:
        width = max(1.0, 200 * value / top)
        tag_cell = f'<td class="tag" style="color:{color}">{html.escape(tag)}</td>' if tag else ""
        out.append(
            f'<tr><td class="label" dir="auto">{html.escape(label)}</td>{tag_cell}<td class="bar">'
            f'<svg width="204" height="16" role="img" aria-label="{html.escape(tip)}"><title>{html.escape(tip)}'
            f'</title><rect x="0" y="2" width="{width:.1f}" height="12" rx="2" fill="{color}"/></svg></td>'
            f'<td class="num">{value:,.0f}{unit}</td></tr>'
        )
    out.append("</table>")
    return "".join(out)


def _runs_chart(runs: pl.DataFrame) -> str:
    """Stacked bars of files by outcome per run, oldest left; failed runs carry a red mark."""
    if runs.height == 0:
        return '<p class="none">no runs yet</p>'
    rows = list(reversed(runs.rows(named=True)))
    width, height, left, bottom, top = 760, 240, 44, 46, 14
    plot_w, plot_h = width - left - 10, height - bottom - top
    peak = max(max(sum(r[f"files_{k}"] or 0 for k in RUN_STACK) for r in rows), 1)
    step = plot_w / len(rows)
    bar_w = max(2.0, min(36.0, step * 0.7))
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
             f'aria-label="files per run by outcome">']
    for tick in range(5):
        value = peak * tick / 4
        y = top + plot_h - plot_h * tick / 4
        parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" class="axis" text-anchor="end">{value:,.0f}</text>')
    label_every = max(1, len(rows) // 6)
    for i, run in enumerate(rows):
        x = left + step * i + (step - bar_w) / 2
        y = top + plot_h
        tip = (f"{_fmt(run['started_at'])} UTC · {run['status']} · " + ", ".join(
            f"{run[f'files_{k}'] or 0} {k}" for k in (*RUN_STACK, "unchanged")))
        parts.append(f'<g><title>{html.escape(tip)}</title>')
        parts.append(f'<rect x="{x:.1f}" y="{top}" width="{bar_w:.1f}" height="{plot_h}" fill="transparent"/>')
        for key in RUN_STACK:
            h = plot_h * (run[f"files_{key}"] or 0) / peak
            if h > 0:
                y -= h
                parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                             f'fill="{STATUS_COLORS[key]}"/>')
        if y == top + plot_h:  # decided nothing (everything unchanged): a grey tick, so the run still shows
            parts.append(f'<rect x="{x:.1f}" y="{y - 2:.1f}" width="{bar_w:.1f}" height="2" fill="#a0aec0"/>')
        if run["status"] != "completed":
            cx = x + bar_w / 2
            parts.append(f'<path d="M{cx - 5:.1f},{top + plot_h - 12:.1f} l10,10 m0,-10 l-10,10" class="failmark"/>')
        parts.append("</g>")
        if i % label_every == 0 or i == len(rows) - 1:
            stamp = run["started_at"].astimezone(UTC) if run["started_at"] else None
            label = stamp.strftime("%m-%d %H:%M") if stamp else "?"
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{top + plot_h + 16}" class="axis" '
                         f'text-anchor="middle">{label}</text>')
    parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{top + plot_h}" y2="{top + plot_h}" class="axisline"/>')
    legend_x = left
    for key in RUN_STACK:
        parts.append(f'<rect x="{legend_x}" y="{height - 14}" width="10" height="10" fill="{STATUS_COLORS[key]}"/>'
                     f'<text x="{legend_x + 14}" y="{height - 5}" class="axis">{key}</text>')
        legend_x += 110
    parts.append(f'<path d="M{legend_x},{height - 14} l10,10 m0,-10 l-10,10" class="failmark"/>'
                 f'<text x="{legend_x + 14}" y="{height - 5}" class="axis">failed run</text></svg>')
    return "".join(parts)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], classes: str = "",
           notes: Mapping[int, str] | None = None) -> str:
    """``rows`` hold already-escaped HTML cells; ``notes`` adds a full-width line under some rows."""
    if not rows:
        return '<p class="none">none</p>'
    notes = notes or {}
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(row) + "</tr>"
        + (f'<tr class="note"><td colspan="{len(headers)}" dir="auto">{notes[i]}</td></tr>' if i in notes else "")
        for i, row in enumerate(rows)
    )
    return (f'<div class="scroll"><table class="data {classes}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


def _td(value: Any, cls: str = "", auto: bool = False) -> str:
    attrs = (f' class="{cls}"' if cls else "") + (' dir="auto"' if auto else "")
    return f"<td{attrs}>{_e(value)}</td>"


_CSS = """
:root { color-scheme: light; --ink: #1a202c; --muted: #4a5568; --line: #e2e8f0; --bad: #c53030; --ok: #2f855a; }
* { box-sizing: border-box; }
body { margin: 0; padding: 24px 32px 48px; color: var(--ink); background: #f7fafc;
  font: 14px/1.5 "Noto Sans", "Noto Naskh Arabic", "DejaVu Sans", "Segoe UI", Tahoma, Arial, sans-serif; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 0 0 12px; }
header p, .none, .note { color: var(--muted); margin: 4px 0; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px 20px; margin: 16px 0; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin-top: 16px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 10px 16px; min-width: 150px; }
.card b { display: block; font-size: 22px; } .card span { color: var(--muted); }
.card.bad b, .bad { color: var(--bad); } .card.ok b, .ok { color: var(--ok); }
table.data { border-collapse: collapse; width: 100%; }
table.data th, table.data td { border-bottom: 1px solid var(--line); padding: 5px 8px; text-align: start;
  vertical-align: top; }
table.data th { background: #edf2f7; font-weight: 600; }
td.num, th.num { text-align: end; font-variant-numeric: tabular-nums; }
td[dir="auto"] { unicode-bidi: plaintext; }
td.excerpt { max-width: 520px; color: var(--muted); }
td { overflow-wrap: break-word; } td.mono, td.num, td.nowrap { white-space: nowrap; }
td.long { overflow-wrap: anywhere; min-width: 12em; }
table.data { font-size: 13px; }
tr.note td { color: var(--bad); border-bottom: 1px solid var(--line); padding-top: 0; overflow-wrap: anywhere; }
.scroll { overflow-x: auto; }
td.mono, code { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12px; }
table.bars td { padding: 2px 6px; } table.bars td.label { max-width: 360px; unicode-bidi: plaintext; }
table.bars td.num { min-width: 48px; white-space: nowrap; }
table.bars td.tag { font-size: 11px; font-weight: 600; }
table.bars td.label { word-break: break-word; }
.chart { max-width: 100%; height: auto; }
.chart .grid { stroke: #edf2f7; } .chart .axisline { stroke: #a0aec0; }
.chart .axis { font-size: 11px; fill: #4a5568; } .failmark { stroke: var(--bad); stroke-width: 2.5; fill: none; }
.grid2 { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 16px; }
.grid2 > section { margin: 0; }
"""


def render_html(data: ReportData) -> str:
    """One self-contained page: inline CSS and SVG only (no script, no external resource)."""
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
    card_html = "".join(f'<div class="card {cls}"><b>{html.escape(v)}</b><span>{html.escape(t)}</span></div>'
                        for cls, v, t in cards)

    run_rows = [
        [_td(r["started_at"], "mono"), f'<td class="mono" title="{_e(r["run_id"])}">{_e(r["run_id"][:8])}</td>',
         f'<td class="nowrap {"ok" if r["status"] == "completed" else "bad"}">{_e(r["status"])}</td>',
         *(_td(r[f"files_{k}"], "num") for k in ("seen", "loaded", "duplicate", "quarantined", "rejected",
                                                  "unchanged", "deferred")),
         _td(r["articles_loaded"], "num")]
        for r in runs.iter_rows(named=True)
    ]
    reasons = {i: f"↳ {_e(reason)}" for i, reason in enumerate(runs["reason"].to_list()) if reason}
    runs_table = _table(["started (UTC)", "run", "status", "seen", "loaded", "duplicate", "quarantined", "rejected",
                         "unchanged", "deferred", "articles"], run_rows, notes=reasons)

    files_bars = _bar_rows([(r["status"], "", r["files"], STATUS_COLORS.get(r["status"], "#718096"),
                             f"{r['files']} files {r['status']}") for r in data.files_by_status.iter_rows(named=True)])
    failed_bars = _bar_rows([
        (f"{r['suite']} · {r['column']} · {r['expectation']}", "", r["unexpected"],
         "#c53030" if r["severity"] == "error" else "#d69e2e",
         f"{r['unexpected']} unexpected values in {r['runs']} run(s), severity {r['severity']}")
        for r in data.failed_by_column.iter_rows(named=True)
    ])
    failed_rows = [
        [_td(r["started_at"], "mono"), _td(r["run_id"][:8], "mono"), _td(r["suite"]),
         f'<td class="mono">{_e(r["expectation"])}</td>', _td(r["column"] or "(table)"),
         f'<td class="{"bad" if r["severity"] == "error" else ""}">{_e(r["severity"])}</td>', _td(r["scope"] or ""),
         _td(r["unexpected_count"], "num"), _td(r["example_values"] or "", "excerpt", auto=True),
         _td(r["details"] or "", "long", auto=True)]
        for r in data.failed.iter_rows(named=True)
    ]
    failed_table = _table(["started (UTC)", "run", "suite", "expectation", "column", "severity", "scope",
                           "unexpected", "examples", "details"], failed_rows)
    quarantine_rows = [
        [_td(r["started_at"], "mono"), _td(r["source_path"], "mono", auto=True), _td(r["reason"], "long", auto=True),
         _td(r["title"] or "", auto=True), _td(r["excerpt"] or "", "excerpt", auto=True), _td(r["lang"]),
         _td(r["arabic_ratio"], "num")]
        for r in data.quarantined.iter_rows(named=True)
    ]
    quarantine_table = _table(["run started (UTC)", "file", "reason", "title", "text", "lang", "arabic ratio"],
                              quarantine_rows)
    entity_bars = _bar_rows([
        (r["canonical_name"], r["entity_type"], r["mentions"], ENTITY_COLORS.get(r["entity_type"], "#718096"),
         f"{r['mentions']} mentions in {r['articles']} article(s)") for r in data.entities.iter_rows(named=True)
    ], " mentions")
    entities_note = (f"run {html.escape(data.entities_run)}, the latest that loaded articles"
                     if data.entities_run else "no run has loaded articles yet")

    return f"""<!doctype html>
<html lang="en" dir="ltr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>akhbar monitoring</title>
<style>{_CSS}</style>
</head>
<body>
<header>
<h1>akhbar monitoring</h1>
<p>Warehouse <code>{_e(data.warehouse)}</code> · generated {_e(data.generated_at)} UTC ·
the last {runs.height} run(s)</p>
<div class="cards">{card_html}</div>
</header>
<section id="runs"><h2>Runs over time</h2>
<p class="note">Files decided per run, oldest on the left (unchanged files are not drawn).</p>
{_runs_chart(runs)}
{runs_table}
</section>
<div class="grid2">
<section id="files"><h2>Files by status</h2><p class="note">Latest state of every input file.</p>
{files_bars}</section>
<section id="failed-by-column"><h2>Failed expectations by suite and column</h2>
<p class="note">Unexpected values summed over the runs shown.</p>{failed_bars}</section>
</div>
<section id="failed"><h2>Failed expectations</h2>{failed_table}</section>
<section id="quarantine"><h2>Quarantined examples</h2>{quarantine_table}</section>
<section id="entities"><h2>Top entities of the last run</h2><p class="note">{entities_note}</p>
{entity_bars}</section>
</body>
</html>
"""


def write_html(data: ReportData, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(render_html(data), encoding="utf-8")
    tmp.replace(path)  # a browser reloading the page never sees half of it
    return path


# ---------------------------------------------------------------- Prefect artifacts (called by the flow)

def _md(value: Any, limit: int = 120) -> str:
    text = _short(_fmt(value), limit)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("`", "'").replace("<", "&lt;").replace(">", "&gt;")


def summary_table(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The run summary as metric/value rows for a Prefect table artifact."""
    rows = [("status", summary.get("status")), ("reason", summary.get("reason") or "")]
    rows += [(f"files {key}", summary.get(f"files_{key}", 0)) for key in (
        "seen", "loaded", "duplicate", "quarantined", "rejected", "unchanged", "deferred")]
    rows += [("articles loaded", summary.get("articles_loaded", 0)),
             ("entity mentions loaded", summary.get("mentions_loaded", 0))]
    return [{"metric": metric, "value": value} for metric, value in rows]


def failed_markdown(run_id: str, failed: Sequence[Mapping[str, Any]], quarantined: pl.DataFrame) -> str:
    """Failed expectations as a markdown list, each with up to five quarantined example rows."""
    if not failed:
        return f"### Run `{run_id}`\n\nNo failed expectations."
    lines = [f"### Failed expectations of run `{run_id}`", ""]
    for row in failed:
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


def _staged_quarantine(staging: Path | None) -> pl.DataFrame:
    files = sorted((staging / "quarantine").glob("*.parquet")) if staging else []
    if not files:
        return pl.DataFrame(schema={"source_path": pl.String, "reason": pl.String, "title": pl.String})
    return pl.concat([pl.read_parquet(f, columns=["source_path", "reason", "title"]) for f in files])


def publish_run(run: RunSummary, validation: pl.DataFrame, staging: Path | None = None) -> None:
    """End of a run: Prefect artifacts and, when something failed, the webhook. Never raises."""
    from flows.notify import notify_run

    summary = asdict(run)
    failed: list[dict[str, Any]] = []
    try:
        if validation.height and "success" in validation.columns:
            failed = validation.filter(~pl.col("success")).to_dicts()
        run_id = str(summary.get("run_id"))
        from prefect.artifacts import create_markdown_artifact, create_table_artifact

        create_table_artifact(summary_table(summary), key="akhbar-run-summary",
                              description=f"akhbar run {run_id}: files by status, articles, mentions")
        create_markdown_artifact(failed_markdown(run_id, failed, _staged_quarantine(staging)),
                                 key="akhbar-failed-expectations",
                                 description=f"akhbar run {run_id}: failed expectations with example rows")
    except Exception as error:  # monitoring must never fail the run it describes
        LOGGER.warning("could not publish run artifacts: %s: %s", type(error).__name__, error)
    notify_run(summary, failed)
