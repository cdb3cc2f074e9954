"""Near-duplicate detection on the news corpus, scored against exact Jaccard computed independently.

Prints: recall on pairs whose exact Jaccard (word 5-grams of the match key) is >= 0.9, precision
(pairs that end in one cluster whose exact Jaccard is >= 0.5), whether four date-ordered pieces give
what one pass gives, and the near-dedup stage's throughput side by side with datasketch's
MinHashLSH with the same parameters (median of three runs each). ``--study`` adds the parameter
study behind transforms/NEARDUP.md (a few minutes). Skips without ../shared/data.

The flow is simulated without Prefect or a warehouse: batches of 1000 files cut from the sorted file
list, ``exact_dedup`` then ``near_dedup`` on each, the band rows of kept articles accumulated as the
history and their match keys served by a dict as ``fetch_keys``.
"""

from __future__ import annotations

import hashlib
import itertools
import statistics
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import polars as pl

from tests.conftest import SHARED_DATA
from transforms.dedup import add_content_keys, collapse_repeated_paragraphs, exact_dedup
from transforms.neardup import (
    NearDupConfig,
    band_hashes,
    minhash_signatures,
    near_dedup,
    shingle_hashes,
)
from transforms.parse import parse_articles
from transforms.read import decode_files
from transforms.schema import BAND_SCHEMA, INPUT_SCHEMA, KNOWN_SCHEMA

CORPUS = SHARED_DATA / "news_corpus" / "ant_multisource_v2.1"
BATCH = 1000
REPEATS = 3


# --- corpus ----------------------------------------------------------------------------------------


def load_corpus(root: Path = CORPUS) -> pl.DataFrame:
    """Every file through the project's reader: decode, parse, repeated paragraphs, content keys.

    Adds ``date``: the DOCNO date (last ``-YYYYMMDD``), else the publication date.
    """
    rows = []
    for path in sorted(root.rglob("*.txt")):
        data = path.read_bytes()
        rows.append(
            (path.relative_to(root).as_posix(), len(data), path.stat().st_mtime_ns,
             hashlib.sha256(data).hexdigest(), data, None, None)
        )  # fmt: skip
    frame = parse_articles(decode_files(pl.DataFrame(rows, schema=INPUT_SCHEMA, orient="row"))).drop("raw")
    frame = add_content_keys(collapse_repeated_paragraphs(frame))
    docno_date = pl.col("source_doc_id").str.extract(r"-(\d{8})$").str.to_date("%Y%m%d", strict=False)
    return frame.with_columns(pl.coalesce(docno_date, pl.col("published_at").dt.date()).alias("date"))


# --- ground truth ----------------------------------------------------------------------------------


def exact_pairs(frame: pl.DataFrame, shingle_size: int = 5, threshold: float = 0.5) -> pl.DataFrame:
    """Every pair of articles whose word-shingle sets have Jaccard >= threshold, exactly.

    Written apart from transforms.neardup: shingles are the strings themselves (words of the
    match key joined by a space; a key shorter than ``shingle_size`` words is one shingle),
    keyed by polars' 64-bit string hash for the joins. Candidates come from the AllPairs prefix
    filter, which is exact: order each set's shingles by corpus frequency (rarest first); two
    sets with Jaccard >= t share a shingle among the first ``|x| - ceil(t |x|) + 1`` of each.
    Every candidate's overlap is then counted in full.
    """
    k = shingle_size
    docs = frame.filter(pl.col("match_key").is_not_null() & (pl.col("match_key") != "")).with_row_index("d")
    words = (
        docs.select("d", pl.col("match_key").str.split(" ").alias("w"))
        .explode("w")
        .filter(pl.col("w") != "")
        .with_columns(pl.len().over("d").alias("n"))
    )
    long = (
        words.filter(pl.col("n") >= k)
        .select(
            "d",
            pl.concat_str([pl.col("w").shift(-i) for i in range(k)], separator=" ").alias("s"),
            (pl.col("d").shift(-(k - 1)) == pl.col("d")).alias("inside"),
        )
        .filter("inside")
        .drop("inside")
    )
    short = words.filter(pl.col("n") < k).group_by("d").agg(pl.col("w").str.join(" ").alias("s"))
    sets = pl.concat([long, short.select("d", "s")]).select("d", pl.col("s").hash(seed=1)).unique()
    size = sets.group_by("d").agg(pl.len().alias("size"))
    freq = sets.group_by("s").agg(pl.len().alias("f"))
    prefix = (
        sets.join(freq, on="s")
        .sort("d", "f", "s")
        .with_columns(pl.int_range(1, pl.len() + 1).over("d").alias("rank"))
        .join(size, on="d")
        .filter(pl.col("rank") <= pl.col("size") - (pl.col("size") * threshold).ceil().cast(pl.Int64) + 1)
        .select("d", "s", "size")
    )
    candidates = (
        prefix.join(prefix, on="s", suffix="_b")
        .filter(pl.col("d") < pl.col("d_b"))
        .filter(pl.min_horizontal("size", "size_b") >= threshold * pl.max_horizontal("size", "size_b"))
        .select("d", "d_b")
        .unique()
    )
    overlap = (
        candidates.join(sets, on="d")
        .join(sets.rename({"d": "d_b"}), on=["d_b", "s"])
        .group_by("d", "d_b")
        .agg(pl.len().alias("inter"))
    )
    paths = docs["source_path"]
    pairs = (
        overlap.join(size, on="d")
        .join(size.rename({"d": "d_b", "size": "size_b"}), on="d_b")
        .with_columns((pl.col("inter") / (pl.col("size") + pl.col("size_b") - pl.col("inter"))).alias("j"))
        .filter(pl.col("j") >= threshold)
    )
    a, b = paths.gather(pairs["d"]), paths.gather(pairs["d_b"])
    return (
        pl.DataFrame({"x": a, "y": b, "j": pairs["j"]})
        .select(pl.min_horizontal("x", "y").alias("path_a"), pl.max_horizontal("x", "y").alias("path_b"), "j")
        .sort("path_a", "path_b")
    )


# --- the flow, simulated ---------------------------------------------------------------------------


@dataclass
class Simulation:
    result: pl.DataFrame  # every input row after exact and near dedup
    near_seconds: float  # time spent in near_dedup
    near_docs: int  # rows near_dedup saw alive
    batches: list[pl.Series]  # match keys near_dedup saw alive, per batch (for datasketch)


def simulate(
    frame: pl.DataFrame,
    config: NearDupConfig,
    pieces: list[pl.DataFrame] | None = None,
    order: tuple[str, ...] = ("source_path",),
) -> Simulation:
    """Runs of batches of BATCH rows cut from each piece sorted by ``order``, history carried over."""
    known = pl.DataFrame(schema=KNOWN_SCHEMA)
    history = pl.DataFrame(schema=BAND_SCHEMA)
    stored_keys: dict[str, str] = {}

    def fetch_keys(ids: list[str]) -> pl.DataFrame:
        return pl.DataFrame({"article_id": ids, "match_key": [stored_keys[i] for i in ids]})

    out, batches, seconds, docs = [], [], 0.0, 0
    for piece in pieces if pieces is not None else [frame]:
        piece = piece.sort(*order, "source_path", nulls_last=True)
        for start in range(0, piece.height, BATCH):
            batch = exact_dedup(piece.slice(start, BATCH), known)
            live = batch.filter(pl.col("status").is_null() & pl.col("match_key").is_not_null())
            batches.append(live["match_key"])
            docs += live.height
            clock = time.perf_counter()
            batch, bands = near_dedup(batch, history, config, fetch_keys)
            seconds += time.perf_counter() - clock
            history = pl.concat([history, bands])
            kept = batch.filter(pl.col("status").is_null() & pl.col("article_id").is_not_null())
            stored_keys.update(zip(kept["article_id"].to_list(), kept["match_key"].to_list(), strict=True))
            known = pl.concat([known, kept.select(list(KNOWN_SCHEMA))])
            out.append(batch)
    return Simulation(pl.concat(out, how="diagonal_relaxed"), seconds, docs, batches)


def date_pieces(frame: pl.DataFrame, count: int = 4) -> list[pl.DataFrame]:
    """``count`` pieces of about equal size in date order, a day never split between two."""
    dates = frame["date"].drop_nulls().sort()
    cuts = [dates[len(dates) * q // count] for q in range(1, count)]
    bounds = [None, *cuts, None]
    pieces = []
    for lo, hi in itertools.pairwise(bounds):
        cond = pl.lit(True)
        if lo is not None:
            cond &= pl.col("date") >= lo
        if hi is not None:
            cond &= pl.col("date") < hi
        pieces.append(frame.filter(cond if hi is not None else cond | pl.col("date").is_null()))
    return pieces


# --- scores ----------------------------------------------------------------------------------------


def warehouse_result(root: Path, corpus: pl.DataFrame) -> pl.DataFrame:
    """The warehouse's articles and duplicates in the shape `score` reads (content keys from the corpus)."""
    from warehouse.store import open_reader

    con = open_reader(root)
    try:
        loaded = con.execute(
            "SELECT source_path, article_id, 'loaded' AS status, NULL::VARCHAR AS duplicate_of, "
            "NULL::VARCHAR AS duplicate_kind FROM articles"
        ).pl()
        copies = con.execute(
            "SELECT source_path, duplicate_of AS article_id, 'duplicate' AS status, duplicate_of, "
            "kind AS duplicate_kind FROM duplicates"
        ).pl()
    finally:
        con.close()
    return pl.concat([loaded, copies]).join(corpus.select("source_path", "content_hash"), on="source_path")


def clusters(result: pl.DataFrame) -> pl.DataFrame:
    """source_path -> cluster (the canonical's article id) for every row with content."""
    return result.filter(pl.col("article_id").is_not_null()).select(
        "source_path",
        pl.when(pl.col("status") == "duplicate")
        .then(pl.col("duplicate_of"))
        .otherwise(pl.col("article_id"))
        .alias("cluster"),
    )


@dataclass
class Score:
    pairs_09: int
    found_09: int
    near_pairs_09: int  # pairs >= 0.9 whose match keys differ (exact dedup cannot see them)
    near_found_09: int
    cluster_pairs: int
    cluster_pairs_05: int
    exact: int
    near: int

    @property
    def recall(self) -> float:
        return self.found_09 / max(1, self.pairs_09)

    @property
    def near_recall(self) -> float:
        return self.near_found_09 / max(1, self.near_pairs_09)

    @property
    def precision(self) -> float:
        return self.cluster_pairs_05 / max(1, self.cluster_pairs)


def score(result: pl.DataFrame, truth: pl.DataFrame) -> Score:
    cl = clusters(result)
    keys = result.select("source_path", "content_hash")
    pairs = (
        truth.join(cl.rename({"source_path": "path_a"}), on="path_a")
        .join(cl.rename({"source_path": "path_b", "cluster": "cluster_b"}), on="path_b")
        .join(keys.rename({"source_path": "path_a"}), on="path_a")
        .join(keys.rename({"source_path": "path_b", "content_hash": "content_hash_b"}), on="path_b")
    )
    high = pairs.filter(pl.col("j") >= 0.9)
    near_high = high.filter(pl.col("content_hash") != pl.col("content_hash_b"))
    together = pl.col("cluster") == pl.col("cluster_b")
    members = (
        cl.join(cl.rename({"source_path": "path_b"}), on="cluster")
        .filter(pl.col("source_path") < pl.col("path_b"))
        .rename({"source_path": "path_a"})
        .join(truth, on=["path_a", "path_b"], how="left")
    )
    kinds = result["duplicate_kind"].value_counts()
    count = dict(zip(kinds["duplicate_kind"].to_list(), kinds["count"].to_list(), strict=True))
    return Score(
        high.height, high.filter(together).height, near_high.height, near_high.filter(together).height,
        members.height, members.filter(pl.col("j") >= 0.5).height, count.get("exact", 0),
        count.get("near", 0),
    )  # fmt: skip


def differences(a: pl.DataFrame, b: pl.DataFrame) -> tuple[int, bool]:
    """Rows whose status, duplicate_of, kind or similarity differ; and whether the clusters are equal."""
    cols = ["status", "duplicate_of", "duplicate_kind", "similarity"]
    both = a.select("source_path", *cols).join(b.select("source_path", *cols), on="source_path", suffix="_b")
    rows = both.filter(pl.any_horizontal(pl.col(c).ne_missing(pl.col(f"{c}_b")) for c in cols)).height

    def partition(result: pl.DataFrame) -> set[frozenset[str]]:
        groups = clusters(result).group_by("cluster").agg("source_path")["source_path"].to_list()
        return {frozenset(g) for g in groups}

    return rows, partition(a) == partition(b)


# --- datasketch, same parameters -------------------------------------------------------------------


def datasketch_seconds(batches: list[pl.Series], config: NearDupConfig) -> float:
    """datasketch's MinHashLSH over the same articles: shingle, MinHash (update_batch), query, insert."""
    from datasketch import MinHash, MinHashLSH

    k = config.shingle_size
    lsh = MinHashLSH(num_perm=config.num_perm, params=(config.bands, config.rows))
    clock = time.perf_counter()
    n = 0
    for keys in batches:
        for key in keys.to_list():
            words = key.split()
            shingles = {" ".join(words[i : i + k]).encode() for i in range(max(1, len(words) - k + 1))}
            sketch = MinHash(num_perm=config.num_perm, seed=1)
            sketch.update_batch(list(shingles))
            lsh.query(sketch)
            lsh.insert(str(n), sketch, check_duplication=False)
            n += 1
    return time.perf_counter() - clock


# --- report ----------------------------------------------------------------------------------------


def report_score(name: str, s: Score) -> None:
    print(
        f"{name}: exact {s.exact:,}, near {s.near:,} | "
        f"recall J>=0.9 {s.recall:.4f} ({s.found_09:,}/{s.pairs_09:,});"
        f" without identical keys {s.near_recall:.4f} ({s.near_found_09}/{s.near_pairs_09})"
        f" | precision {s.precision:.4f} ({s.cluster_pairs_05:,}/{s.cluster_pairs:,} cluster pairs J>=0.5)"
    )


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if not CORPUS.exists():
        print(f"skipped: no corpus at {CORPUS}")
        return
    clock = time.perf_counter()
    corpus = load_corpus()
    print(f"corpus: {corpus.height:,} files, {corpus['match_key'].drop_nulls().len():,} with text "
          f"(read+parse+keys {time.perf_counter() - clock:.1f} s)")  # fmt: skip
    clock = time.perf_counter()
    truth = exact_pairs(corpus)
    print(
        f"ground truth (exact Jaccard, word 5-grams, prefix filter): {truth.height:,} pairs >= 0.5, "
        f"{truth.filter(pl.col('j') >= 0.75).height:,} >= 0.75, "
        f"{truth.filter(pl.col('j') >= 0.9).height:,} >= 0.9, "
        f"{truth.filter(pl.col('j') >= 1.0).height:,} = 1 ({time.perf_counter() - clock:.1f} s)"
    )
    if "--warehouse" in argv:
        # Score a warehouse the real flow built from this corpus (`akhbar run --input <corpus>`).
        root = Path(argv[argv.index("--warehouse") + 1])
        report_score(f"warehouse {root}", score(warehouse_result(root, corpus), truth))
        return
    config = NearDupConfig()
    print(f"config: {config}")

    ours, theirs, first = [], [], None
    for _ in range(REPEATS):
        sim = simulate(corpus, config)
        first = first or sim
        ours.append(sim.near_seconds)
        theirs.append(datasketch_seconds(sim.batches, config))
    assert first is not None
    s = score(first.result, truth)
    report_score("one pass, path order", s)
    docs = first.near_docs
    ours_rate, theirs_rate = docs / statistics.median(ours), docs / statistics.median(theirs)
    print(
        f"throughput over {docs:,} articles (median of {REPEATS}): near_dedup {ours_rate:,.0f} docs/s, "
        f"datasketch MinHashLSH {theirs_rate:,.0f} docs/s, ratio {ours_rate / theirs_rate:.1f}x"
    )

    four = simulate(corpus, config, pieces=date_pieces(corpus))
    rows, same_clusters = differences(first.result, four.result)
    print(f"four date pieces vs one pass (path order): {rows} rows differ; same clusters: {same_clusters}")
    dated = replace(config, canonical_order=("published_at",))
    one_dated = simulate(corpus, dated, order=("published_at",))
    four_dated = simulate(corpus, dated, pieces=date_pieces(corpus), order=("published_at",))
    rows_dated, same_dated = differences(one_dated.result, four_dated.result)
    print(
        f"four date pieces vs one pass (articles in published_at order): {rows_dated} rows differ; "
        f"same clusters: {same_dated}"
    )
    report_score("one pass, published_at order", score(one_dated.result, truth))
    goals = {
        "recall >= 0.98": s.recall >= 0.98,
        "precision >= 0.99": s.precision >= 0.99,
        "throughput >= 5x datasketch": ours_rate >= 5 * theirs_rate,
    }
    print("goals: " + ", ".join(f"{name} {'met' if ok else 'NOT met'}" for name, ok in goals.items()))
    if "--study" in argv:
        study(corpus, truth)


# --- parameter study -------------------------------------------------------------------------------


def _lsh_candidates(corpus: pl.DataFrame, config: NearDupConfig) -> pl.DataFrame:
    """All pairs sharing a band key, over the whole corpus at once."""
    docs = corpus.filter(pl.col("match_key").is_not_null() & (pl.col("match_key") != ""))
    hashes, doc = shingle_hashes(docs["match_key"], config.shingle_size)
    keys = band_hashes(minhash_signatures(hashes, doc, config.num_perm), config.bands, config.rows)
    bands = pl.DataFrame(
        {
            "d": np.repeat(np.arange(docs.height), config.bands),
            "band": np.tile(np.arange(config.bands), docs.height),
            "key": keys.reshape(-1),
        }
    )
    paths = docs["source_path"]
    pairs = bands.join(bands, on=["band", "key"], suffix="_b").filter(pl.col("d") != pl.col("d_b"))
    pairs = pairs.select(paths.gather(pairs["d"]).alias("x"), paths.gather(pairs["d_b"]).alias("y"))
    return pairs.filter(pl.col("x") < pl.col("y")).unique().rename({"x": "path_a", "y": "path_b"})


def _signature_seconds(docs: pl.DataFrame, config: NearDupConfig) -> float:
    """Shingles, MinHash and band hashes of every article, in batches of BATCH as in the flow."""
    clock = time.perf_counter()
    for start in range(0, docs.height, BATCH):
        hashes, doc = shingle_hashes(docs["match_key"].slice(start, BATCH), config.shingle_size)
        band_hashes(minhash_signatures(hashes, doc, config.num_perm), config.bands, config.rows)
    return time.perf_counter() - clock


def study(corpus: pl.DataFrame, truth: pl.DataFrame) -> None:
    distinct = corpus.filter(pl.col("match_key").is_not_null()).unique("content_hash", keep="first")
    keyed = corpus.select("source_path", "content_hash")
    near_truth = (
        truth.join(keyed.rename({"source_path": "path_a"}), on="path_a")
        .join(keyed.rename({"source_path": "path_b", "content_hash": "content_hash_b"}), on="path_b")
        .filter(pl.col("content_hash") != pl.col("content_hash_b"))
        .select("path_a", "path_b", "j")
    )
    # Candidate recall is measured over one copy per content (as near_dedup sees the corpus).
    kept = distinct["source_path"].to_list()
    distinct_truth = near_truth.filter(pl.col("path_a").is_in(kept) & pl.col("path_b").is_in(kept))
    print(f"\n## study: {near_truth.height} truth pairs >= 0.5 with different keys (exact dedup misses them)")

    # 1. The permutation family: does a MinHash estimate match the exact Jaccard?
    k256 = NearDupConfig(num_perm=256, bands=64, rows=4)
    docs = corpus.filter(pl.col("match_key").is_not_null())
    index = {p: i for i, p in enumerate(docs["source_path"].to_list())}
    hashes, doc = shingle_hashes(docs["match_key"], 5)
    sig = minhash_signatures(hashes, doc, k256.num_perm)
    a = np.array([index[p] for p in near_truth["path_a"].to_list()])
    b = np.array([index[p] for p in near_truth["path_b"].to_list()])
    j = near_truth["j"].to_numpy()
    rng = np.random.default_rng(7)
    ra, rb = rng.integers(0, len(index), 20000), rng.integers(0, len(index), 20000)
    print("1. permutations (xor, odd multiply, xor-shift on 32 bits), 256 values per article:")
    for perms in (64, 128, 256):
        est = (sig[a, :perms] == sig[b, :perms]).mean(axis=1)
        expected = np.sqrt(np.mean(j * (1 - j) / perms))
        rand = (sig[ra, :perms] == sig[rb, :perms]).mean()
        print(
            f"   {perms:>3} perms: bias {np.mean(est - j):+.4f}, RMSE {np.sqrt(np.mean((est - j) ** 2)):.4f} "
            f"(binomial {expected:.4f}); random pairs collide {rand:.5f}"
        )

    # 2. Bands x rows: candidate recall, candidates to verify, speed, end result.
    print(f"2. bands x rows (threshold 0.75): candidate recall on the {distinct_truth.height} pairs with "
          "different keys between distinct articles, candidate pairs, speed, result")  # fmt: skip
    print(f"   {'b x r':>7} {'perms':>5} {'P(cand|0.75)':>12} {'rec>=0.75':>9} {'rec>=0.9':>8} "
          f"{'candidates':>10} {'sig s':>6} {'recall':>7} {'precision':>9}")  # fmt: skip
    for bands, rows in ((8, 4), (16, 4), (32, 2), (10, 6), (20, 5), (14, 8), (16, 8), (32, 4)):
        config = NearDupConfig(num_perm=bands * rows, bands=bands, rows=rows)
        cand = _lsh_candidates(distinct, config)
        hit = distinct_truth.join(
            cand.with_columns(pl.lit(True).alias("c")), on=["path_a", "path_b"], how="left"
        )
        rec75 = hit.filter(pl.col("j") >= 0.75)["c"].is_not_null().mean()
        rec90 = hit.filter(pl.col("j") >= 0.9)["c"].is_not_null().mean()
        s = score(simulate(corpus, config).result, truth)
        seconds = min(_signature_seconds(distinct, config) for _ in range(3))
        p75 = 1 - (1 - 0.75**rows) ** bands
        print(
            f"   {bands:>3} x {rows:<2} {bands * rows:>5} {p75:>12.3f} {rec75:>9.3f} {rec90:>8.3f} "
            f"{cand.height:>10,} {seconds:>6.2f} "
            f"{s.recall:>7.4f} {s.precision:>9.4f}"
        )

    # 3. Threshold.
    print("3. threshold (16 x 4): recall on J>=0.9 pairs, precision, near duplicates")
    for threshold in (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9):
        s = score(simulate(corpus, NearDupConfig(threshold=threshold)).result, truth)
        print(
            f"   {threshold:.2f}: recall {s.recall:.4f} (different keys {s.near_recall:.4f}), precision "
            f"{s.precision:.4f} ({s.cluster_pairs - s.cluster_pairs_05} pairs < 0.5), near {s.near}"
        )

    # 4. Shingle size (truth stays word 5-grams).
    print("4. shingle size (16 x 4, threshold 0.75), scored against the 5-gram truth")
    for size in (2, 3, 4, 5, 7, 9):
        s = score(simulate(corpus, NearDupConfig(shingle_size=size)).result, truth)
        print(f"   {size}: near {s.near}, recall {s.recall:.4f} (different keys {s.near_recall:.4f}), "
              f"precision {s.precision:.4f}")  # fmt: skip


if __name__ == "__main__":
    main()
