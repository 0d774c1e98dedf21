"""Per-pool and pooled fits of the engine's parameters from series events (no I/O).

A *pool* is one (cloud, region, zone, instance); several series of the same pool (e.g.
two trace folders) add up. For each pool:

- **Hazard** λ [1/h]: units lost / instance-hours alive, with the exact Poisson
  interval, for all drops (``total``) and for drops smaller than a strike
  (``independent``, the engine's per-instance hazard: strikes are the bulk reclaims);
  the monthly interruption probability is ``1 − e^(−730 λ)``.
- **Strikes** ν [1/h]: strikes / hours with a strike visible (at least
  ``min(threshold, capacity)`` alive; exact Poisson interval), and the share of the
  alive units each took (mean with a t interval, quantiles, and how often it was the
  whole pool against the engine's Beta share, :mod:`.share`). Strikes that take fewer
  units than the threshold are not seen as strikes: they count as independent
  preemptions, and the mean share is that of the strikes seen (docs/calibrate.md).
- **Stock-out**: blocks (strike until the count is back) of mean ``B`` (total block
  time over completed blocks, so an open block at the end counts as censored). In the
  engine, strikes at rate ν with exponential stock-outs of mean ``s`` that merge form
  blocks of mean ``(e^(ν s) − 1) / ν`` (the M/M/∞ busy period, docs/model.md), so
  ``s = ln(1 + ν B) / ν``. Its interval is the box ``[s(ν_hi, B_lo), s(ν_lo, B_hi)]``
  (``s`` falls with ν and rises with B).
- **Zero runs** (nothing alive after a drop): mean with a t interval, median, p90.
- **Lifetimes**: a censored Weibull against the exponential (:mod:`.weibull`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from spotadvisor.bands import HOURS_PER_MONTH
from spotadvisor.calibrate.events import SeriesEvents
from spotadvisor.calibrate.share import engine_whole_pool
from spotadvisor.calibrate.stats import (
    Dispersion,
    Interval,
    dispersion,
    mean_interval,
    monthly_probability,
    poisson_rate,
    quantiles,
)
from spotadvisor.calibrate.stockout import Durations, StockOut, stockout
from spotadvisor.calibrate.weibull import WeibullFit, fit_weibull

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, order=True)
class PoolKey:
    """Which pool a series belongs to: cloud, region, zone and instance type (as in traces)."""

    cloud: str
    region: str
    zone: str
    instance: str

    @property
    def label(self) -> str:
        """``aws us-east-1f p3.2xlarge``."""
        return " ".join(p for p in (self.cloud, self.zone or self.region, self.instance) if p)


@dataclass(frozen=True)
class Hazard:
    """A per-instance preemption hazard.

    Attributes
    ----------
    events
        Units lost [-].
    exposure_hours
        Instance-hours alive [h].
    rate
        λ with its exact interval [1/h].
    """

    events: int
    exposure_hours: float
    rate: Interval

    @property
    def monthly_rate(self) -> Interval:
        """Preemptions per instance-month, 730 λ (fleet files' ``monthly_rate``)."""
        return self.rate.scaled(HOURS_PER_MONTH)

    @property
    def monthly_probability(self) -> Interval:
        """Probability of at least one preemption in a month, 1 − e^(−730 λ) [fraction]."""
        return self.rate.mapped(monthly_probability)


@dataclass(frozen=True)
class WholePool:
    """Strikes that emptied the pool: counted, and expected by the engine at the fitted share.

    Attributes
    ----------
    strikes, of
        Strikes that took every unit alive, out of the strikes of multi-instance series.
    engine
        The engine's probability of that, ``E[f^n]`` with ``f ~ Beta(4 f̄, 4 (1 − f̄))``,
        averaged over the same strikes [0-1].
    """

    strikes: int
    of: int
    engine: float

    @property
    def measured(self) -> float:
        """Share of strikes that emptied the pool [0-1]; NaN without strikes."""
        return self.strikes / self.of if self.of else math.nan


@dataclass(frozen=True)
class PoolFit:
    """Everything fitted for one pool.

    Attributes
    ----------
    key
        The pool.
    series, hours, capacity
        Series added up, their total length [h] and the largest capacity [-].
    total, independent
        Hazard of every unit lost, and of units lost outside strikes (the engine's λ;
        its ``rate`` has the units of unseen strikes removed).
    strikes, strike_exposure_hours, strike_rate
        Strikes, hours with a strike visible [h], and ν [1/h] with its interval.
    share, share_quantiles, whole_pool
        Mean share of the alive units a strike took (t interval; NaN for a 1-instance
        pool), its 10/50/90 % quantiles [0-1], and how often a strike took everything.
    stockout
        Blocks and the implied engine stock-out.
    zero_runs
        Runs of nothing alive after a drop [h].
    down_fraction
        Share of ticks with nothing alive [0-1].
    weibull
        Lifetime fit, or None with fewer than 3 ended lifetimes.
    """

    key: PoolKey
    series: int
    hours: float
    capacity: int
    total: Hazard
    independent: Hazard
    strikes: int
    strike_exposure_hours: float
    strike_rate: Interval
    share: Interval
    whole_pool: WholePool
    share_quantiles: tuple[float, float, float]
    stockout: StockOut
    zero_runs: Durations
    down_fraction: float
    weibull: WeibullFit | None


def _clusters(events: Sequence[SeriesEvents]) -> npt.NDArray[np.int64]:
    """Cluster id of each lifetime: its series and end tick (censored ones stand alone)."""
    ids = []
    offset = 0
    for e in events:
        ends = e.lifetime_end_tick.copy()
        alone = ~e.lifetime_ended
        ends[alone] = e.blocked.size + np.arange(int(alone.sum()))
        ids.append(offset + ends)
        offset += 2 * e.blocked.size + int(alone.sum()) + 1
    return np.concatenate(ids) if ids else np.zeros(0, dtype=np.int64)


def _hazard(events: int, exposure: float, confidence: float) -> Hazard:
    return Hazard(events, exposure, poisson_rate(events, exposure, confidence))


def _shares(events: Sequence[SeriesEvents]) -> tuple[FloatArray, npt.NDArray[np.int64], int]:
    """Shares of the strikes of multi-instance series, the units alive before each, and
    how many of those strikes emptied the pool."""
    multi = [e for e in events if e.capacity >= 2]
    if not multi:
        return np.zeros(0), np.zeros(0, dtype=np.int64), 0
    shares = np.concatenate([e.shares for e in multi])
    alive = np.concatenate([e.before[e.strike] for e in multi])
    return shares, alive, int((shares >= 1.0).sum())


def fit_pool(
    key: PoolKey,
    events: Sequence[SeriesEvents],
    confidence: float,
    *,
    lifetimes: bool = True,
) -> PoolFit:
    """Fit one pool from the events of its series (at least one).

    Parameters
    ----------
    key
        The pool.
    events
        One :class:`SeriesEvents` per series of the pool.
    confidence
        Two-sided coverage of every interval.
    lifetimes
        Whether to fit the Weibull.
    """
    exposure = math.fsum(e.exposure_hours for e in events)
    strike_exposure = math.fsum(e.strike_exposure_hours for e in events)
    strikes = sum(e.strikes for e in events)
    rate = poisson_rate(strikes, strike_exposure, confidence)
    shares, alive, whole = _shares(events)
    share = mean_interval(shares, confidence)
    ticks = sum(e.blocked.size for e in events)
    zero_ticks = sum(int((e.before == 0).sum()) for e in events)
    lives = np.concatenate([e.lifetimes_hours for e in events])
    ended = np.concatenate([e.lifetime_ended for e in events])
    q10, q50, q90 = quantiles(shares, (0.1, 0.5, 0.9))
    return PoolFit(
        key=key,
        series=len(events),
        hours=math.fsum(e.blocked.size * e.gap_hours for e in events),
        capacity=max(e.capacity for e in events),
        total=_hazard(sum(e.all_units for e in events), exposure, confidence),
        independent=_hazard(sum(e.independent_units for e in events), exposure, confidence),
        strikes=strikes,
        strike_exposure_hours=strike_exposure,
        strike_rate=rate,
        share=share,
        whole_pool=WholePool(whole, shares.size, engine_whole_pool(alive, share.value)),
        share_quantiles=(q10, q50, q90),
        stockout=stockout(events, rate, confidence),
        zero_runs=Durations.of(np.concatenate([e.zero_runs_hours for e in events]), confidence),
        down_fraction=zero_ticks / max(ticks - len(events), 1),
        weibull=fit_weibull(lives, ended, confidence, _clusters(events)) if lifetimes else None,
    )


@dataclass(frozen=True)
class PooledFit:
    """The pools taken together: what a fleet-wide ``risk:`` block can carry.

    Attributes
    ----------
    pools
        Pools pooled [-].
    total, independent
        Summed hazards (all drops, and outside strikes).
    strike_rate
        Σ strikes / Σ strike exposure [1/h].
    share, whole_pool
        Mean share per strike over pools of capacity >= 2 (a 1-instance pool always
        loses 100 % when a strike is visible, which says nothing about the share), and
        how often a strike took everything, measured and by the engine.
    stockout
        Blocks over every pool and the implied stock-out.
    zero_runs
        Zero runs over every pool [h].
    hazard_dispersion, strike_dispersion
        Pearson tests that the pools share one hazard (all drops) / one strike rate.
    weibull
        Lifetimes of every pool.
    """

    pools: int
    total: Hazard
    independent: Hazard
    strike_rate: Interval
    share: Interval
    whole_pool: WholePool
    stockout: StockOut
    zero_runs: Durations
    hazard_dispersion: Dispersion
    strike_dispersion: Dispersion
    weibull: WeibullFit | None


def fit_pooled(
    fits: Sequence[PoolFit], events: Sequence[Sequence[SeriesEvents]], confidence: float
) -> PooledFit:
    """Pool ``fits`` (``events[i]`` are the series of ``fits[i]``)."""
    flat = [e for group in events for e in group]
    strikes = sum(f.strikes for f in fits)
    rate = poisson_rate(strikes, math.fsum(f.strike_exposure_hours for f in fits), confidence)
    shares, alive, whole = _shares(flat)
    share = mean_interval(shares, confidence)
    lives = np.concatenate([e.lifetimes_hours for e in flat])
    ended = np.concatenate([e.lifetime_ended for e in flat])
    exposure = math.fsum(f.total.exposure_hours for f in fits)
    return PooledFit(
        pools=len(fits),
        total=_hazard(sum(f.total.events for f in fits), exposure, confidence),
        independent=_hazard(sum(f.independent.events for f in fits), exposure, confidence),
        strike_rate=rate,
        share=share,
        whole_pool=WholePool(whole, shares.size, engine_whole_pool(alive, share.value)),
        stockout=stockout(flat, rate, confidence),
        zero_runs=Durations.of(np.concatenate([e.zero_runs_hours for e in flat]), confidence),
        hazard_dispersion=dispersion(
            [f.total.events for f in fits], [f.total.exposure_hours for f in fits]
        ),
        strike_dispersion=dispersion(
            [f.strikes for f in fits], [f.strike_exposure_hours for f in fits]
        ),
        weibull=fit_weibull(lives, ended, confidence, _clusters(flat)),
    )
