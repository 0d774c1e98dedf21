"""Bulk reclaims and stock-outs of one trial, compiled.

A *source* event happens in one spot pool (Poisson in time); it *strikes* that pool and,
with the correlation probabilities, each other spot pool of the trial. A strike takes
each serving replica of the pool with probability ``take`` (one Beta share of the pool
per strike, ``1 - (1 - share) ** instances_per_replica`` for a replica of several
instances) and starts a stock-out (exponential, mean ``stockout_hours``); overlapping
stock-outs of a pool merge into one block.

A trial's strikes are kept in a buffer ``st`` grouped by pool and sorted by time within
a pool (rows ``lo[p] .. hi[p]``), with columns ``TIME`` of the strike [h], ``TAKE``
[0-1], ``END`` of its stock-out [h], ``COVER_END`` (running maximum of the pool's
stock-out ends so far [h]) and ``BLOCK_END`` (end of the merged block it belongs to [h]).
Every function here is compiled (:mod:`spotadvisor.sim.jit`) and called from the kernel.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from spotadvisor.sim.jit import jit_inline

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

TIME, TAKE, END, COVER_END, BLOCK_END = 0, 1, 2, 3, 4
COLUMNS = 5  # of the sorted buffer; the raw buffer has POOL and the first three
RAW_POOL, RAW_COLUMNS = 3, 4
BETA_CONCENTRATION = 4.0  # a + b of the Beta share of a pool taken by one strike
INSERTION_SORT_MAX = 32  # longer runs of one pool are heap-sorted


@jit_inline
def strike_bound(sources: IntArray, targets: IntArray) -> int:
    """Most strikes ``sources[p]`` source events in each pool can make."""
    bound = 0
    for p in range(targets.size):
        bound += sources[p] * targets[p]
    return bound


@jit_inline
def _beta_share(rng: np.random.Generator, mean: float) -> float:
    """Share of a pool one strike takes: Beta with this mean, exactly 0 or 1 at the ends."""
    if mean <= 0.0 or mean >= 1.0:
        return mean
    return rng.beta(BETA_CONCENTRATION * mean, BETA_CONCENTRATION * (1.0 - mean))


@jit_inline
def fill_strikes(
    rng: np.random.Generator,
    sources: IntArray,
    horizon: float,
    strike_prob: FloatArray,
    share_mean: FloatArray,
    instances: FloatArray,
    stockout_mean: FloatArray,
    raw: FloatArray,
    st: FloatArray,
    lo: IntArray,
    hi: IntArray,
) -> int:
    """Draw the strikes of ``sources[p]`` source events of each pool into ``st``.

    Fills ``lo``/``hi`` (first and past-the-last row of each pool) and returns the
    number of strikes.
    """
    pools = sources.size
    n = 0
    for source in range(pools):
        for _ in range(sources[source]):
            when = rng.uniform(0.0, horizon)
            for target in range(pools):
                probability = strike_prob[source, target]
                if probability <= 0.0 or (probability < 1.0 and rng.random() >= probability):
                    continue
                share = _beta_share(rng, share_mean[target])
                stockout = 0.0
                if stockout_mean[target] > 0.0:
                    stockout = rng.exponential(stockout_mean[target])
                raw[n, RAW_POOL] = target
                raw[n, TIME] = when
                raw[n, TAKE] = 1.0 - (1.0 - share) ** instances[target]
                # a stock-out ending after the horizon is as good as one just after it
                raw[n, END] = min(when + stockout, horizon + 1.0)
                n += 1
    _group_by_pool(raw, n, st, lo, hi)
    for p in range(pools):
        _sort_by_time(st, lo[p], hi[p])
        _merge_stockouts(st, lo[p], hi[p])
    return n


@jit_inline
def _group_by_pool(raw: FloatArray, n: int, st: FloatArray, lo: IntArray, hi: IntArray) -> None:
    """Counting sort of the raw rows into ``st`` by pool."""
    hi[:] = 0
    for i in range(n):
        hi[int(raw[i, RAW_POOL])] += 1
    start = 0
    for p in range(hi.size):
        size = hi[p]
        lo[p] = start
        hi[p] = start
        start += size
    for i in range(n):
        p = int(raw[i, RAW_POOL])
        row = hi[p]
        hi[p] += 1
        st[row, TIME] = raw[i, TIME]
        st[row, TAKE] = raw[i, TAKE]
        st[row, END] = raw[i, END]


@jit_inline
def _sort_by_time(st: FloatArray, start: int, stop: int) -> None:
    """Sort rows ``start .. stop`` of ``st`` by time, in place (runs are short)."""
    if stop - start > INSERTION_SORT_MAX:
        _heap_sort(st, start, stop)
        return
    for i in range(start + 1, stop):
        time, take, end = st[i, TIME], st[i, TAKE], st[i, END]
        j = i - 1
        while j >= start and st[j, TIME] > time:
            st[j + 1, TIME], st[j + 1, TAKE], st[j + 1, END] = st[j, TIME], st[j, TAKE], st[j, END]
            j -= 1
        st[j + 1, TIME], st[j + 1, TAKE], st[j + 1, END] = time, take, end


@jit_inline
def _swap_rows(st: FloatArray, i: int, j: int) -> None:
    for c in range(3):
        st[i, c], st[j, c] = st[j, c], st[i, c]


@jit_inline
def _sift(st: FloatArray, start: int, root: int, size: int) -> None:
    """Max-heap on time over rows ``start .. start + size``: restore it below ``root``."""
    while True:
        child = 2 * root + 1
        if child >= size:
            return
        if child + 1 < size and st[start + child + 1, TIME] > st[start + child, TIME]:
            child += 1
        if st[start + root, TIME] >= st[start + child, TIME]:
            return
        _swap_rows(st, start + root, start + child)
        root = child


@jit_inline
def _heap_sort(st: FloatArray, start: int, stop: int) -> None:
    """Heap sort of rows by time: O(n log n) without a scratch array."""
    size = stop - start
    for root in range(size // 2 - 1, -1, -1):
        _sift(st, start, root, size)
    for end in range(size - 1, 0, -1):
        _swap_rows(st, start, start + end)
        _sift(st, start, 0, end)


@jit_inline
def _merge_stockouts(st: FloatArray, start: int, stop: int) -> None:
    """Running maximum of stock-out ends, and the end of each strike's merged block.

    A time after a strike (and before the next) is stocked out iff it is below the
    running maximum; a block closes at a strike when the next one starts after it.
    """
    running = -math.inf
    for i in range(start, stop):
        running = max(running, st[i, END])
        st[i, COVER_END] = running
    first = start
    for i in range(start, stop):
        if i == stop - 1 or not st[i + 1, TIME] < st[i, COVER_END]:
            for j in range(first, i + 1):
                st[j, BLOCK_END] = st[i, COVER_END]
            first = i + 1


@jit_inline
def _first_after(st: FloatArray, start: int, stop: int, at: float) -> int:
    """Index of the first strike in ``start .. stop`` with time > ``at`` (binary search)."""
    low, high = start, stop
    while low < high:
        middle = (low + high) // 2
        if st[middle, TIME] <= at:
            low = middle + 1
        else:
            high = middle
    return low


@jit_inline
def stocked_out_until(st: FloatArray, start: int, stop: int, at: float) -> float:
    """When spot launches resume in the pool for a launch wanted at ``at`` [h].

    ``at`` itself when the pool is not stocked out then.
    """
    if stop <= start:
        return at
    last = _first_after(st, start, stop, at) - 1
    if last >= start and st[last, COVER_END] > at:
        return float(st[last, BLOCK_END])
    return at


@jit_inline
def first_strike(
    rng: np.random.Generator, st: FloatArray, start: int, stop: int, after: float, before: float
) -> float:
    """Time of the first strike in ``(after, before)`` that takes a serving replica [h].

    inf if none does; each strike takes it independently with the strike's ``take``.
    """
    i = _first_after(st, start, stop, after)
    while i < stop and st[i, TIME] < before:
        if rng.random() < st[i, TAKE]:
            return float(st[i, TIME])
        i += 1
    return math.inf
