"""Monitoring read from the warehouse: what recent runs did and which expectations failed.

`queries` reads (one read-only connection, safe during a run); `render` turns what it read into the
`akhbar report` text, the self-contained HTML page (`templates/monitoring.html.j2`) and the markdown of
a run's failed expectations. Neither knows about Prefect: the flow publishes them (`flows.artifacts`).
"""
