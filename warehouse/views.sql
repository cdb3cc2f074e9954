-- akhbar warehouse views. The tables are declared in transforms/schema.py and created by
-- warehouse/ddl.py; these views are applied after them on every writer start.

CREATE OR REPLACE VIEW ingest_ledger AS
SELECT source_path, sha256, size_bytes, mtime_ns, status, reason, article_id, run_id, recorded_at,
       story_count, stories_loaded, story_summary
FROM ledger_history
QUALIFY row_number() OVER (PARTITION BY source_path ORDER BY recorded_at DESC) = 1;

CREATE OR REPLACE VIEW boilerplate_lines AS
SELECT publisher, line_key, line, word_count, article_count, article_keys, example_source_path, boilerplate
FROM boilerplate_line_history
QUALIFY row_number() OVER (PARTITION BY publisher, line_key ORDER BY revision DESC) = 1;

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

-- Entities named together: every ordered pair of different entities sharing an article. The names
-- join before the pairs are formed, so a filter on canonical_name reaches the scan (under a second).
CREATE OR REPLACE VIEW entity_cooccurrence AS
WITH per_article AS (
    SELECT DISTINCT m.article_id, m.entity_id, e.canonical_name, e.entity_type
    FROM entity_mentions m JOIN entities e USING (entity_id)
)
SELECT a.entity_id, a.canonical_name, a.entity_type,
       b.entity_id AS other_entity_id, b.canonical_name AS other_canonical_name, b.entity_type AS other_entity_type,
       count(*) AS article_count, list(a.article_id ORDER BY a.article_id) AS article_ids
FROM per_article a JOIN per_article b ON a.article_id = b.article_id AND a.entity_id <> b.entity_id
GROUP BY ALL;

-- Mentions and articles per entity and publication day (UTC).
CREATE OR REPLACE VIEW entity_daily AS
WITH daily AS (
    SELECT m.entity_id, (a.published_at AT TIME ZONE 'UTC')::DATE AS day,
           count(*) AS mention_count, count(DISTINCT m.article_id) AS article_count
    FROM entity_mentions m JOIN articles a USING (article_id)
    GROUP BY ALL
)
SELECT d.entity_id, e.canonical_name, e.entity_type, d.day, d.mention_count, d.article_count
FROM daily d JOIN entities e USING (entity_id);

-- A story carried more than once: the canonical article with its copies and every outlet.
CREATE OR REPLACE VIEW stories AS
WITH copies AS (
    SELECT duplicate_of AS article_id, count(*) AS copy_count,
           count(*) FILTER (WHERE kind = 'near') AS near_copy_count,
           list(publisher) FILTER (WHERE publisher IS NOT NULL) AS copy_outlets,
           list(source_path ORDER BY source_path) AS copy_source_paths,
           min(published_at) AS first_copy_at
    FROM duplicates
    GROUP BY duplicate_of
),
outlets AS (
    SELECT c.article_id, list_sort(list_distinct(list_concat(c.copy_outlets, list_value(a.publisher)))) AS outlets
    FROM copies c JOIN articles a USING (article_id)
)
SELECT a.article_id, a.title, a.publisher, a.published_at, c.copy_count, c.near_copy_count,
       len(o.outlets) AS outlet_count, o.outlets, c.copy_source_paths,
       CASE WHEN a.published_at IS NULL THEN c.first_copy_at
            ELSE least(a.published_at, coalesce(c.first_copy_at, a.published_at)) END AS first_published_at
FROM copies c JOIN articles a USING (article_id) JOIN outlets o USING (article_id);

-- Who each publisher names: entities per publisher of the loaded articles.
CREATE OR REPLACE VIEW entities_by_publisher AS
WITH counts AS (
    SELECT a.publisher, m.entity_id, count(DISTINCT m.article_id) AS article_count, count(*) AS mention_count
    FROM entity_mentions m JOIN articles a USING (article_id)
    GROUP BY ALL
)
SELECT c.publisher, c.entity_id, e.canonical_name, e.entity_type, c.article_count, c.mention_count
FROM counts c JOIN entities e USING (entity_id);
