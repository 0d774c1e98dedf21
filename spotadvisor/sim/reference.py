"""Reference simulation: one plain discrete-event loop per trial.

This is the oracle the compiled engine (:mod:`spotadvisor.sim.engine`) is checked
against, and the speed baseline it is benchmarked against. It follows the model of
:mod:`spotadvisor.sim.model` literally, one event at a time, with a :mod:`heapq` of
timed events, and is written for clarity rather than speed. The entry points are here;
the trial's state is in :mod:`spotadvisor.sim.reference_state`, its event loop in
:mod:`spotadvisor.sim.reference_trial` (extended for loads and failure events by
:mod:`spotadvisor.sim.reference_events`).

Per trial:

1. Draw the per-instance hazard of every spot pool (uniform in monthly probability
   within the band, or the exact rate), the mean relative spot price of every pool with
   a price path (a uniformly random circular window of the horizon's length), and the
   times of the bulk-reclaim source events of every spot pool (Poisson).
2. Start with every slot ready; a spot replica's preemption is scheduled
   ``Exp(instances_per_replica * lambda)`` after it becomes ready.
3. Process events in time order until the horizon: preemption notices (independent or
   from bulk strikes), launches that waited out a stock-out, on-demand fallbacks,
   replicas becoming ready. Between events the number of serving slots is constant;
   time below ``replicas`` is accumulated as outage time.

Decisions where the model text leaves room (docs/model.md repeats them):

- Bulk reclaims concern spot pools only: on-demand pools neither emit source events nor
  are struck (they are never preempted and never stocked out).
- All stock-outs of one event are applied before its reclaims, so a replacement aimed at
  a pool struck by the same event waits.
- Only *serving* spot replicas can be reclaimed; replicas still starting are not (their
  exponential lifetime starts when they are ready), nor are those already noticed.
- A fallback is launched when the spot launch has not happened ``fallback_after_hours``
  after the notice (stock-outs may be extended by later strikes while waiting); it is
  billed at the on-demand price of the pool the slot waits for, from its launch to the
  moment the spot replacement is ready (even if the fallback is not ready yet).
- Lost requests are counted for every notice within the horizon; billing stops at the
  horizon.
"""

from __future__ import annotations

import numpy as np

from spotadvisor.sim.model import FleetModel
from spotadvisor.sim.reference_events import EventTrial
from spotadvisor.sim.reference_state import PricePath, ReferenceTrial
from spotadvisor.sim.reference_trial import TrialLoop
from spotadvisor.sim.results import FloatArray, TrialResults
from spotadvisor.sim.scenarios import fleet_plan

__all__ = ["ReferenceTrial", "run_reference_trial", "simulate_reference"]


def _on_demand_baseline(model: FleetModel) -> float:
    """``replicas * (count-weighted mean on-demand price) * horizon`` [USD]."""
    if not model.pools:
        return 0.0
    counts = [pool.count for pool in model.pools]
    weights = counts if sum(counts) > 0 else [1] * len(counts)
    mean_price = sum(
        w * pool.on_demand_price_per_hour for w, pool in zip(weights, model.pools, strict=True)
    ) / sum(weights)
    return model.replicas * mean_price * model.horizon_hours


def _validate(model: FleetModel) -> None:
    if not model.horizon_hours > 0.0:
        raise ValueError(f"horizon_hours must be > 0, got {model.horizon_hours}")
    if model.replicas < 0 or model.overprovision < 0:
        raise ValueError("replicas and overprovision must be >= 0")
    if model.cold_start_hours < 0.0:
        raise ValueError("cold_start_hours must be >= 0")
    if model.fallback_after_hours is not None and model.fallback_after_hours < 0.0:
        raise ValueError("fallback_after_hours must be >= 0")
    has_spot = any(pool.market == "spot" for pool in model.pools)
    if model.overprovision and not has_spot:
        raise ValueError("overprovision needs at least one spot pool")
    if model.on_preemption == "next-pool" and not has_spot:
        raise ValueError("next-pool needs at least one spot pool")
    for pool in model.pools:
        if pool.count < 0 or pool.instances_per_replica < 1:
            raise ValueError(f"pool {pool.name!r}: count >= 0 and instances_per_replica >= 1")
        if not 0.0 <= pool.bulk_fraction <= 1.0:
            raise ValueError(f"pool {pool.name!r}: bulk_fraction must be in [0, 1]")
        if pool.price_path is not None and len(pool.price_path) == 0:
            raise ValueError(f"pool {pool.name!r}: price_path is empty")


def _price_paths(model: FleetModel) -> list[PricePath | None]:
    return [
        PricePath(pool.price_path)
        if pool.market == "spot" and pool.price_path is not None
        else None
        for pool in model.pools
    ]


def run_reference_trial(model: FleetModel, rng: np.random.Generator) -> ReferenceTrial:
    """Simulate one trial of ``model`` event by event.

    Parameters
    ----------
    model
        The fleet, workload and policy.
    rng
        Source of all randomness.

    Returns
    -------
    ReferenceTrial
        The trial's outcome, with where the spot slots sit at the horizon.
    """
    _validate(model)
    return _make_trial(model, rng, _price_paths(model)).run()


def simulate_reference(model: FleetModel, trials: int, rng: np.random.Generator) -> TrialResults:
    """Simulate ``trials`` independent trials of ``model`` with the reference event loop.

    Parameters
    ----------
    model
        The fleet, workload and policy (see :mod:`spotadvisor.sim.model`).
    trials
        Number of trials (>= 1).
    rng
        Source of all randomness; trials consume it in order.

    Returns
    -------
    TrialResults
        Per-trial availability, cost [USD], interruptions, lost requests, outages and
        outage hours [h], and the all-on-demand cost of ``replicas`` [USD].
    """
    if trials < 1:
        raise ValueError(f"trials must be >= 1, got {trials}")
    _validate(model)
    paths = _price_paths(model)
    outcomes = []
    windows: list[tuple[float, float, float]] = []
    for _ in range(trials):
        trial = _make_trial(model, rng, paths)
        outcomes.append(trial.run())
        window = getattr(trial, "window", None)
        if window is not None and model.events:
            windows.append(window())

    def column(name: str) -> FloatArray:
        return np.array([getattr(o, name) for o in outcomes], dtype=np.float64)

    return TrialResults(
        availability=column("availability"),
        cost=column("cost"),
        interruptions=column("interruptions"),
        lost_requests=column("lost_requests"),
        outages=column("outages"),
        outage_hours=column("outage_hours"),
        on_demand_cost=_on_demand_baseline(model) if model.load is None else _load_baseline(model),
        **_window_columns(windows),
    )


def _make_trial(
    model: FleetModel, rng: np.random.Generator, paths: list[PricePath | None]
) -> TrialLoop:
    """The plain trial, or the one with a load and failure events when the model has them."""
    if model.load is None and not model.events:
        return TrialLoop(model, rng, paths)
    return EventTrial(model, rng, paths, fleet_plan(model), rng.spawn(1)[0])


def _load_baseline(model: FleetModel) -> float:
    return fleet_plan(model).on_demand_cost


def _window_columns(windows: list[tuple[float, float, float]]) -> dict[str, FloatArray]:
    if not windows:
        return {}
    during, after, recovery = (
        np.array(column, dtype=np.float64) for column in zip(*windows, strict=True)
    )
    return {"during_hours": during, "after_hours": after, "recovery_hours": recovery}
