"""A local fake of Compute Engine's ``advice`` API: ``capacityHistory`` and ``capacity``.

``FakeGcpAdvice`` is a ``http.server.ThreadingHTTPServer`` on 127.0.0.1 (port chosen by
the OS), started like ``tests.fakes.gcp.FakeGcp``. ``compute_v1.AdviceClient(transport=
"rest", client_options=ClientOptions(api_endpoint=fake.url))`` with
``AnonymousCredentials`` talks to it as to Google:

``POST /compute/v1/projects/{project}/regions/{region}/advice/capacityHistory``
    Body ``CapacityHistoryRequest`` in the REST wire format (camelCase):
    ``instanceProperties{machineType, scheduling{provisioningModel}}``,
    ``locationPolicy{location}``, ``types``. The fake checks what spotadvisor must send
    (provisioningModel ``SPOT``, a location ``zones/<zone>`` in the path's region, types
    ``[PREEMPTION]``) and answers ``CapacityHistoryResponse``: ``location`` (a zone URL),
    ``machineType`` and ``preemptionHistory`` (the records set in ``history`` for the
    zone and machine type, else none).

``POST /compute/v1/projects/{project}/regions/{region}/advice/capacity``
    Body ``CapacityAdviceRequest``: ``size``, ``instanceFlexibilityPolicy{
    instanceSelections{<name>: {machineTypes}}}``, ``instanceProperties{scheduling{
    provisioningModel}}``, ``distributionPolicy{targetShape, zones[{zone}]}``. Checked:
    one selection of one machine type, SPOT, ``ANY_SINGLE_ZONE`` and one zone of the
    region, a size of at least 1. Answers ``{recommendations: [{scores{obtainability,
    estimatedUptime}, shards[{zone, machineType, instanceCount, provisioningModel}]}]}``
    from ``capacity`` for the zone and machine type, else no recommendation.

A request the fake finds wrong gets HTTP 400 ``INVALID_ARGUMENT`` and is listed in
``problems`` (tests assert it stays empty); a machine type in ``denied`` gets HTTP 403
``PERMISSION_DENIED`` as Google words it; another project than ``project`` gets 403 too.
``requests`` logs ``LoggedRequest(method, path, body)`` for every request.

The preemption records and scores are SYNTHETIC (no public sample of these answers
exists); ``daily`` builds records on Pacific-midnight boundaries as GCP publishes them.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import socketserver
import sys
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, NamedTuple, Self

from tests.fakes.gcp import PROJECT_ID

_PATH = re.compile(
    r"^/compute/v1/projects/(?P<project>[^/]+)/regions/(?P<region>[^/]+)"
    r"/advice/(?P<method>capacityHistory|capacity)$"
)
_ZONE = re.compile(r"^zones/(?P<zone>[a-z0-9-]+)$")


class LoggedRequest(NamedTuple):
    """One request the fake received."""

    method: str
    path: str
    body: Any


def record(start: str, end: str, rate: float | None) -> dict[str, Any]:
    """One ``preemptionHistory`` record (no ``preemptionRate`` key when ``rate`` is None)."""
    out: dict[str, Any] = {"interval": {"startTime": start, "endTime": end}}
    if rate is not None:
        out["preemptionRate"] = rate
    return out


def daily(first_day: datetime, rates: Sequence[float | None]) -> list[dict[str, Any]]:
    """Daily records from ``first_day`` (a Pacific midnight, with its offset), one per rate."""
    return [
        record(
            (first_day + timedelta(days=i)).isoformat(),
            (first_day + timedelta(days=i + 1)).isoformat(),
            rate,
        )
        for i, rate in enumerate(rates)
    ]


class _Reject(Exception):
    def __init__(self, status: int, status_name: str, message: str, reason: str) -> None:
        super().__init__(message)
        self.status, self.status_name, self.message, self.reason = (
            status,
            status_name,
            message,
            reason,
        )


class FakeGcpAdvice:
    """A local HTTP server answering ``advice.capacityHistory`` and ``advice.capacity``.

    Attributes
    ----------
    history
        (zone, machine type) -> ``preemptionHistory`` records (wire format).
    capacity
        (zone, machine type) -> ``scores`` (``{"obtainability": 0.5, "estimatedUptime":
        "7200s"}``).
    denied
        Machine types whose calls get HTTP 403.
    """

    def __init__(self, project: str = PROJECT_ID) -> None:
        self.project = project
        self.history: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.capacity: dict[tuple[str, str], dict[str, Any]] = {}
        self.denied: set[str] = set()
        self.requests: list[LoggedRequest] = []
        self.problems: list[str] = []
        self._lock = threading.Lock()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle

    def start(self) -> Self:
        """Bind 127.0.0.1 on a free port and serve in a background thread."""
        if self._httpd is None:
            self._httpd = _Server(self)
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

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
            raise RuntimeError("FakeGcpAdvice is not started")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def bodies(self, method: str) -> list[dict[str, Any]]:
        """The JSON bodies of every ``capacityHistory`` or ``capacity`` request."""
        with self._lock:
            return [r.body for r in self.requests if r.path.endswith(f"/advice/{method}")]

    # -- request handling (called from handler threads)

    def _handle(self, method: str, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
        try:
            payload = json.loads(body) if body else None
        except ValueError:
            payload = {"raw": body.decode("utf-8", "replace")}
        with self._lock:
            self.requests.append(LoggedRequest(method, path, payload))
        try:
            match = _PATH.match(path.split("?", 1)[0])
            if method != "POST" or match is None:
                raise _Reject(404, "NOT_FOUND", f"The URL {path} was not found.", "notFound")
            if match["project"] != self.project:
                raise _Reject(
                    403,
                    "PERMISSION_DENIED",
                    f"Permission denied on resource project {match['project']}.",
                    "forbidden",
                )
            if not isinstance(payload, Mapping):
                raise self._bad(f"{path}: the body is not a JSON object")
            if match["method"] == "capacityHistory":
                return 200, self._history(match["region"], payload)
            return 200, self._capacity(match["region"], payload)
        except _Reject as err:
            return err.status, {
                "error": {
                    "code": err.status,
                    "message": err.message,
                    "status": err.status_name,
                    "errors": [{"message": err.message, "domain": "global", "reason": err.reason}],
                }
            }

    def _bad(self, problem: str) -> _Reject:
        with self._lock:
            self.problems.append(problem)
        return _Reject(400, "INVALID_ARGUMENT", f"Invalid value: {problem}", "invalid")

    def _zone(self, region: str, location: Any, what: str) -> str:
        found = _ZONE.match(location) if isinstance(location, str) else None
        if found is None or not found["zone"].startswith(f"{region}-"):
            raise self._bad(f"{what} {location!r} is not zones/<a zone of {region}>")
        return found["zone"]

    def _deny(self, machine_type: str, permission: str) -> None:
        if machine_type in self.denied:
            raise _Reject(
                403,
                "PERMISSION_DENIED",
                f"Required '{permission}' permission for 'projects/{self.project}'",
                "forbidden",
            )

    def _history(self, region: str, body: Mapping[str, Any]) -> dict[str, Any]:
        props = body.get("instanceProperties") or {}
        machine_type = props.get("machineType")
        if not isinstance(machine_type, str) or not machine_type:
            raise self._bad("instanceProperties.machineType is missing")
        model = (props.get("scheduling") or {}).get("provisioningModel")
        if model != "SPOT":
            raise self._bad(f"provisioningModel {model!r} must be SPOT")
        if body.get("types") != ["PREEMPTION"]:
            raise self._bad(f"types {body.get('types')!r}: spotadvisor asks for PREEMPTION only")
        zone = self._zone(region, (body.get("locationPolicy") or {}).get("location"), "location")
        self._deny(machine_type, "compute.advice.capacityHistory")
        return {
            "location": f"https://www.googleapis.com/compute/v1/projects/{self.project}/zones/{zone}",
            "machineType": machine_type,
            "preemptionHistory": self.history.get((zone, machine_type), []),
        }

    def _capacity(self, region: str, body: Mapping[str, Any]) -> dict[str, Any]:
        size = body.get("size")
        if not isinstance(size, int) or size < 1:
            raise self._bad(f"size {size!r} must be a whole number of instances >= 1")
        selections = (body.get("instanceFlexibilityPolicy") or {}).get("instanceSelections") or {}
        types = [t for s in selections.values() for t in (s.get("machineTypes") or [])]
        if len(selections) != 1 or len(types) != 1:
            raise self._bad(f"instanceSelections {selections!r}: one machine type expected")
        machine_type = types[0]
        model = ((body.get("instanceProperties") or {}).get("scheduling") or {}).get(
            "provisioningModel"
        )
        if model != "SPOT":
            raise self._bad(f"provisioningModel {model!r} must be SPOT")
        policy = body.get("distributionPolicy") or {}
        if policy.get("targetShape") != "ANY_SINGLE_ZONE":
            raise self._bad(f"targetShape {policy.get('targetShape')!r} must be ANY_SINGLE_ZONE")
        zones = policy.get("zones") or []
        if len(zones) != 1:
            raise self._bad(f"zones {zones!r}: one zone expected")
        zone = self._zone(region, zones[0].get("zone"), "zone")
        self._deny(machine_type, "compute.advice.capacity")
        scores = self.capacity.get((zone, machine_type))
        if scores is None:
            return {"recommendations": []}
        shard = {
            "zone": zone,
            "machineType": machine_type,
            "instanceCount": size,
            "provisioningModel": "SPOT",
        }
        return {"recommendations": [{"scores": dict(scores), "shards": [shard]}]}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10  # seconds an idle keep-alive connection is kept
    server: _Server

    def setup(self) -> None:
        super().setup()
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read the fake's request log instead."""

    def do_GET(self) -> None:
        self._answer(*self.server.fake._handle("GET", self.path, b""))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self._answer(*self.server.fake._handle("POST", self.path, body))

    def _answer(self, status: int, document: dict[str, Any]) -> None:
        out = json.dumps(document).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)
        except OSError:  # the client gave up
            self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, fake: FakeGcpAdvice) -> None:
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


__all__ = ["FakeGcpAdvice", "LoggedRequest", "daily", "record"]
