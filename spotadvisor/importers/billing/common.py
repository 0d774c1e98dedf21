"""What the billing importers share: rows as text, spot detection, tags, row keys, as_of.

Every billing file (CSV, gzipped CSV or Parquet) is first read into a frame of text cells
under the file's own column names (``RawRows``), so CSV and Parquet copies of one export
go through the same mapping and give the same rows. Missing values are ``<NA>``: an empty
cell, the literal ``NULL`` that FOCUS CSVs write, or a Parquet null.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from spotadvisor.errors import UsageError
from spotadvisor.importers.base import not_after_now, resolve_as_of
from spotadvisor.schema import BILLING, CHARGE_CATEGORIES, PRICING_CATEGORIES, validate

PARQUET_MAGIC = b"PAR1"
NULL_TEXT = ("", "NULL")
SPOT_USAGE = "SpotUsage"

# Provider names as billing files write them (lower case) -> the billing table's provider.
PROVIDER_NAMES: dict[str, str] = {
    "aws": "aws",
    "amazon web services": "aws",
    "amazon web services, inc.": "aws",
    "microsoft": "azure",
    "microsoft azure": "azure",
    "azure": "azure",
    "google": "gcp",
    "google cloud": "gcp",
    "google cloud platform": "gcp",
    "gcp": "gcp",
    "oracle": "oracle",
    "oracle cloud infrastructure": "oracle",
    "oci": "oracle",
}

# FOCUS 1.0-preview names (still in old Azure exports) -> FOCUS 1.x PricingCategory.
LEGACY_PRICING_CATEGORIES: dict[str, str] = {
    "on-demand": "Standard",
    "ondemand": "Standard",
    "commitment-based": "Committed",
}

# ``BoxUsage:g5.xlarge``, ``USW2-SpotUsage:g5.xlarge``, ``DedicatedUsage:p4d.24xlarge``...
_USAGE_TYPE_INSTANCE = re.compile(
    r"(?:^|[-:])(?:BoxUsage|SpotUsage|DedicatedUsage|HostBoxUsage|HeavyUsage|UnusedBox|"
    r"UnusedDed|ReservedHostUsage):(?P<type>[a-z][a-z0-9-]*\.[a-z0-9-]+)$"
)
_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
_ACCOUNT_ID = re.compile(r"(?<!\d)\d{12}(?!\d)")


@dataclass(frozen=True)
class RawRows:
    """A billing file's rows as text, before mapping.

    Attributes
    ----------
    frame
        One column per file column (names as in the file), string dtype, ``<NA>`` for
        missing values; index 0..n-1 in file order.
    kind
        ``csv`` or ``parquet``, for messages.
    """

    frame: pd.DataFrame
    kind: str

    def locate(self, position: int) -> str:
        """Where row ``position`` (0-based) is: ``line N`` of a CSV, ``row N`` of Parquet."""
        return f"line {position + 2}" if self.kind == "csv" else f"row {position + 1}"


# --- reading ------------------------------------------------------------------------------


def is_parquet(path: Path) -> bool:
    """True when ``path`` starts with the Parquet magic bytes ``PAR1``."""
    try:
        with path.open("rb") as handle:
            return handle.read(4) == PARQUET_MAGIC
    except OSError:
        return False


def parquet_columns(path: Path) -> list[tuple[str, str]]:
    """(name, DuckDB type) of every column of a Parquet file.

    Raises
    ------
    UsageError
        When the file is not readable Parquet.
    """
    import duckdb

    con = duckdb.connect()
    try:
        rows = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
    except duckdb.InterruptException:  # Ctrl-C while DuckDB reads: an interrupt, not a bad file
        raise KeyboardInterrupt from None
    except duckdb.Error as exc:
        raise UsageError(
            f"cannot read the Parquet file: {str(exc).splitlines()[0]}",
            file=str(path),
            fix="give a complete Parquet file (a download may have been cut short)",
        ) from None
    finally:
        con.close()
    return [(str(name), str(kind)) for name, kind, *_ in rows]


def parquet_header(path: Path) -> str:
    """A CSV header line naming a Parquet file's columns, for the format sniffers."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow([name for name, _ in parquet_columns(path)])
    return buffer.getvalue()


def header_names(head: str) -> list[str]:
    """Column names in the first line of CSV text (quotes and a BOM removed)."""
    first = head.lstrip("\ufeff").split("\n", 1)[0].rstrip("\r")
    try:
        row = next(csv.reader([first]), [])
    except csv.Error:
        return []
    return [name.strip() for name in row]


def read_rows(path: Path, text: Callable[[Path], str]) -> RawRows:
    """Every row of a billing CSV (plain or gzipped) or Parquet file, as text.

    Parameters
    ----------
    path
        The file.
    text
        Reads a text file (``importers.base.read_text``); used for CSV.

    Raises
    ------
    UsageError
        When the file cannot be read, or CSV lines have more fields than the header.
    """
    if is_parquet(path):
        return RawRows(_parquet_text(path), "parquet")
    content = text(path)
    if not content.strip():
        raise UsageError("the file is empty", file=str(path), fix="give a non-empty CSV file")
    try:
        frame = pd.read_csv(
            io.StringIO(content),
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            index_col=False,
        )
    except (pd.errors.ParserError, ValueError) as exc:
        raise UsageError(
            f"cannot read as CSV: {str(exc).strip()}",
            file=str(path),
            fix="every line needs the same number of fields as the header",
        ) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return RawRows(_as_text(frame), "csv")


def _parquet_text(path: Path) -> pd.DataFrame:
    """A Parquet file's rows with every column cast to text by DuckDB.

    Maps, structs and lists become JSON text (``{"user_team":"ml"}``); times with a time
    zone become UTC wall-clock text; numbers their shortest round-trip decimal form.
    """
    import duckdb

    selects = []
    for name, kind in parquet_columns(path):
        quoted = '"' + name.replace('"', '""') + '"'
        upper = kind.upper()
        if upper.startswith(("MAP", "STRUCT")) or upper.endswith("[]"):
            expr = f"to_json({quoted})::VARCHAR"
        elif upper == "TIMESTAMP WITH TIME ZONE":
            expr = f"timezone('UTC', {quoted})::VARCHAR"
        else:
            expr = f"{quoted}::VARCHAR"
        selects.append(f"{expr} AS {quoted}")
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        frame = con.execute(f"SELECT {', '.join(selects)} FROM read_parquet(?)", [str(path)]).df()
    except duckdb.InterruptException:  # Ctrl-C while DuckDB reads: an interrupt, not a bad file
        raise KeyboardInterrupt from None
    except duckdb.Error as exc:
        raise UsageError(
            f"cannot read the Parquet file: {str(exc).splitlines()[0]}",
            file=str(path),
            fix="give a complete Parquet file (a download may have been cut short)",
        ) from None
    finally:
        con.close()
    return _as_text(frame)


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(index=pd.RangeIndex(len(frame)))
    for name in frame.columns:
        values = frame[name].astype("string").str.strip()
        out[name] = values.mask(values.isin(NULL_TEXT))
    return out


class Columns:
    """Case-insensitive access to a raw frame's columns, as text.

    FOCUS names columns in PascalCase, but some exports (and hand-made files) change the
    case; a column absent from the file reads as all missing.
    """

    def __init__(self, raw: RawRows) -> None:
        self.raw = raw
        self._by_lower: dict[str, str] = {}
        for name in raw.frame.columns:
            self._by_lower.setdefault(str(name).lower(), str(name))

    def has(self, name: str) -> bool:
        """True when the file has column ``name`` (any case)."""
        return name.lower() in self._by_lower

    def name(self, name: str) -> str:
        """The file's spelling of column ``name`` (for messages)."""
        return self._by_lower.get(name.lower(), name)

    def get(self, name: str) -> pd.Series:
        """Column ``name`` as text; all missing when the file lacks it."""
        actual = self._by_lower.get(name.lower())
        if actual is None:
            return pd.Series(pd.NA, index=self.raw.frame.index, dtype="string")
        return self.raw.frame[actual]

    def first(self, *names: str) -> pd.Series:
        """Per row, the first non-missing value among columns ``names``."""
        out = self.get(names[0])
        for name in names[1:]:
            out = out.fillna(self.get(name))
        return out


# --- values -------------------------------------------------------------------------------


def first_bad(mask: pd.Series) -> int:
    """Position of the first True in ``mask``."""
    return int(np.flatnonzero(mask.to_numpy(dtype=bool))[0])


def numbers(cols: Columns, name: str, origin: str, values: pd.Series | None = None) -> pd.Series:
    """Column ``name`` (or ``values``) as floats; missing stays NaN, text that is not a
    number is an error naming the row.

    Raises
    ------
    UsageError
        For a value that is not a number.
    """
    text = cols.get(name) if values is None else values
    parsed = pd.to_numeric(text, errors="coerce").astype("float64")
    bad = text.notna() & parsed.isna()
    if bad.any():
        at = first_bad(bad)
        raise UsageError(
            f"{cols.raw.locate(at)}: {cols.name(name)} {text.iloc[at]!r} is not a number",
            file=origin,
            field=cols.name(name),
            fix="write amounts as plain decimals, e.g. 0.0123",
        )
    return parsed


def times(cols: Columns, name: str, origin: str, values: pd.Series | None = None) -> pd.Series:
    """Column ``name`` (or ``values``) as UTC times (ISO 8601; no offset means UTC).

    Raises
    ------
    UsageError
        For a value that is not a time.
    """
    text = cols.get(name) if values is None else values
    parsed = pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601")
    bad = text.notna() & parsed.isna()
    if bad.any():
        at = first_bad(bad)
        raise UsageError(
            f"{cols.raw.locate(at)}: {cols.name(name)} {text.iloc[at]!r} is not a time",
            file=origin,
            field=cols.name(name),
            fix="write times in ISO 8601, e.g. 2024-09-01T00:00:00Z",
        )
    return parsed


def require(cols: Columns, names: Sequence[str], origin: str, what: str) -> None:
    """Every column in ``names`` is in the file and has a value in every row.

    Raises
    ------
    UsageError
        Naming the first missing column, or the first row without a value.
    """
    for name in names:
        if not cols.has(name):
            raise UsageError(
                f"no {name} column",
                file=origin,
                field=name,
                fix=f"a {what} needs the columns {', '.join(names)}",
            )
        missing = cols.get(name).isna()
        if missing.any():
            raise UsageError(
                f"{cols.raw.locate(first_bad(missing))} has no {cols.name(name)}",
                file=origin,
                field=cols.name(name),
                fix=f"every line of a {what} has {', '.join(names)}",
            )


def providers(names: pd.Series) -> pd.Series:
    """Provider names as files write them (``AWS``, ``Microsoft``...) -> aws, azure, gcp,
    oracle; anything else (or missing) -> ``other``."""
    key = names.str.strip().str.lower()
    return key.map(PROVIDER_NAMES, na_action="ignore").fillna("other").astype("string")


def pricing_categories(values: pd.Series) -> tuple[pd.Series, list[str]]:
    """FOCUS PricingCategory values, normalised.

    FOCUS 1.x names (any case) are kept, the 1.0-preview names are mapped
    (``On-Demand`` -> Standard, ``Commitment-Based`` -> Committed); anything else
    becomes ``Other`` and is returned in the second item so the importer can say so.
    """
    canonical = {c.lower(): c for c in PRICING_CATEGORIES}
    canonical.update(LEGACY_PRICING_CATEGORIES)
    key = values.str.strip().str.lower()
    mapped = key.map(canonical, na_action="ignore").astype("string")
    unknown = values.notna() & mapped.isna()
    return mapped.mask(unknown, "Other"), sorted(set(values[unknown]))


def charge_categories(values: pd.Series) -> tuple[pd.Series, list[str]]:
    """ChargeCategory values in FOCUS spelling; unknown ones are kept and listed."""
    canonical = {c.lower(): c for c in CHARGE_CATEGORIES}
    mapped = values.str.strip().str.lower().map(canonical, na_action="ignore")
    mapped = mapped.astype("string").fillna(values)
    unknown = values.notna() & ~mapped.isin(CHARGE_CATEGORIES)
    return mapped, sorted(set(values[unknown]))


def currencies(values: pd.Series) -> pd.Series:
    """ISO 4217 codes in upper case (``usd`` -> ``USD``)."""
    return values.str.strip().str.upper()


def spot_in_usage_type(usage_type: pd.Series) -> pd.Series:
    """True where an AWS usage type is spot (``%SpotUsage%``); missing stays missing."""
    return usage_type.str.contains(SPOT_USAGE, regex=False).astype("boolean")


def instance_type_from_usage_type(usage_type: pd.Series) -> pd.Series:
    """``g5.xlarge`` from ``BoxUsage:g5.xlarge`` / ``USW2-SpotUsage:g5.xlarge``; else missing."""
    return usage_type.str.extract(_USAGE_TYPE_INSTANCE, expand=False).astype("string")


def zone_or_none(values: pd.Series) -> tuple[pd.Series, int]:
    """Availability zones, with values that are bare numbers dropped (and counted).

    The FOCUS sample's Microsoft rows carry unit prices (``0.02``) in AvailabilityZone;
    no provider names a zone with a bare number.
    """
    numeric = values.str.match(_NUMBER).fillna(False).astype(bool)
    return values.mask(numeric), int(numeric.sum())


def without_account_ids(text: str) -> str:
    """``text`` with every 12-digit AWS account id replaced by ``<account>``."""
    return _ACCOUNT_ID.sub("<account>", text)


# --- tags ---------------------------------------------------------------------------------


def aws_tag_key(key: str) -> str:
    """An AWS cost-allocation tag key as the user wrote it: ``user:team`` (legacy CUR,
    FOCUS) and ``user_team`` (CUR 2.0 ``resource_tags``) -> ``team``; AWS-generated keys
    (``aws:createdBy``, ``aws_created_by``) are kept as written."""
    for prefix in ("user:", "user_"):
        if key.startswith(prefix) and len(key) > len(prefix):
            return key[len(prefix) :]
    return key


def tag_object(text: str) -> dict[str, Any]:
    """A JSON object of tags from text; ``[{"key": k, "value": v}, ...]`` (DuckDB's
    JSON for some maps, BigQuery's labels) is accepted too.

    Raises
    ------
    ValueError
        When the text is not such JSON.
    """
    value = json.loads(text)
    if isinstance(value, list) and all(
        isinstance(v, Mapping) and "key" in v and "value" in v for v in value
    ):
        return {str(v["key"]): v["value"] for v in value}
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def tags_json(tags: Mapping[str, Any] | None) -> str | None:
    """Tags as a JSON object string with sorted keys (stable for keys and comparisons);
    None stays None, empty values are dropped."""
    if tags is None:
        return None
    kept = {str(k): v for k, v in tags.items() if v is not None and v != ""}
    return json.dumps(kept, sort_keys=True, ensure_ascii=False)


def tags_column(
    cols: Columns,
    text: pd.Series,
    origin: str,
    *,
    field: str,
    aws_keys: pd.Series | bool = False,
) -> pd.Series:
    """A column of JSON tag objects -> canonical JSON text.

    Parameters
    ----------
    cols, origin
        The file, for messages.
    text
        JSON objects (or missing) per row.
    field
        The file's name of the column, for messages.
    aws_keys
        Per row (or for all rows): True when keys are AWS cost-allocation tag keys,
        which ``aws_tag_key`` renames (``user:team`` -> ``team``).

    Raises
    ------
    UsageError
        For a value that is not a JSON object, naming the row.
    """
    rename = (
        [bool(aws_keys)] * len(text)
        if isinstance(aws_keys, bool)
        else aws_keys.fillna(False).astype(bool).tolist()
    )
    out: list[str | None] = []
    for position, value in enumerate(text.tolist()):
        if value is None or value is pd.NA:
            out.append(None)
            continue
        try:
            tags = tag_object(str(value))
        except ValueError:
            raise UsageError(
                f"{cols.raw.locate(position)}: {field} is not a JSON object of tags",
                file=origin,
                field=field,
                fix='write tags as JSON, e.g. {"team": "ml"}, or NULL',
            ) from None
        if rename[position]:
            tags = {aws_tag_key(k): v for k, v in tags.items()}
        out.append(tags_json(tags))
    return pd.Series(out, index=text.index, dtype="string")


# --- keys, as_of, validation --------------------------------------------------------------

# Columns hashed into a row key when a line has no id of its own: the line's own values,
# not what spotadvisor derives from them (is_spot, instance_type, pricing_category), so a
# better derivation in a later version does not change the keys of stored rows.
KEY_COLUMNS = (
    "provider",
    "charge_period_start",
    "charge_period_end",
    "charge_category",
    "billed_cost",
    "effective_cost",
    "list_cost",
    "billing_currency",
    "service_name",
    "region_id",
    "availability_zone",
    "resource_id",
    "sku_id",
    "usage_type",
    "consumed_quantity",
    "consumed_unit",
    "tags",
    "sub_account_id",
)


def hash_keys(frame: pd.DataFrame, columns: Sequence[str] = KEY_COLUMNS) -> pd.Series:
    """A stable key per row: SHA-256 of its values plus its occurrence index among rows
    with the same values, so identical lines stay distinct and re-reading a file gives the
    same keys (first 32 hex digits)."""
    text = pd.Series("", index=frame.index, dtype="string")
    for name in columns:
        values = frame[name]
        if isinstance(values.dtype, pd.DatetimeTZDtype):
            cell = values.map(lambda t: t.isoformat(), na_action="ignore")
        else:
            cell = values.map(repr_value, na_action="ignore")
        text = text + "\x1f" + cell.astype("string").fillna("\x00")
    occurrence = text.groupby(text, sort=False).cumcount().astype(str)
    joined = (text + "\x1e" + occurrence).tolist()
    return pd.Series(
        [hashlib.sha256(v.encode("utf-8")).hexdigest()[:32] for v in joined],
        index=frame.index,
        dtype="string",
    )


def repr_value(value: Any) -> str:
    """Text of one value for hashing: floats by ``repr``, everything else by ``str``."""
    return repr(float(value)) if isinstance(value, float | np.floating) else str(value)


def id_keys(ids: pd.Series, intervals: pd.Series) -> tuple[pd.Series, int]:
    """Row keys from provider line ids: ``id@interval`` when the interval is known
    (a CUR line item id is unique only within its time interval), ``#n`` appended to the
    n-th repeat of a key. Returns the keys and the number of repeats."""
    keys = ids.where(intervals.isna(), ids + "@" + intervals)
    repeat = keys.groupby(keys, sort=False).cumcount()
    keys = keys.where(repeat == 0, keys + "#" + repeat.astype(str))
    return keys.astype("string"), int((repeat > 0).sum())


def choose_as_of(
    path: Path, ends: pd.Series, given: datetime | None
) -> tuple[pd.Timestamp | None, str]:
    """as_of for a billing file: ``--as-of`` when given, else the newest charge period end
    (a bill is as fresh as its last line) but never later than now, and a note saying which."""
    if given is not None:
        return pd.Timestamp(given), resolve_as_of(path, given)[1]
    if ends.dropna().empty:
        return None, f"{path.name}: no billing lines, so no as_of"
    newest = ends.max()
    when, future = not_after_now(newest, "the newest charge period end in the file")
    if future is not None:  # e.g. a month-to-date export whose monthly fees end next month
        return pd.Timestamp(when), f"{path.name}: {future}"
    return newest, (
        f"{path.name}: as_of {newest:%Y-%m-%d %H:%M} UTC, the newest charge period end in "
        "the file; pass --as-of to override"
    )


def finish(
    rows: Mapping[str, Any],
    index: pd.Index,
    *,
    source: str,
    as_of: pd.Timestamp | None,
    origin: str,
) -> pd.DataFrame:
    """Assemble the billing columns into a validated frame (canonical order and dtypes)."""
    frame = pd.DataFrame(index=index)
    for column in BILLING.column_names:
        if column in ("source", "as_of"):
            continue
        value = rows.get(column)
        frame[column] = pd.Series(pd.NA, index=index, dtype="object") if value is None else value
    frame["source"] = source
    frame["as_of"] = as_of
    return validate(frame, BILLING, origin=origin)


def summary_notes(frame: pd.DataFrame, name: str) -> list[str]:
    """Lines, providers, period span, spot lines and currencies of one file's rows."""
    if frame.empty:
        return [f"{name}: no billing lines"]
    by_provider = frame["provider"].value_counts()
    listed = ", ".join(f"{p} {n}" for p, n in by_provider.items())
    spot = frame["is_spot"].fillna(False).astype(bool)
    unknown = int(frame["is_spot"].isna().sum())
    notes = [
        f"{name}: {len(frame)} billing lines ({listed}) charged from "
        f"{frame['charge_period_start'].min():%Y-%m-%d %H:%M} to "
        f"{frame['charge_period_end'].max():%Y-%m-%d %H:%M} UTC",
        f"{name}: {int(spot.sum())} spot lines"
        + (f" (billed {frame.loc[spot, 'billed_cost'].sum():.2f})" if spot.any() else "")
        + (f"; {unknown} lines say nothing about spot (is_spot unknown)" if unknown else ""),
    ]
    codes = sorted(frame["billing_currency"].dropna().unique())
    if len(codes) > 1:
        notes.append(
            f"{name}: costs are in {len(codes)} currencies ({', '.join(codes)}); "
            "sum them per billing_currency"
        )
    return notes


def count_note(name: str, count: int, text: str) -> list[str]:
    """``[f"{name}: {count} {text}"]`` when count > 0, else nothing."""
    return [f"{name}: {count} {text}"] if count else []


def join_values(values: Iterable[str], limit: int = 5) -> str:
    """Up to ``limit`` values, comma-separated, with ``...`` when there are more."""
    items = list(values)
    shown = ", ".join(repr(v) for v in items[:limit])
    return shown + (", ..." if len(items) > limit else "")
