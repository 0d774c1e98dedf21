"""The price backtest as rows, a JSON document and Markdown."""

from __future__ import annotations

from typing import Any

from spotadvisor.render.values import plain
from spotadvisor.replay.backtest import Backtest
from spotadvisor.sim.results import Metrics

POOL_HEADERS = ["Pool", "Zone", "At start", "Mean", "Low", "High", "Changes"]
RUN_HEADERS = ["Run", "Cost (USD)", "± s.e.", "Availability", "Interruptions"]


def pool_rows(result: Backtest) -> list[list[str]]:
    """One row per spot pool: its prices over the window [USD/h per instance].

    A zone taken from the region's series (the pool's own zone has none) is marked
    "(region)"; the stderr note says why.
    """
    return [
        [
            p.name,
            f"{p.zone} (region)" if p.note else p.zone,
            f"{p.at_start:.4f}",
            f"{p.mean:.4f}",
            f"{p.low:.4f}",
            f"{p.high:.4f}",
            str(p.changes),
        ]
        for p in result.pools
    ]


def run_rows(result: Backtest) -> list[list[str]]:
    """The forecast (prices frozen at the start) and the outcome (prices as they were)."""

    def row(label: str, m: Metrics) -> list[str]:
        return [
            label,
            f"{m.cost_mean.value:,.2f}",
            f"{m.cost_mean.stderr:,.2f}",
            f"{100 * m.availability_mean.value:.3f}%",
            f"{m.interruptions_mean.value:.2f}",
        ]

    return [row("forecast at start", result.forecast), row("prices as they were", result.outcome)]


def verdict(result: Backtest) -> str:
    """One sentence: how far the forecast was from the outcome."""
    error = result.cost_error
    if error == 0:
        how = "matched the outcome"
    else:
        how = f"was {abs(100 * error):.2f}% {'high' if error > 0 else 'low'}"
    return (
        f"{result.start:%Y-%m-%d %H:%M} to {result.end:%Y-%m-%d %H:%M} UTC "
        f"({result.hours:g} h): the forecast made at the start {how} "
        f"({result.forecast.cost_mean.value:,.2f} vs "
        f"{result.outcome.cost_mean.value:,.2f} USD); same seed and trials, so the "
        "difference is the price movement alone"
    )


def document(result: Backtest) -> dict[str, Any]:
    """The backtest as a JSON-safe document."""

    def run(m: Metrics) -> dict[str, Any]:
        return {
            "cost_mean": m.cost_mean.value,
            "cost_stderr": m.cost_mean.stderr,
            "availability_mean": m.availability_mean.value,
            "interruptions_mean": m.interruptions_mean.value,
            "trials": m.trials,
        }

    return {
        "from": result.start.isoformat(),
        "to": result.end.isoformat(),
        "hours": result.hours,
        "pools": [
            {
                "name": p.name,
                "zone": p.zone,
                "price_at_start": p.at_start,
                "price_mean": p.mean,
                "price_low": p.low,
                "price_high": p.high,
                "price_changes": p.changes,
                "note": p.note,
            }
            for p in result.pools
        ],
        "forecast": run(result.forecast),
        "outcome": run(result.outcome),
        "cost_error": plain(result.cost_error),
    }
