"""A real S3-protocol server for the tests: moto's standalone server (``moto[server]``,
Werkzeug on 127.0.0.1, a random free port), reached over HTTP with s3fs/boto3 exactly as
AWS or MinIO would be: ``AWS_ENDPOINT_URL`` points the standard AWS clients at it.

The server runs in a thread of the test process (``ThreadedMotoServer``), so its buckets
outlive a ``stop()`` and ``start()`` on the same port (an outage, then storage returning);
every request it receives is recorded (method and path with query), so a test can count
the listings a check made.
"""

from __future__ import annotations

import logging
import re
import socket
import time
import uuid
from urllib.parse import unquote

#: What the standard AWS clients (boto3, s3fs, the server subprocesses) need to reach it.
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "modelward-test-key",
    "AWS_SECRET_ACCESS_KEY": "modelward-test-secret-do-not-print",
    "AWS_DEFAULT_REGION": "us-east-1",
}
_REQUEST = re.compile(r'"(GET|PUT|POST|HEAD|DELETE) (\S+) HTTP/[\d.]+" (\d+)')


class _Recorder(logging.Handler):
    """Werkzeug's request log lines, as (method, path-with-query, status)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, str, int]] = []

    def emit(self, record: logging.LogRecord) -> None:
        found = _REQUEST.search(record.getMessage())
        if found:
            self.seen.append((found[1], unquote(found[2]), int(found[3])))


class S3Server:
    """moto's standalone S3 server on ``127.0.0.1:<port>``."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=True)
        self.recorder = _Recorder()
        logger = logging.getLogger("werkzeug")
        logger.addHandler(self.recorder)
        logger.setLevel(logging.INFO)
        logger.propagate = False  # the request lines are recorded, not printed

    @property
    def env(self) -> dict[str, str]:
        """The environment of a client of this server (as a MinIO user would set it)."""
        return {**CREDENTIALS, "AWS_ENDPOINT_URL": self.endpoint}

    def start(self) -> None:
        self._server.start()
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        """Stop answering (the port is closed: connections are refused); the buckets are
        kept for a ``start()``."""
        self._server.stop()
        self._server._server.server_close()  # stop() alone leaves the socket listening

    def client(self):  # noqa: ANN201 - a boto3 S3 client
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=CREDENTIALS["AWS_DEFAULT_REGION"],
        )

    def new_bucket(self) -> str:
        name = f"mw-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def requests(self) -> list[tuple[str, str, int]]:
        """Every request received so far: (method, path with query, status)."""
        return list(self.recorder.seen)

    def listings(self, since: int = 0) -> list[str]:
        """The prefixes of the object listings received (``GET /<bucket>?…prefix=…``)
        after the first ``since`` requests."""
        out = []
        for method, path, _ in self.recorder.seen[since:]:
            if method == "GET" and ("list-type=" in path or "delimiter=" in path):
                found = re.search(r"[?&]prefix=([^&]*)", path)
                out.append(found[1] if found else "")
        return out
