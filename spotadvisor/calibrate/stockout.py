"""Stock-out blocks of a pool and the engine's stock-out mean they imply.

In the engine each strike stocks the pool out for an exponential time of mean ``s``,
and overlapping stock-outs merge; at strike rate ν the merged block has the mean of an
M/M/∞ busy period, ``B = (e^(ν s) − 1) / ν`` (docs/model.md). A trace's blocks (a strike
until the count is back, :mod:`.events`) have mean ``B`` = all block time over completed
blocks, so ``s = ln(1 + ν B) / ν``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from spotadvisor.calibrate.events import SeriesEvents
from spotadvisor.calibrate.stats import NAN_INTERVAL, Interval, mean_interval, quantiles

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Durations:
    """A sample of durations [h]: mean with a t interval, median and 90th percentile."""

    count: int
    mean: Interval
    median: float
    p90: float
    cv: float

    @staticmethod
    def of(values: FloatArray, confidence: float) -> Durations:
        """Summary of ``values`` [h]; ``cv`` is sd / mean (1 for an exponential)."""
        median, p90 = quantiles(values, (0.5, 0.9))
        mean = mean_interval(values, confidence)
        cv = (
            float(values.std(ddof=1) / values.mean())
            if values.size > 1 and values.mean()
            else math.nan
        )
        return Durations(int(values.size), mean, median, p90, cv)


@dataclass(frozen=True)
class StockOut:
    """Stock-out blocks of a pool and the engine's stock-out mean they imply.

    Attributes
    ----------
    blocks
        Completed blocks [h] (mean, median, p90).
    censored_hours
        Time in blocks still open when a series ended [h].
    block_mean
        ``B``: all block time over completed blocks, with an interval [h].
    stockout_hours
        The engine's mean stock-out ``s = ln(1 + ν B) / ν`` with its box interval [h].
    """

    blocks: Durations
    censored_hours: float
    block_mean: Interval
    stockout_hours: Interval


def stockout_from_blocks(rate_per_hour: float, block_mean_hours: float) -> float:
    """Engine stock-out mean ``s`` [h] whose merged blocks have mean ``B`` at strike rate ν.

    Inverts ``B = (e^(ν s) − 1) / ν``; ``s = B`` when ν is 0. NaN stays NaN.
    """
    if math.isnan(block_mean_hours) or math.isnan(rate_per_hour):
        return math.nan
    if rate_per_hour <= 0.0:
        return block_mean_hours
    return math.log1p(rate_per_hour * block_mean_hours) / rate_per_hour


def stockout(events: Sequence[SeriesEvents], rate: Interval, confidence: float) -> StockOut:
    blocks = np.concatenate([e.blocks_hours for e in events])
    censored = math.fsum(e.censored_block_hours for e in events)
    summary = Durations.of(blocks, confidence)
    if blocks.size == 0:
        block_mean = NAN_INTERVAL
    else:
        # censored time counts in the total but not in the number of blocks, as for an
        # exponential MLE; the interval is the t interval of the completed ones, rescaled
        factor = (float(blocks.sum()) + censored) / float(blocks.sum()) if blocks.sum() else 1.0
        block_mean = summary.mean.scaled(factor)
    s = Interval(
        stockout_from_blocks(rate.value, block_mean.value),
        stockout_from_blocks(rate.high, max(block_mean.low, 0.0)),
        stockout_from_blocks(rate.low, block_mean.high),
    )
    return StockOut(summary, censored, block_mean, s)
