-- Migration 1: the tables of the first release (akhbar c77ee5c), frozen here as they were then.
-- A warehouse made by that release holds them already: IF NOT EXISTS makes this a no-op there, so
-- it is recognised and recorded as at version 1. Never edit an applied migration; add a new one.

CREATE TABLE IF NOT EXISTS articles (
    "article_id"               VARCHAR,
    "source_path"              VARCHAR,
    "source_doc_id"            VARCHAR,
    "title"                    VARCHAR,
    "section"                  VARCHAR,
    "byline"                   VARCHAR,
    "publisher"                VARCHAR,
    "url"                      VARCHAR,
    "published_at"             TIMESTAMP WITH TIME ZONE,
    "abstract"                 VARCHAR,
    "body"                     VARCHAR,
    "format"                   VARCHAR,
    "encoding"                 VARCHAR,
    "read_note"                VARCHAR,
    "lang"                     VARCHAR,
    "lang_score"               DOUBLE,
    "char_count"               INTEGER,
    "word_count"               INTEGER,
    "sentence_count"           INTEGER,
    "paragraph_count"          INTEGER,
    "repeated_paragraph_count" INTEGER,
    "boilerplate_removed"      INTEGER,
    "arabic_ratio"             DOUBLE,
    "content_hash"             VARCHAR,
    "sha256"                   VARCHAR,
    "run_id"                   VARCHAR,
    "ingested_at"              TIMESTAMP WITH TIME ZONE
);

CREATE TABLE IF NOT EXISTS entity_mentions (
    "article_id"     VARCHAR,
    "entity_id"      VARCHAR,
    "entity_type"    VARCHAR,
    "surface"        VARCHAR,
    "start_char"     INTEGER,
    "end_char"       INTEGER,
    "canonical_name" VARCHAR,
    "run_id"         VARCHAR
);

CREATE TABLE IF NOT EXISTS duplicates (
    "source_path"   VARCHAR,
    "duplicate_of"  VARCHAR,
    "kind"          VARCHAR,
    "similarity"    DOUBLE,
    "run_id"        VARCHAR,
    "sha256"        VARCHAR,
    "source_doc_id" VARCHAR,
    "title"         VARCHAR,
    "section"       VARCHAR,
    "publisher"     VARCHAR,
    "url"           VARCHAR,
    "published_at"  TIMESTAMP WITH TIME ZONE
);

CREATE TABLE IF NOT EXISTS ledger_history (
    "source_path" VARCHAR,
    "sha256"      VARCHAR,
    "size_bytes"  BIGINT,
    "mtime_ns"    BIGINT,
    "status"      VARCHAR,
    "reason"      VARCHAR,
    "article_id"  VARCHAR,
    "run_id"      VARCHAR,
    "recorded_at" TIMESTAMP WITH TIME ZONE
);

CREATE TABLE IF NOT EXISTS runs (
    "run_id"            VARCHAR,
    "started_at"        TIMESTAMP WITH TIME ZONE,
    "finished_at"       TIMESTAMP WITH TIME ZONE,
    "status"            VARCHAR,
    "reason"            VARCHAR,
    "input_dir"         VARCHAR,
    "files_seen"        INTEGER,
    "files_unchanged"   INTEGER,
    "files_deferred"    INTEGER,
    "files_loaded"      INTEGER,
    "files_duplicate"   INTEGER,
    "files_quarantined" INTEGER,
    "files_rejected"    INTEGER,
    "articles_loaded"   INTEGER,
    "mentions_loaded"   INTEGER
);

CREATE TABLE IF NOT EXISTS validation_results (
    "run_id"           VARCHAR,
    "suite"            VARCHAR,
    "expectation"      VARCHAR,
    "column"           VARCHAR,
    "success"          BOOLEAN,
    "unexpected_count" BIGINT,
    "severity"         VARCHAR,
    "scope"            VARCHAR,
    "example_values"   VARCHAR,
    "details"          VARCHAR
);

CREATE TABLE IF NOT EXISTS quarantine (
    "run_id"        VARCHAR,
    "source_path"   VARCHAR,
    "reason"        VARCHAR,
    "sha256"        VARCHAR,
    "article_id"    VARCHAR,
    "format"        VARCHAR,
    "source_doc_id" VARCHAR,
    "title"         VARCHAR,
    "section"       VARCHAR,
    "byline"        VARCHAR,
    "publisher"     VARCHAR,
    "url"           VARCHAR,
    "published_at"  TIMESTAMP WITH TIME ZONE,
    "body"          VARCHAR,
    "lang"          VARCHAR,
    "char_count"    INTEGER,
    "word_count"    INTEGER,
    "arabic_ratio"  DOUBLE
);

CREATE TABLE IF NOT EXISTS article_minhash (
    "article_id"  VARCHAR,
    "source_path" VARCHAR,
    "band_index"  SMALLINT,
    "band_hash"   BIGINT,
    "scheme"      VARCHAR
);

CREATE TABLE IF NOT EXISTS boilerplate_lines (
    "publisher"           VARCHAR,
    "line_key"            VARCHAR,
    "line"                VARCHAR,
    "word_count"          INTEGER,
    "article_count"       BIGINT,
    "article_keys"        BIGINT[],
    "example_source_path" VARCHAR,
    "boilerplate"         BOOLEAN
);
