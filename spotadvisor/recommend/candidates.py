"""Candidate mixes for a workload, built from the offers that can host a replica.

Pure: offers view in, candidates out. A *group* is one instance type in one region of
one cloud; its spot pools are its zones (AWS, GCP) or the region (Azure), and it has one
on-demand pool. Within a group the candidates vary the spot share (0 to all replicas),
how many zones the spot replicas spread over (cheapest first), overprovisioned spot
replicas and on-demand fallback; across the cheapest regions of an instance type,
candidates split the spot replicas between two regions.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from spotadvisor.config.specs import CLOUDS
from spotadvisor.errors import UsageError, did_you_mean
from spotadvisor.gpus import parse_gpu_query

MAX_SPOT_ZONES = 3
OVERPROVISION_LEVELS = (0, 1, 2)
CROSS_REGION_TOP = 3  # cheapest regions per instance type paired for cross-region mixes


@dataclass(frozen=True)
class PoolKey:
    """One pool a candidate may use: a zone (or region) of an instance type, spot or on demand."""

    cloud: str
    region: str
    zone: str | None
    instance: str
    market: str


@dataclass(frozen=True)
class Candidate:
    """A mix: pools with their replica counts, and the replacement policy.

    Attributes
    ----------
    pools
        (pool, replicas) pairs; on-demand pools have no zone.
    overprovision
        Extra spot replicas, round-robin over the spot pools.
    fallback_after_hours
        On-demand fallback after this wait for spot [h]; None: never.
    on_preemption
        Replacement policy.
    """

    pools: tuple[tuple[PoolKey, int], ...]
    overprovision: int
    fallback_after_hours: float | None
    on_preemption: str

    @property
    def spot_replicas(self) -> int:
        """Spot replicas, not counting overprovision."""
        return sum(n for p, n in self.pools if p.market == "spot")

    @property
    def on_demand_replicas(self) -> int:
        """On-demand replicas."""
        return sum(n for p, n in self.pools if p.market != "spot")


@dataclass(frozen=True)
class HostFilter:
    """Which offers may host a replica.

    Attributes
    ----------
    gpu
        Acceptable GPU models as users write them; empty: any.
    gpus_per_replica
        GPUs one replica needs; None with ``gpu_memory_gb_per_replica``.
    gpu_memory_gb_per_replica
        GPU memory one replica needs [GB].
    clouds, regions
        Clouds and region globs allowed; empty: all.
    max_band_pct
        Highest interruption band a spot pool may have [%/month]; None: any, and pools
        with no published band stay in (with a conservative band assumed).
    """

    gpu: Sequence[str] = ()
    gpus_per_replica: int | None = 8
    gpu_memory_gb_per_replica: float | None = None
    clouds: Sequence[str] = ()
    regions: Sequence[str] = ()
    max_band_pct: float | None = None


def instances_needed(gpu_count: float, gpu_memory_gb: float, spec: HostFilter) -> int | None:
    """Instances of a type one replica needs, or None when it is not a sensible host.

    A replica spans at most ``ceil(GPUs needed / 8)`` instances: a replica that fits one
    8-GPU node is not spread over eight 1-GPU nodes.
    """
    if not gpu_count or math.isnan(gpu_count) or gpu_count < 1:
        return None
    if spec.gpu_memory_gb_per_replica:
        per_instance = gpu_count * gpu_memory_gb
        if not per_instance or math.isnan(per_instance):
            return None
        need = math.ceil(spec.gpu_memory_gb_per_replica / per_instance)
        limit = max(1, math.ceil(spec.gpu_memory_gb_per_replica / (8 * gpu_memory_gb)))
    else:
        gpus = spec.gpus_per_replica or 8
        need = math.ceil(gpus / gpu_count)
        limit = max(1, math.ceil(gpus / 8))
    return need if need <= limit else None


def hostable_offers(view: pd.DataFrame, spec: HostFilter) -> pd.DataFrame:
    """Offers that can host a replica, with ``instances_per_replica``; on-demand price known.

    Raises
    ------
    UsageError
        For an unknown cloud, or a region pattern that matches no offer at all.
    """
    keep = view["price_on_demand_usd_per_hour"].notna()
    if spec.gpu:
        wanted = pd.Series(False, index=view.index)
        for name in spec.gpu:
            model, memory = parse_gpu_query(name)
            match = view["gpu_model"] == model
            if memory is not None:
                match &= view["gpu_memory_gb"] == memory
            wanted |= match.fillna(False).astype(bool)
        keep &= wanted
    if spec.clouds:
        for cloud in spec.clouds:
            if cloud not in CLOUDS:
                raise UsageError(
                    f"unknown cloud {cloud!r}",
                    field="--clouds",
                    fix=did_you_mean(cloud, CLOUDS) or f"use {', '.join(CLOUDS)}",
                )
        keep &= view["cloud"].isin(list(spec.clouds))
    if spec.regions:
        region = view["region"].astype(str).str.casefold()
        for pattern in spec.regions:  # a typo must not read as "no offer can host"
            if not any(fnmatch.fnmatchcase(r, pattern.casefold()) for r in set(region)):
                raise UsageError(
                    f"no offer has a region matching {pattern!r}",
                    field="--regions",
                    fix=did_you_mean(pattern, sorted(set(view["region"].astype(str))))
                    or "run 'spotadvisor offers --format csv' to list the regions",
                )
        keep &= pd.Series(
            [any(fnmatch.fnmatchcase(r, g.casefold()) for g in spec.regions) for r in region],
            index=view.index,
        )
    out = view.loc[keep.astype(bool)].copy()
    out["instances_per_replica"] = [
        instances_needed(c, m, spec)
        for c, m in zip(out["gpu_count"], out["gpu_memory_gb"], strict=True)
    ]
    return out[out["instances_per_replica"].notna()].reset_index(drop=True)


def spot_usable(offers: pd.DataFrame, spec: HostFilter) -> pd.Series:
    """Rows usable as spot pools: a known spot price, and a band within ``max_band_pct``."""
    usable = offers["price_spot_usd_per_hour"].notna()
    if spec.max_band_pct is not None:
        usable &= (offers["interruption_band_upper_pct"] <= spec.max_band_pct).fillna(False)
    return usable.astype(bool)


def _spread(replicas: int, zones: Sequence[PoolKey]) -> list[tuple[PoolKey, int]]:
    """``replicas`` over ``zones`` round-robin, cheapest zone first."""
    counts = [
        replicas // len(zones) + (1 if i < replicas % len(zones) else 0) for i in range(len(zones))
    ]
    return [(z, n) for z, n in zip(zones, counts, strict=True) if n > 0]


def group_candidates(
    spot_zones: Sequence[PoolKey],
    on_demand: PoolKey,
    replicas: int,
    fallback_hours: float,
) -> list[Candidate]:
    """Every mix of one group: spot share, zone spread, overprovision and fallback."""
    out = [Candidate(((on_demand, replicas),), 0, None, "relaunch-same-pool")]
    for spot in range(1, replicas + 1):
        for width in range(1, min(MAX_SPOT_ZONES, len(spot_zones)) + 1):
            if width > spot + max(OVERPROVISION_LEVELS):
                continue
            pools = _spread(spot, spot_zones[:width])
            if spot < replicas:
                pools.append((on_demand, replicas - spot))
            policy = "next-pool" if width > 1 else "relaunch-same-pool"
            for extra in OVERPROVISION_LEVELS:
                for fallback in (None, fallback_hours):
                    out.append(Candidate(tuple(pools), extra, fallback, policy))
    return out


def cross_region_candidates(
    cheapest_zone: Sequence[PoolKey],
    on_demand: PoolKey,
    replicas: int,
    fallback_hours: float,
) -> list[Candidate]:
    """Mixes that split the spot replicas between the cheapest zone of two regions."""
    out = []
    for i, first in enumerate(cheapest_zone):
        for second in cheapest_zone[i + 1 :]:
            for spot in (replicas - 1, replicas):
                if spot < 2:
                    continue
                pools = _spread(spot, (first, second))
                if spot < replicas:
                    pools.append((on_demand, replicas - spot))
                for extra in (0, 1):
                    for fallback in (None, fallback_hours):
                        out.append(Candidate(tuple(pools), extra, fallback, "next-pool"))
    return out
