"""Time the Monte Carlo engine against a plain per-event simulation, and print the figures.

    python benchmarks/bench_engine.py [--quick]

Scenarios (30-day horizon, default risk block: bulk reclaims, stock-outs, correlation):

1. one 20-pool mix (20 spot zones in 5 regions plus on-demand), 10,000 trials;
2. a sweep of 1,000 mixes x 2,000 trials, the mixes built from the embedded snapshot's
   real H100 / A100 offers and bands (1-3 spot zones, 0-2 on-demand replicas, 0-2
   overprovisioned, with and without on-demand fallback), run on every available core.

The per-event baseline (``spotadvisor.sim.reference``, a heapq event loop over the same
model) runs a sample of the same scenarios; its trials per second are extrapolated.
Nothing here is asserted: the figures are for humans and for the notes.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from spotadvisor.catalog import offers_view
from spotadvisor.schema import INTERRUPTION_HISTORY, OFFERS
from spotadvisor.sim.engine import simulate
from spotadvisor.sim.model import NOTICE_SECONDS, FleetModel, Hazard, PoolModel
from spotadvisor.sim.reference import simulate_reference
from spotadvisor.sim.sweep import default_workers, simulate_many
from spotadvisor.snapshot import read_snapshot_table

HORIZON = 720.0
RISK = {"bulk_reclaims_per_month": 0.5, "bulk_fraction": 0.6, "stockout_hours": 1 / 3}


def twenty_pool_mix() -> FleetModel:
    """20 spot pools (5 regions x 4 zones, bands from <5% to >20%) and 2 on-demand replicas."""
    bands = [(0.0, 0.05), (0.05, 0.10), (0.10, 0.15), (0.15, 0.20), (0.20, 1.0)]
    pools = [
        PoolModel(
            name=f"r{r}z{z}",
            cloud="aws",
            region=f"region-{r}",
            zone=f"region-{r}{'abcd'[z]}",
            market="spot",
            count=1,
            price_per_hour=12.0 + r + z,
            on_demand_price_per_hour=55.04,
            hazard=Hazard.band(*bands[(r + z) % 5]),
            notice_seconds=NOTICE_SECONDS["aws"],
            **RISK,
        )
        for r in range(5)
        for z in range(4)
    ]
    pools.append(
        PoolModel(
            name="od",
            cloud="aws",
            region="region-0",
            zone=None,
            market="on-demand",
            count=2,
            price_per_hour=55.04,
            on_demand_price_per_hour=55.04,
        )
    )
    return FleetModel(
        pools=tuple(pools),
        replicas=18,
        horizon_hours=HORIZON,
        cold_start_hours=0.2,
        request_rate_per_s=2.0,
        request_duration_s=20.0,
        fallback_after_hours=0.25,
        zone_correlation=0.4,
        region_correlation=0.1,
    )


def snapshot_mixes(count: int, seed: int = 3) -> list[FleetModel]:
    """Candidate mixes from real AWS H100 and A100 offers with published bands."""
    view = offers_view(read_snapshot_table(OFFERS), read_snapshot_table(INTERRUPTION_HISTORY))
    view = view[
        (view["cloud"] == "aws")
        & view["gpu_model"].isin(["H100", "A100"])
        & (view["gpu_count"] == 8)
        & view["price_spot_usd_per_hour"].notna()
        & view["price_on_demand_usd_per_hour"].notna()
        & view["interruption_band"].notna()
    ]
    groups = [g for _, g in view.groupby(["region", "instance_type"]) if len(g) >= 1]
    rng = np.random.default_rng(seed)
    mixes = []
    for _ in range(count):
        group = groups[rng.integers(len(groups))]
        zones = group.sample(
            n=min(len(group), int(rng.integers(1, 4))), random_state=int(rng.integers(1 << 31))
        )
        pools = [
            PoolModel(
                name=f"{row.instance_type} {row.zone_id}",
                cloud="aws",
                region=row.region,
                zone=row.zone_id,
                market="spot",
                count=int(rng.integers(1, 4)),
                price_per_hour=float(row.price_spot_usd_per_hour),
                on_demand_price_per_hour=float(row.price_on_demand_usd_per_hour),
                hazard=Hazard.band(
                    row.interruption_band_lower_pct / 100, row.interruption_band_upper_pct / 100
                ),
                notice_seconds=NOTICE_SECONDS["aws"],
                **RISK,
            )
            for row in zones.itertuples()
        ]
        od = int(rng.integers(0, 3))
        first = zones.iloc[0]
        pools.append(
            PoolModel(
                name="od",
                cloud="aws",
                region=first.region,
                zone=None,
                market="on-demand",
                count=od,
                price_per_hour=float(first.price_on_demand_usd_per_hour),
                on_demand_price_per_hour=float(first.price_on_demand_usd_per_hour),
            )
        )
        mixes.append(
            FleetModel(
                pools=tuple(pools),
                replicas=4,
                horizon_hours=HORIZON,
                cold_start_hours=0.2,
                request_rate_per_s=2.0,
                request_duration_s=20.0,
                overprovision=int(rng.integers(0, 3)),
                fallback_after_hours=0.25 if rng.random() < 0.5 else None,
                zone_correlation=0.4,
                region_correlation=0.1,
            )
        )
    return mixes


def rate(label: str, trials: int, seconds: float) -> float:
    per_second = trials / seconds
    print(f"  {label:<44} {trials:>10,} trials in {seconds:8.2f} s = {per_second:>12,.0f} trials/s")
    return per_second


def main() -> None:
    """Run both scenarios and print the figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a tenth of the work (smoke test)")
    args = parser.parse_args()
    scale = 10 if args.quick else 1

    print(f"cores available: {default_workers()}")
    print("1. one 20-pool mix, 30 days")
    mix = twenty_pool_mix()
    trials = 10_000 // scale
    start = time.perf_counter()
    simulate(mix, trials, np.random.default_rng(1))
    fast = rate("vectorised engine", trials, time.perf_counter() - start)
    ref_trials = 200 // scale
    start = time.perf_counter()
    simulate_reference(mix, ref_trials, np.random.default_rng(1))
    slow = rate("per-event heapq loop", ref_trials, time.perf_counter() - start)
    print(f"  speed-up: {fast / slow:,.0f}x")

    print("2. sweep of 1,000 mixes x 2,000 trials, 30 days")
    mixes = snapshot_mixes(1000 // scale)
    trials = 2000
    start = time.perf_counter()
    simulate_many(mixes, trials, seed=7)
    elapsed = time.perf_counter() - start
    fast = rate(f"vectorised engine, {default_workers()} processes", len(mixes) * trials, elapsed)
    print(f"  sweep wall time: {elapsed:.2f} s for {len(mixes):,} mixes")
    start = time.perf_counter()
    simulate_many(mixes[:100], trials, seed=7, workers=1)
    rate("vectorised engine, 1 process (100 mixes)", 100 * trials, time.perf_counter() - start)
    sample = mixes[: 20 // scale]
    start = time.perf_counter()
    for model in sample:
        simulate_reference(model, 100, np.random.default_rng(7))
    slow = rate(
        "per-event heapq loop, 1 process (sample)", len(sample) * 100, time.perf_counter() - start
    )
    print(
        f"  speed-up (same number of processes would be {fast / slow / default_workers():,.0f}x): {fast / slow:,.0f}x"
    )
    print(f"  per-event loop would need {len(mixes) * trials / slow / 60:,.1f} min for the sweep")


if __name__ == "__main__":
    main()
