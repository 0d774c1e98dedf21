"""SkyPilot AWS catalog (``catalogs/v8/aws/vms.csv``): one row per instance type and zone.

``AvailabilityZone`` holds zone IDs, which go to ``zone_id`` after a check that each lies
in its row's ``Region``. ``parse_aws_catalog`` turns rows into offers,
``read_aws_catalog`` reads files (one batch each), and ``AWS_CATALOG`` is the registered
file format.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import pandas as pd

from spotadvisor.errors import UsageError
from spotadvisor.importers.base import FileFormat, ImportBatch, judge_spot
from spotadvisor.importers.skypilot.common import (
    AWS_COLUMNS,
    blank_to_none,
    cell_numbers,
    cell_text,
    import_summary,
    join_flag_columns,
    offers_frame,
    price_column_flags,
    read_each,
    read_price,
    require_columns,
    row_location,
    sniff_aws,
)
from spotadvisor.importers.skypilot.gpu_facts import gpu_columns
from spotadvisor.regions import aws_region_of_zone_id

# Columns the parser reads; the rest of the header is only used to recognise the file.
_AWS_REQUIRED = AWS_COLUMNS


def parse_aws_catalog(
    rows: pd.DataFrame, *, source: str, as_of: datetime, origin: str
) -> tuple[pd.DataFrame, list[str]]:
    """Offers from the rows of a SkyPilot AWS catalog (``catalogs/v8/aws/vms.csv``).

    ``AvailabilityZone`` holds zone IDs (``use1-az4``, Local Zones ``usw2-lax1-az1``);
    they go to ``zone_id`` and ``zone`` stays empty, since zone names differ per account.

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
        When a column is missing, a number is malformed, or a row's ``Region`` is not
        the region of its zone ID.
    """
    require_columns(rows, _AWS_REQUIRED, origin)
    region = cell_text(rows, "Region")
    zone_id = cell_text(rows, "AvailabilityZone")
    _check_aws_regions(region, zone_id, origin)
    on_demand = read_price(rows, "Price", origin, sentinel=None)
    spot = read_price(rows, "SpotPrice", origin, sentinel=None)
    spot_value, spot_flags = judge_spot(on_demand.value, spot.value)
    instance_type = cell_text(rows, "InstanceType")
    gpu, gpu_flags = gpu_columns(
        "aws",
        instance_type,
        cell_text(rows, "AcceleratorName"),
        cell_numbers(rows, "AcceleratorCount", origin),
        cell_text(rows, "GpuInfo"),
    )
    columns = {
        "cloud": "aws",
        "region": region,
        "zone_id": blank_to_none(zone_id),
        "instance_type": instance_type,
        **gpu,
        "vcpus": cell_numbers(rows, "vCPUs", origin),
        "memory_gib": cell_numbers(rows, "MemoryGiB", origin),
        "price_on_demand_usd_per_hour": on_demand.value,
        "price_spot_usd_per_hour": spot_value,
        "quality_flags": join_flag_columns(
            [*price_column_flags(on_demand, spot), *spot_flags, gpu_flags], rows.index
        ),
    }
    offers = offers_frame(columns, source=source, as_of=as_of, origin=origin)
    return offers, import_summary(len(rows), offers, [])


def _check_aws_regions(region: pd.Series, zone_id: pd.Series, origin: str) -> None:
    """Every row's Region must be the region its zone ID belongs to."""
    known = {z: aws_region_of_zone_id(z, origin=origin) for z in zone_id.unique() if z}
    expected = zone_id.map(known)
    bad = expected.notna() & (expected != region)
    if bad.any():
        label = bad[bad].index[0]
        raise UsageError(
            f"{row_location(label)}: Region {region[label]!r} does not match zone ID "
            f"{zone_id[label]!r}, which is in {expected[label]}",
            file=origin,
            field="Region",
            fix="fix the row's Region or AvailabilityZone; the catalog may be corrupted",
        )


def read_aws_catalog(
    paths: Sequence[Path], as_of: datetime | None = None, source: str | None = None
) -> list[ImportBatch]:
    """Read SkyPilot AWS catalog files (optionally gzipped), one batch per file.

    Parameters
    ----------
    paths
        The files.
    as_of
        When the prices were true; else the date in the file name, else its mtime.
    source
        Provenance name; ``skypilot-aws:<files>`` by default.
    """
    return read_each(paths, as_of, source, "skypilot-aws", parse_aws_catalog)


AWS_CATALOG = FileFormat(
    "skypilot-aws",
    "SkyPilot AWS catalog CSV (v8 vms.csv): on-demand and spot price per zone ID",
    sniff_aws,
    read_aws_catalog,
)
