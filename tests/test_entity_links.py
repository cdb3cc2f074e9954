"""Short forms across the corpus: the warehouse's entity_links view and the entity views over it.

The views run as the warehouse defines them (``warehouse/views.sql`` with its macros) over mentions
registered in an in-memory DuckDB, so the rules are tested without building a warehouse; the seeds
and desk tests run the same views inside a DuckLake warehouse.
"""

from __future__ import annotations

import duckdb
import polars as pl
import pytest

from transforms.entities import entity_ids
from transforms.schema import MENTION_SCHEMA
from warehouse.ddl import macro_statements, view_statements

ENTITY_VIEWS = ("entity_links", "entities", "entity_aliases", "entity_cooccurrence")


def _mentions(named: list[tuple[str, str, list[int]]]) -> pl.DataFrame:
    """One mention per (type, name, article number) triple; the surface is the name."""
    rows = [(f"a{n:02d}", t, name) for t, name, articles in named for n in articles]
    frame = pl.DataFrame(rows, schema=["article_id", "entity_type", "canonical_name"], orient="row")
    frame = frame.with_columns(
        entity_ids(frame["entity_type"], frame["canonical_name"]).alias("entity_id"),
        pl.col("canonical_name").alias("surface"),
        pl.lit(0, dtype=pl.Int64).alias("start_char"),
        pl.col("canonical_name").str.len_chars().cast(pl.Int64).alias("end_char"),
    )
    return frame.select(list(MENTION_SCHEMA))


@pytest.fixture
def views():
    def run(mentions: pl.DataFrame) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect()
        for _, statement in macro_statements():
            con.execute(statement)
        con.register("entity_mentions", mentions)
        for name, statement in view_statements():
            if name in ENTITY_VIEWS:
                con.execute(statement)
        return con

    return run


CORPUS = [
    ("PER", "كيم جونغ أون", [1, 2, 3, 4, 5]),
    ("PER", "كيم جونج أون", [6]),  # another spelling of the same name
    ("PER", "كيم يو جونغ", [6]),
    ("PER", "كيم", [7, 8, 9]),  # articles that never give the full name
    ("PER", "حسن روحاني", [10, 11, 12]),
    ("PER", "حسن نصر الله", [13, 14, 15]),
    ("PER", "حسن", [16, 17]),  # two full names share it: no link
    ("PER", "أبو بكر البغدادي", [18, 19, 20]),
    ("PER", "أبو", [21]),  # a connector is no short form
    ("PER", "شينزو آبي", [46, 47, 48]),
    ("PER", "أبي", [49]),
    ("PER", "الكولومبي خاميس رودريغيز", [22, 23, 24]),
    ("PER", "خاميس رودريغيز", [25, 26, 27, 28]),  # a two-word form named more often than the longer one
    ("PER", "ليونيل ميسي", [29, 30]),
    ("PER", "ميسي", [31]),  # the full name is in fewer than 3 articles
    ("ORG", "ريال مدريد", [33, 34, 35, 36]),
    ("ORG", "ريال بيتيس", [37]),
    ("ORG", "ريال", [38]),
    ("ORG", "نادي تشيلسي", [39, 40, 41]),
    ("ORG", "تشيلسي", [42, 43, 44, 45]),  # named more often than the longer name: no link
    ("LOC", "كوريا الشمالية", [1, 2, 3]),
    ("LOC", "كوريا", [32]),  # places are not linked
]


def _by_name(con: duckdb.DuckDBPyConnection, relation: str) -> dict[str, tuple]:
    rows = con.execute(f"SELECT canonical_name, * EXCLUDE (canonical_name) FROM {relation}").fetchall()
    return {row[0]: row[1:] for row in rows}


def test_a_short_form_stands_for_the_full_name_that_dominates_it(views) -> None:
    mentions = _mentions(CORPUS)
    con = views(mentions)
    links = con.execute(
        "SELECT l.canonical_name, r.canonical_name, l.resolved_share FROM entity_links l "
        "JOIN entity_links r ON r.entity_id = l.resolved_entity_id"
    ).fetchall()
    resolved = {short: (full, share) for short, full, share in links}
    assert resolved["كيم"] == ("كيم جونغ أون", pytest.approx(6 / 7))  # its spellings hold 6 of 7 articles
    assert resolved["ريال"] == ("ريال مدريد", pytest.approx(4 / 5))
    linked = {short for short, (full, _) in resolved.items() if short != full}
    assert linked == {"كيم", "ريال"}
    assert all(share is None for short, (_, share) in resolved.items() if short not in linked)
    # Every stored id has its row; the entities count كيم's mentions under the full name.
    assert con.execute("SELECT count(*) FROM entity_links").fetchone()[0] == mentions["entity_id"].n_unique()
    entities = _by_name(con, "entities")
    assert "كيم" not in entities
    kim = entities["كيم جونغ أون"]
    assert kim[0] == entity_ids(pl.Series(["PER"]), pl.Series(["كيم جونغ أون"]))[0]
    assert kim[2:] == (8, 8)  # article_count, mention_count
    assert con.execute("SELECT sum(mention_count) FROM entities").fetchone()[0] == mentions.height
    aliases = con.execute(
        "SELECT alias FROM entity_aliases WHERE entity_id = ? ORDER BY alias", [kim[0]]
    ).fetchall()
    assert aliases == [("كيم",), ("كيم جونغ أون",)]
    # Co-mentions name the resolved entity: كيم in article 7 is counted with nobody, and the full
    # name is counted once per article with North Korea.
    pairs = con.execute(
        "SELECT other_canonical_name, article_count FROM entity_cooccurrence WHERE canonical_name = 'كيم جونغ أون'"
    ).fetchall()
    assert pairs == [("كوريا الشمالية", 3)]


def test_a_leading_name_five_times_the_next_group_is_enough(views) -> None:
    # The spellings of كيم جونغ أون hold 12 of 20 articles, under three quarters, but no other
    # group of spellings holds more than 2: كيم stands for him. With a rival group of 3 (more than
    # a fifth of 12), كيم stands for itself.
    kims = ["كيم يو جونغ", "كيم يونغ شول", "كيم هاك سونغ", "كيم كي غوان"]
    others = [("PER", name, [30 + i, 40 + i]) for i, name in enumerate(kims)]
    base = [("PER", "كيم جونغ أون", list(range(1, 11))), ("PER", "كيم جونج أون", [11, 12]), ("PER", "كيم", [20])]
    assert "كيم" not in _by_name(views(_mentions(base + others)), "entities")
    rival = [("PER", "كيم يو جونغ", [30, 31, 32]), *others[1:]]
    assert "كيم" in _by_name(views(_mentions(base + rival)), "entities")


def test_links_follow_the_corpus_as_it_grows(views) -> None:
    # With fewer full-name articles than the threshold, كيم stands for itself; two more make the link.
    small = [("PER", "كيم جونغ أون", [1, 2]), ("PER", "كيم", [3])]
    assert "كيم" in _by_name(views(_mentions(small)), "entities")
    grown = [("PER", "كيم جونغ أون", [1, 2, 4, 5]), ("PER", "كيم", [3])]
    entities = _by_name(views(_mentions(grown)), "entities")
    assert "كيم" not in entities and entities["كيم جونغ أون"][2] == 5
