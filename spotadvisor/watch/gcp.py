"""GCP: preemption and host-maintenance notices from the Compute Engine metadata server.

- ``instance/preempted`` answers ``TRUE`` once the Spot (or preemptible) VM is being
  preempted. The first GET is plain and gives the value and its ``ETag``; later GETs
  hang with ``?wait_for_change=true&last_etag=E&timeout_sec=T`` and return as soon as
  the value changes, or after T seconds with the same value. T is the poll interval
  (1-300 s), so the hanging GET *is* the wait between polls and a preemption is seen
  within milliseconds. The HTTP timeout is T plus the request timeout.
- GCP gives 30 s from the preemption notice to the shutdown (ACPI G2 soft off, then
  hard off), so the deadline is the time ``TRUE`` was first seen plus 30 s.
- ``instance/maintenance-event`` (plain GET each poll) is ``NONE`` or
  ``MIGRATE_ON_HOST_MAINTENANCE`` / ``TERMINATE_ON_HOST_MAINTENANCE``: a maintenance
  notice (no deadline), once per change away from ``NONE``.

Every request sends ``Metadata-Flavor: Google``. The base URL comes from
``GCE_METADATA_HOST`` (``host[:port]``, as google-auth reads it) when set.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.parse import quote

from spotadvisor.watch.http import MetadataError, MetadataUnavailable, Response, request, safe_url
from spotadvisor.watch.notice import Identity, Notice

DEFAULT_URL = "http://metadata.google.internal"
HOST_ENV = "GCE_METADATA_HOST"
FLAVOR = {"Metadata-Flavor": "Google"}
PREFIX = "/computeMetadata/v1/"
PREEMPTED = PREFIX + "instance/preempted"
MAINTENANCE = PREFIX + "instance/maintenance-event"
NOTICE_LEAD = timedelta(seconds=30)  # GCP's documented preemption notice
MAX_WAIT = 300  # seconds a hanging GET may last
IDENTITY_PATHS = {
    "instance_id": "instance/id",
    "name": "instance/name",
    "zone": "instance/zone",
    "instance_type": "instance/machine-type",
}


def base_url_from_env(env: dict[str, str]) -> str:
    """The metadata server's URL: ``GCE_METADATA_HOST`` if set, else the default."""
    host = env.get(HOST_ENV, "").strip()
    if not host:
        return DEFAULT_URL
    return host if "://" in host else f"http://{host}"


class GcpSource:
    """Watches the metadata server for preemption and host maintenance.

    Parameters
    ----------
    base_url
        The metadata server, e.g. ``http://metadata.google.internal``.
    interval
        Seconds between polls; the hanging GET waits this long (whole seconds, 1-300).
    timeout
        Seconds allowed per plain request (connect and each read).
    """

    cloud = "gcp"

    def __init__(self, base_url: str, *, interval: float = 5.0, timeout: float = 2.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.wait = int(min(max(1, math.ceil(interval)), MAX_WAIT))
        self.timeout = timeout
        self._etag: str | None = None
        self._preempted_at: datetime | None = None
        self._maintenance: tuple[str, datetime] | None = None
        self._identity: Identity | None = None

    @property
    def label(self) -> str:
        """``GCP at http://...``, as the agent tells the user."""
        return f"GCP at {safe_url(self.base_url)}"

    def _get(self, path: str, *, hang: bool = False) -> Response:
        url = self.base_url + path
        timeout = self.timeout
        if hang and self._etag is not None:
            url += f"?wait_for_change=true&last_etag={quote(self._etag, safe='')}&timeout_sec={self.wait}"
            timeout = self.wait + self.timeout
        return request("GET", url, headers=dict(FLAVOR), timeout=timeout)

    def identity(self) -> Identity:
        """The instance (fetched once; fields it could not read stay None)."""
        if self._identity is not None:
            return self._identity
        values: dict[str, str | None] = dict.fromkeys(IDENTITY_PATHS)
        for key, path in IDENTITY_PATHS.items():
            try:
                answer = self._get(PREFIX + path)
            except MetadataUnavailable:
                break
            text = answer.text().strip()
            if answer.status == 200 and text:
                values[key] = text.rsplit("/", 1)[-1]  # projects/N/zones/Z -> Z
        zone = values["zone"]
        region = zone.rsplit("-", 1)[0] if zone and zone.count("-") >= 2 else None
        found = Identity(region=region, **values)
        if found.instance_id is not None:
            self._identity = found
        return found

    def poll(self, now: Callable[[], datetime]) -> list[Notice]:
        """Maintenance first (quick), then the preemption flag (hanging until a change).

        Raises
        ------
        MetadataError
            On outages, error statuses and values the metadata server does not send.
        """
        notices = self._maintenance_notice(now)
        answer = self._get(PREEMPTED, hang=True)
        if answer.status != 200:
            raise MetadataError(f"GET {PREEMPTED}: HTTP {answer.status}")
        value = answer.text().strip().upper()
        if value not in {"TRUE", "FALSE"}:
            raise MetadataError(f"GET {PREEMPTED}: neither TRUE nor FALSE")
        self._etag = answer.headers.get("etag") or None
        if value == "TRUE":
            if self._preempted_at is None:
                self._preempted_at = now()
            identity = self.identity()
            notices.append(
                Notice(
                    kind="termination",
                    cloud=self.cloud,
                    action="preempted",
                    notice_time=self._preempted_at,
                    deadline=self._preempted_at + NOTICE_LEAD,
                    event_id=f"preempted:{identity.instance_id or 'unknown-instance'}",
                ).with_identity(identity)
            )
        return notices

    def _maintenance_notice(self, now: Callable[[], datetime]) -> list[Notice]:
        answer = self._get(MAINTENANCE)
        if answer.status == 404:  # servers without the key: nothing scheduled
            return []
        if answer.status != 200:
            raise MetadataError(f"GET {MAINTENANCE}: HTTP {answer.status}")
        value = answer.text().strip()
        if not value or value.upper() == "NONE":
            self._maintenance = None
            return []
        if self._maintenance is None or self._maintenance[0] != value:
            self._maintenance = (value, now())
        seen = self._maintenance[1]
        return [
            Notice(
                kind="maintenance",
                cloud=self.cloud,
                action=value,
                notice_time=seen,
                deadline=None,
                event_id=f"maintenance:{value}@{seen.strftime('%Y-%m-%dT%H:%M:%SZ')}",
            ).with_identity(self.identity())
        ]

    def acknowledge(self, notice: Notice) -> int | None:
        """GCP has nothing to acknowledge: None."""
        return None
