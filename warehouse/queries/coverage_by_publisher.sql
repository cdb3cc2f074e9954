-- Distinct stories per publisher and section, and how many extra copies were dropped as duplicates.
SELECT a.publisher, a.section, count(*) AS articles,
       (SELECT count(*) FROM duplicates d WHERE d.duplicate_of IN
           (SELECT article_id FROM articles x WHERE x.publisher IS NOT DISTINCT FROM a.publisher
                                               AND x.section IS NOT DISTINCT FROM a.section)) AS copies_elsewhere
FROM articles a
GROUP BY ALL
ORDER BY articles DESC;
