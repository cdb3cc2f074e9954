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

-- How each stored entity reads across the corpus. A person or organisation named by a short form
-- (كيم, بومبيو, ريال: the first or last words of longer names of its type) stands for the full
-- name most articles name when that name and its other spellings (the full names ending, or for a
-- last-word form starting, with the same word: كيم جونغ أون, كيم جونج أون) hold at least three
-- quarters of the articles naming any of the full names, or at least half of them and five times
-- as many as the next group of spellings (كيم beside كيم يو جونغ, كيم يونغ شول and the other
-- Kims of the news), and it is named in at least 3 articles
-- and, unless the short form is one word of a person, in at least as many as the short form
-- (تشيلسي is not نادي تشيلسي's). A short form no full name dominates (حسن, محمد) and every other
-- entity stand for themselves. Read over every stored mention, so a link follows the corpus as it
-- grows, without rewriting stored mentions.
CREATE OR REPLACE VIEW entity_links AS
WITH uses AS (
    SELECT entity_id, entity_type, canonical_name, article_id,
           count(*) OVER (PARTITION BY entity_id, canonical_name) AS name_uses
    FROM entity_mentions
),
named AS (
    SELECT entity_id,
           first(canonical_name ORDER BY name_uses DESC, canonical_name) AS canonical_name,
           first(entity_type)                                            AS entity_type,
           count(DISTINCT article_id)                                    AS article_count
    FROM uses
    GROUP BY entity_id
),
names AS (
    SELECT entity_id, entity_type, article_count, key, string_split(key, ' ') AS words
    FROM (SELECT *, ar_norm(canonical_name) AS key FROM named WHERE entity_type IN ('PER', 'ORG'))
),
-- Every proper first run (side 0) and last run (side 1) of a longer name's words, with the word at
-- the name's other end; not cut at a connector (عبد الله is not الله's, أبو بكر not أبو's).
edges AS (
    SELECT DISTINCT entity_id AS full_id, entity_type, article_count AS full_articles,
           array_to_string(CASE WHEN side = 0 THEN words[1:k] ELSE words[k + 1:] END, ' ') AS key,
           CASE WHEN side = 0 THEN words[-1] ELSE words[1] END AS other_end
    FROM (SELECT *, unnest(generate_series(1, len(words) - 1)) AS k FROM names WHERE len(words) >= 2)
    CROSS JOIN (VALUES (0), (1)) AS sides(side)
    WHERE words[k] NOT IN ('عبد', 'عبدال', 'ابو', 'ابي', 'ابن', 'بن', 'بنت', 'ال', 'ولد')
),
candidates AS MATERIALIZED (
    SELECT s.entity_id, s.entity_type, s.article_count, len(s.words) AS short_words, e.full_id, e.full_articles,
           e.other_end,
           sum(e.full_articles) OVER (PARTITION BY s.entity_id, e.other_end) AS group_articles,
           sum(e.full_articles) OVER (PARTITION BY s.entity_id, e.other_end)
               / sum(e.full_articles) OVER (PARTITION BY s.entity_id) AS share,
           row_number() OVER (PARTITION BY s.entity_id ORDER BY e.full_articles DESC, e.full_id) AS rank
    FROM names s
    JOIN edges e ON e.key = s.key AND e.entity_type = s.entity_type AND e.full_id <> s.entity_id
    WHERE length(s.key) >= 3 AND s.key NOT IN ('الله', 'عبد', 'عبدال', 'ابو', 'ابي', 'ابن', 'بن', 'بنت', 'ولد')
),
-- The second largest group of spellings (a leading name with half the articles leads the largest).
runner_up AS (
    SELECT entity_id, coalesce(list_sort(list(group_articles), 'DESC')[2], 0) AS runner_up_articles
    FROM (SELECT DISTINCT entity_id, other_end, group_articles FROM candidates)
    GROUP BY entity_id
),
linked AS (
    SELECT entity_id, full_id, share FROM candidates JOIN runner_up USING (entity_id)
    WHERE rank = 1 AND full_articles >= 3
      AND (share >= 0.75 OR (share >= 0.5 AND group_articles >= 5 * runner_up_articles))
      AND ((entity_type = 'PER' AND short_words = 1) OR full_articles >= article_count)
)
SELECT n.entity_id, n.canonical_name, n.entity_type, n.article_count,
       -- one step further when the full name is itself a short form (جابري أنصاري -> حسين جابري أنصاري)
       coalesce(further.full_id, l.full_id, n.entity_id) AS resolved_entity_id,
       l.share                                          AS resolved_share
FROM named n
LEFT JOIN linked l USING (entity_id)
LEFT JOIN linked further ON further.entity_id = l.full_id;

-- One row per entity as entity_links resolves it: a short form's mentions count under the full
-- name it stands for, which keeps its own spelling (the one its own mentions use most; ties
-- alphabetical, so the answer is stable).
CREATE OR REPLACE VIEW entities AS
WITH resolved AS (
    SELECT l.resolved_entity_id AS entity_id, m.entity_id = l.resolved_entity_id AS own,
           m.entity_type, m.canonical_name, m.article_id
    FROM entity_mentions m JOIN entity_links l USING (entity_id)
),
names AS (
    SELECT *, count(*) OVER (PARTITION BY entity_id, own, canonical_name) AS name_uses
    FROM resolved
)
SELECT
    entity_id,
    first(canonical_name ORDER BY own DESC, name_uses DESC, canonical_name) AS canonical_name,
    first(entity_type)                                                      AS entity_type,
    count(DISTINCT article_id)                                              AS article_count,
    count(*)                                                                AS mention_count
FROM names
GROUP BY entity_id;

-- What was merged into each entity (as entity_links resolves it): every surface spelling with its counts.
CREATE OR REPLACE VIEW entity_aliases AS
SELECT
    l.resolved_entity_id         AS entity_id,
    first(m.entity_type)         AS entity_type,
    m.surface                    AS alias,
    count(DISTINCT m.article_id) AS article_count,
    count(*)                     AS mention_count
FROM entity_mentions m JOIN entity_links l USING (entity_id)
GROUP BY l.resolved_entity_id, m.surface;

-- Entities named together: every ordered pair of different entities sharing an article. The names
-- join before the pairs are formed, so a filter on canonical_name reaches the scan (under a second).
CREATE OR REPLACE VIEW entity_cooccurrence AS
WITH per_article AS (
    SELECT DISTINCT m.article_id, e.entity_id, e.canonical_name, e.entity_type
    FROM entity_mentions m JOIN entity_links l USING (entity_id) JOIN entities e ON e.entity_id = l.resolved_entity_id
)
SELECT a.entity_id, a.canonical_name, a.entity_type,
       b.entity_id AS other_entity_id, b.canonical_name AS other_canonical_name, b.entity_type AS other_entity_type,
       count(*) AS article_count, list(a.article_id ORDER BY a.article_id) AS article_ids
FROM per_article a JOIN per_article b ON a.article_id = b.article_id AND a.entity_id <> b.entity_id
GROUP BY ALL;

-- Mentions and articles per entity and publication day (UTC).
CREATE OR REPLACE VIEW entity_daily AS
WITH daily AS (
    SELECT l.resolved_entity_id AS entity_id, (a.published_at AT TIME ZONE 'UTC')::DATE AS day,
           count(*) AS mention_count, count(DISTINCT m.article_id) AS article_count
    FROM entity_mentions m JOIN entity_links l USING (entity_id) JOIN articles a USING (article_id)
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
    SELECT a.publisher, l.resolved_entity_id AS entity_id, count(DISTINCT m.article_id) AS article_count,
           count(*) AS mention_count
    FROM entity_mentions m JOIN entity_links l USING (entity_id) JOIN articles a USING (article_id)
    GROUP BY ALL
)
SELECT c.publisher, c.entity_id, e.canonical_name, e.entity_type, c.article_count, c.mention_count
FROM counts c JOIN entities e USING (entity_id);
