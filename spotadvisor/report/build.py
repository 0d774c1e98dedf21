"""Build a :class:`~spotadvisor.report.model.Report`: queries -> rollups -> recommendations.

Data flows one way: the engine runs the statements of :mod:`spotadvisor.report.sql`,
:mod:`spotadvisor.report.rollup` turns the results into tables, and
:mod:`spotadvisor.report.opportunities` asks the risk engine about on-demand GPU usage.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import pandas as pd

from spotadvisor.errors import DataError
from spotadvisor.gpus import instance_gpus
from spotadvisor.report import rollup
from spotadvisor.report.engine import QueryEngine
from spotadvisor.report.interruptions import InterruptionEvent
from spotadvisor.report.interruptions import summarise as summarise_interruptions
from spotadvisor.report.model import Hygiene, Opportunity, Report
from spotadvisor.report.opportunities import OpportunitySettings, find_opportunities
from spotadvisor.report.sql import ReportQuery, statements
from spotadvisor.store import Store

Progress = Callable[[str, int, int], None]


def build_report(
    engine: QueryEngine,
    source: str,
    query: ReportQuery,
    store: Store,
    *,
    opportunities: OpportunitySettings | None = OpportunitySettings(),
    currency: str | None = None,
    interruption_events: Sequence[InterruptionEvent] | None = None,
    on_progress: Progress | None = None,
) -> Report:
    """Run the report's queries on ``engine`` and assemble the report.

    Parameters
    ----------
    engine
        Where the SQL runs.
    source
        The ``lines`` SELECT for the engine's table, in the engine's dialect.
    query
        Month, tags, spot tag, scope.
    store
        Offers and bands for catalog list prices and recommendations.
    opportunities
        Settings of the savings-left-on-the-table section; None skips it.
    currency
        Report currency; default the one with the most spend.
    interruption_events
        Termination notices (``watch --log`` files...); None: the report says it has
        no interruption data.
    on_progress
        Called with (step, done, total) while queries and simulations run.
    """
    sql = statements(query, source, engine.dialect)
    results: dict[str, pd.DataFrame] = {}
    steps = list(sql.items())
    for done, (label, statement) in enumerate(steps):
        if on_progress:
            on_progress(f"query: {label}", done, len(steps))
        results[label] = engine.run(statement, label=label)

    cube = rollup.normalise(results["spend cube"], len(query.tags))
    if not (cube["period"] == "current").any():
        wider = {"gpu": "compute, all", "compute": "all"}.get(query.scope)
        widen = f" or a wider --scope ({wider})" if wider else ""
        raise DataError(
            f"no {'' if query.scope == 'all' else query.scope + ' '}billing lines in "
            f"{query.month.title} ({engine.describe()})",
            field="--month",
            fix=f"choose a month the billing data covers{widen}; "
            "'spotadvisor data status' shows what the store holds",
        )
    spend = rollup.spend_by_currency(cube)
    main = currency or next(iter(spend))
    if main not in spend:
        has = ", ".join(spend)
        raise DataError(
            f"no {query.scope} spend in {main} in {query.month.title} (the billing data is in {has})",
            field="--currency",
            fix=f"use --currency {next(iter(spend))}, or leave --currency out",
        )
    others = {code: amount for code, amount in spend.items() if code != main}
    cube = cube[cube["currency"] == main]
    cube = rollup.add_usage(cube, _gpu_count, _catalog_prices(store) if main == "USD" else None)
    notes: list[str] = []

    found: list[Opportunity] = []
    if opportunities is not None:
        groups = rollup.on_demand_gpu_groups(cube)

        def progress(label: str, done: int, total: int) -> None:
            if on_progress:
                on_progress(f"simulate: {label}" if label else "simulate", done, total)

        found, skipped = find_opportunities(
            store, groups, query.month, opportunities, on_progress=progress
        )
        notes.extend(skipped)
        if main != "USD" and found:
            notes.append(f"savings left on the table apply USD simulation ratios to {main} spend")
    left = sum(o.savings for o in found)
    savings = rollup.savings(cube, left)
    if savings.estimated:
        notes.append(
            f"{savings.estimated:,.2f} {main} of the on-demand equivalent is estimated from "
            "catalog on-demand prices (the export has no list cost for those lines)"
        )
    if savings.unpriced:
        notes.append(
            f"{savings.unpriced:,.2f} {main} of spend has no list cost or catalog price; "
            "it counts at cost in the on-demand equivalent"
        )
    for code, amount in others.items():
        notes.append(f"{amount:,.2f} {code} of spend in {code} is left out (report is in {main})")

    full, partly, none, missing = rollup.tag_coverage(cube, len(query.tags))
    spot_untagged, tagged_not_spot = rollup.spot_tag_mismatch(cube)
    hygiene = Hygiene(
        tags=query.tags,
        fully_tagged=full,
        partly_tagged=partly,
        untagged=none,
        missing_by_tag=dict(zip(query.tags, missing, strict=True)),
        offenders=_offenders(results["untagged resources"], main, query.tags),
        spot_tag=query.spot_tag,
        spot_untagged=spot_untagged if query.spot_tag else 0.0,
        tagged_not_spot=tagged_not_spot if query.spot_tag else 0.0,
        spot_offenders=_offenders(
            results["spot resources without the spot tag"] if query.spot_tag else None, main, ()
        ),
    )
    return Report(
        month=query.month,
        currency=main,
        scope=query.scope,
        tags=query.tags,
        headline=rollup.headline(cube),
        by_cloud=rollup.breakdown(cube, "provider"),
        by_region=rollup.breakdown(cube, "region_id"),
        by_instance_type=rollup.breakdown(cube, "instance_type"),
        by_tag={
            key: rollup.breakdown(cube, f"tag_{i}", missing="(untagged)")
            for i, key in enumerate(query.tags)
        },
        weekly=rollup.weekly(cube, query.month),
        savings=savings,
        opportunities=tuple(found),
        recommendations=opportunities is not None,
        hygiene=hygiene,
        source=engine.describe(),
        generated_at=datetime.now(UTC),
        other_currencies=others,
        notes=tuple(notes),
        stats=engine.stats,
        statements=sql,
        interruptions=None
        if interruption_events is None
        else summarise_interruptions(interruption_events, query.month, rollup.spot_hours(cube)),
    )


def _gpu_count(provider: str, instance_type: str) -> float | None:
    gpus = instance_gpus(provider, instance_type)
    return None if gpus is None else gpus.count


def _catalog_prices(store: Store) -> Callable[[str, str, str], float | None]:
    """Lowest public on-demand price [USD/h] per (cloud, region, type) in the offers."""
    from spotadvisor.schema import OFFERS
    from spotadvisor.sources import load_table

    offers = load_table(store, OFFERS).frame
    priced = offers.dropna(subset=["price_on_demand_usd_per_hour"])
    table = (
        priced.groupby(["cloud", "region", "instance_type"], as_index=False)[
            "price_on_demand_usd_per_hour"
        ]
        .min()
        .itertuples(index=False, name=None)
    )
    lookup = {(str(c), str(r), str(t)): float(v) for c, r, t, v in table}

    def price(provider: str, region: str, instance_type: str) -> float | None:
        return lookup.get((provider, region, instance_type))

    return price


def _offenders(frame: pd.DataFrame | None, currency: str, tags: tuple[str, ...]) -> pd.DataFrame:
    """Offender rows in the report currency, with the missing tags named."""
    columns = ["provider", "sub_account_id", "resource_id", "instance_type", "region_id", "cost"]
    if frame is None or frame.empty:
        return pd.DataFrame(columns=[*columns, "missing"])
    rows = frame[frame["currency"] == currency].copy()
    rows["missing"] = [
        ", ".join(key for i, key in enumerate(tags) if int(r[f"missing_tag_{i}"]))
        for _, r in rows.iterrows()
    ]
    return rows[[*columns, "missing"]].reset_index(drop=True)
