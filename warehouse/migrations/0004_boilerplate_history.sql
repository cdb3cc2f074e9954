-- Migration 4: the learned boilerplate becomes append-only. Each run used to replace the rows of
-- `boilerplate_lines` that changed, and every replaced file stayed on disk for the snapshot retention
-- (a file with deletes is never merged): after a month of nights most of the warehouse's files were
-- old copies of that table. Runs now append the rows they learned or changed to
-- `boilerplate_line_history`, and `boilerplate_lines` becomes the view of the latest row per line
-- (warehouse/views.sql). The stored rows move over as revision 0. Not idempotent by itself: like every
-- migration it runs once, in the transaction that records it in `schema_migrations`.

CREATE TABLE IF NOT EXISTS boilerplate_line_history (
    "publisher"           VARCHAR,
    "line_key"            VARCHAR,
    "line"                VARCHAR,
    "word_count"          INTEGER,
    "article_count"       BIGINT,
    "article_keys"        BIGINT[],
    "example_source_path" VARCHAR,
    "boilerplate"         BOOLEAN,
    "revision"            BIGINT,
    "run_id"              VARCHAR,
    "recorded_at"         TIMESTAMP WITH TIME ZONE
);

INSERT INTO boilerplate_line_history
SELECT publisher, line_key, line, word_count, article_count, article_keys, example_source_path, boilerplate,
       0, NULL, NULL
FROM boilerplate_lines;

DROP TABLE boilerplate_lines;
