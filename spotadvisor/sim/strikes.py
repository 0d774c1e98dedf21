"""Bulk reclaims and stock-outs: pool-level events, drawn for all trials at once.

A *source* event happens in one pool (Poisson in time); it *strikes* that pool and,
with the correlation probabilities, other pools of the same trial. Each strike takes a
random share of the pool and starts a stock-out. Strikes are kept in one flat array
sorted by (pool instance, time) under a single float key, so "which strikes fall in this
item's window" and "is this pool stocked out at t, and until when?" are binary searches.
Pool instance ``g * P + p`` is pool ``p`` in trial ``g``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

BETA_CONCENTRATION = 4.0  # a + b of the Beta share of a pool taken by one strike


@dataclass(frozen=True)
class Strikes:
    """Every strike, sorted by ``key = instance * span + time``.

    Attributes
    ----------
    span
        Key spacing between pool instances [h]; larger than any time stored.
    key
        Sort key of each strike.
    instance
        Pool instance struck.
    time
        Strike time [h].
    take
        Probability that the strike takes a given serving replica of the pool [0-1].
    cover_end
        Running maximum of stock-out ends over the instance's strikes so far [h]: a time
        after this strike (and before the next) is stocked out iff it is below this.
    block_end
        End of the merged stock-out block this strike belongs to [h].
    """

    span: float
    key: FloatArray
    instance: IntArray
    time: FloatArray
    take: FloatArray
    cover_end: FloatArray
    block_end: FloatArray


def draw_strikes(
    rng: np.random.Generator,
    *,
    groups: int,
    horizon_hours: float,
    rate_per_hour: FloatArray,
    strike_probability: FloatArray,
    share_mean: FloatArray,
    instances_per_replica: FloatArray,
    stockout_hours: FloatArray,
) -> Strikes:
    """Draw every strike of ``groups`` independent trials of one set of ``P`` pools.

    Parameters
    ----------
    rng
        Source of randomness.
    groups
        Number of trials.
    horizon_hours
        Simulated time [h].
    rate_per_hour
        ``[P]`` source-event rate per pool [1/h].
    strike_probability
        ``[P, P]``: probability that a source event in pool ``i`` strikes pool ``j``
        (1 on the diagonal for pools that can be struck, 0 for on-demand pools).
    share_mean
        ``[P]`` mean share of a pool's replicas one strike takes [0-1].
    instances_per_replica
        ``[P]`` instances per replica (a replica is lost if any instance is).
    stockout_hours
        ``[P]`` mean stock-out after a strike [h].
    """
    pools = rate_per_hour.size
    counts = rng.poisson(np.broadcast_to(rate_per_hour * horizon_hours, (groups, pools)))
    trial, source = np.nonzero(counts)
    repeats = counts[trial, source]
    trial, source = np.repeat(trial, repeats), np.repeat(source, repeats)
    when = rng.uniform(0.0, horizon_hours, size=trial.size)
    # each source event strikes each pool independently with the given probability
    struck = rng.random((trial.size, pools)) < strike_probability[source]
    event, target = np.nonzero(struck)
    instance = trial[event] * pools + target
    when = when[event]
    share = _beta_share(rng, share_mean[target])
    take = 1.0 - (1.0 - share) ** instances_per_replica[target]
    # a stock-out ending after the horizon is as good as one ending just after it
    end = np.minimum(when + _stockout(rng, stockout_hours[target]), horizon_hours + 1.0)
    return _sorted(instance.astype(np.int64), when, take, end, span=horizon_hours + 2.0)


def _beta_share(rng: np.random.Generator, mean: FloatArray) -> FloatArray:
    """Share ~ Beta with the given means and concentration; exactly 0 or 1 at the ends."""
    inside = (mean > 0.0) & (mean < 1.0)
    share = mean.astype(np.float64).copy()
    if inside.any():
        m = mean[inside]
        share[inside] = rng.beta(BETA_CONCENTRATION * m, BETA_CONCENTRATION * (1.0 - m))
    return share


def _stockout(rng: np.random.Generator, mean_hours: FloatArray) -> FloatArray:
    out = np.zeros(mean_hours.size)
    positive = mean_hours > 0
    if positive.any():
        out[positive] = rng.exponential(mean_hours[positive])
    return out


def _sorted(
    instance: IntArray, when: FloatArray, take: FloatArray, end: FloatArray, span: float
) -> Strikes:
    """Sort strikes by key and merge overlapping stock-outs within each instance."""
    key = instance * span + when
    order = np.argsort(key)
    key, instance, when, take, end = (
        key[order],
        instance[order],
        when[order],
        take[order],
        end[order],
    )
    # running max of ends within an instance: offset every instance above the last
    cover_end = np.maximum.accumulate(instance * span + end) - instance * span
    same_next = np.concatenate((instance[1:] == instance[:-1], [False]))
    next_time = np.concatenate((when[1:], [np.inf]))
    # a block ends at a strike when the next strike of the instance starts after it
    closes = ~(same_next & (next_time < cover_end))
    block = np.concatenate(([0], np.cumsum(closes)[:-1]))
    last_of_block = np.flatnonzero(closes)
    block_end = cover_end[last_of_block][block] if instance.size else cover_end
    return Strikes(span, key, instance, when, take, cover_end, block_end)


def stocked_out_until(strikes: Strikes, instance: IntArray, at: FloatArray) -> FloatArray:
    """When spot launches resume in each pool instance for a launch wanted at ``at`` [h].

    Equal to ``at`` where the pool is not stocked out then.
    """
    if strikes.key.size == 0:
        return at
    last = np.searchsorted(strikes.key, instance * strikes.span + at, side="right") - 1
    safe = np.maximum(last, 0)
    covered = (last >= 0) & (strikes.instance[safe] == instance) & (strikes.cover_end[safe] > at)
    return np.where(covered, strikes.block_end[safe], at)


def first_strike(
    strikes: Strikes,
    instance: IntArray,
    after: FloatArray,
    before: FloatArray,
    rng: np.random.Generator,
) -> FloatArray:
    """Time of the first strike in ``(after, before)`` that takes each item [h]; inf if none.

    Each strike takes each serving replica independently with the strike's ``take``.
    """
    first = np.full(instance.size, np.inf)
    if strikes.key.size == 0:
        return first
    base = instance * strikes.span
    lo = np.searchsorted(strikes.key, base + after, side="right")
    hi = np.searchsorted(strikes.key, base + np.minimum(before, strikes.span - 2.0), side="left")
    counts = np.maximum(hi - lo, 0)
    total = int(counts.sum())
    if total == 0:
        return first
    item = np.repeat(np.arange(instance.size), counts)
    offsets = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    strike = lo[item] + offsets
    hit = rng.random(total) < strikes.take[strike]
    np.minimum.at(first, item[hit], strikes.time[strike[hit]])
    return first
