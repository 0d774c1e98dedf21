"""Tiny local HTTP servers for the watch tests (127.0.0.1 only)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import NamedTuple, Self

# (status, headers, body) for (method, path, headers); None: close without answering
Route = Callable[[str, str, dict[str, str]], tuple[int, dict[str, str], bytes] | None]


class Received(NamedTuple):
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class LocalServer:
    """A ThreadingHTTPServer on 127.0.0.1 that answers with ``route`` and logs requests."""

    def __init__(self, route: Route) -> None:
        self.route = route
        self.received: list[Received] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = dict(self.headers.items())
                outer.received.append(Received(self.command, self.path, headers, body))
                answer = outer.route(self.command, self.path, headers)
                if answer is None:
                    self.close_connection = True
                    return
                status, extra, content = answer
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def do_PUT(self) -> None:
                self.do_GET()

            def do_POST(self) -> None:
                self.do_GET()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.server.shutdown()
        self.server.server_close()


def webhook(statuses: list[int] | None = None) -> LocalServer:
    """A webhook receiver answering ``statuses`` in turn, then 200."""
    queue = list(statuses or [])

    def route(method: str, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        status = queue.pop(0) if queue else 200
        return status, {"Content-Type": "text/plain"}, b"ok\n"

    return LocalServer(route)


def imdsv1(token_status: int, answers: dict[str, str]) -> LocalServer:
    """An IMDS that refuses the token PUT with ``token_status`` and answers GETs without one."""

    def route(method: str, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        if method == "PUT":
            return token_status, {}, b""
        if "X-aws-ec2-metadata-token" in headers:
            return 401, {}, b""  # such a service would not know the token
        if path in answers:
            return 200, {"Content-Type": "text/plain"}, answers[path].encode()
        return 404, {}, b""

    return LocalServer(route)
