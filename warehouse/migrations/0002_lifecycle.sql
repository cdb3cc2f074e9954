-- Migration 2: `schema_derived` (what the views were last re-created from) and `maintenance`
-- (one row per `akhbar maintain` pass).

CREATE TABLE IF NOT EXISTS schema_derived (
    "fingerprint" VARCHAR,
    "applied_at"  TIMESTAMP WITH TIME ZONE
);

CREATE TABLE IF NOT EXISTS maintenance (
    "started_at"        TIMESTAMP WITH TIME ZONE,
    "finished_at"       TIMESTAMP WITH TIME ZONE,
    "retain_days"       INTEGER,
    "files_before"      INTEGER,
    "files_after"       INTEGER,
    "bytes_before"      BIGINT,
    "bytes_after"       BIGINT,
    "files_merged"      INTEGER,
    "snapshots_before"  INTEGER,
    "snapshots_expired" INTEGER,
    "files_deleted"     INTEGER
);
