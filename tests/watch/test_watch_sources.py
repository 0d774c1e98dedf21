"""Each cloud's source against the metadata mock (or a tiny server where the mock can't)."""

from __future__ import annotations

import json
import socket
import threading
import time
from datetime import UTC, datetime
from email.utils import formatdate

import pytest

from spotadvisor.errors import DataError
from spotadvisor.watch.aws import AwsSource
from spotadvisor.watch.azure import AzureSource
from spotadvisor.watch.detect import base_urls, detect
from spotadvisor.watch.gcp import GcpSource
from spotadvisor.watch.http import MetadataError, MetadataUnavailable
from spotadvisor.watch.mock import MetadataMock
from tests.watch.watch_servers import LocalServer, imdsv1


def now() -> datetime:
    return datetime.now(UTC)


class Monotonic:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


# -- AWS -----------------------------------------------------------------------------


def test_aws_renews_the_token_at_80_percent_of_its_ttl() -> None:
    clock = Monotonic()
    with MetadataMock("aws", notice_in=None) as mock:
        source = AwsSource(mock.url, token_ttl=100, clock=clock)
        assert source.poll(now) == []
        clock.t = 79.0
        assert source.poll(now) == []
        assert mock.token_ttls == [100]
        clock.t = 80.5
        assert source.poll(now) == []
        assert mock.token_ttls == [100, 100]


def test_aws_gets_a_new_token_after_a_401() -> None:
    with MetadataMock("aws", notice_in=None) as mock:
        source = AwsSource(mock.url)
        assert source.poll(now) == []
        mock.expire_tokens()
        assert source.poll(now) == []
        mock.restart()  # forgets every token
        assert source.poll(now) == []
        assert mock.token_ttls == [21600] * 3


def test_aws_termination_and_rebalance_notices() -> None:
    with MetadataMock("aws", notice_in=0.0, notice_lead=90, action="hibernate") as mock:
        (notice,) = AwsSource(mock.url).poll(now)
        assert mock.deadline is not None
        assert (notice.kind, notice.action) == ("termination", "hibernate")
        assert notice.deadline == datetime.fromtimestamp(int(mock.deadline), UTC)
        assert notice.event_id == f"hibernate@{notice.deadline:%Y-%m-%dT%H:%M:%SZ}"
        assert (notice.instance_id, notice.region) == ("i-0d3c5b6a7f8e9d0c1", "us-east-1")
    with MetadataMock("aws", notice_in=None, rebalance_in=0.0) as mock:
        source = AwsSource(mock.url)
        (first,) = source.poll(now)
        (again,) = source.poll(now)
        assert first.kind == "rebalance" and first.deadline is None
        assert first.event_id == again.event_id


@pytest.mark.parametrize("status", [403, 404, 405])
def test_aws_falls_back_to_imdsv1_when_the_token_put_is_refused(status: int) -> None:
    notes: list[str] = []
    action = {
        "/latest/meta-data/spot/instance-action": '{"action": "stop", "time": "2026-10-03T03:02:00Z"}'
    }
    with imdsv1(status, {"/latest/meta-data/instance-id": "i-v1"}) as server:
        source = AwsSource(server.url, note=notes.append)
        assert source.poll(now) == [] and source.poll(now) == []
        assert "IMDSv1" in source.label
    assert len(notes) == 1 and f"HTTP {status}" in notes[0]
    assert [r.method for r in server.received].count("PUT") == 1  # remembered
    with imdsv1(status, {**action, "/latest/meta-data/instance-id": "i-v1"}) as server:
        (notice,) = AwsSource(server.url).poll(now)
        assert (notice.action, notice.instance_id) == ("stop", "i-v1")


def test_aws_timeouts_and_errors_are_outages_not_a_fallback() -> None:
    def slow(method: str, path: str, headers: dict[str, str]) -> None:
        time.sleep(1.0)

    with LocalServer(slow) as server:
        source = AwsSource(server.url, timeout=0.3)
        with pytest.raises(MetadataUnavailable, match=r"no answer within 0\.3 s"):
            source.poll(now)
        assert "IMDSv2" in source.label
    with (
        LocalServer(lambda m, p, h: (500, {}, b"")) as server,
        pytest.raises(MetadataError, match="HTTP 500"),
    ):
        AwsSource(server.url).poll(now)


@pytest.mark.parametrize(
    "body", ["<html>", "[]", '{"action": "terminate"}', '{"action": "x", "time": "soon"}']
)
def test_aws_garbage_is_an_error(body: str) -> None:
    def route(method: str, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        if method == "PUT":
            return 200, {}, b"token"
        return 200, {}, body.encode()

    with LocalServer(route) as server, pytest.raises(MetadataError):
        AwsSource(server.url).poll(now)


# -- GCP -----------------------------------------------------------------------------


def test_gcp_hangs_on_the_etag_and_wakes_on_preemption() -> None:
    with MetadataMock("gcp", notice_in=None) as mock:
        source = GcpSource(mock.url, interval=1)
        assert source.poll(now) == []  # plain GET: the value and its ETag
        threading.Timer(0.2, mock.issue_notice_now).start()
        (notice,) = source.poll(now)
        hanging = [r.path for r in mock.requests if "wait_for_change=true" in r.path]
        assert hanging and "last_etag=" in hanging[0] and "timeout_sec=1" in hanging[0]
        assert all(r.headers.get("Metadata-Flavor") == "Google" for r in mock.requests)
        assert (notice.kind, notice.action) == ("termination", "preempted")
        assert notice.deadline is not None
        assert (notice.deadline - notice.notice_time).total_seconds() == 30
        assert notice.event_id == "preempted:4520031799277581759"
        assert (notice.instance_type, notice.zone, notice.region) == (
            "a2-highgpu-1g",
            "us-central1-a",
            "us-central1",
        )
        (again,) = source.poll(now)
        assert again == notice  # first seen stays first seen


def test_gcp_maintenance_event() -> None:
    with MetadataMock("gcp", notice_in=None, rebalance_in=0.0) as mock:
        source = GcpSource(mock.url, interval=1)
        (first,) = source.poll(now)
        (again,) = source.poll(now)
        assert (first.kind, first.action) == ("maintenance", "MIGRATE_ON_HOST_MAINTENANCE")
        assert first.event_id == again.event_id and first.deadline is None


def test_gcp_error_statuses_are_errors() -> None:
    with MetadataMock("gcp", notice_in=None) as mock:
        mock.set_outage("error")
        with pytest.raises(MetadataError, match="HTTP 503"):
            GcpSource(mock.url).poll(now)


# -- Azure ---------------------------------------------------------------------------


def test_azure_preempt_notice_and_acknowledgement() -> None:
    with MetadataMock("azure", notice_in=0.0) as mock:
        source = AzureSource(mock.url)
        (notice,) = source.poll(now)
        assert mock.deadline is not None
        assert (notice.kind, notice.action, notice.event_id) == (
            "termination",
            "Preempt",
            mock.event_id,
        )
        assert notice.deadline == datetime.fromtimestamp(int(mock.deadline), UTC)
        assert (notice.instance_type, notice.region) == ("Standard_NC24ads_A100_v4", "eastus")
        assert mock.acknowledged == []
        assert source.acknowledge(notice) == 200
        assert mock.acknowledged == [mock.event_id]


def test_azure_ignores_other_vms_and_does_not_ack_maintenance() -> None:
    def event(event_id: str, kind: str, vm: str) -> dict[str, object]:
        not_before = formatdate(time.time() + 300, usegmt=True)
        return {"EventId": event_id, "EventType": kind, "Resources": [vm], "NotBefore": not_before}

    events = [event("A", "Preempt", "other-vm"), event("B", "Freeze", "me")]

    def route(method: str, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        if path.startswith("/metadata/instance"):
            doc = {"compute": {"vmId": "vm-1", "name": "me", "location": "westus2", "zone": ""}}
            return 200, {}, json.dumps(doc).encode()
        return 200, {}, json.dumps({"DocumentIncarnation": 3, "Events": events}).encode()

    with LocalServer(route) as server:
        source = AzureSource(server.url)
        (notice,) = source.poll(now)
        assert (notice.kind, notice.action, notice.event_id) == ("maintenance", "Freeze", "B")
        assert notice.zone is None and notice.region == "westus2"
        assert source.acknowledge(notice) is None
        assert all(r.method == "GET" for r in server.received)


# -- detection -----------------------------------------------------------------------


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure"])
def test_detect_each_cloud_at_one_url(cloud: str) -> None:
    with MetadataMock(cloud, notice_in=None) as mock:  # type: ignore[arg-type]
        found = detect(base_urls(mock.url, {}), timeout=1.0)
    assert (found.cloud, found.found, found.base_url) == (cloud, True, mock.url)
    assert found.detail == {"aws": "IMDSv2", "gcp": "metadata server", "azure": "IMDS"}[cloud]


def test_detect_imdsv1() -> None:
    with imdsv1(403, {"/latest/meta-data/instance-id": "i-v1"}) as server:
        found = detect(base_urls(server.url, {}), timeout=1.0)
    assert (found.cloud, found.detail) == ("aws", "IMDSv1")


def test_detect_nothing_lists_what_was_tried() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    with pytest.raises(DataError) as caught:
        detect(base_urls(url, {}), timeout=0.5)
    message = caught.value.one_line()
    for cloud in ("aws at", "gcp at", "azure at", "connection refused", "--metadata-url"):
        assert cloud in message


def test_default_urls_honour_the_sdk_variables() -> None:
    assert base_urls(None, {}) == {
        "aws": "http://169.254.169.254",
        "gcp": "http://metadata.google.internal",
        "azure": "http://169.254.169.254",
    }
    env = {
        "AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://[fd00:ec2::254]/",
        "GCE_METADATA_HOST": "127.0.0.1:8080",
    }
    urls = base_urls(None, env)
    assert urls["aws"] == "http://[fd00:ec2::254]" and urls["gcp"] == "http://127.0.0.1:8080"
    assert set(base_urls("http://127.0.0.1:9/", env).values()) == {"http://127.0.0.1:9"}


def test_aws_identity_reads_the_zone_id_and_notices_carry_it() -> None:
    from spotadvisor.watch import mock_aws

    with MetadataMock("aws", notice_in=0.0) as mock:
        source = AwsSource(mock.url)
        identity = source.identity()
        assert (identity.zone, identity.zone_id) == (mock_aws.ZONE, mock_aws.ZONE_ID)
        (notice,) = source.poll(now)
        record = notice.record(now())
        assert (record["zone"], record["zone_id"]) == ("us-east-1a", "use1-az6")


def test_aws_zone_id_stays_null_when_imds_does_not_serve_it() -> None:
    served = {
        "/latest/meta-data/instance-id": "i-0abc",
        "/latest/meta-data/placement/availability-zone": "us-east-1b",
    }

    def handler(
        method: str, path: str, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        if method == "PUT":
            return 200, {}, b"token"
        return (200, {}, served[path].encode()) if path in served else (404, {}, b"")

    with LocalServer(handler) as server:
        identity = AwsSource(server.url).identity()
    assert (identity.instance_id, identity.zone, identity.zone_id) == ("i-0abc", "us-east-1b", None)
    assert identity.region == "us-east-1"
