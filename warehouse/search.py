"""Arabic search over the articles: ranked by how often the query's words occur, with a snippet.

Each query word is folded with the stored macro ``ar_stem`` (the matching key without one leading
proclitic), so إيران, ايران and وإيران search the same stem. Bodies are matched as written, through
the stored macro ``ar_pattern``: every spelling the key folds together (alef forms, ya/alef
maqsura, ta marbuta, Arabic-Indic digits) with optional diacritics and tatweel after each letter,
and any leading proclitics. One regular-expression scan takes under a second over the whole
corpus, where folding every body with ``ar_norm`` first would take several seconds. The same
macros serve analysts in SQL (``ar_contains``, ``ar_count``). There is no full-text index:
DuckDB's fts extension (duckdb-extension-fts 1.5.5) fails to create its index in a DuckLake catalog
("unsupported type NULL" at commit), and would rebuild it whole after every commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

SNIPPET_CONTEXT = 60  # characters on each side of the first hit
TITLE_WEIGHT = 3  # a hit in the title counts as much as this many in the body


@dataclass(frozen=True)
class Hit:
    article_id: str
    title: str | None
    publisher: str | None
    published_at: datetime | None
    score: int
    snippet: tuple[str, str, str]  # before, the hit, after (the body's opening when only the title matched)


def term_patterns(con: duckdb.DuckDBPyConnection, query: str) -> list[str]:
    """One RE2 pattern per word of ``query`` (the stored macro ``ar_pattern``): its stem as written."""
    words = con.execute("SELECT string_split(ar_norm(?), ' ')", [query]).fetchone()[0]
    patterns: dict[str, str] = {}
    for word in filter(None, words):
        stem, pattern = con.execute("SELECT ar_stem(?), ar_pattern(?)", [word, word]).fetchone()
        patterns.setdefault(stem, pattern)
    return list(patterns.values())


def search(con: duckdb.DuckDBPyConnection, query: str, limit: int = 10, publisher: str | None = None,
           since: datetime | None = None) -> list[Hit]:
    """Articles naming every word of ``query``, best first (hits, title hits weighing more; then newest)."""
    patterns = term_patterns(con, query)
    if not patterns:
        return []
    scores = [f"{TITLE_WEIGHT} * len(regexp_extract_all(coalesce(title, ''), ?)) + len(regexp_extract_all(body, ?))"
              for _ in patterns]
    where = " AND ".join("(regexp_matches(body, ?) OR regexp_matches(coalesce(title, ''), ?))" for _ in patterns)
    pairs = [p for pattern in patterns for p in (pattern, pattern)]
    filters: list[object] = []
    if publisher is not None:
        where += " AND publisher = ?"
        filters.append(publisher)
    if since is not None:
        where += " AND published_at >= ?"
        filters.append(since)
    snippet = (f"regexp_extract(replace(body, chr(10), ' '), '(?s)(.{{0,{SNIPPET_CONTEXT}}}?)' || ? || "
               f"'(.{{0,{SNIPPET_CONTEXT}}})', ['before', 'boundary', 'hit', 'after'])")
    sql = (f"WITH matched AS (SELECT article_id, title, publisher, published_at, body FROM articles WHERE {where}), "
           f"scored AS (SELECT *, {' + '.join(scores)} AS score FROM matched) "
           f"SELECT article_id, title, publisher, published_at, score, {snippet} AS snippet, "
           f"replace(left(body, {2 * SNIPPET_CONTEXT}), chr(10), ' ') AS opening FROM scored "
           "ORDER BY score DESC, published_at DESC NULLS LAST, article_id LIMIT ?")
    params = [*pairs, *filters, *pairs, _snippet_pattern(patterns[0]), limit]
    rows = con.execute(sql, params).fetchall()
    return [Hit(r[0], r[1], r[2], r[3], r[4], _snippet(r[5]) or ("", "", r[6])) for r in rows]


def _snippet_pattern(pattern: str) -> str:
    # The word-start group is captured so the hit group holds exactly the matched word.
    return pattern.replace("(?:^|[^\\pL\\pN])(", "(^|[^\\pL\\pN])(", 1)


def _snippet(parts: dict[str, str] | None) -> tuple[str, str, str] | None:
    """(before, hit, after) of the first hit in the body; None when only the title matched."""
    if not parts or not parts.get("hit"):
        return None
    return parts["before"] + parts["boundary"], parts["hit"], parts["after"]
