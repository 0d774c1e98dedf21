"""Azure cost details (EA / MCA exports, actual or amortised) -> ``billing``.

Azure's "cost and usage details" exports are CSV (often BOM-prefixed) or Parquet with
one line per meter, resource and day. EA exports use the legacy column names (``Cost``,
``BillingCurrency``, ``Product``), MCA and newer EA exports the modern ones
(``CostInBillingCurrency``, ``BillingCurrencyCode``, ``ProductName``), and MCA writes
them in camelCase; columns are read in any case, so one mapping serves all of them and
the Consumption API's usage details (flattened by ``collect.azure_usage_parse``):

=====================  ===============================================================
billing column         cost-details column(s)
=====================  ===============================================================
row_key                a hash of the line's values (the exports have no line id)
charge_period_*        ``Date`` (``MM/DD/YYYY`` or ISO 8601) to the next day: lines are
                       daily
charge_category        ``ChargeType``: Usage, UnusedReservation, UnusedSavingsPlan ->
                       Usage; Purchase; Refund, RoundingAdjustment -> Adjustment; Tax;
                       Credit
billed_cost            the cost (``CostInBillingCurrency``, ``Cost``, ``PreTaxCost``) of an
                       actual-cost export; 0 in an amortised export for lines paid
                       through a commitment (reservation or savings-plan usage, unused
                       commitment)
effective_cost         the cost of an amortised export; in an actual-cost export the cost,
                       except commitment purchases (0: amortised into usage) and
                       commitment usage (unknown: only the amortised export has it)
list_cost              ``PaygCostInBillingCurrency``, else ``PayGPrice`` x ``Quantity``;
                       unknown where PayGPrice is 0 on a line that cost something
billing_currency       ``BillingCurrencyCode`` / ``BillingCurrency`` (kept as written, e.g.
                       CAD)
pricing_category       ``PricingModel``: OnDemand -> Standard, Spot -> Dynamic,
                       Reservation / SavingsPlan -> Committed
is_spot                ``PricingModel = Spot``; without a pricing model, a meter name
                       ending in " Spot"
service_name           ``MeterCategory`` (e.g. Virtual Machines), else ``ConsumedService``
region_id              ``ResourceLocationNormalized`` / ``ResourceLocation``, lower case
                       without spaces (``EastUS2`` -> ``eastus2``)
availability_zone      ``AvailabilityZone``
resource_id            ``ResourceId`` (``InstanceName`` in modern API items)
sku_id                 ``MeterId``
instance_type          ``AdditionalInfo.ServiceType`` (``Standard_DS2_v2``); else, for
                       Virtual Machines meters naming one size (``DS4 v2 Spot``), that
                       size (``Standard_DS4_v2``); meters naming two (``D2 v3/D2s v3``)
                       give none
usage_type             ``MeterName``
consumed_*             ``Quantity``, ``UnitOfMeasure``
tags                   ``Tags``: a JSON object, or its members without the braces
                       (``"env": "prod","org": "trey"``) as EA exports write them
sub_account_id         ``SubscriptionId`` (``SubscriptionGuid`` in modern API items)
=====================  ===============================================================

Whether a file is actual or amortised cost is not in its columns: ``metric`` says so,
else the file name (``...Amortized...`` / ``...Actual...``), else the content
(amortised exports carry costs on commitment usage lines and Unused* lines); the
notes say which was used, in one note per file: ``<file>: actual cost (...)`` or
``<file>: amortised cost (...)``.

The two exports are two views of the same usage; :mod:`.azure_views` keeps one per
subscription and month.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from spotadvisor.errors import UsageError
from spotadvisor.importers.base import FileFormat, ImportBatch, default_source, read_text
from spotadvisor.importers.billing import common
from spotadvisor.importers.billing.common import Columns, RawRows
from spotadvisor.schema import BILLING

FORMAT = "azure-cost-details"
Metric = Literal["actualcost", "amortizedcost"]

COST_COLUMNS = ("CostInBillingCurrency", "Cost", "PreTaxCost")
DATE_COLUMNS = ("Date", "UsageDate", "UsageDateTime")
CHARGE_TYPES: dict[str, str] = {
    "usage": "Usage",
    "unusedreservation": "Usage",
    "unusedsavingsplan": "Usage",
    "purchase": "Purchase",
    "refund": "Adjustment",
    "roundingadjustment": "Adjustment",
    "adjustment": "Adjustment",
    "tax": "Tax",
    "credit": "Credit",
}
PRICING_MODELS: dict[str, str] = {
    "ondemand": "Standard",
    "spot": "Dynamic",
    "reservation": "Committed",
    "savingsplan": "Committed",
}
_COMMITMENT_MODELS = {"reservation", "savingsplan"}
_MDY = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})\s*$")
_METER_SIZE = re.compile(r"^[A-Z][A-Za-z]*\d+[A-Za-z0-9 -]*$")


def sniff_azure_cost_details(head: str) -> bool:
    """True when the header line of ``head`` is an Azure cost-details export header.

    It needs a meter category and id, a date and a cost column; FOCUS files (with
    ``BilledCost``) and CUR files (``line_item_...``) never have ``MeterCategory``.
    """
    names = {n.lower() for n in common.header_names(head)}
    return (
        "metercategory" in names
        and bool({"meterid", "metername"} & names)
        and bool({c.lower() for c in DATE_COLUMNS} & names)
        and bool({c.lower() for c in COST_COLUMNS} & names)
        and "billedcost" not in names
    )


def parse_azure_cost_details(
    raw: RawRows,
    *,
    source: str,
    as_of: datetime | None,
    origin: str,
    metric: Metric | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """Azure cost-details rows (as text) -> validated billing rows.

    Parameters
    ----------
    raw
        The rows as text (``common.read_rows``, or ``azure_usage_parse.usage_details_rows``).
    source
        Provenance written into every row.
    as_of
        When the bill was true; None means the newest charge period end [UTC].
    origin
        The file name (or what the rows came from), for messages.
    metric
        ``actualcost`` or ``amortizedcost``; None: decided from the name, then the
        content (see the module docstring).

    Returns
    -------
    frame
        Validated ``billing`` rows, in input order; costs in the billing currency.
    notes
        What was counted, mapped or derived, and how ``as_of`` and the metric were chosen.

    Raises
    ------
    UsageError
        For a missing date or cost column or value, a bad number, date or Tags value.
    """
    cols = Columns(raw)
    name = Path(origin).name
    date_column, date_text = _required(cols, DATE_COLUMNS, origin)
    cost_column, cost_text = _required(cols, COST_COLUMNS, origin)
    notes: list[str] = []

    start, date_note = _dates(cols, date_column, date_text, origin)
    notes += date_note
    end = start + pd.Timedelta(days=1)
    cost = common.numbers(cols, cost_column, origin, values=cost_text)
    quantity = common.numbers(cols, "Quantity", origin)

    model_text = cols.get("PricingModel")
    model_key = model_text.str.replace(r"[\s_-]", "", regex=True).str.lower()
    pricing = model_key.map(PRICING_MODELS, na_action="ignore").astype("string")
    unknown_models = sorted(set(model_text[model_text.notna() & pricing.isna()]))
    if unknown_models:
        notes.append(
            f"{name}: PricingModel {common.join_values(unknown_models)} unknown; "
            "pricing_category Other"
        )
    pricing = pricing.mask(model_text.notna() & pricing.isna(), "Other")

    charge_text = cols.get("ChargeType")
    charge_key = charge_text.str.replace(r"\s", "", regex=True).str.lower()
    charge = charge_key.map(CHARGE_TYPES, na_action="ignore").astype("string")
    unknown_charges = sorted(set(charge_text[charge_text.notna() & charge.isna()]))
    if unknown_charges:
        notes.append(
            f"{name}: ChargeType {common.join_values(unknown_charges)} has no charge "
            "category; kept as written"
        )
    charge = charge.fillna(charge_text)

    meter = cols.get("MeterName")
    is_spot, spot_notes = _spot(model_key, meter, name)
    notes += spot_notes

    committed = model_key.isin(list(_COMMITMENT_MODELS)).fillna(False).astype(bool)
    unused = charge_key.str.startswith("unused").fillna(False).astype(bool)
    usage = charge_key.eq("usage").fillna(False).astype(bool)
    purchase = charge_key.eq("purchase").fillna(False).astype(bool)
    chosen_metric, metric_note = _metric(
        metric, name, usage & committed & cost.fillna(0).ne(0), unused
    )
    notes.append(metric_note)
    if chosen_metric == "amortizedcost":
        effective = cost
        billed = cost.mask((committed & usage) | unused, 0.0)
    else:
        billed = cost
        effective = cost.mask(committed & purchase, 0.0).mask(committed & usage, np.nan)
        notes += common.count_note(
            name,
            int((committed & usage).sum()),
            "commitment usage lines have no effective cost in actual-cost data "
            "(import the amortised export for it)",
        )

    list_cost, list_notes = _list_cost(cols, cost, quantity, origin, name)
    notes += list_notes
    instance_type = _instance_types(cols, meter)
    tags = common.tags_column(cols, _tag_text(cols.get("Tags")), origin, field=cols.name("Tags"))
    region = cols.first("ResourceLocationNormalized", "ResourceLocation")
    rows: dict[str, Any] = {
        "provider": "azure",
        "charge_period_start": start,
        "charge_period_end": end,
        "charge_category": charge,
        "billed_cost": billed,
        "effective_cost": effective,
        "list_cost": list_cost,
        "billing_currency": common.currencies(cols.first("BillingCurrencyCode", "BillingCurrency")),
        "pricing_category": pricing,
        "is_spot": is_spot,
        "service_name": cols.first("MeterCategory", "ConsumedService"),
        "region_id": region.str.replace(r"\s", "", regex=True).str.lower(),
        "availability_zone": cols.get("AvailabilityZone"),
        "resource_id": cols.first("ResourceId", "InstanceId", "InstanceName"),
        "sku_id": cols.get("MeterId"),
        "instance_type": instance_type,
        "usage_type": meter,
        "consumed_quantity": quantity,
        "consumed_unit": cols.get("UnitOfMeasure"),
        "tags": tags,
        "sub_account_id": cols.first("SubscriptionId", "SubscriptionGuid"),
    }
    rows["row_key"] = common.hash_keys(pd.DataFrame(rows, index=raw.frame.index))
    chosen, as_of_note = common.choose_as_of(Path(origin), end, as_of)
    frame = common.finish(rows, raw.frame.index, source=source, as_of=chosen, origin=origin)
    return frame, [as_of_note, *common.summary_notes(frame, name), *notes]


def _required(cols: Columns, names: Sequence[str], origin: str) -> tuple[str, pd.Series]:
    """Per row, the first value among columns ``names`` (legacy and modern spellings of
    one fact), and the file's name of the first such column, for messages.

    Raises
    ------
    UsageError
        When the file has none of the columns, or a row has no value in any of them.
    """
    present = [n for n in names if cols.has(n)]
    if not present:
        raise UsageError(
            f"no {' or '.join(names)} column",
            file=origin,
            field=names[0],
            fix=f"a cost-details export has a {names[0]} column",
        )
    values = cols.first(*present)
    missing = values.isna()
    if missing.any():
        raise UsageError(
            f"{cols.raw.locate(common.first_bad(missing))} has no {cols.name(present[0])}",
            file=origin,
            field=cols.name(present[0]),
            fix=f"every line of a cost-details export has a {present[0]}",
        )
    return present[0], values


def _dates(cols: Columns, column: str, text: pd.Series, origin: str) -> tuple[pd.Series, list[str]]:
    """Usage dates as UTC midnights: ``MM/DD/YYYY`` (EA exports; ``DD/MM/YYYY`` when a
    first number is above 12) or ISO 8601."""
    parts = text.str.extract(_MDY)
    slashed = parts[0].notna()
    notes: list[str] = []
    iso = common.times(cols, column, origin, values=text.mask(slashed))
    if not slashed.any():
        return iso.dt.normalize(), notes
    first, second = parts[0].astype(float), parts[1].astype(float)
    day_first = bool((first > 12).any())
    if day_first and bool((second > 12).any()):
        at = common.first_bad(slashed & (second > 12))
        raise UsageError(
            f"{cols.raw.locate(at)}: {cols.name(column)} dates mix month-first and day-first forms",
            file=origin,
            field=cols.name(column),
            fix="write dates as MM/DD/YYYY or YYYY-MM-DD",
        )
    month, day = (second, first) if day_first else (first, second)
    if day_first:
        notes.append(f"{Path(origin).name}: {cols.name(column)} read as DD/MM/YYYY")
    built = pd.to_datetime(
        pd.DataFrame({"year": parts[2].astype(float), "month": month, "day": day}),
        errors="coerce",
        utc=True,
    )
    bad = slashed & built.isna()
    if bad.any():
        at = common.first_bad(bad)
        raise UsageError(
            f"{cols.raw.locate(at)}: {cols.name(column)} {text.iloc[at]!r} is not a date",
            file=origin,
            field=cols.name(column),
            fix="write dates as MM/DD/YYYY or YYYY-MM-DD",
        )
    return iso.where(~slashed, built).dt.normalize(), notes


def _spot(model_key: pd.Series, meter: pd.Series, name: str) -> tuple[pd.Series, list[str]]:
    """is_spot: the pricing model, else a meter name ending in " Spot", else unknown."""
    by_model = model_key.eq("spot").astype("boolean")
    by_meter = meter.str.strip().str.endswith(" Spot").astype("boolean")
    value = by_model.where(model_key.notna(), by_meter)
    notes = common.count_note(
        name,
        int((model_key.isna() & by_meter.fillna(False).astype(bool)).sum()),
        "spot lines have no PricingModel; found by their meter name",
    )
    clash = model_key.eq("ondemand").fillna(False).astype(bool) & by_meter.fillna(False).astype(
        bool
    )
    notes += common.count_note(
        name, int(clash.sum()), "lines have a Spot meter but PricingModel OnDemand"
    )
    return value.astype("boolean"), notes


def _metric(
    given: Metric | None, name: str, paid_commitment_usage: pd.Series, unused: pd.Series
) -> tuple[Metric, str]:
    if given is not None:
        return given, f"{name}: {METRIC_TEXT[given]} ({given}, given)"
    lowered = name.lower()
    if "amortized" in lowered or "amortised" in lowered:
        return "amortizedcost", f"{name}: amortised cost (from the file name)"
    if "actual" in lowered:
        return "actualcost", f"{name}: actual cost (from the file name)"
    if bool(paid_commitment_usage.any()) or bool(unused.any()):
        return "amortizedcost", (
            f"{name}: amortised cost (commitment usage lines carry costs); "
            "name the metric if that is wrong"
        )
    return "actualcost", f"{name}: actual cost (no amortised lines seen); name the metric if wrong"


METRIC_TEXT = {"actualcost": "actual cost", "amortizedcost": "amortised cost"}


def _list_cost(
    cols: Columns, cost: pd.Series, quantity: pd.Series, origin: str, name: str
) -> tuple[pd.Series, list[str]]:
    """Cost at pay-as-you-go prices [billing currency]; NaN when not known."""
    payg = common.numbers(cols, "PaygCostInBillingCurrency", origin)
    price = common.numbers(cols, "PayGPrice", origin)
    derived = price * quantity
    unknown = price.eq(0).fillna(False).astype(bool) & cost.fillna(0).ne(0)
    derived = derived.mask(unknown)
    notes = common.count_note(
        name,
        int((unknown & payg.isna()).sum()),
        "lines with a cost have PayGPrice 0; list_cost unknown",
    )
    return payg.fillna(derived).astype("float64"), notes


def _tag_text(text: pd.Series) -> pd.Series:
    """Tags as JSON objects: EA exports drop the braces (``"env": "prod","org": "x"``)."""
    stripped = text.str.strip()
    braced = stripped.str.startswith("{") | stripped.str.startswith("[")
    wrapped = "{" + stripped + "}"
    return stripped.where(braced.fillna(True).astype(bool), wrapped).astype("string")


def _instance_types(cols: Columns, meter: pd.Series) -> pd.Series:
    """VM sizes: ``AdditionalInfo.ServiceType``, else one size named by a VM meter."""
    out: list[str | None] = []
    info = cols.get("AdditionalInfo").tolist()
    category = cols.get("MeterCategory").tolist()
    for extra, kind, name in zip(info, category, meter.tolist(), strict=True):
        out.append(_service_type(extra) or _meter_size(kind, name))
    return pd.Series(out, index=meter.index, dtype="string")


def _service_type(text: Any) -> str | None:
    if text is None or text is pd.NA:
        return None
    try:
        value = json.loads(str(text))
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    service = value.get("ServiceType") or value.get("serviceType")
    return str(service) if isinstance(service, str) and service.startswith("Standard_") else None


def _meter_size(category: Any, meter: Any) -> str | None:
    """``Standard_DS4_v2`` from a Virtual Machines meter ``DS4 v2 Spot``; None otherwise."""
    if category is None or category is pd.NA or str(category) != "Virtual Machines":
        return None
    if meter is None or meter is pd.NA:
        return None
    text = str(meter).strip()
    for suffix in (" Spot", " Low Priority"):
        text = text.removesuffix(suffix)
    if "/" in text or not _METER_SIZE.match(text):
        return None
    return "Standard_" + "_".join(text.split())


def read_azure_cost_details(
    paths: Sequence[Path], as_of: datetime | None, source: str | None
) -> list[ImportBatch]:
    """Read Azure cost-details exports (CSV, gzipped CSV or Parquet), one batch per file.

    ``as_of`` defaults to each file's newest charge period end; ``source`` to
    ``azure-cost-details:<file name>``; actual vs amortised cost is decided per file.
    """
    batches = []
    for path in paths:
        origin = str(path)
        raw = common.read_rows(path, read_text)
        name = source or default_source(FORMAT, [path])
        frame, notes = parse_azure_cost_details(raw, source=name, as_of=as_of, origin=origin)
        batches.append(ImportBatch(BILLING, frame, name, origin, tuple(notes)))
    return batches


AZURE_COST_DETAILS = FileFormat(
    FORMAT,
    "Azure cost details export (EA/MCA, actual or amortised; CSV or Parquet): billing lines",
    sniff_azure_cost_details,
    read_azure_cost_details,
)
