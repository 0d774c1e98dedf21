"""A trial's own draws, compiled: hazards, mean spot prices and bulk-reclaim counts.

Per trial and spot pool:

- the replica hazard [1/h]: a band's monthly probability ``p ~ Uniform(p_low, p_high)``
  becomes ``-ln(1 - p) / 730`` per instance (an exact rate is taken as it is), times
  the instances per replica;
- the mean relative spot price of a pool with a price path: the mean of a horizon-long
  window of the (circular) hourly path from a uniformly random hour;
- the number of bulk-reclaim source events: Poisson with mean rate x horizon.
"""

from __future__ import annotations

import math

import numpy as np

from spotadvisor.bands import HOURS_PER_MONTH
from spotadvisor.sim.jit import jit_inline
from spotadvisor.sim.kernel_inputs import FleetArrays, FloatArray, IntArray, PoolArrays

MAX_MONTHLY_PROBABILITY = 1.0 - 1e-9  # keeps -ln(1 - p) finite for the ">20%" band
POISSON_PIECE = 50.0  # means above this are drawn as sums of Poisson(<= 50) pieces


@jit_inline
def poisson(rng: np.random.Generator, mean: float) -> int:
    """A Poisson count by multiplying uniforms (exact; O(mean) draws, few here).

    Means above ``POISSON_PIECE`` are split into pieces (a sum of independent Poisson
    counts is Poisson) so that ``exp(-piece)`` stays far from underflow.
    """
    count = 0
    remaining = mean
    while remaining > 0.0:
        piece = min(remaining, POISSON_PIECE)
        remaining -= piece
        limit = math.exp(-piece)
        product = rng.random()
        while product > limit:
            count += 1
            product *= rng.random()
    return count


@jit_inline
def draw_trial(
    fleet: FleetArrays,
    pools: PoolArrays,
    rng: np.random.Generator,
    hazard: FloatArray,
    price: FloatArray,
    sources: IntArray,
) -> None:
    """Fill ``hazard`` [1/h], ``price`` [USD/h] and ``sources`` for one trial (``[P]``)."""
    for p in range(pools.spot.size):
        price[p] = pools.price[p]
        hazard[p] = 0.0
        sources[p] = 0
        if not pools.spot[p]:
            continue
        rate = pools.exact_rate[p]
        if math.isnan(rate):
            probability = min(
                rng.uniform(pools.band_low[p], pools.band_high[p]), MAX_MONTHLY_PROBABILITY
            )
            rate = -math.log1p(-probability) / HOURS_PER_MONTH
        hazard[p] = rate * pools.instances[p]
        length = pools.path_length[p]
        if length > 0:  # a uniform start hour (Generator.integers would allocate)
            start = min(int(rng.random() * length), length - 1)
            price[p] *= _window_mean(pools, p, start, fleet.price_window)
        if pools.bulk_rate[p] > 0.0:
            sources[p] = poisson(rng, pools.bulk_rate[p] * fleet.horizon)


@jit_inline
def _window_mean(pools: PoolArrays, p: int, start: int, window: int) -> float:
    """Mean of ``window`` hourly values of pool ``p``'s path from ``start``, wrapping around."""
    length, base, prefix = pools.path_length[p], pools.path_offset[p], pools.path_prefix
    whole, rest = divmod(window, length)
    full = prefix[base + length] - prefix[base]
    total = whole * full
    if start + rest <= length:
        total += prefix[base + start + rest] - prefix[base + start]
    else:
        total += (
            full
            - (prefix[base + start] - prefix[base])
            + (prefix[base + start + rest - length] - prefix[base])
        )
    return float(total / window)
