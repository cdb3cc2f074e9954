"""Golden hostile folder, end to end: every kind of bad input gets one ledger row with a precise reason.

One folder holds every hostile kind of the input contract; one flow run over it must complete, give
every file exactly one ledger row with the reason below, never read anything outside the folder,
and a second run must add nothing. Copies of a seed in other encodings load with the very body of
the UTF-8 original.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import random
import signal
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import SEEDS
from tests.warehouse_state import query, state

pytestmark = pytest.mark.e2e

SIZE_LIMIT = 1_000_000  # the run's max_file_bytes (the default is 50 MiB)
HUGE = 30 * 1024 * 1024  # "tens of MB"; sparse, so it costs no disk
MARKER = "وثيقةخارجيةسرية7f3a"  # only in the file outside the input folder
SECRET = f"""هذا نص خبر يقع خارج مجلد الإدخال ولا يجوز أن يقرأه أحد {MARKER}.
وقال مسؤول إن الوثيقة ما زالت سرية حتى الآن، وإن نشرها ممنوع بموجب القانون.
"""
ENGLISH = (
    "The foreign ministers met in Vienna on Tuesday to discuss the agreement.\n"
    "Officials said the talks would continue next week, according to several agencies.\n"
    "No statement was issued after the meeting, which lasted more than four hours.\n"
)
TREC_TEXT = """وقالت وزارة الصحة في بيان صدر مساء الأحد إن عدد الإصابات الجديدة تراجع للأسبوع الثالث.
وأضاف البيان أن المستشفيات الحكومية استقبلت خلال الأيام الماضية عددا أقل من المرضى مقارنة بالشهر الماضي.
وأكدت الوزارة أنها ستواصل حملات التوعية في المدارس والجامعات حتى نهاية العام الدراسي الحالي.
"""
TREC = f"""<DOC>
<DOCNO>HOSTILE-health-1-20180301</DOCNO>
<URL>https://example.com/news/1</URL>
<SRC>hostile-news</SRC>
<CAT>health</CAT>
<TITLE>تراجع الإصابات للأسبوع الثالث</TITLE>
<TIME>Thu, 01 Mar 2018 12:29:04 +0400</TIME>
<AUTHOR></AUTHOR>
<ABSTRACT>
تراجع عدد الإصابات الجديدة.
</ABSTRACT>
<TEXT>
{TREC_TEXT}</TEXT>
</DOC>
"""

TRUNCATED_NOTE = "truncated multi-byte sequence at end of file: 1 byte dropped"
ORIGINAL = "0 original utf-8.txt"  # sorts first: the copies below are its duplicates
ENCODED_COPIES = {  # name -> (bytes of seed 000, the encoding the reader must report)
    "1 copy windows-1256.txt": ("windows-1256", "windows-1256"),
    "1 copy utf-16.txt": ("utf-16", "utf-16-le"),
    "1 copy bom crlf.txt": ("utf-8-sig+crlf", "utf-8-sig"),
}
ARABIC_NAME = "خبر عاجل [نسخة] (2).txt"
NESTED = "nested/deeper/still deeper/مقال.txt"


@dataclass(frozen=True)
class Expected:
    status: str
    reason: str | None  # the exact reason of a rejected file (other statuses are checked by rule)


EXPECTED: dict[str, Expected] = {
    "empty.txt": Expected("rejected", "empty file (0 bytes)"),
    "whitespace only.txt": Expected("rejected", "whitespace-only file (11 bytes)"),
    "image.png": Expected("rejected", "binary content: 11 NUL bytes and not UTF-16 text"),
    "only boilerplate.txt": Expected("rejected", "no article text: only boilerplate"),
    "two articles in one file.txt": Expected(
        "rejected", "unrecognised format: 2 <DOC> elements in one file (one article per file expected)"
    ),
    "english.txt": Expected("quarantined", None),
    "huge.txt": Expected(
        "rejected",
        f"file too large: {HUGE:,} bytes, the limit is {SIZE_LIMIT:,} (AKHBAR_MAX_FILE_BYTES)",
    ),
    "truncated mid-letter.txt": Expected("loaded", None),
    "trec truncated mid-letter.txt": Expected("loaded", None),
    ARABIC_NAME: Expected("loaded", None),
    NESTED: Expected("loaded", None),
    ORIGINAL: Expected("loaded", None),
    **{name: Expected("duplicate", None) for name in ENCODED_COPIES},
    "symlink inside.txt": Expected("duplicate", None),
    "symlink outside.txt": Expected(
        "rejected", "symbolic link to a location outside the input folder; not followed"
    ),
    "linked folder outside": Expected(
        "rejected", "symbolic link to a folder outside the input folder; not followed"
    ),
    "dangling link.txt": Expected("rejected", "symbolic link whose target does not exist; not followed"),
    "pipe.fifo": Expected("rejected", "not a regular file (device, socket or pipe); not opened"),
    "line\nbreak in name.txt": Expected("loaded", None),
}
if os.geteuid() != 0:
    EXPECTED["unreadable.txt"] = Expected("rejected", "unreadable: Permission denied")


def seed_text(index: int) -> str:
    return next(SEEDS.glob(f"{index:03d}_*.txt")).read_text(encoding="utf-8")


def encode(text: str, how: str) -> bytes:
    if how == "utf-8-sig+crlf":
        return codecs.BOM_UTF8 + text.replace("\n", "\r\n").encode("utf-8")
    return text.encode(how)


def cut_inside_a_letter(data: bytes, near: int) -> bytes:
    """``data`` cut one byte into the first two-byte UTF-8 letter at or after ``near``."""
    start = next(i for i in range(near, len(data)) if 0xC2 <= data[i] <= 0xDF)
    return data[: start + 1]


def build_hostile(root: Path) -> Path:
    """The golden hostile folder under ``root / "input"`` (and a secret under ``root / "outside"``)."""
    source, outside = root / "input", root / "outside"
    outside.mkdir(parents=True)
    (outside / "secret.txt").write_text(SECRET, encoding="utf-8")
    source.mkdir()

    def put(name: str, data: bytes) -> None:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_bytes(data)

    put("empty.txt", b"")
    put("whitespace only.txt", b"  \n\t\n \r\n  \n")
    put("image.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8)
    put("only boilerplate.txt", "زر الذهاب إلى الأعلى\n\nتعليقك\n".encode())
    put(
        "two articles in one file.txt", (TREC + TREC.replace("HOSTILE-health-1", "HOSTILE-health-2")).encode()
    )
    put("english.txt", ENGLISH.encode())
    with (source / "huge.txt").open("wb") as handle:
        handle.truncate(HUGE)
    put("truncated mid-letter.txt", cut_inside_a_letter(seed_text(1).encode(), near=2000))
    put(
        "trec truncated mid-letter.txt",
        cut_inside_a_letter(TREC.encode(), near=TREC.encode().index(b"<TEXT>") + 300),
    )
    put(ARABIC_NAME, seed_text(2).encode())
    put(NESTED, seed_text(3).encode())
    put(ORIGINAL, seed_text(0).encode())
    for name, (how, _) in ENCODED_COPIES.items():
        put(name, encode(seed_text(0), how))
    (source / "symlink inside.txt").symlink_to(source / NESTED)
    (source / "symlink outside.txt").symlink_to(outside / "secret.txt")
    (source / "linked folder outside").symlink_to(outside, target_is_directory=True)
    (source / "dangling link.txt").symlink_to(root / "does-not-exist.txt")
    os.mkfifo(source / "pipe.fifo")  # a writer that never comes: opening it would block forever
    put("line\nbreak in name.txt", seed_text(4).encode())
    if "unreadable.txt" in EXPECTED:
        put("unreadable.txt", SECRET.replace(MARKER, "لا يقرأ").encode())
        (source / "unreadable.txt").chmod(0)
    return source


# --- watching what the process opens -----------------------------------------------------------

_WATCHED: list[str] = []  # real paths of folders in which nothing may be opened or listed
_TOUCHED: list[str] = []  # what was opened or listed there anyway
_HOOKED: list[bool] = []


def _audit(event: str, args: tuple) -> None:
    if not _WATCHED or event not in ("open", "os.listdir", "os.scandir") or not args:
        return
    target = args[0]
    if target is None or isinstance(target, int):
        return
    # Through links too: the real path is what counts ("symlink outside.txt" -> outside/secret.txt).
    path = os.path.realpath(os.fsdecode(target))
    if any(path == folder or path.startswith(folder + os.sep) for folder in _WATCHED):
        _TOUCHED.append(f"{event} {target!r} -> {path}")


@contextlib.contextmanager
def watching(folder: Path) -> Iterator[list[str]]:
    """Record every open, listdir and scandir of this process under ``folder``, through links too."""
    if not _HOOKED:
        sys.addaudithook(_audit)  # cannot be removed; it returns at once while nothing is watched
        _HOOKED.append(True)
    _TOUCHED.clear()
    _WATCHED[:] = [os.path.realpath(folder)]
    touched: list[str] = []
    try:
        yield touched
    finally:
        _WATCHED.clear()
        touched.extend(_TOUCHED)


def test_the_watch_sees_reads_through_links(tmp_path: Path) -> None:
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text("x")
    (tmp_path / "link.txt").symlink_to(tmp_path / "outside" / "secret.txt")
    with watching(tmp_path / "outside") as touched:
        (tmp_path / "link.txt").read_bytes()
        os.listdir(tmp_path)
    assert len(touched) == 1 and touched[0].startswith("open ")


# --- the run ------------------------------------------------------------------------------------


def ingest(input_dir: Path, warehouse: Path, **kwargs):
    from flows.ingest import ingest as ingest_flow

    return ingest_flow(str(input_dir), str(warehouse), **kwargs)


def _alarm(signum, frame):
    raise TimeoutError("the run blocked (a FIFO opened for reading?)")


@contextlib.contextmanager
def unblocked(seconds: int = 300) -> Iterator[None]:
    """A run that opens the FIFO blocks forever: fail instead."""
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@dataclass(frozen=True)
class HostileRun:
    root: Path
    source: Path
    warehouse: Path
    summary: object
    second: object
    ledger: dict[str, dict]
    state_after_first: dict
    state_after_second: dict
    touched_outside: list[str]


@pytest.fixture(scope="module")
def hostile(prefect_api_url, tmp_path_factory) -> HostileRun:
    root = tmp_path_factory.mktemp("hostile")
    source = build_hostile(root)
    warehouse = root / "warehouse"
    with unblocked(), watching(root / "outside") as touched:
        summary = ingest(source, warehouse, max_file_bytes=SIZE_LIMIT)
        first = state(warehouse)
        second = ingest(source, warehouse, max_file_bytes=SIZE_LIMIT)
    ledger = {r["source_path"]: r for r in query(warehouse, "SELECT * FROM ingest_ledger").rows(named=True)}
    return HostileRun(root, source, warehouse, summary, second, ledger, first, state(warehouse), touched)


def test_run_completes_with_one_ledger_row_per_file(hostile: HostileRun) -> None:
    summary = hostile.summary
    assert summary.status == "completed"
    assert summary.files_seen == len(EXPECTED)
    assert sorted(hostile.ledger) == sorted(EXPECTED)
    ledger_rows = query(hostile.warehouse, "SELECT count(*) AS n FROM ingest_ledger")["n"][0]
    assert ledger_rows == len(EXPECTED)
    by_status = {
        s: sum(e.status == s for e in EXPECTED.values()) for s in ("loaded", "duplicate", "rejected")
    }
    assert (
        summary.files_loaded,
        summary.files_duplicate,
        summary.files_rejected,
        summary.files_quarantined,
    ) == (by_status["loaded"], by_status["duplicate"], by_status["rejected"], 1)
    assert summary.files_deferred == 0
    run = query(hostile.warehouse, "SELECT * FROM runs").row(0, named=True)
    assert run["status"] == "completed" and run["files_seen"] == len(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_file_ends_with_its_precise_status_and_reason(hostile: HostileRun, name: str) -> None:
    row, expected = hostile.ledger[name], EXPECTED[name]
    assert row["status"] == expected.status, row["reason"]
    if expected.status == "loaded":
        assert row["reason"] is None and row["article_id"] is not None
    elif expected.status == "duplicate":
        assert row["reason"].startswith("exact duplicate of article ") and row["article_id"] is not None
    elif expected.status == "quarantined":
        assert "lang" in row["reason"] and row["article_id"] is None
    else:
        assert row["reason"] == expected.reason


def test_quarantined_foreign_language_names_the_language(hostile: HostileRun) -> None:
    row = query(hostile.warehouse, "SELECT * FROM quarantine").row(0, named=True)
    assert row["source_path"] == "english.txt"
    assert row["reason"] == hostile.ledger["english.txt"]["reason"]
    assert "lang" in row["reason"] and "en" in row["reason"]
    assert row["lang"] == "en" and row["body"].startswith("The foreign ministers met in Vienna")


def test_truncated_files_keep_what_decodes_and_say_so(hostile: HostileRun) -> None:
    articles = {
        r["source_path"]: r
        for r in query(
            hostile.warehouse, "SELECT source_path, body, read_note, format, encoding FROM articles"
        ).rows(named=True)
    }
    plain, trec = articles["truncated mid-letter.txt"], articles["trec truncated mid-letter.txt"]
    for article in (plain, trec):
        assert article["read_note"] == TRUNCATED_NOTE and article["encoding"] == "utf-8"
    assert (plain["format"], trec["format"]) == ("plain", "trec")
    # The cut-off letter is gone, everything before it is there.
    kept = cut_inside_a_letter(seed_text(1).encode(), near=2000)[:-1].decode()
    assert plain["body"].split("\n")[-1] == kept.split("\n")[-1].strip()
    assert len(plain["body"]) > 1000
    first_line = TREC_TEXT.split("\n")[0]
    assert trec["body"].startswith(first_line) and TREC_TEXT.startswith(trec["body"])
    assert len(trec["body"]) > len(first_line)
    assert all(r["read_note"] is None for p, r in articles.items() if "truncated" not in p)


def test_nothing_outside_the_input_folder_is_read(hostile: HostileRun) -> None:
    assert hostile.touched_outside == []
    for relation in (
        "articles",
        "entity_mentions",
        "entities",
        "duplicates",
        "ingest_ledger",
        "ledger_history",
        "quarantine",
        "runs",
        "validation_results",
    ):
        frame = query(hostile.warehouse, f"SELECT * FROM {relation}")
        text = frame.select(pl.concat_str(pl.all().cast(pl.String), separator="\x00", ignore_nulls=True))
        assert not text.to_series().str.contains(MARKER, literal=True).any(), relation
        assert not text.to_series().str.contains("secret.txt", literal=True).any(), relation


def test_symlink_inside_the_folder_is_read_as_its_target(hostile: HostileRun) -> None:
    link, target = hostile.ledger["symlink inside.txt"], hostile.ledger[NESTED]
    assert link["article_id"] == target["article_id"]
    assert link["sha256"] == target["sha256"]


def test_copies_in_other_encodings_are_duplicates_of_the_utf8_original(hostile: HostileRun) -> None:
    original = hostile.ledger[ORIGINAL]
    duplicates = {
        r["source_path"]: r for r in query(hostile.warehouse, "SELECT * FROM duplicates").rows(named=True)
    }
    for name in ENCODED_COPIES:
        assert hostile.ledger[name]["article_id"] == original["article_id"], name
        assert (duplicates[name]["duplicate_of"], duplicates[name]["kind"]) == (
            original["article_id"],
            "exact",
        )


@pytest.mark.parametrize("name", sorted(ENCODED_COPIES))
def test_each_encoding_alone_loads_the_body_of_the_utf8_original(
    prefect_api_url, hostile: HostileRun, tmp_path: Path, name: str
) -> None:
    how, reported = ENCODED_COPIES[name]
    source = tmp_path / "input"
    source.mkdir()
    (source / name).write_bytes(encode(seed_text(0), how))
    summary = ingest(source, tmp_path / "warehouse")
    assert (summary.status, summary.files_loaded) == ("completed", 1)
    copy = query(tmp_path / "warehouse", "SELECT * FROM articles").row(0, named=True)
    original = query(hostile.warehouse, f"SELECT * FROM articles WHERE source_path = '{ORIGINAL}'").row(
        0, named=True
    )
    assert copy["encoding"] == reported and original["encoding"] == "utf-8"
    for column in ("body", "title", "section", "byline", "publisher", "article_id", "content_hash"):
        assert copy[column] == original[column], column


def test_second_run_adds_nothing(hostile: HostileRun) -> None:
    second = hostile.second
    assert second.status == "completed"
    assert (second.files_seen, second.files_unchanged) == (len(EXPECTED), len(EXPECTED))
    assert (second.files_loaded, second.files_duplicate, second.files_rejected, second.files_quarantined) == (
        0,
    ) * 4
    assert hostile.state_after_second == hostile.state_after_first


@pytest.mark.skipif(os.geteuid() == 0, reason="permission bits do not stop root from reading a file")
def test_unreadable_file_is_rejected(hostile: HostileRun) -> None:
    assert hostile.ledger["unreadable.txt"]["reason"] == "unreadable: Permission denied"


def test_cli_exit_code_and_ledger_on_the_hostile_folder(
    prefect_api_url, akhbar, hostile: HostileRun, tmp_path: Path
) -> None:
    """`akhbar run` exits 0 and records the same ledger; AKHBAR_MAX_FILE_BYTES sets its size limit."""
    source = build_hostile(tmp_path)
    with unblocked():
        result = akhbar(
            ["run", "--input", str(source), "--warehouse", str(tmp_path / "wh")],
            extra_env={"AKHBAR_MAX_FILE_BYTES": str(SIZE_LIMIT)},
        )
    assert result.returncode == 0, result.stderr
    ledger = query(tmp_path / "wh", "SELECT source_path, status, reason, article_id FROM ingest_ledger")
    assert sorted(ledger.rows()) == sorted(
        (p, r["status"], r["reason"], r["article_id"]) for p, r in hostile.ledger.items()
    )


# --- what the flow does not do yet -------------------------------------------------------------


def test_file_name_that_is_not_utf8_gets_a_ledger_row(prefect_api_url, tmp_path: Path) -> None:
    source = tmp_path / "input"
    source.mkdir()
    (source / "good.txt").write_bytes(seed_text(0).encode())
    with open(os.fsencode(source) + b"/caf\xe9 \xd1\xc8\xc7\xd1.txt", "wb") as handle:  # Latin-1/cp1256 bytes
        handle.write(seed_text(2).encode())
    summary = ingest(source, tmp_path / "wh")
    assert summary.status == "completed" and summary.files_seen == 2
    ledger = {
        r["source_path"]: r for r in query(tmp_path / "wh", "SELECT * FROM ingest_ledger").rows(named=True)
    }
    assert len(ledger) == 2 and ledger.pop("good.txt")["status"] == "loaded"
    ((name, row),) = ledger.items()
    assert name.startswith("caf")  # shown with its undecodable bytes escaped
    assert row["status"] == "loaded" or (row["status"] == "rejected" and row["reason"])


def test_symlink_loop_is_named_as_a_loop(tmp_path: Path) -> None:
    from transforms.discover import discover
    from transforms.schema import LEDGER

    (tmp_path / "a.txt").symlink_to(tmp_path / "b.txt")
    (tmp_path / "b.txt").symlink_to(tmp_path / "a.txt")
    found = discover(tmp_path, LEDGER.empty()).candidates
    assert found.height == 2
    assert all("loop" in reason for reason in found["reason"])


_WORDS = (
    "الحكومة الوزير المدينة الاقتصاد المباراة المجلس الشركة الرئيس البرلمان الجيش السوق الملعب المستشفى "
    "الجامعة المطار الميناء قال أعلن أكد أضاف اليوم أمس الأسبوع الماضي المقبل في على من إلى مع بعد قبل "
    "خلال الذي التي عن بين حتى لكن كما أيضا وزارة الصحة التعليم النفط الطاقة المياه الكهرباء الزراعة"
)
VOCABULARY = _WORDS.split()


def trec_article(publisher: str, number: int, paragraphs: list[str]) -> str:
    return (
        TREC.replace("HOSTILE-health-1", f"{publisher}-{number}")
        .replace("<SRC>hostile-news</SRC>", f"<SRC>{publisher}</SRC>")
        .replace(TREC_TEXT, "\n".join(paragraphs) + "\n")
    )


def test_file_with_only_learned_boilerplate_is_rejected(prefect_api_url, tmp_path: Path) -> None:
    footer = "*نقلاً عن صحيفة الرؤية الإماراتية"
    source = tmp_path / "input"
    source.mkdir()
    rng = random.Random(4)
    for i in range(10):  # ten unrelated articles: no two share a run of five words
        paragraphs = [" ".join(rng.choices(VOCABULARY, k=25)) + "." for _ in range(3)]
        (source / f"article {i:02d}.txt").write_text(trec_article("site", i, [*paragraphs, footer]))
    (source / "zz footer only.txt").write_text(trec_article("site", 99, [footer]))
    summary = ingest(source, tmp_path / "wh")
    assert (summary.status, summary.files_loaded, summary.files_rejected) == ("completed", 10, 1)
    row = query(tmp_path / "wh", "SELECT * FROM ingest_ledger WHERE source_path = 'zz footer only.txt'")
    assert row.row(0, named=True)["reason"] == "no article text: only boilerplate lines of site"
    bodies = query(tmp_path / "wh", "SELECT body FROM articles")["body"]
    assert not bodies.str.contains(footer, literal=True).any()
