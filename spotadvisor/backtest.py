"""Price backtest: what a fleet's spot pools cost over a past window, against the forecast.

A forecast made at the start of the window can only know the spot price of that moment
(``spot_prices: fixed``). The backtest runs the same fleet twice through the engine with
the same random numbers: once with each spot pool's price frozen at the window start
(the forecast) and once with the prices as they were, hour by hour (the outcome). Any
difference is the price movement alone, since preemptions, fallbacks and cold starts are
drawn identically in both runs.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from spotadvisor.errors import DataError, UsageError
from spotadvisor.fleet import ResolvedFleet
from spotadvisor.sim.engine import simulate
from spotadvisor.sim.model import PoolModel
from spotadvisor.sim.results import Metrics, summarize

LINUX = ("Linux/UNIX", "Linux/UNIX (Amazon VPC)")


@dataclass(frozen=True)
class PoolPrices:
    """One spot pool's prices over the window, per instance [USD/h].

    Attributes
    ----------
    name
        Pool name in the fleet.
    zone
        The zone whose series was used (a pool without a zone takes the zone with the
        most price records).
    at_start
        The price in force at the window start: the forecast's price.
    mean, low, high
        Time-weighted mean, minimum and maximum over the window.
    changes
        Price changes inside the window.
    hourly
        The price in force at each hour of the window.
    """

    name: str
    zone: str
    at_start: float
    mean: float
    low: float
    high: float
    changes: int
    hourly: tuple[float, ...]


@dataclass(frozen=True)
class Backtest:
    """The forecast and the outcome of one window.

    Attributes
    ----------
    start, end
        The window (UTC; end exclusive).
    pools
        The spot pools' prices.
    forecast, outcome
        Engine metrics with prices frozen at the start and with the prices as they were,
        from the same seed and trials.
    """

    start: datetime
    end: datetime
    pools: tuple[PoolPrices, ...]
    forecast: Metrics
    outcome: Metrics

    @property
    def hours(self) -> float:
        """Window length [h]."""
        return (self.end - self.start).total_seconds() / 3600

    @property
    def cost_error(self) -> float:
        """(forecast − outcome) / outcome of the mean cost; > 0: the forecast was high."""
        actual = self.outcome.cost_mean.value
        return math.nan if actual == 0 else self.forecast.cost_mean.value / actual - 1


def pool_prices(
    history: pd.DataFrame, pool: PoolModel, instance: str, start: datetime, end: datetime
) -> PoolPrices:
    """Hourly spot prices of ``pool`` over [start, end) from the price history.

    Raises
    ------
    DataError
        When the history has no price at or before ``start`` for the pool: the forecast
        would have had nothing to go on.
    """
    rows = history[
        (history["cloud"] == pool.cloud)
        & (history["region"] == pool.region)
        & (history["instance_type"] == instance)
        & (history["product"].isin(LINUX) | (history["cloud"] != "aws"))
    ]
    if pool.zone:
        rows = rows[(rows["zone"] == pool.zone) | (rows["zone_id"] == pool.zone)]
    zones = rows["zone"].fillna(rows["zone_id"]).fillna("(region)")
    rows = rows.assign(series=zones)
    before = rows[rows["timestamp"] <= pd.Timestamp(start)]
    if before.empty:
        raise DataError(
            f"no spot price for {instance} in {pool.zone or pool.region} at or before "
            f"{start:%Y-%m-%d %H:%M} UTC (pool {pool.name})",
            field="--from",
            fix="choose a window the price history covers ('spotadvisor data status' "
            "lists it), or collect or import more history",
        )
    # one zone's series (the one with most records), so zone changes are not price moves
    series = str(rows["series"].value_counts().idxmax())
    chosen = rows[rows["series"] == series].sort_values("timestamp")
    times = chosen["timestamp"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[s]")
    prices = chosen["price_usd_per_hour"].to_numpy(dtype=float)
    hours = np.arange(
        np.datetime64(start.replace(tzinfo=None), "s"),
        np.datetime64(end.replace(tzinfo=None), "s"),
        np.timedelta64(3600, "s"),
    )
    if hours.size == 0:
        raise UsageError("the window is shorter than an hour", field="--to", fix="widen it")
    index = np.searchsorted(times, hours, side="right") - 1
    if (index < 0).any():
        raise DataError(
            f"the {series} price series of {instance} starts inside the window",
            field="--from",
            fix="start the window later",
        )
    hourly = prices[index]
    inside = (times > hours[0]) & (times < hours[-1] + np.timedelta64(3600, "s"))
    return PoolPrices(
        name=pool.name,
        zone=series,
        at_start=float(hourly[0]),
        mean=float(hourly.mean()),
        low=float(hourly.min()),
        high=float(hourly.max()),
        changes=int(np.count_nonzero((np.diff(prices) != 0) & inside[1:])),
        hourly=tuple(float(p) for p in hourly),
    )


def backtest(
    resolved: ResolvedFleet,
    history: pd.DataFrame,
    start: datetime,
    end: datetime,
    *,
    trials: int,
    seed: int,
) -> Backtest:
    """Run the forecast and the outcome of ``resolved`` over [start, end).

    Parameters
    ----------
    resolved
        The fleet, resolved against the offers (on-demand prices, hazards).
    history
        Spot price history (the store's ``spot_price_history`` table).
    start, end
        The window (UTC).
    trials, seed
        Monte Carlo trials and the seed shared by both runs.
    """
    if end <= start:
        raise UsageError("--to must be after --from", field="--to", fix="swap or widen them")
    hours = (end - start).total_seconds() / 3600
    spot = [p for p in resolved.pools if p.model.market == "spot"]
    if not spot:
        raise UsageError(
            "the fleet has no spot pool, so prices cannot move its cost",
            field="pools",
            fix="backtest a fleet with at least one market: spot pool",
        )
    prices = {
        p.model.name: pool_prices(history, p.model, p.spec.instance, start, end) for p in spot
    }

    def with_prices(realised: bool) -> list[PoolModel]:
        pools = []
        for pool in resolved.model.pools:
            found = prices.get(pool.name) if pool.market == "spot" else None
            if found is None:
                pools.append(pool)
                continue
            per_replica = found.at_start * pool.instances_per_replica
            # a path as long as the horizon: the engine's window mean is the path mean.
            # The forecast gets a flat path so both runs draw the same random numbers.
            path = tuple(p / found.at_start if realised else 1.0 for p in found.hourly)
            pools.append(dataclasses.replace(pool, price_per_hour=per_replica, price_path=path))
        return pools

    runs = []
    for realised in (False, True):
        model = dataclasses.replace(
            resolved.model, pools=tuple(with_prices(realised)), horizon_hours=hours
        )
        results = simulate(model, trials, np.random.default_rng(seed))
        runs.append(summarize(results, model.sla_availability))
    return Backtest(start, end, tuple(prices.values()), runs[0], runs[1])


def load_history(store_path: Path) -> pd.DataFrame:
    """The spot price history of the store, or of the embedded snapshot."""
    from spotadvisor.schema import SPOT_PRICE_HISTORY
    from spotadvisor.sources import load_table
    from spotadvisor.store import Store

    frame = load_table(Store(store_path), SPOT_PRICE_HISTORY).frame
    frame = frame.copy()
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    return frame


def backtest_fleet(
    store_path: Path, fleet_path: Path, start: datetime, end: datetime, *, trials: int, seed: int
) -> tuple[ResolvedFleet, Backtest]:
    """Load and resolve a fleet file against the store (or snapshot), then backtest it."""
    from spotadvisor.catalog import offers_view
    from spotadvisor.config import load_fleet
    from spotadvisor.fleet import resolve_fleet
    from spotadvisor.schema import INTERRUPTION_HISTORY, OFFERS
    from spotadvisor.sources import load_table
    from spotadvisor.store import Store

    store = Store(store_path)
    fleet = load_fleet(fleet_path)
    offers = load_table(store, OFFERS).frame
    bands = load_table(store, INTERRUPTION_HISTORY).frame
    resolved = resolve_fleet(fleet, offers_view(offers, bands), None)
    history = load_history(store_path)
    return resolved, backtest(resolved, history, start, end, trials=trials, seed=seed)
