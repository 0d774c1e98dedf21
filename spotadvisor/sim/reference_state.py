"""State of one reference-simulation trial: replicas, slots, price paths, the outcome.

Plain data the event loop of :mod:`spotadvisor.sim.reference_trial` works on: a launched
replica (``ReplicaState``), a serving position of the fleet (``SlotState``), the circular
relative price path of a spot pool (``PricePath``), and the outcome of one trial
(``ReferenceTrial``, returned by :func:`spotadvisor.sim.reference.run_reference_trial`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass
class ReplicaState:
    """A launched replica: billed at ``price`` [USD/h] from ``launch`` [h].

    ``ready_at`` is when it is (or was) due ready [h]; ``pool`` the spot pool of a spot
    replica (-1 otherwise), for price spikes.
    """

    launch: float
    price: float
    ready: bool = False
    ready_at: float = math.inf
    pool: int = -1


@dataclass
class SlotState:
    """One serving position of the fleet.

    ``pool`` is the pool of its spot replica (current, starting or awaited);
    ``on_demand`` is set for slots of on-demand pools and for slots moved to on-demand
    by the ``on-demand`` policy. ``epoch`` counts notices: events scheduled in an
    earlier epoch are stale and ignored.
    """

    pool: int
    on_demand: bool
    primary: ReplicaState | None
    fallback: ReplicaState | None = None
    epoch: int = 0


@dataclass(frozen=True)
class ReferenceTrial:
    """Outcome of one reference trial.

    Attributes
    ----------
    availability
        Fraction of the horizon with at least ``replicas`` slots serving [0-1].
    cost
        Billed cost over the horizon [USD].
    interruptions
        Preemption notices received (independent and bulk).
    lost_requests
        Requests lost at the notices.
    outages
        Maximal intervals of positive length with fewer than ``replicas`` serving.
    outage_hours
        Total time with fewer than ``replicas`` serving [h].
    spot_slots_per_pool
        At the horizon, per pool of the fleet, the slots whose spot replica is in that
        pool (serving, starting or awaited); slots on demand are not counted.
    """

    availability: float
    cost: float
    interruptions: int
    lost_requests: int
    outages: int
    outage_hours: float
    spot_slots_per_pool: tuple[int, ...]


class PricePath:
    """Mean of a circular relative price path over windows of a given length."""

    def __init__(self, path: tuple[float, ...]) -> None:
        values = np.asarray(path, dtype=np.float64)
        self.length = int(values.size)
        self.total = float(values.sum())
        # prefix[i] = sum of the first i values of the path repeated twice.
        self.prefix = np.concatenate(([0.0], np.cumsum(np.concatenate((values, values)))))
        self.values = values

    def window_mean(self, start: int, hours: float) -> float:
        """Time-weighted mean of the hourly values over ``hours`` from index ``start``.

        Whole hours take whole values (wrapping around the path); a fractional last hour
        takes its share of the next value.
        """
        if hours <= 0.0:
            return float(self.values[start])
        whole = math.floor(hours)
        cycles, rest = divmod(whole, self.length)
        total = cycles * self.total + float(self.prefix[start + rest] - self.prefix[start])
        fraction = hours - whole
        if fraction > 0.0:
            total += fraction * float(self.values[(start + whole) % self.length])
        return total / hours
