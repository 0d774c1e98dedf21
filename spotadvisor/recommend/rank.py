"""Pure ranking decisions: which mixes meet the risk budget, in what order, and the frontier."""

from __future__ import annotations

import math
from collections.abc import Sequence

from spotadvisor.sim.results import Metrics

CONFIDENCE_SE = 2.0  # a mix is within budget when breach + 2 standard errors is
TIE_SE = 2.0  # expected costs closer than 2 combined standard errors are a tie


def within_budget(metrics: Metrics, max_breach_probability: float) -> bool:
    """True when the breach probability is within budget, Monte Carlo error included.

    Uses the upper end ``p + 2 se``: a mix is not recommended on luck.
    """
    p = metrics.sla_breach_probability
    return p.value + CONFIDENCE_SE * p.stderr <= max_breach_probability


def ranking(
    metrics: Sequence[Metrics], max_breach_probability: float, *, tie_se: float = TIE_SE
) -> list[int]:
    """Indices in rank order: mixes within budget by expected cost, then the rest by risk.

    Expected costs within Monte Carlo error of each other are a tie, and a tie goes to
    the lower breach probability. "Within error" between two mixes is not transitive
    (A ~ B and B ~ C while A and C differ), so ties are settled by a total order:

    1. mixes within budget, sorted by expected cost (then breach probability, then
       index);
    2. cut into consecutive groups: a group starts at its cheapest mix and takes every
       following mix whose cost is at most ``tie_se`` combined standard errors
       (``sqrt(se_a**2 + se_b**2)``) above that first one; the next mix starts a group;
    3. within a group: lower breach probability first, then lower cost, then index.

    The rest (over the risk budget) follow by breach probability, then cost, then index.

    Parameters
    ----------
    metrics
        One per mix; costs [USD], breach probabilities [0-1] with standard errors.
    max_breach_probability
        The risk budget [0-1].
    tie_se
        Combined standard errors of cost within which two mixes tie.
    """
    ok = [i for i, m in enumerate(metrics) if within_budget(m, max_breach_probability)]
    ok.sort(key=lambda i: (metrics[i].cost_mean.value, metrics[i].sla_breach_probability.value, i))
    ordered: list[int] = []
    group: list[int] = []
    for i in ok:
        if group and not _ties(metrics[group[0]], metrics[i], tie_se):
            ordered += _by_risk(metrics, group)
            group = []
        group.append(i)
    ordered += _by_risk(metrics, group)
    within = set(ok)
    rest = _by_risk(metrics, [i for i in range(len(metrics)) if i not in within])
    return ordered + rest


def _ties(first: Metrics, other: Metrics, tie_se: float) -> bool:
    """True when ``other`` costs no more than ``tie_se`` combined errors above ``first``."""
    a, b = first.cost_mean, other.cost_mean
    return b.value - a.value <= tie_se * math.hypot(_finite(a.stderr), _finite(b.stderr))


def _finite(stderr: float) -> float:
    return stderr if math.isfinite(stderr) else 0.0  # one trial: no error estimate


def _by_risk(metrics: Sequence[Metrics], indices: list[int]) -> list[int]:
    return sorted(
        indices,
        key=lambda i: (metrics[i].sla_breach_probability.value, metrics[i].cost_mean.value, i),
    )


def recommended(
    metrics: Sequence[Metrics],
    order: Sequence[int],
    max_breach_probability: float,
    budget_usd: float | None,
) -> int | None:
    """The first mix in ``order`` within the risk budget whose expected cost keeps to the budget.

    Parameters
    ----------
    metrics, order
        Metrics of every mix and :func:`ranking`'s order.
    max_breach_probability
        The risk budget [0-1].
    budget_usd
        Highest expected cost over the horizon [USD]; None: no limit.
    """
    for i in order:
        if not within_budget(metrics[i], max_breach_probability):
            return None  # the ranking puts every mix within the risk budget first
        if budget_usd is None or metrics[i].cost_mean.value <= budget_usd:
            return i
    return None


def frontier(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the cost-risk Pareto frontier, cheapest first.

    A point (cost, risk) is on the frontier when no other point is at least as good in
    both and better in one.
    """
    order = sorted(range(len(points)), key=lambda i: (points[i][0], points[i][1], i))
    out: list[int] = []
    best_risk = float("inf")
    for i in order:
        if points[i][1] < best_risk:
            out.append(i)
            best_risk = points[i][1]
    return out
