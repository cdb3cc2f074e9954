-- Every input file that did not load, and why.
SELECT status, reason, source_path
FROM ingest_ledger
WHERE status <> 'loaded'
ORDER BY status, source_path;
