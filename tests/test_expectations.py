"""The JSON suites and the runner that applies them with Great Expectations."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from expectations import runner
from expectations.runner import (
    RESULTS_SCHEMA,
    ROW_REASONS_SCHEMA,
    load_suite,
    suite_names,
    validate_frame,
)
from transforms.schema import ARTICLES, MENTIONS

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
BODY = "أعلنت وزارة الصحة اليوم عن افتتاح مستشفى جديد في مدينة الرياض.\nوقال الوزير إن المشروع سيخدم آلاف المرضى."


@pytest.fixture(scope="module", autouse=True)
def _warm() -> None:
    """Import GE and build the suites once for the module (the slow part, a few seconds)."""
    runner.warm_up()


# The articles table's columns the suite reads (in the table's dtypes), plus a working column.
ARTICLE_FIELDS = ("article_id", "source_path", "source_doc_id", "title", "section", "byline", "publisher", "url",
                  "published_at", "body", "lang", "word_count", "sentence_count", "paragraph_count", "arabic_ratio")


def articles(n: int = 3) -> pl.DataFrame:
    """n valid Arabic articles with the loader's columns plus a working column."""
    return pl.DataFrame(
        {
            "article_id": [f"{i:016x}" for i in range(n)],
            "source_path": [f"news/{i}.txt" for i in range(n)],
            "source_doc_id": [None] * n,
            "title": ["افتتاح مستشفى جديد"] * n,
            "section": ["صحة"] * n,
            "byline": [None] * n,
            "publisher": ["وكالة الأنباء"] * n,
            "url": [f"https://news.example/a/{i}" for i in range(n)],
            "published_at": [datetime(2018, 4, 10, 8, 30, tzinfo=UTC)] * n,
            "body": [BODY] * n,
            "lang": ["ar"] * n,
            "word_count": [18] * n,
            "sentence_count": [2] * n,
            "paragraph_count": [2] * n,
            "arabic_ratio": [0.98] * n,
            "status": pl.Series([None] * n, dtype=pl.String),
        },
        schema_overrides={name: ARTICLES.schema[name] for name in ARTICLE_FIELDS},
    ).with_columns(pl.col("body").str.len_chars().alias("char_count"))


def mentions(n: int = 3) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "article_id": ["0000000000000000"] * n,
            "entity_id": [f"e{i}" for i in range(n)],
            "entity_type": (["PER", "ORG", "LOC", "MISC"] * n)[:n],
            "surface": ["وزارة الصحة"] * n,
            "start_char": [6] * n,
            "end_char": [17] * n,
            "offsets_match": [True] * n,
        },
        schema_overrides={name: MENTIONS.schema[name] for name in MENTIONS.names if name != "canonical_name"},
    )


def set_at(frame: pl.DataFrame, row: int, **values: object) -> pl.DataFrame:
    """Replace values of some columns in one row."""
    here = pl.int_range(pl.len()) == row
    return frame.with_columns(
        pl.when(here).then(pl.lit(v, dtype=frame.schema[c])).otherwise(pl.col(c)).alias(c) for c, v in values.items()
    )


def failed(outcome: runner.ValidationOutcome) -> dict[str, dict]:
    return {r["name"]: r for r in outcome.results.filter(~pl.col("success")).iter_rows(named=True)}


# --- suites -----------------------------------------------------------------------------------


def test_suites_load_and_every_expectation_has_severity_and_scope() -> None:
    assert suite_names() == ["articles", "entity_mentions"]
    for name in suite_names():
        suite = load_suite(name)
        assert suite["name"] == name
        assert suite["expectations"]
        for exp in suite["expectations"]:
            assert exp["meta"]["severity"] in ("error", "warning"), exp
            assert exp["meta"]["scope"] in ("row", "batch"), exp
            assert exp["meta"]["notes"].strip(), exp
        # Great Expectations accepts every one of them (built strictly, nothing dropped).
        assert len(runner._gx().suite(name).expectations) == len(suite["expectations"])


def test_load_suite_returns_a_copy() -> None:
    load_suite("articles")["expectations"].clear()
    assert load_suite("articles")["expectations"]


def test_suite_without_scope_is_refused(tmp_path, monkeypatch) -> None:
    bad = {
        "name": "broken",
        "expectations": [
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "a"}, "meta": {"severity": "error"}}
        ],
    }
    (tmp_path / "broken.json").write_text(json.dumps(bad), encoding="utf-8")
    monkeypatch.setenv("AKHBAR_EXPECTATIONS_DIR", str(tmp_path))
    runner._load_suite_file.cache_clear()
    try:
        with pytest.raises(ValueError, match=r"meta\.scope"):
            load_suite("broken")
    finally:
        runner._load_suite_file.cache_clear()


def test_row_scope_on_a_table_expectation_is_refused(tmp_path, monkeypatch) -> None:
    bad = {
        "name": "row_scope_table",
        "expectations": [
            {
                "type": "expect_table_row_count_to_be_between",
                "kwargs": {"min_value": 1},
                "meta": {"severity": "error", "scope": "row"},
            }
        ],
    }
    (tmp_path / "row_scope_table.json").write_text(json.dumps(bad), encoding="utf-8")
    monkeypatch.setenv("AKHBAR_EXPECTATIONS_DIR", str(tmp_path))
    runner._load_suite_file.cache_clear()
    try:
        with pytest.raises(ValueError, match="scope 'row' needs a per-row"):
            validate_frame(pl.DataFrame({"a": [1]}), "row_scope_table")
    finally:
        runner._load_suite_file.cache_clear()


def test_unknown_suite() -> None:
    with pytest.raises(ValueError, match="unknown expectation suite"):
        validate_frame(articles(), "nope")


# --- articles ---------------------------------------------------------------------------------


def test_good_articles_pass() -> None:
    outcome = validate_frame(articles(), "articles", now=NOW)
    assert outcome.results.schema == pl.Schema(RESULTS_SCHEMA)
    assert outcome.results.height == len(load_suite("articles")["expectations"])
    assert outcome.results["success"].all(), failed(outcome)
    assert outcome.results["unexpected_count"].sum() == 0
    assert outcome.row_reasons.is_empty()
    assert outcome.row_reasons.schema == pl.Schema(ROW_REASONS_SCHEMA)
    assert outcome.blocking_failures == []
    assert not outcome.blocked


def test_non_arabic_row_is_quarantined_with_a_precise_reason() -> None:
    frame = set_at(articles(4), 2, lang="en")
    outcome = validate_frame(frame, "articles", now=NOW)
    assert outcome.row_reasons.to_dicts() == [
        {"row_index": 2, "reason": "articles.expect_column_values_to_be_in_set(lang): value 'en' not in ['ar']"}
    ]
    assert not outcome.blocked
    row = failed(outcome)["articles.expect_column_values_to_be_in_set(lang)"]
    assert (row["expectation"], row["column"], row["severity"], row["scope"]) == (
        "expect_column_values_to_be_in_set",
        "lang",
        "error",
        "row",
    )
    assert row["unexpected_count"] == 1
    assert row["example_values"] == ["'en'"]


def test_several_failures_of_one_row_are_joined() -> None:
    frame = set_at(articles(3), 0, char_count=12, arabic_ratio=0.2, article_id="NOT-AN-ID")
    outcome = validate_frame(frame, "articles", now=NOW)
    assert outcome.row_reasons["row_index"].to_list() == [0]
    reasons = outcome.row_reasons["reason"][0].split("; ")
    assert reasons == [
        "articles.expect_column_values_to_match_regex(article_id): value 'NOT-AN-ID' does not match '^[0-9a-f]{16}$'",
        "articles.expect_column_values_to_be_between(char_count): value 12 not between 40 and 200000",
        "articles.expect_column_values_to_be_between(arabic_ratio): value 0.2 not between 0.5 and 1",
    ]


def test_null_body_and_null_lang_are_row_failures() -> None:
    frame = set_at(articles(3), 1, body=None, lang=None)
    outcome = validate_frame(frame, "articles", now=NOW)
    assert outcome.row_reasons.to_dicts() == [
        {
            "row_index": 1,
            "reason": "articles.expect_column_values_to_not_be_null(body): value is null; "
            "articles.expect_column_values_to_not_be_null(lang): value is null",
        }
    ]


def test_row_positions_stay_right_beyond_great_expectations_value_cap() -> None:
    # GE caps unexpected_list at 200 values; positions and values must still line up.
    n = 450
    frame = articles(n).with_columns(
        pl.when(pl.int_range(pl.len()) % 2 == 1)
        .then(pl.format("x{}", pl.int_range(pl.len())))
        .otherwise(pl.col("lang"))
        .alias("lang")
    )
    outcome = validate_frame(frame, "articles", now=NOW)
    assert outcome.row_reasons["row_index"].to_list() == list(range(1, n, 2))
    for index, reason in outcome.row_reasons.iter_rows():
        assert reason == f"articles.expect_column_values_to_be_in_set(lang): value 'x{index}' not in ['ar']"
    assert failed(outcome)["articles.expect_column_values_to_be_in_set(lang)"]["unexpected_count"] == n // 2


def test_duplicate_article_ids_block_the_load() -> None:
    frame = set_at(articles(3), 2, article_id="0000000000000000")
    outcome = validate_frame(frame, "articles", now=NOW)
    assert outcome.blocked
    assert len(outcome.blocking_failures) == 1
    message = outcome.blocking_failures[0]
    assert message.startswith("articles.expect_column_values_to_be_unique(article_id): 2 of 3 rows failed")
    assert "'0000000000000000'" in message
    assert outcome.row_reasons.is_empty()


def test_missing_column_blocks_once_with_the_column_named() -> None:
    outcome = validate_frame(articles().drop("lang"), "articles", now=NOW)
    assert outcome.blocking_failures == ["articles.expect_table_columns_to_match_set: missing columns ['lang']"]
    # The lang checks could not run; they are recorded as failures with the reason.
    lang = outcome.results.filter(pl.col("column") == "lang")
    assert not lang["success"].any()
    assert lang["unexpected_count"].is_null().all()
    assert lang["details"].str.contains('column "lang"').all()


def test_warnings_never_block_nor_quarantine() -> None:
    frame = articles(4)
    frame = set_at(frame, 0, url="ftp:/not a url")
    frame = set_at(frame, 1, title="ع" * 501)
    frame = set_at(frame, 2, published_at=NOW + timedelta(days=3))
    frame = set_at(frame, 3, published_at=datetime(1980, 5, 1, tzinfo=UTC))
    outcome = validate_frame(frame, "articles", now=NOW)
    assert outcome.blocking_failures == []
    assert outcome.row_reasons.is_empty()
    bad = failed(outcome)
    assert set(bad) == {
        "articles.expect_column_values_to_match_regex(url)",
        "articles.expect_column_value_lengths_to_be_between(title)",
        "articles.expect_column_values_to_be_between(published_at)",
    }
    assert {r["severity"] for r in bad.values()} == {"warning"}
    assert bad["articles.expect_column_values_to_be_between(published_at)"]["unexpected_count"] == 2
    assert bad["articles.expect_column_value_lengths_to_be_between(title)"]["details"].startswith(
        "1 of 4 rows failed, e.g. length 501 not between 1 and 500"
    )


def test_publication_date_bound_follows_the_validation_time() -> None:
    frame = set_at(articles(2), 0, published_at=NOW + timedelta(days=1))
    assert validate_frame(frame, "articles", now=NOW).results["success"].all()
    late = validate_frame(frame, "articles", now=NOW - timedelta(days=5))
    row = failed(late)["articles.expect_column_values_to_be_between(published_at)"]
    assert "2026-11-20T12:00:00+00:00" in row["details"]  # validation time + 2 days
    assert not late.blocked


def test_missing_optional_values_are_fine() -> None:
    frame = articles(2).with_columns(
        pl.lit(None, pl.String).alias("url"),
        pl.lit(None, pl.String).alias("title"),
        pl.lit(None).alias("published_at"),  # all-null column of dtype Null
    )
    outcome = validate_frame(frame, "articles", now=NOW)
    assert outcome.results["success"].all(), failed(outcome)


def test_narrow_and_naive_dtypes_are_accepted() -> None:
    frame = articles(3).with_columns(
        pl.col("char_count").cast(pl.UInt32),
        pl.col("arabic_ratio").cast(pl.Float32),
        pl.col("published_at").dt.replace_time_zone(None),
        pl.col("lang").cast(pl.Categorical),
    )
    outcome = validate_frame(set_at(frame, 1, char_count=5), "articles", now=NOW)
    assert outcome.row_reasons["row_index"].to_list() == [1]
    assert failed(outcome).keys() == {"articles.expect_column_values_to_be_between(char_count)"}


def test_empty_frames_pass() -> None:
    for frame, suite in [
        (articles(0), "articles"),
        (mentions(0), "entity_mentions"),
        (pl.DataFrame(), "articles"),
    ]:
        outcome = validate_frame(frame, suite)
        assert outcome.results["success"].all()
        assert outcome.results.height == len(load_suite(suite)["expectations"])
        assert outcome.row_reasons.is_empty()
        assert outcome.blocking_failures == []


# --- entity_mentions --------------------------------------------------------------------------


def test_good_mentions_pass() -> None:
    outcome = validate_frame(mentions(4), "entity_mentions")
    assert outcome.results["success"].all(), failed(outcome)
    assert not outcome.blocked


def test_offsets_mismatch_blocks() -> None:
    outcome = validate_frame(set_at(mentions(3), 1, offsets_match=False), "entity_mentions")
    assert outcome.blocking_failures == [
        "entity_mentions.expect_column_values_to_be_in_set(offsets_match): 1 of 3 rows failed, "
        "e.g. value False not in [True]"
    ]
    assert outcome.row_reasons.is_empty()  # batch scope: nothing is quarantined row by row


@pytest.mark.parametrize(
    ("values", "blocking"),
    [
        ({"entity_type": "PERS"}, "entity_mentions.expect_column_values_to_be_in_set(entity_type)"),
        ({"start_char": -1}, "entity_mentions.expect_column_values_to_be_between(start_char)"),
        (
            {"end_char": 6},
            "entity_mentions.expect_column_pair_values_a_to_be_greater_than_b(end_char, start_char)",
        ),
        ({"surface": None}, "entity_mentions.expect_column_values_to_not_be_null(surface)"),
        ({"offsets_match": None}, "entity_mentions.expect_column_values_to_not_be_null(offsets_match)"),
    ],
)
def test_bad_mentions_block(values: dict, blocking: str) -> None:
    outcome = validate_frame(set_at(mentions(3), 0, **values), "entity_mentions")
    assert [b.split(":")[0] for b in outcome.blocking_failures] == [blocking]


def test_pair_failure_reads_well() -> None:
    outcome = validate_frame(set_at(mentions(2), 1, end_char=3), "entity_mentions")
    assert outcome.blocking_failures == [
        "entity_mentions.expect_column_pair_values_a_to_be_greater_than_b(end_char, start_char): "
        "1 of 2 rows failed, e.g. end_char 3 not greater than start_char 6"
    ]


def test_long_surface_is_only_a_warning() -> None:
    outcome = validate_frame(set_at(mentions(2), 0, surface="ا" * 81), "entity_mentions")
    assert not outcome.blocked
    row = failed(outcome)["entity_mentions.expect_column_value_lengths_to_be_between(surface)"]
    assert (row["severity"], row["unexpected_count"]) == ("warning", 1)


# --- behaviour --------------------------------------------------------------------------------


def test_validation_prints_nothing(capfd) -> None:
    frame = set_at(articles(30), 3, lang="en", url="nope")
    validate_frame(frame, "articles", now=NOW)
    validate_frame(set_at(mentions(30), 0, offsets_match=False), "entity_mentions")
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


def test_twenty_thousand_articles_validate_quickly() -> None:
    n = 20_000
    frame = set_at(set_at(articles(n), 17, lang="fr"), 19_999, char_count=3)
    start = time.perf_counter()
    outcome = validate_frame(frame, "articles", now=NOW)
    elapsed = time.perf_counter() - start
    assert outcome.row_reasons["row_index"].to_list() == [17, 19_999]
    assert not outcome.blocked
    assert elapsed < 10, f"{elapsed:.2f}s"  # about 0.5-0.8 s on the 2-core machine


def test_frames_are_not_fingerprinted(monkeypatch) -> None:
    """Great Expectations' pandas engine would hash each frame for a batch marker nobody reads."""
    from great_expectations.execution_engine import pandas_execution_engine

    def refuse(_frame):
        raise AssertionError("the frame was hashed")

    monkeypatch.setattr(pandas_execution_engine, "hash_pandas_dataframe", refuse)
    outcome = validate_frame(articles(30), "articles", now=NOW)
    assert not outcome.blocked
    assert outcome.results["success"].all()
