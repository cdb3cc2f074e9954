"""The Arabic text module: fold tables, word pattern, proclitic readings and the three lookup keys."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.arabic import (
    ARTICLE,
    CONJUNCTIONS,
    DEFINITE,
    DIACRITICS,
    LEADING_CONJUNCTION,
    LETTER_FOLDS,
    NER_PREFIXES,
    PREPOSITIONS,
    PROCLITICS,
    WORD,
    clitic_variants,
    match_key,
    match_key_table,
    ner_forms,
    ner_key,
    ner_normalize,
    ner_strip_prefix,
    ner_words,
    strip_clitics,
    token_key,
    with_match_key,
)

MODEL_VOCAB = Path(__file__).resolve().parents[1] / "transforms" / "ner" / "model" / "vocab.txt"


def key(*texts: str | None) -> list[str | None]:
    return pl.DataFrame({"t": list(texts)}, schema={"t": pl.String}).select(match_key(pl.col("t")))["t"].to_list()


def keys(texts: list[str]) -> list[str]:
    return pl.DataFrame({"t": texts}, schema={"t": pl.String}).select(token_key(pl.col("t")))["t"].to_list()


_ALPHABET = st.sampled_from(
    [
        *"ابتثجحخدذرسشصضطظعغفقكلمنهويءآأإؤئةى ",
        *("\u064e", "\u0651", "\u0650", "\u0654", "\u0640", "\u0640\u0640", "\ufefb", "\ufe8e", "\ufdfa", "\ufe70"),
        *("\r\n", "\r", "\n", "\u200b", "\u200f", "\ufeff", "\u00a0", "e\u0301", "\u2126", "\u0301\u0323", "«", "."),
    ]
)


# --- match key ----------------------------------------------------------------------------------


def test_match_key_folds_letters_diacritics_digits_punctuation_and_case() -> None:
    assert key("إلى «أحمد» في المدرسةِ، ٢٠١٨ Hello,  WORLD!\n\tآخر ٱلكتاب مشيراً") == [
        "الي احمد في المدرسه 2018 hello world اخر الكتاب مشيرا"
    ]


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("مدرسة", "مدرسه"),
        ("إلى", "الى"),
        ("أستانا ٧", "استانا 7"),
        ("مُحَمَّد", "محمد"),
        ("مـــحمد", "محمد"),
        ("سوريا،الخميس", "سوريا ، الخميس"),
        ("“محمد”", '"محمد"'),
        ("ﻻ", "لا"),
        ("a\u00a0b", "A B"),
        ("؟!", "..."),
    ],
)
def test_spelling_variants_share_a_key(left: str, right: str) -> None:
    assert key(left) == key(right)


def test_different_words_keep_different_keys() -> None:
    left, right = key("سورية", "سوريا")
    assert left != right


def test_match_key_of_punctuation_only_is_empty() -> None:
    assert key("«»، ؛ ؟ ...", None) == ["", None]


def test_with_match_key_adds_a_column() -> None:
    frame = with_match_key(pl.DataFrame({"body": ["أحمد.", None]}))
    assert frame["match_key"].to_list() == ["احمد", None]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.lists(_ALPHABET, max_size=60).map("".join), min_size=1, max_size=10))
def test_match_key_is_stable_and_plain(texts: list[str]) -> None:
    once = key(*texts)
    assert key(*once) == once
    for folded in once:
        assert folded is not None
        assert folded == folded.strip() and "  " not in folded and "\n" not in folded
        assert not any(ch in folded for ch in "أإآٱىة\u064e\u0651\u0640«.")


# --- token key and proclitic readings -------------------------------------------------------


def test_token_key_folds_spelling_variants() -> None:
    keys = pl.DataFrame({"t": ["إيران", "ايران", "سورية", "على", "مُحَمَّد", "الـرئيس"]}).select(token_key(pl.col("t")))
    assert keys["t"].to_list() == ["ايران", "ايران", "سوريه", "علي", "محمد", "الرئيس"]


def test_clitic_variants_list_every_reading() -> None:
    out = clitic_variants(pl.DataFrame({"token": ["وبالعراق", "للأمم"]}))
    readings = set(zip(out["token"].to_list(), out["clitic_shift"].to_list(), out["stem_key"].to_list(), strict=True))
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


# --- shared tables -----------------------------------------------------------------------------


def test_diacritics_are_the_marks_quranic_signs_and_tatweel() -> None:
    assert DIACRITICS == "[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]"
    assert re.sub(DIACRITICS, "", "مُحَمَّدٌ ـــ قُرْآنٰ ۖ") == "محمد  قرآن "


def test_letter_folds_map_variants_to_base_letters() -> None:
    assert LETTER_FOLDS == {"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ة": "ه", "ى": "ي", "ی": "ي", "ک": "ك"}


def test_proclitics_are_conjunction_preposition_and_both() -> None:
    assert PROCLITICS == ("و", "ف", "ب", "ل", "ك", "وب", "ول", "وك", "فب", "فل", "فك")


def test_definite_and_conjunction_patterns() -> None:
    assert DEFINITE == "^[وف]?(?:ال|لل|بال|كال)"
    assert LEADING_CONJUNCTION == "^[وف]"
    words = ["الرئيس", "والرئيس", "للرئيس", "بالرئيس", "فكالرئيس", "رئيس", "لرئيس"]
    definite = pl.DataFrame({"k": words}).select(pl.col("k").str.contains(DEFINITE))["k"].to_list()
    assert definite == [True, True, True, True, True, False, False]


def test_ner_prefixes_are_proclitics_with_or_without_the_article_longest_first() -> None:
    with_article = {p + ARTICLE for p in ("", *PROCLITICS)} | {"لل", "ولل", "فلل"}
    assert set(NER_PREFIXES) <= set(PROCLITICS) | with_article
    assert set(CONJUNCTIONS + PREPOSITIONS) <= set(NER_PREFIXES)
    lengths = [len(p) for p in NER_PREFIXES]
    assert lengths == sorted(lengths, reverse=True)


# --- word pattern ------------------------------------------------------------------------------

_WORD_TEXT = st.lists(st.sampled_from([*"اب1 -*|.«»\n\t", "\u00a0", "x", "\u064e", "٣"]), max_size=30).map("".join)


@settings(max_examples=200, deadline=None)
@given(st.lists(_WORD_TEXT, min_size=1, max_size=8))
def test_word_counts_whitespace_tokens_holding_a_letter_or_digit(texts: list[str]) -> None:
    counts = pl.DataFrame({"t": texts}).select(
        pl.col("t").str.count_matches(WORD).alias("word"),
        # The form dedup used to write: the same count, since both match each such token once.
        pl.col("t").str.count_matches(r"\S*[\p{L}\p{N}]\S*").alias("wide"),
    )
    expected = [sum(any(ch.isalnum() for ch in part) for part in text.split()) for text in texts]
    assert counts["word"].to_list() == expected
    assert counts["wide"].to_list() == expected


# --- keys agree where they should -------------------------------------------------------------

_PLAIN_ARABIC = st.lists(st.sampled_from([*"ابتجدرسعفقكلمنهويءآأإؤئةى", "\u064e", "\u0651", "\u0640"]), min_size=1)


@settings(max_examples=100, deadline=None)
@given(st.lists(_PLAIN_ARABIC.map("".join), min_size=1, max_size=10))
def test_the_three_keys_agree_on_one_plain_arabic_word(words: list[str]) -> None:
    assert keys(words) == [ner_normalize(w) for w in words] == key(*words)


def test_keys_differ_where_their_promises_differ() -> None:
    # match_key folds digits to ASCII, punctuation to a space and compatibility forms; token_key keeps
    # shape; the NER key maps every digit to 0 and keeps the Persian keyboard letters.
    assert key("٢٠١٨، ﻻ ی") == ["2018 لا ي"]
    assert keys(["٢٠١٨،", "ی"]) == ["٢٠١٨،", "ي"]
    assert [ner_normalize("٢٠١٨،"), ner_normalize("ی"), ner_normalize("Ab")] == ["0000،", "ی", "Ab"]


def test_match_key_table_folds_every_diacritic_of_the_shared_pattern() -> None:
    table = match_key_table()
    marks = [chr(c) for c in range(0x0610, 0x06EE) if re.fullmatch(DIACRITICS, chr(c))]
    assert all(table.get(m) == "" for m in marks if unicodedata.category(m) == "Mn")


# --- the NER key (frozen with the committed model) ----------------------------------------------


def test_ner_key_drops_attached_punctuation_and_keeps_a_punctuation_token() -> None:
    assert [ner_key(t) for t in ("«إيرانَ»", "سورية،", "2019", "،", "-")] == ["ايران", "سوريه", "0000", "،", "-"]


def test_ner_strip_prefix_takes_the_longest_proclitic_that_leaves_three_letters() -> None:
    assert ner_strip_prefix("وبالعراق") == ("وبال", "عراق")
    assert ner_strip_prefix("والمعلم") == ("وال", "معلم")
    assert ner_strip_prefix("لبنان") == ("ل", "بنان")
    assert ner_strip_prefix("كما") == ("", "كما")


def test_ner_words_are_the_keys_of_a_paragraph() -> None:
    assert ner_words("قال الرئيسُ: «إيران» 12 مرة") == ["قال", "الرئيس", "ايران", "00", "مره"]


def test_every_word_of_the_committed_model_vocabulary_is_its_own_key() -> None:
    words = MODEL_VOCAB.read_text(encoding="utf-8").split("\n")[:-1]
    assert len(words) > 70_000
    assert [w for w in words if ner_key(w) != w] == []


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from([*"وفبلكالمعرقن", "\u064e"]), min_size=1, max_size=10).map("".join))
def test_ner_strip_prefix_splits_a_key_into_prefix_and_stem(k: str) -> None:
    prefix, stem = ner_strip_prefix(k)
    assert prefix + stem == k
    assert prefix == "" or (prefix in NER_PREFIXES and len(stem) >= 3)


_TOKEN_CHARS = [*"وفبلكالمعرقنسيx", "\u064e", "إ", "ة", "«", "،", "7"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(_TOKEN_CHARS), min_size=1, max_size=10).map("".join))
def test_ner_forms_are_the_key_and_its_proclitic_split(token: str) -> None:
    k = ner_key(token)
    assert ner_forms(token) == (k, *ner_strip_prefix(k))
    # The shortcut for keys that no proclitic starts gives what trying every proclitic gives.
    first_match = next(((p, k[len(p):]) for p in NER_PREFIXES if k.startswith(p) and len(k) - len(p) >= 3), ("", k))
    assert ner_strip_prefix(k) == first_match
