"""The column-wise features of new token types equal the one-token definitions, id for id, in order."""

from __future__ import annotations

import numpy as np
import pytest

from transforms.ner import MODEL_DIR
from transforms.ner.features import WINDOW
from transforms.ner.model import NERModel
from transforms.ner.nn import token_features
from transforms.ner.type_features import NN_LATIN, Lookup, NewTypes, crf_attribute_ids, network_feature_ids

# Real news tokens with clitics and attached punctuation, and the edge cases of the character tests.
TOKENS = [
    "وقال", "الرئيس", "الفرنسي", "جاك", "شيراك،", "وبالقاهرة", "للأمم", "(الأمم", "المتحدة).", "2026",
    "٣", "x²", "a_b", "İstanbul", "\u212a", "CNN", "ـ", "<>", "#أردوغان", "سعد_الحريري", "و", "ال", "",
    "ال" * 40, "مُحَمَّد", "https://example.com/خبر",
]  # fmt: skip


@pytest.fixture(scope="module")
def model() -> NERModel:
    return NERModel.load(MODEL_DIR)


def test_the_latin_class_is_the_networks_latin_test() -> None:
    chars = [chr(i) for i in range(0x110000)]
    assert [c for c in chars if NN_LATIN.search(c)] == [c for c in chars if "a" <= c.lower() <= "z"]


def test_network_feature_ids_are_the_one_token_features_in_order(model: NERModel) -> None:
    net = model.net
    types = NewTypes.of(TOKENS, model.crf.feat.lex)
    ids, counts = network_feature_ids(types, Lookup.of(net.feats))
    got = [list(s) for s in np.split(ids, np.cumsum(counts)[:-1])]
    want = [[net.feats[f] for f in token_features(t, net.clusters, net.gazetteer) if f in net.feats] for t in TOKENS]
    assert got == want
    assert sum(counts) > 10 * len(TOKENS)  # the tokens do have known features


def test_crf_attribute_ids_are_the_one_token_attributes_in_order(model: NERModel) -> None:
    crf = model.crf
    types = NewTypes.of(TOKENS, crf.feat.lex)
    rows, counts = crf_attribute_ids(types, Lookup.of(crf.attr_index))
    got = [list(s) for s in np.split(rows, np.cumsum(counts)[:-1])]
    want = []
    for t in TOKENS:
        _, local, ctx = crf.feat.token_attrs(t)
        for attrs in (local, *(ctx[o] for o in WINDOW)):
            want.append([crf.attr_index[a] for a in attrs if a in crf.attr_index])
    assert got == want


def test_tagging_in_one_batch_or_type_by_type_gives_the_same_scores(model: NERModel) -> None:
    sents = [TOKENS[:9], TOKENS[9:]]
    batch = model.scores(sents)
    fresh = NERModel.load(MODEL_DIR)
    one_by_one = np.concatenate([fresh.scores([[t]]) for t in TOKENS[:3]])
    assert batch.shape == (len(TOKENS), 9) and np.isfinite(batch).all()
    # Same types, met one at a time in a fresh model: the memoised per-type vectors are bit-identical.
    assert np.array_equal(fresh.net._fsum[TOKENS[0]], model.net._fsum[TOKENS[0]])
    assert np.array_equal(fresh.crf._memo[TOKENS[1]][1], model.crf._memo[TOKENS[1]][1])
    assert one_by_one.shape == (3, 9)
