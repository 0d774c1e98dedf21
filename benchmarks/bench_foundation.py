"""Time the foundation's hot paths and print the figures (never asserted in tests).

    python benchmarks/bench_foundation.py [SHARED_DATA_DIR]

Measures: reading the embedded snapshot, an `offers` query over it, importing the
largest public files into a fresh store, and re-importing them (the idempotent path).
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from spotadvisor.catalog import OfferFilter, filter_offers, offers_view, sort_offers
from spotadvisor.ingest import import_files
from spotadvisor.schema import INTERRUPTION_HISTORY, OFFERS, SPOT_PRICE_HISTORY
from spotadvisor.snapshot import read_snapshot_table
from spotadvisor.store import Store

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[1]


def timed(label: str, fn: Callable[[], T], repeat: int = 5) -> T:
    """Run ``fn`` ``repeat`` times; print the best and median wall time [ms]."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    print(f"{label:<58} best {times[0]:8.1f} ms   median {times[len(times) // 2]:8.1f} ms")
    return result  # type: ignore[return-value]


def main() -> None:
    """Print the timings."""
    shared = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "data"
    offers = timed("read snapshot offers (2,474 rows)", lambda: read_snapshot_table(OFFERS))
    bands = timed(
        "read snapshot interruption_history (3,912 rows)",
        lambda: read_snapshot_table(INTERRUPTION_HISTORY),
    )
    timed(
        "read snapshot spot_price_history (16,890 rows)",
        lambda: read_snapshot_table(SPOT_PRICE_HISTORY),
    )
    view = timed(
        "offers view: freshest per pool + bands + derived", lambda: offers_view(offers, bands)
    )
    spec = OfferFilter(gpu=("H100", "A100-80GB"), regions=("us-*", "eu*"))
    timed(
        "filter (2 GPUs, 2 region globs) + sort by gpu-price",
        lambda: sort_offers(filter_offers(view, spec)),
    )
    if not shared.is_dir():
        print(f"(public samples not found at {shared}: import timings skipped)")
        return
    files = [
        shared
        / "aws-spot-price-history/aws-spot-price-history_2022-05-31_6h_all-types_azid_ericpauley.tsv",
        shared
        / "aws-spot-price-history/aws_spot_price_history_p2_p3_2019-12_2020-03_training_on_a_dime.csv",
        shared / "aws-spot-advisor/spot-advisor-data_spotinfo_2025-06-28.json",
        shared / "skypilot-catalog",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "bench.duckdb")
        report = timed(
            "import 4 sources into a fresh store (first run)",
            lambda: import_files(store, files),
            repeat=1,
        )
        rows = sum(r.rows for r in report.results)
        print(f"{'':<58} {rows:,} rows written")
        again = timed(
            "re-import the same files (nothing new)", lambda: import_files(store, files), repeat=3
        )
        print(
            f"{'':<58} {sum(r.inserted for r in again.results)} inserted, "
            f"{sum(r.unchanged for r in again.results):,} unchanged"
        )


if __name__ == "__main__":
    main()
