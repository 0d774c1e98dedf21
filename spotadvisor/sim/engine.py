"""The vectorised Monte Carlo engine.

All trials of a chunk advance together: every spot slot of every trial is an *item*,
and each pass of the loop takes every live item through one serving cycle (ready ->
notice -> replacement ready). Items whose next cycle would start after the horizon
drop out, so the loop runs as many passes as the busiest slot has preemptions. The
model is described in ``spotadvisor.sim.model``; equations are in docs/model.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from spotadvisor.sim.closed_form import expected_lost_per_preemption
from spotadvisor.sim.engine_events import EventContext, replace_with_events, varying_results
from spotadvisor.sim.model import HOURS_PER_MONTH, FleetModel, PoolModel
from spotadvisor.sim.results import TrialResults
from spotadvisor.sim.scenarios import fleet_plan
from spotadvisor.sim.strikes import Strikes, draw_strikes, first_strike, stocked_out_until
from spotadvisor.sim.timeline import outages

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

CHUNK_TRIALS = 10_000  # trials per chunk; fixed so a seed gives the same result every time
MAX_MONTHLY_PROBABILITY = 1.0 - 1e-9  # keeps -ln(1 - p) finite for the ">20%" band


def simulate(
    model: FleetModel,
    trials: int,
    rng: np.random.Generator,
    *,
    on_progress: Callable[[int, int], None] | None = None,
) -> TrialResults:
    """Simulate ``trials`` independent horizons of ``model``.

    Trials run in chunks of ``CHUNK_TRIALS``, each with its own child generator spawned
    from ``rng``, so the result depends only on the generator's state, not on how the
    work is split or reported.

    Parameters
    ----------
    model
        The fleet, workload and policy.
    trials
        Number of simulated horizons (months, for a 30-day horizon).
    rng
        The only source of randomness.
    on_progress
        Called with (trials done, trials) after each chunk.
    """
    if trials < 1:
        raise ValueError("trials must be at least 1")
    _check(model)
    sizes = [CHUNK_TRIALS] * (trials // CHUNK_TRIALS)
    if trials % CHUNK_TRIALS:
        sizes.append(trials % CHUNK_TRIALS)
    parts: list[TrialResults] = []
    for size, child in zip(sizes, rng.spawn(len(sizes)), strict=True):
        parts.append(_simulate_chunk(model, size, child))
        if on_progress is not None:
            on_progress(sum(p.trials for p in parts), trials)
    windowed = parts[0].recovery_hours is not None
    return TrialResults(
        availability=np.concatenate([p.availability for p in parts]),
        cost=np.concatenate([p.cost for p in parts]),
        interruptions=np.concatenate([p.interruptions for p in parts]),
        lost_requests=np.concatenate([p.lost_requests for p in parts]),
        outages=np.concatenate([p.outages for p in parts]),
        outage_hours=np.concatenate([p.outage_hours for p in parts]),
        on_demand_cost=parts[0].on_demand_cost,
        during_hours=_joined([p.during_hours for p in parts]) if windowed else None,
        after_hours=_joined([p.after_hours for p in parts]) if windowed else None,
        recovery_hours=_joined([p.recovery_hours for p in parts]) if windowed else None,
    )


def _joined(parts: list[FloatArray | None]) -> FloatArray:
    return np.concatenate([p for p in parts if p is not None])


def _check(model: FleetModel) -> None:
    if model.horizon_hours <= 0:
        raise ValueError("horizon must be positive")
    if model.overprovision and not any(p.market == "spot" for p in model.pools):
        raise ValueError("overprovision needs at least one spot pool")
    if model.on_preemption == "next-pool" and not any(p.market == "spot" for p in model.pools):
        raise ValueError("next-pool needs at least one spot pool")


@dataclass(frozen=True)
class _Pools:
    """Per-pool constants as arrays (index = position in the fleet)."""

    spot: npt.NDArray[np.bool_]
    price: FloatArray
    on_demand_price: FloatArray
    instances: FloatArray
    notice_hours: FloatArray
    lost_mean: FloatArray
    next_spot: IntArray

    @staticmethod
    def of(model: FleetModel) -> _Pools:
        pools = model.pools
        spot = np.array([p.market == "spot" for p in pools])
        order = [i for i, p in enumerate(pools) if p.market == "spot"]
        next_spot = np.arange(len(pools))
        for position, index in enumerate(order):
            next_spot[index] = order[(position + 1) % len(order)]
        lost = [
            expected_lost_per_preemption(
                model.request_rate_per_s,
                model.request_duration_s,
                p.notice_seconds,
                model.request_duration_distribution,
            )
            if model.request_rate_per_s > 0
            else 0.0
            for p in pools
        ]
        return _Pools(
            spot=spot,
            price=np.array([p.price_per_hour for p in pools], dtype=np.float64),
            on_demand_price=np.array([p.on_demand_price_per_hour for p in pools], dtype=np.float64),
            instances=np.array([p.instances_per_replica for p in pools], dtype=np.float64),
            notice_hours=np.array([p.notice_seconds / 3600.0 for p in pools], dtype=np.float64),
            lost_mean=np.array(lost, dtype=np.float64),
            next_spot=next_spot.astype(np.int64),
        )


def draw_hazards(pools: tuple[PoolModel, ...], trials: int, rng: np.random.Generator) -> FloatArray:
    """``[trials, P]`` replica hazards [1/h]: per-instance hazard times instances per replica.

    A band's monthly probability is drawn uniformly per trial and pool and turned into
    a rate with ``-ln(1 - p) / 730``; on-demand pools get 0.
    """
    out = np.zeros((trials, len(pools)))
    for j, pool in enumerate(pools):
        if pool.market != "spot":
            continue
        hazard = pool.hazard
        if hazard.rate_per_hour is not None:
            rate = np.full(trials, hazard.rate_per_hour)
        else:
            p = rng.uniform(hazard.p_low, hazard.p_high, size=trials)
            rate = -np.log1p(-np.minimum(p, MAX_MONTHLY_PROBABILITY)) / HOURS_PER_MONTH
        out[:, j] = rate * pool.instances_per_replica
    return out


def draw_spot_prices(
    pools: tuple[PoolModel, ...], trials: int, horizon_hours: float, rng: np.random.Generator
) -> FloatArray:
    """``[trials, P]`` price per replica-hour [USD/h] in each pool's market.

    Pools with a ``price_path`` get the mean of a horizon-long window of it, starting
    at a random hour (the path wraps around), times their price.
    """
    out = np.tile(np.array([p.price_per_hour for p in pools], dtype=np.float64), (trials, 1))
    for j, pool in enumerate(pools):
        if pool.market != "spot" or not pool.price_path:
            continue
        path = np.asarray(pool.price_path, dtype=np.float64)
        window = max(1, round(horizon_hours))
        wrapped = np.concatenate((path, np.resize(path, window)))
        sums = np.concatenate(([0.0], np.cumsum(wrapped)))
        start = rng.integers(0, path.size, size=trials)
        out[:, j] *= (sums[start + window] - sums[start]) / window
    return out


def _strike_probability(model: FleetModel, spot: npt.NDArray[np.bool_]) -> FloatArray:
    regions = np.array([p.region for p in model.pools])
    same_region = regions[:, None] == regions[None, :]
    prob = np.where(same_region, model.zone_correlation, model.region_correlation)
    np.fill_diagonal(prob, 1.0)
    return np.where(spot[None, :], prob, 0.0)


def _slot_pools(model: FleetModel) -> IntArray:
    """Starting pool of every spot slot: the pools' counts, then overprovision round-robin."""
    slots = [j for j, p in enumerate(model.pools) if p.market == "spot" for _ in range(p.count)]
    spot = [j for j, p in enumerate(model.pools) if p.market == "spot"]
    slots += [spot[i % len(spot)] for i in range(model.overprovision)]
    return np.array(slots, dtype=np.int64)


def _cold_starts(model: FleetModel, size: int, rng: np.random.Generator) -> FloatArray:
    if model.cold_start_distribution == "exponential" and model.cold_start_hours > 0:
        return rng.exponential(model.cold_start_hours, size=size)
    return np.full(size, model.cold_start_hours)


def on_demand_cost(model: FleetModel) -> float:
    """Cost [USD] of ``replicas`` on demand over the horizon, at the fleet's mean price.

    The mean is weighted by each pool's count (plain mean when every count is 0).
    """
    counts = np.array([p.count for p in model.pools], dtype=np.float64)
    prices = np.array([p.on_demand_price_per_hour for p in model.pools], dtype=np.float64)
    mean = float(np.average(prices, weights=counts)) if counts.sum() > 0 else float(prices.mean())
    return model.replicas * mean * model.horizon_hours


class _Ledger:
    """Per-trial accumulators and the service gaps found so far."""

    def __init__(self, trials: int) -> None:
        self.trials = trials
        self.cost = np.zeros(trials)
        self.interruptions = np.zeros(trials)
        self.lost_mean = np.zeros(trials)
        self.trial: list[IntArray] = []
        self.start: list[FloatArray] = []
        self.end: list[FloatArray] = []

    def bill(self, trial: IntArray, amount: FloatArray) -> None:
        """Add ``amount`` [USD] to each item's trial."""
        self.cost += np.bincount(trial, weights=amount, minlength=self.trials)

    def gap(self, trial: IntArray, start: FloatArray, end: FloatArray) -> None:
        """A slot is out of service in ``[start, end)``."""
        keep = start < end
        self.trial.append(trial[keep])
        self.start.append(start[keep])
        self.end.append(end[keep])


def _simulate_chunk(model: FleetModel, trials: int, rng: np.random.Generator) -> TrialResults:
    horizon = model.horizon_hours
    pools = _Pools.of(model)
    width = len(model.pools)
    hazard = draw_hazards(model.pools, trials, rng)
    price = draw_spot_prices(model.pools, trials, horizon, rng)
    strikes = draw_strikes(
        rng,
        groups=trials,
        horizon_hours=horizon,
        rate_per_hour=np.array(
            [
                p.bulk_reclaims_per_month / HOURS_PER_MONTH if p.market == "spot" else 0.0
                for p in model.pools
            ]
        ),
        strike_probability=_strike_probability(model, pools.spot),
        share_mean=np.array([p.bulk_fraction for p in model.pools], dtype=np.float64),
        instances_per_replica=pools.instances,
        stockout_hours=np.array([p.stockout_hours for p in model.pools], dtype=np.float64),
    )
    ledger = _Ledger(trials)
    fixed = [p for p in model.pools if p.market != "spot"]
    ledger.cost += sum(p.count * p.price_per_hour for p in fixed) * horizon
    plan = fleet_plan(model) if model.load is not None or model.events else None
    events = EventContext(model, rng.spawn(1)[0]) if model.events else None
    if plan is not None:
        ledger.cost += plan.peak_cost
        ledger.lost_mean += plan.lost_requests

    slots = _slot_pools(model)
    trial = np.repeat(np.arange(trials, dtype=np.int64), slots.size)
    state = _Items(
        trial=trial,
        pool=np.tile(slots, trials),
        clock=np.zeros(trial.size),
        bill_from=np.zeros(trial.size),
    )
    while state.trial.size:
        state = _cycle(model, pools, width, hazard, price, strikes, state, ledger, rng, events)
    if plan is not None:
        return varying_results(model, plan, ledger, trials, rng)

    out = outages(
        np.concatenate(ledger.trial) if ledger.trial else np.zeros(0, dtype=np.int64),
        np.concatenate(ledger.start) if ledger.start else np.zeros(0),
        np.concatenate(ledger.end) if ledger.end else np.zeros(0),
        trials=trials,
        horizon_hours=horizon,
        slots=sum(p.count for p in fixed) + slots.size,
        replicas=model.replicas,
    )
    return TrialResults(
        availability=1.0 - out.hours / horizon,
        cost=ledger.cost,
        interruptions=ledger.interruptions,
        lost_requests=rng.poisson(ledger.lost_mean).astype(np.float64),
        outages=out.count,
        outage_hours=out.hours,
        on_demand_cost=on_demand_cost(model),
    )


@dataclass(frozen=True)
class _Items:
    """Live spot slots: trial, current pool, and times [h] of the current cycle.

    ``clock`` is when the current spot replica became (or becomes) ready, which starts
    its lifetime; ``bill_from`` when it was launched.
    """

    trial: IntArray
    pool: IntArray
    clock: FloatArray
    bill_from: FloatArray

    def take(self, mask: npt.NDArray[np.bool_]) -> _Items:
        return _Items(self.trial[mask], self.pool[mask], self.clock[mask], self.bill_from[mask])


def _cycle(
    model: FleetModel,
    pools: _Pools,
    width: int,
    hazard: FloatArray,
    price: FloatArray,
    strikes: Strikes,
    items: _Items,
    ledger: _Ledger,
    rng: np.random.Generator,
    events: EventContext | None = None,
) -> _Items:
    """One serving cycle for every live item; returns the items still live after it."""
    horizon = model.horizon_hours
    trial, pool = items.trial, items.pool
    instance = trial * width + pool
    rate = hazard[trial, pool]
    life = np.divide(
        rng.standard_exponential(trial.size), rate, out=np.full(trial.size, np.inf), where=rate > 0
    )
    notice = np.minimum(
        items.clock + life,
        first_strike(strikes, instance, items.clock, items.clock + life, rng),
    )
    notice_hours = pools.notice_hours[pool]
    abrupt = None
    if events is not None:  # kills end service at once, without a notice period
        notice, abrupt = events.serving_kills(pool, items.clock, notice)
        notice_hours = np.where(abrupt, 0.0, notice_hours)
    preempted = notice < horizon
    stop = np.where(preempted, np.minimum(notice + notice_hours, horizon), horizon)
    if events is None:
        ledger.bill(trial, price[trial, pool] * (stop - items.bill_from))
    else:
        ledger.bill(trial, events.spot_bill(pool, price[trial, pool], items.bill_from, stop))

    items = items.take(preempted)
    trial, pool, notice = items.trial, items.pool, notice[preempted]
    lost = pools.lost_mean[pool]
    if events is not None and abrupt is not None:
        lost = np.where(abrupt[preempted], events.lost_abrupt, lost)
    ledger.interruptions += np.bincount(trial, minlength=ledger.trials)
    ledger.lost_mean += np.bincount(trial, weights=lost, minlength=ledger.trials)

    if model.on_preemption == "on-demand":
        ready = notice + _cold_starts(model, trial.size, rng)
        ledger.bill(trial, pools.on_demand_price[pool] * (horizon - notice))
        ledger.gap(trial, notice, np.minimum(ready, horizon))
        return items.take(np.zeros(trial.size, dtype=bool))
    if events is not None:
        return replace_with_events(
            model,
            pools,
            width,
            price,
            strikes,
            items,
            notice,
            ledger,
            lambda size: _cold_starts(model, size, rng),
            events,
        )

    target = pools.next_spot[pool] if model.on_preemption == "next-pool" else pool
    launch = stocked_out_until(strikes, trial * width + target, notice)
    ready = launch + _cold_starts(model, trial.size, rng)
    serve_from = ready
    if model.fallback_after_hours is not None:
        fallback = launch - notice > model.fallback_after_hours
        od_launch = notice + model.fallback_after_hours
        od_ready = od_launch + _cold_starts(model, trial.size, rng)
        serve_from = np.where(fallback, np.minimum(od_ready, ready), ready)
        od_hours = np.clip(np.minimum(ready, horizon) - od_launch, 0.0, None)
        ledger.bill(trial, np.where(fallback, pools.on_demand_price[target] * od_hours, 0.0))

    ledger.gap(trial, notice, np.minimum(serve_from, horizon))
    after = ready >= horizon  # the replacement is not ready in time: bill and close out
    launched = after & (launch < horizon)
    ledger.bill(
        trial[launched], price[trial[launched], target[launched]] * (horizon - launch[launched])
    )
    live = ~after
    return _Items(trial[live], target[live], ready[live], launch[live])
