"""The price backtest: forecast at the window start against the prices as they were."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from spotadvisor.backtest import backtest, backtest_fleet, pool_prices
from spotadvisor.catalog import offers_view
from spotadvisor.cli import app
from spotadvisor.config import load_fleet
from spotadvisor.errors import DataError, UsageError
from spotadvisor.fleet import resolve_fleet
from spotadvisor.schema import INTERRUPTION_HISTORY, OFFERS
from spotadvisor.sources import load_table
from spotadvisor.store import Store

START = datetime(2020, 2, 1, tzinfo=UTC)
runner = CliRunner()

# No preemptions and no bulk reclaims: every slot runs all the time, so the cost is
# count x price x hours exactly, and the backtest's difference is the price alone.
CALM = """
workload: {name: calm, replicas: 2, cold_start: 10m}
sla: {availability: 99%}
trials: 50
seed: 1
risk: independent
fleet:
  - {cloud: aws, region: us-east-1, zone: use1-az2, instance: p3.2xlarge, market: spot,
     count: 2, price_per_hour: 1.0, on_demand_price_per_hour: 3.06,
     interruption: {monthly_rate: 0}}
  - {cloud: aws, region: us-east-1, instance: p3.2xlarge, market: on-demand, count: 1,
     price_per_hour: 3.06, on_demand_price_per_hour: 3.06}
"""


def history(
    prices: dict[int, float], zone: str = "us-east-1b", zone_id: str = "use1-az2"
) -> pd.DataFrame:
    """Price changes at hour offsets from START."""
    return pd.DataFrame(
        {
            "cloud": "aws",
            "region": "us-east-1",
            "zone": zone,
            "zone_id": zone_id,
            "instance_type": "p3.2xlarge",
            "product": "Linux/UNIX",
            "timestamp": [START + timedelta(hours=h) for h in prices],
            "price_usd_per_hour": list(prices.values()),
        }
    )


def resolved_calm(tmp_path: Path):  # type: ignore[no-untyped-def]
    path = tmp_path / "calm.yaml"
    path.write_text(CALM, encoding="utf-8")
    store = Store(tmp_path / "no-store.duckdb")  # the embedded snapshot
    offers = offers_view(
        load_table(store, OFFERS).frame, load_table(store, INTERRUPTION_HISTORY).frame
    )
    return resolve_fleet(load_fleet(path), offers, None)


def test_calm_fleet_costs_exactly_count_times_the_price_path(tmp_path: Path) -> None:
    prices = history({-5: 0.9, 10: 1.2, 30: 0.6})  # in force at START: 0.9
    end = START + timedelta(hours=48)
    result = backtest(resolved_calm(tmp_path), prices, START, end, trials=50, seed=4)
    spot = result.pools[0]
    assert spot.at_start == 0.9 and spot.changes == 2
    assert spot.hourly == pytest.approx([0.9] * 10 + [1.2] * 20 + [0.6] * 18)
    on_demand = 1 * 3.06 * 48
    assert result.forecast.cost_mean.value == pytest.approx(2 * 0.9 * 48 + on_demand)
    assert result.outcome.cost_mean.value == pytest.approx(
        2 * (0.9 * 10 + 1.2 * 20 + 0.6 * 18) + on_demand
    )
    assert result.cost_error == pytest.approx(
        result.forecast.cost_mean.value / result.outcome.cost_mean.value - 1
    )


def test_window_without_a_known_price_is_a_data_error(tmp_path: Path) -> None:
    prices = history({3: 1.0})
    with pytest.raises(DataError, match="at or before"):
        backtest(
            resolved_calm(tmp_path), prices, START, START + timedelta(days=1), trials=5, seed=1
        )
    with pytest.raises(UsageError, match="after"):
        backtest(resolved_calm(tmp_path), prices, START, START, trials=5, seed=1)


def test_real_history_from_the_snapshot(tmp_path: Path) -> None:
    """February 2020, p3.2xlarge in us-east-1: the snapshot's real price records."""
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(CALM.replace("zone: use1-az2, ", ""), encoding="utf-8")
    end = datetime(2020, 3, 1, tzinfo=UTC)
    resolved, result = backtest_fleet(
        tmp_path / "no-store.duckdb", fleet, START, end, trials=50, seed=2
    )
    spot = result.pools[0]
    assert spot.zone.startswith("us-east-1")
    assert spot.changes > 10  # AWS repriced p3.2xlarge spot many times that month
    assert 0.9 < spot.low <= spot.mean <= spot.high < 1.3
    assert len(spot.hourly) == 29 * 24
    expected = 2 * float(np.sum(spot.hourly)) + 3.06 * 29 * 24
    assert result.outcome.cost_mean.value == pytest.approx(expected)
    assert resolved.model.pools[0].market == "spot"


def test_pool_prices_prefers_the_zone_with_most_records(tmp_path: Path) -> None:
    prices = pd.concat(
        [
            history({-1: 1.0, 2: 1.1, 4: 1.2}),
            history({-1: 5.0}, zone="us-east-1c", zone_id="use1-az4"),
        ]
    )
    pool = resolved_calm(tmp_path).model.pools[0]
    anywhere = dataclasses.replace(pool, zone=None)
    got = pool_prices(prices, anywhere, "p3.2xlarge", START, START + timedelta(hours=6))
    assert got.zone == "us-east-1b" and got.at_start == 1.0


def test_both_runs_share_their_random_numbers(tmp_path: Path) -> None:
    """Preemptions are drawn alike in both runs: only the price differs."""
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(
        CALM.replace("zone: use1-az2, ", "").replace("monthly_rate: 0", "band: '>20%'"),
        encoding="utf-8",
    )
    end = datetime(2020, 2, 15, tzinfo=UTC)
    _, result = backtest_fleet(tmp_path / "none.duckdb", fleet, START, end, trials=200, seed=5)
    assert result.outcome.interruptions_mean.value > 0
    assert result.forecast.interruptions_mean == result.outcome.interruptions_mean
    assert result.forecast.availability_mean == result.outcome.availability_mean


def test_cli_price_backtest(tmp_path: Path) -> None:
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(CALM.replace("zone: use1-az2, ", ""), encoding="utf-8")
    base = ["--db", str(tmp_path / "none.duckdb"), "replay", "--prices", str(fleet)]
    window = ["--from", "2020-02-01", "--to", "2020-03-01"]
    table = runner.invoke(app, [*base, *window, "--trials", "20"])
    assert table.exit_code == 0, table.stderr
    assert "forecast at start" in table.stdout and "prices as they were" in table.stdout
    doc = runner.invoke(app, [*base, *window, "--trials", "20", "--format", "json"])
    assert doc.exit_code == 0, doc.stderr
    got = json.loads(doc.stdout)
    assert got["hours"] == 29 * 24 and got["pools"][0]["price_changes"] > 10
    assert got["cost_error"] == pytest.approx(
        got["forecast"]["cost_mean"] / got["outcome"]["cost_mean"] - 1
    )
    for args, field in (
        ([*base, "--from", "2020-02-01"], "--to"),
        ([*base, "--from", "Feb 1", "--to", "2020-03-01"], "--from"),
        ([*base, "--from", "2010-01-01", "--to", "2010-02-01"], "--from"),
        (
            ["--db", str(tmp_path / "n.duckdb"), "replay", str(fleet), "--from", "2020-02-01"],
            "--from",
        ),
    ):
        result = runner.invoke(app, args)
        assert result.exit_code in (2, 3), result.stderr
        assert field in result.stderr and "Traceback" not in result.stderr
