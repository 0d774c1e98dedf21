"""AWS spot price history (``describe-spot-price-history``) -> ``spot_price_history``.

Three shapes of the same events are read:

1. the API's JSON (``{"NextToken", "SpotPriceHistory": [...]}``, a list of such pages,
   or a bare list of records);
2. CSV with a header ``Region,AvailabilityZone,InstanceType,ProductDescription,SpotPrice,
   Timestamp`` (``Region`` optional);
3. headerless TSV ``az_id, instance_type, product_description, spot_price, timestamp``.

Each row is a price *change*: the price holds until the next row of the same pool
(zone, instance type, product). Every reader turns its file into a frame of text
columns and hands it to one vectorised parser, so the rules (and messages) are shared.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from spotadvisor.errors import UsageError
from spotadvisor.importers.base import (
    FileFormat,
    ImportBatch,
    default_source,
    future_as_of_note,
    not_after_now,
    read_text,
    resolve_as_of,
)
from spotadvisor.importers.spot_advisor import load_json
from spotadvisor.regions import (
    aws_region_of_zone,
    aws_region_of_zone_id,
    is_aws_zone_id,
    is_aws_zone_name,
)
from spotadvisor.schema import SPOT_PRICE_HISTORY, validate

JSON_FORMAT = "aws-spot-price-json"
CSV_FORMAT = "aws-spot-price-csv"
TSV_FORMAT = "aws-spot-price-tsv"

# Internal column -> the API's (and the CSV header's) field name.
API_FIELDS: dict[str, str] = {
    "region": "Region",
    "zone": "AvailabilityZone",
    "zone_id": "AvailabilityZoneId",
    "instance_type": "InstanceType",
    "product": "ProductDescription",
    "price": "SpotPrice",
    "timestamp": "Timestamp",
}
TSV_COLUMNS = ("zone", "instance_type", "product", "price", "timestamp")
TSV_FIELDS: dict[str, str] = {
    "zone": "az_id (column 1)",
    "zone_id": "az_id (column 1)",
    "instance_type": "instance_type (column 2)",
    "product": "product_description (column 3)",
    "price": "spot_price (column 4)",
    "timestamp": "timestamp (column 5)",
}
_REQUIRED = ("instance_type", "product", "price", "timestamp")
_POOL = ["region", "zone", "zone_id", "instance_type", "product"]
_KEY = [*_POOL, "timestamp"]
_CSV_HEADER = "Region,AvailabilityZone,InstanceType,ProductDescription,SpotPrice,Timestamp"
_ZONE_ID_TAIL = r"-az\d+$"  # what tells a zone ID from a zone name
_DATE_START = re.compile(r"^\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class _Raw:
    """Rows as text before parsing, and how to point a user at one of them.

    Attributes
    ----------
    frame
        Columns among ``API_FIELDS``' keys; values are text or missing. The index is
        what ``locate`` takes, kept through parsing so errors name the right row.
    fields
        Internal column -> the name the file uses, for messages.
    locate
        Index label -> where the row is, e.g. ``line 7`` or ``SpotPriceHistory[3]``.
    """

    frame: pd.DataFrame
    fields: Mapping[str, str]
    locate: Callable[[Any], str]


# --- sniffing ---------------------------------------------------------------------------


def sniff_spot_price_json(head: str) -> bool:
    """True when ``head`` (the first ~64 KB) is a describe-spot-price-history JSON dump."""
    text = head.lstrip("\ufeff \t\r\n")
    if not text.startswith(("{", "[")):
        return False
    if re.search(r'"SpotPriceHistory"\s*:', text):
        return True
    # A bare list of records: look for two fields of one record.
    return bool(re.search(r'"SpotPrice"\s*:', text) and re.search(r'"InstanceType"\s*:', text))


def sniff_spot_price_csv(head: str) -> bool:
    """True when ``head`` starts with a spot price history CSV header."""
    lines = head.lstrip("\ufeff").splitlines()
    if not lines:
        return False
    names = {n.strip().strip('"').lower() for n in lines[0].split(",")}
    needed = {"instancetype", "productdescription", "spotprice", "timestamp"}
    return needed <= names and bool({"availabilityzone", "availabilityzoneid"} & names)


def sniff_spot_price_tsv(head: str) -> bool:
    """True when the first lines of ``head`` are headerless spot price TSV rows."""
    lines = head.lstrip("\ufeff").splitlines()
    if len(lines) > 1 and not head.endswith(("\n", "\r")):
        lines = lines[:-1]  # the head may cut the last line short
    sample = [line for line in lines[:5] if line.strip()]
    return bool(sample) and all(_looks_like_tsv_row(line) for line in sample)


def _looks_like_tsv_row(line: str) -> bool:
    fields = line.split("\t")
    if len(fields) != len(TSV_COLUMNS):
        return False
    zone, _, _, price, timestamp = (f.strip() for f in fields)
    try:
        float(price)
    except ValueError:
        return False
    zone_ok = is_aws_zone_id(zone) or is_aws_zone_name(zone)
    return zone_ok and _DATE_START.match(timestamp) is not None


# --- parsing ----------------------------------------------------------------------------


def parse_spot_price_records(
    records: Iterable[Mapping[str, Any]],
    *,
    source: str,
    as_of: datetime | None,
    origin: str,
) -> tuple[pd.DataFrame, list[str]]:
    """Spot price events from describe-spot-price-history records.

    Parameters
    ----------
    records
        Mappings with ``AvailabilityZone`` and/or ``AvailabilityZoneId``,
        ``InstanceType``, ``ProductDescription``, ``SpotPrice`` (USD/h, text or number),
        ``Timestamp`` (ISO 8601 text or datetime; naive means UTC) and optionally
        ``Region``.
    source
        Provenance written into every row.
    as_of
        When the history was fetched; None means the newest ``Timestamp``.
    origin
        The file name, for messages.

    Returns
    -------
    frame
        Validated ``spot_price_history`` rows, sorted by pool and time.
    notes
        Counts, the time span, exact duplicates dropped, and how ``as_of`` was chosen.

    Raises
    ------
    UsageError
        For a missing field, a bad price, timestamp or zone (naming the record), or two
        records of one pool and time with different prices.
    """
    rows = list(records)
    return _parse_raw(
        _records_raw(rows, lambda i: f"record {i + 1}", origin),
        source=source,
        as_of=as_of,
        origin=origin,
    )


def _records_raw(rows: Sequence[Any], locate: Callable[[Any], str], origin: str) -> _Raw:
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise UsageError(
                f"{locate(i)} is {type(row).__name__}, not an object",
                file=origin,
                fix="each record looks like the API's "
                '{"AvailabilityZone": ..., "InstanceType": ..., "SpotPrice": ...}',
            )
    frame = pd.DataFrame.from_records(list(rows)) if rows else pd.DataFrame()
    by_api = {api: internal for internal, api in API_FIELDS.items()}
    frame = frame[[c for c in frame.columns if c in by_api]].rename(columns=by_api)
    return _Raw(frame, API_FIELDS, locate)


def _parse_raw(
    raw: _Raw, *, source: str, as_of: datetime | None, origin: str
) -> tuple[pd.DataFrame, list[str]]:
    """The shared vectorised parser: text columns -> validated canonical rows."""
    text = {name: _clean(raw.frame, name) for name in API_FIELDS}
    _require(raw, text, origin)
    region, zone, zone_id = _zones(raw, text, origin)
    out = pd.DataFrame(
        {
            "cloud": "aws",
            "region": region,
            "zone": zone,
            "zone_id": zone_id,
            "instance_type": text["instance_type"],
            "product": text["product"],
            "price_usd_per_hour": _prices(raw, text["price"], origin),
            "timestamp": _timestamps(raw, text["timestamp"], origin),
        },
        index=raw.frame.index,
    )
    duplicates = out.duplicated()
    out = out[~duplicates]
    _reject_conflicts(raw, out, origin)
    newest = out["timestamp"].max() if len(out) else None
    if as_of is None and newest is not None and pd.notna(newest):  # never later than now
        newest = pd.Timestamp(not_after_now(newest, "the newest record")[0])
    out = out.sort_values(_KEY, kind="stable")
    out["source"] = source
    out["as_of"] = pd.Timestamp(as_of) if as_of is not None else newest
    frame = validate(out, SPOT_PRICE_HISTORY, origin=origin)
    return frame, _notes(frame, int(duplicates.sum()), origin)


def _clean(frame: pd.DataFrame, name: str) -> pd.Series:
    """Column ``name`` as stripped text, with empty cells (and absent columns) missing."""
    if name not in frame.columns:
        return pd.Series(pd.NA, index=frame.index, dtype="string")
    values = frame[name].astype("string").str.strip()
    return values.mask(values == "")


def _first(mask: pd.Series) -> Any:
    """Index label of the first True in ``mask``."""
    return mask.index[int(np.flatnonzero(mask.to_numpy(dtype=bool))[0])]


def _require(raw: _Raw, text: Mapping[str, pd.Series], origin: str) -> None:
    zone_missing = text["zone"].isna() & text["zone_id"].isna()
    checks = [(name, text[name].isna()) for name in _REQUIRED]
    for name, missing in [("zone", zone_missing), *checks]:
        if missing.any():
            raise UsageError(
                f"{raw.locate(_first(missing))} has no {raw.fields[name]}",
                file=origin,
                field=raw.fields[name],
                fix="every record needs an availability zone (name or ID), instance type, "
                "product description, spot price and timestamp",
            )


def _prices(raw: _Raw, text: pd.Series, origin: str) -> pd.Series:
    """USD/h from text; a value that is not a finite, non-negative number is an error."""
    price = pd.to_numeric(text, errors="coerce").astype("float64")
    bad = ~price.between(0, np.inf, inclusive="left")  # NaN, negative or infinite
    if bad.any():
        label = _first(bad)
        raise UsageError(
            f"{raw.locate(label)}: {raw.fields['price']} {text[label]!r} is not a price",
            file=origin,
            field=raw.fields["price"],
            fix="write the spot price in USD per hour as a non-negative decimal, e.g. 0.918000",
        )
    return price


def _timestamps(raw: _Raw, text: pd.Series, origin: str) -> pd.Series:
    """UTC times from ISO 8601 text; a naive time is taken as UTC, as the API returns."""
    stamps = pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601")
    bad = stamps.isna()
    if bad.any():
        label = _first(bad)
        raise UsageError(
            f"{raw.locate(label)}: {raw.fields['timestamp']} {text[label]!r} is not a time",
            file=origin,
            field=raw.fields["timestamp"],
            fix="write ISO 8601 times in UTC, e.g. 2020-02-20T22:06:16.000Z",
        )
    return stamps


def _zones(
    raw: _Raw, text: Mapping[str, pd.Series], origin: str
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Split zone names from zone IDs and find each row's region.

    A file's zone column may hold names (``us-east-1a``) or IDs (``use1-az4``); IDs are
    told apart by their ``-azN`` tail. The region is checked (or derived) once per
    distinct (zone, zone ID, region) combination, not once per row.
    """
    given_zone, given_id = text["zone"], text["zone_id"]
    looks_like_id = given_zone.str.contains(_ZONE_ID_TAIL, regex=True, na=False)
    clash = looks_like_id & given_id.notna() & given_zone.ne(given_id).fillna(False)
    if clash.any():
        label = _first(clash)
        raise UsageError(
            f"{raw.locate(label)}: {raw.fields['zone']} {given_zone[label]!r} is a zone ID "
            f"but {raw.fields['zone_id']} says {given_id[label]!r}",
            file=origin,
            field=raw.fields["zone"],
            fix="put zone names such as us-east-1a in AvailabilityZone and IDs in "
            "AvailabilityZoneId",
        )
    zone = given_zone.mask(looks_like_id)
    zone_id = given_id.fillna(given_zone.where(looks_like_id))
    given_region = text["region"]
    combo = zone.fillna("") + "|" + zone_id.fillna("") + "|" + given_region.fillna("")
    firsts = combo[~combo.duplicated()]
    region_of = {
        key: _region(raw, label, zone.at[label], zone_id.at[label], given_region.at[label], origin)
        for label, key in firsts.items()
    }
    return combo.map(region_of).astype("string"), zone, zone_id


def _region(raw: _Raw, label: Any, zone: Any, zone_id: Any, given: Any, origin: str) -> str:
    """Region of one row: the given one, checked against what its zone name and ID say."""
    stated = None if pd.isna(given) else str(given)
    derived: list[tuple[str, str, str]] = []  # (column, value, region)
    for column, value, derive in (
        ("zone", zone, aws_region_of_zone),
        ("zone_id", zone_id, aws_region_of_zone_id),
    ):
        if pd.isna(value):
            continue
        try:
            derived.append((column, str(value), derive(str(value), origin=origin)))
        except UsageError as exc:
            # A well-formed ID with a prefix not yet in regions.py is fine next to a Region.
            if stated is not None and column == "zone_id" and is_aws_zone_id(str(value)):
                continue
            raise UsageError(
                f"{raw.locate(label)}: {exc.message}",
                file=origin,
                field=raw.fields[column],
                fix=exc.fix,
            ) from None
    region = stated or derived[0][2]
    for column, value, other in derived:
        if other != region:
            raise UsageError(
                f"{raw.locate(label)}: {raw.fields[column]} {value!r} is in {other}, "
                f"not in {region}",
                file=origin,
                field=raw.fields[column],
                fix="check the region and zone fields of that row",
            )
    return region


def _reject_conflicts(raw: _Raw, events: pd.DataFrame, origin: str) -> None:
    """Two events of one pool at one time with different prices: say which rows."""
    clash = events.duplicated(subset=_KEY, keep=False)
    if not clash.any():
        return
    pair = events[clash].sort_values(_KEY, kind="stable").head(2)
    (first, a), (second, b) = pair.iterrows()
    zone = a["zone"] if pd.notna(a["zone"]) else a["zone_id"]
    raise UsageError(
        f"{raw.locate(first)} and {raw.locate(second)} give two prices "
        f"({a['price_usd_per_hour']:g} and {b['price_usd_per_hour']:g} USD/h) for "
        f"{zone} {a['instance_type']} {a['product']} at {a['timestamp']:%Y-%m-%dT%H:%M:%SZ}; "
        f"{int(clash.sum())} rows conflict in all",
        file=origin,
        field=raw.fields["price"],
        fix="a pool has one price at a time: drop the wrong record, or import files from "
        "different AWS accounts separately (zone names differ between accounts)",
    )


def _notes(frame: pd.DataFrame, duplicates: int, origin: str) -> list[str]:
    name = Path(origin).name
    if frame.empty:
        return [f"{name}: no price records"]
    zones = frame["zone"].fillna(frame["zone_id"])
    pools = frame.groupby(_POOL, dropna=False).ngroups
    products = frame["product"].value_counts()
    listed = ", ".join(f"{p} ({n})" for p, n in products.items())
    notes = [
        f"{name}: {len(frame)} price-change events in {pools} pools: "
        f"{frame['region'].nunique()} regions, {zones.nunique()} zones, "
        f"{frame['instance_type'].nunique()} instance types; products {listed}",
        f"{name}: events from {frame['timestamp'].min():%Y-%m-%d %H:%M:%S} to "
        f"{frame['timestamp'].max():%Y-%m-%d %H:%M:%S} UTC; "
        "each price holds until the next event of its pool",
    ]
    if duplicates:
        notes.append(f"{name}: dropped {duplicates} exact duplicate event(s)")
    return notes


def _as_of_note(path: Path, frame: pd.DataFrame, given: datetime | None) -> str:
    if given is not None:
        return resolve_as_of(path, given)[1]
    if frame.empty:
        return f"{path.name}: no events, so no as_of"
    newest = frame["timestamp"].max()
    used = frame["as_of"].max()
    if used < newest:  # clamped to the time of import by _parse_raw
        return f"{path.name}: " + future_as_of_note(newest, "the newest record in the file", used)
    return (
        f"{path.name}: as_of {newest:%Y-%m-%d %H:%M:%S} UTC, the newest timestamp in the "
        "file (a price history is as fresh as its last record); pass --as-of to override"
    )


# --- readers ----------------------------------------------------------------------------


def _read_each(
    paths: Sequence[Path],
    as_of: datetime | None,
    source: str | None,
    format_name: str,
    load: Callable[[str, str], tuple[_Raw, list[str]]],
) -> list[ImportBatch]:
    """One batch per file: ``load`` turns its text into raw rows (and notes)."""
    batches = []
    for path in paths:
        origin = str(path)
        raw, load_notes = load(read_text(path), origin)
        name = source or default_source(format_name, [path])
        frame, notes = _parse_raw(raw, source=name, as_of=as_of, origin=origin)
        all_notes = (_as_of_note(path, frame, as_of), *load_notes, *notes)
        batches.append(ImportBatch(SPOT_PRICE_HISTORY, frame, name, origin, all_notes))
    return batches


def _load_json(text: str, origin: str) -> tuple[_Raw, list[str]]:
    """Records of a dump, a list of dumps or a bare list, each labelled with its JSON path."""
    doc = load_json(text, origin)
    pages: list[tuple[str, Any]]
    if isinstance(doc, Mapping):
        pages = [("", doc)]
    elif isinstance(doc, list) and doc and all(_is_page(d) for d in doc):
        pages = [(f"[{i}].", d) for i, d in enumerate(doc)]
    elif isinstance(doc, list):
        return _records_raw(doc, lambda i: f"[{i}]", origin), []
    else:
        raise _not_a_dump(origin)
    records: list[Any] = []
    labels: list[str] = []
    notes: list[str] = []
    for prefix, page in pages:
        history = page.get("SpotPriceHistory")
        if not _is_page(page) or not isinstance(history, list):
            raise _not_a_dump(origin)
        records.extend(history)
        labels.extend(f"{prefix}SpotPriceHistory[{k}]" for k in range(len(history)))
        if page.get("NextToken"):
            notes.append(
                f"{Path(origin).name}: {prefix}NextToken is set, so this is one page of a "
                "longer answer; later pages are not in the file"
            )
    return _records_raw(records, labels.__getitem__, origin), notes


def _is_page(value: Any) -> bool:
    return isinstance(value, Mapping) and "SpotPriceHistory" in value


def _not_a_dump(origin: str) -> UsageError:
    return UsageError(
        "not a describe-spot-price-history dump",
        file=origin,
        field="SpotPriceHistory",
        fix='give the JSON from "aws ec2 describe-spot-price-history" '
        '({"SpotPriceHistory": [...]}), a list of such pages, or a list of records',
    )


def _read_table(text: str, origin: str, *, sep: str) -> pd.DataFrame:
    """Every line as a row of text cells, indexed by its 1-based line number.

    No header handling here: pandas would silently turn a surplus first column into the
    index, whereas with ``header=None`` a line with more fields than the first is an error.
    Blank lines are read (then dropped) so that the line numbers stay true.
    """
    kind = "CSV" if sep == "," else "tab-separated text"
    if not text.strip():
        raise UsageError("the file is empty", file=origin, fix=f"give a non-empty {kind} file")
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=sep,
            header=None,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
            quoting=csv.QUOTE_MINIMAL if sep == "," else csv.QUOTE_NONE,
        )
    except pd.errors.ParserError as exc:
        raise UsageError(
            f"cannot read as {kind}: {str(exc).strip()}",
            file=origin,
            fix="every line needs the same number of fields",
        ) from None
    frame.index = frame.index + 1
    blank = (frame.fillna("") == "").all(axis=1)
    return frame[~blank]


def _load_csv(text: str, origin: str) -> tuple[_Raw, list[str]]:
    table = _read_table(text, origin, sep=",")
    header = [str(c).strip() for c in table.iloc[0]]
    by_name = {api.lower(): internal for internal, api in API_FIELDS.items()}
    internal = [by_name.get(name.lower()) for name in header]
    missing = [API_FIELDS[c] for c in _REQUIRED if c not in internal]
    if "zone" not in internal and "zone_id" not in internal:
        missing.insert(0, "AvailabilityZone")
    if missing:
        raise UsageError(
            f"line {table.index[0]} (the header) has no {', '.join(missing)} column",
            file=origin,
            field=missing[0],
            fix=f"the header must be {_CSV_HEADER} (Region optional)",
        )
    body = table.iloc[1:]
    body.columns = [name or f"?{i}" for i, name in enumerate(internal)]
    notes = []
    extra = [h for h, name in zip(header, internal, strict=True) if name is None]
    if extra:
        notes.append(f"{Path(origin).name}: ignored column(s) {', '.join(extra)}")
    return _Raw(body, API_FIELDS, lambda line: f"line {line}"), notes


def _load_tsv(text: str, origin: str) -> tuple[_Raw, list[str]]:
    frame = _read_table(text, origin, sep="\t")
    if frame.shape[1] != len(TSV_COLUMNS):
        raise UsageError(
            f"expected {len(TSV_COLUMNS)} tab-separated fields per line, found {frame.shape[1]}",
            file=origin,
            fix="lines are az_id, instance_type, product_description, spot_price, timestamp "
            "with no header",
        )
    frame.columns = list(TSV_COLUMNS)
    return _Raw(frame, TSV_FIELDS, lambda line: f"line {line}"), []


def read_spot_price_json(
    paths: Sequence[Path], as_of: datetime | None, source: str | None
) -> list[ImportBatch]:
    """Read describe-spot-price-history JSON dumps, one batch per file.

    ``as_of`` defaults to each file's newest ``Timestamp``; ``source`` to
    ``aws-spot-price-json:<file name>``.
    """
    return _read_each(paths, as_of, source, JSON_FORMAT, _load_json)


def read_spot_price_csv(
    paths: Sequence[Path], as_of: datetime | None, source: str | None
) -> list[ImportBatch]:
    """Read spot price history CSVs with a header, one batch per file.

    ``as_of`` defaults to each file's newest ``Timestamp``; ``source`` to
    ``aws-spot-price-csv:<file name>``.
    """
    return _read_each(paths, as_of, source, CSV_FORMAT, _load_csv)


def read_spot_price_tsv(
    paths: Sequence[Path], as_of: datetime | None, source: str | None
) -> list[ImportBatch]:
    """Read headerless spot price history TSVs (zone IDs), one batch per file.

    ``as_of`` defaults to each file's newest timestamp; ``source`` to
    ``aws-spot-price-tsv:<file name>``.
    """
    return _read_each(paths, as_of, source, TSV_FORMAT, _load_tsv)


SPOT_PRICE_JSON = FileFormat(
    JSON_FORMAT,
    "AWS describe-spot-price-history JSON (SpotPriceHistory records): spot price changes",
    sniff_spot_price_json,
    read_spot_price_json,
)
SPOT_PRICE_CSV = FileFormat(
    CSV_FORMAT,
    "AWS spot price history CSV (Region,AvailabilityZone,InstanceType,...,SpotPrice,Timestamp)",
    sniff_spot_price_csv,
    read_spot_price_csv,
)
SPOT_PRICE_TSV = FileFormat(
    TSV_FORMAT,
    "AWS spot price history TSV, no header: az_id, type, product, price, timestamp",
    sniff_spot_price_tsv,
    read_spot_price_tsv,
)
