"""``collect azure``: retail prices, eviction-rate bands, spot price history, usage details.

Thin ``get_*`` functions call the Azure APIs; the responses go through the pure parsers
of ``collect.azure_parse`` (and ``importers.billing.azure`` for usage details):

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
collection leaves earlier data intact and a re-run adds nothing twice. Error texts are
scrubbed of subscription and tenant ids (any GUID) and bearer tokens; credentials are
never printed.

Plain ``http://`` endpoints are accepted only on the loopback interface (tests, local
emulators); there the bearer token policy is told ``enforce_https=False``. Every other
endpoint must be ``https://``.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd

from spotadvisor import gpus
from spotadvisor.collect.azure_parse import (
    EVICTION_SOURCE,
    PRICE_COLUMNS,
    SPOT_HISTORY_SOURCE,
    assemble_offers,
    check_names,
    eviction_rate_query,
    parse_eviction_rates,
    parse_retail_prices,
    parse_spot_price_history,
    retail_filter,
    size_lookup,
    spot_price_history_query,
    usage_details_rows,
)
from spotadvisor.collect.run import (
    CollectionReport,
    Task,
    TaskOutput,
    TaskResult,
    run_collection,
    scrub,
)
from spotadvisor.errors import DataError, UsageError
from spotadvisor.importers.base import ImportBatch
from spotadvisor.importers.billing.azure import Metric, parse_azure_cost_details
from spotadvisor.schema import BILLING, INTERRUPTION_HISTORY, OFFERS, SPOT_PRICE_HISTORY
from spotadvisor.store import Store

SOURCES = ("prices", "evictions", "spot-history", "billing")
DEFAULT_SOURCES = frozenset({"prices", "evictions", "spot-history"})
RETAIL_PRICES_URL = "https://prices.azure.com/api/retail/prices"
RETAIL_API_VERSION = "2023-01-01-preview"
MANAGEMENT_ENDPOINT = "https://management.azure.com"
PRICES_SOURCE = "azure-retail-prices"
BILLING_METRIC: Metric = "actualcost"
USAGE_EXPAND = "properties/meterDetails,properties/additionalInfo"
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER_S = 60.0  # never wait longer than this on one Retry-After
MAX_PAGES = 10_000  # a paging loop that never ends is a broken endpoint
# Regions of the embedded snapshot's Azure offers, used if the snapshot cannot be read.
FALLBACK_REGIONS = (
    "centralus",
    "eastus",
    "eastus2",
    "northcentralus",
    "southcentralus",
    "westus",
    "westus2",
    "westus3",
)

_GUID = re.compile(
    r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"
)
_BEARER = re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_SUBSCRIPTION_SCOPE = re.compile(r"^/subscriptions/([^/]+)", re.IGNORECASE)


def default_sizes() -> tuple[str, ...]:
    """Every NC, ND and NV VM size the GPU reference knows (``gpus``), sorted."""
    return tuple(
        s
        for s in gpus.azure_gpu_sizes()
        if s.startswith(("Standard_NC", "Standard_ND", "Standard_NV"))
    )


def default_regions() -> tuple[str, ...]:
    """Regions of the Azure offers in the embedded snapshot (``FALLBACK_REGIONS`` if it
    cannot be read)."""
    try:
        from spotadvisor.snapshot import read_snapshot_table

        offers = read_snapshot_table(OFFERS)
    except Exception:  # a broken installation should not stop an explicit collection
        return FALLBACK_REGIONS
    regions = sorted(set(offers.loc[offers["cloud"] == "azure", "region"].dropna()))
    return tuple(str(r) for r in regions) or FALLBACK_REGIONS


@dataclass(frozen=True)
class AzureOptions:
    """What ``collect azure`` collects and how.

    Attributes
    ----------
    regions
        ARM region names (``eastus``); default: the regions of the Azure offers in the
        embedded snapshot.
    sizes
        VM sizes (``Standard_NC24ads_A100_v4``); default: every NC/ND/NV size the GPU
        reference knows.
    sources
        Subset of ``SOURCES``; default prices, evictions and spot-history.
    subscriptions
        Subscriptions Resource Graph queries run over; empty: every subscription the
        credential can read.
    billing_scope
        Consumption scope for ``billing``: ``/subscriptions/<id>``, a resource group, or
        ``/providers/Microsoft.Billing/billingAccounts/<id>``.
    billing_month
        ``YYYY-MM``; default: the last whole month before ``now``.
    retail_prices_url
        The Retail Prices endpoint.
    management_endpoint
        Azure Resource Manager endpoint; None: ``https://management.azure.com``.
    credential
        An azure-core ``TokenCredential``; None: ``azure.identity.DefaultAzureCredential()``
        (environment, workload or managed identity, Azure CLI...).
    workers
        Threads.
    timeout_s
        Socket connect and read timeout per request [s].
    max_attempts
        Attempts per request (1 = no retry); 429 and 5xx answers and network errors are
        retried.
    backoff_s
        Base of the exponential backoff between retries [s] (when no ``Retry-After``).
    now
        The collection's reference time (UTC).
    """

    regions: tuple[str, ...] = field(default_factory=default_regions)
    sizes: tuple[str, ...] = field(default_factory=default_sizes)
    sources: frozenset[str] = DEFAULT_SOURCES
    subscriptions: tuple[str, ...] = ()
    billing_scope: str | None = None
    billing_month: str | None = None
    retail_prices_url: str = RETAIL_PRICES_URL
    management_endpoint: str | None = None
    credential: Any = field(default=None, repr=False)
    workers: int = 8
    timeout_s: float = 30.0
    max_attempts: int = 4
    backoff_s: float = 0.8
    now: datetime = field(default_factory=lambda: datetime.now(UTC))


# -- endpoints and clients -----------------------------------------------------------


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _plain_http_allowed(url: str, option: str) -> bool:
    """False for ``https://``, True for ``http://`` on loopback; anything else is refused.

    Raises
    ------
    UsageError
        For another scheme, or plain http to a non-loopback host.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return False
    if parts.scheme == "http" and _is_loopback(parts.hostname):
        return True
    raise UsageError(
        f"{url!r} is not an https:// URL",
        field=option,
        fix="give an https:// URL (plain http is accepted on 127.0.0.1 only, for tests)",
    )


class _Clients:
    """Azure SDK clients shared by the worker threads, made on first use under a lock.

    The credential is made on first use too, so a prices-only collection (no
    authentication) never builds one.
    """

    def __init__(self, options: AzureOptions) -> None:
        self.options = options
        self.endpoint = (options.management_endpoint or MANAGEMENT_ENDPOINT).rstrip("/")
        uses_arm = bool({"evictions", "spot-history", "billing"} & set(options.sources))
        # checked only when used: a prices-only collection never sends a token
        self.insecure = uses_arm and _plain_http_allowed(self.endpoint, "--management-endpoint")
        self._credential = options.credential
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str], Any] = {}

    def _sdk_kwargs(self) -> dict[str, Any]:
        o = self.options
        return {
            "retry_total": max(0, o.max_attempts - 1),
            "retry_backoff_factor": o.backoff_s,
            "retry_backoff_max": MAX_RETRY_AFTER_S,
            "connection_timeout": o.timeout_s,
            "read_timeout": o.timeout_s,
        }

    def credential(self) -> Any:
        with self._lock:
            if self._credential is None:
                from azure.identity import DefaultAzureCredential

                self._credential = DefaultAzureCredential()
            return self._credential

    def resource_graph(self) -> Any:
        credential = self.credential()
        with self._lock:
            key = ("resourcegraph", "")
            if key not in self._cache:
                from azure.mgmt.resourcegraph import ResourceGraphClient

                self._cache[key] = ResourceGraphClient(
                    credential, base_url=self.endpoint, **self._sdk_kwargs()
                )
            return self._cache[key]

    def consumption(self, subscription_id: str) -> Any:
        credential = self.credential()
        with self._lock:
            key = ("consumption", subscription_id)
            if key not in self._cache:
                from azure.mgmt.consumption import ConsumptionManagementClient

                self._cache[key] = ConsumptionManagementClient(
                    credential, subscription_id, base_url=self.endpoint, **self._sdk_kwargs()
                )
            return self._cache[key]


class _NoClients(_Clients):
    """Stands in for the clients in a dry run, where nothing may be called."""

    def __init__(self, options: AzureOptions) -> None:  # nothing is imported or made
        self.options = options
        self.insecure = False

    def credential(self) -> Any:
        raise AssertionError("a dry run makes no calls")


# -- get_* (thin over HTTP and the SDKs) ---------------------------------------------


def get_retail_prices(
    url: str,
    *,
    filter: str,
    timeout_s: float,
    attempts: int = 4,
    backoff_s: float = 0.8,
    api_version: str = RETAIL_API_VERSION,
) -> list[dict[str, Any]]:
    """Every item of one Retail Prices query, following ``NextPageLink`` until it is null.

    Parameters
    ----------
    url
        The endpoint (``https://prices.azure.com/api/retail/prices``).
    filter
        The OData ``$filter`` (values are case-sensitive).
    timeout_s
        Socket timeout per request [s].
    attempts, backoff_s
        Attempts per page; 408, 429 and 5xx answers and network errors are retried after
        ``Retry-After`` or ``backoff_s * 2**n`` seconds.
    api_version
        The API version.

    Raises
    ------
    DataError
        When a page is not JSON with an ``Items`` list, or a next page is on another host.
    urllib.error.HTTPError, OSError
        When a request still fails after its attempts.
    """
    query = f"api-version={urllib.parse.quote(api_version)}&$filter={urllib.parse.quote(filter)}"
    next_url: str | None = f"{url}?{query}"
    host = urllib.parse.urlsplit(url).hostname
    items: list[dict[str, Any]] = []
    for page in range(1, MAX_PAGES + 1):
        if next_url is None:
            return items
        if urllib.parse.urlsplit(next_url).hostname != host:
            raise DataError(
                "the Retail Prices API sent a next page on another host",
                field="NextPageLink",
                fix="retry; if it persists, check the --retail-prices-url",
            )
        body = _get_with_retries(
            next_url, timeout_s=timeout_s, attempts=attempts, backoff_s=backoff_s
        )
        try:
            doc = json.loads(body)
            page_items = doc["Items"]
            if not isinstance(page_items, list):
                raise TypeError("Items is not a list")
        except (ValueError, KeyError, TypeError) as exc:
            raise DataError(
                f"Retail Prices page {page} is not a price page ({type(exc).__name__}: {exc})",
                field="Items",
                fix="retry; if it persists the Retail Prices API changed its format",
            ) from None
        items.extend(i for i in page_items if isinstance(i, dict))
        next_url = doc.get("NextPageLink") or None
    raise DataError(
        f"the Retail Prices API kept paging past {MAX_PAGES} pages",
        field="NextPageLink",
        fix="narrow the query (fewer sizes) or retry later",
    )


def _get_with_retries(url: str, *, timeout_s: float, attempts: int, backoff_s: float) -> bytes:
    opener = urllib.request.build_opener()
    request = urllib.request.Request(
        url, headers={"Accept": "application/json", "User-Agent": "spotadvisor"}
    )
    for attempt in range(max(1, attempts)):
        last = attempt == max(1, attempts) - 1
        try:
            with opener.open(request, timeout=timeout_s) as response:
                body: bytes = response.read()
                return body
        except urllib.error.HTTPError as exc:
            if exc.code not in RETRY_STATUSES or last:
                raise
            wait = _retry_after(exc.headers.get("Retry-After"), backoff_s * 2**attempt)
            exc.close()
        except OSError:  # connection refused or reset, socket timeout
            if last:
                raise
            wait = backoff_s * 2**attempt
        time.sleep(wait)
    raise AssertionError("unreachable")


def _retry_after(header: str | None, default: float) -> float:
    """Seconds a ``Retry-After`` header asks for (capped), or ``default``."""
    try:
        seconds = float(header) if header is not None else default
    except ValueError:
        seconds = default
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S) if math.isfinite(seconds) else default


def get_resource_graph_rows(
    client: Any, *, query: str, subscriptions: Sequence[str] = (), insecure: bool = False
) -> list[dict[str, Any]]:
    """Every row of one Resource Graph query, following ``$skipToken``.

    Parameters
    ----------
    client
        An ``azure.mgmt.resourcegraph.ResourceGraphClient``.
    query
        KQL.
    subscriptions
        Subscriptions to query; empty: all the credential can read.
    insecure
        Let the bearer token go over plain http (loopback test endpoints only).

    Raises
    ------
    DataError
        When a page's ``data`` is not a list of rows.
    """
    from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions

    extra = {"enforce_https": False} if insecure else {}
    rows: list[dict[str, Any]] = []
    skip_token: str | None = None
    for _ in range(MAX_PAGES):
        request = QueryRequest(
            subscriptions=list(subscriptions) or None,
            query=query,
            options=QueryRequestOptions(result_format="objectArray", skip_token=skip_token),
        )
        response = client.resources(request, **extra)
        data = response.data
        if not isinstance(data, list):
            raise DataError(
                "a Resource Graph page has no list of rows",
                field="data",
                fix="retry; if it persists Resource Graph changed its format",
            )
        rows.extend(r for r in data if isinstance(r, dict))
        skip_token = response.skip_token
        if not skip_token:
            return rows
    raise DataError(
        f"Resource Graph kept paging past {MAX_PAGES} pages",
        field="$skipToken",
        fix="narrow the query (fewer sizes or regions)",
    )


def get_usage_details(
    client: Any,
    *,
    scope: str,
    start: date,
    end: date,
    metric: Metric = BILLING_METRIC,
    insecure: bool = False,
) -> list[dict[str, Any]]:
    """Usage details of ``scope`` used from ``start`` to ``end`` (inclusive days), as JSON.

    The pager follows ``nextLink``; meter details and additional info are expanded.
    Items are returned in their wire shape (``kind``, ``tags``, ``properties``...).

    Parameters
    ----------
    client
        An ``azure.mgmt.consumption.ConsumptionManagementClient``.
    scope
        ``/subscriptions/<id>``, a resource group or a billing account.
    start, end
        First and last usage day.
    metric
        ``actualcost``, ``amortizedcost`` or ``usage``.
    insecure
        Let the bearer token go over plain http (loopback test endpoints only).
    """
    extra = {"enforce_https": False} if insecure else {}
    pager = client.usage_details.list(
        scope,
        expand=USAGE_EXPAND,
        filter=(
            f"properties/usageStart ge '{start.isoformat()}' "
            f"and properties/usageEnd le '{end.isoformat()}'"
        ),
        metric=metric,
        **extra,
    )
    return [dict(item.as_dict()) for item in pager]


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

    def work() -> TaskOutput:
        items = get_retail_prices(
            options.retail_prices_url,
            filter=query,
            timeout_s=options.timeout_s,
            attempts=options.max_attempts,
            backoff_s=options.backoff_s,
        )
        notes: list[str] = []
        frame = parse_retail_prices(items, notes=notes)
        wanted = frame["instance_type"].isin(options.sizes)
        kept = frame.loc[wanted].reset_index(drop=True)
        return TaskOutput(data=_Prices(kept, tuple(f"{region}: {n}" for n in notes)))

    return Task("prices", region, work, f"GET {options.retail_prices_url} $filter={query}")


def _graph_task(clients: _Clients, options: AzureOptions, region: str, *, source: str) -> Task:
    known = size_lookup([*options.sizes, *gpus._AZURE_SIZES])
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
        return TaskOutput([batch])

    what = "eviction rates" if source == "evictions" else "spot price history"
    return Task(
        source,
        region,
        work,
        f"Resource Graph {what} of {len(options.sizes)} sizes in {region}",
    )


def billing_period(options: AzureOptions) -> tuple[date, date]:
    """First and last day of ``billing_month`` (default: the last whole month).

    Raises
    ------
    UsageError
        When ``billing_month`` is not ``YYYY-MM``.
    """
    if options.billing_month is None:
        last = options.now.date().replace(day=1) - timedelta(days=1)
        return last.replace(day=1), last
    match = _MONTH.match(options.billing_month.strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise UsageError(
            f"{options.billing_month!r} is not a month",
            field="--billing-month",
            fix="give the month as YYYY-MM, e.g. 2025-06",
        )
    first = date(int(match.group(1)), int(match.group(2)), 1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


def _redact(text: str) -> str:
    """``text`` with subscription, tenant and account ids (GUIDs) and bearer tokens hidden."""
    return _BEARER.sub("Bearer <redacted>", _GUID.sub("<id>", text))


def _billing_task(clients: _Clients, options: AzureOptions) -> Task:
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
        raw = usage_details_rows(items)
        frame, notes = parse_azure_cost_details(
            raw,
            source=source,
            as_of=options.now,
            origin="azure usage details",
            metric=BILLING_METRIC,
        )
        return TaskOutput(
            [ImportBatch(BILLING, frame, source, "azure usage details", tuple(notes))]
        )

    return Task(
        "billing",
        None,
        work,
        _redact(f"Consumption usage details of {scope} from {start} to {end} (actual cost)"),
    )


def plan(options: AzureOptions, clients: _Clients | None = None) -> list[Task]:
    """Every task of a collection, in submission order.

    Without ``clients`` (a dry run) the tasks can be described but not run.
    """
    made = clients if clients is not None else _NoClients(options)
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
    _check(options)
    clients = None if dry_run else _Clients(options)

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


def _check(options: AzureOptions) -> None:
    unknown = sorted(set(options.sources) - set(SOURCES))
    if unknown:
        raise UsageError(
            f"unknown source {unknown[0]!r}", field="--sources", fix=f"use {', '.join(SOURCES)}"
        )
    if not options.sources:
        raise UsageError("no source to collect", field="--sources", fix=f"use {', '.join(SOURCES)}")
    needs_regions = bool({"prices", "evictions", "spot-history"} & set(options.sources))
    if needs_regions and not options.regions:
        raise UsageError(
            "no region to collect",
            field="--regions",
            fix="give at least one, e.g. --regions eastus",
        )
    if needs_regions and not options.sizes:
        raise UsageError(
            "no VM size to collect",
            field="--sizes",
            fix="give at least one, e.g. --sizes Standard_NC24ads_A100_v4",
        )
    check_names(options.regions, "region", "--regions", "eastus")
    check_names(options.sizes, "VM size", "--sizes", "Standard_NC24ads_A100_v4")
    check_names(
        options.subscriptions,
        "subscription id",
        "--subscriptions",
        "00000000-0000-0000-0000-000000000000",
    )
    if "prices" in options.sources:
        _plain_http_allowed(options.retail_prices_url, "--retail-prices-url")
    if {"evictions", "spot-history", "billing"} & set(options.sources):
        _plain_http_allowed(
            options.management_endpoint or MANAGEMENT_ENDPOINT, "--management-endpoint"
        )
    if "billing" in options.sources:
        scope = (options.billing_scope or "").strip()
        if not scope.startswith(("/subscriptions/", "/providers/Microsoft.Billing/")):
            raise UsageError(
                "billing needs a scope",
                field="--billing-scope",
                fix="give /subscriptions/<id>, a resource group or "
                "/providers/Microsoft.Billing/billingAccounts/<id>",
            )
        billing_period(options)
    if options.workers < 1 or options.max_attempts < 1 or options.timeout_s <= 0:
        raise UsageError(
            "workers, attempts and timeout must be positive",
            field="--workers",
            fix="give at least 1 worker, 1 attempt and a timeout above 0 s",
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
    if status == 401:
        return scrub(f"{text} (the endpoint refused the token; check the tenant and sign-in)")
    if status == 403:
        return scrub(
            f"{text} (the caller lacks permission: Reader for Resource Graph, Cost "
            "Management Reader for usage details; grant it or leave the source out)"
        )
    if isinstance(exc, urllib.error.HTTPError):
        return scrub(_redact(f"HTTP {exc.code} {exc.reason} from {exc.url.split('?')[0]}"))
    return scrub(text)
