"""The reference simulation against the closed forms, and sanity checks of its policies.

Statistical comparisons use a fixed seed and a tolerance of 4 Monte Carlo standard errors.
Slots start ready at t = 0, not in the stationary state the closed forms describe; the
horizons are long (2000 h against a 1 h cold start) so that start-up bias is below a
tenth of a standard error.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from spotadvisor.sim import closed_form as cf
from spotadvisor.sim.model import Distribution, FleetModel, Hazard, PoolModel
from spotadvisor.sim.reference import run_reference_trial, simulate_reference
from spotadvisor.sim.results import FloatArray, TrialResults

Z = 4.0  # tolerance in standard errors


def spot_pool(**overrides: Any) -> PoolModel:
    """A spot pool of 4 replicas at 1 USD/h (3 USD/h on demand), no hazard unless told."""
    fields: dict[str, Any] = {
        "name": "pool",
        "cloud": "aws",
        "region": "us-east-1",
        "zone": "use1-az1",
        "market": "spot",
        "count": 4,
        "price_per_hour": 1.0,
        "on_demand_price_per_hour": 3.0,
    }
    fields.update(overrides)
    return PoolModel(**fields)


def fleet(*pools: PoolModel, **overrides: Any) -> FleetModel:
    fields: dict[str, Any] = {
        "pools": pools,
        "replicas": sum(p.count for p in pools),
        "horizon_hours": 100.0,
        "cold_start_hours": 0.1,
    }
    fields.update(overrides)
    return FleetModel(**fields)


def run(model: FleetModel, trials: int, seed: int = 0) -> TrialResults:
    return simulate_reference(model, trials, np.random.default_rng(seed))


def mean_and_stderr(values: FloatArray) -> tuple[float, float]:
    return float(values.mean()), float(values.std(ddof=1) / math.sqrt(values.size))


def ratio_and_stderr(numerator: FloatArray, denominator: FloatArray) -> tuple[float, float]:
    """sum(numerator) / sum(denominator) over trials, with a delta-method error."""
    ratio = numerator.sum() / denominator.sum()
    residual = numerator - ratio * denominator
    stderr = np.sqrt(residual.var(ddof=1) / residual.size) / denominator.mean()
    return float(ratio), float(stderr)


def assert_close(simulated: tuple[float, float], expected: float) -> None:
    value, stderr = simulated
    assert abs(value - expected) < Z * stderr, (
        f"simulated {value:.6g} ± {stderr:.2g}, closed form {expected:.6g}"
    )


# -- k out of n, outages -----------------------------------------------------------------

HAZARD, COLD_START, HORIZON, TRIALS = 0.1, 1.0, 2000.0, 100


def k_of_n_fleet(n: int, k: int, distribution: Distribution) -> FleetModel:
    return fleet(
        spot_pool(count=n, hazard=Hazard.exact(HAZARD)),
        replicas=k,
        horizon_hours=HORIZON,
        cold_start_hours=COLD_START,
        cold_start_distribution=distribution,
    )


@pytest.mark.parametrize("distribution", ["fixed", "exponential"])
@pytest.mark.parametrize(("n", "k"), [(4, 3), (6, 4)])
def test_k_of_n_availability_and_outages(n: int, k: int, distribution: Distribution) -> None:
    results = run(k_of_n_fleet(n, k, distribution), TRIALS, seed=n * 10 + len(distribution))
    a = cf.slot_availability(HAZARD, COLD_START)
    assert_close(mean_and_stderr(results.availability), cf.k_of_n_availability(n, k, a))
    assert_close(
        mean_and_stderr(results.outages / HORIZON),
        cf.outage_rate_per_hour(n, k, HAZARD, COLD_START),
    )
    assert_close(
        ratio_and_stderr(results.outage_hours, results.outages),
        cf.mean_outage_hours(n, k, HAZARD, COLD_START),
    )
    # Outage time and availability are two views of the same thing.
    np.testing.assert_allclose(results.availability, 1.0 - results.outage_hours / HORIZON)


def test_band_hazard_is_drawn_per_trial() -> None:
    # With one slot, no cold start and zero notice cost, interruptions ~ Poisson(lambda T)
    # with lambda drawn per trial from the band: the mean follows the band mean hazard,
    # and the variance exceeds the mean (over-dispersion from the draw).
    pool = spot_pool(count=50, hazard=Hazard.band(0.2, 1.0))
    model = fleet(pool, horizon_hours=730.0, cold_start_hours=0.0)
    results = run(model, 400, seed=3)
    per_slot_month = results.interruptions / 50.0
    expected = cf.band_mean_hazard(0.2, 1.0) * 730.0
    assert_close(mean_and_stderr(per_slot_month), expected)
    assert results.interruptions.var(ddof=1) > 2.0 * results.interruptions.mean()


# -- lost requests -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cloud", "notice_s", "distribution", "duration_s"),
    [
        ("aws", 120.0, "exponential", 20.0),
        ("gcp", 30.0, "exponential", 20.0),
        ("aws", 120.0, "fixed", 20.0),
        ("gcp", 30.0, "fixed", 20.0),
        ("aws", 120.0, "fixed", 200.0),
        ("gcp", 30.0, "fixed", 60.0),
    ],
)
def test_lost_requests_per_preemption(
    cloud: str, notice_s: float, distribution: Distribution, duration_s: float
) -> None:
    pool = spot_pool(cloud=cloud, notice_seconds=notice_s, hazard=Hazard.exact(1.0))
    model = fleet(
        pool,
        horizon_hours=50.0,
        cold_start_hours=0.01,
        request_rate_per_s=10.0,
        request_duration_s=duration_s,
        request_duration_distribution=distribution,
    )
    results = run(model, 20, seed=int(notice_s + duration_s))
    expected = cf.expected_lost_per_preemption(10.0, duration_s, notice_s, distribution)
    assert results.interruptions.sum() > 3000
    if expected == 0.0:
        assert results.lost_requests.sum() == 0.0
    else:
        assert_close(ratio_and_stderr(results.lost_requests, results.interruptions), expected)


# -- cost ------------------------------------------------------------------------------------


def test_all_on_demand_cost_is_exact() -> None:
    # Bulk-reclaim settings on on-demand pools are ignored: they are never preempted.
    a = spot_pool(
        market="on-demand",
        count=3,
        price_per_hour=3.0,
        bulk_reclaims_per_month=50.0,
        bulk_fraction=1.0,
        stockout_hours=5.0,
    )
    b = spot_pool(market="on-demand", count=2, price_per_hour=5.0, on_demand_price_per_hour=5.0)
    model = fleet(a, b, horizon_hours=720.0, zone_correlation=1.0)
    results = run(model, 10)
    expected = cf.on_demand_cost([3, 2], [3.0, 5.0], 720.0)
    assert expected == pytest.approx(720.0 * 19.0)
    np.testing.assert_allclose(results.cost, expected, rtol=1e-12)
    assert results.on_demand_cost == pytest.approx(expected, rel=1e-12)
    assert np.all(results.availability == 1.0)
    assert np.all(results.interruptions == 0.0)
    assert np.all(results.outages == 0.0)


def test_on_demand_baseline_uses_replicas_and_the_count_weighted_price() -> None:
    a = spot_pool(count=3, on_demand_price_per_hour=3.0)
    b = spot_pool(count=1, on_demand_price_per_hour=7.0)
    model = fleet(a, b, replicas=2, overprovision=2, horizon_hours=10.0)
    # 2 replicas x (3*3 + 1*7)/4 USD/h x 10 h; overprovision does not count.
    assert run(model, 2).on_demand_cost == pytest.approx(2 * 4.0 * 10.0)


def test_zero_hazard_means_full_availability_and_spot_cost() -> None:
    model = fleet(
        spot_pool(count=3, hazard=Hazard.band(0.0, 0.0)),
        spot_pool(count=2, price_per_hour=2.0),
        overprovision=1,  # goes to the first spot pool
        horizon_hours=720.0,
    )
    results = run(model, 10)
    assert np.all(results.availability == 1.0)
    assert np.all(results.interruptions == 0.0)
    assert np.all(results.outages == 0.0) and np.all(results.outage_hours == 0.0)
    np.testing.assert_allclose(results.cost, (4 * 1.0 + 2 * 2.0) * 720.0, rtol=1e-12)


def test_notice_period_is_billed_and_cold_start_overlaps_it() -> None:
    # The replacement launches at the notice and is billed from launch, while the
    # preempted one is billed to the end of its notice: each notice adds exactly
    # notice_s of billing (unless it falls within notice_s of the horizon's end).
    notice_s = 120.0
    model = fleet(
        spot_pool(count=4, hazard=Hazard.exact(0.05), price_per_hour=2.0, notice_seconds=notice_s),
        horizon_hours=200.0,
        cold_start_hours=0.5,
        cold_start_distribution="exponential",
    )
    rng = np.random.default_rng(8)
    for _ in range(20):
        trial = run_reference_trial(model, rng)
        base = 4 * 2.0 * 200.0
        extra = trial.cost - base
        assert trial.interruptions > 0
        assert extra <= trial.interruptions * 2.0 * notice_s / 3600.0 + 1e-9
        assert extra >= (trial.interruptions - 4) * 2.0 * notice_s / 3600.0 - 1e-9


def test_price_path_takes_a_circular_window_mean() -> None:
    path = (1.0, 2.0, 4.0, 0.5, 3.0)
    model = fleet(spot_pool(count=1, price_per_hour=10.0, price_path=path), horizon_hours=3.5)
    windows = {
        round(10.0 * (sum(path[(s + i) % 5] for i in range(3)) + 0.5 * path[(s + 3) % 5]), 9)
        for s in range(5)
    }
    results = run(model, 200, seed=4)
    seen = {round(float(c), 9) for c in results.cost}
    assert seen == windows
    # A horizon longer than the path wraps around it: 12 h = two whole cycles + 2 h.
    long_costs = {round(10.0 * (2 * sum(path) + path[s] + path[(s + 1) % 5]), 9) for s in range(5)}
    assert {round(float(c), 9) for c in run(replace(model, horizon_hours=12.0), 100).cost} == (
        long_costs
    )


# -- bulk reclaims, stock-outs and policies ---------------------------------------------------


def test_bulk_strikes_propagate_by_region() -> None:
    # Zero independent hazard; every source event in pool a takes whole pools (f = 1).
    # Pool b (same region) is struck with zone_correlation = 1, pool c (other region)
    # with region_correlation = 0; a has 2 slots, b 3, c 5.
    a = spot_pool(count=2, bulk_reclaims_per_month=730.0, bulk_fraction=1.0)
    b = spot_pool(count=3, zone="use1-az2", bulk_fraction=1.0)
    c = spot_pool(count=5, region="us-west-2", zone="usw2-az1", bulk_fraction=1.0)
    model = fleet(a, b, c, horizon_hours=50.0, cold_start_hours=0.0, zone_correlation=1.0)
    results = run(model, 50)
    # One source event per hour; each takes the 5 replicas of a and b, none of c.
    per_event = results.interruptions / 5.0
    assert np.all(per_event == np.round(per_event))
    assert_close(mean_and_stderr(per_event), 50.0)
    assert np.all(results.availability == 1.0)  # zero cold start, no stock-out


def test_bulk_fraction_of_multi_instance_replicas() -> None:
    # f = 0.5 exactly is not possible (Beta), but the mean share a strike takes of
    # replicas of 2 instances is E[1 - (1 - f)^2] = 2m - E[f^2], with
    # E[f^2] = m (4m + 1) / 5 for Beta(4m, 4(1 - m)).
    m = 0.3
    pool = spot_pool(
        count=10, instances_per_replica=2, bulk_reclaims_per_month=730.0, bulk_fraction=m
    )
    model = fleet(pool, horizon_hours=100.0, cold_start_hours=0.0)
    results = run(model, 60, seed=9)
    expected_share = 2 * m - m * (4 * m + 1) / 5
    per_event_share = results.interruptions / (100.0 * 10)  # ~100 events x 10 replicas
    # Events per trial are Poisson(100); the ratio is per expected event count.
    assert_close(mean_and_stderr(per_event_share), expected_share)


def test_merged_stockouts_match_the_busy_period_of_an_infinite_server_queue() -> None:
    # One slot, no independent hazard, no cold start; strikes at rate nu take it (f = 1)
    # and each starts a stock-out ~ Exp(mean s); strikes during the wait extend it
    # (merge). The wait is the busy period of an M/M/inf queue started by one arrival,
    # mean (e^(nu s) - 1) / nu, and up periods are Exp(nu), so
    # A = (1/nu) / (1/nu + (e^(nu s) - 1)/nu) = e^(-nu s), and notices come at rate
    # nu A. (With a cold start, strikes during it leave stock-outs that lengthen the next
    # wait, and the formula no longer holds.) Cycles are ~3.3 h; 5000 h keeps the
    # start-up bias (the slot starts up) near 0.1 standard error.
    nu, s, horizon = 0.5, 1.0, 5000.0
    pool = spot_pool(
        count=1,
        bulk_reclaims_per_month=nu * 730.0,
        bulk_fraction=1.0,
        stockout_hours=s,
    )
    model = fleet(pool, horizon_hours=horizon, cold_start_hours=0.0)
    results = run(model, 20, seed=12)
    availability = math.exp(-nu * s)
    assert_close(mean_and_stderr(results.availability), availability)
    assert_close(mean_and_stderr(results.interruptions / horizon), nu * availability)


def sample_busy_periods(nu: float, s: float, size: int, rng: np.random.Generator) -> FloatArray:
    """Busy periods of an M/M/inf queue started by one arrival, simulated explicitly."""
    out = np.empty(size)
    for i in range(size):
        end = rng.exponential(s)
        t = rng.exponential(1.0 / nu)
        while t < end:
            end = max(end, t + rng.exponential(s))
            t += rng.exponential(1.0 / nu)
        out[i] = end
    return out


def test_fallback_matches_a_renewal_argument() -> None:
    # As above, with an on-demand fallback after F and zero notice: per cycle the slot
    # serves on spot for Exp(nu), waits the busy period L, and serves on demand from F to
    # L when L > F. With E[L] = (e^(nu s) - 1) / nu and the cycle 1/nu + E[L]:
    # A = 1 - E[min(L, F)] / cycle, and the cost rate is
    # (p_spot / nu + p_od (E[L] - E[min(L, F)])) / cycle; E[min(L, F)] from L sampled
    # directly (bounded by F, so precise).
    nu, s, after, horizon = 0.5, 1.0, 0.25, 5000.0
    lengths = sample_busy_periods(nu, s, 100_000, np.random.default_rng(13))
    mean_length = (math.exp(nu * s) - 1) / nu
    assert lengths.mean() == pytest.approx(mean_length, rel=0.02)
    down = np.minimum(lengths, after).mean()
    cycle = 1.0 / nu + mean_length
    pool = spot_pool(
        count=1,
        bulk_reclaims_per_month=nu * 730.0,
        bulk_fraction=1.0,
        stockout_hours=s,
        notice_seconds=0.0,
    )
    model = fleet(pool, horizon_hours=horizon, cold_start_hours=0.0, fallback_after_hours=after)
    results = run(model, 20, seed=14)
    assert_close(mean_and_stderr(results.availability), 1.0 - down / cycle)
    assert_close(
        mean_and_stderr(results.cost / horizon), (1.0 / nu + 3.0 * (mean_length - down)) / cycle
    )


def stockout_fleet(**overrides: Any) -> FleetModel:
    pool = spot_pool(
        count=4,
        hazard=Hazard.exact(0.02),
        bulk_reclaims_per_month=60.0,
        bulk_fraction=0.5,
        stockout_hours=overrides.pop("stockout_hours", 2.0),
    )
    fields: dict[str, Any] = {"horizon_hours": 720.0, "cold_start_hours": 0.1, "replicas": 3}
    fields.update(overrides)
    return fleet(pool, **fields)


def test_stockouts_lower_availability() -> None:
    without = run(stockout_fleet(stockout_hours=0.0), 100, seed=1)
    with_stockouts = run(stockout_fleet(), 100, seed=1)
    a0, s0 = mean_and_stderr(without.availability)
    a1, s1 = mean_and_stderr(with_stockouts.availability)
    assert a0 - a1 > Z * math.hypot(s0, s1)
    assert with_stockouts.outage_hours.mean() > without.outage_hours.mean()


def test_fallback_raises_availability_and_cost() -> None:
    plain = run(stockout_fleet(), 100, seed=2)
    fallback = run(stockout_fleet(fallback_after_hours=0.05), 100, seed=2)
    a0, s0 = mean_and_stderr(plain.availability)
    a1, s1 = mean_and_stderr(fallback.availability)
    assert a1 - a0 > Z * math.hypot(s0, s1)
    c0, e0 = mean_and_stderr(plain.cost)
    c1, e1 = mean_and_stderr(fallback.cost)
    assert c1 - c0 > Z * math.hypot(e0, e1)


def test_fallback_after_zero_serves_through_a_long_stockout() -> None:
    # Stock-outs of ~1000 h and an immediate on-demand fallback with a tiny cold start:
    # every reclaimed slot is covered on demand almost at once.
    model = stockout_fleet(stockout_hours=1000.0, fallback_after_hours=0.0, cold_start_hours=1e-6)
    results = run(model, 20, seed=3)
    assert np.all(results.availability > 0.9999)
    assert results.cost.mean() > 4 * 720.0 * 1.5  # much of it billed at 3 USD/h


def test_on_demand_policy_moves_slots_off_spot_for_good() -> None:
    model = fleet(
        spot_pool(count=4, hazard=Hazard.exact(1.0)),
        horizon_hours=100.0,
        on_preemption="on-demand",
    )
    rng = np.random.default_rng(0)
    trial = run_reference_trial(model, rng)
    assert trial.interruptions == 4  # each slot is preempted once, then never again
    assert trial.spot_slots_per_pool == (0,)
    assert trial.cost > 4 * 100.0 * 2.5  # almost all of it at the on-demand 3 USD/h


def test_next_pool_moves_replicas_to_the_safe_pool() -> None:
    risky = spot_pool(count=2, hazard=Hazard.exact(1.0))
    safe = spot_pool(count=2, zone="use1-az2", price_per_hour=1.5)
    model = fleet(risky, safe, horizon_hours=100.0, on_preemption="next-pool")
    rng = np.random.default_rng(1)
    for _ in range(10):
        trial = run_reference_trial(model, rng)
        assert trial.spot_slots_per_pool == (0, 4)
        assert trial.interruptions == 2
    same = run_reference_trial(replace(model, on_preemption="relaunch-same-pool"), rng)
    assert same.spot_slots_per_pool == (2, 2)
    assert same.interruptions > 100


def test_next_pool_cycles_over_spot_pools_only() -> None:
    # a -> c -> d -> a ..., skipping the on-demand pool b; d is safe, so all end in d.
    a = spot_pool(count=2, hazard=Hazard.exact(1.0))
    b = spot_pool(count=1, market="on-demand")
    c = spot_pool(count=2, hazard=Hazard.exact(1.0))
    d = spot_pool(count=0)
    model = fleet(a, b, c, d, horizon_hours=200.0, on_preemption="next-pool", overprovision=3)
    trial = run_reference_trial(model, np.random.default_rng(2))
    # 4 + 3 overprovision spot slots (round-robin a, c, d) end in d; b stays on demand.
    assert trial.spot_slots_per_pool == (0, 0, 0, 7)
    assert trial.availability == pytest.approx(1.0, abs=0.05)


def test_replicas_above_the_fleet_is_one_long_outage() -> None:
    model = fleet(spot_pool(count=2), replicas=3, horizon_hours=10.0)
    results = run(model, 3)
    assert np.all(results.availability == 0.0)
    assert np.all(results.outages == 1.0)
    assert np.all(results.outage_hours == 10.0)


def test_same_seed_same_results() -> None:
    model = stockout_fleet(fallback_after_hours=0.5, request_rate_per_s=1.0, request_duration_s=60)
    first, second = run(model, 20, seed=7), run(model, 20, seed=7)
    np.testing.assert_array_equal(first.cost, second.cost)
    np.testing.assert_array_equal(first.lost_requests, second.lost_requests)


def test_invalid_models_are_refused() -> None:
    on_demand = spot_pool(market="on-demand")
    with pytest.raises(ValueError, match="overprovision"):
        run(fleet(on_demand, overprovision=1), 1)
    with pytest.raises(ValueError, match="next-pool"):
        run(fleet(on_demand, on_preemption="next-pool"), 1)
    with pytest.raises(ValueError, match="horizon"):
        run(fleet(spot_pool(), horizon_hours=0.0), 1)
    with pytest.raises(ValueError, match="trials"):
        run(fleet(spot_pool()), 0)
