"""The compiled engine against the per-event reference, feature by feature.

Each case switches on one feature of the model (or a few that interact) on a small
fleet that has outages often enough to measure, simulates it with both engines from
different seeds, and checks every per-trial outcome's mean (and the SLA breach rate)
within 4 standard errors of the difference. The reference is slow, hence the few
hundred trials; the fixed seeds make every case deterministic.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from spotadvisor.sim.engine import simulate
from spotadvisor.sim.load import Demand, LoadModel
from spotadvisor.sim.model import FleetModel, Hazard, PoolModel
from spotadvisor.sim.reference import simulate_reference
from spotadvisor.sim.results import TrialResults
from spotadvisor.sim.scenarios import ScenarioEvent

Z = 4.0
OD = 30.0
BULK = {"bulk_reclaims_per_month": 4.0, "bulk_fraction": 0.5, "stockout_hours": 1.0}


def spot(zone: str, count: int, region: str = "r1", **kw: object) -> PoolModel:
    fields: dict[str, object] = {
        "name": f"{region} {zone}",
        "cloud": "aws",
        "region": region,
        "zone": zone,
        "market": "spot",
        "count": count,
        "price_per_hour": 10.0 + count,
        "on_demand_price_per_hour": OD,
        "hazard": Hazard.exact(1 / 30),
    }
    fields.update(kw)
    return PoolModel(**fields)  # type: ignore[arg-type]


ON_DEMAND = PoolModel("od", "aws", "r1", None, "on-demand", 1, OD, OD)
BASE = FleetModel(
    pools=(spot("z1", 2), spot("z2", 2), spot("z3", 1, region="r2"), ON_DEMAND),
    replicas=5,
    horizon_hours=240.0,
    cold_start_hours=0.5,
    request_rate_per_s=1.0,
    request_duration_s=40.0,
)


def with_pools(**kw: object) -> FleetModel:
    """BASE with every spot pool changed the same way."""
    pools = tuple(dataclasses.replace(p, **kw) if p.market == "spot" else p for p in BASE.pools)  # type: ignore[arg-type]
    return dataclasses.replace(BASE, pools=pools)


def daily(profile: list[int], days: int = 10) -> Demand:
    hours = 24 * days
    return Demand(
        tuple(float(h) for h in range(hours)), tuple(profile[h % 24] for h in range(hours))
    )


CASES: dict[str, FleetModel] = {
    "exact hazards, fixed cold start": BASE,
    "bands (8-instance replicas)": with_pools(
        hazard=Hazard.band(0.2, 1.0), instances_per_replica=8
    ),
    "exponential cold start": dataclasses.replace(BASE, cold_start_distribution="exponential"),
    "instances per replica": with_pools(instances_per_replica=4, hazard=Hazard.exact(1 / 120)),
    "bulk reclaims without stock-outs": with_pools(bulk_reclaims_per_month=6.0, bulk_fraction=0.4),
    "whole-pool reclaims": with_pools(bulk_reclaims_per_month=3.0, bulk_fraction=1.0),
    "stock-outs and fallback": dataclasses.replace(with_pools(**BULK), fallback_after_hours=0.25),
    "stock-outs without fallback": with_pools(**BULK),
    "zone and region correlation": dataclasses.replace(
        with_pools(**BULK), zone_correlation=0.6, region_correlation=0.3
    ),
    "several instances and bulk reclaims": with_pools(
        instances_per_replica=2, hazard=Hazard.exact(1 / 60), **BULK
    ),
    "next pool and overprovision": dataclasses.replace(
        with_pools(**BULK), on_preemption="next-pool", overprovision=2, fallback_after_hours=0.5
    ),
    "on-demand replacement": dataclasses.replace(with_pools(**BULK), on_preemption="on-demand"),
    "price paths": with_pools(price_path=(1.0, 0.5, 2.0, 1.5, 0.8)),
    "fixed request durations, 30 s notice": dataclasses.replace(
        with_pools(cloud="gcp", notice_seconds=30.0), request_duration_distribution="fixed"
    ),
    "load profile with peaks": dataclasses.replace(
        with_pools(**BULK),
        fallback_after_hours=0.25,
        load=LoadModel(
            daily([3, 3, 3, 4, 5, 6, 6, 5, 4, 4, 3, 3] * 2),
            scale_up_delay_hours=0.2,
            cooldown_hours=0.5,
            peak_price_per_hour=OD,
        ),
    ),
    "critical share": dataclasses.replace(
        BASE,
        load=LoadModel(
            daily([5] * 12 + [6] * 12),
            critical_share=0.4,
            prewarm_hours=0.5,
            peak_price_per_hour=OD,
        ),
    ),
    "zone outage": dataclasses.replace(
        with_pools(**BULK),
        fallback_after_hours=0.5,
        events=(ScenarioEvent("outage", (0, 3), 60.0, 5.0),),
    ),
    "capacity drought": dataclasses.replace(
        with_pools(**BULK), events=(ScenarioEvent("drought", (0, 1), 60.0, 12.0),)
    ),
    "price spike": dataclasses.replace(
        with_pools(**BULK), events=(ScenarioEvent("spike", (0, 2), 60.0, 24.0, factor=3.0),)
    ),
    "mass preemption": dataclasses.replace(
        with_pools(**BULK),
        events=(ScenarioEvent("preempt", (0, 1, 2), 60.0, 0.0, fraction=0.6),),
    ),
}

OUTCOMES = ("availability", "cost", "interruptions", "lost_requests", "outages", "outage_hours")
WINDOW = ("during_hours", "after_hours", "recovery_hours")


def differ(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Difference of means and its standard error."""
    se = float(np.sqrt(x.var(ddof=1) / x.size + y.var(ddof=1) / y.size))
    return float(x.mean() - y.mean()), se


@pytest.mark.parametrize("case", list(CASES))
def test_engine_agrees_with_the_reference(case: str) -> None:
    model = CASES[case]
    fast: TrialResults = simulate(model, 4000, np.random.default_rng(21))
    slow = simulate_reference(model, 700, np.random.default_rng(22))
    names = OUTCOMES + (WINDOW if model.events else ())
    for name in names:
        diff, se = differ(getattr(fast, name), getattr(slow, name))
        assert abs(diff) <= Z * se + 1e-9, f"{case}: {name} differs by {diff:.4g} (se {se:.3g})"
    for target in (0.999, 0.99):
        diff, se = differ(
            (fast.availability < target).astype(float), (slow.availability < target).astype(float)
        )
        assert abs(diff) <= Z * se + 1e-9, f"{case}: breach of {target} differs by {diff:.3f}"
    assert fast.on_demand_cost == pytest.approx(slow.on_demand_cost)


def test_the_cases_have_outages_to_compare() -> None:
    """A case where neither engine sees an outage would test nothing about outages."""
    for case, model in CASES.items():
        results = simulate(model, 500, np.random.default_rng(3))
        assert results.outages.mean() > 0.05, case


@pytest.mark.parametrize(
    "case", ["zone and region correlation", "zone outage", "load profile with peaks"]
)
def test_buffers_that_grow_mid_trial_change_nothing(case: str) -> None:
    """A trial that outgrows a buffer resumes where it stopped, drawing nothing again.

    Starting from one-element buffers forces every growth path (strikes, gaps, buckets)
    in many trials; the results must equal those of buffers that never grow, bit for bit.
    """
    from spotadvisor.sim.kernel import OUT_COLUMNS, run_chunk
    from spotadvisor.sim.kernel_inputs import kernel_inputs

    model = CASES[case]
    inputs = kernel_inputs(model)

    def run(capacity: list[int]) -> np.ndarray:
        rng = np.random.default_rng(8)
        out = np.empty((300, OUT_COLUMNS))
        event_rng = rng.spawn(1)[0]
        run_chunk(
            inputs.fleet, inputs.pools, inputs.events, rng, event_rng, out,
            np.array(capacity, dtype=np.int64),
        )  # fmt: skip
        return out

    tiny, roomy = run([1, 1, 1]), run([10_000, 100_000, 65_537])
    np.testing.assert_array_equal(tiny, roomy)
    assert tiny[:, 2].sum() > 0  # there were notices to keep gaps for
