"""Pure parsing of Azure Resource Graph ``SpotResources`` rows: eviction rates, spot prices.

Holds the KQL of the two queries ``collect azure`` runs per region
(``eviction_rate_query``, ``spot_price_history_query``) and the parsers of their rows:
eviction-rate bands per size and region (``microsoft.compute/skuspotevictionrate/
location``) -> ``interruption_history``, and Linux spot price histories
(``microsoft.compute/skuspotpricehistory/ostype/location``) -> ``spot_price_history``.
Sizes come back in whatever case the service uses (``standard_nc24ads_a100_v4``); they
are written with the ``Standard_...`` spelling offers use. Nothing here calls a network.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import pandas as pd

from spotadvisor.bands import parse_band
from spotadvisor.collect.azure_parse import azure_region, canonical_size
from spotadvisor.schema import INTERRUPTION_HISTORY, SPOT_PRICE_HISTORY, validate

EVICTION_RATE_TYPE = "microsoft.compute/skuspotevictionrate/location"
SPOT_PRICE_HISTORY_TYPE = "microsoft.compute/skuspotpricehistory/ostype/location"
EVICTION_SOURCE = "azure-resource-graph:eviction-rate"
SPOT_HISTORY_SOURCE = "azure-resource-graph:spot-price-history"
LINUX = "Linux"


def _kql_list(values: Sequence[str]) -> str:
    return ", ".join(f"'{v.lower()}'" for v in values)


def eviction_rate_query(sizes: Sequence[str], regions: Sequence[str]) -> str:
    """The Resource Graph query for the eviction-rate band of ``sizes`` in ``regions``."""
    return (
        f"SpotResources | where type =~ '{EVICTION_RATE_TYPE}' "
        f"| where sku.name in~ ({_kql_list(sizes)}) and location in~ ({_kql_list(regions)}) "
        "| project skuName=tostring(sku.name), location, "
        "evictionRate=tostring(properties.evictionRate)"
    )


def spot_price_history_query(sizes: Sequence[str], regions: Sequence[str]) -> str:
    """The Resource Graph query for the Linux spot price history of ``sizes`` in ``regions``."""
    return (
        f"SpotResources | where type =~ '{SPOT_PRICE_HISTORY_TYPE}' "
        f"| where sku.name in~ ({_kql_list(sizes)}) and location in~ ({_kql_list(regions)}) "
        "and properties.osType =~ 'linux' "
        "| project skuName=tostring(sku.name), osType=tostring(properties.osType), location, "
        "spotPrices=properties.spotPrices"
    )


def _row_text(row: Mapping[str, Any], *names: str) -> str:
    """The first of ``names`` in a row (any case; dotted paths into nested objects)."""
    lowered = {str(k).lower(): v for k, v in row.items()}
    for name in names:
        value: Any = lowered.get(name.lower())
        if value is None and "." in name:
            value = row
            for part in name.split("."):
                value = value.get(part) if isinstance(value, Mapping) else None
        if value is not None and str(value).strip():
            return str(value).strip()
    return ""


def parse_eviction_rates(
    rows: Iterable[Mapping[str, Any]],
    *,
    known_sizes: Mapping[str, str],
    as_of: datetime,
    source: str = EVICTION_SOURCE,
) -> tuple[pd.DataFrame, list[str]]:
    """Interruption bands from Resource Graph eviction-rate rows.

    Azure publishes, per VM size and region, the share of spot capacity evicted over
    the trailing 28 days as a band label (``0-5``, ``5-10``, ``10-15``, ``15-20``,
    ``20+``). Labels are parsed leniently with ``bands.parse_band`` (``20+`` -> ``>20%``,
    ``5-10%`` and ``5 - 10`` too); a label that is not a band is skipped and counted in
    the notes. Azure does not split eviction rates by OS; the rows are written with os
    ``Linux``, the OS offers are priced for.

    Parameters
    ----------
    rows
        Rows with ``skuName``, ``location`` and ``evictionRate`` (the projection of
        ``eviction_rate_query``; the unprojected ``sku.name`` and
        ``properties.evictionRate`` are read too).
    known_sizes
        Lower-case size -> canonical spelling (``size_lookup``).
    as_of
        The collection time (UTC).
    source
        Provenance.

    Returns
    -------
    tuple
        Validated ``interruption_history`` rows and notes.
    """
    records = []
    unknown: Counter[str] = Counter()
    incomplete = 0
    for row in rows:
        size = _row_text(row, "skuName", "sku.name")
        region = azure_region(_row_text(row, "location"))
        label = _row_text(row, "evictionRate", "properties.evictionRate")
        if not size or not region:
            incomplete += 1
            continue
        band = parse_band(label) if label else None
        if band is None:
            unknown[label or "<empty>"] += 1
            continue
        records.append(
            {
                "cloud": "azure",
                "region": region,
                "instance_type": canonical_size(size, known_sizes),
                "os": LINUX,
                "interruption_band": band.label,
                "interruption_band_lower_pct": band.lower_pct,
                "interruption_band_upper_pct": band.upper_pct,
                "savings_pct": None,
                "source": source,
                "as_of": pd.Timestamp(as_of),
            }
        )
    notes = []
    if unknown:
        listed = ", ".join(f"{label!r} ({n})" for label, n in sorted(unknown.items()))
        notes.append(
            f"skipped {sum(unknown.values())} eviction rate(s) that are not bands: {listed}"
        )
    if incomplete:
        notes.append(f"skipped {incomplete} eviction-rate row(s) without a size or location")
    frame = pd.DataFrame(records, columns=INTERRUPTION_HISTORY.column_names)
    frame = frame.drop_duplicates(["region", "instance_type"], keep="last")
    return validate(frame, INTERRUPTION_HISTORY, origin=source), notes


def parse_spot_price_history(
    rows: Iterable[Mapping[str, Any]],
    *,
    known_sizes: Mapping[str, str],
    as_of: datetime,
    source: str = SPOT_HISTORY_SOURCE,
) -> tuple[pd.DataFrame, list[str]]:
    """Spot price changes from Resource Graph spot-price-history rows.

    Each row is one size, OS and region with ``spotPrices``: a list of
    ``{priceUSD, effectiveDate}``, each price holding from its date until the next.
    Only Linux rows are kept (``osType``); prices are USD per hour; Azure's spot
    prices are regional, so ``zone`` stays empty. Entries without a number or a date,
    or with a negative price, are skipped and counted.

    Returns
    -------
    tuple
        Validated ``spot_price_history`` rows (product ``Linux``) and notes.
    """
    records = []
    other_os: Counter[str] = Counter()
    bad = 0
    for row in rows:
        os_type = _row_text(row, "osType", "properties.osType")
        if os_type.lower() != "linux":
            other_os[os_type or "<empty>"] += 1
            continue
        size = _row_text(row, "skuName", "sku.name")
        region = azure_region(_row_text(row, "location"))
        prices = _spot_prices(row)
        if not size or not region:
            bad += len(prices) or 1
            continue
        for entry in prices:
            price, when = _spot_entry(entry)
            if price is None or when is None:
                bad += 1
                continue
            records.append(
                {
                    "cloud": "azure",
                    "region": region,
                    "zone": None,
                    "zone_id": None,
                    "instance_type": canonical_size(size, known_sizes),
                    "product": LINUX,
                    "price_usd_per_hour": price,
                    "timestamp": when,
                    "source": source,
                    "as_of": pd.Timestamp(as_of),
                }
            )
    notes = []
    if other_os:
        listed = ", ".join(f"{os} ({n})" for os, n in sorted(other_os.items()))
        notes.append(f"skipped spot price histories of other OSes: {listed}")
    if bad:
        notes.append(f"skipped {bad} spot price entr(y/ies) without a size, price or date")
    frame = pd.DataFrame(records, columns=SPOT_PRICE_HISTORY.column_names)
    frame = frame.drop_duplicates(["region", "instance_type", "product", "timestamp"], keep="first")
    return validate(frame, SPOT_PRICE_HISTORY, origin=source), notes


def _spot_prices(row: Mapping[str, Any]) -> list[Any]:
    lowered = {str(k).lower(): v for k, v in row.items()}
    value = lowered.get("spotprices")
    if value is None and isinstance(row.get("properties"), Mapping):
        value = row["properties"].get("spotPrices")
    if isinstance(value, str):  # tostring() of the list
        try:
            value = json.loads(value)
        except ValueError:
            return [value]
    return list(value) if isinstance(value, list) else []


def _spot_entry(entry: Any) -> tuple[float | None, pd.Timestamp | None]:
    if not isinstance(entry, Mapping):
        return None, None
    lowered = {str(k).lower(): v for k, v in entry.items()}
    try:
        price = float(lowered.get("priceusd"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        price = None
    if price is not None and (not math.isfinite(price) or price < 0):
        price = None
    raw = lowered.get("effectivedate")
    when = pd.to_datetime(str(raw), utc=True, errors="coerce") if raw is not None else pd.NaT
    return price, None if pd.isna(when) else pd.Timestamp(when)
