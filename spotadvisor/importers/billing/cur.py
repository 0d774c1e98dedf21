"""AWS Cost and Usage Reports -> ``billing``: CUR 2.0 (Data Exports) and legacy CUR.

Three layouts of the same lines are read:

1. CUR 2.0 Parquet or CSV: snake_case columns (``line_item_usage_start_date``), with
   ``resource_tags`` and ``product`` as maps (JSON text in CSV);
2. legacy CUR CSV: ``category/Name`` headers (``lineItem/UsageStartDate``), tags as
   ``resourceTags/user:team`` columns;
3. legacy CUR Parquet (the Athena integration): snake_case with flattened
   ``resource_tags_user_team`` and ``product_*`` columns.

Legacy names are turned into CUR 2.0 names first (``lineItem/UsageStartDate`` ->
``line_item_usage_start_date``), so one mapping serves all three:

=====================  ===============================================================
billing column         CUR 2.0 column(s)
=====================  ===============================================================
row_key                ``identity_line_item_id@identity_time_interval`` (a line item id is
                       unique only within its time interval); a hash when absent
charge_period_*        ``line_item_usage_start_date`` / ``line_item_usage_end_date``
charge_category        ``line_item_line_item_type`` (Usage, DiscountedUsage,
                       SavingsPlanCoveredUsage... -> Usage; Tax; Credit; Refund ->
                       Adjustment; RIFee, Fee, SavingsPlan fees -> Purchase)
billed_cost            ``line_item_unblended_cost``
effective_cost         unblended cost, except SavingsPlanCoveredUsage (the plan's effective
                       cost), DiscountedUsage (the reservation's), SavingsPlanNegation and
                       upfront fees (0), SavingsPlanRecurringFee and RIFee (unused part)
list_cost              ``pricing_public_on_demand_cost``
pricing_category       ``pricing_term`` OnDemand/Spot/Reserved -> Standard/Dynamic/
                       Committed; commitment line types -> Committed; a SpotUsage usage
                       type with no term -> Dynamic
is_spot                ``pricing_term = Spot``; when the term is empty, a usage type
                       ``%SpotUsage%``; unknown when both are empty (tax lines)
service_name           product name (``product_product_name`` / ``product['product_name']``),
                       else the service or product code (noted)
region_id              ``product_region_code`` / ``product['region']``
instance_type          ``product_instance_type``, else the usage type (``SpotUsage:g5.xlarge``)
consumed_*             ``line_item_usage_amount``, ``pricing_unit`` (``Hrs`` for instance
                       hours); no quantity on lines that offset others (SavingsPlanNegation,
                       discounts), so usage counts once
tags                   ``resource_tags`` (``user_team`` -> ``team``); null when the file has
                       no tag columns at all
sub_account_id         ``line_item_usage_account_id``
=====================  ===============================================================
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from spotadvisor.errors import UsageError
from spotadvisor.importers.base import FileFormat, ImportBatch, default_source, read_text
from spotadvisor.importers.billing import common
from spotadvisor.importers.billing.common import Columns, RawRows
from spotadvisor.schema import BILLING

FORMAT = "aws-cur"
REQUIRED = ("line_item_usage_start_date", "line_item_usage_end_date", "line_item_unblended_cost")
_LEGACY_TAG_PREFIX = "resourcetags/"
_FLAT_TAG_PREFIX = "resource_tags_"

CHARGE_CATEGORY: dict[str, str] = {
    "Usage": "Usage",
    "DiscountedUsage": "Usage",
    "SavingsPlanCoveredUsage": "Usage",
    "SavingsPlanNegation": "Usage",
    "BundledDiscount": "Usage",
    "Discount": "Usage",
    "PrivateRateDiscount": "Usage",
    "EdpDiscount": "Usage",
    "Tax": "Tax",
    "Credit": "Credit",
    "Refund": "Adjustment",
    "Fee": "Purchase",
    "RIFee": "Purchase",
    "SavingsPlanUpfrontFee": "Purchase",
    "SavingsPlanRecurringFee": "Purchase",
}
COMMITTED_LINE_TYPES = frozenset(
    {
        "DiscountedUsage",
        "SavingsPlanCoveredUsage",
        "SavingsPlanNegation",
        "RIFee",
        "SavingsPlanUpfrontFee",
        "SavingsPlanRecurringFee",
    }
)
# Lines that offset the cost of other lines (a Savings Plan's negation of the on-demand
# cost it covers, discounts): their usage amount repeats the covered line's, so it is not
# stored (consumed_quantity null) and instance hours count once.
OFFSET_LINE_TYPES = frozenset(
    {"SavingsPlanNegation", "BundledDiscount", "Discount", "PrivateRateDiscount", "EdpDiscount"}
)
PRICING_TERM: dict[str, str] = {
    "ondemand": "Standard",
    "on-demand": "Standard",
    "spot": "Dynamic",
    "reserved": "Committed",
    "savings plan": "Committed",
}


def sniff_cur(head: str) -> bool:
    """True when the header line of ``head`` is a CUR 2.0 or legacy CUR header."""
    names = {n.lower() for n in common.header_names(head)}
    return bool(
        {"line_item_usage_start_date", "lineitem/usagestartdate"} & names
        and {"line_item_unblended_cost", "lineitem/unblendedcost"} & names
    )


def cur2_name(legacy: str) -> str:
    """The CUR 2.0 name of a legacy CUR column: ``lineItem/UsageStartDate`` ->
    ``line_item_usage_start_date``, ``savingsPlan/SavingsPlanEffectiveCost`` ->
    ``savings_plan_savings_plan_effective_cost``. Snake_case names are returned as is."""
    if "/" not in legacy:
        return legacy
    return "_".join(_snake(part) for part in legacy.split("/", 1))


def _snake(name: str) -> str:
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return spaced.lower()


def parse_cur(
    raw: RawRows, *, source: str, as_of: datetime | None, origin: str
) -> tuple[pd.DataFrame, list[str]]:
    """CUR rows (as text, any of the three layouts) -> validated billing rows.

    Parameters
    ----------
    raw
        The file's rows as text (``common.read_rows``).
    source
        Provenance written into every row.
    as_of
        When the bill was true; None means the newest ``line_item_usage_end_date`` [UTC].
    origin
        The file name, for messages.

    Returns
    -------
    frame
        Validated ``billing`` rows, in file order.
    notes
        What was counted or derived, and how ``as_of`` was chosen.

    Raises
    ------
    UsageError
        For a missing required column or value, a bad number, time or tag map.
    """
    name = Path(origin).name
    tag_text, renamed = _tags_and_renamed(raw, origin)
    cols = Columns(renamed)
    common.require(cols, REQUIRED, origin, "Cost and Usage Report")
    notes: list[str] = []
    product = _product_map(cols, origin)

    line_type = cols.get("line_item_line_item_type")
    charge = line_type.map(CHARGE_CATEGORY, na_action="ignore").astype("string")
    unknown_types = sorted(set(line_type[line_type.notna() & charge.isna()]))
    if unknown_types:
        notes.append(
            f"{name}: line item type(s) {common.join_values(unknown_types)} have no charge "
            "category; stored as null"
        )
    usage_type = cols.get("line_item_usage_type")
    term = cols.get("pricing_term")
    is_spot, pricing, spot_notes = _spot_and_pricing(term, usage_type, line_type, name)
    notes += spot_notes

    service = cols.first("product_product_name").fillna(product("product_name"))
    fallback = cols.first("product_servicename", "product_servicecode", "line_item_product_code")
    fallback = fallback.fillna(product("servicename")).fillna(product("servicecode"))
    notes += common.count_note(
        name,
        int((service.isna() & fallback.notna()).sum()),
        "lines have no product name; service_name is their service or product code",
    )
    instance_type = (
        cols.get("product_instance_type")
        .fillna(product("instance_type"))
        .fillna(common.instance_type_from_usage_type(usage_type))
    )
    unblended = common.numbers(cols, "line_item_unblended_cost", origin)
    start = common.times(cols, "line_item_usage_start_date", origin)
    end = common.times(cols, "line_item_usage_end_date", origin)
    rows: dict[str, Any] = {
        "provider": "aws",
        "charge_period_start": start,
        "charge_period_end": end,
        "charge_category": charge,
        "billed_cost": unblended,
        "effective_cost": _effective_cost(cols, line_type, unblended, origin),
        "list_cost": common.numbers(cols, "pricing_public_on_demand_cost", origin),
        "billing_currency": common.currencies(cols.get("line_item_currency_code")),
        "pricing_category": pricing,
        "is_spot": is_spot,
        "service_name": service.fillna(fallback),
        "region_id": cols.first("product_region_code", "product_region")
        .fillna(product("region_code"))
        .fillna(product("region")),
        "availability_zone": cols.get("line_item_availability_zone"),
        "resource_id": cols.get("line_item_resource_id"),
        "sku_id": cols.get("product_sku").fillna(product("sku")),
        "instance_type": instance_type,
        "usage_type": usage_type,
        "consumed_quantity": common.numbers(cols, "line_item_usage_amount", origin).mask(
            line_type.isin(OFFSET_LINE_TYPES).fillna(False).to_numpy(dtype=bool)
        ),
        "consumed_unit": cols.get("pricing_unit"),
        "tags": tag_text,
        "sub_account_id": cols.get("line_item_usage_account_id"),
    }
    ids = cols.get("identity_line_item_id")
    if ids.notna().all() and len(ids):
        keys, repeats = common.id_keys(ids, cols.get("identity_time_interval"))
        notes += common.count_note(
            name, repeats, "lines repeat a line item id and time interval; keyed id@interval#n"
        )
        rows["row_key"] = keys
    else:
        rows["row_key"] = common.hash_keys(pd.DataFrame(rows, index=raw.frame.index))
        if len(ids):
            notes.append(f"{name}: no identity_line_item_id; row keys are hashes of the lines")
    chosen, as_of_note = common.choose_as_of(Path(origin), end, as_of)
    frame = common.finish(rows, raw.frame.index, source=source, as_of=chosen, origin=origin)
    return frame, [as_of_note, *common.summary_notes(frame, name), *notes]


def _tags_and_renamed(raw: RawRows, origin: str) -> tuple[pd.Series | None, RawRows]:
    """Tags per line as canonical JSON (None when the file has no tag columns), and the
    rows with legacy column names turned into CUR 2.0 names."""
    frame = raw.frame
    legacy = [c for c in frame.columns if str(c).lower().startswith(_LEGACY_TAG_PREFIX)]
    flat = [c for c in frame.columns if str(c).lower().startswith(_FLAT_TAG_PREFIX)]
    mapped = [c for c in frame.columns if str(c).lower() == "resource_tags"]
    tag_columns = {c: str(c)[len(_LEGACY_TAG_PREFIX) :] for c in legacy}
    tag_columns.update({c: str(c)[len(_FLAT_TAG_PREFIX) :] for c in flat})
    rest = frame.drop(columns=[*legacy, *flat])
    renamed = RawRows(rest.rename(columns={c: cur2_name(str(c)) for c in rest.columns}), raw.kind)
    if not tag_columns and not mapped:
        return None, renamed
    cols = Columns(renamed)
    if mapped:
        from_map = common.tags_column(
            cols, cols.get("resource_tags").fillna("{}"), origin, field="resource_tags"
        )
        base = [json.loads(str(t)) for t in from_map.tolist()]
    else:
        base = [{} for _ in range(len(frame))]
    for column, key in tag_columns.items():
        for position, value in enumerate(frame[column].tolist()):
            if value is not None and value is not pd.NA:
                base[position][key] = value
    out = [common.tags_json({common.aws_tag_key(k): v for k, v in t.items()}) for t in base]
    return pd.Series(out, index=frame.index, dtype="string"), renamed


def _product_map(cols: Columns, origin: str) -> Any:
    """A getter for keys of the CUR 2.0 ``product`` map column (missing -> all missing)."""
    if not cols.has("product"):
        return lambda key: pd.Series(pd.NA, index=cols.raw.frame.index, dtype="string")
    parsed: list[dict[str, Any]] = []
    for position, value in enumerate(cols.get("product").tolist()):
        if value is None or value is pd.NA:
            parsed.append({})
            continue
        try:
            parsed.append(common.tag_object(str(value)))
        except ValueError:
            raise UsageError(
                f"{cols.raw.locate(position)}: product is not a JSON object",
                file=origin,
                field="product",
                fix='the product map is written as JSON, e.g. {"product_name": "..."}',
            ) from None

    def get(key: str) -> pd.Series:
        values = [p.get(key) for p in parsed]
        return pd.Series(
            [None if v is None or v == "" else str(v) for v in values],
            index=cols.raw.frame.index,
            dtype="string",
        )

    return get


def _spot_and_pricing(
    term: pd.Series, usage_type: pd.Series, line_type: pd.Series, name: str
) -> tuple[pd.Series, pd.Series, list[str]]:
    """is_spot and pricing_category per line, and notes."""
    by_term = term.str.strip().str.lower()
    by_usage = common.spot_in_usage_type(usage_type)
    is_spot = by_term.eq("spot").astype("boolean")
    is_spot = is_spot.where(term.notna(), by_usage)
    pricing = by_term.map(PRICING_TERM, na_action="ignore").astype("string")
    committed = line_type.isin(COMMITTED_LINE_TYPES).fillna(False).astype(bool)
    pricing = pricing.mask(committed, "Committed")
    fallback = term.isna() & by_usage.fillna(False).astype(bool)
    pricing = pricing.mask(fallback & pricing.isna(), "Dynamic")
    unknown_terms = sorted(set(term[term.notna() & ~by_term.isin(list(PRICING_TERM))]))
    pricing = pricing.mask(term.notna() & pricing.isna(), "Other")

    notes: list[str] = []
    notes += common.count_note(
        name,
        int(fallback.sum()),
        "spot lines have no pricing_term; found by their SpotUsage usage type",
    )
    clash = by_term.eq("ondemand").fillna(False).astype(bool) & by_usage.fillna(False).astype(bool)
    notes += common.count_note(
        name, int(clash.sum()), "lines have a SpotUsage usage type but pricing_term OnDemand"
    )
    if unknown_terms:
        notes.append(
            f"{name}: pricing_term {common.join_values(unknown_terms)} unknown; "
            "pricing_category Other"
        )
    return is_spot.astype("boolean"), pricing, notes


def _effective_cost(
    cols: Columns, line_type: pd.Series, unblended: pd.Series, origin: str
) -> pd.Series:
    """Amortised cost per line, as AWS's FOCUS export defines EffectiveCost [billing
    currency]; NaN when a needed commitment column is missing."""

    def num(name: str) -> pd.Series:
        return common.numbers(cols, name, origin)

    def is_(kind: str) -> np.ndarray[Any, np.dtype[np.bool_]]:
        return line_type.eq(kind).fillna(False).to_numpy(dtype=bool)

    zero = pd.Series(0.0, index=unblended.index)
    reserved_fee = is_("Fee") & cols.first(
        "reservation_reservation_a_r_n", "reservation_reservation_arn"
    ).notna().to_numpy(dtype=bool)
    choices = [
        (is_("SavingsPlanCoveredUsage"), num("savings_plan_savings_plan_effective_cost")),
        (
            is_("SavingsPlanRecurringFee"),
            num("savings_plan_total_commitment_to_date") - num("savings_plan_used_commitment"),
        ),
        (is_("SavingsPlanNegation") | is_("SavingsPlanUpfrontFee"), zero),
        (is_("DiscountedUsage"), num("reservation_effective_cost")),
        (
            is_("RIFee"),
            num("reservation_unused_amortized_upfront_fee_for_billing_period")
            + num("reservation_unused_recurring_fee"),
        ),
        (reserved_fee, zero),
    ]
    out = unblended.to_numpy(dtype="float64", copy=True)
    for mask, values in choices:
        out[mask] = values.to_numpy(dtype="float64")[mask]
    return pd.Series(out, index=unblended.index, dtype="float64")


def read_cur(
    paths: Sequence[Path], as_of: datetime | None, source: str | None
) -> list[ImportBatch]:
    """Read AWS Cost and Usage Reports (CUR 2.0 Parquet/CSV, legacy CUR CSV/Parquet), one
    batch per file.

    ``as_of`` defaults to each file's newest ``line_item_usage_end_date``; ``source`` to
    ``aws-cur:<file name>``.
    """
    batches = []
    for path in paths:
        origin = str(path)
        raw = common.read_rows(path, read_text)
        name = source or default_source(FORMAT, [path])
        frame, notes = parse_cur(raw, source=name, as_of=as_of, origin=origin)
        batches.append(ImportBatch(BILLING, frame, name, origin, tuple(notes)))
    return batches


AWS_CUR = FileFormat(
    FORMAT,
    "AWS Cost and Usage Report: CUR 2.0 (Parquet/CSV) or legacy CUR (lineItem/... CSV)",
    sniff_cur,
    read_cur,
)
