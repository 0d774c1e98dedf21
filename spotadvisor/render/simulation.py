"""How a simulation report looks: the JSON document, the verdict and the tables."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from spotadvisor import __version__
from spotadvisor.bands import band_text
from spotadvisor.config import FleetFile
from spotadvisor.fleet import ResolvedPool, describe_pool
from spotadvisor.render.values import is_missing, plain
from spotadvisor.sim.results import Estimate, Metrics
from spotadvisor.simulate import SimulationReport

# Version of the JSON document. 2: no generated_at and no age_days (the document is the
# same on every run on the same data); seed_origin, and data[].rows and digest.
SCHEMA_VERSION = 2

# A verdict is only firm when the breach probability is this many standard errors
# away from the risk budget.
VERDICT_MARGIN_SE = 2.0


def _est(e: Estimate, key: str = "value") -> dict[str, Any]:
    return {key: plain(e.value), "stderr": plain(e.stderr)}


def verdict(report: SimulationReport) -> tuple[str, str]:
    """(``meets`` | ``fails`` | ``uncertain``, one plain-language paragraph)."""
    m, fleet = report.metrics, report.resolved.fleet
    budget, target = fleet.sla.max_breach_probability, fleet.sla.availability
    p, se = m.sla_breach_probability.value, m.sla_breach_probability.stderr
    if p + VERDICT_MARGIN_SE * se <= budget:
        status, head = "meets", "Meets the SLA"
    elif p - VERDICT_MARGIN_SE * se > budget:
        status, head = "fails", "Does not meet the SLA"
    else:
        status, head = "uncertain", "Too close to call"
    days = fleet.horizon_hours / 24
    text = (
        f"{head}: availability falls below {100 * target:g}% in {100 * p:.1f}% ± {100 * se:.1f}% "
        f"of {days:g}-day periods (risk budget {100 * budget:g}%). "
        f"Expected cost ${m.cost_mean.value:,.0f} per {days:g} days (p95 ${m.cost_p95:,.0f}), "
        + (
            f"{m.savings_pct.value:.0f}% below"
            if m.savings_pct.value >= 0
            else f"{-m.savings_pct.value:.0f}% above"
        )
        + f" {_wording(fleet)['verdict']} (${m.on_demand_cost:,.0f})."
    )
    if status == "uncertain":
        text += " The difference from the budget is within Monte Carlo error: run more --trials."
    return status, text


def metrics_document(m: Metrics) -> dict[str, Any]:
    """The metrics of SPEC section 5 under their JSON keys."""
    return {
        "availability": {
            "mean": plain(m.availability_mean.value),
            "p5": plain(m.availability_p5),
            "stderr": plain(m.availability_mean.stderr),
        },
        "sla_breach_probability": _est(m.sla_breach_probability),
        "cost": {
            "mean": plain(m.cost_mean.value),
            "p95": plain(m.cost_p95),
            "stderr": plain(m.cost_mean.stderr),
        },
        "on_demand_cost": plain(m.on_demand_cost),
        "savings_pct": _est(m.savings_pct),
        "interruptions": _est(m.interruptions_mean, "mean"),
        "lost_requests": _est(m.lost_requests_mean, "mean"),
        "outages": _est(m.outages_mean, "mean"),
        "mean_outage_minutes": _est(m.mean_outage_minutes),
    }


def simulation_document(report: SimulationReport) -> dict[str, Any]:
    """The JSON document: schema version, inputs as resolved, seed, provenance, metrics."""
    fleet = report.resolved.fleet
    status, text = verdict(report)
    return {
        "schema_version": SCHEMA_VERSION,
        "spotadvisor_version": __version__,
        "fleet_file": fleet.origin,
        "seed": report.seed,
        "seed_origin": report.seed_origin,
        "trials": fleet.trials,
        "horizon_hours": fleet.horizon_hours,
        "inputs": {
            "workload": workload_document(fleet),
            "scaling": asdict(fleet.scaling) if fleet.scaling else None,
            "sla": asdict(fleet.sla),
            "policy": asdict(fleet.policy),
            "risk": "independent" if fleet.risk_independent else asdict(fleet.risk),
            "spot_prices": fleet.spot_prices,
            "pools": [describe_pool(p) for p in report.resolved.pools],
        },
        "notes": list(report.resolved.notes),
        "data": [t.provenance(ages=False) for t in report.data],
        **metrics_document(report.metrics),
        "verdict": {"status": status, "text": text},
        **_scenarios(report),
    }


def workload_document(fleet: FleetFile) -> dict[str, Any]:
    """The workload as JSON: a CSV load's series is summarised, dates are ISO text."""
    workload = asdict(fleet.workload)
    load = workload.pop("load")
    if load is not None:
        series = load.pop("series")
        load["start"] = load["start"].isoformat()
        load["series_points"] = len(series) if series is not None else None
    workload["load"] = load
    return workload


def _scenarios(report: SimulationReport) -> dict[str, Any]:
    if not report.scenarios:
        return {}
    from spotadvisor.render.scenarios import scenario_document

    return {"scenarios": [scenario_document(o) for o in report.scenarios]}


def _pm(e: Estimate, scale: float = 1.0, fmt: str = "{:,.2f}", unit: str = "") -> tuple[str, str]:
    if is_missing(e.value):
        return "none", ""
    return fmt.format(e.value * scale) + unit, "± " + fmt.format(e.stderr * scale) + unit


def _wording(fleet: FleetFile) -> dict[str, str]:
    """How the table says what must serve: a replica count, or a load profile's need."""
    load = fleet.workload.load
    if load is None:
        k = fleet.workload.replicas
        return {
            "available": f"time with >= {k} replicas serving",
            "on_demand": f"{k} replicas on demand",
            "outage": f"drops below {k} serving replicas",
            "verdict": "the same replicas on demand",
        }
    peak = load.peak()
    at_peak = f" (peak {peak})" if peak is not None else ""
    return {
        "available": f"time serving >= the replicas needed then{at_peak}",
        "on_demand": f"the replicas needed, on demand{at_peak}",
        "outage": "serving drops below the replicas needed",
        "verdict": "the replicas needed on demand",
    }


def metric_rows(m: Metrics, fleet: FleetFile) -> list[list[str]]:
    """Rows of the metrics table: metric, value, standard error, what it means."""
    days = f"{fleet.horizon_hours / 24:g} days"
    target = f"{100 * fleet.sla.availability:g}%"
    words = _wording(fleet)
    return [
        [
            "Availability, mean",
            *_pm(m.availability_mean, 100, "{:.4f}", "%"),
            words["available"],
        ],
        [
            "Availability, worst 5%",
            f"{100 * m.availability_p5:.4f}%",
            "",
            "5th percentile over periods",
        ],
        [
            "SLA breach probability",
            *_pm(m.sla_breach_probability, 100, "{:.2f}", "%"),
            f"P(availability < {target}); budget {100 * fleet.sla.max_breach_probability:g}%",
        ],
        ["Cost, mean", *_pm(m.cost_mean, 1, "${:,.0f}"), f"per {days}, billed from launch"],
        ["Cost, p95", f"${m.cost_p95:,.0f}", "", "95th percentile"],
        [
            "All on-demand cost",
            f"${m.on_demand_cost:,.0f}",
            "",
            words["on_demand"],
        ],
        ["Savings", *_pm(m.savings_pct, 1, "{:.1f}", "%"), "vs all on-demand"],
        ["Interruptions", *_pm(m.interruptions_mean), f"preemption notices per {days}"],
        [
            "Lost requests",
            *_pm(m.lost_requests_mean, 1, "{:,.1f}"),
            "in flight when a notice period ended",
        ],
        [
            "Outages",
            *_pm(m.outages_mean, 1, "{:,.3f}"),
            words["outage"],
        ],
        ["Mean outage", *_pm(m.mean_outage_minutes, 1, "{:,.1f}", " min"), "length of one outage"],
    ]


def pool_rows(pools: Sequence[ResolvedPool]) -> list[list[str]]:
    """Rows of the pools table: pool, count, price, interruption, where they came from."""
    rows = []
    for pool in pools:
        m = pool.model
        if m.market != "spot":
            risk = "never preempted"
        elif m.hazard.rate_per_hour is not None:
            risk = f"{m.hazard.rate_per_hour:.4g}/h exact"
        else:
            risk = f"{band_text(m.hazard.p_low, m.hazard.p_high)}/month"
            if "prior:" in pool.sources.get("interruption", ""):
                risk += " (prior)"
        rows.append(
            [
                m.name,
                str(m.count),
                f"${m.price_per_hour:,.4f}",
                risk,
                _short(pool.sources.get("price_per_hour", "")),
                _short(pool.sources.get("interruption", "")),
            ]
        )
    return rows


def _short(source: str) -> str:
    """A source without its data-location prefix (the footer names the location)."""
    return source.split(": ", 1)[-1]
