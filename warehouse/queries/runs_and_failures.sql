-- Recent runs with what happened to their files, and any failed expectation.
SELECT r.started_at, r.status, r.files_seen, r.files_loaded, r.files_duplicate,
       r.files_quarantined, r.files_rejected,
       string_agg(v.suite || '.' || v.expectation || coalesce('(' || v."column" || ')', ''), ', ')
           FILTER (WHERE NOT v.success) AS failed_expectations
FROM runs r LEFT JOIN validation_results v USING (run_id)
GROUP BY ALL
ORDER BY r.started_at DESC
LIMIT 20;
