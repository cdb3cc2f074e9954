from __future__ import annotations

import json
import zlib
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.test_entities import _score
from transforms.entities import entity_ids
from transforms.mentions import (
    MentionConfig,
    entity_aliases,
    iob_spans,
    spans_to_tags,
    tag_mentions,
    tag_sentences,
)
from transforms.ner import MODEL_DIR
from transforms.ner.text import key
from transforms.schema import MENTION_SCHEMA

REPO = Path(__file__).resolve().parents[1]
MODEL_ONLY = MentionConfig(use_gazetteer=False)


class DictTagger:
    """Stand-in for the NER model: longest match of token-key sequences in a dict of names.

    Tokens are matched whole (clitics included), as the real model sees them. Records its calls.
    """

    def __init__(self, names: dict[str, str]) -> None:
        self.names = {tuple(key(t) for t in name.split()): typ for name, typ in names.items()}
        self.longest = max((len(k) for k in self.names), default=1)
        self.calls: list[tuple[list[list[str]], list | None]] = []
        self.radii: list[int | None] = []

    def tag(self, sentences: list[list[str]], doc_ids=None, context_radius=None) -> list[list[str]]:
        self.calls.append((sentences, None if doc_ids is None else list(doc_ids)))
        self.radii.append(context_radius)
        out = []
        for sent in sentences:
            keys = [key(t) for t in sent]
            tags = ["O"] * len(sent)
            i = 0
            while i < len(sent):
                for n in range(min(self.longest, len(sent) - i), 0, -1):
                    typ = self.names.get(tuple(keys[i : i + n]))
                    if typ:
                        tags[i : i + n] = ["B-" + typ] + ["I-" + typ] * (n - 1)
                        i += n
                        break
                else:
                    i += 1
            out.append(tags)
        return out


class NoisyTagger:
    """Arbitrary tag sequences (I- starts, type switches, junk tags), fixed per token."""

    TAGS = ("O", "O", "O", "B-PER", "I-PER", "I-LOC", "B-ORG", "I-ORG", "B-MISC", "X", "I-")

    def tag(self, sentences: list[list[str]], doc_ids=None) -> list[list[str]]:
        return [[self.TAGS[zlib.crc32(t.encode()) % len(self.TAGS)] for t in s] for s in sentences]


def _frame(*bodies: str) -> pl.DataFrame:
    return pl.DataFrame({"article_id": [f"a{i}" for i in range(len(bodies))], "body": list(bodies)})


def _found(mentions: pl.DataFrame) -> list[tuple[str, str, str]]:
    return list(mentions.select("entity_type", "surface", "canonical_name").iter_rows())


def _assert_offsets(mentions: pl.DataFrame, bodies: list[str]) -> None:
    for row in mentions.iter_rows(named=True):
        body = bodies[int(row["article_id"][1:])]
        assert 0 <= row["start_char"] < row["end_char"] <= len(body)
        assert body[row["start_char"] : row["end_char"]] == row["surface"]


# ---- IOB runs to spans ------------------------------------------------------------------------
def _spans(tags: list[str], sentences: list[int] | None = None) -> list[tuple[str, int, int]]:
    frame = pl.DataFrame(
        {"article_id": "a", "sentence_index": sentences or [0] * len(tags), "tag": tags},
        schema={"article_id": pl.String, "sentence_index": pl.Int64, "tag": pl.String},
    )
    out = iob_spans(frame).with_row_index("i").filter(pl.col("span").is_not_null())
    grouped = out.group_by("span", maintain_order=True).agg(
        pl.col("span_type").first(), pl.col("i").min().alias("a"), (pl.col("i").max() + 1).alias("b")
    )
    return [(t, int(a), int(b)) for _, t, a, b in grouped.iter_rows()]


def test_iob_runs_become_spans_the_conlleval_way() -> None:
    assert _spans(["B-PER", "I-PER", "O", "B-LOC"]) == [("PER", 0, 2), ("LOC", 3, 4)]
    assert _spans(["I-PER", "I-PER", "O"]) == [("PER", 0, 2)]  # an I- start opens a span
    assert _spans(["B-PER", "I-LOC", "I-LOC"]) == [("PER", 0, 1), ("LOC", 1, 3)]
    assert _spans(["B-ORG", "B-ORG", "I-ORG"]) == [("ORG", 0, 1), ("ORG", 1, 3)]
    assert _spans(["O", "I-MISC", "X", "I-", None, "I-MISC"]) == [("MISC", 1, 2), ("MISC", 5, 6)]
    # A span never runs over a sentence boundary.
    assert _spans(["B-PER", "I-PER", "I-PER"], [0, 0, 1]) == [("PER", 0, 2), ("PER", 2, 3)]
    assert _spans([]) == []


def test_spans_to_tags_is_valid_iob2() -> None:
    frame = pl.DataFrame(
        {"article_id": "a", "sentence_index": 0, "tag": ["I-PER", "I-LOC", "O", "I-ORG", "I-ORG"]}
    )
    assert spans_to_tags(iob_spans(frame)).to_list() == ["B-PER", "B-LOC", "O", "B-ORG", "I-ORG"]


# ---- clitics ----------------------------------------------------------------------------------
CLITIC_TAGGER = DictTagger(
    {name: "LOC" for name in ["وإيران", "لإيران", "بطهران", "وبالعراق", "لبنان", "كركوك", "وكركوك", "إيران"]}
    | {
        name: "PER"
        for name in ["والمعلم", "وليد المعلم", "فيصل المقداد", "بشار الأسد", "بوتين", "كوشتونوف", "لكوشتونوف"]
    }
    | {name: "ORG" for name in ["للأمم المتحدة", "بلدية بيروت"]}
)


def test_attached_clitics_are_cut_from_the_mention() -> None:
    body = "زار وإيران ثم لإيران بطهران وبالعراق، واجتمع للأمم المتحدة وتحدث والمعلم"
    m = tag_mentions(_frame(body), CLITIC_TAGGER, MODEL_ONLY)
    assert _found(m) == [
        ("LOC", "إيران", "إيران"),
        ("LOC", "إيران", "إيران"),
        ("LOC", "طهران", "طهران"),
        ("LOC", "العراق", "العراق"),
        # ل + الأمم is written للأمم: the surface starts after the preposition, the name gets its alef.
        ("ORG", "لأمم المتحدة", "الأمم المتحدة"),
        ("PER", "المعلم", "وليد المعلم"),  # the listed family name of exactly one person
    ]
    _assert_offsets(m, [body])


def test_names_starting_with_clitic_letters_are_kept_whole() -> None:
    body = "قال وليد المعلم و فيصل المقداد في لبنان و كركوك إن بشار الأسد و بلدية بيروت"
    m = tag_mentions(_frame(body), CLITIC_TAGGER, MODEL_ONLY)
    surfaces = [s for _, s, _ in _found(m)]
    assert "وليد المعلم" in surfaces and "لبنان" in surfaces and "كركوك" in surfaces
    assert "بشار الأسد" in surfaces
    assert "بلدية بيروت" in surfaces  # ب + لديه is no reading


def test_unlisted_name_after_a_preposition_is_cut_only_when_tagged_bare_in_the_batch() -> None:
    alone = tag_mentions(_frame("صرح لكوشتونوف"), CLITIC_TAGGER, MODEL_ONLY)
    assert [s for _, s, _ in _found(alone)] == ["لكوشتونوف"]
    both = tag_mentions(_frame("صرح لكوشتونوف", "قال كوشتونوف"), CLITIC_TAGGER, MODEL_ONLY)
    assert [s for _, s, _ in _found(both)] == ["كوشتونوف", "كوشتونوف"]
    # A word of a listed name is evidence enough: لبوتين -> بوتين (فلاديمير بوتين is listed).
    assert (
        tag_mentions(_frame("صرح لبوتين"), DictTagger({"لبوتين": "PER"}), MODEL_ONLY)["surface"][0] == "بوتين"
    )
    # بوتين is never read as ب + وتين.
    assert tag_mentions(_frame("قال بوتين"), CLITIC_TAGGER, MODEL_ONLY)["surface"].to_list() == ["بوتين"]


def test_conjunction_and_frequency_evidence() -> None:
    tagger = DictTagger(
        {
            w: "MISC"
            for w in ["وطلوزة", "ولاية", "ووليام", "ببطولة", "بلدية", "فورد", "كلود", "فالجزائر", "ويلز"]
        }
    )
    body = "في وطلوزة و ولاية و ووليام و ببطولة و بلدية و فورد و كلود و فالجزائر و ويلز"
    m = tag_mentions(_frame(body), tagger, MODEL_ONLY)
    # و + an unknown word is the conjunction; ولاية is a word of its own (much more frequent than
    # لاية); بطولة is common and ب + بطولة is the usual shape; ف and ك need a listed name.
    assert m["surface"].to_list() == [
        "طلوزة",
        "ولاية",
        "وليام",
        "بطولة",
        "بلدية",
        "فورد",
        "كلود",
        "الجزائر",
        "ويلز",
    ]
    _assert_offsets(m, [body])


# ---- roles, short forms, canonical names ------------------------------------------------------
def test_titles_and_roles_are_trimmed_from_names() -> None:
    tagger = DictTagger(
        {
            "الرئيس السوري بشار الأسد": "PER",
            "وزير الخارجية الروسي سيرغي لافروف": "PER",
            "الرئيس الأسد": "PER",
            "الرئيس": "PER",
            "محافظ البصرة": "LOC",
            "ولي العهد محمد بن سلمان": "PER",
            "« سانا »": "ORG",
        }
    )
    body = (
        "استقبل الرئيس السوري بشار الأسد وزير الخارجية الروسي سيرغي لافروف. وقال الرئيس الأسد إن "
        "الرئيس يرحب. وزار محافظ البصرة ولي العهد محمد بن سلمان بحسب « سانا »"
    )
    m = tag_mentions(_frame(body), tagger, MODEL_ONLY)
    assert _found(m) == [
        ("PER", "بشار الأسد", "بشار الأسد"),
        ("PER", "سيرغي لافروف", "سيرغي لافروف"),
        ("PER", "الأسد", "بشار الأسد"),
        ("LOC", "البصرة", "البصرة"),
        ("PER", "محمد بن سلمان", "محمد بن سلمان"),
        ("ORG", "سانا", "الوكالة العربية السورية للأنباء"),
    ]
    _assert_offsets(m, [body])


def test_short_form_resolves_within_the_article_only() -> None:
    tagger = DictTagger({"ماهر سليمان": "PER", "سليمان": "PER", "ميشال سليمان": "PER", "بوتين": "PER"})
    m = tag_mentions(
        _frame(
            "قال سليمان في العنوان. وأكد اللواء ماهر سليمان أن الوضع هادئ. وأضاف سليمان أن القوات مستعدة.",
            "وصل سليمان.",
            "التقى ماهر سليمان و ميشال سليمان ثم سليمان.",
            "قال بوتين",
        ),
        tagger,
        MODEL_ONLY,
    )
    by_article = {a: g["canonical_name"].to_list() for (a,), g in m.group_by("article_id")}
    assert by_article["a0"] == ["ماهر سليمان"] * 3
    assert by_article["a1"] == ["سليمان"]
    assert by_article["a2"][-1] == "سليمان"  # two people of the article share the short form
    assert by_article["a3"] == ["فلاديمير بوتين"]  # the family name of exactly one listed person
    ids = m.filter(pl.col("article_id") == "a0")["entity_id"]
    assert ids.n_unique() == 1


def test_short_forms_of_short_forms_and_variant_spellings() -> None:
    names = ["حسين جابري أنصاري", "جابري أنصاري", "أنصاري", "على شمخاني", "علي شمخاني", "شمخاني"]
    tagger = DictTagger(dict.fromkeys(names, "PER"))
    body = "التقى حسين جابري أنصاري . وقال جابري أنصاري ثم أنصاري . قال على شمخاني و علي شمخاني ثم شمخاني"
    m = tag_mentions(_frame(body), tagger, MODEL_ONLY)
    names = m["canonical_name"].to_list()
    assert names[:3] == ["حسين جابري أنصاري"] * 3
    # One spelling per person and article (على and علي are one name): the short form names it.
    assert names[3] in ("على شمخاني", "علي شمخاني") and names[3:] == [names[3]] * 3
    assert m["entity_id"].n_unique() == 2


def test_canonical_names_and_ids_are_spelling_independent() -> None:
    tagger = DictTagger({"سورية": "LOC", "سوريا": "LOC", "إيران": "LOC", "ايران": "LOC", "إِيرانَ": "LOC"})
    m = tag_mentions(_frame("زار سورية ثم سوريا", "زار إيران و ايران و إِيرانَ"), tagger, MODEL_ONLY)
    # The listed spelling names every variant.
    assert m["canonical_name"].to_list() == ["سوريا", "سوريا", "إيران", "إيران", "إيران"]
    assert m["entity_id"].n_unique() == 2
    assert m["entity_id"][0] == entity_ids(pl.Series(["LOC"]), pl.Series(["سوريا"]))[0]


def test_gazetteer_mentions_fill_gaps_and_longer_listed_names_win() -> None:
    body = "التقى وزير الخارجية الروسي سيرغي لافروف في موسكو ممثلين عن الأمم المتحدة"
    tagger = DictTagger({"لافروف في": "MISC", "الأمم": "ORG"})
    model_only = _found(tag_mentions(_frame(body), tagger, MODEL_ONLY))
    assert model_only == [("MISC", "لافروف في", "لافروف في"), ("ORG", "الأمم", "الأمم")]
    every_type = ("PER", "ORG", "LOC")
    by_rule = {
        prefer: tag_mentions(_frame(body), tagger, MentionConfig(prefer=prefer, gazetteer_types=every_type))
        for prefer in ("tagger", "longer", "gazetteer")
    }
    lavrov = ("PER", "سيرغي لافروف", "سيرغي لافروف")
    moscow = ("LOC", "موسكو", "موسكو")
    un = ("ORG", "الأمم المتحدة", "الأمم المتحدة")
    # موسكو overlaps nothing; سيرغي لافروف only partly overlaps a tagger span; الأمم المتحدة
    # contains one.
    assert _found(by_rule["tagger"]) == [model_only[0], moscow, model_only[1]]
    assert _found(by_rule["longer"]) == [model_only[0], moscow, un]
    assert _found(by_rule["gazetteer"]) == [lavrov, moscow, un]
    for m in by_rule.values():
        assert m.columns == list(MENTION_SCHEMA)
        _assert_offsets(m, [body])
    with pytest.raises(ValueError):
        tag_mentions(_frame(body), tagger, MentionConfig(prefer="both", gazetteer_types=every_type))
    # By default only the first extractor's persons join in (chosen on the ANERcorp dev split).
    assert _found(tag_mentions(_frame(body), tagger)) == model_only
    tagger = DictTagger({"شمخاني": "PER", "لافروف": "PER"})
    body = "وقال الأدميرال علي شمخاني إن وزير الخارجية الروسي سيرغي لافروف"
    assert [s for _, s, _ in _found(tag_mentions(_frame(body), tagger))] == ["علي شمخاني", "سيرغي لافروف"]


def test_coordinated_people_are_split() -> None:
    tagger = DictTagger(
        {"لاريجاني والمقداد": "PER", "شمخاني وباتروشيف": "PER", "سعد بن أبي وقاص": "PER", "محمد وليد": "PER"}
    )
    body = "التقى لاريجاني والمقداد ثم شمخاني وباتروشيف وذكرا سعد بن أبي وقاص و محمد وليد"
    m = tag_mentions(_frame(body), tagger, MODEL_ONLY)
    assert m["surface"].to_list() == [
        "لاريجاني",
        "المقداد",
        "شمخاني",
        "باتروشيف",
        "سعد بن أبي وقاص",
        "محمد وليد",
    ]
    assert tag_sentences([["لاريجاني", "والمقداد"]], tagger) == [["B-PER", "B-PER"]]
    keep = MentionConfig(use_gazetteer=False, split_coordinations=False)
    assert tag_mentions(_frame(body), tagger, keep)["surface"][0] == "لاريجاني والمقداد"


def test_one_tagger_call_per_batch_with_article_ids_as_documents() -> None:
    tagger = DictTagger({"إيران": "LOC"})
    tag_mentions(_frame("زار إيران. ثم عاد.", "", "إيران"), tagger, MODEL_ONLY)
    assert len(tagger.calls) == 1
    sentences, doc_ids = tagger.calls[0]
    assert sentences == [["زار", "إيران", "."], ["ثم", "عاد", "."], ["إيران"]]
    assert doc_ids == ["a0", "a0", "a2"]
    tag_mentions(_frame("زار إيران"), tagger, MentionConfig(use_gazetteer=False, document_consistency=False))
    assert tagger.calls[-1][1] is None


def test_types_filter_and_aliases() -> None:
    tagger = DictTagger({"بشار الأسد": "PER", "الأسد": "PER", "الأولمبياد": "MISC"})
    m = tag_mentions(_frame("قال بشار الأسد ثم قال الأسد في الأولمبياد"), tagger, MODEL_ONLY)
    assert m["entity_type"].to_list() == ["PER", "PER", "MISC"]
    kept = tag_mentions(_frame("الأولمبياد"), tagger, MentionConfig(use_gazetteer=False, types=("PER",)))
    assert kept.is_empty()
    aliases = entity_aliases(m)
    assad = aliases.filter(pl.col("canonical_name") == "بشار الأسد")
    assert sorted(assad["alias"].to_list()) == ["الأسد", "بشار الأسد"]
    assert assad["mention_count"].to_list() == [1, 1]
    assert entity_aliases(m.clear()).is_empty()


def test_empty_inputs() -> None:
    tagger = DictTagger({"إيران": "LOC"})
    empty = pl.DataFrame(schema={"article_id": pl.String, "body": pl.String})
    for frame in (empty, _frame(""), _frame("   \n "), pl.DataFrame({"article_id": ["x"], "body": [None]})):
        out = tag_mentions(frame.cast({"body": pl.String}), tagger)
        assert out.is_empty() and out.schema == pl.Schema(MENTION_SCHEMA)
    assert tag_mentions(_frame("لا شيء هنا"), tagger).is_empty()


def test_tag_sentences_applies_the_pipeline_trimming() -> None:
    tagger = DictTagger({"الرئيس بشار الأسد": "PER", "« سانا": "ORG"})
    sents = [["قال", "الرئيس", "بشار", "الأسد"], [], ["«", "سانا", "»"]]
    assert tag_sentences(sents, tagger) == [["O", "O", "B-PER", "I-PER"], [], ["O", "B-ORG", "O"]]
    assert tag_sentences([], tagger) == []
    with pytest.raises(ValueError):
        tag_sentences(sents, tagger, doc_ids=[0])


def test_listed_organisations_fill_gaps_but_never_override_the_tagger() -> None:
    body = "قالت جبهة النصرة إن الجيش اللبناني انسحب"
    found = _found(tag_mentions(_frame(body), DictTagger({})))
    assert ("ORG", "جبهة النصرة", "جبهة النصرة") in found  # listed: added
    assert not any("الجيش" in surface for _, surface, _ in found)  # found by a pattern only: not added
    # Where the tagger has a span, its span stays (ANERcorp tags هآرتس, not صحيفة هآرتس).
    found = _found(tag_mentions(_frame("قالت صحيفة هآرتس"), DictTagger({"هآرتس": "ORG"})))
    assert [(t, s) for t, s, _ in found] == [("ORG", "هآرتس")]
    assert tag_mentions(_frame(body), DictTagger({}), MentionConfig(listed_types=())).is_empty()
    # akhbar ner adds the same organisations.
    assert tag_sentences([body.split()], DictTagger({})) == [["O", "B-ORG", "I-ORG", "O", "O", "O", "O"]]


def test_tag_sentences_adds_the_first_extractors_persons_as_the_pipeline_does() -> None:
    tagger = DictTagger({"الأسد": "PER", "دمشق": "LOC"})
    sents = [["قال", "الرئيس", "السوري", "بشار", "الأسد", "في", "دمشق"], ["لا", "شيء"]]
    # The listed full name strictly contains the tagger's short form and replaces it.
    assert tag_sentences(sents, tagger) == [["O", "O", "O", "B-PER", "I-PER", "O", "B-LOC"], ["O", "O"]]
    bare = tag_sentences(sents, tagger, config=MentionConfig(use_gazetteer=False))
    assert bare == [["O", "O", "O", "O", "B-PER", "O", "B-LOC"], ["O", "O"]]
    # The same persons are found by the enrich step on the same text.
    text = _frame(" ".join(sents[0]))
    assert ("PER", "بشار الأسد") in [(t, s) for t, s, _ in _found(tag_mentions(text, tagger))]


# ---- properties -------------------------------------------------------------------------------
_NAMES = [
    "إيران", "وإيران", "لإيران", "بطهران", "سورية", "للأمم المتحدة", "الرئيس بشار الأسد", "الأسد",
    "وليد المعلم", "والمعلم", "«سانا»", "“فيصل المقداد”", "وبالعراق", "لبنان", "محافظ البصرة", "ولي العهد",
]  # fmt: skip
_FILLER = st.text(st.sampled_from(list('ابتجحدرسعفقكلمنهوية ًُِـ،.؟!:«»"()\n 123\u200f\t')), max_size=12)


def _check_properties(bodies: list[str], config: MentionConfig) -> None:
    m = tag_mentions(_frame(*bodies), NoisyTagger(), config)
    _assert_offsets(m, bodies)
    assert m.schema == pl.Schema(MENTION_SCHEMA)
    assert set(m["entity_type"].to_list()) <= {"PER", "ORG", "LOC", "MISC"}
    for surface, name in m.select("surface", "canonical_name").iter_rows():
        assert surface == surface.strip() and name == name.strip() and name
        assert surface[0] not in "«»“”\"'،.؟!:()" and surface[-1] not in "،.؟!:("
    for _, group in m.group_by("article_id"):
        starts, ends = group["start_char"].to_list(), group["end_char"].to_list()
        assert all(ends[i] <= starts[i + 1] for i in range(len(starts) - 1))


_DOCS = st.lists(st.lists(st.one_of(st.sampled_from(_NAMES), _FILLER), max_size=14), min_size=1, max_size=3)


@settings(max_examples=40, deadline=None)
@given(_DOCS)
def test_offsets_always_match_the_body(docs: list[list[str]]) -> None:
    _check_properties([" ".join(parts) for parts in docs], MODEL_ONLY)


@settings(max_examples=10, deadline=None)
@given(_DOCS)
def test_offsets_always_match_the_body_with_the_gazetteer(docs: list[list[str]]) -> None:
    _check_properties([" ".join(parts) for parts in docs], MentionConfig())


# ---- the real model on the seed articles -------------------------------------------------------
def _seed_predictions(config: MentionConfig) -> tuple[float, float, float]:
    from transforms.ner import Tagger

    gold = json.loads((REPO / "tests" / "fixtures" / "seed_entities.json").read_text(encoding="utf-8"))
    gold.pop("_about")
    files = sorted(gold)
    frame = pl.DataFrame(
        {"article_id": files, "body": [(REPO / "seeds" / f).read_text(encoding="utf-8") for f in files]}
    )
    m = tag_mentions(frame, Tagger.load(), config).filter(pl.col("entity_type").is_in(["PER", "ORG", "LOC"]))
    predicted: dict[str, set[tuple[str, str]]] = {}
    for article, etype, name in m.select("article_id", "entity_type", "canonical_name").iter_rows():
        predicted.setdefault(article, set()).add((etype, name))
    return _score(predicted, gold)


@pytest.mark.skipif(
    not (MODEL_DIR / "config.json").exists(), reason="no committed NER model in transforms/ner/model"
)
def test_seed_articles_against_the_gold_list_with_the_model() -> None:
    combined = _seed_predictions(MentionConfig())
    alone = _seed_predictions(MODEL_ONLY)
    print(f"seed entities, model + gazetteer: P/R/F1 {combined}; model only: {alone}")
    assert combined[2] >= 0.75, combined


# ---- names as an analyst reads them -------------------------------------------------------------
def test_hashtag_markup_leaves_surfaces_and_names() -> None:
    bodies = [
        "كتب #أردوغان على تويتر أن الاتفاق قائم. وقال سعد_الحريري إن الحكومة ستتشكل قريبا.",
        "وشكر الوزير السعودية و#الإمارات على دعمهما، وكتب دونالد #ترامب أن القمة ناجحة.",
    ]
    tagger = DictTagger(
        {"أردوغان": "PER", "سعد_الحريري": "PER", "و#الإمارات": "LOC", "دونالد # ترامب": "PER"}
    )
    m = tag_mentions(_frame(*bodies), tagger, MODEL_ONLY)
    _assert_offsets(m, bodies)
    assert m["surface"].to_list() == ["أردوغان", "سعد_الحريري", "الإمارات", "دونالد #ترامب"]
    names = m["canonical_name"].to_list()
    assert names[1] == "سعد الحريري" and names[3] == "دونالد ترامب"
    assert not any("#" in n or "_" in n for n in names), names
    # Without the step the markup stays in names (what the corpus warehouse showed).
    kept = tag_mentions(_frame(*bodies), tagger, MentionConfig(use_gazetteer=False, strip_markup=False))
    assert "سعد_الحريري" in kept["canonical_name"].to_list()


def test_a_proclitic_left_on_a_name_goes_when_the_rest_is_a_known_name() -> None:
    bodies = [
        "ويقول خالد يوسف لبي بي سي إن القرار نهائي.",
        "فاز دينامو كييف على ضيفه. وسجل لدينامو كييف لاعبه الأول في الشوط الثاني.",
        "وصل الوفد إلى لبنان أمس.",
    ]
    tagger = DictTagger(
        {"لبي بي سي": "ORG", "خالد يوسف": "PER", "دينامو كييف": "ORG", "لدينامو كييف": "ORG", "لبنان": "LOC"}
    )
    m = tag_mentions(_frame(*bodies), tagger, MODEL_ONLY)
    _assert_offsets(m, bodies)
    assert _found(m) == [
        ("PER", "خالد يوسف", "خالد يوسف"),
        ("ORG", "بي بي سي", "بي بي سي"),  # listed
        ("ORG", "دينامو كييف", "دينامو كييف"),
        ("ORG", "دينامو كييف", "دينامو كييف"),  # named so elsewhere in the batch
        ("LOC", "لبنان", "لبنان"),  # a listed name is never cut
    ]
    off = MentionConfig(use_gazetteer=False, strip_name_clitics=False)
    assert "لبي بي سي" in tag_mentions(_frame(*bodies), tagger, off)["canonical_name"].to_list()


def test_nationality_adjectives_are_not_places() -> None:
    bodies = [
        "اعترضت الدفاعات الجوية السورية الصواريخ فوق سوريا.",
        "وكشفت وسائل إعلام سعودية أن السعودية ستستضيف القمة، وتناولوا أطعمة لبنانية.",
        "وفاز فريق إشبيلية على ضيفه في الأوروغواي.",
    ]
    names = ["السورية", "سوريا", "سعودية", "السعودية", "لبنانية", "إشبيلية", "الأوروغواي"]
    tagger = DictTagger(dict.fromkeys(names, "LOC"))
    m = tag_mentions(_frame(*bodies), tagger, MODEL_ONLY)
    _assert_offsets(m, bodies)
    types = dict(zip(m["surface"].to_list(), m["entity_type"].to_list(), strict=True))
    assert types == {
        "السورية": "MISC", "سوريا": "LOC", "سعودية": "MISC", "السعودية": "LOC", "لبنانية": "MISC",
        "إشبيلية": "LOC", "الأوروغواي": "LOC",
    }  # fmt: skip
    dropped = tag_mentions(_frame(*bodies), tagger, MentionConfig(use_gazetteer=False, nationality_type=None))
    assert sorted(dropped["surface"].to_list()) == sorted(["سوريا", "السعودية", "إشبيلية", "الأوروغواي"])


def test_a_first_name_written_with_a_final_alef_maqsura_takes_its_listed_spelling() -> None:
    bodies = [
        "وأفادت وكالة مهر للأنباء أن على شمخاني أمين عام المجلس الأعلى للأمن القومي.",
        "واستقبل موسى فقي رئيس المفوضية الوفد، وقال مصطفى الكاظمي إن الحوار مستمر.",
    ]
    names = ["على شمخاني", "موسى فقي", "مصطفى الكاظمي"]
    m = tag_mentions(_frame(*bodies), DictTagger(dict.fromkeys(names, "PER")), MODEL_ONLY)
    _assert_offsets(m, bodies)
    canonical = dict(zip(m["surface"].to_list(), m["canonical_name"].to_list(), strict=True))
    # على is the preposition; موسى and مصطفى are first names as written.
    assert canonical == {"على شمخاني": "علي شمخاني", "موسى فقي": "موسى فقي", "مصطفى الكاظمي": "مصطفى الكاظمي"}
    assert m.filter(pl.col("surface") == "على شمخاني")["entity_id"].to_list() == entity_ids(
        pl.Series(["PER"]), pl.Series(["على شمخاني"])
    ).to_list()  # the same entity whichever way it is spelled


def test_currency_words_are_not_entities() -> None:
    body = (
        "بلغت الصفقة 20 مليار دولار، وارتفع الدولار أمام الجنيه المصري. "
        "ودفع ريال مدريد 100 مليون يورو قبل كأس العالم."
    )
    names = ["دولار", "الدولار", "الجنيه المصري", "يورو", "كأس العالم"]
    tagger = DictTagger(dict.fromkeys(names, "MISC") | {"ريال مدريد": "ORG"})
    m = tag_mentions(_frame(body), tagger, MODEL_ONLY)
    assert _found(m) == [("ORG", "ريال مدريد", "ريال مدريد"), ("MISC", "كأس العالم", "كأس العالم")]
    kept = tag_mentions(_frame(body), tagger, MentionConfig(use_gazetteer=False, drop_currencies=False))
    assert kept.height == 6


def test_a_first_word_or_a_family_name_without_its_article_names_the_full_name() -> None:
    bodies = [
        "التقى الزعيم الكوري الشمالي كيم جونغ أون رئيس الوزراء مهاتير محمد. وقال كيم إن مهاتير وعده بالدعم.",
        "حضر كيم جونغ أون وشقيقته كيم يو جونغ الحفل. وقال كيم إن العرض ناجح.",  # two people: neither
        "أكد كيم أن بلاده ستوقف التجارب.",  # no full name in the article
        "قال رئيس الوزراء عمر الرزاز إن الحكومة ستعمل. وتساءل البعض كيف لرزاز أن يأتي بهذا العدد.",
    ]
    people = ["كيم جونغ أون", "مهاتير محمد", "كيم", "مهاتير", "كيم يو جونغ", "عمر الرزاز", "لرزاز"]
    tagger = DictTagger(dict.fromkeys(people, "PER"))
    m = tag_mentions(_frame(*bodies), tagger, MODEL_ONLY)
    _assert_offsets(m, bodies)
    by_article = {a: g["canonical_name"].to_list() for (a,), g in m.group_by("article_id", maintain_order=True)}
    assert by_article["a0"] == ["كيم جونغ أون", "مهاتير محمد", "كيم جونغ أون", "مهاتير محمد"]
    assert by_article["a1"] == ["كيم جونغ أون", "كيم يو جونغ", "كيم"]
    assert by_article["a2"] == ["كيم"]
    assert by_article["a3"] == ["عمر الرزاز", "عمر الرزاز"]
    off = tag_mentions(_frame(*bodies), tagger, MentionConfig(use_gazetteer=False, more_short_forms=False))
    assert off.filter(pl.col("article_id") == "a0")["canonical_name"].to_list()[2] == "كيم"


def test_a_listed_family_name_is_no_first_word_form() -> None:
    # The tagger took a word after the family name into a span (نتانياهو مغرم): the bare family
    # name still names the listed person, not that span.
    body = "قال بنيامين نتانياهو إن الحكومة باقية. وأضاف نتانياهو أن نتانياهو مغرم بالحديث عن إيران."
    tagger = DictTagger(dict.fromkeys(["بنيامين نتانياهو", "نتانياهو", "نتانياهو مغرم"], "PER"))
    names = tag_mentions(_frame(body), tagger, MODEL_ONLY)["canonical_name"].to_list()
    assert names[1] == names[0] != "نتانياهو مغرم"


def test_an_institution_noun_alone_is_no_organisation() -> None:
    body = "وقال الحزب في بيان إن حزب العدالة والتنمية فاز. وأكدت المنظمة أن منظمة الصحة العالمية حذرت."
    names = ["الحزب", "حزب العدالة والتنمية", "المنظمة", "منظمة الصحة العالمية"]
    tagger = DictTagger(dict.fromkeys(names, "ORG"))
    m = tag_mentions(_frame(body), tagger, MODEL_ONLY)
    assert m["surface"].to_list() == ["حزب العدالة والتنمية", "منظمة الصحة العالمية"]
    kept = tag_mentions(_frame(body), tagger, MentionConfig(use_gazetteer=False, drop_generic=False))
    assert kept.height == 4
