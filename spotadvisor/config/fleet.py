"""Fleet files (SPEC section 3): a YAML document into a :class:`FleetFile`.

Pure: :func:`parse_fleet` takes what ``yaml.safe_load`` returned. Every problem is a
:class:`~spotadvisor.errors.UsageError` naming the file, the key path (``fleet[1].count``,
0-based like jq) and a fix.
"""

from __future__ import annotations

from collections.abc import Callable

from spotadvisor.bands import parse_band
from spotadvisor.config import limits
from spotadvisor.config.load import check_baseline, check_load_steps, parse_load, parse_scaling
from spotadvisor.config.scenarios import parse_scenarios
from spotadvisor.config.sections import Section
from spotadvisor.config.specs import (
    CLOUDS,
    DEFAULT_RISK,
    DISTRIBUTIONS,
    MARKETS,
    ON_PREEMPTION,
    SPOT_PRICES,
    FleetFile,
    InterruptionOverride,
    Policy,
    PoolRisk,
    PoolSpec,
    RiskSettings,
    Sla,
    Workload,
)
from spotadvisor.config.values import (
    Where,
    as_availability,
    as_choice,
    as_fraction,
    as_hours,
    as_number,
    as_seconds,
    as_text,
    as_whole,
    describe,
    shown,
)
from spotadvisor.config.zones import check_zone
from spotadvisor.errors import did_you_mean
from spotadvisor.gpus import GPU_MODELS, canonical_gpu
from spotadvisor.sim.model import Distribution

TOP_KEYS = (
    "workload",
    "sla",
    "horizon",
    "trials",
    "seed",
    "fleet",
    "policy",
    "risk",
    "spot_prices",
    "scaling",
    "scenarios",
)
WORKLOAD_KEYS = (
    "name",
    "replicas",
    "gpus_per_replica",
    "gpu_memory_gb_per_replica",
    "gpu",
    "cold_start",
    "cold_start_dist",
    "request_rate",
    "request_duration",
    "request_duration_dist",
    "throughput",
    "load",
)
SLA_KEYS = ("availability", "max_breach_probability")
POOL_KEYS = (
    "cloud",
    "region",
    "zone",
    "instance",
    "market",
    "count",
    "price_per_hour",
    "on_demand_price_per_hour",
    "interruption",
    "risk",
)
INTERRUPTION_KEYS = ("band", "monthly_rate", "mean_time_to_preemption")
POOL_RISK_KEYS = ("bulk_reclaims_per_month", "bulk_fraction", "stockout")
RISK_KEYS = (*POOL_RISK_KEYS, "zone_correlation", "region_correlation")
POLICY_KEYS = ("on_preemption", "fallback_after", "overprovision")

_MOVE = {
    **dict.fromkeys(WORKLOAD_KEYS, "move it under workload:"),
    **dict.fromkeys(SLA_KEYS, "move it under sla:"),
    **dict.fromkeys(POLICY_KEYS, "move it under policy:"),
    **dict.fromkeys(RISK_KEYS, "move it under risk:"),
    **{key: "it belongs to a pool: list pools under fleet:" for key in POOL_KEYS if key != "risk"},
}
_TOP_MISPLACED = {key: fix for key, fix in _MOVE.items() if key not in TOP_KEYS}
_WORKLOAD_MISPLACED = {
    **{key: "move it to the top level" for key in TOP_KEYS if key != "workload"},
    **dict.fromkeys(SLA_KEYS, "move it under sla:"),
}
_POOL_RISK_MISPLACED = {
    key: f"{key} is fleet-wide: move it to the top-level risk: block"
    for key in ("zone_correlation", "region_correlation")
}
_KNOWN_GPUS = (*GPU_MODELS, "A100-80GB", "A100-40GB", "V100-32GB", "H100-NVL")
_POOL_EXAMPLE = "{cloud: aws, region: us-east-1, instance: p4d.24xlarge, market: spot, count: 2}"


_REPLICAS_WHY = "no quota comes near it, and a trial's memory and time grow with it"


def _whole(
    minimum: int, maximum: int | None = None, why: str = "", noun: str = ""
) -> Callable[[object, Where], int]:
    return lambda value, where: as_whole(
        value, where, minimum=minimum, maximum=maximum, why=why, noun=noun
    )


def _replicas(minimum: int) -> Callable[[object, Where], int]:
    return _whole(minimum, limits.MAX_REPLICAS, _REPLICAS_WHY, "replicas")


def _number(
    *, above_zero: bool = False, maximum: float | None = None, why: str = ""
) -> Callable[[object, Where], float]:
    return lambda value, where: as_number(value, where, above=above_zero, maximum=maximum, why=why)


_price = _number(
    above_zero=True, maximum=limits.MAX_PRICE_PER_HOUR, why="prices are USD per instance-hour"
)
_per_month = _number(maximum=limits.MAX_RATE_PER_MONTH, why="that is one a minute")


def _horizon(value: object, where: Where) -> float:
    hours = as_hours(value, where, positive=True)
    if hours > limits.MAX_HORIZON_HOURS:
        raise where.error(
            f"a horizon of {limits.horizon_text(hours)} is more than spotadvisor simulates "
            "(at most 3650d, ten years)",
            "give one period, e.g. 30d for a month or 365d for a year",
        )
    return hours


def _fraction(value: object, where: Where) -> float:
    return as_fraction(value, where, percent=False)


def _positive_hours(value: object, where: Where) -> float:
    return as_hours(value, where, positive=True)


def parse_fleet(doc: object, *, origin: str) -> FleetFile:
    """Validate a fleet document and turn it into a :class:`FleetFile`.

    Parameters
    ----------
    doc
        The document as ``yaml.safe_load`` returns it.
    origin
        The file name, for errors and for :attr:`FleetFile.origin`.

    Returns
    -------
    FleetFile
        Times in hours (request duration in seconds), fractions 0-1.

    Raises
    ------
    UsageError
        For the first problem found, with the file, the key path and a fix.
    """
    where = Where(origin)
    if doc is None:
        raise where.error(
            "the fleet file is empty", "start it with a workload: block (SPEC section 3)"
        )
    if isinstance(doc, dict) and doc.get("spotadvisor") == "calibrated-parameters":
        raise where.error(
            "this is a parameter file written by 'spotadvisor calibrate', not a fleet file",
            "pass it with --params and give a fleet file (workload:, sla:, fleet:) here",
        )
    top = Section.read(
        doc,
        where,
        TOP_KEYS,
        misplaced=_TOP_MISPLACED,
        fix="write a mapping with workload:, sla:, fleet: ... at the top level",
    )
    workload = top.required("workload", _workload, "add a workload: block with replicas: N")
    risk, independent = _risk(top.data.get("risk"), top.at("risk"))
    scaling = top.maybe("scaling", parse_scaling)
    if scaling is not None and workload.load is None:
        raise top.at("scaling").error(
            "scaling: follows a time-varying load, and the workload has none",
            "add workload.load: (a profile or a CSV), or remove scaling:",
        )
    fleet = FleetFile(
        origin=origin,
        workload=workload,
        sla=top.optional("sla", _sla, Sla()),
        horizon_hours=top.optional("horizon", _horizon, 30 * 24.0),
        trials=top.optional(
            "trials",
            _whole(
                1,
                limits.MAX_TRIALS,
                "10^6 trials already give a breach probability to 0.02 points",
                "trials",
            ),
            2000,
        ),
        seed=top.maybe("seed", _whole(0, limits.MAX_SEED, "seeds are 64-bit")),
        pools=_pools(top.data["fleet"], top.at("fleet")) if "fleet" in top.data else (),
        policy=top.optional("policy", _policy, Policy()),
        risk=risk,
        risk_independent=independent,
        spot_prices=top.optional("spot_prices", lambda v, w: as_choice(v, w, SPOT_PRICES), "fixed"),
        scaling=scaling,
        scenarios=top.optional("scenarios", parse_scenarios, ()),
    )
    check_baseline(fleet, top.at("scaling"))
    check_load_steps(workload.load, fleet.horizon_hours, top.at("workload").key("load"))
    return fleet


def _workload(value: object, where: Where) -> Workload:
    sec = Section.read(value, where, WORKLOAD_KEYS, misplaced=_WORKLOAD_MISPLACED)
    if sec.has("gpus_per_replica") and sec.has("gpu_memory_gb_per_replica"):
        raise where.error(
            "gives both gpus_per_replica and gpu_memory_gb_per_replica",
            "keep one of them: a GPU count or the memory a replica needs",
        )
    load = sec.maybe("load", parse_load)
    if load is not None and sec.has("replicas"):
        raise where.error(
            "gives both replicas and load",
            "keep replicas: N for a flat load, or load: for a time-varying one",
        )
    return Workload(
        name=sec.optional("name", as_text, "workload"),
        replicas=(load.peak() or 1)
        if load is not None
        else sec.required(
            "replicas",
            _replicas(1),
            "add replicas: N, the ready replicas the load needs (or load: for a profile)",
        ),
        gpus_per_replica=sec.maybe(
            "gpus_per_replica",
            _whole(1, limits.MAX_REPLICAS, "no instance type comes near it", "GPUs"),
        ),
        gpu_memory_gb_per_replica=sec.maybe(
            "gpu_memory_gb_per_replica",
            _number(above_zero=True, maximum=limits.MAX_GPU_MEMORY_GB, why="GB per replica"),
        ),
        gpu=sec.optional("gpu", _gpu_models, ()),
        cold_start_hours=sec.optional("cold_start", as_hours, 10 / 60),
        cold_start_distribution=sec.optional("cold_start_dist", _distribution, "fixed"),
        request_rate_per_s=sec.optional(
            "request_rate",
            _number(maximum=limits.MAX_REQUEST_RATE, why="requests per second per replica"),
            0.0,
        ),
        request_duration_s=sec.optional("request_duration", _request_duration, 20.0),
        request_duration_distribution=sec.optional(
            "request_duration_dist", _distribution, "exponential"
        ),
        throughput_tokens_per_s=sec.maybe("throughput", _number(above_zero=True)),
        load=load,
    )


def _request_duration(value: object, where: Where) -> float:
    seconds = as_seconds(value, where)
    if seconds > limits.MAX_REQUEST_DURATION_S:
        raise where.error(
            f"{shown(str(value))} is longer than a request can run here (at most 1d)",
            "give the mean time to finish one request, e.g. 20s",
        )
    return seconds


def _distribution(value: object, where: Where) -> Distribution:
    return as_choice(value, where, DISTRIBUTIONS)


def _gpu_models(value: object, where: Where) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    if not items:
        raise where.error(
            "the list of GPU models is empty",
            "list at least one model, or remove gpu: to accept any",
        )
    names: list[str] = []
    for index, item in enumerate(items):
        at = where.item(index) if isinstance(value, list) else where
        name = as_text(item, at)
        if canonical_gpu(name) is None:
            hint = did_you_mean(name, _KNOWN_GPUS)
            raise at.error(
                f"unknown GPU model {name!r}", hint or f"use one of {', '.join(_KNOWN_GPUS)}"
            )
        if name not in names:
            names.append(name)
    return tuple(names)


def _sla(value: object, where: Where) -> Sla:
    sec = Section.read(value, where, SLA_KEYS)
    return Sla(
        availability=sec.optional("availability", _availability, 0.999),
        max_breach_probability=sec.optional("max_breach_probability", _fraction, 0.05),
    )


def _availability(value: object, where: Where) -> float:
    return as_availability(value, where)


def _risk(value: object, where: Where) -> tuple[RiskSettings, bool]:
    if value is None:
        return DEFAULT_RISK, False
    if isinstance(value, str):
        if value.strip().lower() != "independent":
            fix = (
                did_you_mean(value.strip(), ["independent"])
                or "write risk: independent, or a mapping"
            )
            raise where.error(f"unknown value {value!r}", fix)
        return RiskSettings.INDEPENDENT, True
    sec = Section.read(
        value,
        where,
        RISK_KEYS,
        fix=f"write risk: independent, or a mapping with {', '.join(RISK_KEYS)}",
    )
    settings = RiskSettings(
        bulk_reclaims_per_month=sec.optional(
            "bulk_reclaims_per_month", _per_month, DEFAULT_RISK.bulk_reclaims_per_month
        ),
        bulk_fraction=sec.optional("bulk_fraction", _fraction, DEFAULT_RISK.bulk_fraction),
        stockout_hours=sec.optional("stockout", as_hours, DEFAULT_RISK.stockout_hours),
        zone_correlation=sec.optional("zone_correlation", _fraction, DEFAULT_RISK.zone_correlation),
        region_correlation=sec.optional(
            "region_correlation", _fraction, DEFAULT_RISK.region_correlation
        ),
    )
    return settings, False


def _policy(value: object, where: Where) -> Policy:
    sec = Section.read(value, where, POLICY_KEYS)
    return Policy(
        on_preemption=sec.optional(
            "on_preemption", lambda v, w: as_choice(v, w, ON_PREEMPTION), "relaunch-same-pool"
        ),
        fallback_after_hours=sec.maybe("fallback_after", as_hours),
        overprovision=sec.optional("overprovision", _replicas(0), 0),
    )


def _pools(value: object, where: Where) -> tuple[PoolSpec, ...]:
    if value is None or value == []:
        raise where.error(
            "the fleet has no pools",
            "list at least one pool, or remove fleet: (recommend needs none)",
        )
    if not isinstance(value, list):
        raise where.error(
            f"expected a list of pools, got {describe(value)}",
            f"start each pool with '- ', e.g. - {_POOL_EXAMPLE}",
        )
    pools = tuple(_pool(item, where.item(index), index) for index, item in enumerate(value))
    _check_duplicates(pools, where)
    return pools


def _pool(value: object, where: Where, index: int) -> PoolSpec:
    sec = Section.read(
        value, where, POOL_KEYS, fix=f"write each pool as a mapping, e.g. {_POOL_EXAMPLE}"
    )
    cloud = sec.required(
        "cloud", lambda v, w: as_choice(v, w, CLOUDS), "add cloud: aws, gcp or azure"
    )
    region = sec.required("region", as_text, "add region:, e.g. us-east-1")
    zone = sec.maybe("zone", as_text)
    if zone is not None:
        check_zone(cloud, region, zone, sec.at("zone"))
    pool = PoolSpec(
        index=index,
        cloud=cloud,
        region=region,
        zone=zone,
        instance=sec.required(
            "instance", as_text, "add instance:, the instance type, e.g. p4d.24xlarge"
        ),
        market=sec.required(
            "market", lambda v, w: as_choice(v, w, MARKETS), "add market: spot or on-demand"
        ),
        count=sec.required("count", _replicas(0), "add count: N, the replicas in this pool"),
        price_per_hour=sec.maybe("price_per_hour", _price),
        on_demand_price_per_hour=sec.maybe("on_demand_price_per_hour", _price),
        interruption=sec.maybe("interruption", _interruption),
        risk=sec.maybe("risk", _pool_risk),
    )
    _check_on_demand(pool, sec)
    return pool


def _check_on_demand(pool: PoolSpec, sec: Section) -> None:
    if pool.market != "on-demand":
        return
    for key in ("interruption", "risk"):
        if sec.has(key):
            raise sec.at(key).error(
                "on-demand pools are never preempted", f"remove {key}:, or set market: spot"
            )
    price, on_demand = pool.price_per_hour, pool.on_demand_price_per_hour
    if price is not None and on_demand is not None and price != on_demand:
        raise sec.at("on_demand_price_per_hour").error(
            f"differs from price_per_hour ({on_demand:g} vs {price:g}) on an on-demand pool",
            "give only price_per_hour for an on-demand pool",
        )


def _interruption(value: object, where: Where) -> InterruptionOverride:
    sec = Section.read(
        value,
        where,
        INTERRUPTION_KEYS,
        fix="write interruption: {band: '5-10%'}, {monthly_rate: 0.05} or {mean_time_to_preemption: 4h}",
    )
    given = [key for key in INTERRUPTION_KEYS if sec.has(key)]
    if len(given) != 1:
        problem = f"gives {' and '.join(given)}" if given else "gives no rate"
        raise where.error(
            problem, "give exactly one of band, monthly_rate or mean_time_to_preemption"
        )
    return InterruptionOverride(
        band=sec.maybe("band", _band),
        monthly_rate=sec.maybe("monthly_rate", _per_month),
        mean_time_to_preemption_hours=sec.maybe("mean_time_to_preemption", _time_to_preemption),
    )


def _time_to_preemption(value: object, where: Where) -> float:
    hours = _positive_hours(value, where)
    if hours < limits.MIN_MEAN_TIME_TO_PREEMPTION_HOURS:
        raise where.error(
            f"{shown(str(value))} is shorter than spotadvisor simulates (at least 1m)",
            "give the mean time a spot instance runs before its notice, e.g. 10d",
        )
    return hours


def _band(value: object, where: Where) -> str:
    band = parse_band(as_text(value, where))
    if band is None:
        raise where.error(
            f"{value!r} is not an interruption band",
            "write a band label such as '<5%', '5-10%', '10-15%', '15-20%' or '>20%'",
        )
    return band.label


def _pool_risk(value: object, where: Where) -> PoolRisk:
    sec = Section.read(
        value,
        where,
        POOL_RISK_KEYS,
        misplaced=_POOL_RISK_MISPLACED,
        fix=f"write risk: as a mapping with {', '.join(POOL_RISK_KEYS)}",
    )
    return PoolRisk(
        bulk_reclaims_per_month=sec.maybe("bulk_reclaims_per_month", _per_month),
        bulk_fraction=sec.maybe("bulk_fraction", _fraction),
        stockout_hours=sec.maybe("stockout", as_hours),
    )


def _check_duplicates(pools: tuple[PoolSpec, ...], where: Where) -> None:
    seen: dict[tuple[str, str, str | None, str, str], PoolSpec] = {}
    for pool in pools:
        key = (pool.cloud, pool.region, pool.zone, pool.instance, pool.market)
        first = seen.setdefault(key, pool)
        if first is not pool:
            label = " ".join(part for part in key if part)
            raise where.item(pool.index).error(
                f"duplicates fleet[{first.index}] ({label})",
                f"merge fleet[{first.index}] and fleet[{pool.index}] into one pool with count: {first.count + pool.count}",
            )
