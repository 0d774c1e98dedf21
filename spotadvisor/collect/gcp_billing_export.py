"""Reading the GCP Cloud Billing export in BigQuery: table names, the query, the parser.

``check_billing_table`` and ``month_bounds`` check what goes into the SQL;
``billing_query`` and ``billing_parameters`` read one month of Compute Engine charges
from the standard or detailed export; ``parse_bigquery_billing`` maps the rows to
validated ``billing`` rows and ``billing_notes`` summarises them. Nothing here calls a
network: ``collect.gcp`` runs the query.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from spotadvisor.collect.gcp_parse import COMPUTE_ENGINE_SERVICE_ID, as_list, proto_field
from spotadvisor.errors import DataError, UsageError
from spotadvisor.importers.base import not_after_now
from spotadvisor.importers.billing import common

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
    for item in as_list(value):
        key, text = proto_field(item, "key"), proto_field(item, "value")
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
    if as_of is None and when is not None and pd.notna(when):  # a month-to-date bill ends later
        when = pd.Timestamp(not_after_now(when, "the newest charge period end")[0])
    out = common.finish(
        {c: frame[c] for c in frame.columns}, index, source=source, as_of=when, origin=source
    )
    return out.sort_values(["charge_period_start", "sku_id", "row_key"]).reset_index(drop=True)


def billing_notes(frame: pd.DataFrame, month: str, detailed: bool) -> list[str]:
    """What a month of billing rows holds (lines, spot lines, currencies)."""
    name = f"gcp billing export {month} ({'detailed' if detailed else 'standard'})"
    return common.summary_notes(frame, name)
