"""Pure ranking decisions: which mixes meet the risk budget, in what order, and the frontier."""

from __future__ import annotations

from collections.abc import Sequence

from spotadvisor.sim.results import Metrics

CONFIDENCE_SE = 2.0  # a mix is within budget when breach + 2 standard errors is


def within_budget(metrics: Metrics, max_breach_probability: float) -> bool:
    """True when the breach probability is within budget, Monte Carlo error included.

    Uses the upper end ``p + 2 se``: a mix is not recommended on luck.
    """
    p = metrics.sla_breach_probability
    return p.value + CONFIDENCE_SE * p.stderr <= max_breach_probability


def ranking(metrics: Sequence[Metrics], max_breach_probability: float) -> list[int]:
    """Indices in rank order: mixes within budget by expected cost, then the rest by risk.

    Ties in cost are broken by lower breach probability, then by index (stable).
    """
    ok = [i for i, m in enumerate(metrics) if within_budget(m, max_breach_probability)]
    ok.sort(key=lambda i: (metrics[i].cost_mean.value, metrics[i].sla_breach_probability.value, i))
    rest = [i for i in range(len(metrics)) if i not in set(ok)]
    rest.sort(
        key=lambda i: (metrics[i].sla_breach_probability.value, metrics[i].cost_mean.value, i)
    )
    return ok + rest


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
