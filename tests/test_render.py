"""Renderers against golden files. Regenerate with UPDATE_GOLDEN=1 after a deliberate change."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from spotadvisor.catalog import offers_view, sort_offers
from spotadvisor.offers import OffersResult
from spotadvisor.render import offers as view
from spotadvisor.render.csv import render_csv
from spotadvisor.render.json import render_json
from spotadvisor.render.markdown import render_markdown
from spotadvisor.render.table import build_table, renderable_text
from spotadvisor.render.values import count, money, percent
from spotadvisor.schema import INTERRUPTION_HISTORY, OFFERS
from spotadvisor.sources import TableData
from tests.factories import frame, offer

GOLDEN = Path(__file__).resolve().parent / "golden"
NOW = datetime(2026, 11, 28, tzinfo=UTC)
AS_OF = datetime(2025, 6, 28, tzinfo=UTC)


def sample() -> OffersResult:
    offers = frame(
        [
            offer(),
            offer(
                zone_id="use1-az6", price_spot_usd_per_hour=None, quality_flags="spot_price_filler"
            ),
            offer(
                cloud="azure",
                region="eastus",
                zone_id=None,
                instance_type="Standard_NC4as_T4_v3",
                gpu_model="T4",
                gpu_count=1.0,
                gpu_memory_gb=16.0,
                vcpus=4.0,
                memory_gib=28.0,
                price_on_demand_usd_per_hour=0.526,
                price_spot_usd_per_hour=0.0526,
                quality_flags="spot_price_floor_10pct",
            ),
            offer(
                cloud="gcp",
                region="us-central1",
                zone="us-central1-a",
                zone_id=None,
                instance_type="a4-highgpu-8g",
                gpu_model="B200",
                gpu_memory_gb=180.0,
                price_on_demand_usd_per_hour=None,
                price_spot_usd_per_hour=None,
                quality_flags="price_zero",
            ),
        ]
    )
    bands = frame(
        [
            {
                "cloud": "aws",
                "region": "us-east-1",
                "instance_type": "p5.48xlarge",
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
    shown = sort_offers(offers_view(offers, bands), "gpu-price")
    data = (
        TableData(OFFERS, offers, "store", "/tmp/s.duckdb"),
        TableData(INTERRUPTION_HISTORY, bands, "snapshot", "<snapshot>", frozenset({"advisor"})),
    )
    query = {"gpu": ["H100"], "sort": "gpu-price"}
    return OffersResult(shown.head(3), len(shown), query, data, NOW)


def check(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text)
    assert path.is_file(), f"missing golden file {path}: run with UPDATE_GOLDEN=1"
    assert text == path.read_text(), f"{name} changed: inspect, then UPDATE_GOLDEN=1 if intended"


def test_table_golden() -> None:
    result = sample()
    table = build_table(
        "GPU offers",
        view.HEADERS,
        view.offers_rows(result),
        right=view.RIGHT,
        caption=view.offers_caption(result),
    )
    check("offers_table.txt", renderable_text(table, width=150))


def test_markdown_golden() -> None:
    result = sample()
    check("offers.md", render_markdown(view.HEADERS, view.offers_rows(result), right=view.RIGHT))


def test_csv_golden() -> None:
    check("offers.csv", render_csv(view.offers_frame(sample())))


def test_json_golden() -> None:
    document = view.offers_document(sample())
    document["spotadvisor_version"] = "X"  # not part of the format
    text = render_json(document)
    check("offers.json", text)
    parsed = json.loads(text)
    assert parsed["matched"] == 4 and parsed["count"] == 3
    # unknown is null, flags are a list, floats are plain numbers
    row = next(o for o in parsed["offers"] if o["zone_id"] == "use1-az6")
    assert row["price_spot_usd_per_hour"] is None and row["quality_flags"] == ["spot_price_filler"]


@pytest.mark.parametrize(
    ("fn", "value", "text"),
    [
        (money, 55.04, "$55.04"),
        (money, 0.2231, "$0.2231"),
        (money, float("nan"), "unknown"),
        (money, None, "unknown"),
        (percent, 81.4, "81%"),
        (percent, float("nan"), "unknown"),
        (count, 8.0, "8"),
        (count, 0.125, "0.125"),
        (count, 1 / 3, "0.333"),
    ],
)
def test_value_formats(fn: object, value: object, text: str) -> None:
    assert fn(value) == text  # type: ignore[operator]
