from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from flows.ner_command import CONTEXT_SENTENCES, parse_lines, run
from tests.test_mentions import DictTagger
from transforms.ner import MODEL_DIR

ANERCORP = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "anercorp"
TAGGER = DictTagger({"بشار الأسد": "PER", "الرئيس بشار الأسد": "PER", "دمشق": "LOC", "الأمم المتحدة": "ORG"})


def _run(text: str, tagger=TAGGER) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(io.StringIO(text), out, tagger=tagger, stream_err=err)
    return code, out.getvalue(), err.getvalue()


def test_tokens_in_tagged_lines_out_layout_kept() -> None:
    code, out, err = _run("قال\nالرئيس\nبشار\nالأسد\n\n\nفي\nدمشق\n")
    assert code == 0 and err == ""
    assert out == "قال\tO\nالرئيس\tO\nبشار\tB-PER\nالأسد\tI-PER\n\n\nفي\tO\nدمشق\tB-LOC\n"


def test_crlf_trailing_whitespace_bom_and_missing_final_newline() -> None:
    code, out, _ = _run("\ufeffفي \r\nدمشق\t\r\n  \r\nالأمم\r\nالمتحدة")
    assert code == 0
    assert out == "في\tO\nدمشق\tB-LOC\n\nالأمم\tB-ORG\nالمتحدة\tI-ORG\n"


def test_empty_and_blank_inputs() -> None:
    assert _run("") == (0, "", "")
    assert _run("\n\n") == (0, "\n\n", "")


def test_a_line_with_two_fields_is_refused_with_its_number() -> None:
    code, out, err = _run("قال\nدمشق B-LOC\n")
    assert code == 2 and out == ""
    assert "line 2" in err and "first column" in err


def test_documents_for_the_consistency_pass() -> None:
    tokens, sentences, doc_ids = parse_lines("أ\nب\n\nج\n-DOCSTART-\n\nد\n")
    assert tokens == ["أ", "ب", None, "ج", "-DOCSTART-", None, "د"]
    assert sentences == [["أ", "ب"], ["ج"], ["د"]]
    assert doc_ids == [0, 0, 1]
    code, out, _ = _run("دمشق\n-DOCSTART-\nدمشق\n")
    assert code == 0 and out == "دمشق\tB-LOC\n-DOCSTART-\tO\nدمشق\tB-LOC\n"
    assert TAGGER.calls[-1][1] == [0, 1] and TAGGER.radii[-1] is None  # whole documents
    # Without markers the neighbouring sentences stand in for the document ...
    _run("دمشق\n\nدمشق\n")
    assert TAGGER.calls[-1][1] == [0, 0] and TAGGER.radii[-1] == CONTEXT_SENTENCES
    # ... and context=0 tags every sentence on its own.
    out = io.StringIO()
    assert run(io.StringIO("دمشق\n\nدمشق\n"), out, tagger=TAGGER, context=0) == 0
    assert TAGGER.calls[-1][1] is None


def test_not_utf8_is_refused() -> None:
    stream = io.TextIOWrapper(io.BytesIO(b"\xff\xfe\xfa\n"), encoding="utf-8")
    err = io.StringIO()
    assert run(stream, io.StringIO(), tagger=TAGGER, stream_err=err) == 2
    assert "UTF-8" in err.getvalue()


@pytest.mark.skipif(
    not (MODEL_DIR / "config.json").exists(), reason="no committed NER model in transforms/ner/model"
)
def test_committed_model_end_to_end() -> None:
    code, out, _ = _run("قال\nالرئيس\nالفرنسي\nجاك\nشيراك\nفي\nباريس\n", tagger=None)
    assert code == 0
    tags = [line.split("\t")[1] for line in out.splitlines()]
    assert tags[3:5] == ["B-PER", "I-PER"] and tags[6] == "B-LOC"


def _recorded_command_f1() -> float | None:
    """`akhbar ner`'s test F1 as recorded at training time (``scores.json``), if recorded."""
    path = MODEL_DIR / "scores.json"
    if not path.exists():
        return None
    scores = json.loads(path.read_text(encoding="utf-8"))
    for name, entry in scores.get("candidates", {}).items():
        if name.startswith("akhbar ner"):
            return entry["ALL"]["f1"]
    return None


@pytest.mark.slow
@pytest.mark.skipif(
    not (MODEL_DIR / "config.json").exists(), reason="no committed NER model in transforms/ner/model"
)
def test_anercorp_test_split_scored_from_the_command_output() -> None:
    test_file = ANERCORP / "ANERCorp_CamelLab_test.txt"
    if not test_file.exists():
        pytest.skip(f"ANERcorp not found at {ANERCORP}")
    from transforms.ner.training.anercorp import read_conll
    from transforms.ner.training.scoring import score

    sents, gold = read_conll(test_file)
    text = "\n\n".join("\n".join(s) for s in sents) + "\n"
    code, out, _ = _run(text, tagger=None)
    assert code == 0
    blocks = [b for b in out.split("\n\n") if b.strip()]
    assert [[line.split("\t")[0] for line in b.strip("\n").split("\n")] for b in blocks] == sents
    pred = [[line.split("\t")[1] for line in b.strip("\n").split("\n")] for b in blocks]
    f1 = score(gold, pred)["ALL"].f1
    recorded = _recorded_command_f1()
    print(f"akhbar ner on the ANERcorp test split: strict micro F1 {100 * f1:.2f} (recorded: {recorded})")
    if recorded is None:
        pytest.skip("the model's scores.json records no `akhbar ner` test F1")
    # Training scores the same command path (tagger, post-processing, neighbouring sentences).
    assert abs(f1 - recorded) <= 0.0005, (f1, recorded)


@pytest.mark.slow
def test_cli_subcommand_reads_a_file_and_refuses_a_missing_one(tmp_path):
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[1]
    tokens = tmp_path / "tokens.txt"
    tokens.write_text("بشار\nالأسد\nفي\nدمشق\n\nوإيران\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "flows.cli", "ner", str(tokens)], cwd=repo,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.split("\n")
    assert [line.split("\t")[0] for line in lines[:6]] == ["بشار", "الأسد", "في", "دمشق", "", "وإيران"]
    assert all(line.split("\t")[1] in {"O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC",
                                        "I-MISC"} for line in lines if line)
    missing = subprocess.run([sys.executable, "-m", "flows.cli", "ner", str(tmp_path / "absent.txt")], cwd=repo,
                             capture_output=True, text=True, timeout=300)
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    negative = subprocess.run([sys.executable, "-m", "flows.cli", "ner", "--context", "-1", str(tokens)], cwd=repo,
                              capture_output=True, text=True, timeout=300)
    assert negative.returncode == 2 and "--context" in negative.stderr
