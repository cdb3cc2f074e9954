"""End to end: the seeds through the real Prefect flow into a temporary DuckLake warehouse."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import SEEDS
from tests.warehouse_state import query, state, unreferenced_files
from warehouse.store import open_reader
from warehouse.timetravel import resolve_as_of

pytestmark = pytest.mark.e2e

BOILERPLATE = ("زر الذهاب إلى الأعلى", "صحيفة الوطن", "تعليقك", "/انتهى/")
RELATIONS = ("articles", "entity_mentions", "entities", "entity_aliases", "duplicates", "ingest_ledger", "runs",
             "validation_results", "quarantine")


def ingest(input_dir: Path, warehouse: Path, **kwargs):
    from flows.ingest import ingest as ingest_flow

    return ingest_flow(str(input_dir), str(warehouse), **kwargs)


@pytest.fixture(scope="module")
def loaded_seeds(prefect_api_url, tmp_path_factory):
    """One run over a copy of the seeds, shared by the tests that only read what it left behind."""
    root = tmp_path_factory.mktemp("seeds")
    seed_input, warehouse = root / "input", root / "warehouse"
    shutil.copytree(SEEDS, seed_input)
    summary = ingest(seed_input, warehouse)
    return seed_input, warehouse, summary


@pytest.fixture
def fresh_seeds(prefect_api_url, seed_input, warehouse_dir):
    """A run over the seeds of this test's own, for tests that run again or change the input."""
    summary = ingest(seed_input, warehouse_dir)
    return seed_input, warehouse_dir, summary


def test_all_five_seeds_load(loaded_seeds):
    _, warehouse, summary = loaded_seeds
    assert summary.status == "completed"
    assert (summary.files_seen, summary.files_loaded) == (5, 5)
    articles = query(warehouse, "SELECT * FROM articles ORDER BY source_path")
    assert articles.height == 5
    assert articles["article_id"].n_unique() == 5
    assert articles["source_doc_id"].to_list() == [p.stem.split("_", 1)[1] for p in sorted(SEEDS.iterdir())]
    assert set(articles["lang"]) == {"ar"}
    assert (articles["arabic_ratio"] > 0.9).all()
    for column in ("char_count", "word_count", "sentence_count", "paragraph_count"):
        assert (articles[column] > 0).all(), column
    ledger = query(warehouse, "SELECT * FROM ingest_ledger")
    assert ledger.height == 5 and set(ledger["status"]) == {"loaded"} and ledger["reason"].is_null().all()
    runs = query(warehouse, "SELECT * FROM runs")
    assert runs.rows(named=True)[0]["status"] == "completed"
    assert runs["files_loaded"].to_list() == [5]


def test_every_relation_of_the_contract_exists(loaded_seeds):
    _, warehouse, _ = loaded_seeds
    for relation in RELATIONS:
        query(warehouse, f"SELECT * FROM {relation} LIMIT 0")
    results = query(warehouse, "SELECT * FROM validation_results")
    assert results.height > 0
    assert set(results["suite"]) == {"articles", "entity_mentions"}
    assert set(results["severity"]) <= {"error", "warning"}


def test_fields_of_the_sectioned_seeds(loaded_seeds):
    _, warehouse, _ = loaded_seeds
    rows = {
        r["source_doc_id"]: r
        for r in query(warehouse, "SELECT * FROM articles").rows(named=True)
    }
    a002, a003 = rows["17848a7770633ebb"], rows["30031199c19bcac7"]
    assert a002["section"] == "سورية" and a003["section"] == "سورية"
    assert a002["title"].startswith("مباحثات سورية إيرانية قبيل «أستانا 7»")
    assert a003["title"] == "شمخاني وباتروشيف: لرفع وتيرة التصدي للإرهاب في سورية والعراق"
    assert a002["byline"] == "وكالات"
    assert a003["byline"] == "الوطن – وكالات"
    assert a002["publisher"] == "صحيفة الوطن" and a003["publisher"] == "صحيفة الوطن"
    assert a002["body"].startswith("قبل أيام قليلة من اجتماع «أستانا 7»")
    assert a003["body"].endswith("في غمز من قناة السعودية التي تحرم شعبها من هذه الحقوق.")


def test_boilerplate_never_in_bodies(loaded_seeds):
    _, warehouse, _ = loaded_seeds
    for body in query(warehouse, "SELECT body FROM articles")["body"]:
        lines = body.split("\n")
        assert all(line.strip() for line in lines), "no empty paragraphs"
        for junk in BOILERPLATE:
            assert junk not in lines


def test_hard_wrapped_seed_has_whole_paragraphs(loaded_seeds):
    _, warehouse, _ = loaded_seeds
    body = query(warehouse, "SELECT body FROM articles WHERE source_doc_id = 'e4e0e2c84b5f7231'")["body"][0]
    paragraphs = body.split("\n")
    assert paragraphs[0].startswith("عقد وزراء دفاع كل من إيران وروسيا وسوريا، الخميس، محادثات في طهران")
    assert paragraphs[0].endswith("سوريا.")
    assert paragraphs[1].startswith("وقال وزير الدفاع الإيراني، الجنرال حسين دهقان")
    assert paragraphs[-1].endswith("على نحو مختلف.")
    for paragraph in paragraphs:
        assert paragraph.rstrip().endswith((".", ":", "؟", "!", "»", '"')), paragraph[-40:]


def test_mention_offsets_are_exact(loaded_seeds):
    _, warehouse, summary = loaded_seeds
    mentions = query(
        warehouse,
        "SELECT m.*, a.body FROM entity_mentions m JOIN articles a USING (article_id)",
    )
    assert mentions.height == summary.mentions_loaded > 0
    for row in mentions.iter_rows(named=True):
        assert row["body"][row["start_char"]:row["end_char"]] == row["surface"]
    assert set(mentions["entity_type"]) <= {"PER", "ORG", "LOC", "MISC"}
    entities = query(warehouse, "SELECT * FROM entities")
    assert entities["entity_id"].n_unique() == entities.height
    assert entities["mention_count"].sum() == mentions.height


def test_second_run_loads_nothing(fresh_seeds):
    seed_input, warehouse, _ = fresh_seeds
    before = state(warehouse)
    again = ingest(seed_input, warehouse)
    assert again.status == "completed"
    assert (again.files_seen, again.files_unchanged, again.files_loaded) == (5, 5, 0)
    assert state(warehouse) == before
    # A touched file with the same bytes is still not new input.
    (seed_input / "000_b06b58c1988d3a64.txt").touch()
    third = ingest(seed_input, warehouse)
    assert (third.files_loaded, third.files_unchanged) == (0, 5)
    assert state(warehouse) == before
    assert query(warehouse, "SELECT count(*) AS n FROM runs")["n"][0] == 3


def test_seeds_in_two_runs_equal_one_run(loaded_seeds, tmp_path):
    _, one, _ = loaded_seeds
    pieces_input = tmp_path / "pieces"
    pieces_input.mkdir()
    two = tmp_path / "two"
    seeds = sorted(SEEDS.iterdir())
    run_ids = []
    for piece in (seeds[3:], seeds[:3]):
        for path in piece:
            shutil.copy2(path, pieces_input / path.name)
        run_ids.append(ingest(pieces_input, two).run_id)
    assert state(two) == state(one)
    # Each run's commit is a snapshot named by its run id: `akhbar sql --as-of` shows the state after it.
    con = open_reader(two, snapshot_version=resolve_as_of(two, run_ids[0]))
    try:
        assert con.execute("SELECT list(run_id) FROM runs").fetchone()[0] == run_ids[:1]
        assert con.execute("SELECT count(*) FROM ingest_ledger").fetchone()[0] == 2
    finally:
        con.close()


def test_exact_duplicate_and_changed_file(prefect_api_url, seed_input, warehouse_dir):
    ingest(seed_input, warehouse_dir)
    # Same article again under another name, re-encoded and with Windows line ends: an exact duplicate.
    original = (seed_input / "003_30031199c19bcac7.txt").read_text(encoding="utf-8")
    (seed_input / "copy of 003.txt").write_bytes(original.replace("\n", "\r\n").encode("utf-8-sig"))
    summary = ingest(seed_input, warehouse_dir)
    assert (summary.files_loaded, summary.files_duplicate) == (0, 1)
    duplicate = query(warehouse_dir, "SELECT * FROM duplicates").row(0, named=True)
    original_id = query(
        warehouse_dir, "SELECT article_id FROM articles WHERE source_path = '003_30031199c19bcac7.txt'"
    )["article_id"][0]
    assert duplicate["source_path"] == "copy of 003.txt"
    assert (duplicate["duplicate_of"], duplicate["kind"], duplicate["similarity"]) == (original_id, "exact", 1.0)
    ledger = query(warehouse_dir, "SELECT * FROM ingest_ledger WHERE source_path = 'copy of 003.txt'")
    ledger = ledger.row(0, named=True)
    assert (ledger["status"], ledger["article_id"]) == ("duplicate", original_id)
    assert "exact duplicate" in ledger["reason"]

    # The original changes: its article is replaced, never doubled.
    (seed_input / "003_30031199c19bcac7.txt").write_text(original + "\nفقرة جديدة أضيفت إلى الخبر بعد نشره.\n",
                                                         encoding="utf-8")
    changed = ingest(seed_input, warehouse_dir)
    assert changed.files_loaded == 1
    rows = query(warehouse_dir, "SELECT * FROM articles WHERE source_path = '003_30031199c19bcac7.txt'")
    assert rows.height == 1 and "فقرة جديدة" in rows["body"][0]
    assert query(warehouse_dir, "SELECT count(*) AS n FROM articles")["n"][0] == 5
    orphans = query(warehouse_dir, "SELECT count(*) AS n FROM entity_mentions WHERE article_id NOT IN "
                                   "(SELECT article_id FROM articles)")["n"][0]
    assert orphans == 0


def test_rejected_and_quarantined_files_are_accounted_for(prefect_api_url, seed_input, warehouse_dir):
    (seed_input / "empty.txt").write_bytes(b"")
    (seed_input / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    nested = seed_input / "nested" / "deeper"
    nested.mkdir(parents=True)
    (nested / "english.txt").write_text(
        "The foreign ministers met in Vienna on Tuesday to discuss the agreement.\n"
        "Officials said the talks would continue next week, according to several agencies.\n"
        "No statement was issued after the meeting, which lasted more than four hours.\n",
        encoding="utf-8",
    )
    summary = ingest(seed_input, warehouse_dir)
    assert summary.status == "completed"
    assert (summary.files_seen, summary.files_loaded, summary.files_rejected, summary.files_quarantined) == (8, 5, 2, 1)
    ledger = {r["source_path"]: r for r in query(warehouse_dir, "SELECT * FROM ingest_ledger").rows(named=True)}
    assert len(ledger) == 8
    assert ledger["empty.txt"]["status"] == "rejected" and "empty" in ledger["empty.txt"]["reason"]
    assert ledger["image.png"]["status"] == "rejected" and "binary" in ledger["image.png"]["reason"]
    english = ledger["nested/deeper/english.txt"]
    assert english["status"] == "quarantined" and "lang" in english["reason"]
    quarantine = query(warehouse_dir, "SELECT * FROM quarantine").row(0, named=True)
    assert quarantine["source_path"] == "nested/deeper/english.txt"
    assert quarantine["body"].startswith("The foreign ministers met in Vienna")
    assert quarantine["reason"] == english["reason"]
    assert query(warehouse_dir, "SELECT count(*) AS n FROM articles")["n"][0] == 5
    again = ingest(seed_input, warehouse_dir)
    assert (again.files_unchanged, again.files_rejected, again.files_quarantined) == (8, 0, 0)


def test_cli_run_and_sql_formats(prefect_api_url, akhbar, seed_input, warehouse_dir):
    result = akhbar(["run", "--input", str(seed_input), "--warehouse", str(warehouse_dir)])
    assert result.returncode == 0, result.stderr
    assert "5 loaded" in result.stdout
    as_json = akhbar(["sql", "--warehouse", str(warehouse_dir), "--format", "json",
                      "SELECT source_doc_id, published_at FROM articles ORDER BY source_doc_id"])
    assert as_json.returncode == 0, as_json.stderr
    rows = json.loads(as_json.stdout)
    assert len(rows) == 5 and set(rows[0]) == {"source_doc_id", "published_at"}
    as_csv = akhbar(["sql", "--warehouse", str(warehouse_dir), "--format", "csv",
                     "SELECT status, count(*) AS n FROM ingest_ledger GROUP BY status"])
    assert as_csv.stdout.splitlines() == ["status,n", "loaded,5"]
    table = akhbar(["sql", "--warehouse", str(warehouse_dir), "SELECT count(*) AS n FROM articles"])
    assert table.returncode == 0 and "(1 row)" in table.stdout
    write = akhbar(["sql", "--warehouse", str(warehouse_dir), "DELETE FROM articles"])
    assert write.returncode == 1 and "read-only" in write.stderr
    assert query(warehouse_dir, "SELECT count(*) AS n FROM articles")["n"][0] == 5


def test_no_orphan_parquet_after_clean_run(loaded_seeds):
    _, warehouse, _ = loaded_seeds
    assert unreferenced_files(warehouse) == set()
    assert not (warehouse / "staging").exists() or not any((warehouse / "staging").iterdir())


def test_blocking_validation_failure_loads_nothing(prefect_api_url, akhbar, seed_input, warehouse_dir, tmp_path):
    """A failing batch-level `error` expectation fails the run (exit 1) and commits no data."""
    from expectations.runner import DEFAULT_SUITES_DIR

    suites = tmp_path / "suites"
    shutil.copytree(DEFAULT_SUITES_DIR, suites)
    articles = json.loads((suites / "articles.json").read_text(encoding="utf-8"))
    articles["expectations"].append({
        "type": "expect_table_row_count_to_be_between",
        "kwargs": {"min_value": 0, "max_value": 2},
        "meta": {"severity": "error", "scope": "batch", "notes": "test: at most two articles per batch"},
    })
    (suites / "articles.json").write_text(json.dumps(articles, ensure_ascii=False), encoding="utf-8")
    args = ["run", "--input", str(seed_input), "--warehouse", str(warehouse_dir)]
    failed = akhbar(args, {"AKHBAR_EXPECTATIONS_DIR": str(suites)})
    assert failed.returncode == 1
    stderr_lines = failed.stderr.strip().splitlines()
    assert len(stderr_lines) == 1 and "expect_table_row_count_to_be_between" in stderr_lines[0]
    run = query(warehouse_dir, "SELECT * FROM runs").row(0, named=True)
    assert run["status"] == "failed" and "blocking validation failure" in run["reason"]
    failures = query(warehouse_dir, "SELECT * FROM validation_results WHERE NOT success")
    assert failures["expectation"].to_list() == ["expect_table_row_count_to_be_between"]
    assert failures["severity"].to_list() == ["error"]
    for relation in ("articles", "entity_mentions", "ingest_ledger", "duplicates", "quarantine"):
        assert query(warehouse_dir, f"SELECT count(*) AS n FROM {relation}")["n"][0] == 0, relation
    # With the project's own suites the same input then loads completely.
    assert akhbar(args).returncode == 0
    assert query(warehouse_dir, "SELECT count(*) AS n FROM articles")["n"][0] == 5


def test_near_duplicate_against_the_warehouse(prefect_api_url, seed_input, warehouse_dir):
    """A later re-filing with one paragraph reworded is a near duplicate of the stored article."""
    ingest(seed_input, warehouse_dir)
    original = (seed_input / "002_17848a7770633ebb.txt").read_text(encoding="utf-8")
    lines = original.split("\n")
    lines[20] = "وقال مصدر دبلوماسي إن الزيارة تأتي في إطار التنسيق المستمر بين البلدين."
    (seed_input / "refiled" ).mkdir()
    (seed_input / "refiled" / "002 again.txt").write_text("\n".join(lines), encoding="utf-8")
    summary = ingest(seed_input, warehouse_dir)
    assert (summary.files_loaded, summary.files_duplicate) == (0, 1)
    row = query(warehouse_dir, "SELECT * FROM duplicates").row(0, named=True)
    original_id = query(warehouse_dir, "SELECT article_id FROM articles WHERE source_doc_id = '17848a7770633ebb'")
    assert row["duplicate_of"] == original_id["article_id"][0]
    assert row["kind"] == "near" and 0.75 <= row["similarity"] < 1.0
    assert row["publisher"] == "صحيفة الوطن"
    ledger = query(warehouse_dir, "SELECT * FROM ingest_ledger WHERE source_path = 'refiled/002 again.txt'")
    assert "near duplicate of article" in ledger["reason"][0]
    stored = query(warehouse_dir, "SELECT count(DISTINCT article_id) AS n FROM article_minhash")["n"][0]
    assert stored == 5


def _age_snapshots(warehouse: Path, days: int) -> None:
    """Date every catalog snapshot ``days`` earlier, as if the warehouse had been made then (the SQLite
    catalog keeps the times as text)."""
    import datetime as dt
    import sqlite3

    from warehouse.store import WarehousePaths

    with sqlite3.connect(WarehousePaths(warehouse).catalog) as con:
        for snapshot_id, taken in con.execute("SELECT snapshot_id, snapshot_time FROM ducklake_snapshot").fetchall():
            moment = dt.datetime.fromisoformat(taken) - dt.timedelta(days=days)
            con.execute("UPDATE ducklake_snapshot SET snapshot_time = ? WHERE snapshot_id = ?",
                        [moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00"), snapshot_id])


def test_a_completed_run_maintains_the_warehouse_once_a_day(prefect_api_url, seed_input, warehouse_dir):
    assert ingest(seed_input, warehouse_dir).status == "completed"  # a new warehouse: not due yet
    assert query(warehouse_dir, "SELECT * FROM maintenance").height == 0
    _age_snapshots(warehouse_dir, days=2)
    (seed_input / "later.txt").write_text("خبر لاحق عن اجتماع وزراء الخارجية العرب في القاهرة.\n", encoding="utf-8")
    assert ingest(seed_input, warehouse_dir, maintain=False).status == "completed"  # --no-maintain
    assert query(warehouse_dir, "SELECT * FROM maintenance").height == 0
    (seed_input / "later-2.txt").write_text("خبر آخر عن قمة الرياض الاقتصادية.\n", encoding="utf-8")
    assert ingest(seed_input, warehouse_dir).status == "completed"
    passes = query(warehouse_dir, "SELECT * FROM maintenance")
    # Three runs' small files merged; the merged-away ones stay on disk through the grace period.
    assert passes.height == 1 and passes["files_merged"][0] > 0
    (seed_input / "later-3.txt").write_text("خبر ثالث عن انتخابات بلدية في تونس.\n", encoding="utf-8")
    assert ingest(seed_input, warehouse_dir).status == "completed"
    assert query(warehouse_dir, "SELECT * FROM maintenance").height == 1  # done today: not due again
    ledger = query(warehouse_dir, "SELECT source_path FROM ingest_ledger")["source_path"].to_list()
    assert {"later.txt", "later-2.txt", "later-3.txt"} <= set(ledger)  # every run decided its file


def test_tagging_on_the_flows_worker_processes_gives_the_same_warehouse(loaded_seeds, tmp_path, monkeypatch):
    """Pieces as small as one token, so the seeds' batch really is tagged on the Prefect process pool."""
    import functools

    import flows.ingest
    from transforms import pipeline

    seed_input, warehouse, _ = loaded_seeds
    pieces: list[int] = []
    on_the_runner = flows.ingest.task_map

    def counted(function, items):
        pieces.append(len(items))
        return on_the_runner(function, items)

    monkeypatch.setattr(flows.ingest, "PipelineConfig", functools.partial(pipeline.PipelineConfig, min_piece_tokens=1))
    monkeypatch.setattr(flows.ingest, "task_map", counted)
    for workers, batch_size in ((2, 1000), (2, 2)):
        target = tmp_path / f"wh-{workers}-{batch_size}"
        summary = ingest(seed_input, target, workers=workers, batch_size=batch_size)
        assert summary.status == "completed"
        assert state(target) == state(warehouse), (workers, batch_size)
    assert pieces and set(pieces) == {2}
