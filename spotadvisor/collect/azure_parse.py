"""Pure parsing of Azure Retail Prices items, and the VM-size and region names.

Nothing here calls a network or reads a file; ``collect.azure`` feeds these functions
what its thin ``get_*`` functions (``collect.azure_api``) brought back. Resource Graph
rows are parsed in ``collect.azure_graph_parse``, usage details in
``collect.azure_usage_parse``.

Retail Prices (``prices.azure.com/api/retail/prices``)
    One item per meter: on-demand and spot are separate items of one ``armSkuName``
    (spot items have ``skuName``/``meterName`` ending in `` Spot``); Windows items have
    "Windows" in ``productName``; "Low Priority" items are the old Batch/VMSS
    low-priority market. Only Linux on-demand and spot ``Consumption`` items in USD
    per hour become offers.
Names
    Sizes come back from the APIs in whatever case the service uses
    (``standard_nc24ads_a100_v4``); ``canonical_size`` writes them with the
    ``Standard_...`` spelling offers use, ``azure_region`` normalises region names, and
    ``check_names`` keeps what goes into KQL and OData literals safe.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from spotadvisor.errors import UsageError
from spotadvisor.gpus import AZURE_NON_GPU_PREFIXES, instance_gpus
from spotadvisor.importers.base import join_flags, judge_spot
from spotadvisor.schema import OFFERS, validate

PRICE_COLUMNS = [
    "region",
    "instance_type",
    "price_on_demand_usd_per_hour",
    "price_spot_usd_per_hour",
]

_HOURS = re.compile(r"^\s*(\d+(?:\.\d+)?)\s+hours?\s*$", re.IGNORECASE)
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_\-]+$")
_SPOT_SUFFIX = " Spot"
_LOW_PRIORITY = "Low Priority"


# -- names ----------------------------------------------------------------------------


def canonical_size(name: str, known: Mapping[str, str]) -> str:
    """A VM size in the ``Standard_...`` spelling offers use.

    Parameters
    ----------
    name
        The size as an API wrote it, in any case (``standard_nc24ads_a100_v4``).
    known
        Lower-case size -> its canonical spelling (``size_lookup``).

    Returns
    -------
    str
        The known spelling; else the name with its prefix written ``Standard_`` (the
        rest as given).
    """
    text = name.strip()
    found = known.get(text.lower())
    if found is not None:
        return found
    prefix, sep, rest = text.partition("_")
    if sep and prefix.lower() in ("standard", "basic"):
        return f"{prefix.capitalize()}_{rest}"
    return text


def size_lookup(sizes: Iterable[str]) -> dict[str, str]:
    """Lower-case size -> size, for ``canonical_size``."""
    return {s.lower(): s for s in sizes}


def azure_region(name: object) -> str | None:
    """An ARM region name (``eastus2``) from ``EastUS2``, ``eastus2`` or ``East US 2``."""
    if name is None or (isinstance(name, float) and math.isnan(name)):
        return None
    text = "".join(str(name).split()).lower()
    return text or None


def check_names(values: Sequence[str], what: str, option: str, example: str) -> None:
    """Sizes, regions and ids go into KQL and OData literals: letters, digits, ``_`` and
    ``-`` only.

    Raises
    ------
    UsageError
        For a value with any other character.
    """
    for value in values:
        if not _SAFE_NAME.match(value):
            raise UsageError(
                f"{value!r} is not a valid Azure {what}",
                field=option,
                fix=f"give {what}s as Azure spells them, e.g. {example}",
            )


# -- Retail Prices --------------------------------------------------------------------


def retail_filter(region: str, sizes: Sequence[str]) -> str:
    """The OData ``$filter`` for one region's Linux and Windows VM meters of ``sizes``.

    Filter values are case-sensitive (API version 2023-01-01-preview and later). When
    every size is an N-series size (``Standard_N...``), one ``contains(armSkuName,
    'Standard_N')`` clause fetches them all (``contains`` is the function Microsoft's
    own Retail Prices examples use); otherwise each size is asked for with ``eq``,
    joined by ``or``. The caller keeps only the sizes it asked for.
    """
    base = (
        f"serviceName eq 'Virtual Machines' and armRegionName eq '{region}' "
        "and priceType eq 'Consumption'"
    )
    if sizes and all(s.startswith("Standard_N") for s in sizes):
        return f"{base} and contains(armSkuName, 'Standard_N')"
    wanted = " or ".join(f"armSkuName eq '{s}'" for s in sizes)
    return f"{base} and ({wanted})"


def _hours(unit: object) -> float | None:
    """Hours per unit of ``unitOfMeasure`` (``1 Hour`` -> 1, ``10 Hours`` -> 10), or None."""
    match = _HOURS.match(str(unit or ""))
    if not match:
        return None
    hours = float(match.group(1))
    return hours if hours > 0 else None


def _price_number(item: Mapping[str, Any]) -> float | None:
    for key in ("retailPrice", "unitPrice"):
        value = item.get(key)
        if value is None or isinstance(value, bool):
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        if math.isfinite(number):
            return number
    return None


def parse_retail_prices(
    items: Iterable[Mapping[str, Any]],
    *,
    notes: list[str] | None = None,
    known_sizes: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Linux on-demand and spot prices [USD/h] per region and size from Retail Prices items.

    Kept: ``type`` ``Consumption`` items in USD whose unit is hours. Dropped (and
    counted in ``notes``): other price types (``DevTestConsumption``, ``Reservation``),
    Windows items ("Windows" in ``productName``), "Low Priority" items, other
    currencies, non-hourly units and items without a price. A ``N Hours`` unit is
    divided down to one hour. ``armSkuName`` is matched without regard to case
    (``standard_nc24ads_a100_v4`` is ``Standard_NC24ads_A100_v4``). Where several items
    give one (region, size, market), the primary meter region and then the newest
    ``effectiveStartDate`` win; two items that still tie with different prices are a
    conflict: neither is used and a note names both meters. The result never depends on
    the order of the items or how they were paged.

    Parameters
    ----------
    items
        The ``Items`` of every page.
    notes
        When given, one line per kind of dropped item (and per conflict) is appended.
    known_sizes
        Lower-case size -> canonical spelling (``size_lookup``); sizes not in it are
        written with the ``Standard_`` prefix (see ``canonical_size``).

    Returns
    -------
    pandas.DataFrame
        ``PRICE_COLUMNS``; a price is NaN when its market has no item. A price of 0.0 is
        kept as 0.0 here (``assemble_offers`` reads it as unknown).
    """
    dropped: Counter[str] = Counter()
    known = known_sizes or {}
    # (region, size, market) -> (rank, price, meters giving that price at that rank)
    rows: dict[tuple[str, str, str], tuple[tuple[bool, str], float, set[str]]] = {}
    conflicts: dict[tuple[str, str, str], set[str]] = {}
    for item in items:
        read = _retail_item(item, known)
        if isinstance(read, str):
            dropped[read] += 1
            continue
        key, rank, hourly, label = read
        held = rows.get(key)
        if held is None or rank > held[0]:
            rows[key] = (rank, hourly, {label})
            conflicts.pop(key, None)
        elif rank == held[0]:
            held[2].add(label)
            if hourly != held[1]:
                conflicts.setdefault(key, set()).update(held[2])
    for key in sorted(conflicts):
        del rows[key]
        if notes is not None:
            region, size, market = key
            meters = "; ".join(sorted(conflicts[key]))
            notes.append(
                f"retail prices: conflict, no {'spot' if market == 'spot' else 'on-demand'} "
                f"price for {size} in {region}: equally ranked meters disagree: {meters}"
            )
    if notes is not None and dropped:
        listed = ", ".join(f"{n} {what}" for what, n in sorted(dropped.items()))
        notes.append(f"retail prices: dropped {sum(dropped.values())} item(s): {listed}")
    table: dict[tuple[str, str], dict[str, Any]] = {}
    for (region, size, market), (_, price, _meters) in sorted(rows.items()):
        row = table.setdefault(
            (region, size),
            {
                "region": region,
                "instance_type": size,
                "price_on_demand_usd_per_hour": np.nan,
                "price_spot_usd_per_hour": np.nan,
            },
        )
        column = "price_spot_usd_per_hour" if market == "spot" else "price_on_demand_usd_per_hour"
        row[column] = price
    return pd.DataFrame(list(table.values()), columns=PRICE_COLUMNS)


def _retail_item(
    item: Mapping[str, Any], known: Mapping[str, str]
) -> tuple[tuple[str, str, str], tuple[bool, str], float, str] | str:
    """``((region, size, market), rank, price [USD/h], meter label)`` of a kept item, or
    why it is dropped."""
    if str(item.get("type", item.get("priceType", ""))) != "Consumption":
        return f"price type {item.get('type')!r}"
    sku, meter = str(item.get("skuName") or ""), str(item.get("meterName") or "")
    if "Windows" in str(item.get("productName") or ""):
        return "Windows"
    if _LOW_PRIORITY in sku or _LOW_PRIORITY in meter:
        return "Low Priority"
    currency = str(item.get("currencyCode") or "USD")
    if currency != "USD":
        return f"currency {currency}"
    hours = _hours(item.get("unitOfMeasure"))
    if hours is None:
        return f"unit {item.get('unitOfMeasure')!r}"
    price = _price_number(item)
    region, size = item.get("armRegionName"), item.get("armSkuName")
    if price is None or price < 0 or not region or not size:
        return "no price, region or size"
    market = "spot" if sku.endswith(_SPOT_SUFFIX) or meter.endswith(_SPOT_SUFFIX) else "od"
    rank = (bool(item.get("isPrimaryMeterRegion", True)), str(item.get("effectiveStartDate")))
    hourly = price / hours
    label = f"{meter or sku} ({item.get('meterId') or 'no meter id'}) at {hourly:g}"
    return (str(region), canonical_size(str(size), known), market), rank, hourly, label


def assemble_offers(
    prices: pd.DataFrame, *, source: str, as_of: datetime
) -> tuple[pd.DataFrame, list[str]]:
    """Regional Azure offers from ``parse_retail_prices`` rows.

    Azure prices spot per region, so every offer is regional (``zone`` and ``zone_id``
    empty). GPUs come from the reference (``gpus.instance_gpus``); sizes with FPGAs
    (``AZURE_NON_GPU_PREFIXES``) are skipped, sizes the reference does not know are
    kept with empty GPU columns and ``gpu_unknown``. The Retail Prices API gives no
    vCPU or memory figures, so those stay empty. Flags follow the catalog importers:
    ``on_demand_price_missing`` / ``spot_price_missing`` (no meter), ``price_zero`` (a
    0.0 price, read as unknown, never as free), ``spot_price_filler``,
    ``spot_above_on_demand`` and ``spot_price_floor_10pct``.

    Returns
    -------
    tuple
        Validated offers and notes.
    """
    notes: list[str] = []
    sizes = prices["instance_type"].astype(str)
    non_gpu = sizes.str.startswith(AZURE_NON_GPU_PREFIXES)
    if non_gpu.any():
        notes.append(
            f"skipped {int(non_gpu.sum())} price row(s) of sizes without GPUs (FPGA): "
            + ", ".join(sorted(set(sizes[non_gpu])))
        )
    kept = prices.loc[~non_gpu].reset_index(drop=True)
    od_raw = pd.to_numeric(kept["price_on_demand_usd_per_hour"]).astype(float)
    spot_raw = pd.to_numeric(kept["price_spot_usd_per_hour"]).astype(float)
    zero = (od_raw == 0.0) | (spot_raw == 0.0)
    od, spot = od_raw.mask(od_raw == 0.0), spot_raw.mask(spot_raw == 0.0)
    spot, judged = judge_spot(od, spot)
    judged_flags = [[f if isinstance(f, str) else None for f in j.tolist()] for j in judged]
    records = []
    columns = zip(
        kept["region"].tolist(),
        kept["instance_type"].astype(str).tolist(),
        od_raw.tolist(),
        spot_raw.tolist(),
        od.tolist(),
        spot.tolist(),
        zero.tolist(),
        strict=True,
    )
    for i, (region, size, od_in, spot_in, od_out, spot_out, is_zero) in enumerate(columns):
        reference = instance_gpus("azure", size)
        flags: list[str | None] = [j[i] for j in judged_flags]
        if math.isnan(od_in):
            flags.append("on_demand_price_missing")
        if math.isnan(spot_in):
            flags.append("spot_price_missing")
        if is_zero:
            flags.append("price_zero")
        if reference is None:
            flags.append("gpu_unknown")
        records.append(
            {
                "cloud": "azure",
                "region": region,
                "zone": None,
                "zone_id": None,
                "instance_type": size,
                "gpu_model": reference.model if reference else None,
                "gpu_count": reference.count if reference else None,
                "gpu_memory_gb": reference.memory_gb if reference else None,
                "vcpus": None,
                "memory_gib": None,
                "price_on_demand_usd_per_hour": od_out,
                "price_spot_usd_per_hour": spot_out,
                "interruption_band": None,
                "interruption_band_lower_pct": None,
                "interruption_band_upper_pct": None,
                "placement_score": None,
                "quality_flags": join_flags(*dict.fromkeys(f for f in flags if f)),
                "source": source,
                "as_of": pd.Timestamp(as_of),
            }
        )
    frame = pd.DataFrame(records, columns=OFFERS.column_names)
    flagged: Counter[str] = Counter()
    for text in frame["quality_flags"].dropna():
        flagged.update(str(text).split(";"))
    notes += [f"{n} offer(s) flagged {flag}" for flag, n in sorted(flagged.items())]
    return validate(frame, OFFERS, origin=source), notes
