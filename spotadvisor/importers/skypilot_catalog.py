"""Importers for SkyPilot's GPU price catalogs: AWS and GCP ``v8/vms.csv``, Azure ``v6/vms.csv``.

Each catalog row is one instance type in one zone (AWS, GCP) or region (Azure) with its
on-demand and spot Linux price [USD/h]. The importers turn them into canonical ``offers``
rows and keep the catalogs' known faults visible as ``quality_flags`` instead of
passing them on as prices:

``on_demand_price_missing`` / ``spot_price_missing``
    The price cell is empty (for GCP: in the VM row or its accelerator row).
``price_zero``
    A price of exactly 0.0 (GCP a4 rows); read as unknown, never as free.
``price_sentinel``
    GCP's 700.0 placeholder for "not offered"; read as unknown.
``spot_price_filler``
    Spot equal to on-demand to 4 decimals: the catalog filled in a missing spot price
    with the on-demand one. Spot is set to unknown.
``spot_above_on_demand``
    Spot above on-demand beyond that rounding; kept, since the market can do this.
``spot_price_floor_10pct``
    Spot at exactly 10 % of on-demand: looks like a floor, not a market price; kept.
``gpu_price_missing``
    GCP only: no accelerator row for the VM's GPUs in its zone, so the price is unknown.
``gpu_count_corrected(catalog=N)`` / ``gpu_model_corrected(catalog=NAME)``
    The catalog disagrees with the reference in ``gpus.py``; the reference wins.
``gpu_memory_mismatch(catalog=GB)``
    AWS/GCP ``GpuInfo`` memory is more than 10 % off the nominal memory in either
    reading of its "MiB" (the catalogs mix MiB and MB).
``gpu_info_unreadable``
    ``GpuInfo`` is not the Python-literal dict the catalog normally holds.
``gpu_unverified`` / ``gpu_unknown``
    The instance type is not in the reference: GPU columns come from the catalog, or
    are empty when the catalog says nothing either.

Naming follows ``importers.base``: ``parse_*`` works on rows in memory (read with
``dtype=str, keep_default_na=False`` so an empty cell stays an empty string), ``read_*``
opens files.
"""

from __future__ import annotations

import ast
import csv
import io
import math
import re
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from spotadvisor import gpus
from spotadvisor.errors import UsageError
from spotadvisor.importers.base import (
    FileFormat,
    ImportBatch,
    default_source,
    join_flags,
    read_text,
    resolve_as_of,
)
from spotadvisor.regions import aws_region_of_zone_id, gcp_region_of_zone
from spotadvisor.schema import OFFERS, validate

AWS_COLUMNS = (
    "InstanceType", "AcceleratorName", "AcceleratorCount", "vCPUs", "MemoryGiB",
    "GpuInfo", "Price", "SpotPrice", "Region", "AvailabilityZone",
)  # fmt: skip
GCP_COLUMNS = (
    "InstanceType", "vCPUs", "MemoryGiB", "AcceleratorName", "AcceleratorCount",
    "GpuInfo", "Region", "AvailabilityZone", "Price", "SpotPrice",
)  # fmt: skip
AZURE_COLUMNS = (
    "InstanceType", "AcceleratorName", "AcceleratorCount", "vCPUs", "MemoryGiB",
    "GpuInfo", "Price", "SpotPrice", "Region", "Generation",
)  # fmt: skip

# Columns each parser reads; the rest of the header is only used to recognise the file.
_AWS_REQUIRED = AWS_COLUMNS
_GCP_REQUIRED = GCP_COLUMNS
_AZURE_REQUIRED = tuple(c for c in AZURE_COLUMNS if c not in ("GpuInfo", "Generation"))

GCP_PRICE_SENTINEL = 700.0  # [USD/h] GCP catalog placeholder for "not offered here"
MEMORY_TOLERANCE = 0.10  # relative, between GpuInfo memory and nominal memory

_MB_PER_MIB = 1.048576
_AWS_ZONE_ID = re.compile(r"^[a-z]+\d(?:-[a-z]+\d+)?-az\d+$")
_GCP_ZONE = re.compile(r"^[a-z]+-[a-z]+\d+-[a-z]$")
_SNIFF_ROWS = 50

_FLAG_MEANINGS = {
    "on_demand_price_missing": "on-demand price empty in the catalog",
    "spot_price_missing": "spot price empty in the catalog",
    "price_zero": "a price of exactly 0.0, read as unknown",
    "price_sentinel": f"GCP placeholder price {GCP_PRICE_SENTINEL:g}, read as unknown",
    "spot_price_filler": "spot equal to on-demand to 4 decimals (filled in); spot set to unknown",
    "spot_above_on_demand": "spot above on-demand; kept",
    "spot_price_floor_10pct": "spot exactly 10 % of on-demand, a floor rather than a market price",
    "gpu_price_missing": "no accelerator row for the VM's GPUs in its zone; price unknown",
    "gpu_count_corrected": "catalog GPU count differs from the reference; reference used",
    "gpu_model_corrected": "catalog GPU name differs from the reference; reference used",
    "gpu_memory_mismatch": "catalog GPU memory more than 10 % off nominal",
    "gpu_info_unreadable": "GpuInfo is not a readable dict",
    "gpu_unverified": "instance type not in the GPU reference; catalog GPU facts used",
    "gpu_unknown": "instance type not in the GPU reference and no GPU in the catalog",
}

CatalogKind = Literal["aws", "gcp", "azure"]


# -- recognising files ---------------------------------------------------------------


def sniff_aws(head: str) -> bool:
    """True when ``head`` (the first ~64 KB of a file) is a SkyPilot AWS catalog."""
    return _catalog_kind(head) == "aws"


def sniff_gcp(head: str) -> bool:
    """True when ``head`` (the first ~64 KB of a file) is a SkyPilot GCP catalog."""
    return _catalog_kind(head) == "gcp"


def sniff_azure(head: str) -> bool:
    """True when ``head`` (the first ~64 KB of a file) is a SkyPilot Azure catalog."""
    return _catalog_kind(head) == "azure"


def _catalog_kind(head: str) -> CatalogKind | None:
    """Which catalog ``head`` is, from its header and, if needed, its zone values.

    AWS and GCP headers hold the same ten names (AWS may add ``Arch``), so when the
    order is not decisive the zones tell them apart: AWS gives zone IDs (``use1-az4``),
    GCP zone names (``us-central1-a``).
    """
    header, rows = _head_table(head)
    names = set(header)
    if len(names) != len(header):
        return None
    candidates: set[CatalogKind] = set()
    if names >= set(AWS_COLUMNS) and names - set(AWS_COLUMNS) <= {"Arch"}:
        candidates.add("aws")
    if names == set(GCP_COLUMNS):
        candidates.add("gcp")
    if names >= set(AZURE_COLUMNS) and "AvailabilityZone" not in names:
        candidates.add("azure")
    if len(candidates) <= 1:
        return next(iter(candidates), None)
    return _aws_or_gcp(header, rows)


def _aws_or_gcp(header: list[str], rows: list[dict[str, str]]) -> CatalogKind | None:
    zones = [r["AvailabilityZone"] for r in rows if r.get("AvailabilityZone")]
    if zones:
        if all(_AWS_ZONE_ID.match(z) for z in zones):
            return "aws"
        if all(_GCP_ZONE.match(z) for z in zones):
            return "gcp"
        return None
    if tuple(header[: len(AWS_COLUMNS)]) == AWS_COLUMNS:
        return "aws"
    if tuple(header) == GCP_COLUMNS:
        return "gcp"
    return None


def _head_table(head: str) -> tuple[list[str], list[dict[str, str]]]:
    """Header and first data rows of a CSV head; a row cut off by the 64 KB limit is dropped."""
    lines = head.lstrip("\ufeff").splitlines()
    if len(lines) > 1 and not head.endswith(("\n", "\r")):
        lines = lines[:-1]
    parsed = list(csv.reader(lines[: _SNIFF_ROWS + 1]))
    if not parsed:
        return [], []
    header = [name.strip() for name in parsed[0]]
    rows = [dict(zip(header, row, strict=True)) for row in parsed[1:] if len(row) == len(header)]
    return header, rows


# -- cell helpers --------------------------------------------------------------------


def _where(label: Hashable) -> str:
    """Where a row is in its file: its line number when the frame came from read_csv."""
    if isinstance(label, int | np.integer):
        return f"line {int(label) + 2}"  # +1 for the header, +1 for 1-based lines
    return f"row {label!r}"


def _require(rows: pd.DataFrame, columns: Sequence[str], origin: str) -> None:
    missing = [c for c in columns if c not in rows.columns]
    if missing:
        raise UsageError(
            f"missing column(s) {', '.join(missing)}",
            file=origin,
            field=missing[0],
            fix=f"give the SkyPilot catalog CSV as published, with the columns {','.join(columns)}",
        )


def _text(rows: pd.DataFrame, column: str) -> pd.Series:
    """Stripped cell text, with an empty string for empty cells."""
    return rows[column].fillna("").astype(str).str.strip()


def _numbers(rows: pd.DataFrame, column: str, origin: str) -> pd.Series:
    """Cells as floats; NaN for empty cells.

    Raises
    ------
    UsageError
        For a cell that is not a number, naming its line.
    """
    text = _text(rows, column)
    blank = text.isin(["", "nan", "NaN"])
    values = pd.to_numeric(text.where(~blank), errors="coerce").astype(float)
    bad = ~blank & values.isna()
    if bad.any():
        label = bad[bad].index[0]
        raise UsageError(
            f"{text[label]!r} at {_where(label)} is not a number",
            file=origin,
            field=column,
            fix="write numbers with a decimal point and leave unknown values empty",
        )
    return values


def _flag(mask: pd.Series, name: str) -> pd.Series:
    """``name`` where ``mask`` is true, None elsewhere."""
    return mask.astype(bool).map({True: name, False: None})


def _join_flags(parts: Sequence[pd.Series], index: pd.Index) -> pd.Series:
    """Row-wise ';'-join of flag columns, each flag once, None when a row has none."""
    if not parts:
        return pd.Series(None, index=index, dtype=object)
    table = pd.concat(list(parts), axis=1)
    joined = [
        join_flags(*dict.fromkeys(f for f in row if isinstance(f, str)))
        for row in table.itertuples(index=False)
    ]
    return pd.Series(joined, index=index, dtype=object)


# -- prices --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Price:
    """One price column [USD/h] and why its unknown values are unknown.

    Attributes
    ----------
    value
        Price, NaN when empty, zero or a sentinel.
    empty, zero, sentinel
        Masks of the cells that were empty, exactly 0.0, or the GCP sentinel.
    """

    value: pd.Series
    empty: pd.Series
    zero: pd.Series
    sentinel: pd.Series


def _price(rows: pd.DataFrame, column: str, origin: str, *, sentinel: float | None) -> _Price:
    raw = _numbers(rows, column, origin)
    zero = raw == 0.0
    placeholder = raw == sentinel if sentinel is not None else pd.Series(False, index=raw.index)
    return _Price(raw.mask(zero | placeholder), raw.isna(), zero, placeholder)


def _price_flags(on_demand: _Price, spot: _Price) -> list[pd.Series]:
    return [
        _flag(on_demand.empty, "on_demand_price_missing"),
        _flag(spot.empty, "spot_price_missing"),
        _flag(on_demand.zero | spot.zero, "price_zero"),
        _flag(on_demand.sentinel | spot.sentinel, "price_sentinel"),
    ]


def _ten_thousandths(price: pd.Series) -> pd.Series:
    """Price in 1/10000 USD, rounded half up as the catalog does (10.18405 -> 101841).

    The small epsilon absorbs binary noise (10.18405 * 1e4 = 101840.49999...).
    """
    floored: pd.Series = np.floor(price * 10_000 + 0.5 + 1e-6)
    return floored


def _judge_spot(on_demand: pd.Series, spot: pd.Series) -> tuple[pd.Series, list[pd.Series]]:
    """Spot [USD/h] with filled-in values removed, and the flags about spot vs on-demand."""
    both = on_demand.notna() & spot.notna()
    filler = both & (_ten_thousandths(spot) == _ten_thousandths(on_demand))
    market = both & ~filler
    above = market & (spot > on_demand)
    floor = market & (_ten_thousandths(spot) == _ten_thousandths(on_demand * 0.1))
    flags = [
        _flag(filler, "spot_price_filler"),
        _flag(above, "spot_above_on_demand"),
        _flag(floor, "spot_price_floor_10pct"),
    ]
    return spot.mask(filler), flags


# -- GPUs ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _GpuFacts:
    """GPU columns of one instance type and the flags about them."""

    model: str | None
    count: float | None
    memory_gb: float | None
    flags: tuple[str, ...]


def _gpuinfo_mib(text: str) -> tuple[float | None, bool]:
    """Memory per whole GPU from a ``GpuInfo`` dict ["MiB"], and whether it was readable.

    Fractional instances (AWS g6f) give the slice's memory and ``GpuPartitionSize``;
    dividing gives the whole GPU's memory, comparable with nominal.
    """
    if not text:
        return None, True
    try:
        info = ast.literal_eval(text)
        gpu = info["Gpus"][0]
        mib = float(gpu["MemoryInfo"]["SizeInMiB"])
        share = float(gpu.get("GpuPartitionSize") or 1.0)
    except (ValueError, SyntaxError, TypeError, KeyError, IndexError, MemoryError):
        return None, False
    return (mib / share if 0 < share <= 1 else mib), True


def _memory_flag(mib: float | None, nominal_gb: float) -> str | None:
    """``gpu_memory_mismatch`` when neither the MiB nor the MB reading is near nominal."""
    if mib is None or mib <= 0:
        return None
    as_gb = mib * _MB_PER_MIB / 1000
    as_gib = mib / 1024
    if any(abs(v - nominal_gb) <= MEMORY_TOLERANCE * nominal_gb for v in (as_gb, as_gib)):
        return None
    return f"gpu_memory_mismatch(catalog={round(as_gb, 1):g})"


def _flag_text(value: str) -> str:
    """A catalog value made safe inside a flag (no spaces or separators)."""
    return re.sub(r"[\s;()]+", "_", value.strip())


def _model_flag(catalog_name: str, reference: gpus.InstanceGpus) -> str | None:
    named = gpus.canonical_gpu(catalog_name) if catalog_name else None
    if named is None:
        return (
            None if not catalog_name else f"gpu_model_corrected(catalog={_flag_text(catalog_name)})"
        )
    model, memory = named
    off_memory = (
        memory is not None and abs(memory - reference.memory_gb) > 0.1 * reference.memory_gb
    )
    if model != reference.model or off_memory:
        return f"gpu_model_corrected(catalog={_flag_text(catalog_name)})"
    return None


def _resolve_gpu(
    cloud: str,
    instance_type: str,
    catalog_name: str,
    catalog_count: float | None,
    catalog_mib: float | None,
) -> _GpuFacts:
    """GPU facts of one instance type: the reference where it knows, else the catalog."""
    reference = gpus.instance_gpus(cloud, instance_type)
    if reference is None:
        return _unverified_gpu(catalog_name, catalog_count, catalog_mib)
    flags = [
        f"gpu_count_corrected(catalog={catalog_count:g})"
        if catalog_count is not None and not math.isclose(catalog_count, reference.count)
        else None,
        _model_flag(catalog_name, reference),
        _memory_flag(catalog_mib, reference.memory_gb),
    ]
    return _GpuFacts(
        reference.model, reference.count, reference.memory_gb, tuple(f for f in flags if f)
    )


def _unverified_gpu(name: str, count: float | None, mib: float | None) -> _GpuFacts:
    """GPU facts from the catalog alone, for an instance type the reference lacks."""
    if not name and count is None:
        return _GpuFacts(None, None, None, ("gpu_unknown",))
    named = gpus.canonical_gpu(name) if name else None
    model = named[0] if named else (name or None)
    memory: float | None = named[1] if named else None
    if memory is None and model in gpus.GPU_MODELS:
        memory = gpus.GPU_MODELS[model].memory_gb
    flags = ["gpu_unverified"]
    if memory is None and mib:
        memory = float(round(mib / 1024))  # the GiB reading never overstates memory
    elif memory is not None and (mismatch := _memory_flag(mib, memory)):
        flags.append(mismatch)
    return _GpuFacts(model, count, memory, tuple(flags))


def _gpu_columns(
    cloud: str,
    instance_types: pd.Series,
    names: pd.Series,
    counts: pd.Series,
    gpu_infos: pd.Series | None,
) -> tuple[dict[str, pd.Series], pd.Series]:
    """``gpu_model``, ``gpu_count``, ``gpu_memory_gb`` per row, and a flag column.

    Facts are resolved once per distinct (type, name, count, GpuInfo) and broadcast.
    """
    infos = gpu_infos if gpu_infos is not None else pd.Series("", index=instance_types.index)
    cache: dict[tuple[str, str, float | None, str], tuple[_GpuFacts, bool]] = {}
    facts: list[_GpuFacts] = []
    unreadable: list[bool] = []
    catalog_counts = [None if math.isnan(c) else float(c) for c in counts]
    for key in zip(instance_types, names, catalog_counts, infos, strict=True):
        if key not in cache:
            mib, readable = _gpuinfo_mib(key[3]) if gpu_infos is not None else (None, True)
            cache[key] = (_resolve_gpu(cloud, key[0], key[1], key[2], mib), readable)
        facts.append(cache[key][0])
        unreadable.append(not cache[key][1])
    index = instance_types.index
    columns = {
        "gpu_model": pd.Series([f.model for f in facts], index=index, dtype="object"),
        "gpu_count": pd.Series([f.count for f in facts], index=index, dtype=float),
        "gpu_memory_gb": pd.Series([f.memory_gb for f in facts], index=index, dtype=float),
    }
    flags = _join_flags(
        [
            pd.Series([join_flags(*f.flags) for f in facts], index=index, dtype=object),
            _flag(pd.Series(unreadable, index=index), "gpu_info_unreadable"),
        ],
        index,
    )
    return columns, flags


# -- building offers -----------------------------------------------------------------


def _offers_frame(
    columns: dict[str, Any], *, source: str, as_of: datetime, origin: str
) -> pd.DataFrame:
    """Validated offers from per-row ``columns``; every other canonical column empty."""
    frame = pd.DataFrame(columns)
    for name in OFFERS.column_names:
        if name not in frame.columns:
            frame[name] = None
    frame["source"] = source
    frame["as_of"] = pd.Timestamp(as_of)
    return validate(frame[OFFERS.column_names], OFFERS, origin=origin)


def _blank_to_none(values: pd.Series) -> pd.Series:
    return values.astype(object).where(values != "", None)


def _flag_notes(quality_flags: pd.Series) -> list[str]:
    """One note per flag kind: how many offers carry it and what it means."""
    kinds: Counter[str] = Counter()
    for flags in quality_flags.dropna():
        kinds.update({flag.partition("(")[0] for flag in str(flags).split(";")})
    return [
        f"{count} offer(s) flagged {kind}: {_FLAG_MEANINGS.get(kind, kind)}"
        for kind, count in sorted(kinds.items())
    ]


def _summary(rows_in: int, offers: pd.DataFrame, skipped: Sequence[str]) -> list[str]:
    return [
        f"{rows_in} catalog row(s) read, {len(offers)} offer(s) out",
        *skipped,
        *_flag_notes(offers["quality_flags"]),
    ]


# -- AWS -----------------------------------------------------------------------------


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
    _require(rows, _AWS_REQUIRED, origin)
    region = _text(rows, "Region")
    zone_id = _text(rows, "AvailabilityZone")
    _check_aws_regions(region, zone_id, origin)
    on_demand = _price(rows, "Price", origin, sentinel=None)
    spot = _price(rows, "SpotPrice", origin, sentinel=None)
    spot_value, spot_flags = _judge_spot(on_demand.value, spot.value)
    instance_type = _text(rows, "InstanceType")
    gpu, gpu_flags = _gpu_columns(
        "aws",
        instance_type,
        _text(rows, "AcceleratorName"),
        _numbers(rows, "AcceleratorCount", origin),
        _text(rows, "GpuInfo"),
    )
    columns = {
        "cloud": "aws",
        "region": region,
        "zone_id": _blank_to_none(zone_id),
        "instance_type": instance_type,
        **gpu,
        "vcpus": _numbers(rows, "vCPUs", origin),
        "memory_gib": _numbers(rows, "MemoryGiB", origin),
        "price_on_demand_usd_per_hour": on_demand.value,
        "price_spot_usd_per_hour": spot_value,
        "quality_flags": _join_flags(
            [*_price_flags(on_demand, spot), *spot_flags, gpu_flags], rows.index
        ),
    }
    offers = _offers_frame(columns, source=source, as_of=as_of, origin=origin)
    return offers, _summary(len(rows), offers, [])


def _check_aws_regions(region: pd.Series, zone_id: pd.Series, origin: str) -> None:
    """Every row's Region must be the region its zone ID belongs to."""
    known = {z: aws_region_of_zone_id(z, origin=origin) for z in zone_id.unique() if z}
    expected = zone_id.map(known)
    bad = expected.notna() & (expected != region)
    if bad.any():
        label = bad[bad].index[0]
        raise UsageError(
            f"{_where(label)}: Region {region[label]!r} does not match zone ID "
            f"{zone_id[label]!r}, which is in {expected[label]}",
            file=origin,
            field="Region",
            fix="fix the row's Region or AvailabilityZone; the catalog may be corrupted",
        )


# -- Azure ---------------------------------------------------------------------------


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
    _require(rows, _AZURE_REQUIRED, origin)
    instance_type = _text(rows, "InstanceType")
    non_gpu = instance_type.str.startswith(gpus.AZURE_NON_GPU_PREFIXES)
    kept = rows[~non_gpu]
    on_demand = _price(kept, "Price", origin, sentinel=None)
    spot = _price(kept, "SpotPrice", origin, sentinel=None)
    spot_value, spot_flags = _judge_spot(on_demand.value, spot.value)
    gpu, gpu_flags = _gpu_columns(
        "azure",
        instance_type[~non_gpu],
        _text(kept, "AcceleratorName"),
        _numbers(kept, "AcceleratorCount", origin),
        None,  # Azure's GpuInfo is only the GPU name again
    )
    columns = {
        "cloud": "azure",
        "region": _text(kept, "Region"),
        "instance_type": instance_type[~non_gpu],
        **gpu,
        "vcpus": _numbers(kept, "vCPUs", origin),
        "memory_gib": _numbers(kept, "MemoryGiB", origin),
        "price_on_demand_usd_per_hour": on_demand.value,
        "price_spot_usd_per_hour": spot_value,
        "quality_flags": _join_flags(
            [*_price_flags(on_demand, spot), *spot_flags, gpu_flags], kept.index
        ),
    }
    offers = _offers_frame(columns, source=source, as_of=as_of, origin=origin)
    skipped = []
    if non_gpu.any():
        sizes = sorted(set(instance_type[non_gpu]))
        skipped.append(
            f"skipped {int(non_gpu.sum())} row(s) of sizes without GPUs (FPGA): {', '.join(sizes)}"
        )
    return offers, _summary(len(rows), offers, skipped)


# -- GCP -----------------------------------------------------------------------------


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
    instance_type = _text(rows, "InstanceType")
    accelerator_rows = rows[instance_type == ""]
    vm_rows = rows[instance_type != ""]
    machines = _text(vm_rows, "InstanceType")
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
            "zone": _text(gpu_vms, "AvailabilityZone"),
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
    return offers, _summary(len(rows), offers, skipped)


def _check_gcp_rows(rows: pd.DataFrame, origin: str) -> None:
    """Columns present, numbers well-formed and zones inside their regions.

    ``read_gcp_catalog`` runs this per file before combining, so errors name the file.
    """
    _require(rows, _GCP_REQUIRED, origin)
    for column in ("vCPUs", "MemoryGiB", "AcceleratorCount", "Price", "SpotPrice"):
        _numbers(rows, column, origin)
    region = _text(rows, "Region")
    zone = _text(rows, "AvailabilityZone")
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
            f"{_where(label)}: Region {region[label]!r} does not match zone {zone[label]!r}",
            file=origin,
            field="Region",
            fix="fix the row's Region or AvailabilityZone; the catalog may be corrupted",
        )


def _accelerator_parts(rows: pd.DataFrame, origin: str) -> pd.DataFrame:
    """GPU price parts keyed by zone, accelerator name and GPU count.

    Columns ``acc_*`` hold the prices [USD/h] and the masks of ``_Price``, plus the
    ``GpuInfo`` text for the memory check.
    """
    on_demand = _price(rows, "Price", origin, sentinel=GCP_PRICE_SENTINEL)
    spot = _price(rows, "SpotPrice", origin, sentinel=GCP_PRICE_SENTINEL)
    parts = pd.DataFrame(
        {
            "zone": _text(rows, "AvailabilityZone"),
            "name": _text(rows, "AcceleratorName"),
            "count": _numbers(rows, "AcceleratorCount", origin),
            "acc_on_demand": on_demand.value,
            "acc_spot": spot.value,
            "acc_on_demand_empty": on_demand.empty,
            "acc_spot_empty": spot.empty,
            "acc_zero": on_demand.zero | spot.zero,
            "acc_sentinel": on_demand.sentinel | spot.sentinel,
            "acc_gpu_info": _text(rows, "GpuInfo"),
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
    on_demand = _price(vms, "Price", origin, sentinel=GCP_PRICE_SENTINEL)
    spot = _price(vms, "SpotPrice", origin, sentinel=GCP_PRICE_SENTINEL)
    found = matched["acc_gpu_info"].notna()
    # Sums of two 5-decimal prices: round away the binary noise (0.14679 + 0.56004).
    total_on_demand = (on_demand.value + matched["acc_on_demand"]).round(6)
    total_spot = (spot.value + matched["acc_spot"]).round(6)
    spot_value, spot_flags = _judge_spot(total_on_demand, total_spot)
    instance_type = _text(vms, "InstanceType")
    gpu, gpu_flags = _gpu_columns(
        "gcp",
        instance_type,
        matched["name"],
        pd.Series(np.nan, index=vms.index),  # the count is the join key, so it agrees
        matched["acc_gpu_info"].fillna(""),
    )
    vm_flags = _price_flags(on_demand, spot)
    accelerator_flags = _price_flags(
        _Price(
            matched["acc_on_demand"],
            matched["acc_on_demand_empty"].eq(True),  # NaN (no accelerator row) is False
            matched["acc_zero"].eq(True),
            matched["acc_sentinel"].eq(True),
        ),
        _Price(
            matched["acc_spot"],
            matched["acc_spot_empty"].eq(True),
            pd.Series(False, index=matched.index),
            pd.Series(False, index=matched.index),
        ),
    )
    price_flags = [*vm_flags, *accelerator_flags, _flag(~found, "gpu_price_missing")]
    columns = {
        "cloud": "gcp",
        "region": _text(vms, "Region"),
        "zone": _text(vms, "AvailabilityZone"),
        "instance_type": instance_type,
        **gpu,
        "vcpus": _numbers(vms, "vCPUs", origin),
        "memory_gib": _numbers(vms, "MemoryGiB", origin),
        "price_on_demand_usd_per_hour": total_on_demand,
        "price_spot_usd_per_hour": spot_value,
        "quality_flags": _join_flags([*price_flags, *spot_flags, gpu_flags], vms.index),
    }
    return _offers_frame(columns, source=source, as_of=as_of, origin=origin)


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


# -- reading files -------------------------------------------------------------------


def _read_csv(path: Path) -> pd.DataFrame:
    """A catalog file as text cells; empty cells stay empty strings."""
    text = read_text(path)
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise UsageError(
            f"not a readable CSV file: {exc}",
            file=str(path),
            fix="give the catalog CSV as downloaded from skypilot-org/skypilot-catalog",
        ) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


Parser = Callable[..., tuple[pd.DataFrame, list[str]]]


def _read_each(
    paths: Sequence[Path], as_of: datetime | None, source: str | None, name: str, parse: Parser
) -> list[ImportBatch]:
    """One batch per file, all under one source name.

    Offers share a key across files only when the files overlap (two versions of one
    catalog); the store keeps the last file's, so the last batch says so.
    """
    source_name = source or default_source(name, paths)
    parsed = []
    for path in paths:
        when, as_of_note = resolve_as_of(path, as_of)
        offers, notes = parse(_read_csv(path), source=source_name, as_of=when, origin=str(path))
        parsed.append((path, offers, [as_of_note, *notes]))
    keys = pd.concat([offers for _, offers, _ in parsed])[list(OFFERS.key)] if parsed else None
    repeated = int(keys.duplicated().sum()) if keys is not None else 0
    if repeated:
        parsed[-1][2].append(
            f"{repeated} offer(s) also appear in an earlier file of this import; "
            "the store keeps the last file's"
        )
    return [
        ImportBatch(OFFERS, offers, source_name, str(path), tuple(notes))
        for path, offers, notes in parsed
    ]


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
    return _read_each(paths, as_of, source, "skypilot-aws", parse_aws_catalog)


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
    return _read_each(paths, as_of, source, "skypilot-azure", parse_azure_catalog)


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
        frame = _read_csv(path)
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


AWS_CATALOG = FileFormat(
    "skypilot-aws",
    "SkyPilot AWS catalog CSV (v8 vms.csv): on-demand and spot price per zone ID",
    sniff_aws,
    read_aws_catalog,
)
GCP_CATALOG = FileFormat(
    "skypilot-gcp",
    "SkyPilot GCP catalog CSV (v8 vms.csv): VM and accelerator rows, imported together",
    sniff_gcp,
    read_gcp_catalog,
)
AZURE_CATALOG = FileFormat(
    "skypilot-azure",
    "SkyPilot Azure catalog CSV (v6 vms.csv): on-demand and spot price per region",
    sniff_azure,
    read_azure_catalog,
)
