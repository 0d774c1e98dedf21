"""From one trial's service gaps to its outages, compiled: a sweep in time order.

Every spot slot serves except during its *gaps* (notice -> replacement ready), which
are sorted and disjoint within a slot. The fleet is in outage while the number of
overlapping gaps exceeds the gaps it tolerates, a step function of time (constant
without a load profile or failure events). The sweep merges the slots' gap boundaries
with a binary heap keyed on each slot's next boundary (O(log slots) per boundary,
memory O(slots)) and accounts the time between consecutive moments exactly as the
reference event loop does: only stretches of positive length count, so the order of
simultaneous boundaries does not matter.

Most trials of a fleet worth running have no outage at all, so a cheaper test comes
first: cut the horizon into buckets and count the gaps touching each; no instant has
more overlapping gaps than its bucket, so when no bucket exceeds the least tolerance the
trial has no outage, found in time linear in its gaps.
"""

from __future__ import annotations

import math

from spotadvisor.sim.jit import jit_inline
from spotadvisor.sim.kernel_inputs import FloatArray, IntArray, Tolerance

# Per-trial figures the sweep returns, in this order.
HOURS, COUNT, DURING, AFTER, RECOVERY = 0, 1, 2, 3, 4


@jit_inline
def _sift_down(key: FloatArray, slot: IntArray, size: int, i: int) -> None:
    """Restore the heap property below position ``i``."""
    k, s = key[i], slot[i]
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        if child + 1 < size and key[child + 1] < key[child]:
            child += 1
        if key[child] >= k:
            break
        key[i], slot[i] = key[child], slot[child]
        i = child
    key[i], slot[i] = k, s


@jit_inline
def outages(  # noqa: PLR0912 -- one sweep over a trial's gaps, inlined into the kernel
    start: FloatArray,
    end: FloatArray,
    slot_lo: IntArray,
    tolerance: Tolerance,
    horizon: float,
    window: tuple[bool, float, float],
    key: FloatArray,
    slot: IntArray,
    cursor: IntArray,
    buckets: IntArray,
    out: FloatArray,
) -> None:
    """Outage time and count of one trial, and the figures around the event window.

    Parameters
    ----------
    start, end
        Gaps [h], slot by slot: slot ``s`` owns ``slot_lo[s] .. slot_lo[s + 1]``.
    tolerance
        Gaps tolerated over time.
    horizon
        Simulated time [h].
    window
        ``(measure, t0, t1)``: outage inside [t0, t1), after t1, and the recovery
        (from t0 to the end of the last outage stretch touching the window) [h].
    key, slot, cursor
        Scratch of at least the number of slots.
    buckets
        Scratch for the bucket test: more than twice the number of gaps (up to a cap),
        and at least 3.
    out
        Receives ``HOURS``, ``COUNT``, ``DURING``, ``AFTER``, ``RECOVERY``.
    """
    for i in range(out.size):
        out[i] = 0.0
    slots = slot_lo.size - 1
    least = tolerance.least
    gaps = slot_lo[slots]
    if gaps <= least:
        return  # never more gaps than tolerated: no outage
    if least >= 0 and not _may_exceed(start, end, gaps, horizon, least, buckets):
        return  # no instant has more gaps than tolerated (a negative tolerance needs none)
    size = _start_heap(start, slot_lo, key, slot, cursor)
    measure, t0, t1 = window
    times, values = tolerance.times, tolerance.values
    now, down, step = 0.0, 0, 0
    in_outage, has_stretch, a, b = False, False, 0.0, 0.0
    while True:
        below = down > values[step]
        # the next step of the tolerance that flips whether the fleet is in outage
        flip = _next_flip(tolerance, step, down, below)
        t_tol = times[flip] if flip < times.size else math.inf
        t_gap = key[0] if size > 0 else math.inf
        t = min(t_gap, t_tol, horizon)
        if t > now:  # nothing changed on [now, t)
            if below:
                out[HOURS] += t - now
                if in_outage:
                    b = t
                else:
                    out[COUNT] += 1.0
                    if has_stretch and measure:
                        _window_figures(a, b, t0, t1, out)
                    has_stretch, a, b = True, now, t
            in_outage = below
            now = t
        if t >= horizon:
            break
        if t_tol <= t_gap:
            step = flip
            continue
        step = _step_at(times, step, t)  # steps passed on the way did not flip anything
        s = slot[0]
        c = cursor[s]
        down += 1 if c % 2 == 0 else -1
        c += 1
        cursor[s] = c
        if c < 2 * slot_lo[s + 1]:
            key[0] = start[c // 2] if c % 2 == 0 else end[c // 2]
        else:  # the slot has no more gaps: drop it from the heap
            size -= 1
            key[0], slot[0] = key[size], slot[size]
        _sift_down(key, slot, size, 0)
    if has_stretch and measure:
        _window_figures(a, b, t0, t1, out)


@jit_inline
def _next_flip(tolerance: Tolerance, step: int, down: int, below: bool) -> int:
    """First step after ``step`` where the state changes: the tolerance reaches ``down``
    when in outage, or falls below it when not; ``times.size`` when there is none.
    """
    tree = tolerance.max_tree if below else tolerance.min_tree
    base = tree.size // 2
    if step + 1 >= tolerance.values.size:
        return tolerance.values.size
    i = base + step + 1
    while True:  # climb to the first subtree on the right that holds such a step
        if (tree[i] >= down) if below else (tree[i] < down):
            break
        while i & 1:
            i >>= 1
        if i == 0:
            return tolerance.values.size
        i += 1
    while i < base:  # then down to its leftmost such leaf
        left = 2 * i
        i = left if ((tree[left] >= down) if below else (tree[left] < down)) else left + 1
    return i - base


@jit_inline
def _step_at(times: FloatArray, step: int, t: float) -> int:
    """The step holding time ``t`` (the last with ``times[step] <= t``), searched from ``step``."""
    low, high = step, times.size
    while high - low > 1:
        middle = (low + high) // 2
        if times[middle] <= t:
            low = middle
        else:
            high = middle
    return low


@jit_inline
def _start_heap(
    start: FloatArray, slot_lo: IntArray, key: FloatArray, slot: IntArray, cursor: IntArray
) -> int:
    """Heap of the slots with gaps, keyed on their first gap's start; returns its size.

    ``cursor[s]`` is slot ``s``'s next boundary: ``2 i`` the start of gap ``i``,
    ``2 i + 1`` its end.
    """
    size = 0
    for s in range(slot_lo.size - 1):
        if slot_lo[s + 1] > slot_lo[s]:
            cursor[s] = 2 * slot_lo[s]
            key[size], slot[size] = start[slot_lo[s]], s
            size += 1
    for i in range(size // 2 - 1, -1, -1):
        _sift_down(key, slot, size, i)
    return size


@jit_inline
def _window_figures(a: float, b: float, t0: float, t1: float, out: FloatArray) -> None:
    """Add the outage stretch [a, b) to the figures of the window [t0, t1)."""
    out[DURING] += max(0.0, min(b, t1) - max(a, t0))
    out[AFTER] += max(0.0, b - max(a, t1))
    if (a < t1 and b > t0) or (a <= t1 < b) or (a == t0 == t1):
        out[RECOVERY] = max(out[RECOVERY], b - t0)


@jit_inline
def _may_exceed(
    start: FloatArray, end: FloatArray, gaps: int, horizon: float, least: int, counts: IntArray
) -> bool:
    """Whether more than ``least`` gaps may overlap: at most one bucket per gap and 2 more.

    A gap adds 1 to every bucket it touches (a difference array keeps long gaps O(1)),
    so a bucket's count bounds the overlap at any instant in it.
    """
    size = 64
    while size < 2 * gaps and size < counts.size - 1:
        size *= 2
    size = min(size, counts.size - 1)
    for b in range(size + 1):
        counts[b] = 0
    scale = size / horizon
    for i in range(gaps):
        counts[min(int(start[i] * scale), size - 1)] += 1
        counts[min(int(end[i] * scale), size - 1) + 1] -= 1
    running = 0
    for b in range(size):
        running += counts[b]
        if running > least:
            return True
    return False
