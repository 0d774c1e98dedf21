"""Pure parsing and composition for ``collect gcp``: catalog SKUs, offers, bands, billing.

GCP publishes no price per GPU machine. The Cloud Billing Catalog lists *parts*: a price
per vCPU-hour and per GiB-hour of memory for each machine family (``A2 Instance Core
running in Americas``), and a price per GPU-hour for each accelerator (``Nvidia Tesla
A100 GPU running in Americas``), for on-demand and spot. A machine's price is

    vCPUs x core price + memory [GiB] x RAM price + GPUs x GPU price        [USD/h]

per region and market, with the machine's shape from ``gpus.gcp_machine``. A machine
missing any part in a region gets no price for that market (flagged), never 0.

``parse_gcp_skus`` turns SKUs (the SDK's objects, or the REST JSON as dicts, camelCase
or snake_case) into a frame of parts; ``compose_gcp_offers`` builds offers from it;
``prior_band_rows`` writes the interruption prior for the offered machines;
``billing_query`` and ``parse_bigquery_billing`` read the BigQuery billing export.

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
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from spotadvisor.errors import DataError, UsageError
from spotadvisor.gpus import GcpMachine, gcp_machine
from spotadvisor.importers.base import join_flags
from spotadvisor.importers.billing import common
from spotadvisor.priors import Prior
from spotadvisor.schema import INTERRUPTION_HISTORY, OFFERS, validate

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


# --- parts -> offers ------------------------------------------------------------------------


def pricing_family(machine_type: str) -> str:
    """The family whose core and RAM SKUs price ``machine_type``.

    ``a3-ultragpu-*`` (H200) has its own ``A3 Ultra`` SKUs; a3 high, edge and mega
    share ``A3``; n1 hosts with attached GPUs are ``n1``.
    """
    if machine_type.startswith("a3-ultragpu"):
        return "a3-ultra"
    return machine_type.split("-", 1)[0]


def _lookup(parts: pd.DataFrame) -> dict[tuple[str, str, str, str], float]:
    keys = parts["family"].where(parts["family"].notna(), parts["accelerator"])
    return {
        (str(region), str(part), str(key), str(market)): float(price)
        for region, part, key, market, price in zip(
            parts["region"],
            parts["part"],
            keys,
            parts["market"],
            parts["price_usd_per_unit_hour"],
            strict=True,
        )
    }


def _machine_price(
    machine: GcpMachine,
    region: str,
    market: str,
    prices: Mapping[tuple[str, str, str, str], float],
) -> tuple[float, list[str]]:
    """Price [USD/h] of one machine in one region and market, and the parts it lacks."""
    family = pricing_family(machine.machine_type)
    amounts = {
        "core": (family, machine.vcpus),
        "ram": (family, machine.memory_gib),
        "gpu": (machine.accelerator, machine.gpus.count),
    }
    total, missing = 0.0, []
    for part, (key, amount) in amounts.items():
        price = prices.get((region, part, key, market))
        if price is None:
            missing.append(part)
        else:
            total += amount * price
    return (math.nan, missing) if missing else (round(total, 6), [])


def compose_gcp_offers(
    parts: pd.DataFrame,
    machine_types: Sequence[str],
    *,
    source: str,
    as_of: datetime,
    zones: pd.DataFrame | None = None,
    regions: Sequence[str] = (),
) -> pd.DataFrame:
    """Offers of GCP GPU machines priced from their parts.

    Parameters
    ----------
    parts
        From ``parse_gcp_skus``.
    machine_types
        Machines to price (names ``gpus.gcp_machine`` knows; others are ignored).
    source, as_of
        Provenance written into every row.
    zones
        Known ``(region, zone, instance_type)`` (e.g. from offers already in the store
        or the snapshot). A machine gets one row per known zone of its region, else one
        regional row (zone empty). A region the hint names is offered even when the
        catalog lacks its GPU part (the row is then flagged, without a price).
    regions
        Only these regions; empty means every region the catalog prices.

    Returns
    -------
    pandas.DataFrame
        Validated ``offers``. A machine is offered in the regions where its GPU part is
        priced (either market) or the zone hint places it. Prices are
        vCPUs x core + GiB x RAM + GPUs x GPU [USD/h], rounded to 1e-6. A market lacking
        a part has no price and the flag ``on_demand_price_missing(core+ram)`` /
        ``spot_price_missing(gpu)`` naming the missing parts; spot above on-demand is
        kept and flagged ``spot_above_on_demand``.
    """
    prices = _lookup(parts)
    gpu_regions: dict[str, set[str]] = {}
    for region, accelerator in parts.loc[
        parts["part"] == "gpu", ["region", "accelerator"]
    ].itertuples(index=False):
        gpu_regions.setdefault(str(accelerator), set()).add(str(region))
    hinted: dict[tuple[str, str], list[str]] = {}
    if zones is not None and not zones.empty:
        known = zones.dropna(subset=["region", "zone", "instance_type"])
        for region, zone, instance_type in known[["region", "zone", "instance_type"]].itertuples(
            index=False
        ):
            hinted.setdefault((str(instance_type), str(region)), []).append(str(zone))
    wanted = set(regions)
    records = []
    for name in dict.fromkeys(machine_types):
        machine = gcp_machine(name)
        if machine is None:
            continue
        where = set(gpu_regions.get(machine.accelerator, set()))
        where |= {r for (t, r) in hinted if t == name}
        if wanted:
            where &= wanted
        for region in sorted(where):
            on_demand, od_missing = _machine_price(machine, region, ON_DEMAND, prices)
            spot, spot_missing = _machine_price(machine, region, SPOT, prices)
            flags = [
                f"on_demand_price_missing({'+'.join(od_missing)})" if od_missing else None,
                f"spot_price_missing({'+'.join(spot_missing)})" if spot_missing else None,
                "spot_above_on_demand" if spot > on_demand else None,
            ]
            zones_here: list[str | None] = [*sorted(set(hinted.get((name, region), [])))]
            for zone in zones_here or [None]:
                records.append(
                    {
                        "cloud": "gcp",
                        "region": region,
                        "zone": zone,
                        "zone_id": None,
                        "instance_type": name,
                        "gpu_model": machine.gpus.model,
                        "gpu_count": float(machine.gpus.count),
                        "gpu_memory_gb": float(machine.gpus.memory_gb),
                        "vcpus": machine.vcpus,
                        "memory_gib": machine.memory_gib,
                        "price_on_demand_usd_per_hour": on_demand,
                        "price_spot_usd_per_hour": spot,
                        "interruption_band": None,
                        "interruption_band_lower_pct": None,
                        "interruption_band_upper_pct": None,
                        "placement_score": None,
                        "quality_flags": join_flags(*flags),
                        "source": source,
                        "as_of": as_of,
                    }
                )
    frame = pd.DataFrame(records, columns=OFFERS.column_names)
    return validate(frame, OFFERS, origin=source)


# --- bands --------------------------------------------------------------------------------


def prior_band_rows(
    pairs: Iterable[tuple[str, str]], prior: Prior, *, as_of: datetime
) -> pd.DataFrame:
    """``interruption_history`` rows giving ``prior``'s band to each (region, machine).

    GCP publishes no interruption bands; every row names the prior as its ``source``
    (``prior:...``) so outputs can say the band is assumed. OS is Linux.
    """
    rows = [
        {
            "cloud": "gcp",
            "region": region,
            "instance_type": instance_type,
            "os": "Linux",
            "interruption_band": prior.label,
            "interruption_band_lower_pct": prior.lower_pct,
            "interruption_band_upper_pct": prior.upper_pct,
            "savings_pct": None,
            "source": prior.source,
            "as_of": as_of,
        }
        for region, instance_type in sorted(set(pairs))
    ]
    frame = pd.DataFrame(rows, columns=INTERRUPTION_HISTORY.column_names)
    return validate(frame, INTERRUPTION_HISTORY, origin=prior.source)


# --- billing export -----------------------------------------------------------------------

_TABLE = re.compile(
    r"^(?:(?P<project>(?:[a-z0-9.-]+:)?[a-z][a-z0-9-]{4,62})\.)?"
    r"(?P<dataset>[A-Za-z0-9_]{1,1024})\.(?P<table>[A-Za-z0-9_-]{1,1024})$"
)
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
MACHINE_SPEC_LABEL = "compute.googleapis.com/machine_spec"
DETAILED_TABLE_MARK = "gcp_billing_export_resource_v1_"


def check_billing_table(table: str) -> tuple[str | None, str, str]:
    """(project or None, dataset, table) of a billing export table name.

    Raises
    ------
    UsageError
        When the name is not ``[project.]dataset.table`` with BigQuery's characters
        (it is pasted into SQL, so nothing else may pass).
    """
    match = _TABLE.fullmatch(table.strip())
    if not match:
        raise UsageError(
            "the billing table is not a BigQuery table name",
            field="--billing-table",
            fix="give project.dataset.gcp_billing_export_v1_XXXXXX_XXXXXX_XXXXXX "
            "(or the detailed gcp_billing_export_resource_v1_... table)",
        )
    return match.group("project"), match.group("dataset"), match.group("table")


def is_detailed_table(table: str) -> bool:
    """True for the detailed (resource-level) export, ``gcp_billing_export_resource_v1_*``."""
    return DETAILED_TABLE_MARK in table


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """[start, end) of a ``YYYY-MM`` month, as UTC times.

    Raises
    ------
    UsageError
        When ``month`` is not ``YYYY-MM``.
    """
    match = _MONTH.fullmatch(month.strip())
    if not match:
        raise UsageError(
            f"{month!r} is not a month", field="--billing-month", fix="write it as YYYY-MM"
        )
    year, number = int(match.group(1)), int(match.group(2))
    start = datetime(year, number, 1, tzinfo=UTC)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC)
    return start, end


def billing_query(table: str, month: str, detailed: bool) -> str:
    """Standard SQL reading one month of Compute Engine charges from the billing export.

    Parameters
    ----------
    table
        ``project.dataset.table`` of the standard (``gcp_billing_export_v1_*``) or
        detailed (``gcp_billing_export_resource_v1_*``) export.
    month
        ``YYYY-MM``: the charges whose usage starts in that month (UTC). The bounds are
        the query parameters ``@usage_start`` and ``@usage_end`` (TIMESTAMP), see
        ``billing_parameters``; the month is only checked and named in a comment here.
    detailed
        Also read ``resource.name`` (the VM); the standard table has no ``resource``.

    Returns
    -------
    str
        One row per export row, with ``credits_amount`` the SUM of its credits
        (negative), ``labels`` the key/value array, and ``machine_spec`` the
        ``compute.googleapis.com/machine_spec`` system label (the machine type). No
        billing account id or project number is selected.

    Raises
    ------
    UsageError
        When the table or month is malformed.
    """
    check_billing_table(table)
    month_bounds(month)
    resource = "resource.name" if detailed else "CAST(NULL AS STRING)"
    kind = "detailed" if detailed else "standard"
    return f"""-- spotadvisor: Compute Engine charges with usage starting in {month} ({kind} export)
SELECT
  service.description AS service_description,
  sku.id AS sku_id,
  sku.description AS sku_description,
  usage_start_time,
  usage_end_time,
  project.id AS project_id,
  location.region AS region,
  location.zone AS zone,
  labels,
  (SELECT sl.value FROM UNNEST(system_labels) AS sl
    WHERE sl.key = '{MACHINE_SPEC_LABEL}' LIMIT 1) AS machine_spec,
  cost,
  IFNULL((SELECT SUM(c.amount) FROM UNNEST(credits) AS c), 0) AS credits_amount,
  currency,
  cost_type,
  usage.amount_in_pricing_units AS usage_amount_in_pricing_units,
  usage.pricing_unit AS usage_pricing_unit,
  {resource} AS resource_name
FROM `{table.strip()}`
WHERE service.id = '{COMPUTE_ENGINE_SERVICE_ID}'
  AND usage_start_time >= @usage_start
  AND usage_start_time < @usage_end
"""


def billing_parameters(month: str) -> dict[str, datetime]:
    """Values of ``billing_query``'s TIMESTAMP parameters for ``month`` (UTC)."""
    start, end = month_bounds(month)
    return {"usage_start": start, "usage_end": end}


COST_TYPES: dict[str, str] = {
    "regular": "Usage",
    "tax": "Tax",
    "adjustment": "Adjustment",
    "rounding_error": "Adjustment",
}
BILLING_FIELDS = (
    "service_description",
    "sku_id",
    "sku_description",
    "usage_start_time",
    "usage_end_time",
    "project_id",
    "region",
    "zone",
    "labels",
    "machine_spec",
    "cost",
    "credits_amount",
    "currency",
    "cost_type",
    "usage_amount_in_pricing_units",
    "usage_pricing_unit",
    "resource_name",
)


def _labels(value: Any) -> str | None:
    """``[{"key": k, "value": v}, ...]`` (or a mapping) -> canonical JSON tags."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        return common.tags_json(value)
    tags: dict[str, Any] = {}
    for item in _list(value):
        key, text = _get(item, "key"), _get(item, "value")
        if key is not None:
            tags[str(key)] = text
    return common.tags_json(tags)


def _text_column(values: list[Any]) -> pd.Series:
    return pd.Series(
        [None if v is None or v == "" else str(v) for v in values], dtype="object"
    ).astype("string")


def parse_bigquery_billing(
    rows: Iterable[Mapping[str, Any]], *, source: str, as_of: datetime | None = None
) -> pd.DataFrame:
    """Billing export rows (``billing_query``'s columns) -> validated ``billing`` rows.

    ==================  ===============================================================
    billing column      from
    ==================  ===============================================================
    row_key             SHA-256 of the row's own values (``common.hash_keys``); stable
                        across re-reads, identical rows numbered
    provider            ``gcp``
    charge_period_*     ``usage_start_time`` / ``usage_end_time`` [UTC]
    charge_category     ``cost_type``: regular -> Usage, tax -> Tax, adjustment and
                        rounding_error -> Adjustment
    billed_cost,        ``cost + credits_amount`` (credits are negative): what is
    effective_cost      invoiced; list cost is not in the export's core columns (NaN)
    pricing_category    spot -> Dynamic, ``Commitment`` SKUs -> Committed, else Standard
    is_spot             the SKU description says ``Spot Preemptible`` or ``Preemptible``
    service_name        ``service.description`` (Compute Engine)
    region_id, zone     ``location.region``, ``location.zone``
    resource_id         ``resource.name`` (detailed export only)
    sku_id, usage_type  ``sku.id``, ``sku.description``
    instance_type       the ``compute.googleapis.com/machine_spec`` system label
    consumed_*          ``usage.amount_in_pricing_units``, ``usage.pricing_unit``
    tags                ``labels`` as a JSON object (``{}`` when the row has none)
    sub_account_id      ``project.id``
    ==================  ===============================================================

    Parameters
    ----------
    rows
        Mappings (BigQuery ``Row`` items or dicts) with the fields of ``BILLING_FIELDS``.
    source
        Provenance written into every row (name no billing account id in it).
    as_of
        When the bill was true; None means the newest ``usage_end_time``.

    Raises
    ------
    DataError
        When a row lacks its usage times or a cost is not a number (the message names
        the row's position, never an account or project number).
    """
    items = [dict(r.items()) if hasattr(r, "items") else dict(r) for r in rows]
    columns: dict[str, list[Any]] = {name: [r.get(name) for r in items] for name in BILLING_FIELDS}
    index = pd.RangeIndex(len(items))
    starts = pd.to_datetime(pd.Series(columns["usage_start_time"], dtype="object"), utc=True)
    ends = pd.to_datetime(pd.Series(columns["usage_end_time"], dtype="object"), utc=True)
    missing = starts.isna() | ends.isna()
    if missing.any():
        at = int(missing.to_numpy().nonzero()[0][0])
        raise DataError(
            f"billing export row {at + 1} has no usage_start_time or usage_end_time",
            field="usage_start_time",
            fix="check that the table is a Cloud Billing export",
        )
    try:
        cost = pd.to_numeric(pd.Series(columns["cost"], dtype="object"), errors="raise")
        credits = pd.to_numeric(
            pd.Series(columns["credits_amount"], dtype="object"), errors="raise"
        ).fillna(0.0)
        quantity = pd.to_numeric(
            pd.Series(columns["usage_amount_in_pricing_units"], dtype="object"), errors="raise"
        )
    except (TypeError, ValueError):
        raise DataError(
            "a cost, credit or usage amount in the billing export is not a number",
            field="cost",
            fix="check that the table is a Cloud Billing export",
        ) from None
    net = (cost.astype("float64") + credits.astype("float64")).round(10)
    sku = _text_column(columns["sku_description"])
    lowered = sku.str.lower()
    spot = lowered.str.contains("preemptible", regex=False).fillna(False).astype(bool)
    committed = lowered.str.startswith("commitment").fillna(False).astype(bool)
    pricing = pd.Series("Standard", index=index, dtype="string")
    pricing = pricing.mask(committed, "Committed").mask(spot, "Dynamic")
    cost_type = _text_column(columns["cost_type"]).str.lower()
    charge = cost_type.map(COST_TYPES, na_action="ignore").astype("string").fillna("Usage")
    values: dict[str, Any] = {
        "provider": "gcp",
        "charge_period_start": starts,
        "charge_period_end": ends,
        "charge_category": charge,
        "billed_cost": net,
        "effective_cost": net,
        "list_cost": pd.Series(math.nan, index=index),
        "billing_currency": common.currencies(_text_column(columns["currency"])),
        "pricing_category": pricing,
        "is_spot": pd.Series(spot.to_numpy(), index=index, dtype="boolean"),
        "service_name": _text_column(columns["service_description"]),
        "region_id": _text_column(columns["region"]),
        "availability_zone": _text_column(columns["zone"]),
        "resource_id": _text_column(columns["resource_name"]),
        "sku_id": _text_column(columns["sku_id"]),
        "instance_type": _text_column(columns["machine_spec"]),
        "usage_type": sku,
        "consumed_quantity": quantity.astype("float64"),
        "consumed_unit": _text_column(columns["usage_pricing_unit"]),
        "tags": pd.Series([_labels(v) for v in columns["labels"]], dtype="string"),
        "sub_account_id": _text_column(columns["project_id"]),
    }
    frame = pd.DataFrame(index=index)
    for name, value in values.items():
        frame[name] = value
    frame["row_key"] = common.hash_keys(frame)
    when = pd.Timestamp(as_of) if as_of is not None else (ends.max() if len(ends) else None)
    out = common.finish(
        {c: frame[c] for c in frame.columns}, index, source=source, as_of=when, origin=source
    )
    return out.sort_values(["charge_period_start", "sku_id", "row_key"]).reset_index(drop=True)


def billing_notes(frame: pd.DataFrame, month: str, detailed: bool) -> list[str]:
    """What a month of billing rows holds (lines, spot lines, currencies)."""
    name = f"gcp billing export {month} ({'detailed' if detailed else 'standard'})"
    return common.summary_notes(frame, name)


def skipped_notes(skipped: Mapping[str, int]) -> list[str]:
    """One line per reason SKUs were skipped."""
    return [f"skipped {n} SKU(s): {reason}" for reason, n in sorted(skipped.items())]
