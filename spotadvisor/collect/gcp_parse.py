"""Pure parsing of Cloud Billing Catalog SKUs into GPU-machine part prices for ``collect gcp``.

GCP publishes no price per GPU machine. The Cloud Billing Catalog lists *parts*: a price
per vCPU-hour and per GiB-hour of memory for each machine family (``A2 Instance Core
running in Americas``), and a price per GPU-hour for each accelerator (``Nvidia Tesla
A100 GPU running in Americas``), for on-demand and spot. ``parse_gcp_skus`` turns SKUs
(the SDK's objects, or the REST JSON as dicts, camelCase or snake_case) into a frame of
parts; ``collect.gcp_offers`` composes machine offers from it, and
``collect.gcp_billing_export`` reads the BigQuery billing export.

SKU rules (``parse_gcp_skus``):

* spot: ``category.usageType == "Preemptible"`` **or** the description contains
  ``Spot Preemptible`` (some spot SKUs are labelled ``OnDemand``);
* skipped: commitments (``Commit1Yr``/``Commit3Yr``, ``Commitment v1: ...``), sole
  tenancy, custom and extended-memory parts, GPU virtual workstations, families that
  host no GPU (E2, N2, C3...), SKUs outside ``resourceFamily == "Compute"``, and prices
  in an unexpected unit or currency; ``frame.attrs["skipped"]`` counts them by reason;
* price: ``units + nanos / 1e9`` of the tiered rate that starts at 0 (proto3 JSON
  omits a 0 start), else of the only rate; cores and GPUs per ``h``, RAM per ``GiBy.h``;
* a SKU lists its regions in ``serviceRegions``: one part row per region. When two
  SKUs price the same part in a region, the one naming fewer regions wins (the more
  specific), then the lower SKU id.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

COMPUTE_ENGINE_SERVICE = "services/6F81-5844-456A"
COMPUTE_ENGINE_SERVICE_ID = "6F81-5844-456A"
COMPUTE_ENGINE_NAME = "Compute Engine"

ON_DEMAND, SPOT = "on-demand", "spot"
PARTS = ("core", "ram", "gpu")
UNITS = {"core": "h", "ram": "GiBy.h", "gpu": "h"}

PART_COLUMNS = [
    "sku_id",
    "description",
    "region",
    "part",
    "family",
    "accelerator",
    "market",
    "price_usd_per_unit_hour",
    "unit",
    "sku_regions",
]

# Pricing families of the machines spotadvisor prices: each has its own core and RAM SKUs.
GPU_HOST_FAMILIES = frozenset({"a2", "a3", "a3-ultra", "a4", "g2", "n1"})

_PREFIX = re.compile(r"^(?:spot preemptible|preemptible)\s+", re.IGNORECASE)
_LOCATION = re.compile(r"\s+(?:running\s+)?in\s+.*$", re.IGNORECASE)
_MACHINE_PART = re.compile(
    r"^(?P<family>[A-Z]\d+[A-Z]?(?: (?:Ultra|Mega|Edge))?) (?:Predefined )?Instance "
    r"(?P<part>Core|Ram)$",
    re.IGNORECASE,
)
# GPU names in SKU descriptions -> accelerator names the prices are listed under; the
# more specific patterns first (``A100 80GB`` before ``A100``).
_GPU_NAMES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bA100\s*80\s*GB\b", re.IGNORECASE), "A100-80GB"),
    (re.compile(r"\bA100\b", re.IGNORECASE), "A100"),
    (re.compile(r"\bH100\b.*\bMega\b", re.IGNORECASE), "H100-MEGA"),
    (re.compile(r"\bH100\b", re.IGNORECASE), "H100"),
    (re.compile(r"\bH200\b", re.IGNORECASE), "H200"),
    (re.compile(r"\bB200\b", re.IGNORECASE), "B200"),
    (re.compile(r"\bL4\b", re.IGNORECASE), "L4"),
    (re.compile(r"\bT4\b", re.IGNORECASE), "T4"),
    (re.compile(r"\bV100\b", re.IGNORECASE), "V100"),
    (re.compile(r"\bP100\b", re.IGNORECASE), "P100"),
    (re.compile(r"\bP4\b", re.IGNORECASE), "P4"),
    (re.compile(r"\bK80\b", re.IGNORECASE), "K80"),
)
_SKIPPED_WORDS: tuple[tuple[str, str], ...] = (
    ("sole tenancy", "sole tenancy"),
    ("custom", "custom or extended"),
    ("extended", "custom or extended"),
    ("virtual workstation", "GPU virtual workstation"),
    ("reserved", "reservation or commitment"),
)


# --- SKUs -> parts ------------------------------------------------------------------------


def _get(obj: Any, name: str) -> Any:
    """Field ``name`` (snake_case) of a proto-plus message or a dict in either key style."""
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        if name in obj:
            return obj[name]
        head, *rest = name.split("_")
        return obj.get(head + "".join(word.title() for word in rest))
    return getattr(obj, name, None)


def _list(value: Any) -> list[Any]:
    return list(value) if value is not None and not isinstance(value, str | bytes) else []


def _money(rate: Any) -> float | None:
    """``units + nanos / 1e9`` of a tiered rate's unit price [USD], or None."""
    price = _get(rate, "unit_price")
    if price is None:
        return None
    units, nanos = _get(price, "units"), _get(price, "nanos")
    try:
        return int(units or 0) + int(nanos or 0) / 1e9
    except (TypeError, ValueError):
        return None


def _first_rate(rates: list[Any]) -> Any:
    """The tiered rate starting at 0 (the list price), or the only one."""
    for rate in rates:
        start = _get(rate, "start_usage_amount")
        if start is None or float(start) == 0.0:
            return rate
    return rates[0] if len(rates) == 1 else None


def describe_sku(description: str, usage_type: str, resource_group: str) -> tuple[str, ...] | str:
    """What a SKU prices, from its description and category.

    Returns
    -------
    tuple or str
        ``(part, family_or_accelerator, market)``, e.g. ``("core", "a2", "spot")`` or
        ``("gpu", "A100-80GB", "on-demand")``; or, for a SKU that is not a GPU-machine
        part, the reason it is skipped.
    """
    text = " ".join(description.split())
    lowered = text.lower()
    if usage_type.lower().startswith("commit") or lowered.startswith("commitment"):
        return "commitment"
    for word, reason in _SKIPPED_WORDS:
        if word in lowered:
            return reason
    market = SPOT if usage_type == "Preemptible" or "spot preemptible" in lowered else ON_DEMAND
    core = _LOCATION.sub("", _PREFIX.sub("", text))
    if resource_group.upper() == "GPU" or re.search(r"\bGPU\b", core, re.IGNORECASE):
        for pattern, accelerator in _GPU_NAMES:
            if pattern.search(core):
                return ("gpu", accelerator, market)
        return "unknown GPU"
    match = _MACHINE_PART.match(core)
    if not match:
        return "not a machine core or RAM part"
    family = match.group("family").lower().replace(" ", "-")
    if family not in GPU_HOST_FAMILIES:
        return "family without GPUs"
    return (match.group("part").lower(), family, market)


def parse_gcp_skus(skus: Iterable[Any]) -> pd.DataFrame:
    """Core, RAM and GPU part prices of GPU machines from Cloud Billing Catalog SKUs.

    Parameters
    ----------
    skus
        ``Sku`` messages from ``CloudCatalogClient.list_skus``, or their REST JSON as
        dicts (``skuId``, ``category.usageType``, ``serviceRegions``, ``pricingInfo``...).

    Returns
    -------
    pandas.DataFrame
        ``PART_COLUMNS``: one row per (region, part, family or accelerator, market) with
        its price [USD per vCPU-hour, GiB-hour or GPU-hour] and unit (``h``, ``GiBy.h``);
        ``family`` is set for cores and RAM (``a2``, ``a3-ultra``, ``n1``...),
        ``accelerator`` for GPUs (``A100-80GB``, ``H100-MEGA``, ``T4``...).
        ``frame.attrs["skipped"]`` maps each skip reason to its number of SKUs.
    """
    rows: list[dict[str, Any]] = []
    skipped: dict[str, int] = {}

    def skip(reason: str) -> None:
        skipped[reason] = skipped.get(reason, 0) + 1

    for sku in skus:
        category = _get(sku, "category")
        if str(_get(category, "resource_family") or "") != "Compute":
            skip("not Compute")
            continue
        what = describe_sku(
            str(_get(sku, "description") or ""),
            str(_get(category, "usage_type") or ""),
            str(_get(category, "resource_group") or ""),
        )
        if isinstance(what, str):
            skip(what)
            continue
        part, key, market = what
        infos = _list(_get(sku, "pricing_info"))
        expression = _get(infos[0], "pricing_expression") if infos else None
        rate = _first_rate(_list(_get(expression, "tiered_rates")))
        price = _money(rate)
        unit = str(_get(expression, "usage_unit") or "")
        currency = str(_get(_get(rate, "unit_price"), "currency_code") or "USD")
        if price is None or not math.isfinite(price) or price < 0:
            skip("no usable price")
            continue
        if unit != UNITS[part] or currency != "USD":
            skip("unexpected unit or currency")
            continue
        regions = [str(r) for r in _list(_get(sku, "service_regions"))]
        if not regions:
            skip("no service region")
            continue
        for region in regions:
            rows.append(
                {
                    "sku_id": str(_get(sku, "sku_id") or ""),
                    "description": str(_get(sku, "description") or ""),
                    "region": region,
                    "part": part,
                    "family": None if part == "gpu" else key,
                    "accelerator": key if part == "gpu" else None,
                    "market": market,
                    "price_usd_per_unit_hour": price,
                    "unit": unit,
                    "sku_regions": len(regions),
                }
            )
    frame = pd.DataFrame(rows, columns=PART_COLUMNS)
    if not frame.empty:
        frame["key"] = frame["family"].fillna(frame["accelerator"])
        frame = frame.sort_values(["region", "part", "key", "market", "sku_regions", "sku_id"])
        before = len(frame)
        frame = frame.drop_duplicates(["region", "part", "key", "market"], keep="first")
        if len(frame) < before:
            skipped["less specific duplicate (region parts)"] = before - len(frame)
        frame = frame.drop(columns="key").reset_index(drop=True)
    frame.attrs["skipped"] = skipped
    return frame


def skipped_notes(skipped: Mapping[str, int]) -> list[str]:
    """One line per reason SKUs were skipped."""
    return [f"skipped {n} SKU(s): {reason}" for reason, n in sorted(skipped.items())]
