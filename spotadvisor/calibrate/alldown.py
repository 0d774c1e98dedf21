"""How often every zone of a region (or of a set) was down at once, against independence."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from spotadvisor.calibrate.correlation import AlignedSet


@dataclass(frozen=True)
class AllDown:
    """How often every series of a group had nothing alive at the same tick.

    Attributes
    ----------
    name
        ``us-west-2`` for a region of a set, ``all`` for the whole set.
    labels
        The series.
    hours
        Aligned length [h].
    measured
        Share of ticks with every series at zero [0-1].
    independent
        Product of each series' share of ticks at zero: what independence predicts.
    """

    name: str
    labels: tuple[str, ...]
    hours: float
    measured: float
    independent: float

    @property
    def ratio(self) -> float:
        """measured / independent (inf when independence predicts 0)."""
        if self.independent > 0:
            return self.measured / self.independent
        return math.inf if self.measured > 0 else math.nan


def all_down(s: AlignedSet) -> list[AllDown]:
    """All-down shares of each region with two or more series, then of the whole set."""
    groups: dict[str, list[int]] = {}
    for index, region in enumerate(s.regions):
        groups.setdefault(region, []).append(index)
    picks = [(r, ix) for r, ix in groups.items() if len(ix) >= 2]
    if len(groups) > 1:
        picks.append(("all", list(range(len(s.regions)))))
    hours = s.down.shape[1] * s.gap_hours
    return [
        AllDown(
            name=name,
            labels=tuple(s.labels[i] for i in ix),
            hours=hours,
            measured=float(s.down[ix].all(axis=0).mean()),
            independent=float(np.prod(s.down[ix].mean(axis=1))),
        )
        for name, ix in picks
    ]
