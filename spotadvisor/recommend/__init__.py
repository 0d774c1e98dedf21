"""``spotadvisor recommend``: search region / zone / instance / spot-share mixes and rank them.

``recommend`` loads the offers (store or embedded snapshot), runs ``search.search`` and
ranks the result with ``rank``; ``fleet_yaml`` writes a chosen mix as a fleet file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from spotadvisor.bands import HOURS_PER_MONTH
from spotadvisor.catalog import offers_view
from spotadvisor.config import FleetFile
from spotadvisor.recommend.candidates import HostFilter
from spotadvisor.recommend.rank import frontier, ranking, recommended
from spotadvisor.recommend.search import Evaluated, SearchResult, search
from spotadvisor.schema import INTERRUPTION_HISTORY, OFFERS
from spotadvisor.seeds import SeedOrigin
from spotadvisor.sources import TableData, load_table
from spotadvisor.store import Store


@dataclass(frozen=True)
class Recommendation:
    """Ranked mixes for a workload.

    Attributes
    ----------
    fleet
        Workload, SLA, horizon, trials and risk settings used.
    hosts
        Which offers could host a replica.
    budget_usd_per_month
        The budget given, if any [USD per 730 h].
    seed
        Seed of every simulation (common random numbers).
    seed_origin
        ``given`` (``--seed``, ``seed:``) or ``derived`` from the request and the data.
    search
        Every fully evaluated mix, the baseline and the search statistics.
    order
        Indices into ``search.evaluated``, best first.
    recommended
        Index into ``search.evaluated`` of the recommended mix (the first in rank order
        within the risk budget whose expected cost keeps to the budget), or None.
    frontier
        Indices into ``search.evaluated`` on the cost-risk frontier, cheapest first.
    data
        Where prices and bands came from.
    generated_at
        When the recommendation was made (UTC): for the data's age on the terminal, not
        part of the JSON (which must not change from run to run).
    """

    fleet: FleetFile
    hosts: HostFilter
    budget_usd_per_month: float | None
    seed: int
    seed_origin: SeedOrigin
    search: SearchResult
    order: tuple[int, ...]
    recommended: int | None
    frontier: tuple[int, ...]
    data: tuple[TableData, ...]
    generated_at: datetime

    def monthly(self, usd_over_horizon: float) -> float:
        """A cost over the horizon expressed per 730-hour month [USD]."""
        return usd_over_horizon * HOURS_PER_MONTH / self.fleet.horizon_hours

    def ranked(self) -> list[Evaluated]:
        """Evaluated mixes in rank order."""
        return [self.search.evaluated[i] for i in self.order]


def recommend(
    store: Store,
    fleet: FleetFile,
    hosts: HostFilter,
    *,
    seed: int | None = None,
    budget_usd_per_month: float | None = None,
    on_progress: Callable[[str, int, int], None] | None = None,
    adjust: Callable[[FleetFile], FleetFile] | None = None,
    replicas_field: str = "workload.replicas",
    trials_field: str = "trials",
) -> Recommendation:
    """Search, evaluate and rank mixes for the workload of ``fleet``.

    ``seed`` None derives the seed from the request, the tables read and the resolved
    pools (``spotadvisor.seeds``): the same request on the same data gives the same
    answer. ``adjust`` rewrites the candidate pools before they are resolved
    (``--params``, ``--rates measured``). ``replicas_field`` and ``trials_field`` say
    where the replicas and trials were given (``--replicas``, ``--trials``), for the
    error when the search would not fit this machine.
    """
    offers = load_table(store, OFFERS)
    bands = load_table(store, INTERRUPTION_HISTORY)
    snapshot_sources = offers.snapshot_sources | bands.snapshot_sources

    def label(source: str) -> str:
        return "embedded snapshot" if source in snapshot_sources else "store"

    budget = (
        None
        if budget_usd_per_month is None
        else budget_usd_per_month * fleet.horizon_hours / HOURS_PER_MONTH
    )
    result = search(
        fleet,
        offers_view(offers.frame, bands.frame),
        hosts,
        budget_usd=budget,
        seed=seed,
        data_label=label,
        on_progress=on_progress,
        adjust=adjust,
        data_identity=[offers.digest, bands.digest],
        replicas_field=replicas_field,
        trials_field=trials_field,
    )
    metrics = [e.metrics for e in result.evaluated]
    order = ranking(metrics, fleet.sla.max_breach_probability)
    # the first within the risk budget that keeps to --budget (the baseline all-on-demand
    # mix is always evaluated, even over --budget, as the reference)
    first = recommended(metrics, order, fleet.sla.max_breach_probability, budget)
    points = [(m.cost_mean.value, m.sla_breach_probability.value) for m in metrics]
    return Recommendation(
        fleet=fleet,
        hosts=hosts,
        budget_usd_per_month=budget_usd_per_month,
        seed=result.seed.value,
        seed_origin=result.seed.origin,
        search=result,
        order=tuple(order),
        recommended=first,
        frontier=tuple(frontier(points)),
        data=(offers, bands),
        generated_at=datetime.now(UTC),
    )


__all__ = ["HostFilter", "Recommendation", "recommend"]
