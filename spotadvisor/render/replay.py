"""Replay results as rows, a JSON document and Markdown (the CLI renders them)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from spotadvisor.render.escape import markdown_text
from spotadvisor.replay.run import FleetReplay, PolicyResult

TABLE_HEADERS = (
    "Fleet",
    "Policy",
    "Availability",
    "Worst window",
    "Cost vs on-demand",
    "Preemptions / spot replica-month",
    "On-demand share",
)
"""Columns of the terminal and Markdown tables."""

CSV_COLUMNS = (
    "fleet",
    "zones",
    "policy",
    "windows",
    "window_hours",
    "availability_mean",
    "availability_sd",
    "availability_min",
    "cost_vs_on_demand_mean",
    "cost_vs_on_demand_sd",
    "preemptions_per_spot_replica_month",
    "on_demand_share_mean",
    "outages_per_window_mean",
)


def _mean(values: npt.NDArray[np.float64]) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else math.nan


def _sd(values: npt.NDArray[np.float64]) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.std(ddof=1)) if finite.size > 1 else 0.0


def _stats(values: npt.NDArray[np.float64]) -> dict[str, Any]:
    """Mean, sample sd, min, max and the per-window values (NaN -> null)."""

    def plain(x: float) -> float | None:
        return None if math.isnan(x) else round(x, 6)

    finite = values[np.isfinite(values)]
    return {
        "mean": plain(_mean(values)),
        "sd": plain(_sd(values)),
        "min": plain(float(finite.min())) if finite.size else None,
        "max": plain(float(finite.max())) if finite.size else None,
        "values": [plain(float(x)) for x in values],
    }


def _pct(x: float, sd: float | None = None) -> str:
    if math.isnan(x):
        return "-"
    text = f"{100 * x:.2f}%"
    return f"{text} ± {100 * sd:.2f}" if sd is not None else text


def policy_cells(result: PolicyResult) -> list[str]:
    """Table cells of one policy, after the fleet name."""
    rate = _mean(result.preemptions_per_month)
    return [
        result.policy,
        _pct(_mean(result.availability), _sd(result.availability)),
        _pct(float(result.availability.min())),
        _pct(_mean(result.cost), _sd(result.cost)),
        "-" if math.isnan(rate) else f"{rate:.1f}",
        _pct(_mean(result.on_demand_share)),
    ]


def table_rows(replays: Sequence[FleetReplay]) -> list[list[str]]:
    """One row per fleet and policy, the fleet named on its first row only."""
    rows = []
    for replay in replays:
        for i, result in enumerate(replay.results):
            rows.append([replay.fleet.label if i == 0 else "", *policy_cells(result)])
    return rows


def markdown(replays: Sequence[FleetReplay]) -> str:
    """A GitHub Markdown table of every fleet and policy."""
    lines = [
        "| " + " | ".join(TABLE_HEADERS) + " |",
        "|" + "---|" * 2 + "---:|" * (len(TABLE_HEADERS) - 2),
    ]
    for replay in replays:
        for result in replay.results:
            cells = [replay.fleet.label, *policy_cells(result)]
            lines.append("| " + " | ".join(markdown_text(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def csv_records(replays: Sequence[FleetReplay]) -> list[dict[str, Any]]:
    """One flat record per fleet and policy, keys :data:`CSV_COLUMNS`."""
    records = []
    for replay in replays:
        for r in replay.results:
            records.append(
                {
                    "fleet": replay.fleet.label,
                    "zones": " ".join(t.label for t in replay.fleet.traces),
                    "policy": r.policy,
                    "windows": len(replay.starts),
                    "window_hours": round(replay.window_hours, 6),
                    "availability_mean": _mean(r.availability),
                    "availability_sd": _sd(r.availability),
                    "availability_min": float(r.availability.min()),
                    "cost_vs_on_demand_mean": _mean(r.cost),
                    "cost_vs_on_demand_sd": _sd(r.cost),
                    "preemptions_per_spot_replica_month": _mean(r.preemptions_per_month),
                    "on_demand_share_mean": _mean(r.on_demand_share),
                    "outages_per_window_mean": _mean(r.outages),
                }
            )
    return records


def document(replays: Sequence[FleetReplay], ratio_basis: Sequence[str]) -> dict[str, Any]:
    """The JSON document: settings, and per fleet its zones and per-policy metrics."""
    fleets = []
    for replay, basis in zip(replays, ratio_basis, strict=True):
        c = replay.config
        fleets.append(
            {
                "fleet": replay.fleet.label,
                "instance": replay.fleet.instance,
                "zones": [
                    {
                        "name": t.name,
                        "zone": t.zone,
                        "region": t.region,
                        "cloud": t.cloud,
                        "capacity": t.capacity,
                        "source": t.source,
                    }
                    for t in replay.fleet.traces
                ],
                "gap_seconds": replay.fleet.gap_seconds,
                "span_hours": round(replay.fleet.hours, 6),
                "window_hours": round(replay.window_hours, 6),
                "window_start_ticks": list(replay.starts),
                "spot_price_ratio": round(c.spot_price_ratio, 6),
                "spot_price_ratio_basis": basis,
                "policies": [
                    {
                        "policy": r.policy,
                        "availability": _stats(r.availability),
                        "cost_vs_on_demand": _stats(r.cost),
                        "preemptions_per_spot_replica_month": _stats(r.preemptions_per_month),
                        "on_demand_share": _stats(r.on_demand_share),
                        "outages_per_window": _stats(r.outages),
                        "preemptions_per_window": _stats(r.preemptions),
                    }
                    for r in replay.results
                ],
            }
        )
    first = replays[0].config if replays else None
    settings = (
        {
            "replicas": first.replicas,
            "overprovision": first.overprovision,
            "on_demand_replicas": first.on_demand_replicas,
            "cold_start_seconds": first.cold_start_seconds,
            "fallback_after_seconds": first.fallback_after_seconds,
        }
        if first
        else {}
    )
    return {"settings": settings, "fleets": fleets}
