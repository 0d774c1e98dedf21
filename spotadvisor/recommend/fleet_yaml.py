"""Write a mix as a fleet file that ``simulate`` and ``gate`` read back to the same model."""

from __future__ import annotations

from typing import Any

import yaml

from spotadvisor.config import FleetFile
from spotadvisor.config.load import LoadSpec
from spotadvisor.recommend.candidates import Candidate


def _duration(hours: float) -> str:
    """Hours as the shortest exact duration string (``15m``, ``30d``, ``90s``)."""
    seconds = round(hours * 3600)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def fleet_document(fleet: FleetFile, candidate: Candidate, seed: int) -> dict[str, Any]:
    """The fleet-file mapping of a candidate, with the workload, SLA and risk it was judged on."""
    wl = fleet.workload
    workload: dict[str, Any] = {"name": wl.name}
    if wl.load is None:
        workload["replicas"] = wl.replicas
    else:
        workload["load"] = load_document(wl.load)
    if wl.gpus_per_replica is not None:
        workload["gpus_per_replica"] = wl.gpus_per_replica
    if wl.gpu_memory_gb_per_replica is not None:
        workload["gpu_memory_gb_per_replica"] = wl.gpu_memory_gb_per_replica
    if wl.gpu:
        workload["gpu"] = list(wl.gpu)
    workload |= {
        "cold_start": _duration(wl.cold_start_hours),
        "cold_start_dist": wl.cold_start_distribution,
        "request_rate": wl.request_rate_per_s,
        "request_duration": f"{wl.request_duration_s:g}s",
        "request_duration_dist": wl.request_duration_distribution,
    }
    if wl.throughput_tokens_per_s is not None:
        workload["throughput"] = wl.throughput_tokens_per_s
    policy: dict[str, Any] = {
        "on_preemption": candidate.on_preemption,
        "overprovision": candidate.overprovision,
    }
    if candidate.fallback_after_hours is not None:
        policy["fallback_after"] = _duration(candidate.fallback_after_hours)
    risk: Any = (
        "independent"
        if fleet.risk_independent
        else {
            "bulk_reclaims_per_month": fleet.risk.bulk_reclaims_per_month,
            "bulk_fraction": fleet.risk.bulk_fraction,
            "stockout": _duration(fleet.risk.stockout_hours),
            "zone_correlation": fleet.risk.zone_correlation,
            "region_correlation": fleet.risk.region_correlation,
        }
    )
    pools = []
    for key, count in candidate.pools:
        pool: dict[str, Any] = {"cloud": key.cloud, "region": key.region}
        if key.zone:
            pool["zone"] = key.zone
        pool |= {"instance": key.instance, "market": key.market, "count": count}
        pools.append(pool)
    extra: dict[str, Any] = {}
    if fleet.scaling is not None:
        sc = fleet.scaling
        extra["scaling"] = {
            "baseline": sc.baseline,
            "peak": sc.peak,
            "scale_up_delay": _duration(sc.scale_up_delay_hours),
            "prewarm": _duration(sc.prewarm_hours),
            "cooldown": _duration(sc.cooldown_hours),
            "critical_share": sc.critical_share,
        }
    kept, _ = scenarios_for(fleet, candidate)
    if kept:
        extra["scenarios"] = kept
    return {
        "workload": workload,
        "sla": {
            "availability": round(fleet.sla.availability * 100, 10),
            "max_breach_probability": fleet.sla.max_breach_probability,
        },
        "horizon": _duration(fleet.horizon_hours),
        "trials": fleet.trials,
        "seed": seed,
        "fleet": pools,
        "policy": policy,
        "risk": risk,
        "spot_prices": fleet.spot_prices,
        **extra,
    }


def scenarios_for(fleet: FleetFile, candidate: Candidate) -> tuple[list[str], list[str]]:
    """The workload file's what-ifs that apply to this mix, and those left out.

    A what-if naming a zone, region or instance type the mix does not use, or a pool by
    its index in the workload file (``fleet[0]``), would make the saved file fail.
    """
    keys = [key for key, _ in candidate.pools]
    spot = [key for key in keys if key.market == "spot"]
    kept: list[str] = []
    dropped: list[str] = []
    for spec in fleet.scenarios:
        if spec.kind == "zone-outage":
            applies = any(k.zone and spec.target in ("any", k.zone) for k in keys)
        elif spec.kind == "region-loss":
            applies = any(spec.target in ("any", k.region) for k in keys)
        else:
            applies = any(spec.target in ("any", k.zone, k.region, k.instance) for k in spot)
        (kept if applies else dropped).append(spec.text)
    return kept, dropped


def load_document(load: LoadSpec) -> dict[str, Any]:
    """``workload.load`` as written back to a fleet file."""
    if load.profile is not None:
        return {
            "profile": list(load.profile),
            "timezone": load.timezone,
            "start": load.start.isoformat(),
        }
    out: dict[str, Any] = {"csv": load.csv}
    if load.column:
        out["column"] = load.column
    out["interval"] = _duration(load.interval_hours)
    out["requests_per_replica"] = load.requests_per_replica
    if load.max_replicas is not None:
        out["max_replicas"] = load.max_replicas
    out["start"] = load.start.isoformat()
    return out


def fleet_yaml(fleet: FleetFile, candidate: Candidate, seed: int, *, header: str = "") -> str:
    """The fleet file as YAML text, with an optional comment header."""
    body = yaml.safe_dump(
        fleet_document(fleet, candidate, seed), sort_keys=False, default_flow_style=None
    )
    _, dropped = scenarios_for(fleet, candidate)
    if dropped:
        header += (
            f"\nWhat-ifs left out (they name pools this mix does not use): {', '.join(dropped)}"
        )
    comments = "".join(f"# {line}\n" for line in header.splitlines())
    return comments + body
