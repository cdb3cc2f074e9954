-- What is named together with Iran (any spelling), by the number of articles naming both.
SELECT other_canonical_name, other_entity_type, article_count
FROM entity_cooccurrence
WHERE ar_norm(canonical_name) = ar_norm('ايران')
ORDER BY article_count DESC, other_canonical_name
LIMIT 10;
