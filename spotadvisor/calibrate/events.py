"""What one count series says: drops, strikes, exposure, stock-out blocks, zero runs, lifetimes.

A series is the number of instances alive (or obtainable) at each tick of a trace, as
read by :func:`spotadvisor.traces.read_traces`. Everything here is a pure function of
the counts, the capacity and the tick length; docs/calibrate.md states each rule.

- **Drop**: the count falls between two consecutive ticks; it loses ``before - after``
  units.
- **Strike** (the engine's bulk reclaim as seen in a trace): a drop of at least
  ``min(threshold, capacity)`` units in one tick. The ``min`` makes every drop of a
  1-node series a strike: losing the only instance is losing 100 % of that pool.
  Smaller drops are independent preemptions.
- **Exposure**: instance-hours alive, ``gap × Σ counts`` over the ticks before each
  step; a strike is only visible while at least ``min(threshold, capacity)`` units are
  alive, so the strike exposure is the time with that many alive.
- **Stock-out block**: from a strike until the count is back at its level just before
  that strike (strikes inside a block belong to it). In the engine a strike stocks the
  pool out and every replacement waits for the merged stock-out to end, so the block is
  the engine's merged stock-out (plus the relaunch, a tick or less here).
- **Zero run**: a maximal run of ticks with nothing alive, after a drop (a run at the
  start of the trace has no known start and is skipped).
- **Lifetimes**: a rise of ``u`` adds ``u`` births; a drop of ``d`` ends ``d`` lives
  drawn at random among those alive (seeded). Under the null hypothesis of the engine
  (a constant hazard: which instance goes is uniform) this gives exactly exponential
  lifetimes, so the Weibull test has its nominal size; first-in first-out would make
  lives look more regular than they are (shape > 1 on exponential data). An
  age-dependent hazard is diluted by the random matching, so a shape below 1 found
  this way is conservative. A 1-node series has only one possible matching. Lives
  already running at tick 0 have no known birth and are left out; lives still running
  at the end are censored.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class SeriesEvents:
    """The events of one count series.

    Attributes
    ----------
    gap_hours
        Tick length [h].
    capacity
        Instances asked for [-].
    threshold
        Units a drop must take to be a strike here: ``min(threshold, capacity)`` [-].
    units
        Units lost at each tick step (``len(counts) - 1`` values, 0 where no drop) [-].
    before
        Count just before each step [-].
    strike
        Whether each step is a strike.
    exposure_hours
        Instance-hours alive [h].
    strike_exposure_hours
        Hours with at least ``threshold`` units alive (a strike could be seen) [h].
    blocked
        Per tick: inside a stock-out block.
    blocks_hours
        Durations of completed blocks [h].
    censored_block_hours
        Duration of a block still open when the series ends [h] (0 when none).
    zero_runs_hours
        Durations of completed zero runs that start with a drop [h].
    lifetimes_hours, lifetime_ended, lifetime_end_tick
        Reconstructed lifetimes [h], whether each ended in a drop (else censored), and
        the tick it ended at (lives ended together are not independent).
    """

    gap_hours: float
    capacity: int
    threshold: int
    units: IntArray
    before: IntArray
    strike: BoolArray
    exposure_hours: float
    strike_exposure_hours: float
    blocked: BoolArray
    blocks_hours: FloatArray
    censored_block_hours: float
    zero_runs_hours: FloatArray
    lifetimes_hours: FloatArray
    lifetime_ended: BoolArray
    lifetime_end_tick: npt.NDArray[np.int64]

    @property
    def strikes(self) -> int:
        """Strikes counted [-]."""
        return int(self.strike.sum())

    @property
    def independent_units(self) -> int:
        """Units lost in drops smaller than a strike [-]."""
        return int(self.units[~self.strike].sum())

    @property
    def all_units(self) -> int:
        """Units lost in every drop [-]."""
        return int(self.units.sum())

    @property
    def shares(self) -> FloatArray:
        """Share of the alive units each strike took [0-1]."""
        return self.units[self.strike] / self.before[self.strike]


def series_events(
    counts: npt.ArrayLike, gap_seconds: float, capacity: int, threshold: int, seed: int = 0
) -> SeriesEvents:
    """Extract the events of one series.

    Parameters
    ----------
    counts
        Instances alive at each tick [-], non-negative integers.
    gap_seconds
        Tick length [s].
    capacity
        Instances asked for [-] (>= 1).
    threshold
        Smallest drop that counts as a strike [units, >= 1]; capped at ``capacity``.
    seed
        Seed of the random matching of lifetimes.
    """
    c = np.asarray(counts, dtype=np.int64)
    gap = gap_seconds / 3600.0
    need = max(1, min(threshold, capacity))
    before = c[:-1]
    units = np.maximum(before - c[1:], 0)
    strike = units >= need
    blocked, blocks, open_block = _blocks(c, strike)
    lives, ended, ends = _lifetimes(c, np.random.default_rng(seed))
    return SeriesEvents(
        gap_hours=gap,
        capacity=capacity,
        threshold=need,
        units=units,
        before=before,
        strike=strike,
        exposure_hours=gap * float(before.sum()),
        strike_exposure_hours=gap * float((before >= need).sum()),
        blocked=blocked,
        blocks_hours=blocks * gap,
        censored_block_hours=open_block * gap,
        zero_runs_hours=_zero_runs(c) * gap,
        lifetimes_hours=lives * gap,
        lifetime_ended=ended,
        lifetime_end_tick=ends,
    )


def _blocks(c: IntArray, strike: BoolArray) -> tuple[BoolArray, FloatArray, float]:
    """Per-tick block flags, completed block lengths [ticks], and an open block's length."""
    n = c.size
    blocked = np.zeros(n, dtype=bool)
    lengths: list[int] = []
    open_length = 0
    starts = np.flatnonzero(strike) + 1  # the first tick at the lower count
    t = 0
    for start in starts:
        if int(start) < t:  # inside the block of an earlier strike
            continue
        first = int(start)
        level = c[first - 1]
        back = np.flatnonzero(c[first:] >= level)
        end = first + int(back[0]) if back.size else n
        blocked[first:end] = True
        if back.size:
            lengths.append(end - first)
        else:
            open_length = end - first
        t = end
    return blocked, np.asarray(lengths, dtype=np.float64), float(open_length)


def _zero_runs(c: IntArray) -> FloatArray:
    """Lengths [ticks] of completed runs of zeros entered by a drop."""
    zero = np.concatenate(([False], c == 0, [False]))
    edges = np.diff(zero.astype(np.int8))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    keep = (starts > 0) & (ends < c.size)  # entered by a drop, left before the end
    return (ends[keep] - starts[keep]).astype(np.float64)


def _lifetimes(
    c: IntArray, rng: np.random.Generator
) -> tuple[FloatArray, BoolArray, npt.NDArray[np.int64]]:
    """Lifetimes [ticks] (drops matched to random alive units), whether each ended, end tick."""
    alive: list[int] = [-1] * int(c[0])  # -1: born before the trace
    lives: list[int] = []
    ends: list[int] = []
    steps = np.diff(c)
    for t in np.flatnonzero(steps) + 1:
        change = int(steps[t - 1])
        if change > 0:
            alive.extend([int(t)] * change)
            continue
        for index in sorted(rng.choice(len(alive), size=-change, replace=False), reverse=True):
            born = alive.pop(int(index))
            if born >= 0:
                lives.append(int(t) - born)
                ends.append(int(t))
    ended = [True] * len(lives)
    for born in alive:
        if born >= 0:
            lives.append(c.size - born)
            ended.append(False)
            ends.append(c.size)
    return (
        np.asarray(lives, dtype=np.float64),
        np.asarray(ended, dtype=bool),
        np.asarray(ends, dtype=np.int64),
    )
