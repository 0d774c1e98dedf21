"""Turn a fleet file into the numbers the engine needs, filling gaps from the offers data.

Pure: takes the parsed file and DataFrames (the offers view, spot price history) and
returns the engine's ``FleetModel`` plus, for every pool, where each input came from
(the fleet file, the store or snapshot with its source and date, or a documented
default). Nothing here reads files or prints.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import numpy as np
import pandas as pd

from spotadvisor.bands import (
    HOURS_PER_MONTH,
    UNKNOWN_BAND,
    measured_share_text,
    parse_band,
    percent_range_text,
)
from spotadvisor.config import FleetFile, PoolSpec, RiskSettings
from spotadvisor.errors import DataError, UsageError, did_you_mean
from spotadvisor.regions import is_aws_zone_id
from spotadvisor.sim.model import NOTICE_SECONDS, FleetModel, Hazard, PoolModel


@dataclass(frozen=True)
class ResolvedPool:
    """One pool: the engine's numbers and where each came from.

    Attributes
    ----------
    spec
        The pool as written in the fleet file.
    model
        The pool as the engine sees it.
    sources
        Input name (``price_per_hour``, ``interruption``...) -> where it came from.
    """

    spec: PoolSpec
    model: PoolModel
    sources: dict[str, str]


@dataclass(frozen=True)
class ResolvedFleet:
    """A fleet file resolved against data.

    Attributes
    ----------
    fleet
        The parsed file.
    model
        The engine's input.
    pools
        Per-pool values with their sources.
    notes
        Assumptions worth telling the user (conservative defaults, median prices...).
    """

    fleet: FleetFile
    model: FleetModel
    pools: tuple[ResolvedPool, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)


def resolve_fleet(
    fleet: FleetFile,
    offers: pd.DataFrame,
    price_history: pd.DataFrame | None = None,
    *,
    data_label: str | Callable[[str], str] = "offers data",
) -> ResolvedFleet:
    """Resolve every pool of ``fleet`` against the offers view.

    Parameters
    ----------
    fleet
        The parsed fleet file.
    offers
        The offers view (``catalog.offers_view``): prices, bands, GPUs per pool.
    price_history
        Spot price history, used when the file asks for ``spot_prices: history``.
    data_label
        How to name where offers came from in provenance: a fixed label, or a function of
        the row's source (``TableData.origin_of``).

    Raises
    ------
    UsageError
        When a pool names a region, zone or instance type the data does not know.
    DataError
        When a needed price is in neither the file nor the data.
    """
    if not fleet.pools:
        raise UsageError(
            "the fleet file has no fleet: list",
            file=fleet.origin,
            field="fleet",
            fix="add the pools to simulate, e.g. - {cloud: aws, region: us-east-1, instance: p4d.24xlarge, market: spot, count: 3}",
        )
    notes: list[str] = []
    index = _OfferIndex(offers)
    resolved = tuple(
        _resolve_pool(fleet, spec, index, price_history, data_label, notes) for spec in fleet.pools
    )
    wl, policy, risk = fleet.workload, fleet.policy, fleet.risk
    model = FleetModel(
        pools=tuple(r.model for r in resolved),
        replicas=wl.replicas,
        horizon_hours=fleet.horizon_hours,
        cold_start_hours=wl.cold_start_hours,
        cold_start_distribution=wl.cold_start_distribution,
        request_rate_per_s=wl.request_rate_per_s,
        request_duration_s=wl.request_duration_s,
        request_duration_distribution=wl.request_duration_distribution,
        on_preemption=policy.on_preemption,
        fallback_after_hours=policy.fallback_after_hours,
        overprovision=policy.overprovision,
        zone_correlation=risk.zone_correlation,
        region_correlation=risk.region_correlation,
        sla_availability=fleet.sla.availability,
    )
    if wl.load is not None:
        from spotadvisor.config.load import load_model

        demand_model = load_model(wl.load, fleet.scaling, model.pools, fleet.horizon_hours)
        model = dataclasses.replace(
            model, load=demand_model, replicas=max(1, demand_model.demand.peak())
        )
    if policy.overprovision and not any(p.market == "spot" for p in model.pools):
        raise UsageError(
            "overprovision adds spot replicas, but the fleet has no spot pool",
            file=fleet.origin,
            field="policy.overprovision",
            fix="add a spot pool or set overprovision: 0",
        )
    return ResolvedFleet(fleet, model, resolved, tuple(notes))


def _resolve_pool(
    fleet: FleetFile,
    spec: PoolSpec,
    offers: _OfferIndex,
    history: pd.DataFrame | None,
    data_label: str | Callable[[str], str],
    notes: list[str],
) -> ResolvedPool:
    where = f"fleet[{spec.index}]"
    rows = _matching_offers(fleet.origin, where, spec, offers)
    sources: dict[str, str] = {}
    label = " ".join(
        p for p in (spec.cloud, spec.region, spec.zone, spec.instance, spec.market) if p
    )

    instances, gpu_note = _instances_per_replica(fleet, rows)
    sources["instances_per_replica"] = gpu_note
    if rows.empty and (fleet.workload.gpus_per_replica or fleet.workload.gpu_memory_gb_per_replica):
        notes.append(
            f"{where}: {spec.instance} is not in the offers data, so its GPUs are unknown: "
            "one instance per replica assumed (prices are per instance)"
        )
    # an on-demand pool's own price is its on-demand price
    od_override = spec.on_demand_price_per_hour
    if od_override is None and spec.market != "spot":
        od_override = spec.price_per_hour
    od_price = _price(
        od_override,
        rows,
        "price_on_demand_usd_per_hour",
        "on_demand_price_per_hour",
        fleet.origin,
        where,
        data_label,
        sources,
        notes,
    )
    if spec.market == "spot":
        price = _price(
            spec.price_per_hour,
            rows,
            "price_spot_usd_per_hour",
            "price_per_hour",
            fleet.origin,
            where,
            data_label,
            sources,
            notes,
        )
        hazard = _hazard(spec, rows, data_label, sources, notes, where)
    else:
        price = od_price if spec.price_per_hour is None else spec.price_per_hour
        sources["price_per_hour"] = (
            sources["on_demand_price_per_hour"] if spec.price_per_hour is None else "fleet file"
        )
        hazard = Hazard()
    risk = _pool_risk(fleet.risk, spec)
    path = None
    if spec.market == "spot" and fleet.spot_prices == "history":
        path = _relative_price_path(spec, history)
        sources["price_path"] = "spot price history" if path else "fixed (no history for this pool)"
        if path is None:
            notes.append(
                f"{where}: no spot price history for {label}; its spot price is held fixed"
            )
    model = PoolModel(
        name=label,
        cloud=spec.cloud,
        region=spec.region,
        zone=spec.zone,
        market=spec.market,
        count=spec.count,
        price_per_hour=price * instances,
        on_demand_price_per_hour=od_price * instances,
        instances_per_replica=instances,
        hazard=hazard,
        notice_seconds=NOTICE_SECONDS[spec.cloud],
        bulk_reclaims_per_month=risk.bulk_reclaims_per_month,
        bulk_fraction=risk.bulk_fraction,
        stockout_hours=risk.stockout_hours,
        price_path=path,
    )
    return ResolvedPool(spec, model, sources)


class _OfferIndex:
    """The offers view with its rows found by (cloud, region, instance type).

    Built once per fleet: ``recommend`` resolves a couple of hundred pools at once, and
    filtering the whole view for each costs more than all its simulations.
    """

    def __init__(self, offers: pd.DataFrame) -> None:
        self.offers = offers
        keys = ["cloud", "region", "instance_type"]
        groups = offers.groupby(keys, sort=False, dropna=False).indices if len(offers) else {}
        self.positions: dict[tuple[Any, ...], np.ndarray] = {
            cast(tuple[Any, ...], key): np.asarray(rows) for key, rows in groups.items()
        }
        self.regions: set[tuple[Any, ...]] = {key[:2] for key in self.positions}

    def rows(self, cloud: str, region: str, instance: str) -> pd.DataFrame:
        """The offers of one instance type in one region (none: an empty frame)."""
        found = self.positions.get((cloud, region, instance))
        return self.offers.iloc[found] if found is not None else self.offers.iloc[:0]


def _matching_offers(origin: str, where: str, spec: PoolSpec, index: _OfferIndex) -> pd.DataFrame:
    """Offers of the pool's cloud, region, instance type and (if given) zone."""
    if spec.cloud == "aws" and spec.zone and not is_aws_zone_id(spec.zone):
        raise UsageError(
            f"AWS zone names such as {spec.zone!r} differ between accounts",
            file=origin,
            field=f"{where}.zone",
            fix="give the zone ID (e.g. use1-az4); 'aws ec2 describe-availability-zones' maps names to IDs",
        )
    offers = index.offers
    known_region = (spec.cloud, spec.region) in index.regions
    if not known_region and not _overridden(spec):
        in_cloud = offers[offers["cloud"] == spec.cloud]
        hint = did_you_mean(spec.region, in_cloud["region"].dropna().unique())
        raise UsageError(
            f"no {spec.cloud} offers in region {spec.region!r}",
            file=origin,
            field=f"{where}.region",
            fix=hint or f"list regions with 'spotadvisor offers --cloud {spec.cloud} --format csv'",
        )
    rows = index.rows(spec.cloud, spec.region, spec.instance)
    if rows.empty and not _overridden(spec):
        in_region = offers[(offers["cloud"] == spec.cloud) & (offers["region"] == spec.region)]
        hint = did_you_mean(spec.instance, in_region["instance_type"].dropna().unique())
        raise UsageError(
            f"no offer of {spec.instance!r} in {spec.cloud} {spec.region}",
            file=origin,
            field=f"{where}.instance",
            fix=hint
            or (
                "check the instance type, or give price_per_hour, on_demand_price_per_hour and interruption"
                if spec.market == "spot"
                else "check the instance type, or give price_per_hour"
            ),
        )
    if spec.zone and not rows.empty:
        column = "zone_id" if spec.cloud == "aws" else "zone"
        zoned = rows[rows[column] == spec.zone]
        if zoned.empty and spec.cloud != "azure":
            hint = did_you_mean(spec.zone, rows[column].dropna().unique())
            raise UsageError(
                f"{spec.instance} has no offer in zone {spec.zone!r}",
                file=origin,
                field=f"{where}.zone",
                fix=hint
                or f"zones with offers: {', '.join(sorted(rows[column].dropna().unique()))}",
            )
        rows = zoned if not zoned.empty else rows
    return rows


def _overridden(spec: PoolSpec) -> bool:
    """True when the file gives every input, so the pool needs no offer at all."""
    if spec.market != "spot":
        return spec.price_per_hour is not None or spec.on_demand_price_per_hour is not None
    has_prices = spec.price_per_hour is not None and spec.on_demand_price_per_hour is not None
    return has_prices and spec.interruption is not None


def _instances_per_replica(fleet: FleetFile, rows: pd.DataFrame) -> tuple[int, str]:
    """Instances one replica needs, from the workload's GPU need and the instance's GPUs."""
    wl = fleet.workload
    gpus = rows["gpu_count"].dropna()
    memory = rows["gpu_memory_gb"].dropna()
    if wl.gpus_per_replica and not gpus.empty and gpus.iloc[0] > 0:
        return max(
            1, math.ceil(wl.gpus_per_replica / float(gpus.iloc[0]))
        ), "gpus_per_replica / GPUs per instance"
    if wl.gpu_memory_gb_per_replica and not gpus.empty and not memory.empty:
        per_instance = float(gpus.iloc[0]) * float(memory.iloc[0])
        if per_instance > 0:
            return max(
                1, math.ceil(wl.gpu_memory_gb_per_replica / per_instance)
            ), "GPU memory per replica / per instance"
    return 1, "one instance per replica"


def _price(
    override: float | None,
    rows: pd.DataFrame,
    column: str,
    key: str,
    origin: str,
    where: str,
    data_label: str | Callable[[str], str],
    sources: dict[str, str],
    notes: list[str],
) -> float:
    """The file's price, else the offer's (the median over zones when no zone is given)."""
    if override is not None:
        sources[key] = "fleet file"
        return override
    # NumPy on the few rows of one pool: pandas' per-call cost adds up over hundreds of pools
    column_values = rows[column].to_numpy(dtype=np.float64, na_value=np.nan)
    known = ~np.isnan(column_values)
    if not known.any():
        raise DataError(
            f"no {key.replace('_', ' ')} for this pool in the offers data",
            file=origin,
            field=f"{where}.{key}",
            fix=f"add {key} to the pool, or import fresher data with 'spotadvisor data import'",
        )
    values = column_values[known]
    value = float(np.median(values))
    sources[key] = _provenance(rows, known, data_label)
    if len(set(values.tolist())) > 1:
        notes.append(
            f"{where}: {key} is the median of {len(values)} zones "
            f"(${values.min():.4f}-${values.max():.4f}/h); give a zone for its own price"
        )
    return value


def _label(data_label: str | Callable[[str], str], source: str) -> str:
    return data_label(source) if callable(data_label) else data_label


def _provenance(
    rows: pd.DataFrame, used: np.ndarray, data_label: str | Callable[[str], str]
) -> str:
    """Where the ``used`` rows' value came from: the first one's source, the newest as_of."""
    source = str(rows["source"].iloc[int(np.flatnonzero(used)[0])])
    as_of = pd.Timestamp(rows["as_of"].to_numpy()[used].max())
    return f"{_label(data_label, source)}: {source} (as of {as_of:%Y-%m-%d})"


def _hazard(
    spec: PoolSpec,
    rows: pd.DataFrame,
    data_label: str | Callable[[str], str],
    sources: dict[str, str],
    notes: list[str],
    where: str,
) -> Hazard:
    override = spec.interruption
    if override is not None:
        sources["interruption"] = override.origin
        if override.band is not None:
            band = parse_band(override.band)
            assert band is not None  # the config layer validated it
            return Hazard.band(band.lower_pct / 100.0, band.upper_pct / 100.0)
        if override.monthly_rate is not None:
            return Hazard.exact(override.monthly_rate / HOURS_PER_MONTH)
        assert override.mean_time_to_preemption_hours is not None
        return Hazard.exact(1.0 / override.mean_time_to_preemption_hours)
    banded = np.flatnonzero(rows["interruption_band"].notna().to_numpy())
    if banded.size == 0:
        band = parse_band(UNKNOWN_BAND)
        assert band is not None
        sources["interruption"] = f"assumed {UNKNOWN_BAND} (no published band)"
        notes.append(
            f"{where}: no published interruption band for {spec.cloud} {spec.region} {spec.instance}; "
            f"assumed {UNKNOWN_BAND} (the worst band) rather than zero risk; set interruption: to override"
        )
        return Hazard.band(band.lower_pct / 100.0, band.upper_pct / 100.0)
    row = rows.iloc[int(banded[0])]
    sources["interruption"] = _band_provenance(row, data_label)
    return Hazard.band(
        float(row["interruption_band_lower_pct"]) / 100.0,
        float(row["interruption_band_upper_pct"]) / 100.0,
    )


def _band_provenance(row: pd.Series, data_label: str | Callable[[str], str]) -> str:
    """Where a pool's band came from; a measured band (GCP's preemption share) says so:
    ``measured: gcp-advice (preemption share 3.1-7.4% over 30 d to 2026-11-30, as of
    2026-12-03)``."""
    source = str(row["interruption_band_source"])
    as_of = f"as of {pd.Timestamp(row['interruption_band_as_of']):%Y-%m-%d}"
    measured = row.get("interruption_measured_rate_pct")
    if measured is None or pd.isna(measured):
        return f"{_label(data_label, source)}: {source} (band {row['interruption_band']}, {as_of})"
    lower = float(row["interruption_band_lower_pct"])
    upper = float(row["interruption_band_upper_pct"])
    days, end = row.get("interruption_window_days"), row.get("interruption_window_end")
    if days is None or end is None or pd.isna(days) or pd.isna(end):
        what = f"preemption share {percent_range_text(lower, upper)}"
    else:
        what = measured_share_text(lower, upper, float(days), pd.Timestamp(end))
    return f"measured: {source} ({what}, {as_of})"


def _pool_risk(risk: RiskSettings, spec: PoolSpec) -> RiskSettings:
    if spec.market != "spot":
        return RiskSettings(0.0, 0.0, 0.0, risk.zone_correlation, risk.region_correlation)
    own = spec.risk
    if own is None:
        return risk
    return RiskSettings(
        own.bulk_reclaims_per_month
        if own.bulk_reclaims_per_month is not None
        else risk.bulk_reclaims_per_month,
        own.bulk_fraction if own.bulk_fraction is not None else risk.bulk_fraction,
        own.stockout_hours if own.stockout_hours is not None else risk.stockout_hours,
        risk.zone_correlation,
        risk.region_correlation,
    )


def _relative_price_path(spec: PoolSpec, history: pd.DataFrame | None) -> tuple[float, ...] | None:
    """Hourly spot prices of the pool relative to their mean, or None without history.

    Price changes hold until the next change; the path samples them on the hour.
    """
    if history is None or history.empty:
        return None
    rows = history[
        (history["cloud"] == spec.cloud)
        & (history["region"] == spec.region)
        & (history["instance_type"] == spec.instance)
        & history["product"].isin(["Linux/UNIX", "Linux/UNIX (Amazon VPC)"])
    ]
    if spec.zone:
        rows = rows[(rows["zone"] == spec.zone) | (rows["zone_id"] == spec.zone)]
    if rows.empty:
        return None
    # one zone's series (the longest), so zone changes are not read as price changes
    zone_key = rows["zone_id"].fillna(rows["zone"])
    rows = rows[zone_key == zone_key.value_counts().idxmax()].sort_values("timestamp")
    times = rows["timestamp"].astype("int64").to_numpy() / 3.6e9  # microseconds -> hours
    prices = rows["price_usd_per_hour"].to_numpy(dtype=float)
    hours = np.arange(math.floor(times[0]), math.ceil(times[-1]) + 1)
    if hours.size < 2:
        return None
    hourly = prices[np.clip(np.searchsorted(times, hours, side="right") - 1, 0, None)]
    relative = hourly / hourly.mean()
    return tuple(float(v) for v in relative)


def describe_pool(pool: ResolvedPool) -> dict[str, Any]:
    """A resolved pool as plain values, for JSON output (inputs echoed with sources)."""
    m = pool.model
    hazard: dict[str, Any] = (
        {"rate_per_hour": m.hazard.rate_per_hour}
        if m.hazard.rate_per_hour is not None
        else {
            "monthly_probability_low": m.hazard.p_low,
            "monthly_probability_high": m.hazard.p_high,
        }
    )
    return {
        "name": m.name,
        "cloud": m.cloud,
        "region": m.region,
        "zone": m.zone,
        "instance": pool.spec.instance,
        "market": m.market,
        "count": m.count,
        "instances_per_replica": m.instances_per_replica,
        "price_usd_per_replica_hour": m.price_per_hour,
        "on_demand_price_usd_per_replica_hour": m.on_demand_price_per_hour,
        "interruption": hazard if m.market == "spot" else None,
        "notice_seconds": m.notice_seconds,
        "bulk_reclaims_per_month": m.bulk_reclaims_per_month,
        "bulk_fraction": m.bulk_fraction,
        "stockout_hours": m.stockout_hours,
        "spot_price_path_hours": len(m.price_path) if m.price_path else None,
        "sources": dict(pool.sources),
    }


_AS_OF = re.compile(r"as of (\d{4}-\d{2}-\d{2})")


def input_dates(pool: ResolvedPool) -> dict[str, datetime]:
    """When each input of a pool taken from data was true (those from the file have none)."""
    out = {}
    for key, text in pool.sources.items():
        match = _AS_OF.search(text)
        if match:
            out[key] = datetime.fromisoformat(match.group(1)).replace(tzinfo=UTC)
    return out
