"""``collect gcp``: Cloud Billing Catalog prices, prior bands, BigQuery billing export.

Thin ``get_*`` functions call google-cloud-billing and google-cloud-bigquery (imported
inside them, so the rest of spotadvisor works without the GCP SDKs) with Application
Default Credentials unless credentials are given, a google-api-core retry for transient
errors (429, 500, 502, 503, 504, dropped connections) bounded by a short deadline, and a
per-request timeout; the responses go through the pure parsers of
``collect.gcp_parse``, ``collect.gcp_offers`` and ``collect.gcp_billing_export``. ``collect_gcp`` runs one task per source in a bounded thread pool
(``prices``: the Compute Engine SKUs; ``bands``: the interruption prior, no network;
``billing``: one month of the billing export), composes this run's parts into offers,
and writes everything that succeeded in one transaction: an interrupted collection
writes nothing and leaves earlier data intact, and a re-run adds nothing twice.

Credentials, billing account ids and project numbers never appear in task errors,
descriptions, notes or sources.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from spotadvisor.collect.gcp_billing_export import (
    billing_notes,
    billing_parameters,
    billing_query,
    check_billing_table,
    is_detailed_table,
    month_bounds,
    parse_bigquery_billing,
)
from spotadvisor.collect.gcp_offers import compose_gcp_offers, prior_band_rows
from spotadvisor.collect.gcp_parse import (
    COMPUTE_ENGINE_NAME,
    COMPUTE_ENGINE_SERVICE,
    parse_gcp_skus,
    skipped_notes,
)
from spotadvisor.collect.run import (
    CollectionReport,
    Task,
    TaskOutput,
    TaskResult,
    describe_error,
    run_collection,
    scrub,
)
from spotadvisor.errors import DataError, UsageError, did_you_mean
from spotadvisor.gpus import gcp_gpu_machine_types, gcp_machine
from spotadvisor.importers.base import ImportBatch
from spotadvisor.schema import BILLING, INTERRUPTION_HISTORY, OFFERS
from spotadvisor.store import Store

SOURCES = ("prices", "bands", "billing")
OFFERS_SOURCE = "gcp-catalog"
CATALOG_HOST = "cloudbilling.googleapis.com"
BIGQUERY_HOST = "bigquery.googleapis.com"
SKU_PAGE_SIZE = 5000  # the Catalog API's largest page
RETRY_INITIAL_S = 0.1  # first back-off [s]; doubles up to RETRY_MAXIMUM_S
RETRY_MAXIMUM_S = 2.0


def _all_machine_types() -> tuple[str, ...]:
    return tuple(gcp_gpu_machine_types())


def _previous_month(now: datetime) -> str:
    year, month = (now.year, now.month - 1) if now.month > 1 else (now.year - 1, 12)
    return f"{year:04d}-{month:02d}"


@dataclass(frozen=True)
class GcpOptions:
    """What ``collect gcp`` collects and how.

    Attributes
    ----------
    regions
        Regions to keep (``us-central1``...); empty: every region the catalog prices.
    machine_types
        Machines to price; by default every GCP GPU machine type the reference knows
        (a2, a3, a4, g2) plus n1 hosts with attachable GPUs (``n1-standard-8+1xT4``...,
        see ``gpus.gcp_n1_default_combos``).
    sources
        Subset of ``SOURCES``; default prices and bands.
    billing_table
        ``project.dataset.gcp_billing_export_v1_XXXXXX_XXXXXX_XXXXXX`` or the detailed
        ``..._resource_v1_...`` table (``dataset.table`` with ``project``).
    billing_month
        ``YYYY-MM`` to read from the export; None: the month before ``now``.
    project
        Project that runs (and pays for) the BigQuery query; None: the table's project.
    catalog_endpoint, bigquery_endpoint
        Where to send the calls (``http://127.0.0.1:8080`` in tests); None: Google's.
    credentials
        ``google.auth.credentials.Credentials``; None: Application Default Credentials.
        Never printed.
    workers
        Threads.
    timeout_s
        Timeout of each HTTP request [s].
    retry_deadline_s
        Longest time spent retrying transient errors of one call [s].
    now
        The collection's reference time (UTC): ``as_of`` of offers and bands.
    """

    regions: tuple[str, ...] = ()
    machine_types: tuple[str, ...] = field(default_factory=_all_machine_types)
    sources: frozenset[str] = frozenset({"prices", "bands"})
    billing_table: str | None = None
    billing_month: str | None = None
    project: str | None = None
    catalog_endpoint: str | None = None
    bigquery_endpoint: str | None = None
    credentials: Any = field(default=None, repr=False)
    workers: int = 4
    timeout_s: float = 30.0
    retry_deadline_s: float = 30.0
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def month(self) -> str:
        """The billing month to read, ``YYYY-MM``."""
        return self.billing_month or _previous_month(self.now)

    @property
    def table(self) -> str | None:
        """The billing table as ``project.dataset.table`` (None without one)."""
        if not self.billing_table:
            return None
        project, dataset, table = check_billing_table(self.billing_table)
        project = project or self.project
        return f"{project}.{dataset}.{table}" if project else None


# -- clients -------------------------------------------------------------------------


class _Clients:
    """SDK clients, made on first use inside a task (so a credential problem fails that
    task only) and shared by the worker threads; a lock guards their creation."""

    def __init__(self, options: GcpOptions) -> None:
        self.options = options
        self._lock = threading.Lock()
        self._catalog: Any = None
        self._bigquery: Any = None

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


class _NoClients(_Clients):
    """Stands in for the clients in a dry run, where nothing may be called."""

    def __init__(self) -> None:  # nothing is imported or made
        pass

    def catalog(self) -> Any:
        raise AssertionError("a dry run makes no calls")

    def bigquery(self, project: str) -> Any:
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
    for service in catalog.list_services(retry=retry, timeout=timeout_s):
        if service.display_name == COMPUTE_ENGINE_NAME:
            return str(service.name)
    return COMPUTE_ENGINE_SERVICE


def get_skus(catalog: Any, *, service: str, timeout_s: float, retry: Any) -> list[Any]:
    """Every SKU of ``service`` priced in USD (the pager follows ``nextPageToken``)."""
    from google.cloud import billing_v1

    request = billing_v1.ListSkusRequest(
        parent=service, currency_code="USD", page_size=SKU_PAGE_SIZE
    )
    return list(catalog.list_skus(request=request, retry=retry, timeout=timeout_s))


def get_billing_rows(
    client: Any, *, sql: str, parameters: dict[str, datetime], timeout_s: float, retry: Any
) -> list[dict[str, Any]]:
    """Rows of a billing query, as dicts (``query_and_wait``, pages followed).

    ``parameters`` are passed as TIMESTAMP query parameters; a failed job is not
    retried (``job_retry=None``): it is reported and the next run tries again.
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
    return [dict(row.items()) for row in rows]


# -- tasks ---------------------------------------------------------------------------


def _endpoint(url: str | None, default: str) -> str:
    return url or f"https://{default}"


def _prices_task(clients: _Clients, options: GcpOptions) -> Task:
    def work() -> TaskOutput:
        retry = transient_retry(options.retry_deadline_s)
        catalog = clients.catalog()
        service = get_compute_service(catalog, timeout_s=options.timeout_s, retry=retry)
        skus = get_skus(catalog, service=service, timeout_s=options.timeout_s, retry=retry)
        return TaskOutput(data=parse_gcp_skus(skus))

    where = _endpoint(options.catalog_endpoint, CATALOG_HOST)
    return Task(
        "prices",
        None,
        work,
        f"CloudCatalogClient.list_skus({COMPUTE_ENGINE_SERVICE}, currency USD) at {where}: "
        f"core, RAM and GPU prices of {len(options.machine_types)} machine types",
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


def _billing_task(clients: _Clients, options: GcpOptions) -> Task:
    table = options.table
    assert table is not None  # checked by _check
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
            return TaskOutput()
        notes = billing_notes(frame, month, detailed)
        return TaskOutput(
            [ImportBatch(BILLING, frame, source, "gcp bigquery billing export", tuple(notes))]
        )

    kind = "detailed" if detailed else "standard"
    where = _endpoint(options.bigquery_endpoint, BIGQUERY_HOST)
    return Task(
        "billing",
        None,
        work,
        _scrub_ids(
            f"bigquery jobs.query at {where}: Compute Engine charges of {month} from the "
            f"{kind} export {table}"
        ),
    )


def plan(options: GcpOptions, clients: _Clients | None = None) -> list[Task]:
    """Every task of a collection, in submission order.

    Without ``clients`` (a dry run) the tasks can be described but not run.

    Raises
    ------
    UsageError
        For options ``collect_gcp`` would refuse (see there).
    """
    _check(options)
    made = clients if clients is not None else _NoClients()
    tasks: list[Task] = []
    if "prices" in options.sources:
        tasks.append(_prices_task(made, options))
    if "bands" in options.sources:
        tasks.append(_bands_task(options))
    if "billing" in options.sources:
        tasks.append(_billing_task(made, options))
    return tasks


# -- the whole collection ------------------------------------------------------------


def known_gcp_zones(store: Store) -> pd.DataFrame:
    """``(region, zone, instance_type)`` of the GCP offers the store and the embedded
    snapshot already hold (the zone hint for ``compose_gcp_offers``)."""
    from spotadvisor.snapshot import read_snapshot_table

    frames = [store.read(OFFERS)]
    with contextlib.suppress(DataError):  # no snapshot: the store's zones only
        frames.append(read_snapshot_table(OFFERS))
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
    machine type), else one regional row. Bands: the GCP prior (source ``prior:...``)
    for every (region, machine type) offered in this run, or, without prices, every one
    the store or snapshot offers.

    Raises
    ------
    UsageError
        For options that make no sense (unknown source or machine type, billing without
        a table or with a malformed table or month).
    """
    _check(options)
    if dry_run:
        return run_collection(store, "gcp", plan(options), workers=options.workers, dry_run=True)
    clients = _Clients(options)
    zones = known_gcp_zones(store)

    def finish(results: list[TaskResult]) -> tuple[list[TaskResult], list[ImportBatch]]:
        return finish_results(options, results, zones)

    return run_collection(
        store,
        "gcp",
        plan(options, clients),
        workers=options.workers,
        finish=finish,
        classify=_classify,
        on_done=on_done,
    )


def finish_results(
    options: GcpOptions, results: list[TaskResult], zones: pd.DataFrame
) -> tuple[list[TaskResult], list[ImportBatch]]:
    """Offers from the prices task's parts and bands from the prior (see ``collect_gcp``).

    A step that fails here marks its task failed; the other tasks' rows are kept.
    """
    out = list(results)
    extra: list[ImportBatch] = []
    offered: set[tuple[str, str]] | None = None
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
            out[i] = dataclasses.replace(out[i], error=_classify(exc), rows=0, output=TaskOutput())
            continue
        notes = (
            f"{len(parts)} part price(s) read, {len(offers)} offer(s) composed",
            *skipped_notes(parts.attrs.get("skipped", {})),
        )
        if not offers.empty:
            extra.append(
                ImportBatch(OFFERS, offers, OFFERS_SOURCE, "gcp cloud billing catalog", notes)
            )
        offered = set(zip(offers["region"], offers["instance_type"], strict=True))
    if offered is None:  # no prices this run: what the store or snapshot offers
        wanted = set(options.machine_types)
        offered = {
            (str(r), str(t))
            for r, t in zip(zones["region"], zones["instance_type"], strict=True)
            if t in wanted and (not options.regions or r in options.regions)
        }
    for i, result in enumerate(out):
        if result.source != "bands" or not result.ok:
            continue
        prior = result.output.data
        bands = prior_band_rows(offered, prior, as_of=options.now)  # type: ignore[arg-type]
        source = str(bands["source"].iloc[0]) if not bands.empty else "prior"
        if not bands.empty:
            note = f"GCP publishes no bands: the prior {source} for {len(bands)} machine(s)"
            extra.append(ImportBatch(INTERRUPTION_HISTORY, bands, source, "gcp prior", (note,)))
        out[i] = dataclasses.replace(out[i], rows=len(bands), output=TaskOutput())
    return out, extra


def _check(options: GcpOptions) -> None:
    unknown = sorted(set(options.sources) - set(SOURCES))
    if unknown:
        raise UsageError(
            f"unknown source {unknown[0]!r}", field="--sources", fix=f"use {', '.join(SOURCES)}"
        )
    known = gcp_gpu_machine_types()
    for name in options.machine_types:
        if gcp_machine(name) is None:
            raise UsageError(
                f"unknown GCP GPU machine type {name!r}",
                field="--machine-types",
                fix=did_you_mean(name, known)
                or "use a2/a3/a4/g2 GPU machine types or n1-standard-N+KxT4|V100|P100|P4",
            )
    if "billing" in options.sources:
        if not options.billing_table:
            raise UsageError(
                "billing needs the BigQuery billing export table",
                field="--billing-table",
                fix="give project.dataset.gcp_billing_export_v1_XXXXXX_XXXXXX_XXXXXX",
            )
        if options.table is None:
            raise UsageError(
                "the billing table names no project",
                field="--billing-table",
                fix="write it as project.dataset.table or pass --project",
            )
        month_bounds(options.month)


# -- errors --------------------------------------------------------------------------

_BILLING_ACCOUNT = re.compile(
    r"(?<![0-9A-Za-z])[0-9A-F]{6}[-_][0-9A-F]{6}[-_][0-9A-F]{6}(?![0-9A-Za-z])", re.IGNORECASE
)
# BigQuery errors start with the request: "POST https://.../queries?prettyPrint=false: ..."
_REQUEST_LINE = re.compile(r"^(?:GET|POST|PUT|PATCH|DELETE) \S+: ")
_PROJECT_NUMBER = re.compile(r"(?<!\d)\d{10,13}(?!\d)")
_TOKENS = (
    (re.compile(r"ya29\.[\w.-]+"), "<token>"),
    (re.compile(r"AIza[\w-]{20,}"), "<api-key>"),
    (re.compile(r"(?i)bearer\s+\S+"), "Bearer <token>"),
    (re.compile(r"(?i)(access_token|key)=[^\s&,]+"), r"\1=<redacted>"),
)


def _scrub_ids(text: str) -> str:
    """``text`` without billing account ids, project numbers or tokens."""
    text = _BILLING_ACCOUNT.sub("<billing-account>", text)
    text = _PROJECT_NUMBER.sub("<project-number>", text)
    for pattern, replacement in _TOKENS:
        text = pattern.sub(replacement, text)
    return text


def _classify(exc: BaseException) -> str:
    """One scrubbed line for a failed task; credential and permission problems say what
    to do."""
    name = type(exc).__name__
    if name == "DefaultCredentialsError":
        return (
            "no Google Cloud credentials found (Application Default Credentials); run "
            "'gcloud auth application-default login' or set GOOGLE_APPLICATION_CREDENTIALS"
        )
    if name in {"ReadTimeout", "ConnectTimeout", "Timeout"}:
        return f"{name}: the endpoint did not answer in time"
    code = getattr(exc, "code", None)
    message = getattr(exc, "message", None)
    if isinstance(code, int) and isinstance(message, str):  # GoogleAPICallError
        text = f"{name} (HTTP {code}): {_REQUEST_LINE.sub('', message)}"
        if code in (401, 403):
            text += " (the caller lacks this permission; grant it or leave the source out)"
    elif name == "RetryError":
        cause = getattr(exc, "cause", None)
        text = "gave up retrying" + (f": {_classify(cause)}" if cause is not None else "")
    else:
        text = describe_error(exc)
    return scrub(_scrub_ids(text))
