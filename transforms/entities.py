"""People, organizations and places mentioned in article bodies, with exact character offsets.

How it works, all as polars joins over the tokens of a whole batch:

1. ``tokenize`` gives tokens with offsets; quote marks are set aside so «سانا» and “وليد المعلم”
   match like unquoted text. Each token gets a ``token_key`` (letter variants folded).
2. Gazetteer lookup: every token's clitic readings (وإيران -> إيران, للأمم -> الأمم) that start
   some gazetteer entry are extended to n-grams of up to ``max_ngram`` tokens by shifting keys
   within the sentence, and the n-gram keys are joined to the gazetteer's alias keys.
3. Patterns: ``وزارة`` + definite nouns (وزارة الدفاع الروسية), ``الجيش`` + a nisba adjective,
   a media noun (صحيفة, وكالة, قناة ...) + a name.
4. People: a first name (from the packaged first-name list) starts a name of two to four
   tokens when a role (الرئيس, وزير, اللواء, نظيره ...) stands before it, with only definite
   nouns, institution nouns or other roles in between (رئيس مجلس الشورى الإسلامي علي لاريجاني),
   or when a role follows the name directly. The name continues over tokens that are not
   function words or frequent corpus words; the role is never part of the name.
5. Overlaps are resolved leftmost-longest (ties: gazetteer before patterns, less clitic
   stripping first).
6. Within an article, every person name found is looked up again in full and by its short
   form (last token, or last two after عبد/بن/أبو or for three-token names): ``الأسد`` after
   ``بشار الأسد`` is a mention of ``بشار الأسد``. A short form shared by two people of the
   article resolves to neither.

Mentions always satisfy ``body[start_char:end_char] == surface``. ``entity_id`` is the first
16 hex digits of SHA-256 over the type and the ``arabic.match_key`` of the canonical name, so
it is stable across runs and batches.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import polars as pl

from transforms.arabic import ARABIC_WORD, DEFINITE, clitic_variants, match_key, token_key
from transforms.schema import MENTION_SCHEMA
from transforms.tokenize import QUOTES, TokenizeConfig, tokenize

GAZETTEER_DIR = Path(__file__).resolve().parent / "data" / "gazetteer"
ENTITY_TYPES = ("PER", "ORG", "LOC", "MISC")

ENTITY_SCHEMA: dict[str, pl.DataType] = {
    "entity_id": pl.String(),
    "canonical_name": pl.String(),
    "entity_type": pl.String(),
    "article_count": pl.UInt32(),
    "mention_count": pl.UInt32(),
}

# Candidate sources, best first when two candidates cover the same tokens.
_GAZETTEER, _PATTERN, _PERSON, _SHORT = 0, 1, 2, 3
_NISBA = r"^ال.{2,}(?:ي|يه|يين|يون)$"
_QUOTE_CHARS = "[" + "".join(QUOTES) + "]"
# Function words that are also very common first names once letters are folded (على/علي).
_AMBIGUOUS_GIVEN = ("علي",)
_MEDIA_HEADS = ("صحيفه", "جريده", "مجله", "قناه", "وكاله", "اذاعه")
_MEDIA_GENERIC = (
    "الانباء", "انباء", "الصحافه", "الاعلام", "التلفزيون", "الفضائيه", "الاخباريه", "الرسميه", "المحليه",
    "الدوليه", "الحكوميه", "الاخبار", "انسانيه", "اخباريه", "اعلاميه", "محليه",
)  # fmt: skip


@dataclass(frozen=True)
class EntityConfig:
    """Knobs of the entity step.

    ``max_ngram``: longest gazetteer entry looked up, in tokens. ``role_window``: how many
    tokens may stand between a role and the first name it introduces. ``max_name_tokens``:
    longest person name the role heuristic builds. ``types``: the entity types kept.
    """

    max_ngram: int = 6
    role_window: int = 8
    max_name_tokens: int = 4
    person_heuristics: bool = True
    resolve_short_forms: bool = True
    types: tuple[str, ...] = ("PER", "ORG", "LOC")
    gazetteer_dir: str = str(GAZETTEER_DIR)


@dataclass(frozen=True)
class Gazetteer:
    """The packaged lists, keyed for joins."""

    aliases: pl.DataFrame  # key, n, first, canonical, entity_type, priority
    roles: pl.DataFrame  # key, n, first, kind (role / institution / connector)
    first_names: pl.Series
    stopwords: pl.Series
    common: pl.Series
    protected: pl.Series  # first names: never stripped of a leading و ف ب ل ك
    first_name_spellings: pl.Series  # the listed first names as written (علي, مصطفى), not keyed


def _read_tsv(path: Path) -> pl.DataFrame:
    return pl.read_csv(path, separator="\t", quote_char=None, infer_schema=False)


def phrase_keys(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """Add ``key`` (token keys joined by spaces, quotes left out), ``n`` and ``first``.

    The form every gazetteer entry is keyed by, so any phrase can be looked up with a join.
    Rows whose phrase has no token are left out.
    """
    rows = frame.with_row_index("_r").select("_r", pl.col(column).alias("body"))
    tokens = tokenize(rows, TokenizeConfig(id_column="_r")).filter(~pl.col("token").is_in(QUOTES))
    keys = tokens.group_by("_r", maintain_order=True).agg(token_key(pl.col("token")).alias("_toks"))
    return (
        frame.with_row_index("_r")
        .join(keys, on="_r", how="inner")
        .with_columns(
            pl.col("_toks").list.join(" ").alias("key"),
            pl.col("_toks").list.len().cast(pl.Int32).alias("n"),
            pl.col("_toks").list.first().alias("first"),
        )
        .drop("_r", "_toks")
    )


@cache
def load_gazetteer(directory: str = str(GAZETTEER_DIR)) -> Gazetteer:
    """Read and key the TSVs once per process (about 0.2 s)."""
    root = Path(directory)
    entities = phrase_keys(_read_tsv(root / "entities.tsv"), "alias")
    aliases = (
        entities.with_columns(
            pl.col("type").alias("entity_type"),
            pl.col("source")
            .replace_strict({"curated": 0, "cldr": 1, "geonames": 2}, default=3)
            .alias("_rank"),
        )
        # One reading per alias key: hand-written over CLDR over GeoNames.
        .sort("key", "_rank", "canonical")
        .unique("key", keep="first", maintain_order=True)
        .select("key", "n", "first", "canonical", "entity_type", pl.lit(_GAZETTEER).alias("priority"))
    )
    roles = (
        phrase_keys(_read_tsv(root / "triggers.tsv"), "phrase").select("key", "n", "first", "kind").unique()
    )
    listed_names = _read_tsv(root / "first_names.tsv")["name"].unique().sort()
    names = listed_names.to_frame().select(token_key(pl.col("name")).alias("k")).unique()["k"]
    stop = _read_tsv(root / "stopwords.tsv").select(token_key(pl.col("word")).alias("k")).unique()["k"]
    common_path = root / "common_words.tsv"
    common = _read_tsv(common_path)["key"] if common_path.exists() else pl.Series([], dtype=pl.String)
    return Gazetteer(aliases, roles, names, stop, common, names, listed_names)


def _sequence(articles: pl.DataFrame) -> pl.DataFrame:
    """Tokens without quote marks, globally indexed (``i`` = row number), with a global sentence number."""
    is_quote = pl.col("token").is_in(QUOTES)
    tokens = tokenize(articles).with_columns(is_quote.shift(1).fill_null(False).alias("after_quote"))
    tokens = tokens.filter(~is_quote)
    new_sentence = (pl.col("article_id") != pl.col("article_id").shift(1)) | (
        pl.col("sentence_index") != pl.col("sentence_index").shift(1)
    )
    return tokens.with_columns(token_key(pl.col("token")).alias("key")).select(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("i"),
        "article_id",
        new_sentence.fill_null(True).cast(pl.Int64).cum_sum().alias("sent"),
        "token",
        "key",
        "start_char",
        "end_char",
        "after_quote",
    )


def _following(seq: pl.DataFrame, width: int) -> pl.DataFrame:
    """``k1..`` keys and ``e1..`` end offsets of the next tokens in the same sentence."""
    cols = [pl.col("i"), pl.col("start_char"), pl.col("end_char").alias("e0")]
    for j in range(1, width):
        same = pl.col("sent").shift(-j) == pl.col("sent")
        cols.append(pl.when(same).then(pl.col("key").shift(-j)).alias(f"k{j}"))
        cols.append(pl.when(same).then(pl.col("end_char").shift(-j)).alias(f"e{j}"))
    return seq.select(cols)


def _variants(seq: pl.DataFrame, protected: pl.Series) -> pl.DataFrame:
    """Clitic readings of every distinct token (``token``, ``clitic_shift``, ``stem_key``).

    First names (وليد, فيصل, بشار) are only read whole.
    """
    lex = seq.select("token", "key").unique("token")
    variants = clitic_variants(lex, "token")
    return variants.filter((pl.col("clitic_shift") == 0) | ~pl.col("key").is_in(protected.implode())).select(
        "token", "clitic_shift", "stem_key"
    )


def _at(frame: pl.DataFrame, index: pl.Series) -> pl.DataFrame:
    """Rows ``index`` of a frame whose row number is ``i`` (a gather, cheaper than a join on ``i``)."""
    return frame.select(pl.all().gather(index))


def _occurrences(readings: pl.DataFrame, seq: pl.DataFrame) -> pl.DataFrame:
    """Token readings placed at every position where their token occurs (adds ``i``, ``article_id``)."""
    return readings.join(seq.select("token", "i", "article_id"), on="token", how="inner")


def _lookup(
    variants: pl.DataFrame,
    seq: pl.DataFrame,
    following: pl.DataFrame,
    table: pl.DataFrame,
    width: int,
    on: tuple[str, ...] = (),
) -> pl.DataFrame:
    """Join n-grams starting at each token reading with ``table`` (``key``, ``n``, ``first``, ...).

    Only readings that start some entry are extended to n-grams, which keeps the join small.
    Returns the table's columns plus ``i`` (first token), ``clitic_shift``, ``start_char``
    (after the clitics) and ``end_char``.
    """
    firsts = table.select(*on, pl.col("first").alias("stem_key")).unique()
    readings = variants.join(firsts.select("stem_key").unique(), on="stem_key", how="semi")
    starts = _occurrences(readings, seq)
    if on:
        starts = starts.join(firsts, on=[*on, "stem_key"], how="semi")
    starts = pl.concat([starts, _at(following.drop("i"), starts["i"])], how="horizontal")
    longest = min(width, int(table["n"].max() or 1))
    grams = pl.concat(
        starts.select(
            "article_id",
            "i",
            "clitic_shift",
            (pl.col("start_char") + pl.col("clitic_shift")).alias("start_char"),
            pl.col(f"e{n - 1}").alias("end_char"),
            pl.concat_str([pl.col("stem_key"), *[pl.col(f"k{j}") for j in range(1, n)]], separator=" ").alias(
                "key"
            ),
        )
        for n in range(1, longest + 1)
    ).drop_nulls("key")
    return grams.join(table.drop("first"), on=[*on, "key"], how="inner")


def _patterns(seq: pl.DataFrame, variants: pl.DataFrame, gaz: Gazetteer) -> pl.DataFrame:
    """Organizations recognised by shape: ministries, armies, media outlets."""
    heads = _occurrences(variants.filter(pl.col("stem_key").is_in(["وزاره", "الجيش", *_MEDIA_HEADS])), seq)
    last = seq.height - 1
    parts = [heads, _at(seq.select("sent", "start_char"), heads["i"])]
    for j in range(1, 4):
        nxt = seq.select(
            pl.col("sent").alias(f"s{j}"),
            pl.col("key").alias(f"k{j}"),
            pl.col("token").alias(f"t{j}"),
            pl.col("end_char").alias(f"e{j}"),
            pl.col("after_quote").alias(f"q{j}"),
        )
        parts.append(_at(nxt, (heads["i"] + j).clip(upper_bound=last)))
    ctx = pl.concat(parts, how="horizontal").with_columns(
        # Past the last token there is no next token: no sentence to share.
        pl.when(pl.col("i") + j <= last).then(pl.col(f"s{j}")).alias(f"s{j}")
        for j in range(1, 4)
    )
    stop = gaz.stopwords.implode()

    def definite(j: int) -> pl.Expr:
        """The portfolio (الدفاع), then only adjectives (الروسية, العالي) or و + noun (والمغتربين)."""
        k = pl.col(f"k{j}")
        shape = r"^و?ال" if j == 1 else r"^وال|" + _NISBA
        return (pl.col(f"s{j}") == pl.col("sent")) & k.str.contains(shape) & ~k.is_in(stop)

    k1 = pl.col("k1")
    same1 = pl.col("s1") == pl.col("sent")
    n = (
        pl.when(pl.col("stem_key") == "وزاره")
        .then(
            pl.when(definite(1) & definite(2) & definite(3)).then(4)
            .when(definite(1) & definite(2)).then(3)
            .when(definite(1)).then(2)
        )
        .when(pl.col("stem_key") == "الجيش")
        .then(pl.when(same1 & k1.str.contains(_NISBA) & ~k1.is_in(stop)).then(2))
        .otherwise(
            pl.when(
                same1 & pl.col("t1").str.contains(ARABIC_WORD) & ~k1.is_in(stop) & ~k1.is_in(_MEDIA_GENERIC)
                & ~k1.str.contains(_NISBA) & ~k1.str.ends_with("ات")
                & (pl.col("q1") | ~k1.is_in(gaz.common.implode()))
            ).then(2)
        )
    )  # fmt: skip
    found = ctx.with_columns(n.alias("n")).drop_nulls("n")
    return found.select(
        "article_id",
        "i",
        pl.col("n").cast(pl.Int32),
        "clitic_shift",
        (pl.col("start_char") + pl.col("clitic_shift")).alias("start_char"),
        pl.when(pl.col("n") == 2)
        .then("e1")
        .when(pl.col("n") == 3)
        .then("e2")
        .otherwise("e3")
        .alias("end_char"),
        pl.lit("ORG").alias("entity_type"),
        pl.lit(None, dtype=pl.String).alias("canonical"),
        pl.lit(_PATTERN).alias("priority"),
        # ل + الجيش is written للجيش: the name shown starts at لجيش and gets its alef back.
        pl.when(
            pl.col("stem_key").str.starts_with("ال")
            & (pl.col("clitic_shift") > 0)
            & pl.col("token").str.slice(pl.col("clitic_shift"), 1).eq("ل")
        )
        .then(pl.lit("ا"))
        .otherwise(pl.lit(""))
        .alias("prefix"),
    )


def _name_shapes(seq: pl.DataFrame, gaz: Gazetteer) -> pl.DataFrame:
    """Per distinct token: may it stand between a role and a name, may it continue a name."""
    names, stop, common = gaz.first_names.implode(), gaz.stopwords.implode(), gaz.common.implode()
    role_words = gaz.roles.filter(pl.col("n") == 1)["key"].implode()
    key = pl.col("key")
    return (
        seq.select("token", "key")
        .unique("token")
        .select(
            "token",
            # A first name continues a name unless it is also a function word (على folds to علي).
            (key.is_in(names) & pl.col("token").str.contains(ARABIC_WORD) & ~key.is_in(stop)).alias(
                "_given_ok"
            ),
            (key.str.contains(DEFINITE) & ~key.is_in(stop)).alias("_definite"),
            (
                pl.col("token").str.contains(ARABIC_WORD)
                & ~key.is_in(stop)
                & ~key.is_in(role_words)
                & (key.is_in(names) | ~key.is_in(common))
                # و + a word (وتناول, ومساعد, وألحان) is a conjunction; names such as وليد are first names.
                & ~key.str.starts_with("و")
                # ل + noun + pronoun (لارتكابه, لتصريحاتها) is a phrase, not a family name.
                & ~key.str.contains(r"^ل.+(?:ه|ها|هم|هما)$")
            ).alias("_word_ok"),
            (pl.col("token").str.contains(ARABIC_WORD) & ~key.is_in(stop)).alias("_word"),
        )
    )


def _people(
    seq: pl.DataFrame, variants: pl.DataFrame, following: pl.DataFrame, gaz: Gazetteer, config: EntityConfig
) -> pl.DataFrame:
    """Person names introduced or followed by a role word (see the module docstring)."""
    hits = _lookup(variants, seq, following, gaz.roles, 3)
    roles = hits.filter(pl.col("kind") == "role")
    role_end = roles.select(pl.col("i") + pl.col("n") - 1)["i"].implode()
    role_start = roles["i"].implode()
    between = hits.filter(pl.col("kind").is_in(["role", "institution"]) & (pl.col("n") == 1))["i"].implode()
    connector = hits.filter(pl.col("kind") == "connector")["i"].implode()
    given = variants.filter(
        (pl.col("clitic_shift") <= 1)
        & pl.col("stem_key").is_in(gaz.first_names.implode())
        & (~pl.col("stem_key").is_in(gaz.stopwords.implode()) | pl.col("stem_key").is_in(_AMBIGUOUS_GIVEN))
    )
    first = (
        _occurrences(given, seq)
        .filter(~pl.col("i").is_in(between))
        .sort("i", "clitic_shift")
        .unique("i", keep="first")
        .select("i", "clitic_shift")
    )
    flags = seq.join(_name_shapes(seq, gaz), on="token", how="left", maintain_order="left").with_columns(
        pl.col("i").is_in(role_end).alias("_role_end"),
        pl.col("i").is_in(role_start).alias("_role_start"),
        pl.col("i").is_in(connector).alias("_conn"),
        pl.col("i").is_in(first["i"].implode()).alias("_first"),
        (pl.col("_definite") | pl.col("i").is_in(between)).alias("_between"),
        (
            (pl.col("_given_ok") | pl.col("_word_ok") | pl.col("i").is_in(connector))
            & ~pl.col("i").is_in(between)
            & ~pl.col("i").is_in(role_start)
        ).alias("_name_ok"),
    )
    same = {
        j: pl.col("sent").shift(j) == pl.col("sent")
        for j in range(-config.max_name_tokens - 1, config.role_window + 1)
    }
    # Introduced: a role k tokens back, only in-between words after it.
    introduced = pl.lit(False)
    gap_ok = pl.lit(True)
    for k in range(1, config.role_window + 1):
        introduced = introduced | (gap_ok & same[k] & pl.col("_role_end").shift(k).fill_null(False))
        gap_ok = gap_ok & same[k] & pl.col("_between").shift(k).fill_null(False)
    # Extent: the first name plus following name-like tokens.
    length = pl.lit(1)
    run = pl.lit(True)
    for j in range(1, config.max_name_tokens):
        # After عبد / بن / أبو any word continues the name (عبد الكريم); no name runs past a quote.
        ok = pl.col("_name_ok").shift(-j) | (pl.col("_conn").shift(-(j - 1)) & pl.col("_word").shift(-j))
        run = run & same[-j] & ok.fill_null(False) & ~pl.col("after_quote").shift(-j).fill_null(True)
        length = length + run.cast(pl.Int32)
    named = flags.with_columns(_intro=introduced, _len=length)
    # A name does not end on عبد / بن / أبو: drop a dangling connector.
    for _ in range(2):  # twice: محمد بن عبد -> محمد بن -> محمد
        trimmed = pl.col("_len")
        for n in range(2, config.max_name_tokens + 1):
            dangling = (pl.col("_len") == n) & pl.col("_conn").shift(-(n - 1)).fill_null(False)
            trimmed = pl.when(dangling).then(n - 1).otherwise(trimmed)
        named = named.with_columns(trimmed.alias("_len"))
    # Followed: a role right after the name (التقى علي شمخاني أمين المجلس ...).
    followed = pl.lit(False)
    for n in range(2, config.max_name_tokens + 1):
        followed = followed | (
            (pl.col("_len") == n) & same[-n] & pl.col("_role_start").shift(-n).fill_null(False)
        )
    named = named.with_columns(_follow=followed)
    end_cols = {n: pl.col("end_char").shift(-(n - 1)) for n in range(2, config.max_name_tokens + 1)}
    end_char = pl.lit(None, dtype=pl.Int64)
    for n, col in end_cols.items():
        end_char = pl.when(pl.col("_len") == n).then(col).otherwise(end_char)
    found = (
        named.with_columns(end_char.alias("end_char"))
        .filter(pl.col("_first") & (pl.col("_len") >= 2) & (pl.col("_intro") | pl.col("_follow")))
        .join(first, on="i")
    )
    return found.select(
        "article_id",
        "i",
        pl.col("_len").cast(pl.Int32).alias("n"),
        "clitic_shift",
        (pl.col("start_char") + pl.col("clitic_shift")).alias("start_char"),
        "end_char",
        pl.lit("PER").alias("entity_type"),
        pl.lit(None, dtype=pl.String).alias("canonical"),
        pl.lit(_PERSON).alias("priority"),
        pl.lit("").alias("prefix"),
    )


_CANDIDATE_COLUMNS = [
    "article_id",
    "i",
    "n",
    "clitic_shift",
    "start_char",
    "end_char",
    "entity_type",
    "canonical",
    "priority",
    "prefix",
]


def _resolve(candidates: pl.DataFrame) -> pl.DataFrame:
    """Leftmost-longest selection of non-overlapping candidates, vectorized.

    Greedy order: by first token, then longer, then better source, then less clitic stripping.
    Each round accepts candidates that no earlier undecided candidate overlaps and rejects those
    overlapping an accepted one; a few rounds settle every chain of overlaps.
    """
    order = ["i", "_neg_n", "priority", "clitic_shift"]
    pending = (
        candidates.with_columns(
            (-pl.col("n")).alias("_neg_n"), (pl.col("i") + pl.col("n") - 1).alias("_last")
        )
        .sort(order)
        .unique("i", keep="first", maintain_order=True)
    )
    accepted = [pending.clear()]
    while pending.height:
        prev_last = pl.col("_last").cum_max().shift(1).over("article_id")
        free = pending.filter(prev_last.is_null() | (prev_last < pl.col("i")))
        accepted.append(free)
        covered = free.select(pl.int_ranges("i", pl.col("_last") + 1).alias("p")).explode("p")["p"]
        pending = pending.join(free.select("i"), on="i", how="anti").filter(
            ~pl.int_ranges("i", pl.col("_last") + 1)
            .list.eval(pl.element().is_in(covered.implode()))
            .list.any()
        )
    return pl.concat(accepted).drop("_neg_n", "_last").sort("i")


def short_forms(found: pl.DataFrame, gaz: Gazetteer) -> pl.DataFrame:
    """Per article: full names and short forms of its people, keyed like gazetteer entries.

    ``found``: ``article_id``, ``entity_type``, ``canonical``. Returns ``article_id``, ``canonical``,
    ``key``, ``n``, ``first``; a short form two people of one article share is left out.
    """
    people = found.filter(pl.col("entity_type") == "PER").select("article_id", "canonical").unique()
    if people.is_empty():
        return pl.DataFrame(
            schema={
                "article_id": pl.String,
                "key": pl.String,
                "n": pl.Int32,
                "first": pl.String,
                "canonical": pl.String,
            }
        )
    keyed = phrase_keys(people, "canonical").with_columns(pl.col("key").str.split(" ").alias("_t"))
    last = pl.col("_t").list.last()
    last_two = pl.col("_t").list.slice(-2, 2).list.join(" ")
    before_last = pl.col("_t").list.get(-2, null_on_oob=True)
    joined_name = before_last.is_in(gaz.roles.filter(pl.col("kind") == "connector")["key"].implode())
    forms = pl.concat(
        [
            keyed.select("article_id", "canonical", "key", pl.lit(True).alias("_own")),
            keyed.filter(
                (pl.col("n") >= 2)
                & ~joined_name
                & ~last.is_in(gaz.stopwords.implode())
                & (last.str.len_chars() >= 3)
                & (last != "الله")
            ).select("article_id", "canonical", last.alias("key"), pl.lit(False).alias("_own")),
            keyed.filter(
                ((pl.col("n") >= 3) | ((pl.col("n") == 2) & joined_name)) & (before_last != "عبد")
            ).select("article_id", "canonical", last_two.alias("key"), pl.lit(False).alias("_own")),
        ]
    ).unique()
    # A name that is itself the short form of a longer name of the article (جابري أنصاري beside
    # حسين جابري أنصاري) names the longer one.
    shorter = pl.col("_own") & (~pl.col("_own")).any().over("article_id", "key")
    forms = forms.filter(~shorter).drop("_own")
    # A short form two people of the article share names neither.
    forms = forms.filter(pl.col("canonical").n_unique().over("article_id", "key") == 1)
    return forms.with_columns(
        pl.col("key").str.split(" ").list.len().cast(pl.Int32).alias("n"),
        pl.col("key").str.split(" ").list.first().alias("first"),
    )


def _no_mentions() -> pl.DataFrame:
    return pl.DataFrame(schema=MENTION_SCHEMA)


def entity_ids(entity_type: pl.Series, canonical: pl.Series) -> pl.Series:
    """Stable 16-hex ids of (type, canonical name).

    polars' own hash may change between versions, so SHA-256 is used, in Python over the
    distinct pairs only (a few thousand per batch).
    """
    pairs = pl.DataFrame({"t": entity_type, "c": canonical}).with_columns(match_key(pl.col("c")).alias("k"))
    distinct = pairs.select("t", "k").unique()
    ids = [
        hashlib.sha256(f"{t}\x1f{k}".encode()).hexdigest()[:16]
        for t, k in zip(distinct["t"].to_list(), distinct["k"].to_list(), strict=True)
    ]
    table = distinct.with_columns(pl.Series("id", ids, dtype=pl.String))
    return pairs.join(table, on=["t", "k"], how="left", maintain_order="left")["id"]


def extract_mentions(articles: pl.DataFrame, config: EntityConfig = EntityConfig()) -> pl.DataFrame:
    """One row per entity mention in ``articles`` (``article_id``, ``body``).

    Columns: ``article_id``, ``entity_id``, ``entity_type``, ``surface`` (exactly
    ``body[start_char:end_char]``), ``start_char``, ``end_char``, ``canonical_name``.
    """
    gaz = load_gazetteer(config.gazetteer_dir)
    articles = articles.select(pl.col("article_id").cast(pl.String), pl.col("body"))
    seq = _sequence(articles)
    if seq.is_empty():
        return _no_mentions()
    width = max(config.max_ngram, config.max_name_tokens)
    following = _following(seq, width)
    variants = _variants(seq, gaz.protected)
    listed = _lookup(variants, seq, following, gaz.aliases, config.max_ngram).with_columns(
        pl.col("n").cast(pl.Int32), pl.lit("").alias("prefix")
    )
    parts = [listed, _patterns(seq, variants, gaz)]
    if config.person_heuristics:
        # A listed person is not lengthened by the heuristic (ماكرون للنهوض ...).
        listed_people = listed.filter(pl.col("entity_type") == "PER").select("i")
        parts.append(_people(seq, variants, following, gaz, config).join(listed_people, on="i", how="anti"))
    candidates = pl.concat([p.select(_CANDIDATE_COLUMNS) for p in parts], how="vertical_relaxed")
    found = _with_canonical(_resolve(candidates), articles)
    if config.resolve_short_forms:
        forms = short_forms(found, gaz)
        if forms.height:
            extra = (
                _lookup(variants, seq, following, forms, config.max_ngram, on=("article_id",))
                .with_columns(
                    pl.lit("PER").alias("entity_type"),
                    pl.lit(_SHORT).alias("priority"),
                    pl.lit("").alias("prefix"),
                )
                .select(_CANDIDATE_COLUMNS)
            )
            kept = found.select(_CANDIDATE_COLUMNS)
            found = _with_canonical(_resolve(pl.concat([kept, extra], how="vertical_relaxed")), articles)
    found = found.filter(pl.col("entity_type").is_in(config.types))
    if found.is_empty():
        return _no_mentions()
    return found.select(
        "article_id",
        entity_ids(found["entity_type"], found["canonical"]).alias("entity_id"),
        "entity_type",
        "surface",
        "start_char",
        "end_char",
        pl.col("canonical").alias("canonical_name"),
    ).sort("article_id", "start_char")


def _with_canonical(found: pl.DataFrame, articles: pl.DataFrame) -> pl.DataFrame:
    """Add ``surface`` from the body; candidates without a listed name are named by their surface."""
    out = found.join(articles, on="article_id", how="left").with_columns(
        pl.col("body")
        .str.slice(pl.col("start_char"), pl.col("end_char") - pl.col("start_char"))
        .alias("surface")
    )
    return out.with_columns(
        pl.col("canonical")
        .fill_null(
            pl.col("prefix").fill_null("")
            + pl.col("surface")
            .str.replace_all(_QUOTE_CHARS, "")
            .str.replace_all(r"\s+", " ")
            .str.strip_chars()
        )
        .alias("canonical")
    ).drop("body")


def entities_from_mentions(mentions: pl.DataFrame) -> pl.DataFrame:
    """One row per entity: the most frequent canonical spelling, and how often it is mentioned."""
    if mentions.is_empty():
        return pl.DataFrame(schema=ENTITY_SCHEMA)
    names = (
        mentions.group_by("entity_id", "canonical_name")
        .len()
        .sort("entity_id", "len", "canonical_name", descending=[False, True, False])
        .unique("entity_id", keep="first")
        .select("entity_id", "canonical_name")
    )
    counts = mentions.group_by("entity_id").agg(
        pl.col("entity_type").first(),
        pl.col("article_id").n_unique().cast(pl.UInt32).alias("article_count"),
        pl.len().cast(pl.UInt32).alias("mention_count"),
    )
    return names.join(counts, on="entity_id").select(list(ENTITY_SCHEMA)).sort("entity_id")
