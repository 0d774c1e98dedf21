"""Finalist precision: who the finalists are, how many trials they need, how runs are extended."""

from __future__ import annotations

import math

import numpy as np
import pytest

from spotadvisor.config import Sla
from spotadvisor.recommend.refine import (
    MAX_FINALIST_TRIALS,
    TARGET_BREACH_SE,
    breach_stderr,
    finalists,
    refine,
    separated,
    settled,
    trials_needed,
)
from spotadvisor.sim.model import FleetModel, PoolModel
from spotadvisor.sim.results import Estimate, Metrics, TrialResults, summarize

SLA = Sla(availability=0.999, max_breach_probability=0.05)
CHUNK = 1000


def metrics(p: float, n: int, cost: float = 100.0) -> Metrics:
    """Metrics of n trials with breach probability p and its sample standard error."""
    se = math.sqrt(p * (1 - p) / (n - 1))
    e = Estimate(0.0, 0.0)
    return Metrics(e, 0.0, Estimate(p, se), Estimate(cost, 1.0), cost, 200.0, e, e, e, e, e, n)


@pytest.mark.parametrize(
    ("p", "n", "expected"),
    [
        (0.05, 2000, 8000),  # 0.0475 / 0.0025^2 + 1 = 7,601 -> whole chunks
        (0.02, 2000, 4000),  # 3,137
        (0.5, 2000, 41_000),  # the most any p needs: 40,001
        (0.0, 2000, 1000),  # no breach: the adjusted p = 2 / 2004 still asks for 161
        (0.05, 100_000, 8000),  # already more than enough: the caller keeps its run
    ],
)
def test_trials_needed(p: float, n: int, expected: int) -> None:
    assert trials_needed(metrics(p, n), TARGET_BREACH_SE, CHUNK, MAX_FINALIST_TRIALS) == expected


def test_trials_needed_is_capped() -> None:
    assert trials_needed(metrics(0.5, 2000), 0.001, CHUNK, MAX_FINALIST_TRIALS) == 64_000


def test_no_breach_is_not_an_exact_zero() -> None:
    """0 breaches in 400 trials has a sample error of 0; the adjusted one is 0.35 points."""
    m = metrics(0.0, 400)
    assert m.sla_breach_probability.stderr == 0.0
    assert breach_stderr(m) == pytest.approx(math.sqrt((2 / 404) * (402 / 404) / 400))
    assert separated(m, 0.05)  # 0.05 is 14 adjusted errors away
    assert not separated(m, 0.01) and not settled(m, 0.01)  # a 1% budget is not


@pytest.mark.parametrize(
    ("p", "n", "is_settled"),
    [
        (0.02, 2000, True),  # 0.03 from the budget, 4 s.e. = 0.0125: clearly within
        (0.20, 2000, True),  # clearly over
        (0.045, 2000, False),  # 0.005 from the budget, s.e. 0.0046
        (0.045, 7000, True),  # s.e. 0.0025: precise enough, though close
        (0.06, 2000, False),
    ],
)
def test_settled(p: float, n: int, is_settled: bool) -> None:
    assert settled(metrics(p, n), 0.05) is is_settled


def test_finalists_are_the_top_ranks_and_the_cheaper_mixes_near_the_budget() -> None:
    ms = [
        metrics(0.02, 2000, cost=100),  # 0: recommended
        metrics(0.06, 2000, cost=90),  # 1: cheaper, near the budget: could take its place
        metrics(0.50, 2000, cost=80),  # 2: cheaper, clearly over: cannot
        metrics(0.01, 2000, cost=120),  # 3: dearer
        metrics(0.045, 2000, cost=130),  # 4: dearer, near the budget
    ]
    order = [0, 3, 4, 1, 2]
    assert finalists(ms, order, 0, 0.05, ranks=1) == [0, 1]
    assert finalists(ms, order, 0, 0.05, ranks=3) == [0, 1, 3, 4]
    # nothing recommended (e.g. over --budget): the first in rank order is the reference
    assert finalists(ms, order, None, 0.05, ranks=1) == [0, 1]
    assert finalists([], [], None, 0.05) == []


# -- refine() with a fake engine: trial t of mix i breaches when frac(t * phi + i / 7) < p_i,
# so every trial range is reproducible and a run of a + b trials is the run of a then b.

PHI = (math.sqrt(5) - 1) / 2
POOL = PoolModel("p", "aws", "us-east-1", "use1-az4", "spot", 1, 20.0, 55.04)
BREACH = {1: 0.02, 2: 0.06, 3: 0.045, 4: 0.50}  # by the model's replicas
COST = {1: 100.0, 2: 90.0, 3: 95.0, 4: 80.0}
MODELS = [
    FleetModel(pools=(POOL,), replicas=k, horizon_hours=720.0, cold_start_hours=0.1) for k in BREACH
]


def fake_trials(model: FleetModel, trials: int, first_trial: int) -> TrialResults:
    t = np.arange(first_trial, first_trial + trials, dtype=np.float64)
    breach = np.mod(t * PHI + model.replicas / 7, 1.0) < BREACH[model.replicas]
    availability = np.where(breach, 0.99, 1.0)
    cost = COST[model.replicas] + np.mod(t * PHI, 1.0)  # a little noise: a cost error
    zeros, ones = np.zeros(trials), np.ones(trials)
    return TrialResults(availability, cost, zeros, zeros, ones, zeros, 200.0)


class Engine:
    """Records the calls; checks they start on chunk boundaries."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int, int]] = []

    def __call__(self, models: list[FleetModel], trials: int, first: int) -> list[TrialResults]:
        assert first % CHUNK == 0 and (first + trials) % CHUNK == 0
        self.calls += [(m.replicas, first, trials) for m in models]
        return [fake_trials(m, trials, first) for m in models]


@pytest.mark.parametrize("full", [2000, 400])
def test_refine_extends_the_finalists_to_the_target(full: int) -> None:
    engine = Engine()
    runs = [fake_trials(m, full, 0) for m in MODELS]
    out = refine(MODELS, runs, sla=SLA, budget_usd=None, run=engine)
    assert out.finalists == {0, 1, 2, 3}  # four mixes: all in the top ranks
    for i, m in enumerate(out.metrics):
        assert settled(m, 0.05), i
        # every run is exactly the fake engine's first N trials, N whole chunks when extended
        expected = summarize(fake_trials(MODELS[i], m.trials, 0), SLA.availability)
        assert m == expected
    extended = {k for k, _, _ in engine.calls}
    # the mixes near the budget got more trials; those clearly apart kept their run
    assert out.metrics[1].trials > full and out.metrics[2].trials > full  # p = 6%, 4.5%
    assert out.metrics[3].trials == full  # p = 50%: clearly over
    assert out.metrics[1].sla_breach_probability.stderr <= TARGET_BREACH_SE
    assert out.metrics[2].sla_breach_probability.stderr <= TARGET_BREACH_SE
    # honest accounting: every trial simulated is counted, a partial chunk run again included
    assert out.trials == sum(n for _, _, n in engine.calls)
    assert out.refined == len(extended)
    if full % CHUNK:
        assert all(first == 0 or first >= CHUNK for _, first, _ in engine.calls)
        assert min(first for _, first, _ in engine.calls) == 0  # the 400 are run again
    else:
        assert min(first for _, first, _ in engine.calls) == full  # no trial run twice


def test_refine_keeps_a_long_run() -> None:
    engine = Engine()
    runs = [fake_trials(m, 50_000, 0) for m in MODELS]
    out = refine(MODELS, runs, sla=SLA, budget_usd=None, run=engine)
    assert engine.calls == [] and out.trials == 0 and out.refined == 0
    assert [m.trials for m in out.metrics] == [50_000] * 4


def test_refine_respects_the_cap() -> None:
    engine = Engine()
    runs = [fake_trials(m, 2000, 0) for m in MODELS]
    out = refine(MODELS, runs, sla=SLA, budget_usd=None, run=engine, cap=5000)
    assert max(m.trials for m in out.metrics) == 5000
    assert out.trials == sum(n for _, _, n in engine.calls)
