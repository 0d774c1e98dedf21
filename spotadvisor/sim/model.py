"""What the engine simulates: a fleet reduced to numbers (no names to look up, no I/O).

A fleet is a list of pools. Each pool holds ``count`` replica *slots*; a slot is one
serving replica, made of ``instances_per_replica`` instances of the pool's type (a
replica is lost when any of its instances is). Times are in hours, prices in USD per
hour per replica, rates per hour unless a name says otherwise.

The model (docs/model.md has the equations):

- A spot replica serves from the moment it is ready until its preemption *notice*.
  Its lifetime is exponential with hazard ``instances_per_replica * lambda``, where
  ``lambda`` (per instance) is drawn once per trial and pool: with a band, the monthly
  interruption probability ``p ~ Uniform(p_low, p_high)`` and
  ``lambda = -ln(1 - p) / 730``; with an exact rate, ``lambda`` is that rate.
- Bulk reclaims: each pool has source events at ``bulk_rate_per_hour``; an event in
  one pool also strikes each other pool of the same region with probability
  ``zone_correlation`` and of another region with ``region_correlation``. A strike
  on a pool reclaims each serving replica with probability ``f`` (the share of the
  pool taken), ``f ~ Beta`` with mean ``bulk_fraction`` (per strike and pool), and
  for a replica of several instances ``1 - (1 - f) ** instances_per_replica``.
- Stock-out: after each strike the pool refuses spot launches for an exponential time
  with mean ``stockout_hours``; overlapping stock-outs merge.
- At a notice the replica stops serving; its instance is billed until the notice
  period ends. The replacement is launched at once into the target pool (the same
  pool, the next spot pool in fleet order, or on-demand, per ``on_preemption``). If
  the target pool is stocked out, the launch waits for the stock-out to end; if that
  wait would exceed ``fallback_after_hours``, an on-demand replica is launched after
  ``fallback_after_hours`` and serves until the spot replacement, launched when the
  stock-out ends, is ready (the on-demand one is then stopped).
- Every launched replica needs ``cold_start_hours`` (fixed, or exponential with that
  mean) before it serves, and is billed from launch.
- Requests in flight on a replica at its notice that are still running when the
  notice period ends are lost: with Poisson arrivals at ``request_rate_per_s`` and
  service times of mean ``request_duration_s`` (exponential or fixed), the number
  lost per notice is Poisson with mean ``rate * E[(D - notice)+]``.
- On-demand pools are never preempted. The fleet starts with every slot ready.
- Availability of a trial is the fraction of the horizon with at least ``replicas``
  slots serving; with a ``load`` (a demand curve d(t), :mod:`spotadvisor.sim.load`), the
  fraction with at least d(t) replicas ready, on-demand peak replicas included.
- ``events`` inject deterministic failures (:mod:`spotadvisor.sim.scenarios`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from spotadvisor.sim.load import LoadModel
from spotadvisor.sim.scenarios import ScenarioEvent

OnPreemption = Literal["relaunch-same-pool", "next-pool", "on-demand"]
Distribution = Literal["fixed", "exponential"]
Market = Literal["spot", "on-demand"]

NOTICE_SECONDS: dict[str, float] = {"aws": 120.0, "gcp": 30.0, "azure": 30.0}


@dataclass(frozen=True)
class Hazard:
    """Per-instance preemption hazard of a spot pool.

    Either a band of monthly interruption probabilities ``[p_low, p_high]`` (the hazard
    is drawn per trial, uniformly in probability) or an exact ``rate_per_hour``.
    """

    p_low: float = 0.0
    p_high: float = 0.0
    rate_per_hour: float | None = None

    @staticmethod
    def exact(rate_per_hour: float) -> Hazard:
        """A fixed hazard [1/h]."""
        return Hazard(rate_per_hour=rate_per_hour)

    @staticmethod
    def band(p_low: float, p_high: float) -> Hazard:
        """A band of monthly interruption probabilities [fraction, 0-1]."""
        return Hazard(p_low=p_low, p_high=p_high)


@dataclass(frozen=True)
class PoolModel:
    """One pool of a fleet, as numbers.

    Attributes
    ----------
    name
        Label for outputs, e.g. ``aws us-east-1 use1-az4 p4d.24xlarge spot``.
    cloud, region, zone
        Where the pool is (zone may be empty); region and zone drive correlation.
    market
        ``spot`` or ``on-demand``.
    count
        Replica slots in the pool at the start.
    price_per_hour
        Price of one replica in this pool's market [USD/h].
    on_demand_price_per_hour
        Price of one replica of the same type on demand [USD/h] (fallback, baseline).
    instances_per_replica
        Instances that make up one replica (>= 1).
    hazard
        Per-instance preemption hazard (spot only).
    notice_seconds
        Notice before a spot instance is stopped [s].
    bulk_reclaims_per_month, bulk_fraction, stockout_hours
        Bulk-reclaim rate of source events [1/month], mean share of the pool a strike
        takes [0-1], mean stock-out after a strike [h].
    price_path
        Optional relative spot price path, resampled per trial (1.0 = the price above);
        values are per hour, the engine averages a random window of horizon length.
    """

    name: str
    cloud: str
    region: str
    zone: str | None
    market: Market
    count: int
    price_per_hour: float
    on_demand_price_per_hour: float
    instances_per_replica: int = 1
    hazard: Hazard = field(default_factory=Hazard)
    notice_seconds: float = 120.0
    bulk_reclaims_per_month: float = 0.0
    bulk_fraction: float = 0.0
    stockout_hours: float = 0.0
    price_path: tuple[float, ...] | None = None


@dataclass(frozen=True)
class FleetModel:
    """A fleet, its workload and its policy, as numbers.

    Attributes
    ----------
    pools
        The pools, in fleet order (``next-pool`` cycles through the spot pools in it).
    replicas
        Serving replicas needed (k).
    horizon_hours
        Simulated time [h].
    cold_start_hours, cold_start_distribution
        Launch-to-ready time [h] and whether it is fixed or exponential with that mean.
    request_rate_per_s, request_duration_s, request_duration_distribution
        Requests per second per replica, mean service time [s] and its distribution.
    on_preemption
        Where a preempted replica's replacement goes.
    fallback_after_hours
        Launch on demand when spot cannot be had for this long [h]; None: never.
    overprovision
        Extra spot slots, added round-robin over the spot pools in fleet order.
    zone_correlation, region_correlation
        Probability that a bulk-reclaim event in one pool also strikes another pool in
        the same region, or in another region.
    sla_availability
        Availability target [fraction, e.g. 0.999].
    load
        A demand curve and scaling policy; None: ``replicas`` all the time.
    events
        Failure what-ifs injected into every trial (empty: none).
    """

    pools: tuple[PoolModel, ...]
    replicas: int
    horizon_hours: float
    cold_start_hours: float
    cold_start_distribution: Distribution = "fixed"
    request_rate_per_s: float = 0.0
    request_duration_s: float = 0.0
    request_duration_distribution: Distribution = "exponential"
    on_preemption: OnPreemption = "relaunch-same-pool"
    fallback_after_hours: float | None = None
    overprovision: int = 0
    zone_correlation: float = 0.0
    region_correlation: float = 0.0
    sla_availability: float = 0.999
    load: LoadModel | None = None
    events: tuple[ScenarioEvent, ...] = ()
