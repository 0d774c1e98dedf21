"""How a recommendation looks: the mix in words, the ranked table, the explanation, JSON and CSV."""

from __future__ import annotations

from typing import Any

import pandas as pd

from spotadvisor import __version__
from spotadvisor.bands import band_text
from spotadvisor.recommend import Recommendation
from spotadvisor.recommend.describe import describe_mix, duration_text
from spotadvisor.recommend.rank import CONFIDENCE_SE, TIE_SE, within_budget
from spotadvisor.recommend.refine import (
    FINALIST_RANKS,
    MAX_FINALIST_TRIALS,
    SEPARATION_SE,
    TARGET_BREACH_SE,
    breach_stderr,
    settled,
)
from spotadvisor.recommend.search import Evaluated
from spotadvisor.render.simulation import metrics_document
from spotadvisor.render.values import plain
from spotadvisor.seeds import Seed

# Version of the JSON document. 2: no generated_at and no age_days (the document is the
# same on every run on the same data); seed_origin, data[].rows and digest, precision,
# and per mix trials and finalist.
SCHEMA_VERSION = 2


def _tokens_cost(rec: Recommendation, e: Evaluated) -> float | None:
    """Cost per million tokens served [USD], when the workload gives a throughput."""
    throughput = rec.fleet.workload.throughput_tokens_per_s
    if not throughput:
        return None
    served = (
        rec.fleet.workload.replicas
        * throughput
        * rec.fleet.horizon_hours
        * 3600
        * e.metrics.availability_mean.value
    )
    return e.metrics.cost_mean.value / served * 1e6 if served > 0 else None


def row_values(rec: Recommendation, e: Evaluated, rank: int) -> dict[str, Any]:
    """One ranked mix as plain values (the CSV row and the JSON summary)."""
    m = e.metrics
    per_month = rec.monthly(1.0)
    index = rec.search.evaluated.index(e)
    return {
        "rank": rank,
        "recommended": index == rec.recommended,
        "on_frontier": index in rec.frontier,
        "within_risk_budget": within_budget(m, rec.fleet.sla.max_breach_probability),
        "mix": describe_mix(e.candidate),
        "trials": m.trials,
        "finalist": e.finalist,
        "cost_usd_per_month_mean": plain(m.cost_mean.value * per_month),
        "cost_usd_per_month_stderr": plain(m.cost_mean.stderr * per_month),
        "cost_usd_per_month_p95": plain(m.cost_p95 * per_month),
        "savings_pct": plain(
            100 * (1 - m.cost_mean.value / rec.search.baseline.metrics.cost_mean.value)
        ),
        "availability_mean": plain(m.availability_mean.value),
        "availability_p5": plain(m.availability_p5),
        "sla_breach_probability": plain(m.sla_breach_probability.value),
        "sla_breach_probability_stderr": plain(m.sla_breach_probability.stderr),
        "interruptions_per_month": plain(m.interruptions_mean.value * per_month),
        "lost_requests_per_month": plain(m.lost_requests_mean.value * per_month),
        "cost_usd_per_million_tokens": plain(_tokens_cost(rec, e)),
    }


HEADERS = [
    "#",
    "Mix",
    "$/month",
    "p95",
    "Savings",
    "Avail. mean",
    "Avail. p5",
    "Breach P",
    "Interr./mo",
    "Lost req./mo",
]
RIGHT = [True, False] + [True] * 8


def table_rows(rec: Recommendation, limit: int) -> list[list[str]]:
    """Display rows: the ranked mixes (★ recommended, ◆ on the frontier) and the baseline."""
    rows = []
    ranked = rec.ranked()
    shown = ranked[:limit]
    if rec.search.baseline not in shown:
        shown.append(rec.search.baseline)
    tokens = rec.fleet.workload.throughput_tokens_per_s is not None
    for e in shown:
        rank = ranked.index(e) + 1
        v = row_values(rec, e, rank)
        mark = "★" if v["recommended"] else ("◆" if v["on_frontier"] else " ")
        label = describe_mix(e.candidate) + (
            " (all on-demand baseline)" if e is rec.search.baseline else ""
        )
        row = [
            f"{mark}{rank}",
            label,
            f"${v['cost_usd_per_month_mean']:,.0f}",
            f"${v['cost_usd_per_month_p95']:,.0f}",
            f"{v['savings_pct']:.0f}%",
            f"{100 * v['availability_mean']:.3f}%",
            f"{100 * v['availability_p5']:.3f}%",
            f"{100 * v['sla_breach_probability']:.1f}%" + ("" if v["within_risk_budget"] else " ✗"),
            f"{v['interruptions_per_month']:.2f}",
            f"{v['lost_requests_per_month']:.1f}",
        ]
        if tokens:
            row.append(
                f"${v['cost_usd_per_million_tokens']:.3f}"
                if v["cost_usd_per_million_tokens"]
                else ""
            )
        rows.append(row)
    return rows


def headers(rec: Recommendation) -> tuple[list[str], list[bool]]:
    """Column headers and right alignment (a cost per million tokens column when known)."""
    if rec.fleet.workload.throughput_tokens_per_s is not None:
        return [*HEADERS, "$/1M tokens"], [*RIGHT, True]
    return HEADERS, RIGHT


def explanation(rec: Recommendation) -> str:
    """Why the recommended mix wins and what drives its risk, in one paragraph."""
    fleet, stats = rec.fleet, rec.search.stats
    target, budget = 100 * fleet.sla.availability, 100 * fleet.sla.max_breach_probability
    base = rec.monthly(rec.search.baseline.metrics.cost_mean.value)
    within_risk = [
        e
        for e in rec.search.evaluated
        if within_budget(e.metrics, fleet.sla.max_breach_probability)
    ]
    if rec.recommended is None and within_risk and rec.budget_usd_per_month is not None:
        cheapest = min(within_risk, key=lambda e: e.metrics.cost_mean.value)
        return (
            f"No mix meets both the SLA and the budget of ${rec.budget_usd_per_month:,.0f} a month: "
            f"the cheapest within the risk budget, {describe_mix(cheapest.candidate)}, costs "
            f"${rec.monthly(cheapest.metrics.cost_mean.value):,.0f} a month. Raise --budget, "
            f"loosen --risk or --sla, or lower --replicas."
        )
    if rec.recommended is None:
        return (
            f"No mix meets the SLA ({target:g}% availability in all but {budget:g}% of months) within "
            f"the Monte Carlo error; the lowest-risk mixes are listed first. Try more --trials, a looser "
            f"--risk, more --replicas headroom or other regions."
        )
    e = rec.search.evaluated[rec.recommended]
    m, c = e.metrics, e.candidate
    base_mix = describe_mix(rec.search.baseline.candidate)
    ok = sum(
        1
        for x in rec.search.evaluated
        if within_budget(x.metrics, fleet.sla.max_breach_probability)
    )
    p, se = m.sla_breach_probability.value, m.sla_breach_probability.stderr
    text = (
        f"Recommended: {describe_mix(c)}. Expected ${rec.monthly(m.cost_mean.value):,.0f} a month "
        f"(p95 ${rec.monthly(m.cost_p95):,.0f}), {100 * (1 - rec.monthly(m.cost_mean.value) / base):.0f}% "
        f"below the cheapest all-on-demand mix ({base_mix}, ${base:,.0f}). It misses {target:g}% availability in {100 * p:.1f}% ± "
        f"{100 * se:.2f}% of months ({m.trials:,} trials), within the {budget:g}% risk budget even at two "
        f"standard errors, and {_cheapest(rec, e, ok)} ({stats.full_run} evaluated with "
        f"{stats.full_trials:,} trials, {stats.finalists} of them finalists with "
        f"{_span(stats.finalist_trials_min, stats.finalist_trials_max)}, {stats.short_run} "
        f"screened, {stats.generated} generated)."
    )
    if c.spot_replicas:
        slots = c.spot_replicas + c.on_demand_replicas + c.overprovision
        bands = sorted({_band(rec, key) for key, _ in c.pools if key.market == "spot"})
        zones = len({(k.region, k.zone) for k, _ in c.pools if k.market == "spot"})
        regions = len({k.region for k, _ in c.pools if k.market == "spot"})
        text += (
            f" Its risk comes from {c.spot_replicas + c.overprovision} spot replicas in "
            f"{', '.join(bands)} interruption band{'s' if len(bands) > 1 else ''}, spread over "
            f"{zones} zone{'s' if zones > 1 else ''} in {regions} region{'s' if regions > 1 else ''}; "
            + _headroom(
                slots,
                c.spot_replicas + c.on_demand_replicas
                if fleet.workload.load is not None
                else fleet.workload.replicas,
                fleet.workload.cold_start_hours,
            )
        )
    if fleet.workload.load is not None:
        text += (
            " The mix is the always-on baseline of a time-varying load; on-demand peak replicas "
            "(in the costs above) serve the demand above it."
        )
    cheaper = [
        x
        for x in rec.search.evaluated
        if x.metrics.cost_mean.value < m.cost_mean.value
        and not within_budget(x.metrics, fleet.sla.max_breach_probability)
    ]
    if cheaper:
        best = min(cheaper, key=lambda x: x.metrics.cost_mean.value)
        text += (
            f" Cheaper mixes miss the budget: the cheapest, {describe_mix(best.candidate)}, "
            f"breaches in {100 * best.metrics.sla_breach_probability.value:.1f}% of months."
        )
    return text


def _cheapest(rec: Recommendation, e: Evaluated, ok: int) -> str:
    """Why the recommended mix wins on cost: the cheapest, or tied for it within error."""
    budget = rec.fleet.sla.max_breach_probability
    cheaper = [
        x
        for x in rec.search.evaluated
        if within_budget(x.metrics, budget)
        and x.metrics.cost_mean.value < e.metrics.cost_mean.value
    ]
    if not cheaper:
        return f"it is the cheapest of the {ok} mixes that are within it"
    best = min(cheaper, key=lambda x: x.metrics.cost_mean.value)
    saving = rec.monthly(e.metrics.cost_mean.value - best.metrics.cost_mean.value)
    return (
        f"of the {ok} mixes within it, it ties for the cheapest: {describe_mix(best.candidate)} "
        f"is ${saving:,.0f} a month cheaper, a difference within Monte Carlo error "
        f"({TIE_SE:g} standard errors), but misses the target in "
        f"{100 * best.metrics.sla_breach_probability.value:.1f}% of months, so the lower risk wins"
    )


def _span(low: int, high: int) -> str:
    return f"{low:,} trials" if low == high else f"{low:,}-{high:,} trials"


def _headroom(slots: int, needed: int, cold_start_hours: float) -> str:
    wait = duration_text(cold_start_hours)
    if slots <= needed:
        return f"it has no spare replica, so each preemption is an outage until the replacement serves ({wait})."
    spare = slots - needed
    return (
        f"with {spare} spare replica{'s' if spare > 1 else ''} it rides out {spare} simultaneous "
        f"loss{'es' if spare > 1 else ''}; a replacement serves after {wait}."
    )


def _band(rec: Recommendation, key: Any) -> str:
    resolved = rec.search.pools[key]
    pool = resolved.model
    if pool.hazard.rate_per_hour is not None:
        return f"{pool.hazard.rate_per_hour:.3g}/h"
    prior = (
        " (a prior, not published)" if "prior:" in resolved.sources.get("interruption", "") else ""
    )
    return f"{band_text(pool.hazard.p_low, pool.hazard.p_high)}{prior}"


def precision_note(rec: Recommendation) -> str:
    """How many trials the finalists got and the breach-probability error they reached."""
    stats = rec.search.stats
    budget = rec.fleet.sla.max_breach_probability
    finals = [e for e in rec.search.evaluated if e.finalist]
    full = stats.full_trials
    rest = f"the other mixes: {full:,} trials, ± {100 * (0.25 / full) ** 0.5:.1f} points at most"
    if not finals:
        return rest
    trials = (
        f"{full:,} -> {_span(stats.finalist_trials_min, stats.finalist_trials_max)}"
        if stats.refined
        else f"{full:,} trials, enough already"
    )
    precise = [e for e in finals if breach_stderr(e.metrics) <= TARGET_BREACH_SE]
    apart = [e for e in finals if e not in precise and settled(e.metrics, budget)]
    short = len(finals) - len(precise) - len(apart)
    parts = []
    if precise:
        reached = max(e.metrics.sla_breach_probability.stderr for e in precise)
        parts.append(
            f"breach probability ± {100 * reached:.2f} points at most (1 s.e.)"
            + (f" for {len(precise)}" if len(precise) < len(finals) else "")
        )
    if apart:
        parts.append(f"at least {SEPARATION_SE:g} s.e. from the risk budget for {len(apart)}")
    if short:
        parts.append(f"{short} still short of ± {100 * TARGET_BREACH_SE:.2f} points")
    return (
        f"finalists ({len(finals)}: the recommended mix, the first {FINALIST_RANKS} and any "
        f"cheaper mix near the risk budget): {trials}, {' and '.join(parts)}; {rest}"
    )


def footer(rec: Recommendation) -> str:
    """The trials and the Monte Carlo error, the seed, the symbols, data age and sources."""
    ages = "; ".join(t.age_note(rec.generated_at) for t in rec.data)
    seed = Seed(rec.seed, rec.seed_origin).describe()
    return (
        f"{_capital(precision_note(rec))}. {_capital(seed)}, common random numbers. "
        f"★ recommended, ◆ cost-risk frontier, ✗ over the risk budget. Data: {ages}"
    )


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def recommendation_document(rec: Recommendation) -> dict[str, Any]:
    """The JSON document: inputs, provenance, search statistics and ranked mixes with metrics."""
    fleet = rec.fleet
    ranked = rec.ranked()
    mixes = []
    for rank, e in enumerate(ranked, 1):
        entry = row_values(rec, e, rank)
        entry["pools"] = [
            {
                "cloud": k.cloud,
                "region": k.region,
                "zone": k.zone,
                "instance": k.instance,
                "market": k.market,
                "count": n,
            }
            for k, n in e.candidate.pools
        ]
        entry["policy"] = {
            "on_preemption": e.candidate.on_preemption,
            "overprovision": e.candidate.overprovision,
            "fallback_after_hours": e.candidate.fallback_after_hours,
        }
        entry["metrics"] = metrics_document(e.metrics)
        mixes.append(entry)
    hosts = rec.hosts
    return {
        "schema_version": SCHEMA_VERSION,
        "spotadvisor_version": __version__,
        "seed": rec.seed,
        "seed_origin": rec.seed_origin,
        "inputs": {
            "workload": {
                "name": fleet.workload.name,
                "replicas": fleet.workload.replicas,
                "gpu": list(hosts.gpu),
                "gpus_per_replica": hosts.gpus_per_replica,
                "gpu_memory_gb_per_replica": hosts.gpu_memory_gb_per_replica,
                "cold_start_hours": fleet.workload.cold_start_hours,
                "throughput_tokens_per_s": fleet.workload.throughput_tokens_per_s,
            },
            "sla": {
                "availability": fleet.sla.availability,
                "max_breach_probability": fleet.sla.max_breach_probability,
            },
            "horizon_hours": fleet.horizon_hours,
            "trials": fleet.trials,
            "clouds": list(hosts.clouds),
            "regions": list(hosts.regions),
            "max_band_pct": hosts.max_band_pct,
            "budget_usd_per_month": rec.budget_usd_per_month,
        },
        "data": [t.provenance(ages=False) for t in rec.data],
        "notes": list(rec.search.notes),
        "search": rec.search.stats.__dict__,
        "precision": {
            "within_budget_stderrs": CONFIDENCE_SE,
            "cost_tie_stderrs": TIE_SE,
            "finalist_ranks": FINALIST_RANKS,
            "target_breach_stderr": TARGET_BREACH_SE,
            "separation_stderrs": SEPARATION_SE,
            "max_finalist_trials": MAX_FINALIST_TRIALS,
        },
        "recommended_rank": (ranked.index(rec.search.evaluated[rec.recommended]) + 1)
        if rec.recommended is not None
        else None,
        "explanation": explanation(rec),
        "baseline": row_values(rec, rec.search.baseline, ranked.index(rec.search.baseline) + 1),
        "frontier_ranks": [ranked.index(rec.search.evaluated[i]) + 1 for i in rec.frontier],
        "mixes": mixes,
    }


def recommendation_frame(rec: Recommendation) -> pd.DataFrame:
    """One row per ranked mix, for CSV."""
    return pd.DataFrame([row_values(rec, e, rank) for rank, e in enumerate(rec.ranked(), 1)])
