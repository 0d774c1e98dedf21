"""SkyPilot GCP catalog (``catalogs/v8/gcp/vms.csv``): VM rows and accelerator rows.

A GPU machine's price is its VM row plus the accelerator row for its GPUs in the same
zone, so VM and accelerator rows (possibly from separate files) are read together into
one batch, checked per file first so errors name the file. ``parse_gcp_catalog`` turns
rows into offers, ``read_gcp_catalog`` reads the files, and ``GCP_CATALOG`` is the
registered file format.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from spotadvisor import gpus
from spotadvisor.errors import UsageError
from spotadvisor.importers.base import (
    FileFormat,
    ImportBatch,
    default_source,
    flag_where,
    judge_spot,
    resolve_as_of,
)
from spotadvisor.importers.skypilot.common import (
    GCP_COLUMNS,
    GCP_PRICE_SENTINEL,
    PriceColumn,
    cell_numbers,
    cell_text,
    import_summary,
    join_flag_columns,
    offers_frame,
    price_column_flags,
    read_catalog_csv,
    read_price,
    require_columns,
    row_location,
    sniff_gcp,
)
from spotadvisor.importers.skypilot.gpu_facts import gpu_columns
from spotadvisor.regions import gcp_region_of_zone
from spotadvisor.schema import OFFERS

# Columns the parser reads; the rest of the header is only used to recognise the file.
_GCP_REQUIRED = GCP_COLUMNS


def parse_gcp_catalog(
    rows: pd.DataFrame, *, source: str, as_of: datetime, origin: str
) -> tuple[pd.DataFrame, list[str]]:
    """Offers from the rows of a SkyPilot GCP catalog (``catalogs/v8/gcp/vms.csv``).

    GCP prices a GPU machine in two parts: the VM row (cores and memory, empty
    accelerator columns) and an accelerator row (empty ``InstanceType``) with the price
    of N GPUs in that zone. Each GPU VM row is composed with the accelerator row of its
    zone whose name and count ``gpus.gcp_accelerator`` gives, for on-demand and spot
    separately; the spot checks judge the composed prices. Accelerator rows no VM uses
    (GPUs attached to n1 hosts) and VM rows without GPUs are skipped with a note.

    Parameters
    ----------
    rows
        VM and accelerator rows together (one file, or several concatenated), read
        with ``dtype=str, keep_default_na=False``.
    source
        Provenance written into every row.
    as_of
        When the prices were true (UTC).
    origin
        The file(s) the rows came from, for messages.

    Returns
    -------
    tuple
        The validated offers frame and human-readable notes (one line each).

    Raises
    ------
    UsageError
        When a column is missing, a number is malformed, a zone is not in its row's
        region, two accelerator rows share a zone, name and count, or there are GPU VM
        rows but no accelerator rows at all.
    """
    _check_gcp_rows(rows, origin)
    instance_type = cell_text(rows, "InstanceType")
    accelerator_rows = rows[instance_type == ""]
    vm_rows = rows[instance_type != ""]
    machines = cell_text(vm_rows, "InstanceType")
    accelerator_of = {
        m: found for m in machines.unique() if (found := gpus.gcp_accelerator(m)) is not None
    }
    is_gpu = machines.isin(list(accelerator_of))
    if is_gpu.any() and accelerator_rows.empty:
        raise UsageError(
            f"{int(is_gpu.sum())} GPU VM row(s) but no accelerator rows: their prices "
            "exclude the GPUs, so they cannot be priced",
            file=origin,
            fix="pass the catalog's accelerator rows (the file with empty InstanceType) "
            "in the same import",
        )
    parts = _accelerator_parts(accelerator_rows, origin)
    gpu_vms = vm_rows[is_gpu]
    wanted = pd.DataFrame(
        {
            "zone": cell_text(gpu_vms, "AvailabilityZone"),
            "name": machines[is_gpu].map({m: f[1] for m, f in accelerator_of.items()}),
            "count": machines[is_gpu].map(
                {m: float(f[0].count) for m, f in accelerator_of.items()}
            ),
        }
    )
    matched = wanted.reset_index().merge(parts, on=["zone", "name", "count"], how="left")
    matched.index = pd.Index(matched.pop("index"))
    offers = _compose(gpu_vms, matched, source=source, as_of=as_of, origin=origin)
    used = parts.set_index(["zone", "name", "count"]).index.isin(
        wanted.set_index(["zone", "name", "count"]).index
    )
    skipped = _gcp_skip_notes(parts[~used], machines[~is_gpu])
    return offers, import_summary(len(rows), offers, skipped)


def _check_gcp_rows(rows: pd.DataFrame, origin: str) -> None:
    """Columns present, numbers well-formed and zones inside their regions.

    ``read_gcp_catalog`` runs this per file before combining, so errors name the file.
    """
    require_columns(rows, _GCP_REQUIRED, origin)
    for column in ("vCPUs", "MemoryGiB", "AcceleratorCount", "Price", "SpotPrice"):
        cell_numbers(rows, column, origin)
    region = cell_text(rows, "Region")
    zone = cell_text(rows, "AvailabilityZone")
    known = {z: gcp_region_of_zone(z) for z in zone.unique() if z}
    malformed = [z for z, r in known.items() if r is None]
    if malformed:
        raise UsageError(
            f"{malformed[0]!r} is not a GCP zone name",
            file=origin,
            field="AvailabilityZone",
            fix="GCP zones look like us-central1-a",
        )
    expected = zone.map(known)
    bad = expected.notna() & (expected != region)
    if bad.any():
        label = bad[bad].index[0]
        raise UsageError(
            f"{row_location(label)}: Region {region[label]!r} does not match zone {zone[label]!r}",
            file=origin,
            field="Region",
            fix="fix the row's Region or AvailabilityZone; the catalog may be corrupted",
        )


def _accelerator_parts(rows: pd.DataFrame, origin: str) -> pd.DataFrame:
    """GPU price parts keyed by zone, accelerator name and GPU count.

    Columns ``acc_*`` hold the prices [USD/h] and the masks of ``PriceColumn``, plus the
    ``GpuInfo`` text for the memory check.
    """
    on_demand = read_price(rows, "Price", origin, sentinel=GCP_PRICE_SENTINEL)
    spot = read_price(rows, "SpotPrice", origin, sentinel=GCP_PRICE_SENTINEL)
    parts = pd.DataFrame(
        {
            "zone": cell_text(rows, "AvailabilityZone"),
            "name": cell_text(rows, "AcceleratorName"),
            "count": cell_numbers(rows, "AcceleratorCount", origin),
            "acc_on_demand": on_demand.value,
            "acc_spot": spot.value,
            "acc_on_demand_empty": on_demand.empty,
            "acc_spot_empty": spot.empty,
            "acc_zero": on_demand.zero | spot.zero,
            "acc_sentinel": on_demand.sentinel | spot.sentinel,
            "acc_gpu_info": cell_text(rows, "GpuInfo"),
        }
    )
    # The same file given twice repeats rows exactly: harmless. Different prices for one
    # zone, accelerator and count would make the composed price a guess.
    parts = parts.drop_duplicates()
    twice = parts.duplicated(["zone", "name", "count"], keep=False)
    if twice.any():
        label = twice[twice].index[0]
        name, count, zone = parts.loc[label, ["name", "count", "zone"]].tolist()
        raise UsageError(
            f"accelerator rows disagree on the price of {name} x{count:g} in {zone}",
            file=origin,
            field="AcceleratorName",
            fix="import one version of the catalog at a time",
        )
    return parts


def _compose(
    vms: pd.DataFrame, matched: pd.DataFrame, *, source: str, as_of: datetime, origin: str
) -> pd.DataFrame:
    """Offers of GPU VM rows priced as VM part + accelerator part [USD/h]."""
    on_demand = read_price(vms, "Price", origin, sentinel=GCP_PRICE_SENTINEL)
    spot = read_price(vms, "SpotPrice", origin, sentinel=GCP_PRICE_SENTINEL)
    found = matched["acc_gpu_info"].notna()
    # Sums of two 5-decimal prices: round away the binary noise (0.14679 + 0.56004).
    total_on_demand = (on_demand.value + matched["acc_on_demand"]).round(6)
    total_spot = (spot.value + matched["acc_spot"]).round(6)
    spot_value, spot_flags = judge_spot(total_on_demand, total_spot)
    instance_type = cell_text(vms, "InstanceType")
    gpu, gpu_flags = gpu_columns(
        "gcp",
        instance_type,
        matched["name"],
        pd.Series(np.nan, index=vms.index),  # the count is the join key, so it agrees
        matched["acc_gpu_info"].fillna(""),
    )
    vm_flags = price_column_flags(on_demand, spot)
    accelerator_flags = price_column_flags(
        PriceColumn(
            matched["acc_on_demand"],
            matched["acc_on_demand_empty"].eq(True),  # NaN (no accelerator row) is False
            matched["acc_zero"].eq(True),
            matched["acc_sentinel"].eq(True),
        ),
        PriceColumn(
            matched["acc_spot"],
            matched["acc_spot_empty"].eq(True),
            pd.Series(False, index=matched.index),
            pd.Series(False, index=matched.index),
        ),
    )
    price_flags = [*vm_flags, *accelerator_flags, flag_where(~found, "gpu_price_missing")]
    columns = {
        "cloud": "gcp",
        "region": cell_text(vms, "Region"),
        "zone": cell_text(vms, "AvailabilityZone"),
        "instance_type": instance_type,
        **gpu,
        "vcpus": cell_numbers(vms, "vCPUs", origin),
        "memory_gib": cell_numbers(vms, "MemoryGiB", origin),
        "price_on_demand_usd_per_hour": total_on_demand,
        "price_spot_usd_per_hour": spot_value,
        "quality_flags": join_flag_columns([*price_flags, *spot_flags, gpu_flags], vms.index),
    }
    return offers_frame(columns, source=source, as_of=as_of, origin=origin)


def _gcp_skip_notes(unused: pd.DataFrame, non_gpu_machines: pd.Series) -> list[str]:
    notes = []
    if not unused.empty:
        by_name = unused["name"].value_counts().sort_index()
        names = ", ".join(f"{name} ({count})" for name, count in by_name.items())
        notes.append(
            f"skipped {len(unused)} accelerator row(s) no VM row of this import uses "
            f"(GPUs for hosts not given, e.g. n1): {names}"
        )
    if not non_gpu_machines.empty:
        examples = ", ".join(sorted(set(non_gpu_machines))[:5])
        notes.append(
            f"skipped {len(non_gpu_machines)} VM row(s) of machine types without GPUs "
            f"in the reference: {examples}"
        )
    return notes


def read_gcp_catalog(
    paths: Sequence[Path], as_of: datetime | None = None, source: str | None = None
) -> list[ImportBatch]:
    """Read SkyPilot GCP catalog files together, as one batch.

    VM rows and accelerator rows may come in separate files; they are combined before
    the VM prices are composed with their GPU prices. The batch's ``as_of`` is the
    earliest of the files'.

    Parameters
    ----------
    paths
        The files (optionally gzipped).
    as_of
        When the prices were true; else the date in each file name, else its mtime.
    source
        Provenance name; ``skypilot-gcp:<files>`` by default.
    """
    if not paths:
        return []
    source_name = source or default_source("skypilot-gcp", paths)
    frames = []
    stamps = []
    for path in paths:
        frame = read_catalog_csv(path)
        _check_gcp_rows(frame, str(path))
        frames.append(frame)
        stamps.append(resolve_as_of(path, as_of))
    when = min(stamp for stamp, _ in stamps)
    origin = ", ".join(str(p) for p in paths)
    offers, notes = parse_gcp_catalog(
        pd.concat(frames, ignore_index=True), source=source_name, as_of=when, origin=origin
    )
    as_of_notes = [note for _, note in stamps]
    if len(paths) > 1:
        as_of_notes.append(f"combined GCP batch: as_of {when:%Y-%m-%d %H:%M} UTC, the earliest")
    return [ImportBatch(OFFERS, offers, source_name, origin, (*as_of_notes, *notes))]


GCP_CATALOG = FileFormat(
    "skypilot-gcp",
    "SkyPilot GCP catalog CSV (v8 vms.csv): VM and accelerator rows, imported together",
    sniff_gcp,
    read_gcp_catalog,
)
