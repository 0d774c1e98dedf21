"""Pure offer queries on tiny frames: freshest row per pool, bands, filters, sorting."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from spotadvisor.catalog import (
    GpuCount,
    OfferFilter,
    attach_bands,
    filter_offers,
    latest_offers,
    offers_view,
    sort_offers,
)
from spotadvisor.errors import UsageError
from spotadvisor.schema import INTERRUPTION_HISTORY
from tests.factories import frame, offer

OLD = datetime(2024, 1, 1, tzinfo=UTC)
NEW = datetime(2025, 6, 28, tzinfo=UTC)


def band_row(**overrides: object) -> dict[str, object]:
    row: dict[str, object] = {
        "cloud": "aws",
        "region": "us-east-1",
        "instance_type": "p5.48xlarge",
        "os": "Linux",
        "interruption_band": "5-10%",
        "interruption_band_lower_pct": 5.0,
        "interruption_band_upper_pct": 10.0,
        "savings_pct": 60.0,
        "source": "advisor",
        "as_of": NEW,
    }
    row.update(overrides)
    return row


OFFERS = frame(
    [
        # cloud  region         zone/zone_id   type                         gpus         od      spot
        offer(),  # aws us-east-1 use1-az4 p5.48xlarge 8x H100: 55.04 / 20.0
        offer(zone_id="use1-az6", price_spot_usd_per_hour=None),  # no spot price known
        offer(region="eu-west-1", zone_id="euw1-az1", price_spot_usd_per_hour=30.0),
        offer(
            cloud="gcp",
            region="us-central1",
            zone="us-central1-a",
            zone_id=None,
            instance_type="a2-ultragpu-1g",
            gpu_model="A100",
            gpu_count=1.0,
            gpu_memory_gb=80.0,
            price_on_demand_usd_per_hour=5.07,
            price_spot_usd_per_hour=1.6,
        ),
        offer(
            cloud="azure",
            region="eastus",
            zone_id=None,
            instance_type="Standard_NC24ads_A100_v4",
            gpu_model="A100",
            gpu_count=1.0,
            gpu_memory_gb=80.0,
            price_on_demand_usd_per_hour=3.67,
            price_spot_usd_per_hour=0.75,
        ),
        offer(
            cloud="aws",
            region="us-west-2",
            zone_id="usw2-az1",
            instance_type="p4d.24xlarge",
            gpu_model="A100",
            gpu_count=8.0,
            gpu_memory_gb=40.0,
            price_on_demand_usd_per_hour=32.77,
            price_spot_usd_per_hour=9.8,
        ),
    ]
)


def view(history: pd.DataFrame | None = None) -> pd.DataFrame:
    return offers_view(
        OFFERS, history if history is not None else frame([band_row()], INTERRUPTION_HISTORY)
    )


def test_latest_offer_per_pool_wins() -> None:
    rows = frame(
        [
            offer(as_of=OLD, source="old", price_spot_usd_per_hour=25.0),
            offer(as_of=NEW, source="new", price_spot_usd_per_hour=20.0),
            # an Azure regional pool: NULL zone keys still group together
            offer(cloud="azure", zone_id=None, as_of=OLD, source="old"),
            offer(cloud="azure", zone_id=None, as_of=NEW, source="new"),
        ]
    )
    latest = latest_offers(rows)
    assert len(latest) == 2
    assert set(latest["source"]) == {"new"}


def test_bands_come_from_the_newest_linux_row_of_the_region() -> None:
    history = frame(
        [
            band_row(
                as_of=OLD,
                interruption_band=">20%",
                interruption_band_lower_pct=20.0,
                interruption_band_upper_pct=100.0,
            ),
            band_row(),  # newest: 5-10%
            band_row(
                os="Windows",
                as_of=datetime(2026, 1, 1, tzinfo=UTC),
                interruption_band="<5%",
                interruption_band_lower_pct=0.0,
                interruption_band_upper_pct=5.0,
            ),
        ],
        INTERRUPTION_HISTORY,
    )
    out = attach_bands(OFFERS, history)
    east = out[(out.region == "us-east-1")]
    assert set(east["interruption_band"]) == {"5-10%"}  # both zones of the region
    assert (east["interruption_band_source"] == "advisor").all()
    assert out.loc[out.cloud == "gcp", "interruption_band"].isna().all()  # unknown stays unknown


def test_view_derives_per_gpu_prices_and_savings() -> None:
    v = view()
    row = v[(v.zone_id == "use1-az4")].iloc[0]
    assert row["price_spot_usd_per_gpu_hour"] == pytest.approx(2.5)
    assert row["savings_pct"] == pytest.approx(100 * (1 - 20 / 55.04))
    missing = v[(v.zone_id == "use1-az6")].iloc[0]
    assert pd.isna(missing["savings_pct"]) and pd.isna(missing["price_spot_usd_per_gpu_hour"])


@pytest.mark.parametrize(
    ("spec", "expected_types"),
    [
        (
            OfferFilter(gpu=("A100",)),
            {"a2-ultragpu-1g", "Standard_NC24ads_A100_v4", "p4d.24xlarge"},
        ),
        (OfferFilter(gpu=("a100-80gb",)), {"a2-ultragpu-1g", "Standard_NC24ads_A100_v4"}),
        (OfferFilter(gpu=("A100",), clouds=("aws",)), {"p4d.24xlarge"}),
        (OfferFilter(gpus=GpuCount.parse("8")), {"p5.48xlarge", "p4d.24xlarge"}),
        (OfferFilter(gpus=GpuCount.parse("1-4")), {"a2-ultragpu-1g", "Standard_NC24ads_A100_v4"}),
        (
            OfferFilter(min_gpu_memory_gb=80),
            {"p5.48xlarge", "a2-ultragpu-1g", "Standard_NC24ads_A100_v4"},
        ),
        (OfferFilter(regions=("us-*",)), {"p5.48xlarge", "a2-ultragpu-1g", "p4d.24xlarge"}),
        (OfferFilter(regions=("EU-WEST-1", "eastus")), {"p5.48xlarge", "Standard_NC24ads_A100_v4"}),
        (OfferFilter(zones=("use1-az6", "us-central1-*")), {"p5.48xlarge", "a2-ultragpu-1g"}),
        (OfferFilter(max_band_pct=10), {"p5.48xlarge"}),  # only us-east-1 p5 has a band
        (OfferFilter(max_band_pct=5), set()),
        (OfferFilter(max_price=2.0), {"a2-ultragpu-1g", "Standard_NC24ads_A100_v4"}),
    ],
)
def test_filters(spec: OfferFilter, expected_types: set[str]) -> None:
    assert set(filter_offers(view(), spec)["instance_type"]) == expected_types


def test_spot_only_drops_unknown_spot_prices() -> None:
    kept = filter_offers(view(), OfferFilter(spot_only=True))
    assert kept["price_spot_usd_per_hour"].notna().all() and len(kept) == len(OFFERS) - 1


@pytest.mark.parametrize(
    ("spec", "hint"),
    [
        (OfferFilter(regions=("us-east1",)), "Did you mean 'us-east-1'"),
        (OfferFilter(clouds=("aws", "gpc")), "Did you mean 'gcp'"),
        (OfferFilter(gpu=("H1OO",)), "Did you mean 'H100'"),
        (OfferFilter(zones=("use1-az9",)), "Did you mean"),
    ],
)
def test_misspellings_get_did_you_mean(spec: OfferFilter, hint: str) -> None:
    with pytest.raises(UsageError) as caught:
        filter_offers(view(), spec)
    assert hint in str(caught.value)


@pytest.mark.parametrize("text", ["eight", "4-2", "-", "1+2"])
def test_bad_gpu_counts(text: str) -> None:
    with pytest.raises(UsageError, match="--gpus"):
        GpuCount.parse(text)


def test_sorting_puts_unknown_last_both_ways() -> None:
    for order in ("asc", "desc"):
        out = sort_offers(view(), "price", order)  # type: ignore[arg-type]
        assert pd.isna(out["price_spot_usd_per_hour"].iloc[-1])
    cheapest = sort_offers(view(), "gpu-price")
    assert cheapest["instance_type"].iloc[0] == "Standard_NC24ads_A100_v4"  # $0.75 per GPU-hour
    by_savings = sort_offers(view(), "savings")
    assert by_savings["savings_pct"].iloc[0] == by_savings["savings_pct"].max()
    by_band = sort_offers(view(), "band")
    assert by_band["interruption_band"].iloc[0] == "5-10%"


def test_unknown_sort_key() -> None:
    with pytest.raises(UsageError, match="Did you mean 'price'"):
        sort_offers(view(), "prise")  # type: ignore[arg-type]
