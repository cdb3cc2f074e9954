"""Decoded text -> article fields, for both input formats."""

from __future__ import annotations

import codecs
import hashlib
import re
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from transforms.frame import REJECTED
from transforms.normalize import clean_display_text
from transforms.parse import ParseConfig, parse_articles
from transforms.read import decode_files
from transforms.schema import INPUT_SCHEMA, PARSED_SCHEMA

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"
CORPUS = REPO.parent / "shared" / "data" / "news_corpus" / "ant_multisource_v2.1"
BOILERPLATE = ("زر الذهاب إلى الأعلى", "تعليقك", "/انتهى/", "صحيفة الوطن")


def input_frame(raws: list[bytes | None], paths: list[str] | None = None) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "source_path": paths or [f"in/{i}.txt" for i in range(len(raws))],
            "size_bytes": [None if raw is None else len(raw) for raw in raws],
            "mtime_ns": [0] * len(raws),
            "sha256": [None if raw is None else hashlib.sha256(raw).hexdigest() for raw in raws],
            "raw": raws,
            "status": [None] * len(raws),
            "reason": [None] * len(raws),
        },
        schema=INPUT_SCHEMA,
    )


def parse(*texts: str, paths: list[str] | None = None, config: ParseConfig | None = None) -> pl.DataFrame:
    return parse_articles(decode_files(input_frame([t.encode() for t in texts], paths)), config or ParseConfig())


def parse_one(text: str, path: str = "in/x.txt", config: ParseConfig | None = None) -> dict:
    return parse(text, paths=[path], config=config).row(0, named=True)


@pytest.fixture(scope="module")
def seeds() -> dict[str, dict]:
    paths = sorted(SEEDS.glob("*.txt"))
    out = parse_articles(decode_files(input_frame([p.read_bytes() for p in paths], [f"seeds/{p.name}" for p in paths])))
    return {row["source_path"][6:9]: row for row in out.iter_rows(named=True)}


# --- seeds (golden) ----------------------------------------------------------------------------


def test_all_seeds_parse_as_plain_with_their_file_ids(seeds: dict[str, dict]) -> None:
    assert {k: (r["status"], r["format"]) for k, r in seeds.items()} == {k: (None, "plain") for k in seeds}
    assert [r["source_doc_id"] for r in seeds.values()] == [
        "b06b58c1988d3a64",
        "0ec92b62fb6eb8c6",
        "17848a7770633ebb",
        "30031199c19bcac7",
        "e4e0e2c84b5f7231",
    ]
    for row in seeds.values():
        assert row["url"] is None and row["published_at"] is None and row["abstract"] is None


def test_seed_002_fields(seeds: dict[str, dict]) -> None:
    row = seeds["002"]
    assert row["section"] == "سورية"
    assert row["title"] == (
        "مباحثات سورية إيرانية قبيل «أستانا 7».. وطهران ستدعم دمشق حتى تحقيق النصر … "
        "المقداد: التقدم مستمر نحو الحدود العراقية لتحرير البوكمال"
    )
    assert row["byline"] == "وكالات"
    assert row["publisher"] == "صحيفة الوطن"
    paragraphs = row["body"].split("\n")
    assert len(paragraphs) == 23
    assert paragraphs[0].startswith("قبل أيام قليلة من اجتماع «أستانا 7»، وفي ظل مسابقة")
    assert paragraphs[-1].endswith("المقترحات الجديدة لإرساء الاستقرار المستديم فيها.")


def test_seed_003_fields(seeds: dict[str, dict]) -> None:
    row = seeds["003"]
    assert (row["section"], row["title"], row["byline"], row["publisher"]) == (
        "سورية",
        "شمخاني وباتروشيف: لرفع وتيرة التصدي للإرهاب في سورية والعراق",
        "الوطن – وكالات",
        "صحيفة الوطن",
    )
    paragraphs = row["body"].split("\n")
    assert len(paragraphs) == 2
    assert paragraphs[0].startswith("أكد أمين المجلس الأعلى للأمن القومي الإيراني علي شمخاني")
    assert paragraphs[1].endswith("السعودية التي تحرم شعبها من هذه الحقوق.")


def test_seeds_without_header_have_no_header_fields(seeds: dict[str, dict]) -> None:
    for key in ("000", "001", "004"):
        row = seeds[key]
        assert (row["section"], row["title"], row["byline"], row["publisher"]) == (None, None, None, None)
    # One paragraph per line, untouched: these files are not hard-wrapped.
    assert seeds["000"]["body"] == (SEEDS / "000_b06b58c1988d3a64.txt").read_text().strip()
    assert len(seeds["001"]["body"].split("\n")) == 10


def test_no_boilerplate_in_any_seed_body(seeds: dict[str, dict]) -> None:
    for row in seeds.values():
        for fragment in BOILERPLATE:
            assert fragment not in row["body"], (row["source_path"], fragment)
        assert row["body"] == row["body"].strip()
        assert all(p.strip() == p and p for p in row["body"].split("\n"))
    assert seeds["001"]["body"].endswith("في مكافحة الارهاب.")


def test_seed_004_hard_wrapped_lines_are_joined_into_whole_paragraphs(seeds: dict[str, dict]) -> None:
    paragraphs = seeds["004"]["body"].split("\n")
    assert len(paragraphs) == 12
    assert paragraphs[0] == (
        "عقد وزراء دفاع كل من إيران وروسيا وسوريا، الخميس، محادثات في طهران؛ لبحث تكثيف المواجهات مع "
        '"الجماعات الإرهابية" في سوريا.'
    )
    assert paragraphs[1].startswith("وقال وزير الدفاع الإيراني، الجنرال حسين دهقان، إنه عازم")
    assert paragraphs[-1].endswith("وجاءت التصريحات المقتضبة عقب اللقاء لتؤكد الخلاف رغم مساعي إبرازه على نحو مختلف.")
    assert all(re.search(r"[.»\"]$", p) for p in paragraphs)


@pytest.mark.parametrize("seed", sorted(SEEDS.glob("*.txt")), ids=lambda p: p.name[:3])
def test_other_encodings_of_a_seed_give_the_same_article(seed: Path) -> None:
    text = seed.read_text(encoding="utf-8")
    crlf = text.replace("\n", "\r\n")
    raws = [
        text.encode(),
        text.encode("cp1256"),
        codecs.BOM_UTF16_LE + text.encode("utf-16-le"),
        codecs.BOM_UTF8 + crlf.encode(),
    ]
    out = parse_articles(decode_files(input_frame(raws, [f"copies/{seed.name}"] * 4)))
    assert out["encoding"].to_list() == ["utf-8", "windows-1256", "utf-16-le", "utf-8-sig"]
    fields = out.select(*PARSED_SCHEMA, "status").rows()
    assert fields[0][-1] is None
    assert fields == [fields[0]] * 4


# --- TREC -------------------------------------------------------------------------------------

TREC_DOC = """<DOC>
<DOCNO>XX-economy-7-20180301</DOCNO>
<URL>http://example.org/ar/2018/03/01/خبر.html</URL>
<SRC>example</SRC>
<CAT>economy</CAT>
<TITLE>الذهب يتعافى
 مع تراجع الدولار</TITLE>
<TIME>Thu, 01 Mar 2018 18:50:55 +0400</TIME>
<AUTHOR>القاهرة - وكالات</AUTHOR>
<ABSTRACT>
تعافت أسعار الذهب.
</ABSTRACT>
<TEXT>
تعافت أسعار الذهب من أدنى مستوياتها.

  وسجل نمو الوظائف زيادة.  \t
يمكنكم استلام إشعارات بأهم الموضوعات بعد تحميل أحدث نسخة من تطبيق بي بي سي عربي على هاتفكم المحمول.
وقفز البلاديوم 1.7 بالمئة.
</TEXT>
</DOC>
"""


def test_trec_fields() -> None:
    row = parse_one(TREC_DOC, "news/whatever.txt")
    assert row["status"] is None and row["format"] == "trec"
    assert row["source_doc_id"] == "XX-economy-7-20180301"
    assert row["url"] == "http://example.org/ar/2018/03/01/خبر.html"
    assert row["publisher"] == "example"
    assert row["section"] == "economy"
    assert row["title"] == "الذهب يتعافى مع تراجع الدولار"
    assert row["byline"] == "القاهرة - وكالات"
    assert row["abstract"] == "تعافت أسعار الذهب."
    assert row["published_at"] == datetime(2018, 3, 1, 14, 50, 55, tzinfo=UTC)
    assert row["body"] == "تعافت أسعار الذهب من أدنى مستوياتها.\nوسجل نمو الوظائف زيادة.\nوقفز البلاديوم 1.7 بالمئة."


def test_trec_empty_author_is_null_and_gmt_dates_parse() -> None:
    doc = TREC_DOC.replace("<AUTHOR>القاهرة - وكالات</AUTHOR>", "<AUTHOR></AUTHOR>").replace(
        "Thu, 01 Mar 2018 18:50:55 +0400", "Mon, 9 Apr 2018 14:43:41 GMT"
    )
    row = parse_one(doc)
    assert row["byline"] is None
    assert row["published_at"] == datetime(2018, 4, 9, 14, 43, 41, tzinfo=UTC)


def test_trec_unreadable_date_is_null_not_an_error() -> None:
    row = parse_one(TREC_DOC.replace("Thu, 01 Mar 2018 18:50:55 +0400", "yesterday"))
    assert row["status"] is None and row["published_at"] is None


def test_trec_with_a_cut_off_text_element_keeps_the_text() -> None:
    row = parse_one(TREC_DOC.split("</TEXT>")[0].replace("وقفز البلاديوم 1.7 بالمئة.", "وقفز البلا"))
    assert row["status"] is None and row["body"].endswith("وقفز البلا")


def test_trec_rejections() -> None:
    empty = re.sub(r"(?s)<TEXT>.*</TEXT>", "<TEXT>\n\n</TEXT>", TREC_DOC)
    only_boilerplate = re.sub(r"(?s)<TEXT>.*</TEXT>", "<TEXT>\nزر الذهاب إلى الأعلى\n</TEXT>", TREC_DOC)
    no_text = re.sub(r"(?s)<TEXT>.*</TEXT>", "", TREC_DOC)
    two = TREC_DOC + TREC_DOC
    out = parse(empty, only_boilerplate, no_text, two)
    assert out["status"].to_list() == [REJECTED] * 4
    assert out["reason"].to_list() == [
        "no article text: empty <TEXT> element",
        "no article text: only boilerplate in the <TEXT> element",
        "unrecognised format: TREC-style tags but no <TEXT> element",
        "unrecognised format: 2 <DOC> elements in one file (one article per file expected)",
    ]
    assert out["format"].to_list() == ["trec"] * 4
    assert out["title"].to_list()[0] == "الذهب يتعافى مع تراجع الدولار"  # parsed as far as it went


def test_format_is_sniffed_from_content_not_the_file_name() -> None:
    out = parse(TREC_DOC, "نص عادي.", paths=["a/plain_0123456789abcdef.txt", "b/doc.trec"])
    assert out["format"].to_list() == ["trec", "plain"]
    assert out["source_doc_id"].to_list() == ["XX-economy-7-20180301", None]


# --- plain ------------------------------------------------------------------------------------


def test_title_without_byline() -> None:
    row = parse_one("عنوان الخبر\n\nالفقرة الأولى.\nالفقرة الثانية.\n")
    assert (row["title"], row["section"], row["byline"]) == ("عنوان الخبر", None, None)
    assert row["body"] == "الفقرة الأولى.\nالفقرة الثانية."


def test_section_and_title_without_byline() -> None:
    row = parse_one("اقتصاد\n\nعنوان الخبر الطويل نسبيا\n\nالفقرة الأولى.\n")
    assert (row["section"], row["title"]) == ("اقتصاد", "عنوان الخبر الطويل نسبيا")
    assert row["body"] == "الفقرة الأولى."


def test_byline_right_after_title() -> None:
    row = parse_one("عنوان\n\n|  رويترز \n\nنص الخبر.")
    assert (row["section"], row["title"], row["byline"], row["body"]) == (None, "عنوان", "رويترز", "نص الخبر.")


def test_long_first_line_before_byline_is_title_and_subtitle_stays_in_body() -> None:
    row = parse_one("عنوان الخبر الرئيسي هنا بكلمات كثيرة\n\nعنوان فرعي\n\n| وكالات\n\nنص الخبر.")
    assert (row["section"], row["title"], row["byline"]) == (None, "عنوان الخبر الرئيسي هنا بكلمات كثيرة", "وكالات")
    assert row["body"] == "عنوان فرعي\nنص الخبر."


def test_first_paragraph_ending_a_sentence_is_not_a_title() -> None:
    row = parse_one("هذه فقرة أولى.\n\nوهذه فقرة ثانية.")
    assert row["title"] is None and row["body"] == "هذه فقرة أولى.\nوهذه فقرة ثانية."


def test_publisher_footer_only_counts_as_the_last_line() -> None:
    row = parse_one("نص.\nصحيفة الوطن\nنص آخر.\n\nصحيفة الوطن\n")
    assert row["publisher"] == "صحيفة الوطن"
    assert row["body"] == "نص.\nصحيفة الوطن\nنص آخر."


def test_boilerplate_lines_and_end_marks_are_dropped_anywhere() -> None:
    row = parse_one("أول.\n  زر الذهاب إلى الأعلى  \nثان./انتهى/\n---------\nتعليقك\nثالث / انتهى /.")
    assert row["body"] == "أول.\nثان.\nثالث ."


def test_a_normal_file_with_one_subheading_is_not_unwrapped() -> None:
    text = "فقرة أولى كاملة.\nعنوان فرعي\nفقرة ثانية كاملة.\nفقرة ثالثة.\nفقرة رابعة.\nفقرة خامسة."
    assert parse_one(text)["body"] == text


def test_hard_wrapped_file_is_unwrapped_but_blank_lines_still_separate_paragraphs() -> None:
    text = "هذه جملة\nمقطوعة في\nالوسط.\n\nوهذه\nأخرى.\nوثالثة كاملة."
    assert parse_one(text)["body"] == "هذه جملة مقطوعة في الوسط.\nوهذه أخرى.\nوثالثة كاملة."


def test_unwrap_thresholds_are_configurable() -> None:
    text = "هذه جملة\nمقطوعة في\nالوسط."
    assert parse_one(text, config=ParseConfig(unwrap_min_lines=3))["body"] == text


def test_display_cleaning_is_applied() -> None:
    row = parse_one("\ufeffعنوان\r\n\r\nمـــحمد \u200fقال\ufefb.\r\n")
    assert row["title"] == "عنوان" and row["body"] == "محمد قاللا."


def test_plain_rejections() -> None:
    out = parse(
        "زر الذهاب إلى الأعلى\n\nتعليقك\n",
        "عنوان\n\n| وكالات\n",
        "سورية\n\nعنوان\n\n| وكالات\n\nزر الذهاب إلى الأعلى\nصحيفة الوطن",
        "\u200b\u200f x".replace(" x", "\u2067"),
    )
    assert out["status"].to_list() == [REJECTED] * 4
    assert out["reason"].to_list() == [
        "no article text: only boilerplate",
        "no article text: only title/byline/footer lines",
        "no article text: only boilerplate and title/byline/footer lines",
        "no article text: only invisible or control characters",
    ]
    assert out["title"].to_list()[1:3] == ["عنوان", "عنوان"]


def test_output_schema_rows_and_refused_rows() -> None:
    frame = decode_files(input_frame([b"", "نص.".encode(), TREC_DOC.encode()]))
    out = parse_articles(frame)
    assert out.height == 3
    assert out.columns == [*frame.columns, *PARSED_SCHEMA]
    assert {name: out.schema[name] for name in PARSED_SCHEMA} == PARSED_SCHEMA
    first = out.row(0, named=True)
    assert (first["status"], first["reason"]) == (REJECTED, "empty file (0 bytes)")
    assert all(first[name] is None for name in PARSED_SCHEMA)
    assert out["format"].to_list() == [None, "plain", "trec"]


# --- properties --------------------------------------------------------------------------------

_CONFIG = ParseConfig()
_INLINE = re.compile(_CONFIG.inline_regex())
_LINE = re.compile(
    "|".join([re.escape(line) for line in _CONFIG.boilerplate_lines] + list(_CONFIG.boilerplate_line_patterns))
)
_TOKENS = st.sampled_from(
    [
        *("سورية", "قال", "وزير", "الخارجية", "أحمد", "إلى", "مدرسة", "7", "٢٠١٨", "Hello", "«", "»", "،", ".", "؟"),
        *(":", "|", "ـ", "مـــحمد", "\u064e", "\ufefb", "\u200f", "\u00a0", "/انتهى/", "/", "---", "-----", "\t"),
        *('"', "صحيفة الوطن", "زر الذهاب إلى الأعلى", "تعليقك", "\r"),
    ]
)
_LINES = st.lists(st.lists(_TOKENS, max_size=10).map(" ".join) | st.just(""), min_size=1, max_size=14)


def _visible_lines(texts: list[str]) -> list[list[str]]:
    """The oracle: the non-blank, non-boilerplate lines of each cleaned input."""
    cleaned = pl.DataFrame({"t": texts}).select(clean_display_text(pl.col("t")))["t"].to_list()
    out = []
    for text in cleaned:
        lines = [line.strip() for line in _INLINE.sub("", text).split("\n")]
        out.append([line for line in lines if line and not _LINE.fullmatch(line)])
    return out


@settings(max_examples=40, deadline=None)
@given(st.lists(_LINES.map("\n".join), min_size=1, max_size=8))
@example(["|"])
def test_parse_never_loses_non_boilerplate_text(texts: list[str]) -> None:
    out = parse(*texts)
    for row, visible in zip(out.iter_rows(named=True), _visible_lines(texts), strict=True):
        body = row["body"] or ""
        header = {row["title"], row["section"], row["publisher"]}
        for line in visible:
            # A bare "|" is a byline marker with no name: it carries no text to keep.
            byline_text = re.sub(r"^\|\s*", "", line)
            in_byline = (row["byline"] is not None and byline_text == row["byline"]) or (
                line.startswith("|") and byline_text == ""
            )
            assert line in body or line in header or in_byline, (line, row)
        if row["status"] is None:
            assert body and body == body.strip()
            assert all(p and p == p.strip() for p in body.split("\n"))
            assert "/انتهى/" not in body
            assert not any(_LINE.fullmatch(paragraph) for paragraph in body.split("\n"))
        else:
            assert row["reason"].startswith(("no article text", "empty file", "whitespace-only"))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.binary(max_size=200) | _LINES.map("\n".join).map(str.encode), min_size=1, max_size=8))
def test_decode_and_parse_never_crash(raws: list[bytes]) -> None:
    out = parse_articles(decode_files(input_frame(raws)))
    assert out.height == len(raws)
    for row in out.iter_rows(named=True):
        assert (row["status"] is None) == (row["reason"] is None)
        if row["status"] is None:
            assert row["format"] in ("plain", "trec") and row["body"]


# --- the news corpus -----------------------------------------------------------------------------


@pytest.mark.corpus
def test_corpus_sample_parses_as_trec() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"news corpus not found at {CORPUS}")
    paths = sorted(CORPUS.rglob("*.txt"))[::40]
    assert len(paths) >= 450
    out = parse_articles(decode_files(input_frame([p.read_bytes() for p in paths], [p.name for p in paths])))
    assert out["format"].to_list() == ["trec"] * len(paths)
    assert out["status"].null_count() == len(paths), out.filter(pl.col("status").is_not_null())["reason"].to_list()
    for name in ("body", "title", "published_at", "source_doc_id", "url", "publisher", "section"):
        assert out[name].null_count() == 0, name
    assert (out["source_doc_id"] + ".txt").to_list() == [p.name for p in paths]
    assert out["published_at"].dt.year().is_between(2018, 2018).all()
    assert not out["body"].str.contains(r"<[A-Z]+>|\n\n|^\s|\s$").any()
