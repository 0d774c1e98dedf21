"""Search candidate mixes and evaluate the promising ones with the engine.

1. Every pool that can host a replica is resolved once (prices, band, sources).
2. Candidates are built per group and across regions (``candidates``).
3. Cheap analytic pruning, before any simulation:
   - over the monthly budget at their nominal cost;
   - dominated: a nominal cost (spot replicas billed all month at the spot price) at or
     above the cheapest all-on-demand mix, which meets any SLA for sure;
   - hopeless: even with every pool at the low end of its band, no bulk reclaims and no
     stock-outs, the closed-form long-run availability is below the SLA target.
4. Racing with common random numbers (every mix simulated from the same seed): a short
   run for every survivor, then a full run for the cheapest plausible ones and the
   cost-risk frontier.
5. Finalist precision (``refine``): the mixes that decide the answer get more trials,
   until their breach probability is known to 0.25 points or clearly apart from the
   risk budget.

Without a seed, the seed is derived from the request, the data and the resolved pools
(``spotadvisor.seeds``), so the same request on the same data gives the same answer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, cast

import numpy as np
import pandas as pd

from spotadvisor.bands import HOURS_PER_MONTH
from spotadvisor.config import FleetFile, PoolSpec
from spotadvisor.errors import UsageError
from spotadvisor.fleet import ResolvedPool, resolve_fleet
from spotadvisor.recommend.candidates import (
    CROSS_REGION_TOP,
    Candidate,
    HostFilter,
    PoolKey,
    cross_region_candidates,
    group_candidates,
    hostable_offers,
    spot_usable,
)
from spotadvisor.recommend.rank import frontier
from spotadvisor.recommend.refine import refine
from spotadvisor.recommend.size import check_search
from spotadvisor.seeds import Seed, choose_seed, frame_digest
from spotadvisor.sim import closed_form as cf
from spotadvisor.sim.load import demand_step
from spotadvisor.sim.model import FleetModel, PoolModel
from spotadvisor.sim.results import Metrics, TrialResults, summarize
from spotadvisor.sim.scenarios import fleet_plan
from spotadvisor.sim.sweep import simulate_many

DEFAULT_FALLBACK_HOURS = 0.25
Cloud = Literal["aws", "gcp", "azure"]
Market = Literal["spot", "on-demand"]
STAGE2_CHEAPEST = 40  # plausible mixes simulated in full, cheapest first
STAGE1_SHARE = 8  # the short run uses trials / 8 (at least STAGE1_MIN)
STAGE1_MIN = 100
CONFIDENCE_SE = 2.0  # feasibility is judged at breach probability + 2 standard errors


@dataclass(frozen=True)
class Evaluated:
    """A candidate, its engine model and its metrics.

    Attributes
    ----------
    candidate
        The mix.
    model
        The engine's input for it.
    metrics
        Summary of its simulation.
    nominal_cost
        Cost over the horizon if no replica were ever replaced [USD].
    finalist
        True when it was a finalist and so simulated to the finalist precision
        (``refine``); ``metrics.trials`` gives its trials.
    """

    candidate: Candidate
    model: FleetModel
    metrics: Metrics
    nominal_cost: float
    finalist: bool = False


@dataclass(frozen=True)
class SearchStats:
    """How many candidates each stage kept, and the trials each stage simulated.

    Attributes
    ----------
    generated, over_budget, dominated, hopeless
        Candidates built, and those pruned before any simulation.
    short_run, short_trials
        Mixes screened, and trials each.
    full_run, full_trials
        Mixes fully evaluated, and trials each before refinement.
    finalists
        Fully evaluated mixes that were finalists (``refine``).
    refined
        Finalists that got more trials than ``full_trials``.
    refine_trials
        Trials simulated for them (a partial chunk run again included).
    finalist_trials_min, finalist_trials_max
        Fewest and most trials a finalist ended with.
    """

    generated: int
    over_budget: int
    dominated: int
    hopeless: int
    short_run: int
    full_run: int
    short_trials: int
    full_trials: int
    finalists: int = 0
    refined: int = 0
    refine_trials: int = 0
    finalist_trials_min: int = 0
    finalist_trials_max: int = 0

    @property
    def simulated_trials(self) -> int:
        """Every trial the search simulated: screening, full runs and refinement."""
        return (
            self.short_run * self.short_trials
            + self.full_run * self.full_trials
            + self.refine_trials
        )


@dataclass(frozen=True)
class SearchResult:
    """Evaluated mixes (full runs), the frontier and the bookkeeping.

    Attributes
    ----------
    evaluated
        Every mix simulated in full.
    baseline
        The cheapest all-on-demand mix (simulated in full).
    pools
        Every pool used, resolved, with the sources of its inputs.
    stats
        Pruning and racing counts.
    notes
        Assumptions to tell the user.
    seed
        The seed of every simulation, and whether it was given or derived.
    """

    evaluated: tuple[Evaluated, ...]
    baseline: Evaluated
    pools: dict[PoolKey, ResolvedPool]
    stats: SearchStats
    notes: tuple[str, ...]
    seed: Seed


def pool_specs(hosts: pd.DataFrame, spec: HostFilter) -> list[tuple[PoolKey, PoolSpec]]:
    """One spot pool per usable zone row and one on-demand pool per group."""
    usable = spot_usable(hosts, spec)
    pairs: list[tuple[PoolKey, PoolSpec]] = []
    seen: set[PoolKey] = set()
    for record, spot_ok in zip(hosts.to_dict("records"), usable, strict=True):
        cloud, region, instance = (
            str(record["cloud"]),
            str(record["region"]),
            str(record["instance_type"]),
        )
        zone_value = record["zone_id"] if cloud == "aws" else record["zone"]
        zone = str(zone_value) if isinstance(zone_value, str) else None
        keys = [PoolKey(cloud, region, None, instance, "on-demand")]
        if spot_ok:
            keys.append(PoolKey(cloud, region, zone, instance, "spot"))
        for key in keys:
            if key in seen:
                continue
            seen.add(key)
            pairs.append((key, _spec(len(pairs), key)))
    return pairs


def _spec(index: int, key: PoolKey) -> PoolSpec:
    return PoolSpec(
        index=index,
        cloud=cast(Cloud, key.cloud),
        region=key.region,
        zone=key.zone,
        instance=key.instance,
        market=cast(Market, key.market),
        count=1,
        price_per_hour=None,
        on_demand_price_per_hour=None,
        interruption=None,
        risk=None,
    )


def _groups(
    pools: dict[PoolKey, ResolvedPool],
) -> dict[tuple[str, str, str], tuple[list[PoolKey], PoolKey]]:
    """Per (cloud, region, instance): spot zones cheapest first, and the on-demand pool."""
    spot: dict[tuple[str, str, str], list[PoolKey]] = {}
    on_demand: dict[tuple[str, str, str], PoolKey] = {}
    for key in pools:
        group = (key.cloud, key.region, key.instance)
        if key.market == "spot":
            spot.setdefault(group, []).append(key)
        else:
            on_demand[group] = key
    return {
        group: (sorted(spot.get(group, []), key=lambda k: pools[k].model.price_per_hour), od)
        for group, od in on_demand.items()
    }


def build_candidates(
    pools: dict[PoolKey, ResolvedPool], replicas: int, fallback_hours: float
) -> list[Candidate]:
    """Every candidate: per group, then across the cheapest regions of each instance type."""
    groups = _groups(pools)
    out: list[Candidate] = []
    for zones, od in groups.values():
        out.extend(group_candidates(zones, od, replicas, fallback_hours))
    by_type: dict[tuple[str, str], list[tuple[float, PoolKey, PoolKey]]] = {}
    for (cloud, _region, instance), (zones, od) in groups.items():
        if zones:
            by_type.setdefault((cloud, instance), []).append(
                (pools[zones[0]].model.price_per_hour, zones[0], od)
            )
    for regions in by_type.values():
        cheapest = sorted(regions, key=lambda r: r[0])[:CROSS_REGION_TOP]
        if len(cheapest) >= 2:
            out.extend(
                cross_region_candidates(
                    [z for _, z, _ in cheapest], cheapest[0][2], replicas, fallback_hours
                )
            )
    return out


def candidate_model(
    candidate: Candidate, pools: dict[PoolKey, ResolvedPool], template: FleetModel
) -> FleetModel:
    """The engine's input for a candidate, from resolved pools and fleet-wide settings."""
    chosen = tuple(
        dataclasses.replace(pools[key].model, count=count) for key, count in candidate.pools
    )
    load = template.load
    if load is not None:  # peaks on demand, priced like the candidate's own type
        host = next((p for p in chosen if p.market == "on-demand"), chosen[0])
        load = dataclasses.replace(
            load, peak_price_per_hour=host.on_demand_price_per_hour, peak_region=host.region
        )
    return dataclasses.replace(
        template,
        load=load,
        pools=chosen,
        overprovision=candidate.overprovision,
        fallback_after_hours=candidate.fallback_after_hours,
        on_preemption=candidate.on_preemption,  # type: ignore[arg-type]
    )


def nominal_cost(model: FleetModel) -> float:
    """Cost over the horizon if every slot ran all the time at its pool's price [USD].

    With a load profile, plus the (deterministic) cost of the on-demand peak replicas.
    """
    hourly = sum(p.count * p.price_per_hour for p in model.pools)
    spot = [p for p in model.pools if p.market == "spot"]
    if spot and model.overprovision:
        hourly += model.overprovision * sum(p.price_per_hour for p in spot) / len(spot)
    peaks = fleet_plan(model).peak_cost if model.load is not None else 0.0
    return hourly * model.horizon_hours + peaks


def baseline_sizes(model: FleetModel) -> list[int]:
    """Fleet sizes to try under a load: the lowest, median and highest demand (>= 1).

    Without a load, just ``replicas``. The median is time-weighted.
    """
    if model.load is None:
        return [model.replicas]
    step = demand_step(model.load.demand, model.horizon_hours)
    order = np.argsort(step.values)
    weight = np.cumsum(step.lengths()[order])
    median = int(step.values[order][np.searchsorted(weight, weight[-1] / 2)])
    low, high = int(step.values.min()), int(step.values.max())
    return sorted({max(1, low), max(1, median), max(1, high)})


def availability_ceiling(model: FleetModel) -> float:
    """Closed-form long-run availability with every band at its low end and no bulk events.

    No real month of this mix can do better on average, so a ceiling below the target
    marks the mix hopeless without simulating it.
    """
    slots: list[float] = []
    spot = [p for p in model.pools if p.market == "spot"]
    for pool in model.pools:
        slots += [_slot_ceiling(pool, model.cold_start_hours)] * pool.count
    for i in range(model.overprovision):
        slots.append(_slot_ceiling(spot[i % len(spot)], model.cold_start_hours))
    return cf.k_of_n_availability_hetero(slots, model.replicas)


def _slot_ceiling(pool: PoolModel, cold_start_hours: float) -> float:
    if pool.market != "spot":
        return 1.0
    hazard = pool.hazard
    rate = (
        hazard.rate_per_hour
        if hazard.rate_per_hour is not None
        else cf.monthly_probability_to_hazard(hazard.p_low)
    )
    return cf.slot_availability(rate * pool.instances_per_replica, cold_start_hours)


def search(
    fleet: FleetFile,
    view: pd.DataFrame,
    hosts_filter: HostFilter,
    *,
    budget_usd: float | None,
    seed: int | None,
    data_label: str | Callable[[str], str],
    on_progress: Callable[[str, int, int], None] | None = None,
    adjust: Callable[[FleetFile], FleetFile] | None = None,
    data_identity: Sequence[str] | None = None,
    replicas_field: str = "workload.replicas",
    trials_field: str = "trials",
) -> SearchResult:
    """Find, prune, race and fully evaluate candidate mixes for ``fleet``'s workload.

    Parameters
    ----------
    fleet
        Workload, SLA, horizon, trials, risk and policy (its ``fleet:`` list is ignored).
    view
        The offers view.
    hosts_filter
        Which offers may host a replica.
    budget_usd
        Highest acceptable expected cost over the horizon [USD]; None: no limit.
    seed
        Seed of every simulation (common random numbers); None derives it from the
        request, ``data_identity`` and the resolved pools (:func:`request_seed`).
    data_label
        Where the offers came from, for provenance.
    on_progress
        Called with (stage, done, total).
    adjust
        Rewrites the fleet of every candidate pool before resolution (``--params``).
    data_identity
        Digests of the tables ``view`` was built from (``TableData.digest``); None: a
        digest of ``view`` itself.
    replicas_field, trials_field
        Where the replicas and the trials were given (``--replicas``, ``--trials``),
        for the error when the search would not fit this machine
        (:func:`spotadvisor.recommend.size.check_search`).
    """
    hosts = hostable_offers(view, hosts_filter)
    if hosts.empty:
        raise UsageError(
            "no offer can host a replica with these requirements",
            field="--gpu",
            fix="loosen --gpu, --gpus-per-replica, --clouds, --regions or --max-band; "
            "see what exists with 'spotadvisor offers'",
        )
    pairs = pool_specs(hosts, hosts_filter)
    everything = dataclasses.replace(fleet, pools=tuple(spec for _, spec in pairs))
    if adjust is not None:
        everything = adjust(everything)
    resolved = resolve_fleet(everything, view, data_label=data_label)
    pools = {key: pool for (key, _), pool in zip(pairs, resolved.pools, strict=True)}
    template = resolved.model
    identity = list(data_identity) if data_identity is not None else [frame_digest(view)]
    chosen_seed = request_seed(seed, fleet, hosts_filter, budget_usd, identity, template)
    seed_value = chosen_seed.value
    fallback = fleet.policy.fallback_after_hours or DEFAULT_FALLBACK_HOURS

    sizes = baseline_sizes(template)
    _check_size(fleet, template, pools, max(sizes), (replicas_field, trials_field))
    candidates = _all_candidates(pools, sizes, fallback)
    models = [candidate_model(c, pools, template) for c in candidates]
    nominal = [nominal_cost(m) for m in models]
    baseline_index, sure_index = _references(candidates, nominal, sizes[-1])
    best_sure = nominal[sure_index]
    over_budget = dominated = hopeless = 0
    survivors: list[int] = []
    for i, model in enumerate(models):
        if budget_usd is not None and nominal[i] > budget_usd:
            over_budget += 1
        elif i not in (baseline_index, sure_index) and nominal[i] >= best_sure:
            dominated += 1
        elif model.load is None and availability_ceiling(model) < fleet.sla.availability:
            hopeless += 1
        else:
            survivors.append(i)
    if baseline_index not in survivors and (
        budget_usd is None or nominal[baseline_index] <= budget_usd
    ):
        survivors.append(baseline_index)
    if not survivors:
        raise _nothing_fits(fleet, budget_usd or 0.0, best_sure)

    trials = fleet.trials
    always = {baseline_index} | ({sure_index} & set(survivors))
    final, short = _screen(fleet, models, survivors, always, seed_value, on_progress)
    final_models = [models[i] for i in final]
    full_runs = _run(final_models, trials, seed_value, on_progress, "evaluating")

    def extend(batch: list[FleetModel], more: int, first_trial: int) -> list[TrialResults]:
        return _run(batch, more, seed_value, on_progress, "finalists", first_trial=first_trial)

    refined = refine(final_models, full_runs, sla=fleet.sla, budget_usd=budget_usd, run=extend)
    evaluated = tuple(
        Evaluated(candidates[i], models[i], m, nominal[i], finalist=j in refined.finalists)
        for j, (i, m) in enumerate(zip(final, refined.metrics, strict=True))
    )
    baseline = next(e for i, e in zip(final, evaluated, strict=True) if i == baseline_index)
    finalist_trials = [e.metrics.trials for e in evaluated if e.finalist] or [trials]
    stats = SearchStats(
        len(candidates),
        over_budget,
        dominated,
        hopeless,
        len(survivors),
        len(final),
        short,
        trials,
        finalists=len(refined.finalists),
        refined=refined.refined,
        refine_trials=refined.trials,
        finalist_trials_min=min(finalist_trials),
        finalist_trials_max=max(finalist_trials),
    )
    notes = _summarise_notes(resolved.notes)
    if template.load is not None:
        notes += (
            f"time-varying load: fleets of {', '.join(map(str, sizes))} replicas tried, "
            "with on-demand peak replicas for the demand above them",
        )
    return SearchResult(evaluated, baseline, pools, stats, notes, chosen_seed)


def _screen(
    fleet: FleetFile,
    models: list[FleetModel],
    survivors: list[int],
    always: set[int],
    seed: int,
    on_progress: Callable[[str, int, int], None] | None,
) -> tuple[list[int], int]:
    """Short runs of the survivors: the mixes to simulate in full, and the short trials.

    Kept: the cheapest plausible ones (breach - 2 s.e. within the budget), the cost-risk
    frontier of the short runs, and ``always`` (the references).
    """
    short = _short_trials(fleet.trials)
    short_metrics = [
        summarize(r, fleet.sla.availability)
        for r in _run([models[i] for i in survivors], short, seed, on_progress, "screening")
    ]
    plausible = [
        (i, m)
        for i, m in zip(survivors, short_metrics, strict=True)
        if m.sla_breach_probability.value - CONFIDENCE_SE * m.sla_breach_probability.stderr
        <= fleet.sla.max_breach_probability
    ]
    keep = {i for i, _ in sorted(plausible, key=lambda p: p[1].cost_mean.value)[:STAGE2_CHEAPEST]}
    points = [(m.cost_mean.value, m.sla_breach_probability.value) for m in short_metrics]
    keep |= {survivors[j] for j in frontier(points)}
    return sorted(keep | always), short


def _check_size(
    fleet: FleetFile,
    template: FleetModel,
    pools: dict[PoolKey, ResolvedPool],
    replicas: int,
    fields: tuple[str, str],
) -> None:
    """Refuse a search too large for this machine before its mixes are built."""
    groups = _groups(pools)
    check_search(
        fleet,
        template,
        [pools[zones[0]].model for zones, _ in groups.values() if zones],
        [len(zones) for zones, _ in groups.values()],
        replicas,
        _short_trials,
        replicas_field=fields[0],
        trials_field=fields[1],
    )


def _short_trials(trials: int) -> int:
    """Trials of the screening run: an eighth of the full run's, at least STAGE1_MIN."""
    return max(STAGE1_MIN, trials // STAGE1_SHARE)


def request_seed(
    seed: int | None,
    fleet: FleetFile,
    hosts: HostFilter,
    budget_usd: float | None,
    data_identity: Sequence[str],
    template: FleetModel,
) -> Seed:
    """``seed`` when given, else the one derived from what decides the answer.

    Parameters
    ----------
    seed
        The seed given (``--seed``, ``seed:``), or None.
    fleet
        The workload, SLA, risk, policy, horizon and trials after every flag; where the
        file lives, its ``seed`` and its what-ifs are not part of the request.
    hosts
        Which offers may host a replica (``--gpu``, ``--clouds``, ``--max-band``...).
    budget_usd
        ``--budget`` over the horizon [USD], or None.
    data_identity
        Digests of the tables read.
    template
        The engine's input with every candidate pool resolved (prices, bands, and the
        hazards and risk ``--params`` or ``--rates measured`` gave them).
    """
    request = dataclasses.replace(fleet, origin="", seed=None, pools=(), scenarios=())
    return choose_seed(
        seed,
        "recommend",
        {"fleet": request, "hosts": hosts, "budget_usd": budget_usd},
        list(data_identity),
        template,
    )


def _nothing_fits(fleet: FleetFile, budget_usd: float, best_sure: float) -> UsageError:
    """The error when every mix is over ``--budget``, in its unit: USD per 730-hour month."""
    per_month = HOURS_PER_MONTH / fleet.horizon_hours  # budget_usd is over the horizon
    return UsageError(
        f"no mix fits the budget of ${budget_usd * per_month:,.0f} a month",
        field="--budget",
        fix=f"the cheapest all-on-demand mix costs ${best_sure * per_month:,.0f} a month "
        "(730 h); raise --budget or lower --replicas",
    )


def _references(candidates: list[Candidate], nominal: list[float], peak: int) -> tuple[int, int]:
    """The cheapest all-on-demand mix, and the cheapest sure one (all on demand at the peak).

    Without a load the two are the same mix. Under a load, all on demand at the peak
    size needs no peak replicas and meets any SLA for sure, so it bounds dominance.
    """
    all_on_demand = [i for i, c in enumerate(candidates) if c.spot_replicas == 0]
    baseline = min(all_on_demand, key=lambda i: nominal[i])
    sure = [i for i in all_on_demand if candidates[i].on_demand_replicas == peak]
    return baseline, min(sure, key=lambda i: nominal[i]) if sure else baseline


def _all_candidates(
    pools: dict[PoolKey, ResolvedPool], sizes: list[int], fallback: float
) -> list[Candidate]:
    """Candidates for every fleet size, each mix once.

    A mix can arise twice: at two sizes of a load profile, or when a zone spread wider
    than the spot replicas leaves its extra zones empty (2 replicas over 3 zones is the
    same mix as over 2).
    """
    candidates = [c for size in sizes for c in build_candidates(pools, size, fallback)]
    return list(dict.fromkeys(candidates))


def _run(
    models: list[FleetModel],
    trials: int,
    seed: int,
    on_progress: Callable[[str, int, int], None] | None,
    stage: str,
    *,
    first_trial: int = 0,
) -> list[TrialResults]:
    def report(done: int, total: int) -> None:
        if on_progress is not None:
            on_progress(stage, done, total)

    return simulate_many(models, trials, seed, on_progress=report, first_trial=first_trial)


def _summarise_notes(notes: tuple[str, ...]) -> tuple[str, ...]:
    """Collapse the per-pool notes of resolution into a few lines."""
    assumed = [n for n in notes if "no published interruption band" in n]
    medians = [n for n in notes if "median of" in n]
    rest = [n for n in notes if n not in assumed and n not in medians]
    out = list(rest)
    if assumed:
        out.append(
            f"{len(assumed)} spot pools have no published interruption band (GCP and Azure publish none "
            "in the shipped data): they are assumed to be in the worst band, >20%/month, not risk-free; "
            "'spotadvisor collect gcp --project ID' measures GCP pools from Compute Engine's preemption history"
        )
    return tuple(out)
