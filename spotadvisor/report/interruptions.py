"""Interruptions of the report month: termination notices against spot exposure.

Events come from ``watch --log`` files (and, later, from the fleet's event services).
The rate per pool divides the month's notices by the spot instance hours the billing data
shows for the same cloud, region and instance type, so it reads as interruptions per
instance-month, the unit of the published interruption bands.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd

from spotadvisor.bands import HOURS_PER_MONTH
from spotadvisor.errors import UsageError
from spotadvisor.report.period import Month

CONFIDENCE = 0.95

POOL_COLUMNS = [
    "cloud",
    "region",
    "instance_type",
    "interruptions",
    "instances",
    "spot_instance_hours",
    "per_instance_month",
    "per_instance_month_low",
    "per_instance_month_high",
]


@dataclass(frozen=True)
class InterruptionEvent:
    """One termination notice of one instance.

    Attributes
    ----------
    cloud
        ``aws``, ``gcp`` or ``azure``.
    notice_time
        When the notice was seen (UTC).
    action
        What the cloud announced (``terminate``, ``Preempt``, ``preempted``...).
    source
        Where the event was read (``watch log FILE``...).
    region, zone, instance_type, instance_id
        The instance, where known.
    """

    cloud: str
    notice_time: datetime
    action: str
    source: str
    region: str | None = None
    zone: str | None = None
    instance_type: str | None = None
    instance_id: str | None = None


@dataclass(frozen=True)
class Interruptions:
    """The month's interruptions.

    Attributes
    ----------
    events
        Termination notices in the month.
    instances
        Distinct instances interrupted (events without an instance id count one each).
    by_pool
        One row per (cloud, region, instance type): :data:`POOL_COLUMNS`. The rate is
        interruptions per 730 spot instance hours with an exact 95 % Poisson interval;
        NaN where the billing data shows no spot hours for the pool.
    sources
        Where the events were read.
    """

    events: int
    instances: int
    by_pool: pd.DataFrame
    sources: tuple[str, ...]


def poisson_interval(count: int, exposure: float) -> tuple[float, float]:
    """Exact (Garwood) 95 % interval of a Poisson rate.

    Parameters
    ----------
    count
        Events seen.
    exposure
        Exposure in the rate's unit (instance-months), > 0.

    Returns
    -------
    tuple of float
        Lower and upper bound of the rate [events per unit of exposure].
    """
    from scipy.stats import chi2

    tail = (1 - CONFIDENCE) / 2
    low = 0.0 if count == 0 else float(chi2.ppf(tail, 2 * count)) / 2
    high = float(chi2.ppf(1 - tail, 2 * count + 2)) / 2
    return low / exposure, high / exposure


def summarise(
    events: Iterable[InterruptionEvent], month: Month, spot_hours: pd.DataFrame
) -> Interruptions:
    """The interruptions of ``month`` by pool, with rates against spot exposure.

    Parameters
    ----------
    events
        Termination notices (any months; the others are left out).
    month
        The report month.
    spot_hours
        Spot instance hours of the month: columns provider, region_id, instance_type,
        instance_hours [h].
    """
    chosen = [e for e in events if month.start <= e.notice_time < month.end]
    sources = tuple(sorted({e.source for e in chosen}))
    frame = pd.DataFrame(
        {
            "cloud": [e.cloud for e in chosen],
            "region": [e.region or "(unknown)" for e in chosen],
            "instance_type": [e.instance_type or "(unknown)" for e in chosen],
            "instance": [e.instance_id or f"event-{i}" for i, e in enumerate(chosen)],
        }
    )
    if frame.empty:
        return Interruptions(0, 0, pd.DataFrame(columns=POOL_COLUMNS), sources)
    pools = frame.groupby(["cloud", "region", "instance_type"], as_index=False).agg(
        interruptions=("instance", "size"), instances=("instance", "nunique")
    )
    exposure = (
        spot_hours.rename(columns={"provider": "cloud", "region_id": "region"})
        .groupby(["cloud", "region", "instance_type"], as_index=False)[["instance_hours"]]
        .sum()
        .rename(columns={"instance_hours": "spot_instance_hours"})
    )
    pools = pools.merge(exposure, how="left", on=["cloud", "region", "instance_type"])
    exposed = zip(pools["interruptions"], pools["spot_instance_hours"], strict=True)
    rates = [_rate(int(n), h) for n, h in exposed]
    pools["per_instance_month"] = [r[0] for r in rates]
    pools["per_instance_month_low"] = [r[1] for r in rates]
    pools["per_instance_month_high"] = [r[2] for r in rates]
    pools = pools.sort_values(["interruptions", "cloud", "region"], ascending=[False, True, True])
    return Interruptions(
        events=len(frame),
        instances=int(frame["instance"].nunique()),
        by_pool=pools[POOL_COLUMNS].reset_index(drop=True),
        sources=sources,
    )


def _rate(count: int, hours: object) -> tuple[float, float, float]:
    exposure = float(hours) / HOURS_PER_MONTH if isinstance(hours, int | float) else math.nan
    if not exposure > 0:
        return math.nan, math.nan, math.nan
    low, high = poisson_interval(count, exposure)
    return count / exposure, low, high


def events_from_watch_logs(paths: Iterable[Path]) -> list[InterruptionEvent]:
    """Termination notices from ``spotadvisor watch --log`` files.

    A notice logged in two files (two agents, a copied log) counts once: it is the
    same ``event_id`` of the same instance.

    Raises
    ------
    UsageError
        For a missing file or a line that is not a watch record.
    """
    from spotadvisor.watch.notice import read_watch_log

    events: dict[tuple[str, str | None, str], InterruptionEvent] = {}
    for path in paths:
        if not path.is_file():
            raise UsageError(
                "no such watch log",
                file=str(path),
                field="--watch-log",
                fix="give the file 'spotadvisor watch --log FILE' wrote",
            )
        for notice in read_watch_log(path):
            if notice.kind != "termination":
                continue
            key = (notice.cloud, notice.instance_id, notice.event_id)
            events.setdefault(
                key,
                InterruptionEvent(
                    cloud=notice.cloud,
                    notice_time=notice.notice_time,
                    action=notice.action,
                    source=f"watch log {path.name}",
                    region=notice.region,
                    zone=notice.zone,
                    instance_type=notice.instance_type,
                    instance_id=notice.instance_id,
                ),
            )
    return list(events.values())
