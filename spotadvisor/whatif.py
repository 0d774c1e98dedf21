"""Failure what-ifs of a resolved fleet: each scenario simulated against the baseline.

Every scenario is simulated with the seed and trials of the baseline run (common random
numbers), so its extra cost and lost requests are paired per-trial differences with
their standard errors. Pure apart from the simulation itself.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from spotadvisor.config import Sla
from spotadvisor.config.scenarios import ScenarioSpec, expand, to_events
from spotadvisor.sim.engine import simulate
from spotadvisor.sim.model import FleetModel
from spotadvisor.sim.results import Estimate, Metrics, TrialResults, summarize

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ScenarioOutcome:
    """One scenario, simulated and compared with the baseline.

    Attributes
    ----------
    spec
        The scenario (``any`` already expanded).
    trials
        Per-trial outcomes with the event.
    metrics
        Their summary (availability over the whole horizon, breach probability...).
    availability_during
        Mean availability inside the event window [0-1]; None for an instant event.
    availability_after
        Mean availability from the window's end to the horizon [0-1].
    recovery_hours
        Mean time from the event until the fleet is back at the required replicas [h].
    extra_cost
        Mean paired cost difference with the baseline [USD over the horizon].
    extra_lost_requests
        Mean paired difference of lost requests.
    survives
        The month's SLA survives: breach probability within the risk budget.
    """

    spec: ScenarioSpec
    trials: TrialResults
    metrics: Metrics
    availability_during: Estimate | None
    availability_after: Estimate
    recovery_hours: Estimate
    extra_cost: Estimate
    extra_lost_requests: Estimate
    survives: bool


def _mean(values: FloatArray) -> Estimate:
    n = values.size
    stderr = float(values.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
    return Estimate(float(values.mean()), stderr)


def scenario_model(model: FleetModel, spec: ScenarioSpec) -> FleetModel:
    """``model`` with the events of one (expanded) scenario."""
    peak_region = model.load.peak_region if model.load is not None else ""
    events = to_events(
        spec, model.pools, horizon_hours=model.horizon_hours, peak_region=peak_region
    )
    return dataclasses.replace(model, events=events)


def run_scenarios(
    model: FleetModel,
    specs: Sequence[ScenarioSpec],
    baseline: TrialResults,
    *,
    seed: int,
    sla: Sla,
) -> tuple[ScenarioOutcome, ...]:
    """Simulate every scenario (``any`` expanded) with the baseline's seed and trials.

    Parameters
    ----------
    model
        The fleet without events.
    specs
        The scenarios.
    baseline
        The fleet's own results from the same seed and trials.
    seed
        Seed of the baseline run.
    sla
        The availability target and the risk budget.

    Raises
    ------
    UsageError
        When a scenario names a zone, region or pool the fleet does not have.
    """
    out = []
    horizon = model.horizon_hours
    for spec in expand(specs, model.pools):
        with_events = scenario_model(model, spec)
        results = simulate(with_events, baseline.trials, np.random.default_rng(seed))
        metrics = summarize(results, sla.availability)
        event = with_events.events[0]
        window = min(event.end_hours, horizon) - event.at_hours
        rest = horizon - min(event.end_hours, horizon)
        during = results.during_hours if results.during_hours is not None else np.zeros(0)
        after = results.after_hours if results.after_hours is not None else np.zeros(0)
        recovery = results.recovery_hours if results.recovery_hours is not None else np.zeros(0)
        out.append(
            ScenarioOutcome(
                spec=spec,
                trials=results,
                metrics=metrics,
                availability_during=_mean(1.0 - during / window) if window > 0 else None,
                availability_after=_mean(1.0 - after / rest) if rest > 0 else Estimate(1.0, 0.0),
                recovery_hours=_mean(recovery),
                extra_cost=_mean(results.cost - baseline.cost),
                extra_lost_requests=_mean(results.lost_requests - baseline.lost_requests),
                survives=metrics.sla_breach_probability.value <= sla.max_breach_probability,
            )
        )
    return tuple(out)
