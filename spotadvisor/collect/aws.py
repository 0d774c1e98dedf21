"""``spotadvisor collect aws``: spot price history, bands, on-demand prices, placement scores, billing.

Thin ``get_*`` functions call boto3 (imported inside them) with the standard credential
chain, adaptive retries and timeouts; the responses go through pure parsers
(``importers.spot_price_history``, ``importers.spot_advisor``, ``collect.aws_parse``,
``collect.cost_explorer``). ``collect_aws`` runs one task per source and region in
parallel, joins this run's spot prices, on-demand prices and placement scores into
offers, and writes everything that succeeded in one transaction: an interrupted
collection writes nothing and leaves earlier data intact, and a re-run adds nothing
twice.

Every paginated call goes through a ``collect.paging.PageGuard`` (a page cap per call
and repeated-token detection: a ``NextToken`` that comes back fails the task). A task
that comes back empty where the store or the snapshot holds its data (its ``Scope``)
fails instead of writing offers without prices; a Price List page without ``PriceList``
(a cut or malformed JSON body, which botocore parses into an empty response) is an
error, never 0 rows. No offer is rebuilt for a (region, instance type) whose spot-price
or on-demand task failed: offers are keyed without their date, so the rebuilt row would
replace the stored one and erase the price that could not be refreshed.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
import platformdirs

from spotadvisor.collect.aws_parse import (
    ON_DEMAND_COLUMNS,
    assemble_offers,
    fill_zone_ids,
    parse_placement_scores,
    parse_pricing_products,
)
from spotadvisor.collect.paging import PageGuard
from spotadvisor.collect.run import (
    CollectionReport,
    Scope,
    Task,
    TaskOutput,
    TaskResult,
    describe_error,
    run_collection,
    scrub,
)
from spotadvisor.errors import DataError, UsageError
from spotadvisor.gpus import is_gpu_instance
from spotadvisor.importers.base import ImportBatch
from spotadvisor.importers.spot_advisor import parse_spot_advisor
from spotadvisor.importers.spot_price_history import parse_spot_price_records
from spotadvisor.schema import BILLING, INTERRUPTION_HISTORY, OFFERS, SPOT_PRICE_HISTORY
from spotadvisor.store import Store

SPOT_ADVISOR_URL = "https://spot-bid-advisor.s3.amazonaws.com/spot-advisor-data.json"
PRICING_REGION = "us-east-1"  # the Price List API is served from a few regions only
MAX_HISTORY_DAYS = 90  # describe-spot-price-history goes back at most 90 days
SOURCES = ("spot-prices", "bands", "on-demand", "placement", "billing")
SPOT_HISTORY_PAGE_SIZE = 1000  # the API's maximum
# Page caps (see collect.paging). A stream is at most SPOT_TYPES_PER_CALL types x ~6 zones
# x 90 days; even a price change every hour in every pool is ~100 pages of 1000 records,
# so 500 pages (half a million records) is a loop, not a listing.
SPOT_HISTORY_MAX_PAGES = 500
# Price List pages hold 100 products; one region's on-demand Linux GPU products fill one
# or two, so 100 pages (10,000 products, the whole EC2 list of a region) is a loop.
PRICE_LIST_MAX_PAGES = 100
# One instance type's scores: one item per zone of the regions asked (a few hundred at
# most), up to 1000 per page: 20 pages is already 20 times more than can exist.
PLACEMENT_MAX_PAGES = 20
# Instance types per describe-spot-price-history stream: several streams per region
# paginate in parallel instead of one long sequential walk.
SPOT_TYPES_PER_CALL = 4
PLACEMENT_CACHE_TTL_S = 3600.0  # AWS limits distinct placement-score requests per day
EC2_SERVICE = "Amazon Elastic Compute Cloud - Compute"
BANDS_SOURCE = "aws-spot-advisor"


@dataclass(frozen=True)
class AwsOptions:
    """What ``collect aws`` collects and how.

    Attributes
    ----------
    regions, instance_types
        Where and what; instance types default to every GPU type in the reference.
    since_hours
        Spot price history window [h], at most 90 days.
    sources
        Subset of ``SOURCES`` to collect.
    target_capacity
        Instances a workload needs, for placement scores (collected only when given).
    tag_keys, billing_months, billing_granularity
        Cost Explorer: tags to group by, whole months back to fetch, MONTHLY or DAILY.
    spot_advisor_url
        Where the Spot Advisor JSON is (default: AWS's, or ENDPOINT/spot-advisor-data.json
        with ``endpoint_url``).
    endpoint_url
        Send every AWS call there (tests, AWS-compatible endpoints).
    profile
        A named profile; None: the standard chain (env, SSO, instance role...).
    workers, connect_timeout_s, read_timeout_s, max_attempts
        Threads, socket timeouts [s], attempts per call (adaptive retries).
    now
        The collection's reference time (UTC).
    """

    regions: tuple[str, ...]
    instance_types: tuple[str, ...]
    since_hours: float = 30 * 24
    sources: frozenset[str] = frozenset({"spot-prices", "bands", "on-demand"})
    target_capacity: int | None = None
    tag_keys: tuple[str, ...] = ()
    billing_months: int = 1
    billing_granularity: str = "MONTHLY"
    spot_advisor_url: str | None = None
    endpoint_url: str | None = None
    profile: str | None = None
    workers: int = 16
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 30.0
    max_attempts: int = 6
    now: datetime = field(default_factory=lambda: datetime.now(UTC))


# -- clients -------------------------------------------------------------------------


class _Clients:
    """boto3 clients per (service, region), shared by the worker threads.

    Clients are thread-safe once made, but making them from one session is not: a lock
    guards creation (one session, because each session loads the service models again).
    """

    def __init__(self, options: AwsOptions) -> None:
        import boto3
        from botocore.config import Config

        self.session = boto3.session.Session(profile_name=options.profile)
        self.config = Config(
            retries={"mode": "adaptive", "max_attempts": options.max_attempts},
            connect_timeout=options.connect_timeout_s,
            read_timeout=options.read_timeout_s,
            user_agent_extra="spotadvisor",
        )
        self.endpoint_url = options.endpoint_url
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str], Any] = {}

    def get(self, service: str, region: str) -> Any:
        key = (service, region)
        with self._lock:
            if key not in self._cache:
                self._cache[key] = self.session.client(
                    service, region_name=region, endpoint_url=self.endpoint_url, config=self.config
                )
            return self._cache[key]


class _NoClients(_Clients):
    """Stands in for the clients in a dry run, where nothing may be called."""

    def __init__(self) -> None:  # no session: nothing is imported or called
        pass

    def get(self, service: str, region: str) -> Any:
        raise AssertionError("a dry run makes no calls")


# -- get_* (thin over the SDK) -------------------------------------------------------


def guarded_pages(
    pages: Iterable[dict[str, Any]], call: str, max_pages: int, token_key: str = "NextToken"
) -> Iterator[dict[str, Any]]:
    """The pages of a boto3 paginator, each checked by a ``PageGuard``.

    botocore stops only when the same token comes twice in a row; a token that comes
    back after other pages (A, B, A...) or a listing that never ends would page forever.

    Raises
    ------
    PagingError
        On a repeated token or more than ``max_pages`` pages.
    """
    guard = PageGuard(call, max_pages)
    for page in pages:
        guard.next(page.get(token_key))
        yield page


def get_spot_price_history(
    ec2: Any, *, instance_types: Sequence[str], start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """Every Linux spot price change of ``instance_types`` in the client's region."""
    paginator = ec2.get_paginator("describe_spot_price_history")
    records: list[dict[str, Any]] = []
    pages = paginator.paginate(
        StartTime=start,
        EndTime=end,
        InstanceTypes=list(instance_types),
        ProductDescriptions=["Linux/UNIX", "Linux/UNIX (Amazon VPC)"],
        PaginationConfig={"PageSize": SPOT_HISTORY_PAGE_SIZE},
    )
    for page in guarded_pages(pages, "ec2.describe_spot_price_history", SPOT_HISTORY_MAX_PAGES):
        records.extend(page.get("SpotPriceHistory", []))
    return records


def get_zone_ids(ec2: Any) -> dict[str, str]:
    """The account's zone name -> zone ID map in the client's region; empty when the
    caller may not describe zones (then offers are keyed by zone name)."""
    from botocore.exceptions import ClientError

    try:
        zones = ec2.describe_availability_zones().get("AvailabilityZones", [])
    except ClientError:
        return {}
    return {
        str(z["ZoneName"]): str(z["ZoneId"]) for z in zones if z.get("ZoneName") and z.get("ZoneId")
    }


def get_on_demand_products(pricing: Any, *, region: str) -> list[str]:
    """Price List items for on-demand Linux GPU instances in ``region`` (JSON strings).

    Raises
    ------
    DataError
        When a page has no ``PriceList`` list: botocore turns a cut or malformed JSON
        body into a response without it, which must not read as "no products".
    PagingError
        On a repeated ``NextToken`` or more than ``PRICE_LIST_MAX_PAGES`` pages.
    """
    filters = [
        {"Type": "TERM_MATCH", "Field": field, "Value": value}
        for field, value in (
            ("regionCode", region),
            ("instanceFamily", "GPU instance"),
            ("operatingSystem", "Linux"),
            ("tenancy", "Shared"),
            ("preInstalledSw", "NA"),
            ("capacitystatus", "Used"),
            ("marketoption", "OnDemand"),  # without it p4d/p5 also list Capacity Blocks
        )
    ]
    items: list[str] = []
    paginator = pricing.get_paginator("get_products")
    pages = paginator.paginate(ServiceCode="AmazonEC2", Filters=filters, FormatVersion="aws_v1")
    for number, page in enumerate(
        guarded_pages(pages, "pricing.get_products", PRICE_LIST_MAX_PAGES), start=1
    ):
        found = page.get("PriceList")
        if not isinstance(found, list):
            raise DataError(
                f"pricing.get_products page {number} for {region} has no PriceList "
                "(a cut or malformed answer)",
                fix="retry; earlier on-demand prices are kept",
            )
        items.extend(found)
    return items


def get_spot_advisor(url: str, *, timeout_s: float, attempts: int = 3) -> bytes:
    """The Spot Advisor JSON bytes, retried with backoff on network errors."""
    if not url.startswith(("http://", "https://")):
        raise UsageError(
            f"{url!r} is not an http(s) URL", field="--spot-advisor-url", fix="give a full URL"
        )
    delay = 0.5
    for attempt in range(attempts):
        try:
            with urllib.request.urlopen(url, timeout=timeout_s) as response:
                body: bytes = response.read()
                return body
        except OSError:
            if attempt == attempts - 1:
                raise
            time.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")


def get_placement_scores(
    ec2: Any, *, instance_type: str, target_capacity: int, regions: Sequence[str]
) -> list[dict[str, Any]]:
    """Per-zone placement scores of one instance type at a target capacity [instances]."""
    paginator = ec2.get_paginator("get_spot_placement_scores")
    items: list[dict[str, Any]] = []
    pages = paginator.paginate(
        InstanceTypes=[instance_type],
        TargetCapacity=target_capacity,
        TargetCapacityUnitType="units",
        SingleAvailabilityZone=True,
        RegionNames=list(regions),
    )
    for page in guarded_pages(pages, "ec2.get_spot_placement_scores", PLACEMENT_MAX_PAGES):
        items.extend(page.get("SpotPlacementScores", []))
    return items


# -- tasks ---------------------------------------------------------------------------


def _spot_task(clients: _Clients, options: AwsOptions, region: str, types: Sequence[str]) -> Task:
    """Raw price-change records of some types in one region (parsed per region later)."""
    start = options.now - timedelta(hours=options.since_hours)

    def work() -> TaskOutput:
        ec2 = clients.get("ec2", region)
        records = get_spot_price_history(ec2, instance_types=types, start=start, end=options.now)
        if any(not r.get("AvailabilityZoneId") for r in records):
            fill_zone_ids(records, get_zone_ids(ec2))
        answer = f"describe_spot_price_history returned no price of {len(types)} type(s)"
        return TaskOutput(data=records, answer=answer)

    return Task(
        "spot-prices",
        region,
        work,
        f"ec2.describe_spot_price_history in {region} since {start:%Y-%m-%d} ({len(types)} types)",
        Scope(
            OFFERS, "aws", (region,), tuple(types), ("price_spot_usd_per_hour",), (), "spot prices"
        ),
    )


def parse_spot_results(options: AwsOptions, results: list[TaskResult]) -> list[TaskResult]:
    """Parse each region's records in one go (pandas costs per call, not per row).

    A region whose records do not parse has all its spot-price tasks marked failed.
    """
    by_region: dict[str | None, list[int]] = {}
    for i, r in enumerate(results):
        if r.source == "spot-prices" and r.ok:
            by_region.setdefault(r.region, []).append(i)
    out = list(results)
    for region, indexes in by_region.items():
        records = [rec for i in indexes for rec in (out[i].output.data or [])]  # type: ignore[attr-defined]
        try:
            batches = []
            if records:
                frame, notes = parse_spot_price_records(
                    records,
                    source="aws-api:spot-price-history",
                    as_of=options.now,
                    origin=f"aws {region} spot prices",
                )
                unnamed = sorted(
                    {
                        str(r.get("AvailabilityZone"))
                        for r in records
                        if not r.get("AvailabilityZoneId")
                    }
                )
                if unnamed:
                    notes = [
                        *notes,
                        f"no zone ID for {', '.join(unnamed)} (the account's zone map was not "
                        "available): those offers are keyed by zone name",
                    ]
                batches = [
                    ImportBatch(
                        SPOT_PRICE_HISTORY,
                        frame,
                        "aws-api:spot-price-history",
                        f"aws {region}",
                        tuple(notes),
                    )
                ]
        except Exception as exc:
            error = _classify(exc)
            for i in indexes:
                out[i] = dataclasses.replace(out[i], error=error, rows=0, output=TaskOutput())
            continue
        # the region's batch rides on its first task; the others keep their row counts
        first, *rest = indexes
        out[first] = dataclasses.replace(out[first], output=TaskOutput(batches))
        for i in rest:
            out[i] = dataclasses.replace(out[i], output=TaskOutput())
    return out


def _bands_task(options: AwsOptions) -> Task:
    url = options.spot_advisor_url or (
        f"{options.endpoint_url.rstrip('/')}/spot-advisor-data.json"
        if options.endpoint_url
        else SPOT_ADVISOR_URL
    )

    def work() -> TaskOutput:
        body = get_spot_advisor(url, timeout_s=options.read_timeout_s)
        try:
            doc = json.loads(body)
        except ValueError as exc:
            raise DataError(f"the Spot Advisor JSON is not valid JSON ({exc})", file=url) from None
        source = f"{BANDS_SOURCE}:{options.now:%Y-%m-%d}"
        frame, notes = parse_spot_advisor(doc, source=source, as_of=options.now, origin=url)
        keep = [is_gpu_instance("aws", t) for t in frame["instance_type"]]
        frame = frame.loc[keep].reset_index(drop=True)
        return TaskOutput(
            [ImportBatch(INTERRUPTION_HISTORY, frame, source, url, tuple(notes))],
            answer="the Spot Advisor JSON had no GPU band",
        )

    scope = Scope(INTERRUPTION_HISTORY, "aws", sources=(BANDS_SOURCE,), what="Spot Advisor bands")
    return Task("bands", None, work, f"GET {url}", scope)


def _on_demand_task(clients: _Clients, options: AwsOptions, region: str) -> Task:
    def work() -> TaskOutput:
        items = get_on_demand_products(clients.get("pricing", PRICING_REGION), region=region)
        frame = parse_pricing_products(items, origin=f"pricing {region}")
        wanted = frame["instance_type"].isin(options.instance_types)
        answer = (
            f"get_products listed none of the {len(options.instance_types)} type(s) asked"
            if items
            else "get_products returned an empty PriceList"
        )
        return TaskOutput(data=frame.loc[wanted].reset_index(drop=True), answer=answer)

    scope = Scope(
        OFFERS,
        "aws",
        (region,),
        options.instance_types,
        ("price_on_demand_usd_per_hour",),
        what="on-demand prices",
    )
    return Task(
        "on-demand", region, work, f"pricing.get_products for GPU instances in {region}", scope
    )


def _placement_task(clients: _Clients, options: AwsOptions, instance_type: str) -> Task:
    assert options.target_capacity is not None
    capacity = options.target_capacity

    def work() -> TaskOutput:
        key = json.dumps([options.endpoint_url, instance_type, capacity, sorted(options.regions)])
        items = _cached_scores(key)
        if items is None:
            items = get_placement_scores(
                clients.get("ec2", options.regions[0]),
                instance_type=instance_type,
                target_capacity=capacity,
                regions=options.regions,
            )
            if items:  # an empty answer is not cached: the next run asks again
                _store_scores(key, items)
        return TaskOutput(
            data=parse_placement_scores(items, instance_type),
            answer=f"get_spot_placement_scores returned no score for {instance_type}",
        )

    return Task(
        "placement",
        None,
        work,
        f"ec2.get_spot_placement_scores for {instance_type} at {capacity} instances per zone",
        Scope(
            OFFERS,
            "aws",
            options.regions,
            (instance_type,),
            ("placement_score",),
            what="placement scores",
        ),
    )


def _billing_task(clients: _Clients, options: AwsOptions, tag: str | None) -> Task:
    end = options.now.date().replace(day=1)
    start = _months_back(end, options.billing_months)

    def work() -> TaskOutput:
        from spotadvisor.collect.cost_explorer import get_cost_and_usage, parse_cost_and_usage

        pages = get_cost_and_usage(
            clients.get("ce", "us-east-1"),
            start=start,
            end=end,
            granularity=options.billing_granularity,
            tag_keys=(tag,) if tag else (),
            metrics=("UnblendedCost", "AmortizedCost"),
            filter={"Dimensions": {"Key": "SERVICE", "Values": [EC2_SERVICE]}},
        )
        source = f"aws-cost-explorer:{start:%Y-%m}..{end:%Y-%m}" + (f":{tag}" if tag else "")
        frame = parse_cost_and_usage(
            pages,
            tag_keys=(tag,) if tag else (),
            metric="UnblendedCost",
            source=source,
            as_of=options.now,
            service_name=EC2_SERVICE,
        )
        return TaskOutput(
            [ImportBatch(BILLING, frame, source, "aws cost explorer")],
            answer="get_cost_and_usage returned no cost group",
        )

    what = f"ce.get_cost_and_usage {start:%Y-%m-%d}..{end:%Y-%m-%d} by PURCHASE_TYPE" + (
        f" and tag {tag}" if tag else ""
    )
    source = f"aws-cost-explorer:{start:%Y-%m}..{end:%Y-%m}" + (f":{tag}" if tag else "")
    return Task(
        "billing", tag, work, what, Scope(BILLING, "aws", sources=(source,), what="billing rows")
    )


def _months_back(first_of_month: date, months: int) -> date:
    year, month = first_of_month.year, first_of_month.month - months
    while month < 1:
        year, month = year - 1, month + 12
    return date(year, month, 1)


def plan(options: AwsOptions, clients: _Clients | None = None) -> list[Task]:
    """Every task of a collection, in submission order.

    Without ``clients`` (a dry run) the tasks can be described but not run.
    """
    made = clients if clients is not None else _NoClients()
    tasks: list[Task] = []
    if "bands" in options.sources:
        tasks.append(_bands_task(options))
    if "spot-prices" in options.sources:
        chunks = [
            options.instance_types[i : i + SPOT_TYPES_PER_CALL]
            for i in range(0, len(options.instance_types), SPOT_TYPES_PER_CALL)
        ]
        tasks += [
            _spot_task(made, options, region, chunk)
            for region in options.regions
            for chunk in chunks
        ]
    if "on-demand" in options.sources:
        tasks += [_on_demand_task(made, options, region) for region in options.regions]
    if "placement" in options.sources and options.target_capacity:
        tasks += [_placement_task(made, options, t) for t in options.instance_types]
    if "billing" in options.sources:
        tasks += [_billing_task(made, options, tag) for tag in (options.tag_keys or (None,))]
    return tasks


# -- the whole collection ------------------------------------------------------------


def collect_aws(
    store: Store,
    options: AwsOptions,
    *,
    dry_run: bool = False,
    on_done: Callable[[TaskResult], None] | None = None,
) -> CollectionReport:
    """Run every task, write what succeeds, build offers, log the collection.

    Raises
    ------
    UsageError
        For options that make no sense (no region, more than 90 days of history).
    """
    _check(options)
    clients = None if dry_run else _Clients(options)

    def finish(results: list[TaskResult]) -> tuple[list[TaskResult], list[ImportBatch]]:
        results = parse_spot_results(options, results)
        offers = _offers_batch(options, results)
        return results, [offers] if offers is not None else []

    return run_collection(
        store,
        "aws",
        plan(options, clients),
        workers=options.workers,
        finish=finish,
        classify=_classify,
        on_done=on_done,
        dry_run=dry_run,
    )


def _check(options: AwsOptions) -> None:
    if not options.regions:
        raise UsageError(
            "no region to collect",
            field="--regions",
            fix="give at least one region, e.g. --regions us-east-1",
        )
    if options.since_hours > MAX_HISTORY_DAYS * 24:
        raise UsageError(
            "describe-spot-price-history goes back at most 90 days",
            field="--since",
            fix="give --since 90d or less",
        )
    unknown = sorted(set(options.sources) - set(SOURCES))
    if unknown:
        raise UsageError(
            f"unknown source {unknown[0]!r}", field="--sources", fix=f"use {', '.join(SOURCES)}"
        )


def _frames(results: Sequence[TaskResult], source: str) -> list[pd.DataFrame]:
    """The data frames that successful tasks of ``source`` produced."""
    return [
        r.output.data
        for r in results
        if r.source == source and isinstance(r.output.data, pd.DataFrame)
    ]


def _offers_batch(options: AwsOptions, results: Sequence[TaskResult]) -> ImportBatch | None:
    """This run's spot prices, on-demand prices and scores joined into offers.

    No offer is built for a (region, instance type) whose spot-price or on-demand task
    failed (an error, a loop, or an empty answer where earlier data exists): offers are
    keyed without their date, so a rebuilt offer would replace the stored one and erase
    the price that task could not refresh. The stored offer stays as it was.
    """
    spot = [
        b.frame for r in results if r.ok and r.source == "spot-prices" for b in r.output.batches
    ]
    on_demand = _frames(results, "on-demand")
    if not spot and not on_demand:
        return None
    placement = _frames(results, "placement")
    history = (
        pd.concat(spot, ignore_index=True)
        if spot
        else pd.DataFrame(columns=SPOT_PRICE_HISTORY.column_names)
    )
    prices = (
        pd.concat(on_demand, ignore_index=True)
        if on_demand
        else pd.DataFrame(columns=ON_DEMAND_COLUMNS)
    )
    scores = pd.concat(placement, ignore_index=True) if placement else pd.DataFrame()
    frame = assemble_offers(history, prices, scores, source="aws-api", as_of=options.now)
    stale = {
        (r.region, instance_type)
        for r in results
        if not r.ok and r.source in ("spot-prices", "on-demand") and r.scope is not None
        for instance_type in r.scope.instance_types
    }
    notes: tuple[str, ...] = ()
    if stale and not frame.empty:
        keep = [
            (region, t) not in stale
            for region, t in zip(frame["region"], frame["instance_type"], strict=True)
        ]
        left = len(frame) - sum(keep)
        frame = frame.loc[keep].reset_index(drop=True)
        if left:
            notes = (
                f"{left} offer(s) not rebuilt: a price task of their region and type failed; "
                "the stored offers are kept",
            )
    if frame.empty:
        return None
    return ImportBatch(OFFERS, frame, "aws-api", "aws collection", notes)


def _classify(exc: BaseException) -> str:
    """One line for a failed task; permission problems say what to do."""
    text = describe_error(exc)
    if "UnauthorizedOperation" in text or "AccessDenied" in text:
        return scrub(f"{text} (the caller lacks this permission; grant it or leave the source out)")
    if type(exc).__name__ in {"NoCredentialsError", "PartialCredentialsError"}:
        return "no AWS credentials found (env, profile, SSO or instance role); configure one or pass --profile"
    if type(exc).__name__ in {"ReadTimeoutError", "ConnectTimeoutError", "EndpointConnectionError"}:
        return scrub(f"{type(exc).__name__}: the endpoint did not answer in time")
    return text


# -- placement-score cache -----------------------------------------------------------


def _cache_path() -> Any:
    return platformdirs.user_cache_path("spotadvisor") / "placement-scores.json"


def _cached_scores(key: str) -> list[dict[str, Any]] | None:
    try:
        cache = json.loads(_cache_path().read_text())
        entry = cache.get(key)
    except (OSError, ValueError):
        return None
    if entry and time.time() - float(entry["fetched_at"]) < PLACEMENT_CACHE_TTL_S:
        return list(entry["items"])
    return None


_CACHE_LOCK = threading.Lock()  # placement tasks run on several threads


def _store_scores(key: str, items: list[dict[str, Any]]) -> None:
    path = _cache_path()
    with _CACHE_LOCK:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            cache = json.loads(path.read_text()) if path.is_file() else {}
            cache[key] = {"fetched_at": time.time(), "items": items}
            path.write_text(json.dumps(cache))
        except (OSError, ValueError):
            pass  # a cache that cannot be written only costs a repeated call
