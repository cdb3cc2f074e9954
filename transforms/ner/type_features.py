"""The features of many new token types at once: both taggers' per-type work in a few polars passes.

`nn.token_features` and `features.Featurizer.token_attrs` define the features of one token (training
builds the feature vocabularies with them). A news batch brings tens of thousands of token types the
tagger has not met yet, and building and looking up some seventy feature strings per type in Python
took a quarter of the tagging time. Here the same strings are built column-wise and looked up with
joins, and each type's ids come out in the order the one-token definitions give, so the sums of
their weights are bit-identical (`tests/test_ner_type_features.py` holds the two equal).

What stays per type in Python is a handful of dict lookups and the shape tests on the raw token
(`text.network_shape`, `features.crf_shape`, shared with the one-token definitions), whose exact
semantics (`str.isdigit`, `str.isalnum`, Python's `\\w`) a polars regex would not reproduce.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from .features import WINDOW, Lexicon, crf_shape
from .text import NN_LATIN, cluster_features, forms, network_shape

__all__ = ["NN_LATIN", "Lookup", "NewTypes", "crf_attribute_ids", "network_feature_ids"]

_PART = 1 << 32  # sequence numbers: part * _PART + position within the part


@dataclass(frozen=True)
class Lookup:
    """Feature string -> row, as a frame to join on (the last row wins, as in a dict built from a list)."""

    frame: pl.DataFrame  # f: String, row: Int64

    @classmethod
    def of(cls, rows: Mapping[str, int]) -> Lookup:
        frame = pl.DataFrame({"f": list(rows), "row": list(rows.values())}, schema={"f": pl.String, "row": pl.Int64})
        return cls(frame)


@dataclass(frozen=True)
class NewTypes:
    """New token types with their NER forms and the per-type lookups every feature set starts from."""

    tokens: list[str]
    keys: list[str]
    prefixes: list[str]
    stems: list[str]
    clusters: list[tuple[str, ...] | None]
    gazetteer: list[str | None]

    @classmethod
    def of(cls, tokens: Sequence[str], lex: Lexicon) -> NewTypes:
        toks = list(tokens)
        triples = [forms(t) for t in toks]
        keys = [f[0] for f in triples]
        stems = [f[2] for f in triples]
        return cls(
            toks,
            keys,
            [f[1] for f in triples],
            stems,
            [lex.cluster(k, s) for k, s in zip(keys, stems, strict=True)],
            [lex.gaz(k, s) for k, s in zip(keys, stems, strict=True)],
        )

    def frame(self) -> pl.DataFrame:
        return pl.DataFrame(
            {"t": np.arange(len(self.tokens)), "k": self.keys, "pfx": self.prefixes, "stem": self.stems},
            schema={"t": pl.Int64, "k": pl.String, "pfx": pl.String, "stem": pl.String},
        )


def _affix_exprs() -> list[pl.Expr]:
    """`text.affix_features` as expressions over k, pfx, stem (in its order)."""
    k, pfx, stem = pl.col("k"), pl.col("pfx"), pl.col("stem")
    return [
        "w=" + k,
        "st=" + stem,
        "pf=" + pfx,
        "s1=" + stem.str.tail(1),
        "s2=" + stem.str.tail(2),
        "s3=" + stem.str.tail(3),
        "p1=" + stem.str.head(1),
        "p2=" + stem.str.head(2),
        "p3=" + stem.str.head(3),
        "len=" + pl.min_horizontal(stem.str.len_chars(), pl.lit(8, pl.UInt32)).cast(pl.String),
    ]


def _affix_rows(forms_frame: pl.DataFrame, part: int) -> pl.DataFrame:
    columns = [e.alias(str(i)) for i, e in enumerate(_affix_exprs())]
    return (
        forms_frame.select("t", *columns)
        .unpivot(index="t", variable_name="i", value_name="f")
        .select("t", (pl.col("i").cast(pl.Int64) + part * _PART).alias("seq"), "f")
    )


def _gram_rows(forms_frame: pl.DataFrame, n: int, part: int) -> pl.DataFrame:
    """The `g{n}=` character n-grams of "<stem>", in position order."""
    padded = "<" + pl.col("stem") + ">"
    starts = pl.int_ranges(0, padded.str.len_chars().cast(pl.Int64) - (n - 1))  # empty when "<stem>" is shorter
    gram = f"g{n}=" + pl.col("p").str.slice(pl.col("i"), n)
    return (
        forms_frame.select("t", padded.alias("p"), starts.alias("i"))
        .explode("i")
        .drop_nulls("i")
        .select("t", (pl.col("i") + part * _PART).alias("seq"), gram.alias("f"))
    )


class _Listed:
    """Per-type strings built in Python, collected flat (a list of lists converts slowly)."""

    def __init__(self) -> None:
        self.t: list[int] = []
        self.i: list[int] = []
        self.f: list[str] = []

    def add(self, t: int, strings: list[str]) -> None:
        self.t.extend([t] * len(strings))
        self.i.extend(range(len(strings)))
        self.f.extend(strings)

    def rows(self, part: int) -> pl.DataFrame:
        return pl.DataFrame(
            {"t": np.asarray(self.t, np.int64), "seq": np.asarray(self.i, np.int64) + part * _PART, "f": self.f},
            schema={"t": pl.Int64, "seq": pl.Int64, "f": pl.String},
        )


def _gaz_features(gz: str | None) -> list[str]:
    return ["gz=" + g for g in gz.split("|")] if gz else []


def _ids(rows: pl.DataFrame, lookup: Lookup, by: list[str]) -> pl.DataFrame:
    """The known rows of feature strings, sorted by `by` (the one-token order); unknown strings dropped."""
    return rows.join(lookup.frame, on="f", how="inner").sort(by).drop("f")


def network_feature_ids(types: NewTypes, feats: Lookup) -> tuple[np.ndarray, np.ndarray]:
    """Flat feature ids of the window network (`nn.token_features`, known features only) and their count per type."""
    extra = _Listed()
    for t, (tok, cl, gz) in enumerate(zip(types.tokens, types.clusters, types.gazetteer, strict=True)):
        f = network_shape(tok)
        f.extend(["oov"] if cl is None else cluster_features(cl))
        f.extend(_gaz_features(gz))
        extra.add(t, f)
    frame = types.frame()
    rows = pl.concat([_affix_rows(frame, 0), _gram_rows(frame, 3, 1), _gram_rows(frame, 4, 2), extra.rows(3)])
    found = _ids(rows, feats, ["t", "seq"])
    t = found["t"].to_numpy()
    return found["row"].to_numpy().astype(np.int32), np.bincount(t, minlength=len(types.tokens))


def crf_attribute_ids(types: NewTypes, attrs: Lookup) -> tuple[np.ndarray, np.ndarray]:
    """Flat CRF attribute rows and their count per segment, five segments per type: the own-position
    attributes, then those lent to each offset of `features.WINDOW` (`Featurizer.token_attrs`)."""
    local, ctx = _Listed(), _Listed()
    for t, (tok, cl, gz) in enumerate(zip(types.tokens, types.clusters, types.gazetteer, strict=True)):
        f = crf_shape(tok)
        f.extend(["oov"] if cl is None else cluster_features(cl))
        gzf = [] if gz is None else ["gz=" + g for g in gz.split("|")]
        f.extend(gzf)
        local.add(t, f)
        ctx.add(t, cluster_features(cl, 1) + gzf)
    frame = types.frame()
    own = pl.concat([_affix_rows(frame, 0), local.rows(1)]).with_columns(pl.lit(0, pl.Int64).alias("seg"))
    base = pl.concat([
        frame.select("t", pl.lit(0, pl.Int64).alias("seq"), ("w=" + pl.col("k")).alias("f")),
        frame.select("t", pl.lit(1, pl.Int64).alias("seq"), ("st=" + pl.col("stem")).alias("f")),
        ctx.rows(2),
    ])  # fmt: skip
    lent = [
        base.select("t", "seq", (str(o) + pl.col("f")).alias("f"), pl.lit(j, pl.Int64).alias("seg"))
        for j, o in enumerate(WINDOW, start=1)
    ]
    found = _ids(pl.concat([own, *lent]), attrs, ["t", "seg", "seq"])
    segment = found["t"].to_numpy() * (1 + len(WINDOW)) + found["seg"].to_numpy()
    return found["row"].to_numpy(), np.bincount(segment, minlength=len(types.tokens) * (1 + len(WINDOW)))
