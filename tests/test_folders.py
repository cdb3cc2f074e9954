"""Real folders: what is not an article is never read, and files with many stories (Gigaword SGML, JSON Lines).

Every input is built here from the seeds: Gigaword and JSON Lines files whose stories are seed articles,
and a downloader that leaves ``x.part`` before renaming it.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import polars as pl
import pytest

from flows.watch import FolderWatcher, WatchConfig
from tests.conftest import SEEDS
from tests.warehouse_state import ingest_in_process, query, state
from transforms.discover import FolderFilter, discover, read_files
from transforms.parse import GIGAWORD, JSONL, JsonFields, ParseConfig, parse_articles
from transforms.read import decode_files
from transforms.schema import LEDGER

GIGAWORD_IDS = ("AFP_ARB_20170930.0001", "AFP_ARB_20170930.0002", "AFP_ARB_20171001.0003")
MARKUP = ("<", ">", "&amp;", "&quot;", "&lt;", "&#")


def _seed_articles() -> list[dict]:
    """The seeds as parsed articles (title and body paragraphs): the stories the multi-story files carry."""
    found = discover(SEEDS, LEDGER.empty())
    raw, _ = read_files(SEEDS, found.candidates)
    parsed = parse_articles(decode_files(raw)).sort("source_path")
    return parsed.select("source_path", "title", "body").to_dicts()


SEED_ARTICLES = _seed_articles()


def _wrapped(paragraph: str, width: int = 70) -> str:
    """A paragraph hard-wrapped the way Gigaword's files are."""
    lines, line = [], ""
    for word in paragraph.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "\n".join([*lines, line])


def _gigaword_doc(doc_id: str, title: str | None, paragraphs: list[str], doc_type: str = "story") -> str:
    headline = f"<HEADLINE>\n{title}\n</HEADLINE>\n" if title else ""
    text = "".join(f"<P>\n{_wrapped(paragraph)}\n</P>\n" for paragraph in paragraphs)
    return (f'<DOC id="{doc_id}" type="{doc_type}" >\n{headline}<DATELINE>\nدمشق 30-9 (اف ب) -\n</DATELINE>\n'
            f"<TEXT>\n{text}</TEXT>\n</DOC>\n")


def _story_doc(doc_id: str, story: dict) -> str:
    """A seed story as a Gigaword DOC, with SGML entities in its headline and first paragraph."""
    paragraphs = story["body"].split("\n")
    paragraphs[0] += " (&quot;اف ب&quot; &amp; وكالات)"
    return _gigaword_doc(doc_id, f"{story['title'] or 'خبر'} &amp; تفاصيل", paragraphs)


def gigaword_file(stories: list[dict], extra: str = "") -> str:
    """Three seed stories, an advisory, and ``extra`` DOCs."""
    docs = [_story_doc(doc_id, story) for doc_id, story in zip(GIGAWORD_IDS, stories, strict=True)]
    docs.append(_gigaword_doc("AFP_ARB_20171001.0004", "جدول", ["مواعيد النشرات ليوم الغد"], doc_type="advis"))
    return "".join(docs) + extra


def _jsonl_file(lines: list[dict | str]) -> str:
    return "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n"


# ---------------------------------------------------------------- what is not an article


def test_hidden_partial_and_temporary_files_are_ignored_and_counted(tmp_path: Path) -> None:
    names = ["a.txt", "story.txt.part", "x.crdownload", "y.tmp", "notes.txt~", ".story.txt.swp", "#draft.txt#",
             ".~lock.a.txt#", "sub/b.txt", "sub/c.partial", ".git/HEAD", ".cache/deep/d.txt", "skip/e.txt",
             "keep/f.log", "keep/g.txt"]
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("نص")
    (tmp_path / ".akhbarignore").write_text("# folders of the downloader\nskip/\n*.log\n!keep/f.log\n")
    found = discover(tmp_path, LEDGER.empty())
    assert found.candidates["source_path"].to_list() == ["a.txt", "keep/f.log", "keep/g.txt", "sub/b.txt"]
    # Ignored: 7 files at the top, .akhbarignore, .git/ and .cache/ (a folder once), skip/, sub/c.partial.
    assert found.files_seen == 4 and found.files_ignored == 12
    only_txt = discover(tmp_path, LEDGER.empty(), FolderFilter(include=("*.txt",), exclude=("keep/g.txt",)))
    assert only_txt.candidates["source_path"].to_list() == ["a.txt", "sub/b.txt"]
    keep = FolderFilter().compile(tmp_path)
    assert [keep.skips(p) for p in ("sub/x.part", ".cache/new.txt", "skip/new.txt", "new.txt")] == [
        True, True, True, False]


def test_the_watcher_never_sees_a_partial_download(tmp_path: Path) -> None:
    source = tmp_path / "in"
    source.mkdir()
    calls: list[int] = []
    watcher = FolderWatcher(source, tmp_path / "wh", lambda: calls.append(1), WatchConfig(settle_s=0.0))
    partial = source / "story.txt.part"
    partial.write_bytes(SEEDS.joinpath(SEED_ARTICLES[4]["source_path"]).read_bytes()[:1500])
    watcher.on_change(str(partial))
    (source / ".story.txt.swp").write_bytes(b"swap")
    watcher.on_change(str(source / ".story.txt.swp"))
    assert watcher.sweep() == 0 and not watcher.settler.pending
    watcher.step(threading.Event())
    assert calls == []
    partial.rename(source / "story.txt")
    watcher.on_change(str(source / "story.txt"))
    assert list(watcher.settler.pending) == ["story.txt"]


# ---------------------------------------------------------------- many stories per file


def test_gigaword_stories_are_articles_with_clean_text() -> None:
    text = gigaword_file(SEED_ARTICLES[:3])
    frame = pl.DataFrame({"source_path": ["giga/afp.sgml"], "text": [text], "status": [None], "reason": [None]},
                         schema_overrides={"status": pl.String, "reason": pl.String})
    parsed = parse_articles(frame)
    assert parsed["format"].to_list() == [GIGAWORD] * 4 and parsed["story_index"].to_list() == [0, 1, 2, 3]
    assert parsed["source_doc_id"].to_list() == [*GIGAWORD_IDS, "AFP_ARB_20171001.0004"]
    stories = parsed.filter(pl.col("status").is_null())
    assert stories.height == 3
    for story, seed in zip(stories.iter_rows(named=True), SEED_ARTICLES[:3], strict=True):
        assert story["title"] == f"{seed['title'] or 'خبر'} & تفاصيل"
        paragraphs = seed["body"].split("\n")
        assert story["body"].split("\n") == [paragraphs[0] + ' ("اف ب" & وكالات)', *paragraphs[1:]]
        assert not any(mark in story["title"] + story["body"] for mark in MARKUP)
        assert story["byline"] == "دمشق 30-9 (اف ب) -" and story["publisher"] == "AFP"
    assert stories["published_at"].dt.strftime("%Y-%m-%d").to_list() == ["2017-09-30", "2017-09-30", "2017-10-01"]
    advisory = parsed.row(3, named=True)
    assert advisory["status"] == "rejected" and advisory["reason"] == "Gigaword DOC of type 'advis', not a story"


def test_json_lines_fields_under_common_and_configured_names() -> None:
    first, second = SEED_ARTICLES[3], SEED_ARTICLES[4]
    lines = [
        {"id": 17, "title": first["title"], "body": first["body"], "date": "2024-03-01T10:00:00Z",
         "url": "https://example.org/1", "publisher": "الوطن"},
        "",
        {"headline": second["title"], "content": "<p>" + second["body"].replace("\n", "</p><p>") + "</p>",
         "publishedAt": "2024-03-02 08:30:00+03:00", "link": "https://example.org/2", "source": {"name": "BBC"}},
        "{not json",
        {"title": "بلا نص"},
    ]
    frame = pl.DataFrame({"source_path": ["export.jsonl"], "text": [_jsonl_file(lines)], "status": [None],
                          "reason": [None]}, schema_overrides={"status": pl.String, "reason": pl.String})
    parsed = parse_articles(frame)
    assert parsed["format"].to_list() == [JSONL] * 4
    assert parsed["source_doc_id"].to_list() == ["17", "export.jsonl#2", "export.jsonl#3", "export.jsonl#4"]
    one, two, broken, empty = parsed.iter_rows(named=True)
    assert (one["title"], one["body"], one["url"], one["publisher"]) == (
        first["title"], first["body"], "https://example.org/1", "الوطن")
    assert (two["body"], two["url"], two["publisher"]) == (second["body"], "https://example.org/2", "BBC")
    assert [one["published_at"].isoformat(), two["published_at"].isoformat()] == [
        "2024-03-01T10:00:00+00:00", "2024-03-02T05:30:00+00:00"]
    assert broken["reason"] == "unrecognised format: line 4 is not a JSON object"
    assert empty["status"] == "rejected" and empty["reason"].startswith("no article text: no non-empty body field")
    custom = ParseConfig(json_fields=JsonFields(title=("hed",), body=("story.text",), id=("uid",)))
    line = {"uid": "x-1", "hed": first["title"], "story": {"text": first["body"]}}
    frame = frame.with_columns(pl.lit(_jsonl_file([line])).alias("text"))
    row = parse_articles(frame, custom).row(0, named=True)
    assert (row["source_doc_id"], row["title"], row["body"], row["status"]) == ("x-1", first["title"], first["body"],
                                                                              None)


# ---------------------------------------------------------------- the batch core over a real-shaped folder


def _folder(root: Path, gigaword: str) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "agency").mkdir(exist_ok=True)
    (root / "agency" / "afp.sgml").write_text(gigaword, encoding="utf-8")
    copy = SEED_ARTICLES[0]
    (root / "export.jsonl").write_text(_jsonl_file([
        {"id": "n-1", "title": SEED_ARTICLES[3]["title"], "text": SEED_ARTICLES[3]["body"],
         "published_at": "2024-01-05T09:00:00Z", "link": "https://example.org/n-1"},
        {"id": "n-2", "headline": "نسخة", "body": copy["body"], "date": "2024-01-06", "source": "مرآة"},
    ]), encoding="utf-8")
    (root / ".export.jsonl.swp").write_bytes(b"b0VIM 9.0 swap")
    (root / ".thumbnails").mkdir(exist_ok=True)
    (root / ".thumbnails" / "a.txt").write_text("hidden")


def _download(root: Path, content: bytes, name: str = "story.txt", stall_s: float = 0.0) -> None:
    """A browser's download: the first bytes under ``name.part``, a stall, the rest, then the rename."""
    partial = root / f"{name}.part"
    with partial.open("wb") as handle:
        handle.write(content[:1500])
        handle.flush()
        time.sleep(stall_s)
        handle.write(content[1500:])
    partial.rename(root / name)


def test_multi_story_folder_through_the_batch_core(tmp_path: Path) -> None:
    source, warehouse, whole = tmp_path / "in", tmp_path / "wh", tmp_path / "whole"
    three = SEED_ARTICLES[:3]
    # A fourth story repeats the first: a duplicate inside one file.
    repeat = _gigaword_doc("AFP_ARB_20171002.0005", "مكرر", SEED_ARTICLES[0]["body"].split("\n"))
    _folder(source, gigaword_file(three, extra=repeat))
    story = SEEDS.joinpath(SEED_ARTICLES[4]["source_path"]).read_bytes()
    (source / "story.txt.part").write_bytes(story[:1500])  # a download still under way

    first = ingest_in_process(source, warehouse)
    assert first.processed == ("agency/afp.sgml", "export.jsonl")
    ledger = query(warehouse, "SELECT * FROM ingest_ledger ORDER BY source_path").to_dicts()
    assert [(r["source_path"], r["status"], r["story_count"], r["stories_loaded"]) for r in ledger] == [
        ("agency/afp.sgml", "loaded", 5, 3), ("export.jsonl", "loaded", 2, 1)]
    assert ledger[0]["story_summary"] == (
        "5 stories: 3 loaded, 1 duplicate, 1 rejected; first refusal: story 4 (AFP_ARB_20171001.0004): "
        "Gigaword DOC of type 'advis', not a story")
    stories = query(warehouse, "SELECT source_path, story_index, source_doc_id, status, article_id FROM story_ledger "
                               "ORDER BY source_path, story_index")
    assert stories["status"].to_list() == ["loaded", "loaded", "loaded", "rejected", "duplicate", "loaded",
                                           "duplicate"]
    articles = query(warehouse, "SELECT source_path, source_doc_id, story_index, article_id, title, body "
                                "FROM articles ORDER BY source_path, story_index")
    assert articles["source_doc_id"].to_list() == [*GIGAWORD_IDS, "n-1"]
    markup = pl.col("title").str.contains("[<>]|&[a-z#]") | pl.col("body").str.contains("[<>]|&[a-z#]")
    assert articles.filter(markup).is_empty()
    first_story = articles["article_id"][0]
    assert stories.filter(pl.col("status") == "duplicate")["article_id"].to_list() == [first_story, first_story]
    runs = query(warehouse, "SELECT files_seen, files_loaded, files_ignored, articles_loaded FROM runs").row(0)
    assert runs == (2, 2, 3, 4)  # the .part, the swap file and the hidden folder: no ledger row

    assert ingest_in_process(source, warehouse).processed == ()  # a rerun reads nothing

    # The download completes and the agency file changes: one story edited, one gone.
    (source / "story.txt.part").unlink()
    _download(source, story)
    edited = {**three[1], "body": three[1]["body"] + "\nفقرة أضيفت بعد النشر الأول للخبر."}
    docs = [_story_doc(GIGAWORD_IDS[0], three[0]), _story_doc(GIGAWORD_IDS[1], edited)]
    (source / "agency" / "afp.sgml").write_text("".join(docs), encoding="utf-8")
    third = ingest_in_process(source, warehouse)
    assert sorted(third.processed) == ["agency/afp.sgml", "story.txt"]
    downloaded = query(warehouse, "SELECT status, reason FROM ingest_ledger WHERE source_path = 'story.txt'").row(0)
    assert downloaded == ("loaded", None)  # an article of its own, never a duplicate of its partial
    after = query(warehouse, "SELECT source_doc_id FROM articles WHERE source_path = 'agency/afp.sgml' "
                             "ORDER BY story_index")["source_doc_id"].to_list()
    assert after == list(GIGAWORD_IDS[:2])  # exactly the file's new stories replace its old ones
    assert query(warehouse, "SELECT count(*) FROM story_ledger WHERE source_path = 'agency/afp.sgml'").item() == 2

    # Pieces equal the whole: one run over the final folder gives the same warehouse.
    ingest_in_process(source, whole)
    assert state(warehouse) == state(whole)


# ---------------------------------------------------------------- one end-to-end run through the CLI


@pytest.mark.e2e
def test_cli_run_filters_the_folder_and_loads_every_story(prefect_api_url, akhbar, tmp_path: Path) -> None:
    source, warehouse = tmp_path / "in", tmp_path / "wh"
    _folder(source, gigaword_file(SEED_ARTICLES[:3]))
    (source / "story.txt.part").write_bytes(SEEDS.joinpath(SEED_ARTICLES[4]["source_path"]).read_bytes()[:1500])
    (source / "drafts").mkdir()
    (source / "drafts" / "draft.txt").write_bytes(SEEDS.joinpath(SEED_ARTICLES[4]["source_path"]).read_bytes())
    (source / "agency" / "README.md").write_text("ملاحظات")
    (source / ".akhbarignore").write_text("drafts/\n")
    result = akhbar(["run", "--input", str(source), "--warehouse", str(warehouse), "--exclude", "*.md"])
    assert result.returncode == 0, result.stderr
    # Ignored: .akhbarignore, the swap file, .thumbnails/, story.txt.part, drafts/ and agency/README.md.
    assert "2 seen, 2 loaded" in result.stdout and "6 ignored" in result.stdout
    assert query(warehouse, "SELECT files_ignored FROM runs").item() == 6
    assert query(warehouse, "SELECT count(*) FROM ingest_ledger").item() == 2
    assert query(warehouse, "SELECT count(*) FROM story_ledger").item() == 6
    titles = query(warehouse, "SELECT title FROM articles WHERE source_path = 'agency/afp.sgml' "
                              "ORDER BY story_index")["title"].to_list()
    assert titles == [f"{seed['title'] or 'خبر'} & تفاصيل" for seed in SEED_ARTICLES[:3]]
    bad = akhbar(["run", "--input", str(source), "--warehouse", str(warehouse), "--include", "[z-a]"])
    assert bad.returncode == 2 and bad.stderr.startswith("akhbar: invalid ignore pattern")


def test_a_plain_article_opening_with_braces_is_not_json_lines() -> None:
    body = SEED_ARTICLES[3]["body"]
    frame = pl.DataFrame({"source_path": ["a.txt"], "text": [f"{{عاجل}}\n\n{body}\n"], "status": [None],
                          "reason": [None]}, schema_overrides={"status": pl.String, "reason": pl.String})
    row = parse_articles(frame).row(0, named=True)
    assert (row["format"], row["status"], row["story_index"]) == ("plain", None, 0)
