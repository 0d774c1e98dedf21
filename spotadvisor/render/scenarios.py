"""How failure what-ifs look: a side-by-side table (baseline and each scenario) and JSON."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from spotadvisor.render.values import plain
from spotadvisor.sim.results import Estimate, Metrics
from spotadvisor.simulate import SimulationReport
from spotadvisor.whatif import ScenarioOutcome


def _pct(e: Estimate | None) -> str:
    return "n/a" if e is None else f"{100 * e.value:.3f}%"


def _est(e: Estimate | None, scale: float = 1.0) -> dict[str, Any] | None:
    if e is None:
        return None
    return {"value": plain(e.value * scale), "stderr": plain(e.stderr * scale)}


def _signed_dollars(value: float, stderr: float) -> str:
    """Return e.g. ``+$205 ± 4`` (USD) with the sign before the currency symbol."""
    sign = "-" if value < -0.5 else "+"
    return f"{sign}${abs(value):,.0f} ± {stderr:,.0f}"


def scenario_headers(report: SimulationReport) -> list[str]:
    """Metric, baseline, then one column per scenario."""
    return ["Metric", "Baseline", *(o.spec.label for o in report.scenarios)]


def comparison_rows(
    baseline: Metrics, outcomes: Sequence[ScenarioOutcome], budget: float, horizon_hours: float
) -> list[list[str]]:
    """Rows comparing the baseline with each scenario, one metric per row.

    Costs are over the simulated horizon (``horizon_hours`` [h]), which the labels say: the
    gate's rules quote a 730-hour month instead.
    """
    per = f"per {horizon_hours / 24:g} days"

    def row(name: str, base: str, values: list[str]) -> list[str]:
        return [name, base, *values]

    breach = baseline.sla_breach_probability.value
    return [
        row(
            "Availability, month",
            _pct(baseline.availability_mean),
            [_pct(o.metrics.availability_mean) for o in outcomes],
        ),
        row("Availability, during", "", [_pct(o.availability_during) for o in outcomes]),
        row("Availability, after", "", [_pct(o.availability_after) for o in outcomes]),
        row(
            "Time to recover",
            "",
            [f"{60 * o.recovery_hours.value:,.1f} min" for o in outcomes],
        ),
        row(
            "Lost requests",
            f"{baseline.lost_requests_mean.value:,.1f}",
            [f"{o.metrics.lost_requests_mean.value:,.1f}" for o in outcomes],
        ),
        row(
            f"Cost, {per}",
            f"${baseline.cost_mean.value:,.0f}",
            [f"${o.metrics.cost_mean.value:,.0f}" for o in outcomes],
        ),
        row(
            f"Extra cost, {per}",
            "",
            [_signed_dollars(o.extra_cost.value, o.extra_cost.stderr) for o in outcomes],
        ),
        row(
            "SLA breach probability",
            f"{100 * breach:.1f}%",
            [f"{100 * o.metrics.sla_breach_probability.value:.1f}%" for o in outcomes],
        ),
        row(
            "SLA survives the month",
            "yes" if breach <= budget else "no",
            ["yes" if o.survives else "NO" for o in outcomes],
        ),
    ]


def scenario_rows(report: SimulationReport) -> list[list[str]]:
    """The side-by-side rows of a simulation report."""
    budget = report.resolved.fleet.sla.max_breach_probability
    horizon = report.resolved.fleet.horizon_hours
    return comparison_rows(report.metrics, report.scenarios, budget, horizon)


def scenario_document(outcome: ScenarioOutcome) -> dict[str, Any]:
    """One scenario under its JSON keys (hours, USD over the horizon, fractions)."""
    spec = outcome.spec
    m = outcome.metrics
    return {
        "scenario": spec.label,
        "kind": spec.kind,
        "target": spec.target,
        "at_hours": plain(spec.at_hours),
        "duration_hours": plain(spec.duration_hours),
        "availability": {
            "mean": plain(m.availability_mean.value),
            "stderr": plain(m.availability_mean.stderr),
            "during": _est(outcome.availability_during),
            "after": _est(outcome.availability_after),
        },
        "recovery_hours": _est(outcome.recovery_hours),
        "lost_requests": _est(m.lost_requests_mean),
        "extra_lost_requests": _est(outcome.extra_lost_requests),
        "cost": _est(m.cost_mean),
        "extra_cost": _est(outcome.extra_cost),
        "sla_breach_probability": _est(m.sla_breach_probability),
        "survives": outcome.survives,
    }
