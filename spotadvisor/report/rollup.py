"""Pure rollups of the spend cube (see :func:`spotadvisor.report.sql.cube_sql`).

Every function takes the cube as a DataFrame and returns plain numbers or frames; no
queries, no I/O, so each is tested on hand-made cubes.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from spotadvisor.report.model import BREAKDOWN_COLUMNS, MARKETS, Headline, Savings
from spotadvisor.report.period import Month

GpuCount = Callable[[str, str], float | None]
OnDemandPrice = Callable[[str, str, str], float | None]

_SUMS = (
    "cost",
    "list_cost",
    "cost_without_list",
    "hours_without_list",
    "instance_hours",
    "gpu_sku_hours",
    "line_count",
)


def normalise(cube: pd.DataFrame, tags: int) -> pd.DataFrame:
    """The cube with NULL sums as 0 and key columns as objects (None for NULL)."""
    out = cube.copy()
    for name in _SUMS:
        out[name] = pd.to_numeric(out[name], errors="coerce").fillna(0.0).astype(float)
    out["week"] = pd.to_numeric(out["week"], errors="coerce").fillna(1).astype(int)
    for name in ("provider", "region_id", "instance_type", "market", "currency"):
        out[name] = out[name].astype(object).where(out[name].notna(), None)
    for i in range(tags):
        column = f"tag_{i}"
        out[column] = out[column].astype(object).where(out[column].notna(), None)
    out["spot_tagged"] = out["spot_tagged"].astype(object).where(out["spot_tagged"].notna(), None)
    return out


def spend_by_currency(cube: pd.DataFrame) -> dict[str, float]:
    """This month's spend per currency, largest first (USD alone when there is none)."""
    current = cube[cube["period"] == "current"]
    by = current.groupby("currency")["cost"].sum()
    if by.empty:
        return {"USD": 0.0}
    order = by.abs().sort_values(ascending=False, kind="stable").index
    return {str(code): float(by[code]) for code in order}


def add_usage(cube: pd.DataFrame, gpus: GpuCount, price: OnDemandPrice | None) -> pd.DataFrame:
    """Add ``gpu_hours``, ``on_demand_equivalent``, ``estimated`` and ``unpriced``.

    Parameters
    ----------
    cube
        A normalised cube in one currency.
    gpus
        GPUs per instance of (provider, instance type), None when not a GPU instance.
    price
        Public on-demand price [currency/h] of (provider, region, instance type), used
        where the export has no list cost; None when no catalog is in this currency.
    """
    out = cube.copy()
    per_instance = np.asarray(
        [
            (gpus(p, t) or 0.0) if p and t else 0.0
            for p, t in zip(out["provider"], out["instance_type"], strict=True)
        ],
        dtype=float,
    )
    # GCP bills a GPU machine as cores, memory and GPUs on separate SKUs; only the GPU
    # SKU's hours count, so machine hours are GPU hours over GPUs per machine.
    gcp = (out["provider"] == "gcp").to_numpy()
    machine_hours = np.divide(
        out["gpu_sku_hours"].to_numpy(),
        per_instance,
        out=np.zeros(len(out)),
        where=per_instance > 0,
    )
    out["instance_hours"] = np.where(gcp, machine_hours, out["instance_hours"])
    out["gpu_hours"] = np.where(gcp, 0.0, out["instance_hours"] * per_instance)
    out["gpu_hours"] += out["gpu_sku_hours"]
    # Hours to price at catalog rates: instance lines without a list cost; for GCP the
    # whole group when it has no list cost at all.
    unlisted = np.where(
        gcp,
        np.where((out["cost_without_list"] != 0) & (out["list_cost"] == 0), machine_hours, 0.0),
        out["hours_without_list"],
    )
    prices = [
        (price(p, r, t) if price and p and r and t and h > 0 else None)
        for p, r, t, h in zip(
            out["provider"], out["region_id"], out["instance_type"], unlisted, strict=True
        )
    ]
    rate = np.asarray([np.nan if v is None else v for v in prices], dtype=float)
    estimated = np.where(np.isnan(rate), 0.0, unlisted * np.nan_to_num(rate))
    unpriced = np.where(np.isnan(rate), out["cost_without_list"], 0.0)
    out["estimated"] = estimated
    out["unpriced"] = unpriced
    out["on_demand_equivalent"] = out["list_cost"] + estimated + unpriced
    return out


def headline(cube: pd.DataFrame) -> Headline:
    """Totals of the month from a cube with usage added."""
    current = cube[cube["period"] == "current"]
    previous = cube[cube["period"] == "previous"]
    spot = current[current["market"] == "spot"]
    return Headline(
        cost=float(current["cost"].sum()),
        previous_cost=float(previous["cost"].sum()) if not previous.empty else None,
        instance_hours=float(current["instance_hours"].sum()),
        spot_instance_hours=float(spot["instance_hours"].sum()),
        gpu_hours=float(current["gpu_hours"].sum()),
        spot_gpu_hours=float(spot["gpu_hours"].sum()),
        spot_cost=float(spot["cost"].sum()),
    )


def breakdown(cube: pd.DataFrame, key: str, *, missing: str = "(none)") -> pd.DataFrame:
    """Spend by ``key`` this month and last, with GPU hours and spot shares.

    Returns
    -------
    pandas.DataFrame
        :data:`~spotadvisor.report.model.BREAKDOWN_COLUMNS`, most spend first.
    """
    frame = cube.assign(key=cube[key].astype(object).where(cube[key].notna(), missing))
    frame = frame.assign(
        spot_gpu_hours=np.where(frame["market"] == "spot", frame["gpu_hours"], 0.0),
        spot_instance_hours=np.where(frame["market"] == "spot", frame["instance_hours"], 0.0),
        spot_cost=np.where(frame["market"] == "spot", frame["cost"], 0.0),
    )
    current = frame[frame["period"] == "current"].groupby("key")
    sums = current[
        [
            "cost",
            "gpu_hours",
            "spot_gpu_hours",
            "instance_hours",
            "spot_instance_hours",
            "spot_cost",
        ]
    ].sum()
    before = frame[frame["period"] == "previous"].groupby("key")["cost"].sum()
    has_previous = bool((frame["period"] == "previous").any())
    out = sums.reindex(sums.index.union(before.index), fill_value=0.0)
    out["previous_cost"] = before.reindex(out.index).fillna(0.0) if has_previous else np.nan
    total = float(out["cost"].sum())
    out["share"] = out["cost"] / total if total else np.nan
    out["change"] = np.where(
        out["previous_cost"] > 0,
        out["cost"] / out["previous_cost"].where(lambda s: s > 0) - 1,
        np.nan,
    )
    gpu = out["gpu_hours"] > 0
    hours_share = np.where(
        gpu,
        out["spot_gpu_hours"] / out["gpu_hours"].where(gpu),
        out["spot_instance_hours"] / out["instance_hours"].where(out["instance_hours"] > 0),
    )
    out["spot_hours_share"] = hours_share
    out["spot_cost_share"] = out["spot_cost"] / out["cost"].where(out["cost"] > 0)
    out = out.reset_index(names="key")
    out = out.sort_values(["cost", "key"], ascending=[False, True], kind="stable")
    return out[list(BREAKDOWN_COLUMNS)].reset_index(drop=True)


def weekly(cube: pd.DataFrame, month: Month) -> pd.DataFrame:
    """Spend per week of ``month`` (rows) and market (columns :data:`MARKETS`)."""
    current = cube[cube["period"] == "current"]
    table = current.pivot_table(
        index="week", columns="market", values="cost", aggfunc="sum", fill_value=0.0
    )
    table = table.reindex(index=list(month.weeks), columns=list(MARKETS), fill_value=0.0)
    table = table.astype(float)
    table.insert(0, "label", [month.week_label(w) for w in table.index])
    table.columns.name = None
    return table.reset_index(names="week")


def savings(cube: pd.DataFrame, left_on_table: float) -> Savings:
    """Realised savings of the month from a cube with usage added."""
    current = cube[cube["period"] == "current"]
    gap = current["on_demand_equivalent"] - current["cost"]
    spot = float(gap[current["market"] == "spot"].sum())
    committed = float(gap[current["market"] == "committed"].sum())
    total = float(current["on_demand_equivalent"].sum())
    actual = float(current["cost"].sum())
    return Savings(
        on_demand_equivalent=total,
        spot=spot,
        committed=committed,
        other=total - spot - committed - actual,
        actual=actual,
        left_on_table=left_on_table,
        estimated=float(current["estimated"].sum()),
        unpriced=float(current["unpriced"].sum()),
    )


def tag_coverage(cube: pd.DataFrame, tags: int) -> tuple[float, float, float, list[float]]:
    """This month's spend with all, some and none of the tags, and spend missing each."""
    current = cube[cube["period"] == "current"]
    if tags == 0:
        return float(current["cost"].sum()), 0.0, 0.0, []
    present = current[[f"tag_{i}" for i in range(tags)]].notna()
    count = present.sum(axis=1)
    cost = current["cost"]
    missing = [float(cost[~present[f"tag_{i}"]].sum()) for i in range(tags)]
    return (
        float(cost[count == tags].sum()),
        float(cost[(count > 0) & (count < tags)].sum()),
        float(cost[count == 0].sum()),
        missing,
    )


def spot_tag_mismatch(cube: pd.DataFrame) -> tuple[float, float]:
    """This month's spot spend without the spot tag, and tagged spend not on spot."""
    current = cube[cube["period"] == "current"]
    tagged = current["spot_tagged"].map(lambda v: bool(v) if v is not None else False)
    spot = current["market"] == "spot"
    return float(current["cost"][spot & ~tagged].sum()), float(
        current["cost"][~spot & tagged].sum()
    )


def on_demand_gpu_groups(cube: pd.DataFrame) -> pd.DataFrame:
    """On-demand GPU usage of the month by (provider, region, instance type), most cost first."""
    current = cube[
        (cube["period"] == "current") & (cube["market"] == "on-demand") & (cube["gpu_hours"] > 0)
    ]
    grouped = (
        current.dropna(subset=["provider", "region_id", "instance_type"])
        .groupby(["provider", "region_id", "instance_type"], as_index=False)[
            ["cost", "instance_hours", "gpu_hours"]
        ]
        .sum()
    )
    return grouped.sort_values(
        ["cost", "provider", "region_id", "instance_type"],
        ascending=[False, True, True, True],
        kind="stable",
    ).reset_index(drop=True)


def spot_hours(cube: pd.DataFrame) -> pd.DataFrame:
    """Spot instance hours of the month by (provider, region, instance type) [h]."""
    current = cube[(cube["period"] == "current") & (cube["market"] == "spot")]
    return (
        current.dropna(subset=["provider", "region_id", "instance_type"])
        .groupby(["provider", "region_id", "instance_type"], as_index=False)[["instance_hours"]]
        .sum()
    )
