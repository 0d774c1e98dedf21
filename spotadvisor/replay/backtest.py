"""Price backtest: what a fleet's spot pools cost over a past window, against the forecast.

A forecast made at the start of the window can only know the spot price of that moment
(``spot_prices: fixed``). The backtest runs the same fleet twice through the engine with
the same random numbers: once with each spot pool's price frozen at the window start
(the forecast) and once with the prices as they were, hour by hour (the outcome). Any
difference is the price movement alone, since preemptions, fallbacks and cold starts are
drawn identically in both runs.

Which zone's price series a pool takes, and when it covers the window:
:mod:`spotadvisor.replay.price_series`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from spotadvisor.config import PoolSpec
from spotadvisor.errors import DataError, SpotadvisorError, UsageError
from spotadvisor.fleet import ResolvedFleet, ResolvedPool
from spotadvisor.replay.price_series import Candidates, candidates, choose
from spotadvisor.sim.engine import simulate
from spotadvisor.sim.model import PoolModel
from spotadvisor.sim.results import Metrics, summarize


@dataclass(frozen=True)
class PoolPrices:
    """One spot pool's prices over the window, per instance [USD/h].

    Attributes
    ----------
    name
        Pool name in the fleet.
    zone
        The zone whose series was used (a pool without a zone takes the zone with the
        most price records among those covering the window).
    at_start
        The price in force at the window start: the forecast's price.
    mean, low, high
        Time-weighted mean, minimum and maximum over the window.
    changes
        Price changes inside the window.
    hourly
        The price in force at each hour of the window.
    note
        Why the series is not the pool's own zone's (a zone ID the history cannot
        name), or None.
    """

    name: str
    zone: str
    at_start: float
    mean: float
    low: float
    high: float
    changes: int
    hourly: tuple[float, ...]
    note: str | None = None


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
        When the history has no price at or before ``start`` for the pool (the forecast
        would have had nothing to go on), or is not known up to ``end`` (the outcome
        would be a guess): see :func:`choose`.
    """
    found = candidates(history, pool.name, pool.cloud, pool.region, pool.zone, instance)
    return _prices(found, pool.name, instance, start, end)


def _prices(
    found: Candidates, name: str, instance: str, start: datetime, end: datetime
) -> PoolPrices:
    hours = np.arange(
        np.datetime64(start.replace(tzinfo=None), "s"),
        np.datetime64(end.replace(tzinfo=None), "s"),
        np.timedelta64(3600, "s"),
    )
    if hours.size == 0:
        raise UsageError("the window is shorter than an hour", field="--to", fix="widen it")
    chosen, note = choose(found, name, instance, pd.Timestamp(start), pd.Timestamp(end))
    times, prices = chosen.times, chosen.prices
    hourly = prices[np.searchsorted(times, hours, side="right") - 1]
    inside = (times > hours[0]) & (times < hours[-1] + np.timedelta64(3600, "s"))
    return PoolPrices(
        name=name,
        zone=chosen.label,
        at_start=float(hourly[0]),
        mean=float(hourly.mean()),
        low=float(hourly.min()),
        high=float(hourly.max()),
        changes=int(np.count_nonzero((np.diff(prices) != 0) & inside[1:])),
        hourly=tuple(float(p) for p in hourly),
        note=note.replace("{series}", chosen.label) if note else None,
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
    _check_window(start, end)
    spot = _spot_pools(resolved)
    prices = {
        p.model.name: pool_prices(history, p.model, p.spec.instance, start, end) for p in spot
    }
    return _run(resolved, prices, start, end, trials=trials, seed=seed)


def _check_window(start: datetime, end: datetime) -> None:
    if end <= start:
        raise UsageError("--to must be after --from", field="--to", fix="swap or widen them")


def _spot_pools(resolved: ResolvedFleet) -> list[ResolvedPool]:
    spot = [p for p in resolved.pools if p.model.market == "spot"]
    if not spot:
        raise UsageError(
            "the fleet has no spot pool, so prices cannot move its cost",
            field="pools",
            fix="backtest a fleet with at least one market: spot pool",
        )
    return spot


def _run(
    resolved: ResolvedFleet,
    prices: dict[str, PoolPrices],
    start: datetime,
    end: datetime,
    *,
    trials: int,
    seed: int,
) -> Backtest:
    """The two engine runs: prices frozen at the start, and as they were."""
    hours = (end - start).total_seconds() / 3600

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


def _pool_label(spec: PoolSpec) -> str:
    """The pool's name, as ``fleet.resolve_fleet`` names it."""
    return " ".join(
        p for p in (spec.cloud, spec.region, spec.zone, spec.instance, spec.market) if p
    )


def backtest_fleet(
    store_path: Path, fleet_path: Path, start: datetime, end: datetime, *, trials: int, seed: int
) -> tuple[ResolvedFleet, Backtest]:
    """Load and resolve a fleet file against the store (or snapshot), then backtest it.

    A spot pool's price comes from the history, so the offers need not have a current
    spot price for it (a zone without spot capacity today); its on-demand price and
    interruption band still come from the offers or the file.
    """
    from spotadvisor.catalog import offers_view
    from spotadvisor.config import load_fleet
    from spotadvisor.fleet import resolve_fleet
    from spotadvisor.schema import INTERRUPTION_HISTORY, OFFERS
    from spotadvisor.sources import load_table
    from spotadvisor.store import Store

    _check_window(start, end)
    store = Store(store_path)
    fleet = load_fleet(fleet_path)
    history = load_history(store_path)
    prices: dict[int, PoolPrices] = {}
    failure: DataError | None = None
    for spec in fleet.pools:
        if spec.market != "spot" or failure is not None:
            continue
        try:
            found = candidates(
                history, _pool_label(spec), spec.cloud, spec.region, spec.zone, spec.instance
            )
            prices[spec.index] = _prices(found, _pool_label(spec), spec.instance, start, end)
        except DataError as error:
            failure = error
    # the forecast's spot price is the history's at --from, whatever the offers say today;
    # a pool whose history failed gets a stand-in, so mistakes in the file are told first
    specs = tuple(
        dataclasses.replace(
            spec, price_per_hour=prices[spec.index].at_start if spec.index in prices else 1.0
        )
        if spec.market == "spot" and spec.price_per_hour is None
        else spec
        for spec in fleet.pools
    )
    offers = load_table(store, OFFERS).frame
    bands = load_table(store, INTERRUPTION_HISTORY).frame
    resolved = resolve_fleet(
        dataclasses.replace(fleet, pools=specs), offers_view(offers, bands), None
    )
    if failure is not None:
        raise failure
    spot = _spot_pools(resolved)
    by_name = {
        p.model.name: dataclasses.replace(prices[p.spec.index], name=p.model.name) for p in spot
    }
    return resolved, _run(resolved, by_name, start, end, trials=trials, seed=seed)


def suggest_end(
    store_path: Path, fleet_path: Path, start: datetime
) -> tuple[datetime, datetime | None]:
    """A window end to suggest for ``start``, and where the history ends if that is sooner.

    The history's end is the earliest, over the fleet's spot pools, of the latest moment
    a series with a price at ``start`` is known to (whole minutes). The suggestion is a
    month after ``start``, or that end when it is sooner (then also returned, else None);
    it can be less than an hour after ``start``, or before it, when no window starting
    at ``start`` works.
    """
    from spotadvisor.config import load_fleet

    month = _month_after(start)
    try:
        fleet = load_fleet(fleet_path)
        history = load_history(store_path)
    except SpotadvisorError:  # the backtest itself reports a bad file or store
        return month, None
    stamp = pd.Timestamp(start)
    ends = []
    for spec in fleet.pools:
        if spec.market != "spot":
            continue
        try:
            found = candidates(
                history, _pool_label(spec), spec.cloud, spec.region, spec.zone, spec.instance
            )
        except DataError:
            continue
        known = [
            one.known_until for series, _ in found.tiers for one in series if one.first <= stamp
        ]
        if known:
            ends.append(max(known).floor("min").to_pydatetime())
    if not ends or min(ends) >= month:
        return month, None
    return min(ends), min(ends)


def _month_after(moment: datetime) -> datetime:
    """The same day and time a month later (the month's last day when it has fewer)."""
    import calendar

    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)
