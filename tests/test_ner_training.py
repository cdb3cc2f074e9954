"""Training and scoring of the tagger: the conlleval-compatible scorer, ANERcorp reading, the ensemble
artifact, and the training entry point (`make train-ner`) without running it.
"""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import transforms.ner.training
from transforms.ner import nn
from transforms.ner.training.anercorp import read_conll
from transforms.ner.training.network import build_feature_vocab, save_network
from transforms.ner.training.scoring import score

REPO = Path(__file__).resolve().parents[1]


# ---- scorer ---------------------------------------------------------------------------------
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


def test_score_in_seqeval_strict_mode_opens_chunks_only_at_b() -> None:
    # seqeval (mode="strict", scheme=IOB2) on these reports P 0.5, R 0.5, F1 0.5: the stray I-LOC
    # after B-PER is no chunk, so only PER (0, 1), which is too short, and LOC (3, 4) are found.
    gold = [["B-PER", "I-PER", "O", "B-LOC", "O"]]
    pred = [["B-PER", "I-LOC", "O", "B-LOC", "O"]]
    s = score(gold, pred, scheme_strict=True)["ALL"]
    assert (s.tp, s.n_pred, s.n_gold) == (1, 2, 2)
    # A gold chunk opened by I- exists for conlleval and seqeval's default mode, not for strict mode:
    # seqeval strict gives P 0.5, R 1.0 here, its default mode 1.0 / 1.0.
    gold = [["I-PER", "I-PER", "O", "B-LOC"]]
    pred = [["B-PER", "I-PER", "O", "B-LOC"]]
    assert score(gold, pred)["ALL"].f1 == pytest.approx(1.0)
    s = score(gold, pred, scheme_strict=True)["ALL"]
    assert (s.precision, s.recall) == (pytest.approx(0.5), pytest.approx(1.0))


def test_score_rejects_misaligned_input() -> None:
    with pytest.raises(ValueError):
        score([["O"]], [["O", "O"]])


# ---- ANERcorp files ------------------------------------------------------------------------------
def test_read_conll_maps_pers_to_per(tmp_path) -> None:
    f = tmp_path / "x.txt"
    f.write_text("جاك B-PERS\nشيراك I-PERS\n\nفي O\nباريس B-LOC\n", encoding="utf-8")
    sents, tags = read_conll(f)
    assert sents == [["جاك", "شيراك"], ["في", "باريس"]]
    assert tags == [["B-PER", "I-PER"], ["O", "B-LOC"]]


# ---- the window network's artifact ---------------------------------------------------------------
def test_an_ensemble_averages_its_members_and_survives_save_and_load(tmp_path) -> None:
    words = ["قال", "شيراك", "في", "باريس"]
    emb = np.vstack([np.zeros((1, 4)), np.eye(4)]).astype(np.float32)
    clusters = {w: ("0",) for w in words}
    feats = build_feature_vocab([words], clusters, {}, 1)
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
    save_network(both, words, np.zeros((len(words), 1), np.int64), tmp_path)
    loaded = nn.load(tmp_path)
    assert len(loaded.members) == 2
    assert np.allclose(loaded.log_probs(sents), expected, atol=2e-2)  # float16 weights
    other = nn.WindowTagger(nn.NNConfig(window=2), vocab, emb, feats, clusters, {})
    with pytest.raises(ValueError):
        both.add_member(other)


# ---- the CRF: crfsuite training, read-out into numpy, artifact -----------------------------------
def test_the_numpy_crf_tags_as_crfsuite_does_after_save_and_load(tmp_path) -> None:
    import pycrfsuite

    from transforms.ner.features import Featurizer, Lexicon
    from transforms.ner.model import NERModel, load_crf
    from transforms.ner.training.crf import crf_from_crfsuite, save_crf, train_crf

    sents = [["قال", "جاك", "شيراك", "في", "باريس"], ["زار", "شيراك", "لندن"], ["في", "الأمم", "المتحدة"]]
    tags = [["O", "B-PER", "I-PER", "O", "B-LOC"], ["O", "B-PER", "B-LOC"], ["O", "B-ORG", "I-ORG"]]
    feat = Featurizer(Lexicon())
    path = train_crf(feat, sents, tags, tmp_path / "crf.crfsuite", iters=50)
    suite = pycrfsuite.Tagger()
    suite.open(str(path))
    expected = [list(suite.tag(feat.sentence(s))) for s in sents]
    assert expected == tags  # the toy data is learned exactly
    crf = crf_from_crfsuite(path, feat)
    assert NERModel(None, crf, 1.0).tag(sents) == expected
    save_crf(crf, tmp_path)
    net = nn.WindowTagger(nn.NNConfig(window=1, feat_dim=2, hidden1=2, hidden2=2), {}, np.zeros((1, 2)),
                          {"<pad>": 0, "<bound>": 1}, {}, {})
    assert NERModel(None, load_crf(tmp_path, net), 1.0).tag(sents) == expected  # float16 weights


# ---- entry points ------------------------------------------------------------------------------
def test_every_training_module_imports() -> None:
    names = [m.name for m in pkgutil.iter_modules(transforms.ner.training.__path__)]
    assert {"anercorp", "crf", "embed", "evaluate", "network", "scoring", "train"} <= set(names)
    for name in names:
        importlib.import_module(f"transforms.ner.training.{name}")


@pytest.mark.parametrize(
    ("module", "option"), [("transforms.ner.training.train", "--out"), ("transforms.ner.training.evaluate", "--model")]
)
def test_command_line_entry_points_answer_help(module: str, option: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", module, "--help"], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage:") and option in done.stdout


def test_recall_by_novelty_splits_gold_entities_by_whether_train_has_them() -> None:
    from tests.bench_ner import recall_by_novelty

    train = ([["زار", "بوش", "بغداد"]], [["O", "B-PER", "B-LOC"]])
    sents = [["بوش", "في", "عمان"], ["رايس", "في", "بغداد"]]
    gold = [["B-PER", "O", "B-LOC"], ["B-PER", "O", "B-ORG"]]  # بغداد as ORG: unseen with that type
    pred = [["B-PER", "O", "O"], ["O", "O", "B-ORG"]]
    got = recall_by_novelty(train, gold, pred, sents)
    assert got["PER"] == ((1, 1), (1, 0))
    assert got["LOC"] == ((0, 0), (1, 0))
    assert got["ORG"] == ((0, 0), (1, 1))
    assert got["MISC"] == ((0, 0), (0, 0))
