"""Time `recommend` on the embedded snapshot and print the figures.

    python benchmarks/bench_recommend.py

1. Through the library: `recommend --gpu H100 --replicas 4` (all three clouds, 2,000
   trials per mix in the full evaluation, finalists refined to 0.25 points) and a
   `--quick` one, with how many candidates and trials each stage handled.
2. Through the command line in fresh processes, as a user runs it (start-up, data
   loading and rendering included; the compiled engine already in the cache):
   `spotadvisor recommend --gpu H100 --replicas 4` and
   `spotadvisor recommend --gpu A100,H100,L4,A10G --replicas 16`, each run three times
   (the median is quoted), with a check that two runs print the same JSON, byte for byte.

Nothing here is asserted; the figures are for docs/model.md and the changelog.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path
from tempfile import TemporaryDirectory

from spotadvisor.config import parse_fleet
from spotadvisor.recommend import HostFilter, recommend
from spotadvisor.sim.sweep import default_workers
from spotadvisor.store import Store

CLI = Path(sys.executable).with_name("spotadvisor")
COMMANDS = (
    ["--gpu", "H100", "--replicas", "4"],
    ["--gpu", "A100,H100,L4,A10G", "--replicas", "16"],
)


def run(label: str, trials: int) -> None:
    """One search through the library; prints its figures."""
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
        f"  {label:<36} {elapsed:6.2f} s   {s.generated:,} generated, {s.dominated:,} dominated, "
        f"{s.hopeless:,} hopeless, {s.short_run:,} screened x {s.short_trials:,}, "
        f"{s.full_run:,} evaluated x {s.full_trials:,}, {s.refined:,} of {s.finalists:,} "
        f"finalists refined (+{s.refine_trials:,}) ({s.simulated_trials:,} trials)"
    )


def command_line(arguments: list[str]) -> None:
    """Three fresh-process runs of one command; the median time and the JSON check."""
    seconds: list[float] = []
    outputs: list[str] = []
    with TemporaryDirectory() as tmp:
        base = [str(CLI), "--db", f"{tmp}/empty.duckdb", "recommend", *arguments]
        for _ in range(3):
            start = time.perf_counter()
            done = subprocess.run(
                [*base, "--format", "json"], capture_output=True, text=True, check=True
            )
            seconds.append(time.perf_counter() - start)
            outputs.append(done.stdout)
    same = "identical" if len(set(outputs)) == 1 else "DIFFERENT"
    runs = ", ".join(f"{s:.2f}" for s in seconds)
    print(
        f"  spotadvisor recommend {' '.join(arguments):<34} median {statistics.median(seconds):5.2f} s "
        f"({runs}); JSON of the runs {same}"
    )


def main() -> None:
    """Print the timings."""
    print(f"cores available: {default_workers()}")
    print("1. library")
    run("recommend --gpu H100 --replicas 4", 2000)
    run("recommend ... --quick (400 trials)", 400)
    print("2. command line, fresh processes")
    for arguments in COMMANDS:
        command_line(arguments)


if __name__ == "__main__":
    main()
