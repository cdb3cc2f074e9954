-- Who is named together with whom: pairs of people sharing articles (a short form counts under the
-- full name it stands for, as in entity_links).
WITH people AS (
    SELECT DISTINCT m.article_id, e.entity_id, e.canonical_name
    FROM entity_mentions m
    JOIN entity_links l USING (entity_id)
    JOIN entities e ON e.entity_id = l.resolved_entity_id
    WHERE e.entity_type = 'PER'
)
SELECT a.canonical_name AS person, b.canonical_name AS with_person, count(*) AS articles
FROM people a
JOIN people b ON a.article_id = b.article_id AND a.entity_id < b.entity_id
GROUP BY ALL
ORDER BY articles DESC, person, with_person
LIMIT 20;
