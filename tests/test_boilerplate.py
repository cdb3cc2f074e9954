"""Boilerplate learned per publisher: what is learned, what is never learned, what is stripped."""

from __future__ import annotations

import itertools
import random

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import shared_data_or_skip
from transforms.boilerplate import (
    BoilerplateConfig,
    empty_table,
    learn_boilerplate,
    strip_boilerplate,
)
from transforms.frame import REJECTED
from transforms.schema import BOILERPLATE_LINES, BOILERPLATE_SCHEMA

FOOTER = "*نقلاً عن صحيفة الرؤية الإماراتية"
READ_ALSO = "اقرأ أيضاً:"
CONFIG = BoilerplateConfig(min_articles=3, max_words=10, short_line_words=6, long_line_min_articles=5)

# Distinct article sentences: every body below is different.
_WORDS = (
    "الحكومة",
    "الوزير",
    "المدينة",
    "الاقتصاد",
    "المباراة",
    "المجلس",
    "الشركة",
    "الرئيس",
    "البرلمان",
    "الجيش",
    "السوق",
    "الملعب",
    "المستشفى",
    "الجامعة",
    "المطار",
    "الميناء",
)


def sentence(i: int, words: int = 12) -> str:
    """A unique news-like sentence (i-th of its kind)."""
    picked = [_WORDS[(i * 7 + j * 3) % len(_WORDS)] for j in range(words - 2)]
    return f"قال {' '.join(picked)} رقم {i}."


def frame(rows: list[tuple[str | None, str]], status: list[str | None] | None = None) -> pl.DataFrame:
    """Parsed rows: (publisher, body); paths in order."""
    return pl.DataFrame(
        {
            "source_path": [f"in/{i:03d}.txt" for i in range(len(rows))],
            "publisher": [p for p, _ in rows],
            "body": [b for _, b in rows],
            "status": status or [None] * len(rows),
            "reason": [None if s is None else "refused earlier" for s in (status or [None] * len(rows))],
        },
        schema={
            "source_path": pl.String,
            "publisher": pl.String,
            "body": pl.String,
            "status": pl.String,
            "reason": pl.String,
        },
    )


def learned(table: pl.DataFrame) -> set[tuple[str, str]]:
    return {(r["publisher"], r["line"]) for r in table.filter("boilerplate").iter_rows(named=True)}


def site(n: int, publisher: str = "site", footer: str = FOOTER, start: int = 0) -> list[tuple[str, str]]:
    return [(publisher, f"{sentence(start + i)}\n{sentence(start + i + 500)}\n{footer}") for i in range(n)]


# --- learning ------------------------------------------------------------------------------------


def test_footer_in_enough_different_articles_is_learned_and_stripped() -> None:
    rows = frame(site(3))
    table = learn_boilerplate(rows, empty_table(), CONFIG)
    assert learned(table) == {("site", FOOTER)}
    assert table.schema == pl.Schema(BOILERPLATE_SCHEMA)
    row = table.filter("boilerplate").row(0, named=True)
    assert (row["article_count"], row["word_count"], len(row["article_keys"])) == (3, 5, 3)
    assert row["example_source_path"] in rows["source_path"].to_list()

    out = strip_boilerplate(rows, table, CONFIG)
    assert out["boilerplate_removed"].to_list() == [1, 1, 1]
    for before, after in zip(rows["body"], out["body"], strict=True):
        assert after == "\n".join(before.split("\n")[:2])
    assert out["status"].is_null().all()


def test_two_articles_are_not_enough() -> None:
    table = learn_boilerplate(frame(site(2)), empty_table(), CONFIG)
    assert learned(table) == set()
    assert table.filter(pl.col("line_key").is_not_null())["article_count"].max() == 2


def test_a_sentence_repeated_inside_one_article_is_never_learned() -> None:
    quote = "وقال الوزير إن الاتفاق لن يتغير."
    body = "\n".join([quote, sentence(1), quote, sentence(2), quote, quote, quote])
    table = learn_boilerplate(frame([("site", body)]), empty_table(), CONFIG)
    assert learned(table) == set()
    row = table.filter(pl.col("word_count") == 6).row(0, named=True)
    assert row["article_count"] == 1


def test_copies_of_one_story_count_once() -> None:
    """Syndicated copies (same normalized body: spacing, punctuation, hamza, diacritics) are one article."""
    story = f"{sentence(1)}\nوقال المتحدث: «لن نتراجع».\n{sentence(2)}"
    variants = [
        story,
        story.replace("«", '"').replace("»", '"'),
        story.replace("قال", "قَال"),
        story.replace(" ", "  "),
        story.replace("إن", "ان"),
    ]
    table = learn_boilerplate(frame([("site", v) for v in variants]), empty_table(), CONFIG)
    assert learned(table) == set()
    assert table["article_count"].max() == 1


def test_long_lines_need_more_articles_and_very_long_lines_never_count() -> None:
    long_line = "ويشار إلى أن الموقع لا يمكنه التأكد من الأنباء"  # 9 words: more than short_line_words
    assert len(long_line.split()) == 9
    four = learn_boilerplate(frame(site(4, footer=long_line)), empty_table(), CONFIG)
    five = learn_boilerplate(frame(site(5, footer=long_line)), empty_table(), CONFIG)
    assert learned(four) == set() and learned(five) == {("site", long_line)}

    too_long = long_line + " عبر وسائل التواصل"  # 12 words > max_words
    table = learn_boilerplate(frame(site(20, footer=too_long)), empty_table(), CONFIG)
    assert learned(table) == set()
    assert not table.filter(pl.col("word_count") > CONFIG.max_words).height, (
        "longer lines are not even tracked"
    )


def test_learning_is_per_publisher_and_needs_a_publisher() -> None:
    rows = frame([*site(3, "a"), *site(2, "b", start=100), *site(5, None, start=200)])  # type: ignore[arg-type]
    table = learn_boilerplate(rows, empty_table(), CONFIG)
    assert learned(table) == {("a", FOOTER)}
    assert set(table["publisher"]) == {"a", "b"}
    out = strip_boilerplate(rows, table, CONFIG)
    assert out["boilerplate_removed"].to_list() == [1, 1, 1, 0, 0, 0, 0, 0, 0, 0]
    assert all(FOOTER in body for body in out["body"][3:])


def test_spelling_and_spacing_variants_of_a_line_are_one_line() -> None:
    variants = ["فرانس24/ أ ف ب", "فرانس 24 / أ ف ب", "فرانس24 / أ.ف.ب"]
    rows = frame([("f24", f"{sentence(i)}\n{variants[i]}") for i in range(3)])
    table = learn_boilerplate(rows, empty_table(), CONFIG)
    assert table.filter("boilerplate").height == 1
    assert strip_boilerplate(rows, table, CONFIG)["boilerplate_removed"].to_list() == [1, 1, 1]


def test_refused_rows_teach_nothing_and_are_left_alone() -> None:
    rows = frame(site(3), status=[None, None, REJECTED])
    table = learn_boilerplate(rows, empty_table(), CONFIG)
    assert learned(table) == set()
    full = learn_boilerplate(frame(site(3)), empty_table(), CONFIG)
    out = strip_boilerplate(rows, full, CONFIG)
    assert out["boilerplate_removed"].to_list() == [1, 1, None]
    assert out["body"][2] == rows["body"][2] and out["reason"][2] == "refused earlier"


# --- stripping -----------------------------------------------------------------------------------


def test_only_boilerplate_left_is_rejected_with_the_publisher() -> None:
    rows = frame([*site(3, "alarabia"), ("alarabia", f"{READ_ALSO}\n{FOOTER}"), ("alarabia", FOOTER)])
    table = learn_boilerplate(rows, empty_table(), CONFIG)
    assert learned(table) == {("alarabia", FOOTER)}
    out = strip_boilerplate(rows, table, CONFIG)
    assert out["status"].to_list() == [None, None, None, None, REJECTED]
    assert out["reason"][4] == "no article text: only boilerplate lines of alarabia"
    assert out["body"][4] is None
    assert out["body"][3] == READ_ALSO and out["boilerplate_removed"][3] == 1


def test_stripping_keeps_paragraph_order_and_every_other_paragraph() -> None:
    body = "\n".join([READ_ALSO, sentence(1), FOOTER, sentence(2), READ_ALSO, sentence(3), FOOTER])
    others = [("site", f"{sentence(10 + i)}\n{READ_ALSO}\n{sentence(20 + i)}\n{FOOTER}") for i in range(3)]
    rows = frame([("site", body), *others])
    out = strip_boilerplate(rows, learn_boilerplate(rows, empty_table(), CONFIG), CONFIG)
    assert out["body"][0] == "\n".join([sentence(1), sentence(2), sentence(3)])
    assert out["boilerplate_removed"].to_list() == [4, 2, 2, 2]
    assert out.columns == [*rows.columns, "boilerplate_removed"]
    assert out.height == rows.height


def test_the_config_given_to_strip_decides_not_the_stored_flag() -> None:
    rows = frame(site(3))
    table = learn_boilerplate(rows, empty_table(), CONFIG)
    strict = BoilerplateConfig(min_articles=4, max_words=10, short_line_words=6, long_line_min_articles=5)
    assert strip_boilerplate(rows, table, strict)["boilerplate_removed"].to_list() == [0, 0, 0]


def test_empty_inputs() -> None:
    table = learn_boilerplate(frame([]), empty_table(), CONFIG)
    assert table.height == 0 and table.schema == pl.Schema(BOILERPLATE_SCHEMA)
    rows = frame(site(2))
    out = strip_boilerplate(rows, empty_table(), CONFIG)
    assert out["body"].to_list() == rows["body"].to_list() and out["boilerplate_removed"].to_list() == [0, 0]


def test_table_read_back_from_the_warehouse_merges() -> None:
    """The stored table (BOILERPLATE_LINES, as the warehouse returns it) is the history of the next batch."""
    table = learn_boilerplate(frame(site(3)), empty_table(), CONFIG)
    again = learn_boilerplate(frame(site(3, start=50)), BOILERPLATE_LINES.conform(table), CONFIG)
    assert learned(again) == {("site", FOOTER)}


# --- counts and order independence ---------------------------------------------------------------


def test_counts_are_exact_below_the_sketch_size_and_estimated_above() -> None:
    config = BoilerplateConfig(min_articles=3, max_words=10, track_articles=16)
    small = learn_boilerplate(frame(site(15)), empty_table(), config)
    assert small.filter("boilerplate")["article_count"].to_list() == [15]
    big = learn_boilerplate(frame(site(400)), empty_table(), config)
    row = big.filter("boilerplate").row(0, named=True)
    assert len(row["article_keys"]) == 16
    assert 400 * 0.5 < row["article_count"] < 400 * 2  # k-minimum-values with k=16: a rough estimate


def _corpus(seed: int) -> list[tuple[str | None, str]]:
    rng = random.Random(seed)
    footers = {"a": [FOOTER, READ_ALSO], "b": ["فرانس24/ أ ف ب"], None: [FOOTER]}
    rows: list[tuple[str | None, str]] = []
    for i in range(40):
        publisher = rng.choice(["a", "b", None])
        paragraphs = [sentence(rng.randrange(30)) for _ in range(rng.randrange(1, 4))]
        paragraphs += rng.sample(footers[publisher], rng.randrange(len(footers[publisher]) + 1))
        rng.shuffle(paragraphs)
        rows.append((publisher, "\n".join(paragraphs or [sentence(i)])))
    return rows


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 10_000), order=st.randoms(use_true_random=False), cuts=st.lists(st.integers(1, 39))
)
def test_the_table_does_not_depend_on_batches_or_order(
    seed: int, order: random.Random, cuts: list[int]
) -> None:
    rows = frame(_corpus(seed))
    whole = learn_boilerplate(rows, empty_table(), CONFIG)
    shuffled = rows.sample(fraction=1.0, shuffle=True, seed=order.randrange(1 << 30))
    table = empty_table()
    bounds = [0, *sorted(set(cuts)), rows.height]
    for start, end in itertools.pairwise(bounds):
        table = learn_boilerplate(shuffled.slice(start, end - start), table, CONFIG)
    # Everything but the display text of a line is a function of what was seen, not of how.
    columns = [c for c in BOILERPLATE_SCHEMA if c != "line"]
    keys = ["publisher", "line_key"]
    assert table.sort(keys).select(columns).equals(whole.sort(keys).select(columns))
    assert table.sort(keys)["line"].is_null().equals(whole.sort(keys)["line"].is_null())
    assert strip_boilerplate(rows, table, CONFIG).equals(strip_boilerplate(rows, whole, CONFIG))


# --- the news corpus -----------------------------------------------------------------------------


@pytest.mark.corpus
def test_corpus_footers_are_learned_and_no_news_sentence_is() -> None:
    """CNN (all sections) with the default config: its disclaimers are learned, its news is not."""
    from tests.test_parse import input_frame
    from transforms.parse import parse_articles
    from transforms.read import decode_files

    root = shared_data_or_skip("news_corpus", "ant_multisource_v2.1", "CNN")
    paths = sorted(root.rglob("*.txt"))
    parsed = parse_articles(
        decode_files(
            input_frame([p.read_bytes() for p in paths], [p.relative_to(root).as_posix() for p in paths])
        )
    )
    table = learn_boilerplate(parsed, empty_table())
    lines = sorted(table.filter("boilerplate")["line"].to_list())
    assert any(line.startswith("ويشار إلى أن موقع CNN بالعربية لا يمكنه التأكد") for line in lines)
    assert "حول بيت.كوم" in lines
    assert len(lines) <= 6, lines
    # A background sentence CNN repeats across several articles on one story stays.
    assert not any(line.startswith("وكان ترامب قال") for line in lines)
    out = strip_boilerplate(parsed, table)
    assert out.filter(pl.col("boilerplate_removed") > 0).height >= 30
    assert (out["status"] == REJECTED).sum() == parsed["status"].eq(REJECTED).sum()
