"""Local fakes of Cloud Logging ``entries:list`` and the Azure Activity Log, on 127.0.0.1.

``FakeCloudLogging``: ``POST /v2/entries:list`` with the JSON body the REST API takes
(``resourceNames``, ``filter``, ``orderBy``, ``pageSize``, ``pageToken``); answers
``{entries, nextPageToken}``. The filter subset honoured is the one spotadvisor sends:
``protoPayload.methodName="..."`` and ``timestamp>="..."``/``timestamp<"..."``; entries
are kept per project and only the projects in ``resourceNames`` are searched.

``FakeActivityLog``: ``GET /subscriptions/{id}/providers/Microsoft.Insights/eventtypes/
management/values?api-version=2015-04-01&$filter=...`` (bearer token required);
answers ``{value, nextLink}``, ``page_size`` events per page, filtering on
``eventTimestamp ge '...'`` and ``eventTimestamp le '...'`` and ``resourceProvider eq``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

from tests.fakes.base import FakeServer, Reply


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class _Server(FakeServer[dict[str, Any]]):
    """A JSON API on ``tests.fakes.base.FakeServer``: ``route`` answers (status, document)."""

    def _respond(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Reply:
        status, doc = self.route(method, target, headers, body)
        content_type = ("Content-Type", "application/json; charset=utf-8")
        return Reply(status, json.dumps(doc).encode(), (content_type,))

    def route(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, Any]:
        raise NotImplementedError


class FakeCloudLogging(_Server):
    """Cloud Logging's entries:list over ``entries`` (project -> list of LogEntry JSON)."""

    def __init__(self, entries: dict[str, list[dict[str, Any]]], page_size_max: int = 2) -> None:
        super().__init__()
        self.entries = entries
        self.page_size_max = page_size_max

    def route(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, Any]:
        if method != "POST" or urlparse(target).path != "/v2/entries:list":
            return 404, {"error": {"code": 404, "message": "not found", "status": "NOT_FOUND"}}
        request = json.loads(body or b"{}")
        self._record(request)
        flt = request.get("filter", "")
        method_name = re.search(r'protoPayload\.methodName="([^"]+)"', flt)
        lo = re.search(r'timestamp>="([^"]+)"', flt)
        hi = re.search(r'timestamp<"([^"]+)"', flt)
        found = []
        for name in request.get("resourceNames", []):
            for entry in self.entries.get(name.removeprefix("projects/"), []):
                if method_name and entry["protoPayload"]["methodName"] != method_name.group(1):
                    continue
                when = _time(entry["timestamp"])
                if (lo and when < _time(lo.group(1))) or (hi and when >= _time(hi.group(1))):
                    continue
                found.append(entry)
        found.sort(key=lambda e: e["timestamp"], reverse=request.get("orderBy") == "timestamp desc")
        start = int(request.get("pageToken") or 0)
        size = min(int(request.get("pageSize") or 50), self.page_size_max)
        doc: dict[str, Any] = {"entries": found[start : start + size]}
        if start + size < len(found):
            doc["nextPageToken"] = str(start + size)
        return 200, doc


class FakeActivityLog(_Server):
    """The Activity Log over ``events`` (subscription -> list of EventData JSON)."""

    PATH = re.compile(
        r"^/subscriptions/([^/]+)/providers/Microsoft\.Insights/eventtypes/management/values$"
    )

    def __init__(
        self, events: dict[str, list[dict[str, Any]]], token: str, page_size: int = 2
    ) -> None:
        super().__init__()
        self.events = events
        self.token = token
        self.page_size = page_size

    def route(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, Any]:
        if headers.get("Authorization") != f"Bearer {self.token}":
            return 401, {"error": {"code": "AuthenticationFailed", "message": "no token"}}
        parts = urlparse(target)
        match = self.PATH.match(parts.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if method != "GET" or not match:
            return 404, {"error": {"code": "NotFound", "message": parts.path}}
        if query.get("api-version") != "2015-04-01":
            return 400, {"error": {"code": "InvalidApiVersion", "message": "use 2015-04-01"}}
        self._record(query)
        flt = query.get("$filter", "")
        lo = re.search(r"eventTimestamp ge '([^']+)'", flt)
        hi = re.search(r"eventTimestamp le '([^']+)'", flt)
        provider = re.search(r"resourceProvider eq '([^']+)'", flt)
        if not (lo and hi):
            return 400, {
                "error": {"code": "BadRequest", "message": "eventTimestamp ge/le required"}
            }
        found = [
            e
            for e in self.events.get(match.group(1), [])
            if _time(lo.group(1)) <= _time(e["eventTimestamp"]) <= _time(hi.group(1))
            and (
                not provider
                or e["resourceProviderName"]["value"].lower() == provider.group(1).lower()
            )
        ]
        skip = int(query.get("$skipToken") or 0)
        doc: dict[str, Any] = {"value": found[skip : skip + self.page_size]}
        if skip + self.page_size < len(found):
            rest = {k: v for k, v in query.items() if k != "$skipToken"}
            doc["nextLink"] = (
                f"{self.url}{parts.path}?{urlencode({**rest, '$skipToken': skip + self.page_size})}"
            )
        return 200, doc
