"""Pure rollups of the spend cube, on hand-made cubes, plus the calendar of a report."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spotadvisor.errors import UsageError
from spotadvisor.report import rollup
from spotadvisor.report.period import Month

COLUMNS = [
    "period",
    "week",
    "provider",
    "region_id",
    "instance_type",
    "market",
    "currency",
    "spot_tagged",
    "tag_0",
    "cost",
    "list_cost",
    "cost_without_list",
    "hours_without_list",
    "instance_hours",
    "gpu_sku_hours",
    "line_count",
]


def cube(rows: list[tuple[object, ...]]) -> pd.DataFrame:
    return rollup.normalise(pd.DataFrame(rows, columns=COLUMNS), 1)


def gpus(provider: str, instance_type: str) -> float | None:
    return {"p5.48xlarge": 8.0, "a2-highgpu-2g": 2.0}.get(instance_type)


def test_gcp_machine_hours_come_from_the_gpu_sku() -> None:
    """A GCP a2-highgpu-2g: cores, RAM and GPU lines; 20 GPU hours = 10 machine hours."""
    frame = cube(
        [
            (
                "current",
                1,
                "gcp",
                "us-central1",
                "a2-highgpu-2g",
                "spot",
                "USD",
                None,
                "t",
                5.0,
                None,
                5.0,
                0.0,
                0.0,
                20.0,
                3,
            ),
        ]
    )
    priced = rollup.add_usage(frame, gpus, lambda p, r, t: 7.0)
    row = priced.iloc[0]
    assert row["instance_hours"] == 10.0 and row["gpu_hours"] == 20.0
    assert row["estimated"] == 70.0 and row["on_demand_equivalent"] == 70.0


def test_unknown_list_cost_without_a_catalog_price_counts_at_cost() -> None:
    frame = cube(
        [
            (
                "current",
                1,
                "aws",
                "us-east-1",
                "p5.48xlarge",
                "on-demand",
                "USD",
                None,
                None,
                30.0,
                10.0,
                20.0,
                2.0,
                3.0,
                0.0,
                2,
            ),
        ]
    )
    priced = rollup.add_usage(frame, gpus, None)
    row = priced.iloc[0]
    assert row["unpriced"] == 20.0 and row["estimated"] == 0.0
    assert row["on_demand_equivalent"] == 30.0 and row["gpu_hours"] == 24.0


def test_currency_with_most_spend_wins_and_others_are_kept() -> None:
    frame = cube(
        [
            (
                "current",
                1,
                "aws",
                "r",
                "p5.48xlarge",
                "spot",
                "USD",
                None,
                None,
                10.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                1,
            ),
            (
                "current",
                1,
                "azure",
                "r",
                "x",
                "spot",
                "EUR",
                None,
                None,
                30.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                1,
            ),
            (
                "previous",
                1,
                "aws",
                "r",
                "x",
                "spot",
                "GBP",
                None,
                None,
                99.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                1,
            ),
        ]
    )
    assert rollup.spend_by_currency(frame) == {"EUR": 30.0, "USD": 10.0}


def test_month_calendar() -> None:
    assert Month.parse("2026-02").weeks == (1, 2, 3, 4)
    assert Month.parse("2024-02").week_label(5) == "29 Feb"
    assert Month.parse("2026-10").week_label(5) == "29–31 Oct"
    assert Month.parse("2026-01").previous == Month(2025, 12)
    assert Month.parse("2025-12").next == Month(2026, 1)
    assert Month.parse("2026-10").hours == 744.0
    assert Month.last_complete(datetime(2026, 11, 28, tzinfo=UTC)) == Month(2026, 10)
    assert Month.last_complete(datetime(2026, 1, 1, tzinfo=UTC)) == Month(2025, 12)
    for bad in ("2026-00", "2026-13", "26-10", "2026/10", ""):
        with pytest.raises(UsageError, match="--month"):
            Month.parse(bad)


MARKET = st.sampled_from(["spot", "on-demand", "committed", "other"])
ROW = st.tuples(
    st.sampled_from(["current", "previous"]),
    st.integers(1, 5),
    st.sampled_from(["aws", "azure"]),
    st.sampled_from(["us-east-1", "eu-west-1"]),
    st.sampled_from(["p5.48xlarge", "g5.xlarge", None]),
    MARKET,
    st.just("USD"),
    st.sampled_from([True, False, None]),
    st.sampled_from(["a", "b", None]),
    st.floats(-50, 1000, allow_nan=False),
    st.one_of(st.none(), st.floats(0, 2000, allow_nan=False)),
    st.floats(0, 100, allow_nan=False),
    st.floats(0, 10, allow_nan=False),
    st.floats(0, 100, allow_nan=False),
    st.just(0.0),
    st.integers(1, 5),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(ROW, min_size=1, max_size=25))
def test_rollups_add_up(rows: list[tuple[object, ...]]) -> None:
    """Every breakdown sums to the headline; the waterfall closes; tag coverage partitions."""
    priced = rollup.add_usage(cube(rows), gpus, lambda p, r, t: 1.5)
    head = rollup.headline(priced)
    for key in ("provider", "region_id", "instance_type", "tag_0"):
        table = rollup.breakdown(priced, key)
        assert table["cost"].sum() == pytest.approx(head.cost, abs=1e-6)
    sv = rollup.savings(priced, left_on_table=3.0)
    closing = sv.on_demand_equivalent - sv.spot - sv.committed - sv.other
    assert closing == pytest.approx(sv.actual, abs=1e-6)
    assert sv.achievable == pytest.approx(sv.actual - 3.0)
    full, partly, none, missing = rollup.tag_coverage(priced, 1)
    assert full + partly + none == pytest.approx(head.cost, abs=1e-6)
    assert missing[0] == pytest.approx(none, abs=1e-6)  # one tag: missing it = none
    weekly = rollup.weekly(priced, Month(2026, 10))
    assert weekly[["spot", "on-demand", "committed", "other"]].to_numpy().sum() == pytest.approx(
        head.cost, abs=1e-6
    )
