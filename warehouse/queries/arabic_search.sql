-- Articles naming Iran in any spelling, with or without a proclitic (إيران, ايران, وإيران, لإيران, الإيراني).
SELECT source_path, title, ar_count(body, 'إيران') AS mentions
FROM articles
WHERE ar_contains(body, 'وإيران')
ORDER BY mentions DESC, source_path;
