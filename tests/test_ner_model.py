"""The tagger at run time: the committed model, IOB2 chunks and repair, keys, the consistency pass.

Nothing here retrains: the model tests only load the committed artifact. Training and scoring:
`test_ner_training.py`.
"""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest

from transforms.ner import MODEL_DIR, Tagger
from transforms.ner.consistency import propagate
from transforms.ner.iob2 import TAGS, repair_iob2, spans
from transforms.ner.text import key, strip_prefix

# A sentence in ANERcorp's tokenisation and the tags the committed model gives it.
SENTENCE = ["وقال", "الرئيس", "الفرنسي", "جاك", "شيراك", "في", "باريس", "إن"]
SENTENCE += ["الاتحاد", "الأوروبي", "سيدعم", "الأمم", "المتحدة"]
RECORDED = ["O", "O", "O", "B-PER", "I-PER", "O", "B-LOC", "O", "B-ORG", "I-ORG", "O", "B-ORG", "I-ORG"]


# ---- IOB2 chunks ---------------------------------------------------------------------------------
def test_spans_follow_conlleval_chunking() -> None:
    assert spans(["B-PER", "I-PER", "O", "B-LOC"]) == [("PER", 0, 2), ("LOC", 3, 4)]
    # An entity may start with I- (conlleval counts it), and a type change opens a new chunk.
    assert spans(["I-PER", "I-PER", "O"]) == [("PER", 0, 2)]
    assert spans(["B-PER", "I-LOC", "I-LOC"]) == [("PER", 0, 1), ("LOC", 1, 3)]
    assert spans(["B-ORG", "B-ORG", "I-ORG"]) == [("ORG", 0, 1), ("ORG", 1, 3)]
    assert spans(["O", "O"]) == []
    assert spans([]) == []


def test_strict_spans_open_only_at_b_and_agree_on_valid_iob2() -> None:
    assert spans(["I-PER", "I-PER", "O"], scheme_strict=True) == []
    assert spans(["B-PER", "I-LOC", "I-LOC"], scheme_strict=True) == [("PER", 0, 1)]
    assert spans(["B-PER", "I-PER", "I-LOC", "I-PER"], scheme_strict=True) == [("PER", 0, 2)]
    assert spans(["B-ORG", "B-ORG", "I-ORG"], scheme_strict=True) == [("ORG", 0, 1), ("ORG", 1, 3)]
    assert spans([], scheme_strict=True) == []
    # On valid IOB2 (what the tagger emits) the two readings are the same.
    rng = random.Random(3)
    for _ in range(500):
        tags = repair_iob2([rng.choice(TAGS) for _ in range(rng.randint(0, 10))])
        assert spans(tags, scheme_strict=True) == spans(tags)


# ---- IOB2 repair, text helpers ---------------------------------------------------------------
def test_repair_iob2() -> None:
    assert repair_iob2(["I-PER", "I-PER", "O", "I-LOC"]) == ["B-PER", "I-PER", "O", "B-LOC"]
    assert repair_iob2(["B-PER", "I-ORG", "I-ORG"]) == ["B-PER", "B-ORG", "I-ORG"]
    assert repair_iob2(["B-LOC", "I-LOC", "B-LOC"]) == ["B-LOC", "I-LOC", "B-LOC"]
    assert repair_iob2([]) == []


def test_normalised_keys_and_clitics() -> None:
    assert key("أ)") == "ا"
    assert key("إيران") == key("ايران")
    assert key("القاهرة") == "القاهره"
    assert strip_prefix(key("وإيران")) == ("و", "ايران")
    assert strip_prefix("بلد") == ("", "بلد")  # too short to hold a clitic


def test_consistency_fills_untagged_repeats_within_a_document_only() -> None:
    sents = [["قال", "جاك", "شيراك"], ["وشيراك", "هنا"], ["شيراك", "هنا"]]
    tags = [["O", "B-PER", "I-PER"], ["O", "O"], ["O", "O"]]
    # "شيراك" alone never occurs as an entity, "جاك شيراك" does: nothing to fill.
    assert propagate(sents, tags, [0, 0, 1]) == tags
    tags2 = [["O", "O", "B-PER"], ["O", "O"], ["O", "O"]]
    out = propagate(sents, tags2, [0, 0, 1])
    assert out[1] == ["B-PER", "O"]  # clitic-attached repeat in the same document
    assert out[2] == ["O", "O"]  # another document
    assert tags2[1] == ["O", "O"]  # input untouched


def test_consistency_radius_limits_the_context_to_neighbouring_sentences() -> None:
    sents = [["قال", "شيراك"]] + [["هنا"]] * 5 + [["شيراك", "هنا"]] + [["هنا"]] * 3 + [["وشيراك"]]
    tags = [["O", "B-PER"]] + [["O"]] * 5 + [["O", "O"]] + [["O"]] * 3 + [["O"]]
    docs = [0] * len(sents)
    whole = propagate(sents, tags, docs)
    assert whole[6] == ["B-PER", "O"] and whole[10] == ["B-PER"]
    near = propagate(sents, tags, docs, radius=6)
    assert near[6] == ["B-PER", "O"]  # 6 sentences away: inside the window
    assert near[10] == ["O"]  # 10 away: outside (a form filled in sentence 6 does not spread further)
    assert propagate(sents, tags, docs, radius=0) == tags
    # Document boundaries still bound the window.
    assert propagate(sents, tags, [0] * 6 + [1] * 5, radius=6)[6] == ["O", "O"]


# ---- the committed model -----------------------------------------------------------------------
needs_model = pytest.mark.skipif(not (MODEL_DIR / "weights.npz").exists(), reason="no committed model")


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger.load()


@needs_model
def test_committed_model_tags_the_recorded_sentence(tagger: Tagger) -> None:
    assert tagger.tag([SENTENCE]) == [RECORDED]


@needs_model
def test_output_is_valid_iob2_for_any_batch(tagger: Tagger) -> None:
    batch = [SENTENCE, [], ["(د", "ب", "أ)"], ["123", "abc", "؟"], SENTENCE[::-1]]
    out = tagger.tag(batch)
    assert [len(t) for t in out] == [len(s) for s in batch]
    for t in out:
        assert repair_iob2(t) == t
        assert all(x == "O" or x[2:] in ("PER", "ORG", "LOC", "MISC") for x in t)
    assert tagger.tag([]) == []
    # A sentence is tagged the same alone or inside a batch.
    assert tagger.tag([SENTENCE[::-1]])[0] == out[4]


@needs_model
def test_doc_ids_enable_the_consistency_pass(tagger: Tagger) -> None:
    batch = [SENTENCE, ["وشيراك", "في", "باريس"]]
    out = tagger.tag(batch, doc_ids=["a", "a"])
    assert [len(t) for t in out] == [len(s) for s in batch]
    assert out[0] == RECORDED
    assert out == [repair_iob2(t) for t in propagate(batch, tagger.tag(batch), ["a", "a"])]
    assert tagger.tag(batch, doc_ids=["a", "a"], context_radius=1) == out
    with pytest.raises(ValueError):
        tagger.tag(batch, doc_ids=["a"])
    with pytest.raises(ValueError):
        tagger.tag(batch, doc_ids=["a", "a"], context_radius=-1)


@needs_model
def test_tagging_imports_neither_training_nor_scoring_nor_crfsuite_nor_scipy() -> None:
    """Loading and running the tagger, the enrich step and `akhbar ner` stays on the run-time modules."""
    token_lines = "\n".join(SENTENCE) + "\n"
    script = f"""
import io, sys
import polars as pl
from flows.ner_command import run
from transforms.mentions import tag_mentions
from transforms.ner import Tagger
tagger = Tagger.load()
assert tagger.tag([{SENTENCE!r}], doc_ids=["a"]) == [{RECORDED!r}]
tag_mentions(pl.DataFrame({{"article_id": ["a"], "body": [{" ".join(SENTENCE)!r}]}}), tagger)
run(io.StringIO({token_lines!r}), io.StringIO(), tagger=tagger)
print(" ".join(sorted(sys.modules)))
"""
    repo = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", script], cwd=repo, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    loaded = set(done.stdout.split())
    assert {"transforms.ner.model", "transforms.mentions", "flows.ner_command"} <= loaded  # the tagger really ran
    unwanted = {m for m in loaded if m.split(".")[0] in ("pycrfsuite", "scipy", "gensim")}
    unwanted |= {m for m in loaded if m.startswith("transforms.ner.training") or m == "transforms.ner.gazetteer"}
    assert not unwanted, sorted(unwanted)
