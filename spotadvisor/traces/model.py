"""What a zone trace is, and the names in trace file names (no I/O).

A :class:`ZoneTrace` is one zone's series of spot instances obtainable (or alive) at
fixed ticks, whatever file format it came from. The readers in
:mod:`spotadvisor.traces.read` build them.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

TraceKind = Literal["tick", "raw", "events", "segments", "probes"]
"""The file format a trace came from (README of the shared data, section 4a-4e)."""

# AWS zones are the region plus a letter ("us-east-1f"); GCP zones the region, a dash
# and a letter ("us-central1-a"). Azure traces are not public, so no pattern.
_AWS_ZONE = re.compile(r"^(?P<region>[a-z]{2}(?:-gov)?-[a-z]+-\d+)(?P<letter>[a-z])$")
_GCP_ZONE = re.compile(r"^(?P<region>[a-z]+-[a-z]+\d+)-(?P<letter>[a-z])$")

INSTANCES: Mapping[tuple[str, str], str] = {
    # (cloud, gpu token of the file name) -> instance type, per the shared data README 4a.
    ("aws", "v100_1"): "p3.2xlarge",
    ("aws", "v100_8"): "p3.16xlarge",
    ("aws", "k80_1"): "p2.xlarge",
    ("aws", "k80_8"): "p2.16xlarge",
    ("aws", "intel_64"): "r5.16xlarge",
    ("gcp", "c3-88"): "c3-highcpu-88",
    # Probe logs (4e) name accelerators as <gpu>x<count>; on AWS that fixes the type.
    ("aws", "v100x1"): "p3.2xlarge",
    ("aws", "v100x8"): "p3.16xlarge",
    ("aws", "k80x1"): "p2.xlarge",
    ("aws", "k80x8"): "p2.16xlarge",
    # GCP1 "a100_40gb_8": the repo README says a2-ultragpu-4g, the name says 8x A100
    # 40 GB; uncertain, so it stays the raw token.
}
"""Instance types behind the gpu tokens of trace file names, where the README says."""


@dataclass(frozen=True)
class ZoneTrace:
    """One zone's spot instances obtainable at each tick.

    Attributes
    ----------
    name
        File stem, e.g. ``us-east-1f_v100_1`` (``<log stem>/<zone>_<machine>`` for a
        probe log, which holds several series).
    cloud
        ``aws`` or ``gcp`` when the folder or the zone says so, else None.
    zone
        Zone, e.g. ``us-east-1f``; empty when the trace does not say (SpotServe).
    region
        The zone without its letter (``us-east-1``, ``us-central1``); empty if unknown.
    instance
        Instance type where the README says (``p3.2xlarge``), else the raw gpu token.
    capacity
        Instances asked for [-]: ``N`` of an ``N-node`` folder, else the largest value
        of any series in the same folder (or file), at least 1.
    gap_seconds
        Tick length [s].
    counts
        Instances obtainable or alive at each tick [-], int64, ``0..capacity``.
    start
        UTC time of tick 0 when known (folder date, first timestamp), else None.
    source
        The path read.
    kind
        Format of the source: ``tick``, ``raw``, ``events``, ``segments``, ``probes``.
    """

    name: str
    cloud: str | None
    zone: str
    region: str
    instance: str | None
    capacity: int
    gap_seconds: float
    counts: npt.NDArray[np.int64]
    start: datetime | None
    source: str
    kind: TraceKind = "tick"

    @property
    def duration_hours(self) -> float:
        """Length of the series: ticks × gap [h]."""
        return len(self.counts) * self.gap_seconds / 3600.0

    @property
    def label(self) -> str:
        """Short label for outputs: the zone, or the name when the zone is unknown."""
        return self.zone or self.name


def split_zone(zone: str) -> tuple[str | None, str]:
    """Cloud and region of a zone name: ``us-east-1f`` -> ``("aws", "us-east-1")``.

    Returns ``(None, "")`` when the name is neither an AWS nor a GCP zone.
    """
    if match := _AWS_ZONE.match(zone):
        return "aws", match["region"]
    if match := _GCP_ZONE.match(zone):
        return "gcp", match["region"]
    return None, ""


def zone_and_machine(stem: str) -> tuple[str, str]:
    """Zone and machine from a trace file stem: ``us-east1-b_c3-88`` -> both parts."""
    zone, _, machine = stem.partition("_")
    return zone, machine


def instance_for(cloud: str | None, token: str) -> str:
    """Instance type of a file-name token where known, else the token itself."""
    return INSTANCES.get((cloud or "", token), token)


def tick_counts(values: Sequence[int], gap_seconds: float) -> tuple[int, float]:
    """Events and exposure of a tick series of instances alive.

    Parameters
    ----------
    values
        Instances alive at each tick [-].
    gap_seconds
        Time between ticks [s].

    Returns
    -------
    tuple[int, float]
        Preemptions (the sum of all drops between consecutive ticks) [-] and exposure,
        ``gap × Σ values`` [instance-hours].
    """
    events = sum(max(0, before - after) for before, after in itertools.pairwise(values))
    return events, gap_seconds * sum(values) / 3600.0
