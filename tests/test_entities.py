from __future__ import annotations

import hashlib
import json
from pathlib import Path

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.arabic import match_key
from transforms.entities import (
    ENTITY_SCHEMA,
    EntityConfig,
    entities_from_mentions,
    entity_ids,
    extract_mentions,
)
from transforms.schema import MENTION_SCHEMA

REPO = Path(__file__).resolve().parents[1]


def _mentions(*bodies: str, config: EntityConfig | None = None) -> pl.DataFrame:
    frame = pl.DataFrame({"article_id": [f"a{i}" for i in range(len(bodies))], "body": list(bodies)})
    return extract_mentions(frame, config or EntityConfig())


def _found(mentions: pl.DataFrame) -> set[tuple[str, str, str]]:
    return set(mentions.select("entity_type", "surface", "canonical_name").iter_rows())


def test_gazetteer_places_organizations_people() -> None:
    m = _mentions("التقى وزير الخارجية الروسي سيرغي لافروف في موسكو ممثلين عن الأمم المتحدة.")
    assert _found(m) == {
        ("PER", "سيرغي لافروف", "سيرغي لافروف"),
        ("LOC", "موسكو", "موسكو"),
        ("ORG", "الأمم المتحدة", "الأمم المتحدة"),
    }
    assert m.columns == list(MENTION_SCHEMA)


def test_clitics_are_stripped_from_the_mention() -> None:
    body = "زار وفد لإيران وبطهران والعراق، ثم اجتمع للأمم المتحدة في لبنان"
    m = _mentions(body)
    assert ("LOC", "إيران", "إيران") in _found(m)
    assert ("LOC", "طهران", "طهران") in _found(m)
    assert ("LOC", "العراق", "العراق") in _found(m)
    assert ("LOC", "لبنان", "لبنان") in _found(m)  # ل is part of the name
    org = m.filter(pl.col("entity_type") == "ORG").row(0, named=True)
    assert org["canonical_name"] == "الأمم المتحدة" and org["surface"] == "لأمم المتحدة"
    for row in m.iter_rows(named=True):
        assert body[row["start_char"] : row["end_char"]] == row["surface"]


def test_first_names_are_not_cut_into_clitic_and_stem() -> None:
    m = _mentions("قال وليد المعلم وفيصل المقداد كلاماً كما قال بشار الأسد")
    people = set(m.filter(pl.col("entity_type") == "PER")["canonical_name"].to_list())
    assert people == {"وليد المعلم", "فيصل المقداد", "بشار الأسد"}


def test_role_introduces_a_person_not_in_the_lists() -> None:
    m = _mentions(
        "وأكد المدير العام للشركة الوطنية سامر الحلبي أن الأرباح ارتفعت. "
        "وقال اللواء ماهر سليمان إن الوضع هادئ."
    )
    people = m.filter(pl.col("entity_type") == "PER")
    assert set(people["canonical_name"].to_list()) == {"سامر الحلبي", "ماهر سليمان"}
    # The role is never part of the name.
    assert not any(s.startswith(("المدير", "اللواء")) for s in people["surface"].to_list())


def test_no_person_without_a_role_or_list_entry() -> None:
    m = _mentions("قال إن حسن النية مطلوب وعلى الجميع العمل")
    assert m.filter(pl.col("entity_type") == "PER").is_empty()


def test_short_form_resolves_to_the_full_name_in_the_same_article() -> None:
    m = _mentions(
        "استقبل الرئيس السوري بشار الأسد الوفد. وقال الأسد إن النصر قريب، وأضاف الأسد أن الحل سياسي.",
        "هرب الأسد من حديقة الحيوان.",
    )
    first = m.filter(pl.col("article_id") == "a0")
    assert first["canonical_name"].to_list().count("بشار الأسد") == 3
    assert first["entity_id"].n_unique() == 1
    assert m.filter(pl.col("article_id") == "a1").is_empty()


def test_heuristic_name_short_form() -> None:
    m = _mentions("وأكد اللواء ماهر سليمان أن الوضع هادئ. وأضاف سليمان أن القوات مستعدة.")
    people = m.filter(pl.col("entity_type") == "PER")
    assert people["canonical_name"].to_list() == ["ماهر سليمان", "ماهر سليمان"]
    assert people["surface"].to_list() == ["ماهر سليمان", "سليمان"]


def test_ambiguous_short_form_resolves_to_no_one() -> None:
    m = _mentions("التقى الملك سلمان بن عبد العزيز وولي العهد محمد بن سلمان، ثم غادر سلمان.")
    last = m.filter(pl.col("start_char") > 60)
    assert last.filter(pl.col("surface") == "سلمان").is_empty()


def test_ministry_army_and_media_patterns() -> None:
    m = _mentions(
        "أعلنت وزارة الدفاع الروسية ولوزارة التعليم العالي القول إن للجيش اللبناني دوراً نقلته صحيفة الوطن"
    )
    orgs = set(m.filter(pl.col("entity_type") == "ORG")["canonical_name"].to_list())
    assert {"وزارة الدفاع الروسية", "وزارة التعليم العالي", "الجيش اللبناني", "صحيفة الوطن"} <= orgs
    assert "وزارة التعليم العالي القول" not in orgs


def test_entity_ids_are_stable_and_spelling_independent() -> None:
    expected = hashlib.sha256("LOC\x1fايران".encode()).hexdigest()[:16]
    ids = entity_ids(pl.Series(["LOC", "LOC", "ORG"]), pl.Series(["إيران", "ايران", "إيران"]))
    assert ids.to_list()[:2] == [expected, expected]
    assert ids[2] != expected and len(ids[2]) == 16
    # The id key is the shared arabic.match_key of the canonical name.
    key = pl.DataFrame({"c": ["إيران"]}).select(match_key(pl.col("c")))["c"][0]
    assert key == "ايران"


def test_entities_from_mentions_counts() -> None:
    m = _mentions("زار وفد إيران ثم ايران وبعدها روسيا", "عاد الوفد من إيران")
    ents = entities_from_mentions(m)
    assert ents.columns == list(ENTITY_SCHEMA)
    iran = ents.filter(pl.col("canonical_name") == "إيران").row(0, named=True)
    assert (iran["entity_type"], iran["article_count"], iran["mention_count"]) == ("LOC", 2, 3)
    assert ents.height == 2


def test_empty_and_null_bodies() -> None:
    out = _mentions("", "لا شيء هنا")
    assert out.is_empty() and out.schema == pl.Schema(MENTION_SCHEMA)
    frame = pl.DataFrame(
        {"article_id": ["x"], "body": [None]}, schema={"article_id": pl.String, "body": pl.String}
    )
    assert extract_mentions(frame).is_empty()
    assert entities_from_mentions(out).schema == pl.Schema(ENTITY_SCHEMA)


_NAMES = [
    "إيران", "وإيران", "لإيران", "بطهران", "سورية", "الأمم المتحدة", "للأمم المتحدة", "وزارة الدفاع الروسية",
    "الرئيس بشار الأسد", "الأسد", "وليد المعلم", "والمعلم", "اللواء ماهر سليمان", "سليمان", "«سانا»",
    "“فيصل المقداد”", "حزب الله", "الولايات المتحدة الأميركية", "دير الزور", "عبد الفتاح السيسي",
]  # fmt: skip
_FILLER = st.text(st.sampled_from(list('ابتجحدرسعفقكلمنهوية ًُِـ،.؟!:«»"()\n 123')), max_size=12)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.one_of(st.sampled_from(_NAMES), _FILLER), max_size=12), min_size=1, max_size=3))
def test_offsets_always_match_the_body(docs: list[list[str]]) -> None:
    bodies = [" ".join(parts) for parts in docs]
    m = _mentions(*bodies)
    for row in m.iter_rows(named=True):
        body = bodies[int(row["article_id"][1:])]
        assert row["start_char"] < row["end_char"]
        assert body[row["start_char"] : row["end_char"]] == row["surface"]
        assert row["entity_type"] in ("PER", "ORG", "LOC")
    # Mentions of one article never overlap.
    for _, group in m.sort("article_id", "start_char").group_by("article_id"):
        starts, ends = group["start_char"].to_list(), group["end_char"].to_list()
        assert all(ends[i] <= starts[i + 1] for i in range(len(starts) - 1))


def _keys(names: list[str]) -> dict[str, str]:
    frame = pl.DataFrame({"n": names}, schema={"n": pl.String})
    return dict(zip(names, frame.select(match_key(pl.col("n")))["n"].to_list(), strict=True))


def _score(
    predicted: dict[str, set[tuple[str, str]]], gold: dict[str, list[dict]]
) -> tuple[float, float, float]:
    """Micro precision/recall/F1 of (type, canonical) sets, names compared by match_key."""
    names = [n for items in gold.values() for item in items for n in [item["name"], *item.get("aliases", [])]]
    key = _keys(names + [n for preds in predicted.values() for _, n in preds])
    tp_pred = n_pred = tp_gold = n_gold = 0
    for article, items in gold.items():
        answers = [
            (item["type"], {key[n] for n in [item["name"], *item.get("aliases", [])]}) for item in items
        ]
        preds = {(t, key[n]) for t, n in predicted.get(article, set())}
        n_pred += len(preds)
        n_gold += len(answers)
        tp_pred += sum(any(t == gt and k in keys for gt, keys in answers) for t, k in preds)
        tp_gold += sum(any(t == gt and k in keys for t, k in preds) for gt, keys in answers)
    precision, recall = tp_pred / max(n_pred, 1), tp_gold / max(n_gold, 1)
    return precision, recall, 2 * precision * recall / max(precision + recall, 1e-9)


def test_seed_articles_against_the_gold_list() -> None:
    gold = json.loads((REPO / "tests" / "fixtures" / "seed_entities.json").read_text(encoding="utf-8"))
    gold.pop("_about")
    files = sorted(gold)
    bodies = [(REPO / "seeds" / name).read_text(encoding="utf-8") for name in files]
    m = extract_mentions(pl.DataFrame({"article_id": files, "body": bodies}))
    predicted: dict[str, set[tuple[str, str]]] = {}
    for article, etype, name in m.select("article_id", "entity_type", "canonical_name").iter_rows():
        predicted.setdefault(article, set()).add((etype, name))
    precision, recall, f1 = _score(predicted, gold)
    print(f"seed entities: precision {precision:.3f} recall {recall:.3f} F1 {f1:.3f}")
    assert f1 >= 0.6, (precision, recall, f1)
