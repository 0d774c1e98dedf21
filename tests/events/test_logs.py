"""``events collect gcp|azure``: google-cloud-logging and azure-mgmt-monitor against local
servers speaking the entries:list and Activity Log wire formats."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from spotadvisor.cli import app
from spotadvisor.events.azure_monitor import get_evictions
from spotadvisor.events.gcp_logging import get_preemptions
from spotadvisor.schema import INTERRUPTION_EVENTS
from spotadvisor.store import Store
from tests.events.payloads import azure_eviction, gcp_preempted
from tests.fakes.azure import FakeCredential
from tests.fakes.events import FakeActivityLog, FakeCloudLogging

START, END = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)
SUB = "00000000-0000-0000-0000-00000000abcd"
VMSS = f"/subscriptions/{SUB}/resourceGroups/llm/providers/Microsoft.Compute/virtualMachineScaleSets/a100/virtualMachines"


@pytest.fixture
def logging_server(gcp_env: None) -> Any:
    entries = {
        "proj-a": [
            gcp_preempted(
                "-abc1", "proj-a", "us-central1-a", "llm-0", "111", "2026-03-03T01:00:00.123456789Z"
            ),
            gcp_preempted(
                "-abc2", "proj-a", "us-central1-b", "llm-1", "112", "2026-03-04T01:00:00Z"
            ),
            gcp_preempted(
                "-abc3", "proj-a", "us-central1-b", "llm-1", "112", "2026-02-10T01:00:00Z"
            ),
        ],
        "proj-b": [
            gcp_preempted(
                "-abc4", "proj-b", "europe-west4-a", "g2-0", "221", "2026-03-20T05:00:00Z"
            )
        ],
        "proj-c": [
            gcp_preempted("-abc5", "proj-c", "us-east1-b", "x", "331", "2026-03-20T05:00:00Z")
        ],
    }
    with FakeCloudLogging(entries) as fake:
        yield fake


def test_gcp_preemptions_across_projects_and_pages(logging_server: FakeCloudLogging) -> None:
    from google.auth.credentials import AnonymousCredentials

    found = get_preemptions(
        ["proj-a", "proj-b"],
        START,
        END,
        endpoint=logging_server.url,
        credentials=AnonymousCredentials(),
        page_size=50,
    )
    assert sorted(e.instance_id or "" for e in found) == ["111", "112", "221"]
    first = next(e for e in found if e.instance_id == "111")
    assert (first.region, first.zone, first.action, first.market) == (
        "us-central1",
        "us-central1-a",
        "preempted",
        "spot",
    )
    assert first.notice_time == datetime(2026, 3, 3, 1, 0, 0, 123456, tzinfo=UTC)
    request = logging_server.requests[0]
    assert request["resourceNames"] == ["projects/proj-a", "projects/proj-b"]
    assert 'protoPayload.methodName="compute.instances.preempted"' in request["filter"]
    assert len(logging_server.requests) == 2  # two pages of at most 2


def test_gcp_collect_cli_is_idempotent(
    logging_server: FakeCloudLogging, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from google.auth import credentials as gcreds

    import spotadvisor.events.gcp_logging as module

    real = module.get_preemptions
    monkeypatch.setattr(
        module,
        "get_preemptions",
        lambda *a, **k: real(*a, **{**k, "credentials": gcreds.AnonymousCredentials()}),
    )
    db = str(tmp_path / "s.duckdb")
    args = [
        "--db",
        db,
        "events",
        "collect",
        "gcp",
        "--project",
        "proj-a",
        "--since",
        "3650d",
        "--endpoint-url",
        logging_server.url,
    ]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "stored 3 new event(s)" in first.stdout
    again = CliRunner().invoke(app, args)
    assert "stored 0 new event(s)" in again.stdout
    assert len(Store(Path(db)).read(INTERRUPTION_EVENTS)) == 3


@pytest.fixture
def activity_server(azure_env: None) -> Any:
    events = {
        SUB: [
            azure_eviction(SUB, f"{VMSS}/3", "op-1", "2026-03-05T02:00:00.5Z", status="Started"),
            azure_eviction(SUB, f"{VMSS}/3", "op-1", "2026-03-05T02:00:31Z"),
            azure_eviction(SUB, f"{VMSS}/4", "op-2", "2026-03-06T02:00:00Z"),
            {
                **azure_eviction(SUB, f"{VMSS}/5", "op-3", "2026-03-06T03:00:00Z"),
                "operationName": {
                    "value": "Microsoft.Compute/virtualMachineScaleSets/write",
                    "localizedValue": "Create or Update",
                },
            },
            azure_eviction(SUB, f"{VMSS}/6", "op-4", "2026-01-06T02:00:00Z"),
        ]
    }
    with FakeActivityLog(events, token="fake-token") as fake:
        yield fake


def test_azure_evictions_one_per_operation(activity_server: FakeActivityLog) -> None:
    found = get_evictions(
        [SUB], START, END, endpoint=activity_server.url, credential=FakeCredential("fake-token")
    )
    assert sorted((e.instance_id or "")[-1] for e in found) == ["3", "4"]
    first = next(e for e in found if (e.instance_id or "").endswith("/3"))
    assert first.notice_time == datetime(2026, 3, 5, 2, 0, 0, 500000, tzinfo=UTC)  # earliest status
    assert (first.event_type, first.action, first.market) == ("interruption", "evict", "spot")
    query = activity_server.requests[0]
    assert "resourceProvider eq 'Microsoft.Compute'" in query["$filter"]
    assert (
        len(activity_server.requests) == 2
    )  # 4 events in the window, 2 per page: nextLink followed


def test_azure_refuses_plain_http_off_loopback(azure_env: None) -> None:
    from spotadvisor.errors import UsageError

    with pytest.raises(UsageError):
        get_evictions(
            [SUB], START, END, endpoint="http://example.com", credential=FakeCredential("t")
        )


def test_azure_unreachable_is_a_data_error(azure_env: None, tmp_path: Path) -> None:
    args = [
        "--db",
        str(tmp_path / "s.duckdb"),
        "events",
        "collect",
        "azure",
        "--subscription",
        SUB,
        "--endpoint-url",
        "http://127.0.0.1:9",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 3, result.output
    assert "activity log" in result.stderr


def test_azure_follow_prints_one_line_per_new_event(
    activity_server: FakeActivityLog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    import spotadvisor.events.azure_monitor as module

    real = module.get_evictions
    monkeypatch.setattr(
        module,
        "get_evictions",
        lambda *a, **k: real(*a, **{**k, "credential": FakeCredential("fake-token")}),
    )
    args = [
        "--db", str(tmp_path / "s.duckdb"), "events", "follow", "azure", "--subscription", SUB,
        "--since", "3650d", "--endpoint-url", activity_server.url, "--max-events", "3",
    ]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert sorted(e["instance_id"][-1] for e in lines) == ["3", "4", "6"]
    assert {e["action"] for e in lines} == {"evict"}
