"""What a fleet file says, as frozen dataclasses: names as written, times in hours.

These hold the file's content only; nothing is looked up. A resolver turns a
:class:`FleetFile` plus data (prices, bands) into the engine's
:class:`~spotadvisor.sim.model.FleetModel`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Literal

from spotadvisor.sim.model import Distribution, Market, OnPreemption

if TYPE_CHECKING:
    from spotadvisor.config.load import LoadSpec, Scaling
    from spotadvisor.config.scenarios import ScenarioSpec

Cloud = Literal["aws", "gcp", "azure"]
SpotPrices = Literal["fixed", "history"]

CLOUDS: tuple[Cloud, ...] = ("aws", "gcp", "azure")
MARKETS: tuple[Market, ...] = ("spot", "on-demand")
DISTRIBUTIONS: tuple[Distribution, ...] = ("fixed", "exponential")
ON_PREEMPTION: tuple[OnPreemption, ...] = ("relaunch-same-pool", "next-pool", "on-demand")
SPOT_PRICES: tuple[SpotPrices, ...] = ("fixed", "history")


@dataclass(frozen=True)
class Workload:
    """The service to run.

    Attributes
    ----------
    name
        A label for outputs.
    replicas
        Ready replicas needed to serve the load (k, >= 1); with a ``load``, its peak.
    gpus_per_replica
        GPUs one replica needs, or None when given by memory or by the pools.
    gpu_memory_gb_per_replica
        GPU memory one replica needs [GB], or None.
    gpu
        Acceptable GPU models as written (``A100-80GB``); empty means any.
    cold_start_hours, cold_start_distribution
        Launch-to-ready time [h] (default 10 min), fixed or exponential with that mean.
    request_rate_per_s
        Requests per second per replica [1/s] (default 0).
    request_duration_s, request_duration_distribution
        Mean service time of a request [s] (default 20 s), exponential or fixed.
    throughput_tokens_per_s
        Tokens per second one replica serves [1/s], or None.
    load
        A time-varying load instead of a fixed ``replicas``, or None.
    """

    name: str
    replicas: int
    gpus_per_replica: int | None
    gpu_memory_gb_per_replica: float | None
    gpu: tuple[str, ...]
    cold_start_hours: float
    cold_start_distribution: Distribution
    request_rate_per_s: float
    request_duration_s: float
    request_duration_distribution: Distribution
    throughput_tokens_per_s: float | None
    load: LoadSpec | None = None


@dataclass(frozen=True)
class Sla:
    """The serving target and the risk budget.

    Attributes
    ----------
    availability
        Target share of time with at least ``replicas`` ready [fraction, 0-1], e.g. 0.999.
    max_breach_probability
        Largest acceptable probability that a month misses the target [fraction, 0-1].
    """

    availability: float = 0.999
    max_breach_probability: float = 0.05


@dataclass(frozen=True)
class InterruptionOverride:
    """A pool's preemption rate given in the file; exactly one attribute is set.

    Attributes
    ----------
    band
        A band label as normalised by :func:`~spotadvisor.bands.parse_band` (``5-10%``).
    monthly_rate
        Expected preemptions per instance per month [1/month] (exact, not drawn).
    mean_time_to_preemption_hours
        Mean time between preemptions of one instance [h] (exact, not drawn).
    origin
        Where the rate came from, as shown in the pools table ("fleet file", a parameter
        file, measured events); not part of equality.
    """

    band: str | None = None
    monthly_rate: float | None = None
    mean_time_to_preemption_hours: float | None = None
    origin: str = field(default="fleet file", compare=False)


@dataclass(frozen=True)
class RiskSettings:
    """Fleet-wide correlation and stock-out parameters (SPEC section 5).

    Attributes
    ----------
    bulk_reclaims_per_month
        Pool-level reclaim events per pool [1/month].
    bulk_fraction
        Mean share of a pool one event takes [fraction, 0-1].
    stockout_hours
        Mean time a pool refuses spot launches after a reclaim [h].
    zone_correlation
        Probability an event also strikes another pool of the same region [0-1].
    region_correlation
        Probability an event also strikes a pool of another region [0-1].
    """

    INDEPENDENT: ClassVar[RiskSettings]

    bulk_reclaims_per_month: float = 0.5
    bulk_fraction: float = 0.6
    stockout_hours: float = 20 / 60
    zone_correlation: float = 0.4
    region_correlation: float = 0.1


RiskSettings.INDEPENDENT = RiskSettings(0.0, 0.0, 0.0, 0.0, 0.0)

#: The documented defaults of the top-level ``risk:`` block.
DEFAULT_RISK = RiskSettings()


@dataclass(frozen=True)
class PoolRisk:
    """Per-pool overrides of :class:`RiskSettings`; None keeps the fleet-wide value.

    Attributes
    ----------
    bulk_reclaims_per_month
        Reclaim events of this pool [1/month].
    bulk_fraction
        Mean share of this pool one event takes [fraction, 0-1].
    stockout_hours
        Mean stock-out of this pool after a reclaim [h].
    """

    bulk_reclaims_per_month: float | None = None
    bulk_fraction: float | None = None
    stockout_hours: float | None = None


@dataclass(frozen=True)
class PoolSpec:
    """One entry of ``fleet:``.

    Attributes
    ----------
    index
        Position in ``fleet:`` (0-based, as in error paths such as ``fleet[0]``).
    cloud, region, zone, instance
        Where and what, as written; zone is None when not given.
    market
        ``spot`` or ``on-demand``.
    count
        Replica slots in the pool at the start (>= 0).
    price_per_hour
        Price override for this pool's market [USD/h per instance], or None for data.
    on_demand_price_per_hour
        On-demand price override for the same type [USD/h per instance], or None.
    interruption
        Preemption-rate override (spot pools only), or None for data.
    risk
        Bulk-reclaim and stock-out overrides (spot pools only), or None.
    """

    index: int
    cloud: Cloud
    region: str
    zone: str | None
    instance: str
    market: Market
    count: int
    price_per_hour: float | None = None
    on_demand_price_per_hour: float | None = None
    interruption: InterruptionOverride | None = None
    risk: PoolRisk | None = None


@dataclass(frozen=True)
class Policy:
    """What happens at a preemption.

    Attributes
    ----------
    on_preemption
        Where the replacement goes.
    fallback_after_hours
        Launch on demand when spot cannot be had for this long [h]; None: never.
    overprovision
        Extra spot replicas kept above ``replicas``.
    """

    on_preemption: OnPreemption = "relaunch-same-pool"
    fallback_after_hours: float | None = None
    overprovision: int = 0


@dataclass(frozen=True)
class FleetFile:
    """A parsed fleet file.

    Attributes
    ----------
    origin
        The file it came from.
    workload, sla, policy
        The sections of the same names (defaults where absent).
    horizon_hours
        Simulated time per trial [h] (default 30 days).
    trials
        Monte Carlo trials (default 2000).
    seed
        Random seed, or None for a fresh one.
    pools
        The ``fleet:`` entries in order; empty when the file has no ``fleet:``.
    risk
        Fleet-wide risk parameters (:data:`DEFAULT_RISK` where absent).
    risk_independent
        True when the file says ``risk: independent``.
    spot_prices
        ``fixed`` (current prices) or ``history`` (resampled price paths).
    scaling
        How the fleet follows a load (``scaling:``), or None.
    scenarios
        Failure what-ifs to run (``scenarios:``).
    """

    origin: str
    workload: Workload
    sla: Sla
    horizon_hours: float
    trials: int
    seed: int | None
    pools: tuple[PoolSpec, ...]
    policy: Policy
    risk: RiskSettings
    risk_independent: bool
    spot_prices: SpotPrices
    scaling: Scaling | None = None
    scenarios: tuple[ScenarioSpec, ...] = ()
