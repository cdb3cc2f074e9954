-- The three people each publisher names in the most articles.
SELECT publisher, canonical_name, article_count, mention_count
FROM entities_by_publisher
WHERE entity_type = 'PER'
QUALIFY row_number() OVER (PARTITION BY publisher ORDER BY article_count DESC, mention_count DESC, canonical_name) <= 3
ORDER BY publisher NULLS LAST, article_count DESC, mention_count DESC, canonical_name;
