"""Rows of the tables ``calibrate`` prints (plain strings; the command renders them)."""

from __future__ import annotations

import math

from spotadvisor.bands import HOURS_PER_MONTH
from spotadvisor.calibrate.report import duration_text
from spotadvisor.calibrate.run import Calibration
from spotadvisor.calibrate.stats import Interval
from spotadvisor.config import DEFAULT_RISK

POOL_HEADERS = (
    "Pool",
    "Hours",
    "Cap.",
    "Lost",
    "λ outside strikes /inst-month",
    "Strikes /pool-month",
    "Share per strike",
    "Stock-out s",
    "Down",
    "Weibull k",
)
RISK_HEADERS = ("risk: key", "Fitted", "CI", "Provisional default")
TEST_HEADERS = ("Test", "Result", "Reading")
DOWN_HEADERS = ("Group", "Series", "Hours", "All down", "If independent", "Ratio")


def _g(x: float, digits: int = 3) -> str:
    return "-" if not math.isfinite(x) else f"{x:.{digits}g}"


def _ci(i: Interval | None, digits: int = 3) -> str:
    if i is None or not math.isfinite(i.value):
        return "-"
    if not (math.isfinite(i.low) and math.isfinite(i.high)):
        return _g(i.value, digits)
    return f"{_g(i.value, digits)} ({_g(i.low, digits)}-{_g(i.high, digits)})"


def _hours_ci(i: Interval | None) -> str:
    if i is None or not math.isfinite(i.value):
        return "-"
    if not (math.isfinite(i.low) and math.isfinite(i.high)):
        return duration_text(i.value)
    return f"{duration_text(i.value)} ({duration_text(i.low)}-{duration_text(i.high)})"


def pool_rows(cal: Calibration) -> list[list[str]]:
    """One row per zone pool."""
    rows = []
    for f in cal.pools:
        k = f.weibull.shape if f.weibull else None
        rows.append(
            [
                f.key.label,
                f"{f.hours:.0f}",
                str(f.capacity),
                str(f.total.events),
                _ci(f.independent.monthly_rate),
                _ci(f.strike_rate.scaled(HOURS_PER_MONTH)) if f.strike_exposure_hours else "-",
                _ci(f.share, 2) if f.capacity >= 2 else "1 (1 node)" if f.strikes else "-",
                _hours_ci(f.stockout.stockout_hours),
                f"{100 * f.down_fraction:.0f}%",
                _ci(k, 2),
            ]
        )
    return rows


def risk_rows(cal: Calibration) -> list[list[str]]:
    """The ``risk:`` values against the provisional defaults of docs/model.md."""
    r, d = cal.risk, DEFAULT_RISK
    out = []
    for key, value, default, hours in (
        ("bulk_reclaims_per_month", r.bulk_reclaims_per_month, d.bulk_reclaims_per_month, False),
        ("bulk_fraction", r.bulk_fraction, d.bulk_fraction, False),
        ("stockout", r.stockout_hours, d.stockout_hours, True),
        ("zone_correlation", r.zone_correlation, d.zone_correlation, False),
        ("region_correlation", r.region_correlation, d.region_correlation, False),
    ):
        if value is None:
            out.append([key, "not identified", "-", _fmt_default(default, hours)])
            continue
        text = _hours_ci(value) if hours else _ci(_clean(value))
        fitted, _, interval = text.partition(" (")
        out.append([key, fitted, interval.rstrip(")") or "-", _fmt_default(default, hours)])
    return out


def _clean(i: Interval) -> Interval:
    """Round away float noise such as 3e-11 (a correlation fitted at its bound of 0)."""
    return Interval(*(round(x, 4) if math.isfinite(x) else x for x in (i.value, i.low, i.high)))


def _fmt_default(value: float, hours: bool) -> str:
    return duration_text(value) if hours else f"{value:g}"


def test_rows(cal: Calibration) -> list[list[str]]:
    """Dispersion, lifetime tail and coincidence."""
    p = cal.pooled
    rows = []
    for name, d in (
        ("hazard dispersion", p.hazard_dispersion),
        ("strike-rate dispersion", p.strike_dispersion),
    ):
        if math.isnan(d.statistic):
            continue
        verdict = (
            "pools differ" if d.p_value < 1 - cal.options.confidence else "consistent with one rate"
        )
        rows.append([name, f"χ² = {d.statistic:.1f} on {d.df} df, p = {d.p_value:.2g}", verdict])
    if p.weibull is not None:
        w = p.weibull
        verdict = "heavier-tailed than exponential" if w.heavier_tail else "no heavier tail shown"
        rows.append(
            [
                "lifetimes: Weibull shape k",
                f"{_ci(w.shape, 3)} on {w.lifetimes} lives; p(k = 1) = {w.p_value:.2g}",
                verdict,
            ]
        )
    whole = p.whole_pool
    if whole.of:
        rows.append(
            [
                "strikes that took the whole pool",
                f"{100 * whole.measured:.0f}% of {whole.of}",
                f"the engine's Beta(4) share gives {100 * whole.engine:.0f}% at the same mean",
            ]
        )
    c = cal.correlation
    if c is not None:
        rows.append(
            [
                "strikes matched in another zone",
                f"same region {_g(c.coincident_share_same, 2)}, other region {_g(c.coincident_share_cross, 2)}",
                "chance-corrected share (coincident correlation "
                f"{_ci(_clean(c.zone_coincident), 2) if c.zone_coincident else '-'} / "
                f"{_ci(_clean(c.region_coincident), 2) if c.region_coincident else '-'})",
            ]
        )
    return rows


def down_rows(cal: Calibration) -> list[list[str]]:
    """All-down shares against independence."""
    return [
        [
            a.name,
            ", ".join(label.split(" ")[1] if " " in label else label for label in a.labels),
            f"{a.hours:.0f}",
            f"{100 * a.measured:.3g}%",
            f"{100 * a.independent:.3g}%",
            "-" if not math.isfinite(a.ratio) else f"{a.ratio:.3g}x",
        ]
        for a in cal.all_down
    ]
