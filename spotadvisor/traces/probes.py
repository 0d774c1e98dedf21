"""Probe logs of the training-on-a-dime study (shared data README 4e).

Free-text lines, one probe per instance about every 10-15 min::

    [2020-03-01T10:00:00.000Z] Created instance X with 1 GPU(s) of type nvidia-tesla-v100 in zone us-west1-b
    [2020-03-01T10:00:01.000Z] Instance X running in zone us-west1-b
    [2020-03-01T11:12:00.000Z] Instance X not running in zone us-west1-b

:func:`parse_probe_log` turns them into lifetimes (``data/fit_gcp_prior.py`` fits
hazards from those); :func:`alive_series` into instances alive per (zone, machine) at
fixed ticks, which :func:`spotadvisor.traces.read_traces` returns as zone traces.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

_STAMP = r"^\[(?P<ts>[^\]]+)\] "
_CREATED = re.compile(
    _STAMP + r"Created instance (?P<name>\S+) with (?P<gpus>\d+) GPU\(s\) of type "
    r"(?P<gpu>\S+) in zone (?P<zone>\S+)$"
)
_RUNNING = re.compile(_STAMP + r"Instance (?P<name>\S+) running in zone (?P<zone>\S+)$")
_NOT_RUNNING = re.compile(_STAMP + r"Instance (?P<name>\S+) not running in zone (?P<zone>\S+)$")
_IGNORED = re.compile(
    _STAMP + r"(?:Instance (?:\S+|with \d+ GPU\(s\) of type \S+) creation failed"
    r"|Successfully deleted instance \S+)$"
)  # AWS logs name no instance when a creation fails
PROBE_LINE = re.compile(_STAMP + r"(?:Created instance|Instance|Successfully deleted) ")
"""A line that starts like a probe-log line (used to sniff the format)."""


@dataclass(frozen=True)
class Lifetime:
    """One VM from its creation to its first "not running" probe.

    Attributes
    ----------
    name, zone, machine
        Instance name (names are reused by later VMs), zone, accelerator (``v100x8``).
    created, last_running
        Time of creation and of the last "running" probe [UTC].
    ended
        First "not running" probe after creation [UTC]; None when the log ends first.
    """

    name: str
    zone: str
    machine: str
    created: datetime
    last_running: datetime
    ended: datetime | None

    @property
    def end(self) -> datetime:
        """When the VM is taken to stop: midway between its last "running" probe and
        the "not running" one, or the last "running" probe when the log ends first."""
        if self.ended is None:
            return self.last_running
        return self.last_running + (self.ended - self.last_running) / 2


def _accelerator(gpu: str, count: str) -> str:
    """``nvidia-tesla-v100``, ``8`` -> ``v100x8``."""
    return f"{gpu.removeprefix('nvidia-tesla-')}x{int(count)}"


def parse_probe_log(lines: Iterable[str]) -> list[Lifetime]:
    """Lifetimes of the VMs in a training-on-a-dime probe log, in order of creation.

    Probes of a name with no open lifetime ("running" before any "Created", "not
    running" after "creation failed") carry no exposure and are skipped.

    Raises
    ------
    ValueError
        On a line of no known form.
    """
    open_: dict[str, Lifetime] = {}
    done: list[Lifetime] = []
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or _IGNORED.match(line):
            continue
        if match := _CREATED.match(line):
            ts = datetime.fromisoformat(match["ts"])
            name = match["name"]
            if name in open_:  # re-created without a "not running" probe: censor it
                done.append(open_.pop(name))
            open_[name] = Lifetime(
                name, match["zone"], _accelerator(match["gpu"], match["gpus"]), ts, ts, None
            )
        elif match := _RUNNING.match(line):
            life = open_.get(match["name"])
            if life is not None:
                open_[life.name] = Lifetime(
                    life.name,
                    life.zone,
                    life.machine,
                    life.created,
                    datetime.fromisoformat(match["ts"]),
                    None,
                )
        elif match := _NOT_RUNNING.match(line):
            life = open_.pop(match["name"], None)
            if life is not None:
                ended = datetime.fromisoformat(match["ts"])
                done.append(
                    Lifetime(
                        life.name, life.zone, life.machine, life.created, life.last_running, ended
                    )
                )
        else:
            raise ValueError(f"line {number}: not a probe-log line: {line!r}")
    done.extend(open_.values())
    return sorted(done, key=lambda life: life.created)


def log_span(lines: Iterable[str]) -> tuple[datetime, datetime] | None:
    """First and last timestamp of a probe log, or None when it has no stamped line."""
    first: datetime | None = None
    last: datetime | None = None
    for raw in lines:
        if match := re.match(_STAMP, raw.strip()):
            ts = datetime.fromisoformat(match["ts"])
            first = ts if first is None else first
            last = ts
    return None if first is None or last is None else (first, last)


def alive_series(
    lifetimes: Iterable[Lifetime], start: datetime, end: datetime, gap_seconds: float
) -> dict[tuple[str, str], npt.NDArray[np.int64]]:
    """Instances alive at each tick, per (zone, machine).

    Tick *i* is at ``start + i × gap``, for every tick up to ``end``. A lifetime counts
    at the ticks in ``[created, end)``, its end as :attr:`Lifetime.end` (the midpoint
    rule of ``data/fit_gcp_prior.py``).

    Parameters
    ----------
    lifetimes
        From :func:`parse_probe_log`.
    start, end
        Span of the log [UTC].
    gap_seconds
        Tick length [s].

    Returns
    -------
    dict
        ``(zone, machine)`` -> counts [-], sorted by key.
    """
    ticks = int((end - start).total_seconds() // gap_seconds) + 1
    times = np.arange(ticks, dtype=np.float64) * gap_seconds
    out: dict[tuple[str, str], npt.NDArray[np.int64]] = {}
    for life in sorted(lifetimes, key=lambda life: (life.zone, life.machine)):
        series = out.setdefault((life.zone, life.machine), np.zeros(ticks, dtype=np.int64))
        begin = (life.created - start).total_seconds()
        stop = (life.end - start).total_seconds()
        series[(times >= begin) & (times < stop)] += 1
    return out
