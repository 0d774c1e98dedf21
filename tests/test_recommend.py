"""recommend: candidates, pruning, ranking within the risk budget, reproducibility, saved fleets."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import yaml

from spotadvisor.catalog import offers_view
from spotadvisor.config import load_fleet, parse_fleet
from spotadvisor.errors import UsageError
from spotadvisor.fleet import resolve_fleet
from spotadvisor.recommend.candidates import (
    Candidate,
    HostFilter,
    PoolKey,
    group_candidates,
    instances_needed,
)
from spotadvisor.recommend.fleet_yaml import fleet_yaml
from spotadvisor.recommend.rank import frontier, ranking, recommended, within_budget
from spotadvisor.recommend.search import availability_ceiling, search
from spotadvisor.schema import INTERRUPTION_HISTORY
from spotadvisor.sim.results import Estimate, Metrics
from tests.factories import frame, offer

AS_OF = datetime(2025, 6, 28, tzinfo=UTC)


def metrics(cost: float, breach: float, stderr: float = 0.005, cost_se: float = 1.0) -> Metrics:
    e = Estimate(0.0, 0.0)
    return Metrics(
        e, 0.0, Estimate(breach, stderr), Estimate(cost, cost_se), cost, 100.0, e, e, e, e, e, 1000
    )


# -- ranking (pure) -------------------------------------------------------------------


def test_ranking_puts_mixes_within_budget_first_by_cost() -> None:
    ms = [
        metrics(50, 0.10),  # cheapest but over the 5% budget
        metrics(80, 0.01),
        metrics(70, 0.04, stderr=0.01),  # 0.04 + 2 x 0.01 = 0.06 > 0.05: not within, error included
        metrics(90, 0.00),
    ]
    order = ranking(ms, 0.05)
    assert order[:2] == [1, 3]  # within budget, cheapest first
    assert order[2:] == [2, 0]  # the rest by risk
    assert not within_budget(ms[0], 0.05) and not within_budget(ms[2], 0.05)


# Tie-break: costs within 2 combined standard errors (here 2 * sqrt(1 + 1) = 2.83) tie,
# and a tie goes to the lower breach probability.


@pytest.mark.parametrize(
    ("ms", "expected"),
    [
        # $1 apart with $1 errors: a tie, the safer mix first
        ([metrics(100, 0.03), metrics(101, 0.01)], [1, 0]),
        # $10 apart: not a tie, the cheaper first even though riskier
        ([metrics(100, 0.03), metrics(110, 0.01)], [0, 1]),
        # a tie on cost and breach: by index, whatever the input order
        ([metrics(100, 0.02), metrics(100, 0.02)], [0, 1]),
        # within a tie, equal breach: the cheaper first
        ([metrics(101, 0.02), metrics(100, 0.02)], [1, 0]),
        # large errors make a wide tie: $20 apart with $10 errors (2 x 14.1 = 28.3)
        ([metrics(100, 0.04, cost_se=10), metrics(120, 0.0, cost_se=10)], [1, 0]),
        # the mixes over the risk budget follow, by risk, and never join a tie
        (
            [metrics(99, 0.30), metrics(100, 0.03), metrics(101, 0.01), metrics(98, 0.10)],
            [2, 1, 3, 0],
        ),
    ],
    ids=["tie", "apart", "exact-tie", "same-breach", "wide-error", "over-budget-after"],
)
def test_ranking_breaks_cost_ties_by_lower_breach(ms: list[Metrics], expected: list[int]) -> None:
    assert ranking(ms, 0.05) == expected


def test_ranking_is_a_total_order_on_a_non_transitive_chain() -> None:
    """A ~ B and B ~ C on cost, but not A ~ C: groups start at their cheapest mix.

    A pairwise "within error" comparison would say B < A (tie, safer), C < B (tie, safer)
    and A < C (not a tie, cheaper): a cycle that makes the order depend on the input
    order. The grouping gives one answer: {A, B} (B within 2.83 of A) by risk, then C
    (4 above A, it starts the next group).
    """
    a, b, c, d = metrics(100, 0.03), metrics(102, 0.02), metrics(104, 0.01), metrics(106, 0.0)
    assert ranking([a, b, c], 0.05) == [1, 0, 2]  # B, A, C
    assert ranking([a, b, c, d], 0.05) == [1, 0, 3, 2]  # {A, B} then {C, D}
    from itertools import permutations

    for perm in permutations([a, b, c]):
        order = ranking(list(perm), 0.05)
        assert [perm[i].cost_mean.value for i in order] == [102, 100, 104]


def test_recommended_is_the_first_within_both_budgets() -> None:
    ms = [metrics(100, 0.03), metrics(101, 0.01), metrics(90, 0.20)]
    order = ranking(ms, 0.05)
    assert order == [1, 0, 2]
    assert recommended(ms, order, 0.05, None) == 1
    # a --budget (over the horizon) below the tie's safer mix: its cheaper partner keeps to it
    assert recommended(ms, order, 0.05, 100.5) == 0
    assert recommended(ms, order, 0.05, 50.0) is None  # nothing within the risk budget is
    assert recommended([ms[2]], [0], 0.05, None) is None  # over the risk budget


def test_frontier_is_cost_risk_pareto() -> None:
    points = [(50, 0.10), (80, 0.01), (70, 0.04), (90, 0.00), (85, 0.05)]
    assert frontier(points) == [0, 2, 1, 3]


# -- candidates ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gpus", "memory", "spec", "expected"),
    [
        (8, 80, HostFilter(gpus_per_replica=8), 1),
        (1, 80, HostFilter(gpus_per_replica=8), None),  # not eight 1-GPU nodes for one replica
        (8, 80, HostFilter(gpus_per_replica=16), 2),
        (8, 40, HostFilter(gpus_per_replica=None, gpu_memory_gb_per_replica=640), 2),
        (4, 24, HostFilter(gpus_per_replica=2), 1),
    ],
)
def test_instances_needed(
    gpus: float, memory: float, spec: HostFilter, expected: int | None
) -> None:
    assert instances_needed(gpus, memory, spec) == expected


def test_group_candidates_cover_all_spot_shares() -> None:
    zones = [PoolKey("aws", "r", f"z{i}", "p5", "spot") for i in range(3)]
    od = PoolKey("aws", "r", None, "p5", "on-demand")
    cands = group_candidates(zones, od, replicas=3, fallback_hours=0.25)
    assert Candidate(((od, 3),), 0, None, "relaunch-same-pool") in cands  # all on demand
    shares = {c.spot_replicas for c in cands}
    assert shares == {0, 1, 2, 3}
    assert all(c.spot_replicas + c.on_demand_replicas == 3 for c in cands)
    assert {c.overprovision for c in cands} == {0, 1, 2}


# -- search on a tiny market -----------------------------------------------------------

# us-east-1 p5.48xlarge: az1 is cheap but in the worst band, az2 dearer and in the best.
OFFERS = frame(
    [
        offer(zone_id="use1-az1", price_spot_usd_per_hour=8.0),
        offer(zone_id="use1-az2", price_spot_usd_per_hour=20.0),
    ]
)


def bands(label: str, lower: float, upper: float) -> dict[str, object]:
    return {
        "cloud": "aws",
        "region": "us-east-1",
        "instance_type": "p5.48xlarge",
        "os": "Linux",
        "interruption_band": label,
        "interruption_band_lower_pct": lower,
        "interruption_band_upper_pct": upper,
        "savings_pct": 70.0,
        "source": "advisor",
        "as_of": AS_OF,
    }


def tiny_view(az1_band: tuple[str, float, float], az2_band: tuple[str, float, float]) -> object:
    # bands are per region, so give the two zones different instance types' bands via overrides:
    # simplest is two regions, one per band
    rows = frame(
        [
            offer(zone_id="use1-az1", price_spot_usd_per_hour=8.0),
            offer(region="us-west-2", zone_id="usw2-az1", price_spot_usd_per_hour=20.0),
        ]
    )
    history = frame(
        [bands(*az1_band), {**bands(*az2_band), "region": "us-west-2"}],
        INTERRUPTION_HISTORY,
    )
    return offers_view(rows, history)


def workload(replicas: int = 2, **extra: object) -> object:
    doc = {
        "workload": {"replicas": replicas, "gpus_per_replica": 8, "cold_start": "10m"},
        "trials": 600,
    }
    doc.update(extra)
    return parse_fleet(doc, origin="<test>")


def test_a_cheaper_mix_over_the_risk_budget_is_not_recommended() -> None:
    view = tiny_view((">20%", 20.0, 100.0), ("<5%", 0.0, 5.0))
    fleet = workload(risk="independent")
    result = search(fleet, view, HostFilter(), budget_usd=None, seed=3, data_label="test")  # type: ignore[arg-type]
    ms = [e.metrics for e in result.evaluated]
    order = ranking(ms, 0.05)
    best = result.evaluated[order[0]]
    assert within_budget(best.metrics, 0.05)
    cheap_risky = [
        e
        for e in result.evaluated
        if e.metrics.cost_mean.value < best.metrics.cost_mean.value
        and not within_budget(e.metrics, 0.05)
    ]
    assert cheap_risky, "the cheap zone should have been a real contender"
    # with no spare replica the cheap zone breaches far too often, and is not chosen
    bare = next(
        e
        for e in result.evaluated
        if e.candidate.spot_replicas == 2
        and e.candidate.overprovision == 0
        and {k.region for k, _ in e.candidate.pools} == {"us-east-1"}
    )
    assert not within_budget(bare.metrics, 0.05) and best is not bare
    # the all-on-demand baseline is always there, meets the SLA for sure
    assert result.baseline.candidate.spot_replicas == 0
    assert result.baseline.metrics.sla_breach_probability.value == 0.0


def test_pruning_drops_hopeless_and_dominated_mixes() -> None:
    view = tiny_view((">20%", 20.0, 100.0), ("<5%", 0.0, 5.0))
    fleet = workload(replicas=2, sla={"availability": 99.999}, risk="independent")
    result = search(fleet, view, HostFilter(), budget_usd=None, seed=3, data_label="test")  # type: ignore[arg-type]
    stats = result.stats
    assert (
        stats.generated
        == stats.over_budget
        + stats.dominated
        + stats.hopeless
        + stats.short_run
        - (1 if stats.short_run and result.baseline else 0)
        + 1
        or stats.short_run <= stats.generated
    )
    assert stats.hopeless > 0 or stats.dominated > 0
    assert stats.full_run <= stats.short_run


def test_availability_ceiling_is_above_the_simulated_mean() -> None:
    view = tiny_view(("5-10%", 5.0, 10.0), ("5-10%", 5.0, 10.0))
    fleet = workload(replicas=2, risk="independent")
    result = search(fleet, view, HostFilter(), budget_usd=None, seed=1, data_label="test")  # type: ignore[arg-type]
    for e in result.evaluated:
        m = e.metrics.availability_mean
        assert m.value <= availability_ceiling(e.model) + 4 * m.stderr + 1e-9


def test_budget_excluding_everything_is_a_usage_error() -> None:
    view = tiny_view(("5-10%", 5.0, 10.0), ("5-10%", 5.0, 10.0))
    with pytest.raises(UsageError, match="--budget"):
        search(workload(), view, HostFilter(), budget_usd=1.0, seed=1, data_label="test")  # type: ignore[arg-type]


def test_no_host_is_a_usage_error() -> None:
    view = tiny_view(("5-10%", 5.0, 10.0), ("5-10%", 5.0, 10.0))
    with pytest.raises(UsageError, match="no offer can host"):
        search(
            workload(), view, HostFilter(gpu=("L4",)), budget_usd=None, seed=1, data_label="test"
        )  # type: ignore[arg-type]


def test_saved_fleet_resolves_to_the_same_model(tmp_path: object) -> None:
    view = tiny_view(("5-10%", 5.0, 10.0), ("10-15%", 10.0, 15.0))
    fleet = workload(replicas=3)
    result = search(fleet, view, HostFilter(), budget_usd=None, seed=5, data_label="test")  # type: ignore[arg-type]
    chosen = min(result.evaluated, key=lambda e: e.metrics.cost_mean.value)
    text = fleet_yaml(fleet, chosen.candidate, 5)  # type: ignore[arg-type]
    saved = parse_fleet(yaml.safe_load(text), origin="saved.yaml")
    model = resolve_fleet(saved, view, data_label="test").model  # type: ignore[arg-type]
    assert model == chosen.model
    assert load_fleet  # the CLI round trip is in test_recommend_cli.py
