"""Traces from a known process: the engine's model for one pool, sampled at ticks.

Each instance is preempted at hazard ``lam`` [1/h]; bulk strikes arrive at ``beta`` [1/h]
and take each alive instance with probability ``f ~ Beta(4 fbar, 4 (1 - fbar))`` (the
engine's share); a strike stocks the pool out for an exponential time of mean
``stockout`` [h] (overlapping stock-outs merge). A lost instance is relaunched when the
pool is not stocked out and is alive again ``relaunch`` hours later (a real collector
needs a little time, which is what makes single preemptions visible at all).
"""

from __future__ import annotations

import heapq

import numpy as np
import numpy.typing as npt


def pool_counts(
    rng: np.random.Generator,
    *,
    capacity: int,
    hours: float,
    gap_hours: float,
    lam: float,
    beta: float,
    fbar: float,
    stockout: float,
    relaunch: float,
) -> npt.NDArray[np.int64]:
    """Instances alive at each tick ``i * gap_hours`` of a pool that wants ``capacity``."""
    alive = capacity
    waiting = 0  # lost, waiting for the stock-out to end
    stock_end = 0.0
    arrivals: list[float] = []  # relaunched instances becoming alive
    changes: list[tuple[float, int]] = []
    t = 0.0
    while t < hours:
        rate = lam * alive + beta
        step = rng.exponential(1.0 / rate) if rate > 0 else np.inf
        nxt = min(t + step, arrivals[0] if arrivals else np.inf, stock_end if waiting else np.inf)
        if nxt >= hours:
            break
        if arrivals and nxt == arrivals[0]:
            heapq.heappop(arrivals)
            alive += 1
            changes.append((nxt, +1))
            t = nxt
            continue
        if waiting and nxt == stock_end:
            for _ in range(waiting):
                heapq.heappush(arrivals, stock_end + relaunch)
            waiting = 0
            t = nxt
            continue
        t = nxt
        lost = 1
        if rng.random() * rate < beta:  # a strike
            f = rng.beta(4 * fbar, 4 * (1 - fbar))
            lost = int(rng.binomial(alive, f))
            stock_end = max(stock_end, t + rng.exponential(stockout))
        alive -= lost
        changes.append((t, -lost))
        if t < stock_end:
            waiting += lost
        else:
            for _ in range(lost):
                heapq.heappush(arrivals, t + relaunch)
    ticks = np.arange(0.0, hours, gap_hours)
    times = np.array([c[0] for c in changes])
    deltas = np.array([c[1] for c in changes], dtype=np.int64)
    cumulative = np.concatenate(([0], np.cumsum(deltas)))
    return capacity + cumulative[np.searchsorted(times, ticks, side="right")]


def correlated_single_pools(
    rng: np.random.Generator,
    *,
    regions: list[str],
    hours: float,
    gap_hours: float,
    beta: float,
    zone_correlation: float,
    region_correlation: float,
    stockout: float,
    relaunch: float,
) -> npt.NDArray[np.int64]:
    """``[Z, ticks]`` counts of 1-instance pools under the engine's correlated strikes.

    Each pool has source events at ``beta`` [1/h]; an event strikes its own pool and each
    other pool with ``zone_correlation`` (same region) or ``region_correlation``. A struck
    pool loses its instance and is stocked out for its own exponential time (merging);
    the instance is back ``relaunch`` hours after the stock-out ends.
    """
    z = len(regions)
    same = np.array([[a == b for b in regions] for a in regions])
    prob = np.where(same, zone_correlation, region_correlation)
    np.fill_diagonal(prob, 1.0)
    n_events = rng.poisson(beta * hours * z)
    times = np.sort(rng.uniform(0.0, hours, n_events))
    sources = rng.integers(0, z, n_events)
    ticks = np.arange(0.0, hours, gap_hours)
    counts = np.ones((z, ticks.size), dtype=np.int64)
    for pool in range(z):
        struck = times[rng.random(n_events) < prob[sources, pool]]
        ends = struck + rng.exponential(stockout, struck.size)
        down_from, down_to = [], []
        for start, end in zip(struck, ends, strict=True):
            if down_from and start <= down_to[-1]:
                down_to[-1] = max(down_to[-1], end + relaunch)
            else:
                down_from.append(start)
                down_to.append(end + relaunch)
        for start, end in zip(down_from, down_to, strict=True):
            counts[pool, (ticks >= start) & (ticks < end)] = 0
    return counts
