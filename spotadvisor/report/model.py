"""What a monthly report holds: plain data, no queries and no formatting."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from spotadvisor.report.engine import QueryStats
from spotadvisor.report.interruptions import Interruptions
from spotadvisor.report.period import Month
from spotadvisor.report.sql import Scope, SpotTag, Statements

MARKETS = ("spot", "on-demand", "committed", "other")

# Columns of every breakdown table (by cloud, region, instance type, tag value).
BREAKDOWN_COLUMNS = (
    "key",
    "cost",
    "previous_cost",
    "change",
    "share",
    "gpu_hours",
    "spot_hours_share",
    "spot_cost_share",
)


@dataclass(frozen=True)
class Headline:
    """The month in a few figures, all in the report currency.

    Attributes
    ----------
    cost, previous_cost
        Spend in scope this month and the month before [currency]; previous is None
        when the data has nothing for the month before.
    instance_hours, spot_instance_hours
        Instance hours, all and on spot [h].
    gpu_hours, spot_gpu_hours
        GPU hours (instance hours x GPUs per instance, plus GPUs billed on their own),
        all and on spot [GPU h].
    spot_cost
        Spend on spot capacity [currency].
    """

    cost: float
    previous_cost: float | None
    instance_hours: float
    spot_instance_hours: float
    gpu_hours: float
    spot_gpu_hours: float
    spot_cost: float

    @property
    def change(self) -> float | None:
        """Relative change from the month before [fraction], None when unknown."""
        if self.previous_cost is None or self.previous_cost == 0:
            return None
        return self.cost / self.previous_cost - 1.0

    @property
    def spot_hours_share(self) -> float | None:
        """Share of GPU hours on spot, or of instance hours when there are no GPU hours."""
        if self.gpu_hours > 0:
            return self.spot_gpu_hours / self.gpu_hours
        if self.instance_hours > 0:
            return self.spot_instance_hours / self.instance_hours
        return None

    @property
    def spot_cost_share(self) -> float | None:
        """Share of spend on spot [fraction]."""
        return self.spot_cost / self.cost if self.cost > 0 else None


@dataclass(frozen=True)
class Savings:
    """Realised savings and what is left on the table [currency].

    The identity ``on_demand_equivalent - spot - committed - other = actual`` holds by
    construction: ``other`` is whatever the first three do not explain (credits, free
    tiers, negotiated discounts, or list prices below what was billed).

    Attributes
    ----------
    on_demand_equivalent
        The month's usage at public on-demand prices: ListCost where the export has it,
        else catalog on-demand price x instance hours, else the cost itself.
    spot, committed
        Savings of spot usage and of commitments (reservations, savings plans, CUDs)
        against the on-demand price of the same usage.
    other
        The rest of the difference between on-demand equivalent and actual.
    actual
        What the month cost (effective cost).
    left_on_table
        What moving on-demand GPU usage to the recommended mixes would have saved.
    estimated
        The part of ``on_demand_equivalent`` estimated from catalog prices.
    unpriced
        Cost of lines with no list cost and no catalog price, taken at cost.
    """

    on_demand_equivalent: float
    spot: float
    committed: float
    other: float
    actual: float
    left_on_table: float
    estimated: float
    unpriced: float

    @property
    def achievable(self) -> float:
        """Spend had the recommendations been followed [currency]."""
        return self.actual - self.left_on_table

    def waterfall(self) -> list[tuple[str, float, str]]:
        """(label, amount, kind) steps from on-demand equivalent to achievable spend."""
        return [
            ("On-demand equivalent", self.on_demand_equivalent, "total"),
            ("Spot savings", -self.spot, "delta"),
            ("Commitment savings", -self.committed, "delta"),
            ("Other discounts and credits", -self.other, "delta"),
            ("Actual spend", self.actual, "total"),
            ("Left on the table", -self.left_on_table, "delta"),
            ("Achievable spend", self.achievable, "total"),
        ]


@dataclass(frozen=True)
class Opportunity:
    """One on-demand GPU group and the mix the risk engine recommends for it.

    Attributes
    ----------
    provider, region, instance_type
        The group as billed.
    gpu
        GPU model and count per instance, e.g. ``8x H100``.
    on_demand_hours
        Instance hours billed on demand this month [h].
    on_demand_cost
        Their cost [currency].
    replicas
        Instances running on average (hours / hours in the month, at least 1).
    mix
        The recommended mix, e.g. ``3 spot (2 zones) + 1 on-demand``; empty when none.
    spot_share
        Share of the mix's replicas on spot [fraction].
    breach_probability
        The mix's probability of missing the SLA in a month [fraction].
    saving_fraction
        1 - mix cost / all-on-demand cost, from the simulation [fraction].
    savings
        ``on_demand_cost x saving_fraction`` [currency].
    note
        Why there is no recommendation, when there is none.
    """

    provider: str
    region: str
    instance_type: str
    gpu: str
    on_demand_hours: float
    on_demand_cost: float
    replicas: int
    mix: str
    spot_share: float | None
    breach_probability: float | None
    saving_fraction: float
    savings: float
    note: str = ""


@dataclass(frozen=True)
class Hygiene:
    """How well spend is tagged [currency].

    Attributes
    ----------
    tags
        Tag keys checked.
    fully_tagged, partly_tagged, untagged
        Spend with every tag, some of them, none of them.
    missing_by_tag
        Spend missing each tag.
    offenders
        Resources with the most spend missing a tag (provider, resource_id, ...).
    spot_tag
        The tag marking spot workloads, or None when not checked.
    spot_untagged
        Spot spend without the spot tag.
    tagged_not_spot
        Spend carrying the spot tag that is not on spot capacity.
    spot_offenders
        Spot resources without the spot tag, most spend first.
    """

    tags: tuple[str, ...]
    fully_tagged: float
    partly_tagged: float
    untagged: float
    missing_by_tag: dict[str, float]
    offenders: pd.DataFrame
    spot_tag: SpotTag | None
    spot_untagged: float
    tagged_not_spot: float
    spot_offenders: pd.DataFrame

    @property
    def untagged_share(self) -> float | None:
        """Share of spend carrying none of the tags [fraction]."""
        total = self.fully_tagged + self.partly_tagged + self.untagged
        return self.untagged / total if total else None

    @property
    def partly_tagged_share(self) -> float | None:
        """Share of spend carrying some but not all of the tags [fraction]."""
        total = self.fully_tagged + self.partly_tagged + self.untagged
        return self.partly_tagged / total if total else None


@dataclass(frozen=True)
class Report:
    """A month of billing data as a FinOps analyst would present it.

    Attributes
    ----------
    month
        The month covered.
    currency
        Currency of every figure; spend in other currencies is in ``other_currencies``.
    scope
        ``gpu``, ``compute`` or ``all``.
    tags
        Tag keys of the breakdown; the first one is the "team" of the spot-share chart.
    headline
        Totals of the month.
    by_cloud, by_region, by_instance_type
        Breakdown tables (:data:`BREAKDOWN_COLUMNS`).
    by_tag
        A breakdown table per tag key.
    weekly
        Spend per week (rows: week, label) and market (columns: :data:`MARKETS`).
    savings
        Realised savings and savings left on the table.
    opportunities
        On-demand GPU groups and their recommended mixes, most savings first.
    recommendations
        Whether savings left on the table were evaluated (False with
        ``--max-recommendations 0``).
    hygiene
        Tag hygiene.
    source
        Where the data came from (engine description).
    generated_at
        When the report was made (UTC).
    other_currencies
        Spend in scope in other currencies, by code.
    notes
        Caveats a reader needs (estimated list prices, skipped recommendations, ...).
    stats
        What the queries cost.
    statements
        The SQL that was run.
    interruptions
        Termination notices of the month against spot exposure; None when no event
        data was given.
    """

    month: Month
    currency: str
    scope: Scope
    tags: tuple[str, ...]
    headline: Headline
    by_cloud: pd.DataFrame
    by_region: pd.DataFrame
    by_instance_type: pd.DataFrame
    by_tag: dict[str, pd.DataFrame]
    weekly: pd.DataFrame
    savings: Savings
    opportunities: tuple[Opportunity, ...]
    recommendations: bool
    hygiene: Hygiene
    source: str
    generated_at: datetime
    other_currencies: dict[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    stats: QueryStats = field(default_factory=QueryStats)
    statements: Statements | None = None
    interruptions: Interruptions | None = None

    @property
    def team_tag(self) -> str | None:
        """The tag the spot-share chart groups by (the first ``--tag``)."""
        return self.tags[0] if self.tags else None
