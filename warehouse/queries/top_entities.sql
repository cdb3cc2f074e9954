-- The people, organizations and places named in the most articles.
SELECT entity_type, canonical_name, article_count, mention_count
FROM entities
ORDER BY article_count DESC, mention_count DESC, canonical_name
LIMIT 10;
