"""Near-duplicate detection: MinHash-LSH over word shingles of the match key, verified exactly.

Runs after ``exact_dedup`` on the rows still alive. Each article's ``match_key`` is cut into word
``shingle_size``-grams; a MinHash signature of the shingle set is split into ``bands`` bands of
``rows`` values, and each band is hashed to one 64-bit ``band_hash``. Two articles that share a
``(band_index, band_hash)`` are candidates; a candidate becomes a duplicate only if the exact
Jaccard similarity of the two shingle sets reaches ``threshold``. Band rows of every article
that stays canonical are kept (the warehouse stores them), so a later batch is matched against
the whole history with one join on band keys instead of a rescan.

Clusters never chain: an article is a near duplicate only of a canonical article (one that is
not itself a duplicate), and only when it is similar to that article itself. Canonical articles
come from the history first; inside a batch, articles are decided in ``canonical_order``
(default: ``source_path``), so of two similar new articles the first one stays canonical. An
article similar to several canonical articles is attached to the most similar one (ties: history
first, then order), which does not depend on the order in which those canonicals arrived.

All hashing is defined here (no library hash whose output may change between versions): band
hashes are stored in the warehouse and must stay comparable across processes, runs and upgrades.
Everything is vectorized with numpy over whole batches; see ``transforms/NEARDUP.md`` for the
parameters and the measurements behind them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa

from transforms.arabic import match_key
from transforms.dedup import EXACT
from transforms.frame import DUPLICATE, REASON, alive, label
from transforms.schema import BAND_SCHEMA

NEAR = "near"

KEYS_SCHEMA: dict[str, pl.DataType] = {"article_id": pl.String(), "match_key": pl.String()}

# ``fetch_keys(article_ids)`` -> frame with ``article_id`` and ``match_key`` (or ``body``, from
# which the key is recomputed) of those stored articles.
FetchKeys = Callable[[list[str]], pl.DataFrame]
# Given a batch's distinct (band_index, band_hash) keys, the stored band rows (BAND_SCHEMA) sharing one.
HistoryBands = Callable[[pl.DataFrame], pl.DataFrame]


@dataclass(frozen=True)
class NearDupConfig:
    """MinHash-LSH parameters, chosen on the news corpus (transforms/NEARDUP.md).

    ``shingle_size``, ``num_perm``, ``bands`` and ``rows`` define the stored band hashes:
    changing any of them makes stored band rows incomparable (recompute them from the stored
    bodies). ``threshold`` can change freely.
    """

    shingle_size: int = 5  # words per shingle
    num_perm: int = 64  # MinHash values per article (= bands * rows)
    bands: int = 16
    rows: int = 4
    threshold: float = 0.75  # exact Jaccard of the shingle sets, inclusive
    # Inside a batch, articles are decided in this column order (nulls last), then by source_path:
    # of two similar new articles the first one stays canonical. Batches must be cut from the
    # input sorted the same way for the outcome not to depend on batching.
    canonical_order: tuple[str, ...] = ("source_path",)

    def __post_init__(self) -> None:
        if self.shingle_size < 1 or self.bands < 1 or self.rows < 1:
            raise ValueError("shingle_size, bands and rows must be positive")
        if self.bands * self.rows != self.num_perm:
            raise ValueError(
                f"bands * rows ({self.bands} * {self.rows}) must equal num_perm ({self.num_perm})"
            )
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError("threshold must be in (0, 1]")

    @property
    def scheme(self) -> str:
        """Names what the stored band hashes depend on; store it beside them to detect a change."""
        return f"minhash-v1/w{self.shingle_size}/p{self.num_perm}/b{self.bands}x{self.rows}"


# --- hashing -----------------------------------------------------------------------------------

_MASK64 = (1 << 64) - 1


def _splitmix64(seed: int, count: int) -> list[int]:
    """Fixed pseudo-random 64-bit constants (SplitMix64): identical in every process and version."""
    out, state = [], seed & _MASK64
    for _ in range(count):
        state = (state + 0x9E3779B97F4A7C15) & _MASK64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
        out.append(z ^ (z >> 31))
    return out


_WORD_BASE = _splitmix64(0x776F7264, 1)[0] | 1  # odd, so it has an inverse modulo 2**64
_WORD_BASE_INV = pow(_WORD_BASE, -1, 1 << 64)
_MAX_SHINGLE = 64
_SHINGLE_WEIGHTS = np.array(_splitmix64(0x7368696E676C65, _MAX_SHINGLE), dtype=np.uint64)
_MAX_PERM = 1024
_PERM_PARAMS = np.array(_splitmix64(0x6D696E68617368, 2 * _MAX_PERM), dtype=np.uint64)
# Permutation p maps a 32-bit shingle value x to ((x ^ b_p) * a_p) ^ (... >> 16) modulo 2**32.
_PERM_MUL = ((_PERM_PARAMS[:_MAX_PERM] >> np.uint64(32)).astype(np.uint32)) | np.uint32(1)
_PERM_XOR = (_PERM_PARAMS[_MAX_PERM:] & np.uint64(0xFFFFFFFF)).astype(np.uint32)
_MAX_ROWS = 64
_ROW_WEIGHTS = np.array(_splitmix64(0x62616E64, _MAX_ROWS), dtype=np.uint64)

_powers_cache: dict[str, np.ndarray] = {}


def _powers(n: int) -> tuple[np.ndarray, np.ndarray]:
    """``base**i`` and ``base**-i`` modulo 2**64 for i < n, cached (grown by doubling)."""
    cached = _powers_cache.get("pow")
    if cached is None or cached.size < n:
        size = max(n, 2 * cached.size if cached is not None else 1 << 16)
        pow_, inv = np.empty(size, np.uint64), np.empty(size, np.uint64)
        pow_[0], inv[0] = 1, 1
        pow_[1:], inv[1:] = np.uint64(_WORD_BASE), np.uint64(_WORD_BASE_INV)
        np.cumprod(pow_, out=pow_)  # unsigned overflow wraps: arithmetic modulo 2**64
        np.cumprod(inv, out=inv)
        _powers_cache["pow"], _powers_cache["inv"] = pow_, inv
    return _powers_cache["pow"][:n], _powers_cache["inv"][:n]


def _fmix64(x: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finalizer, in place: spreads every input bit over the whole word."""
    x ^= x >> np.uint64(33)
    x *= np.uint64(0xFF51AFD7ED558CCD)
    x ^= x >> np.uint64(33)
    x *= np.uint64(0xC4CEB9FE1A85EC53)
    x ^= x >> np.uint64(33)
    return x


def _utf8(keys: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """The UTF-8 bytes of a string column and each value's start offset (nulls are empty), zero-copy."""
    array = keys.rechunk().to_arrow()
    if array.type != pa.large_string():
        array = array.cast(pa.large_string())
    _, offsets_buffer, data_buffer = array.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64)[array.offset : array.offset + len(array) + 1]
    data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer is not None else np.empty(0, np.uint8)
    return data[offsets[0] : offsets[-1]], offsets - offsets[0]


def _word_hashes(keys: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """A 64-bit hash of every word of every key, and the index of the key it belongs to.

    Words are runs of bytes above 0x20 (``match_key`` leaves single spaces between them; UTF-8
    continuation bytes are all above 0x7F). A word's hash is the polynomial
    ``sum(byte_j * base**(j - start))`` modulo 2**64, computed for all words of the batch at once
    from global powers, then finalized with ``_fmix64``: it depends on the word's bytes only.
    """
    data, offsets = _utf8(keys)
    if data.size == 0:
        return np.empty(0, np.uint64), np.empty(0, np.int64)
    separator = data <= 0x20
    boundary = np.zeros(data.size, bool)
    boundary[offsets[:-1][offsets[:-1] < data.size]] = True  # a key starts: so does a word
    boundary[1:] |= separator[:-1]
    boundary[0] = True
    starts = np.flatnonzero(~separator & boundary)
    if starts.size == 0:
        return np.empty(0, np.uint64), np.empty(0, np.int64)
    pow_, inv = _powers(data.size)
    weighted = np.multiply(np.where(separator, np.uint8(0), data), pow_, dtype=np.uint64)
    sums = np.add.reduceat(weighted, starts)  # a word's segment runs to the next word: separators add 0
    sums *= inv[starts]
    words_per_key = np.diff(np.searchsorted(starts, offsets))
    return _fmix64(sums), np.repeat(np.arange(words_per_key.size, dtype=np.int64), words_per_key)


def shingle_hashes(keys: pl.Series, shingle_size: int) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hashes of the word ``shingle_size``-grams of each key, and the key index of each.

    Grouped by key in key order; a key with fewer words than ``shingle_size`` has one shingle
    (all its words), an empty key none. Repeated shingles are not removed here.
    """
    if not 1 <= shingle_size <= _MAX_SHINGLE:
        raise ValueError(f"shingle_size must be between 1 and {_MAX_SHINGLE}")
    words, word_doc = _word_hashes(keys)
    k = shingle_size
    counts = np.bincount(word_doc, minlength=keys.len())
    parts_hash, parts_doc = [], []
    windows = words.size - k + 1
    if windows > 0:
        acc = words[:windows] * _SHINGLE_WEIGHTS[0]
        for t in range(1, k):
            acc += words[t : t + windows] * _SHINGLE_WEIGHTS[t]
        whole = word_doc[:windows] == word_doc[k - 1 :]  # the window lies inside one key
        parts_hash.append(_fmix64(acc[whole]))
        parts_doc.append(word_doc[:windows][whole])
    short = (counts[word_doc] < k) if words.size else np.zeros(0, bool)
    if short.any():
        short_words, short_doc = words[short], word_doc[short]
        first = np.flatnonzero(np.concatenate(([True], short_doc[1:] != short_doc[:-1])))
        position = np.arange(short_doc.size) - np.repeat(first, np.diff(np.append(first, short_doc.size)))
        parts_hash.append(_fmix64(np.add.reduceat(short_words * _SHINGLE_WEIGHTS[position], first)))
        parts_doc.append(short_doc[first])
        if len(parts_doc) == 2:
            doc = np.concatenate(parts_doc)
            order = np.argsort(doc, kind="stable")
            return np.concatenate(parts_hash)[order], doc[order]
    if not parts_hash:
        return np.empty(0, np.uint64), np.empty(0, np.int64)
    return parts_hash[0], parts_doc[0]


def minhash_signatures(hashes: np.ndarray, doc: np.ndarray, num_perm: int) -> np.ndarray:
    """MinHash signatures, shape ``(number of docs, num_perm)``, uint32.

    ``doc`` must be sorted and cover 0..n-1 without gaps (every doc has a shingle). A shingle's
    upper 32 bits go through ``num_perm`` permutations of the 32-bit integers (xor, odd multiply,
    xor-shift: cheap SIMD operations) and the minimum per doc and permutation is kept.
    """
    if not 1 <= num_perm <= _MAX_PERM:
        raise ValueError(f"num_perm must be between 1 and {_MAX_PERM}")
    if doc.size == 0:
        return np.empty((0, num_perm), np.uint32)
    values = (hashes >> np.uint64(32)).astype(np.uint32)
    offsets = np.flatnonzero(np.concatenate(([True], doc[1:] != doc[:-1])))
    out = np.empty((num_perm, offsets.size), np.uint32)
    # One permutation at a time over preallocated buffers: the working set stays in cache,
    # several times faster than broadcasting a (permutations x shingles) block.
    buffer, shifted = np.empty_like(values), np.empty_like(values)
    for p in range(num_perm):
        np.bitwise_xor(values, _PERM_XOR[p], out=buffer)
        np.multiply(buffer, _PERM_MUL[p], out=buffer)
        np.right_shift(buffer, np.uint32(16), out=shifted)
        np.bitwise_xor(buffer, shifted, out=buffer)
        out[p] = np.minimum.reduceat(buffer, offsets)
    return np.ascontiguousarray(out.T)


def band_hashes(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """One int64 per (doc, band): a hash of the band's ``rows`` signature values and its index."""
    if rows > _MAX_ROWS:
        raise ValueError(f"rows must be at most {_MAX_ROWS}")
    grouped = signatures[:, : bands * rows].reshape(signatures.shape[0], bands, rows).astype(np.uint64)
    acc = (grouped * _ROW_WEIGHTS[None, None, :rows]).sum(axis=2, dtype=np.uint64)
    acc += np.arange(1, bands + 1, dtype=np.uint64)[None, :] * np.uint64(0x9E3779B97F4A7C15)
    return _fmix64(acc).view(np.int64)


# --- batch ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Batch:
    docs: pl.DataFrame  # _d (rank in canonical order), _i (frame row), article_id, source_path
    hashes: np.ndarray  # shingle hashes, grouped by _d
    doc: np.ndarray  # _d of each shingle
    bands: pl.DataFrame  # _d, band_index, band_hash


def _empty_bands() -> pl.DataFrame:
    return pl.DataFrame(schema=BAND_SCHEMA)


def _prepare(frame: pl.DataFrame, config: NearDupConfig) -> _Batch:
    """Alive rows with a non-empty key, in canonical order, with their shingles and band keys."""
    docs = (
        frame.with_row_index("_i")
        .filter(alive() & pl.col("match_key").is_not_null() & (pl.col("match_key") != ""))
        .sort(*config.canonical_order, "source_path", "article_id", "_i", nulls_last=True)
        .select("_i", "article_id", "source_path", "match_key")
    )
    hashes, doc = shingle_hashes(docs["match_key"], config.shingle_size)
    docs = docs.drop("match_key").with_row_index("_d")
    signatures = minhash_signatures(hashes, doc, config.num_perm)
    keys = band_hashes(signatures, config.bands, config.rows)
    bands = pl.DataFrame(
        {
            "_d": np.repeat(np.arange(keys.shape[0], dtype=np.uint32), config.bands),
            "band_index": np.tile(np.arange(config.bands, dtype=np.int16), keys.shape[0]),
            "band_hash": keys.reshape(-1),
        }
    )
    return _Batch(docs, hashes, doc, bands)


def minhash_bands(frame: pl.DataFrame, config: NearDupConfig | None = None) -> pl.DataFrame:
    """Band rows (``BAND_SCHEMA``) of the alive rows that have a non-empty ``match_key``.

    For back-filling the band store from articles already in the warehouse (or after a change
    of parameters); ``near_dedup`` returns the rows of the articles it keeps.
    """
    batch = _prepare(frame, config or NearDupConfig())
    return _band_rows(batch, batch.docs)


def _band_rows(batch: _Batch, keep: pl.DataFrame) -> pl.DataFrame:
    return (
        batch.bands.join(keep.select("_d", "article_id", "source_path"), on="_d", maintain_order="left")
        .select(list(BAND_SCHEMA))
        .cast(BAND_SCHEMA)  # type: ignore[arg-type]
    )


def _history_bands(history: pl.DataFrame) -> pl.DataFrame:
    return history.select(pl.col(name).cast(dtype) for name, dtype in BAND_SCHEMA.items())


def _candidates(batch: _Batch, history: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Pairs sharing a band key: (_d, _y) inside the batch with _y before _d, and (_d, _h) to history."""
    on = ["band_index", "band_hash"]
    inner = (
        batch.bands.join(batch.bands.rename({"_d": "_y"}), on=on)
        .filter(pl.col("_y") < pl.col("_d"))
        .select("_d", "_y")
        .unique()
    )
    outer = (
        batch.bands.join(history.rename({"article_id": "_h", "source_path": "_h_path"}), on=on)
        .join(batch.docs.select("_d", "article_id"), on="_d")
        .filter(pl.col("_h") != pl.col("article_id"))  # never a duplicate of itself
        .select("_d", "_h", "_h_path")
        .unique()
    )
    return inner, outer


def _shingle_sets(hashes: np.ndarray, doc: np.ndarray, name: str) -> pl.DataFrame:
    return pl.DataFrame({name: doc, "_s": hashes}).unique()


def _history_keys(ids: list[str], history: pl.DataFrame, fetch_keys: FetchKeys | None) -> pl.DataFrame:
    if "match_key" in history.columns:
        keys = history.select("article_id", "match_key")
    elif fetch_keys is not None:
        keys = fetch_keys(ids)
        if "match_key" not in keys.columns:
            keys = keys.select("article_id", match_key(pl.col("body")).alias("match_key"))
    else:
        raise ValueError(
            "near_dedup needs fetch_keys (or a match_key column in history) to verify history candidates"
        )
    return (
        keys.select(pl.col("article_id").cast(pl.String), pl.col("match_key").cast(pl.String))
        .filter(pl.col("article_id").is_in(ids) & pl.col("match_key").is_not_null())
        .unique("article_id", keep="first")
    )


def _jaccard(
    pairs: pl.DataFrame, left: pl.DataFrame, right: pl.DataFrame, lkey: str, rkey: str
) -> pl.DataFrame:
    """Exact Jaccard of the shingle sets of each candidate pair (pairs sharing no shingle are left out)."""
    lsize = left.group_by(lkey).agg(pl.len().alias("_nl"))
    rsize = right.group_by(rkey).agg(pl.len().alias("_nr"))
    inter = (
        pairs.join(left, on=lkey).join(right, on=[rkey, "_s"]).group_by(lkey, rkey).agg(pl.len().alias("_n"))
    )
    return (
        inter.join(lsize, on=lkey)
        .join(rsize, on=rkey)
        .select(lkey, rkey, (pl.col("_n") / (pl.col("_nl") + pl.col("_nr") - pl.col("_n"))).alias("_j"))
    )


def _verified(
    batch: _Batch, history: pl.DataFrame | HistoryBands, config: NearDupConfig, fetch_keys: FetchKeys | None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    if callable(history):
        history = history(batch.bands.select("band_index", "band_hash").unique())
    inner, outer = _candidates(batch, _history_bands(history))
    involved = pl.concat([inner["_d"], inner["_y"], outer["_d"]]).unique().sort().to_numpy()
    mask = np.isin(batch.doc, involved)
    sets = _shingle_sets(batch.hashes[mask], batch.doc[mask].astype(np.uint32), "_d")
    inner_j = _jaccard(inner, sets, sets.rename({"_d": "_y"}), "_d", "_y")
    if outer.height:
        ids = outer["_h"].unique().sort().to_list()
        keys = _history_keys(ids, history, fetch_keys)
        h_hashes, h_doc = shingle_hashes(keys["match_key"], config.shingle_size)
        h_sets = _shingle_sets(h_hashes, keys["article_id"].gather(h_doc).to_numpy(), "_h")
        outer_j = _jaccard(outer.select("_d", "_h"), sets, h_sets, "_d", "_h").join(
            outer.select("_h", "_h_path").unique("_h"), on="_h"
        )
    else:
        outer_j = pl.DataFrame(
            schema={"_d": pl.UInt32, "_h": pl.String, "_j": pl.Float64, "_h_path": pl.String}
        )
    keep = pl.col("_j") >= config.threshold
    return inner_j.filter(keep), outer_j.filter(keep)


def _resolve(docs: pl.DataFrame, inner: pl.DataFrame, outer: pl.DataFrame) -> pl.DataFrame:
    """Decide, in canonical order, which articles are near duplicates and of which canonical.

    Sequential by nature (whether an article is canonical depends on the decisions before it),
    so a plain loop, but only over the verified pairs: a few per hundred articles.
    """
    ids, paths = docs["article_id"].to_list(), docs["source_path"].to_list()
    # Most similar canonical first; ties: history before this batch, then path (history) or
    # canonical order (batch), then id.
    options: dict[int, list[tuple[float, int, str | int, str]]] = {}
    for d, h, j, h_path in outer.select("_d", "_h", "_j", "_h_path").iter_rows():
        options.setdefault(d, []).append((-j, 0, h_path or "", h))
    batch_pairs: dict[int, list[tuple[int, float]]] = {}
    for d, y, j in inner.select("_d", "_y", "_j").iter_rows():
        batch_pairs.setdefault(d, []).append((y, j))
    result: dict[int, tuple[str, str, float]] = {}
    for d in sorted(options.keys() | batch_pairs.keys()):
        choices = list(options.get(d, []))
        choices += [(-j, 1, y, ids[y]) for y, j in batch_pairs.get(d, []) if y not in result]
        if choices:
            neg_j, in_batch, where, target = min(choices)
            result[d] = (target, paths[where] if in_batch else where, -neg_j)
    return pl.DataFrame(
        {
            "_d": list(result.keys()),
            "_near_of": [v[0] for v in result.values()],
            "_near_path": [v[1] for v in result.values()],
            "_near_sim": [v[2] for v in result.values()],
        },
        schema={"_d": pl.UInt32, "_near_of": pl.String, "_near_path": pl.String, "_near_sim": pl.Float64},
    )


def _with_duplicate_columns(frame: pl.DataFrame) -> pl.DataFrame:
    wanted = {"duplicate_of": pl.String, "duplicate_kind": pl.String, "similarity": pl.Float64}
    return frame.with_columns(
        pl.lit(None, dtype=dtype).alias(name) for name, dtype in wanted.items() if name not in frame.columns
    )


def near_dedup(
    frame: pl.DataFrame,
    history: pl.DataFrame | HistoryBands,
    config: NearDupConfig | None = None,
    fetch_keys: FetchKeys | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Label alive rows that are near duplicates of a canonical article; return the band rows to store.

    ``frame`` comes from ``exact_dedup`` (needs ``article_id``, ``source_path``, ``match_key``).
    ``history`` holds the band rows (``BAND_SCHEMA``) of canonical articles already stored: the
    whole store, or only the rows whose ``(band_index, band_hash)`` occur in this batch, or a function
    that returns those rows given this batch's keys (so the store is searched, never loaded). The
    texts of history candidates come from ``fetch_keys`` (called once, with the candidate ids
    only) unless ``history`` carries a ``match_key`` column.

    Near duplicates get status ``duplicate``, ``duplicate_of`` (the canonical's article id),
    ``duplicate_kind`` ``near`` and ``similarity`` (exact Jaccard of the shingle sets). Returns
    ``(frame, band rows)``, the band rows being those of this batch's articles that stay alive.
    """
    config = config or NearDupConfig()
    frame = _with_duplicate_columns(frame)
    batch = _prepare(frame, config)
    if batch.docs.height == 0:
        return frame, _empty_bands()
    inner, outer = _verified(batch, history, config, fetch_keys)
    decided = _resolve(batch.docs, inner, outer).join(batch.docs.select("_d", "_i", "article_id"), on="_d")
    near = ["_near_of", "_near_path", "_near_sim"]
    # Exact copies of an article that turns out to be a near duplicate (labelled by exact_dedup in
    # this batch) must point at the canonical too: duplicate_of always names a loaded article.
    copies = decided.select(
        pl.col("article_id").alias("duplicate_of"), *(pl.col(c).alias(f"_c{c}") for c in near)
    )
    frame = (
        frame.with_row_index("_i")
        .join(decided.select("_i", *near), on="_i", how="left", maintain_order="left")
        .join(copies, on="duplicate_of", how="left", maintain_order="left")
    )
    copy = (pl.col("duplicate_kind") == EXACT) & pl.col("_c_near_of").is_not_null()
    frame = frame.with_columns(
        pl.when(copy).then(pl.col(f"_c{c}")).otherwise(pl.col(c)).alias(c) for c in near
    )
    hit = pl.col("_near_of").is_not_null()
    reason = pl.format(
        "near duplicate of article {} ({}): Jaccard {}",
        pl.col("_near_of"),
        pl.col("_near_path"),
        pl.col("_near_sim").round(2).cast(pl.String).str.pad_end(4, "0"),
    )
    frame = label(frame, hit, DUPLICATE, reason).with_columns(
        pl.when(copy).then(reason).otherwise(pl.col(REASON)).alias(REASON)
    )
    frame = frame.with_columns(
        pl.when(hit).then(pl.col("_near_of")).otherwise(pl.col("duplicate_of")).alias("duplicate_of"),
        pl.when(hit).then(pl.lit(NEAR)).otherwise(pl.col("duplicate_kind")).alias("duplicate_kind"),
        pl.when(hit).then(pl.col("_near_sim")).otherwise(pl.col("similarity")).alias("similarity"),
    ).drop("_i", *near, *(f"_c{c}" for c in near))
    survivors = batch.docs.join(decided.select("_d"), on="_d", how="anti")
    return frame, _band_rows(batch, survivors)
