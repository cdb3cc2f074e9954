from __future__ import annotations

import hashlib
import random
from pathlib import Path

import polars as pl
import pytest

from transforms.dedup import DedupConfig, add_content_keys, collapse_repeated_paragraphs, exact_dedup
from transforms.frame import DUPLICATE, REJECTED
from transforms.schema import KNOWN_SCHEMA

SEEDS = Path(__file__).resolve().parents[1] / "seeds"

P1 = "قال وزير الخارجية إن المباحثات تناولت الوضع في المنطقة وسبل التعاون بين البلدين."
P2 = "وأضاف أن الجانبين اتفقا على مواصلة التنسيق خلال الأسابيع المقبلة."
P3 = "ولم يصدر أي تعليق رسمي من الجهات المعنية حتى الآن بشأن هذه التطورات."


def frame(bodies: list[str | None], paths: list[str] | None = None, status: list[str | None] | None = None):
    paths = paths or [f"in/{i:03d}.txt" for i in range(len(bodies))]
    status = status or [None] * len(bodies)
    return pl.DataFrame(
        {"source_path": paths, "body": bodies, "status": status, "reason": [None] * len(bodies)},
        schema={"source_path": pl.String, "body": pl.String, "status": pl.String, "reason": pl.String},
    )


def known_frame(rows: list[tuple[str, str, str | None]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=KNOWN_SCHEMA, orient="row")


def dedup(bodies, paths=None, known=None) -> pl.DataFrame:
    keyed = add_content_keys(collapse_repeated_paragraphs(frame(bodies, paths)))
    return exact_dedup(keyed, known if known is not None else known_frame([]), DedupConfig())


# --- repeated paragraphs -------------------------------------------------------------------------


def test_repeated_paragraph_kept_once_at_first_position():
    body = "\n".join([P1, P2, "  " + P1 + " ", P3, P2])
    out = collapse_repeated_paragraphs(frame([body]))
    assert out["body"][0] == "\n".join([P1, P2, P3])
    assert out["repeated_paragraph_count"][0] == 2


def test_body_without_repeats_is_unchanged():
    body = "\n".join([P1, P2, P3])
    out = collapse_repeated_paragraphs(frame([body]))
    assert out["body"][0] == body
    assert out["repeated_paragraph_count"][0] == 0


def test_short_repeated_paragraphs_are_structure_and_stay():
    # Subheadings and separators recur legitimately (a product review, a fixture list).
    body = "\n".join(["السعر", P1, "×××", "السعر", P2, "×××"])
    out = collapse_repeated_paragraphs(frame([body]))
    assert out["body"][0] == body
    assert out["repeated_paragraph_count"][0] == 0
    strict = collapse_repeated_paragraphs(frame([body]), DedupConfig(min_repeated_paragraph_words=1))
    # A separator has no word at all, so it is never a repeat.
    assert strict["body"][0] == "\n".join(["السعر", P1, "×××", P2, "×××"])
    assert strict["repeated_paragraph_count"][0] == 1


def test_refused_rows_and_missing_bodies_are_left_alone():
    body = "\n".join([P1, P1])
    out = collapse_repeated_paragraphs(frame([body, None], status=[REJECTED, None]))
    assert out["body"].to_list() == [body, None]
    assert out["repeated_paragraph_count"].to_list() == [None, None]


def test_seed_000_repeats_a_clause_not_a_paragraph():
    path = SEEDS / "000_b06b58c1988d3a64.txt"
    if not path.exists():
        pytest.skip(f"seed file missing: {path}")
    body = path.read_text(encoding="utf-8").strip()
    paragraphs = body.split("\n")
    clause = "أمين المجلس الأعلى للأمن القومي ومنسق الإجراءات السياسية والأمنية والدفاعية لإيران"
    # The clause recurs inside paragraphs 1 and 3 with different surroundings ...
    assert body.count(clause) == 2
    assert paragraphs[0] != paragraphs[2]
    # ... so no paragraph is a verbatim repeat and nothing may be removed.
    out = collapse_repeated_paragraphs(frame([body]))
    assert out["body"][0] == body
    assert out["repeated_paragraph_count"][0] == 0
    # A paragraph pasted twice into the same article does go.
    pasted = "\n".join([*paragraphs[:4], paragraphs[2], *paragraphs[4:]])
    out = collapse_repeated_paragraphs(frame([pasted]))
    assert out["body"][0] == body
    assert out["repeated_paragraph_count"][0] == 1


# --- content keys --------------------------------------------------------------------------------


def test_content_keys_are_sha256_of_the_match_key():
    out = add_content_keys(frame(["hello world", P1]))
    assert out["match_key"][0] == "hello world"
    # Pinned: ids must not change between runs or releases, or the warehouse would fork articles.
    assert out["content_hash"][0] == hashlib.sha256(b"hello world").hexdigest()
    assert out["article_id"][0] == "b94d27b9934d3e08"
    key = out["match_key"][1]
    assert out["content_hash"][1] == hashlib.sha256(key.encode("utf-8")).hexdigest()
    assert out["article_id"].str.contains(r"^[0-9a-f]{16}$").all()


def test_spelling_variants_share_a_key_and_refused_rows_get_none():
    variant = P1.replace("إن", "ان").replace(".", " ؟ ").replace("المباحثات", "المباحثـات") + "  "
    out = add_content_keys(frame([P1, variant, P2, P1], status=[None, None, None, REJECTED]))
    ids = out["article_id"].to_list()
    assert ids[0] == ids[1]
    assert ids[0] != ids[2]
    assert ids[3] is None
    assert out["content_hash"][3] is None


# --- exact dedup ---------------------------------------------------------------------------------


def test_exact_duplicates_in_batch_keep_smallest_path():
    bodies = [P1, P2, P1, P1 + "  ", P3]
    paths = ["b/2.txt", "x.txt", "a/9.txt", "c.txt", "y.txt"]
    out = dedup(bodies, paths)
    canonical_id = out.filter(pl.col("source_path") == "a/9.txt")["article_id"][0]
    dups = out.filter(pl.col("status") == DUPLICATE).sort("source_path")
    assert dups["source_path"].to_list() == ["b/2.txt", "c.txt"]
    assert dups["duplicate_of"].to_list() == [canonical_id, canonical_id]
    assert dups["duplicate_kind"].to_list() == ["exact", "exact"]
    assert dups["similarity"].to_list() == [1.0, 1.0]
    assert dups["reason"][0] == f"exact duplicate of article {canonical_id} (a/9.txt)"
    kept = out.filter(pl.col("status").is_null())
    assert sorted(kept["source_path"]) == ["a/9.txt", "x.txt", "y.txt"]
    assert kept.select(pl.col("duplicate_of", "duplicate_kind", "similarity").null_count()).row(0) == (3, 3, 3)


def test_canonical_does_not_depend_on_row_order():
    bodies = [P1, P2, P1, P1, P2, P3]
    paths = ["d.txt", "e.txt", "b.txt", "f.txt", "a.txt", "c.txt"]
    outcomes = set()
    rng = random.Random(7)
    orders = [list(range(len(bodies))), list(reversed(range(len(bodies))))]
    orders += [rng.sample(range(len(bodies)), len(bodies)) for _ in range(30)]
    for order in orders:
        out = dedup([bodies[i] for i in order], [paths[i] for i in order])
        outcomes.add(tuple(out.sort("source_path").select("source_path", "status", "duplicate_of", "reason").rows()))
    assert len(outcomes) == 1
    (result,) = outcomes
    assert [row[1] for row in result] == [None, None, None, DUPLICATE, DUPLICATE, DUPLICATE]


def test_duplicates_of_articles_already_in_the_warehouse():
    first = add_content_keys(frame([P1, P2]))
    known = known_frame([(first["content_hash"][0], first["article_id"][0], "seeds/002.txt")])
    out = dedup([P1, P3, P1 + " "], ["new/1.txt", "new/2.txt", "new/0.txt"], known)
    dups = out.filter(pl.col("status") == DUPLICATE).sort("source_path")
    # Every copy in the batch points at the stored article; none of them becomes canonical.
    assert dups["source_path"].to_list() == ["new/0.txt", "new/1.txt"]
    assert dups["duplicate_of"].to_list() == [first["article_id"][0]] * 2
    assert dups["reason"][0] == f"exact duplicate of article {first['article_id'][0]} (seeds/002.txt)"
    assert out.filter(pl.col("source_path") == "new/2.txt")["status"][0] is None


def test_known_without_paths_or_rows():
    first = add_content_keys(frame([P1]))
    known = known_frame([(first["content_hash"][0], first["article_id"][0], None)])
    out = dedup([P1, P2], known=known)
    assert out["reason"][0] == f"exact duplicate of article {first['article_id'][0]}"
    out = dedup([P1, P2, P1], known=known_frame([]))
    assert out["status"].to_list() == [None, None, DUPLICATE]


def test_refused_rows_neither_get_labelled_nor_serve_as_canonical():
    keyed = add_content_keys(frame([P1, P1, P1], ["a.txt", "b.txt", "c.txt"]))
    # a.txt was refused by an earlier step after its key had been computed.
    keyed = keyed.with_columns(
        pl.when(pl.col("source_path") == "a.txt").then(pl.lit(REJECTED)).otherwise(pl.col("status")).alias("status"),
        pl.when(pl.col("source_path") == "a.txt").then(pl.lit("too short")).alias("reason"),
    )
    out = exact_dedup(keyed, known_frame([]), DedupConfig())
    assert out["status"].to_list() == [REJECTED, None, DUPLICATE]
    assert out["reason"][0] == "too short"
    assert out["duplicate_of"][0] is None
    assert "(b.txt)" in out["reason"][2]


def test_empty_batch():
    out = dedup([])
    assert out.height == 0
    assert {"duplicate_of", "duplicate_kind", "similarity", "article_id", "content_hash"} <= set(out.columns)


def test_outcome_does_not_depend_on_how_the_input_is_split():
    bodies = [P1, P2, P1, P3, P2 + " ", P1, P3]
    paths = [f"d/{i}.txt" for i in (5, 3, 1, 6, 0, 4, 2)]
    whole = dedup(bodies, paths)
    order = sorted(range(len(bodies)), key=lambda i: paths[i])  # batches are cut from the sorted listing
    known, parts = known_frame([]), []
    for chunk in (order[:2], order[2:5], order[5:]):
        part = dedup([bodies[i] for i in chunk], [paths[i] for i in chunk], known)
        parts.append(part)
        loaded = part.filter(pl.col("status").is_null()).select("content_hash", "article_id", "source_path")
        known = pl.concat([known, loaded])
    columns = ["source_path", "status", "reason", "duplicate_of", "article_id"]
    assert pl.concat(parts).select(columns).sort("source_path").equals(whole.select(columns).sort("source_path"))
    assert whole.filter(pl.col("status") == DUPLICATE).height == 4


# --- publication order ---------------------------------------------------------------------------

BY_DATE = DedupConfig(canonical_order=("published_at", "source_path"))


def dated(bodies: list[str], paths: list[str], dates: list[str | None]) -> pl.DataFrame:
    published = pl.Series("published_at", dates, dtype=pl.String).str.to_datetime(time_zone="UTC")
    return add_content_keys(collapse_repeated_paragraphs(frame(bodies, paths).with_columns(published)))


def test_canonical_is_the_earliest_published_then_smallest_path_and_undated_last():
    bodies = [P1, P1, P1, P2, P2, P2, P3, P3]
    paths = ["a.txt", "z.txt", "m.txt", "b.txt", "c.txt", "y.txt", "d.txt", "e.txt"]
    dates = ["2018-05-02 10:00", "2018-05-01 23:00", "2018-05-02 09:00",  # P1: z.txt is earliest
             None, "2018-05-03 08:00", "2018-05-03 08:00",                  # P2: tie -> c.txt; undated last
             None, None]                                                    # P3: no dates -> d.txt
    out = exact_dedup(dated(bodies, paths, dates), known_frame([]), BY_DATE)
    kept = out.filter(pl.col("status").is_null())
    assert sorted(kept["source_path"]) == ["c.txt", "d.txt", "z.txt"]
    ids = dict(zip(out["source_path"], out["article_id"], strict=True))
    dups = out.filter(pl.col("status") == DUPLICATE).sort("source_path")
    assert dict(zip(dups["source_path"], dups["duplicate_of"], strict=True)) == {
        "a.txt": ids["z.txt"], "m.txt": ids["z.txt"], "b.txt": ids["c.txt"], "y.txt": ids["c.txt"],
        "e.txt": ids["d.txt"],
    }
    assert dups.filter(pl.col("source_path") == "a.txt")["reason"][0].endswith("(z.txt)")
    # The default order is still the smallest path.
    default = exact_dedup(dated(bodies, paths, dates), known_frame([]), DedupConfig())
    assert sorted(default.filter(pl.col("status").is_null())["source_path"]) == ["a.txt", "b.txt", "d.txt"]


def test_publication_order_does_not_depend_on_row_order_or_date_pieces():
    bodies = [P1, P2, P1, P3, P2 + " ", P1, P3]
    paths = [f"d/{i}.txt" for i in (5, 3, 1, 6, 0, 4, 2)]
    dates = ["2018-05-01", "2018-05-04", "2018-05-03", None, "2018-05-02", "2018-05-03", "2018-05-05"]
    whole = exact_dedup(dated(bodies, paths, dates), known_frame([]), BY_DATE)
    rng = random.Random(3)
    for _ in range(10):
        order = rng.sample(range(len(bodies)), len(bodies))
        shuffled = exact_dedup(
            dated([bodies[i] for i in order], [paths[i] for i in order], [dates[i] for i in order]),
            known_frame([]), BY_DATE,
        )
        assert shuffled.sort("source_path").equals(whole.sort("source_path"))
    # Pieces in date order (undated last), each deduplicated against the ones before.
    order = sorted(range(len(bodies)), key=lambda i: (dates[i] is None, dates[i] or "", paths[i]))
    known, parts = known_frame([]), []
    for chunk in (order[:2], order[2:4], order[4:]):
        part = exact_dedup(
            dated([bodies[i] for i in chunk], [paths[i] for i in chunk], [dates[i] for i in chunk]), known, BY_DATE
        )
        parts.append(part)
        known = pl.concat([known, part.filter(pl.col("status").is_null()).select("content_hash", "article_id",
                                                                                  "source_path")])
    columns = ["source_path", "status", "reason", "duplicate_of", "article_id"]
    assert pl.concat(parts).select(columns).sort("source_path").equals(whole.select(columns).sort("source_path"))
    kept = whole.filter(pl.col("status").is_null())["source_path"].sort().to_list()
    assert kept == ["d/0.txt", "d/2.txt", "d/5.txt"]  # P1 from 05-01, P2 from 05-02, P3 dated beats undated
