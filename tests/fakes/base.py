"""The base of the local fakes: one HTTP server on 127.0.0.1, its life cycle and faults.

``FakeServer`` owns what every fake shares, so a fake's own module keeps only its wire
format (routing, bodies, pagination):

- a ``ThreadingHTTPServer`` on 127.0.0.1 with a port chosen by the OS, served from a
  daemon thread: ``start()`` / ``stop()`` / ``with fake:``, and ``url``;
- the open connections, shut down on ``stop()`` so no client waits on a dead fake, and
  ``_wait(seconds)``: a sleep (latency, hang) cut short when the fake stops;
- ``faults``, the shared vocabulary of ``tests.fakes.faults`` (``_injected`` builds a
  fault from ``inject``'s arguments, ``_trickle`` the pacing of a ``trickle`` answer),
  and the older per-fake bookkeeping: ``Countdown`` (throttles), ``Delays`` (latency
  and hangs by API or region, ``"*"`` for all), ``PageFaults`` (broken pages);
- a request log, ``_record(entry)``, read by tests as ``fake.requests``.

A fake implements ``_respond(method, target, headers, body)`` and answers a ``Reply``
(None: the fake is stopping, the connection is closed without an answer).
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import sys
import threading
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, ClassVar, Generic, Self, TypeVar

from tests.fakes.faults import CYCLE_LIMIT, Fault, FaultTable, Injected, injected, send_slowly

R = TypeVar("R")  # one entry of a fake's request log
V = TypeVar("V")  # what a broken page carries


@dataclass(frozen=True)
class Reply:
    """One answer: status, body, extra headers, and ``trickle`` (bytes per write, pause
    in seconds) to send it slowly."""

    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()
    trickle: tuple[int, float] | None = None


class FakeServer(ABC, Generic[R]):
    """A local HTTP server on 127.0.0.1 (see the module docstring).

    Use as a context manager, or ``start()`` / ``stop()``; ``url`` is the endpoint.
    """

    methods: ClassVar[frozenset[str]] = frozenset({"GET", "POST"})

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None  # the last port served on
        self.faults = FaultTable()
        self._request_log: list[R] = []

    # -- life cycle

    def start(self) -> Self:
        """Bind 127.0.0.1 on a free port and serve in a background thread."""
        if self._httpd is not None:
            return self
        self._stopping.clear()
        self._httpd = _Server(self)
        self._port = int(self._httpd.server_address[1])
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; requests still sleeping (latency, hang) are cut short and open
        connections are shut down."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._stopped()

    def _stopped(self) -> None:
        """Called once the server is down (e.g. to close a database)."""

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        if self._httpd is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def requests(self) -> list[R]:
        """The request log, oldest first (the live list)."""
        return self._request_log

    @requests.setter
    def requests(self, log: list[R]) -> None:
        with self._lock:
            self._request_log = log

    # -- for the fakes

    @abstractmethod
    def _respond(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> Reply | None:
        """The answer to one request (None: the fake is stopping); each fake's wire format."""

    def _send(self, handler: BaseHTTPRequestHandler, reply: Reply) -> bool:
        """Write ``reply`` on ``handler``'s connection; False when the client gave up."""
        try:
            handler.send_response(reply.status)
            for name, value in reply.headers:
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(reply.body)))
            handler.end_headers()
            if reply.trickle is None:
                handler.wfile.write(reply.body)
            else:
                chunk, pause = reply.trickle
                send_slowly(handler.wfile, reply.body, chunk, pause, self._stopping)
        except OSError:  # the client gave up (e.g. its read timeout fired)
            handler.close_connection = True
            return False
        return True

    def _record(self, entry: R) -> None:
        """Append ``entry`` to the request log."""
        with self._lock:
            self._request_log.append(entry)

    def _wait(self, seconds: float) -> bool:
        """Sleep ``seconds``; True when the fake stopped meanwhile (give up the answer)."""
        return bool(seconds) and self._stopping.wait(seconds)

    def inject(
        self,
        fault: Fault | str,
        target: str = "*",
        *,
        page: int | None = None,
        times: int | None = None,
        region: str | None = None,
        seconds: float | None = None,
        chunk_bytes: int = 16,
        at_page: int = 3,
        back_to: int = 2,
        fresh: bool = False,
        limit: int | None = None,
    ) -> None:
        """Inject one fault of the shared vocabulary (``tests.fakes.faults``).

        ``target`` is a name the fake routes (``_fault_target`` checks it) or "*"; the
        fake decides how each fault is applied (``_apply_fault``).
        """
        spec = self._injected(
            fault,
            target if target == "*" else self._fault_target(target),
            page=page,
            times=times,
            region=region,
            seconds=seconds,
            chunk_bytes=chunk_bytes,
            at_page=at_page,
            back_to=back_to,
            fresh=fresh,
            limit=limit,
        )
        self._apply_fault(spec, times=times, region=region)

    def _fault_target(self, target: str) -> str:
        """``target`` in the fake's own spelling; raises ValueError for an unknown one."""
        return target

    def _apply_fault(self, spec: Injected, *, times: int | None, region: str | None) -> None:
        """Make ``spec`` happen; by default the shared fault table holds it."""
        self.faults.add(spec)

    def _injected(
        self,
        fault: Fault | str,
        target: str,
        *,
        limit: int | None = None,
        **options: Any,
    ) -> Injected:
        """``faults.injected`` (the fault's defaults; ``limit`` None: ``CYCLE_LIMIT``)."""
        return injected(fault, target, limit=CYCLE_LIMIT if limit is None else limit, **options)

    def _trickle(
        self, target: str, *, page: int | None = None, region: str | None = None
    ) -> tuple[int, float] | None:
        """(bytes per write, pause) of an active ``trickle`` fault, used up once; else None."""
        slow = self.faults.take(Fault.TRICKLE, target, page=page, region=region)
        return (slow.chunk_bytes, slow.seconds) if slow is not None else None


class Countdown:
    """Faults that fire a number of times per key (throttles); thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._left: dict[str, int] = {}

    def set(self, key: str, times: int) -> None:
        with self._lock:
            self._left[key] = max(0, int(times))

    def take(self, *keys: str) -> bool:
        """Use up one firing of the first of ``keys`` that has any left."""
        with self._lock:
            for key in keys:
                left = self._left.get(key, 0)
                if left > 0:
                    self._left[key] = left - 1
                    return True
            return False

    def clear(self) -> None:
        with self._lock:
            self._left.clear()


class Delays:
    """Seconds to sleep per key (an API, a region), ``"*"`` for every key; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seconds: dict[str, float] = {}

    def set(self, key: str, seconds: float, *, keep_zero: bool = False) -> None:
        """Sleep ``seconds`` on ``key``; ``<= 0`` ends it (or stores 0 with ``keep_zero``,
        which overrides ``"*"`` for that key)."""
        with self._lock:
            if seconds > 0 or keep_zero:
                self._seconds[key] = max(0.0, float(seconds))
            else:
                self._seconds.pop(key, None)

    def get(self, key: str) -> float:
        """The delay of ``key``, else of ``"*"``, else 0."""
        with self._lock:
            return self._seconds.get(key, self._seconds.get("*", 0.0))

    def clear(self) -> None:
        with self._lock:
            self._seconds.clear()


class PageFaults(Generic[V]):
    """Broken pages per (key, page), each with how often (None: until cleared)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[tuple[str, int], tuple[V, int | None]] = {}

    def set(self, key: str, page: int, value: V, times: int | None) -> None:
        with self._lock:
            self._items[(key, int(page))] = (value, times)

    def take(self, key: str, page: int) -> V | None:
        """The fault of this page, one of its times used up; None if there is none."""
        with self._lock:
            item = self._items.get((key, page))
            if item is None:
                return None
            value, times = item
            if times is not None:
                if times <= 0:
                    del self._items[(key, page)]
                    return None
                if times == 1:
                    del self._items[(key, page)]
                else:
                    self._items[(key, page)] = (value, times - 1)
            return value

    def peek(self, key: str, page: int) -> V | None:
        """The fault of this page, without using it up."""
        with self._lock:
            item = self._items.get((key, page))
            return None if item is None else item[0]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10  # seconds an idle keep-alive connection is kept
    server: _Server

    def setup(self) -> None:
        super().setup()
        # headers and body go out in two writes: without this, delayed ACKs cost ~40 ms
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        fake = self.server.fake
        with fake._lock:
            fake._connections.add(self.connection)

    def finish(self) -> None:
        fake = self.server.fake
        with fake._lock:
            fake._connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read the fake's request log instead."""

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def _serve(self, method: str) -> None:
        fake = self.server.fake
        if method not in fake.methods:
            self.send_error(501, f"Unsupported method ({method!r})")
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        reply = fake._respond(method, self.path, self.headers, body)
        if reply is None:  # the fake is stopping, or answers nothing on purpose
            self.close_connection = True
            return
        fake._send(self, reply)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, fake: FakeServer[Any]) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", 0), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind would look the host name up (getfqdn); not needed here.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "127.0.0.1", int(self.server_address[1])

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], OSError):
            return  # a client hung up; nothing to report
        super().handle_error(request, client_address)


__all__ = ["Countdown", "Delays", "FakeServer", "PageFaults", "Reply"]
