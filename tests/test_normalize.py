"""Display-text hygiene."""

from __future__ import annotations

import unicodedata

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.normalize import (
    PRESENTATION_FORMS,
    clean_display_column,
    clean_display_text,
)


def clean(*texts: str | None) -> list[str | None]:
    return (
        pl.DataFrame({"t": list(texts)}, schema={"t": pl.String}).select(clean_display_text(pl.col("t")))["t"].to_list()
    )


# --- clean_display_text ----------------------------------------------------------------------


def test_plain_arabic_text_is_left_exactly_as_it_is() -> None:
    text = "قال المقداد: «إن سورية مستمرة في محاربة الإرهاب»، مشيراً إلى أن 7 دول… شاركت.\nفقرة ثانية؟"
    assert clean(text) == [text]


def test_line_breaks_become_lf() -> None:
    assert clean("a\r\nb\rc\u2028d\u2029e\x85f\x0cg") == ["a\nb\nc\nd\ne\nf\ng"]


def test_zero_width_bidi_and_inner_bom_are_removed() -> None:
    text = "\ufeffسو\u200bرية\u200f و\u202bلبنان\u202c\u2067ت\u2069\u061c\u200d\u2060 end\x00\x07"
    assert clean(text) == ["سورية ولبنانت end"]


def test_presentation_forms_fold_to_base_letters() -> None:
    # ﺍﻟﻌﺮﺑﻴﺔ written with contextual glyphs, and the lam-alef ligatures.
    assert clean("\ufe8d\ufedf\ufecc\ufeae\ufe91\ufef4\ufe94 \ufefb \ufef7") == ["العربية لا لأ"]


def test_presentation_table_is_built_from_unicodedata() -> None:
    assert PRESENTATION_FORMS["\ufefb"] == "لا"
    assert PRESENTATION_FORMS["\ufe8e"] == "ا"
    assert "\ufeff" not in PRESENTATION_FORMS
    assert all(unicodedata.normalize("NFKC", ch) == folded for ch, folded in PRESENTATION_FORMS.items())
    assert all(0xFB50 <= ord(ch) <= 0xFDFF or 0xFE70 <= ord(ch) <= 0xFEFF for ch in PRESENTATION_FORMS)


def test_result_is_nfc() -> None:
    # alef + combining hamza above composes to أ; e + combining acute to é.
    assert clean("ا\u0654حمد cafe\u0301") == ["أحمد café"]


def test_decorative_tatweel_goes_but_functional_tatweel_stays() -> None:
    assert clean("مـــحـمـد", 'الـ24 بـ"الحدائق"', "الـــ24", "كلمةـ") == [
        "محمد",
        'الـ24 بـ"الحدائق"',
        "الـ24",
        "كلمةـ",
    ]


def test_tatweel_after_a_diacritic_is_decoration_too() -> None:
    assert clean("مُـحمد") == ["مُحمد"]


def test_no_break_space_and_compatibility_characters_stay() -> None:
    text = "x\u00a0y ² ＡＢ ﬁ"  # only Arabic presentation forms are folded
    assert clean(text) == [text]


def test_null_stays_null() -> None:
    assert clean(None, "") == [None, ""]


_ALPHABET = st.sampled_from(
    [
        *"ابتثجحخدذرسشصضطظعغفقكلمنهويءآأإؤئةى ",
        *("\u064e", "\u0651", "\u0650", "\u0654", "\u0640", "\u0640\u0640", "\ufefb", "\ufe8e", "\ufdfa", "\ufe70"),
        *("\r\n", "\r", "\n", "\u200b", "\u200f", "\ufeff", "\u00a0", "e\u0301", "\u2126", "\u0301\u0323", "«", "."),
    ]
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(_ALPHABET, max_size=40).map("".join), min_size=1, max_size=10))
def test_fast_column_version_equals_the_expression(texts: list[str]) -> None:
    frame = pl.DataFrame({"t": texts})
    expected = frame.select(clean_display_text(pl.col("t")))["t"].to_list()
    assert clean_display_column(frame, "t", "c")["c"].to_list() == expected
    assert all(unicodedata.is_normalized("NFC", text) for text in expected)
    assert not any(ch in text for text in expected for ch in "\r\u200b\u200f\ufeff")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(_ALPHABET, max_size=60).map("".join), min_size=1, max_size=10))
def test_cleaning_is_idempotent(texts: list[str]) -> None:
    once = clean(*texts)
    assert clean(*once) == once
