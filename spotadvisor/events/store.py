"""Events in and out of the store's ``interruption_events`` table.

Rows are keyed on ``event_id`` (stable within a source), so a redelivered SQS message,
a re-run of a log query or a re-imported watch log changes nothing. The same
interruption seen by two sources (an EventBridge warning and the instance's own
``watch`` log) is two rows; readers merge them with :func:`merge_sources`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import pandas as pd

from spotadvisor.events.parse import FleetEvent, fill
from spotadvisor.importers.base import ImportBatch
from spotadvisor.schema import BILLING, INTERRUPTION_EVENTS, validate

if TYPE_CHECKING:
    from spotadvisor.store import Store

#: two notices of one instance closer than this are one interruption seen twice
SAME_EVENT_WINDOW = timedelta(minutes=15)


@dataclass(frozen=True)
class Written:
    """What one write did.

    Attributes
    ----------
    new
        Events whose ``event_id`` the store did not hold yet.
    repeated
        Events it already held (redeliveries, re-runs): nothing changed for them.
    """

    new: tuple[FleetEvent, ...]
    repeated: int


def events_frame(events: Sequence[FleetEvent]) -> pd.DataFrame:
    """Rows of ``interruption_events`` for ``events`` (``as_of`` is the notice time)."""
    frame = pd.DataFrame(
        {
            "event_id": [e.event_id for e in events],
            "cloud": [e.cloud for e in events],
            "region": [e.region for e in events],
            "zone": [e.zone for e in events],
            "instance_type": [e.instance_type for e in events],
            "instance_id": [e.instance_id for e in events],
            "market": [e.market for e in events],
            "event_type": [e.event_type for e in events],
            "action": [e.action for e in events],
            "notice_time": [e.notice_time for e in events],
            "source": [e.source for e in events],
            "as_of": [e.notice_time for e in events],
        },
        columns=INTERRUPTION_EVENTS.column_names,
    )
    return validate(frame, INTERRUPTION_EVENTS, origin="events")


def write_events(store: Store, events: Sequence[FleetEvent], *, origin: str) -> Written:
    """Store ``events`` in one transaction; a stored ``event_id`` is kept as it is.

    Events already stored are not rewritten, so the first source to report an event
    keeps its fields. Events are grouped by ``source`` into one batch each.
    """
    if not events:
        return Written((), 0)
    known = stored_ids(store, [e.event_id for e in events])
    fresh: dict[str, FleetEvent] = {}
    for e in events:
        if e.event_id not in known:
            fresh[e.event_id] = fill(fresh[e.event_id], e) if e.event_id in fresh else e
    new = tuple(fresh.values())
    by_source: dict[str, list[FleetEvent]] = {}
    for e in new:
        by_source.setdefault(e.source, []).append(e)
    batches = [
        ImportBatch(INTERRUPTION_EVENTS, events_frame(group), source, origin)
        for source, group in sorted(by_source.items())
    ]
    if batches:
        store.write(batches)
    return Written(new, len(events) - len(new))


def stored_ids(store: Store, ids: Iterable[str]) -> set[str]:
    """Which of ``ids`` the store already holds."""
    wanted = set(ids)
    if not wanted or not store.exists():
        return set()
    frame = store.read(INTERRUPTION_EVENTS)
    return wanted & set(frame["event_id"].dropna())


def read_events(
    store: Store,
    start: datetime | None = None,
    end: datetime | None = None,
    *,
    event_types: Sequence[str] | None = None,
) -> list[FleetEvent]:
    """Stored events with ``start <= notice_time < end`` (either bound may be None)."""
    frame = store.read(INTERRUPTION_EVENTS)
    if start is not None:
        frame = frame[frame["notice_time"] >= pd.Timestamp(start)]
    if end is not None:
        frame = frame[frame["notice_time"] < pd.Timestamp(end)]
    if event_types is not None:
        frame = frame[frame["event_type"].isin(list(event_types))]
    return [_event({str(k): v for k, v in r.items()}) for r in frame.to_dict("records")]


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _event(row: dict[str, object]) -> FleetEvent:
    when = row["notice_time"]
    assert isinstance(when, pd.Timestamp)
    return FleetEvent(
        event_id=str(row["event_id"]),
        cloud=str(row["cloud"]),
        event_type=str(row["event_type"]),
        action=str(row["action"]),
        notice_time=when.to_pydatetime(),
        source=str(row["source"]),
        region=_text(row["region"]),
        zone=_text(row["zone"]),
        instance_type=_text(row["instance_type"]),
        instance_id=_text(row["instance_id"]),
        market=_text(row["market"]),
    )


def merge_sources(
    events: Iterable[FleetEvent], window: timedelta = SAME_EVENT_WINDOW
) -> list[FleetEvent]:
    """One event per interruption: notices of the same type for the same instance within
    ``window`` of the first are one event (the earliest, blanks filled from the rest).

    Events without an instance id are kept as they are.
    """
    out: list[FleetEvent] = []
    last: dict[tuple[str, str, str], int] = {}
    for e in sorted(events, key=lambda e: e.notice_time):
        if e.instance_id is None:
            out.append(e)
            continue
        key = (e.cloud, e.instance_id.lower(), e.event_type)
        at = last.get(key)
        if at is not None and e.notice_time - out[at].notice_time <= window:
            out[at] = fill(out[at], e)
            continue
        last[key] = len(out)
        out.append(e)
    return out


def enrich_from_billing(events: Sequence[FleetEvent], billing: pd.DataFrame) -> list[FleetEvent]:
    """Fill unknown region, zone and instance type from billing lines of the same resource.

    A billing line matches when its ``resource_id`` equals the event's instance id or
    ends with ``/<instance id>`` (GCP and Azure write paths), case-insensitively.
    """
    lines = billing.dropna(subset=["resource_id", "instance_type"])
    if lines.empty:
        return list(events)
    facts: dict[str, tuple[str | None, str | None, str]] = {}
    for r in lines.to_dict("records"):
        facts[str(r["resource_id"]).lower()] = (
            _text(r["region_id"]),
            _text(r["availability_zone"]),
            str(r["instance_type"]),
        )
    out = []
    for e in events:
        if e.instance_id is None or (e.instance_type and e.region):
            out.append(e)
            continue
        wanted = e.instance_id.lower()
        found = facts.get(wanted) or next(
            (v for k, v in facts.items() if k.endswith("/" + wanted)), None
        )
        if found is None:
            out.append(e)
            continue
        region, zone, kind = found
        out.append(
            replace(
                e,
                region=e.region or region,
                zone=e.zone or zone,
                instance_type=e.instance_type or kind,
            )
        )
    return out


def fleet_events(
    store: Store,
    start: datetime | None,
    end: datetime | None,
    *,
    extra: Iterable[FleetEvent] = (),
) -> list[FleetEvent]:
    """Stored events in the window plus ``extra``, enriched from billing, sources merged."""
    events = read_events(store, start, end) + [
        e
        for e in extra
        if (start is None or e.notice_time >= start) and (end is None or e.notice_time < end)
    ]
    billing = store.read(BILLING) if store.exists() else None
    if billing is not None and not billing.empty:
        events = enrich_from_billing(events, billing)
    return merge_sources(events)
