"""GCP preemptions from Cloud Logging (``entries:list``) through google-cloud-logging.

The client runs over its JSON REST transport (``_use_grpc=False``): one ``POST
/v2/entries:list`` per page with ``resourceNames``, ``filter``, ``orderBy`` and
``pageToken``, which is also what lets tests point it at a local server. Credentials
are Application Default Credentials unless given (``roles/logging.viewer`` on each
project is enough).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from spotadvisor.errors import UsageError
from spotadvisor.events.parse import (
    FleetEvent,
    PoisonMessage,
    gcp_preemption_filter,
    parse_gcp_entry,
)

SOURCE = "gcp-cloud-logging"
PAGE_SIZE = 1000


def get_preemptions(
    projects: Sequence[str],
    start: datetime,
    end: datetime,
    *,
    endpoint: str | None = None,
    credentials: Any = None,
    page_size: int = PAGE_SIZE,
    on_bad: Any = None,
) -> list[FleetEvent]:
    """Preemptions of ``compute.instances.preempted`` in ``projects`` within ``[start, end)``.

    Parameters
    ----------
    projects
        Project ids whose logs are read (one request covers them all).
    start, end
        The window (UTC).
    endpoint
        API root (default ``https://logging.googleapis.com``); a local server in tests.
    credentials
        google-auth credentials; None: Application Default Credentials.
    page_size
        Entries per page.
    on_bad
        Called with a reason for each preemption entry that cannot be read.
    """
    if not projects:
        raise UsageError(
            "no GCP project given",
            field="--project",
            fix="add --project ID (repeatable) for each project whose preemptions to read",
        )
    try:
        from google.cloud import logging as _logging
    except ImportError:
        raise UsageError(
            "google-cloud-logging is not installed",
            field="events collect gcp",
            fix="pip install 'spotadvisor[gcp]'",
        ) from None
    gcp_logging: Any = _logging  # untyped SDK
    options = {"api_endpoint": endpoint} if endpoint else None
    client = gcp_logging.Client(
        project=projects[0], credentials=credentials, client_options=options, _use_grpc=False
    )
    entries = client.list_entries(
        resource_names=[f"projects/{p}" for p in projects],
        filter_=gcp_preemption_filter(start, end),
        order_by=gcp_logging.ASCENDING,
        page_size=page_size,
    )
    out: list[FleetEvent] = []
    for entry in entries:
        try:
            event = parse_gcp_entry(entry.to_api_repr(), source=SOURCE)
        except PoisonMessage as exc:
            if on_bad is not None:
                on_bad(str(exc))
            continue
        if event is not None:
            out.append(event)
    return out
