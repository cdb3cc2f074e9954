"""The one schema: the warehouse DDL, the staging writer and the validation suites agree with it."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import polars as pl
import pytest

from expectations.runner import expectation_columns, load_suite, suite_names
from flows.results import RunSummary
from transforms.pipeline import ARTICLE_COLUMNS, BatchTables
from transforms.schema import (
    ARTICLES,
    MAINTENANCE,
    MENTIONS,
    RUNS,
    SCHEMA_DERIVED,
    SCHEMA_MIGRATIONS,
    TABLES,
    VALIDATION_RESULTS,
    VIEWS,
    Relation,
)
from warehouse import ddl, store
from warehouse import staging as staged

# What each suite validates: the article rows about to load, and the mentions plus the offset check.
SUITE_COLUMNS = {"articles": ARTICLE_COLUMNS, "entity_mentions": [*MENTIONS.names, "offsets_match"]}


@pytest.fixture(scope="module")
def described(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple[str, str]]]:
    root = tmp_path_factory.mktemp("wh")
    store.open_writer(root).close()
    con = store.open_reader(root)
    try:
        names = [name for name, _ in ddl.schema_statements()] + [view.name for view in VIEWS]
        return {name: [(r[0], r[1]) for r in con.execute(f"DESCRIBE {name}").fetchall()] for name in names}
    finally:
        con.close()


@pytest.mark.parametrize("relation", TABLES, ids=lambda r: r.name)
def test_tables_are_created_from_the_schema(described, relation: Relation):
    """The migrations reach the declared columns and types. A column a later migration adds comes last
    in the warehouse (ALTER TABLE ADD COLUMN appends), wherever the declaration puts it."""
    declared = [(c.name, ddl.duckdb_type(c.dtype)) for c in relation.columns]
    assert sorted(described[relation.name]) == sorted(declared)


def test_tables_then_views_macros_and_comments():
    assert [name for name, _ in ddl.schema_statements()] == [t.name for t in TABLES]
    derived = [name for name, _ in ddl.derived_statements()]
    macros = [name for name, *_ in ddl.MACROS]
    assert derived[: len(macros) + len(VIEWS)] == macros + [v.name for v in VIEWS]


@pytest.mark.parametrize("view", VIEWS, ids=lambda r: r.name)
def test_views_have_the_declared_columns(described, view: Relation):
    assert described[view.name] == [(c.name, ddl.duckdb_type(c.dtype)) for c in view.columns]


def test_every_column_is_described():
    for relation in TABLES + VIEWS:
        assert relation.description.strip(), relation.name
        for column in relation.columns:
            assert column.description.strip(), f"{relation.name}.{column.name}"


def test_a_dtype_without_a_warehouse_type_is_refused():
    with pytest.raises(ValueError, match="no warehouse type"):
        ddl.duckdb_type(pl.UInt8())
    with pytest.raises(ValueError, match="UTC"):
        ddl.duckdb_type(pl.Datetime("us"))


@pytest.mark.parametrize("suite", suite_names())
def test_suites_name_only_columns_of_the_schema(suite: str):
    allowed = SUITE_COLUMNS[suite]
    for expectation in load_suite(suite)["expectations"]:
        named = expectation_columns(expectation) + list(expectation["kwargs"].get("column_set", []))
        assert set(named) <= set(allowed), f"{suite}.{expectation['type']}: {set(named) - set(allowed)}"


def test_articles_suite_checks_every_column_of_the_contract():
    checked = next(e for e in load_suite("articles")["expectations"]
                   if e["type"] == "expect_table_columns_to_match_set")["kwargs"]["column_set"]
    assert set(checked) <= set(ARTICLES.names)


def test_staging_writes_every_batch_table_in_its_schema(tmp_path: Path):
    by_name = {t.name: t for t in TABLES}
    # Extra working columns and looser dtypes (Int64 offsets) are conformed on the way out.
    frames = {
        name: relation.empty().with_columns(pl.lit(1).alias("extra")) for name, relation in by_name.items()
        if name in {f.name for f in fields(BatchTables)}
    }
    frames["entity_mentions"] = pl.DataFrame([{**dict.fromkeys(MENTIONS.names, "x"), "start_char": 0, "end_char": 1}],
                                             schema=MENTIONS.schema)
    frames["entity_mentions"] = frames["entity_mentions"].with_columns(pl.lit("r").alias("run_id"))
    frames["articles"] = pl.DataFrame({"article_id": ["a"]}).with_columns(
        pl.lit(None, dtype=c.dtype).alias(c.name) for c in ARTICLES.columns if c.name != "article_id"
    )
    staged.write_batch(tmp_path, BatchTables(**frames), 0)
    written = {p.parent.name: pl.read_parquet(p) for p in tmp_path.glob("*/*.parquet")}
    assert set(written) == {"articles", "entity_mentions"}  # empty tables write no file
    for name, frame in written.items():
        assert frame.schema == pl.Schema(by_name[name].schema), name


def test_staged_tables_are_every_table_but_runs_and_the_warehouse_own():
    own = {RUNS.name, SCHEMA_MIGRATIONS.name, SCHEMA_DERIVED.name, MAINTENANCE.name}
    # A versioned view is staged under its own name and committed into its history table.
    committed = {staged.VERSIONED_TABLES.get(name, name) for name in staged.STAGED_TABLES}
    assert committed == {t.name for t in TABLES} - own
    assert set(staged.VERSIONED_TABLES) <= {v.name for v in VIEWS}
    assert {f.name for f in fields(BatchTables)} <= set(staged.STAGED_TABLES)


def test_validation_results_are_staged_in_their_schema(tmp_path: Path):
    columns = [c for c in VALIDATION_RESULTS.columns if c.name != "run_id"]
    staged.write_validation(tmp_path, "r1", pl.DataFrame([dict.fromkeys((c.name for c in columns), None)],
                                                         schema={c.name: c.dtype for c in columns}))
    (path,) = tmp_path.glob("validation_results/*.parquet")
    assert pl.read_parquet(path).schema == pl.Schema(VALIDATION_RESULTS.schema)


def test_run_summary_carries_every_runs_column():
    assert set(RUNS.names) <= {f.name for f in fields(RunSummary)}
