"""A local HTTP endpoint that takes POSTs: what akhbar's webhook and the Prefect server's automations send."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

OnPost = Callable[[str, Message, bytes], int]


@contextmanager
def serving(on_post: OnPost) -> Iterator[str]:
    """Serve on a free 127.0.0.1 port until the block ends; yields ``127.0.0.1:PORT``.

    ``on_post(path, headers, body)`` sees every POST and returns the status code to answer with.
    """

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"] or 0))
            self.send_response(on_post(self.path, self.headers, body))
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
