"""Time the engine's load-profile and scenario paths against the flat path, and print them.

    python benchmarks/bench_load.py [--quick]

One fleet (3 spot pools in two zones, bands 5-20 %, default risk block, an on-demand
pool, spares and fallback), 30-day horizon, simulated:

1. flat: ``replicas`` all the time (the original path);
2. an hourly daily profile (2 to 8 replicas) with on-demand peaks;
3. the per-minute Azure Functions request trace (60,000 requests per replica, at most
   10 replicas: about 15,000 demand steps after merging equal minutes), when the shared
   data is present;
4. the flat fleet with a zone outage (a scenario run).

Nothing is asserted: the figures are for humans and for the notes.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import numpy as np

from spotadvisor.config.load import LoadSpec, demand_of
from spotadvisor.sim.engine import simulate
from spotadvisor.sim.load import Demand, LoadModel
from spotadvisor.sim.model import NOTICE_SECONDS, FleetModel, Hazard, PoolModel
from spotadvisor.sim.scenarios import ScenarioEvent

HORIZON = 720.0
TRACE = (
    Path(__file__).resolve().parents[2]
    / "shared/data/spot-traces-spothedge/workloads/maf1_cleaned_requests_per_minute.csv"
)
RISK = {"bulk_reclaims_per_month": 0.5, "bulk_fraction": 0.6, "stockout_hours": 1 / 3}
PROFILE = [2, 2, 2, 2, 2, 3, 4, 6, 8, 8, 8, 8, 8, 8, 8, 8, 7, 6, 5, 4, 3, 2, 2, 2]


def fleet() -> FleetModel:
    """The benchmark fleet, flat at 6 replicas."""

    def spot(zone: str, count: int, band: tuple[float, float]) -> PoolModel:
        return PoolModel(
            name=zone,
            cloud="aws",
            region="us-east-2",
            zone=zone,
            market="spot",
            count=count,
            price_per_hour=11.25,
            on_demand_price_per_hour=55.04,
            hazard=Hazard.band(*band),
            notice_seconds=NOTICE_SECONDS["aws"],
            **RISK,
        )

    pools = (
        spot("use2-az1", 3, (0.05, 0.10)),
        spot("use2-az2", 2, (0.10, 0.15)),
        spot("use2-az3", 1, (0.15, 0.20)),
        PoolModel("od", "aws", "us-east-2", None, "on-demand", 1, 55.04, 55.04),
    )
    return FleetModel(
        pools=pools,
        replicas=6,
        horizon_hours=HORIZON,
        cold_start_hours=1 / 6,
        request_rate_per_s=2.0,
        request_duration_s=20.0,
        on_preemption="next-pool",
        fallback_after_hours=0.25,
        overprovision=1,
        zone_correlation=0.4,
        region_correlation=0.1,
    )


def with_load(model: FleetModel, demand: Demand) -> FleetModel:
    """``model`` following ``demand`` with on-demand peaks."""
    load = LoadModel(
        demand,
        scale_up_delay_hours=1 / 60,
        prewarm_hours=0.25,
        cooldown_hours=0.25,
        critical_share=0.1,
        peak_price_per_hour=55.04,
        peak_region="us-east-2",
    )
    return dataclasses.replace(model, load=load, replicas=demand.peak())


def hourly() -> Demand:
    """The daily profile over the horizon."""
    hours = int(HORIZON)
    return Demand(
        tuple(float(h) for h in range(hours)), tuple(PROFILE[h % 24] for h in range(hours))
    )


def per_minute() -> Demand | None:
    """The Azure Functions trace, one step per minute, or None without the shared data."""
    if not TRACE.exists():
        return None
    import csv

    with TRACE.open() as handle:
        rows = list(csv.reader(handle))[1:]
    series = tuple(float(r[1]) for r in rows)
    spec = LoadSpec(csv=str(TRACE), requests_per_replica=60_000, max_replicas=10, series=series)
    return demand_of(spec, HORIZON)


def timed(model: FleetModel, trials: int, repeats: int) -> tuple[float, float]:
    """Best wall time of ``repeats`` runs [s] and the mean availability."""
    best, availability = float("inf"), float("nan")
    for _ in range(repeats):
        start = time.perf_counter()
        result = simulate(model, trials, np.random.default_rng(1))
        best = min(best, time.perf_counter() - start)
        availability = float(result.availability.mean())
    return best, availability


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 trials, one repeat")
    args = parser.parse_args()
    trials, repeats = (2_000, 1) if args.quick else (10_000, 3)
    flat = fleet()
    cases: list[tuple[str, FleetModel | None]] = [
        ("flat (6 replicas)", flat),
        ("hourly profile, on-demand peaks", with_load(flat, hourly())),
        ("per-minute Azure trace, peaks", None),
        (
            "flat + zone outage (scenario)",
            dataclasses.replace(flat, events=(ScenarioEvent("outage", (0,), 240.0, 6.0),)),
        ),
    ]
    minute = per_minute()
    if minute is not None:
        cases[2] = (
            f"per-minute Azure trace ({len(minute.times):,} steps)",
            with_load(flat, minute),
        )
    print(f"{trials:,} trials of 30 days, best of {repeats}")
    base = None
    for name, model in cases:
        if model is None:
            print(f"  {name:<44} skipped: {TRACE} not found")
            continue
        seconds, availability = timed(model, trials, repeats)
        base = base or seconds
        print(
            f"  {name:<44} {seconds:7.3f} s  {trials / seconds:10,.0f} trials/s  "
            f"x{seconds / base:4.2f} of flat  availability {availability:.5f}"
        )


if __name__ == "__main__":
    main()
