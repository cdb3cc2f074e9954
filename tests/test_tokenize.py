from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.tokenize import (
    SEPARATORS,
    TokenizeConfig,
    tokenize,
    tokenize_with_offsets,
)


def _tokens(text: str) -> list[str]:
    return tokenize_with_offsets([text])["token"].to_list()


def test_punctuation_is_split_off_and_inner_punctuation_kept() -> None:
    assert _tokens("قال «المقداد»: نعم، (سورية) 3.5 U.S. أ.ف.ب!") == [
        "قال", "«", "المقداد", "»", ":", "نعم", "،", "(", "سورية", ")", "3.5", "U.S", ".", "أ.ف.ب", "!",
    ]  # fmt: skip
    assert _tokens("“وليد المعلم”") == ["“", "وليد", "المعلم", "”"]
    assert _tokens("لـ«جهة") == ["لـ", "«", "جهة"]


def test_offsets_sentences_and_positions() -> None:
    text = "  أجرى ظريف مباحثات. التقى المعلم!\n\nسطر آخر؟ نعم\nثم"
    frame = tokenize_with_offsets([text])
    for row in frame.iter_rows(named=True):
        assert text[row["start_char"] : row["end_char"]] == row["token"]
    assert frame["token_index"].to_list() == list(range(frame.height))
    by_token = dict(zip(frame["token"].to_list(), frame["sentence_index"].to_list(), strict=True))
    assert by_token["أجرى"] == 0 and by_token["."] == 0
    assert by_token["التقى"] == 1 and by_token["!"] == 1
    assert by_token["سطر"] == 2 and by_token["؟"] == 2
    assert by_token["نعم"] == 3 and by_token["ثم"] == 4


def test_several_documents_empty_and_null_bodies() -> None:
    frame = pl.DataFrame({"doc": ["a", "b", "c", "d"], "text": ["واحد اثنان", None, "", "ثلاثة. أربعة"]})
    out = tokenize(frame, TokenizeConfig(id_column="doc", text_column="text"))
    assert out["doc"].to_list() == ["a", "a", "d", "d", "d"]
    assert out.filter(pl.col("doc") == "d")["token_index"].to_list() == [0, 1, 2]
    assert out.filter(pl.col("doc") == "d")["start_char"].to_list() == [0, 5, 7]
    assert out.filter(pl.col("doc") == "d")["sentence_index"].to_list() == [0, 0, 1]


_ALPHABET = st.sampled_from(
    list("ابتثجحخدذرسشصضطظعغفقكلمنهويءآأإؤئىة") + list("ًٌٍَُِّْـ") + list(".،؛؟!:«»“”\"'()-/")
    + list("0123456789٠١٢٣abcXYZ") + list(SEPARATORS) + ["\u200c", "😀", "\u0301"]
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(_ALPHABET, max_size=80), min_size=1, max_size=4))
def test_offsets_are_exact_for_any_text(texts: list[str]) -> None:
    frame = tokenize_with_offsets(texts)
    for row in frame.iter_rows(named=True):
        body = texts[row["article_id"]]
        assert body[row["start_char"] : row["end_char"]] == row["token"]
        assert row["token"] and not any(ch in SEPARATORS for ch in row["token"])
    # Tokens plus separators cover every character of every body.
    for article_id, body in enumerate(texts):
        covered = sum(frame.filter(pl.col("article_id") == article_id)["token"].str.len_chars())
        assert covered + sum(ch in SEPARATORS for ch in body) == len(body)
