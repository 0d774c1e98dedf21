"""From the gaps in each slot's service to availability and outages, for all trials at once.

Every slot serves from the start except during *gaps*: from a preemption notice until
its replacement (or an on-demand fallback) is ready. With ``n`` slots and ``replicas``
needed, an outage is a stretch during which at least ``n - replicas + 1`` gaps overlap.
Gaps are few, so only trials with enough of them are merged and sorted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Outages:
    """Per-trial outage totals.

    Attributes
    ----------
    hours
        Time with fewer than ``replicas`` serving [h].
    count
        Maximal stretches of positive length with fewer than ``replicas`` serving.
    """

    hours: FloatArray
    count: FloatArray


def outages(
    trial: IntArray,
    start: FloatArray,
    end: FloatArray,
    *,
    trials: int,
    horizon_hours: float,
    slots: int,
    replicas: int,
) -> Outages:
    """Outage time and count per trial from service gaps.

    Parameters
    ----------
    trial, start, end
        One entry per gap: its trial and its bounds [h], clipped to the horizon.
    trials
        Number of trials.
    horizon_hours
        Simulated time [h].
    slots
        Slots serving at the start of every trial (spot and on-demand).
    replicas
        Serving slots needed.
    """
    tolerated = slots - replicas  # gaps that may overlap without an outage
    if tolerated < 0:  # not enough slots even with no gap at all
        return Outages(np.full(trials, horizon_hours), np.ones(trials))
    keep = start < end
    trial, start, end = trial[keep], start[keep], end[keep]
    # a trial with no more gaps than it tolerates can have no outage
    gaps_per_trial = np.bincount(trial, minlength=trials)
    busy = gaps_per_trial[trial] > tolerated
    trial, start, end = trial[busy], start[busy], end[busy]

    ev_trial = np.concatenate((trial, trial))
    ev_time = np.concatenate((start, end))
    ev_delta = np.concatenate((np.ones(start.size), -np.ones(end.size)))
    # one float key sorts by trial, then time; ends sort before starts at equal times
    # (quicksort on floats is several times faster than lexsort)
    order = np.argsort(ev_trial * (horizon_hours + 1.0) + ev_time + 1e-12 * (ev_delta > 0))
    ev_trial, ev_time, ev_delta = ev_trial[order], ev_time[order], ev_delta[order]

    running = np.cumsum(ev_delta)
    first = (
        np.concatenate(([True], ev_trial[1:] != ev_trial[:-1]))
        if ev_trial.size
        else np.zeros(0, bool)
    )
    first_index = np.maximum.accumulate(np.where(first, np.arange(first.size), 0))
    overlapping = running - (running - ev_delta)[first_index]

    last = (
        np.concatenate((ev_trial[1:] != ev_trial[:-1], [True]))
        if ev_trial.size
        else np.zeros(0, bool)
    )
    next_time = np.where(
        last, horizon_hours, np.concatenate((ev_time[1:], [horizon_hours]))[: ev_time.size]
    )
    duration = next_time - ev_time
    below = overlapping > tolerated
    hours = np.bincount(ev_trial, weights=duration * below, minlength=trials)

    positive = duration > 0
    p_trial, p_below = ev_trial[positive], below[positive]
    run_start = (
        p_below
        & np.concatenate(([True], (p_trial[1:] != p_trial[:-1]) | ~p_below[:-1]))[: p_below.size]
    )
    count = np.bincount(p_trial, weights=run_start, minlength=trials)
    return Outages(hours.astype(np.float64), count.astype(np.float64))
