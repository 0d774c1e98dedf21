"""Time trace reading and policy replay over every public trace, and print the figures.

    python benchmarks/bench_replay.py [SHARED_DATA_DIR] [--offsets 20] [--window 7d]

Reads all trace families of the shared data (README section 4: Can't Be Late,
SpotHedge, SkyPilot raw, SpotServe, training-on-a-dime), groups them into fleets (one
folder or file and instance type each), and replays all six policies over ``--offsets``
windows with N = 3, K = 1 and a 2 min cold start. Prints the time to read, the time per
fleet (slowest first) and the total, and the number of events the replay walked
through against the ticks a tick-by-tick loop would have visited. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from spotadvisor.replay import POLICIES, ReplayConfig, group_traces, replay_fleet
from spotadvisor.traces import read_traces

ROOT = Path(__file__).resolve().parents[1]
FAMILIES = (
    "spot-traces-cant-be-late",
    "spot-traces-spothedge/data",
    "spot-traces-skypilot-spot-strategy",
    "spot-traces-spotserve",
    "spot-traces-training-on-a-dime",
)


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("shared", nargs="?", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--offsets", type=int, default=20)
    parser.add_argument("--window", type=float, default=7.0, help="window [days]")
    args = parser.parse_args()

    started = time.perf_counter()
    traces = read_traces([args.shared / family for family in FAMILIES])
    fleets = group_traces(traces)
    read_s = time.perf_counter() - started
    print(f"read {len(traces)} zone series into {len(fleets)} fleets in {read_s:.2f} s")

    config = ReplayConfig(
        replicas=3, overprovision=1, cold_start_seconds=120.0, spot_price_ratio=1 / 3
    )
    rows = []
    total_ticks = 0
    started = time.perf_counter()
    for fleet in fleets:
        t0 = time.perf_counter()
        result = replay_fleet(
            fleet, config, window_seconds=args.window * 86400.0, offsets=args.offsets
        )
        seconds = time.perf_counter() - t0
        ticks = result.window_ticks * len(result.starts) * len(POLICIES)
        total_ticks += ticks
        rows.append((seconds, fleet.label, fleet.counts.shape[0], result.window_ticks, ticks))
    replay_s = time.perf_counter() - started

    print(f"\n{'fleet':<58} {'zones':>5} {'window':>7} {'ticks':>9} {'time':>8}")
    for seconds, label, zones, window, ticks in sorted(rows, reverse=True)[:12]:
        print(f"{label:<58} {zones:>5} {window:>7} {ticks:>9,} {seconds * 1000:>6.0f} ms")
    runs = len(fleets) * len(POLICIES) * args.offsets
    print(
        f"\n{len(fleets)} fleets x {len(POLICIES)} policies x {args.offsets} offsets = "
        f"{runs:,} window replays in {replay_s:.2f} s "
        f"({1e6 * replay_s / runs:.0f} µs per window, "
        f"{1e9 * replay_s / total_ticks:.0f} ns per tick over {total_ticks:,} ticks)"
    )
    print(f"median fleet {1000 * float(np.median([r[0] for r in rows])):.0f} ms")
    print(f"total with reading: {read_s + replay_s:.2f} s")


if __name__ == "__main__":
    main()
