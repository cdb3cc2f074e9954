-- Who is named together with whom: pairs of people sharing articles.
SELECT a.canonical_name AS person, b.canonical_name AS with_person, count(DISTINCT a.article_id) AS articles
FROM entity_mentions a
JOIN entity_mentions b ON a.article_id = b.article_id AND a.entity_id < b.entity_id
WHERE a.entity_type = 'PER' AND b.entity_type = 'PER'
GROUP BY ALL
ORDER BY articles DESC, person, with_person
LIMIT 20;
