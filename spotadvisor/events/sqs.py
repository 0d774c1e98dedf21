"""Consume EventBridge EC2 events from an SQS queue: long-poll, parse, store, then delete.

The order is what makes the count right:

1. ``ReceiveMessage`` with a long poll (``WaitTimeSeconds``) and a visibility timeout
   long enough to store the batch;
2. parse every message; store the events of the batch in **one** transaction;
3. only after the commit, ``DeleteMessageBatch`` the messages that were stored (or
   that were well-formed events of other types).

A crash between 2 and 3 leaves the messages in the queue; they come back after the
visibility timeout and are stored again under the same ``event_id`` (the EventBridge
event id), which changes nothing. A message that cannot be parsed (a poison message)
is reported once per process and left in the queue, so the queue's redrive policy
moves it to its dead-letter queue after ``maxReceiveCount`` receives; with
``delete_poison`` it is deleted after being reported.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from spotadvisor.events.parse import FleetEvent, PoisonMessage, earliest, parse_eventbridge
from spotadvisor.events.store import write_events

if TYPE_CHECKING:
    from spotadvisor.store import Store

SOURCE = "aws-eventbridge-sqs"
MAX_BATCH = 10  # SQS receives and deletes at most 10 messages per call
_QUEUE_HOST = re.compile(r"sqs[.-]([a-z0-9-]+)\.amazonaws\.com")


def queue_region(queue_url: str) -> str | None:
    """The region in an SQS queue URL (``https://sqs.us-east-1.amazonaws.com/...``)."""
    found = _QUEUE_HOST.search(queue_url)
    return found.group(1) if found else None


@dataclass
class PollResult:
    """What one receive did.

    Attributes
    ----------
    received
        Messages received.
    new
        Events stored for the first time.
    repeated
        Events already stored (redeliveries): not counted again.
    ignored
        Well-formed EventBridge events of other types (deleted).
    poison
        (message id, reason) of messages that could not be parsed.
    delete_failed
        Message ids SQS refused to delete (they will come back and dedupe).
    """

    received: int = 0
    new: list[FleetEvent] = field(default_factory=list)
    repeated: int = 0
    ignored: int = 0
    poison: list[tuple[str, str]] = field(default_factory=list)
    delete_failed: list[str] = field(default_factory=list)


class SqsConsumer:
    """Reads one queue into the store.

    Parameters
    ----------
    sqs
        A boto3 SQS client.
    queue_url
        The queue EventBridge delivers to.
    store
        Where events go.
    wait_s
        Long-poll wait per receive [s], 0-20.
    visibility_timeout_s
        How long a received message stays hidden from other consumers [s].
    delete_poison
        Delete unparseable messages after reporting them (default: leave them for the
        queue's dead-letter queue).
    describe
        Fills instance type, zone and market of events (EC2 ``DescribeInstances``); None
        leaves them unknown.
    """

    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        store: Store,
        *,
        wait_s: int = 20,
        visibility_timeout_s: int = 60,
        delete_poison: bool = False,
        describe: Callable[[list[FleetEvent]], list[FleetEvent]] | None = None,
    ) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.store = store
        self.wait_s = wait_s
        self.visibility_timeout_s = visibility_timeout_s
        self.delete_poison = delete_poison
        self.describe = describe
        self.reported: set[str] = set()

    def poll(self) -> PollResult:
        """Receive one batch, store its events, then delete what was stored."""
        answer = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=MAX_BATCH,
            WaitTimeSeconds=self.wait_s,
            VisibilityTimeout=self.visibility_timeout_s,
        )
        messages: list[dict[str, Any]] = answer.get("Messages", [])
        result = PollResult(received=len(messages))
        events: list[FleetEvent] = []
        done: list[dict[str, Any]] = []
        for message in messages:
            try:
                event = parse_eventbridge(message.get("Body", ""), source=SOURCE)
            except PoisonMessage as exc:
                if message["MessageId"] not in self.reported:
                    self.reported.add(message["MessageId"])
                    result.poison.append((message["MessageId"], str(exc)))
                if self.delete_poison:
                    done.append(message)
                continue
            if event is None:
                result.ignored += 1
            else:
                events.append(event)
            done.append(message)
        events = earliest(events)
        if events and self.describe is not None:
            events = self.describe(events)
        written = write_events(self.store, events, origin=self.queue_url)
        result.new, result.repeated = list(written.new), written.repeated
        self.stored(result)
        result.delete_failed = self.delete(done)
        return result

    def stored(self, result: PollResult) -> None:
        """Called between the store commit and the delete (a crash point for tests)."""

    def delete(self, messages: Sequence[dict[str, Any]]) -> list[str]:
        """Delete ``messages``; returns the ids SQS did not delete."""
        failed: list[str] = []
        for i in range(0, len(messages), MAX_BATCH):
            chunk = messages[i : i + MAX_BATCH]
            answer = self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(chunk)
                ],
            )
            failed += [chunk[int(f["Id"])]["MessageId"] for f in answer.get("Failed", [])]
        return failed

    def drain(self, *, max_polls: int = 1000) -> PollResult:
        """Poll until a receive brings nothing new (empty, or only known poison)."""
        total = PollResult()
        for _ in range(max_polls):
            step = self.poll()
            total.received += step.received
            total.new += step.new
            total.repeated += step.repeated
            total.ignored += step.ignored
            total.poison += step.poison
            total.delete_failed += step.delete_failed
            useful = step.new or step.repeated or step.ignored or step.poison
            if step.received == 0 or not useful:
                break
        return total


def ec2_describer(
    ec2_for_region: Callable[[str], Any],
) -> Callable[[list[FleetEvent]], list[FleetEvent]]:
    """Fill instance type, zone and market from EC2 ``DescribeInstances`` (per region).

    The zone is ``Placement.AvailabilityZoneId`` (``use1-az6``, the same in every
    account), or ``Placement.AvailabilityZone`` (the name) where EC2 gives no ID.
    Instances EC2 no longer knows keep their blanks; errors leave every blank as it is.
    """

    def describe(events: list[FleetEvent]) -> list[FleetEvent]:
        wanted: dict[str, set[str]] = {}
        for e in events:
            if e.region and e.instance_id and not e.instance_type:
                wanted.setdefault(e.region, set()).add(e.instance_id)
        facts: dict[str, tuple[str | None, str | None, str]] = {}
        for region, ids in wanted.items():
            try:
                pages = (
                    ec2_for_region(region)
                    .get_paginator("describe_instances")
                    .paginate(Filters=[{"Name": "instance-id", "Values": sorted(ids)}])
                )
                for page in pages:
                    for reservation in page.get("Reservations", []):
                        for inst in reservation.get("Instances", []):
                            placement = inst.get("Placement") or {}
                            facts[inst["InstanceId"]] = (
                                inst.get("InstanceType"),
                                # the zone ID, as fleet files name zones; else the name
                                placement.get("AvailabilityZoneId")
                                or placement.get("AvailabilityZone"),
                                "spot" if inst.get("InstanceLifecycle") == "spot" else "on-demand",
                            )
            except Exception:  # enrichment is best effort
                continue
        out = []
        for e in events:
            found = facts.get(e.instance_id or "")
            if found is None:
                out.append(e)
                continue
            kind, zone, market = found
            out.append(
                replace(
                    e,
                    instance_type=e.instance_type or kind,
                    zone=e.zone or zone,
                    market=e.market or market,
                )
            )
        return out

    return describe
