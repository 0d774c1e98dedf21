"""Measured interruption rates per pool, with exact intervals, beside the published bands.

The rate of a pool is its interruptions divided by its spot exposure in instance-months
(730 instance-hours each, the unit of the published bands), with an exact (Garwood) 95 %
Poisson interval. Exposure comes from the billing data (spot instance hours of the pool
in the window) or from a fleet file (spot instances x window length).

With ``by_zone``, a pool (cloud, region, instance type) is split into one row per zone
only when every event and every exposure of it names a zone, in one naming scheme.
Otherwise its rows are merged into one for the whole region, zone :data:`ANY_ZONE`: a
fleet pool without a zone may run in any zone of its region, an event without a zone
may have hit any of them, and AWS zone names (``us-east-1a``, per account) cannot be
matched with zone IDs (``use1-az4``, what fleet files name). Azure zones are compared
without their location (a watch log's ``eastus-1`` is a fleet file's ``1``).

A published band gives the share of instances interrupted in a month, p. It is compared
as the rate with that monthly probability, -ln(1 - p): the band "5-10%" is 0.051-0.105
interruptions per instance-month. A pool is flagged when the whole interval lies outside
the band's rates.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

import pandas as pd

from spotadvisor.bands import HOURS_PER_MONTH
from spotadvisor.events.parse import FleetEvent
from spotadvisor.importers.billing.units import hours_per_unit_series
from spotadvisor.regions import is_aws_zone_id
from spotadvisor.report.interruptions import poisson_interval

STATS_COLUMNS = [
    "cloud",
    "region",
    "zone",
    "instance_type",
    "interruptions",
    "rebalances",
    "instances",
    "exposure_instance_months",
    "exposure_source",
    "rate_per_instance_month",
    "rate_low",
    "rate_high",
    "band",
    "band_rate_low",
    "band_rate_high",
    "flag",
]
EXPOSURE_COLUMNS = ["cloud", "region", "zone", "instance_type", "instance_hours", "source"]
UNKNOWN = "(unknown)"
#: the zone of a ``by_zone`` row that stands for every zone of its region
ANY_ZONE = "(any)"
_POOL = ["cloud", "region", "instance_type"]


def window_hours(start: datetime, end: datetime) -> float:
    """Length of ``[start, end)`` [h]."""
    return (end - start).total_seconds() / 3600.0


def band_rate(pct: float) -> float:
    """The rate [1/instance-month] whose monthly interruption probability is ``pct`` [%]."""
    p = pct / 100.0
    return math.inf if p >= 1.0 else -math.log1p(-p)


def exposure_from_billing(
    billing: pd.DataFrame, start: datetime, end: datetime, *, by_zone: bool = False
) -> pd.DataFrame:
    """Spot instance hours per pool in ``[start, end)`` from billing lines [h].

    A line counts when it is spot, names an instance type and is metered in hours (any
    spelling of :mod:`spotadvisor.importers.billing.units`: ``Hrs``, ``Hours``, ``1 Hour``;
    a block unit ``N Hours`` counts N hours per unit). GCP bills cores and memory, not
    instances, so GCP pools need ``--fleet``. A line whose charge period straddles the
    window counts pro rata.
    """
    per_unit = hours_per_unit_series(billing["consumed_unit"])
    keep = (
        billing["is_spot"].fillna(False).astype(bool)
        & billing["instance_type"].notna()
        & per_unit.notna()
        & (billing["provider"] != "gcp")
    )
    lines = billing[keep].assign(hours_per_unit=per_unit[keep].to_numpy())
    lo, hi = pd.Timestamp(start), pd.Timestamp(end)
    lines = lines[(lines["charge_period_end"] > lo) & (lines["charge_period_start"] < hi)]
    if lines.empty:
        return pd.DataFrame(columns=EXPOSURE_COLUMNS)
    span = (lines["charge_period_end"] - lines["charge_period_start"]).dt.total_seconds()
    inside = (
        lines["charge_period_end"].where(lines["charge_period_end"] < hi, hi)
        - lines["charge_period_start"].where(lines["charge_period_start"] > lo, lo)
    ).dt.total_seconds()
    share = (inside / span.where(span > 0)).fillna(1.0)
    frame = pd.DataFrame(
        {
            "cloud": lines["provider"].astype(str),
            "region": lines["region_id"].fillna(UNKNOWN).astype(str),
            "zone": lines["availability_zone"].fillna(UNKNOWN).astype(str) if by_zone else UNKNOWN,
            "instance_type": lines["instance_type"].astype(str),
            "instance_hours": lines["consumed_quantity"].fillna(0.0)
            * lines["hours_per_unit"]
            * share,
        }
    )
    out = frame.groupby(["cloud", "region", "zone", "instance_type"], as_index=False).agg(
        instance_hours=("instance_hours", "sum")
    )
    out["source"] = "billing"
    return out.reindex(columns=EXPOSURE_COLUMNS)


def exposure_from_pools(
    pools: Sequence[tuple[str, str, str | None, str, int]],
    start: datetime,
    end: datetime,
    *,
    by_zone: bool = False,
    source: str = "fleet file",
) -> pd.DataFrame:
    """Instance hours of spot pools running through the whole window [h].

    Parameters
    ----------
    pools
        (cloud, region, zone, instance type, spot instances) per pool.
    """
    hours = window_hours(start, end)
    rows = [
        (cloud, region, (zone or UNKNOWN) if by_zone else UNKNOWN, kind, count * hours)
        for cloud, region, zone, kind, count in pools
    ]
    frame = pd.DataFrame(rows, columns=EXPOSURE_COLUMNS[:-1])
    if frame.empty:
        return pd.DataFrame(columns=EXPOSURE_COLUMNS)
    out = frame.groupby(EXPOSURE_COLUMNS[:4], as_index=False).agg(
        instance_hours=("instance_hours", "sum")
    )
    out["source"] = source
    return out.reindex(columns=EXPOSURE_COLUMNS)


def latest_bands(history: pd.DataFrame) -> pd.DataFrame:
    """The newest published band per (cloud, region, instance type), Linux first."""
    if history.empty:
        return pd.DataFrame(columns=["cloud", "region", "instance_type", "band", "lo", "hi"])
    ranked = history.assign(_linux=history["os"].str.lower().eq("linux")).sort_values(
        ["_linux", "as_of"], ascending=[False, False]
    )
    first = ranked.drop_duplicates(["cloud", "region", "instance_type"])
    return pd.DataFrame(
        {
            "cloud": first["cloud"].astype(str),
            "region": first["region"].astype(str),
            "instance_type": first["instance_type"].astype(str),
            "band": first["interruption_band"].astype(str),
            "lo": first["interruption_band_lower_pct"].astype(float),
            "hi": first["interruption_band_upper_pct"].astype(float),
        }
    )


def zone_key(cloud: str, region: str | None, zone: str | None) -> str | None:
    """A zone as events and exposure are matched on: Azure's without its location.

    ``watch`` logs name Azure zones ``eastus-1``; fleet files and billing name them
    ``1``. AWS zone IDs and names, and GCP zones, are kept as they are.
    """
    if not zone:
        return None
    if cloud == "azure" and region and zone.lower().startswith(region.lower() + "-"):
        return zone[len(region) + 1 :]
    return zone


def _scheme(cloud: str, zone: str) -> str:
    if cloud == "aws":
        return "zone ID" if is_aws_zone_id(zone) else "zone name"
    return "zone"


def merge_unmatched_zones(
    events: pd.DataFrame, exposure: pd.DataFrame, notes: list[str] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Events and exposure with the zones of pools that cannot be split set to ANY_ZONE.

    A pool (cloud, region, instance type) keeps its zones when every event and every
    exposure row of it names one (not :data:`UNKNOWN`) in one naming scheme (AWS zone
    IDs or zone names); otherwise all its rows get :data:`ANY_ZONE`, and where that
    merges rows of different zones, ``notes`` says why.
    """
    events, exposure = events.copy(), exposure.copy()
    keys = pd.concat([events[_POOL], exposure[_POOL]]).drop_duplicates()
    for cloud, region, kind in keys.itertuples(index=False):
        in_events = (
            (events["cloud"] == cloud)
            & (events["region"] == region)
            & (events["instance_type"] == kind)
        )
        in_exposure = (
            (exposure["cloud"] == cloud)
            & (exposure["region"] == region)
            & (exposure["instance_type"] == kind)
        )
        event_zones = events.loc[in_events, "zone"]
        exposure_zones = exposure.loc[in_exposure, "zone"]
        zones = set(event_zones) | set(exposure_zones)
        reasons = []
        if (exposure_zones == UNKNOWN).any():
            sources = sorted(
                set(exposure.loc[in_exposure & (exposure["zone"] == UNKNOWN), "source"])
            )
            reasons.append(f"exposure without a zone ({', '.join(sources)})")
        blind = int((event_zones == UNKNOWN).sum())
        if blind:
            reasons.append(f"{blind} event(s) without a zone")
        schemes = {_scheme(str(cloud), str(z)): str(z) for z in sorted(zones - {UNKNOWN})}
        if len(schemes) > 1:
            reasons.append(
                "AWS zone names ("
                + schemes["zone name"]
                + ") cannot be matched with zone IDs ("
                + schemes["zone ID"]
                + "): names differ between accounts"
            )
        if not reasons:
            continue
        events.loc[in_events, "zone"] = ANY_ZONE
        exposure.loc[in_exposure, "zone"] = ANY_ZONE
        if len(zones) > 1 and notes is not None:
            notes.append(
                f"{cloud} {region} {kind}: one row for all its zones (zone {ANY_ZONE}): "
                + "; ".join(reasons)
            )
    return events, exposure


def measured_rates(
    events: Sequence[FleetEvent],
    exposure: pd.DataFrame,
    bands: pd.DataFrame,
    *,
    by_zone: bool = False,
    notes: list[str] | None = None,
) -> pd.DataFrame:
    """Interruptions per instance-month per pool, with intervals and the published band.

    Parameters
    ----------
    events
        The window's events, sources already merged; ``interruption`` events count,
        ``rebalance`` ones are shown beside them, the others are ignored.
    exposure
        Instance hours per pool [h] (:data:`EXPOSURE_COLUMNS`).
    bands
        Published bands (:func:`latest_bands`).
    by_zone
        One row per zone instead of per region; pools whose zones cannot be matched
        are one row with zone :data:`ANY_ZONE` (:func:`merge_unmatched_zones`).
    notes
        Where to append remarks for the user (pools merged across zones, and why).

    Returns
    -------
    pandas.DataFrame
        :data:`STATS_COLUMNS`; rates are NaN where the pool has no exposure; the zone
        is None without ``by_zone``.
    """
    keys = ["cloud", "region", "zone", "instance_type"]
    counted = [e for e in events if e.event_type in ("interruption", "rebalance")]
    counted = [e for e in counted if e.market != "on-demand"]
    frame = pd.DataFrame(
        {
            "cloud": [e.cloud for e in counted],
            "region": [e.region or UNKNOWN for e in counted],
            "zone": [
                (zone_key(e.cloud, e.region, e.zone) or UNKNOWN) if by_zone else UNKNOWN
                for e in counted
            ],
            "instance_type": [e.instance_type or UNKNOWN for e in counted],
            "interruption": [e.event_type == "interruption" for e in counted],
            "instance": [e.instance_id or f"event-{i}" for i, e in enumerate(counted)],
        },
        columns=[*keys, "interruption", "instance"],
    )
    if by_zone:
        zones = [
            zone_key(str(c), str(r), None if z == UNKNOWN else str(z)) or UNKNOWN
            for c, r, z in zip(exposure["cloud"], exposure["region"], exposure["zone"], strict=True)
        ]
        exposure = exposure.assign(zone=pd.Series(zones, index=exposure.index, dtype=object))
        frame, exposure = merge_unmatched_zones(frame, exposure, notes)
    hits = frame[frame["interruption"]]
    pools = (
        frame.groupby(keys, as_index=False)
        .agg(rebalances=("interruption", lambda s: int((~s.astype(bool)).sum())))
        .merge(
            hits.groupby(keys, as_index=False).agg(
                interruptions=("instance", "size"), instances=("instance", "nunique")
            ),
            how="left",
            on=keys,
        )
        if not frame.empty
        else pd.DataFrame(columns=[*keys, "rebalances", "interruptions", "instances"])
    )
    exposed = exposure.rename(columns={"source": "exposure_source"})
    if not exposed.empty:
        exposed = exposed.groupby(keys, as_index=False).agg(
            instance_hours=("instance_hours", "sum"), exposure_source=("exposure_source", "first")
        )
    pools = pools.merge(
        exposed.reindex(columns=[*keys, "instance_hours", "exposure_source"]), how="outer", on=keys
    )
    for col in ("interruptions", "rebalances", "instances"):
        pools[col] = pd.to_numeric(pools[col]).fillna(0).astype(int)
    months = pd.to_numeric(pools["instance_hours"]).fillna(0.0) / HOURS_PER_MONTH
    pools["exposure_instance_months"] = months
    pools["exposure_source"] = pools["exposure_source"].fillna("none")
    rates = [_rate(int(n), float(m)) for n, m in zip(pools["interruptions"], months, strict=True)]
    pools["rate_per_instance_month"] = [r[0] for r in rates]
    pools["rate_low"] = [r[1] for r in rates]
    pools["rate_high"] = [r[2] for r in rates]
    pools = pools.merge(bands, how="left", on=["cloud", "region", "instance_type"])
    pools["band_rate_low"] = [band_rate(x) if pd.notna(x) else math.nan for x in pools["lo"]]
    pools["band_rate_high"] = [band_rate(x) if pd.notna(x) else math.nan for x in pools["hi"]]
    pools["band"] = pools["band"].fillna("")
    pools["flag"] = [
        flag(lo, hi, blo, bhi)
        for lo, hi, blo, bhi in zip(
            pools["rate_low"],
            pools["rate_high"],
            pools["band_rate_low"],
            pools["band_rate_high"],
            strict=True,
        )
    ]
    pools = pools.sort_values(
        ["interruptions", "exposure_instance_months", "cloud", "region", "instance_type"],
        ascending=[False, False, True, True, True],
    )
    pools = pools[STATS_COLUMNS].reset_index(drop=True)
    if not by_zone:
        pools["zone"] = None  # per region: no zone (null in JSON, not "(unknown)")
    return pools


def _rate(count: int, months: float) -> tuple[float, float, float]:
    if not months > 0:
        return math.nan, math.nan, math.nan
    low, high = poisson_interval(count, months)
    return count / months, low, high


def flag(low: float, high: float, band_low: float, band_high: float) -> str:
    """``above band``/``below band`` when the interval misses the band, else ``""``."""
    if any(pd.isna(v) for v in (low, high, band_low, band_high)):
        return ""
    if low > band_high:
        return "above band"
    if high < band_low:
        return "below band"
    return ""


def engine_rate(interruptions: int, exposure_instance_months: float) -> float:
    """The rate the engine uses [1/instance-month]: (n + 1/2) / exposure.

    The Jeffreys posterior mean: a pool that saw no interruption in a short exposure is
    not taken to be risk-free, and with many events it is the plain ratio.
    """
    return (interruptions + 0.5) / exposure_instance_months
