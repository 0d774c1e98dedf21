"""Judging a plan against the gate's limits: pure, figures in, rule results out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from spotadvisor.gate.policy import GatePolicy, Limits


@dataclass(frozen=True)
class Figures:
    """What the rules look at for one fleet.

    Attributes
    ----------
    monthly_cost
        Expected cost per 730-hour month [USD].
    breach_probability
        Probability that a month misses the SLA [0-1].
    availability
        Mean availability [0-1].
    spot_bands
        (pool name, band label) of every spot pool; unknown bands count as ``>20%``.
    scenarios
        The failure what-ifs simulated for the plan.
    """

    monthly_cost: float
    breach_probability: float
    availability: float
    spot_bands: tuple[tuple[str, str], ...] = ()
    scenarios: tuple[ScenarioFigure, ...] = ()


@dataclass(frozen=True)
class ScenarioFigure:
    """The plan under one (expanded) failure what-if.

    Attributes
    ----------
    source
        The scenario as the policy wrote it (``zone-outage:any``).
    label
        The expanded scenario (``zone-outage:use1-az4``).
    breach_probability
        Probability that the month misses the SLA with the event [0-1].
    budget
        The plan's risk budget [0-1].
    recovery_hours
        Mean time back to the required replicas [h].
    survives
        Breach probability within the budget.
    """

    source: str
    label: str
    breach_probability: float
    budget: float
    recovery_hours: float
    survives: bool


@dataclass(frozen=True)
class RuleResult:
    """One rule applied to the plan.

    Attributes
    ----------
    rule
        Its key, e.g. ``max_increase`` or ``warn_max_increase``.
    level
        ``fail`` (breaks the build) or ``warn`` (never does).
    passed
        Whether the plan is within the limit.
    figure, limit
        The plan's figure and the limit, as displayed.
    message
        One sentence for comments and annotations.
    """

    rule: str
    level: Literal["fail", "warn"]
    passed: bool
    figure: str
    limit: str
    message: str


def evaluate(plan: Figures, baseline: Figures | None, policy: GatePolicy) -> list[RuleResult]:
    """Every rule of the policy applied to the plan, failing rules first, then warnings."""
    return _apply(plan, baseline, policy.fail, "fail", "") + _apply(
        plan, baseline, policy.warn, "warn", "warn_"
    )


def _apply(
    plan: Figures,
    baseline: Figures | None,
    limits: Limits,
    level: Literal["fail", "warn"],
    prefix: str,
) -> list[RuleResult]:
    out: list[RuleResult] = []

    def add(rule: str, passed: bool, figure: str, limit: str, message: str) -> None:
        out.append(RuleResult(prefix + rule, level, passed, figure, limit, message))

    if limits.max_monthly_cost is not None:
        ok = plan.monthly_cost <= limits.max_monthly_cost
        add(
            "max_monthly_cost",
            ok,
            f"${plan.monthly_cost:,.0f}",
            f"${limits.max_monthly_cost:,.0f}",
            f"expected monthly cost ${plan.monthly_cost:,.0f} is {'within' if ok else 'above'} the ${limits.max_monthly_cost:,.0f} limit",
        )
    if limits.max_increase is not None and baseline is not None:
        delta = plan.monthly_cost - baseline.monthly_cost
        pct = 100 * delta / baseline.monthly_cost if baseline.monthly_cost > 0 else float("inf")
        inc = limits.max_increase
        ok = pct <= inc.pct if inc.pct is not None else delta <= (inc.usd or 0.0)
        add(
            "max_increase",
            ok,
            f"{pct:+.1f}% ({_signed(delta)})",
            inc.label(),
            f"monthly cost changes {pct:+.1f}% ({_signed(delta)}), {'within' if ok else 'above'} the {inc.label()} limit",
        )
    if limits.max_breach_probability is not None:
        ok = plan.breach_probability <= limits.max_breach_probability
        add(
            "max_breach_probability",
            ok,
            f"{100 * plan.breach_probability:.1f}%",
            f"{100 * limits.max_breach_probability:g}%",
            f"probability of missing the SLA in a month is {100 * plan.breach_probability:.1f}%, "
            f"{'within' if ok else 'above'} the {100 * limits.max_breach_probability:g}% limit",
        )
    if limits.min_availability is not None:
        ok = plan.availability >= limits.min_availability
        add(
            "min_availability",
            ok,
            f"{100 * plan.availability:.3f}%",
            f"{100 * limits.min_availability:g}%",
            f"mean availability {100 * plan.availability:.3f}% is {'at or above' if ok else 'below'} the {100 * limits.min_availability:g}% minimum",
        )
    for spec in limits.must_survive:
        for s in (s for s in plan.scenarios if s.source == spec.text):
            add(
                "must_survive",
                s.survives,
                f"{100 * s.breach_probability:.1f}% breach",
                f"<= {100 * s.budget:g}%",
                f"{s.label}: the month's SLA {'survives' if s.survives else 'does not survive'} "
                f"(breach probability {100 * s.breach_probability:.1f}%, budget {100 * s.budget:g}%; "
                f"back to the required replicas after {60 * s.recovery_hours:,.0f} min)",
            )
    for band in limits.forbid_band:
        pools = [name for name, label in plan.spot_bands if label == band]
        add(
            "forbid_band",
            not pools,
            f"{len(pools)} pool(s)",
            f"no spot pool in {band}",
            f"spot pools in the forbidden {band} band: {', '.join(pools)}"
            if pools
            else f"no spot pool in the {band} band",
        )
    return out


def _signed(usd: float) -> str:
    return f"+${usd:,.0f}" if usd >= 0 else f"-${-usd:,.0f}"
