"""Measured rates against hand-computed ones; exposure; merging sources; the CLI."""

from __future__ import annotations

import json
import math
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from scipy.stats import chi2
from typer.testing import CliRunner

from spotadvisor.cli import app
from spotadvisor.events.parse import FleetEvent
from spotadvisor.events.stats import (
    band_rate,
    exposure_from_billing,
    exposure_from_pools,
    measured_rates,
)
from spotadvisor.events.store import merge_sources, write_events
from spotadvisor.schema import BILLING, validate
from spotadvisor.store import Store

T0 = datetime(2026, 10, 1, tzinfo=UTC)
runner = CliRunner()


def ev(
    n: int,
    instance: str | None,
    *,
    kind: str = "p5.48xlarge",
    region: str = "us-east-1",
    event_type: str = "interruption",
    day: int = 3,
    source: str = "aws-eventbridge-sqs",
    minute: int = 0,
) -> FleetEvent:
    return FleetEvent(
        event_id=f"e-{n}-{source}",
        cloud="aws",
        event_type=event_type,
        action="terminate",
        notice_time=T0 + timedelta(days=day, minutes=minute),
        source=source,
        region=region,
        instance_type=kind,
        instance_id=instance,
        market="spot",
    )


BANDS = pd.DataFrame(
    {
        "cloud": ["aws", "aws"],
        "region": ["us-east-1", "us-east-1"],
        "instance_type": ["p5.48xlarge", "g5.xlarge"],
        "band": ["5-10%", "<5%"],
        "lo": [5.0, 0.0],
        "hi": [10.0, 5.0],
    }
)


def test_rates_match_hand_computed_values() -> None:
    events = [ev(1, "i-1"), ev(2, "i-2"), ev(3, "i-3"), ev(4, "i-4", event_type="rebalance")]
    exposure = exposure_from_pools(
        [("aws", "us-east-1", None, "p5.48xlarge", 2), ("aws", "us-east-1", None, "g5.xlarge", 4)],
        T0,
        T0 + timedelta(hours=730),
    )
    stats = measured_rates(events, exposure, BANDS).set_index("instance_type")
    p5, g5 = stats.loc["p5.48xlarge"], stats.loc["g5.xlarge"]
    assert (p5.interruptions, p5.rebalances, p5.instances) == (3, 1, 3)
    assert p5.exposure_instance_months == pytest.approx(2.0)
    assert p5.rate_per_instance_month == pytest.approx(1.5)
    assert p5.rate_low == pytest.approx(chi2.ppf(0.025, 6) / 2 / 2)
    assert p5.rate_high == pytest.approx(chi2.ppf(0.975, 8) / 2 / 2)
    assert p5.band_rate_high == pytest.approx(-math.log(0.9))
    assert p5.flag == "above band"
    # no interruption in 4 instance-months: rate 0, upper bound -ln(0.025)/4
    assert g5.interruptions == 0 and g5.rate_per_instance_month == 0.0
    assert g5.rate_high == pytest.approx(-math.log(0.025) / 4)
    assert g5.flag == ""  # 0-0.92 overlaps the <5% band


def test_band_rate_and_below_band_flag() -> None:
    assert band_rate(0) == 0 and math.isinf(band_rate(100))
    exposure = exposure_from_pools(
        [("aws", "us-east-1", None, "p5.48xlarge", 100)], T0, T0 + timedelta(hours=730)
    )
    row = measured_rates([], exposure, BANDS).iloc[0]
    assert row.rate_high == pytest.approx(-math.log(0.025) / 100)  # 0.037 < 0.051
    assert row.flag == "below band"


def test_events_without_exposure_have_no_rate() -> None:
    row = measured_rates(
        [ev(1, "i-1", kind="p4d.24xlarge")],
        exposure_from_pools([], T0, T0 + timedelta(days=1)),
        BANDS,
    ).iloc[0]
    assert row.interruptions == 1 and math.isnan(row.rate_per_instance_month)
    assert row.exposure_source == "none" and row.band == ""


def _billing(rows: list[dict[str, object]]) -> pd.DataFrame:
    full = [{c: r.get(c) for c in BILLING.column_names} for r in rows]
    return validate(pd.DataFrame(full, columns=BILLING.column_names), BILLING)


def billing_line(key: str, start: datetime, hours: float, **kw: object) -> dict[str, object]:
    base = {
        "row_key": key,
        "provider": "aws",
        "charge_period_start": start,
        "charge_period_end": start + timedelta(hours=hours),
        "is_spot": True,
        "instance_type": "p5.48xlarge",
        "region_id": "us-east-1",
        "consumed_quantity": hours,
        "consumed_unit": "Hours",
        "resource_id": "i-9",
        "source": "test",
        "as_of": start,
    }
    return {**base, **kw}


def test_billing_exposure_is_pro_rated_and_spot_only() -> None:
    billing = _billing(
        [
            billing_line("a", T0 - timedelta(hours=12), 24),  # half inside
            billing_line("b", T0 + timedelta(days=1), 100),
            billing_line("c", T0 + timedelta(days=1), 50, is_spot=False),
            billing_line("d", T0 + timedelta(days=40), 50),  # after the window
        ]
    )
    out = exposure_from_billing(billing, T0, T0 + timedelta(days=31))
    assert out["instance_hours"].tolist() == [pytest.approx(112.0)]


def test_merge_sources_counts_one_interruption_seen_twice() -> None:
    bridge = ev(1, "i-1", kind=None)  # type: ignore[arg-type]
    watch = ev(2, "i-1", source="watch-log", minute=1)
    later = ev(3, "i-1", day=20)  # a stopped spot instance interrupted again later
    merged = merge_sources([watch, bridge, later])
    assert len(merged) == 2
    assert merged[0].event_id == bridge.event_id and merged[0].instance_type == "p5.48xlarge"


@pytest.fixture
def store_copy(synthetic_store: Path, tmp_path: Path) -> Path:
    db = tmp_path / "copy.duckdb"
    shutil.copy(synthetic_store, db)
    return db


def test_stats_cli_against_billing_exposure(store_copy: Path, tmp_path: Path) -> None:
    store = Store(store_copy)
    # EventBridge knows no instance type: it comes from the billing line of i-p5-spot-1
    write_events(
        store,
        [ev(1, "i-p5-spot-1", kind=None), ev(2, "i-p5-spot-1", day=20, kind=None)],
        origin="t",
    )  # type: ignore[arg-type]
    base = [
        "--db",
        str(store_copy),
        "events",
        "stats",
        "--from",
        "2026-10-01",
        "--to",
        "2026-11-01",
    ]
    result = runner.invoke(app, [*base, "--format", "json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    pools = {p["instance_type"]: p for p in doc["pools"]}
    p5 = pools["p5.48xlarge"]
    assert p5["interruptions"] == 2 and p5["exposure_source"] == "billing"
    assert p5["exposure_instance_months"] == pytest.approx(744 / 730)
    assert p5["rate_per_instance_month"] == pytest.approx(2 * 730 / 744)
    assert pools["g5.xlarge"]["interruptions"] == 0  # exposure without events is a row too
    table = runner.invoke(app, base)
    assert "p5.48xlarge" in table.stdout and "1.96 (0.24–7.09)" in table.stdout
    csv = runner.invoke(app, [*base, "--format", "csv"])
    assert csv.stdout.splitlines()[0].startswith("cloud,region,instance_type,interruptions")


def test_stats_cli_with_a_fleet_file(tmp_path: Path) -> None:
    write_events(Store(tmp_path / "s.duckdb"), [ev(1, "i-1"), ev(2, "i-2")], origin="t")
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(
        "workload: {replicas: 2, gpus_per_replica: 8}\n"
        "fleet:\n  - {cloud: aws, region: us-east-1, instance: p5.48xlarge, market: spot, count: 4}\n"
    )
    args = [
        "--db",
        str(tmp_path / "s.duckdb"),
        "events",
        "stats",
        "--from",
        "2026-10-01",
        "--to",
        "2026-10-31T10:00",
        "--fleet",
        str(fleet),
        "--format",
        "json",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    p5 = json.loads(result.stdout)["pools"][0]
    assert p5["exposure_instance_months"] == pytest.approx(4.0)  # 4 instances x 730 h
    assert p5["rate_per_instance_month"] == pytest.approx(0.5)


def test_stats_bad_window_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["events", "stats", "--from", "2026-10-05", "--to", "2026-10-01"])
    assert result.exit_code == 2 and "--from" in result.stderr
    result = runner.invoke(app, ["events", "stats", "--from", "yesterday"])
    assert result.exit_code == 2 and "not a date" in result.stderr
    result = runner.invoke(app, ["events", "stats", "--since", "7d", "--from", "2026-10-01"])
    assert result.exit_code == 2 and "error: --since: --since and --from" in result.stderr


def test_a_window_ending_in_the_future_is_clipped_to_now(tmp_path: Path) -> None:
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(
        "workload: {replicas: 2, gpus_per_replica: 8}\n"
        "fleet:\n  - {cloud: aws, region: us-east-1, instance: p5.48xlarge, market: spot, count: 4}\n"
    )
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=10)
    args = ["--db", str(tmp_path / "s.duckdb"), "events", "stats", "--fleet", str(fleet)]
    window = ["--from", start.isoformat(), "--to", "2099-01-01"]
    result = runner.invoke(app, [*args, *window, "--format", "json"])
    assert result.exit_code == 0, result.stderr
    assert "the window ends in the future" in result.stderr
    doc = json.loads(result.stdout)
    end = datetime.fromisoformat(doc["window"]["to"])
    assert abs((end - datetime.now(UTC)).total_seconds()) < 60
    (p5,) = doc["pools"]
    # 4 instances x 10 days, not x the years up to 2099
    assert p5["exposure_instance_months"] == pytest.approx(4 * 240 / 730, rel=1e-3)
    assert p5["zone"] is None  # per region: no zone, not "(unknown)"
    past = runner.invoke(app, [*args, "--from", "2026-10-01", "--to", "2026-10-31"])
    assert past.exit_code == 0 and "future" not in past.stderr
    future = runner.invoke(app, [*args, "--from", "2099-01-01", "--to", "2099-02-01"])
    assert future.exit_code == 2 and "--from" in future.stderr and "future" in future.stderr
