"""SkyPilot Azure catalog (``catalogs/v6/azure/vms.csv``): one row per size and region.

Rows are regional, so ``zone`` and ``zone_id`` stay empty; FPGA sizes are skipped and
``GpuInfo`` is not read (it only repeats the GPU name). ``parse_azure_catalog`` turns
rows into offers, ``read_azure_catalog`` reads files (one batch each), and
``AZURE_CATALOG`` is the registered file format.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import pandas as pd

from spotadvisor import gpus
from spotadvisor.importers.base import FileFormat, ImportBatch, judge_spot
from spotadvisor.importers.skypilot.common import (
    AZURE_COLUMNS,
    cell_numbers,
    cell_text,
    import_summary,
    join_flag_columns,
    offers_frame,
    price_column_flags,
    read_each,
    read_price,
    require_columns,
    sniff_azure,
)
from spotadvisor.importers.skypilot.gpu_facts import gpu_columns

# Columns the parser reads; the rest of the header is only used to recognise the file.
_AZURE_REQUIRED = tuple(c for c in AZURE_COLUMNS if c not in ("GpuInfo", "Generation"))


def parse_azure_catalog(
    rows: pd.DataFrame, *, source: str, as_of: datetime, origin: str
) -> tuple[pd.DataFrame, list[str]]:
    """Offers from the rows of a SkyPilot Azure catalog (``catalogs/v6/azure/vms.csv``).

    Azure rows are regional (``zone`` and ``zone_id`` empty). Sizes whose accelerators
    are not GPUs (``gpus.AZURE_NON_GPU_PREFIXES``, the NP FPGA sizes) are skipped;
    ``_Promo`` sizes are real offers of the same hardware.

    Parameters
    ----------
    rows
        The CSV read with ``dtype=str, keep_default_na=False``.
    source
        Provenance written into every row.
    as_of
        When the prices were true (UTC).
    origin
        The file the rows came from, for messages.

    Returns
    -------
    tuple
        The validated offers frame and human-readable notes (one line each).

    Raises
    ------
    UsageError
        When a column is missing or a number is malformed.
    """
    require_columns(rows, _AZURE_REQUIRED, origin)
    instance_type = cell_text(rows, "InstanceType")
    non_gpu = instance_type.str.startswith(gpus.AZURE_NON_GPU_PREFIXES)
    kept = rows[~non_gpu]
    on_demand = read_price(kept, "Price", origin, sentinel=None)
    spot = read_price(kept, "SpotPrice", origin, sentinel=None)
    spot_value, spot_flags = judge_spot(on_demand.value, spot.value)
    gpu, gpu_flags = gpu_columns(
        "azure",
        instance_type[~non_gpu],
        cell_text(kept, "AcceleratorName"),
        cell_numbers(kept, "AcceleratorCount", origin),
        None,  # Azure's GpuInfo is only the GPU name again
    )
    columns = {
        "cloud": "azure",
        "region": cell_text(kept, "Region"),
        "instance_type": instance_type[~non_gpu],
        **gpu,
        "vcpus": cell_numbers(kept, "vCPUs", origin),
        "memory_gib": cell_numbers(kept, "MemoryGiB", origin),
        "price_on_demand_usd_per_hour": on_demand.value,
        "price_spot_usd_per_hour": spot_value,
        "quality_flags": join_flag_columns(
            [*price_column_flags(on_demand, spot), *spot_flags, gpu_flags], kept.index
        ),
    }
    offers = offers_frame(columns, source=source, as_of=as_of, origin=origin)
    skipped = []
    if non_gpu.any():
        sizes = sorted(set(instance_type[non_gpu]))
        skipped.append(
            f"skipped {int(non_gpu.sum())} row(s) of sizes without GPUs (FPGA): {', '.join(sizes)}"
        )
    return offers, import_summary(len(rows), offers, skipped)


def read_azure_catalog(
    paths: Sequence[Path], as_of: datetime | None = None, source: str | None = None
) -> list[ImportBatch]:
    """Read SkyPilot Azure catalog files (optionally gzipped), one batch per file.

    Parameters
    ----------
    paths
        The files.
    as_of
        When the prices were true; else the date in the file name, else its mtime.
    source
        Provenance name; ``skypilot-azure:<files>`` by default.
    """
    return read_each(paths, as_of, source, "skypilot-azure", parse_azure_catalog)


AZURE_CATALOG = FileFormat(
    "skypilot-azure",
    "SkyPilot Azure catalog CSV (v6 vms.csv): on-demand and spot price per region",
    sniff_azure,
    read_azure_catalog,
)
