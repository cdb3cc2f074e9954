"""An S3-compatible server on loopback for the object-storage tests: moto's server mode (a stand-in for
AWS S3, MinIO and the like), as its own process on a free port."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.loopback import free_port

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "akhbar-test", "AWS_SECRET_ACCESS_KEY": "akhbar-test-secret",
               "AWS_REGION": "us-east-1"}




@contextmanager
def s3_server() -> Iterator[str]:
    """A running server for the duration; yields its endpoint URL (``http://127.0.0.1:PORT``)."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the S3 test server did not start") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


def client(endpoint: str) -> Any:  # boto3 has no type hints
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                        region_name=CREDENTIALS["AWS_REGION"])
