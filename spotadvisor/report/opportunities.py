"""Savings left on the table: what ``recommend`` would have done with on-demand GPU usage.

Each on-demand GPU group of the month (provider, region, instance type) becomes a
workload of ``round(hours / hours in month)`` replicas of the same GPU model and count,
restricted to the same cloud and region, and goes through the risk engine with the
report's SLA and risk budget. The saving of the recommended mix over the cheapest
all-on-demand mix is applied to what the group actually cost.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from spotadvisor.gpus import instance_gpus
from spotadvisor.report.model import Opportunity
from spotadvisor.report.period import Month
from spotadvisor.store import Store


@dataclass(frozen=True)
class OpportunitySettings:
    """How the report asks the risk engine.

    Attributes
    ----------
    availability
        SLA target [fraction], e.g. 0.999.
    max_breach_probability
        Risk budget: largest acceptable probability of missing the SLA in a month.
    trials
        Monte Carlo trials per group.
    limit
        Groups evaluated, the most expensive first.
    seed
        Seed of every simulation, so reports repeat.
    """

    availability: float = 0.999
    max_breach_probability: float = 0.05
    trials: int = 400
    limit: int = 5
    seed: int = 0


Progress = Callable[[str, int, int], None]


def find_opportunities(
    store: Store,
    groups: pd.DataFrame,
    month: Month,
    settings: OpportunitySettings,
    *,
    on_progress: Progress | None = None,
) -> tuple[list[Opportunity], list[str]]:
    """Recommend a mix for each of the first ``settings.limit`` on-demand GPU groups.

    Parameters
    ----------
    store
        Where offers and bands come from (the embedded snapshot fills gaps).
    groups
        :func:`spotadvisor.report.rollup.on_demand_gpu_groups` output.
    month
        The report month (for average replicas).
    settings
        SLA, risk budget, trials, limit and seed.
    on_progress
        Called with (group, done, total).

    Returns
    -------
    tuple
        The opportunities, most savings first, and notes on groups left out.
    """
    notes: list[str] = []
    chosen = groups.head(settings.limit)
    if len(groups) > settings.limit:
        rest = groups.iloc[settings.limit :]
        notes.append(
            f"{len(rest)} smaller on-demand GPU group(s) costing {rest['cost'].sum():,.2f} "
            f"were not evaluated (raise --max-recommendations)"
        )
    found: list[Opportunity] = []
    for done, row in enumerate(chosen.itertuples(index=False)):
        label = f"{row.provider} {row.region_id} {row.instance_type}"
        if on_progress:
            on_progress(label, done, len(chosen))
        found.append(
            _evaluate(
                store,
                str(row.provider),
                str(row.region_id),
                str(row.instance_type),
                float(row.instance_hours),  # type: ignore[arg-type]
                float(row.cost),  # type: ignore[arg-type]
                month,
                settings,
            )
        )
    if on_progress:
        on_progress("", len(chosen), len(chosen))
    found.sort(key=lambda o: (-o.savings, -o.on_demand_cost, o.instance_type))
    return found, notes


def _evaluate(
    store: Store,
    provider: str,
    region: str,
    instance_type: str,
    hours: float,
    cost: float,
    month: Month,
    settings: OpportunitySettings,
) -> Opportunity:
    from spotadvisor.config import parse_fleet
    from spotadvisor.config.specs import Sla
    from spotadvisor.errors import SpotadvisorError
    from spotadvisor.recommend import HostFilter, recommend
    from spotadvisor.recommend.describe import describe_mix

    gpus = instance_gpus(provider, instance_type)
    replicas = max(1, round(hours / month.hours))
    blank = Opportunity(
        provider=provider,
        region=region,
        instance_type=instance_type,
        gpu="" if gpus is None else f"{gpus.count:g}x {gpus.model}",
        on_demand_hours=hours,
        on_demand_cost=cost,
        replicas=replicas,
        mix="",
        spot_share=None,
        breach_probability=None,
        saving_fraction=0.0,
        savings=0.0,
    )
    if gpus is None or gpus.count < 1:
        return dataclasses.replace(blank, note="GPU model or count not known for this type")
    fleet = parse_fleet({"workload": {"replicas": replicas}}, origin="report")
    fleet = dataclasses.replace(
        fleet,
        sla=Sla(settings.availability, settings.max_breach_probability),
        trials=settings.trials,
        seed=settings.seed,
    )
    hosts = HostFilter(
        gpu=(gpus.model,),
        gpus_per_replica=int(gpus.count),
        clouds=(provider,),
        regions=(region,),
    )
    try:
        rec = recommend(store, fleet, hosts, seed=settings.seed)
    except SpotadvisorError as exc:
        return dataclasses.replace(blank, note=exc.message)
    if rec.recommended is None:
        return dataclasses.replace(blank, note="no mix meets the SLA within the risk budget")
    best = rec.search.evaluated[rec.recommended]
    baseline = rec.search.baseline.metrics.cost_mean.value
    fraction = max(0.0, 1.0 - best.metrics.cost_mean.value / baseline) if baseline > 0 else 0.0
    total = sum(n for _, n in best.candidate.pools) + best.candidate.overprovision
    return dataclasses.replace(
        blank,
        mix=describe_mix(best.candidate),
        spot_share=(best.candidate.spot_replicas + best.candidate.overprovision) / total,
        breach_probability=best.metrics.sla_breach_probability.value,
        saving_fraction=fraction,
        savings=cost * fraction,
    )
