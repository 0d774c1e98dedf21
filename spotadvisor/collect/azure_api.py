"""The thin ``get_*`` calls of ``collect azure`` over HTTP and the Azure SDKs.

``get_retail_prices`` pages through the Retail Prices API with ``urllib`` (retrying 408,
429 and 5xx answers by hand, honouring ``Retry-After``); ``get_resource_graph_rows`` and
``get_usage_details`` page through Resource Graph and the Consumption API with the SDK
clients that ``AzureClients`` makes on first use (azure-core retries and socket timeouts).
The SDKs are imported inside the functions that use them. Responses are returned as
they came; ``collect.azure_parse`` and its siblings parse them. Every listing is read
page by page through a ``collect.paging.PageGuard``: a page cap per call and repeated
``NextPageLink`` / ``$skipToken`` / ``nextLink`` detection (a loop fails the task).
"""

from __future__ import annotations

import json
import math
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from datetime import date
from typing import Any

from spotadvisor.collect.azure_options import MANAGEMENT_ENDPOINT, AzureOptions, plain_http_allowed
from spotadvisor.collect.paging import PageGuard
from spotadvisor.errors import DataError
from spotadvisor.importers.billing.azure import Metric

RETAIL_API_VERSION = "2023-01-01-preview"
BILLING_METRIC: Metric = "actualcost"
USAGE_EXPAND = "properties/meterDetails,properties/additionalInfo"
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER_S = 60.0  # never wait longer than this on one Retry-After
# Page caps (see collect.paging). One region's Linux GPU prices fill a few pages of 100
# items; 1000 pages (100,000 items, more than every VM price of a region) is a loop.
RETAIL_MAX_PAGES = 1000
# SpotResources rows of the sizes asked in one region: one or two pages of up to 1000.
GRAPH_MAX_PAGES = 1000
# A month of usage details of a large scope: millions of lines in pages of 1000, so
# thousands of pages; 10,000 pages (ten million lines) is a loop.
USAGE_MAX_PAGES = 10_000


# -- clients -----------------------------------------------------------------------


class AzureClients:
    """Azure SDK clients shared by the worker threads, made on first use under a lock.

    The credential is made on first use too, so a prices-only collection (no
    authentication) never builds one.
    """

    def __init__(self, options: AzureOptions) -> None:
        self.options = options
        self.endpoint = (options.management_endpoint or MANAGEMENT_ENDPOINT).rstrip("/")
        uses_arm = bool({"evictions", "spot-history", "billing"} & set(options.sources))
        # checked only when used: a prices-only collection never sends a token
        self.insecure = uses_arm and plain_http_allowed(self.endpoint, "--management-endpoint")
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


class NoAzureClients(AzureClients):
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
    PagingError
        When a ``NextPageLink`` comes back or the query pages past ``RETAIL_MAX_PAGES``.
    urllib.error.HTTPError, OSError
        When a request still fails after its attempts.
    """
    query = f"api-version={urllib.parse.quote(api_version)}&$filter={urllib.parse.quote(filter)}"
    next_url: str | None = f"{url}?{query}"
    host = urllib.parse.urlsplit(url).hostname
    items: list[dict[str, Any]] = []
    guard = PageGuard("Retail Prices", RETAIL_MAX_PAGES)
    while next_url is not None:
        page = guard.pages + 1
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
        next_url = guard.next(doc.get("NextPageLink"))
    return items


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
    PagingError
        When a ``$skipToken`` comes back or the query pages past ``GRAPH_MAX_PAGES``.
    """
    from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions

    extra = {"enforce_https": False} if insecure else {}
    rows: list[dict[str, Any]] = []
    skip_token: str | None = None
    guard = PageGuard("Resource Graph resources", GRAPH_MAX_PAGES)
    while True:
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
        skip_token = guard.next(response.skip_token)
        if skip_token is None:
            return rows


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

    Raises
    ------
    PagingError
        When a ``nextLink`` comes back or the listing pages past ``USAGE_MAX_PAGES``.
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
    items: list[dict[str, Any]] = []
    guard = PageGuard("Consumption usage_details.list", USAGE_MAX_PAGES)
    pages = pager.by_page()
    for page in pages:
        items.extend(dict(item.as_dict()) for item in page)
        guard.next(pages.continuation_token)
    return items
