"""From zone traces to a :class:`Calibration`: pools, the pooled fit, correlation (no I/O).

:func:`calibrate` groups series into pools (cloud, region, zone, instance) and into
*sets* recorded together (same folder, tick length and start: their ticks line up),
fits each pool, the pools together, the correlation across the sets, and derives the
values a ``risk:`` block and per-pool entries carry.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePath
from typing import TYPE_CHECKING

from spotadvisor.bands import HOURS_PER_MONTH
from spotadvisor.calibrate.alldown import AllDown, all_down
from spotadvisor.calibrate.correlation import (
    AlignedSet,
    Correlation,
    aligned_set,
    fit_correlation,
)
from spotadvisor.calibrate.events import SeriesEvents, series_events
from spotadvisor.calibrate.fit import (
    PooledFit,
    PoolFit,
    PoolKey,
    fit_pool,
    fit_pooled,
)
from spotadvisor.calibrate.stats import Interval

if TYPE_CHECKING:
    from spotadvisor.traces import ZoneTrace


@dataclass(frozen=True)
class Options:
    """How to fit.

    Attributes
    ----------
    confidence
        Two-sided coverage of every interval (default 0.95).
    bulk_threshold
        A drop of at least ``min(bulk_threshold, capacity)`` units in one tick is a
        strike (bulk reclaim) [units].
    window_ticks
        Half-width of the window in which strikes of two pools count as coincident [ticks].
    replicates
        Bootstrap replicates for the correlation intervals (0: none).
    block_hours
        Bootstrap block length [h].
    seed
        Bootstrap seed.
    """

    confidence: float = 0.95
    bulk_threshold: int = 2
    window_ticks: int = 1
    replicates: int = 200
    block_hours: float = 24.0
    seed: int = 0


@dataclass(frozen=True)
class TraceInfo:
    """Where a series came from (for provenance)."""

    name: str
    source: str
    pool: PoolKey
    capacity: int
    gap_seconds: float
    ticks: int
    hours: float
    start: datetime | None


@dataclass(frozen=True)
class RiskEstimate:
    """The fleet-wide ``risk:`` values with intervals (None: not identified by the traces).

    ``bulk_reclaims_per_month`` is the engine's *source* rate β = ν × source share per
    pool-month; ``stockout_hours`` the engine's stock-out mean [h].
    """

    bulk_reclaims_per_month: Interval | None
    bulk_fraction: Interval | None
    stockout_hours: Interval | None
    zone_correlation: Interval | None
    region_correlation: Interval | None


@dataclass(frozen=True)
class Calibration:
    """Everything ``calibrate`` fitted.

    Attributes
    ----------
    options
        The options used.
    traces
        Every series read.
    pools
        Per zone pool, sorted.
    regions
        Per (cloud, region, instance), zones pooled (zone is empty in the key).
    pooled
        Every pool together.
    correlation
        Correlation across aligned sets, or None without a set of two or more series.
    all_down
        All-down shares per region and per set.
    sets
        Labels of the series of each aligned set.
    risk
        Values for the ``risk:`` block.
    source_share
        Σ β / Σ ν (1 without correlation): multiplies strike rates into source rates.
    """

    options: Options
    traces: tuple[TraceInfo, ...]
    pools: tuple[PoolFit, ...]
    regions: tuple[PoolFit, ...]
    pooled: PooledFit
    correlation: Correlation | None
    all_down: tuple[AllDown, ...]
    sets: tuple[tuple[str, ...], ...]
    risk: RiskEstimate
    source_share: float = field(default=1.0)


def pool_key(trace: ZoneTrace) -> PoolKey:
    """The pool of a trace: unknown parts are empty text."""
    return PoolKey(trace.cloud or "", trace.region, trace.zone, trace.instance or "")


def _set_key(trace: ZoneTrace) -> tuple[str, float, str]:
    start = trace.start.isoformat() if trace.start else ""
    return str(PurePath(trace.source).parent), trace.gap_seconds, start


def _finite(value: Interval) -> Interval | None:
    return value if math.isfinite(value.value) else None


def calibrate(traces: Sequence[ZoneTrace], options: Options | None = None) -> Calibration:
    """Fit the engine's parameters from ``traces``.

    Raises
    ------
    ValueError
        When no trace has two ticks or more.
    """
    opts = options or Options()
    usable = [t for t in traces if t.counts.size >= 2]
    if not usable:
        raise ValueError("no trace has two ticks or more")
    by_pool: dict[PoolKey, list[SeriesEvents]] = {}
    by_region: dict[PoolKey, list[SeriesEvents]] = {}
    infos = []
    for t in usable:
        events = series_events(
            t.counts, t.gap_seconds, t.capacity, opts.bulk_threshold, seed=opts.seed
        )
        key = pool_key(t)
        by_pool.setdefault(key, []).append(events)
        by_region.setdefault(PoolKey(key.cloud, key.region, "", key.instance), []).append(events)
        infos.append(
            TraceInfo(
                t.name,
                t.source,
                key,
                t.capacity,
                t.gap_seconds,
                int(t.counts.size),
                t.duration_hours,
                t.start,
            )
        )
    keys = sorted(by_pool)
    pools = tuple(fit_pool(k, by_pool[k], opts.confidence) for k in keys)
    regions = tuple(
        fit_pool(k, by_region[k], opts.confidence, lifetimes=False) for k in sorted(by_region)
    )
    pooled = fit_pooled(pools, [by_pool[k] for k in keys], opts.confidence)
    sets, labels = aligned_sets(usable, opts)
    correlation = (
        fit_correlation(
            sets,
            window_ticks=opts.window_ticks,
            confidence=opts.confidence,
            replicates=opts.replicates,
            block_hours=opts.block_hours,
            seed=opts.seed,
        )
        if sets
        else None
    )
    share = correlation.source_share if correlation else 1.0
    rate = pooled.strike_rate
    risk = RiskEstimate(
        bulk_reclaims_per_month=_finite(rate.scaled(HOURS_PER_MONTH * share)),
        bulk_fraction=_finite(pooled.share),
        stockout_hours=_finite(pooled.stockout.stockout_hours),
        zone_correlation=correlation.zone if correlation else None,
        region_correlation=correlation.region if correlation else None,
    )
    return Calibration(
        options=opts,
        traces=tuple(infos),
        pools=pools,
        regions=regions,
        pooled=pooled,
        correlation=correlation,
        all_down=tuple(a for s in sets for a in all_down(s)),
        sets=labels,
        risk=risk,
        source_share=share,
    )


def aligned_sets(
    traces: Sequence[ZoneTrace], opts: Options
) -> tuple[list[AlignedSet], tuple[tuple[str, ...], ...]]:
    """Aligned sets of two or more series, cut to their common length."""
    groups: dict[tuple[str, float, str], list[ZoneTrace]] = {}
    for t in traces:
        groups.setdefault(_set_key(t), []).append(t)
    sets: list[AlignedSet] = []
    labels: list[tuple[str, ...]] = []
    for members in groups.values():
        if len(members) < 2:
            continue
        length = min(t.counts.size for t in members)
        counts = [t.counts[:length] for t in members]
        events = [
            series_events(c, t.gap_seconds, t.capacity, opts.bulk_threshold, seed=opts.seed)
            for c, t in zip(counts, members, strict=True)
        ]
        names = [pool_key(t).label for t in members]
        sets.append(
            aligned_set(names, [t.region for t in members], events, counts, opts.window_ticks)
        )
        labels.append(tuple(names))
    return sets, tuple(labels)
