"""The analyst's desk over one seeds warehouse (the seeds plus one story carried by two outlets):
Arabic search, any-client attach, `akhbar sql`, the documented schema, the example queries."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest

from tests.conftest import SEEDS
from tests.warehouse_state import REPO, ingest_in_process
from transforms.arabic import match_key, match_key_table
from transforms.schema import TABLES, VIEWS
from warehouse import ddl, schema_doc
from warehouse.search import search
from warehouse.store import open_reader

QUERIES = REPO / "warehouse" / "queries"
IRAN = ("إيران", "ايران", "وإيران")
TRICKY = [
    "", "   ", "إِيرَانُ", "وَإِيـــران", "سوريا،الخميس", "سوريا، الخميس", "على  مصطفى\tعلي", "سورية؟", "٢٠١٨ و۱۹",
    "أحمد\u200fإيران\u200b", "CNN «عاجل»", "الـ24", "ٱلرحمن", "یک ک", "a\u00a0b\u3000c", "\u064b", "x\n\ny",
]
# Rows of each example query over the seeds warehouse: (row count, first row).
EXPECTED_QUERIES = {
    "arabic_search": (6, ("002_17848a7770633ebb.txt",)),
    "co_mentions": (20, ("بشار الأسد", "فيصل المقداد", 1)),
    "coverage_by_publisher": (3, (None, None, 3, 0)),
    "entities_by_publisher": (8, ("alarabia", "سيرغي لافروف", 1, 2)),
    "entity_cooccurrence": (10, ("روسيا", "LOC", 6)),
    "entity_daily": (6, (dt.date(2018, 4, 15), "إيران", 1, 2)),
    "ledger_problems": (1, ("duplicate",)),
    "runs_and_failures": (1, ...),
    "stories": (1, ("لافروف: موسكو وطهران تعملان معا من أجل حل سياسي في سوريا", 2, ["alarabia", "bbc"], 1,
                    ["trec/BBC-politics-902-20180415.txt"])),
    "top_entities": (10, ("LOC", "سوريا", 6, 45)),
}
# Rows of each statement of the README's SQL blocks, by its comment line.
EXPECTED_README = {
    "Which files did not load, and why?": 1,
    "Places named in articles, with the number of articles": None,
    "Every mention in context": 20,
    "Failed expectations of the last runs": 0,
    "Articles naming Iran in any spelling": 6,
    "Stories carried by several outlets": 1,
}


# One story as two outlets filed it (TREC-tagged, as the news archives are): written here, not copied.
STORY_PARAGRAPHS = (
    (
        'قال وزير الخارجية الروسي سيرغي لافروف يوم الأحد إن موسكو وطهران تعملان معا من '
        'أجل التوصل إلى حل سياسي في سوريا، مؤكدا أن العلاقات مع ايران تشهد تطورا مستمرا.'
    ),
    (
        'وأضاف لافروف في مؤتمر صحفي عقده في العاصمة الروسية أن روسيا وإيران وتركيا ستواصل'
        ' التنسيق في إطار محادثات أستانا، وأن الجولة المقبلة ستعقد في الشهر القادم.'
    ),
    (
        'وكان الرئيس الإيراني حسن روحاني قد أعلن الأسبوع الماضي أن بلاده لن تتخلى عن دعم '
        'الحكومة السورية، فيما دعت الأمم المتحدة إلى وقف فوري لإطلاق النار في إدلب.'
    ),
)
STORY_OUTLETS = (
    {
        'DOCNO': 'AL-politics-901-20180415',
        'URL': 'http://www.alarabiya.net/ar/2018/04/15/lavrov.html',
        'SRC': 'alarabia',
        'CAT': 'politics',
        'TITLE': 'لافروف: موسكو وطهران تعملان معا من أجل حل سياسي في سوريا',
        'TIME': 'Sun, 15 Apr 2018 10:00:00 +0000',
        'AUTHOR': 'موسكو - وكالات',
    },
    {
        'DOCNO': 'BBC-politics-902-20180415',
        'URL': 'http://www.bbc.com/arabic/middleeast-902',
        'SRC': 'bbc',
        'CAT': 'politics',
        'TITLE': 'لافروف: موسكو وطهران تعملان معا من أجل حل سياسي في سوريا',
        'TIME': 'Sun, 15 Apr 2018 12:30:00 +0000',
        'AUTHOR': 'موسكو - وكالات',
    },
)


def _write_story_copies(folder: Path) -> None:
    """The story once per outlet, as ``<DOCNO>.txt`` TREC files."""
    folder.mkdir(parents=True)
    for tags in STORY_OUTLETS:
        header = "".join(f"<{tag}>{value}</{tag}>\n" for tag, value in tags.items())
        text = "\n".join(STORY_PARAGRAPHS)
        page = f"<DOC>\n{header}<TEXT>\n{text}\n</TEXT>\n</DOC>\n"
        (folder / f"{tags['DOCNO']}.txt").write_text(page, encoding="utf-8")


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One in-process ingest of the seeds plus two outlets' copies of one story, read by every test."""
    root = tmp_path_factory.mktemp("desk")
    source = root / "input"
    shutil.copytree(SEEDS, source)
    _write_story_copies(source / "trec")
    ingest_in_process(source, root / "warehouse")
    return root / "warehouse"


@pytest.fixture(scope="module")
def con(warehouse: Path):
    connection = open_reader(warehouse)
    yield connection
    connection.close()


def _python_key(texts: list[str]) -> list[str]:
    return pl.select(match_key(pl.Series(texts, dtype=pl.String))).to_series().to_list()


def test_ar_norm_is_the_pipelines_matching_key(con):
    bodies = [r[0] for r in con.execute("SELECT body FROM articles ORDER BY article_id").fetchall()]
    texts = bodies + TRICKY
    in_sql = [r[0] for r in con.execute("SELECT ar_norm(t) FROM unnest(?) AS u(t)", [texts]).fetchall()]
    assert in_sql == _python_key(texts)


def test_ar_norm_folds_every_character_the_key_folds_without_nfkc():
    memory = duckdb.connect()
    for _, statement in ddl.macro_statements():
        memory.execute(statement)
    import unicodedata

    # Compatibility characters are NFKC's (left out by design), U+0130 lowers to two characters in Python.
    chars = [c for c in match_key_table() if unicodedata.normalize("NFKC", c) == c and c not in "\x00\u0130"]
    in_sql = [r[0] for r in memory.execute("SELECT ar_norm(c) FROM unnest(?) AS u(c)", [chars]).fetchall()]
    assert in_sql == _python_key(chars)


def test_three_spellings_find_the_same_articles(con, akhbar, warehouse):
    found = [[hit.article_id for hit in search(con, spelling, limit=50)] for spelling in IRAN]
    assert found[0] and found[0] == found[1] == found[2]
    in_sql = [{r[0] for r in con.execute("SELECT article_id FROM articles WHERE ar_contains(body, ?) "
                                        "OR ar_contains(title, ?)", [s, s]).fetchall()} for s in IRAN]
    assert in_sql[0] == in_sql[1] == in_sql[2] == set(found[0])
    assert [h.publisher for h in search(con, "إيران", publisher="alarabia")] == ["alarabia"]
    assert search(con, "إيران", publisher="bbc") == []  # its copy is in duplicates, not articles
    assert search(con, "إيران", since=dt.datetime(2018, 4, 16, tzinfo=dt.UTC)) == []
    like = con.execute("SELECT count(*) FROM articles WHERE body LIKE '%ايران%'").fetchone()[0]
    assert like < len(found[0])  # what the macros add
    result = akhbar(["search", "وإيران", "--warehouse", str(warehouse), "--limit", "2"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("1. ") and "2. " in result.stdout
    assert re.search(r"\*\*[^*]*[اإ]يران[^*]*\*\*", result.stdout)
    assert akhbar(["search", "«»", "--warehouse", str(warehouse)]).returncode == 2


def test_ar_contains_on_written_text_agrees_with_the_folded_key(con):
    """ar_contains scans text as written; it finds what a match on ar_norm'ed text finds."""
    folded_clitics = "(?:^|[^\\pL\\pN])[وف]?(?:[بلك]ال|لل|ال|[بلك])?"
    for word in ("إيران", "وسوريا", "الأسد", "طهران", "للأمن", "روسيا", "المعلم", "الإرهاب", "وليد المعلم"):
        written, folded = con.execute(
            "SELECT list(article_id ORDER BY article_id) FILTER (WHERE ar_contains(body, $w)), "
            "list(article_id ORDER BY article_id) FILTER (WHERE regexp_matches(ar_norm(body), $c || regexp_escape("
            "ar_stem($w)))) FROM articles", {"w": word, "c": folded_clitics}).fetchone()
        assert written == folded, word
        assert written, word


def test_attach_sql_runs_in_a_plain_duckdb_connection(akhbar, warehouse):
    result = akhbar(["attach", "--warehouse", str(warehouse)])
    assert result.returncode == 0, result.stderr
    plain = duckdb.connect()
    for statement in plain.extract_statements(result.stdout):
        plain.execute(statement)
    assert plain.execute("SELECT count(*) FROM articles").fetchone()[0] == 6
    assert plain.execute("SELECT ar_stem('وإيران')").fetchone()[0] == "ايران"
    with pytest.raises(duckdb.Error):  # read-only
        plain.execute("DELETE FROM articles")
    from warehouse import connect

    assert connect(warehouse).execute("SELECT count(*) FROM stories").fetchone()[0] == 1


def test_sql_prints_every_result_in_every_format(akhbar, warehouse, tmp_path, monkeypatch):
    wh = ["--warehouse", str(warehouse)]
    two = "SELECT 1 AS a; SET threads = 1; SELECT 'x|y' AS b"
    table = akhbar(["sql", *wh, two])
    assert table.returncode == 0 and table.stdout.count("(1 row)") == 2
    markdown = akhbar(["sql", *wh, "--format", "markdown", two]).stdout
    assert markdown == "| a |\n|---|\n| 1 |\n\n| b |\n|---|\n| x\\|y |\n"
    assert akhbar(["sql", *wh, "--format", "jsonl", two]).stdout == '{"a": 1}\n{"b": "x|y"}\n'
    capped = akhbar(["sql", *wh, "--format", "csv", "--max-rows", "2", "SELECT * FROM range(5) t(i)"])
    assert capped.stdout == "i\n0\n1\n" and "first 2 rows" in capped.stderr
    script = tmp_path / "q.sql"
    script.write_text("-- a file of two statements\nSELECT count(*) AS n FROM articles;\nSELECT 2 AS m;\n")
    assert akhbar(["sql", *wh, "--format", "csv", "-f", str(script)]).stdout == "n\n6\n\nm\n2\n"
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO("SELECT 3 AS k;"))
    assert akhbar(["sql", *wh, "--format", "csv", "-"]).stdout == "k\n3\n"
    failed = akhbar(["sql", *wh, "SELECT 1; SELECT nope FROM articles"])
    assert failed.returncode == 1 and failed.stderr.startswith("akhbar: query failed:")
    assert akhbar(["sql", *wh, "-f", str(tmp_path / "missing.sql")]).returncode == 2
    version = akhbar(["--version"])
    assert version.returncode == 0 and re.fullmatch(r"akhbar \d+\.\d+\.\d+\S*\n", version.stdout)


@pytest.mark.slow
def test_sql_into_a_closed_pipe_exits_cleanly(warehouse):
    command = (f"{sys.executable} -m flows.cli sql --warehouse {warehouse} --format csv "
               "'SELECT * FROM range(200000) t(i)' | head -1")
    done = subprocess.run(["bash", "-o", "pipefail", "-c", command], cwd=REPO, capture_output=True, text=True,
                          timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (0, "i\n", "")


@pytest.mark.parametrize("name", sorted(EXPECTED_QUERIES))
def test_example_queries(con, name):
    rows = con.execute((QUERIES / f"{name}.sql").read_text()).fetchall()
    count, first = EXPECTED_QUERIES[name]
    assert len(rows) == count
    if first is not ...:
        assert rows[0][: len(first)] == first


def test_every_example_query_is_tested():
    assert sorted(p.stem for p in QUERIES.glob("*.sql")) == sorted(EXPECTED_QUERIES)


def _readme_statements() -> dict[str, str]:
    blocks = re.findall(r"```sql\n(.*?)```", (REPO / "README.md").read_text(), re.S)
    statements = {}
    for block in blocks:
        for part in re.split(r";\s*\n", block):
            lines = part.strip().splitlines()
            if lines:
                comment = lines[0].removeprefix("-- ").split(":")[0].split(" (")[0]
                statements[comment] = part
    return statements


def test_readme_sql_blocks(con):
    statements = _readme_statements()
    assert sorted(statements) == sorted(EXPECTED_README)
    for comment, sql in statements.items():
        rows = con.execute(sql).fetchall()
        expected = EXPECTED_README[comment]
        assert rows if expected is None else len(rows) == expected, comment
    # Context starts at the body's start for a mention near it (no negative substr start).
    context = con.execute(statements["Every mention in context"]).fetchall()
    bodies = [r[0] for r in con.execute("SELECT body FROM articles").fetchall()]
    assert all(surface in ctx and any(ctx in body for body in bodies) for _, surface, ctx in context)
    first = con.execute("SELECT min(start_char) FROM entity_mentions JOIN articles USING (article_id) "
                        "WHERE source_path = (SELECT min(source_path) FROM articles)").fetchone()[0]
    assert first < 30  # the first rows hold a mention near the body's start


def test_every_relation_and_column_is_commented(con):
    tables = dict(con.execute("SELECT table_name, comment FROM duckdb_tables() WHERE database_name = 'wh'").fetchall())
    columns = {(t, c): comment for t, c, comment in con.execute(
        "SELECT table_name, column_name, comment FROM duckdb_columns() WHERE database_name = 'wh'").fetchall()}
    views = dict(con.execute("SELECT view_name, comment FROM duckdb_views() WHERE database_name = 'wh'").fetchall())
    for relation in TABLES:
        assert tables[relation.name] == relation.description
        for column in relation.columns:
            assert columns[relation.name, column.name] == column.description
    for view in VIEWS:
        assert views[view.name].startswith(view.description)


def test_schema_doc_is_current():
    assert schema_doc.SCHEMA_DOC.read_text(encoding="utf-8") == schema_doc.render(), (
        "warehouse/SCHEMA.md is stale: run `python -m warehouse.schema_doc`")
