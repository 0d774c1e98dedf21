"""``events collect aws``: moto's SQS in server mode on 127.0.0.1, real-shaped EventBridge
payloads, redelivery, a poison message, and a crash between store commit and delete."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner

from spotadvisor.cli import app
from spotadvisor.events.run import aws_consumer
from spotadvisor.events.sqs import SqsConsumer
from spotadvisor.schema import INTERRUPTION_EVENTS
from spotadvisor.store import Store
from tests.events.payloads import rebalance, sns_wrapped, spot_warning, state_change


@pytest.fixture
def queue(moto_server: str) -> tuple[Any, str, str]:
    sqs = boto3.client("sqs", region_name="us-east-1", endpoint_url=moto_server)
    url = sqs.create_queue(QueueName="spotadvisor-events")["QueueUrl"]
    return sqs, url, moto_server


def _send(sqs: Any, url: str, *bodies: object) -> None:
    for body in bodies:
        sqs.send_message(
            QueueUrl=url, MessageBody=body if isinstance(body, str) else json.dumps(body)
        )


def _left(sqs: Any, url: str) -> int:
    attrs = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(
        attrs["ApproximateNumberOfMessagesNotVisible"]
    )


def _consumer(url: str, endpoint: str, store: Store, **kw: Any) -> SqsConsumer:
    return aws_consumer(url, store, endpoint_url=endpoint, wait_s=0, visibility_timeout_s=0, **kw)


def test_events_are_parsed_stored_and_deleted(queue: tuple[Any, str, str], tmp_path: Path) -> None:
    sqs, url, endpoint = queue
    ec2 = boto3.client("ec2", region_name="us-east-1", endpoint_url=endpoint)
    image = ec2.describe_images()["Images"][0]["ImageId"]
    launched = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="p4d.24xlarge")
    instance = launched["Instances"][0]["InstanceId"]
    _send(
        sqs,
        url,
        spot_warning("a1b2c3d4-0000-4000-8000-000000000001", instance, "2026-03-02T10:00:00Z"),
        sns_wrapped(
            rebalance("a1b2c3d4-0000-4000-8000-000000000002", "i-0aaa", "2026-03-02T09:58:00Z")
        ),
        state_change(
            "a1b2c3d4-0000-4000-8000-000000000003",
            instance,
            "2026-03-02T10:02:00Z",
            "shutting-down",
        ),
        {
            "version": "0",
            "id": "x",
            "detail-type": "AWS API Call via CloudTrail",
            "source": "aws.s3",
            "detail": {},
        },
    )
    store = Store(tmp_path / "s.duckdb")
    result = _consumer(url, endpoint, store).drain()
    assert (len(result.new), result.ignored, result.poison) == (3, 1, [])
    rows = store.read(INTERRUPTION_EVENTS).set_index("event_id")
    warning = rows.loc["aws:eventbridge:a1b2c3d4-0000-4000-8000-000000000001"]
    assert (warning.event_type, warning.action, warning.market) == (
        "interruption",
        "terminate",
        "spot",
    )
    assert warning.instance_type == "p4d.24xlarge" and warning.zone.startswith("us-east-1")
    assert warning.notice_time.isoformat() == "2026-03-02T10:00:00+00:00"
    assert (
        rows.loc["aws:eventbridge:a1b2c3d4-0000-4000-8000-000000000002"].event_type == "rebalance"
    )
    assert (
        rows.loc["aws:eventbridge:a1b2c3d4-0000-4000-8000-000000000003"].action == "shutting-down"
    )
    assert _left(sqs, url) == 0


def test_redelivered_message_is_counted_once(queue: tuple[Any, str, str], tmp_path: Path) -> None:
    sqs, url, endpoint = queue
    event = spot_warning("11111111-0000-4000-8000-000000000001", "i-0abc", "2026-03-02T10:00:00Z")
    _send(sqs, url, event, event)  # EventBridge delivers at least once: the same event twice
    store = Store(tmp_path / "s.duckdb")
    first = _consumer(url, endpoint, store, describe=False).drain()
    assert len(first.new) == 1 and first.repeated == 0  # deduped within the batch
    _send(sqs, url, event)  # and again, later
    second = _consumer(url, endpoint, store, describe=False).drain()
    assert (len(second.new), second.repeated) == (0, 1)
    assert len(store.read(INTERRUPTION_EVENTS)) == 1
    assert _left(sqs, url) == 0


def test_poison_message_is_reported_once_and_left_for_the_dlq(
    queue: tuple[Any, str, str], tmp_path: Path
) -> None:
    sqs, url, endpoint = queue
    _send(
        sqs, url, "not json {", {"detail-type": "EC2 Spot Instance Interruption Warning", "id": "p"}
    )
    _send(
        sqs,
        url,
        spot_warning("22222222-0000-4000-8000-000000000001", "i-0abc", "2026-03-02T10:00:00Z"),
    )
    store = Store(tmp_path / "s.duckdb")
    consumer = _consumer(url, endpoint, store, describe=False)
    result = consumer.drain()
    assert len(result.new) == 1
    assert len(result.poison) == 2 and "not JSON" in result.poison[0][1] + result.poison[1][1]
    again = consumer.drain()  # visibility 0: they come straight back, and are not re-reported
    assert again.poison == [] and again.new == []
    assert _left(sqs, url) == 2  # still there for the redrive policy
    deleting = _consumer(url, endpoint, store, describe=False, delete_poison=True).drain()
    assert len(deleting.poison) == 2 and _left(sqs, url) == 0


def test_crash_between_store_and_delete_is_not_double_counted(
    queue: tuple[Any, str, str], tmp_path: Path
) -> None:
    sqs, url, endpoint = queue
    _send(
        sqs,
        url,
        spot_warning("33333333-0000-4000-8000-000000000001", "i-0abc", "2026-03-02T10:00:00Z"),
        spot_warning("33333333-0000-4000-8000-000000000002", "i-0def", "2026-03-02T11:00:00Z"),
    )
    store = Store(tmp_path / "s.duckdb")

    class Crashing(SqsConsumer):
        def stored(self, result: Any) -> None:
            raise RuntimeError("killed after the commit, before the delete")

    crashing = _consumer(url, endpoint, store, describe=False)
    crashing.__class__ = Crashing
    with pytest.raises(RuntimeError):
        crashing.poll()
    assert len(store.read(INTERRUPTION_EVENTS)) == 2  # committed
    assert _left(sqs, url) == 2  # but not deleted
    result = _consumer(url, endpoint, store, describe=False).drain()  # redelivered
    assert (len(result.new), result.repeated) == (0, 2)
    assert len(store.read(INTERRUPTION_EVENTS)) == 2
    assert _left(sqs, url) == 0


def test_store_failure_deletes_nothing(
    queue: tuple[Any, str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sqs, url, endpoint = queue
    _send(
        sqs,
        url,
        spot_warning("44444444-0000-4000-8000-000000000001", "i-0abc", "2026-03-02T10:00:00Z"),
    )
    store = Store(tmp_path / "s.duckdb")

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(Store, "write", broken)
    with pytest.raises(OSError):
        _consumer(url, endpoint, store, describe=False).poll()
    assert _left(sqs, url) == 1


def test_cli_collect_and_follow(queue: tuple[Any, str, str], tmp_path: Path) -> None:
    sqs, url, endpoint = queue
    _send(
        sqs,
        url,
        spot_warning("55555555-0000-4000-8000-000000000001", "i-0abc", "2026-03-02T10:00:00Z"),
    )
    db = str(tmp_path / "s.duckdb")
    args = [
        "--db",
        db,
        "events",
        "collect",
        "aws",
        "--sqs-queue-url",
        url,
        "--endpoint-url",
        endpoint,
    ]
    result = CliRunner().invoke(app, [*args, "--wait", "0", "--no-describe"])
    assert result.exit_code == 0, result.output
    assert "stored 1 new event(s)" in result.output
    _send(
        sqs,
        url,
        "garbage",
        rebalance("55555555-0000-4000-8000-000000000002", "i-0abc", "2026-03-02T09:59:00Z"),
    )
    marker = tmp_path / "hook.txt"
    follow = [
        "--db",
        db,
        "events",
        "follow",
        "aws",
        "--sqs-queue-url",
        url,
        "--endpoint-url",
        endpoint,
    ]
    hook = f'echo "$SPOTADVISOR_EVENT_TYPE $SPOTADVISOR_INSTANCE_ID" >> {marker}'
    result = CliRunner().invoke(
        app, [*follow, "--wait", "0", "--no-describe", "--max-events", "1", "--hook", hook]
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [e["event_type"] for e in lines] == ["rebalance"]
    assert marker.read_text().strip() == "rebalance i-0abc"
    assert "not an EC2 event" in result.stderr


def test_bad_queue_url_is_a_usage_error(tmp_path: Path, aws_credentials: None) -> None:
    result = CliRunner().invoke(app, ["events", "collect", "aws", "--sqs-queue-url", "my-queue"])
    assert result.exit_code == 2
    assert "--sqs-queue-url" in result.stderr and "Traceback" not in result.output
