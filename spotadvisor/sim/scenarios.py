"""Failure what-ifs as numbers, and the part of a fleet that is the same in every trial.

A scenario is one or more deterministic *events* injected into every trial at a fixed
time (docs/load-and-scenarios.md):

- ``outage`` (zone outage, region loss): at ``at`` every instance of the affected pools
  is lost without notice, replicas still starting too; spot launches there are refused
  until ``at + duration``. Fixed on-demand replicas of the affected pools (and the peak
  replicas, for a region loss of their region) are relaunched elsewhere at once and
  serve again after the (mean) cold start.
- ``drought`` (capacity drought): no spot launches in the pools during the window.
- ``spike`` (price spike): spot prices of the pools times ``factor`` during the window.
- ``preempt`` (mass preemption): at ``at`` each serving spot replica of the pools gets a
  notice with probability ``fraction``.

:func:`fleet_plan` computes the deterministic part of a fleet (demand, fixed and peak
on-demand replicas, their losses) as a *tolerance* step function: how many spot-slot
gaps the fleet can have at each moment before it is below the demand (-1 where the
on-demand replicas cannot even carry the critical share).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from spotadvisor.sim.load import (
    Demand,
    FloatArray,
    IntArray,
    PeakReplicas,
    Step,
    critical_replicas,
    demand_step,
    flat_integral,
    interval_loss,
    peak_needed,
    peak_replicas,
    ready_step,
)

if TYPE_CHECKING:
    from spotadvisor.sim.model import FleetModel

EventKind = Literal["outage", "drought", "spike", "preempt"]


@dataclass(frozen=True)
class ScenarioEvent:
    """One deterministic event.

    Attributes
    ----------
    kind
        ``outage``, ``drought``, ``spike`` or ``preempt``.
    pools
        Indices of the affected pools in ``FleetModel.pools``.
    at_hours
        When it happens, from the start of the horizon [h].
    duration_hours
        How long it lasts [h] (0 for ``preempt``).
    factor
        Price multiplier (``spike``).
    fraction
        Share of serving replicas preempted (``preempt``) [0-1].
    peak
        The outage also takes the peak on-demand replicas (a region loss of their region).
    label
        How the user wrote it, for outputs.
    """

    kind: EventKind
    pools: tuple[int, ...]
    at_hours: float
    duration_hours: float = 0.0
    factor: float = 1.0
    fraction: float = 1.0
    peak: bool = False
    label: str = ""

    @property
    def end_hours(self) -> float:
        """End of the window [h]."""
        return self.at_hours + self.duration_hours


@dataclass(frozen=True)
class FleetPlan:
    """The deterministic part of a fleet over the horizon.

    Attributes
    ----------
    demand
        Replicas needed.
    tolerance
        Spot-slot gaps tolerated at each moment before the fleet is below demand; -1
        where the on-demand replicas are below the critical replicas needed.
    peaks
        The peak replicas (empty without a load or with ``peak: none``).
    peak_cost
        Their billed cost [USD].
    lost_requests
        Expected requests lost by on-demand replicas taken by outages.
    on_demand_cost
        The demand served all on demand at the fleet's mean on-demand price [USD].
    """

    demand: Step
    tolerance: Step
    peaks: PeakReplicas
    peak_cost: float
    lost_requests: float
    on_demand_cost: float


def mean_on_demand_price(model: FleetModel) -> float:
    """Count-weighted mean on-demand price of the pools [USD/h] (plain mean if no count)."""
    counts = np.array([p.count for p in model.pools], dtype=np.float64)
    prices = np.array([p.on_demand_price_per_hour for p in model.pools], dtype=np.float64)
    return float(np.average(prices, weights=counts)) if counts.sum() > 0 else float(prices.mean())


def fleet_plan(model: FleetModel) -> FleetPlan:
    """Demand, peak replicas, on-demand losses and the tolerance of ``model``."""
    horizon, cold = model.horizon_hours, model.cold_start_hours
    load = model.load
    demand = demand_step(load.demand if load else Demand.constant(model.replicas), horizon)
    on_demand = sum(p.count for p in model.pools if p.market != "spot")
    spot = sum(p.count for p in model.pools if p.market == "spot")
    slots = spot + model.overprovision
    share = load.critical_share if load else 0.0
    empty = np.zeros(0)
    peaks = PeakReplicas(empty, empty, empty)
    if load is not None and load.peak_on_demand:
        needed = peak_needed(demand, spot + on_demand, on_demand, share)
        peaks = peak_replicas(
            demand,
            needed,
            delay=load.scale_up_delay_hours - load.prewarm_hours,
            cooldown=load.cooldown_hours,
            cold_start=cold,
        )
    starts: list[FloatArray] = [peaks.ready]
    ends: list[FloatArray] = [peaks.stop]
    weights: list[IntArray] = [np.ones(peaks.ready.size, dtype=np.int64)]
    lost = 0
    for event in model.events:
        if event.kind != "outage":
            continue
        taken = sum(model.pools[j].count for j in event.pools if model.pools[j].market != "spot")
        if taken:
            starts.append(np.array([event.at_hours]))
            ends.append(np.array([event.at_hours + cold]))
            weights.append(np.array([-taken], dtype=np.int64))
            lost += taken
        if event.peak and peaks.ready.size:
            running = (peaks.ready <= event.at_hours) & (event.at_hours < peaks.stop)
            lost += int(running.sum())
            s, e = interval_loss(peaks.launch, peaks.ready, peaks.stop, event.at_hours, cold)
            starts[0], ends[0] = s, e
            weights[0] = np.ones(s.size, dtype=np.int64)
    ready = ready_step(
        horizon, on_demand, np.concatenate(starts), np.concatenate(ends), np.concatenate(weights)
    )
    times = np.unique(np.concatenate((demand.times, ready.times)))
    d, od = demand.at(times), ready.at(times)
    tolerance = slots + od - d
    if share > 0:
        tolerance = np.where(od < critical_replicas(d, share), -1, tolerance)
    price = load.peak_price_per_hour if load else 0.0
    per_loss = model.request_rate_per_s * model.request_duration_s
    od_cost = (
        mean_on_demand_price(model) * flat_integral(demand)
        if load is not None
        else model.replicas * mean_on_demand_price(model) * horizon
    )
    return FleetPlan(
        demand=demand,
        tolerance=Step(times, tolerance.astype(np.int64), horizon),
        peaks=peaks,
        peak_cost=peaks.cost(price, horizon),
        lost_requests=lost * per_loss,
        on_demand_cost=od_cost,
    )


def pool_windows(
    model: FleetModel, kinds: tuple[EventKind, ...]
) -> list[tuple[np.ndarray, float, float, ScenarioEvent]]:
    """``(spot-pool mask, start, end, event)`` of every event of the given kinds."""
    out = []
    for event in model.events:
        if event.kind not in kinds:
            continue
        mask = np.zeros(len(model.pools), dtype=bool)
        for j in event.pools:
            mask[j] = model.pools[j].market == "spot"
        out.append((mask, event.at_hours, event.end_hours, event))
    return out
