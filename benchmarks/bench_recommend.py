"""Time the default `recommend` search on the embedded snapshot and print the figures.

    python benchmarks/bench_recommend.py

Runs `spotadvisor recommend --gpu H100 --replicas 4` (all three clouds, 2,000 trials per
mix in the full evaluation, finalists refined to 0.25 points) and a `--quick` one, through
the library, and prints the wall time and how many candidates and trials each stage
handled.
"""

from __future__ import annotations

import time
from pathlib import Path
from tempfile import TemporaryDirectory

from spotadvisor.config import parse_fleet
from spotadvisor.recommend import HostFilter, recommend
from spotadvisor.sim.sweep import default_workers
from spotadvisor.store import Store


def run(label: str, trials: int) -> None:
    """One search; prints its figures."""
    fleet = parse_fleet(
        {"workload": {"replicas": 4, "gpus_per_replica": 8, "gpu": ["H100"]}, "trials": trials},
        origin="bench",
    )
    with TemporaryDirectory() as tmp:
        start = time.perf_counter()
        rec = recommend(Store(Path(tmp) / "empty.duckdb"), fleet, HostFilter(gpu=("H100",)), seed=7)
        elapsed = time.perf_counter() - start
    s = rec.search.stats
    print(
        f"{label:<38} {elapsed:6.2f} s   {s.generated:,} generated, {s.dominated:,} dominated, "
        f"{s.hopeless:,} hopeless, {s.short_run:,} screened x {s.short_trials:,}, "
        f"{s.full_run:,} evaluated x {s.full_trials:,}, {s.refined:,} of {s.finalists:,} "
        f"finalists refined (+{s.refine_trials:,}) ({s.simulated_trials:,} trials)"
    )


def main() -> None:
    """Print the timings."""
    print(f"cores available: {default_workers()}")
    run("recommend --gpu H100 --replicas 4", 2000)
    run("recommend ... --quick (400 trials)", 400)


if __name__ == "__main__":
    main()
