"""The compiled trial loop: every trial of a chunk, one after another.

Per trial: draw the hazards, prices, bulk reclaims and stock-outs of every pool
(:mod:`~spotadvisor.sim.kernel_draws`, :mod:`~spotadvisor.sim.kernel_strikes`), run
every spot slot through its serving cycles to the horizon
(:mod:`~spotadvisor.sim.kernel_cycle`), keeping only the slot's gaps in a small buffer,
then sweep the gaps for outages (:mod:`~spotadvisor.sim.kernel_sweep`).
Memory is the trial's own (O(slots + gaps + strikes)) and is reused from one trial to
the next; cost is proportional to the events simulated.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from spotadvisor.sim.jit import jit, jit_inline, jit_noalloc
from spotadvisor.sim.kernel_cycle import (
    COST,
    GAPS,
    INTERRUPTIONS,
    LOST_MEAN,
    POOL,
    SLOT,
    STATE_SIZE,
    run_slots,
)
from spotadvisor.sim.kernel_draws import draw_trial
from spotadvisor.sim.kernel_inputs import EventArrays, FleetArrays, FloatArray, IntArray, PoolArrays
from spotadvisor.sim.kernel_strikes import COLUMNS, RAW_COLUMNS, fill_strikes, strike_bound
from spotadvisor.sim.kernel_sweep import AFTER, COUNT, DURING, HOURS, RECOVERY, outages

# Columns of the per-trial output.
OUT_AVAILABILITY, OUT_COST, OUT_INTERRUPTIONS, OUT_LOST_MEAN = 0, 1, 2, 3
OUT_OUTAGES, OUT_OUTAGE_HOURS, OUT_DURING, OUT_AFTER, OUT_RECOVERY = 4, 5, 6, 7, 8
OUT_COLUMNS = 9
MAX_BUCKETS = 1 << 16  # of the no-outage test (kernel_sweep); more only costs memory

# What _run_trials needs before it can go on (it may not allocate): its status.
DONE, MORE_STRIKES, MORE_GAPS, MORE_BUCKETS = 0, 1, 2, 3
# Where _run_trials stands between calls: the trial, its phase, and a size it needs.
TRIAL, PHASE, NEEDED = 0, 1, 2
DRAW, STRIKE, SLOTS, SWEEP = 0, 1, 2, 3


class Scratch(NamedTuple):
    """Per-chunk buffers, sized for one trial at a time and reused (grown when short)."""

    hazard: FloatArray
    price: FloatArray
    sources: IntArray
    raw: FloatArray
    st: FloatArray
    lo: IntArray
    hi: IntArray
    gap_start: FloatArray
    gap_end: FloatArray
    slot_lo: IntArray
    key: FloatArray
    heap_slot: IntArray
    cursor: IntArray
    buckets: IntArray
    acc: FloatArray
    slot_state: FloatArray
    figures: FloatArray
    progress: IntArray


@jit
def _scratch(width: int, slots: int, strikes: int, gaps: int, buckets: int) -> Scratch:
    heap = max(slots, 1)
    return Scratch(
        hazard=np.empty(width),
        price=np.empty(width),
        sources=np.empty(width, dtype=np.int64),
        raw=np.empty((strikes, RAW_COLUMNS)),
        st=np.empty((strikes, COLUMNS)),
        lo=np.zeros(width, dtype=np.int64),
        hi=np.zeros(width, dtype=np.int64),
        gap_start=np.empty(gaps),
        gap_end=np.empty(gaps),
        slot_lo=np.zeros(slots + 1, dtype=np.int64),
        key=np.empty(heap),
        heap_slot=np.empty(heap, dtype=np.int64),
        cursor=np.empty(heap, dtype=np.int64),
        buckets=np.zeros(buckets, dtype=np.int64),
        acc=np.zeros(3),
        slot_state=np.zeros(STATE_SIZE),
        figures=np.zeros(5),
        progress=np.zeros(3, dtype=np.int64),
    )


def initial_capacity(slots: int) -> IntArray:
    """Buffer sizes that most trials never outgrow: strikes, gaps and buckets."""
    return np.array([16, 64 + 4 * slots, 65], dtype=np.int64)


@jit
def _grown(old: Scratch, status: int) -> Scratch:
    """The buffers with the one ``status`` asks for grown, contents kept where needed."""
    raw, st, gap_start, gap_end, buckets = old.raw, old.st, old.gap_start, old.gap_end, old.buckets
    needed = old.progress[NEEDED]
    if status == MORE_STRIKES:  # filled after the growth: nothing to keep
        raw = np.empty((2 * needed, RAW_COLUMNS))
        st = np.empty((2 * needed, COLUMNS))
    elif status == MORE_GAPS:
        gap_start = np.empty(2 * gap_start.size)
        gap_end = np.empty(2 * gap_end.size)
        gap_start[: old.gap_start.size] = old.gap_start
        gap_end[: old.gap_end.size] = old.gap_end
    else:
        buckets = np.zeros(needed, dtype=np.int64)
    return Scratch(
        old.hazard, old.price, old.sources, raw, st, old.lo, old.hi, gap_start, gap_end,
        old.slot_lo, old.key, old.heap_slot, old.cursor, buckets, old.acc, old.slot_state,
        old.figures, old.progress,
    )  # fmt: skip


@jit
def run_chunk(
    fleet: FleetArrays,
    pools: PoolArrays,
    ev: EventArrays,
    rng: np.random.Generator,
    event_rng: np.random.Generator,
    out: FloatArray,
    capacity: IntArray,
) -> None:
    """Simulate ``out.shape[0]`` trials into ``out`` (one row each, ``OUT_*`` columns).

    Parameters
    ----------
    fleet, pools, ev
        The model as arrays (:mod:`spotadvisor.sim.kernel_inputs`).
    rng
        The chunk's generator.
    event_rng
        Draws of mass preemptions only (kept apart so a what-if stays paired).
    out
        ``[T, OUT_COLUMNS]``; ``OUT_LOST_MEAN`` is the expected lost requests, to be
        drawn as Poisson by the caller.
    capacity
        Initial sizes of the strike, gap and bucket buffers (:func:`initial_capacity`);
        they grow when a trial needs more, which changes nothing in the results.
    """
    slots = fleet.slot_pool.size
    scratch = _scratch(pools.spot.size, slots, capacity[0], capacity[1], capacity[2])
    while True:
        status = _run_trials(fleet, pools, ev, rng, event_rng, scratch, out)
        if status == DONE:
            return
        scratch = _grown(scratch, status)


@jit_noalloc
def _run_trials(
    fleet: FleetArrays,
    pools: PoolArrays,
    ev: EventArrays,
    rng: np.random.Generator,
    event_rng: np.random.Generator,
    sc: Scratch,
    out: FloatArray,
) -> int:
    """Run trials from ``sc.progress`` on until all are done or a buffer is too small.

    Everything of the inner loop is inlined here, where nothing counts references, so
    the tuples of arrays are passed once per chunk rather than once per trial. A trial
    that needs a larger buffer stops at a phase boundary (or inside ``run_slots``, which
    saves its own place) and resumes there: it is never drawn again, which would bias
    the results against trials with many events.
    """
    horizon = fleet.horizon
    window = (fleet.has_window, fleet.window_start, fleet.window_end)
    progress = sc.progress
    while progress[TRIAL] < out.shape[0]:
        trial = progress[TRIAL]
        if progress[PHASE] == DRAW:
            draw_trial(fleet, pools, rng, sc.hazard, sc.price, sc.sources)
            progress[PHASE] = STRIKE
        if progress[PHASE] == STRIKE:
            bound = strike_bound(sc.sources, pools.strike_targets)
            if bound > sc.raw.shape[0]:
                progress[NEEDED] = bound
                return MORE_STRIKES
            fill_strikes(
                rng, sc.sources, horizon, pools.strike_prob, pools.share_mean, pools.instances,
                pools.stockout_mean, sc.raw, sc.st, sc.lo, sc.hi,
            )  # fmt: skip
            for i in range(sc.acc.size):
                sc.acc[i] = 0.0
            sc.slot_state[SLOT], sc.slot_state[POOL], sc.slot_state[GAPS] = 0, -1, 0
            progress[PHASE] = SLOTS
        if progress[PHASE] == SLOTS:
            if not run_slots(
                fleet, pools, ev, sc.st, sc.lo, sc.hi, sc.hazard, sc.price, rng, event_rng,
                sc.acc, sc.slot_state, sc.gap_start, sc.gap_end, sc.slot_lo,
            ):  # fmt: skip
                return MORE_GAPS
            progress[PHASE] = SWEEP
        gaps = int(sc.slot_state[GAPS])
        if sc.buckets.size <= min(2 * gaps, MAX_BUCKETS):
            progress[NEEDED] = min(4 * gaps, MAX_BUCKETS) + 1
            return MORE_BUCKETS
        outages(
            sc.gap_start, sc.gap_end, sc.slot_lo, fleet.tolerance, horizon,
            window, sc.key, sc.heap_slot, sc.cursor, sc.buckets, sc.figures,
        )  # fmt: skip
        _write_row(fleet, sc.acc, sc.figures, out, trial)
        progress[TRIAL] += 1
        progress[PHASE] = DRAW
    return DONE


@jit_inline
def _write_row(
    fleet: FleetArrays, acc: FloatArray, figures: FloatArray, out: FloatArray, trial: int
) -> None:
    out[trial, OUT_AVAILABILITY] = 1.0 - figures[HOURS] / fleet.horizon
    out[trial, OUT_COST] = fleet.base_cost + acc[COST]
    out[trial, OUT_INTERRUPTIONS] = acc[INTERRUPTIONS]
    out[trial, OUT_LOST_MEAN] = fleet.base_lost + acc[LOST_MEAN]
    out[trial, OUT_OUTAGES] = figures[COUNT]
    out[trial, OUT_OUTAGE_HOURS] = figures[HOURS]
    out[trial, OUT_DURING] = figures[DURING]
    out[trial, OUT_AFTER] = figures[AFTER]
    out[trial, OUT_RECOVERY] = figures[RECOVERY]
