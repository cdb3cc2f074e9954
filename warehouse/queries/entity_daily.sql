-- Day by day, the three entities named in the most articles (undated articles count under NULL).
SELECT day, canonical_name, article_count, mention_count
FROM entity_daily
WHERE entity_id IN (SELECT entity_id FROM entities ORDER BY article_count DESC, mention_count DESC, canonical_name LIMIT 3)
ORDER BY day NULLS LAST, article_count DESC, canonical_name;
