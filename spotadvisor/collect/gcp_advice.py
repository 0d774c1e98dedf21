"""Pure parsing of Compute Engine's ``advice`` API: measured preemption shares and capacity.

Two methods of the ``advice`` resource (``regions/{region}/advice/...``) describe GCP
Spot VMs per machine type and zone; their answers arrive here as wire-format JSON
(camelCase keys, enums as strings, Timestamps as RFC 3339 text, Durations as ``"123s"``).

``capacityHistory`` (``types: [PREEMPTION]``) -> measured interruption rates
    ``preemptionHistory`` holds records ``{interval{startTime, endTime},
    preemptionRate}``: the share of the Spot VMs of that machine type and zone that
    stopped running in the interval because Compute Engine preempted them (0-1; GCP
    publishes one record a day over the last 30 days). Modelling decisions:

    * A zone's **measured rate** is the interval-length-weighted mean of its records'
      ``preemptionRate``; its **window** runs from the start of its first interval to
      the end of its last (``window_days`` is that span in days). A record with no
      ``preemptionRate`` (or an unreadable or empty interval, or a rate outside 0-1) is
      skipped; a zone with no usable record has no measured rate. Both are noted,
      neither is an error.
    * ``interruption_history`` is per region, so a region's **measured row** takes the
      mean of its zones' rates as ``measured_rate_pct`` (x 100) and the zone spread as
      its band: ``[lower, upper] = [min, max]`` of the zones' rates x 100 (one zone:
      lower = upper), labelled ``measured 3.1-7.4%`` (``measured 5.0%``). Its window is
      the union of the zones' windows.
    * The band is read as the **monthly interruption probability**, the scale of AWS's
      "frequency of interruption". That is a modelling choice: GCP's figure is the
      share of stops that were preemptions, not a per-VM hazard (a pool whose VMs are
      rarely stopped by their users shows a high share even when preemptions are
      rare, and the reverse). It is still measured for the pool itself, recently, and
      far better than the 95-100 % prior (see docs/model.md).

``capacity`` -> placement scores
    One call per (zone, machine type) with ``distributionPolicy{targetShape:
    ANY_SINGLE_ZONE, zones: [that zone]}`` and ``size`` = the target capacity
    [instances]. The first recommendation's ``scores.obtainability`` (0-1) becomes a
    **placement score** on AWS's 1-10 scale, ``1 + 9 x obtainability`` rounded to 0.1;
    ``scores.estimatedUptime`` is reported in hours in the notes only.

Nothing here does I/O; ``collect.gcp_advice_tasks`` makes the calls.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from spotadvisor.bands import measured_band_label
from spotadvisor.schema import INTERRUPTION_HISTORY, validate

ADVICE_SOURCE = "gcp-advice"
SCORE_COLUMNS = [
    "region",
    "zone",
    "instance_type",
    "placement_score",
    "obtainability",
    "estimated_uptime_hours",
]

_TIMESTAMP = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$"
)
_DURATION = re.compile(r"^(\d+(?:\.\d{1,9})?)s$")


def parse_timestamp(text: str) -> datetime:
    """An RFC 3339 timestamp (``2026-11-30T08:00:00Z``, ``...00.123456789+01:00``) in UTC.

    Fractions finer than a microsecond are truncated.

    Raises
    ------
    ValueError
        When ``text`` is not an RFC 3339 timestamp with a UTC offset.
    """
    match = _TIMESTAMP.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"{text!r} is not an RFC 3339 timestamp")
    day, time, fraction, offset = match.groups()
    micro = (fraction or "0")[:6].ljust(6, "0")
    zone = "+00:00" if offset in ("Z", "z") else offset
    return datetime.fromisoformat(f"{day}T{time}.{micro}{zone}").astimezone(UTC)


def parse_duration_hours(text: str) -> float:
    """A protobuf Duration as JSON writes it (``"7200s"``, ``"1.5s"``) in hours.

    Raises
    ------
    ValueError
        When ``text`` is not a non-negative Duration.
    """
    match = _DURATION.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"{text!r} is not a duration such as '7200s'")
    return float(match.group(1)) / 3600.0


def zone_name(location: str) -> str:
    """``us-central1-a`` from ``zones/us-central1-a``, a full zone URL or the bare name."""
    return location.rstrip("/").rsplit("/", 1)[-1]


# -- capacityHistory -----------------------------------------------------------------


@dataclass(frozen=True)
class ZonePreemption:
    """The measured preemption share of one machine type in one zone.

    Attributes
    ----------
    zone, machine_type
        Where and what.
    rate
        Interval-length-weighted mean ``preemptionRate`` [fraction, 0-1].
    window_start, window_end
        Start of the first and end of the last record used (UTC).
    records
        Records used.
    skipped
        Records skipped (no rate, unreadable or empty interval, rate outside 0-1).
    """

    zone: str
    machine_type: str
    rate: float
    window_start: datetime
    window_end: datetime
    records: int
    skipped: int = 0

    @property
    def window_days(self) -> float:
        """Length of the window [d]."""
        return (self.window_end - self.window_start) / timedelta(days=1)


def parse_preemption_history(
    response: Mapping[str, Any], *, zone: str, machine_type: str
) -> tuple[ZonePreemption | None, list[str]]:
    """The measured rate of one zone from a ``CapacityHistoryResponse`` (wire format).

    Returns None (with a note saying why) when no record is usable.
    """
    used: list[tuple[datetime, datetime, float]] = []
    no_rate = unreadable = 0
    for record in response.get("preemptionHistory") or []:
        rate = record.get("preemptionRate") if isinstance(record, Mapping) else None
        if rate is None:
            no_rate += 1
            continue
        interval = record.get("interval") or {}
        try:
            start = parse_timestamp(interval["startTime"])
            end = parse_timestamp(interval["endTime"])
            value = float(rate)
        except (KeyError, TypeError, ValueError):
            unreadable += 1
            continue
        if end <= start or not 0.0 <= value <= 1.0:
            unreadable += 1
            continue
        used.append((start, end, value))
    what = f"{zone} {machine_type}"
    skipped = no_rate + unreadable
    reasons = ", ".join(
        text
        for count, text in (
            (no_rate, f"{no_rate} without a preemption rate"),
            (unreadable, f"{unreadable} unreadable"),
        )
        if count
    )
    if not used:
        tail = f" ({skipped} record(s) skipped: {reasons})" if skipped else ""
        return None, [f"{what}: no preemption history, so no measured rate{tail}"]
    weights = np.array([(end - start).total_seconds() for start, end, _ in used])
    rates = np.array([rate for _, _, rate in used])
    measured = ZonePreemption(
        zone=zone,
        machine_type=machine_type,
        rate=float(np.dot(weights, rates) / weights.sum()),
        window_start=min(start for start, _, _ in used),
        window_end=max(end for _, end, _ in used),
        records=len(used),
        skipped=skipped,
    )
    note = (
        f"{what}: preemption share {100 * measured.rate:.1f}% over "
        f"{measured.window_days:.1f} d ({measured.records} record(s)"
        + (f"; {skipped} skipped: {reasons})" if skipped else ")")
    )
    return measured, [note]


def measured_history_rows(
    measured: Mapping[tuple[str, str], Sequence[ZonePreemption]], *, as_of: datetime
) -> pd.DataFrame:
    """``interruption_history`` rows, one per (region, machine type) with measured zones.

    ``measured_rate_pct`` is the mean of the zones' rates x 100, the band the zones'
    [min, max] x 100, the window the union of the zones' windows; source
    ``gcp-advice``, OS Linux.
    """
    rows = []
    for (region, machine_type), zones in sorted(measured.items()):
        if not zones:
            continue
        rates = [100.0 * z.rate for z in zones]
        lower, upper = min(rates), max(rates)
        start = min(z.window_start for z in zones)
        end = max(z.window_end for z in zones)
        rows.append(
            {
                "cloud": "gcp",
                "region": region,
                "instance_type": machine_type,
                "os": "Linux",
                "interruption_band": measured_band_label(lower, upper),
                "interruption_band_lower_pct": lower,
                "interruption_band_upper_pct": upper,
                "savings_pct": None,
                "measured_rate_pct": float(np.mean(rates)),
                "window_start": start,
                "window_end": end,
                "window_days": (end - start) / timedelta(days=1),
                "source": ADVICE_SOURCE,
                "as_of": as_of,
            }
        )
    frame = pd.DataFrame(rows, columns=INTERRUPTION_HISTORY.column_names)
    return validate(frame, INTERRUPTION_HISTORY, origin=ADVICE_SOURCE)


# -- capacity ------------------------------------------------------------------------


@dataclass(frozen=True)
class ZoneCapacity:
    """Capacity advice for one machine type in one zone.

    Attributes
    ----------
    zone, machine_type
        Where and what.
    obtainability
        Likelihood that a request for the target capacity succeeds [0-1].
    estimated_uptime_hours
        Time most such Spot VMs run before a preemption [h], None when not given.
    """

    zone: str
    machine_type: str
    obtainability: float
    estimated_uptime_hours: float | None

    @property
    def placement_score(self) -> float:
        """``1 + 9 x obtainability`` rounded to 0.1: AWS's 1-10 placement-score scale."""
        return placement_score(self.obtainability)


def placement_score(obtainability: float) -> float:
    """A 1-10 placement score from an obtainability in [0, 1] (clipped), rounded to 0.1."""
    return round(1.0 + 9.0 * min(1.0, max(0.0, obtainability)), 1)


def parse_capacity_advice(
    response: Mapping[str, Any], *, zone: str, machine_type: str
) -> tuple[ZoneCapacity | None, list[str]]:
    """The scores of one zone from a ``CapacityAdviceResponse`` (wire format).

    The first recommendation whose shards lie in ``zone`` (or that names no shard)
    counts; None (with a note) when there is none or it has no obtainability.
    """
    what = f"{zone} {machine_type}"
    chosen: Mapping[str, Any] | None = None
    for recommendation in response.get("recommendations") or []:
        shards = recommendation.get("shards") or []
        if not shards or any(zone_name(str(s.get("zone", ""))) == zone for s in shards):
            chosen = recommendation
            break
    if chosen is None:
        return None, [f"{what}: no capacity recommendation for this zone"]
    scores = chosen.get("scores") or {}
    raw = scores.get("obtainability")
    try:
        obtainability = float(raw) if raw is not None else math.nan
    except (TypeError, ValueError):
        return None, [f"{what}: the recommendation has no obtainability score"]
    if math.isnan(obtainability):
        return None, [f"{what}: the recommendation has no obtainability score"]
    notes: list[str] = []
    uptime: float | None = None
    if scores.get("estimatedUptime") is not None:
        try:
            uptime = parse_duration_hours(scores["estimatedUptime"])
        except ValueError as exc:
            notes.append(f"{what}: estimated uptime ignored ({exc})")
    advice = ZoneCapacity(zone, machine_type, obtainability, uptime)
    uptime_text = f"{uptime:.1f} h" if uptime is not None else "not given"
    notes.append(
        f"{what}: obtainability {obtainability:.2f} -> placement score "
        f"{advice.placement_score:g}; estimated uptime {uptime_text}"
    )
    return advice, notes


def capacity_frame(region: str, advice: Iterable[ZoneCapacity]) -> pd.DataFrame:
    """Scores as rows ``SCORE_COLUMNS`` (one per zone and machine type)."""
    rows = [
        {
            "region": region,
            "zone": a.zone,
            "instance_type": a.machine_type,
            "placement_score": a.placement_score,
            "obtainability": a.obtainability,
            "estimated_uptime_hours": a.estimated_uptime_hours,
        }
        for a in advice
    ]
    return pd.DataFrame(rows, columns=SCORE_COLUMNS)


def apply_placement_scores(offers: pd.DataFrame, scores: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """``offers`` with the scores of their (zone, machine type); and how many got one.

    Only zonal GCP offers can match; an offer without a score keeps its own.
    """
    if scores.empty or offers.empty:
        return offers, 0
    lookup = {
        (str(z), str(t)): float(s)
        for z, t, s in zip(
            scores["zone"], scores["instance_type"], scores["placement_score"], strict=True
        )
    }
    found = [
        lookup.get((str(z), str(t))) if c == "gcp" and not pd.isna(z) else None
        for c, z, t in zip(offers["cloud"], offers["zone"], offers["instance_type"], strict=True)
    ]
    hit = pd.Series([f is not None for f in found], index=offers.index)
    out = offers.copy()
    out.loc[hit, "placement_score"] = [f for f in found if f is not None]
    return out, int(hit.sum())
