"""Outages against a time-varying tolerance, for all trials at once.

With a demand curve, peak replicas or failure events, how many spot-slot gaps the fleet
tolerates changes over time: a deterministic step function ``tol(t)`` (the same in
every trial, :func:`spotadvisor.sim.scenarios.fleet_plan`). A trial is in outage at
``t`` when its number of overlapping gaps ``c(t)`` exceeds ``tol(t)``.

Each trial's gaps cut the horizon into *segments* of constant ``c``. Within a segment
the outage set is the deterministic set ``{tol < c}``, so everything reduces to
prefix sums over the tolerance steps, one row per gap level ``c`` that occurs:
outage hours are differences of a cumulative function, outage starts are counted from
rising edges, and the recovery after an event is found from "next clear" and "last
below" look-ups. Nothing loops over trials.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spotadvisor.sim.load import FloatArray, IntArray, Step


@dataclass(frozen=True)
class WindowOutcome:
    """Per-trial figures around one event window [start, end).

    Attributes
    ----------
    during_hours, after_hours
        Outage time inside the window and from its end to the horizon [h].
    recovery_hours
        From the window start until the fleet is back at the demand: the end of the
        last outage stretch that overlaps the window (0 when none does) [h].
    """

    during_hours: FloatArray
    after_hours: FloatArray
    recovery_hours: FloatArray


@dataclass(frozen=True)
class VaryingOutages:
    """Outage hours and counts per trial, and the window figures if asked for."""

    hours: FloatArray
    count: FloatArray
    window: WindowOutcome | None


class _Levels:
    """Prefix tables of ``below = tol < c`` for the gap levels that occur."""

    def __init__(self, tol: Step, levels: IntArray) -> None:
        self.tau = tol.times
        self.horizon = tol.horizon
        ends = np.append(tol.times[1:], tol.horizon)
        below = tol.values[None, :] < levels[:, None]  # [L, m]
        self.below = below
        length = ends - tol.times
        self.cum = np.concatenate(
            (np.zeros((levels.size, 1)), np.cumsum(below * length, axis=1)), axis=1
        )
        rise = below & ~np.concatenate((np.ones((levels.size, 1), bool), below[:, :-1]), axis=1)
        self.rise = np.concatenate((np.zeros((levels.size, 1)), np.cumsum(rise, axis=1)), axis=1)
        clear_at = np.where(~below, tol.times[None, :], np.inf)
        self.next_clear = np.minimum.accumulate(clear_at[:, ::-1], axis=1)[:, ::-1]
        below_end = np.where(below, ends[None, :], -np.inf)
        self.last_below_end = np.maximum.accumulate(below_end, axis=1)

    def seg(self, t: FloatArray, *, left: bool = False) -> IntArray:
        """Index of the step containing ``t`` (``t-`` with ``left``)."""
        j = np.searchsorted(self.tau, t, side="left" if left else "right") - 1
        out: IntArray = np.clip(j, 0, self.tau.size - 1).astype(np.int64)
        return out

    def hours_to(self, level: IntArray, t: FloatArray) -> FloatArray:
        """Time in [0, t) with ``tol < c`` [h]."""
        j = self.seg(t)
        out: FloatArray = self.cum[level, j] + self.below[level, j] * np.maximum(
            t - self.tau[j], 0.0
        )
        return out

    def edges(self, level: IntArray, a: FloatArray, b: FloatArray) -> FloatArray:
        """Rising edges of ``tol < c`` strictly inside (a, b)."""
        hi = np.searchsorted(self.tau, b, side="left")
        lo = np.searchsorted(self.tau, a, side="right")
        out: FloatArray = np.maximum(self.rise[level, hi] - self.rise[level, lo], 0.0)
        return out


def varying_outages(
    trial: IntArray,
    start: FloatArray,
    end: FloatArray,
    *,
    trials: int,
    tolerance: Step,
    window: tuple[float, float] | None = None,
) -> VaryingOutages:
    """Outage time and count per trial from the gaps of the spot slots.

    Parameters
    ----------
    trial, start, end
        One entry per gap: its trial and bounds [h], clipped to the horizon.
    trials
        Number of trials.
    tolerance
        Gaps tolerated at each moment (deterministic).
    window
        Event window [start, end) [h] for :class:`WindowOutcome`, or None.
    """
    horizon = tolerance.horizon
    keep = start < end
    trial, start, end = trial[keep], start[keep], end[keep]
    # a virtual event at 0 in every trial opens its first segment
    ev_trial = np.concatenate((np.arange(trials, dtype=np.int64), trial, trial))
    ev_time = np.concatenate((np.zeros(trials), start, end))
    ev_delta = np.concatenate((np.zeros(trials), np.ones(start.size), -np.ones(end.size)))
    rank = np.concatenate((np.zeros(trials), np.full(start.size, 2.0), np.ones(end.size)))
    order = np.lexsort((rank, ev_time, ev_trial))
    ev_trial, ev_time, ev_delta = ev_trial[order], ev_time[order], ev_delta[order]
    running = np.cumsum(ev_delta)
    first = np.concatenate(([True], ev_trial[1:] != ev_trial[:-1]))
    first_index = np.maximum.accumulate(np.where(first, np.arange(first.size), 0))
    count = np.rint(running - (running - ev_delta)[first_index]).astype(np.int64)
    last = np.concatenate((ev_trial[1:] != ev_trial[:-1], [True]))
    seg_end = np.where(last, horizon, np.concatenate((ev_time[1:], [horizon])))
    positive = seg_end > ev_time
    s_trial, a, b, c = ev_trial[positive], ev_time[positive], seg_end[positive], count[positive]

    lo, hi = int(min(tolerance.values.min(), 0)), int(tolerance.values.max()) + 1
    clipped = np.clip(c, lo, hi)
    levels, level = np.unique(clipped, return_inverse=True)
    table = _Levels(tolerance, levels.astype(np.int64))

    hours = np.bincount(
        s_trial, weights=table.hours_to(level, b) - table.hours_to(level, a), minlength=trials
    )
    # outage starts: at a segment's start (state changes) and at rising edges inside
    new_trial = np.concatenate(([True], s_trial[1:] != s_trial[:-1]))
    prev_level = np.concatenate(([0], level[:-1]))
    state_now = table.below[level, table.seg(a)]
    state_before = np.where(new_trial, False, table.below[prev_level, table.seg(a, left=True)])
    starts = (state_now & ~state_before) + table.edges(level, a, b)
    counts = np.bincount(s_trial, weights=starts, minlength=trials)
    outcome = None
    if window is not None:
        outcome = _window(table, s_trial, a, b, level, trials, window)
    return VaryingOutages(hours.astype(np.float64), counts.astype(np.float64), outcome)


def _window(
    table: _Levels,
    s_trial: IntArray,
    a: FloatArray,
    b: FloatArray,
    level: IntArray,
    trials: int,
    window: tuple[float, float],
) -> WindowOutcome:
    horizon = table.horizon
    t0, t1 = min(window[0], horizon), min(window[1], horizon)

    def hours_in(lo: float, hi: float) -> FloatArray:
        x, y = np.clip(a, lo, hi), np.clip(b, lo, hi)
        gained = table.hours_to(level, y) - table.hours_to(level, x)
        return np.bincount(s_trial, weights=gained, minlength=trials).astype(np.float64)

    during, after = hours_in(t0, t1), hours_in(t1, horizon)
    # in outage right at the window's end? then recovery runs to the next clear moment
    at_end = (a <= t1) & (t1 < b)
    in_outage = np.zeros(trials, dtype=bool)
    in_outage[s_trial[at_end]] = table.below[level[at_end], table.seg(np.full(at_end.sum(), t1))]
    x = np.maximum(a, t1)
    j = table.seg(x)
    clear = np.where(~table.below[level, j], x, table.next_clear[level, j])
    clear = np.where((b > t1) & (clear < b), clear, np.inf)
    first_clear = np.full(trials, np.inf)
    np.minimum.at(first_clear, s_trial, clear)
    first_clear = np.minimum(first_clear, horizon)
    # otherwise to the end of the last outage inside the window
    y = np.minimum(b, t1)
    lower = np.maximum(a, t0)
    jy = table.seg(y, left=True)
    last = np.where(table.below[level, jy], y, table.last_below_end[level, jy])
    last = np.where((y > lower) & (last > lower), np.minimum(last, y), -np.inf)
    last_below = np.full(trials, -np.inf)
    np.maximum.at(last_below, s_trial, last)
    recovery = np.where(in_outage, first_clear - t0, np.maximum(last_below - t0, 0.0))
    return WindowOutcome(during, after, recovery)
