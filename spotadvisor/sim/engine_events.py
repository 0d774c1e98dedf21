"""Failure events inside the vectorised engine: kills, blocked launches, price spikes.

Used by :mod:`spotadvisor.sim.engine` only when a model has ``events``; the engine's
flat path does not touch this module, so results without events are unchanged.
Semantics are in :mod:`spotadvisor.sim.scenarios` and docs/load-and-scenarios.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from spotadvisor.sim.results import TrialResults
from spotadvisor.sim.scenarios import FleetPlan, pool_windows
from spotadvisor.sim.strikes import Strikes, stocked_out_until
from spotadvisor.sim.varying import varying_outages

if TYPE_CHECKING:
    from spotadvisor.sim.engine import _Items, _Ledger, _Pools
    from spotadvisor.sim.model import FleetModel

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


class EventContext:
    """The events of one model, as per-pool masks and times, plus their own generator.

    Parameters
    ----------
    model
        The fleet with ``events``.
    rng
        Used only to choose which replicas a mass preemption takes, so the engine's own
        stream (and with it the common random numbers of a paired run) is untouched.
    """

    def __init__(self, model: FleetModel, rng: np.random.Generator) -> None:
        self.horizon = model.horizon_hours
        self.rng = rng
        self.blocks = sorted(
            ((m, s, e) for m, s, e, _ in pool_windows(model, ("outage", "drought"))),
            key=lambda w: w[1],
        )
        self.kills = sorted(
            (
                (m, s, ev.kind == "outage", ev.fraction if ev.kind == "preempt" else 1.0)
                for m, s, _, ev in pool_windows(model, ("outage", "preempt"))
            ),
            key=lambda k: k[1],
        )
        self.spikes = [(m, s, e, ev.factor) for m, s, e, ev in pool_windows(model, ("spike",))]
        # an instance lost without notice loses every request in flight: r * E[D]
        self.lost_abrupt = model.request_rate_per_s * model.request_duration_s

    def serving_kills(
        self, pool: IntArray, clock: FloatArray, notice: FloatArray
    ) -> tuple[FloatArray, BoolArray]:
        """Earlier notices from kills of serving replicas, and which are without notice."""
        abrupt = np.zeros(pool.size, dtype=bool)
        for mask, at, is_outage, fraction in self.kills:
            hit = mask[pool] & (clock <= at) & (at < notice)
            if fraction < 1.0:
                chosen = np.flatnonzero(hit)
                hit[chosen] = self.rng.random(chosen.size) < fraction
            notice = np.where(hit, at, notice)
            abrupt = np.where(hit, is_outage, abrupt)
        return notice, abrupt

    def startup_kill(self, pool: IntArray, launch: FloatArray, ready: FloatArray) -> FloatArray:
        """First outage taking a replica of ``pool`` launched but not ready [h]; inf if none."""
        first = np.full(pool.size, np.inf)
        for mask, at, is_outage, _ in self.kills:
            if is_outage:
                hit = mask[pool] & (launch <= at) & (at < ready) & (at < first)
                first = np.where(hit, at, first)
        return first

    def launch_time(
        self, strikes: Strikes, instance: IntArray, pool: IntArray, at: FloatArray
    ) -> FloatArray:
        """When a spot launch wanted at ``at`` can happen: after stock-outs and blocks [h]."""
        t = stocked_out_until(strikes, instance, at)
        for _ in range(2 * len(self.blocks) + 2):
            before = t
            for mask, start, end in self.blocks:
                t = np.where(mask[pool] & (start <= t) & (t < end), end, t)
            t = stocked_out_until(strikes, instance, t)
            if np.array_equal(t, before):
                break
        return t

    def spot_bill(
        self, pool: IntArray, price: FloatArray, start: FloatArray, end: FloatArray
    ) -> FloatArray:
        """Cost of spot replicas billed on [start, end) [USD], price spikes included."""
        amount = price * (end - start)
        for mask, s, e, factor in self.spikes:
            overlap = np.clip(np.minimum(end, e) - np.maximum(start, s), 0.0, None)
            amount = amount + np.where(mask[pool], price * (factor - 1.0) * overlap, 0.0)
        return amount


def replace_with_events(
    model: FleetModel,
    pools: _Pools,
    width: int,
    price: FloatArray,
    strikes: Strikes,
    items: _Items,
    notice: FloatArray,
    ledger: _Ledger,
    cold_starts: Callable[[int], FloatArray],
    events: EventContext,
) -> _Items:
    """Replacements for the noticed ``items`` (policy, stock-outs, blocks, fallback).

    Like the engine's flat path, plus: a replacement lost to an outage while it starts
    is billed until then and relaunched per policy (its wait, and the fallback clock,
    start again at the loss); a fallback already running carries on.
    """
    from spotadvisor.sim.engine import _Items

    horizon = model.horizon_hours
    trial, pool = items.trial, items.pool
    next_pool = model.on_preemption == "next-pool"
    target = pools.next_spot[pool] if next_pool else pool.copy()
    launch = events.launch_time(strikes, trial * width + target, target, notice)
    ready = launch + cold_starts(trial.size)
    after = model.fallback_after_hours
    n = trial.size
    fallback = np.zeros(n, dtype=bool)
    fb_launch = np.full(n, np.inf)
    fb_ready = np.full(n, np.inf)
    fb_price = pools.on_demand_price[target]
    if after is not None:
        fallback = launch - notice > after
        fb_launch = np.where(fallback, notice + after, np.inf)
        fb_ready = fb_launch + cold_starts(n)
    for _ in range(len(events.kills)):
        lost_at = events.startup_kill(target, launch, ready)
        idx = np.flatnonzero(lost_at < horizon)
        if idx.size == 0:
            break
        at = lost_at[idx]
        t_idx = trial[idx]
        ledger.bill(
            t_idx,
            events.spot_bill(target[idx], price[t_idx, target[idx]], launch[idx], at),
        )
        if next_pool:
            target[idx] = pools.next_spot[target[idx]]
        launch[idx] = events.launch_time(strikes, t_idx * width + target[idx], target[idx], at)
        ready[idx] = launch[idx] + cold_starts(idx.size)
        if after is not None:
            new = idx[~fallback[idx] & (launch[idx] - at > after)]
            fallback[new] = True
            fb_launch[new] = lost_at[new] + after
            fb_ready[new] = fb_launch[new] + cold_starts(new.size)
            fb_price[new] = pools.on_demand_price[target[new]]
    serve_from = np.where(fallback, np.minimum(fb_ready, ready), ready)
    od_hours = np.clip(np.minimum(ready, horizon) - fb_launch, 0.0, None)
    ledger.bill(trial, np.where(fallback, fb_price * od_hours, 0.0))
    ledger.gap(trial, notice, np.minimum(serve_from, horizon))
    done = ready >= horizon
    launched = np.flatnonzero(done & (launch < horizon))
    t_l = trial[launched]
    ledger.bill(
        t_l,
        events.spot_bill(
            target[launched],
            price[t_l, target[launched]],
            launch[launched],
            np.full(t_l.size, horizon),
        ),
    )
    live = ~done
    return _Items(trial[live], target[live], ready[live], launch[live])


def varying_results(
    model: FleetModel, plan: FleetPlan, ledger: _Ledger, trials: int, rng: np.random.Generator
) -> TrialResults:
    """Results against the plan's time-varying tolerance (load profile or events)."""
    horizon = model.horizon_hours
    first = model.events[0] if model.events else None
    out = varying_outages(
        np.concatenate(ledger.trial) if ledger.trial else np.zeros(0, dtype=np.int64),
        np.concatenate(ledger.start) if ledger.start else np.zeros(0),
        np.concatenate(ledger.end) if ledger.end else np.zeros(0),
        trials=trials,
        tolerance=plan.tolerance,
        window=(first.at_hours, first.end_hours) if first is not None else None,
    )
    window = out.window
    return TrialResults(
        availability=1.0 - out.hours / horizon,
        cost=ledger.cost,
        interruptions=ledger.interruptions,
        lost_requests=rng.poisson(ledger.lost_mean).astype(np.float64),
        outages=out.count,
        outage_hours=out.hours,
        on_demand_cost=plan.on_demand_cost,
        during_hours=window.during_hours if window else None,
        after_hours=window.after_hours if window else None,
        recovery_hours=window.recovery_hours if window else None,
    )
