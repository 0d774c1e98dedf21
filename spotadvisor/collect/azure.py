"""``collect azure``: retail prices, eviction-rate bands, spot price history, usage details.

Thin ``get_*`` functions (``collect.azure_api``) call the Azure APIs; the responses go
through the pure parsers of ``collect.azure_parse``, ``collect.azure_graph_parse`` and
``collect.azure_usage_parse`` (and ``importers.billing.azure`` for usage details); the
options and their checks are in ``collect.azure_options``:

``prices``
    The Retail Prices API (``prices.azure.com``, no authentication), one paged OData
    query per region, read with ``urllib``: Linux on-demand and spot prices per VM size
    become regional offers (``source="azure-retail-prices"``).
``evictions``
    Azure Resource Graph ``SpotResources`` eviction rates, one query per region: the
    share of spot VMs of a size evicted in the region over the trailing 28 days, as a
    band (``0-5``, ``5-10``, ..., ``20+``) -> ``interruption_history``.
``spot-history``
    Resource Graph spot price histories (Linux), one query per region ->
    ``spot_price_history``.
``billing``
    Consumption usage details of one scope and month (actual cost) -> ``billing``.

The SDKs (``azure-identity``, ``azure-mgmt-resourcegraph``, ``azure-mgmt-consumption``)
are imported inside the functions that use them, so users without them can collect the
other clouds. SDK calls use azure-core's retry policy (429 and 5xx answers are retried,
honouring ``Retry-After``) and socket timeouts; Retail Prices calls retry the same way
by hand. Tasks run in a bounded thread pool; a failed task costs only itself, and
everything that succeeded is written in one transaction at the end, so an interrupted
collection leaves earlier data intact and a re-run adds nothing twice. A task that
comes back empty where the store or the embedded snapshot holds its data (its
``Scope``: the region's priced offers, eviction bands, spot price history, the month's
billing rows) fails instead of writing nothing over it, and every listing is paged
through a ``collect.paging.PageGuard`` (page caps, repeated next links). Error texts
are scrubbed of subscription and tenant ids (any GUID), bearer tokens, SAS signatures
and every other credential ``run.scrub_secrets`` knows; credentials are never printed.

Plain ``http://`` endpoints are accepted only on the loopback interface (tests, local
emulators); there the bearer token policy is told ``enforce_https=False``. Every other
endpoint must be ``https://``.
"""

from __future__ import annotations

import re
import urllib.error
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd

from spotadvisor import gpus
from spotadvisor.collect.azure_api import (
    BILLING_METRIC,
    AzureClients,
    NoAzureClients,
    get_resource_graph_rows,
    get_retail_prices,
    get_usage_details,
)
from spotadvisor.collect.azure_graph_parse import (
    EVICTION_SOURCE,
    SPOT_HISTORY_SOURCE,
    eviction_rate_query,
    parse_eviction_rates,
    parse_spot_price_history,
    spot_price_history_query,
)
from spotadvisor.collect.azure_options import AzureOptions, billing_period, check_options
from spotadvisor.collect.azure_parse import (
    PRICE_COLUMNS,
    assemble_offers,
    parse_retail_prices,
    retail_filter,
    size_lookup,
)
from spotadvisor.collect.azure_usage_parse import usage_details_rows
from spotadvisor.collect.run import (
    CollectionReport,
    Scope,
    Task,
    TaskOutput,
    TaskResult,
    run_collection,
    scrub,
    scrub_secrets,
)
from spotadvisor.importers.base import ImportBatch
from spotadvisor.importers.billing.azure import parse_azure_cost_details
from spotadvisor.schema import BILLING, INTERRUPTION_HISTORY, OFFERS, SPOT_PRICE_HISTORY
from spotadvisor.store import Store

PRICES_SOURCE = "azure-retail-prices"

_GUID = re.compile(
    r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"
)
_SUBSCRIPTION_SCOPE = re.compile(r"^/subscriptions/([^/]+)", re.IGNORECASE)


# -- tasks ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Prices:
    """One region's prices (``PRICE_COLUMNS``) and the notes about them."""

    frame: pd.DataFrame
    notes: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.frame)


def _prices_task(options: AzureOptions, region: str) -> Task:
    query = retail_filter(region, options.sizes)
    known = size_lookup([*options.sizes, *gpus.azure_gpu_sizes()])

    def work() -> TaskOutput:
        items = get_retail_prices(
            options.retail_prices_url,
            filter=query,
            timeout_s=options.timeout_s,
            attempts=options.max_attempts,
            backoff_s=options.backoff_s,
        )
        notes: list[str] = []
        frame = parse_retail_prices(items, notes=notes, known_sizes=known)
        wanted = frame["instance_type"].isin(options.sizes)
        kept = frame.loc[wanted].reset_index(drop=True)
        answer = (
            f"Retail Prices returned {len(items)} item(s) and no Linux price of the sizes asked"
            if items
            else "Retail Prices returned no item"
        )
        return TaskOutput(data=_Prices(kept, tuple(f"{region}: {n}" for n in notes)), answer=answer)

    scope = Scope(
        OFFERS,
        "azure",
        (region,),
        options.sizes,
        ("price_on_demand_usd_per_hour", "price_spot_usd_per_hour"),
        what="priced offers",
    )
    return Task("prices", region, work, f"GET {options.retail_prices_url} $filter={query}", scope)


def _graph_task(clients: AzureClients, options: AzureOptions, region: str, *, source: str) -> Task:
    known = size_lookup([*options.sizes, *gpus.azure_gpu_sizes()])
    if source == "evictions":
        query = eviction_rate_query(options.sizes, [region])
    else:
        query = spot_price_history_query(options.sizes, [region])

    def work() -> TaskOutput:
        rows = get_resource_graph_rows(
            clients.resource_graph(),
            query=query,
            subscriptions=options.subscriptions,
            insecure=clients.insecure,
        )
        if source == "evictions":
            frame, notes = parse_eviction_rates(rows, known_sizes=known, as_of=options.now)
            batch = ImportBatch(
                INTERRUPTION_HISTORY,
                frame,
                EVICTION_SOURCE,
                f"azure {region} eviction rates",
                tuple(notes),
            )
        else:
            frame, notes = parse_spot_price_history(rows, known_sizes=known, as_of=options.now)
            batch = ImportBatch(
                SPOT_PRICE_HISTORY,
                frame,
                SPOT_HISTORY_SOURCE,
                f"azure {region} spot price history",
                tuple(notes),
            )
        return TaskOutput([batch], answer=f"Resource Graph returned no {what} row")

    what = "eviction rates" if source == "evictions" else "spot price history"
    table, source_name = (
        (INTERRUPTION_HISTORY, EVICTION_SOURCE)
        if source == "evictions"
        else (SPOT_PRICE_HISTORY, SPOT_HISTORY_SOURCE)
    )
    return Task(
        source,
        region,
        work,
        f"Resource Graph {what} of {len(options.sizes)} sizes in {region}",
        Scope(
            table, "azure", (region,), options.sizes, sources=(source_name,), what=f"{what} rows"
        ),
    )


def _redact(text: str) -> str:
    """``text`` with subscription, tenant and account ids (GUIDs), bearer tokens and every
    other credential ``run.scrub_secrets`` knows (SAS signatures, client secrets...)
    hidden."""
    return scrub_secrets(_GUID.sub("<id>", text))


def _billing_task(clients: AzureClients, options: AzureOptions) -> Task:
    assert options.billing_scope is not None
    scope = options.billing_scope.rstrip("/")
    start, end = billing_period(options)
    found = _SUBSCRIPTION_SCOPE.match(scope)
    # The client wants a subscription id even for billing-account scopes; the scope wins.
    subscription = found.group(1) if found else (options.subscriptions or ("none",))[0]
    source = f"azure-usage-details:{start:%Y-%m}"

    def work() -> TaskOutput:
        items = get_usage_details(
            clients.consumption(subscription),
            scope=scope,
            start=start,
            end=end,
            metric=BILLING_METRIC,
            insecure=clients.insecure,
        )
        answer = f"usage details returned no line from {start} to {end}"
        if not items:  # a month without usage, or an answer that lost it: no rows
            return TaskOutput(answer=answer)
        raw = usage_details_rows(items)
        frame, notes = parse_azure_cost_details(
            raw,
            source=source,
            as_of=options.now,
            origin="azure usage details",
            metric=BILLING_METRIC,
        )
        return TaskOutput(
            [ImportBatch(BILLING, frame, source, "azure usage details", tuple(notes))],
            answer=answer,
        )

    return Task(
        "billing",
        None,
        work,
        _redact(f"Consumption usage details of {scope} from {start} to {end} (actual cost)"),
        Scope(BILLING, "azure", sources=(source,), what="billing rows"),
    )


def plan(options: AzureOptions, clients: AzureClients | None = None) -> list[Task]:
    """Every task of a collection, in submission order.

    Without ``clients`` (a dry run) the tasks can be described but not run.
    """
    made = clients if clients is not None else NoAzureClients(options)
    tasks: list[Task] = []
    if "prices" in options.sources:
        tasks += [_prices_task(options, region) for region in options.regions]
    for source in ("evictions", "spot-history"):
        if source in options.sources:
            tasks += [
                _graph_task(made, options, region, source=source) for region in options.regions
            ]
    if "billing" in options.sources:
        tasks.append(_billing_task(made, options))
    return tasks


# -- the whole collection ------------------------------------------------------------


def collect_azure(
    store: Store,
    options: AzureOptions,
    *,
    dry_run: bool = False,
    on_done: Callable[[TaskResult], None] | None = None,
) -> CollectionReport:
    """Run every task, write what succeeds, build offers, log the collection.

    Parameters
    ----------
    store
        Where to write.
    options
        What to collect.
    dry_run
        Only describe the calls: nothing is called, made or written.
    on_done
        Called after each task (progress).

    Raises
    ------
    UsageError
        For options that make no sense (no region or size, an unknown source, billing
        without a scope, a plain-http endpoint off the loopback interface...).
    """
    check_options(options)
    clients = None if dry_run else AzureClients(options)

    def finish(results: list[TaskResult]) -> tuple[list[TaskResult], list[ImportBatch]]:
        offers = _offers_batch(options, results)
        return results, [offers] if offers is not None else []

    return run_collection(
        store,
        "azure",
        plan(options, clients),
        workers=options.workers,
        finish=finish,
        classify=_classify,
        on_done=on_done,
        dry_run=dry_run,
    )


def _offers_batch(options: AzureOptions, results: Sequence[TaskResult]) -> ImportBatch | None:
    """This run's retail prices of every region that answered, as offers."""
    parts = [
        r.output.data
        for r in results
        if r.ok and r.source == "prices" and isinstance(r.output.data, _Prices)
    ]
    if not parts:
        return None
    frames = [p.frame for p in parts if not p.frame.empty]
    prices = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=PRICE_COLUMNS)
    frame, notes = assemble_offers(prices, source=PRICES_SOURCE, as_of=options.now)
    if frame.empty:
        return None
    all_notes = tuple(n for p in parts for n in p.notes) + tuple(notes)
    return ImportBatch(OFFERS, frame, PRICES_SOURCE, "azure retail prices", all_notes)


def _classify(exc: BaseException) -> str:
    """One line for a failed task, without ids or tokens; credential and permission
    problems say what to do."""
    name = type(exc).__name__
    status = getattr(exc, "status_code", None) or getattr(exc, "code", None)
    text = _redact(f"{name}: {exc}")
    if name in {"ServiceRequestTimeoutError", "ServiceResponseTimeoutError", "TimeoutError"} or (
        name in {"ServiceResponseError", "ServiceRequestError", "URLError"}
        and "timed out" in str(exc).lower()
    ):
        return scrub(f"{name}: the endpoint did not answer in time")
    if name in {"ClientAuthenticationError", "CredentialUnavailableError"} and status != 401:
        return (
            "no Azure credentials found (environment, managed identity, Azure CLI...); "
            "sign in with az login or configure a service principal"
        )
    first = _redact(f"{name}: {str(exc).splitlines()[0] if str(exc) else ''}")
    if status == 401:  # the first line only, so that the hint survives the length limit
        return scrub(f"{first} (the endpoint refused the token; check the tenant and sign-in)")
    if status == 403:
        return scrub(
            f"{first} (the caller lacks permission: Reader for Resource Graph, Cost "
            "Management Reader for usage details; grant it or leave the source out)"
        )
    if isinstance(exc, urllib.error.HTTPError):
        return scrub(_redact(f"HTTP {exc.code} {exc.reason} from {exc.url.split('?')[0]}"))
    return scrub(text)
