"""Hypothesis: upserts behave like "replace by key" whatever rows come in, and re-runs add nothing."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spotadvisor.importers.base import ImportBatch
from spotadvisor.schema import OFFERS
from spotadvisor.store import Store
from tests.factories import frame, offer

prices = st.one_of(st.none(), st.floats(0.01, 100, allow_nan=False).map(lambda p: round(p, 4)))
rows = st.builds(
    lambda cloud, zone_id, instance, od, spot: offer(
        cloud=cloud,
        zone_id=zone_id,
        instance_type=instance,
        price_on_demand_usd_per_hour=od,
        price_spot_usd_per_hour=spot,
    ),
    st.sampled_from(["aws", "gcp"]),
    st.sampled_from([None, "use1-az1", "use1-az2"]),  # None: a key holding NULL
    st.sampled_from(["p5.48xlarge", "g5.xlarge"]),
    prices,
    prices,
)
KEY = ["cloud", "zone_id", "instance_type"]


def unique_by_key(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[tuple[Any, ...], dict[str, Any]] = {}
    for item in items:
        seen[tuple(item[k] for k in KEY)] = item
    return list(seen.values())


def as_set(table: pd.DataFrame) -> set[tuple[Any, ...]]:
    cols = [*KEY, "price_on_demand_usd_per_hour", "price_spot_usd_per_hour"]
    return {
        tuple(None if pd.isna(v) else v for v in row) for row in table[cols].itertuples(index=False)
    }


SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.lists(rows, min_size=1, max_size=6).map(unique_by_key))
def test_writing_twice_adds_nothing(batch_rows: list[dict[str, Any]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "s.duckdb")
        batch = ImportBatch(OFFERS, frame(batch_rows), "test", "<test>")
        first = store.write([batch])[0]
        second = store.write([batch])[0]
        assert first.inserted == len(batch_rows)
        assert (second.inserted, second.updated, second.unchanged) == (0, 0, len(batch_rows))
        assert as_set(store.read(OFFERS)) == as_set(frame(batch_rows))


@SETTINGS
@given(
    st.lists(rows, min_size=1, max_size=6).map(unique_by_key),
    st.lists(rows, min_size=1, max_size=6).map(unique_by_key),
)
def test_later_rows_replace_earlier_ones_by_key(
    old: list[dict[str, Any]], new: list[dict[str, Any]]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "s.duckdb")
        store.write([ImportBatch(OFFERS, frame(old), "test", "<test>")])
        store.write([ImportBatch(OFFERS, frame(new), "test", "<test>")])
        expected = unique_by_key(old + new)  # later rows win per key
        assert as_set(store.read(OFFERS)) == as_set(frame(expected))
