"""Time-varying load: hand-computed costs and availabilities, and the oracle."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from spotadvisor.sim.engine import simulate
from spotadvisor.sim.load import Demand, LoadModel, demand_step, peak_replicas
from spotadvisor.sim.model import FleetModel, Hazard, PoolModel
from spotadvisor.sim.reference import simulate_reference

H = 720.0
SPOT, OD = 10.0, 40.0


def spot_pool(count: int, zone: str = "z1", **risk: float) -> PoolModel:
    return PoolModel(
        f"aws r1 {zone} p spot", "aws", "r1", zone, "spot", count, SPOT, OD,
        hazard=Hazard.exact(0.0), **risk,
    )  # fmt: skip


def daily(profile: list[int], days: int = 30) -> Demand:
    hours = 24 * days
    return Demand(
        tuple(float(h) for h in range(hours)), tuple(profile[h % 24] for h in range(hours))
    )


STEP = [2] * 12 + [5] * 12  # 2 replicas at night, 5 by day


def step_fleet(**load: float) -> FleetModel:
    return FleetModel(
        (spot_pool(2),),
        replicas=5,
        horizon_hours=H,
        cold_start_hours=load.pop("cold_start", 0.0),
        load=LoadModel(daily(STEP), peak_price_per_hour=OD, **load),  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("simulator", [simulate, simulate_reference])
def test_step_profile_without_preemptions_costs_exactly_the_on_demand_peaks(simulator) -> None:  # type: ignore[no-untyped-def]
    results = simulator(step_fleet(), 20, np.random.default_rng(1))
    # 2 spot replicas all month, 3 on-demand peak replicas 12 h a day for 30 days
    assert results.cost == pytest.approx(np.full(20, 2 * SPOT * H + 3 * OD * 12 * 30), abs=1e-6)
    assert np.all(results.availability == 1.0) and np.all(results.outages == 0)
    assert results.on_demand_cost == pytest.approx(OD * (2 * 12 + 5 * 12) * 30)


def test_delay_cold_start_and_cooldown_cost_and_availability_by_hand() -> None:
    delay, cold, cooldown = 0.05, 0.2, 0.25
    model = step_fleet(scale_up_delay_hours=delay, cold_start=cold, cooldown_hours=cooldown)
    results = simulate(model, 10, np.random.default_rng(1))
    # every day at noon 3 peaks are launched 'delay' after the rise, serve 'cold' later and
    # stop 'cooldown' after midnight; the last cooldown runs past the horizon
    billed = 3 * OD * (30 * (12 - delay + cooldown) - cooldown)
    assert results.cost == pytest.approx(np.full(10, 2 * SPOT * H + billed))
    outage = 30 * (delay + cold)
    assert results.availability == pytest.approx(np.full(10, 1 - outage / H))
    assert np.all(results.outages == 30)


def test_prewarm_launches_ahead_of_a_known_rise() -> None:
    model = step_fleet(scale_up_delay_hours=0.05, prewarm_hours=0.5, cold_start=0.2)
    results = simulate(model, 5, np.random.default_rng(1))
    assert np.all(results.availability == 1.0)


def test_critical_share_needs_on_demand_even_when_spot_would_do() -> None:
    # 6 spot replicas cover the peak of 5, but 20% of 5 is 1 on-demand replica by day
    model = dataclasses.replace(step_fleet(critical_share=0.2), pools=(spot_pool(6),), replicas=5)
    results = simulate(model, 5, np.random.default_rng(1))
    assert results.cost == pytest.approx(np.full(5, 6 * SPOT * H + 1 * OD * (12 * 30 + 12 * 30)))


def test_peak_replicas_merge_within_the_cooldown_and_skip_spikes_shorter_than_the_delay() -> None:
    demand = demand_step(Demand((0.0, 1.0, 2.0, 2.5, 3.0, 5.0, 5.05), (0, 1, 0, 1, 0, 1, 0)), 10.0)
    needed = demand.values.copy()
    peaks = peak_replicas(demand, needed, delay=0.1, cooldown=0.6, cold_start=0.2)
    # [1, 2) and [2.5, 3) merge (gap 0.5 <= 0.6); [5, 5.05) is shorter than the delay
    assert peaks.launch.tolist() == pytest.approx([1.1])
    assert peaks.stop.tolist() == pytest.approx([3.6])


def test_engine_matches_the_reference_with_load_and_random_preemptions() -> None:
    risk = {"bulk_reclaims_per_month": 3.0, "bulk_fraction": 0.5, "stockout_hours": 0.5}
    pools = (
        dataclasses.replace(spot_pool(2, **risk), hazard=Hazard.band(0.2, 1.0)),
        dataclasses.replace(spot_pool(1, "z2", **risk), hazard=Hazard.band(0.2, 1.0)),
        PoolModel("od", "aws", "r1", None, "on-demand", 1, OD, OD),
    )
    profile = [2, 2, 2, 3, 4, 5, 5, 4, 3, 3, 2, 2] * 2
    model = FleetModel(
        pools,
        replicas=5,
        horizon_hours=240.0,
        cold_start_hours=0.3,
        cold_start_distribution="exponential",
        request_rate_per_s=1.0,
        request_duration_s=30.0,
        on_preemption="next-pool",
        fallback_after_hours=0.25,
        overprovision=1,
        zone_correlation=0.4,
        load=LoadModel(
            daily(profile, 10),
            scale_up_delay_hours=0.1,
            prewarm_hours=0.2,
            cooldown_hours=0.5,
            critical_share=0.3,
            peak_price_per_hour=OD,
        ),
    )
    fast = simulate(model, 4000, np.random.default_rng(1))
    slow = simulate_reference(model, 1200, np.random.default_rng(2))
    for name in ("availability", "cost", "interruptions", "outages"):
        x, y = getattr(fast, name), getattr(slow, name)
        se = np.sqrt(x.var() / x.size + y.var() / y.size)
        assert abs(x.mean() - y.mean()) <= 4 * se + 1e-12, name


def test_flat_model_is_unchanged_by_the_load_machinery() -> None:
    """A constant demand through the load path equals the flat path's figures."""
    base = FleetModel(
        (dataclasses.replace(spot_pool(5), hazard=Hazard.band(0.2, 1.0)),),
        replicas=4,
        horizon_hours=H,
        cold_start_hours=0.2,
    )
    flat = simulate(base, 500, np.random.default_rng(3))
    with_load = dataclasses.replace(
        base,
        load=LoadModel(Demand.constant(4), peak_on_demand=False, peak_price_per_hour=OD),
    )
    varying = simulate(with_load, 500, np.random.default_rng(3))
    np.testing.assert_allclose(varying.availability, flat.availability, atol=1e-12)
    np.testing.assert_allclose(varying.outages, flat.outages)
    np.testing.assert_allclose(varying.cost, flat.cost)
