"""Time the Monte Carlo engine against the per-event reference loop, and print the figures.

    python benchmarks/bench_engine.py [--quick] [--skip-cold]

Cases (30-day months):

1. dense: 40 spot replicas in 20 AWS pools (real p4d/p4de/p5 zones and prices from the
   embedded snapshot), 30 needed, mean time to preemption 10 h per instance, 10-minute
   cold start, independent risk (no bulk reclaims), 10,000 trials: the compiled engine
   through the library (all cores and one thread), through ``spotadvisor simulate`` in a
   fresh process (start-up included), and the reference heapq loop
   (``spotadvisor.sim.reference``) on a sample of the same model, extrapolated;
2. peak memory of a fresh process: the dense case at 10,000 trials, and ten times it
   (400 replicas in 200 pools, 300 needed) at 100,000 trials;
3. a sweep of 1,000 mixes x 2,000 trials, each of 4-8 real H100 / A100 pools from one of
   the three clouds (bands where published, else the worst band, as ``recommend`` does;
   the default risk block), on every core, and the reference on a sample;
4. the first run after installation: ``spotadvisor simulate`` on the dense fleet with an
   empty cache folder (the kernels compile), then again (they load from the cache).

Nothing here is asserted: the figures are for humans, docs/model.md and the changelog.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

from spotadvisor.catalog import offers_view
from spotadvisor.config import load_fleet
from spotadvisor.fleet import resolve_fleet
from spotadvisor.schema import INTERRUPTION_HISTORY, OFFERS
from spotadvisor.sim.engine import default_workers, simulate
from spotadvisor.sim.model import NOTICE_SECONDS, FleetModel, Hazard, PoolModel
from spotadvisor.sim.reference import simulate_reference
from spotadvisor.sim.sweep import simulate_many
from spotadvisor.snapshot import read_snapshot_table

HORIZON = 720.0
RISK = {"bulk_reclaims_per_month": 0.5, "bulk_fraction": 0.6, "stockout_hours": 1 / 3}
WORST_BAND = (0.20, 1.0)
CLI = Path(sys.executable).with_name("spotadvisor")


def snapshot_view():  # type: ignore[no-untyped-def]
    """The embedded snapshot's offers view."""
    return offers_view(read_snapshot_table(OFFERS), read_snapshot_table(INTERRUPTION_HISTORY))


def dense_fleet_file(folder: Path) -> Path:
    """The dense case as a fleet file: 40 spot replicas over 20 real AWS 8-GPU zones."""
    view = snapshot_view()
    rows = view[
        (view["cloud"] == "aws")
        & view["instance_type"].isin(["p4d.24xlarge", "p4de.24xlarge", "p5.48xlarge"])
        & view["price_spot_usd_per_hour"].notna()
        & view["price_on_demand_usd_per_hour"].notna()
    ].drop_duplicates(["region", "zone_id", "instance_type"])
    fleet = [
        {
            "cloud": "aws",
            "region": row.region,
            "zone": row.zone_id,
            "instance": row.instance_type,
            "market": "spot",
            "count": 2,
            "price_per_hour": float(row.price_spot_usd_per_hour),
            "on_demand_price_per_hour": float(row.price_on_demand_usd_per_hour),
            "interruption": {"mean_time_to_preemption": "10h"},
        }
        for row in rows.head(20).itertuples()
    ]
    document = {
        "workload": {"name": "dense", "replicas": 30, "gpus_per_replica": 8, "cold_start": "10m"},
        "sla": {"availability": 99.9, "max_breach_probability": 0.05},
        "horizon": "30d",
        "trials": 10_000,
        "seed": 1,
        "fleet": fleet,
        "risk": {"bulk_reclaims_per_month": 0, "zone_correlation": 0, "region_correlation": 0},
    }
    path = folder / "dense.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def scaled(model: FleetModel, factor: int) -> FleetModel:
    """``factor`` copies of every pool (in made-up zones), needing ``factor`` times more."""
    pools = tuple(
        dataclasses.replace(p, name=f"{p.name} #{k}", zone=f"{p.zone}-{k}")
        for k in range(factor)
        for p in model.pools
    )
    return dataclasses.replace(model, pools=pools, replicas=model.replicas * factor)


def model_of(path: Path) -> FleetModel:
    """The engine's model of a fleet file whose pools carry all their inputs."""
    return resolve_fleet(load_fleet(path), snapshot_view(), data_label="snapshot").model


def line(label: str, trials: int, seconds: float) -> float:
    per_second = trials / seconds
    print(f"  {label:<46} {trials:>11,} trials {seconds:8.2f} s {per_second:>10,.0f} trials/s")
    return per_second


def cli_seconds(path: Path, trials: int, env: dict[str, str] | None = None) -> float:
    """Wall time of ``spotadvisor simulate`` in a fresh process, start-up included."""
    with tempfile.TemporaryDirectory() as tmp:
        command = [str(CLI), "--db", f"{tmp}/empty.duckdb", "simulate", str(path)]
        start = time.perf_counter()
        done = subprocess.run(
            [*command, "--trials", str(trials), "--format", "json"],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"spotadvisor simulate failed:\n{done.stderr}")
    return seconds


def dense(folder: Path, scale: int) -> None:
    print("1. dense: 40 spot replicas in 20 pools, 30 needed, 10 h to preemption, 10,000 trials")
    path = dense_fleet_file(folder)
    model = model_of(path)
    trials = 10_000 // scale
    simulate(model, 10, np.random.default_rng(0))  # load the kernels (timed in case 4)
    start = time.perf_counter()
    results = simulate(model, trials, np.random.default_rng(1))
    library = line(
        f"compiled engine, library, {default_workers()} threads",
        trials,
        time.perf_counter() - start,
    )
    start = time.perf_counter()
    simulate(model, trials, np.random.default_rng(1), workers=1)
    one = line("compiled engine, library, 1 thread", trials, time.perf_counter() - start)
    command = cli_seconds(path, trials)
    cli = line("spotadvisor simulate (fresh process)", trials, command)
    sample = 200 // scale
    start = time.perf_counter()
    simulate_reference(model, sample, np.random.default_rng(1))
    reference = line(
        "per-event heapq loop (reference), 1 thread", sample, time.perf_counter() - start
    )
    preemptions = float(results.interruptions.mean())
    numpy_draw, kernel_draw = draw_seconds()
    print(
        f"  speed-up over the reference: library {library / reference:,.0f}x "
        f"(1 thread {one / reference:,.0f}x), spotadvisor simulate {cli / reference:,.0f}x"
    )
    print(
        f"  {preemptions:,.0f} preemptions per trial: {1e9 / (one * preemptions):.1f} ns per "
        f"preemption on one thread; the floor, one exponential draw: "
        f"{kernel_draw * 1e9:.1f} ns in compiled code, {numpy_draw * 1e9:.1f} ns in NumPy"
    )


def draw_seconds() -> tuple[float, float]:
    """Seconds per exponential draw: NumPy in bulk, and a compiled loop over the generator."""
    import numba

    @numba.njit
    def draws(rng: np.random.Generator, n: int) -> float:
        total = 0.0
        for _ in range(n):
            total += rng.standard_exponential()
        return total

    n = 20_000_000
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    rng.standard_exponential(n)
    numpy_draw = (time.perf_counter() - start) / n
    draws(rng, 10)
    start = time.perf_counter()
    draws(rng, n)
    return numpy_draw, (time.perf_counter() - start) / n


def memory_child(replicas: int, trials: int) -> None:
    """Run one case and print this process's peak memory (called in a fresh process)."""
    with tempfile.TemporaryDirectory() as tmp:
        model = scaled(model_of(dense_fleet_file(Path(tmp))), replicas // 40)
    start = time.perf_counter()
    simulate(model, trials, np.random.default_rng(1))
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"peak_mb": peak_mb, "seconds": seconds}))


def memory(scale: int) -> None:
    print("2. peak memory of a fresh process (simulate through the library)")
    for replicas, trials in ((40, 10_000), (400, 100_000 // scale)):
        done = subprocess.run(
            [sys.executable, __file__, "--memory-child", str(replicas), str(trials)],
            capture_output=True,
            text=True,
            check=True,
        )
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        print(
            f"  {replicas:>4} replicas x {trials:>7,} trials: peak {figures['peak_mb']:7,.0f} MB, "
            f"{figures['seconds']:6.1f} s"
        )


def sweep_mixes(count: int, seed: int = 3) -> list[FleetModel]:
    """Mixes of 4-8 real H100 / A100 pools (8 GPUs) of one cloud, from the snapshot."""
    view = snapshot_view()
    view = view[
        view["gpu_model"].isin(["H100", "A100", "A100-80GB"])
        & (view["gpu_count"] == 8)
        & view["price_spot_usd_per_hour"].notna()
        & view["price_on_demand_usd_per_hour"].notna()
    ]
    by_type = [g for _, g in view.groupby(["cloud", "instance_type"]) if len(g) >= 3]
    rng = np.random.default_rng(seed)
    mixes = []
    for _ in range(count):
        group = by_type[rng.integers(len(by_type))]
        spot_pools = min(len(group), int(rng.integers(3, 8)))
        rows = group.sample(n=spot_pools, random_state=int(rng.integers(1 << 31)))
        pools = [_spot_pool(row, int(rng.integers(1, 3))) for row in rows.itertuples()]
        first = rows.iloc[0]
        price = float(first.price_on_demand_usd_per_hour)
        pools.append(
            PoolModel(
                "od",
                first.cloud,
                first.region,
                None,
                "on-demand",
                int(rng.integers(0, 3)),
                price,
                price,
            )
        )
        mixes.append(
            FleetModel(
                pools=tuple(pools),
                replicas=4,
                horizon_hours=HORIZON,
                cold_start_hours=1 / 6,
                request_rate_per_s=2.0,
                request_duration_s=20.0,
                overprovision=int(rng.integers(0, 3)),
                fallback_after_hours=0.25 if rng.random() < 0.5 else None,
                on_preemption="next-pool" if rng.random() < 0.5 else "relaunch-same-pool",
                zone_correlation=0.4,
                region_correlation=0.1,
            )
        )
    return mixes


def _spot_pool(row, count: int) -> PoolModel:  # type: ignore[no-untyped-def]
    band = (
        (row.interruption_band_lower_pct / 100, row.interruption_band_upper_pct / 100)
        if row.interruption_band_lower_pct == row.interruption_band_lower_pct
        else WORST_BAND
    )
    zone = row.zone_id if row.cloud == "aws" else row.zone
    return PoolModel(
        name=f"{row.cloud} {row.region} {zone} {row.instance_type}",
        cloud=row.cloud,
        region=row.region,
        zone=zone if isinstance(zone, str) else None,
        market="spot",
        count=count,
        price_per_hour=float(row.price_spot_usd_per_hour),
        on_demand_price_per_hour=float(row.price_on_demand_usd_per_hour),
        hazard=Hazard.band(*band),
        notice_seconds=NOTICE_SECONDS[row.cloud],
        **RISK,
    )


def sweep(scale: int) -> None:
    mixes = sweep_mixes(1000 // scale)
    clouds = {c: sum(1 for m in mixes if m.pools[0].cloud == c) for c in ("aws", "gcp", "azure")}
    sizes = [len(m.pools) for m in mixes]
    print(
        f"3. sweep of {len(mixes):,} mixes x 2,000 trials ({min(sizes)}-{max(sizes)} pools; "
        + ", ".join(f"{n} {c}" for c, n in clouds.items())
        + ")"
    )
    trials = 2000
    simulate_many(mixes[:2], 10, seed=7)
    start = time.perf_counter()
    simulate_many(mixes, trials, seed=7)
    elapsed = time.perf_counter() - start
    fast = line(f"compiled engine, {default_workers()} threads", len(mixes) * trials, elapsed)
    print(f"  sweep wall time: {elapsed:.2f} s")
    sample = mixes[: 20 // scale]
    start = time.perf_counter()
    for model in sample:
        simulate_reference(model, 100, np.random.default_rng(7))
    slow = line(
        "per-event heapq loop, 1 thread (sample)", len(sample) * 100, time.perf_counter() - start
    )
    print(
        f"  speed-up: {fast / slow:,.0f}x; the reference would need {len(mixes) * trials / slow / 60:,.1f} min"
    )


def cold_start(folder: Path) -> None:
    print("4. first run after installation: spotadvisor simulate, dense fleet, 10,000 trials")
    path = dense_fleet_file(folder)
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "XDG_CACHE_HOME": cache}
        first = cli_seconds(path, 10_000, env)
        second = cli_seconds(path, 10_000, env)
    print(f"  first run, kernels compiled into an empty cache: {first:6.1f} s")
    print(f"  second run, kernels loaded from the cache:        {second:6.1f} s")


def main() -> None:
    """Run the cases and print the figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a tenth of the work (smoke test)")
    parser.add_argument("--skip-cold", action="store_true", help="skip the first-run case")
    parser.add_argument("--memory-child", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(*args.memory_child)
        return
    scale = 10 if args.quick else 1
    print(f"cores available: {default_workers()}")
    with tempfile.TemporaryDirectory() as tmp:
        dense(Path(tmp), scale)
        memory(scale)
        sweep(scale)
        if not args.skip_cold:
            cold_start(Path(tmp))


if __name__ == "__main__":
    main()
