"""The HTTP side of ``MetadataMock``: shared state, the server and its handler.

``MockState`` holds the schedule, tokens, acknowledgements and the request log behind
one lock; the protocol modules (``mock_aws``, ``mock_gcp``, ``mock_azure``) read it to
answer. ``MockServer`` is a stdlib ``ThreadingHTTPServer`` (one thread per connection,
HTTP/1.1 keep-alive like the real services) that turns each request into a ``Request``
for the protocol's ``answer`` and sends back its ``Reply``; it also plays the outages.
"""

from __future__ import annotations

import contextlib
import math
import secrets
import socket
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal, NamedTuple
from urllib.parse import parse_qsl, urlsplit

Cloud = Literal["aws", "gcp", "azure"]
OutageMode = Literal["none", "error", "hang"]

HANG_LIMIT = 30.0  # seconds a "hang" outage holds a request before closing its connection
IDLE_TIMEOUT = 120.0  # seconds a keep-alive connection may sit idle


class LoggedRequest(NamedTuple):
    """One request the mock received."""

    method: str
    path: str  # with the query string, as sent
    headers: dict[str, str]


class Request(NamedTuple):
    """A request as the protocol modules see it."""

    method: str
    path: str  # without the query string
    query: dict[str, str]  # the last value of each parameter
    headers: dict[str, str]  # names in lower case
    body: bytes
    generation: int  # the server life it arrived in; a restart or stop ends that life


class Reply(NamedTuple):
    """An answer: status, body and headers (Content-Length is added when sending)."""

    status: int
    body: bytes
    headers: dict[str, str]


Answer = Callable[["MockState", Request], Reply | None]  # None: close without an answer


class MockState:
    """The schedule and everything the protocols read or change, behind one lock.

    Shared by the handler threads and the ``MetadataMock`` that owns it. Hold
    ``changed`` (a condition on a re-entrant lock) to read or change several fields
    together; every change that a hanging request could be waiting for notifies it.
    """

    def __init__(
        self,
        cloud: Cloud,
        notice_in: float | None,
        rebalance_in: float | None,
        lead: float,
        action: str | None,
        imdsv1: bool,
    ) -> None:
        self.cloud = cloud
        self.notice_in = notice_in
        self.rebalance_in = rebalance_in
        self.lead = lead
        self.action = action
        self.imdsv1 = imdsv1
        self.changed = threading.Condition(threading.RLock())
        self.notice_time: float | None = None
        self.rebalance_time: float | None = None
        self.outage: OutageMode = "none"
        self.generation = 0
        self.tokens: dict[str, float] = {}  # token -> expiry [epoch s]
        self.token_ttls: list[int] = []
        self.acknowledged: list[str] = []
        self.requests: list[LoggedRequest] = []
        self.connections: set[socket.socket] = set()
        self.event_id = str(uuid.uuid4()).upper()

    # -- the schedule

    def schedule(self, started: float) -> None:
        """Fix the notice and rebalance times, counted from ``started`` [epoch s]."""
        with self.changed:
            if self.notice_time is None and self.notice_in is not None:
                self.notice_time = started + self.notice_in
            if self.rebalance_time is None and self.rebalance_in is not None:
                self.rebalance_time = started + self.rebalance_in
            self.changed.notify_all()

    @property
    def deadline(self) -> float | None:
        """The shutdown [epoch s]: the notice time plus the lead."""
        with self.changed:
            return None if self.notice_time is None else self.notice_time + self.lead

    def notice_out(self, now: float) -> bool:
        """Whether the termination notice is visible at ``now``."""
        with self.changed:
            return self.notice_time is not None and now >= self.notice_time

    def rebalance_out(self, now: float) -> bool:
        """Whether the advisory event (rebalance / maintenance) is visible at ``now``."""
        with self.changed:
            return self.rebalance_time is not None and now >= self.rebalance_time

    def next_change(self, now: float) -> float:
        """The next scheduled time after ``now`` at which an answer may change (or inf)."""
        with self.changed:
            deadline = self.deadline
            times = (self.notice_time, self.rebalance_time, deadline)
            return min((t for t in times if t is not None and t > now), default=math.inf)

    def wait(self, generation: int, until: float) -> bool:
        """Sleep until ``until`` [epoch s] or a change; False once ``generation`` ended.

        The caller holds ``changed`` and re-checks what it waits for after each return.
        """
        if self.generation != generation:
            return False
        left = until - time.time()
        if left > 0:
            self.changed.wait(left)
        return self.generation == generation

    def hold(self, generation: int) -> None:
        """Keep a request waiting while a "hang" outage lasts, at most ``HANG_LIMIT``."""
        limit = time.time() + HANG_LIMIT
        with self.changed:
            while self.outage == "hang" and time.time() < limit:
                if not self.wait(generation, limit):
                    return

    # -- AWS tokens and Azure acknowledgements

    def issue_token(self, ttl: int) -> str:
        """A new opaque IMDSv2 token, valid for ``ttl`` seconds."""
        token = secrets.token_urlsafe(42)
        with self.changed:
            self.tokens[token] = time.time() + ttl
            self.token_ttls.append(ttl)
        return token

    def token_valid(self, token: str) -> bool:
        """Whether ``token`` was issued (since the last restart) and has not expired."""
        with self.changed:
            return time.time() < self.tokens.get(token, -math.inf)

    def acknowledge(self, event_ids: list[str]) -> bool:
        """Record StartRequests for ``event_ids``; False (nothing recorded) if one is unknown."""
        with self.changed:
            if event_ids and not self.notice_out(time.time()):
                return False
            if any(event_id != self.event_id for event_id in event_ids):
                return False
            for event_id in event_ids:
                if event_id not in self.acknowledged:
                    self.acknowledged.append(event_id)
            self.changed.notify_all()
            return True

    def log(self, entry: LoggedRequest) -> None:
        """Append one request to the log."""
        with self.changed:
            self.requests.append(entry)

    def end_generation(self) -> None:
        """Wake every waiting request so it closes, and shut every open connection."""
        with self.changed:
            self.generation += 1
            self.changed.notify_all()
            connections = list(self.connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class MockServer(ThreadingHTTPServer):
    """The HTTP server of one life of the mock (a restart makes a new one)."""

    daemon_threads = True  # a hanging request must not hold up stop()
    allow_reuse_address = True  # so restart() can bind the same port again at once

    def __init__(
        self,
        address: tuple[str, int],
        state: MockState,
        answer: Answer,
        outage_reply: Reply,
        server_header: str,
    ) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.state = state
        self.answer = answer
        self.outage_reply = outage_reply
        self.server_header = server_header
        super().__init__(address, _Handler)

    def handle_error(self, request: object, client_address: object) -> None:
        # a client hanging up, or stop() closing its connection, is routine here
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class _Handler(BaseHTTPRequestHandler):
    """Turns HTTP requests into ``Request`` and ``Reply`` into HTTP answers."""

    server: MockServer
    protocol_version = "HTTP/1.1"  # keep-alive, like the real services
    timeout = IDLE_TIMEOUT

    def setup(self) -> None:
        super().setup()
        with self.server.state.changed:
            self.server.state.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.state.changed:
            self.server.state.connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def version_string(self) -> str:
        return self.server.server_header

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the command prints what matters, ``requests`` logs every request."""

    def do_GET(self) -> None:
        self._serve()

    # http.server dispatches on these names
    do_HEAD = do_PUT = do_POST = do_DELETE = do_PATCH = do_OPTIONS = do_GET  # noqa: N815

    def _serve(self) -> None:
        state = self.server.state
        generation = state.generation
        body = self._read_body()
        state.log(LoggedRequest(self.command, self.path, dict(self.headers.items())))
        if body is None:
            self.close_connection = True
            self._send(Reply(400, b"bad Content-Length\n", {"Content-Type": "text/plain"}))
            return
        target = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=target.path or "/",
            query=dict(parse_qsl(target.query, keep_blank_values=True)),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
            generation=generation,
        )
        reply = self._reply(state, request)
        if reply is None or state.generation != generation:
            self.close_connection = True
            return
        self._send(reply)

    def _reply(self, state: MockState, request: Request) -> Reply | None:
        outage = state.outage
        if outage == "hang":
            state.hold(request.generation)
            return None
        if outage == "error":
            return self.server.outage_reply
        try:
            return self.server.answer(state, request)
        except Exception:  # a bug of the mock: answer 500 as a real service would
            traceback.print_exc()
            return Reply(500, b"internal error in the metadata mock\n", {})

    def _read_body(self) -> bytes | None:
        """The request body; None when its framing is broken (the connection then closes)."""
        try:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                return self._read_chunks()
            size = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            return None
        return self.rfile.read(size) if size > 0 else b""

    def _read_chunks(self) -> bytes:
        # read the whole body even if unused, so the next request on the connection parses
        chunks = []
        while size := int(self.rfile.readline(1024).split(b";")[0].strip() or b"0", 16):
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)
        while self.rfile.readline(1024).strip():  # trailers, up to the blank line
            pass
        return b"".join(chunks)

    def _send(self, reply: Reply) -> None:
        try:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(reply.body)
        except OSError:
            self.close_connection = True
