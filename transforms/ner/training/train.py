"""Train the committed tagger from the project's own data: `python -m transforms.ner.training.train`.

Steps: embedding corpus from the unlabeled news articles + ANERcorp train -> word2vec -> k-means
clusters -> gazetteers (PyPI package data + the project's lists) -> teacher CRF and teacher window
tagger on ANERcorp train -> news sentences on which both agree become pseudo-labeled data ->
student CRF and three student window taggers (seeds 7, 8, 9, averaged) on train + pseudo-labels
-> one window tagger distilled from the average (its soft labels on 20,000 more news sentences)
-> a narrower window tagger taught by the distilled one on the same sentences
-> artifact (student CRF x narrow network) in `transforms/ner/model/` and test scores of every
candidate in `model/scores.json`
(the last one is `akhbar ner`'s path: the pipeline's post-processing and +-5 sentence context).
`--dev` does the same on train minus the dev split and scores dev instead (nothing written).
"""

from __future__ import annotations

import os

# Single-threaded BLAS: identical floating-point results on every run and machine.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import hashlib  # noqa: E402
import inspect  # noqa: E402
import json  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from .. import MODEL_DIR, Tagger, nn  # noqa: E402
from ..consistency import NEIGHBOUR_SENTENCES  # noqa: E402
from ..features import Featurizer, Lexicon  # noqa: E402
from ..gazetteer import build_gazetteer  # noqa: E402
from ..iob2 import TAGS, spans  # noqa: E402
from ..model import NERModel  # noqa: E402
from .anercorp import DEV_BLOCK, SHARED_DATA, load_splits  # noqa: E402
from .crf import crf_from_crfsuite, save_crf, train_crf  # noqa: E402
from .embed import build_corpus, kmeans, news_sentences, train_word2vec  # noqa: E402
from .network import build_feature_vocab, fit, save_network  # noqa: E402
from .scoring import score, table  # noqa: E402

NEWS_DIR = SHARED_DATA / "news_corpus"

CRF_WEIGHT = 0.5  # the CRF's weight in the product of experts (chosen on dev)


def lexical_resources(w2v, max_words: int = 100_000, ks: tuple[int, ...] = (64, 256, 1024)):
    """Trimmed vocabulary + vectors (frequency order) and multi-granularity cluster ids per key."""
    words = list(w2v.wv.index_to_key[:max_words])
    vecs = np.asarray(w2v.wv.vectors[: len(words)], dtype=np.float32)
    assigns = [kmeans(vecs, k, seed=k) for k in ks]
    clusters = {w: tuple(str(int(a[i])) for a in assigns) for i, w in enumerate(words)}
    return words, vecs, clusters


CACHE_DIR = Path(os.environ.get("AKHBAR_NER_CACHE", Path(tempfile.gettempdir()) / "akhbar-ner"))


def log(*a, **k) -> None:
    print(time.strftime("%H:%M:%S"), *a, **{"flush": True, **k})


def embeddings(labeled: list[list[str]], news_dir: Path = NEWS_DIR, cache: Path = CACHE_DIR):
    """Word2vec over the news corpus + labeled train text (cached: the result is deterministic)."""
    from gensim.models import Word2Vec

    # The cache is keyed on what the vectors depend on: corpus manifest, labeled text, settings.
    digest = hashlib.sha256()
    manifest = news_dir / "MANIFEST.tsv"
    digest.update(manifest.read_bytes() if manifest.exists() else str(sorted(news_dir.rglob("*.txt"))).encode())
    digest.update("\n".join(" ".join(s) for s in labeled).encode())
    digest.update(inspect.getsource(train_word2vec).encode())
    path = cache / f"w2v-{digest.hexdigest()[:16]}.model"
    if path.exists():
        log("word2vec: cached", path)
        return Word2Vec.load(str(path))
    log("embedding corpus from", news_dir)
    corpus = build_corpus(news_dir, labeled, cache / "corpus.txt")
    log("training word2vec (one thread)")
    model = train_word2vec(corpus)
    model.save(str(path))
    return model


def resources(labeled: list[list[str]]):
    """Vocabulary, unit-length vectors (row 0 = unknown), cluster ids, gazetteer."""
    w2v = embeddings(labeled)
    log("k-means clusters")
    words, vecs, clusters = lexical_resources(w2v)
    gaz = build_gazetteer(set(w2v.wv.index_to_key[:3000]))
    vn = vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-8)
    emb = np.vstack([np.zeros((1, vn.shape[1]), np.float32), vn]).astype(np.float32)
    cids = np.array([[int(c) for c in clusters[w]] for w in words], dtype=np.int64)
    return words, emb, clusters, cids, gaz


def build_nn(cfg, sents, words, emb, clusters, gaz, feats=None):
    if feats is None:
        feats = build_feature_vocab(sents, clusters, gaz, cfg.min_feat_count)
    vocab = {w: i + 1 for i, w in enumerate(words)}
    return nn.WindowTagger(cfg, vocab, emb, feats, clusters, gaz)


CRF_CFG = {"c1": 0.05, "c2": 0.05, "iters": 150}
TEACHER = {"dropout": 0.5, "feat_dim": 32, "epochs": 4}
STUDENT = {"dropout": 0.5, "feat_dim": 32, "epochs": 3}
STUDENT_SEEDS = (7, 8, 9)  # students averaged in the committed ensemble (one seed's dev F1 varies by +-1)
NEWS_SENTENCES = 40_000  # unlabeled sentences tagged by the teachers (every 4th news paragraph)
PSEUDO_TOKENS = 150_000  # budget of agreed pseudo-labeled tokens added to the student's data
PSEUDO_WEIGHT = 1.0


DISTIL = {"dropout": 0.5, "feat_dim": 32, "epochs": 1, "batch": 256, "lr": 1e-3}
DISTIL_SENTENCES = 20_000  # news sentences the averaged networks label for the distilled student
DISTIL_EVERY = 7  # every 7th news paragraph: spread over sources and months, apart from the self-training sample
# The run-time network, taught by the distilled one (`narrow`): fixed before its test score was seen.
NARROW = {"hidden1": 128, "hidden2": 64, "dropout": 0.5, "feat_dim": 32, "epochs": 3, "batch": 256, "lr": 1e-3}


def _soft_labels(teacher: nn.WindowTagger, news: list[list[str]]) -> tuple[list[list[str]], np.ndarray]:
    """The teacher's tag distributions on `news` (renormalised mean log-probabilities) and their argmax tags."""
    lp = teacher.log_probs(news)
    q = np.exp(lp - lp.max(axis=1, keepdims=True))
    q /= q.sum(axis=1, keepdims=True)
    hard = np.split(q.argmax(axis=1), np.cumsum([len(s) for s in news])[:-1])
    return [[TAGS[i] for i in row] for row in hard], q.astype(np.float32)


def _taught(student: nn.WindowTagger, teacher: nn.WindowTagger, sents, tags, log) -> nn.WindowTagger:
    """`student` trained on `sents` with gold tags plus the distillation news sentences with `teacher`'s soft labels."""
    news = news_sentences(NEWS_DIR, DISTIL_SENTENCES, every=DISTIL_EVERY)
    log(f"distillation: the teacher labels {len(news)} news sentences, {sum(map(len, news))} tokens")
    news_tags, q = _soft_labels(teacher, news)
    targets = np.vstack([np.zeros((sum(map(len, sents)), len(TAGS)), np.float32), q])
    log(f"distilled window tagger on {len(sents)} labeled + {len(news)} news sentences: {student.cfg}")
    fit(student, sents + news, tags + news_tags, epochs=student.cfg.epochs, targets=targets, log=log)
    student.p = {k: v.astype(np.float16).astype(np.float32) for k, v in student.p.items()}  # the stored precision
    return student


def distil(teacher: nn.WindowTagger, sents, tags, log=print) -> nn.WindowTagger:
    """One network trained to give the averaged networks' tag distributions (the teacher of `narrow`).

    The student starts from the teacher's first member and reads `sents` with their gold tags
    plus `DISTIL_SENTENCES` news sentences with the teacher's soft labels (mean log-probabilities,
    renormalised): one network's cost, the average's accuracy. `teacher` should be the stored
    form (float16 weights, int8 vectors), so that the artifact alone reproduces this.
    """
    t = teacher
    start = {k: v.copy() for k, v in t.p.items()}
    cfg = nn.NNConfig(**DISTIL, seed=STUDENT_SEEDS[0])
    return _taught(nn.WindowTagger(cfg, t.vocab, t.emb, t.feats, t.clusters, t.gazetteer, start), t, sents, tags, log)


def narrow(teacher: nn.WindowTagger, sents, tags, log=print) -> nn.WindowTagger:
    """The run-time network: `NARROW`'s width, taught by the distilled network on the same data.

    Half the first layer and a quarter of the second cost about half the forward pass. The
    student keeps the teacher's feature embeddings as its start (same feature vocabulary); its
    layers start at random, hence more epochs than `distil`.
    """
    t = teacher
    student = nn.WindowTagger(
        nn.NNConfig(**NARROW, seed=STUDENT_SEEDS[0]), t.vocab, t.emb, t.feats, t.clusters, t.gazetteer
    )
    student.p["F"] = t.p["F"].copy()
    return _taught(student, t, sents, tags, log)


def _crf_child(sents, tags, clusters, gaz, path: Path, cfg: dict) -> None:
    train_crf(Featurizer(Lexicon(clusters, gaz)), sents, tags, path, **cfg)


def start_crf(sents, tags, res, path: Path):
    """Train the CRF in a forked process while the neural tagger trains here (2 cores, 2 jobs)."""
    import multiprocessing as mp

    log(f"CRF on {len(sents)} sentences (background process): {CRF_CFG}")
    proc = mp.get_context("fork").Process(target=_crf_child, args=(sents, tags, res[2], res[4], path, CRF_CFG))
    proc.start()
    return proc


def pseudo_labels(net, crf, news: list[list[str]]) -> tuple[list[list[str]], list[list[str]]]:
    """News sentences on which the neural tagger and the CRF agree and find an entity, up to the budget."""
    nn_tags = NERModel(net, None, 0.0).tag(news)
    crf_tags = NERModel(None, crf, 1.0).tag(news)
    sents: list[list[str]] = []
    tags: list[list[str]] = []
    n = 0
    for s, a, b in zip(news, nn_tags, crf_tags, strict=True):
        if n >= PSEUDO_TOKENS:
            break
        if a == b and spans(a):
            sents.append(s)
            tags.append(a)
            n += len(s)
    return sents, tags


def bench(model, sents, gold, doc_ids=None):
    """Scores and tokens/s; `doc_ids="context"`: the neighbouring sentences form each document."""
    t0 = time.perf_counter()
    context = doc_ids == "context"
    pred = model.tag(sents, [0] * len(sents) if context else doc_ids, NEIGHBOUR_SENTENCES if context else None)
    secs = time.perf_counter() - t0
    return score(gold, pred), sum(map(len, sents)) / secs


def bench_command(model, sents, gold):
    """What `akhbar ner` prints for unmarked sentences: the pipeline's token-level post-processing."""
    from transforms.mentions import tag_sentences

    t0 = time.perf_counter()
    pred = tag_sentences(sents, Tagger(model), [0] * len(sents), context_radius=NEIGHBOUR_SENTENCES)
    secs = time.perf_counter() - t0
    return score(gold, pred), sum(map(len, sents)) / secs


def report(name: str, split: str, res, tps: float) -> dict:
    log(f"{name} on {split}: {tps:,.0f} tokens/s (cold)\n" + table(res))
    return {
        "tokens_per_s_cold": round(tps),
        **{k: {"p": round(v.precision, 4), "r": round(v.recall, 4), "f1": round(v.f1, 4)} for k, v in res.items()},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Train the ANERcorp tagger and write transforms/ner/model/.")
    ap.add_argument("--out", type=Path, default=MODEL_DIR)
    ap.add_argument(
        "--dev", action="store_true", help="train on train minus dev, score every candidate on dev, write nothing"
    )
    args = ap.parse_args(argv)
    t0 = time.time()
    splits = load_splits()
    res = resources(splits["full"][0])
    words, _emb, clusters, cids, gaz = res
    split = "dev" if args.dev else "test"
    sents, tags = splits["train" if args.dev else "full"]
    work = CACHE_DIR / ("dev-models" if args.dev else "full-models")
    work.mkdir(parents=True, exist_ok=True)

    crf_proc = start_crf(sents, tags, res, work / "crf.crfsuite")
    teacher = build_nn(nn.NNConfig(**TEACHER), sents, *res[:3], gaz)
    log(f"teacher window tagger on {len(sents)} sentences: {teacher.cfg}")
    fit(teacher, sents, tags, epochs=teacher.cfg.epochs, log=log)
    crf_proc.join()
    if crf_proc.exitcode != 0:
        raise SystemExit(f"CRF training failed (exit code {crf_proc.exitcode})")
    crf = crf_from_crfsuite(work / "crf.crfsuite", Featurizer(Lexicon(clusters, gaz)))

    news = news_sentences(NEWS_DIR, NEWS_SENTENCES, every=4)
    ps, pt = pseudo_labels(teacher, crf, news)
    log(f"pseudo-labeled: {len(ps)} of {len(news)} news sentences, {sum(map(len, ps))} tokens")
    all_s, all_t = sents + ps, tags + pt
    crf_proc = start_crf(all_s, all_t, res, work / "crf-student.crfsuite")
    weights = np.concatenate([np.ones(sum(map(len, sents))), np.full(sum(map(len, ps)), PSEUDO_WEIGHT)])
    students = []
    for seed in STUDENT_SEEDS:
        feats = students[0].feats if students else None  # same data, same feature vocabulary
        student = build_nn(nn.NNConfig(**STUDENT, seed=seed), all_s, *res[:3], gaz, feats)
        log(f"student window tagger on {len(all_s)} sentences: {student.cfg}")
        fit(student, all_s, all_t, epochs=student.cfg.epochs, weights=weights, log=log)
        students.append(student)
    single = students[0]
    ensemble = nn.WindowTagger.ensemble(students)
    crf_proc.join()
    if crf_proc.exitcode != 0:
        raise SystemExit(f"CRF training failed (exit code {crf_proc.exitcode})")
    crf_student = crf_from_crfsuite(work / "crf-student.crfsuite", Featurizer(Lexicon(clusters, gaz)))

    # The averaged networks in their stored form teach the one network the artifact keeps.
    save_network(ensemble, words, cids, work / "ensemble")
    ensemble = nn.load(work / "ensemble")
    wide = distil(ensemble, sents, tags, log=log)
    student = narrow(wide, sents, tags, log=log)
    if not args.dev:
        save_network(student, words, cids, args.out)
        save_crf(crf_student, args.out)
        meta = json.loads((args.out / "config.json").read_text())
        meta.update(
            {
                "kind": "crf+window-nn",
                "crf_weight": CRF_WEIGHT,
                "crf": CRF_CFG,
                "teacher": TEACHER,
                "student_seeds": list(STUDENT_SEEDS),
                "pseudo": {"news_sentences": NEWS_SENTENCES, "tokens": PSEUDO_TOKENS, "weight": PSEUDO_WEIGHT},
                "distil": {**DISTIL, "news_sentences": DISTIL_SENTENCES, "every": DISTIL_EVERY},
                "narrow": {**NARROW, "news_sentences": DISTIL_SENTENCES, "every": DISTIL_EVERY},
            }
        )
        (args.out / "config.json").write_text(json.dumps(meta, indent=2) + "\n")
        final = NERModel.load(args.out)  # score what was written (float16 / int8 weights)
        student, crf_student = final.net, final.crf
    ev_s, ev_g = splits[split]
    blocks = [i // DEV_BLOCK for i in range(len(ev_s))]
    final = NERModel(student, crf_student, CRF_WEIGHT)
    n = len(STUDENT_SEEDS)
    cands = {
        "crf (gold only)": (NERModel(None, crf, 1.0), None),
        "crf (self-trained)": (NERModel(None, crf_student, 1.0), None),
        "nn (gold only)": (NERModel(teacher, None, 0.0), None),
        f"nn (self-trained, seed {STUDENT_SEEDS[0]})": (NERModel(single, None, 0.0), None),
        f"nn (self-trained, {n} seeds averaged)": (NERModel(ensemble, None, 0.0), None),
        "crf x nn (gold only)": (NERModel(teacher, crf, CRF_WEIGHT), None),
        f"crf x nn (self-trained, seed {STUDENT_SEEDS[0]})": (NERModel(single, crf_student, CRF_WEIGHT), None),
        f"crf x nn (self-trained, {n} seeds averaged)": (NERModel(ensemble, crf_student, CRF_WEIGHT), None),
        "nn (distilled from the average)": (NERModel(wide, None, 0.0), None),
        "crf x nn (distilled)": (NERModel(wide, crf_student, CRF_WEIGHT), None),
        "nn (narrow, taught by the distilled one)": (NERModel(student, None, 0.0), None),
        "crf x nn (narrow): committed": (final, None),
        f"committed + consistency, documents = {DEV_BLOCK}-sentence blocks": (final, blocks),
        f"committed + consistency, +-{NEIGHBOUR_SENTENCES} neighbouring sentences": (final, "context"),
    }
    scores = {name: report(name, split, *bench(m, ev_s, ev_g, d)) for name, (m, d) in cands.items()}
    scores["akhbar ner (committed + pipeline post-processing + neighbouring sentences)"] = report(
        "akhbar ner", split, *bench_command(final, ev_s, ev_g)
    )
    out = (args.out / "scores.json") if not args.dev else (CACHE_DIR / "dev_scores.json")
    out.write_text(json.dumps({"split": split, "candidates": scores}, indent=2) + "\n")
    log(f"done in {time.time() - t0:.0f} s; scores in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
