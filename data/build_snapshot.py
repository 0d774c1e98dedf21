"""Build the embedded snapshot (data/snapshot/) from the public samples in ../shared/data.

Every row goes through the same importers users run (``spotadvisor data import``); this
script only chooses the files, names their sources, dates the files that carry no date
of their own, and keeps GPU instance types.

Usage::

    python data/build_snapshot.py [SHARED_DATA_DIR] [--out data/snapshot]

SHARED_DATA_DIR defaults to ../shared/data next to the project.
"""

from __future__ import annotations

import argparse
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from spotadvisor import __version__
from spotadvisor.gpus import is_gpu_instance
from spotadvisor.importers.base import ImportBatch
from spotadvisor.importers.registry import FORMATS
from spotadvisor.schema import INTERRUPTION_HISTORY, OFFERS, SPOT_PRICE_HISTORY, Table
from spotadvisor.snapshot import write_snapshot

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Source:
    """One source of the snapshot: files of one format, with their provenance."""

    name: str
    file_format: str
    files: tuple[str, ...]
    upstream: str
    licence: str
    as_of: str | None = None  # None: the importer decides (date in name, newest record)
    as_of_basis: str = "the importer's default (date in the file name or newest record)"


def _advisor(file_name: str, upstream: str, licence: str) -> Source:
    """A Spot Advisor snapshot, named by its date."""
    date = re.search(r"\d{4}-\d{2}-\d{2}", file_name)
    return Source(
        name=f"aws-spot-advisor:{date.group(0) if date else file_name}",
        file_format="aws-spot-advisor",
        files=(f"aws-spot-advisor/{file_name}",),
        upstream=upstream,
        licence=licence,
        as_of_basis="the date in the file name (capture or embed date)",
    )


CATALOG_DATE_BASIS = (
    "not recorded in the file; lower bound: the file lists p6-b200 instances, which AWS "
    "launched on 2025-05-15 (GCP rows come from the same catalog repository snapshot)"
)

SOURCES: tuple[Source, ...] = (
    Source(
        name="skypilot-catalog:v8/aws@00148f2af367",
        file_format="skypilot-aws",
        files=(
            "skypilot-catalog/aws_v8_vms_gpu_subset_g6e12xl_p4d_p4de_p5_p5e_p5en.csv",
            "skypilot-catalog/aws_v8_vms_gpu_subset_g4dn_g5_g6_g6e_g6f_gr6_gr6f_p3_p3dn_p6b200.csv",
        ),
        upstream="skypilot-org/skypilot-catalog @ 00148f2af367 : catalogs/v8/aws/vms.csv (GPU rows)",
        licence="none stated (SkyPilot itself is Apache-2.0)",
        as_of="2025-05-15",
        as_of_basis=CATALOG_DATE_BASIS,
    ),
    Source(
        name="skypilot-catalog:v8/gcp@006059e0f18a",
        file_format="skypilot-gcp",
        files=(
            "skypilot-catalog/gcp_v8_vms_a2_a3_a4_gpu_subset.csv",
            "skypilot-catalog/gcp_v8_vms_g2_L4_subset.csv",
            "skypilot-catalog/gcp_v8_vms_gpu_accelerator_rows.csv",
        ),
        upstream="skypilot-org/skypilot-catalog @ 006059e0f18a : catalogs/v8/gcp/vms.csv (GPU rows)",
        licence="none stated (SkyPilot itself is Apache-2.0)",
        as_of="2025-05-15",
        as_of_basis=CATALOG_DATE_BASIS,
    ),
    Source(
        name="skypilot-catalog:v6/azure@098741e70562",
        file_format="skypilot-azure",
        files=("skypilot-catalog/azure_v6_vms_N-series_gpu_subset.csv",),
        upstream="skypilot-org/skypilot-catalog @ 098741e70562 : catalogs/v6/azure/vms.csv (N-series)",
        licence="none stated (SkyPilot itself is Apache-2.0)",
        as_of="2024-01-01",
        as_of_basis="not recorded in the file; lower bound: it lists NC/NCC H100 v5 sizes, so 2024 or later",
    ),
    *(
        _advisor(name, upstream, licence)
        for name, upstream, licence in (
            (
                "spot-advisor-data_spotinfo_2021-02-10.json",
                "alexei-led/spotinfo @ 364abc364e96 : public/spot/data/spot-advisor-data.json",
                "Apache-2.0",
            ),
            *(
                (
                    f"spot-advisor-data-2022-{day}_AWSSpotAdvisorCuration.json",
                    "Leeron-Luzzatto/AWSSpotAdvisorCuration @ b1c780e59646 : data/SpotAdvisor/",
                    "none stated",
                )
                for day in (
                    "01-09",
                    "04-06",
                    "04-22",
                    "05-28",
                    "06-02",
                    "06-17",
                    "06-24",
                    "06-26",
                    "07-09",
                    "07-16",
                    "07-23",
                )
            ),
            (
                "spot-advisor-data_spotinfo_2025-06-28.json",
                "alexei-led/spotinfo @ 5eedf20a9961 : internal/spot/data/spot-advisor-data.json",
                "Apache-2.0",
            ),
        )
    ),
    Source(
        name="aws-spot-price-history:training-on-a-dime-2019-12..2020-03",
        file_format="aws-spot-price-csv",
        files=(
            "aws-spot-price-history/aws_spot_price_history_p2_p3_2019-12_2020-03_training_on_a_dime.csv",
        ),
        upstream="stanford-futuredata/training_on_a_dime @ 85f659572ff9 : logs/aws/cost/ (merged)",
        licence="MIT",
        as_of_basis="the newest price change in the file",
    ),
    Source(
        name="aws-spot-price-history:ericpauley-2022-05-31",
        file_format="aws-spot-price-tsv",
        files=(
            "aws-spot-price-history/aws-spot-price-history_2022-05-31_6h_all-types_azid_ericpauley.tsv",
        ),
        upstream="ericpauley/aws-spot-price-history @ 99042f7b01c9 : prices/2022/05.tsv.zst",
        licence="none stated",
        as_of_basis="the newest price change in the file",
    ),
)


def _gpu_rows(batch: ImportBatch) -> pd.DataFrame:
    """Only GPU instance types; for bands, only Linux (what GPU serving runs)."""
    frame = batch.frame
    keep = [
        is_gpu_instance(c, t) for c, t in zip(frame["cloud"], frame["instance_type"], strict=True)
    ]
    frame = frame.loc[keep]
    if batch.table is INTERRUPTION_HISTORY:
        frame = frame.loc[frame["os"] == "Linux"]
    if batch.table is SPOT_PRICE_HISTORY:
        frame = frame.loc[frame["product"].isin(["Linux/UNIX", "Linux/UNIX (Amazon VPC)"])]
    return frame


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build(shared: Path, out: Path) -> dict[str, int]:
    """Import every source, keep GPU rows, write the snapshot; returns rows per table."""
    frames: dict[Table, list[pd.DataFrame]] = {
        OFFERS: [],
        INTERRUPTION_HISTORY: [],
        SPOT_PRICE_HISTORY: [],
    }
    provenance = []
    for spec in SOURCES:
        paths = [shared / f for f in spec.files]
        as_of = datetime.fromisoformat(spec.as_of).replace(tzinfo=UTC) if spec.as_of else None
        batches = FORMATS[spec.file_format].read(paths, as_of, spec.name)
        kept = 0
        for batch in batches:
            rows = _gpu_rows(batch)
            frames[batch.table].append(rows)
            kept += len(rows)
        as_ofs = sorted({ts.isoformat() for b in batches for ts in b.frame["as_of"].unique()})
        provenance.append(
            {
                "source": spec.name,
                "format": spec.file_format,
                "tables": sorted({b.table.name for b in batches}),
                "rows": kept,
                "as_of": as_ofs[-1] if as_ofs else None,
                "as_of_basis": spec.as_of_basis,
                "upstream": spec.upstream,
                "licence": spec.licence,
                "files": [{"name": p.name, "sha256": _sha256(p)} for p in paths],
            }
        )
        print(f"{spec.name}: {kept:,} rows", flush=True)
    combined = {
        table: pd.concat(parts, ignore_index=True) for table, parts in frames.items() if parts
    }
    write_snapshot(
        out,
        combined,
        {
            "built_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
            "built_by": f"spotadvisor {__version__} data/build_snapshot.py",
            "note": "GPU instance types only; bands and price history for Linux only.",
            "sources": provenance,
        },
    )
    return {table.name: len(frame) for table, frame in combined.items()}


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("shared", nargs="?", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=ROOT / "data" / "snapshot")
    args = parser.parse_args()
    counts = build(args.shared, args.out)
    for name, rows in counts.items():
        print(f"{name}: {rows:,} rows -> {args.out / (name + '.parquet')}")


if __name__ == "__main__":
    main()
