"""Zones: AWS zone IDs from watch logs and DescribeInstances, and how ``events stats
--by-zone`` matches events with the exposure of pools (zone-less pools, zone names)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from spotadvisor.cli import app
from spotadvisor.events.parse import FleetEvent, events_from_notices
from spotadvisor.events.sqs import ec2_describer
from spotadvisor.events.stats import ANY_ZONE, exposure_from_pools, measured_rates, zone_key
from spotadvisor.watch.aws import AwsSource
from spotadvisor.watch.mock import MetadataMock
from spotadvisor.watch.notice import Notice, read_watch_log

runner = CliRunner()
T0 = datetime(2026, 10, 1, tzinfo=UTC)
MONTH = T0 + timedelta(hours=730)
NO_BANDS = pd.DataFrame(columns=["cloud", "region", "instance_type", "band", "lo", "hi"])


def ev(
    n: int,
    zone: str | None,
    *,
    cloud: str = "aws",
    region: str = "us-east-1",
    kind: str = "p5.48xlarge",
) -> FleetEvent:
    return FleetEvent(
        event_id=f"e-{n}",
        cloud=cloud,
        event_type="interruption",
        action="terminate",
        notice_time=T0 + timedelta(days=3),
        source="watch-log",
        region=region,
        zone=zone,
        instance_type=kind,
        instance_id=f"i-{n}",
        market="spot",
    )


def notice(cloud: str, zone: str | None, zone_id: str | None = None) -> Notice:
    return Notice(
        kind="termination",
        cloud=cloud,
        action="terminate",
        notice_time=T0,
        deadline=None,
        event_id="x",
        instance_id="i-1",
        zone=zone,
        zone_id=zone_id,
        region="us-east-1",
    )


def rows(frame: pd.DataFrame) -> dict[tuple[str, str], tuple[int, float]]:
    return {
        (str(r.region), str(r.zone)): (int(r.interruptions), round(r.exposure_instance_months, 6))
        for r in frame.itertuples()
    }


# -- where zones come from -----------------------------------------------------------


def test_watch_events_use_the_aws_zone_id_and_fall_back_to_the_name() -> None:
    (with_id,) = events_from_notices([notice("aws", "us-east-1a", "use1-az6")], source="watch-log")
    (older,) = events_from_notices([notice("aws", "us-east-1a")], source="watch-log")
    (azure,) = events_from_notices([notice("azure", "eastus-1")], source="watch-log")
    assert (with_id.zone, older.zone, azure.zone) == ("use1-az6", "us-east-1a", "eastus-1")


class _Ec2:
    def __init__(self, placement: dict[str, str]) -> None:
        self.placement = placement

    def get_paginator(self, name: str) -> Any:
        assert name == "describe_instances"
        instance = {
            "InstanceId": "i-1",
            "InstanceType": "p5.48xlarge",
            "InstanceLifecycle": "spot",
            "Placement": self.placement,
        }
        pages = [{"Reservations": [{"Instances": [instance]}]}]
        return type("Paginator", (), {"paginate": lambda _self, **kw: pages})()


def test_describe_instances_gives_the_zone_id_where_ec2_has_one() -> None:
    bare = ev(1, None)
    bare = FleetEvent(**{**bare.__dict__, "instance_type": None})
    both = {"AvailabilityZone": "us-east-1a", "AvailabilityZoneId": "use1-az6"}
    (found,) = ec2_describer(lambda region: _Ec2(both))([bare])
    assert (found.zone, found.instance_type, found.market) == ("use1-az6", "p5.48xlarge", "spot")
    (named,) = ec2_describer(lambda region: _Ec2({"AvailabilityZone": "us-east-1a"}))([bare])
    assert named.zone == "us-east-1a"


def test_zone_keys_compare_azure_zones_without_their_location() -> None:
    assert zone_key("azure", "eastus", "eastus-1") == "1"
    assert zone_key("azure", "eastus", "1") == "1"
    assert zone_key("aws", "us-east-1", "use1-az6") == "use1-az6"
    assert zone_key("gcp", "us-central1", "us-central1-a") == "us-central1-a"
    assert zone_key("aws", "us-east-1", None) is None


# -- the by-zone rule ----------------------------------------------------------------


def _stats(
    events: list[FleetEvent], pools: list[tuple[str, str, str | None, str, int]]
) -> tuple[pd.DataFrame, list[str]]:
    notes: list[str] = []
    exposure = exposure_from_pools(pools, T0, MONTH, by_zone=True)
    return measured_rates(events, exposure, NO_BANDS, by_zone=True, notes=notes), notes


def test_matching_zone_ids_split_by_zone() -> None:
    frame, notes = _stats(
        [ev(1, "use1-az6"), ev(2, "use1-az6"), ev(3, "use1-az4")],
        [
            ("aws", "us-east-1", "use1-az6", "p5.48xlarge", 2),
            ("aws", "us-east-1", "use1-az1", "p5.48xlarge", 1),
        ],
    )
    assert rows(frame) == {
        ("us-east-1", "use1-az6"): (2, 2.0),
        ("us-east-1", "use1-az1"): (0, 1.0),
        ("us-east-1", "use1-az4"): (1, 0.0),  # a zone the fleet file does not name
    }
    assert notes == []


def test_a_pool_without_a_zone_is_one_row_for_its_region() -> None:
    frame, notes = _stats(
        [ev(1, "use1-az6"), ev(2, "use1-az4")],
        [
            ("aws", "us-east-1", None, "p5.48xlarge", 2),
            ("aws", "us-east-1", "use1-az6", "p5.48xlarge", 1),
        ],
    )
    assert rows(frame) == {("us-east-1", ANY_ZONE): (2, 3.0)}
    row = frame.iloc[0]
    assert row.rate_per_instance_month == pytest.approx(2 / 3)
    (text,) = notes
    assert "aws us-east-1 p5.48xlarge" in text and "exposure without a zone" in text


def test_azure_watch_zones_match_the_fleet_file_and_zone_less_pools_take_any_zone() -> None:
    frame, notes = _stats(
        [
            ev(1, "eastus-1", cloud="azure", region="eastus", kind="NC"),
            ev(2, "westus2-2", cloud="azure", region="westus2", kind="NC"),
        ],
        [
            ("azure", "eastus", "1", "NC", 1),
            ("azure", "westus2", None, "NC", 1),
        ],
    )
    assert rows(frame) == {("eastus", "1"): (1, 1.0), ("westus2", ANY_ZONE): (1, 1.0)}
    assert len(notes) == 1 and "azure westus2 NC" in notes[0]


def test_aws_zone_names_and_ids_are_matched_at_region_level_with_a_note() -> None:
    frame, notes = _stats(
        [ev(1, "us-east-1a")], [("aws", "us-east-1", "use1-az1", "p5.48xlarge", 4)]
    )
    assert rows(frame) == {("us-east-1", ANY_ZONE): (1, 4.0)}
    (text,) = notes
    assert "us-east-1a" in text and "use1-az1" in text and "differ between accounts" in text


def test_events_without_a_zone_merge_their_pool() -> None:
    frame, notes = _stats(
        [ev(1, None), ev(2, "use1-az1")], [("aws", "us-east-1", "use1-az1", "p5.48xlarge", 1)]
    )
    assert rows(frame) == {("us-east-1", ANY_ZONE): (2, 1.0)}
    assert "1 event(s) without a zone" in notes[0]
    # a lone zone-less pool has nothing to merge: (any), without a note
    frame, notes = _stats([], [("aws", "us-east-1", None, "p5.48xlarge", 1)])
    assert rows(frame) == {("us-east-1", ANY_ZONE): (0, 1.0)} and notes == []


def test_without_by_zone_the_zone_is_none() -> None:
    exposure = exposure_from_pools([("aws", "us-east-1", "use1-az1", "p5.48xlarge", 1)], T0, MONTH)
    frame = measured_rates([ev(1, "use1-az1")], exposure, NO_BANDS)
    assert frame["zone"].tolist() == [None]


# -- end to end: watch against the mock, import, stats -------------------------------


def _watch_log(tmp_path: Path) -> Path:
    with MetadataMock("aws", notice_in=0.0) as mock:
        (found,) = AwsSource(mock.url).poll(lambda: datetime.now(UTC))
    log = tmp_path / "watch-aws.jsonl"
    log.write_text(json.dumps(found.record(found.notice_time)) + "\n")
    (back,) = read_watch_log(log)
    assert back.zone_id == "use1-az6"
    return log


@pytest.mark.parametrize(
    ("zone", "expected", "noted"),
    [("use1-az6", "use1-az6", False), (None, ANY_ZONE, True)],
)
def test_watch_log_events_meet_the_fleet_pool(
    tmp_path: Path, zone: str | None, expected: str, noted: bool
) -> None:
    log = _watch_log(tmp_path)
    db = ["--db", str(tmp_path / "s.duckdb")]
    imported = runner.invoke(app, [*db, "events", "import", str(log)])
    assert imported.exit_code == 0, imported.stderr
    fleet = tmp_path / "fleet.yaml"
    at = f", zone: {zone}" if zone else ""
    fleet.write_text(
        "workload: {replicas: 4, gpus_per_replica: 8}\nfleet:\n"
        f"  - {{cloud: aws, region: us-east-1{at}, instance: p5.48xlarge, market: spot, count: 4}}\n"
    )
    args = ["events", "stats", "--since", "7d", "--fleet", str(fleet), "--by-zone"]
    result = runner.invoke(app, [*db, *args, "--format", "json"])
    assert result.exit_code == 0, result.stderr
    (pool,) = json.loads(result.stdout)["pools"]  # one row: the event meets the exposure
    assert (pool["zone"], pool["interruptions"]) == (expected, 1)
    assert pool["exposure_instance_months"] == pytest.approx(4 * 7 * 24 / 730, rel=1e-3)
    assert ("one row for all its zones" in result.stderr) is noted


def test_by_zone_without_exposure_or_events() -> None:
    frame, notes = _stats([ev(1, "use1-az6")], [])
    assert rows(frame) == {("us-east-1", "use1-az6"): (1, 0.0)} and notes == []
    frame, notes = _stats([], [])
    assert frame.empty and notes == []
