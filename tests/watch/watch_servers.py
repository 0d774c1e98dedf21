"""Tiny local HTTP servers for the watch tests (127.0.0.1 only).

``LocalServer(route)`` answers with ``route``. ``trickle=S`` writes each answer one byte
every S seconds (status line and headers included, or from byte ``trickle_from`` on);
``hang=True`` reads the request and never answers. Both stop when the server does.
"""

from __future__ import annotations

import threading
import time
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

    def __init__(
        self,
        route: Route,
        *,
        trickle: float | None = None,
        trickle_from: int = 0,
        hang: bool = False,
    ) -> None:
        self.route = route
        self.received: list[Received] = []
        self.stopping = threading.Event()
        self.answered = 0  # answers written in full
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
                if hang:
                    outer.stopping.wait()
                    self.close_connection = True
                    return
                answer = outer.route(self.command, self.path, headers)
                if answer is None:
                    self.close_connection = True
                    return
                status, extra, content = answer
                if trickle is None:
                    self.send_response(status)
                    for name, value in extra.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(content)))
                    self.end_headers()
                    self.wfile.write(content)
                    outer.answered += 1
                    return
                head = f"HTTP/1.1 {status} OK\r\n" + "".join(
                    f"{name}: {value}\r\n" for name, value in extra.items()
                )
                whole = f"{head}Content-Length: {len(content)}\r\n\r\n".encode() + content
                self.close_connection = True
                try:
                    self.wfile.write(whole[:trickle_from])
                    self.wfile.flush()
                    for at in range(trickle_from, len(whole)):
                        if outer.stopping.is_set():
                            return
                        self.wfile.write(whole[at : at + 1])
                        self.wfile.flush()
                        time.sleep(trickle)
                except OSError:  # the client gave up
                    return
                outer.answered += 1

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
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()


def webhook(statuses: list[int] | None = None) -> LocalServer:
    """A webhook receiver answering ``statuses`` in turn, then 200."""
    queue = list(statuses or [])

    def route(method: str, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        status = queue.pop(0) if queue else 200
        return status, {"Content-Type": "text/plain"}, b"ok\n"

    return LocalServer(route)


def trickling_webhook(every: float = 0.05, *, body_only: bool = False) -> LocalServer:
    """A webhook that answers 200 one byte every ``every`` s, never done in a test's time.

    Each byte comes well within any read timeout, and the body is 100 kB long. With
    ``body_only`` the status line and headers come at once and only the body trickles.
    """

    def route(method: str, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        return 200, {"Content-Type": "text/plain"}, b"k" * 100_000

    return LocalServer(route, trickle=every, trickle_from=90 if body_only else 0)


def hung_webhook() -> LocalServer:
    """A webhook that reads the request and never answers (until the server stops)."""
    return LocalServer(lambda method, path, headers: None, hang=True)


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
