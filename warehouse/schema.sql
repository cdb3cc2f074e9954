-- akhbar warehouse schema (DuckLake: every table is Parquet files plus a catalog).
-- Applied with CREATE ... IF NOT EXISTS on every writer start; additive changes only.

CREATE TABLE IF NOT EXISTS articles (
    article_id               VARCHAR,      -- 16 hex: first half of sha256(normalized body)
    source_path              VARCHAR,      -- relative to the input folder
    source_doc_id            VARCHAR,
    title                    VARCHAR,
    section                  VARCHAR,
    byline                   VARCHAR,
    publisher                VARCHAR,
    url                      VARCHAR,
    published_at             TIMESTAMPTZ,
    abstract                 VARCHAR,
    body                     VARCHAR,      -- clean text, paragraphs separated by '\n'
    format                   VARCHAR,      -- 'plain' or 'trec'
    encoding                 VARCHAR,
    read_note                VARCHAR,
    lang                     VARCHAR,
    lang_score               DOUBLE,
    char_count               INTEGER,
    word_count               INTEGER,
    sentence_count           INTEGER,
    paragraph_count          INTEGER,
    repeated_paragraph_count INTEGER,
    boilerplate_removed      INTEGER,      -- paragraphs dropped as the publisher's learned boilerplate
    arabic_ratio             DOUBLE,
    content_hash             VARCHAR,      -- sha256 of the normalized body (exact-duplicate key)
    sha256                   VARCHAR,      -- of the input file's bytes
    run_id                   VARCHAR,
    ingested_at              TIMESTAMPTZ
);

CREATE TABLE IF NOT EXISTS entity_mentions (
    article_id     VARCHAR,
    entity_id      VARCHAR,
    entity_type    VARCHAR,      -- PER, ORG, LOC, MISC
    surface        VARCHAR,      -- exactly body[start_char:end_char]
    start_char     INTEGER,
    end_char       INTEGER,
    canonical_name VARCHAR,
    run_id         VARCHAR
);

CREATE TABLE IF NOT EXISTS duplicates (
    source_path   VARCHAR,
    duplicate_of  VARCHAR,       -- articles.article_id
    kind          VARCHAR,       -- 'exact' or 'near'
    similarity    DOUBLE,
    run_id        VARCHAR,
    sha256        VARCHAR,
    source_doc_id VARCHAR,
    title         VARCHAR,
    section       VARCHAR,
    publisher     VARCHAR,
    url           VARCHAR,
    published_at  TIMESTAMPTZ
);

-- Append-only history of what happened to each input file; ingest_ledger is its latest row.
CREATE TABLE IF NOT EXISTS ledger_history (
    source_path VARCHAR,
    sha256      VARCHAR,
    size_bytes  BIGINT,
    mtime_ns    BIGINT,
    status      VARCHAR,         -- loaded, duplicate, quarantined, rejected
    reason      VARCHAR,
    article_id  VARCHAR,
    run_id      VARCHAR,
    recorded_at TIMESTAMPTZ
);

CREATE TABLE IF NOT EXISTS runs (
    run_id            VARCHAR,
    started_at        TIMESTAMPTZ,
    finished_at       TIMESTAMPTZ,
    status            VARCHAR,   -- completed, failed
    reason            VARCHAR,   -- why a run failed
    input_dir         VARCHAR,
    files_seen        INTEGER,   -- every file found under the input folder
    files_unchanged   INTEGER,   -- already in the ledger with the same content
    files_deferred    INTEGER,   -- still being written: left for the next run, no ledger row
    files_loaded      INTEGER,
    files_duplicate   INTEGER,
    files_quarantined INTEGER,
    files_rejected    INTEGER,
    articles_loaded   INTEGER,
    mentions_loaded   INTEGER
);

CREATE TABLE IF NOT EXISTS validation_results (
    run_id           VARCHAR,
    suite            VARCHAR,
    expectation      VARCHAR,
    "column"         VARCHAR,
    success          BOOLEAN,
    unexpected_count BIGINT,
    severity         VARCHAR,    -- error blocks the load, warning does not
    scope            VARCHAR,    -- row: failing rows are quarantined; batch: the run fails
    example_values   VARCHAR,    -- up to five offending values, ' | '-separated
    details          VARCHAR     -- what failed, in words (null on success)
);

CREATE TABLE IF NOT EXISTS quarantine (
    run_id        VARCHAR,
    source_path   VARCHAR,
    reason        VARCHAR,
    sha256        VARCHAR,
    article_id    VARCHAR,
    format        VARCHAR,
    source_doc_id VARCHAR,
    title         VARCHAR,
    section       VARCHAR,
    byline        VARCHAR,
    publisher     VARCHAR,
    url           VARCHAR,
    published_at  TIMESTAMPTZ,
    body          VARCHAR,
    lang          VARCHAR,
    char_count    INTEGER,
    word_count    INTEGER,
    arabic_ratio  DOUBLE
);

-- MinHash-LSH band keys of every loaded article, so a new batch finds near duplicates in the whole
-- history with a join instead of a rescan. `scheme` names shingles, permutations and bands x rows.
CREATE TABLE IF NOT EXISTS article_minhash (
    article_id  VARCHAR,
    source_path VARCHAR,
    band_index  SMALLINT,
    band_hash   BIGINT,
    scheme      VARCHAR
);

-- Lines each publisher repeats across many different articles (footers, share buttons, "read also").
-- Learned from every article seen; rewritten whole by each run. `boilerplate` marks lines that are
-- dropped from bodies; the rest are candidates still counting up.
CREATE TABLE IF NOT EXISTS boilerplate_lines (
    publisher           VARCHAR,
    line_key            VARCHAR,
    line                VARCHAR,
    word_count          INTEGER,
    article_count       BIGINT,
    article_keys        BIGINT[],
    example_source_path VARCHAR,
    boilerplate         BOOLEAN
);

CREATE OR REPLACE VIEW ingest_ledger AS
SELECT source_path, sha256, size_bytes, mtime_ns, status, reason, article_id, run_id, recorded_at
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
