"""Canonical tables: columns, dtypes, units, natural keys, and validation.

Every frame that enters the store or leaves a catalog query has one of these shapes.
Column names carry their units (``price_on_demand_usd_per_hour``); every row carries the
``source`` it came from and the ``as_of`` time its facts describe (UTC).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pandas as pd

from spotadvisor.errors import UsageError

SCHEMA_VERSION = 1

Dtype = Literal["string", "float64", "Int64", "timestamp", "boolean"]

CLOUDS = ("aws", "gcp", "azure")
PROVIDERS = ("aws", "gcp", "azure", "oracle", "other")
PRICING_CATEGORIES = ("Standard", "Dynamic", "Committed", "Other")
CHARGE_CATEGORIES = ("Usage", "Purchase", "Tax", "Credit", "Adjustment")

_PANDAS_DTYPES: dict[Dtype, str] = {
    "string": "string",
    "float64": "float64",
    "Int64": "Int64",
    "timestamp": "datetime64[us, UTC]",
    "boolean": "boolean",
}

SQL_TYPES: dict[Dtype, str] = {
    "string": "VARCHAR",
    "float64": "DOUBLE",
    "Int64": "BIGINT",
    "timestamp": "TIMESTAMPTZ",
    "boolean": "BOOLEAN",
}


@dataclass(frozen=True)
class Column:
    """One column of a canonical table.

    Attributes
    ----------
    name
        snake_case name, with the unit in it where it has one.
    dtype
        Logical dtype; see ``_PANDAS_DTYPES`` for the pandas dtype it maps to.
    unit
        Unit of the values, or None for labels and identifiers.
    description
        One line for the docs and ``data status``.
    required
        True when a row may not leave it empty.
    added_later
        True for an optional column added to its table after stores, snapshots and
        importers were first written without it (an additive migration): a frame or
        file that lacks it reads as if it were empty, and ``Store`` adds it to an
        existing table when it next writes.
    """

    name: str
    dtype: Dtype
    unit: str | None
    description: str
    required: bool = False
    added_later: bool = False


@dataclass(frozen=True)
class Table:
    """A canonical table: its columns and its natural key."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    description: str

    @property
    def column_names(self) -> list[str]:
        """Column names in canonical order."""
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        """The column called ``name``."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


def _provenance() -> tuple[Column, ...]:
    return (
        Column(
            "source", "string", None, "where the row came from (file or API, with version)", True
        ),
        Column("as_of", "timestamp", "UTC", "when the row's facts were true", True),
    )


OFFERS = Table(
    name="offers",
    description="GPU instance offers: one row per cloud, region, zone and instance type",
    key=("source", "cloud", "region", "zone", "zone_id", "instance_type"),
    columns=(
        Column("cloud", "string", None, "aws, gcp or azure", True),
        Column("region", "string", None, "region name, e.g. us-east-1", True),
        Column("zone", "string", None, "zone name (us-east-1a); empty for regional offers"),
        Column(
            "zone_id", "string", None, "AWS availability-zone ID (use1-az4), account-independent"
        ),
        Column("instance_type", "string", None, "instance / machine / VM size name", True),
        Column("gpu_model", "string", None, "canonical GPU model, e.g. A100, H100, L4"),
        Column("gpu_count", "float64", "GPUs", "GPUs per instance (fractional for shared GPUs)"),
        Column("gpu_memory_gb", "float64", "GB", "nominal memory per GPU"),
        Column("vcpus", "float64", "vCPUs", "virtual CPUs per instance"),
        Column("memory_gib", "float64", "GiB", "host memory per instance"),
        Column("price_on_demand_usd_per_hour", "float64", "USD/h", "on-demand Linux price"),
        Column("price_spot_usd_per_hour", "float64", "USD/h", "spot Linux price"),
        Column("interruption_band", "string", None, "interruption band label, e.g. 5-10%"),
        Column("interruption_band_lower_pct", "float64", "%/month", "band lower bound"),
        Column("interruption_band_upper_pct", "float64", "%/month", "band upper bound"),
        Column("placement_score", "float64", "1-10", "spot placement score"),
        Column("quality_flags", "string", None, "';'-separated data-quality flags"),
        *_provenance(),
    ),
)

SPOT_PRICE_HISTORY = Table(
    name="spot_price_history",
    description="spot price changes; each price holds until the next row of its pool",
    key=("cloud", "region", "zone", "zone_id", "instance_type", "product", "timestamp"),
    columns=(
        Column("cloud", "string", None, "aws, gcp or azure", True),
        Column("region", "string", None, "region name", True),
        Column("zone", "string", None, "zone name where known"),
        Column("zone_id", "string", None, "AWS availability-zone ID where known"),
        Column("instance_type", "string", None, "instance type", True),
        Column("product", "string", None, "product / OS, e.g. Linux/UNIX", True),
        Column("price_usd_per_hour", "float64", "USD/h", "spot price from this time on", True),
        Column("timestamp", "timestamp", "UTC", "time of the price change", True),
        *_provenance(),
    ),
)

INTERRUPTION_HISTORY = Table(
    name="interruption_history",
    description="interruption-frequency band per cloud, region and instance type over time",
    key=("source", "cloud", "region", "instance_type", "os", "as_of"),
    columns=(
        Column("cloud", "string", None, "aws, gcp or azure", True),
        Column("region", "string", None, "region name", True),
        Column("instance_type", "string", None, "instance type", True),
        Column("os", "string", None, "Linux or Windows", True),
        Column("interruption_band", "string", None, "band label as published, e.g. 5-10%", True),
        Column("interruption_band_lower_pct", "float64", "%/month", "band lower bound", True),
        Column("interruption_band_upper_pct", "float64", "%/month", "band upper bound", True),
        Column("savings_pct", "float64", "%", "published saving of spot over on-demand"),
        Column(
            "measured_rate_pct",
            "float64",
            "%/month",
            "measured mean interruption rate (GCP advice: preemption share, mean over zones)",
            added_later=True,
        ),
        Column(
            "window_start", "timestamp", "UTC", "start of the measurement window", added_later=True
        ),
        Column(
            "window_end",
            "timestamp",
            "UTC",
            "end of the measurement window (exclusive)",
            added_later=True,
        ),
        Column("window_days", "float64", "d", "length of the measurement window", added_later=True),
        *_provenance(),
    ),
)

BILLING = Table(
    name="billing",
    description="billing lines (a FOCUS 1.x subset) from FOCUS, CUR and Cost Explorer",
    key=("source", "row_key"),
    columns=(
        Column(
            "row_key",
            "string",
            None,
            "stable id of the line within its source (line item id, else a content hash)",
            True,
        ),
        Column("provider", "string", None, "aws, gcp, azure, oracle or other", True),
        Column("charge_period_start", "timestamp", "UTC", "start of the charge period", True),
        Column(
            "charge_period_end", "timestamp", "UTC", "end of the charge period (exclusive)", True
        ),
        Column("charge_category", "string", None, "Usage, Purchase, Tax, Credit or Adjustment"),
        Column("billed_cost", "float64", "billing_currency", "cost on the invoice"),
        Column("effective_cost", "float64", "billing_currency", "cost with commitments amortised"),
        Column("list_cost", "float64", "billing_currency", "cost at public on-demand prices"),
        Column("billing_currency", "string", None, "ISO 4217 code of the costs, e.g. USD"),
        Column("pricing_category", "string", None, "Standard, Dynamic, Committed or Other"),
        Column("is_spot", "boolean", None, "True for spot / interruptible capacity"),
        Column("service_name", "string", None, "provider's service name"),
        Column("region_id", "string", None, "region code, e.g. us-east-1"),
        Column("availability_zone", "string", None, "zone name where the provider gives one"),
        Column("resource_id", "string", None, "provider's resource id (instance id, ARN, ...)"),
        Column("sku_id", "string", None, "provider's SKU id"),
        Column("instance_type", "string", None, "instance / machine / VM size, e.g. g5.xlarge"),
        Column("usage_type", "string", None, "provider's usage type, e.g. SpotUsage:g5.xlarge"),
        Column("consumed_quantity", "float64", "consumed_unit", "amount used"),
        Column("consumed_unit", "string", None, "unit of consumed_quantity, e.g. Hours"),
        Column("tags", "string", None, "resource tags as a JSON object"),
        Column("sub_account_id", "string", None, "account / subscription / project id"),
        *_provenance(),
    ),
)

INTERRUPTION_EVENTS = Table(
    name="interruption_events",
    description="interruption, rebalance and state-change events of the fleet's instances",
    key=("event_id",),
    columns=(
        Column(
            "event_id",
            "string",
            None,
            "stable id within its source (EventBridge id, log insertId, operation id...)",
            True,
        ),
        Column("cloud", "string", None, "aws, gcp or azure", True),
        Column("region", "string", None, "region name where known"),
        Column(
            "zone",
            "string",
            None,
            "zone where known: on AWS the zone ID (use1-az6) when the source gives one, else the name",
        ),
        Column("instance_type", "string", None, "instance / machine / VM size where known"),
        Column("instance_id", "string", None, "instance id, VM name or resource id"),
        Column("market", "string", None, "spot, on-demand, or empty when unknown"),
        Column(
            "event_type",
            "string",
            None,
            "interruption, rebalance, state-change or maintenance",
            True,
        ),
        Column(
            "action", "string", None, "what the cloud announced (terminate, preempted...)", True
        ),
        Column("notice_time", "timestamp", "UTC", "when the cloud announced the event", True),
        *_provenance(),
    ),
)

TABLES: dict[str, Table] = {
    t.name: t
    for t in (OFFERS, SPOT_PRICE_HISTORY, INTERRUPTION_HISTORY, BILLING, INTERRUPTION_EVENTS)
}

_NON_NEGATIVE = (
    "gpu_count",
    "gpu_memory_gb",
    "vcpus",
    "memory_gib",
    "price_on_demand_usd_per_hour",
    "price_spot_usd_per_hour",
    "price_usd_per_hour",
    "interruption_band_lower_pct",
    "interruption_band_upper_pct",
    "measured_rate_pct",
    "window_days",
)


def empty_frame(table: Table) -> pd.DataFrame:
    """A frame with no rows and the table's columns and dtypes."""
    return pd.DataFrame(
        {c.name: pd.Series([], dtype=_PANDAS_DTYPES[c.dtype]) for c in table.columns}
    )


def validate(frame: pd.DataFrame, table: Table, *, origin: str = "<data>") -> pd.DataFrame:
    """Check ``frame`` against ``table`` and return it with canonical column order and dtypes.

    Rows that are exact duplicates are dropped; two rows with the same natural key and
    different values are an error, since one of them would silently win. A column
    marked ``added_later`` that ``frame`` lacks comes back empty.

    Parameters
    ----------
    frame
        Rows to check.
    table
        The canonical table they claim to be.
    origin
        Where the rows came from (a file name), for error messages.

    Raises
    ------
    UsageError
        When a column is missing or unknown, a value has the wrong type, a required value
        is empty, a value is out of range, or two rows disagree under one key.
    """
    missing = [c.name for c in table.columns if c.name not in frame.columns and not c.added_later]
    if missing:
        raise UsageError(
            f"missing column(s) {', '.join(missing)} for table {table.name}",
            file=origin,
            fix="the importer must fill every canonical column (use an empty value when unknown)",
        )
    extra = [n for n in frame.columns if n not in table.column_names]
    if extra:
        raise UsageError(
            f"unknown column(s) {', '.join(map(str, extra))} for table {table.name}",
            file=origin,
            fix=f"use only the columns of {table.name}: {', '.join(table.column_names)}",
        )
    out = pd.DataFrame(index=frame.index)
    for col in table.columns:
        if col.name not in frame.columns:  # added later: written before it existed
            out[col.name] = pd.Series(index=frame.index, dtype=_PANDAS_DTYPES[col.dtype])
            continue
        out[col.name] = _coerce(frame[col.name], col, table, origin)
    for col in table.columns:
        if col.required and out[col.name].isna().any():
            bad = int(out[col.name].isna().sum())
            raise UsageError(
                f"{bad} row(s) have no value for required column {col.name}",
                file=origin,
                field=col.name,
                fix="fill it in or drop those rows",
            )
    _check_ranges(out, origin)
    out = out.drop_duplicates().reset_index(drop=True)
    dupes = out.duplicated(subset=list(table.key), keep=False)
    if dupes.any():
        example = out.loc[dupes, list(table.key)].iloc[0].to_dict()
        raise UsageError(
            f"{int(dupes.sum())} rows share a key but disagree on other columns, e.g. {example}",
            file=origin,
            field=", ".join(table.key),
            fix="remove the conflicting rows so each key appears once",
        )
    return out


def _coerce(series: pd.Series, col: Column, table: Table, origin: str) -> pd.Series:
    try:
        if col.dtype == "timestamp":
            return pd.to_datetime(series, utc=True).dt.as_unit("us")
        if col.dtype == "string":
            return series.astype(pd.StringDtype())
        if col.dtype == "Int64":
            return series.astype(pd.Int64Dtype())
        if col.dtype == "boolean":
            return _booleans(series)
        return pd.to_numeric(series, errors="raise").astype("float64")
    except (TypeError, ValueError) as exc:
        raise UsageError(
            f"values of {col.name} in table {table.name} are not {col.dtype}: {exc}",
            file=origin,
            field=col.name,
            fix=f"write {col.name} as {col.dtype}" + (f" in {col.unit}" if col.unit else ""),
        ) from None


_BOOLEAN_TEXT = {"true": True, "false": False, "1": True, "0": False}


def _booleans(series: pd.Series) -> pd.Series:
    """True/False/missing; text ``true``/``false``/``1``/``0`` (any case) is accepted."""
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        return series.astype(pd.BooleanDtype())
    text = series.astype(pd.StringDtype()).str.strip().str.lower()
    unknown = text.notna() & ~text.isin(list(_BOOLEAN_TEXT))
    if unknown.any():
        raise ValueError(f"{text[unknown].iloc[0]!r} is not true or false")
    return text.map(_BOOLEAN_TEXT, na_action="ignore").astype(pd.BooleanDtype())


def _check_ranges(frame: pd.DataFrame, origin: str) -> None:
    for name in _NON_NEGATIVE:
        if name in frame.columns and (frame[name] < 0).any():
            raise UsageError(
                f"{int((frame[name] < 0).sum())} row(s) have a negative {name}",
                file=origin,
                field=name,
                fix="prices, counts and band bounds are never negative",
            )
    if "cloud" in frame.columns:
        bad = sorted(set(frame["cloud"].dropna()) - set(CLOUDS))
        if bad:
            raise UsageError(
                f"unknown cloud {bad[0]!r}",
                file=origin,
                field="cloud",
                fix=f"use one of {', '.join(CLOUDS)}",
            )
    for name, allowed in (("provider", PROVIDERS), ("pricing_category", PRICING_CATEGORIES)):
        if name in frame.columns:
            bad = sorted(set(frame[name].dropna()) - set(allowed))
            if bad:
                raise UsageError(
                    f"unknown {name} {bad[0]!r}",
                    file=origin,
                    field=name,
                    fix=f"use one of {', '.join(allowed)}",
                )
    start, end = "charge_period_start", "charge_period_end"
    if start in frame.columns and (frame[end] < frame[start]).any():
        raise UsageError(
            f"{int((frame[end] < frame[start]).sum())} row(s) end before they start",
            file=origin,
            field=end,
            fix="a charge period's end must not be before its start",
        )
    lower, upper = "interruption_band_lower_pct", "interruption_band_upper_pct"
    if lower in frame.columns and (frame[lower] > frame[upper]).any():
        raise UsageError(
            "an interruption band's lower bound is above its upper bound",
            file=origin,
            field=lower,
            fix="write bands as lower-upper, e.g. 5-10%",
        )
