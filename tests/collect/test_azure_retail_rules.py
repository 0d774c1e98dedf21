"""Azure Retail Prices: which meters become prices, on a page in the documented shape.

The fixture's kept prices are real (SkyPilot's Azure catalog); see its README.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import random
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spotadvisor.collect import azure_parse as ap
from spotadvisor.collect.azure import collect_azure
from spotadvisor.schema import OFFERS
from spotadvisor.store import Store
from tests.collect.test_azure import options
from tests.fakes.azure import FakeAzure

PAGE = Path(__file__).parents[1] / "fixtures" / "azure_retail" / "retail_prices_nc_eastus.json"
A100, V100 = "Standard_NC24ads_A100_v4", "Standard_NC6s_v3"
KNOWN = ap.size_lookup([A100, V100])
EXPECTED = {
    ("eastus", A100): (3.673, 0.444433),
    ("eastus2", A100): (3.673, 0.47749),  # armSkuName written in lower case
    ("eastus", V100): (3.06, 0.3978),  # the newest price; the primary meter region
}


def _items() -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json.loads(PAGE.read_text())["Items"]
    return items


def _prices(items: list[dict[str, Any]], notes: list[str] | None = None) -> dict[Any, Any]:
    frame = ap.parse_retail_prices(items, notes=notes, known_sizes=KNOWN)
    return {
        (r.region, r.instance_type): (r.price_on_demand_usd_per_hour, r.price_spot_usd_per_hour)
        for r in frame.itertuples()
    }


def test_only_linux_consumption_meters_become_prices() -> None:
    notes: list[str] = []
    assert _prices(_items(), notes) == EXPECTED
    [note] = notes
    # Windows (on demand, Spot Windows, Low Priority Windows), Low Priority, DevTest,
    # the 1- and 3-year reservations: 7 of the page's 15 items (the older and the
    # non-primary NC6s v3 meters are outranked, not dropped)
    assert note.startswith("retail prices: dropped 7 item(s)")
    for what in ("3 Windows", "1 Low Priority", "1 price type 'DevTestConsumption'"):
        assert what in note
    assert "2 price type 'Reservation'" in note


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"productName": "Virtual Machines NCadsA100v4 Series Windows"}, "Windows"),
        (
            {
                "skuName": "NC24ads A100 v4 Spot",
                "meterName": "NC24ads A100 v4 Spot",
                "productName": "Virtual Machines NCadsA100v4 Series Windows",
            },
            "Windows",
        ),
        ({"meterName": "NC24ads A100 v4 Low Priority"}, "Low Priority"),
        ({"type": "DevTestConsumption"}, "price type 'DevTestConsumption'"),
        ({"type": "Reservation", "reservationTerm": "1 Year"}, "price type 'Reservation'"),
        ({"currencyCode": "EUR"}, "currency EUR"),
        ({"unitOfMeasure": "1/Month"}, "unit '1/Month'"),
        ({"retailPrice": None, "unitPrice": None}, "no price, region or size"),
        ({"armSkuName": ""}, "no price, region or size"),
    ],
)
def test_each_rule_drops_its_meter(change: dict[str, Any], reason: str) -> None:
    base = _items()[0]  # Linux on demand, A100 eastus
    assert ap._retail_item(base, KNOWN) != reason
    assert ap._retail_item({**base, **change}, KNOWN) == reason


def test_armskuname_case_does_not_matter() -> None:
    base = _items()[0]
    for spelling in ("standard_nc24ads_a100_v4", "STANDARD_NC24ADS_A100_V4", A100):
        read = ap._retail_item({**base, "armSkuName": spelling}, KNOWN)
        assert not isinstance(read, str) and read[0] == ("eastus", A100, "od")


def test_savings_plan_rates_are_not_the_consumption_price() -> None:
    first = _items()[0]
    assert first["savingsPlan"] and _prices([first])[("eastus", A100)][0] == 3.673


def test_equally_ranked_meters_that_disagree_give_no_price() -> None:
    items = _items()
    twin = {**items[0], "meterId": "m-other", "retailPrice": 2.0, "unitPrice": 2.0}
    notes: list[str] = []
    prices = _prices([*items, twin], notes)
    od, spot = prices[("eastus", A100)]
    assert pd.isna(od) and spot == 0.444433
    [conflict] = [n for n in notes if "conflict" in n]
    assert "m-a100-eus-od" in conflict and "m-other" in conflict and "on-demand" in conflict
    # the same price twice (a meter listed on two pages) is no conflict
    same = {**items[0], "meterId": "m-copy"}
    assert _prices([*items, same]) == EXPECTED


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), cuts=st.lists(st.integers(0, 15), max_size=6))
def test_item_order_and_page_boundaries_never_change_a_price(seed: int, cuts: list[int]) -> None:
    items = _items()
    random.Random(seed).shuffle(items)
    bounds = sorted({0, *cuts, len(items)})
    pages = [items[a:b] for a, b in itertools.pairwise(bounds)]
    assert _prices([i for page in pages for i in page]) == EXPECTED


@pytest.mark.parametrize("page_size", [1, 4, 100])
def test_collection_over_http_gives_the_same_prices_for_any_paging(
    fake_azure: FakeAzure, tmp_path: Path, page_size: int
) -> None:
    items = _items()
    random.Random(page_size).shuffle(items)
    fake_azure.data = dataclasses.replace(fake_azure.data, retail_items=tuple(items))
    fake_azure.page_sizes["retail-prices"] = page_size
    store = Store(tmp_path / "s.duckdb")
    report = collect_azure(
        store,
        options(
            fake_azure,
            regions=("eastus",),
            sizes=(A100, V100),
            sources=frozenset({"prices"}),
        ),
    )
    assert not report.failed
    offers = store.read(OFFERS).set_index("instance_type")
    for (region, size), (od, spot) in EXPECTED.items():
        if region != "eastus":
            continue  # the server's case-sensitive filter leaves lower-case names out
        assert offers.loc[size, "price_on_demand_usd_per_hour"] == od
        assert offers.loc[size, "price_spot_usd_per_hour"] == spot
