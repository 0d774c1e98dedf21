"""The compiled sweep from service gaps to outages, against a brute-force time grid."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spotadvisor.sim.kernel_inputs import tolerance_of
from spotadvisor.sim.kernel_sweep import AFTER, COUNT, DURING, HOURS, RECOVERY, outages

HORIZON, GRID = 40.0, 0.25  # every time below is a multiple of GRID: mid-quarter samples are exact


def sweep(
    slots: list[list[tuple[float, float]]],
    tol_times: list[float],
    tol_values: list[int],
    window: tuple[float, float] | None = None,
    buckets: int = 65,
) -> np.ndarray:
    """Run the kernel's sweep on gaps given slot by slot."""
    starts: list[float] = []
    ends: list[float] = []
    lo = [0]
    for gaps in slots:
        for a, b in gaps:
            starts.append(a)
            ends.append(b)
        lo.append(len(starts))
    n = max(len(slots), 1)
    out = np.zeros(5)
    t0, t1 = window if window is not None else (0.0, 0.0)
    outages(
        np.array(starts, dtype=np.float64),
        np.array(ends, dtype=np.float64),
        np.array(lo, dtype=np.int64),
        tolerance_of(np.array(tol_times, dtype=np.float64), np.array(tol_values, dtype=np.int64)),
        HORIZON,
        (window is not None, t0, t1),
        np.empty(n),
        np.empty(n, dtype=np.int64),
        np.empty(n, dtype=np.int64),
        np.zeros(buckets, dtype=np.int64),
        out,
    )
    return out


def disjoint(raw: list[tuple[int, int]]) -> list[tuple[float, float]]:
    """A slot's gaps: sorted, overlapping ones dropped, clipped to the horizon."""
    out: list[tuple[float, float]] = []
    for start, length in sorted(raw):
        a, b = start * GRID, min((start + length) * GRID, HORIZON)
        if a < b and (not out or a >= out[-1][1]):
            out.append((a, b))
    return out


slot_gaps = st.lists(st.tuples(st.integers(0, 159), st.integers(1, 40)), max_size=8)


@settings(max_examples=300, deadline=None)
@given(
    slots=st.lists(slot_gaps, min_size=1, max_size=6),
    cuts=st.lists(st.integers(1, 159), max_size=60),
    levels=st.lists(st.integers(-1, 3), min_size=61, max_size=61),
    window=st.tuples(st.integers(0, 150), st.integers(0, 30)),
    buckets=st.sampled_from([3, 65, 1025]),
)
def test_sweep_matches_a_quarter_hour_grid(
    slots: list[list[tuple[int, int]]],
    cuts: list[int],
    levels: list[int],
    window: tuple[int, int],
    buckets: int,
) -> None:
    gaps = [disjoint(s) for s in slots]
    times = np.unique(np.concatenate(([0.0], np.array(cuts) * GRID)))
    values = np.array(levels[: times.size], dtype=np.int64)
    t0 = window[0] * GRID
    t1 = min(t0 + window[1] * GRID, HORIZON)
    got = sweep(gaps, list(times), list(values), (t0, t1), buckets)

    mid = np.arange(0.0, HORIZON, GRID) + GRID / 2
    count = np.zeros(mid.size, dtype=np.int64)
    for slot in gaps:
        for a, b in slot:
            count += (a <= mid) & (mid < b)
    tolerated = values[np.searchsorted(times, mid, side="right") - 1]
    down = count > tolerated
    rises = down & ~np.concatenate(([False], down[:-1]))
    assert got[HOURS] == pytest.approx(down.sum() * GRID)
    assert got[COUNT] == rises.sum()
    inside = (mid >= t0) & (mid < t1)
    assert got[DURING] == pytest.approx((down & inside).sum() * GRID)
    assert got[AFTER] == pytest.approx((down & (mid >= t1)).sum() * GRID)
    recovery = 0.0
    for k in np.flatnonzero(rises):
        stop = k
        while stop < down.size and down[stop]:
            stop += 1
        a, b = k * GRID, stop * GRID
        if (a < t1 and b > t0) or (a <= t1 < b) or (a == t0 == t1):
            recovery = max(recovery, b - t0)
    assert got[RECOVERY] == pytest.approx(recovery)


def test_touching_outages_are_one_stretch() -> None:
    # slot 0 is down on [1, 2), slot 1 on [2, 3): with nothing tolerated, one outage of 2 h
    got = sweep([[(1.0, 2.0)], [(2.0, 3.0)]], [0.0], [0])
    assert got[HOURS] == 2.0 and got[COUNT] == 1.0


def test_no_slot_and_a_negative_tolerance_is_out_all_horizon() -> None:
    got = sweep([], [0.0], [-1])
    assert got[HOURS] == HORIZON and got[COUNT] == 1.0


def test_many_short_gaps_below_the_tolerance_have_no_outage() -> None:
    # 40 slots x 150 gaps of 0.02 h; the 8 slots with the same s % 5 are down together
    unit = 0.02
    slots = [
        [((10 * k + 2 * (s % 5)) * unit, (10 * k + 2 * (s % 5) + 1) * unit) for k in range(150)]
        for s in range(40)
    ]
    assert sweep(slots, [0.0], [8], buckets=4097)[COUNT] == 0.0
    got = sweep(slots, [0.0], [7], buckets=4097)
    assert got[COUNT] == 5 * 150 and got[HOURS] == pytest.approx(5 * 150 * unit)
