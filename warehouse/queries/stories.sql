-- Stories carried by more than one outlet, the widest first, with every outlet and copy.
SELECT title, outlet_count, outlets, copy_count, copy_source_paths, first_published_at
FROM stories
WHERE outlet_count > 1
ORDER BY outlet_count DESC, copy_count DESC, first_published_at, title;
