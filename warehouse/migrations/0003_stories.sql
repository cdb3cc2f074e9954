-- Migration 3: multi-story files (Gigaword SGML, JSON Lines) and ignored files. Each story's position
-- in its file (`story_index`), the per-file story counts of the ledger, the `story_ledger` of
-- per-story outcomes, and the count of files a run ignored (hidden, partial, excluded).

ALTER TABLE articles ADD COLUMN IF NOT EXISTS "story_index" INTEGER;
ALTER TABLE duplicates ADD COLUMN IF NOT EXISTS "story_index" INTEGER;
ALTER TABLE quarantine ADD COLUMN IF NOT EXISTS "story_index" INTEGER;
ALTER TABLE ledger_history ADD COLUMN IF NOT EXISTS "story_count" INTEGER;
ALTER TABLE ledger_history ADD COLUMN IF NOT EXISTS "stories_loaded" INTEGER;
ALTER TABLE ledger_history ADD COLUMN IF NOT EXISTS "story_summary" VARCHAR;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS "files_ignored" INTEGER;

CREATE TABLE IF NOT EXISTS story_ledger (
    "source_path"   VARCHAR,
    "story_index"   INTEGER,
    "source_doc_id" VARCHAR,
    "status"        VARCHAR,
    "reason"        VARCHAR,
    "article_id"    VARCHAR,
    "sha256"        VARCHAR,
    "run_id"        VARCHAR,
    "recorded_at"   TIMESTAMP WITH TIME ZONE
);
