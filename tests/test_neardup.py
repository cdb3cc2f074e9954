"""Near-duplicate detection: MinHash-LSH candidates, exact verification, clusters without chaining."""

from __future__ import annotations

import random
import re

import numpy as np
import polars as pl
import pytest

from transforms.arabic import match_key
from transforms.dedup import add_content_keys, exact_dedup
from transforms.frame import DUPLICATE
from transforms.neardup import (
    NEAR,
    NearDupConfig,
    minhash_bands,
    near_dedup,
    shingle_hashes,
)
from transforms.schema import BAND_SCHEMA

VOCABULARY = [
    "قال", "وزير", "الخارجية", "إن", "المباحثات", "تناولت", "الوضع", "في", "المنطقة", "وسبل",
    "التعاون", "بين", "البلدين", "وأضاف", "أن", "الجانبين", "اتفقا", "على", "مواصلة", "التنسيق",
    "خلال", "الأسابيع", "المقبلة", "ولم", "يصدر", "أي", "تعليق", "رسمي", "من", "الجهات", "المعنية",
    "حتى", "الآن", "بشأن", "هذه", "التطورات", "الحكومة", "البرلمان", "الرئيس", "المدينة", "الشرطة",
    "الجيش", "الاقتصاد", "السوق", "النفط", "الأسعار", "البنك", "الشركة", "المشروع", "الملعب",
    "المباراة", "الفريق", "المدرب", "اللاعب", "الهدف", "الموسم", "البطولة", "الجمهور", "الطقس",
    "الأمطار", "الرياح", "المستشفى", "الطبيب", "المرضى", "الدواء", "المدرسة", "الطلاب", "الامتحان",
    "الجامعة", "الكتاب", "الفيلم", "المهرجان", "الجائزة",
]  # fmt: skip


def sentences(seed: int, count: int = 20) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(VOCABULARY) for _ in range(12)) + "." for _ in range(count)]


def body(parts: list[str]) -> str:
    return "\n".join(parts)


ORIGINAL = sentences(1)
NOT_A_COPY = body(sentences(99))
ONE_CHANGED = [*ORIGINAL[:10], sentences(2, 1)[0], *ORIGINAL[11:]]  # one sentence rewritten


def keyed(bodies: list[str | None], paths: list[str] | None = None) -> pl.DataFrame:
    """Rows as exact_dedup leaves them, with an empty warehouse."""
    paths = paths or [f"in/{i:03d}.txt" for i in range(len(bodies))]
    frame = pl.DataFrame(
        {"source_path": paths, "body": bodies, "status": None, "reason": None},
        schema={"source_path": pl.String, "body": pl.String, "status": pl.String, "reason": pl.String},
    )
    known = pl.DataFrame(
        schema={"content_hash": pl.String, "article_id": pl.String, "source_path": pl.String}
    )
    return exact_dedup(add_content_keys(frame), known)


def no_history() -> pl.DataFrame:
    return pl.DataFrame(schema=BAND_SCHEMA)


def jaccard(a: str, b: str, k: int = 5) -> float:
    """Reference: exact Jaccard of the word k-gram sets of the two bodies' match keys."""
    keys = pl.DataFrame({"t": [a, b]}).select(match_key(pl.col("t")))["t"].to_list()
    sets = []
    for key in keys:
        words = key.split()
        sets.append({tuple(words[i : i + k]) for i in range(max(1, len(words) - k + 1))})
    return len(sets[0] & sets[1]) / len(sets[0] | sets[1])


def row(frame: pl.DataFrame, path: str) -> dict:
    return frame.filter(pl.col("source_path") == path).row(0, named=True)


# --- finding near copies -------------------------------------------------------------------------


def test_near_copy_with_one_changed_sentence_is_a_near_duplicate_of_the_earlier_path():
    frame = keyed([body(ONE_CHANGED), body(ORIGINAL), NOT_A_COPY], ["b.txt", "a.txt", "c.txt"])
    out, bands = near_dedup(frame, no_history())
    copy, original, other = row(out, "b.txt"), row(out, "a.txt"), row(out, "c.txt")
    assert copy["status"] == DUPLICATE and copy["duplicate_kind"] == NEAR
    assert copy["duplicate_of"] == original["article_id"]
    assert copy["similarity"] == pytest.approx(jaccard(body(ONE_CHANGED), body(ORIGINAL)))
    assert 0.75 <= copy["similarity"] < 1.0
    assert re.fullmatch(
        rf"near duplicate of article {original['article_id']} \(a\.txt\): Jaccard 0\.\d\d", copy["reason"]
    )
    assert original["status"] is None and other["status"] is None
    # Band rows come back for the two articles that stay, one per band.
    assert sorted(bands["source_path"].unique().to_list()) == ["a.txt", "c.txt"]
    assert bands.height == 2 * NearDupConfig().bands
    assert bands.schema == pl.Schema(BAND_SCHEMA)
    # The same rows minhash_bands computes (for back-filling the store).
    backfill = minhash_bands(out)
    assert backfill.sort(list(BAND_SCHEMA)).equals(bands.sort(list(BAND_SCHEMA)))


def test_below_threshold_stays_canonical():
    half = [*ORIGINAL[:10], *sentences(3, 10)]
    assert jaccard(body(half), body(ORIGINAL)) < 0.75
    out, _ = near_dedup(keyed([body(ORIGINAL), body(half)]), no_history())
    assert out["status"].to_list() == [None, None]
    assert out["duplicate_of"].to_list() == [None, None]


def test_history_article_is_the_canonical_even_with_a_larger_path():
    stored = keyed([body(ORIGINAL)], ["z/old.txt"])
    history = minhash_bands(stored)
    calls: list[list[str]] = []

    def fetch_keys(ids: list[str]) -> pl.DataFrame:
        calls.append(ids)
        return stored.filter(pl.col("article_id").is_in(ids)).select("article_id", "body")  # body is enough

    frame = keyed([body(ONE_CHANGED), NOT_A_COPY], ["a/new.txt", "a/other.txt"])
    out, bands = near_dedup(frame, history, NearDupConfig(), fetch_keys)
    new = row(out, "a/new.txt")
    assert new["duplicate_of"] == stored["article_id"][0] and new["duplicate_kind"] == NEAR
    assert "(z/old.txt)" in new["reason"]
    assert calls == [stored["article_id"].to_list()]  # only the candidate, once
    assert bands["source_path"].unique().to_list() == ["a/other.txt"]


def test_history_needs_a_way_to_read_candidate_texts():
    history = minhash_bands(keyed([body(ORIGINAL)], ["old.txt"]))
    with pytest.raises(ValueError, match="fetch_keys"):
        near_dedup(keyed([body(ONE_CHANGED)]), history)
    # ... unless the history rows carry the key.
    stored = keyed([body(ORIGINAL)], ["old.txt"])
    with_keys = history.join(stored.select("article_id", "match_key"), on="article_id")
    out, _ = near_dedup(keyed([body(ONE_CHANGED)]), with_keys)
    assert out["duplicate_of"][0] == stored["article_id"][0]


def test_exact_copies_of_a_near_duplicate_point_at_the_canonical():
    frame = keyed([body(ORIGINAL), body(ONE_CHANGED), body(ONE_CHANGED)], ["a.txt", "b.txt", "c.txt"])
    assert row(frame, "c.txt")["duplicate_kind"] == "exact"  # exact_dedup: c is a copy of b
    out, _ = near_dedup(frame, no_history())
    canonical = row(out, "a.txt")["article_id"]
    for path in ("b.txt", "c.txt"):
        dup = row(out, path)
        assert dup["status"] == DUPLICATE and dup["duplicate_of"] == canonical
        assert dup["duplicate_kind"] == NEAR and dup["reason"].startswith(
            f"near duplicate of article {canonical}"
        )


def test_exact_duplicates_of_canonicals_are_left_alone():
    frame = keyed([body(ORIGINAL), body(ORIGINAL)], ["a.txt", "b.txt"])
    out, _ = near_dedup(frame, no_history())
    assert out.select("duplicate_kind", "similarity", "reason").equals(
        frame.select("duplicate_kind", "similarity", "reason")
    )


# --- clusters without chaining ---------------------------------------------------------------------


def chain() -> tuple[str, str, str]:
    a = ORIGINAL
    b = [*sentences(4, 2), *a[2:]]  # A with its first two sentences rewritten
    c = [*b[:-2], *sentences(5, 2)]  # B with its last two sentences rewritten
    return body(a), body(b), body(c)


def test_no_chaining_through_a_duplicate():
    a, b, c = chain()
    assert jaccard(a, b) >= 0.75 and jaccard(b, c) >= 0.75 and jaccard(a, c) < 0.75
    out, bands = near_dedup(keyed([c, b, a], ["c.txt", "b.txt", "a.txt"]), no_history())
    assert row(out, "b.txt")["duplicate_of"] == row(out, "a.txt")["article_id"]
    # C is similar to B only, and B is not canonical: C stays, it does not join A's cluster.
    assert row(out, "c.txt")["status"] is None
    assert sorted(bands["source_path"].unique().to_list()) == ["a.txt", "c.txt"]


def test_no_chaining_across_batches():
    a, b, c = chain()
    first, first_bands = near_dedup(keyed([a, b], ["a.txt", "b.txt"]), no_history())
    stored = first.filter(pl.col("status").is_null())
    keys = dict(zip(stored["article_id"].to_list(), stored["match_key"].to_list(), strict=True))

    def fetch_keys(ids: list[str]) -> pl.DataFrame:
        return pl.DataFrame({"article_id": ids, "match_key": [keys[i] for i in ids]})

    second, _ = near_dedup(keyed([c], ["c.txt"]), first_bands, NearDupConfig(), fetch_keys)
    assert row(first, "b.txt")["duplicate_kind"] == NEAR
    assert second["status"].to_list() == [None]  # only B (not stored) is similar to C


def test_attached_to_the_most_similar_canonical():
    a = ORIGINAL
    d = [*sentences(6, 3), *a[3:]]  # A with three sentences rewritten: not similar enough to A
    x = [d[0], *a[1:]]  # A with D's first sentence: similar to both, most to A
    assert jaccard(body(a), body(d)) < 0.75
    assert jaccard(body(x), body(a)) > jaccard(body(x), body(d)) >= 0.75
    # D comes first in path order, so the choice is by similarity, not by order.
    out, _ = near_dedup(keyed([body(d), body(a), body(x)], ["a.txt", "b.txt", "c.txt"]), no_history())
    assert out["status"].to_list() == [None, None, DUPLICATE]
    assert row(out, "c.txt")["duplicate_of"] == row(out, "b.txt")["article_id"]


# --- determinism -----------------------------------------------------------------------------------


def test_same_result_whatever_the_row_order():
    a, b, c = chain()
    bodies = [a, b, c, body(ONE_CHANGED), NOT_A_COPY, body(sentences(8))]
    paths = [f"p{i}.txt" for i in range(len(bodies))]
    cols = ["source_path", "status", "reason", "duplicate_of", "duplicate_kind", "similarity"]
    results = set()
    for seed in range(4):
        order = random.Random(seed).sample(range(len(bodies)), len(bodies))
        out, bands = near_dedup(keyed([bodies[i] for i in order], [paths[i] for i in order]), no_history())
        results.add(
            (repr(out.select(cols).sort("source_path").rows()), repr(bands.sort(list(BAND_SCHEMA)).rows()))
        )
    assert len(results) == 1


def test_band_hashes_are_pinned():
    # Stored in the warehouse: must never change between processes, runs or library upgrades.
    bands = minhash_bands(keyed(["قال وزير الخارجية إن المباحثات تناولت الوضع في المنطقة وسبل التعاون."]))
    assert bands["band_index"].to_list() == list(range(16))
    assert bands["band_hash"].head(3).to_list() == PINNED_BANDS


PINNED_BANDS = [9163589959367511131, -8250971318541335056, -4969396232794264553]


def test_shingle_hashes_follow_their_definition():
    mask = (1 << 64) - 1

    def fmix(x: int) -> int:
        x ^= x >> 33
        x = (x * 0xFF51AFD7ED558CCD) & mask
        x ^= x >> 33
        x = (x * 0xC4CEB9FE1A85EC53) & mask
        return x ^ (x >> 33)

    from transforms import neardup

    def word(w: str) -> int:
        return fmix(sum(b * pow(neardup._WORD_BASE, j, 1 << 64) for j, b in enumerate(w.encode())) & mask)

    def shingle(ws: list[str]) -> int:
        return fmix(sum(word(w) * int(neardup._SHINGLE_WEIGHTS[t]) for t, w in enumerate(ws)) & mask)

    keys = ["a b c d e f", "", "x y", "ab  cd ef", "ذهب الولد إلى المدرسة صباحا", None]
    hashes, doc = shingle_hashes(pl.Series(keys, dtype=pl.String), 3)
    expected = [
        (d, shingle(ws[i : i + 3] if len(ws) >= 3 else ws))
        for d, key in enumerate(keys)
        if key
        for ws in [key.split()]
        for i in range(max(1, len(ws) - 2))
    ]
    assert list(zip(doc.tolist(), hashes.tolist(), strict=True)) == expected


# --- edges -----------------------------------------------------------------------------------------


def test_empty_inputs():
    empty = keyed([])
    out, bands = near_dedup(empty, pl.DataFrame(schema=BAND_SCHEMA))
    assert out.height == 0 and bands.height == 0 and bands.schema == pl.Schema(BAND_SCHEMA)
    assert {"duplicate_of", "duplicate_kind", "similarity"} <= set(out.columns)
    assert minhash_bands(empty).height == 0


def test_rows_without_text_or_already_refused_are_ignored():
    frame = keyed([None, "...", body(ORIGINAL), body(ONE_CHANGED)])  # "..." has an empty key
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 2)
        .then(pl.lit("rejected"))
        .otherwise(pl.col("status"))
        .alias("status")
    )
    out, bands = near_dedup(frame, no_history())
    assert out["status"].to_list() == [None, None, "rejected", None]  # the original is not alive
    assert bands["source_path"].unique().to_list() == ["in/003.txt"]


def test_config_is_checked():
    with pytest.raises(ValueError, match="num_perm"):
        NearDupConfig(num_perm=64, bands=10, rows=5)
    with pytest.raises(ValueError, match="threshold"):
        NearDupConfig(threshold=0.0)
    assert NearDupConfig().scheme == "minhash-v1/w5/p64/b16x4"


def test_signature_estimates_jaccard():
    # The permutation family behaves like random permutations: the share of equal MinHash values
    # estimates the Jaccard similarity.
    from transforms.neardup import minhash_signatures

    a, b = body(ORIGINAL), body([*sentences(9, 6), *ORIGINAL[6:]])
    keys = pl.DataFrame({"t": [a, b]}).select(match_key(pl.col("t")))["t"]
    hashes, doc = shingle_hashes(keys, 5)
    sig = minhash_signatures(hashes, doc, 1024)
    assert np.mean(sig[0] == sig[1]) == pytest.approx(jaccard(a, b), abs=0.05)
