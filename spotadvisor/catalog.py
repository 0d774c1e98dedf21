"""Pure queries over offers: the freshest row per pool, bands attached, filters, sorting.

Everything here takes DataFrames and returns DataFrames; nothing reads files or prints.
Unknown values stay NaN all the way through, so renderers can show them as unknown.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from spotadvisor.errors import UsageError, did_you_mean
from spotadvisor.gpus import parse_gpu_query
from spotadvisor.schema import CLOUDS

POOL = ["cloud", "region", "zone", "zone_id", "instance_type"]
SortKey = Literal["price", "savings", "band", "gpu-price", "region"]
SORT_KEYS: tuple[SortKey, ...] = ("price", "savings", "band", "gpu-price", "region")

# Derived columns of the offers view, beyond the canonical offers columns.
VIEW_EXTRA = [
    "price_on_demand_usd_per_gpu_hour",
    "price_spot_usd_per_gpu_hour",
    "savings_pct",
    "interruption_band_source",
    "interruption_band_as_of",
]


def latest_offers(offers: pd.DataFrame) -> pd.DataFrame:
    """One row per pool: the one with the newest ``as_of`` (ties broken by source name)."""
    if offers.empty:
        return offers.copy()
    ordered = offers.sort_values(["as_of", "source"], ascending=[False, True], kind="stable")
    keys = ordered[POOL].astype("string").fillna("\x00")  # group NaN keys together
    return ordered.loc[~keys.duplicated()].reset_index(drop=True)


def attach_bands(offers: pd.DataFrame, history: pd.DataFrame, *, os: str = "Linux") -> pd.DataFrame:
    """Fill missing interruption bands from the newest published band of each pool.

    Bands are published per cloud, region and instance type (not per zone), so every
    zone of a region gets the region's band. Adds ``interruption_band_source`` and
    ``interruption_band_as_of`` so outputs can say where a band came from.
    """
    out = offers.copy()
    out["interruption_band_source"] = pd.Series(pd.NA, index=out.index, dtype="string")
    out["interruption_band_as_of"] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[us, UTC]")
    has_band = out["interruption_band"].notna()
    out.loc[has_band, "interruption_band_source"] = out.loc[has_band, "source"]
    out.loc[has_band, "interruption_band_as_of"] = out.loc[has_band, "as_of"]
    if history.empty:
        return out
    newest = (
        history[history["os"] == os]
        .sort_values(["as_of", "source"], ascending=[False, True], kind="stable")
        .drop_duplicates(["cloud", "region", "instance_type"])
    )
    bands = newest.rename(
        columns={
            "interruption_band": "_label",
            "interruption_band_lower_pct": "_lower",
            "interruption_band_upper_pct": "_upper",
            "source": "_source",
            "as_of": "_as_of",
        }
    )[["cloud", "region", "instance_type", "_label", "_lower", "_upper", "_source", "_as_of"]]
    merged = out.merge(bands, on=["cloud", "region", "instance_type"], how="left")
    fill = merged["interruption_band"].isna() & merged["_label"].notna()
    for target, column in (
        ("interruption_band", "_label"),
        ("interruption_band_lower_pct", "_lower"),
        ("interruption_band_upper_pct", "_upper"),
        ("interruption_band_source", "_source"),
        ("interruption_band_as_of", "_as_of"),
    ):
        merged.loc[fill, target] = merged.loc[fill, column]
    return merged.drop(columns=["_label", "_lower", "_upper", "_source", "_as_of"])


def offers_view(offers: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """The offers users see: freshest row per pool, bands attached, per-GPU prices, savings."""
    view = attach_bands(latest_offers(offers), history)
    gpus = view["gpu_count"].where(view["gpu_count"] > 0)
    view["price_on_demand_usd_per_gpu_hour"] = view["price_on_demand_usd_per_hour"] / gpus
    view["price_spot_usd_per_gpu_hour"] = view["price_spot_usd_per_hour"] / gpus
    view["savings_pct"] = 100.0 * (
        1.0 - view["price_spot_usd_per_hour"] / view["price_on_demand_usd_per_hour"]
    )
    return view


@dataclass(frozen=True)
class GpuCount:
    """Allowed GPUs per instance: ``8`` (exactly), ``4+`` (at least), ``1-4`` (range)."""

    low: float
    high: float

    @classmethod
    def parse(cls, text: str) -> GpuCount:
        """Parse a ``--gpus`` value.

        Raises
        ------
        UsageError
            When the value is not a count, ``N+`` or ``N-M``.
        """
        value = text.strip()
        count = None
        try:
            if value.endswith("+"):
                count = cls(float(value[:-1]), np.inf)
            elif match := re.fullmatch(r"(\d+(?:\.\d+)?)\s*-\s*(\d+(?:\.\d+)?)", value):
                low, high = float(match.group(1)), float(match.group(2))
                count = cls(low, high) if low <= high else None
            else:
                count = cls(float(value), float(value))
        except ValueError:
            pass
        if count is not None and count.high >= 1:  # an instance has at least one GPU
            return count
        raise UsageError(
            f"{text!r} is not a GPU count",
            field="--gpus",
            fix="write 8 (exactly 8), 4+ (at least 4) or 1-4 (from 1 to 4)",
        )


@dataclass(frozen=True)
class OfferFilter:
    """What ``spotadvisor offers`` keeps. Empty sequences and None mean "any".

    Attributes
    ----------
    clouds
        Clouds to keep.
    gpu
        GPU model names as users write them (``A100``, ``a100-80gb``, ``H100``).
    gpus
        GPUs per instance.
    min_gpu_memory_gb
        Minimum memory per GPU [GB].
    regions, zones
        Glob patterns (``us-*``) matched case-insensitively; zones match name or ID.
    max_band_pct
        Highest interruption-band upper bound allowed [%/month]; unknown bands drop out.
    max_price
        Highest spot price allowed [USD/h]; offers with no known spot price drop out.
    spot_only
        Keep only offers with a known spot price.
    """

    clouds: Sequence[str] = ()
    gpu: Sequence[str] = ()
    gpus: GpuCount | None = None
    min_gpu_memory_gb: float | None = None
    regions: Sequence[str] = ()
    zones: Sequence[str] = ()
    max_band_pct: float | None = None
    max_price: float | None = None
    spot_only: bool = False


def filter_offers(view: pd.DataFrame, spec: OfferFilter) -> pd.DataFrame:
    """Rows of ``view`` that pass ``spec``.

    Raises
    ------
    UsageError
        For an unknown cloud or GPU, or a region / zone pattern that matches nothing in
        the data at all (with "did you mean").
    """
    keep = pd.Series(True, index=view.index)
    if spec.clouds:
        for cloud in spec.clouds:
            if cloud not in CLOUDS:
                hint = did_you_mean(cloud, CLOUDS)
                raise UsageError(
                    f"unknown cloud {cloud!r}",
                    field="--cloud",
                    fix=hint or f"use {', '.join(CLOUDS)}",
                )
        keep &= view["cloud"].isin(list(spec.clouds))
    if spec.gpu:
        keep &= _gpu_mask(view, spec.gpu)
    if spec.gpus is not None:
        keep &= view["gpu_count"].between(spec.gpus.low, spec.gpus.high).fillna(False)
    if spec.min_gpu_memory_gb is not None:
        keep &= (view["gpu_memory_gb"] >= spec.min_gpu_memory_gb).fillna(False)
    if spec.regions:
        keep &= _glob_mask(view, ["region"], spec.regions, "--region")
    if spec.zones:
        keep &= _glob_mask(view, ["zone", "zone_id"], spec.zones, "--zone")
    if spec.max_band_pct is not None:
        keep &= (view["interruption_band_upper_pct"] <= spec.max_band_pct).fillna(False)
    if spec.max_price is not None:
        keep &= (view["price_spot_usd_per_hour"] <= spec.max_price).fillna(False)
    if spec.spot_only:
        keep &= view["price_spot_usd_per_hour"].notna()
    return view.loc[keep.astype(bool)].reset_index(drop=True)


def _gpu_mask(view: pd.DataFrame, names: Sequence[str]) -> pd.Series:
    mask = pd.Series(False, index=view.index)
    for name in names:
        model, memory = parse_gpu_query(name)
        match = view["gpu_model"] == model
        if memory is not None:
            match &= view["gpu_memory_gb"] == memory
        mask |= match.fillna(False).astype(bool)
    return mask


def _glob_mask(
    view: pd.DataFrame, columns: list[str], patterns: Sequence[str], option: str
) -> pd.Series:
    mask = pd.Series(False, index=view.index)
    for pattern in patterns:
        regex = re.compile(fnmatch.translate(pattern.casefold()))
        hit = pd.Series(False, index=view.index)
        for column in columns:
            values = view[column].astype("string").str.casefold()
            hit |= values.str.fullmatch(regex).fillna(False).astype(bool)
        if not hit.any():
            known = sorted({str(v) for c in columns for v in view[c].dropna().unique()})
            hint = did_you_mean(pattern, known)
            raise UsageError(
                f"no offer has a {option.lstrip('-')} matching {pattern!r}",
                field=option,
                fix=hint
                or f"run 'spotadvisor offers --format csv' to list the {option.lstrip('-')}s",
            )
        mask |= hit
    return mask


def sort_offers(
    view: pd.DataFrame, key: SortKey = "gpu-price", order: Literal["asc", "desc"] | None = None
) -> pd.DataFrame:
    """Order offers; unknown values always sort last.

    ``order`` defaults to ascending, except for ``savings`` (largest first).
    """
    if key not in SORT_KEYS:
        hint = did_you_mean(key, SORT_KEYS)
        raise UsageError(
            f"unknown sort key {key!r}", field="--sort", fix=hint or f"use {', '.join(SORT_KEYS)}"
        )
    columns = {
        "price": ["price_spot_usd_per_hour", "price_on_demand_usd_per_hour"],
        "savings": ["savings_pct", "price_spot_usd_per_gpu_hour"],
        "band": ["interruption_band_upper_pct", "price_spot_usd_per_gpu_hour"],
        "gpu-price": ["price_spot_usd_per_gpu_hour", "price_on_demand_usd_per_gpu_hour"],
        "region": ["cloud", "region", "zone", "zone_id", "instance_type"],
    }[key]
    ascending = (order or ("desc" if key == "savings" else "asc")) == "asc"
    tie_break = [
        c for c in ("cloud", "region", "zone", "zone_id", "instance_type") if c not in columns
    ]
    return view.sort_values(
        [*columns, *tie_break],
        ascending=[ascending] * len(columns) + [True] * len(tie_break),
        na_position="last",
        kind="stable",
    ).reset_index(drop=True)
