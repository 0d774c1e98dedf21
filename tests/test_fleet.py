"""Resolving fleet files against offers data: values, their sources, and the errors."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime

import pandas as pd
import pytest
import yaml

from spotadvisor.catalog import offers_view
from spotadvisor.config import parse_fleet
from spotadvisor.errors import DataError, UsageError
from spotadvisor.fleet import resolve_fleet
from spotadvisor.schema import INTERRUPTION_HISTORY, SPOT_PRICE_HISTORY
from tests.factories import frame, offer

AS_OF = datetime(2025, 6, 28, tzinfo=UTC)

OFFERS = frame(
    [
        # p4d in two zones of us-east-1: spot 2.4655 and 7.8799, on demand 21.957642
        offer(
            instance_type="p4d.24xlarge",
            zone_id="use1-az1",
            gpu_model="A100",
            gpu_memory_gb=40.0,
            price_on_demand_usd_per_hour=21.957642,
            price_spot_usd_per_hour=2.4655,
        ),
        offer(
            instance_type="p4d.24xlarge",
            zone_id="use1-az6",
            gpu_model="A100",
            gpu_memory_gb=40.0,
            price_on_demand_usd_per_hour=21.957642,
            price_spot_usd_per_hour=7.8799,
        ),
        # a pool whose catalog row had a filler spot price: spot unknown
        offer(instance_type="p5.48xlarge", zone_id="use1-az4", price_spot_usd_per_hour=None),
        # GCP: no published band
        offer(
            cloud="gcp",
            region="us-central1",
            zone="us-central1-a",
            zone_id=None,
            instance_type="a3-highgpu-8g",
            price_on_demand_usd_per_hour=88.25,
            price_spot_usd_per_hour=21.0,
        ),
    ]
)
BANDS = frame(
    [
        {
            "cloud": "aws",
            "region": "us-east-1",
            "instance_type": "p4d.24xlarge",
            "os": "Linux",
            "interruption_band": "10-15%",
            "interruption_band_lower_pct": 10.0,
            "interruption_band_upper_pct": 15.0,
            "savings_pct": 67.0,
            "source": "advisor",
            "as_of": AS_OF,
        }
    ],
    INTERRUPTION_HISTORY,
)
VIEW = offers_view(OFFERS, BANDS)


def fleet(pools: str, workload: str = "replicas: 3", extra: str = "") -> object:
    text = (
        f"workload: {{{workload}}}\nfleet:\n{textwrap.indent(textwrap.dedent(pools), '  ')}{extra}"
    )
    return parse_fleet(yaml.safe_load(text), origin="f.yaml")


def test_prices_and_band_come_from_the_data_with_their_sources() -> None:
    spec = fleet(
        "- {cloud: aws, region: us-east-1, zone: use1-az6, instance: p4d.24xlarge, market: spot, count: 2}"
    )
    r = resolve_fleet(spec, VIEW, data_label="embedded snapshot")  # type: ignore[arg-type]
    pool = r.pools[0]
    assert pool.model.price_per_hour == pytest.approx(7.8799)
    assert pool.model.on_demand_price_per_hour == pytest.approx(21.957642)
    assert (pool.model.hazard.p_low, pool.model.hazard.p_high) == (0.10, 0.15)
    assert pool.model.notice_seconds == 120
    assert pool.sources["price_per_hour"].startswith("embedded snapshot: test")
    assert "advisor" in pool.sources["interruption"] and "10-15%" in pool.sources["interruption"]
    assert r.notes == ()


def test_no_zone_takes_the_median_and_says_so() -> None:
    spec = fleet(
        "- {cloud: aws, region: us-east-1, instance: p4d.24xlarge, market: spot, count: 1}"
    )
    r = resolve_fleet(spec, VIEW)  # type: ignore[arg-type]
    assert r.pools[0].model.price_per_hour == pytest.approx((2.4655 + 7.8799) / 2)
    assert any("median of 2 zones" in n for n in r.notes)


def test_unknown_band_is_assumed_worst_not_safe() -> None:
    spec = fleet(
        "- {cloud: gcp, region: us-central1, zone: us-central1-a, instance: a3-highgpu-8g, market: spot, count: 1}"
    )
    r = resolve_fleet(spec, VIEW)  # type: ignore[arg-type]
    hazard = r.pools[0].model.hazard
    assert (hazard.p_low, hazard.p_high) == (0.20, 1.0)
    assert r.pools[0].model.notice_seconds == 30
    assert any(">20%" in n and "rather than zero risk" in n for n in r.notes)


@pytest.mark.parametrize(
    ("interruption", "kind", "value"),
    [
        ("{band: '5-10%'}", "band", (0.05, 0.10)),
        ("{monthly_rate: 0.73}", "rate", 0.73 / 730),  # expected preemptions per month
        ("{mean_time_to_preemption: 4h}", "rate", 0.25),
    ],
)
def test_interruption_overrides(interruption: str, kind: str, value: object) -> None:
    spec = fleet(
        "- {cloud: aws, region: us-east-1, zone: use1-az1, instance: p4d.24xlarge, market: spot, count: 1, "
        f"interruption: {interruption}}}"
    )
    pool = resolve_fleet(spec, VIEW).pools[0]  # type: ignore[arg-type]
    assert pool.sources["interruption"] == "fleet file"
    if kind == "band":
        assert (pool.model.hazard.p_low, pool.model.hazard.p_high) == value
    else:
        assert pool.model.hazard.rate_per_hour == pytest.approx(value)


def test_replica_of_several_instances_multiplies_price_and_hazard_count() -> None:
    spec = fleet(
        "- {cloud: aws, region: us-east-1, zone: use1-az1, instance: p4d.24xlarge, market: spot, count: 1}",
        workload="replicas: 1, gpus_per_replica: 16",
    )
    model = resolve_fleet(spec, VIEW).pools[0].model  # type: ignore[arg-type]
    assert model.instances_per_replica == 2
    assert model.price_per_hour == pytest.approx(2 * 2.4655)
    assert model.on_demand_price_per_hour == pytest.approx(2 * 21.957642)


def test_a_pool_the_file_fully_describes_needs_no_data() -> None:
    spec = fleet(
        "- {cloud: aws, region: eu-south-9, instance: p9.huge, market: spot, count: 2, price_per_hour: 3, "
        "on_demand_price_per_hour: 9, interruption: {band: '<5%'}}"
    )
    model = resolve_fleet(spec, VIEW.iloc[0:0]).pools[0].model  # type: ignore[arg-type]
    assert (model.price_per_hour, model.on_demand_price_per_hour) == (3, 9)


@pytest.mark.parametrize(
    ("pool", "error", "expected"),
    [
        (
            "{cloud: aws, region: us-east-2, instance: p4d.24xlarge, market: spot, count: 1}",
            UsageError,
            "fleet[0].region",
        ),
        (
            "{cloud: aws, region: us-east-1, instance: p4d.24xlrage, market: spot, count: 1}",
            UsageError,
            "Did you mean 'p4d.24xlarge'",
        ),
        (
            "{cloud: aws, region: us-east-1, zone: us-east-1a, instance: p4d.24xlarge, market: spot, count: 1}",
            UsageError,
            "give the zone ID",
        ),
        (
            "{cloud: aws, region: us-east-1, zone: use1-az2, instance: p4d.24xlarge, market: spot, count: 1}",
            UsageError,
            "no offer in zone",
        ),
        (
            "{cloud: aws, region: us-east-1, zone: use1-az4, instance: p5.48xlarge, market: spot, count: 1}",
            DataError,
            "add price_per_hour",
        ),
    ],
)
def test_errors_name_the_key_and_the_fix(pool: str, error: type[Exception], expected: str) -> None:
    with pytest.raises(error) as caught:
        resolve_fleet(fleet(f"- {pool}"), VIEW)  # type: ignore[arg-type]
    assert "f.yaml" in str(caught.value) and expected in str(caught.value)


def test_price_history_becomes_a_relative_hourly_path() -> None:
    t0 = pd.Timestamp("2020-01-01", tz="UTC")
    history = frame(
        [
            {
                "cloud": "aws",
                "region": "us-east-1",
                "zone": None,
                "zone_id": "use1-az1",
                "instance_type": "p4d.24xlarge",
                "product": "Linux/UNIX",
                "price_usd_per_hour": price,
                "timestamp": t0 + pd.Timedelta(hours=h),
                "source": "h",
                "as_of": t0,
            }
            for h, price in ((0, 2.0), (10, 4.0), (20, 2.0))
        ],
        SPOT_PRICE_HISTORY,
    )
    spec = fleet(
        "- {cloud: aws, region: us-east-1, zone: use1-az1, instance: p4d.24xlarge, market: spot, count: 1}",
        extra="\nspot_prices: history\n",
    )
    path = resolve_fleet(spec, VIEW, history).pools[0].model.price_path  # type: ignore[arg-type]
    assert path is not None and len(path) == 21
    assert sum(path) / len(path) == pytest.approx(1.0)
    assert max(path) / min(path) == pytest.approx(2.0)


def test_on_demand_pool_price_is_its_on_demand_price() -> None:
    spec = fleet(
        "- {cloud: aws, region: us-east-1, instance: p4d.24xlarge, market: on-demand, count: 1, price_per_hour: 3}"
    )
    model = resolve_fleet(spec, VIEW).pools[0].model  # type: ignore[arg-type]
    assert (model.price_per_hour, model.on_demand_price_per_hour) == (3, 3)


def test_aws_zone_names_are_refused_even_without_offers() -> None:
    spec = fleet(
        "- {cloud: aws, region: us-east-1, zone: us-east-1a, instance: p9.huge, market: spot, count: 1, "
        "price_per_hour: 3, on_demand_price_per_hour: 9, interruption: {band: '<5%'}}"
    )
    with pytest.raises(UsageError, match="give the zone ID"):
        resolve_fleet(spec, VIEW)  # type: ignore[arg-type]


def test_unknown_instance_gpus_are_noted() -> None:
    spec = fleet(
        "- {cloud: aws, region: us-east-1, instance: p9.huge, market: on-demand, count: 1, price_per_hour: 9}",
        workload="replicas: 1, gpus_per_replica: 8",
    )
    r = resolve_fleet(spec, VIEW)  # type: ignore[arg-type]
    assert r.pools[0].model.instances_per_replica == 1
    assert any("GPUs are unknown" in n for n in r.notes)
