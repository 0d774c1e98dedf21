"""Azure: Spot eviction and maintenance notices from IMDS Scheduled Events.

- ``GET /metadata/scheduledevents?api-version=2020-07-01`` with ``Metadata: true``
  answers ``{"DocumentIncarnation", "Events": [...]}``. Events list the VMs they touch
  by name in ``Resources``; a document is shared by an availability set or a scale-set
  placement group, so events for other VMs are ignored.
- ``Preempt`` (Spot eviction, at least 30 s ahead) and ``Terminate`` (deletion) are
  termination notices; the deadline is ``NotBefore`` (RFC 1123; blank once the event has
  started) and the dedupe key is ``EventId``.
- After the ``--on-notice`` hook has finished (or timed out), the agent acknowledges the
  event by POSTing ``{"StartRequests": [{"EventId": ...}]}`` to the same URL, so Azure
  may go ahead without waiting for ``NotBefore``.
- ``Freeze``, ``Reboot`` and ``Redeploy`` are maintenance notices: ``--on-rebalance`` runs,
  and they are *not* acknowledged: approving would bring the maintenance forward, which
  the agent cannot know is safe. Acknowledge them from the hook if you want that.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from spotadvisor.watch.http import MetadataError, MetadataUnavailable, request, safe_url
from spotadvisor.watch.notice import Identity, Kind, Notice

DEFAULT_URL = "http://169.254.169.254"
HEADERS = {"Metadata": "true"}
EVENTS_PATH = "/metadata/scheduledevents?api-version=2020-07-01"
INSTANCE_PATH = "/metadata/instance?api-version=2021-02-01"
TERMINATIONS = frozenset({"Preempt", "Terminate"})


class AzureSource:
    """Polls Scheduled Events for this VM.

    Parameters
    ----------
    base_url
        IMDS, e.g. ``http://169.254.169.254``.
    timeout
        Seconds allowed per request (connect and each read).
    """

    cloud = "azure"

    def __init__(self, base_url: str, *, timeout: float = 2.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._identity: Identity | None = None

    @property
    def label(self) -> str:
        """``Azure at http://...``, as the agent tells the user."""
        return f"Azure at {safe_url(self.base_url)}"

    def identity(self) -> Identity:
        """The VM, from the instance document (fetched once; None where unknown)."""
        if self._identity is not None:
            return self._identity
        try:
            answer = request(
                "GET", self.base_url + INSTANCE_PATH, headers=dict(HEADERS), timeout=self.timeout
            )
            document = json.loads(answer.body) if answer.status == 200 else {}
        except (MetadataUnavailable, ValueError):
            return Identity()
        compute = document.get("compute") if isinstance(document, dict) else None
        if not isinstance(compute, dict):
            return Identity()

        def text(key: str) -> str | None:
            value = compute.get(key)
            return value if isinstance(value, str) and value else None

        location, zone = text("location"), text("zone")
        found = Identity(
            instance_id=text("vmId"),
            instance_type=text("vmSize"),
            zone=f"{location}-{zone}" if location and zone else None,
            region=location,
            name=text("name"),
        )
        if found.instance_id is not None:
            self._identity = found
        return found

    def poll(self, now: Callable[[], datetime]) -> list[Notice]:
        """The scheduled events for this VM, as notices.

        Raises
        ------
        MetadataError
            On outages, error statuses and documents that are not Scheduled Events.
        """
        answer = request(
            "GET", self.base_url + EVENTS_PATH, headers=dict(HEADERS), timeout=self.timeout
        )
        if answer.status != 200:
            raise MetadataError(f"GET {EVENTS_PATH}: HTTP {answer.status}")
        try:
            document = json.loads(answer.body)
        except ValueError:
            raise MetadataError(f"GET {EVENTS_PATH}: the answer is not JSON") from None
        events = document.get("Events") if isinstance(document, dict) else None
        if not isinstance(events, list):
            raise MetadataError(f"GET {EVENTS_PATH}: no Events list in the answer")
        if not events:
            return []
        identity = self.identity()
        notices = []
        for event in events:
            notice = self._notice(event, identity, now)
            if notice is not None:
                notices.append(notice)
        return notices

    def _notice(
        self, event: object, identity: Identity, now: Callable[[], datetime]
    ) -> Notice | None:
        if not isinstance(event, dict):
            raise MetadataError(f"GET {EVENTS_PATH}: an event is not a JSON object")
        event_id, event_type = event.get("EventId"), event.get("EventType")
        if not isinstance(event_id, str) or not event_id or not isinstance(event_type, str):
            raise MetadataError(f"GET {EVENTS_PATH}: an event has no EventId or EventType")
        resources = event.get("Resources")
        if (
            identity.name
            and isinstance(resources, list)
            and resources
            and identity.name not in resources
        ):
            return None  # another VM of the availability set or placement group
        kind: Kind = "termination" if event_type in TERMINATIONS else "maintenance"
        return Notice(
            kind=kind,
            cloud=self.cloud,
            action=event_type,
            notice_time=now(),
            deadline=_not_before(event.get("NotBefore")),
            event_id=event_id,
        ).with_identity(identity)

    def acknowledge(self, notice: Notice) -> int | None:
        """Approve a termination event (StartRequests); the HTTP status, None if not ours.

        Raises
        ------
        MetadataError
            When IMDS cannot be reached.
        """
        if notice.kind != "termination":
            return None
        body = json.dumps({"StartRequests": [{"EventId": notice.event_id}]}).encode()
        answer = request(
            "POST",
            self.base_url + EVENTS_PATH,
            headers={**HEADERS, "Content-Type": "application/json"},
            body=body,
            timeout=self.timeout,
        )
        return answer.status


def _not_before(value: object) -> datetime | None:
    """``NotBefore`` (RFC 1123) as UTC; None when blank (started) or unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
