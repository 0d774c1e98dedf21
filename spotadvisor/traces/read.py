"""Read spot availability and preemption traces into :class:`ZoneTrace` series.

Formats (shared data README, section 4), sniffed from each file's content:

``tick`` (4a, 4b)
    ``{"metadata": {"gap_seconds": G}, "data": [n0, n1, ...]}``, one file per zone,
    named ``<zone>_<gpu>_<count>.json``. Read as is.
``raw`` (4c)
    ``tick,ISO8601,failed`` lines about every 600 s; the count is ``1 - failed``,
    resampled to a fixed gap (see :mod:`spotadvisor.traces.raw`).
``events`` (4d)
    SpotServe ``time_ms,add|remove,nodeN``; nodes alive sampled every
    ``event_gap_seconds`` from time 0 (see :mod:`spotadvisor.traces.events`).
``segments`` (4d)
    SpotServe ``trace_seg`` JSON lines, sampled the same way up to ``DONE``.
``probes`` (4e)
    training-on-a-dime probe logs; one series per (zone, machine) of instances alive
    every ``probe_gap_seconds`` (see :mod:`spotadvisor.traces.probes`).

Capacity (instances asked for): ``N`` when a folder in the path is named ``N-node``
(the Can't Be Late layout), else the largest value of any series of the same instance
in the same folder (one-zone-per-file formats) or file (several series per file), at
least 1. The ``<count>`` in a file name is *not* used: it is GPUs per instance
(``v100_8`` is a p3.16xlarge), and the 4-node traces are named ``v100_1``.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

from spotadvisor.errors import UsageError
from spotadvisor.traces import events as ev
from spotadvisor.traces import probes as pr
from spotadvisor.traces import raw
from spotadvisor.traces.model import (
    TraceKind,
    ZoneTrace,
    instance_for,
    split_zone,
    zone_and_machine,
)

SUFFIXES = (".json", ".txt", ".csv", ".log")
"""File suffixes looked at when a folder is given."""
EVENT_GAP_SECONDS = 60.0
"""Default tick for SpotServe node logs [s] (their events fall on whole minutes)."""
PROBE_GAP_SECONDS = 300.0
"""Default tick for probe logs [s] (one probe per instance every 10-15 min)."""

_N_NODE = re.compile(r"^(\d+)-node$")
_FOLDER_DATE = re.compile(r"(?:^|-)(\d\d)-(\d\d)-(\d{4})$")  # aws-10-26-2022 (MM-DD-YYYY)
_CLOUD_PART = re.compile(r"^(aws|gcp|azure)", re.IGNORECASE)
_FIX = "See docs/replay.md for the trace formats spotadvisor reads"


def parse_tick_trace(text: str) -> tuple[list[int], float]:
    """Values and gap [s] of a ``{"metadata": {"gap_seconds": G}, "data": [...]}`` trace.

    Raises
    ------
    ValueError
        When the gap is not positive or a count is negative.
    """
    doc = json.loads(text)
    gap = float(doc["metadata"]["gap_seconds"])
    values = [int(v) for v in doc["data"]]
    if gap <= 0 or any(v < 0 for v in values):
        raise ValueError("a tick trace needs a positive gap and non-negative counts")
    return values, gap


def sniff(text: str) -> TraceKind | None:
    """The format of a file's text, or None when it is none of the known ones."""
    body = text.lstrip()
    first = body.split("\n", 1)[0].strip()
    if body.startswith("{") and '"gap_seconds"' in body[:4096]:
        return "tick"
    if pr.PROBE_LINE.match(first):
        return "probes"
    if re.match(r"^\[\s*\d", first):
        return "segments"
    if raw.RAW_LINE.match(first):
        return "raw"
    if ev.EVENT_LINE.match(first):
        return "events"
    return None


def _bad(path: Path, message: str, field: str | None = None) -> UsageError:
    return UsageError(message, file=str(path), field=field, fix=_FIX)


def _node_capacity(path: Path) -> int | None:
    for part in path.parts:
        if match := _N_NODE.match(part):
            return int(match[1])
    return None


def _folder_cloud(path: Path) -> str | None:
    for part in reversed(path.parent.parts):
        if match := _CLOUD_PART.match(part):
            return match[1].lower()
    return None


def _folder_start(path: Path) -> datetime | None:
    match = _FOLDER_DATE.search(path.parent.name)
    if match is None:
        return None
    month, day, year = (int(g) for g in match.groups())
    return datetime(year, month, day, tzinfo=UTC)


def _zone_trace(
    path: Path,
    kind: TraceKind,
    counts: npt.NDArray[np.int64],
    gap: float,
    start: datetime | None,
    *,
    name: str | None = None,
) -> ZoneTrace:
    """A trace named after a ``<zone>_<gpu>`` stem; capacity is settled later."""
    stem = name or path.stem
    zone, token = zone_and_machine(stem.rsplit("/", 1)[-1])
    cloud, region = split_zone(zone)
    cloud = cloud or _folder_cloud(path)
    return ZoneTrace(
        name=stem,
        cloud=cloud,
        zone=zone,
        region=region,
        instance=instance_for(cloud, token) if token else None,
        capacity=0,
        gap_seconds=gap,
        counts=counts,
        start=start,
        source=str(path),
        kind=kind,
    )


def _read_tick(path: Path, text: str) -> list[ZoneTrace]:
    try:
        values, gap = parse_tick_trace(text)
    except json.JSONDecodeError as exc:
        raise _bad(path, f"not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    except (KeyError, TypeError) as exc:
        raise _bad(
            path, f"a tick trace needs metadata.gap_seconds and data, missing {exc}"
        ) from exc
    except ValueError as exc:
        doc = json.loads(text)
        field = "metadata.gap_seconds" if float(doc["metadata"]["gap_seconds"]) <= 0 else "data"
        raise _bad(path, "gap_seconds must be > 0 and counts >= 0", field) from exc
    if not values:
        raise _bad(path, "the trace has no data", "data")
    counts = np.asarray(values, dtype=np.int64)
    return [_zone_trace(path, "tick", counts, gap, _folder_start(path))]


def _read_raw(path: Path, text: str) -> list[ZoneTrace]:
    try:
        times, values = raw.parse_raw(text)
    except ValueError as exc:
        raise _bad(path, str(exc)) from exc
    counts, gap = raw.resample_raw(times, values)
    return [_zone_trace(path, "raw", counts, gap, times[0])]


def _read_events(path: Path, text: str, kind: TraceKind, gap: float) -> list[ZoneTrace]:
    try:
        if kind == "events":
            events, end = ev.parse_event_log(text), None
        else:
            events, end = ev.parse_segments(text)
        counts = ev.alive_counts(events, gap, end)
    except ValueError as exc:
        raise _bad(path, str(exc)) from exc
    if not events:
        raise _bad(path, "the log has no add or remove event")
    # The SpotServe artifact is AWS g4dn.12xlarge throughout (README 4d); no zone.
    trace = ZoneTrace(
        name=path.stem,
        cloud="aws",
        zone="",
        region="",
        instance="g4dn.12xlarge",
        capacity=max(1, ev.max_concurrent(events)),
        gap_seconds=gap,
        counts=counts,
        start=None,
        source=str(path),
        kind=kind,
    )
    return [trace]


def _read_probes(path: Path, text: str, gap: float) -> list[ZoneTrace]:
    lines = text.splitlines()
    try:
        lifetimes = pr.parse_probe_log(lines)
    except ValueError as exc:
        raise _bad(path, str(exc)) from exc
    span = pr.log_span(lines)
    if span is None or not lifetimes:
        raise _bad(path, "the log has no created instance")
    series = pr.alive_series(lifetimes, span[0], span[1], gap)
    return [
        _zone_trace(path, "probes", counts, gap, span[0], name=f"{path.stem}/{zone}_{machine}")
        for (zone, machine), counts in series.items()
    ]


def read_file(
    path: Path,
    *,
    event_gap_seconds: float = EVENT_GAP_SECONDS,
    probe_gap_seconds: float = PROBE_GAP_SECONDS,
) -> list[ZoneTrace] | None:
    """The traces in one file (capacity 0, settled by :func:`read_traces`), or None
    when the file is in no known format."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return None
    except OSError as exc:
        raise _bad(path, f"cannot read the file ({exc.strerror})") from exc
    kind = sniff(text)
    if kind == "tick":
        return _read_tick(path, text)
    if kind == "raw":
        return _read_raw(path, text)
    if kind in ("events", "segments"):
        return _read_events(path, text, kind, event_gap_seconds)
    if kind == "probes":
        return _read_probes(path, text, probe_gap_seconds)
    return None


def _settle_capacity(traces: list[ZoneTrace]) -> list[ZoneTrace]:
    """Fill in capacity by the rule of the module doc."""
    groups: dict[tuple[str, str | None], int] = {}

    def key(t: ZoneTrace) -> tuple[str, str | None]:
        one_per_file = t.kind in ("tick", "raw")
        return (str(Path(t.source).parent) if one_per_file else t.source, t.instance)

    for t in traces:
        peak = int(t.counts.max(initial=0))
        groups[key(t)] = max(groups.get(key(t), 1), peak)
    out = []
    for t in traces:
        if t.capacity > 0:  # exact, from the events
            out.append(t)
            continue
        capacity = _node_capacity(Path(t.source)) or groups[key(t)]
        if int(t.counts.max(initial=0)) > capacity:
            raise _bad(Path(t.source), f"counts exceed the {capacity} instances of the folder")
        out.append(dataclasses.replace(t, capacity=capacity))
    return out


def read_traces(
    paths: Sequence[Path | str],
    *,
    event_gap_seconds: float = EVENT_GAP_SECONDS,
    probe_gap_seconds: float = PROBE_GAP_SECONDS,
    skipped: list[Path] | None = None,
) -> list[ZoneTrace]:
    """Read trace files, or folders of them (recursively), in the order given.

    Parameters
    ----------
    paths
        Files or folders. A folder contributes its ``.json``, ``.txt``, ``.csv`` and
        ``.log`` files in sorted order; those in no known format are skipped (and
        appended to ``skipped`` when given). A file named directly must be a trace.
    event_gap_seconds, probe_gap_seconds
        Tick length for SpotServe node logs and for probe logs [s].
    skipped
        Receives the files of folders that were not traces.

    Returns
    -------
    list[ZoneTrace]
        One per zone series.

    Raises
    ------
    UsageError
        A path does not exist, a file is in no known format or malformed (no data,
        gap <= 0, negative counts, bad lines), or nothing was found.
    """
    if event_gap_seconds <= 0 or probe_gap_seconds <= 0:
        raise UsageError("tick gaps must be > 0 s", field="gap_seconds")
    options = {"event_gap_seconds": event_gap_seconds, "probe_gap_seconds": probe_gap_seconds}
    traces: list[ZoneTrace] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in SUFFIXES)
            for file in files:
                found = read_file(file, **options)
                if found is None:
                    if skipped is not None:
                        skipped.append(file)
                    continue
                traces.extend(found)
        elif path.is_file():
            found = read_file(path, **options)
            if found is None:
                raise _bad(
                    path,
                    "not a trace in any known format (tick JSON, raw timestamped, SpotServe events or segments, probe log)",
                )
            traces.extend(found)
        else:
            raise UsageError("no such file or folder", file=str(path), fix="check the path")
    if not traces:
        raise UsageError(
            "no traces found",
            file=", ".join(str(p) for p in paths),
            fix="give trace files or folders, e.g. ../shared/data/spot-traces-spothedge/data/AWS1",
        )
    return _settle_capacity(traces)
