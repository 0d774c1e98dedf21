"""Failure what-ifs in the engine and the reference: hand-computed cases and the oracle."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from spotadvisor.sim.engine import simulate
from spotadvisor.sim.load import Demand, LoadModel
from spotadvisor.sim.model import FleetModel, Hazard, PoolModel
from spotadvisor.sim.reference import simulate_reference
from spotadvisor.sim.scenarios import ScenarioEvent

H, SPOT, OD = 720.0, 10.0, 40.0
T, D = 100.0, 6.0
SIMULATORS = [simulate, simulate_reference]


def pool(count: int, zone: str = "z1", market: str = "spot", region: str = "r1") -> PoolModel:
    return PoolModel(
        f"aws {region} {zone} p {market}", "aws", region, zone, market, count,  # type: ignore[arg-type]
        SPOT if market == "spot" else OD, OD, hazard=Hazard.exact(0.0),
    )  # fmt: skip


def fleet(*pools: PoolModel, replicas: int = 3, **kw: object) -> FleetModel:
    kw.setdefault("cold_start_hours", 0.0)
    return FleetModel(pools, replicas=replicas, horizon_hours=H, **kw)  # type: ignore[arg-type]


def outage(*pools: int, peak: bool = False) -> tuple[ScenarioEvent, ...]:
    return (ScenarioEvent("outage", pools, T, D, peak=peak),)


@pytest.mark.parametrize("simulator", SIMULATORS)
@pytest.mark.parametrize("cold", [0.0, 0.25])
def test_zone_outage_of_a_one_zone_fleet_without_fallback(simulator, cold: float) -> None:  # type: ignore[no-untyped-def]
    model = fleet(pool(3), cold_start_hours=cold, events=outage(0))
    r = simulator(model, 8, np.random.default_rng(1))
    # nothing serves from T until the zone is back and the relaunches are ready
    np.testing.assert_allclose(r.availability, 1 - (D + cold) / H)
    np.testing.assert_allclose(r.recovery_hours, D + cold)
    np.testing.assert_allclose(r.during_hours, D)
    np.testing.assert_allclose(r.after_hours, cold)
    # billed until the loss and again from the relaunch at T + D, no notice period
    np.testing.assert_allclose(r.cost, 3 * SPOT * (H - D))
    assert np.all(r.interruptions == 3) and np.all(r.outages == 1)


@pytest.mark.parametrize("simulator", SIMULATORS)
def test_zone_outage_with_on_demand_fallback_recovers_after_fallback_plus_cold_start(
    simulator,
) -> None:  # type: ignore[no-untyped-def]
    after, cold = 0.25, 0.2
    model = fleet(pool(3), cold_start_hours=cold, fallback_after_hours=after, events=outage(0))
    r = simulator(model, 8, np.random.default_rng(1))
    np.testing.assert_allclose(r.recovery_hours, after + cold)
    np.testing.assert_allclose(r.availability, 1 - (after + cold) / H)
    # fallbacks billed from T + after until the spot relaunches are ready at T + D + cold
    np.testing.assert_allclose(r.cost, 3 * SPOT * (H - D) + 3 * OD * (D + cold - after))


@pytest.mark.parametrize("simulator", SIMULATORS)
def test_zone_outage_spares_a_fleet_spread_over_zones(simulator) -> None:  # type: ignore[no-untyped-def]
    model = fleet(pool(2, "z1"), pool(2, "z2"), replicas=2, cold_start_hours=0.2, events=outage(0))
    r = simulator(model, 8, np.random.default_rng(1))
    assert np.all(r.availability == 1.0) and np.all(r.recovery_hours == 0.0)


@pytest.mark.parametrize("simulator", SIMULATORS)
def test_region_loss_takes_on_demand_replicas_for_a_cold_start(simulator) -> None:  # type: ignore[no-untyped-def]
    cold = 0.5
    model = fleet(
        pool(2, "z1"),
        pool(1, None, "on-demand"),  # type: ignore[arg-type]
        replicas=1,
        cold_start_hours=cold,
        events=outage(0, 1),
    )
    r = simulator(model, 4, np.random.default_rng(1))
    # the on-demand replica is relaunched elsewhere at once; spot waits out the window
    np.testing.assert_allclose(r.recovery_hours, cold)
    np.testing.assert_allclose(r.availability, 1 - cold / H)


@pytest.mark.parametrize("simulator", SIMULATORS)
def test_region_loss_takes_the_peak_replicas_of_their_region(simulator) -> None:  # type: ignore[no-untyped-def]
    cold = 0.5
    load = LoadModel(Demand.constant(3), peak_price_per_hour=OD, peak_region="r1")
    model = fleet(pool(1, "z1", region="r2"), cold_start_hours=cold, load=load)
    event = (ScenarioEvent("outage", (), T, D, peak=True),)
    r = simulator(dataclasses.replace(model, events=event), 4, np.random.default_rng(1))
    np.testing.assert_allclose(r.recovery_hours, cold)
    np.testing.assert_allclose(r.cost, SPOT * H + 2 * OD * H)


@pytest.mark.parametrize("simulator", SIMULATORS)
def test_price_spike_costs_exactly_the_extra_price(simulator) -> None:  # type: ignore[no-untyped-def]
    spike = (ScenarioEvent("spike", (0,), T, D, factor=3.0),)
    model = fleet(pool(3), pool(1, None, "on-demand"), replicas=3, events=spike)  # type: ignore[arg-type]
    r = simulator(model, 4, np.random.default_rng(1))
    np.testing.assert_allclose(r.cost, 3 * SPOT * H + OD * H + 3 * SPOT * 2.0 * D)
    assert np.all(r.availability == 1.0)


@pytest.mark.parametrize("simulator", SIMULATORS)
def test_mass_preemption_of_a_whole_pool_is_down_for_a_cold_start(simulator) -> None:  # type: ignore[no-untyped-def]
    cold = 0.3
    event = (ScenarioEvent("preempt", (0,), T, 0.0, fraction=1.0),)
    r = simulator(fleet(pool(3), cold_start_hours=cold, events=event), 4, np.random.default_rng(1))
    np.testing.assert_allclose(r.recovery_hours, cold)
    np.testing.assert_allclose(r.availability, 1 - cold / H)
    assert np.all(r.interruptions == 3)
    # a notice: billed through the notice period, replacements from the notice
    np.testing.assert_allclose(r.cost, 3 * SPOT * (H + 120 / 3600))


@pytest.mark.parametrize("simulator", SIMULATORS)
def test_capacity_drought_delays_relaunches_until_it_ends(simulator) -> None:  # type: ignore[no-untyped-def]
    cold = 0.3
    events = (
        ScenarioEvent("drought", (0,), T - 1.0, D),
        ScenarioEvent("preempt", (0,), T, 0.0, fraction=1.0),
    )
    model = fleet(pool(3), cold_start_hours=cold, events=events)
    r = simulator(model, 4, np.random.default_rng(1))
    # the window of the first event (the drought) sees the relaunch at T - 1 + D
    np.testing.assert_allclose(r.availability, 1 - (D - 1.0 + cold) / H)
    np.testing.assert_allclose(r.recovery_hours, 1.0 + D - 1.0 + cold)


def test_engine_matches_the_reference_under_events_with_random_preemptions() -> None:
    risk = {"bulk_reclaims_per_month": 3.0, "bulk_fraction": 0.5, "stockout_hours": 0.5}
    pools = (
        dataclasses.replace(pool(2, "z1"), hazard=Hazard.band(0.2, 1.0), **risk),
        dataclasses.replace(pool(1, "z2"), hazard=Hazard.band(0.2, 1.0), **risk),
        pool(1, None, "on-demand"),  # type: ignore[arg-type]
    )
    base = FleetModel(
        pools,
        replicas=3,
        horizon_hours=240.0,
        cold_start_hours=0.3,
        cold_start_distribution="exponential",
        request_rate_per_s=1.0,
        request_duration_s=30.0,
        on_preemption="next-pool",
        fallback_after_hours=0.25,
        overprovision=1,
        zone_correlation=0.4,
    )
    cases = [
        (ScenarioEvent("outage", (0,), 50.0, 6.0),),
        (ScenarioEvent("outage", (0, 1, 2), 50.0, 3.0),),
        (ScenarioEvent("drought", (0, 1), 50.0, 20.0),),
        (ScenarioEvent("preempt", (0, 1), 50.0, 0.0, fraction=0.5),),
    ]
    for events in cases:
        model = dataclasses.replace(base, events=events)
        fast = simulate(model, 3000, np.random.default_rng(1))
        slow = simulate_reference(model, 800, np.random.default_rng(2))
        for name in ("availability", "cost", "interruptions", "recovery_hours", "lost_requests"):
            x, y = getattr(fast, name), getattr(slow, name)
            se = np.sqrt(x.var() / x.size + y.var() / y.size)
            assert abs(x.mean() - y.mean()) <= 4 * se + 1e-9, (events[0].kind, name)


def test_a_scenario_run_pairs_with_the_baseline_through_the_seed() -> None:
    """Common random numbers: a price spike changes cost only, trial by trial."""
    model = fleet(dataclasses.replace(pool(4), hazard=Hazard.band(0.2, 1.0)), cold_start_hours=0.2)
    spiked = dataclasses.replace(model, events=(ScenarioEvent("spike", (0,), T, D, factor=2.0),))
    base = simulate(model, 300, np.random.default_rng(5))
    what_if = simulate(spiked, 300, np.random.default_rng(5))
    np.testing.assert_array_equal(what_if.availability, base.availability)
    assert np.all(what_if.cost >= base.cost - 1e-9)
