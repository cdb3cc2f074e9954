"""The corpus check: the 200 most frequent canonical entities reviewed by rule, before and after.

    python -m tests.bench entities              # what `make bench` prints
    python -m tests.bench_entities --files 3000 --top 200

News-corpus files (every n-th, as ``tests/bench_ner.py`` samples them) are parsed and run through
the enrich step's mention extraction twice: with the resolution fixes off (``BEFORE``: what the step
did before hashtag markup, leftover proclitics, nationality adjectives, currency words, lone
institution nouns and the extra short forms were handled) and with the defaults. Each set of
mentions is read as the warehouse reads it: ``before`` groups mentions by their own entity id (the
``entities`` view before ``entity_links``), ``after`` runs the warehouse's own ``entity_links`` and
``entities`` views (``warehouse/views.sql``) over them in an in-memory DuckDB. With
``AKHBAR_BENCH_WAREHOUSE=DIR``, that warehouse's ``entities`` view is reviewed too (``--files 0``:
only that).

The rules (``review``) flag what an analyst would call wrong at a glance; one entity may break
several. They are deliberately independent of the fixes (broader word lists, no gazetteer
derivation), so "after" counts what the fixes miss as well as what they got:

- ``clitic``: the first word keeps a proclitic (و ف ب ل ك, لل) and what is left, with ل + ال's alef
  restored, is another entity of the same type or a listed name (لبي بي سي, لحريري);
- ``markup``: ``#`` or ``_`` in the name (#أردوغان, سعد_الحريري);
- ``nationality``: a place that is one definite nisba word and no listed place (السورية);
- ``unit``: a currency or unit word as the name or its head (دولار, الجنيه المصري, كيلومتر), other
  than an organisation's (ريال مدريد);
- ``short_form``: the name is the first or last words of a longer name of the same type named in
  more articles (كيم beside كيم جونغ أون, ريال beside ريال مدريد);
- ``type``: the same name (matching key) is another type in more articles (بيونغ يانغ as a person).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import polars as pl

from transforms.mentions import MentionConfig

RULES = ("clitic", "markup", "nationality", "unit", "short_form", "type")
BEFORE = MentionConfig(
    more_short_forms=False, strip_markup=False, strip_name_clitics=False, nationality_type="LOC",
    drop_currencies=False, drop_generic=False,
)  # fmt: skip
_PROCLITICS = ("وبال", "وال", "فال", "بال", "وب", "ول", "فب", "فل", "وك", "لل", "و", "ف", "ب", "ل", "ك")
_UNITS = (
    r"^(?:ال)?(?:دولار|يورو|جنيه|دينار|ريال|ليره|لير|درهم|روبل|يوان|ين|شيكل|فرنك|روبيه|بيزو|استرليني|"
    r"بيتكوين|كرونه|فلس|قرش|كيلومتر|كيلوغرام|كيلوجرام|كيلو|غرام|جرام|طن|برميل|ميل|متر|سنتيمتر|هكتار|"
    r"ميغاوات|ميجاوات|واط|فولت|بالمئه|بالمائه)(?:ا|ات|ان)?$"
)
_DEFINITE_NISBA = r"^ال\S{3,}(?:ي|يه|يون|يين)$"


def review(entities: pl.DataFrame, gazetteer_dir: str | None = None) -> pl.DataFrame:
    """``entities`` (``canonical_name``, ``entity_type``, ``article_count``) with one boolean column per rule.

    Every row is reviewed against all of ``entities`` (and the gazetteer's listed names), so give
    it the whole entity table and take the top rows afterwards.
    """
    from transforms.arabic import token_key
    from transforms.entities import GAZETTEER_DIR, load_gazetteer

    gaz = load_gazetteer(gazetteer_dir or str(GAZETTEER_DIR))
    listed = gaz.aliases.select("key", "entity_type")
    frame = entities.with_row_index("_r").with_columns(
        token_key(pl.col("canonical_name")).str.replace_all(r"[#_]", " ").str.replace_all(r"\s+", " ")
        .str.strip_chars().alias("_key")
    )  # fmt: skip
    known = pl.concat([listed, frame.select(pl.col("_key").alias("key"), "entity_type")]).unique()
    first = pl.col("_key").str.extract(r"^(\S+)", 1)
    rest = pl.col("_key").str.replace(r"^\S+", "")
    # clitic: every reading of the first word without a proclitic group, ل + ال's alef restored.
    readings = []
    for prefix in _PROCLITICS:
        stem = first.str.slice(len(prefix))
        cut = first.str.starts_with(prefix) & (stem.str.len_chars() >= 2)
        readings.append(frame.filter(cut).select("_r", "entity_type", (stem + rest).alias("key")))
        if prefix.endswith("ل") and not prefix.endswith("ال"):
            readings.append(frame.filter(cut).select("_r", "entity_type", ("ا" + stem + rest).alias("key")))
    stripped = pl.concat(readings).join(known, on=["key", "entity_type"], how="semi")
    whole_known = frame.join(listed, left_on=["_key", "entity_type"], right_on=["key", "entity_type"], how="semi")
    protected = gaz.first_names.implode()
    clitic = stripped.join(whole_known.select("_r"), on="_r", how="anti").join(
        frame.filter(first.is_in(protected)).select("_r"), on="_r", how="anti"
    )["_r"]
    # short_form: the name's words are a proper first or last run of a longer name's words.
    words = pl.col("_key").str.split(" ")
    longer = frame.filter(words.list.len() >= 2).select(
        "entity_type", pl.col("article_count").alias("_longer_articles"), words.alias("_w")
    )
    runs = []
    for k in range(1, 4):
        runs.append(longer.filter(pl.col("_w").list.len() > k).select(
            "entity_type", "_longer_articles", pl.col("_w").list.head(k).list.join(" ").alias("_key")))
        runs.append(longer.filter(pl.col("_w").list.len() > k).select(
            "entity_type", "_longer_articles", pl.col("_w").list.tail(k).list.join(" ").alias("_key")))
    runs = pl.concat(runs).group_by("entity_type", "_key").agg(pl.col("_longer_articles").max())
    short = frame.join(runs, on=["entity_type", "_key"]).filter(
        (pl.col("_longer_articles") > pl.col("article_count")) & (pl.col("_key").str.len_chars() >= 3)
    )["_r"]
    # type: the same key is another type in more articles.
    by_type = frame.group_by("_key", "entity_type").agg(pl.col("article_count").sum().alias("_n"))
    other = frame.join(by_type, on="_key").filter(
        (pl.col("entity_type_right") != pl.col("entity_type")) & (pl.col("_n") > pl.col("article_count"))
    )["_r"]
    places = listed.filter(pl.col("entity_type") == "LOC")["key"].implode()
    return frame.with_columns(
        pl.col("_r").is_in(clitic.implode()).alias("clitic"),
        pl.col("canonical_name").str.contains(r"[#_]").alias("markup"),
        (
            (pl.col("entity_type") == "LOC")
            & ~pl.col("_key").str.contains(" ")
            & pl.col("_key").str.contains(_DEFINITE_NISBA)
            & ~pl.col("_key").is_in(places)
        ).alias("nationality"),
        # An organisation named by a currency word is a club or a bank (ريال مدريد).
        (first.str.contains(_UNITS) & (pl.col("entity_type") != "ORG")).alias("unit"),
        pl.col("_r").is_in(short.implode()).alias("short_form"),
        pl.col("_r").is_in(other.implode()).alias("type"),
    ).drop("_r", "_key")


def top_flags(entities: pl.DataFrame, top: int) -> pl.DataFrame:
    """The ``top`` entities by articles (then mentions, name) with their rule flags and ``wrong``."""
    reviewed = review(entities)
    order = reviewed.sort(
        "article_count", "mention_count", "canonical_name", descending=[True, True, False]
    ).head(top)
    return order.with_columns(pl.any_horizontal(list(RULES)).alias("wrong"))


def warehouse_entities(mentions: pl.DataFrame) -> pl.DataFrame:
    """``entities`` as the warehouse's views compute it from these mentions (in-memory DuckDB)."""
    import duckdb

    from warehouse.ddl import macro_statements, view_statements

    con = duckdb.connect()
    try:
        for _, statement in macro_statements():
            con.execute(statement)
        con.register("entity_mentions", mentions)
        for name, statement in view_statements():
            if name in ("entity_links", "entities"):
                con.execute(statement)
        return con.execute("SELECT * FROM entities").pl()
    finally:
        con.close()


def own_entities(mentions: pl.DataFrame) -> pl.DataFrame:
    """``entities`` before ``entity_links``: every mention under its own entity id."""
    from transforms.entities import entities_from_mentions

    return entities_from_mentions(mentions)


def _report(label: str, flagged: pl.DataFrame) -> dict[str, int]:
    counts = {rule: int(flagged[rule].sum()) for rule in RULES}
    counts["wrong"] = int(flagged["wrong"].sum())
    print(f"{label:<28}" + "".join(f"{counts[r]:>12}" for r in (*RULES, "wrong")))
    return counts


def _examples(flagged: pl.DataFrame, per_rule: int = 6) -> None:
    for rule in RULES:
        names = flagged.filter(pl.col(rule)).head(per_rule)
        shown = ", ".join(f"{n} ({t} {a})" for n, t, a in names.select(
            "canonical_name", "entity_type", "article_count").iter_rows())
        print(f"  {rule:<12} {shown or '-'}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=3000, help="news-corpus files (every n-th); 0: none")
    ap.add_argument("--top", type=int, default=200, help="most frequent entities reviewed")
    args = ap.parse_args(argv if argv is not None else [])
    from tests.bench_ner import CORPUS, _articles
    from transforms.mentions import tag_mentions
    from transforms.ner import MODEL_DIR, Tagger

    print(f"{'':<28}" + "".join(f"{r:>12}" for r in (*RULES, "wrong")))
    given = os.environ.get("AKHBAR_BENCH_WAREHOUSE")
    if given:
        from warehouse.store import open_reader

        con = open_reader(Path(given))
        try:
            stored = con.execute("SELECT * FROM entities").pl()
        finally:
            con.close()
        _report(f"warehouse (top {args.top})", top_flags(stored, args.top))
    if args.files <= 0:
        return
    if not CORPUS.exists() or not (MODEL_DIR / "config.json").exists():
        print(f"skipped: needs the news corpus at {CORPUS} and the committed NER model")
        return
    started = time.perf_counter()
    articles = _articles(args.files)
    tagger = Tagger.load()
    before = tag_mentions(articles, tagger, BEFORE)
    after = tag_mentions(articles, tagger)
    print(f"({articles.height:,} corpus articles, tagged twice in {time.perf_counter() - started:.0f} s)")
    _report(f"before (top {args.top})", top_flags(own_entities(before), args.top))
    flagged = top_flags(warehouse_entities(after), args.top)
    _report(f"after (top {args.top})", flagged)
    print("still flagged after, most frequent first:")
    _examples(flagged)


if __name__ == "__main__":
    main(sys.argv[1:])
