"""Finalist precision: more trials for the mixes that decide the answer.

The full evaluation gives every mix ``trials`` trials (default 2,000, which leaves a
breach probability with up to 1.1 points of standard error). That is enough to rank
most mixes, not to settle the few that decide the answer. The **finalists** are:

- the recommended mix (when none is, the first in rank order);
- the first :data:`FINALIST_RANKS` mixes in rank order (the rows the table shows by
  default), whatever ``--limit`` says, so a row's figures do not depend on how many
  rows are printed;
- every mix cheaper than the recommended one whose breach probability is not clearly
  apart from the risk budget (:func:`separated`): more trials could bring it within the
  budget and make it the recommendation.

A finalist gets more trials until the standard error of its breach probability is at
most :data:`TARGET_BREACH_SE` (0.25 points), unless it is clearly apart from the budget
(at least :data:`SEPARATION_SE` standard errors away, so more trials cannot change
whether it is within it), up to :data:`MAX_FINALIST_TRIALS`. The trials needed are
estimated as ``p (1 - p) / se**2`` and rounded up to whole engine chunks; runs are
extended with ``first_trial`` (a partial last chunk, when ``--trials`` is not a
multiple of the chunk, is run again in full), so a finalist's N trials are exactly what
``simulate`` gives for N trials with the same seed. After each round the mixes are
ranked again and the finalists chosen again, until every finalist is settled.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from spotadvisor.config import Sla
from spotadvisor.recommend.rank import ranking, recommended
from spotadvisor.sim.engine import CHUNK_TRIALS
from spotadvisor.sim.model import FleetModel
from spotadvisor.sim.results import Metrics, TrialResults, summarize

TARGET_BREACH_SE = 0.0025  # 0.25 percentage points, one standard error
SEPARATION_SE = 4.0  # this many standard errors from the budget: more trials cannot flip it
MAX_FINALIST_TRIALS = 64_000  # trials a finalist gets at most (p(1-p) / se^2 <= 40,000)
FINALIST_RANKS = 10  # the table's default --limit
MAX_ROUNDS = 6  # rank, extend, rank again: each round settles most of what is left

# (models, trials, first_trial) -> one TrialResults per model
Runner = Callable[[list[FleetModel], int, int], list[TrialResults]]


@dataclass(frozen=True)
class Refined:
    """The outcome of refining the finalists.

    Attributes
    ----------
    metrics
        Every mix's metrics, finalists' over their extended runs.
    finalists
        Indices of the mixes that were finalists in any round.
    refined
        How many finalists got more trials.
    trials
        Trials simulated to refine them (a partial chunk run again included).
    """

    metrics: tuple[Metrics, ...]
    finalists: frozenset[int]
    refined: int
    trials: int


def breach_stderr(m: Metrics) -> float:
    """Standard error of the breach probability, never below the adjusted one [0-1].

    With no breach (or only breaches) in n trials the sample standard error is 0, which
    would call 0 of 400 "exact". The adjusted estimate ``(k + 2) / (n + 4)``
    (Agresti-Coull) gives such a mix an honest error, ``sqrt(p~ (1 - p~) / n)``.
    """
    n = m.trials
    p, se = m.sla_breach_probability.value, m.sla_breach_probability.stderr
    adjusted = (p * n + 2) / (n + 4)
    floor = math.sqrt(adjusted * (1 - adjusted) / n)
    return max(se, floor) if math.isfinite(se) else math.inf  # one trial: no error estimate


def separated(m: Metrics, max_breach_probability: float) -> bool:
    """True when the breach probability is :data:`SEPARATION_SE` errors or more from the budget."""
    p = m.sla_breach_probability.value
    return abs(p - max_breach_probability) >= SEPARATION_SE * breach_stderr(m)


def settled(m: Metrics, max_breach_probability: float, target: float = TARGET_BREACH_SE) -> bool:
    """True when more trials are not needed: error at most ``target``, or clearly apart."""
    return breach_stderr(m) <= target or separated(m, max_breach_probability)


def trials_needed(m: Metrics, target: float, chunk: int, cap: int) -> int:
    """Trials for a breach-probability error of ``target`` at the current estimate.

    ``p (1 - p) / target**2`` (with the adjusted ``p`` of :func:`breach_stderr` when it
    is larger, and one more trial for the sample error's ``n - 1``), rounded up to
    whole chunks of ``chunk`` trials and at most ``cap``.
    """
    n, p = m.trials, m.sla_breach_probability.value
    adjusted = (p * n + 2) / (n + 4)
    variance = max(p * (1 - p), adjusted * (1 - adjusted))
    need = variance / target**2 + 1
    return min(cap, math.ceil(need / chunk) * chunk)


def finalists(
    metrics: Sequence[Metrics],
    order: Sequence[int],
    chosen: int | None,
    max_breach_probability: float,
    ranks: int = FINALIST_RANKS,
) -> list[int]:
    """Indices of the finalists (see the module docstring), ascending.

    Parameters
    ----------
    metrics, order
        Every mix's metrics and the rank order.
    chosen
        The recommended mix, or None.
    max_breach_probability
        The risk budget [0-1].
    ranks
        How many mixes from the top of the order are finalists.
    """
    if not order:
        return []
    head = order[0] if chosen is None else chosen
    out = set(order[:ranks]) | {head}
    cost = metrics[head].cost_mean.value
    out |= {
        i
        for i, m in enumerate(metrics)
        if m.cost_mean.value < cost and not separated(m, max_breach_probability)
    }
    return sorted(out)


def refine(
    models: Sequence[FleetModel],
    results: Sequence[TrialResults],
    *,
    sla: Sla,
    budget_usd: float | None,
    run: Runner,
    target: float = TARGET_BREACH_SE,
    cap: int = MAX_FINALIST_TRIALS,
    chunk: int = CHUNK_TRIALS,
) -> Refined:
    """Give the finalists enough trials (see the module docstring).

    Parameters
    ----------
    models, results
        Every fully evaluated mix and its trials so far (all from the same seed).
    sla
        Availability target and risk budget.
    budget_usd
        Highest expected cost over the horizon [USD] (``--budget``); None: no limit.
    run
        Simulates ``trials`` trials of each model from trial ``first_trial``.
    target
        Breach-probability standard error to reach [0-1].
    cap
        Most trials a finalist gets.
    chunk
        The engine's chunk: runs are extended in whole chunks from a chunk boundary.
    """
    runs = list(results)
    metrics = [summarize(r, sla.availability) for r in runs]
    budget = sla.max_breach_probability
    seen: set[int] = set()
    extended: set[int] = set()
    simulated = 0
    for _ in range(MAX_ROUNDS):
        order = ranking(metrics, budget)
        chosen = recommended(metrics, order, budget, budget_usd)
        current = finalists(metrics, order, chosen, budget)
        seen.update(current)
        groups: dict[tuple[int, int], list[int]] = {}
        for i in current:
            if settled(metrics[i], budget, target):
                continue
            want = trials_needed(metrics[i], target, chunk, cap)
            if want > metrics[i].trials:
                start = runs[i].trials // chunk * chunk  # a partial chunk is run again in full
                groups.setdefault((start, want), []).append(i)
        if not groups:
            break
        for (start, want), members in sorted(groups.items()):
            parts = run([models[i] for i in members], want - start, start)
            simulated += (want - start) * len(members)
            for i, part in zip(members, parts, strict=True):
                runs[i] = TrialResults.concat([_head(runs[i], start), part]) if start else part
                metrics[i] = summarize(runs[i], sla.availability)
                extended.add(i)
    return Refined(tuple(metrics), frozenset(seen), len(extended), simulated)


def _head(results: TrialResults, n: int) -> TrialResults:
    """The first ``n`` trials of ``results``."""
    if n >= results.trials:
        return results
    cut: dict[str, Any] = {
        f.name: value[:n]
        for f in dataclasses.fields(results)
        if isinstance(value := getattr(results, f.name), np.ndarray)
    }
    return dataclasses.replace(results, **cut)
