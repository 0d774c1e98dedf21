"""``spotadvisor mock-metadata`` and ``MetadataMock``: the three protocols, outages, the CLI.

Every request goes to 127.0.0.1. Notices come after 0.1-0.5 s; no test asserts how long
anything took, only that a notice is never seen before ``notice_time``.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from typer.testing import CliRunner

from spotadvisor.cli import app
from spotadvisor.errors import UsageError
from spotadvisor.watch.mock import MetadataMock
from spotadvisor.watch.mock_gcp import etag
from tests.conftest import ROOT

TTL = "X-aws-ec2-metadata-token-ttl-seconds"
TOKEN = "X-aws-ec2-metadata-token"
FLAVOR = {"Metadata-Flavor": "Google"}
AZURE = {"Metadata": "true"}
EVENTS = "/metadata/scheduledevents?api-version=2020-07-01"
GCP_V1 = "/computeMetadata/v1"


class Answer:
    """One HTTP answer."""

    def __init__(self, response: http.client.HTTPResponse) -> None:
        self.status = response.status
        self.headers = {k.lower(): v for k, v in response.getheaders()}
        self.body = response.read()

    @property
    def text(self) -> str:
        return self.body.decode()

    def json(self) -> Any:
        return json.loads(self.body)


def call(
    mock: MetadataMock,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    timeout: float = 5,
) -> Answer:
    connection = http.client.HTTPConnection("127.0.0.1", mock.port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        return Answer(connection.getresponse())
    finally:
        connection.close()


def aws_token(mock: MetadataMock, ttl: int = 60) -> dict[str, str]:
    answer = call(mock, "PUT", "/latest/api/token", {TTL: str(ttl)})
    assert answer.status == 200
    return {TOKEN: answer.text}


def poll(mock: MetadataMock, path: str, headers: dict[str, str], until: int = 200) -> Answer:
    """GET ``path`` until it answers ``until`` (5 s at most)."""
    give_up = time.time() + 5
    while True:
        answer = call(mock, "GET", path, headers)
        if answer.status == until or time.time() > give_up:
            return answer
        time.sleep(0.02)


def rfc3339(epoch: float) -> str:
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def aws() -> Iterator[MetadataMock]:
    with MetadataMock("aws", notice_in=None) as mock:
        yield mock


# -- AWS IMDSv2 --------------------------------------------------------------------


def test_aws_token_put_answers_a_token_and_echoes_its_ttl(aws: MetadataMock) -> None:
    answer = call(aws, "PUT", "/latest/api/token", {TTL: "21600"})
    assert answer.status == 200 and answer.text
    assert answer.headers["x-aws-ec2-metadata-token-ttl-seconds"] == "21600"
    assert answer.headers["content-type"] == "text/plain"
    assert aws.token_ttls == [21600]
    value = call(aws, "GET", "/latest/meta-data/instance-id", {TOKEN: answer.text})
    assert value.status == 200 and re.fullmatch(r"i-0[0-9a-f]{16}", value.text)


@pytest.mark.parametrize("ttl", [None, "0", "21601", "abc", "-5", "1.5"])
def test_aws_token_ttl_must_be_1_to_21600(aws: MetadataMock, ttl: str | None) -> None:
    headers = {} if ttl is None else {TTL: ttl}
    assert call(aws, "PUT", "/latest/api/token", headers).status == 400
    assert aws.token_ttls == []


def test_aws_refuses_proxied_token_requests_and_get_on_the_token_path(
    aws: MetadataMock,
) -> None:
    proxied = {TTL: "60", "X-Forwarded-For": "203.0.113.9"}
    assert call(aws, "PUT", "/latest/api/token", proxied).status == 403
    assert call(aws, "GET", "/latest/api/token", {TTL: "60"}).status == 405


def test_aws_get_needs_a_live_token(aws: MetadataMock) -> None:
    path = "/latest/meta-data/instance-type"
    missing = call(aws, "GET", path)
    assert missing.status == 401 and b"401 - Unauthorized" in missing.body
    assert call(aws, "GET", path, {TOKEN: "forged"}).status == 401
    token = aws_token(aws)
    assert call(aws, "GET", path, token).text == "p5.48xlarge"
    aws.expire_tokens()
    assert call(aws, "GET", path, token).status == 401
    assert call(aws, "GET", path, aws_token(aws)).status == 200


def test_aws_imdsv1_mode_answers_tokenless_gets_but_not_wrong_tokens() -> None:
    with MetadataMock("aws", notice_in=None, imdsv1=True) as mock:
        answer = call(mock, "GET", "/latest/meta-data/placement/availability-zone")
        assert answer.status == 200 and answer.text == "us-east-1a"
        assert call(mock, "GET", "/latest/meta-data/instance-id", {TOKEN: "stale"}).status == 401


def test_aws_metadata_lists_keys_and_answers_404_like_imds(aws: MetadataMock) -> None:
    token = aws_token(aws)
    listing = call(aws, "GET", "/latest/meta-data/", token).text.split("\n")
    assert {"instance-id", "instance-type", "instance-life-cycle", "ami-id"} <= set(listing)
    assert "placement/" in listing and "spot/" not in listing
    assert call(aws, "GET", "/latest/meta-data/instance-life-cycle", token).text == "spot"
    assert call(aws, "GET", "/latest/meta-data/placement/region", token).text == "us-east-1"
    assert call(aws, "GET", "/latest/meta-data/ami-id", token).text.startswith("ami-")
    missing = call(aws, "GET", "/latest/meta-data/no-such-key", token)
    assert missing.status == 404 and b"<h1>404 - Not Found</h1>" in missing.body
    assert missing.headers["content-type"] == "text/html"


def test_aws_instance_action_appears_at_the_notice_with_the_deadline() -> None:
    with MetadataMock("aws", notice_in=0.2, notice_lead=3) as mock:
        token = aws_token(mock)
        path = "/latest/meta-data/spot/instance-action"
        before = call(mock, "GET", path, token)
        answered_at = time.time()
        assert mock.notice_time is not None and mock.deadline is not None
        if answered_at < mock.notice_time:  # true unless this machine is very slow
            assert before.status == 404 and b"404 - Not Found" in before.body
        answer = poll(mock, path, token)
        assert answer.status == 200 and time.time() >= mock.notice_time
        assert mock.deadline == pytest.approx(mock.notice_time + 3)
        assert answer.json() == {"action": "terminate", "time": rfc3339(mock.deadline)}
        assert answer.text.endswith('Z"}') and "." not in answer.json()["time"]
        termination = call(mock, "GET", "/latest/meta-data/spot/termination-time", token)
        assert termination.text == rfc3339(mock.deadline)
        assert "spot/" in call(mock, "GET", "/latest/meta-data/", token).text


def test_aws_rebalance_recommendation_comes_at_its_time() -> None:
    with MetadataMock("aws", notice_in=None, rebalance_in=0.1) as mock:
        token = aws_token(mock)
        path = "/latest/meta-data/events/recommendations/rebalance"
        answer = poll(mock, path, token)
        assert mock.rebalance_time is not None and time.time() >= mock.rebalance_time
        assert answer.json() == {"noticeTime": rfc3339(mock.rebalance_time)}
        assert call(mock, "GET", "/latest/meta-data/spot/instance-action", token).status == 404


@pytest.mark.parametrize(("action", "termination_time"), [("stop", 200), ("hibernate", 404)])
def test_aws_actions(action: str, termination_time: int) -> None:
    with MetadataMock("aws", notice_in=None, action=action.upper()) as mock:
        token = aws_token(mock)
        assert mock.notice_time is None and mock.deadline is None
        mock.issue_notice_now()
        assert mock.notice_time is not None
        assert mock.deadline == pytest.approx(mock.notice_time + 120)
        answer = call(mock, "GET", "/latest/meta-data/spot/instance-action", token)
        assert answer.json()["action"] == action
        path = "/latest/meta-data/spot/termination-time"
        assert call(mock, "GET", path, token).status == termination_time


def test_aws_works_with_botocore() -> None:
    utils = pytest.importorskip("botocore.utils")
    with MetadataMock("aws", notice_in=None) as mock:
        fetcher = utils.InstanceMetadataRegionFetcher(base_url=mock.url + "/", env={})
        assert fetcher.retrieve_region() == "us-east-1"
        assert [r.method for r in mock.requests][:2] == ["PUT", "GET"]
        assert mock.token_ttls == [21600]


# -- GCP ---------------------------------------------------------------------------


def test_gcp_needs_the_flavor_header_and_refuses_proxies() -> None:
    with MetadataMock("gcp", notice_in=None) as mock:
        path = f"{GCP_V1}/instance/preempted"
        refused = call(mock, "GET", path)
        assert refused.status == 403 and refused.headers["metadata-flavor"] == "Google"
        proxied = {**FLAVOR, "X-Forwarded-For": "203.0.113.9"}
        assert call(mock, "GET", path, proxied).status == 403
        root = call(mock, "GET", "/")
        assert root.status == 200 and root.headers["metadata-flavor"] == "Google"
        assert call(mock, "GET", f"{GCP_V1}/", FLAVOR).status == 200


def test_gcp_values_carry_flavor_content_type_and_etag() -> None:
    with MetadataMock("gcp", notice_in=None) as mock:
        answer = call(mock, "GET", f"{GCP_V1}/instance/preempted", FLAVOR)
        assert answer.text == "FALSE"
        assert answer.headers["content-type"] == "application/text"
        assert answer.headers["etag"] == etag(b"FALSE")
        assert re.fullmatch(r"[0-9a-f]{16}", answer.headers["etag"])
        again = call(mock, "GET", f"{GCP_V1}/instance/preempted", FLAVOR)
        assert again.headers["etag"] == answer.headers["etag"]
        expected = {
            "instance/scheduling/provisioning-model": "SPOT",
            "instance/scheduling/preemptible": "TRUE",
            "instance/zone": "projects/123456789012/zones/us-central1-a",
            "instance/machine-type": "projects/123456789012/machineTypes/a2-highgpu-1g",
            "instance/maintenance-event": "NONE",
        }
        for key, value in expected.items():
            assert call(mock, "GET", f"{GCP_V1}/{key}", FLAVOR).text == value
        assert call(mock, "GET", f"{GCP_V1}/instance/id", FLAVOR).text.isdigit()
        assert call(mock, "GET", f"{GCP_V1}/instance/nothing", FLAVOR).status == 404


def test_gcp_wait_for_change_returns_at_the_notice() -> None:
    with MetadataMock("gcp", notice_in=0.3, notice_lead=3) as mock:
        before = etag(b"FALSE")  # what a client saw before the notice
        query = f"wait_for_change=true&last_etag={before}&timeout_sec=20"
        path = f"{GCP_V1}/instance/preempted?{query}"
        changed = call(mock, "GET", path, FLAVOR, timeout=30)
        assert mock.notice_time is not None and time.time() >= mock.notice_time
        assert changed.text == "TRUE" and changed.headers["etag"] == etag(b"TRUE") != before
        # a stale last_etag answers at once
        assert call(mock, "GET", path, FLAVOR).text == "TRUE"


def test_gcp_wait_for_change_times_out_with_the_unchanged_value() -> None:
    with MetadataMock("gcp", notice_in=None) as mock:
        path = f"{GCP_V1}/instance/preempted?wait_for_change=true&timeout_sec=1"
        answer = call(mock, "GET", path, FLAVOR)
        assert answer.status == 200 and answer.text == "FALSE"
        bad = call(
            mock, "GET", f"{GCP_V1}/instance/preempted?wait_for_change=true&timeout_sec=x", FLAVOR
        )
        assert bad.status == 400


def test_gcp_maintenance_event_migrates_at_the_rebalance_time() -> None:
    with MetadataMock("gcp", notice_in=None, rebalance_in=0.2) as mock:
        query = f"wait_for_change=true&last_etag={etag(b'NONE')}&timeout_sec=20"
        path = f"{GCP_V1}/instance/maintenance-event?{query}"
        answer = call(mock, "GET", path, FLAVOR, timeout=30)
        assert mock.rebalance_time is not None and time.time() >= mock.rebalance_time
        assert answer.text == "MIGRATE_ON_HOST_MAINTENANCE"
        assert call(mock, "GET", f"{GCP_V1}/instance/preempted", FLAVOR).text == "FALSE"


def test_gcp_hanging_get_ends_when_the_mock_stops() -> None:
    mock = MetadataMock("gcp", notice_in=None).start()
    outcome: list[BaseException | Answer] = []

    def hang() -> None:
        try:
            path = f"{GCP_V1}/instance/preempted?wait_for_change=true"
            outcome.append(call(mock, "GET", path, FLAVOR, timeout=20))
        except (OSError, http.client.HTTPException) as exc:
            outcome.append(exc)

    waiter = threading.Thread(target=hang)
    waiter.start()
    wait_for_requests(mock, 1)
    mock.stop()
    waiter.join(timeout=10)
    assert not waiter.is_alive()
    assert isinstance(outcome[0], http.client.RemoteDisconnected | ConnectionError)


def test_gcp_works_with_google_auth() -> None:
    metadata = pytest.importorskip("google.auth.compute_engine._metadata")
    transport = pytest.importorskip("google.auth.transport.requests")
    with MetadataMock("gcp", notice_in=None) as mock:
        request = transport.Request()
        value = metadata.get(request, "instance/preempted", root=f"{mock.url}{GCP_V1}/")
        assert value == "FALSE"


# -- Azure -------------------------------------------------------------------------


def test_azure_needs_the_metadata_header_and_an_api_version() -> None:
    with MetadataMock("azure", notice_in=None) as mock:
        missing = call(mock, "GET", EVENTS)
        assert missing.status == 400
        assert missing.json() == {"error": "Bad request. Required metadata header not specified"}
        proxied = {**AZURE, "X-Forwarded-For": "203.0.113.9"}
        assert call(mock, "GET", EVENTS, proxied).status == 400
        no_version = call(mock, "GET", "/metadata/scheduledevents", AZURE)
        assert no_version.status == 400
        assert str(no_version.json()["error"]).startswith(
            "Bad request. api-version was not specified in the request"
        )
        empty = call(mock, "GET", EVENTS, AZURE)
        assert empty.json() == {"DocumentIncarnation": 0, "Events": []}


def test_azure_preempt_event_appears_with_not_before_at_the_deadline() -> None:
    with MetadataMock("azure", notice_in=0.2, notice_lead=3) as mock:
        document = poll_events(mock)
        assert mock.notice_time is not None and time.time() >= mock.notice_time
        assert document["DocumentIncarnation"] == 1
        [event] = document["Events"]
        assert event["EventStatus"] == "Scheduled" and event["EventType"] == "Preempt"
        assert event["ResourceType"] == "VirtualMachine" and event["EventSource"] == "Platform"
        assert event["Resources"] == ["spot-gpu-vm-0"] and event["DurationInSeconds"] == -1
        assert re.fullmatch(r"[0-9A-F]{8}(-[0-9A-F]{4}){3}-[0-9A-F]{12}", event["EventId"])
        assert event["NotBefore"].endswith(" GMT")
        not_before = parsedate_to_datetime(event["NotBefore"]).timestamp()
        assert mock.deadline is not None and not_before == int(mock.deadline)


def test_azure_acknowledgement_starts_the_event() -> None:
    with MetadataMock("azure", notice_in=None, action="terminate") as mock:
        unknown = json.dumps({"StartRequests": [{"EventId": "NOPE"}]}).encode()
        assert call(mock, "POST", EVENTS, AZURE, unknown).status == 400  # nothing scheduled
        mock.issue_notice_now()
        [event] = call(mock, "GET", EVENTS, AZURE).json()["Events"]
        assert event["EventType"] == "Terminate"
        assert call(mock, "POST", EVENTS, AZURE, unknown).status == 400
        assert call(mock, "POST", EVENTS, AZURE, b"{not json").status == 400
        assert call(mock, "POST", EVENTS, AZURE, b'{"StartRequests": "x"}').status == 400
        assert mock.acknowledged == []
        body = json.dumps({"StartRequests": [{"EventId": event["EventId"]}]}).encode()
        accepted = call(mock, "POST", EVENTS, AZURE, body)
        assert accepted.status == 200 and accepted.body == b""
        assert mock.acknowledged == [event["EventId"]] == [mock.event_id]
        document = call(mock, "GET", EVENTS, AZURE).json()
        assert document["DocumentIncarnation"] == 2
        assert document["Events"][0]["EventStatus"] == "Started"


def test_azure_instance_metadata() -> None:
    with MetadataMock("azure", notice_in=None) as mock:
        document = call(mock, "GET", "/metadata/instance?api-version=2021-02-01", AZURE).json()
        compute = document["compute"]
        assert isinstance(compute, dict) and "network" in document
        assert compute["priority"] == "Spot" and compute["vmSize"] == "Standard_NC24ads_A100_v4"
        assert compute["location"] == "eastus" and compute["zone"] == "1"
        path = "/metadata/instance/compute?api-version=2021-02-01&format=json"
        assert call(mock, "GET", path, AZURE).json() == compute
        leaf = "/metadata/instance/compute/evictionPolicy?api-version=2021-02-01&format=text"
        assert call(mock, "GET", leaf, AZURE).text == "Delete"


def poll_events(mock: MetadataMock) -> Any:
    give_up = time.time() + 5
    while True:
        document = call(mock, "GET", EVENTS, AZURE).json()
        if document["Events"] or time.time() > give_up:
            return document
        time.sleep(0.02)


# -- settings ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cloud", "settings", "field"),
    [
        ("azure", {"rebalance_in": 5.0}, "rebalance_in"),
        ("gcp", {"action": "stop"}, "action"),
        ("aws", {"action": "reboot"}, "action"),
        ("azure", {"action": "stop"}, "action"),
        ("gcp", {"imdsv1": True}, "imdsv1"),
        ("aws", {"notice_in": -1.0}, "notice_in"),
        ("oracle", {}, "cloud"),
    ],
)
def test_invalid_settings_are_usage_errors(
    cloud: str, settings: dict[str, object], field: str
) -> None:
    with pytest.raises(UsageError) as raised:
        MetadataMock(cloud, **settings)  # type: ignore[arg-type]
    assert raised.value.field == field


def test_defaults() -> None:
    aws, gcp, azure = MetadataMock("aws"), MetadataMock("gcp"), MetadataMock("azure")
    assert (aws.notice_lead, gcp.notice_lead, azure.notice_lead) == (120, 30, 30)
    assert (aws.action, gcp.action, azure.action) == ("terminate", None, "Preempt")
    assert aws.url == f"http://127.0.0.1:{aws.port}" and not aws.url.endswith("/")


# -- outages and restarts ------------------------------------------------------------


def test_error_outage_answers_500_and_gcp_503() -> None:
    with MetadataMock("aws", notice_in=None, imdsv1=True) as aws, MetadataMock("gcp") as gcp:
        aws.set_outage("error")
        gcp.set_outage("error")
        assert call(aws, "GET", "/latest/meta-data/instance-id").status == 500
        assert call(gcp, "GET", f"{GCP_V1}/instance/preempted", FLAVOR).status == 503
        aws.set_outage("none")
        assert call(aws, "GET", "/latest/meta-data/instance-id").status == 200


def test_hang_outage_holds_requests_until_lifted_then_closes_them() -> None:
    with MetadataMock("azure", notice_in=None) as mock:
        mock.set_outage("hang")
        threading.Timer(0.3, mock.set_outage, args=("none",)).start()
        with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
            call(mock, "GET", EVENTS, AZURE, timeout=10)
        assert mock.requests[-1].path == EVENTS
        assert mock.requests[-1].headers["Metadata"] == "true"
        assert call(mock, "GET", EVENTS, AZURE).status == 200


def test_restart_listens_on_the_same_port_and_forgets_tokens() -> None:
    with MetadataMock("aws", notice_in=60) as mock:
        port, notice_time = mock.port, mock.notice_time
        token = aws_token(mock)
        restarting = threading.Thread(target=mock.restart, kwargs={"downtime": 0.5})
        restarting.start()
        assert refused_while(restarting, port)
        restarting.join(timeout=10)
        assert mock.port == port and mock.notice_time == notice_time
        assert call(mock, "GET", "/latest/meta-data/instance-id", token).status == 401
        assert call(mock, "GET", "/latest/meta-data/instance-id", aws_token(mock)).status == 200


def refused_while(thread: threading.Thread, port: int) -> bool:
    """Whether connecting to ``port`` is refused at some point while ``thread`` runs."""
    while thread.is_alive():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        except ConnectionRefusedError:
            return True
        except ConnectionResetError:  # caught in the backlog as the socket closed
            pass
        time.sleep(0.01)
    return False


def wait_for_requests(mock: MetadataMock, count: int) -> None:
    give_up = time.time() + 5
    while len(mock.requests) < count and time.time() < give_up:
        time.sleep(0.01)


# -- the command ---------------------------------------------------------------------


def test_cli_serves_issues_the_notice_and_exits_0() -> None:
    result = CliRunner().invoke(
        app,
        [
            *("mock-metadata", "--cloud", "aws", "--port", "0", "--notice-in", "0s"),
            *("--notice-lead", "5s", "--rebalance-in", "0s", "--exit-after", "0.5s"),
        ],
    )
    assert result.exit_code == 0, result.stderr
    assert re.search(r"serving AWS IMDSv2 on http://127\.0\.0\.1:\d+", result.stderr)
    assert "spotadvisor watch --cloud aws --metadata-url http://127.0.0.1:" in result.stderr
    assert "notice issued: spot/instance-action says terminate" in result.stderr
    assert "advisory issued: rebalance recommendation" in result.stderr
    assert result.stderr.rstrip().endswith("stopped")


def test_cli_in_a_subprocess_answers_requests() -> None:
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "spotadvisor", "mock-metadata", "--cloud", "gcp"),
            *("--port", "0", "--notice-in", "0s", "--exit-after", "3s"),
        ],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        first = process.stderr.readline()
        found = re.search(r"http://127\.0\.0\.1:(\d+)", first)
        assert found, first
        connection = http.client.HTTPConnection("127.0.0.1", int(found[1]), timeout=5)
        connection.request("GET", f"{GCP_V1}/instance/preempted", headers=FLAVOR)
        assert connection.getresponse().read() == b"TRUE"
        connection.close()
        assert process.wait(timeout=20) == 0
    finally:
        process.kill()
        process.wait()


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["--cloud", "azure", "--rebalance-in", "10s"], "--rebalance-in"),
        (["--cloud", "gcp", "--action", "stop"], "--action"),
        (["--cloud", "aws", "--action", "reboot"], "--action"),
        (["--cloud", "aws", "--notice-in", "30"], "--notice-in"),
        (["--cloud", "gcp", "--imdsv1"], "--imdsv1"),
    ],
)
def test_cli_bad_options_exit_2(args: list[str], flag: str) -> None:
    result = CliRunner().invoke(app, ["mock-metadata", "--port", "0", *args])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and f"{flag}:" in result.stderr


def test_cli_port_in_use_names_the_option() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(app, ["mock-metadata", "--cloud", "aws", "--port", str(port)])
    assert result.exit_code == 2
    assert "--port" in result.stderr and "--port 0" in result.stderr


def test_cli_help_teaches_with_examples() -> None:
    result = CliRunner().invoke(app, ["mock-metadata", "--help"])
    assert result.exit_code == 0
    assert "Examples" in result.stdout and "--notice-in" in result.stdout
