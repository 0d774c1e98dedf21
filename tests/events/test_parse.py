"""The pure parsers on real-shaped payloads."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from spotadvisor.events.parse import (
    PoisonMessage,
    events_from_notices,
    gcp_preemption_filter,
    parse_azure_activity,
    parse_eventbridge,
    parse_gcp_entry,
)
from spotadvisor.watch.notice import read_watch_log
from tests.events.payloads import (
    azure_eviction,
    gcp_preempted,
    rebalance,
    sns_wrapped,
    spot_warning,
    state_change,
)
from tests.report.test_interruptions import notice, write_log

S = "test"


def test_spot_warning_actions_and_sns_wrapping() -> None:
    event = parse_eventbridge(
        json.dumps(spot_warning("id-1", "i-1", "2026-03-02T10:00:00Z", action="hibernate")),
        source=S,
    )
    assert event is not None and (event.action, event.event_type, event.region) == (
        "hibernate",
        "interruption",
        "us-east-1",
    )
    wrapped = parse_eventbridge(
        json.dumps(sns_wrapped(rebalance("id-2", "i-1", "2026-03-02T10:00:00Z"))), source=S
    )
    assert (
        wrapped is not None
        and wrapped.event_type == "rebalance"
        and wrapped.event_id == "aws:eventbridge:id-2"
    )
    change = parse_eventbridge(
        state_change("id-3", "i-1", "2026-03-02T10:00:00Z", "stopped"), source=S
    )
    assert change is not None and (change.event_type, change.action, change.market) == (
        "state-change",
        "stopped",
        None,
    )


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[1, 2]",
        json.dumps({"hello": "world"}),
        json.dumps({**spot_warning("x", "i-1", "2026-03-02T10:00:00Z"), "detail": {}}),
        json.dumps({**spot_warning("x", "i-1", "2026-03-02T10:00:00Z"), "time": "yesterday"}),
        json.dumps(
            {k: v for k, v in spot_warning("x", "i-1", "2026-03-02T10:00:00Z").items() if k != "id"}
        ),
        json.dumps(
            {
                **state_change("x", "i-1", "2026-03-02T10:00:00Z", "stopped"),
                "detail": {"instance-id": "i-1"},
            }
        ),
    ],
)
def test_poison_messages(body: str) -> None:
    with pytest.raises(PoisonMessage):
        parse_eventbridge(body, source=S)


def test_other_event_types_are_ignored() -> None:
    assert (
        parse_eventbridge({"detail-type": "EC2 AMI State Change", "detail": {}}, source=S) is None
    )


def test_gcp_entry_and_filter() -> None:
    entry = gcp_preempted(
        "-x1", "p", "europe-west4-a", "vm", "42", "2026-03-03T01:00:00.987654321Z"
    )
    event = parse_gcp_entry(entry, source=S)
    assert event is not None
    assert (event.instance_id, event.zone, event.region) == ("42", "europe-west4-a", "europe-west4")
    assert event.notice_time == datetime(2026, 3, 3, 1, 0, 0, 987654, tzinfo=UTC)
    other = {
        **entry,
        "protoPayload": {**entry["protoPayload"], "methodName": "v1.compute.instances.insert"},
    }
    assert parse_gcp_entry(other, source=S) is None
    no_labels = {**entry, "resource": {"type": "gce_instance", "labels": {}}}
    fallback = parse_gcp_entry(no_labels, source=S)
    assert fallback is not None and (fallback.instance_id, fallback.zone) == (
        "vm",
        "europe-west4-a",
    )
    text = gcp_preemption_filter(datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
    assert text == (
        'resource.type="gce_instance" AND protoPayload.methodName="compute.instances.preempted" '
        'AND timestamp>="2026-03-01T00:00:00Z" AND timestamp<"2026-04-01T00:00:00Z"'
    )


def test_azure_eviction_and_others() -> None:
    vm = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1"
    event = parse_azure_activity(azure_eviction("s", vm, "op", "2026-03-05T02:00:00Z"), source=S)
    assert (
        event is not None
        and event.instance_id == vm
        and event.event_id == f"azure:activity:op:{vm.lower()}"
    )
    write = {
        **azure_eviction("s", vm, "op", "2026-03-05T02:00:00Z"),
        "operationName": {"value": "Microsoft.Compute/virtualMachines/write"},
    }
    assert parse_azure_activity(write, source=S) is None
    with pytest.raises(PoisonMessage):
        parse_azure_activity(
            {**azure_eviction("s", vm, "op", "2026-03-05T02:00:00Z"), "resourceId": None}, source=S
        )


def test_watch_notices(tmp_path: object) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    log = write_log(
        tmp_path / "w.jsonl", notice(3, "i-1"), notice(3, "i-1"), notice(4, "i-1", "maintenance")
    )
    events = events_from_notices(read_watch_log(log), source="watch-log")
    assert [(e.event_type, e.market) for e in events] == [
        ("interruption", "spot"),
        ("maintenance", None),
    ]
