"""Shared pieces of the SkyPilot catalog importers.

Recognising the three catalogs from a file's head, reading cells and prices, judging spot
against on-demand, building and validating the offers frame, the summary notes, and
reading CSV files into batches. The importers keep the catalogs' known faults visible as
``quality_flags`` instead of passing them on as prices:

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

import csv
import io
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from spotadvisor.errors import UsageError
from spotadvisor.importers.base import (
    ImportBatch,
    default_source,
    flag_where,
    join_flags,
    read_text,
    resolve_as_of,
)
from spotadvisor.regions import gcp_region_of_zone, is_aws_zone_id
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

GCP_PRICE_SENTINEL = 700.0  # [USD/h] GCP catalog placeholder for "not offered here"

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
        if all(is_aws_zone_id(z) for z in zones):
            return "aws"
        if all(gcp_region_of_zone(z) is not None for z in zones):
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


def row_location(label: Hashable) -> str:
    """Where a row is in its file: its line number when the frame came from read_csv."""
    if isinstance(label, int | np.integer):
        return f"line {int(label) + 2}"  # +1 for the header, +1 for 1-based lines
    return f"row {label!r}"


def require_columns(rows: pd.DataFrame, columns: Sequence[str], origin: str) -> None:
    """Refuse a catalog that lacks any of ``columns``, naming the first missing one."""
    missing = [c for c in columns if c not in rows.columns]
    if missing:
        raise UsageError(
            f"missing column(s) {', '.join(missing)}",
            file=origin,
            field=missing[0],
            fix=f"give the SkyPilot catalog CSV as published, with the columns {','.join(columns)}",
        )


def cell_text(rows: pd.DataFrame, column: str) -> pd.Series:
    """Stripped cell text, with an empty string for empty cells."""
    return rows[column].fillna("").astype(str).str.strip()


def cell_numbers(rows: pd.DataFrame, column: str, origin: str) -> pd.Series:
    """Cells as floats; NaN for empty cells.

    Raises
    ------
    UsageError
        For a cell that is not a number, naming its line.
    """
    text = cell_text(rows, column)
    blank = text.isin(["", "nan", "NaN"])
    values = pd.to_numeric(text.where(~blank), errors="coerce").astype(float)
    bad = ~blank & values.isna()
    if bad.any():
        label = bad[bad].index[0]
        raise UsageError(
            f"{text[label]!r} at {row_location(label)} is not a number",
            file=origin,
            field=column,
            fix="write numbers with a decimal point and leave unknown values empty",
        )
    return values


def join_flag_columns(parts: Sequence[pd.Series], index: pd.Index) -> pd.Series:
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
class PriceColumn:
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


def read_price(
    rows: pd.DataFrame, column: str, origin: str, *, sentinel: float | None
) -> PriceColumn:
    """Column ``column`` as a price: NaN for empty, zero and ``sentinel`` cells, with masks."""
    raw = cell_numbers(rows, column, origin)
    zero = raw == 0.0
    placeholder = raw == sentinel if sentinel is not None else pd.Series(False, index=raw.index)
    return PriceColumn(raw.mask(zero | placeholder), raw.isna(), zero, placeholder)


def price_column_flags(on_demand: PriceColumn, spot: PriceColumn) -> list[pd.Series]:
    """Flag columns for empty, zero and sentinel on-demand and spot prices."""
    return [
        flag_where(on_demand.empty, "on_demand_price_missing"),
        flag_where(spot.empty, "spot_price_missing"),
        flag_where(on_demand.zero | spot.zero, "price_zero"),
        flag_where(on_demand.sentinel | spot.sentinel, "price_sentinel"),
    ]


# -- building offers -----------------------------------------------------------------


def offers_frame(
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


def blank_to_none(values: pd.Series) -> pd.Series:
    """Empty strings as None (object dtype)."""
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


def import_summary(rows_in: int, offers: pd.DataFrame, skipped: Sequence[str]) -> list[str]:
    """The import's notes: rows in and offers out, the skipped rows, one note per flag kind."""
    return [
        f"{rows_in} catalog row(s) read, {len(offers)} offer(s) out",
        *skipped,
        *_flag_notes(offers["quality_flags"]),
    ]


# -- reading files -------------------------------------------------------------------


def read_catalog_csv(path: Path) -> pd.DataFrame:
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


def read_each(
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
        offers, notes = parse(
            read_catalog_csv(path), source=source_name, as_of=when, origin=str(path)
        )
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
