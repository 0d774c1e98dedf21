"""The SDK clients and thin ``get_*`` calls of ``collect gcp``.

``Clients`` makes the google-cloud-billing, google-cloud-bigquery and google-cloud-compute
clients on first use (``NoClients`` stands in for them in a dry run); ``advice_project``
finds the project the advice calls are made for; ``transient_retry`` retries transient
errors. Each ``get_*`` function is one SDK call (services, SKUs, the billing query,
capacity history, capacity advice) with that retry and a per-request timeout; the SDKs
are imported inside the functions that use them. The paged listings (services, SKUs,
query rows) are read page by page through a ``collect.paging.PageGuard``: a page cap
and repeated ``nextPageToken`` detection, since the google-api-core pagers and the
BigQuery row iterator follow tokens forever. Responses are returned as they came
(advice answers as wire-format JSON); ``collect.gcp_parse``,
``collect.gcp_billing_export`` and ``collect.gcp_advice`` parse them.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from spotadvisor.collect.gcp_options import GcpOptions
from spotadvisor.collect.gcp_parse import COMPUTE_ENGINE_NAME, COMPUTE_ENGINE_SERVICE
from spotadvisor.collect.paging import PageGuard

CATALOG_HOST = "cloudbilling.googleapis.com"
BIGQUERY_HOST = "bigquery.googleapis.com"
COMPUTE_HOST = "compute.googleapis.com"
SKU_PAGE_SIZE = 5000  # the Catalog API's largest page
# Page caps (see collect.paging). Compute Engine lists some tens of thousands of SKUs:
# about ten pages of 5000. 1000 pages is a loop even for a server that pages by one
# SKU at a time (the test fakes page by 1 to 40).
SKU_MAX_PAGES = 1000
# The Catalog lists a few thousand services, one or two pages.
SERVICE_MAX_PAGES = 100
# A month of Compute Engine charges from the export, in pages of up to 10 MB: tens of
# pages for a large detailed export; 10,000 pages (about 100 GB) is a loop.
BIGQUERY_MAX_PAGES = 10_000
RETRY_INITIAL_S = 0.1  # first back-off [s]; doubles up to RETRY_MAXIMUM_S
RETRY_MAXIMUM_S = 2.0


# -- clients -------------------------------------------------------------------------


def endpoint_url(url: str | None, default: str) -> str:
    """Where calls go, as task descriptions show it: ``url``, else ``https://default``."""
    return url or f"https://{default}"


class Clients:
    """SDK clients, made on first use inside a task (so a credential problem fails that
    task only) and shared by the worker threads; a lock guards their creation."""

    def __init__(self, options: GcpOptions) -> None:
        self.options = options
        self._lock = threading.Lock()
        self._catalog: Any = None
        self._bigquery: Any = None
        self._advice_credentials: Any = None
        self._local = threading.local()

    def catalog(self) -> Any:
        """A ``CloudCatalogClient`` over REST."""
        with self._lock:
            if self._catalog is None:
                from google.api_core.client_options import ClientOptions
                from google.cloud import billing_v1

                endpoint = self.options.catalog_endpoint or CATALOG_HOST
                self._catalog = billing_v1.CloudCatalogClient(
                    credentials=self.options.credentials,
                    transport="rest",
                    client_options=ClientOptions(api_endpoint=endpoint),
                )
            return self._catalog

    def bigquery(self, project: str) -> Any:
        """A BigQuery ``Client`` billing queries to ``project``."""
        with self._lock:
            if self._bigquery is None:
                from google.cloud import bigquery

                client_options = (
                    {"api_endpoint": self.options.bigquery_endpoint}
                    if self.options.bigquery_endpoint
                    else None
                )
                self._bigquery = bigquery.Client(
                    project=project,
                    credentials=self.options.credentials,
                    client_options=client_options,
                )
            return self._bigquery

    def advice(self) -> Any:
        """An ``AdviceClient`` (google-cloud-compute) over REST.

        One per worker thread, each with its own HTTP connection pool (a shared one
        holds 10 connections), all sharing one set of credentials.
        """
        client = getattr(self._local, "advice", None)
        if client is None:
            from google.api_core.client_options import ClientOptions
            from google.cloud import compute_v1

            with self._lock:
                if self._advice_credentials is None:
                    given = self.options.credentials
                    self._advice_credentials = given if given is not None else _adc_credentials()
                credentials = self._advice_credentials
            client = compute_v1.AdviceClient(
                credentials=credentials,
                transport="rest",
                client_options=ClientOptions(
                    api_endpoint=self.options.compute_endpoint or COMPUTE_HOST
                ),
            )
            self._local.advice = client
        return client


def _adc_credentials() -> Any:
    """Application Default Credentials for Compute Engine calls."""
    import google.auth

    credentials, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
    return credentials


def advice_project(options: GcpOptions) -> str | None:
    """The project the advice calls are made for: ``options.project``, else the
    Application Default Credentials project (looked up only when no credentials were
    given), else None."""
    if options.project:
        return options.project
    if options.credentials is not None:  # explicit credentials (--anonymous): no ADC lookup
        return None
    try:
        import google.auth

        _, project = google.auth.default()
    except Exception:  # no ADC, no SDK: no project, so the advice sources are skipped
        return None
    return str(project) if project else None


class NoClients(Clients):
    """Stands in for the clients in a dry run, where nothing may be called."""

    def __init__(self) -> None:  # nothing is imported or made
        pass

    def catalog(self) -> Any:
        raise AssertionError("a dry run makes no calls")

    def bigquery(self, project: str) -> Any:
        raise AssertionError("a dry run makes no calls")

    def advice(self) -> Any:
        raise AssertionError("a dry run makes no calls")


def transient_retry(deadline_s: float) -> Any:
    """A google-api-core ``Retry`` for transient errors, giving up after ``deadline_s``.

    Retried: HTTP 429 (RESOURCE_EXHAUSTED), 500, 502, 503, 504 and dropped connections,
    with exponential back-off from ``RETRY_INITIAL_S`` to ``RETRY_MAXIMUM_S`` [s]. A read
    timeout is not retried: a server that does not answer within ``timeout_s`` fails
    its task.
    """
    import requests
    from google.api_core import exceptions, retry

    predicate = retry.if_exception_type(
        exceptions.TooManyRequests,
        exceptions.InternalServerError,
        exceptions.BadGateway,
        exceptions.ServiceUnavailable,
        exceptions.GatewayTimeout,
        requests.exceptions.ConnectionError,
    )
    return retry.Retry(
        predicate=predicate,
        initial=RETRY_INITIAL_S,
        maximum=RETRY_MAXIMUM_S,
        multiplier=2.0,
        timeout=deadline_s,
    )


# -- get_* (thin over the SDKs) ------------------------------------------------------


def get_compute_service(catalog: Any, *, timeout_s: float, retry: Any) -> str:
    """The Compute Engine service name (``services/6F81-5844-456A``).

    Looked up by display name through ``list_services``; the well-known name when the
    listing does not have it.
    """
    guard = PageGuard("CloudCatalogClient.list_services", SERVICE_MAX_PAGES)
    for page in catalog.list_services(retry=retry, timeout=timeout_s).pages:
        for service in page.services:
            if service.display_name == COMPUTE_ENGINE_NAME:
                return str(service.name)
        guard.next(page.next_page_token)
    return COMPUTE_ENGINE_SERVICE


def get_skus(catalog: Any, *, service: str, timeout_s: float, retry: Any) -> list[Any]:
    """Every SKU of ``service`` priced in USD (the pager follows ``nextPageToken``).

    Raises
    ------
    PagingError
        On a repeated ``nextPageToken`` or more than ``SKU_MAX_PAGES`` pages.
    """
    from google.cloud import billing_v1

    request = billing_v1.ListSkusRequest(
        parent=service, currency_code="USD", page_size=SKU_PAGE_SIZE
    )
    skus: list[Any] = []
    guard = PageGuard("CloudCatalogClient.list_skus", SKU_MAX_PAGES)
    for page in catalog.list_skus(request=request, retry=retry, timeout=timeout_s).pages:
        skus.extend(page.skus)
        guard.next(page.next_page_token)
    return skus


def get_billing_rows(
    client: Any, *, sql: str, parameters: dict[str, datetime], timeout_s: float, retry: Any
) -> list[dict[str, Any]]:
    """Rows of a billing query, as dicts (``query_and_wait``, pages followed).

    ``parameters`` are passed as TIMESTAMP query parameters; a failed job is not
    retried (``job_retry=None``): it is reported and the next run tries again.

    Raises
    ------
    PagingError
        On a repeated ``pageToken`` or more than ``BIGQUERY_MAX_PAGES`` pages.
    """
    from google.cloud import bigquery

    config = bigquery.QueryJobConfig(
        query_parameters=[
            bigquery.ScalarQueryParameter(name, "TIMESTAMP", value)
            for name, value in parameters.items()
        ],
        labels={"spotadvisor": "billing"},
    )
    rows = client.query_and_wait(
        sql,
        job_config=config,
        api_timeout=timeout_s,
        wait_timeout=timeout_s,
        retry=retry,
        job_retry=None,
    )
    if type(rows).__name__ == "_EmptyRowIterator":  # no result set: nothing to page
        return []
    out: list[dict[str, Any]] = []
    guard = PageGuard("bigquery jobs.getQueryResults", BIGQUERY_MAX_PAGES)
    for page in rows.pages:
        out.extend(dict(row.items()) for row in page)
        guard.next(rows.next_page_token)
    return out


def _wire(message: Any) -> dict[str, Any]:
    """A proto-plus response as its REST JSON (camelCase keys, enums as names)."""
    return dict(
        type(message).to_dict(
            message, use_integers_for_enums=False, preserving_proto_field_name=False
        )
    )


def get_capacity_history(
    client: Any,
    *,
    project: str,
    region: str,
    zone: str,
    machine_type: str,
    timeout_s: float,
    retry: Any,
) -> dict[str, Any]:
    """``advice.capacityHistory``: the Spot preemption history of one machine type in one
    zone (``types: [PREEMPTION]``), as wire-format JSON."""
    from google.cloud import compute_v1

    request = compute_v1.CapacityHistoryRequest(
        instance_properties=compute_v1.CapacityHistoryRequestInstanceProperties(
            machine_type=machine_type,
            scheduling=compute_v1.CapacityHistoryRequestInstancePropertiesScheduling(
                provisioning_model="SPOT"
            ),
        ),
        location_policy=compute_v1.CapacityHistoryRequestLocationPolicy(location=f"zones/{zone}"),
        types=["PREEMPTION"],
    )
    response = client.capacity_history(
        project=project,
        region=region,
        capacity_history_request_resource=request,
        retry=retry,
        timeout=timeout_s,
    )
    return _wire(response)


def get_capacity_advice(
    client: Any,
    *,
    project: str,
    region: str,
    zone: str,
    machine_type: str,
    size: int,
    timeout_s: float,
    retry: Any,
) -> dict[str, Any]:
    """``advice.capacity``: obtainability and estimated uptime of ``size`` Spot VMs of one
    machine type in one zone (``targetShape: ANY_SINGLE_ZONE``), as wire-format JSON."""
    from google.cloud import compute_v1

    selection = compute_v1.CapacityAdviceRequestInstanceFlexibilityPolicyInstanceSelection(
        machine_types=[machine_type]
    )
    request = compute_v1.CapacityAdviceRequest(
        size=size,
        instance_flexibility_policy=compute_v1.CapacityAdviceRequestInstanceFlexibilityPolicy(
            instance_selections={"spotadvisor": selection}
        ),
        instance_properties=compute_v1.CapacityAdviceRequestInstanceProperties(
            scheduling=compute_v1.CapacityAdviceRequestInstancePropertiesScheduling(
                provisioning_model="SPOT"
            )
        ),
        distribution_policy=compute_v1.CapacityAdviceRequestDistributionPolicy(
            target_shape="ANY_SINGLE_ZONE",
            zones=[
                compute_v1.CapacityAdviceRequestDistributionPolicyZoneConfiguration(
                    zone=f"zones/{zone}"
                )
            ],
        ),
    )
    response = client.capacity(
        project=project,
        region=region,
        capacity_advice_request_resource=request,
        retry=retry,
        timeout=timeout_s,
    )
    return _wire(response)
