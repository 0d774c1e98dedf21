"""A local fake of Compute Engine's ``advice`` API: ``capacityHistory`` and ``capacity``.

``FakeGcpAdvice`` is a ``tests.fakes.base.FakeServer`` (HTTP on 127.0.0.1, port chosen
by the OS). ``compute_v1.AdviceClient(transport=
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

import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from tests.fakes.base import FakeServer, Reply
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


class FakeGcpAdvice(FakeServer[LoggedRequest]):
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
        super().__init__()
        self.project = project
        self.history: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.capacity: dict[tuple[str, str], dict[str, Any]] = {}
        self.denied: set[str] = set()
        self.problems: list[str] = []

    def bodies(self, method: str) -> list[dict[str, Any]]:
        """The JSON bodies of every ``capacityHistory`` or ``capacity`` request."""
        with self._lock:
            return [r.body for r in self.requests if r.path.endswith(f"/advice/{method}")]

    # -- request handling (called from handler threads)

    def _respond(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Reply:
        status, document = self._handle(method, target, body)
        content_type = ("Content-Type", "application/json; charset=UTF-8")
        return Reply(status, json.dumps(document).encode(), (content_type,))

    def _handle(self, method: str, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
        try:
            payload = json.loads(body) if body else None
        except ValueError:
            payload = {"raw": body.decode("utf-8", "replace")}
        self._record(LoggedRequest(method, path, payload))
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


__all__ = ["FakeGcpAdvice", "LoggedRequest", "daily", "record"]
