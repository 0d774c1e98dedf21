"""Pure parsing of AWS responses that no importer already covers.

The Price List API returns each product as a JSON *string*; placement scores come as
``{Region, AvailabilityZoneId, Score}``. Offers are assembled from the newest spot
price of each zone, the region's on-demand price and the zone's placement score.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from spotadvisor.errors import DataError
from spotadvisor.gpus import instance_gpus
from spotadvisor.importers.base import join_flags
from spotadvisor.schema import OFFERS, validate

ON_DEMAND_COLUMNS = [
    "region",
    "instance_type",
    "price_on_demand_usd_per_hour",
    "vcpus",
    "memory_gib",
    "gpu_count",
    "gpu_memory_gb_total",
]
_NUMBER = re.compile(r"([0-9]+(?:\.[0-9]+)?)")
# Spot products in order of preference for a zone's price.
LINUX_PRODUCTS = ("Linux/UNIX", "Linux/UNIX (Amazon VPC)")


def _number(text: object) -> float:
    match = _NUMBER.search(str(text or "").replace(",", ""))
    return float(match.group(1)) if match else float("nan")


def parse_pricing_products(
    items: Iterable[str | Mapping[str, Any]], *, origin: str
) -> pd.DataFrame:
    """On-demand Linux prices and hardware of EC2 products from ``pricing.get_products``.

    Parameters
    ----------
    items
        ``PriceList`` entries: JSON strings (as the API sends them) or decoded dicts.
    origin
        What the items came from, for errors.

    Returns
    -------
    pandas.DataFrame
        ``ON_DEMAND_COLUMNS``: price [USD/h], vCPUs, memory [GiB], GPUs, total GPU memory
        [GB]; one row per (region, instance type), products other than on-demand hourly
        USD prices skipped (e.g. Capacity Blocks, when the filter was not applied).

    Raises
    ------
    DataError
        When an item is not valid JSON or lacks the product or its price.
    """
    rows = []
    for number, item in enumerate(items):
        try:
            doc = json.loads(item) if isinstance(item, str) else dict(item)
            attributes = doc["product"]["attributes"]
            if attributes.get("marketoption", "OnDemand") != "OnDemand":
                continue
            price = _on_demand_price(doc["terms"])
        except (ValueError, KeyError, TypeError) as exc:
            raise DataError(
                f"price list item {number} is not a product with an on-demand price ({exc})",
                file=origin,
                field="PriceList",
                fix="retry; if it persists the Price List API changed its format",
            ) from None
        if price is None:
            continue
        rows.append(
            {
                "region": attributes.get("regionCode"),
                "instance_type": attributes.get("instanceType"),
                "price_on_demand_usd_per_hour": price,
                "vcpus": _number(attributes.get("vcpu")),
                "memory_gib": _number(attributes.get("memory")),
                "gpu_count": _number(attributes.get("gpu")),
                "gpu_memory_gb_total": _number(attributes.get("gpuMemory")),
            }
        )
    frame = pd.DataFrame(rows, columns=ON_DEMAND_COLUMNS)
    frame = frame.dropna(subset=["region", "instance_type"])
    return frame.drop_duplicates(["region", "instance_type"], keep="first").reset_index(drop=True)


def _on_demand_price(terms: Mapping[str, Any]) -> float | None:
    """The hourly USD price of the (single) on-demand term, or None without one."""
    for term in terms.get("OnDemand", {}).values():
        for dimension in term.get("priceDimensions", {}).values():
            usd = dimension.get("pricePerUnit", {}).get("USD")
            if usd is not None and str(dimension.get("unit", "")).lower().startswith("hr"):
                return float(usd)
    return None


def parse_placement_scores(items: Iterable[Mapping[str, Any]], instance_type: str) -> pd.DataFrame:
    """Placement scores [1-10] per region and zone ID for one instance type."""
    rows = [
        {
            "region": item.get("Region"),
            "zone_id": item.get("AvailabilityZoneId"),
            "instance_type": instance_type,
            "placement_score": float(item["Score"]),
        }
        for item in items
        if item.get("Score") is not None
    ]
    return pd.DataFrame(rows, columns=["region", "zone_id", "instance_type", "placement_score"])


def zone_keys(frame: pd.DataFrame) -> pd.Series:
    """Which zone each row is in: its zone ID when known, else its zone name.

    Zone IDs are the same in every account, names are not; but responses from older API
    versions, AWS-compatible endpoints and archived files carry names only, and keying
    on a missing ID would fold every zone of a region into one.
    """
    ids = frame["zone_id"].astype("object")
    names = frame["zone"].astype("object")
    return ids.where(ids.notna() & (ids != ""), "name:" + names.fillna(""))


def fill_zone_ids(records: list[dict[str, Any]], zone_ids: Mapping[str, str]) -> int:
    """Set ``AvailabilityZoneId`` from the account's name -> ID map where it is missing.

    Returns the number of records still without an ID (their zone is not in the map).
    """
    missing = 0
    for record in records:
        if record.get("AvailabilityZoneId"):
            continue
        zone_id = zone_ids.get(str(record.get("AvailabilityZone") or ""))
        if zone_id:
            record["AvailabilityZoneId"] = zone_id
        else:
            missing += 1
    return missing


def assemble_offers(
    spot_history: pd.DataFrame,
    on_demand: pd.DataFrame,
    placement: pd.DataFrame,
    *,
    source: str,
    as_of: datetime,
) -> pd.DataFrame:
    """AWS offers: newest Linux spot price per zone, the region's on-demand price, scores.

    Zones come from the spot price history, one row per zone ID, or per zone name for
    records without an ID (see ``zone_keys``); a region and type with an on-demand price
    but no spot history becomes one regional row without a spot price. GPU model, count
    and memory come from the reference (the Price List's own figures when the type is
    not in it, flagged ``gpu_unverified``).
    """
    spot = spot_history[spot_history["product"].isin(LINUX_PRODUCTS)].copy()
    spot["preference"] = spot["product"].map({p: i for i, p in enumerate(LINUX_PRODUCTS)})
    spot["zone_key"] = zone_keys(spot)
    newest = (
        spot.sort_values(["timestamp", "preference"], ascending=[False, True])
        .drop_duplicates(["region", "zone_key", "instance_type"])[
            ["region", "zone", "zone_id", "instance_type", "price_usd_per_hour"]
        ]
        .rename(columns={"price_usd_per_hour": "price_spot_usd_per_hour"})
    )
    zoned = newest.merge(on_demand, on=["region", "instance_type"], how="left")
    covered = set(zip(newest["region"], newest["instance_type"], strict=True))
    regional = on_demand[
        [
            (r, t) not in covered
            for r, t in zip(on_demand["region"], on_demand["instance_type"], strict=True)
        ]
    ].assign(zone=None, zone_id=None, price_spot_usd_per_hour=np.nan)
    rows = pd.concat([zoned, regional], ignore_index=True)
    if not placement.empty:
        rows = rows.merge(placement, on=["region", "zone_id", "instance_type"], how="left")
    else:
        rows["placement_score"] = np.nan
    records = [
        _offer({str(k): v for k, v in r.items()}, source, as_of) for r in rows.to_dict("records")
    ]
    frame = pd.DataFrame(records, columns=OFFERS.column_names)
    return validate(frame, OFFERS, origin=source)


def _known(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _offer(row: Mapping[str, Any], source: str, as_of: datetime) -> dict[str, Any]:
    reference = instance_gpus("aws", str(row["instance_type"]))
    flags: list[str | None] = []
    model: str | None = None
    count: Any = None
    memory: Any = None
    if reference is not None:
        model, count, memory = reference.model, reference.count, reference.memory_gb
    else:
        count, total = row.get("gpu_count"), row.get("gpu_memory_gb_total")
        if _known(count) and count and _known(total):
            memory = total / count
        flags.append("gpu_unverified" if _known(count) and count else "gpu_unknown")
    spot = row.get("price_spot_usd_per_hour")
    od = row.get("price_on_demand_usd_per_hour")
    if not _known(spot):
        flags.append("spot_price_missing")
    if not _known(od):
        flags.append("on_demand_price_missing")
    return {
        "cloud": "aws",
        "region": row["region"],
        "zone": row.get("zone"),
        "zone_id": row.get("zone_id"),
        "instance_type": row["instance_type"],
        "gpu_model": model,
        "gpu_count": count,
        "gpu_memory_gb": memory,
        "vcpus": row.get("vcpus"),
        "memory_gib": row.get("memory_gib"),
        "price_on_demand_usd_per_hour": od,
        "price_spot_usd_per_hour": spot,
        "interruption_band": None,
        "interruption_band_lower_pct": None,
        "interruption_band_upper_pct": None,
        "placement_score": row.get("placement_score"),
        "quality_flags": join_flags(*flags),
        "source": source,
        "as_of": as_of,
    }
