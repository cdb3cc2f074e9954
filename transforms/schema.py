"""Every warehouse table and every frame that crosses a step boundary, declared once.

A relation is its columns in order, each with a polars dtype and a one-line description. The
warehouse DDL (`warehouse/ddl.py`), the staging writer (`warehouse/staging.py`), the validation
suites' column lists and the tests derive from these declarations or are checked against them, so a
column added here reaches every one of them. Only polars is imported: every layer may depend on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

UTC_TIMESTAMP = pl.Datetime("us", "UTC")


@dataclass(frozen=True)
class Column:
    name: str
    dtype: pl.DataType
    description: str


@dataclass(frozen=True)
class Relation:
    """A table or a frame: ordered, typed, described columns."""

    name: str
    description: str
    columns: tuple[Column, ...]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def schema(self) -> dict[str, pl.DataType]:
        return {c.name: c.dtype for c in self.columns}

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"{self.name} has no column {name!r}")

    def empty(self) -> pl.DataFrame:
        return pl.DataFrame(schema=self.schema)

    def conform(self, frame: pl.DataFrame) -> pl.DataFrame:
        """``frame``'s columns of this relation, in order and with its dtypes (missing ones raise)."""
        return frame.select(pl.col(c.name).cast(c.dtype) for c in self.columns)


def _relation(name: str, description: str, *columns: tuple[str, pl.DataType, str]) -> Relation:
    return Relation(name, description, tuple(Column(n, t, d) for n, t, d in columns))


def _pick(relation: Relation, *names: str) -> tuple[tuple[str, pl.DataType, str], ...]:
    """Columns shared with another relation, with that relation's dtype and description."""
    return tuple((c.name, c.dtype, c.description) for c in (relation.column(n) for n in names))


# --- frames between steps ------------------------------------------------------------------------

CANDIDATES = _relation(
    "candidates", "discover -> read: new or changed files, or files refused without being opened",
    ("source_path", pl.String(), "relative to the input folder, '/'-separated"),
    ("size_bytes", pl.Int64(), "size when discovery looked (null when refused unopened)"),
    ("mtime_ns", pl.Int64(), "modification time when discovery looked, in nanoseconds"),
    ("status", pl.String(), "null while alive; else the terminal status (loaded, duplicate, quarantined, rejected)"),
    ("reason", pl.String(), "why the row got its status (null for loaded)"),
)

INPUT = _relation(
    "input", "read -> decode: one row per candidate file with its bytes; every later step keeps these columns",
    *_pick(CANDIDATES, "source_path", "size_bytes", "mtime_ns"),
    ("sha256", pl.String(), "of the input file's bytes"),
    ("raw", pl.Binary(), "the file's bytes (null when not read)"),
    *_pick(CANDIDATES, "status", "reason"),
)

PARSED = _relation(
    "parsed", "columns the parse step adds (null where unknown); a multi-story file gives one row per story",
    ("format", pl.String(), "'plain', 'trec', 'gigaword' or 'jsonl'"),
    ("story_index", pl.Int32(), "0-based position of the story in its file (0 for one-article formats; null "
     "when the file was refused before parsing)"),
    ("source_doc_id", pl.String(), "the document id the source gives (TREC DOCNO, Gigaword DOC id, JSON id, or "
     "the file name's id); for a story without one, '<source_path>#<position>'"),
    ("title", pl.String(), "headline"),
    ("section", pl.String(), "section line or TREC section"),
    ("byline", pl.String(), "author or agency line"),
    ("publisher", pl.String(), "publisher from the footer or the source"),
    ("url", pl.String(), "the article's address when the source gives one"),
    ("published_at", UTC_TIMESTAMP, "publication time, null when unknown"),
    ("abstract", pl.String(), "summary paragraph when the source gives one"),
    ("body", pl.String(), "clean text, paragraphs separated by '\\n'"),
)

FIRST_READS = _relation(
    "first_reads", "date order -> batch: where the ordering pass left what it read of each candidate",
    *_pick(CANDIDATES, "source_path"),
    ("part", pl.Int32(), "the spill part holding the file's parsed row; null when it has none (unchanged, deferred)"),
    ("offset", pl.Int64(), "the row's position in its part (parts are in processing order)"),
    ("unchanged", pl.Boolean(), "read, with the bytes the ledger knows: counted, not parsed"),
    ("rows", pl.Int64(), "how many parsed rows (stories) of the file follow ``offset`` in its part"),
)

KNOWN_KEYS = _relation(
    "known_keys", "warehouse and earlier batches -> exact dedup: content keys of stored articles",
    ("content_hash", pl.String(), "sha256 of the normalized body (exact-duplicate key)"),
    ("article_id", pl.String(), "16 hex: first half of sha256(normalized body)"),
    ("source_path", pl.String(), "relative to the input folder"),
)

BANDS = _relation(
    "bands", "near dedup <-> warehouse: MinHash-LSH band keys of canonical articles",
    *_pick(KNOWN_KEYS, "article_id", "source_path"),
    ("band_index", pl.Int16(), "which band of the signature"),
    ("band_hash", pl.Int64(), "64-bit hash of the band's rows"),
)

MENTIONS = _relation(
    "mentions", "enrich -> validate -> load: entity mentions with exact character offsets",
    ("article_id", pl.String(), "the article the mention is in"),
    ("entity_id", pl.String(), "the entity the mention refers to"),
    ("entity_type", pl.String(), "PER, ORG, LOC, MISC"),
    ("surface", pl.String(), "exactly body[start_char:end_char]"),
    ("start_char", pl.Int64(), "0-based offset of the first character in the body"),
    ("end_char", pl.Int64(), "offset after the last character (Python slicing)"),
    ("canonical_name", pl.String(), "the entity's name as this mention reads it"),
)

EXPECTATION_RESULTS = _relation(
    "expectation_results", "validate -> run summary: one row per expectation of one validated frame",
    ("suite", pl.String(), "the suite's name (the JSON file in expectations/suites)"),
    ("expectation", pl.String(), "the Great Expectations type, e.g. expect_column_values_to_be_in_set"),
    ("column", pl.String(), "null for table-level expectations; 'a,b' for column pairs"),
    ("name", pl.String(), "suite.type(column), as used in reasons and blocking failures"),
    ("success", pl.Boolean(), "whether the expectation held"),
    ("unexpected_count", pl.Int64(), "failing values; null when the expectation could not be evaluated"),
    ("severity", pl.String(), "error blocks the load, warning does not"),
    ("scope", pl.String(), "row: failing rows are quarantined; batch: the run fails"),
    ("example_values", pl.List(pl.String()), "up to five offending values"),
    ("details", pl.String(), "what failed, in words (null on success)"),
)

ROW_REASONS = _relation(
    "row_reasons", "validate -> quarantine: why a row of the validated frame fails",
    ("row_index", pl.Int64(), "position of the row in the validated frame"),
    ("reason", pl.String(), "the failed expectations' names and values, '; '-separated"),
)

# --- warehouse tables ----------------------------------------------------------------------------

RUN_ID = ("run_id", pl.String(), "the ingest run that wrote the row")

ARTICLES = _relation(
    "articles", "one row per distinct article",
    *_pick(KNOWN_KEYS, "article_id", "source_path"),
    *_pick(PARSED, "source_doc_id", "title", "section", "byline", "publisher", "url", "published_at", "abstract",
           "body", "format", "story_index"),
    ("encoding", pl.String(), "the input file's encoding as detected"),
    ("read_note", pl.String(), "what decoding noticed (no byte-order mark, a cut-off last character)"),
    ("lang", pl.String(), "language code of the body"),
    ("lang_score", pl.Float64(), "the language identifier's confidence"),
    ("char_count", pl.Int32(), "characters of the body"),
    ("word_count", pl.Int32(), "words of the body"),
    ("sentence_count", pl.Int32(), "sentences of the body"),
    ("paragraph_count", pl.Int32(), "non-empty paragraphs of the body"),
    ("repeated_paragraph_count", pl.Int32(), "paragraphs dropped because they repeat an earlier one verbatim"),
    ("boilerplate_removed", pl.Int32(), "paragraphs dropped as the publisher's learned boilerplate"),
    ("arabic_ratio", pl.Float64(), "share of the body's letters that are Arabic"),
    *_pick(KNOWN_KEYS, "content_hash"),
    *_pick(INPUT, "sha256"),
    RUN_ID,
    ("ingested_at", UTC_TIMESTAMP, "when the run that loaded the article started"),
)

ENTITY_MENTIONS = _relation(
    "entity_mentions", "one row per entity mention in a loaded article",
    *_pick(MENTIONS, "article_id", "entity_id", "entity_type", "surface"),
    ("start_char", pl.Int32(), MENTIONS.column("start_char").description),
    ("end_char", pl.Int32(), MENTIONS.column("end_char").description),
    *_pick(MENTIONS, "canonical_name"),
    RUN_ID,
)

DUPLICATES = _relation(
    "duplicates", "one row per input article not loaded because it duplicates another",
    *_pick(INPUT, "source_path"),
    ("duplicate_of", pl.String(), "articles.article_id"),
    ("kind", pl.String(), "'exact' or 'near'"),
    ("similarity", pl.Float64(), "1.0 for exact copies, the shingles' Jaccard for near ones"),
    RUN_ID,
    *_pick(INPUT, "sha256"),
    *_pick(PARSED, "source_doc_id", "title", "section", "publisher", "url", "published_at", "story_index"),
)

LEDGER_HISTORY = _relation(
    "ledger_history", "append-only history of what happened to each input file; ingest_ledger is its latest row",
    *_pick(INPUT, "source_path", "sha256", "size_bytes", "mtime_ns"),
    ("status", pl.String(), "loaded, duplicate, quarantined, rejected"),
    ("reason", pl.String(), "why the file got its status (null for loaded)"),
    ("article_id", pl.String(), "the article loaded or duplicated (null otherwise); of a multi-story file, its "
     "first loaded story's (else its first duplicate story's)"),
    RUN_ID,
    ("recorded_at", UTC_TIMESTAMP, "when the run that decided the file started"),
    ("story_count", pl.Int32(), "stories the parse found in the file (1 for one-article formats; 0 when the file "
     "was refused before parsing)"),
    ("stories_loaded", pl.Int32(), "of them, loaded as articles"),
    ("story_summary", pl.String(), "multi-story formats only: stories by outcome and the first refusal (per story "
     "in story_ledger)"),
)

STORY_LEDGER = _relation(
    "story_ledger", "one row per story of each multi-story file (Gigaword, JSON Lines) as its latest run decided it; "
    "the file's own row is in ingest_ledger",
    *_pick(INPUT, "source_path"),
    *_pick(PARSED, "story_index", "source_doc_id"),
    ("status", pl.String(), "loaded, duplicate, quarantined, rejected"),
    ("reason", pl.String(), "why the story got its status (null for loaded)"),
    ("article_id", pl.String(), "the article loaded, or the one a duplicate story repeats (null otherwise)"),
    *_pick(INPUT, "sha256"),
    RUN_ID,
    ("recorded_at", UTC_TIMESTAMP, "when the run that decided the story started"),
)

RUNS = _relation(
    "runs", "one row per ingest run, completed or failed",
    RUN_ID,
    ("started_at", UTC_TIMESTAMP, "when the run started"),
    ("finished_at", UTC_TIMESTAMP, "when the run finished"),
    ("status", pl.String(), "completed, failed"),
    ("reason", pl.String(), "why a run failed"),
    ("input_dir", pl.String(), "the input folder, absolute"),
    ("files_seen", pl.Int32(), "every file found under the input folder"),
    ("files_unchanged", pl.Int32(), "already in the ledger with the same content"),
    ("files_deferred", pl.Int32(), "still being written: left for the next run, no ledger row"),
    ("files_ignored", pl.Int32(), "hidden, partial or temporary files and --exclude/.akhbarignore matches: "
     "never read, no ledger row (a skipped folder counts once)"),
    ("files_loaded", pl.Int32(), "files loaded as articles"),
    ("files_duplicate", pl.Int32(), "files found to duplicate a loaded article"),
    ("files_quarantined", pl.Int32(), "files whose rows failed a row-level expectation"),
    ("files_rejected", pl.Int32(), "files refused before parsing or by the parser"),
    ("articles_loaded", pl.Int32(), "rows added to articles"),
    ("mentions_loaded", pl.Int32(), "rows added to entity_mentions"),
)

VALIDATION_RESULTS = _relation(
    "validation_results", "one row per expectation per run",
    RUN_ID,
    *_pick(EXPECTATION_RESULTS, "suite", "expectation", "column", "success"),
    ("unexpected_count", pl.Int64(), "failing values over the whole run"),
    *_pick(EXPECTATION_RESULTS, "severity", "scope"),
    ("example_values", pl.String(), "up to five offending values, ' | '-separated"),
    *_pick(EXPECTATION_RESULTS, "details"),
)

QUARANTINE = _relation(
    "quarantine", "rows that failed a row-level expectation, as far as they were parsed",
    RUN_ID,
    *_pick(INPUT, "source_path"),
    ("reason", pl.String(), "the failed expectations"),
    *_pick(INPUT, "sha256"),
    *_pick(ARTICLES, "article_id", "format", "source_doc_id", "title", "section", "byline", "publisher", "url",
           "published_at", "body", "lang", "char_count", "word_count", "arabic_ratio", "story_index"),
)

ARTICLE_MINHASH = _relation(
    "article_minhash", "MinHash-LSH band keys of every loaded article, so a new batch finds near duplicates "
    "in the whole history with a join instead of a rescan",
    *_pick(BANDS, "article_id", "source_path", "band_index", "band_hash"),
    ("scheme", pl.String(), "names shingles, permutations and bands x rows"),
)

BOILERPLATE_LINES = _relation(
    "boilerplate_lines", "lines each publisher repeats across many different articles (footers, share buttons, "
    "'read also'); learned from every article seen: the latest row per line of boilerplate_line_history",
    ("publisher", pl.String(), "the publisher the line belongs to"),
    ("line_key", pl.String(), "hash of the paragraph's match_key without spaces: what is compared"),
    ("line", pl.String(), "the paragraph as shown in one of its articles; null while it is in only one"),
    ("word_count", pl.Int32(), "words of the line"),
    ("article_count", pl.Int64(), "distinct normalized bodies holding the line (see BoilerplateConfig)"),
    ("article_keys", pl.List(pl.Int64()), "the smallest body keys, ascending (a bottom-k sketch)"),
    ("example_source_path", pl.String(), "the article with the smallest body key"),
    ("boilerplate", pl.Boolean(), "dropped from bodies (learned under the config that built the table); "
     "the rest are candidates still counting up"),
)

BOILERPLATE_LINE_HISTORY = _relation(
    "boilerplate_line_history", "append-only history of the learned boilerplate: each run adds the lines it "
    "learned or whose counts changed; boilerplate_lines is the latest row per line",
    *_pick(BOILERPLATE_LINES, *BOILERPLATE_LINES.names),
    ("revision", pl.Int64(), "1 + the highest revision stored when the run committed (rows from before this "
     "table existed: 0); the latest row of a line has the highest"),
    RUN_ID,
    ("recorded_at", UTC_TIMESTAMP, "when the run that learned the row started"),
)

SCHEMA_MIGRATIONS = _relation(
    "schema_migrations", "one row per schema migration applied to this warehouse (warehouse/migrations/)",
    ("version", pl.Int32(), "the migration's number: migrations apply in this order, each once"),
    ("name", pl.String(), "what the migration does, from its file name"),
    ("applied_at", UTC_TIMESTAMP, "when this warehouse got it"),
)

SCHEMA_DERIVED = _relation(
    "schema_derived", "what the views and macros were last re-created from: a writer start with the same "
    "definitions changes nothing (no empty snapshot)",
    ("fingerprint", pl.String(), "SHA-256 of every derived statement, in order"),
    ("applied_at", UTC_TIMESTAMP, "when they were re-created"),
)

MAINTENANCE = _relation(
    "maintenance", "one row per maintenance pass (`akhbar maintain`, or the one a run does when it is due)",
    ("started_at", UTC_TIMESTAMP, "when the pass started"),
    ("finished_at", UTC_TIMESTAMP, "when the pass finished"),
    ("retain_days", pl.Int32(), "snapshots older than this many days were expired"),
    ("files_before", pl.Int32(), "Parquet data files in the folder before the pass"),
    ("files_after", pl.Int32(), "Parquet data files in the folder after the pass"),
    ("bytes_before", pl.Int64(), "their bytes before"),
    ("bytes_after", pl.Int64(), "their bytes after"),
    ("files_merged", pl.Int32(), "small files rewritten into larger ones"),
    ("snapshots_before", pl.Int32(), "catalog snapshots before the pass"),
    ("snapshots_expired", pl.Int32(), "snapshots expired (no longer reachable with --as-of)"),
    ("files_deleted", pl.Int32(), "unreferenced files deleted (only those unused for the grace period)"),
)

# In the order the warehouse creates them.
TABLES: tuple[Relation, ...] = (
    ARTICLES, ENTITY_MENTIONS, DUPLICATES, LEDGER_HISTORY, RUNS, VALIDATION_RESULTS, QUARANTINE, ARTICLE_MINHASH,
    BOILERPLATE_LINE_HISTORY, STORY_LEDGER, SCHEMA_MIGRATIONS, SCHEMA_DERIVED, MAINTENANCE,
)

# --- warehouse views (SQL in warehouse/views.sql; the warehouse checks each against these) -------

# The ledger as readers see it: the `ingest_ledger` view (the latest ledger_history row per file).
LEDGER = Relation("ingest_ledger", "the latest row per input file", LEDGER_HISTORY.columns)

_ENTITY = _pick(ENTITY_MENTIONS, "entity_id")
_ENTITY_NAME = ("canonical_name", pl.String(), "the spelling used most often (ties: alphabetical)")
_ENTITY_TYPE = ("entity_type", pl.String(), "PER, ORG, LOC, MISC")

ENTITY_LINKS = _relation(
    "entity_links", "one row per entity id in entity_mentions, with the entity it stands for across the corpus: "
    "a person's or organisation's short form (كيم, ريال) stands for the full name that dominates the full names "
    "it shortens, "
    "every other entity for itself; the entity views count by resolved_entity_id",
    *_ENTITY,
    ("canonical_name", pl.String(), "the spelling its own mentions use most often (ties: alphabetical)"),
    _ENTITY_TYPE,
    ("article_count", pl.Int64(), "distinct articles with its own mentions"),
    ("resolved_entity_id", pl.String(), "the entity it stands for (its own id unless it is a short form)"),
    ("resolved_share", pl.Float64(), "for a short form: the share of the articles naming a full name it "
     "shortens that name the chosen one or its spellings (at least 0.75, or 0.5 with five times the next "
     "group of spellings); null otherwise"),
)

ENTITIES = _relation(
    "entities", "one row per entity named in a loaded article, short forms counted under the full name they "
    "stand for (entity_links)",
    *_ENTITY, _ENTITY_NAME, _ENTITY_TYPE,
    ("article_count", pl.Int64(), "distinct articles naming the entity"),
    ("mention_count", pl.Int64(), "mentions of the entity in all articles"),
)

ENTITY_ALIASES = _relation(
    "entity_aliases", "one row per entity (as entity_links resolves it) and surface spelling merged into it",
    *_ENTITY, _ENTITY_TYPE,
    ("alias", pl.String(), "a surface form (exactly as written in a body) that refers to the entity"),
    ("article_count", pl.Int64(), "distinct articles with this spelling"),
    ("mention_count", pl.Int64(), "mentions with this spelling"),
)

ENTITY_COOCCURRENCE = _relation(
    "entity_cooccurrence", "one row per ordered pair of different entities named in the same articles (each "
    "pair appears twice, once from each side, so filtering on the first entity finds all its partners)",
    *_ENTITY, _ENTITY_NAME, _ENTITY_TYPE,
    ("other_entity_id", pl.String(), "the entity named with it"),
    ("other_canonical_name", pl.String(), "its canonical name"),
    ("other_entity_type", pl.String(), "its type"),
    ("article_count", pl.Int64(), "distinct articles naming both"),
    ("article_ids", pl.List(pl.String()), "those articles, ascending"),
)

ENTITY_DAILY = _relation(
    "entity_daily", "one row per entity and publication day (UTC) of the articles naming it; articles without "
    "a publication time count under a null day",
    *_ENTITY, _ENTITY_NAME, _ENTITY_TYPE,
    ("day", pl.Date(), "publication day in UTC (null when unknown)"),
    ("mention_count", pl.Int64(), "mentions that day"),
    ("article_count", pl.Int64(), "distinct articles naming the entity that day"),
)

STORIES = _relation(
    "stories", "one row per loaded article that other input articles repeat (exact or near copies, from "
    "duplicates): the canonical article, its copies and every outlet that carried it",
    *_pick(ARTICLES, "article_id", "title", "publisher", "published_at"),
    ("copy_count", pl.Int64(), "input articles not loaded because they repeat this one"),
    ("near_copy_count", pl.Int64(), "of those, near (not exact) copies"),
    ("outlet_count", pl.Int64(), "distinct known publishers of the article and its copies"),
    ("outlets", pl.List(pl.String()), "those publishers, ascending"),
    ("copy_source_paths", pl.List(pl.String()), "the copies' input files, ascending"),
    ("first_published_at", UTC_TIMESTAMP, "earliest publication time of the article and its copies"),
)

ENTITIES_BY_PUBLISHER = _relation(
    "entities_by_publisher", "one row per publisher and entity named in its loaded articles",
    *_pick(ARTICLES, "publisher"), *_ENTITY, _ENTITY_NAME, _ENTITY_TYPE,
    ("article_count", pl.Int64(), "the publisher's distinct articles naming the entity"),
    ("mention_count", pl.Int64(), "mentions in those articles"),
)

# In the order the warehouse creates them (a view may read an earlier one).
VIEWS: tuple[Relation, ...] = (
    LEDGER, BOILERPLATE_LINES, ENTITY_LINKS, ENTITIES, ENTITY_ALIASES, ENTITY_COOCCURRENCE, ENTITY_DAILY,
    STORIES, ENTITIES_BY_PUBLISHER,
)

# Dict forms for polars calls (``pl.DataFrame(schema=...)``, ``frame.cast(...)``).
INPUT_SCHEMA = INPUT.schema
PARSED_SCHEMA = PARSED.schema
MENTION_SCHEMA = MENTIONS.schema
BAND_SCHEMA = BANDS.schema
KNOWN_SCHEMA = KNOWN_KEYS.schema
BOILERPLATE_SCHEMA = BOILERPLATE_LINES.schema
