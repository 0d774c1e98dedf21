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

from spotadvisor.catalog import offers_view
from spotadvisor.cli import app
from spotadvisor.config import load_fleet
from spotadvisor.errors import DataError, UsageError
from spotadvisor.fleet import resolve_fleet
from spotadvisor.replay.backtest import backtest, backtest_fleet, pool_prices
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
    prices: dict[int, float],
    zone: str | None = "us-east-1b",
    zone_id: str | None = "use1-az2",
    as_of: int = 30 * 24,
) -> pd.DataFrame:
    """Price changes at hour offsets from START, fetched ``as_of`` hours after START."""
    return pd.DataFrame(
        {
            "cloud": "aws",
            "region": "us-east-1",
            "zone": pd.array([zone] * len(prices), dtype="string"),
            "zone_id": pd.array([zone_id] * len(prices), dtype="string"),
            "instance_type": "p3.2xlarge",
            "product": "Linux/UNIX",
            "timestamp": [START + timedelta(hours=h) for h in prices],
            "price_usd_per_hour": list(prices.values()),
            "source": "test",
            "as_of": START + timedelta(hours=as_of),
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


# -- the history must cover the window ------------------------------------------------


def test_history_that_ends_inside_the_window_is_refused(tmp_path: Path) -> None:
    """After the history's as_of nothing is known: no extrapolated last price."""
    resolved = resolved_calm(tmp_path)
    prices = history({-5: 0.9, 10: 1.2}, as_of=20)
    with pytest.raises(DataError) as partly:
        backtest(resolved, prices, START, START + timedelta(hours=48), trials=5, seed=1)
    assert partly.value.field == "--to"
    text = partly.value.one_line()
    assert "ends at 2020-02-01 20:00 UTC, 20 h into the 48 h window" in text
    assert "--to 2020-02-01T20:00" in text
    later = START + timedelta(days=400)
    with pytest.raises(DataError, match="before the window starts") as before:
        backtest(resolved, prices, later, later + timedelta(days=30), trials=5, seed=1)
    assert "choose a window between 2020-01-31T19:00 and 2020-02-01T20:00" in str(before.value)
    # up to its end the same history is fine, and as_of alone extends it
    backtest(resolved, prices, START, START + timedelta(hours=20), trials=5, seed=1)
    backtest(
        resolved, history({-5: 0.9}, as_of=48), START, START + timedelta(hours=48), trials=5, seed=1
    )


def test_without_as_of_a_series_is_known_to_its_last_record(tmp_path: Path) -> None:
    prices = history({-5: 0.9, 10: 1.2}).drop(columns=["as_of"])
    pool = resolved_calm(tmp_path).model.pools[0]
    got = pool_prices(prices, pool, "p3.2xlarge", START, START + timedelta(hours=10))
    assert got.hourly == pytest.approx([0.9] * 10)
    with pytest.raises(DataError, match="ends at 2020-02-01 10:00 UTC"):
        pool_prices(prices, pool, "p3.2xlarge", START, START + timedelta(hours=11))


def test_a_pool_without_zone_takes_the_longest_series_that_covers_the_window(
    tmp_path: Path,
) -> None:
    prices = pd.concat(
        [
            history({-1: 1.0, 2: 1.1, 4: 1.2}, as_of=5),  # most records, ends too soon
            history({-1: 5.0}, zone="us-east-1c", zone_id="use1-az4", as_of=100),
        ]
    )
    pool = dataclasses.replace(resolved_calm(tmp_path).model.pools[0], zone=None)
    got = pool_prices(prices, pool, "p3.2xlarge", START, START + timedelta(hours=6))
    assert got.zone == "us-east-1c" and got.at_start == 5.0


@pytest.fixture
def training_on_a_dime(shared_data: Path, tmp_path: Path) -> Path:
    """A store holding the p2/p3 price history of 2019-12..2020-03 (ends 2020-03-23 16:09)."""
    csv = (
        shared_data
        / "aws-spot-price-history"
        / "aws_spot_price_history_p2_p3_2019-12_2020-03_training_on_a_dime.csv"
    )
    db = tmp_path / "store.duckdb"
    done = runner.invoke(app, ["--db", str(db), "data", "import", str(csv)])
    assert done.exit_code == 0, done.stderr
    return db


def test_cli_refuses_a_window_after_the_history(training_on_a_dime: Path, tmp_path: Path) -> None:
    fleet = tmp_path / "p3fleet.yaml"
    fleet.write_text(CALM.replace("zone: use1-az2, ", ""), encoding="utf-8")
    base = ["--db", str(training_on_a_dime), "replay", "--prices", str(fleet), "--trials", "5"]
    after = runner.invoke(app, [*base, "--from", "2021-03-20", "--to", "2021-04-20"])
    assert after.exit_code == 3, after.stdout
    assert "ends at 2020-03-23 16:09 UTC, before the window starts" in after.stderr
    assert "forecast" not in after.stdout
    partly = runner.invoke(app, [*base, "--from", "2020-03-01", "--to", "2020-04-01"])
    assert partly.exit_code == 3
    assert "544 h into the 744 h window" in partly.stderr
    assert "--to 2020-03-23T16:09" in partly.stderr
    fits = runner.invoke(app, [*base, "--from", "2020-03-01", "--to", "2020-03-23T16:09"])
    assert fits.exit_code == 0, fits.stderr


# -- a missing --to ---------------------------------------------------------------------


def test_cli_suggests_a_month_or_the_end_of_the_history(
    training_on_a_dime: Path, tmp_path: Path
) -> None:
    fleet = tmp_path / "p3fleet.yaml"
    fleet.write_text(CALM.replace("zone: use1-az2, ", ""), encoding="utf-8")
    base = ["--db", str(training_on_a_dime), "replay", "--prices", str(fleet)]
    for start, expected in (
        ("2020-02-01", "add --to 2020-03-01 (a month)."),
        ("2020-01-31T06:00", "add --to 2020-02-29T06:00 (a month)."),
        ("2020-03-10", "add --to 2020-03-23T16:09 (where the fleet's price history ends)."),
        (
            "2021-03-20",
            "choose a window that ends by then, e.g. --from 2020-02-24 --to 2020-03-23T16:09",
        ),
    ):
        result = runner.invoke(app, [*base, "--from", start])
        assert result.exit_code == 2
        assert result.stderr.startswith("error: --to: --prices needs --to."), result.stderr
        assert expected in result.stderr, result.stderr


# -- AWS zone IDs against a history of zone names ----------------------------------------


def test_zone_id_falls_back_to_the_regions_zone_name_series(tmp_path: Path) -> None:
    """AWS zone names map to IDs per account, so use1-az2 is none of us-east-1b/c."""
    prices = pd.concat(
        [
            history({-1: 1.0, 2: 1.1, 4: 1.2}, zone_id=None),
            history({-1: 5.0}, zone="us-east-1c", zone_id=None),
        ]
    )
    pool = resolved_calm(tmp_path).model.pools[0]
    assert pool.zone == "use1-az2"
    got = pool_prices(prices, pool, "p3.2xlarge", START, START + timedelta(hours=6))
    assert got.zone == "us-east-1b" and got.at_start == 1.0
    assert got.note is not None
    assert "only by name (us-east-1b, us-east-1c)" in got.note
    assert "the region's series with the most records (us-east-1b)" in got.note
    # the pool's own series wins when it covers the window, with no note
    own = pd.concat([prices, history({-2: 2.0}, zone=None, zone_id="use1-az2")])
    mine = pool_prices(own, pool, "p3.2xlarge", START, START + timedelta(hours=6))
    assert (mine.zone, mine.at_start, mine.note) == ("use1-az2", 2.0, None)


def test_a_zone_the_history_lacks_names_the_zones_it_has(tmp_path: Path) -> None:
    prices = history({-1: 1.0}, zone=None, zone_id="use1-az4")
    pool = resolved_calm(tmp_path).model.pools[0]
    with pytest.raises(DataError) as missing:
        pool_prices(prices, pool, "p3.2xlarge", START, START + timedelta(hours=6))
    text = missing.value.one_line()
    assert "no p3.2xlarge series for zone use1-az2" in text and "it has use1-az4" in text
    with pytest.raises(DataError, match=r"no p3\.2xlarge prices in aws us-east-1"):
        pool_prices(prices.assign(region="us-west-2"), pool, "p3.2xlarge", START, START)


def test_cli_backtests_zonal_pools_on_the_snapshot(tmp_path: Path) -> None:
    """use1-az1 (zone-name history only for 2020) and use1-az4 (no spot offer today)."""
    base = ["--db", str(tmp_path / "none.duckdb"), "replay", "--prices"]
    window = ["--from", "2020-02-01", "--to", "2020-03-01", "--trials", "5"]
    for zone in ("use1-az1", "use1-az4"):
        fleet = tmp_path / f"{zone}.yaml"
        fleet.write_text(
            CALM.replace("use1-az2", zone).replace("price_per_hour: 1.0, ", ""), encoding="utf-8"
        )
        result = runner.invoke(app, [*base, str(fleet), *window, "--format", "json"])
        assert result.exit_code == 0, result.stderr
        (pool,) = json.loads(result.stdout)["pools"]
        assert pool["zone"].startswith("us-east-1") and pool["price_changes"] > 10
        assert f"none of them can be matched to {zone}" in result.stderr
        assert pool["note"] in result.stderr
