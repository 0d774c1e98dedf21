"""``workload.load`` and ``scaling:`` of a fleet file, and the demand curve they give.

A load is either an hourly ``profile`` (24 values: daily, or 168: weekly from Monday
00:00) in a ``timezone``, or a requests-per-interval series from a CSV file turned into
replicas with ``requests_per_replica``. Parsing is pure; :func:`read_series` is the one
function that reads the CSV (``load_fleet`` calls it). :func:`demand_of` turns a load
into the engine's :class:`~spotadvisor.sim.load.Demand` over a horizon.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import numpy as np

from spotadvisor.config.sections import Section
from spotadvisor.config.specs import FleetFile
from spotadvisor.config.values import (
    Where,
    as_choice,
    as_fraction,
    as_hours,
    as_number,
    as_text,
    as_whole,
    shown,
)
from spotadvisor.errors import UsageError, did_you_mean
from spotadvisor.sim.load import Demand, LoadModel
from spotadvisor.sim.model import PoolModel

LOAD_KEYS = (
    "profile",
    "timezone",
    "start",
    "csv",
    "column",
    "interval",
    "requests_per_replica",
    "max_replicas",
)
SCALING_KEYS = ("baseline", "peak", "scale_up_delay", "prewarm", "cooldown", "critical_share")
DEFAULT_START = date(2024, 1, 1)  # a Monday
Baseline = Literal["spot", "on-demand"]
Peak = Literal["on-demand", "none"]
BASELINES: tuple[Baseline, ...] = ("spot", "on-demand")
PEAKS: tuple[Peak, ...] = ("on-demand", "none")


@dataclass(frozen=True)
class LoadSpec:
    """``workload.load`` as written.

    Attributes
    ----------
    profile
        Replicas needed per local hour: 24 (every day) or 168 (a week from Monday).
    timezone
        IANA name the profile's hours are in (default UTC).
    start
        Date whose 00:00 UTC starts the horizon (default 2024-01-01, a Monday).
    csv
        Path of a CSV of requests per interval (relative paths: to the fleet file).
    column
        Its column of request counts (default: the last column).
    interval_hours
        Time one CSV row covers [h] (default 1 minute).
    requests_per_replica
        Requests per interval one replica serves.
    max_replicas
        Cap on the replicas needed (requests above it are shed by design).
    series
        The CSV's request counts, once read.
    """

    profile: tuple[int, ...] | None = None
    timezone: str = "UTC"
    start: date = DEFAULT_START
    csv: str | None = None
    column: str | None = None
    interval_hours: float = 1 / 60
    requests_per_replica: float | None = None
    max_replicas: int | None = None
    series: tuple[float, ...] | None = None

    def peak(self) -> int | None:
        """Largest replicas needed, when known without the horizon."""
        if self.profile is not None:
            return max(self.profile)
        if self.series is not None and self.requests_per_replica:
            top = max(self.series) / self.requests_per_replica
            if self.max_replicas and top > self.max_replicas:
                return self.max_replicas
            return math.ceil(top - 1e-9)
        return None


@dataclass(frozen=True)
class Scaling:
    """``scaling:``: how the fleet follows the load.

    Attributes
    ----------
    baseline
        What the ``fleet:`` pools are: ``spot`` (spot, with any on-demand pools) or
        ``on-demand`` (on-demand pools only).
    peak
        ``on-demand``: launch on-demand replicas for demand above the pools; ``none``.
    scale_up_delay_hours
        From a demand rise to the launch of peak replicas [h] (default 1 minute).
    prewarm_hours
        Scheduled scaling for a known profile: launch peak replicas this much earlier
        [h] (default 0: purely reactive).
    cooldown_hours
        From a demand fall to the stop of peak replicas [h] (default 5 minutes).
    critical_share
        Share of the traffic only on-demand replicas may serve [0-1] (default 0).
    """

    baseline: Baseline = "spot"
    peak: Peak = "on-demand"
    scale_up_delay_hours: float = 1 / 60
    prewarm_hours: float = 0.0
    cooldown_hours: float = 5 / 60
    critical_share: float = 0.0


def _replicas(minimum: int) -> Callable[[object, Where], int]:
    """Replicas needed: a whole number from ``minimum`` to MAX_REPLICAS."""
    from spotadvisor.config.limits import MAX_REPLICAS

    return lambda value, where: as_whole(
        value,
        where,
        minimum=minimum,
        maximum=MAX_REPLICAS,
        why="no quota comes near it, and a trial's memory and time grow with it",
        noun="replicas",
    )


def check_load_steps(spec: LoadSpec | None, horizon_hours: float, where: Where) -> None:
    """Refuse a load whose demand curve over the horizon would have too many steps.

    A CSV series is repeated over the horizon, one step per ``interval``: ``1s`` over a
    year is 31 million steps, each held several times while the run is planned.
    """
    from spotadvisor.config.limits import check_demand_steps, demand_steps

    if spec is None or spec.profile is not None:
        return  # a profile has two steps an hour at most: the horizon's cap bounds it
    steps = demand_steps(False, spec.interval_hours, horizon_hours)
    check_demand_steps(
        steps,
        origin=where.origin,
        field=where.key("interval").path,
        interval_text=_hours_text(spec.interval_hours),
        horizon_hours=horizon_hours,
    )


def _hours_text(hours: float) -> str:
    seconds = hours * 3600
    return f"{seconds:g}s" if seconds < 60 else f"{seconds / 60:g}m"


def parse_load(value: object, where: Where) -> LoadSpec:
    """Validate ``workload.load``."""
    sec = Section.read(
        value,
        where,
        LOAD_KEYS,
        fix="write load: {profile: [2, 2, 3, ...], timezone: UTC} or {csv: FILE, requests_per_replica: N}",
    )
    has_profile, has_csv = sec.has("profile"), sec.has("csv")
    if has_profile == has_csv:
        raise where.error(
            "gives both profile and csv" if has_profile else "gives no profile and no csv",
            "give profile: (hourly replicas) or csv: (requests per minute), not both",
        )
    if has_profile:
        for key in ("column", "interval", "requests_per_replica", "max_replicas"):
            if sec.has(key):
                raise sec.at(key).error(f"{key} is for csv: loads", f"remove {key}:")
        return LoadSpec(
            profile=_profile(sec.data["profile"], sec.at("profile")),
            timezone=sec.optional("timezone", _timezone, "UTC"),
            start=sec.optional("start", _date, DEFAULT_START),
        )
    for key in ("timezone",):
        if sec.has(key):
            raise sec.at(key).error(
                "a CSV series starts at the horizon's start", f"remove {key}: (use start:)"
            )
    return LoadSpec(
        csv=sec.required("csv", as_text, "add csv: FILE"),
        column=sec.maybe("column", as_text),
        interval_hours=sec.optional("interval", lambda v, w: as_hours(v, w, positive=True), 1 / 60),
        requests_per_replica=sec.required(
            "requests_per_replica",
            lambda v, w: as_number(v, w, above=True),
            "add requests_per_replica: N, the requests per interval one replica serves",
        ),
        max_replicas=sec.maybe("max_replicas", _replicas(1)),
        start=sec.optional("start", _date, DEFAULT_START),
    )


def check_baseline(fleet: FleetFile, where: Where) -> None:
    """``scaling.baseline`` must agree with the markets of the ``fleet:`` pools."""
    if fleet.scaling is None or not fleet.pools:
        return
    markets = {p.market for p in fleet.pools}
    if fleet.scaling.baseline == "spot" and "spot" not in markets:
        raise where.key("baseline").error(
            "baseline: spot, but the fleet has no spot pool",
            "add a spot pool for the baseline, or write baseline: on-demand",
        )
    if fleet.scaling.baseline == "on-demand" and "spot" in markets:
        raise where.key("baseline").error(
            "baseline: on-demand, but the fleet has spot pools",
            "write baseline: spot, or make every pool market: on-demand",
        )


def parse_scaling(value: object, where: Where) -> Scaling:
    """Validate ``scaling:``."""
    sec = Section.read(value, where, SCALING_KEYS)
    return Scaling(
        baseline=sec.optional("baseline", lambda v, w: as_choice(v, w, BASELINES), "spot"),
        peak=sec.optional("peak", lambda v, w: as_choice(v, w, PEAKS), "on-demand"),
        scale_up_delay_hours=sec.optional("scale_up_delay", as_hours, 1 / 60),
        prewarm_hours=sec.optional("prewarm", as_hours, 0.0),
        cooldown_hours=sec.optional("cooldown", as_hours, 5 / 60),
        critical_share=sec.optional(
            "critical_share", lambda v, w: as_fraction(v, w, percent=False), 0.0
        ),
    )


def _profile(value: object, where: Where) -> tuple[int, ...]:
    if not isinstance(value, list) or len(value) not in (24, 168):
        got = f"{len(value)} values" if isinstance(value, list) else "no list"
        raise where.error(
            f"a profile has 24 (daily) or 168 (weekly) hourly values, got {got}",
            "list the replicas needed in each hour, e.g. [2, 2, 2, 3, 5, 8, ...]",
        )
    out = tuple(_replicas(0)(item, where.item(i)) for i, item in enumerate(value))
    if max(out) == 0:
        raise where.error("the profile never needs a replica", "give at least one value >= 1")
    return out


def _timezone(value: object, where: Where) -> str:
    name = as_text(value, where)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        hint = did_you_mean(name, sorted(available_timezones()))
        raise where.error(
            f"unknown time zone {name!r}", hint or "use an IANA name such as Europe/Berlin or UTC"
        ) from None
    return name


#: Dates a load may start on: the horizon (up to ten years) must end within the calendar.
FIRST_START, LAST_START = date(1970, 1, 1), date(2200, 12, 31)


def _date(value: object, where: Where) -> date:
    if isinstance(value, datetime):
        day = value.date()
    elif isinstance(value, date):
        day = value
    else:
        text = as_text(value, where)
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise where.error(
                f"{shown(text)} is not a date", "write a date such as 2024-01-01"
            ) from None
    if not FIRST_START <= day <= LAST_START:
        raise where.error(
            f"{day.isoformat()} is outside the dates a load may start on",
            f"give a date from {FIRST_START.isoformat()} to {LAST_START.isoformat()}",
        )
    return day


def read_series(spec: LoadSpec, origin: str) -> LoadSpec:
    """Read the CSV of a ``csv:`` load (relative to the fleet file ``origin``).

    Raises
    ------
    UsageError
        When the file is missing, has no such column, or holds a non-numeric or
        negative count.
    """
    if spec.csv is None:
        return spec
    where = Where(origin, "workload.load.csv")
    path = Path(spec.csv)
    if not path.is_absolute():
        path = Path(origin).parent / path
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    except OSError as error:
        raise where.error(f"cannot read {path}: {error.strerror}", "check the path") from None
    if len(rows) < 2:
        raise where.error(f"{path} has no data rows", "give a CSV with a header and rows")
    header = [h.strip() for h in rows[0]]
    column = spec.column or header[-1]
    if column not in header:
        hint = did_you_mean(column, header)
        raise Where(origin, "workload.load.column").error(
            f"{path} has no column {column!r}", hint or f"use one of {', '.join(header)}"
        )
    index = header.index(column)
    values = []
    for line, row in enumerate(rows[1:], start=2):
        try:
            number = float(row[index])
        except (ValueError, IndexError):
            raise where.error(
                f"{path} line {line}: {column} is not a number", "fix or remove that row"
            ) from None
        if not math.isfinite(number) or number < 0:
            raise where.error(f"{path} line {line}: {number} requests", "counts must be >= 0")
        values.append(number)
    read = replace(spec, series=tuple(values))
    _check_peak(read, path, origin)
    return read


def _check_peak(spec: LoadSpec, path: Path, origin: str) -> None:
    """The replicas a CSV load needs at its peak must be a fleet's, not a typo's."""
    from spotadvisor.config.limits import MAX_REPLICAS

    if spec.max_replicas is not None or not spec.series or not spec.requests_per_replica:
        return
    top = max(spec.series) / spec.requests_per_replica
    if top > MAX_REPLICAS:
        raise Where(origin, "workload.load.requests_per_replica").error(
            f"{path} needs up to {top:,.0f} replicas at {spec.requests_per_replica:g} "
            f"requests per replica, more than spotadvisor simulates ({MAX_REPLICAS:,})",
            "check requests_per_replica (requests per interval one replica serves), "
            "or cap the fleet with max_replicas",
        )


def demand_of(spec: LoadSpec, horizon_hours: float) -> Demand:
    """The demand curve of a load over ``horizon_hours`` [h], in UTC from the start date.

    A profile follows the local clock of its time zone, daylight saving included; a
    CSV series is repeated when the horizon is longer than it.

    Raises
    ------
    UsageError
        For a CSV load whose series was not read (:func:`read_series`).
    """
    if spec.profile is not None:
        return _profile_demand(spec.profile, spec.timezone, spec.start, horizon_hours)
    if spec.series is None or spec.requests_per_replica is None:
        raise UsageError("the load's CSV was not read", fix="load the fleet with load_fleet()")
    series = np.asarray(spec.series, dtype=np.float64)
    steps = math.ceil(horizon_hours / spec.interval_hours - 1e-9)
    counts = np.resize(series, steps)
    needed = counts / spec.requests_per_replica
    if spec.max_replicas is not None:  # before the cast: a huge ratio is no int64
        needed = np.minimum(needed, spec.max_replicas)
    replicas = np.ceil(needed - 1e-9).astype(np.int64)
    times = np.arange(steps) * spec.interval_hours
    change = np.concatenate(([True], replicas[1:] != replicas[:-1]))
    return Demand(tuple(times[change].tolist()), tuple(int(r) for r in replicas[change]))


def _profile_demand(
    profile: tuple[int, ...], timezone: str, start: date, horizon_hours: float
) -> Demand:
    zone = ZoneInfo(timezone)
    origin = datetime(start.year, start.month, start.day, tzinfo=UTC)
    times: list[float] = []
    values: list[int] = []
    for hour in range(math.ceil(horizon_hours)):
        at = origin + timedelta(hours=hour)
        offset = at.astimezone(zone).utcoffset() or timedelta(0)
        shift = (-offset.total_seconds() / 3600) % 1  # local hours start off the UTC hour
        for t in sorted({float(hour), hour + shift} if shift else {float(hour)}):
            if t >= horizon_hours:
                continue
            local = (origin + timedelta(hours=t)).astimezone(zone)
            index = local.hour if len(profile) == 24 else local.weekday() * 24 + local.hour
            if not values or values[-1] != profile[index]:
                times.append(t)
                values.append(profile[index])
    return Demand(tuple(times), tuple(values))


def load_model(
    spec: LoadSpec, scaling: Scaling | None, pools: tuple[PoolModel, ...], horizon_hours: float
) -> LoadModel:
    """The engine's load: the demand curve, and peaks priced like the fleet's on demand.

    Peak replicas run in the region, and at the on-demand price, of the fleet's first
    on-demand pool (or of its first pool when it has none).
    """
    scaling = scaling or Scaling()
    host = next((p for p in pools if p.market == "on-demand"), pools[0])
    return LoadModel(
        demand=demand_of(spec, horizon_hours),
        peak_on_demand=scaling.peak == "on-demand",
        scale_up_delay_hours=scaling.scale_up_delay_hours,
        prewarm_hours=scaling.prewarm_hours,
        cooldown_hours=scaling.cooldown_hours,
        critical_share=scaling.critical_share,
        peak_price_per_hour=host.on_demand_price_per_hour,
        peak_region=host.region,
    )
