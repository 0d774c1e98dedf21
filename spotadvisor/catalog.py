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
from spotadvisor.priors import is_prior
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


PRICE_COLUMNS = {"price_on_demand_usd_per_hour": "on_demand", "price_spot_usd_per_hour": "spot"}


def latest_offers(offers: pd.DataFrame) -> pd.DataFrame:
    """One row per pool: the one with the newest ``as_of`` (ties broken by source name).

    A price the newest row lacks is carried forward from the newest older row of the
    pool that has it, and flagged ``<market>_price_carried(<source> as of <date>)``: a
    collection that came back without a price never hides a known one.
    """
    if offers.empty:
        return offers.copy()
    ordered = offers.sort_values(["as_of", "source"], ascending=[False, True], kind="stable")
    keys = ordered[POOL].astype("string").fillna("\x00")  # group NaN keys together
    group = pd.Series(pd.factorize(keys.agg("|".join, axis=1))[0], index=ordered.index)
    newest = ~group.duplicated()
    latest = ordered.loc[newest].copy()
    for column, market in PRICE_COLUMNS.items():
        gaps = latest[column].isna()
        if not gaps.any():
            continue
        priced = ordered.loc[~newest & ordered[column].notna()]
        donors = priced.loc[~group[priced.index].duplicated()]  # newest priced older row
        by_group = pd.Series(donors.index, index=group[donors.index].to_numpy())
        for row in latest.index[gaps]:
            donor = by_group.get(group[row])
            if donor is None:
                continue
            latest.loc[row, column] = ordered.loc[donor, column]
            flag = (
                f"{market}_price_carried({ordered.loc[donor, 'source']} as of "
                f"{pd.Timestamp(ordered.loc[donor, 'as_of']):%Y-%m-%d})"
            )
            held = latest.loc[row, "quality_flags"]
            latest.loc[row, "quality_flags"] = (
                flag if pd.isna(held) or not held else f"{held};{flag}"
            )
    return latest.reset_index(drop=True)


def attach_bands(offers: pd.DataFrame, history: pd.DataFrame, *, os: str = "Linux") -> pd.DataFrame:
    """Fill missing interruption bands from the newest published band of each pool.

    Bands are published per cloud, region and instance type (not per zone), so every
    zone of a region gets the region's band. Adds ``interruption_band_source`` and
    ``interruption_band_as_of`` so outputs can say where a band came from.

    A measured row (``measured_rate_pct`` given: GCP's preemption share from ``collect
    gcp``) wins over a prior row (source ``prior:...``) of the same pool whatever their
    ``as_of``; otherwise the newest row wins. The measured figures come along as
    ``MEASURED_EXTRA`` (empty for a band that was not measured).
    """
    out = offers.copy()
    out["interruption_band_source"] = pd.Series(pd.NA, index=out.index, dtype="string")
    out["interruption_band_as_of"] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[us, UTC]")
    for column, dtype in _MEASURED_DTYPES.items():
        out[column] = pd.Series(index=out.index, dtype=dtype)
    has_band = out["interruption_band"].notna()
    out.loc[has_band, "interruption_band_source"] = out.loc[has_band, "source"]
    out.loc[has_band, "interruption_band_as_of"] = out.loc[has_band, "as_of"]
    if history.empty:
        return out
    newest = (
        _measured_over_prior(history[history["os"] == os])
        .sort_values(["as_of", "source"], ascending=[False, True], kind="stable")
        .drop_duplicates(["cloud", "region", "instance_type"])
    )
    renames = {
        "interruption_band": "_label",
        "interruption_band_lower_pct": "_lower",
        "interruption_band_upper_pct": "_upper",
        "source": "_source",
        "as_of": "_as_of",
        **{f: f"_{f}" for f in _MEASURED_FROM if f in newest.columns},
    }
    bands = newest.rename(columns=renames)[["cloud", "region", "instance_type", *renames.values()]]
    merged = out.merge(bands, on=["cloud", "region", "instance_type"], how="left")
    fill = merged["interruption_band"].isna() & merged["_label"].notna()
    targets = {
        "_label": "interruption_band",
        "_lower": "interruption_band_lower_pct",
        "_upper": "interruption_band_upper_pct",
        "_source": "interruption_band_source",
        "_as_of": "interruption_band_as_of",
        **{f"_{f}": view for f, view in _MEASURED_FROM.items()},
    }
    for column in renames.values():
        merged.loc[fill, targets[column]] = merged.loc[fill, column]
    return merged.drop(columns=list(renames.values()))


# The measured figures of a band (``interruption_history`` column -> offers view column).
_MEASURED_FROM = {
    "measured_rate_pct": "interruption_measured_rate_pct",
    "window_start": "interruption_window_start",
    "window_end": "interruption_window_end",
    "window_days": "interruption_window_days",
}
_MEASURED_DTYPES = {
    "interruption_measured_rate_pct": "float64",
    "interruption_window_start": "datetime64[us, UTC]",
    "interruption_window_end": "datetime64[us, UTC]",
    "interruption_window_days": "float64",
}
# Columns of the offers view for a measured band (empty otherwise); not in the offers
# outputs (``VIEW_EXTRA``).
MEASURED_EXTRA = list(_MEASURED_DTYPES)


def _measured_over_prior(history: pd.DataFrame) -> pd.DataFrame:
    """``history`` without the prior rows of pools that have a measured row."""
    if "measured_rate_pct" not in history.columns or history.empty:
        return history
    measured = history["measured_rate_pct"].notna().to_numpy()
    if not measured.any():
        return history
    keys = ["cloud", "region", "instance_type"]
    pools = set(map(tuple, history.loc[measured, keys].astype(str).to_numpy().tolist()))
    has_measure = np.array(
        [tuple(k) in pools for k in history[keys].astype(str).to_numpy().tolist()]
    )
    prior = np.array([is_prior(s) for s in history["source"].tolist()], dtype=bool)
    kept: pd.DataFrame = history.loc[~(prior & has_measure)]
    return kept


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
