"""``collect gcp``: Catalog prices, measured or prior bands, capacity advice, billing export.

``collect_gcp`` runs one task per source in a bounded thread pool (``prices``: the
Compute Engine SKUs; ``bands``: the interruption prior, no network; ``billing``: one
month of the billing export), composes this run's parts into offers, and writes
everything that succeeded in one transaction: an interrupted collection writes nothing
and leaves earlier data intact, and a re-run adds nothing twice. The options and their
checks are in ``collect.gcp_options``.

The thin ``get_*`` functions of ``collect.gcp_clients`` call google-cloud-billing,
google-cloud-bigquery and google-cloud-compute (imported inside them, so the rest of
spotadvisor works without the GCP SDKs) with Application Default Credentials unless
credentials are given, a google-api-core retry for transient errors (429, 500, 502, 503,
504, dropped connections) bounded by a short deadline, and a per-request timeout; the
responses go through the pure parsers of ``collect.gcp_parse``, ``collect.gcp_offers``
and ``collect.gcp_billing_export``.

``preemption`` and ``capacity`` (their tasks are in ``collect.gcp_advice_tasks``) ask
Compute Engine's ``advice`` API (google-cloud-compute's ``AdviceClient`` over REST), one
task per (region, machine type) for the zones the store and snapshot offer it in:
``capacityHistory`` gives each zone's measured preemption share, written as the region's
measured ``interruption_history`` row (source ``gcp-advice``; the prior is then not
written for that pair); ``capacity`` gives each zone's obtainability, written as this
run's offers' ``placement_score``. Both need a project (``project``, else the
Application Default Credentials project); without one they are skipped with a note. The
parsing and the modelling decisions are in ``collect.gcp_advice``.

Credentials, billing account ids and project numbers never appear in task errors,
descriptions, notes or sources (``collect.gcp_errors`` scrubs them).

A task that comes back empty where the store or the embedded snapshot holds its data
(its ``Scope``: GCP offers with a price for the prices task, the month's billing rows
for billing, measured rows and scores for the advice tasks) fails, so no offer is
composed from an empty catalog; the listings are paged through a
``collect.paging.PageGuard`` (page caps, repeated ``nextPageToken``).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable

import pandas as pd

from spotadvisor.collect.gcp_advice import ADVICE_SOURCE
from spotadvisor.collect.gcp_advice_tasks import (
    advice_notes,
    advice_tasks,
    measured_pairs,
    with_capacity_scores,
)
from spotadvisor.collect.gcp_billing_export import (
    billing_notes,
    billing_parameters,
    billing_query,
    is_detailed_table,
    parse_bigquery_billing,
)
from spotadvisor.collect.gcp_clients import (
    BIGQUERY_HOST,
    CATALOG_HOST,
    Clients,
    NoClients,
    advice_project,
    endpoint_url,
    get_billing_rows,
    get_compute_service,
    get_skus,
    transient_retry,
)
from spotadvisor.collect.gcp_errors import classify, scrub_ids
from spotadvisor.collect.gcp_offers import compose_gcp_offers, prior_band_rows
from spotadvisor.collect.gcp_options import ADVICE_SOURCES, GcpOptions, check_options
from spotadvisor.collect.gcp_parse import (
    COMPUTE_ENGINE_SERVICE,
    catalog_notes,
    parse_gcp_skus,
)
from spotadvisor.collect.run import (
    CollectionReport,
    Scope,
    Task,
    TaskOutput,
    TaskResult,
    run_collection,
)
from spotadvisor.errors import DataError
from spotadvisor.importers.base import ImportBatch
from spotadvisor.schema import BILLING, INTERRUPTION_HISTORY, OFFERS
from spotadvisor.store import Store

OFFERS_SOURCE = "gcp-catalog"


# -- tasks ---------------------------------------------------------------------------


def _prices_task(clients: Clients, options: GcpOptions) -> Task:
    def work() -> TaskOutput:
        retry = transient_retry(options.retry_deadline_s)
        catalog = clients.catalog()
        service = get_compute_service(catalog, timeout_s=options.timeout_s, retry=retry)
        skus = get_skus(catalog, service=service, timeout_s=options.timeout_s, retry=retry)
        answer = (
            f"list_skus returned {len(skus)} SKU(s) and no part price"
            if skus
            else "list_skus returned no SKU"
        )
        return TaskOutput(data=parse_gcp_skus(skus), answer=answer)

    where = endpoint_url(options.catalog_endpoint, CATALOG_HOST)
    return Task(
        "prices",
        None,
        work,
        f"CloudCatalogClient.list_skus({COMPUTE_ENGINE_SERVICE}, currency USD) at {where}: "
        f"core, RAM and GPU prices of {len(options.machine_types)} machine types",
        Scope(
            OFFERS,
            "gcp",
            options.regions,
            options.machine_types,
            ("price_on_demand_usd_per_hour", "price_spot_usd_per_hour"),
            what="priced offers",
        ),
    )


def _bands_task(options: GcpOptions) -> Task:
    def work() -> TaskOutput:
        from spotadvisor.priors import prior_for

        prior = prior_for("gcp")
        if prior is None:
            raise DataError(
                "no interruption prior for GCP",
                fix="collect prices only (--sources prices) or update spotadvisor",
            )
        return TaskOutput(data=prior)

    return Task(
        "bands",
        None,
        work,
        "no call: GCP publishes no interruption bands; write the GCP prior for every "
        "machine offered",
    )


def _billing_task(clients: Clients, options: GcpOptions) -> Task:
    table = options.table
    assert table is not None  # checked by check_options
    month = options.month
    detailed = is_detailed_table(table)
    project = options.project or table.split(".", 1)[0]
    source = f"gcp-billing-export:{month}"

    def work() -> TaskOutput:
        sql = billing_query(table, month, detailed)
        rows = get_billing_rows(
            clients.bigquery(project),
            sql=sql,
            parameters=billing_parameters(month),
            timeout_s=options.timeout_s,
            retry=transient_retry(options.retry_deadline_s),
        )
        frame = parse_bigquery_billing(rows, source=source)
        if frame.empty:  # nothing billed that month (or the export is not set up yet)
            return TaskOutput(answer=f"the billing query returned no charge of {month}")
        notes = billing_notes(frame, month, detailed)
        return TaskOutput(
            [ImportBatch(BILLING, frame, source, "gcp bigquery billing export", tuple(notes))]
        )

    kind = "detailed" if detailed else "standard"
    where = endpoint_url(options.bigquery_endpoint, BIGQUERY_HOST)
    return Task(
        "billing",
        None,
        work,
        scrub_ids(
            f"bigquery jobs.query at {where}: Compute Engine charges of {month} from the "
            f"{kind} export {table}"
        ),
        Scope(BILLING, "gcp", sources=(source,), what="billing rows"),
    )


def plan(
    options: GcpOptions, clients: Clients | None = None, *, zones: pd.DataFrame | None = None
) -> list[Task]:
    """Every task of a collection, in submission order.

    Without ``clients`` (a dry run) the tasks can be described but not run. ``zones``
    (``known_gcp_zones``) are the zones the advice tasks ask about; None: the embedded
    snapshot's. The advice tasks need a project (``advice_project``); without one
    there are none.

    Raises
    ------
    UsageError
        For options ``collect_gcp`` would refuse (see there).
    """
    check_options(options)
    made = clients if clients is not None else NoClients()
    tasks: list[Task] = []
    if "prices" in options.sources:
        tasks.append(_prices_task(made, options))
    if "bands" in options.sources:
        tasks.append(_bands_task(options))
    if options.sources & ADVICE_SOURCES:
        project = advice_project(options)
        if project is not None:
            known = zones if zones is not None else _snapshot_zones()
            tasks += advice_tasks(made, options, project, known)
    if "billing" in options.sources:
        tasks.append(_billing_task(made, options))
    return tasks


# -- the whole collection ------------------------------------------------------------


def _snapshot_zones() -> pd.DataFrame:
    """``known_gcp_zones`` of the embedded snapshot alone."""
    return _gcp_zones([])


def known_gcp_zones(store: Store) -> pd.DataFrame:
    """``(region, zone, instance_type)`` of the GCP offers the store and the embedded
    snapshot already hold (the zone hint for ``compose_gcp_offers``, and the zones the
    advice tasks ask about)."""
    return _gcp_zones([store.read(OFFERS)])


def _gcp_zones(frames: list[pd.DataFrame]) -> pd.DataFrame:
    from spotadvisor.snapshot import read_snapshot_table

    frames = list(frames)
    with contextlib.suppress(DataError):  # no snapshot: the store's zones only
        frames.append(read_snapshot_table(OFFERS))
    if not frames:
        return pd.DataFrame(columns=["region", "zone", "instance_type"])
    columns = ["region", "zone", "instance_type"]
    known = pd.concat([f.loc[f["cloud"] == "gcp", columns] for f in frames], ignore_index=True)
    return known.dropna().drop_duplicates().reset_index(drop=True)


def collect_gcp(
    store: Store,
    options: GcpOptions,
    *,
    dry_run: bool = False,
    on_done: Callable[[TaskResult], None] | None = None,
) -> CollectionReport:
    """Run every task, write what succeeds, build offers and bands, log the collection.

    Offers (``source="gcp-catalog"``, ``as_of=now``) are composed from this run's part
    prices, one row per zone the store or snapshot already knows for the (region,
    machine type), else one regional row. Bands: the measured row of every (region,
    machine type) the ``preemption`` task measured (source ``gcp-advice``), and the GCP
    prior (source ``prior:...``) for every other (region, machine type) offered in this
    run, or, without prices, every other one the store or snapshot offers. Capacity
    scores become the ``placement_score`` of this run's offers in their zone; without
    prices in this run they are not written (as ``collect aws`` does with placement
    scores). The report's notes say when the advice sources were skipped (no project)
    and what they found.

    Raises
    ------
    UsageError
        For options that make no sense (unknown source or machine type, billing without
        a table or with a malformed table or month).
    """
    check_options(options)
    zones = known_gcp_zones(store)
    if dry_run:
        tasks = plan(options, zones=zones)
        report = run_collection(store, "gcp", tasks, workers=options.workers, dry_run=True)
        notes = advice_notes(options, tasks, [], zones)
        return dataclasses.replace(report, notes=(*report.notes, *notes))
    clients = Clients(options)

    def finish(results: list[TaskResult]) -> tuple[list[TaskResult], list[ImportBatch]]:
        return finish_results(options, results, zones)

    tasks = plan(options, clients, zones=zones)
    report = run_collection(
        store,
        "gcp",
        tasks,
        workers=options.workers,
        finish=finish,
        classify=classify,
        on_done=on_done,
    )
    notes = advice_notes(options, tasks, report.results, zones)
    return dataclasses.replace(report, notes=(*report.notes, *notes))


def finish_results(
    options: GcpOptions, results: list[TaskResult], zones: pd.DataFrame
) -> tuple[list[TaskResult], list[ImportBatch]]:
    """Offers from the prices task's parts (with this run's capacity scores) and bands
    from the prior for the pairs not measured in this run (see ``collect_gcp``).

    A step that fails here marks its task failed; the other tasks' rows are kept. Each
    conflicting catalog price (``parse_gcp_skus``) adds a failed ``prices`` result for
    its region, whose error names the SKUs; the unambiguous offers are still written.
    """
    out = list(results)
    extra: list[ImportBatch] = []
    offered: set[tuple[str, str]] | None = None
    conflicts: list[TaskResult] = []
    for i, result in enumerate(out):
        if result.source != "prices" or not result.ok:
            continue
        parts = result.output.data
        assert isinstance(parts, pd.DataFrame)
        try:
            offers = compose_gcp_offers(
                parts,
                options.machine_types,
                source=OFFERS_SOURCE,
                as_of=options.now,
                zones=zones,
                regions=options.regions,
            )
        except Exception as exc:
            out[i] = dataclasses.replace(out[i], error=classify(exc), rows=0, output=TaskOutput())
            continue
        notes = (
            f"{len(parts)} part price(s) read, {len(offers)} offer(s) composed",
            *catalog_notes(parts.attrs),
        )
        # each conflicting catalog price is one failed result of the region it leaves
        # unpriced: a warning line, a failed row in the report and the collection log
        conflicts += [
            dataclasses.replace(result, region=key[0], rows=0, error=line, output=TaskOutput())
            for key, line in zip(
                parts.attrs.get("conflict_keys", []), parts.attrs.get("conflicts", []), strict=True
            )
        ]
        if not offers.empty:
            extra.append(
                ImportBatch(OFFERS, offers, OFFERS_SOURCE, "gcp cloud billing catalog", notes)
            )
        offered = set(zip(offers["region"], offers["instance_type"], strict=True))
    out += conflicts
    if offered is None:  # no prices this run: what the store or snapshot offers
        wanted = set(options.machine_types)
        offered = {
            (str(r), str(t))
            for r, t in zip(zones["region"], zones["instance_type"], strict=True)
            if t in wanted and (not options.regions or r in options.regions)
        }
    extra = with_capacity_scores(extra, out)
    measured = measured_pairs(out)  # measured this run: no prior for them
    for i, result in enumerate(out):
        if result.source != "bands" or not result.ok:
            continue
        prior = result.output.data
        bands = prior_band_rows(offered - measured, prior, as_of=options.now)  # type: ignore[arg-type]
        source = str(bands["source"].iloc[0]) if not bands.empty else "prior"
        if not bands.empty:
            note = f"GCP publishes no bands: the prior {source} for {len(bands)} machine(s)"
            if measured:
                note += f" ({len(measured & offered)} more measured by {ADVICE_SOURCE})"
            extra.append(ImportBatch(INTERRUPTION_HISTORY, bands, source, "gcp prior", (note,)))
        out[i] = dataclasses.replace(out[i], rows=len(bands), output=TaskOutput())
    return out, extra
