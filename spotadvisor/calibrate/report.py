"""A :class:`~spotadvisor.calibrate.run.Calibration` as plain data: file blocks and table rows.

Pure: numbers in, dicts and strings out. Values are rounded to 4 significant digits,
durations written as fleet files write them (``1h26m``).
"""

from __future__ import annotations

import math
from typing import Any

from spotadvisor.bands import HOURS_PER_MONTH
from spotadvisor.calibrate.fit import Hazard, PoolFit
from spotadvisor.calibrate.run import Calibration
from spotadvisor.calibrate.stats import Dispersion, Interval
from spotadvisor.calibrate.weibull import WeibullFit

DIGITS = 4


def num(x: float) -> float | None:
    """``x`` to 4 significant digits; None for NaN or infinity (YAML null)."""
    if x is None or not math.isfinite(x):
        return None
    return float(f"{x:.{DIGITS}g}")


def ci(interval: Interval | None) -> list[float | None] | None:
    """``[low, high]`` rounded, or None."""
    return None if interval is None else [num(interval.low), num(interval.high)]


def share(x: float) -> float | None:
    """A probability in [0, 1] to 4 decimals (correlations: 1e-9 is 0); None for NaN."""
    if not math.isfinite(x):
        return None
    return round(min(max(x, 0.0), 1.0), DIGITS)


def share_ci(interval: Interval | None) -> list[float | None] | None:
    """``[low, high]`` of a probability to 4 decimals, or None."""
    return None if interval is None else [share(interval.low), share(interval.high)]


def duration_text(hours: float) -> str:
    """A duration fleet files accept: ``1h26m``, ``25m``, ``40s``, ``0s``.

    To the minute from 10 minutes up (the fits are not finer than that), else to the second.
    """
    seconds = round(hours * 3600.0) if math.isfinite(hours) else 0
    if seconds >= 600:
        seconds = 60 * round(seconds / 60)
    parts = []
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"


def _duration_ci(interval: Interval | None) -> list[str] | None:
    if interval is None or not (math.isfinite(interval.low) and math.isfinite(interval.high)):
        return None
    return [duration_text(interval.low), duration_text(interval.high)]


def risk_blocks(cal: Calibration) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``risk:`` block (fitted values the engine reads) and ``risk_ci:`` (intervals)."""
    r = cal.risk
    risk: dict[str, Any] = {}
    cis: dict[str, Any] = {}
    if r.bulk_reclaims_per_month is not None:
        risk["bulk_reclaims_per_month"] = num(r.bulk_reclaims_per_month.value)
        cis["bulk_reclaims_per_month"] = ci(r.bulk_reclaims_per_month)
    if r.bulk_fraction is not None:
        risk["bulk_fraction"] = num(min(max(r.bulk_fraction.value, 0.0), 1.0))
        cis["bulk_fraction"] = ci(r.bulk_fraction)
    if r.stockout_hours is not None:
        risk["stockout"] = duration_text(r.stockout_hours.value)
        cis["stockout"] = _duration_ci(r.stockout_hours)
    for key, value in (
        ("zone_correlation", r.zone_correlation),
        ("region_correlation", r.region_correlation),
    ):
        if value is not None:
            risk[key] = share(value.value)
            cis[key] = share_ci(value)
    return risk, cis


def _pool_entry(fit: PoolFit, share: float) -> dict[str, Any] | None:
    """One ``pools:`` entry, or None for a pool never alive (nothing to fit)."""
    if fit.total.exposure_hours <= 0.0:
        return None
    entry: dict[str, Any] = {"cloud": fit.key.cloud, "region": fit.key.region}
    if fit.key.zone:
        entry["zone"] = fit.key.zone
    entry["instance"] = fit.key.instance
    entry["interruption"] = {"monthly_rate": num(fit.independent.monthly_rate.value)}
    risk: dict[str, Any] = {}
    cis: dict[str, Any] = {"monthly_rate": ci(fit.independent.monthly_rate)}
    if fit.strike_exposure_hours > 0:
        beta = fit.strike_rate.scaled(HOURS_PER_MONTH * share)
        risk["bulk_reclaims_per_month"] = num(beta.value)
        cis["bulk_reclaims_per_month"] = ci(beta)
    if fit.capacity >= 2 and fit.strikes > 0:
        risk["bulk_fraction"] = num(fit.share.value)
        cis["bulk_fraction"] = ci(fit.share)
    stockout = fit.stockout.stockout_hours
    if math.isfinite(stockout.value):
        risk["stockout"] = duration_text(stockout.value)
        cis["stockout"] = _duration_ci(stockout)
    if risk:
        entry["risk"] = risk
    entry["ci"] = cis
    entry["observed"] = _observed(fit)
    return entry


def _observed(fit: PoolFit) -> dict[str, Any]:
    return {
        "series": fit.series,
        "hours": num(fit.hours),
        "capacity": fit.capacity,
        "units_lost": fit.total.events,
        "units_lost_outside_strikes": fit.independent.events,
        "instance_hours": num(fit.total.exposure_hours),
        "strikes": fit.strikes,
        "monthly_probability": num(fit.independent.monthly_probability.value),
        "monthly_probability_all_drops": num(fit.total.monthly_probability.value),
        "share_quantiles_10_50_90": [num(q) for q in fit.share_quantiles],
        "strikes_taking_whole_pool": num(fit.whole_pool.measured),
        "block_mean_hours": num(fit.stockout.block_mean.value),
        "zero_run_mean_hours": num(fit.zero_runs.mean.value),
        "down_fraction": num(fit.down_fraction),
    }


def pool_entries(cal: Calibration) -> list[dict[str, Any]]:
    """Per-zone entries, then region-level ones (zones pooled; AWS fleet files name zone
    IDs, which traces never do, so only these can match them)."""
    entries = [_pool_entry(f, cal.source_share) for f in (*cal.pools, *cal.regions)]
    return [e for e in entries if e is not None]


def _hazard(h: Hazard) -> dict[str, Any]:
    return {
        "units_lost": h.events,
        "instance_hours": num(h.exposure_hours),
        "rate_per_hour": num(h.rate.value),
        "rate_per_hour_ci": ci(h.rate),
        "monthly_rate": num(h.monthly_rate.value),
        "monthly_rate_ci": ci(h.monthly_rate),
        "monthly_probability": num(h.monthly_probability.value),
        "monthly_probability_ci": ci(h.monthly_probability),
    }


def _dispersion(d: Dispersion) -> dict[str, Any]:
    return {"chi2": num(d.statistic), "df": d.df, "p_value": num(d.p_value)}


def _weibull(w: WeibullFit | None) -> dict[str, Any] | None:
    if w is None:
        return None
    return {
        "lifetimes": w.lifetimes,
        "ended": w.ended,
        "shape": num(w.shape.value),
        "shape_ci": ci(w.shape),
        "scale_hours": num(w.scale_hours),
        "exponential_mean_hours": num(w.exponential_mean_hours),
        "naive_lr_statistic": num(w.lr_statistic),
        "robust_p_value_shape_1": num(w.p_value),
        "heavier_tailed_than_exponential": w.heavier_tail,
    }


def fit_block(cal: Calibration) -> dict[str, Any]:
    """Intervals, tests and rules behind the values (``fit:``)."""
    p, o = cal.pooled, cal.options
    st = p.stockout
    block: dict[str, Any] = {
        "confidence": o.confidence,
        "bulk_threshold_units": o.bulk_threshold,
        "coincidence_window_ticks": o.window_ticks,
        "pools": p.pools,
        "hazard_all_drops": _hazard(p.total),
        "hazard_outside_strikes": _hazard(p.independent),
        "hazard_dispersion": _dispersion(p.hazard_dispersion),
        "strikes": {
            "rate_per_pool_month": num(p.strike_rate.value * HOURS_PER_MONTH),
            "rate_per_pool_month_ci": ci(p.strike_rate.scaled(HOURS_PER_MONTH)),
            "source_share": num(cal.source_share),
            "dispersion": _dispersion(p.strike_dispersion),
        },
        "bulk_fraction": {
            "mean": num(p.share.value),
            "ci": ci(p.share),
            "strikes_taking_whole_pool": num(p.whole_pool.measured),
            "engine_whole_pool_at_this_mean": num(p.whole_pool.engine),
        },
        "stockout": {
            "blocks": st.blocks.count,
            "block_mean_hours": num(st.block_mean.value),
            "block_mean_hours_ci": ci(st.block_mean),
            "block_median_hours": num(st.blocks.median),
            "block_p90_hours": num(st.blocks.p90),
            "block_cv": num(st.blocks.cv),
            "engine_stockout_hours": num(st.stockout_hours.value),
            "engine_stockout_hours_ci": ci(st.stockout_hours),
            "zero_runs": p.zero_runs.count,
            "zero_run_mean_hours": num(p.zero_runs.mean.value),
            "zero_run_mean_hours_ci": ci(p.zero_runs.mean),
            "zero_run_median_hours": num(p.zero_runs.median),
            "zero_run_p90_hours": num(p.zero_runs.p90),
        },
        "lifetimes": _weibull(p.weibull),
    }
    c = cal.correlation
    if c is not None:
        block["correlation"] = {
            "zone_correlation": share(c.zone.value) if c.zone else None,
            "zone_correlation_ci": share_ci(c.zone),
            "region_correlation": share(c.region.value) if c.region else None,
            "region_correlation_ci": share_ci(c.region),
            "method": "joint stock-out time (docs/calibrate.md)",
            "coincident_zone_correlation": share(c.zone_coincident.value)
            if c.zone_coincident
            else None,
            "coincident_zone_correlation_ci": share_ci(c.zone_coincident),
            "coincident_region_correlation": share(c.region_coincident.value)
            if c.region_coincident
            else None,
            "coincident_region_correlation_ci": share_ci(c.region_coincident),
            "coincident_share_same_region": num(c.coincident_share_same),
            "coincident_share_other_region": num(c.coincident_share_cross),
            "ordered_pairs_same_region": c.pairs_same,
            "ordered_pairs_other_region": c.pairs_cross,
            "bootstrap": {"replicates": o.replicates, "block_hours": o.block_hours, "seed": o.seed},
        }
    block["all_zones_down"] = [
        {
            "group": a.name,
            "series": list(a.labels),
            "hours": num(a.hours),
            "measured": num(a.measured),
            "independent": num(a.independent),
            "ratio": num(a.ratio),
        }
        for a in cal.all_down
    ]
    return block


def provenance_block(cal: Calibration, *, fitted_at: str, version: str) -> dict[str, Any]:
    """Trace files, spans, when and with what the fit was made."""
    return {
        "fitted_at": fitted_at,
        "spotadvisor_version": version,
        "traces": [
            {
                "file": t.source,
                "pool": t.pool.label,
                "capacity": t.capacity,
                "gap_seconds": t.gap_seconds,
                "ticks": t.ticks,
                "hours": num(t.hours),
                "start": t.start.isoformat() if t.start else None,
            }
            for t in cal.traces
        ],
    }
