"""A stand-in of a Flink session cluster's REST API for the unit tests: a local HTTP server answering as Flink does.

A top-level module of this folder (pytest's ``pythonpath``), as ``flink_sql_jobs``: the hook's REST client and the
session cluster's own REST reading are tested against it; the real cluster answers in the integration tests."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class StandInCluster(ThreadingHTTPServer):
    """Answers GET paths from ``answers`` (404 for others) and records each request's method and path."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answers: dict[str, Any] = {}
        self.requests: list[tuple[str, str]] = []

    @property
    def rest_port(self) -> int:
        return int(self.server_address[1])

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.rest_port}"


class _Handler(BaseHTTPRequestHandler):
    server: StandInCluster

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.server.requests.append(("GET", self.path))
        answer = self.server.answers.get(self.path)
        body = json.dumps(answer).encode() if answer is not None else b""
        self.send_response(200 if answer is not None else 404)
        self.end_headers()
        self.wfile.write(body)

    def do_PATCH(self) -> None:  # noqa: N802 - http.server's name
        self.server.requests.append(("PATCH", self.path))
        self.send_response(202)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        pass


@contextmanager
def stand_in_cluster() -> Iterator[StandInCluster]:
    """A stand-in serving on a free local port until the block ends."""
    server = StandInCluster()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
