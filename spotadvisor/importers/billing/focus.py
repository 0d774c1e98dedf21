"""FOCUS 1.x cost and usage exports (CSV, gzipped CSV or Parquet) -> ``billing``.

FOCUS (FinOps Open Cost and Usage Specification) columns map one to one onto the billing
table (``BilledCost`` -> ``billed_cost``...). What needs care:

- ``PricingCategory``: FOCUS 1.x values are kept; the 1.0-preview ``On-Demand`` and
  ``Commitment-Based`` become Standard and Committed; anything else becomes Other.
- ``is_spot``: from ``x_UsageType`` (``%SpotUsage%``) when the file has it (AWS exports),
  which then also cross-checks ``PricingCategory = Dynamic``; else, for Google Cloud
  rows, from "Spot"/"Preemptible" in the charge or SKU description (PricingCategory is a
  hint only there); else from ``x_PricingSubcategory = Spot`` (Azure) or
  ``PricingCategory = Dynamic``. Unknown (missing) when a line has none of these.
- ``instance_type``: from the usage type (``BoxUsage:g5.xlarge``), else from an AWS
  ``ChargeDescription`` such as "$1.624 per On Demand Linux g5.4xlarge Instance Hour".
- ``Tags``: a JSON object (CSV) or a map (Parquet); AWS ``user:`` prefixes are dropped.
- ``row_key``: FOCUS has no line id, so a hash of the line's values (see
  ``common.hash_keys``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import pandas as pd

from spotadvisor.importers.base import FileFormat, ImportBatch, default_source, read_text
from spotadvisor.importers.billing import common
from spotadvisor.importers.billing.common import Columns, RawRows
from spotadvisor.schema import BILLING

FORMAT = "focus"
REQUIRED = ("ChargePeriodStart", "ChargePeriodEnd", "BilledCost")
_SNIFF_COLUMNS = {"billedcost", "chargeperiodstart", "chargeperiodend"}
_SNIFF_ANY = {"effectivecost", "pricingcategory", "providername", "servicename", "billingcurrency"}
_INSTANCE_HOUR = re.compile(
    r"\b(?P<type>[a-z][a-z0-9-]*\d[a-z0-9-]*\.[0-9]*[a-z][a-z0-9-]*) Instance Hour\b"
)
_GCP_SPOT_TEXT = r"\b(?:Spot|Preemptible)\b"


def sniff_focus(head: str) -> bool:
    """True when the header line of ``head`` has FOCUS's cost and charge period columns."""
    names = {n.lower() for n in common.header_names(head)}
    return names >= _SNIFF_COLUMNS and bool(_SNIFF_ANY & names)


def parse_focus(
    raw: RawRows, *, source: str, as_of: datetime | None, origin: str
) -> tuple[pd.DataFrame, list[str]]:
    """FOCUS rows (as text) -> validated billing rows.

    Parameters
    ----------
    raw
        The file's rows as text (``common.read_rows``).
    source
        Provenance written into every row.
    as_of
        When the bill was true; None means the newest ``ChargePeriodEnd`` [UTC].
    origin
        The file name, for messages.

    Returns
    -------
    frame
        Validated ``billing`` rows, in file order.
    notes
        What was counted, mapped or dropped, and how ``as_of`` was chosen.

    Raises
    ------
    UsageError
        For a missing required column or value, a bad number, time or Tags value.
    """
    cols = Columns(raw)
    name = Path(origin).name
    common.require(cols, REQUIRED, origin, "FOCUS file")
    notes: list[str] = []

    provider_text = cols.first("ServiceProviderName", "ProviderName", "PublisherName")
    provider = common.providers(provider_text)
    notes += common.count_note(
        name, int(provider_text.isna().sum()), "lines name no provider (provider other)"
    )
    pricing, unknown_pricing = common.pricing_categories(cols.get("PricingCategory"))
    if unknown_pricing:
        notes.append(
            f"{name}: PricingCategory {common.join_values(unknown_pricing)} is not a FOCUS "
            "value; stored as Other"
        )
    charge, unknown_charge = common.charge_categories(cols.get("ChargeCategory"))
    if unknown_charge:
        notes.append(
            f"{name}: ChargeCategory {common.join_values(unknown_charge)} is not a FOCUS 1.x "
            "value; kept as written"
        )
    zone, numeric_zones = common.zone_or_none(cols.get("AvailabilityZone"))
    notes += common.count_note(
        name, numeric_zones, "AvailabilityZone values are numbers, not zones; stored as null"
    )
    usage_type = cols.get("x_UsageType")
    is_spot, spot_notes = _spot(cols, provider, pricing, usage_type, name)
    notes += spot_notes
    instance_type = common.instance_type_from_usage_type(usage_type)
    described = cols.get("ChargeDescription").str.extract(_INSTANCE_HOUR, expand=False)
    instance_type = instance_type.fillna(described.where(provider == "aws")).astype("string")

    tags = common.tags_column(
        cols, cols.get("Tags"), origin, field=cols.name("Tags"), aws_keys=provider == "aws"
    )
    start = common.times(cols, "ChargePeriodStart", origin)
    end = common.times(cols, "ChargePeriodEnd", origin)
    rows = {
        "provider": provider,
        "charge_period_start": start,
        "charge_period_end": end,
        "charge_category": charge,
        "billed_cost": common.numbers(cols, "BilledCost", origin),
        "effective_cost": common.numbers(cols, "EffectiveCost", origin),
        "list_cost": common.numbers(cols, "ListCost", origin),
        "billing_currency": common.currencies(cols.get("BillingCurrency")),
        "pricing_category": pricing,
        "is_spot": is_spot,
        "service_name": cols.get("ServiceName"),
        "region_id": cols.get("RegionId"),
        "availability_zone": zone,
        "resource_id": cols.get("ResourceId"),
        "sku_id": cols.get("SkuId"),
        "instance_type": instance_type,
        "usage_type": usage_type,
        "consumed_quantity": common.numbers(cols, "ConsumedQuantity", origin),
        "consumed_unit": cols.get("ConsumedUnit"),
        "tags": tags,
        "sub_account_id": cols.get("SubAccountId"),
    }
    keyed = pd.DataFrame(rows)
    rows["row_key"] = common.hash_keys(keyed)
    chosen, as_of_note = common.choose_as_of(Path(origin), end, as_of)
    frame = common.finish(rows, raw.frame.index, source=source, as_of=chosen, origin=origin)
    return frame, [as_of_note, *common.summary_notes(frame, name), *notes]


def _spot(
    cols: Columns,
    provider: pd.Series,
    pricing: pd.Series,
    usage_type: pd.Series,
    name: str,
) -> tuple[pd.Series, list[str]]:
    """is_spot per line (True / False / missing) and notes on disagreements."""
    dynamic = pricing.eq("Dynamic").fillna(False).astype(bool)
    by_usage = common.spot_in_usage_type(usage_type)
    subcategory = cols.get("x_PricingSubcategory")
    by_subcategory = subcategory.str.strip().str.lower().eq("spot").fillna(False).astype(bool)
    text = cols.get("ChargeDescription").fillna("") + " " + cols.get("x_SkuDescription").fillna("")
    gcp = provider.eq("gcp").fillna(False).astype(bool)
    by_text = gcp & text.str.contains(_GCP_SPOT_TEXT, regex=True).fillna(False).astype(bool)

    has_usage = usage_type.notna()
    value = pd.Series(False, index=pricing.index, dtype="boolean")
    value = value.mask(has_usage, by_usage)
    value = value.mask(~has_usage & gcp, by_text)
    value = value.mask(~has_usage & ~gcp, dynamic | by_subcategory)
    known = has_usage | pricing.notna() | subcategory.notna() | by_text
    value = value.mask(~known).astype("boolean")

    notes: list[str] = []
    usage_says_no = has_usage & ~by_usage.fillna(False).astype(bool)
    notes += common.count_note(
        name,
        int((dynamic & usage_says_no).sum()),
        "lines have PricingCategory Dynamic but a usage type without SpotUsage; taken as not spot",
    )
    notes += common.count_note(
        name,
        int((dynamic & gcp & ~has_usage & ~by_text).sum()),
        "Google Cloud lines have PricingCategory Dynamic but no Spot/Preemptible SKU text; "
        "taken as not spot",
    )
    return value, notes


def read_focus(
    paths: Sequence[Path], as_of: datetime | None, source: str | None
) -> list[ImportBatch]:
    """Read FOCUS 1.x exports (CSV, gzipped CSV or Parquet), one batch per file.

    ``as_of`` defaults to each file's newest ``ChargePeriodEnd``; ``source`` to
    ``focus:<file name>``.
    """
    batches = []
    for path in paths:
        origin = str(path)
        raw = common.read_rows(path, read_text)
        name = source or default_source(FORMAT, [path])
        frame, notes = parse_focus(raw, source=name, as_of=as_of, origin=origin)
        batches.append(ImportBatch(BILLING, frame, name, origin, tuple(notes)))
    return batches


FOCUS = FileFormat(
    FORMAT,
    "FOCUS 1.x cost and usage export (CSV or Parquet; AWS, Azure, GCP, OCI): billing lines",
    sniff_focus,
    read_focus,
)
