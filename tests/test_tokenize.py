from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.tokenize import (
    SEPARATORS,
    TokenizeConfig,
    clitic_variants,
    strip_clitics,
    token_key,
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


def test_token_key_folds_spelling_variants() -> None:
    keys = pl.DataFrame({"t": ["إيران", "ايران", "سورية", "على", "مُحَمَّد", "الـرئيس"]}).select(
        token_key(pl.col("t"))
    )
    assert keys["t"].to_list() == ["ايران", "ايران", "سوريه", "علي", "محمد", "الرئيس"]


def test_clitic_variants_list_every_reading() -> None:
    out = clitic_variants(pl.DataFrame({"token": ["وبالعراق", "للأمم"]}))
    readings = set(
        zip(out["token"].to_list(), out["clitic_shift"].to_list(), out["stem_key"].to_list(), strict=True)
    )
    assert ("وبالعراق", 0, "وبالعراق") in readings
    assert ("وبالعراق", 1, "بالعراق") in readings
    assert ("وبالعراق", 2, "العراق") in readings
    assert ("للأمم", 1, "لامم") in readings
    assert ("للأمم", 1, "الامم") in readings  # ل + الأمم with the article's alef elided


def test_strip_clitics_only_where_the_stem_is_known() -> None:
    tokens = [
        "وإيران",
        "لإيران",
        "والمعلم",
        "بطهران",
        "للأمم",
        "وبالعراق",
        "وليد",
        "فيصل",
        "بشار",
        "لبنان",
        "كما",
    ]
    known = ["ايران", "المعلم", "طهران", "الامم", "العراق", "لبنان", "ليد", "يصل", "شار", "ما"]
    out = strip_clitics(pl.DataFrame({"token": tokens}), known, protected=["وليد", "فيصل", "بشار"])
    got = dict(
        zip(
            out["token"].to_list(),
            zip(out["stem"].to_list(), out["clitic_shift"].to_list(), strict=True),
            strict=True,
        )
    )
    assert got["وإيران"] == ("إيران", 1)
    assert got["لإيران"] == ("إيران", 1)
    assert got["والمعلم"] == ("المعلم", 1)
    assert got["بطهران"] == ("طهران", 1)
    assert got["للأمم"] == ("لأمم", 1)
    assert got["وبالعراق"] == ("العراق", 2)
    # Protected first names and words that are known whole stay whole even when a stem is known.
    assert got["وليد"] == ("وليد", 0)
    assert got["فيصل"] == ("فيصل", 0)
    assert got["بشار"] == ("بشار", 0)
    assert got["لبنان"] == ("لبنان", 0)
    # A stem must keep three letters: كما is never read as ك + ما, even with ما known.
    assert got["كما"] == ("كما", 0)
    assert out["token"].to_list() == tokens
