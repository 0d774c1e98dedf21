"""Time ``calibrate`` on every public trace, and print the figures.

    python benchmarks/bench_calibrate.py [SHARED_DATA_DIR] [--bootstrap N]

Reads every trace family of the shared data (README section 4: Can't Be Late,
SpotHedge, SkyPilot raw, SpotServe, training-on-a-dime) with
``spotadvisor.traces.read_traces`` and fits them together, as
``spotadvisor calibrate`` does: once per family and once for all of them. Nothing is
asserted: the figures are for humans and for the notes (docs/calibrate.md).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from spotadvisor.calibrate.run import Options, calibrate
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
    parser.add_argument("--bootstrap", type=int, default=200, help="bootstrap replicates")
    args = parser.parse_args()
    options = Options(replicates=args.bootstrap)
    everything = []
    print(f"{'family':40} {'series':>6} {'ticks':>9} {'read s':>7} {'fit s':>7}")
    for family in FAMILIES:
        folder = args.shared / family
        if not folder.exists():
            print(f"{family:40} (missing)")
            continue
        start = time.perf_counter()
        traces = read_traces([folder])
        read = time.perf_counter() - start
        start = time.perf_counter()
        calibrate(traces, options)
        fit = time.perf_counter() - start
        ticks = sum(t.counts.size for t in traces)
        print(f"{family:40} {len(traces):6d} {ticks:9,d} {read:7.2f} {fit:7.2f}")
        everything += traces
    start = time.perf_counter()
    result = calibrate(everything, options)
    fit = time.perf_counter() - start
    ticks = sum(t.counts.size for t in everything)
    print(f"{'all together':40} {len(everything):6d} {ticks:9,d} {'':>7} {fit:7.2f}")
    print(f"{len(result.pools)} pools, {len(result.sets)} aligned sets, bootstrap {args.bootstrap}")


if __name__ == "__main__":
    main()
