"""AWS Spot Instance Advisor feed (``spot-advisor-data.json``) -> ``interruption_history``.

The feed is the undocumented JSON behind https://aws.amazon.com/ec2/spot/instance-advisor/::

    {"global_rate": "<10%",
     "ranges": [{"index": 0, "label": "<5%", "dots": 0, "max": 5}, ...],
     "instance_types": {"p4d.24xlarge": {"emr": true, "cores": 96, "ram_gb": 1152.0}, ...},
     "spot_advisor": {"us-east-1": {"Linux": {"p4d.24xlarge": {"s": 67, "r": 2}}, ...}}}

``s`` is the saving of spot over on-demand [%] and ``r`` points at the range whose
``index`` equals it. Band bounds come from the range's label: the ``max`` values
(5, 11, 16, 22, 100) do not match the labels and public copies disagree on them.
Snapshots order their top-level keys differently, so nothing here relies on key order.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeGuard

import pandas as pd

from spotadvisor.bands import Band, parse_band
from spotadvisor.errors import UsageError
from spotadvisor.importers.base import (
    FileFormat,
    ImportBatch,
    default_source,
    read_text,
    resolve_as_of,
)
from spotadvisor.schema import INTERRUPTION_HISTORY, validate

FORMAT_NAME = "aws-spot-advisor"

#: Operating systems the feed publishes bands for; the schema's ``os`` values.
OPERATING_SYSTEMS = ("Linux", "Windows")

# The first key of the top-level object, whichever of the feed's four keys it is.
_FIRST_KEY = re.compile(r'^\s*\{\s*"(spot_advisor|global_rate|ranges|instance_types)"\s*:')
# What must follow soon after a generic-sounding first key for the head to be the feed.
_CONFIRM = {
    "ranges": re.compile(r'"(?:dots|label)"\s*:'),
    "instance_types": re.compile(r'"(?:ram_gb|emr|cores)"\s*:'),
}


def sniff_spot_advisor(head: str) -> bool:
    """True when ``head`` (the first ~64 KB of a file) is a Spot Advisor feed.

    Snapshots start with any of the four top-level keys, and ``ranges`` may sit after
    ~0.8 MB of ``instance_types``, so this looks only at the first key (and, for the two
    generic names, at a field typical of the feed right after it).

    Parameters
    ----------
    head
        Start of the file as text.
    """
    match = _FIRST_KEY.match(head.lstrip("\ufeff"))
    if not match:
        return False
    confirm = _CONFIRM.get(match.group(1))
    return confirm is None or confirm.search(head, match.end()) is not None


@dataclass(frozen=True)
class _Range:
    """One entry of ``ranges``: its label as published and the band parsed from it."""

    label: str
    band: Band | None


def parse_spot_advisor(
    doc: Mapping[str, Any], *, source: str, as_of: datetime, origin: str
) -> tuple[pd.DataFrame, list[str]]:
    """Interruption bands and savings of one Spot Advisor snapshot.

    One row per (region, OS, instance type) in ``spot_advisor``.

    Parameters
    ----------
    doc
        The decoded JSON document.
    source
        Provenance written into every row.
    as_of
        When the snapshot was taken (UTC).
    origin
        The file name, for messages.

    Returns
    -------
    frame
        Validated ``interruption_history`` rows; bounds in %/month, ``savings_pct`` in %.
    notes
        Counts of rows, regions and types, and anything skipped or odd.

    Raises
    ------
    UsageError
        When ``ranges`` or ``spot_advisor`` is missing or malformed, an ``r`` has no range
        with that index, or a used range's label is not a band.
    """
    if not isinstance(doc, Mapping):
        raise UsageError(
            f"expected a JSON object, found {type(doc).__name__}",
            file=origin,
            fix="give the spot-advisor-data.json file as downloaded",
        )
    ranges = _ranges(doc, origin)
    advisor = _section(doc, "spot_advisor", origin)
    columns: dict[str, list[Any]] = {
        "region": [],
        "os": [],
        "instance_type": [],
        "interruption_band": [],
        "interruption_band_lower_pct": [],
        "interruption_band_upper_pct": [],
        "savings_pct": [],
    }
    skipped: dict[str, int] = {}
    for region, by_os in advisor.items():
        if not isinstance(by_os, Mapping):
            raise _shape_error(origin, f"spot_advisor.{region}", "an object keyed by OS")
        for os_name, by_type in by_os.items():
            if os_name not in OPERATING_SYSTEMS:
                skipped[str(os_name)] = skipped.get(str(os_name), 0) + 1
                continue
            if not isinstance(by_type, Mapping):
                where = f"spot_advisor.{region}.{os_name}"
                raise _shape_error(origin, where, "an object keyed by instance type")
            for instance_type, entry in by_type.items():
                where = f"spot_advisor.{region}.{os_name}.{instance_type}"
                _append_row(columns, ranges, entry, region, os_name, instance_type, where, origin)
    frame = pd.DataFrame(columns)
    frame.insert(0, "cloud", "aws")
    frame["source"] = source
    frame["as_of"] = pd.Timestamp(as_of)
    frame = validate(frame, INTERRUPTION_HISTORY, origin=origin)
    return frame, _notes(frame, doc, ranges, skipped, origin)


def _section(doc: Mapping[str, Any], key: str, origin: str) -> Any:
    if key not in doc:
        raise UsageError(
            f"no {key!r} key: this is not a Spot Advisor feed",
            file=origin,
            field=key,
            fix="give the spot-advisor-data.json file from "
            "https://spot-bid-advisor.s3.amazonaws.com/spot-advisor-data.json",
        )
    value = doc[key]
    expected = list if key == "ranges" else Mapping
    if not isinstance(value, expected):
        kind = "a list" if key == "ranges" else "an object"
        raise _shape_error(origin, key, kind)
    return value


def _ranges(doc: Mapping[str, Any], origin: str) -> dict[int, _Range]:
    """``ranges`` keyed by each entry's own ``index`` (never its position in the list)."""
    out: dict[int, _Range] = {}
    for position, entry in enumerate(_section(doc, "ranges", origin)):
        where = f"ranges[{position}]"
        if not isinstance(entry, Mapping):
            raise _shape_error(origin, where, 'an object such as {"index": 0, "label": "<5%"}')
        index, label = entry.get("index"), entry.get("label")
        if not _is_int(index) or not isinstance(label, str):
            raise UsageError(
                f"range {position} needs an integer 'index' and a text 'label', "
                f"found index={index!r}, label={label!r}",
                file=origin,
                field=where,
                fix='each range looks like {"index": 0, "label": "<5%", "dots": 0, "max": 5}',
            )
        if index in out:
            raise UsageError(
                f"two ranges have index {index}, so 'r': {index} is ambiguous",
                file=origin,
                field=where,
                fix="keep one range per index",
            )
        out[index] = _Range(label.strip(), parse_band(label))
    return out


def _append_row(
    columns: dict[str, list[Any]],
    ranges: Mapping[int, _Range],
    entry: Any,
    region: str,
    os_name: str,
    instance_type: str,
    where: str,
    origin: str,
) -> None:
    """Add one (region, OS, type) entry ``{"s": savings, "r": range index}`` to ``columns``."""
    if not isinstance(entry, Mapping):
        raise _shape_error(origin, where, 'an object such as {"s": 67, "r": 2}')
    r, savings = entry.get("r"), entry.get("s")
    if not _is_int(r) or r not in ranges:
        known = ", ".join(str(i) for i in sorted(ranges))
        raise UsageError(
            f"{region} {os_name} {instance_type} has range index r={r!r}, "
            f"but the file's ranges have indexes {known}",
            file=origin,
            field=f"{where}.r",
            fix="use a snapshot whose 'ranges' list covers every 'r', or add the missing range",
        )
    band = ranges[r].band
    if band is None:
        raise UsageError(
            f"{region} {os_name} {instance_type} uses range {r}, "
            f"whose label {ranges[r].label!r} is not an interruption band",
            file=origin,
            field=f"{where}.r",
            fix="range labels look like '<5%', '5-10%' or '>20%'; correct the label in 'ranges'",
        )
    if savings is not None and (isinstance(savings, bool) or not isinstance(savings, int | float)):
        raise UsageError(
            f"{region} {os_name} {instance_type} has savings s={savings!r}, not a number",
            file=origin,
            field=f"{where}.s",
            fix="'s' is the saving of spot over on-demand in percent, e.g. 67",
        )
    columns["region"].append(region)
    columns["os"].append(os_name)
    columns["instance_type"].append(instance_type)
    columns["interruption_band"].append(ranges[r].label)
    columns["interruption_band_lower_pct"].append(band.lower_pct)
    columns["interruption_band_upper_pct"].append(band.upper_pct)
    columns["savings_pct"].append(None if savings is None else float(savings))


def _notes(
    frame: pd.DataFrame,
    doc: Mapping[str, Any],
    ranges: Mapping[int, _Range],
    skipped: Mapping[str, int],
    origin: str,
) -> list[str]:
    name = Path(origin).name
    notes = [
        f"{name}: {len(frame)} rows (region, OS, instance type), "
        f"{frame['region'].nunique()} regions, {frame['instance_type'].nunique()} instance types"
    ]
    labels = ", ".join(f"{i}={ranges[i].label}" for i in sorted(ranges))
    notes.append(f"{name}: bands from the file's ranges by index ({labels}); 'max' ignored")
    unread = [r.label for r in ranges.values() if r.band is None]
    if unread:
        notes.append(f"{name}: unused range label(s) that are not bands: {', '.join(unread)}")
    for os_name, count in sorted(skipped.items()):
        notes.append(f"{name}: skipped OS {os_name!r} in {count} region(s) (only Linux, Windows)")
    negative = frame[frame["savings_pct"] < 0]
    if len(negative):
        first = negative.iloc[0]
        notes.append(
            f"{name}: {len(negative)} row(s) with negative savings (spot above on-demand), "
            f"kept as published, e.g. {first['region']} {first['os']} "
            f"{first['instance_type']} {first['savings_pct']:g}%"
        )
    catalog = doc.get("instance_types")
    if isinstance(catalog, Mapping):
        unbanded = set(catalog) - set(frame["instance_type"])
        if unbanded:
            notes.append(
                f"{name}: {len(unbanded)} type(s) in instance_types have no band in any region"
            )
    return notes


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _shape_error(origin: str, where: str, expected: str) -> UsageError:
    return UsageError(
        f"{where} should be {expected}",
        file=origin,
        field=where,
        fix="give the spot-advisor-data.json file as downloaded, unedited",
    )


def load_json(text: str, origin: str) -> Any:
    """Decode ``text`` as JSON.

    Raises
    ------
    UsageError
        With the line and column of the first syntax error.
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
            file=origin,
            fix="give the whole file as downloaded; a truncated download ends mid-object",
        ) from None


def read_spot_advisor(
    paths: Sequence[Path], as_of: datetime | None, source: str | None
) -> list[ImportBatch]:
    """Read Spot Advisor snapshots, one batch per file.

    Parameters
    ----------
    paths
        Snapshot files (optionally gzipped).
    as_of
        When the snapshots were taken; else the date in each file name, else its mtime.
    source
        Provenance name; default ``aws-spot-advisor:<file name>`` per file.
    """
    batches = []
    for path in paths:
        origin = str(path)
        doc = load_json(read_text(path), origin)
        when, when_note = resolve_as_of(path, as_of)
        name = source or default_source(FORMAT_NAME, [path])
        frame, notes = parse_spot_advisor(doc, source=name, as_of=when, origin=origin)
        batches.append(ImportBatch(INTERRUPTION_HISTORY, frame, name, origin, (when_note, *notes)))
    return batches


SPOT_ADVISOR = FileFormat(
    FORMAT_NAME,
    "AWS Spot Instance Advisor feed (spot-advisor-data.json): interruption bands and savings",
    sniff_spot_advisor,
    read_spot_advisor,
)
