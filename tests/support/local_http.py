"""Stand-ins for a REST API on localhost: a real HTTP server answering GETs with the JSON a test names, and a port
that refuses connections."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@contextmanager
def json_server(answers: dict[str, Any]) -> Iterator[str]:
    """A server answering a GET of each path of ``answers`` with its JSON, any other with a 404; its URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = self.path in answers
            body = json.dumps(answers[self.path] if found else {"detail": "Not Found"}).encode()
            self.send_response(200 if found else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # no request lines in the test's output
            pass

    server = ThreadingHTTPServer(("localhost", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


@contextmanager
def refusing_port() -> Iterator[int]:
    """A local port bound but not listened on: a connection to it is refused, and nothing else takes it meanwhile."""
    with socket.socket() as sock:
        sock.bind(("localhost", 0))
        yield int(sock.getsockname()[1])
