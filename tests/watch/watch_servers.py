"""Tiny local HTTP servers for the watch tests (127.0.0.1 only).

``LocalServer(route)`` answers with ``route``. ``trickle=S`` writes each answer one byte
every S seconds (status line and headers included, or from byte ``trickle_from`` on);
``hang=True`` reads the request and never answers. Both stop when the server does.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler
from typing import NamedTuple

from tests.fakes.base import FakeServer, Reply

# (status, headers, body) for (method, path, headers); None: close without answering
Route = Callable[[str, str, dict[str, str]], tuple[int, dict[str, str], bytes] | None]


class Received(NamedTuple):
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class LocalServer(FakeServer[Received]):
    """A ``tests.fakes.base.FakeServer`` that answers with ``route`` and logs requests
    in ``received``; ``answered`` counts the answers written in full."""

    methods = frozenset({"GET", "POST", "PUT"})

    def __init__(
        self,
        route: Route,
        *,
        trickle: float | None = None,
        trickle_from: int = 0,
        hang: bool = False,
    ) -> None:
        super().__init__()
        self.route = route
        self.trickle = trickle
        self.trickle_from = trickle_from
        self.hang = hang
        self.answered = 0  # answers written in full

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``, still known after the server stopped (tests name
        it in the errors they expect)."""
        if self._port is None:
            raise RuntimeError("LocalServer is not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def received(self) -> list[Received]:
        """The requests, oldest first."""
        return self.requests

    def _respond(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> Reply | None:
        fields = dict(headers.items())
        self._record(Received(method, target, fields, body))
        if self.hang:
            self._stopping.wait()
            return None
        answer = self.route(method, target, fields)
        if answer is None:
            return None
        status, extra, content = answer
        return Reply(status, content, tuple(extra.items()))

    def _send(self, handler: BaseHTTPRequestHandler, reply: Reply) -> bool:
        if self.trickle is None:
            done = super()._send(handler, reply)
        else:
            done = self._send_bytewise(handler, reply, self.trickle)
        if done:
            self.answered += 1
        return done

    def _send_bytewise(self, handler: BaseHTTPRequestHandler, reply: Reply, pause: float) -> bool:
        """The whole answer (from byte ``trickle_from`` on) one byte every ``pause`` s."""
        head = f"HTTP/1.1 {reply.status} OK\r\n" + "".join(
            f"{name}: {value}\r\n" for name, value in reply.headers
        )
        whole = f"{head}Content-Length: {len(reply.body)}\r\n\r\n".encode() + reply.body
        handler.close_connection = True
        try:
            handler.wfile.write(whole[: self.trickle_from])
            handler.wfile.flush()
            for at in range(self.trickle_from, len(whole)):
                if self._stopping.is_set():
                    return False
                handler.wfile.write(whole[at : at + 1])
                handler.wfile.flush()
                time.sleep(pause)
        except OSError:  # the client gave up
            return False
        return True


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
