"""Time-varying load and the deterministic part of a fleet: demand, peak replicas, losses.

A *demand curve* d(t) gives the ready replicas needed at each moment, piecewise constant
(hourly from a daily or weekly profile, per minute from a request trace). With
``peak: on-demand`` an autoscaler launches on-demand *peak* replicas for the demand the
fleet's own pools do not cover; it reacts after ``scale_up_delay``, a launched replica
serves after the cold start, and a replica no longer needed is stopped after
``cooldown`` (kept if it is needed again before then). A ``critical_share`` of the
traffic may only be served by on-demand replicas (fixed on-demand pools and peak
replicas).

Everything here is the same in every trial: it is computed once, as step functions, and
the engine adds the random part (spot slots) on top. Times in hours [h], prices in USD
per replica-hour [USD/h].
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Demand:
    """Replicas needed, piecewise constant.

    Attributes
    ----------
    times
        Start of each step [h]; ``times[0] == 0``, strictly increasing.
    replicas
        Replicas needed from each start until the next (the last until the horizon).
    """

    times: tuple[float, ...]
    replicas: tuple[int, ...]

    @staticmethod
    def constant(replicas: int) -> Demand:
        """The same demand all the time."""
        return Demand((0.0,), (replicas,))

    def peak(self) -> int:
        """Largest demand."""
        return max(self.replicas)


@dataclass(frozen=True)
class LoadModel:
    """A demand curve and how the fleet scales for it.

    Attributes
    ----------
    demand
        Replicas needed over time.
    peak_on_demand
        Launch on-demand peak replicas for demand above the fleet's pools.
    scale_up_delay_hours
        From a demand rise to the launch of the peak replicas [h].
    prewarm_hours
        Scheduled scaling: launch this long before a rise instead [h] (the launch is at
        ``rise + scale_up_delay - prewarm``).
    cooldown_hours
        From a demand fall to the stop of the peak replicas no longer needed [h].
    critical_share
        Share of the demand that only on-demand replicas may serve [0-1]; the critical
        replicas needed are ``ceil(critical_share * d(t))``.
    peak_price_per_hour
        On-demand price of one peak replica [USD/h].
    peak_region
        Region the peak replicas run in (a ``region-loss`` there takes them).
    """

    demand: Demand
    peak_on_demand: bool = True
    scale_up_delay_hours: float = 0.0
    prewarm_hours: float = 0.0
    cooldown_hours: float = 0.0
    critical_share: float = 0.0
    peak_price_per_hour: float = 0.0
    peak_region: str = ""


@dataclass(frozen=True)
class Step:
    """A piecewise-constant function on [0, horizon): ``values[j]`` on [times[j], times[j+1])."""

    times: FloatArray
    values: IntArray
    horizon: float

    def lengths(self) -> FloatArray:
        """Length of each step [h]."""
        return np.diff(np.append(self.times, self.horizon))

    def at(self, t: FloatArray) -> IntArray:
        """Values at times ``t`` (right-continuous)."""
        j = np.clip(np.searchsorted(self.times, t, side="right") - 1, 0, self.times.size - 1)
        return self.values[j]


def demand_step(demand: Demand, horizon_hours: float) -> Step:
    """The demand as a :class:`Step` on [0, horizon), equal neighbours merged."""
    times = np.asarray(demand.times, dtype=np.float64)
    values = np.asarray(demand.replicas, dtype=np.int64)
    keep = times < horizon_hours
    times, values = times[keep], values[keep]
    change = np.concatenate(([True], values[1:] != values[:-1]))
    return Step(times[change], values[change], horizon_hours)


def critical_replicas(demand: IntArray, share: float) -> IntArray:
    """``ceil(share * demand)``, robust to rounding (0.2 * 5 is 1, not 2)."""
    out: IntArray = np.ceil(share * demand - 1e-9).astype(np.int64)
    return out


@dataclass(frozen=True)
class PeakReplicas:
    """Every peak replica the autoscaler runs, one row each.

    Attributes
    ----------
    launch, ready, stop
        Launch, ready (launch + cold start) and stop times [h]; ``ready >= stop`` means
        it never served.
    """

    launch: FloatArray
    ready: FloatArray
    stop: FloatArray

    def cost(self, price: float, horizon: float) -> float:
        """Billed cost over the horizon [USD], from launch to stop."""
        hours = np.clip(np.minimum(self.stop, horizon) - self.launch, 0.0, None)
        return float(price * hours.sum())


def peak_needed(demand: Step, base: int, fixed_on_demand: int, critical_share: float) -> IntArray:
    """Peak replicas needed on each step of the demand.

    ``max(0, d - base, ceil(share * d) - fixed_on_demand)``: demand above the fleet's
    pools, and critical demand above its on-demand pools.
    """
    d = demand.values
    out: IntArray = np.maximum.reduce(
        [
            np.zeros_like(d),
            d - base,
            critical_replicas(d, critical_share) - fixed_on_demand,
        ]
    )
    return out


def peak_replicas(
    demand: Step, needed: IntArray, *, delay: float, cooldown: float, cold_start: float
) -> PeakReplicas:
    """Launch and stop times of the peak replicas for ``needed`` peaks per demand step.

    Replica ``j`` (1-based level) is needed while ``needed >= j``; its needs closer than
    ``cooldown`` apart are merged (it is kept running). A merged need [a, b) launches at
    ``a + delay`` if still needed then (``a + delay < b``) and stops at ``b + cooldown``.
    ``delay`` may be negative (scheduled scaling ahead of a known rise; launches are
    clipped to 0). Needs at the start of the horizon are met from 0, as the fleet starts
    with every replica ready.
    """
    times, horizon = demand.times, demand.horizon
    previous = np.concatenate(([0], needed[:-1]))
    following = np.concatenate((needed[1:], [0]))
    ends_at = np.append(times[1:], horizon)
    # rising edges start levels previous+1..needed; falling edges end needed+1..previous
    up = np.maximum(needed - previous, 0)
    down = np.maximum(needed - following, 0)
    start_level = np.repeat(previous, up) + _ranks(up)
    start_time = np.repeat(times, up)
    end_level = np.repeat(following, down) + _ranks(down)
    end_time = np.repeat(ends_at, down)
    s = np.lexsort((start_time, start_level))
    e = np.lexsort((end_time, end_level))
    level, a, b = start_level[s], start_time[s], end_time[e]
    if level.size == 0:
        empty = np.zeros(0)
        return PeakReplicas(empty, empty, empty)
    new = np.concatenate(([True], (level[1:] != level[:-1]) | (a[1:] - b[:-1] > cooldown)))
    first = np.flatnonzero(new)
    last = np.append(first[1:], level.size) - 1
    a_m, b_m = a[first], b[last]
    launch = np.maximum(a_m + delay, 0.0)
    keep = launch < b_m
    launch, a_m, b_m = launch[keep], a_m[keep], b_m[keep]
    ready = np.where(a_m == 0.0, 0.0, launch + cold_start)
    launch = np.where(a_m == 0.0, 0.0, launch)
    return PeakReplicas(launch, ready, b_m + cooldown)


def _ranks(counts: IntArray) -> IntArray:
    """1..n for every count n, concatenated."""
    total = int(counts.sum())
    return np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts) + 1


def ready_step(
    horizon: float,
    fixed: int,
    starts: FloatArray,
    ends: FloatArray,
    weights: IntArray,
) -> Step:
    """``fixed`` plus, at each moment, the weights of the intervals [start, end) covering it.

    Parameters
    ----------
    horizon
        End of the time axis [h].
    fixed
        Always counted.
    starts, ends, weights
        One entry per interval: its bounds [h] and what it adds (negative: removes).
    """
    keep = (starts < ends) & (starts < horizon) & (ends > 0)
    starts, ends = np.clip(starts[keep], 0.0, horizon), np.clip(ends[keep], 0.0, horizon)
    weights = weights[keep]
    times = np.concatenate(([0.0], starts, ends))
    delta = np.concatenate(([fixed], weights, -weights)).astype(np.int64)
    order = np.argsort(times, kind="stable")
    times, delta = times[order], delta[order]
    level = np.cumsum(delta)
    last = np.append(times[1:] != times[:-1], True)
    times, level = times[last], level[last]
    inside = times < horizon
    return Step(times[inside], level[inside], horizon)


def combine(parts: list[Step], horizon: float) -> tuple[FloatArray, list[IntArray]]:
    """Common breakpoints of several step functions and each one's values on them."""
    times = np.unique(np.concatenate([p.times for p in parts]))
    times = times[times < horizon]
    return times, [p.at(times) for p in parts]


def interval_loss(
    launch: FloatArray, ready: FloatArray, stop: FloatArray, at: float, cold_start: float
) -> tuple[FloatArray, FloatArray]:
    """Serving intervals of replicas lost at ``at`` and relaunched at once elsewhere.

    A replica running (launched, not stopped) at ``at`` stops serving then and serves
    again from ``at + cold_start``. Returns the starts and ends of all serving intervals.
    """
    hit = (launch <= at) & (at < stop)
    # a replica lost while starting (ready > at) gives an empty first interval
    starts = np.concatenate((ready, np.full(int(hit.sum()), at + cold_start)))
    ends = np.concatenate((np.where(hit, at, stop), stop[hit]))
    return starts, ends


def flat_integral(step: Step) -> float:
    """Integral of the step function over [0, horizon) [value x h]."""
    return float((step.values * step.lengths()).sum())


def ceil_div(requests: float, per_replica: float) -> int:
    """Replicas needed for ``requests`` when one replica serves ``per_replica``."""
    return max(0, math.ceil(requests / per_replica - 1e-9))
