"""Correlation of pools in one trace set, in the engine's terms, and all-zones-down.

Series recorded together (same folder, tick and start) are aligned from tick 0 over
their common length. The engine (docs/model.md) gives each pool source events at a rate
β; an event in pool ``k`` strikes pool ``j`` with probability ``c_kj`` (1 for ``j = k``,
``c^z`` in the same region, ``c^r`` in another), each struck pool gets its own
exponential stock-out of mean ``s_j``. Two consequences are measurable:

- **Coincident strikes** (the literal definition): pool ``i`` struck at a tick where
  ``j`` could show a strike; ``j`` strikes within ``±w`` ticks in ``m`` of ``E`` such
  cases, where chance alone gives ``p0_j = 1 − (1 − r_j)^(2w+1)`` (``r_j`` strikes per
  exposed tick of ``j``). The model predicts ``(m/E − p0)/(1 − p0) = ν_ij / ν_i`` with
  ``ν_i = Σ_k β_k c_ki`` (pool ``i``'s strike rate) and ``ν_ij = Σ_k β_k c_ki c_kj``
  (both struck by one event).
- **Joint stock-outs** (what availability feels): by the marked-Poisson argument, the
  probability that neither ``i`` nor ``j`` is stocked out is the product of the
  marginals times ``exp(ν_ij h_ij)``, ``h_ij = s_i s_j / (s_i + s_j)`` (the mean overlap
  of the two stock-outs of one shared strike). With "up" = not in a stock-out block,
  ``ln[P(i up, j up) / (P(i up) P(j up))] = ν_ij h_ij``.

Given ``(c^z, c^r)``, the source rates follow from the measured strike rates by
non-negative least squares (``ν = Cᵀ β``); ``(c^z, c^r)`` are solved in [0, 1] so that
the model matches the sums over same-region and cross-region ordered pairs. A
coefficient with no pair to inform it is not fitted (None). Intervals come from a
moving-block bootstrap over time (the same blocks for every series of a set), which
keeps the dependence between pairs and between nearby ticks.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import optimize

from spotadvisor.calibrate.events import SeriesEvents
from spotadvisor.calibrate.stats import Interval
from spotadvisor.calibrate.stockout import stockout_from_blocks

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class AlignedSet:
    """Series recorded together, cut to a common length, as per-tick arrays ``[Z, L]``.

    Attributes
    ----------
    labels, regions
        Pool label and region of each series.
    gap_hours
        Tick length [h].
    strike, exposed, window, up, down
        Per tick: a strike arrived at this tick; a strike could have been seen at this
        tick; a strike within ``±w`` ticks; not in a stock-out block; nothing alive.
    rate_per_hour, stockout_hours
        Strike rate ν and engine stock-out ``s`` of each series over the window [1/h, h].
    """

    labels: tuple[str, ...]
    regions: tuple[str, ...]
    gap_hours: float
    strike: BoolArray
    exposed: BoolArray
    window: BoolArray
    up: BoolArray
    down: BoolArray
    rate_per_hour: FloatArray
    stockout_hours: FloatArray

    @functools.cached_property
    def same_region(self) -> BoolArray:
        """``[Z, Z]`` True for distinct series in the same region."""
        r = np.array(self.regions)
        same: BoolArray = (r[:, None] == r[None, :]) & ~np.eye(r.size, dtype=bool)
        return same

    @functools.cached_property
    def cross_region(self) -> BoolArray:
        """``[Z, Z]`` True for series in different regions."""
        r = np.array(self.regions)
        cross: BoolArray = r[:, None] != r[None, :]
        return cross


def aligned_set(
    labels: Sequence[str],
    regions: Sequence[str],
    events: Sequence[SeriesEvents],
    counts: Sequence[npt.NDArray[np.int64]],
    window_ticks: int,
) -> AlignedSet:
    """Per-tick arrays of series already cut to one length (``events`` of the cut counts)."""
    length = counts[0].size
    pad = np.zeros((len(events), 1), dtype=bool)
    strike = np.hstack([pad, np.array([e.strike for e in events])])
    exposed = np.hstack([pad, np.array([e.before >= e.threshold for e in events])])
    kernel = np.ones(2 * window_ticks + 1)
    window = np.array([np.convolve(s.astype(float), kernel, "same") > 0.5 for s in strike])
    rate = np.array(
        [e.strikes / e.strike_exposure_hours if e.strike_exposure_hours else 0.0 for e in events]
    )
    stockout = []
    for e, nu in zip(events, rate, strict=True):
        total = float(e.blocks_hours.sum()) + e.censored_block_hours
        block = total / e.blocks_hours.size if e.blocks_hours.size else 0.0
        stockout.append(stockout_from_blocks(float(nu), block))
    assert all(c.size == length for c in counts)
    return AlignedSet(
        labels=tuple(labels),
        regions=tuple(regions),
        gap_hours=events[0].gap_hours,
        strike=strike,
        exposed=exposed,
        window=window,
        up=~np.array([e.blocked for e in events]),
        down=np.array([c == 0 for c in counts]),
        rate_per_hour=rate,
        stockout_hours=np.array(stockout),
    )


@dataclass(frozen=True)
class _Sums:
    """Sufficient statistics of one set over a (resampled) run of ticks."""

    rate: FloatArray  # ν per series [1/h]
    chance: FloatArray  # p0 per series
    cases: FloatArray  # E [Z, Z]
    matches: FloatArray  # m [Z, Z]
    log_ratio: FloatArray  # ln R [Z, Z]


def _sums(s: AlignedSet, ticks: npt.NDArray[np.int64], window_ticks: int) -> _Sums:
    strike = s.strike[:, ticks].astype(np.float64)
    exposed = s.exposed[:, ticks].astype(np.float64)
    seen = (s.exposed & s.window)[:, ticks].astype(np.float64)
    up = s.up[:, ticks].astype(np.float64)
    exposed_ticks = exposed.sum(axis=1)
    per_tick = np.divide(
        strike.sum(axis=1), exposed_ticks, out=np.zeros(len(s.labels)), where=exposed_ticks > 0
    )
    n = float(ticks.size)
    p_up = up.sum(axis=1) / n
    joint = (up @ up.T) / n
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = np.log(joint / np.outer(p_up, p_up))
    log_ratio = np.where(np.isfinite(log_ratio), log_ratio, 0.0)
    return _Sums(
        rate=per_tick / s.gap_hours,
        chance=1.0 - (1.0 - per_tick) ** (2 * window_ticks + 1),
        cases=strike @ exposed.T,
        matches=strike @ seen.T,
        log_ratio=log_ratio,
    )


def source_rates(s: AlignedSet, zone: float, region: float) -> FloatArray:
    """The engine's source rates β of the series of ``s`` [1/h] for correlations ``(c^z, c^r)``.

    With them, the engine strikes each pool at its measured rate ν.
    """
    beta, _ = _joint_rates(s.same_region, s.rate_per_hour, zone, region)
    return beta


def _joint_rates(
    same: BoolArray, rate: FloatArray, cz: float, cr: float
) -> tuple[FloatArray, FloatArray]:
    """Source rates β and joint strike rates ``ν_ij`` for correlations ``(cz, cr)``."""
    c = np.where(same, cz, cr)
    np.fill_diagonal(c, 1.0)
    beta, _ = optimize.nnls(c.T, rate)
    return beta, (c.T * beta[None, :]) @ c


@dataclass(frozen=True)
class Correlation:
    """Fitted correlations (None where the sets have no pair to inform them).

    Attributes
    ----------
    zone, region
        ``c^z`` and ``c^r`` from joint stock-outs (what the parameter file carries),
        with bootstrap intervals.
    zone_coincident, region_coincident
        The same from coincident strikes only (the literal definition).
    coincident_share_same, coincident_share_cross
        ``(m/E − p0)/(1 − p0)`` pooled over same- / cross-region pairs [0-1].
    source_share
        Σ β / Σ ν at the joint-stock-out fit: the share of strikes that are a pool's own
        source events, turning measured strike rates into the engine's β.
    pairs_same, pairs_cross
        Ordered pairs behind each coefficient.
    """

    zone: Interval | None
    region: Interval | None
    zone_coincident: Interval | None
    region_coincident: Interval | None
    coincident_share_same: float
    coincident_share_cross: float
    source_share: float
    pairs_same: int
    pairs_cross: int


def _overlap(stockout_hours: FloatArray) -> FloatArray:
    """``h_ij = s_i s_j / (s_i + s_j)`` [h]: mean overlap of two exponential stock-outs."""
    s = stockout_hours
    total = s[:, None] + s[None, :]
    return np.divide(np.outer(s, s), total, out=np.zeros_like(total), where=total > 0)


def _pair_terms(
    s: AlignedSet, m: _Sums, cz: float, cr: float, kind: str
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Per ordered pair: what the model predicts, what was measured, and a weight."""
    _, joint = _joint_rates(s.same_region, m.rate, cz, cr)
    if kind == "coincident":
        rate = m.rate[:, None]
        share = np.divide(joint, rate, out=np.zeros_like(joint), where=rate > 0)
        weight = m.cases * (1.0 - m.chance[None, :])
        return weight * share, m.matches - m.cases * m.chance[None, :], m.cases
    return joint * _overlap(s.stockout_hours), m.log_ratio, np.ones_like(joint)


def _solve(
    sets: Sequence[AlignedSet], sums: Sequence[_Sums], kind: str, active: tuple[bool, bool]
) -> tuple[float, float]:
    """``(c^z, c^r)`` in [0, 1] matching pooled pair statistics of ``kind``; 0 where inactive."""
    if not any(active):
        return 0.0, 0.0
    mask = np.array(active)
    full = np.array([0.3, 0.05])

    # what was measured and the weights do not depend on (c^z, c^r): sum them once
    fixed = np.zeros((2, 2))  # rows: same, cross; columns: data, weight
    for s, m in zip(sets, sums, strict=True):
        _, data, weight = _pair_terms(s, m, 0.0, 0.0, kind)
        for row, pairs in enumerate((s.same_region, s.cross_region)):
            fixed[row] += [float(data[pairs].sum()), float(weight[pairs].sum())]

    def residuals(y: FloatArray) -> list[float]:
        full[mask] = y
        cz, cr = float(full[0]) * active[0], float(full[1]) * active[1]
        model = np.zeros(2)
        for s, m in zip(sets, sums, strict=True):
            predicted = _pair_terms(s, m, cz, cr, kind)[0]
            model += [float(predicted[s.same_region].sum()), float(predicted[s.cross_region].sum())]
        return [
            (model[row] - fixed[row, 0]) / max(fixed[row, 1], 1e-12)
            for row in range(2)
            if active[row]
        ]

    found = optimize.least_squares(residuals, full[mask], bounds=(0.0, 1.0))
    full[mask] = found.x
    return float(full[0]) * active[0], float(full[1]) * active[1]


def _shares(sets: Sequence[AlignedSet], sums: Sequence[_Sums]) -> tuple[float, float]:
    """Chance-corrected share of strikes matched in another pool: same, cross region."""
    out = []
    for pick in ("same", "cross"):
        excess = weight = 0.0
        for s, m in zip(sets, sums, strict=True):
            pairs = s.same_region if pick == "same" else s.cross_region
            excess += float((m.matches - m.cases * m.chance[None, :])[pairs].sum())
            weight += float((m.cases * (1.0 - m.chance[None, :]))[pairs].sum())
        out.append(excess / weight if weight > 0 else math.nan)
    return out[0], out[1]


def _resample(length: int, block: int, rng: np.random.Generator) -> npt.NDArray[np.int64]:
    """Tick indices of a moving-block bootstrap replicate of ``length`` ticks."""
    block = max(1, min(block, length))
    starts = rng.integers(0, length - block + 1, size=-(-length // block))
    return (starts[:, None] + np.arange(block)[None, :]).ravel()[:length].astype(np.int64)


def fit_correlation(
    sets: Sequence[AlignedSet],
    *,
    window_ticks: int,
    confidence: float,
    replicates: int,
    block_hours: float,
    seed: int,
) -> Correlation:
    """Fit ``c^z`` and ``c^r`` over aligned sets, with bootstrap intervals.

    Parameters
    ----------
    sets
        Aligned sets of two or more series.
    window_ticks
        Half-width of the coincidence window [ticks].
    confidence
        Coverage of the percentile intervals.
    replicates
        Bootstrap replicates (0: no intervals, bounds NaN).
    block_hours
        Length of a bootstrap block [h]; about a day keeps daily cycles together.
    seed
        Seed of the bootstrap (the fit itself is deterministic).
    """
    pairs_same = sum(int(s.same_region.sum()) for s in sets)
    pairs_cross = sum(int(s.cross_region.sum()) for s in sets)
    active = (pairs_same > 0, pairs_cross > 0)
    full = [_sums(s, np.arange(s.strike.shape[1]), window_ticks) for s in sets]
    joint = _solve(sets, full, "joint", active)
    coincident = _solve(sets, full, "coincident", active)
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(replicates):
        sums = [
            _sums(
                s, _resample(s.strike.shape[1], round(block_hours / s.gap_hours), rng), window_ticks
            )
            for s in sets
        ]
        draws.append(
            (*_solve(sets, sums, "joint", active), *_solve(sets, sums, "coincident", active))
        )
    boot = np.array(draws) if draws else np.full((1, 4), math.nan)
    tail = 50.0 * (1.0 - confidence)

    def interval(value: float, column: int, used: bool) -> Interval | None:
        if not used:
            return None
        if not draws:
            return Interval(value, math.nan, math.nan)
        low, high = np.percentile(boot[:, column], [tail, 100.0 - tail])
        return Interval(value, float(low), float(high))

    beta = ratio = 0.0
    for s, m in zip(sets, full, strict=True):
        b, _ = _joint_rates(s.same_region, m.rate, *joint)
        beta += float(b.sum())
        ratio += float(m.rate.sum())
    same_share, cross_share = _shares(sets, full)
    return Correlation(
        zone=interval(joint[0], 0, active[0]),
        region=interval(joint[1], 1, active[1]),
        zone_coincident=interval(coincident[0], 2, active[0]),
        region_coincident=interval(coincident[1], 3, active[1]),
        coincident_share_same=same_share,
        coincident_share_cross=cross_share,
        source_share=beta / ratio if ratio > 0 else 1.0,
        pairs_same=pairs_same,
        pairs_cross=pairs_cross,
    )
