"""The vectorised engine against closed forms (within 4 Monte Carlo standard errors),
exact properties, and the per-event reference simulation for what has no closed form."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spotadvisor.sim import closed_form as cf
from spotadvisor.sim.engine import simulate
from spotadvisor.sim.model import FleetModel, Hazard, PoolModel
from spotadvisor.sim.reference import simulate_reference
from spotadvisor.sim.results import TrialResults, summarize

Z = 4.0  # tolerance in standard errors


def spot_pool(count: int, rate: float | None = 1 / 50, **kw: object) -> PoolModel:
    fields: dict[str, object] = {
        "name": "spot",
        "cloud": "aws",
        "region": "us-east-1",
        "zone": "use1-az1",
        "market": "spot",
        "count": count,
        "price_per_hour": 10.0,
        "on_demand_price_per_hour": 30.0,
        "hazard": Hazard.exact(rate) if rate is not None else Hazard(),
    }
    fields.update(kw)
    return PoolModel(**fields)  # type: ignore[arg-type]


def od_pool(count: int, **kw: object) -> PoolModel:
    fields: dict[str, object] = {
        "name": "od",
        "cloud": "aws",
        "region": "us-east-1",
        "zone": None,
        "market": "on-demand",
        "count": count,
        "price_per_hour": 30.0,
        "on_demand_price_per_hour": 30.0,
    }
    fields.update(kw)
    return PoolModel(**fields)  # type: ignore[arg-type]


def fleet(*pools: PoolModel, replicas: int, **kw: object) -> FleetModel:
    fields: dict[str, object] = {
        "pools": pools,
        "replicas": replicas,
        "horizon_hours": 2880.0,
        "cold_start_hours": 2.0,
    }
    fields.update(kw)
    return FleetModel(**fields)  # type: ignore[arg-type]


def run(model: FleetModel, trials: int = 3000, seed: int = 1) -> TrialResults:
    return simulate(model, trials, np.random.default_rng(seed))


def close(value: float, stderr: float, expected: float) -> bool:
    return abs(value - expected) <= Z * stderr


# -- closed forms --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "k", "distribution"),
    [
        (4, 3, "fixed"),  # fixed replacement time
        (4, 3, "exponential"),  # random replacement time: same long-run availability
        (6, 4, "fixed"),
        (6, 4, "exponential"),
    ],
)
def test_k_of_n_availability_outages_and_outage_length(n: int, k: int, distribution: str) -> None:
    lam, down = 1 / 50, 2.0
    model = fleet(spot_pool(n, lam), replicas=k, cold_start_distribution=distribution)
    m = summarize(run(model), 0.999)
    a = cf.slot_availability(lam, down)
    assert close(
        m.availability_mean.value, m.availability_mean.stderr, cf.k_of_n_availability(n, k, a)
    )
    outages = cf.outage_rate_per_hour(n, k, lam, down) * model.horizon_hours
    assert close(m.outages_mean.value, m.outages_mean.stderr, outages)
    minutes = 60 * cf.mean_outage_hours(n, k, lam, down)
    assert close(m.mean_outage_minutes.value, m.mean_outage_minutes.stderr, minutes)


@pytest.mark.parametrize(
    ("distribution", "cloud", "notice"),
    [
        ("exponential", "aws", 120.0),
        ("fixed", "aws", 120.0),  # 20 s requests never outlive a 120 s notice: nothing lost
        ("exponential", "gcp", 30.0),
        ("fixed", "gcp", 30.0),
    ],
)
def test_requests_lost_per_preemption(distribution: str, cloud: str, notice: float) -> None:
    model = fleet(
        spot_pool(4, 1 / 20, cloud=cloud, notice_seconds=notice),
        replicas=3,
        request_rate_per_s=2.0,
        request_duration_s=45.0 if distribution == "fixed" else 20.0,
        request_duration_distribution=distribution,
    )
    r = run(model, trials=2000)
    per_notice = cf.expected_lost_per_preemption(
        2.0, model.request_duration_s, notice, distribution
    )  # type: ignore[arg-type]
    expected = per_notice * r.interruptions  # conditional on the notices each trial saw
    diff = r.lost_requests - expected
    assert abs(diff.mean()) <= Z * diff.std(ddof=1) / np.sqrt(diff.size) + 1e-12


def test_band_hazard_is_drawn_within_the_band() -> None:
    # no cold start, one slot: interruptions per trial = horizon x E[lambda]
    model = fleet(
        spot_pool(1, None, hazard=Hazard.band(0.05, 0.10)), replicas=1, cold_start_hours=0.0
    )
    m = summarize(run(model, trials=4000), 0.999)
    expected = model.horizon_hours * cf.band_mean_hazard(0.05, 0.10)
    assert close(m.interruptions_mean.value, m.interruptions_mean.stderr, expected)


def test_all_on_demand_fleet_costs_exactly_its_price() -> None:
    model = fleet(
        od_pool(3), od_pool(2, price_per_hour=20.0, on_demand_price_per_hour=20.0), replicas=4
    )
    r = run(model, trials=50)
    exact = cf.on_demand_cost([3, 2], [30.0, 20.0], model.horizon_hours)
    assert np.all(r.cost == pytest.approx(exact))
    assert np.all(r.availability == 1.0) and r.interruptions.sum() == 0
    assert r.on_demand_cost == pytest.approx(4 * (3 * 30 + 2 * 20) / 5 * model.horizon_hours)


def test_spot_cost_is_price_times_billed_hours() -> None:
    # one slot, hazard 0: billed the whole horizon at the spot price
    r = run(fleet(spot_pool(2, 0.0), replicas=2), trials=10)
    assert np.all(r.cost == pytest.approx(2 * 10.0 * 2880.0))


# -- exact properties ----------------------------------------------------------------

EXAMPLE = fleet(
    spot_pool(
        3,
        None,
        hazard=Hazard.band(0.10, 0.20),
        bulk_reclaims_per_month=2.0,
        bulk_fraction=0.6,
        stockout_hours=0.5,
    ),
    spot_pool(
        2,
        None,
        zone="use1-az2",
        hazard=Hazard.band(0.2, 1.0),
        bulk_reclaims_per_month=1.0,
        bulk_fraction=0.5,
        stockout_hours=1.0,
    ),
    od_pool(1),
    replicas=4,
    horizon_hours=720.0,
    cold_start_hours=0.25,
    zone_correlation=0.4,
    fallback_after_hours=0.25,
    request_rate_per_s=1.0,
    request_duration_s=20.0,
)

SETTINGS = settings(max_examples=15, deadline=None)


@SETTINGS
@given(st.integers(0, 2**31))
def test_a_seed_reproduces_a_result_bit_for_bit(seed: int) -> None:
    a, b = run(EXAMPLE, 300, seed), run(EXAMPLE, 300, seed)
    for field in dataclasses.fields(TrialResults):
        assert np.array_equal(getattr(a, field.name), getattr(b, field.name))


@SETTINGS
@given(st.integers(0, 2**31), st.floats(1.01, 5.0))
def test_a_higher_spot_price_never_lowers_cost(seed: int, factor: float) -> None:
    pools = tuple(
        dataclasses.replace(p, price_per_hour=p.price_per_hour * factor)
        if p.market == "spot"
        else p
        for p in EXAMPLE.pools
    )
    cheap, dear = run(EXAMPLE, 200, seed), run(dataclasses.replace(EXAMPLE, pools=pools), 200, seed)
    assert np.all(dear.cost >= cheap.cost)
    assert np.array_equal(dear.availability, cheap.availability)  # price does not touch risk


@SETTINGS
@given(st.integers(0, 2**31), st.integers(1, 3))
def test_more_on_demand_replicas_never_lower_availability(seed: int, extra: int) -> None:
    pools = (*EXAMPLE.pools[:2], od_pool(1 + extra))
    base, more = run(EXAMPLE, 200, seed), run(dataclasses.replace(EXAMPLE, pools=pools), 200, seed)
    assert np.all(more.availability >= base.availability)


@SETTINGS
@given(st.integers(0, 2**31))
def test_needing_fewer_replicas_never_lowers_availability(seed: int) -> None:
    base = run(EXAMPLE, 200, seed)
    fewer = run(dataclasses.replace(EXAMPLE, replicas=EXAMPLE.replicas - 1), 200, seed)
    assert np.all(fewer.availability >= base.availability)
    assert (
        np.all(fewer.outages <= base.outages + 1e-12)
        or fewer.outage_hours.sum() <= base.outage_hours.sum()
    )


@SETTINGS
@given(st.integers(0, 2**31))
def test_zero_hazard_gives_full_availability(seed: int) -> None:
    model = fleet(spot_pool(4, 0.0), od_pool(1), replicas=5, horizon_hours=720.0)
    r = run(model, 100, seed)
    assert np.all(r.availability == 1.0)
    assert r.interruptions.sum() == 0 and r.outages.sum() == 0 and r.lost_requests.sum() == 0


def test_more_spot_replicas_raise_availability() -> None:
    base = summarize(run(fleet(spot_pool(4), replicas=3)), 0.999)
    more = summarize(run(fleet(spot_pool(5), replicas=3)), 0.999)
    assert more.availability_mean.value > base.availability_mean.value


# -- against the per-event reference (features without a closed form) ---------------


@pytest.mark.parametrize(
    "policy",
    [
        {"on_preemption": "relaunch-same-pool"},
        {"on_preemption": "next-pool", "overprovision": 1},
        {"on_preemption": "on-demand"},
        {"on_preemption": "relaunch-same-pool", "fallback_after_hours": None},
    ],
)
def test_engine_agrees_with_the_event_loop(policy: dict[str, object]) -> None:
    other_region = dataclasses.replace(
        EXAMPLE.pools[1], region="us-west-2", zone="usw2-az1", hazard=Hazard.exact(1 / 100)
    )
    model = dataclasses.replace(
        EXAMPLE,
        pools=(EXAMPLE.pools[0], EXAMPLE.pools[1], other_region, EXAMPLE.pools[2]),
        replicas=5,
        region_correlation=0.2,
        **policy,
    )
    fast = run(model, 4000, seed=11)
    slow = simulate_reference(model, 1500, np.random.default_rng(12))
    for name in (
        "availability",
        "cost",
        "interruptions",
        "outages",
        "outage_hours",
        "lost_requests",
    ):
        x, y = getattr(fast, name), getattr(slow, name)
        se = np.sqrt(x.var(ddof=1) / x.size + y.var(ddof=1) / y.size)
        assert abs(x.mean() - y.mean()) <= Z * se + 1e-9, (
            f"{name}: {x.mean()} vs {y.mean()} (se {se})"
        )
    assert fast.on_demand_cost == pytest.approx(slow.on_demand_cost)
