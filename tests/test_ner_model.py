"""The committed NER model, the conlleval-compatible scorer, IOB2 repair, the consistency pass.

Nothing here retrains: the model tests only load the committed artifact.
"""

from __future__ import annotations

import time

import pytest

from transforms.ner import MODEL_DIR, Tagger
from transforms.ner.consistency import propagate
from transforms.ner.evaluate import score, spans
from transforms.ner.text import key, read_conll, repair_iob2, strip_prefix

# A sentence in ANERcorp's tokenisation and the tags the committed model gives it.
SENTENCE = ["وقال", "الرئيس", "الفرنسي", "جاك", "شيراك", "في", "باريس", "إن"]
SENTENCE += ["الاتحاد", "الأوروبي", "سيدعم", "الأمم", "المتحدة"]
RECORDED = ["O", "O", "O", "B-PER", "I-PER", "O", "B-LOC", "O", "B-ORG", "I-ORG", "O", "B-ORG", "I-ORG"]


# ---- scorer ---------------------------------------------------------------------------------
def test_spans_follow_conlleval_chunking() -> None:
    assert spans(["B-PER", "I-PER", "O", "B-LOC"]) == [("PER", 0, 2), ("LOC", 3, 4)]
    # An entity may start with I- (conlleval counts it), and a type change opens a new chunk.
    assert spans(["I-PER", "I-PER", "O"]) == [("PER", 0, 2)]
    assert spans(["B-PER", "I-LOC", "I-LOC"]) == [("PER", 0, 1), ("LOC", 1, 3)]
    assert spans(["B-ORG", "B-ORG", "I-ORG"]) == [("ORG", 0, 1), ("ORG", 1, 3)]
    assert spans(["O", "O"]) == []
    assert spans([]) == []


def test_score_is_strict_on_type_and_both_boundaries() -> None:
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "I-ORG", "I-ORG", "O", "B-MISC"]]
    pred = [["B-PER", "I-PER", "O", "B-ORG"], ["B-ORG", "I-ORG", "O", "O", "I-MISC"]]
    s = score(gold, pred)
    # Right: PER (0,2) and MISC (4,5, opened by I- in the prediction). Wrong: LOC typed ORG,
    # ORG one token short.
    assert (s["ALL"].tp, s["ALL"].n_pred, s["ALL"].n_gold) == (2, 4, 4)
    assert s["ALL"].precision == pytest.approx(0.5)
    assert s["ALL"].recall == pytest.approx(0.5)
    assert s["ALL"].f1 == pytest.approx(0.5)
    assert s["PER"].f1 == pytest.approx(1.0)
    assert s["LOC"].recall == 0.0 and s["LOC"].n_pred == 0
    assert s["ORG"].precision == 0.0 and s["ORG"].n_pred == 2 and s["ORG"].n_gold == 1
    assert s["MISC"].f1 == pytest.approx(1.0)


def test_score_matches_conlleval_on_a_known_case() -> None:
    # conlleval on these two lines reports: found 3 phrases; 1 correct; precision 33.33%,
    # recall 50.00%, FB1 40.00 (the I-LOC after B-PER is its own LOC chunk).
    gold = [["B-PER", "I-PER", "O", "B-LOC", "O"]]
    pred = [["B-PER", "I-LOC", "O", "B-LOC", "O"]]
    s = score(gold, pred)["ALL"]
    assert (s.tp, s.n_pred, s.n_gold) == (1, 3, 2)
    assert round(100 * s.f1, 2) == 40.00


def test_score_rejects_misaligned_input() -> None:
    with pytest.raises(ValueError):
        score([["O"]], [["O", "O"]])


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


def test_read_conll_maps_pers_to_per(tmp_path) -> None:
    f = tmp_path / "x.txt"
    f.write_text("جاك B-PERS\nشيراك I-PERS\n\nفي O\nباريس B-LOC\n", encoding="utf-8")
    sents, tags = read_conll(f)
    assert sents == [["جاك", "شيراك"], ["في", "باريس"]]
    assert tags == [["B-PER", "I-PER"], ["O", "B-LOC"]]


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


def test_an_ensemble_averages_its_members_and_survives_save_and_load(tmp_path) -> None:
    import numpy as np

    from transforms.ner import nn

    words = ["قال", "شيراك", "في", "باريس"]
    emb = np.vstack([np.zeros((1, 4)), np.eye(4)]).astype(np.float32)
    clusters = {w: ("0",) for w in words}
    feats = nn.build_feature_vocab([words], clusters, {}, 1)
    vocab = {w: i + 1 for i, w in enumerate(words)}
    cfg = nn.NNConfig(window=1, feat_dim=3, hidden1=5, hidden2=4)
    nets = [
        nn.WindowTagger(nn.NNConfig(**{**cfg.__dict__, "seed": seed}), vocab, emb, feats, clusters, {})
        for seed in (1, 2)
    ]
    sents = [words, words[::-1]]
    both = nn.WindowTagger.ensemble(nets)
    expected = (nets[0].log_probs(sents) + nets[1].log_probs(sents)) / 2
    assert np.allclose(both.log_probs(sents), expected, atol=1e-6)
    assert len(nets[0].members) == 1  # building an ensemble leaves its members alone
    nn.save(both, words, np.zeros((len(words), 1), np.int64), tmp_path)
    loaded = nn.load(tmp_path)
    assert len(loaded.members) == 2
    assert np.allclose(loaded.log_probs(sents), expected, atol=2e-2)  # float16 weights
    other = nn.WindowTagger(nn.NNConfig(window=2), vocab, emb, feats, clusters, {})
    with pytest.raises(ValueError):
        both.add_member(other)


# ---- the committed model -----------------------------------------------------------------------
needs_model = pytest.mark.skipif(not (MODEL_DIR / "weights.npz").exists(), reason="no committed model")


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger.load()


@needs_model
def test_model_loads_fast() -> None:
    t0 = time.perf_counter()
    Tagger.load()
    assert time.perf_counter() - t0 < 5.0  # about 0.5 s on the development machine


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
