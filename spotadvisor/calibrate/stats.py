"""Small statistics shared by the fits: exact Poisson intervals, means, a dispersion test.

Pure functions over numbers and arrays (no I/O). ``confidence`` is always two-sided.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

from spotadvisor.bands import HOURS_PER_MONTH

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Interval:
    """A point estimate and its two-sided confidence interval, in the estimate's unit.

    ``low``/``high`` are NaN when the data cannot bound the value (e.g. no sample).
    """

    value: float
    low: float
    high: float

    def scaled(self, factor: float) -> Interval:
        """The same interval in another unit (e.g. per hour -> per month)."""
        return Interval(self.value * factor, self.low * factor, self.high * factor)

    def mapped(self, f: Callable[[float], float]) -> Interval:
        """The interval through an increasing function ``f`` (bounds map to bounds)."""
        return Interval(float(f(self.value)), float(f(self.low)), float(f(self.high)))

    def as_list(self, digits: int = 6) -> list[float]:
        """``[low, high]`` rounded, for files."""
        return [_round(self.low, digits), _round(self.high, digits)]


NAN_INTERVAL = Interval(math.nan, math.nan, math.nan)


def _round(x: float, digits: int) -> float:
    return x if not math.isfinite(x) else float(f"{x:.{digits}g}")


def poisson_rate(events: int, exposure: float, confidence: float) -> Interval:
    """Rate MLE ``events / exposure`` with the exact (Garwood) interval.

    Parameters
    ----------
    events
        Events counted [-].
    exposure
        Time at risk, in the unit the rate is per (e.g. instance-hours) [> 0].
    confidence
        Two-sided coverage, e.g. 0.95.

    Returns
    -------
    Interval
        ``k/T`` with bounds ``chi2(a/2; 2k)/(2T)`` and ``chi2(1-a/2; 2k+2)/(2T)``,
        ``a = 1 - confidence`` (lower bound 0 when k = 0); NaN when T is 0.
    """
    if exposure <= 0.0:
        return NAN_INTERVAL
    tail = (1.0 - confidence) / 2.0
    low = 0.0 if events == 0 else float(stats.chi2.ppf(tail, 2 * events)) / 2.0
    high = float(stats.chi2.ppf(1.0 - tail, 2 * events + 2)) / 2.0
    return Interval(events / exposure, low / exposure, high / exposure)


def monthly_probability(rate_per_hour: float) -> float:
    """Probability of at least one event in 730 h at a constant hazard [fraction]."""
    return math.nan if math.isnan(rate_per_hour) else -math.expm1(-HOURS_PER_MONTH * rate_per_hour)


def mean_interval(values: Sequence[float] | FloatArray, confidence: float) -> Interval:
    """Sample mean with a Student-t interval (NaN bounds with fewer than two values)."""
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        return NAN_INTERVAL
    mean = float(x.mean())
    if x.size < 2:
        return Interval(mean, math.nan, math.nan)
    half = float(stats.t.ppf(0.5 + confidence / 2.0, x.size - 1)) * float(x.std(ddof=1))
    return Interval(mean, mean - half / math.sqrt(x.size), mean + half / math.sqrt(x.size))


def proportion_interval(successes: int, trials: int, confidence: float) -> Interval:
    """Share with the exact (Clopper-Pearson) interval; NaN when there are no trials."""
    if trials <= 0:
        return NAN_INTERVAL
    tail = (1.0 - confidence) / 2.0
    low = 0.0 if successes == 0 else float(stats.beta.ppf(tail, successes, trials - successes + 1))
    high = (
        1.0
        if successes == trials
        else float(stats.beta.ppf(1.0 - tail, successes + 1, trials - successes))
    )
    return Interval(successes / trials, low, high)


@dataclass(frozen=True)
class Dispersion:
    """Pearson test that several series share one Poisson rate.

    Attributes
    ----------
    statistic
        Σ (k − λ̂T)² / (λ̂T) over series with exposure [-].
    df
        Degrees of freedom: series − 1.
    p_value
        Upper tail of χ²(df) at the statistic; small means the rates differ.
    """

    statistic: float
    df: int
    p_value: float


def dispersion(events: Sequence[int], exposures: Sequence[float]) -> Dispersion:
    """Pearson dispersion test of counts ``events`` over ``exposures`` (as in data/fit_gcp_prior.py).

    NaN statistic and p-value when fewer than two series have exposure or none has an event.
    """
    rows = [(k, t) for k, t in zip(events, exposures, strict=True) if t > 0.0]
    total_k = sum(k for k, _ in rows)
    total_t = sum(t for _, t in rows)
    if len(rows) < 2 or total_k == 0:
        return Dispersion(math.nan, max(len(rows) - 1, 0), math.nan)
    rate = total_k / total_t
    stat = sum((k - rate * t) ** 2 / (rate * t) for k, t in rows)
    df = len(rows) - 1
    return Dispersion(stat, df, float(stats.chi2.sf(stat, df)))


def quantiles(values: Sequence[float] | FloatArray, qs: Sequence[float]) -> list[float]:
    """Empirical quantiles (linear interpolation); NaN for an empty sample."""
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        return [math.nan for _ in qs]
    return [float(v) for v in np.quantile(x, list(qs))]
