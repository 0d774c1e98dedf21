"""Azure spot evictions from the Activity Log through azure-mgmt-monitor.

One ``GET /subscriptions/{id}/providers/Microsoft.Insights/eventtypes/management/values``
per page (api-version 2015-04-01) with a ``$filter`` on ``eventTimestamp`` and
``resourceProvider eq 'Microsoft.Compute'``; ``nextLink`` pages on. Evictions are the
``.../evictSpotVM/action`` operations. The Activity Log keeps 90 days. Reader role
(``Microsoft.Insights/eventtypes/values/read``) on each subscription is enough.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from spotadvisor.errors import UsageError
from spotadvisor.events.parse import (
    FleetEvent,
    PoisonMessage,
    azure_activity_filter,
    earliest,
    parse_azure_activity,
)

SOURCE = "azure-activity-log"
DEFAULT_ENDPOINT = "https://management.azure.com"
SELECT = (
    "eventTimestamp,operationName,operationId,correlationId,resourceId,status,"
    "resourceGroupName,resourceProviderName,subscriptionId,eventDataId"
)


def get_evictions(
    subscriptions: Sequence[str],
    start: datetime,
    end: datetime,
    *,
    endpoint: str | None = None,
    credential: Any = None,
    on_bad: Callable[[str], None] | None = None,
) -> list[FleetEvent]:
    """Spot evictions in ``subscriptions`` within ``[start, end)`` (one per operation).

    Parameters
    ----------
    subscriptions
        Subscription ids.
    start, end
        The window (UTC).
    endpoint
        ARM root (default ``https://management.azure.com``); plain ``http://`` only on
        the loopback interface (tests), where the bearer token is let through.
    credential
        An azure-core ``TokenCredential``; None: ``DefaultAzureCredential``.
    on_bad
        Called with a reason for each eviction event that cannot be read.
    """
    from spotadvisor.collect.azure_options import plain_http_allowed

    if not subscriptions:
        raise UsageError(
            "no Azure subscription given",
            field="--subscription",
            fix="add --subscription ID (repeatable)",
        )
    base = endpoint or DEFAULT_ENDPOINT
    insecure = plain_http_allowed(base, "--endpoint-url")
    try:
        from azure.mgmt.monitor import MonitorManagementClient
    except ImportError:
        raise UsageError(
            "azure-mgmt-monitor is not installed",
            field="events collect azure",
            fix="pip install 'spotadvisor[azure]'",
        ) from None
    if credential is None:
        from azure.identity import DefaultAzureCredential

        credential = DefaultAzureCredential()
    extra = {"enforce_https": False} if insecure else {}
    out: list[FleetEvent] = []
    for subscription in subscriptions:
        client = MonitorManagementClient(credential, subscription, base_url=base)
        pager = client.activity_logs.list(
            filter=azure_activity_filter(start, end), select=SELECT, **extra
        )
        for item in pager:
            try:
                event = parse_azure_activity(item.serialize(keep_readonly=True), source=SOURCE)
            except PoisonMessage as exc:
                if on_bad is not None:
                    on_bad(str(exc))
                continue
            if event is not None and start <= event.notice_time < end:
                out.append(event)
    return earliest(out)
