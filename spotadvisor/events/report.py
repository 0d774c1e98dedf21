"""The report's interruptions: the store's events of the month plus ``--watch-log`` files.

Both are merged per instance (a notice seen by EventBridge and by the instance's own
``watch`` agent counts once) and enriched from billing, then handed to the report's
:func:`spotadvisor.report.interruptions.summarise` as :class:`InterruptionEvent`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from spotadvisor.errors import UsageError
from spotadvisor.events.parse import FleetEvent, events_from_notices
from spotadvisor.events.store import enrich_from_billing, merge_sources, read_events
from spotadvisor.report.interruptions import InterruptionEvent
from spotadvisor.schema import BILLING

if TYPE_CHECKING:
    from spotadvisor.report.period import Month
    from spotadvisor.store import Store

SOURCE_LABELS = {
    "aws-eventbridge-sqs": "EventBridge",
    "gcp-cloud-logging": "Cloud Logging",
    "azure-activity-log": "Activity Log",
    "watch-log": "imported watch logs",
}


def watch_log_events(paths: Sequence[Path]) -> list[FleetEvent]:
    """Events of ``watch --log`` files (source ``watch log NAME``).

    Raises
    ------
    UsageError
        For a missing file or a line that is not a watch record.
    """
    from spotadvisor.watch.notice import read_watch_log

    out: list[FleetEvent] = []
    for path in paths:
        if not path.is_file():
            raise UsageError(
                "no such watch log",
                file=str(path),
                field="--watch-log",
                fix="give the file 'spotadvisor watch --log FILE' wrote",
            )
        out += events_from_notices(read_watch_log(path), source=f"watch log {path.name}")
    return out


def report_events(
    store: Store, month: Month, watch_logs: Sequence[Path] = ()
) -> list[InterruptionEvent] | None:
    """The month's interruptions from the store and ``watch_logs``, one per interruption.

    None when neither the store nor a watch log has any event for the month (the report
    then says it has no interruption data).
    """
    extra = [e for e in watch_log_events(watch_logs) if month.start <= e.notice_time < month.end]
    stored = read_events(store, month.start, month.end) if store.exists() else []
    if not stored and not watch_logs:
        return None
    events = stored + extra
    billing = store.read(BILLING) if store.exists() else None
    if billing is not None and not billing.empty:
        events = enrich_from_billing(events, billing)
    merged = merge_sources(events)
    return [
        InterruptionEvent(
            cloud=e.cloud,
            notice_time=e.notice_time,
            action=e.action,
            source=SOURCE_LABELS.get(e.source, e.source),
            region=e.region,
            zone=e.zone,
            instance_type=e.instance_type,
            instance_id=e.instance_id,
        )
        for e in merged
        if e.event_type == "interruption" and e.market != "on-demand"
    ]
