"""AWS offers keep one row per zone whether or not the price records carry zone IDs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from spotadvisor.collect.aws import AwsOptions, collect_aws
from spotadvisor.collect.aws_parse import ON_DEMAND_COLUMNS, assemble_offers, fill_zone_ids
from spotadvisor.importers.spot_price_history import parse_spot_price_records
from spotadvisor.schema import OFFERS, SPOT_PRICE_HISTORY
from spotadvisor.store import Store
from tests.fakes.aws import DEFAULT_NOW, FakeAws

# describe-spot-price-history as archived by the training_on_a_dime study (2020): zone
# names only, no AvailabilityZoneId, four zones of us-east-1
ARCHIVED = (
    Path(__file__).parents[1]
    / "fixtures"
    / "spot_price_history"
    / "describe-spot-price-history_us-east-1_p3.2xlarge_sample.json"
)
AS_OF = datetime(2020, 2, 21, tzinfo=UTC)


def _archived_records() -> list[dict[str, object]]:
    records: list[dict[str, object]] = json.loads(ARCHIVED.read_text())["SpotPriceHistory"]
    return records


def _offers(records: list[dict[str, object]]) -> pd.DataFrame:
    history, _ = parse_spot_price_records(
        [{**r, "Region": "us-east-1"} for r in records],
        source="test",
        as_of=AS_OF,
        origin=ARCHIVED.name,
    )
    return assemble_offers(
        history,
        pd.DataFrame(columns=ON_DEMAND_COLUMNS),
        pd.DataFrame(),
        source="test",
        as_of=AS_OF,
    )


def test_records_without_zone_ids_keep_every_zone() -> None:
    records = _archived_records()
    assert all("AvailabilityZoneId" not in r for r in records)
    offers = _offers(records)
    assert sorted(offers["zone"]) == ["us-east-1b", "us-east-1c", "us-east-1d", "us-east-1f"]
    assert offers["zone_id"].isna().all()
    # the newest price of each zone: the archive's first record per zone (newest first)
    newest = {}
    for r in records:
        newest.setdefault(r["AvailabilityZone"], float(str(r["SpotPrice"])))
    assert dict(zip(offers["zone"], offers["price_spot_usd_per_hour"], strict=True)) == newest


def test_zone_ids_filled_from_the_account_map_key_the_same_zones() -> None:
    records = _archived_records()
    zone_map = {"us-east-1b": "use1-az2", "us-east-1c": "use1-az4", "us-east-1d": "use1-az6"}
    assert fill_zone_ids(records, zone_map) == 1  # the us-east-1f record: not in the map
    offers = _offers(records).set_index("zone")
    assert len(offers) == 4
    assert offers.loc["us-east-1c", "zone_id"] == "use1-az4"
    assert pd.isna(offers.loc["us-east-1f", "zone_id"])


def test_mixed_records_do_not_merge_a_named_zone_into_an_id() -> None:
    """One zone reported with an ID, another by name only: two rows."""
    records = _archived_records()
    for r in records:
        if r["AvailabilityZone"] == "us-east-1b":
            r["AvailabilityZoneId"] = "use1-az2"
    assert len(_offers(records)) == 4


def _options(fake: FakeAws) -> AwsOptions:
    return AwsOptions(
        regions=("us-east-1",),
        instance_types=("p3.2xlarge", "p3.8xlarge"),
        sources=frozenset({"spot-prices", "on-demand"}),
        endpoint_url=fake.url,
        now=DEFAULT_NOW,
        read_timeout_s=5,
        max_attempts=2,
        workers=2,
    )


@pytest.fixture(autouse=True)
def _cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def _zones(store: Store, instance_type: str) -> pd.DataFrame:
    offers = store.read(OFFERS)
    return offers.loc[offers["instance_type"] == instance_type, ["zone", "zone_id"]]


def test_collect_without_zone_ids_fills_them_from_the_zone_map(
    fake_aws: FakeAws, tmp_path: Path
) -> None:
    with_ids = Store(tmp_path / "ids.duckdb")
    assert not collect_aws(with_ids, _options(fake_aws)).failed
    expected = _zones(with_ids, "p3.2xlarge").sort_values("zone").reset_index(drop=True)
    assert len(expected) == 5  # the fake's five p3.2xlarge zones of us-east-1

    fake_aws.omit_zone_ids = True
    without = Store(tmp_path / "names.duckdb")
    report = collect_aws(without, _options(fake_aws))
    assert not report.failed
    assert any(r.action == "DescribeAvailabilityZones" for r in fake_aws.requests)
    got = _zones(without, "p3.2xlarge").sort_values("zone").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected)
    assert got["zone_id"].tolist() == [fake_aws.zone_map("us-east-1")[z] for z in got["zone"]]


def test_collect_without_zone_ids_or_zone_map_keeps_every_zone_by_name(
    fake_aws: FakeAws, tmp_path: Path
) -> None:
    fake_aws.omit_zone_ids = True
    fake_aws.deny_describe_zones = True
    store = Store(tmp_path / "s.duckdb")
    report = collect_aws(store, _options(fake_aws))
    assert not report.failed
    zones = _zones(store, "p3.2xlarge")
    assert zones["zone"].nunique() == len(zones) == 5
    assert zones["zone_id"].isna().all()
    history = store.read(SPOT_PRICE_HISTORY)
    assert history["zone_id"].isna().all() and history["zone"].notna().all()
    notes = [n for w in report.written for n in getattr(w, "notes", ())]
    logged = " ".join(notes) + " ".join(str(x) for x in store.ingest_log().to_numpy().ravel())
    assert "keyed by zone name" in logged


def test_placement_scores_still_join_on_zone_ids() -> None:
    records = _archived_records()
    fill_zone_ids(records, {"us-east-1b": "use1-az2"})
    history, _ = parse_spot_price_records(
        [{**r, "Region": "us-east-1"} for r in records], source="t", as_of=AS_OF, origin="t"
    )
    placement = pd.DataFrame(
        [
            {
                "region": "us-east-1",
                "zone_id": "use1-az2",
                "instance_type": "p3.2xlarge",
                "placement_score": 7.0,
            }
        ]
    )
    offers = assemble_offers(
        history,
        pd.DataFrame(columns=ON_DEMAND_COLUMNS),
        placement,
        source="t",
        as_of=AS_OF,
    ).set_index("zone")
    assert offers.loc["us-east-1b", "placement_score"] == 7.0
    assert offers.drop(index="us-east-1b")["placement_score"].isna().all()
