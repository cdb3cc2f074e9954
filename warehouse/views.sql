-- akhbar warehouse views. The tables are declared in transforms/schema.py and created by
-- warehouse/ddl.py; these views are applied after them on every writer start.

CREATE OR REPLACE VIEW ingest_ledger AS
SELECT source_path, sha256, size_bytes, mtime_ns, status, reason, article_id, run_id, recorded_at,
       story_count, stories_loaded, story_summary
FROM ledger_history
QUALIFY row_number() OVER (PARTITION BY source_path ORDER BY recorded_at DESC) = 1;

CREATE OR REPLACE VIEW entities AS
WITH names AS (
    SELECT entity_id, entity_type, canonical_name, article_id, count(*) OVER (PARTITION BY entity_id, canonical_name) AS name_uses
    FROM entity_mentions
)
SELECT
    entity_id,
    -- the spelling used most often; ties broken alphabetically so the answer is stable
    first(canonical_name ORDER BY name_uses DESC, canonical_name) AS canonical_name,
    first(entity_type)                                            AS entity_type,
    count(DISTINCT article_id)                                    AS article_count,
    count(*)                                                      AS mention_count
FROM names
GROUP BY entity_id;

-- What was merged into each entity: every surface spelling with its counts.
CREATE OR REPLACE VIEW entity_aliases AS
SELECT
    entity_id,
    first(entity_type)         AS entity_type,
    surface                    AS alias,
    count(DISTINCT article_id) AS article_count,
    count(*)                   AS mention_count
FROM entity_mentions
GROUP BY entity_id, surface;
