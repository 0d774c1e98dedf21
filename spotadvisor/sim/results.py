"""Per-trial outcomes of a simulation, and the summary metrics with their standard errors."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class TrialResults:
    """One value per trial for every per-trial outcome.

    Attributes
    ----------
    availability
        Fraction of the horizon with at least ``replicas`` slots serving [0-1].
    cost
        Billed cost over the horizon [USD].
    interruptions
        Preemption notices received.
    lost_requests
        Requests lost at preemptions.
    outages
        Times the serving count fell below ``replicas``.
    outage_hours
        Total time below ``replicas`` [h].
    on_demand_cost
        Cost of the same replicas all on demand over the horizon [USD] (not random);
        with a load profile, the demand itself served on demand.
    during_hours, after_hours, recovery_hours
        With failure events: outage time inside the first event's window and after it
        [h], and the time from the event until the fleet is back at the demand [h].
    """

    availability: FloatArray
    cost: FloatArray
    interruptions: FloatArray
    lost_requests: FloatArray
    outages: FloatArray
    outage_hours: FloatArray
    on_demand_cost: float
    during_hours: FloatArray | None = None
    after_hours: FloatArray | None = None
    recovery_hours: FloatArray | None = None

    @property
    def trials(self) -> int:
        """Number of trials."""
        return int(self.availability.size)

    @staticmethod
    def concat(parts: list[TrialResults]) -> TrialResults:
        """The trials of ``parts`` one after another (same model, consecutive trial ranges)."""
        if not parts:
            raise ValueError("nothing to concatenate")
        first = parts[0]

        def joined(name: str) -> FloatArray | None:
            arrays = [getattr(p, name) for p in parts]
            if any(a is None for a in arrays):
                return None
            out: FloatArray = np.concatenate(arrays)
            return out

        return TrialResults(
            availability=np.concatenate([p.availability for p in parts]),
            cost=np.concatenate([p.cost for p in parts]),
            interruptions=np.concatenate([p.interruptions for p in parts]),
            lost_requests=np.concatenate([p.lost_requests for p in parts]),
            outages=np.concatenate([p.outages for p in parts]),
            outage_hours=np.concatenate([p.outage_hours for p in parts]),
            on_demand_cost=first.on_demand_cost,
            during_hours=joined("during_hours"),
            after_hours=joined("after_hours"),
            recovery_hours=joined("recovery_hours"),
        )


@dataclass(frozen=True)
class Estimate:
    """A Monte Carlo estimate and its standard error."""

    value: float
    stderr: float


@dataclass(frozen=True)
class Metrics:
    """The metrics of SPEC section 5.

    Attributes
    ----------
    availability_mean, availability_p5
        Mean and 5th percentile over trials of the availability fraction.
    sla_breach_probability
        Share of trials (months) whose availability is below the target.
    cost_mean, cost_p95
        Mean and 95th percentile of the horizon cost [USD].
    on_demand_cost
        The all-on-demand cost [USD].
    savings_pct
        ``100 * (1 - cost_mean / on_demand_cost)`` [%].
    interruptions_mean, lost_requests_mean, outages_mean
        Means per trial.
    mean_outage_minutes
        Total outage time over total outages, all trials [min] (NaN with no outage).
    """

    availability_mean: Estimate
    availability_p5: float
    sla_breach_probability: Estimate
    cost_mean: Estimate
    cost_p95: float
    on_demand_cost: float
    savings_pct: Estimate
    interruptions_mean: Estimate
    lost_requests_mean: Estimate
    outages_mean: Estimate
    mean_outage_minutes: Estimate
    trials: int


def _means(columns: list[FloatArray]) -> list[Estimate]:
    """Mean and standard error of each column, in two NumPy calls for all of them.

    ``recommend`` summarises thousands of screening runs; one pass per statistic over a
    stacked matrix costs a fraction of a pass per column.
    """
    matrix = np.vstack(columns)
    n = matrix.shape[1]
    means = matrix.mean(axis=1)
    if n < 2:
        return [Estimate(float(m), float("nan")) for m in means]
    errors = matrix.std(axis=1, ddof=1) / np.sqrt(n)
    return [Estimate(float(m), float(e)) for m, e in zip(means, errors, strict=True)]


def summarize(results: TrialResults, sla_availability: float) -> Metrics:
    """Metrics with Monte Carlo standard errors (delta method for ratios).

    Parameters
    ----------
    results
        Per-trial outcomes.
    sla_availability
        Availability target [fraction]; a trial below it breaches the SLA.
    """
    n = results.trials
    breach = (results.availability < sla_availability).astype(np.float64)
    availability, breach_probability, cost, interruptions, lost, outages = _means(
        [
            results.availability,
            breach,
            results.cost,
            results.interruptions,
            results.lost_requests,
            results.outages,
        ]
    )
    od = results.on_demand_cost
    savings = Estimate(
        100.0 * (1.0 - cost.value / od) if od > 0 else float("nan"),
        100.0 * cost.stderr / od if od > 0 else float("nan"),
    )
    return Metrics(
        availability_mean=availability,
        availability_p5=float(np.quantile(results.availability, 0.05)),
        sla_breach_probability=breach_probability,
        cost_mean=cost,
        cost_p95=float(np.quantile(results.cost, 0.95)),
        on_demand_cost=od,
        savings_pct=savings,
        interruptions_mean=interruptions,
        lost_requests_mean=lost,
        outages_mean=outages,
        mean_outage_minutes=_ratio_minutes(results.outage_hours, results.outages),
        trials=n,
    )


def _ratio_minutes(hours: FloatArray, counts: FloatArray) -> Estimate:
    """Ratio of means sum(hours)/sum(counts) in minutes, with a delta-method error."""
    total = counts.sum()
    if total <= 0:
        return Estimate(float("nan"), float("nan"))
    ratio = hours.sum() / total
    n = counts.size
    if n < 2:
        return Estimate(60.0 * float(ratio), float("nan"))
    residual = hours - ratio * counts
    stderr = np.sqrt(residual.var(ddof=1) / n) / counts.mean()
    return Estimate(60.0 * float(ratio), 60.0 * float(stderr))
