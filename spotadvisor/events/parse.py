"""Pure parsers: one cloud event (as its service writes it) in, one :class:`FleetEvent` out.

Sources and what they say:

* **AWS EventBridge** (delivered to SQS, possibly wrapped in an SNS notification):
  ``EC2 Spot Instance Interruption Warning`` (``detail.instance-id``,
  ``detail.instance-action``: terminate, stop or hibernate), ``EC2 Instance Rebalance
  Recommendation`` (``detail.instance-id``) and ``EC2 Instance State-change
  Notification`` (``detail.instance-id``, ``detail.state``). None of them names the
  instance type or zone; the collector asks EC2 (``DescribeInstances``) and reads
  time from the event's ``time`` field.
* **GCP Cloud Logging**: the ``compute.instances.preempted`` system event, an audit log
  entry (``protoPayload.methodName``) on a ``gce_instance`` resource whose labels give
  the instance id and zone.
* **Azure Activity Log**: ``Microsoft.Compute/virtualMachines/evictSpotVM/action`` and
  ``Microsoft.Compute/virtualMachineScaleSets/evictSpotVM/action`` (any status; the
  operation id keeps one event per eviction). Simulated evictions are drills and are
  left out.
* **watch logs**: the notices ``spotadvisor watch --log`` wrote (Azure Scheduled Events,
  AWS and GCP metadata notices), for instances without event plumbing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from spotadvisor.watch.notice import Notice

SPOT_WARNING = "EC2 Spot Instance Interruption Warning"
REBALANCE = "EC2 Instance Rebalance Recommendation"
STATE_CHANGE = "EC2 Instance State-change Notification"
DETAIL_TYPES = (SPOT_WARNING, REBALANCE, STATE_CHANGE)
GCP_PREEMPTED = "compute.instances.preempted"
AZURE_EVICTION = "evictspotvm"  # matched case-insensitively inside operationName.value


class PoisonMessage(ValueError):
    """A message that is not an event at all (not JSON, or an event without its fields)."""


@dataclass(frozen=True)
class FleetEvent:
    """One event of one instance, from any source (a row of ``interruption_events``).

    Attributes
    ----------
    event_id
        Stable id within its source: the same event read twice has the same id.
    cloud
        ``aws``, ``gcp`` or ``azure``.
    event_type
        ``interruption``, ``rebalance``, ``state-change`` or ``maintenance``.
    action
        What the cloud announced (``terminate``, ``preempted``, ``evict``, a state...).
    notice_time
        When the cloud announced it (UTC).
    source
        Where it was read (``aws-eventbridge-sqs``, ``gcp-cloud-logging``...).
    region, zone, instance_type, instance_id
        The instance, where known.
    market
        ``spot``, ``on-demand`` or None when unknown.
    """

    event_id: str
    cloud: str
    event_type: str
    action: str
    notice_time: datetime
    source: str
    region: str | None = None
    zone: str | None = None
    instance_type: str | None = None
    instance_id: str | None = None
    market: str | None = None

    def record(self) -> dict[str, Any]:
        """The event as one JSON-ready object (what ``events follow`` prints)."""
        return {
            "event_id": self.event_id,
            "cloud": self.cloud,
            "event_type": self.event_type,
            "action": self.action,
            "notice_time": _iso(self.notice_time),
            "region": self.region,
            "zone": self.zone,
            "instance_type": self.instance_type,
            "instance_id": self.instance_id,
            "market": self.market,
            "source": self.source,
        }


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: object) -> datetime:
    """An RFC 3339 time (``Z`` or an offset; any fraction) as aware UTC.

    Raises
    ------
    ValueError
        When ``text`` is not such a time.
    """
    if not isinstance(text, str) or not text:
        raise ValueError(f"not a time: {text!r}")
    value = text.strip().replace("Z", "+00:00").replace("z", "+00:00")
    if "." in value:  # Python < 3.11 quirks aside, trim fractions longer than microseconds
        head, _, rest = value.partition(".")
        digits = "".join(c for c in rest if c.isdigit())
        value = f"{head}.{digits[:6]}{rest[len(digits) :]}"
    moment = datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# -- AWS EventBridge ---------------------------------------------------------------------


def parse_eventbridge(body: str | Mapping[str, Any], *, source: str) -> FleetEvent | None:
    """One EventBridge event (an SQS message body) as a :class:`FleetEvent`.

    An SNS notification wrapping the event is unwrapped. Events of other detail types
    return None (they are not ours, but they are not broken either).

    Raises
    ------
    PoisonMessage
        When the body is not JSON, or an EC2 event lacks its id, time, region or
        instance id.
    """
    event = _json(body)
    if event.get("Type") == "Notification" and isinstance(event.get("Message"), str):
        event = _json(event["Message"])
    kind = event.get("detail-type")
    if kind not in DETAIL_TYPES:
        if "detail-type" in event:
            return None
        raise PoisonMessage("not an EventBridge event (no detail-type)")
    detail = event.get("detail")
    if not isinstance(detail, dict) or not detail.get("instance-id"):
        raise PoisonMessage(f"{kind} without detail.instance-id")
    for key in ("id", "time", "region"):
        if not isinstance(event.get(key), str) or not event[key]:
            raise PoisonMessage(f"{kind} without {key}")
    try:
        when = parse_time(event["time"])
    except ValueError as exc:
        raise PoisonMessage(f"{kind} with a bad time: {exc}") from None
    if kind == SPOT_WARNING:
        event_type, action, market = (
            "interruption",
            str(detail.get("instance-action") or "terminate"),
            "spot",
        )
    elif kind == REBALANCE:
        event_type, action, market = "rebalance", "rebalance", "spot"
    else:
        state = detail.get("state")
        if not isinstance(state, str) or not state:
            raise PoisonMessage(f"{kind} without detail.state")
        event_type, action, market = "state-change", state, None
    return FleetEvent(
        event_id=f"aws:eventbridge:{event['id']}",
        cloud="aws",
        event_type=event_type,
        action=action,
        notice_time=when,
        source=source,
        region=event["region"],
        instance_id=str(detail["instance-id"]),
        market=market,
    )


def _json(body: str | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(body, Mapping):
        return dict(body)
    try:
        value = json.loads(body)
    except (TypeError, ValueError) as exc:
        raise PoisonMessage(f"not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise PoisonMessage("not a JSON object")
    return value


# -- GCP Cloud Logging ---------------------------------------------------------------------


def gcp_preemption_filter(start: datetime, end: datetime) -> str:
    """The Cloud Logging filter for preemptions between ``start`` and ``end`` (UTC)."""
    return (
        'resource.type="gce_instance" AND '
        f'protoPayload.methodName="{GCP_PREEMPTED}" AND '
        f'timestamp>="{_iso(start)}" AND timestamp<"{_iso(end)}"'
    )


def parse_gcp_entry(entry: Mapping[str, Any], *, source: str) -> FleetEvent | None:
    """One Cloud Logging entry (``entries:list`` JSON) as a preemption, or None.

    Raises
    ------
    PoisonMessage
        When a preemption entry has no timestamp or no instance.
    """
    payload = entry.get("protoPayload") or entry.get("jsonPayload") or {}
    method = payload.get("methodName") or payload.get("event_subtype")
    if method != GCP_PREEMPTED:
        return None
    resource = entry.get("resource") or {}
    labels = resource.get("labels") or {}
    name = str(payload.get("resourceName") or "")
    parts = name.split("/")
    zone = labels.get("zone") or (parts[parts.index("zones") + 1] if "zones" in parts else None)
    instance = labels.get("instance_id") or (parts[-1] if "instances" in parts else None)
    if not instance:
        raise PoisonMessage("a preemption entry without an instance")
    try:
        when = parse_time(entry.get("timestamp"))
    except ValueError as exc:
        raise PoisonMessage(f"a preemption entry with a bad timestamp: {exc}") from None
    project = labels.get("project_id") or (parts[1] if len(parts) > 1 else "")
    key = entry.get("insertId") or f"{instance}@{_iso(when)}"
    return FleetEvent(
        event_id=f"gcp:logging:{project}:{key}",
        cloud="gcp",
        event_type="interruption",
        action="preempted",
        notice_time=when,
        source=source,
        region=zone.rsplit("-", 1)[0] if zone else None,
        zone=zone,
        instance_id=str(instance),
        market="spot",
    )


# -- Azure Activity Log --------------------------------------------------------------------


def azure_activity_filter(start: datetime, end: datetime) -> str:
    """The Activity Log ``$filter`` for Compute events between ``start`` and ``end``."""
    return (
        f"eventTimestamp ge '{_iso(start)}' and eventTimestamp le '{_iso(end)}' "
        "and resourceProvider eq 'Microsoft.Compute'"
    )


def parse_azure_activity(event: Mapping[str, Any], *, source: str) -> FleetEvent | None:
    """One Activity Log event (``EventData`` JSON) as a spot eviction, or None.

    Raises
    ------
    PoisonMessage
        When an eviction event has no time or no resource id.
    """
    operation = event.get("operationName") or {}
    name = str(operation.get("value") if isinstance(operation, Mapping) else operation)
    if AZURE_EVICTION not in name.lower():
        return None
    resource = event.get("resourceId")
    if not isinstance(resource, str) or not resource:
        raise PoisonMessage("an eviction event without resourceId")
    try:
        when = parse_time(event.get("eventTimestamp"))
    except ValueError as exc:
        raise PoisonMessage(f"an eviction event with a bad eventTimestamp: {exc}") from None
    operation_id = event.get("operationId") or event.get("correlationId") or _iso(when)
    return FleetEvent(
        event_id=f"azure:activity:{operation_id}:{resource.lower()}",
        cloud="azure",
        event_type="interruption",
        action="evict",
        notice_time=when,
        source=source,
        instance_id=resource,
        market="spot",
    )


# -- watch logs ----------------------------------------------------------------------------

_WATCH_TYPES = {
    "termination": "interruption",
    "rebalance": "rebalance",
    "maintenance": "maintenance",
}


def events_from_notices(notices: Iterable[Notice], *, source: str) -> list[FleetEvent]:
    """The notices of a ``watch --log`` file as events (same notice twice: one event).

    An AWS event's zone is the notice's zone ID (``use1-az6``) where the log has one, as
    fleet files and the public data name zones; the zone name (``us-east-1a``) differs
    between accounts and is kept only for logs of agents that did not record the ID.
    """
    out: dict[str, FleetEvent] = {}
    for n in notices:
        event_id = f"{n.cloud}:watch:{n.instance_id or '-'}:{n.event_id}"
        out.setdefault(
            event_id,
            FleetEvent(
                event_id=event_id,
                cloud=n.cloud,
                event_type=_WATCH_TYPES[n.kind],
                action=n.action,
                notice_time=n.notice_time,
                source=source,
                region=n.region,
                zone=(n.zone_id or n.zone) if n.cloud == "aws" else n.zone,
                instance_type=n.instance_type,
                instance_id=n.instance_id,
                market=None if n.kind == "maintenance" else "spot",
            ),
        )
    return list(out.values())


def earliest(events: Iterable[FleetEvent]) -> list[FleetEvent]:
    """One event per ``event_id``: the earliest, with blanks filled from the others."""
    out: dict[str, FleetEvent] = {}
    for e in sorted(events, key=lambda e: e.notice_time):
        kept = out.get(e.event_id)
        out[e.event_id] = e if kept is None else fill(kept, e)
    return list(out.values())


def fill(kept: FleetEvent, other: FleetEvent) -> FleetEvent:
    """``kept`` with its unknown instance fields taken from ``other``."""
    return replace(
        kept,
        region=kept.region or other.region,
        zone=kept.zone or other.zone,
        instance_type=kept.instance_type or other.instance_type,
        market=kept.market or other.market,
    )
