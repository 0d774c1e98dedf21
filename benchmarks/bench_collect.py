"""Time `collect aws` one region at a time against all regions in parallel, and print it.

    python benchmarks/bench_collect.py [SHARED_DATA_DIR]

Runs the test suite's fake AWS server (real wire formats, bodies from the public
samples) in its own process on 127.0.0.1, with 50 ms added to every response, and
collects 30 days of spot price history for every GPU type (pages of 100 events, as a
busy account sees many pages) and on-demand prices for 8 regions: first with 1 worker,
then with 16 (the default).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from spotadvisor.collect import aws  # noqa: E402
from spotadvisor.collect.aws import AwsOptions, collect_aws  # noqa: E402
from spotadvisor.gpus import aws_gpu_instance_types  # noqa: E402
from spotadvisor.store import Store  # noqa: E402
from tests.fakes.aws import DEFAULT_NOW, FakeAws  # noqa: E402

REGIONS = (
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "eu-west-1",
    "eu-west-2",
    "eu-central-1",
    "ap-northeast-1",
    "ap-south-1",
)
TYPES = tuple(aws_gpu_instance_types())  # the default: every GPU type
PAGE_SIZE = 100


def serve(shared: Path, conn: Any) -> None:
    """Child process: run the fake until told to stop."""
    with FakeAws(DEFAULT_NOW, data_dir=shared) as fake:
        fake.latency_s = 0.05
        conn.send(fake.url)
        conn.recv()
        conn.send(len(fake.requests))


def run(url: str, workers: int) -> tuple[float, int]:
    """One collection; returns (seconds, rows)."""
    with tempfile.TemporaryDirectory() as tmp:
        options = AwsOptions(
            regions=REGIONS,
            instance_types=TYPES,
            sources=frozenset({"spot-prices", "on-demand"}),
            endpoint_url=url,
            now=DEFAULT_NOW,
            workers=workers,
        )
        start = time.perf_counter()
        report = collect_aws(Store(Path(tmp) / "bench.duckdb"), options)
        elapsed = time.perf_counter() - start
    assert not report.failed, report.failed
    return elapsed, sum(r.rows for r in report.results)


def main() -> None:
    """Print the timings."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(name, "benchmark")
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    shared = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "data"
    aws.SPOT_HISTORY_PAGE_SIZE = PAGE_SIZE
    parent, child = multiprocessing.Pipe()
    server = multiprocessing.Process(target=serve, args=(shared, child), daemon=True)
    server.start()
    url = parent.recv()
    try:
        serial, rows = run(url, workers=1)
        parallel, _ = run(url, workers=16)
    finally:
        parent.send("stop")
        calls = parent.recv() // 2
        server.join(5)
    print(
        f"{len(REGIONS)} regions, {calls} API calls per collection, {rows:,} rows, 50 ms added per response"
    )
    print(f"  one region at a time (1 worker): {serial:6.2f} s")
    print(f"  regions in parallel (16 workers): {parallel:6.2f} s")
    print(f"  speed-up: {serial / parallel:.1f}x")


if __name__ == "__main__":
    main()
