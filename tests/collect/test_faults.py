"""Collections under injected faults (``tests.fakes.faults``) on the local fakes.

Issue 21: an empty or cut answer where earlier data exists fails its task and keeps the
earlier data (item 1); every paginated call stops on a repeated next-page token or at
its page cap, as a failed task (item 3). Page cycles in the fakes give up after
``LIMIT`` cycled answers, so a collector without the guard ends (and these tests fail on
their assertions) instead of paging forever.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from google.auth.credentials import AnonymousCredentials

from spotadvisor.catalog import latest_offers
from spotadvisor.collect import aws as aws_collect
from spotadvisor.collect import azure_api, gcp_clients
from spotadvisor.collect.aws import AwsOptions, collect_aws
from spotadvisor.collect.azure import collect_azure
from spotadvisor.collect.azure_options import AzureOptions
from spotadvisor.collect.gcp import collect_gcp
from spotadvisor.collect.gcp_options import GcpOptions
from spotadvisor.collect.paging import PageGuard, PagingError
from spotadvisor.collect.run import CollectionReport, TaskResult
from spotadvisor.errors import DataError
from spotadvisor.schema import BILLING, INTERRUPTION_HISTORY, OFFERS, SPOT_PRICE_HISTORY
from spotadvisor.sources import load_table
from spotadvisor.store import Store
from tests.fakes.aws import DEFAULT_NOW as AWS_NOW
from tests.fakes.aws import FakeAws
from tests.fakes.azure import DEFAULT_NOW as AZURE_NOW
from tests.fakes.azure import FakeAzure, FakeCredential
from tests.fakes.faults import Fault
from tests.fakes.gcp import DEFAULT_NOW as GCP_NOW
from tests.fakes.gcp import STANDARD_TABLE, FakeGcp

LIMIT = 40  # cycled answers a fake sends before it ends the listing (see the docstring)
KEPT = "earlier data kept"


def failed(report: CollectionReport, source: str) -> list[TaskResult]:
    return [r for r in report.failed if r.source == source]


def errors(report: CollectionReport, source: str) -> list[str]:
    return [r.error or "" for r in failed(report, source)]


# -- AWS ------------------------------------------------------------------------------

AWS_REGIONS = ("us-east-1", "us-west-2")
AWS_TYPES = ("p3.2xlarge", "p3.8xlarge", "p4d.24xlarge")


def aws_options(fake: FakeAws, **changes: Any) -> AwsOptions:
    base = AwsOptions(
        regions=AWS_REGIONS,
        instance_types=AWS_TYPES,
        sources=frozenset({"spot-prices", "on-demand"}),
        endpoint_url=fake.url,
        now=AWS_NOW,
        read_timeout_s=5,
        max_attempts=2,
        workers=4,
    )
    return dataclasses.replace(base, **changes)


@pytest.fixture(autouse=True)
def _cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # placement-score cache


def test_aws_empty_price_list_fails_on_demand_and_keeps_the_prices(
    fake_aws: FakeAws, tmp_path: Path
) -> None:
    """Item 1: an empty PriceList where the store has prices fails, never 0 rows."""
    store = Store(tmp_path / "s.duckdb")
    first = collect_aws(store, aws_options(fake_aws))
    assert not first.failed, first.failed
    before = store.read(OFFERS)
    assert before["price_on_demand_usd_per_hour"].notna().sum() > 0

    fake_aws.inject(Fault.EMPTY, "GetProducts")
    later = AWS_NOW + timedelta(hours=1)
    report = collect_aws(store, aws_options(fake_aws, now=later))
    on_demand = [r for r in report.results if r.source == "on-demand"]
    assert on_demand and all(not r.ok and r.rows == 0 for r in on_demand)
    for error in errors(report, "on-demand"):
        assert "get_products returned an empty PriceList" in error and KEPT in error
        assert len(error) <= 200
    assert all(r.ok for r in report.results if r.source == "spot-prices")
    # the collection log says so, and what read commands show still has every price
    log = store.collections()
    assert log.loc[log["source"] == "on-demand", "error"].str.contains(KEPT).sum() == 2
    shown = latest_offers(load_table(store, OFFERS).frame)
    pools = ["region", "zone_id", "instance_type"]
    priced = before.dropna(subset=["price_on_demand_usd_per_hour"])[pools]
    ours = shown.merge(priced, on=pools)
    assert len(ours) == len(priced) and ours["price_on_demand_usd_per_hour"].notna().all()
    # no offer was rebuilt without its price: the stored ones are the first run's
    pd.testing.assert_frame_equal(store.read(OFFERS), before)


def test_aws_cut_price_list_is_an_error_never_zero_rows(fake_aws: FakeAws, tmp_path: Path) -> None:
    """Item 1: botocore parses a cut JSON body into a response without PriceList."""
    import boto3

    fake_aws.inject(Fault.TRUNCATE, "GetProducts", page=1)
    pricing = boto3.client("pricing", region_name="us-east-1", endpoint_url=fake_aws.url)
    with pytest.raises(DataError, match="no PriceList"):
        aws_collect.get_on_demand_products(pricing, region="us-east-1")
    report = collect_aws(
        Store(tmp_path / "s.duckdb"), aws_options(fake_aws, sources=frozenset({"on-demand"}))
    )
    assert len(failed(report, "on-demand")) == len(AWS_REGIONS)
    assert all("no PriceList" in e for e in errors(report, "on-demand"))
    assert report.offers == 0


def test_aws_empty_spot_history_and_bands_fail_where_data_exists(
    fake_aws: FakeAws, tmp_path: Path
) -> None:
    """Item 1: spot prices and Spot Advisor bands that come back empty."""
    fake_aws.inject(Fault.EMPTY, "DescribeSpotPriceHistory")
    fake_aws.inject(Fault.EMPTY, "GetSpotAdvisorData")
    store = Store(tmp_path / "s.duckdb")
    report = collect_aws(store, aws_options(fake_aws, sources=frozenset({"spot-prices", "bands"})))
    # the embedded snapshot prices these types in these regions and has Spot Advisor bands
    assert {r.region for r in failed(report, "spot-prices")} == set(AWS_REGIONS)
    assert all("no price of 3 type(s)" in e and KEPT in e for e in errors(report, "spot-prices"))
    [bands] = failed(report, "bands")
    assert "no GPU band" in (bands.error or "") and KEPT in (bands.error or "")
    assert len(store.read(SPOT_PRICE_HISTORY)) == 0 and len(store.read(INTERRUPTION_HISTORY)) == 0


def test_aws_empty_answer_without_earlier_data_is_zero_rows(
    fake_aws: FakeAws, tmp_path: Path
) -> None:
    """An empty answer is a failure only where earlier data exists."""
    fake_aws.inject(Fault.EMPTY, "DescribeSpotPriceHistory")
    report = collect_aws(
        Store(tmp_path / "s.duckdb"),
        aws_options(fake_aws, regions=("us-east-1",), instance_types=("p2.xlarge",)),
    )
    assert not failed(report, "spot-prices")


@pytest.mark.parametrize(
    ("action", "source", "call"),
    [
        ("DescribeSpotPriceHistory", "spot-prices", "ec2.describe_spot_price_history"),
        ("GetProducts", "on-demand", "pricing.get_products"),
        ("GetSpotPlacementScores", "placement", "ec2.get_spot_placement_scores"),
        ("GetCostAndUsage", "billing", "ce.get_cost_and_usage"),
    ],
)
def test_aws_page_cycles_fail_the_task(
    fake_aws: FakeAws, tmp_path: Path, action: str, source: str, call: str
) -> None:
    """Item 3: NextToken pointing back to page 2 from page 3 (botocore only notices a
    token repeated twice in a row)."""
    fake_aws.inject(Fault.PAGE_CYCLE, action, limit=LIMIT)
    report = collect_aws(
        Store(tmp_path / "s.duckdb"),
        aws_options(
            fake_aws, sources=frozenset({source}), target_capacity=2, regions=("us-east-1",)
        ),
    )
    looped = failed(report, source)
    assert looped and all(
        f"{call} sent the next-page token" in e and "again after 3 pages" in e
        for e in errors(report, source)
    )
    asked = [r for r in fake_aws.requests if r.action == action]
    assert len(asked) == 3 * len(looped)  # each stopped at the first repeat


def test_aws_endless_pages_stop_at_the_cap(
    fake_aws: FakeAws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Item 3: a listing whose tokens never repeat stops at the call's page cap."""
    monkeypatch.setattr(aws_collect, "PRICE_LIST_MAX_PAGES", 12)
    fake_aws.inject(Fault.PAGE_CYCLE, "GetProducts", fresh=True, limit=LIMIT)
    report = collect_aws(
        Store(tmp_path / "s.duckdb"),
        aws_options(fake_aws, sources=frozenset({"on-demand"}), regions=("us-east-1",)),
    )
    [error] = errors(report, "on-demand")
    assert "pricing.get_products still had a next page after 12 pages" in error
    assert len([r for r in fake_aws.requests if r.action == "GetProducts"]) == 12


def test_aws_cost_explorer_empty_and_cut_answers(fake_aws: FakeAws, tmp_path: Path) -> None:
    """Item 1 for Cost Explorer: a cut page is an error; an empty answer where the month's
    rows are stored fails and keeps them."""
    store = Store(tmp_path / "s.duckdb")
    opts = aws_options(fake_aws, sources=frozenset({"billing"}), billing_months=2)
    first = collect_aws(store, opts)
    assert not first.failed and len(store.read(BILLING)) > 0
    before = store.read(BILLING)

    fake_aws.inject(Fault.TRUNCATE, "GetCostAndUsage", page=2, times=1)
    cut = collect_aws(store, opts)
    assert ["no ResultsByTime" in e for e in errors(cut, "billing")] == [True]

    fake_aws.inject(Fault.EMPTY, "GetCostAndUsage")
    empty = collect_aws(store, opts)
    [error] = errors(empty, "billing")
    assert "no cost group" in error and KEPT in error
    pd.testing.assert_frame_equal(store.read(BILLING), before)


def test_aws_http_faults_and_a_trickled_page(fake_aws: FakeAws, tmp_path: Path) -> None:
    """403 fails its task with the permission hint; 500 is retried; a trickled body
    arrives whole."""
    fake_aws.inject(Fault.HTTP_403, "DescribeSpotPriceHistory")
    fake_aws.inject(Fault.HTTP_500, "GetProducts", times=1)
    fake_aws.inject(Fault.TRICKLE, "GetProducts", page=1, chunk_bytes=2048, seconds=0.01)
    report = collect_aws(Store(tmp_path / "s.duckdb"), aws_options(fake_aws))
    assert all(
        "UnauthorizedOperation" in e and "permission" in e for e in errors(report, "spot-prices")
    )
    on_demand = [r for r in report.results if r.source == "on-demand"]
    assert on_demand and all(r.ok and r.rows > 0 for r in on_demand)
    assert report.offers == 0  # no offer rebuilt without the spot prices that failed


def test_aws_cli_warns_and_exits_zero_when_a_source_comes_back_empty(
    fake_aws: FakeAws, tmp_path: Path
) -> None:
    """What an operator sees: a warning per failed task, exit 0 while something came back."""
    from typer.testing import CliRunner

    from spotadvisor.cli import app

    fake_aws.inject(Fault.EMPTY, "GetProducts")
    db = tmp_path / "s.duckdb"
    args = ["--db", str(db), "collect", "aws", "--endpoint-url", fake_aws.url]
    args += ["--regions", "us-east-1", "--instance-types", "p4d.24xlarge"]
    result = CliRunner().invoke(app, [*args, "--sources", "spot-prices,on-demand"])
    assert result.exit_code == 0, result.stderr
    assert "warning: on-demand us-east-1: get_products returned an empty PriceList" in (
        result.stderr
    )
    only = CliRunner().invoke(app, [*args, "--sources", "on-demand"])
    assert only.exit_code == 3 and "nothing usable came back" in only.stderr


# -- GCP ------------------------------------------------------------------------------


def gcp_options(fake: FakeGcp, **changes: Any) -> GcpOptions:
    base = GcpOptions(
        sources=frozenset({"prices", "billing"}),
        billing_table=STANDARD_TABLE,
        billing_month="2025-06",
        regions=("us-central1", "europe-west4"),
        catalog_endpoint=fake.url,
        bigquery_endpoint=fake.url,
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        now=GCP_NOW,
        timeout_s=5,
        retry_deadline_s=5,
    )
    return dataclasses.replace(base, **changes)


def gcp_offers(store: Store) -> pd.DataFrame:
    offers = store.read(OFFERS)
    return offers[offers["source"] == "gcp-catalog"]


def test_gcp_empty_catalog_and_billing_fail_and_keep_earlier_data(
    fake_gcp: FakeGcp, tmp_path: Path
) -> None:
    """Item 1: no SKUs and no billing rows where the store has both."""
    store = Store(tmp_path / "s.duckdb")
    first = collect_gcp(store, gcp_options(fake_gcp))
    assert not first.failed, first.failed
    offers, billing = gcp_offers(store), store.read(BILLING)
    assert len(offers) > 0 and len(billing) > 0

    fake_gcp.inject(Fault.EMPTY, "catalog")
    fake_gcp.inject(Fault.EMPTY, "bigquery")
    report = collect_gcp(store, gcp_options(fake_gcp, now=GCP_NOW + timedelta(hours=1)))
    [prices] = errors(report, "prices")
    assert "list_skus returned no SKU" in prices and KEPT in prices
    [rows] = errors(report, "billing")
    assert "no charge of 2025-06" in rows and KEPT in rows
    assert report.offers == 0  # no offer composed from the empty catalog
    pd.testing.assert_frame_equal(gcp_offers(store), offers)
    assert len(store.read(BILLING)) == len(billing)


def test_gcp_cut_pages_are_errors(fake_gcp: FakeGcp, tmp_path: Path) -> None:
    """Item 1: a cut SKU page or query answer fails its task, never 0 rows."""
    fake_gcp.inject(Fault.TRUNCATE, "catalog", page=1)
    fake_gcp.inject(Fault.TRUNCATE, "bigquery", page=1)
    report = collect_gcp(Store(tmp_path / "s.duckdb"), gcp_options(fake_gcp))
    assert {r.source for r in report.failed} == {"prices", "billing"}


@pytest.mark.parametrize(
    ("api", "source", "call"),
    [
        ("catalog", "prices", "CloudCatalogClient.list_skus"),
        ("bigquery", "billing", "bigquery jobs.getQueryResults"),
    ],
)
def test_gcp_page_cycles_fail_the_task(
    fake_gcp: FakeGcp, tmp_path: Path, api: str, source: str, call: str
) -> None:
    """Item 3: nextPageToken / pageToken pointing back to an earlier page."""
    fake_gcp.sku_page_max = 40
    fake_gcp.bq_page_size = 5
    fake_gcp.inject(Fault.PAGE_CYCLE, api, limit=LIMIT)
    report = collect_gcp(Store(tmp_path / "s.duckdb"), gcp_options(fake_gcp))
    [error] = errors(report, source)
    assert f"{call} sent the next-page token" in error and "again after 3 pages" in error
    other = "billing" if source == "prices" else "prices"
    assert not failed(report, other)


def test_gcp_endless_sku_pages_stop_at_the_cap(
    fake_gcp: FakeGcp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gcp_clients, "SKU_MAX_PAGES", 9)
    fake_gcp.inject(Fault.PAGE_CYCLE, "catalog", fresh=True, limit=LIMIT)
    report = collect_gcp(
        Store(tmp_path / "s.duckdb"), gcp_options(fake_gcp, sources=frozenset({"prices"}))
    )
    [error] = errors(report, "prices")
    assert "list_skus still had a next page after 9 pages" in error


def test_gcp_services_listing_is_guarded_too() -> None:
    """Item 3: list_services pages through the same guard (the fake does not page it)."""

    class Page:
        def __init__(self, token: str) -> None:
            self.services: list[Any] = []
            self.next_page_token = token

    class Pager:
        @property
        def pages(self) -> Iterator[Page]:
            while True:  # A, B, A, B... forever
                yield Page("A")
                yield Page("B")

    class Catalog:
        def list_services(self, **kwargs: Any) -> Pager:
            return Pager()

    with pytest.raises(PagingError, match="list_services sent the next-page token 'A' again"):
        gcp_clients.get_compute_service(Catalog(), timeout_s=1, retry=None)


def test_gcp_http_faults(fake_gcp: FakeGcp, tmp_path: Path) -> None:
    fake_gcp.inject(Fault.HTTP_403, "bigquery")
    fake_gcp.inject(Fault.HTTP_500, "catalog", times=1)  # retried
    report = collect_gcp(Store(tmp_path / "s.duckdb"), gcp_options(fake_gcp))
    [error] = errors(report, "billing")
    assert "HTTP 403" in error and "permission" in error
    assert not failed(report, "prices")


# -- Azure ----------------------------------------------------------------------------

AZURE_REGIONS = ("eastus", "southcentralus")


def azure_options(fake: FakeAzure, **changes: Any) -> AzureOptions:
    base = AzureOptions(
        regions=AZURE_REGIONS,
        sources=frozenset({"prices", "evictions", "spot-history", "billing"}),
        billing_scope="/subscriptions/1caaa5a3-2b66-438e-8ab4-bce37d518c5d",
        billing_month="2023-09",
        retail_prices_url=fake.retail_url,
        management_endpoint=fake.url,
        credential=FakeCredential(),
        now=AZURE_NOW,
        timeout_s=5,
        max_attempts=2,
        backoff_s=0.01,
        workers=6,
    )
    return dataclasses.replace(base, **changes)


def test_azure_empty_answers_fail_and_keep_earlier_data(
    fake_azure: FakeAzure, tmp_path: Path
) -> None:
    """Item 1: Retail Prices, Resource Graph and usage details that come back empty."""
    store = Store(tmp_path / "s.duckdb")
    first = collect_azure(store, azure_options(fake_azure))
    assert not first.failed, first.failed
    tables = (OFFERS, INTERRUPTION_HISTORY, SPOT_PRICE_HISTORY, BILLING)
    before = {t.name: store.read(t) for t in tables}

    for api in ("retail-prices", "resource-graph", "consumption"):
        fake_azure.inject(Fault.EMPTY, api)
    report = collect_azure(store, azure_options(fake_azure, now=AZURE_NOW + timedelta(hours=1)))
    assert {r.region for r in failed(report, "prices")} == set(AZURE_REGIONS)
    assert all("Retail Prices returned no item" in e for e in errors(report, "prices"))
    assert {r.region for r in failed(report, "evictions")} == set(AZURE_REGIONS)
    history_regions = set(before["spot_price_history"]["region"])
    assert {r.region for r in failed(report, "spot-history")} == history_regions
    [billing] = errors(report, "billing")
    assert "usage details returned no line" in billing
    assert all(KEPT in (r.error or "") for r in report.failed)
    assert report.offers == 0
    for table in tables:
        assert len(store.read(table)) == len(before[table.name]), table.name


@pytest.mark.parametrize(
    ("api", "source", "call"),
    [
        ("retail-prices", "prices", "Retail Prices"),
        ("resource-graph", "evictions", "Resource Graph resources"),
        ("consumption", "billing", "Consumption usage_details.list"),
    ],
)
def test_azure_page_cycles_fail_the_task(
    fake_azure: FakeAzure, tmp_path: Path, api: str, source: str, call: str
) -> None:
    """Item 3: NextPageLink / $skipToken / nextLink pointing back to an earlier page."""
    fake_azure.inject(Fault.PAGE_CYCLE, api, limit=LIMIT)
    report = collect_azure(
        Store(tmp_path / "s.duckdb"),
        azure_options(fake_azure, regions=("eastus",), sources=frozenset({source})),
    )
    [error] = errors(report, source)
    assert f"{call} sent the next-page token" in error and "again after 3 pages" in error


def test_azure_endless_usage_pages_stop_at_the_cap(
    fake_azure: FakeAzure, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(azure_api, "USAGE_MAX_PAGES", 7)
    fake_azure.inject(Fault.PAGE_CYCLE, "consumption", fresh=True, limit=LIMIT)
    report = collect_azure(
        Store(tmp_path / "s.duckdb"), azure_options(fake_azure, sources=frozenset({"billing"}))
    )
    [error] = errors(report, "billing")
    assert "usage_details.list still had a next page after 7 pages" in error


def test_azure_http_faults_and_a_trickled_page(fake_azure: FakeAzure, tmp_path: Path) -> None:
    fake_azure.inject(Fault.HTTP_403, "resource-graph")
    fake_azure.inject(Fault.HTTP_500, "consumption", times=1)  # retried
    fake_azure.inject(Fault.TRICKLE, "retail-prices", chunk_bytes=4096, seconds=0.01)
    report = collect_azure(Store(tmp_path / "s.duckdb"), azure_options(fake_azure))
    assert {r.source for r in report.failed} == {"evictions", "spot-history"}
    assert all("lacks permission" in (r.error or "") for r in report.failed)
    assert report.offers > 0


# -- the guard and the fault table ------------------------------------------------------


def test_page_guard_counts_pages_and_scrubs_the_token() -> None:
    guard = PageGuard("x.list", max_pages=5)
    assert [guard.next(t) for t in ("a", "b", "")] == ["a", "b", None]
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    looping = PageGuard("x.list", max_pages=5)
    looping.next(secret)
    with pytest.raises(PagingError) as info:
        looping.next(secret)
    assert secret[:12] not in str(info.value) and "after 2 pages" in str(info.value)


def test_every_fake_takes_every_fault(
    fake_aws: FakeAws, fake_gcp: FakeGcp, fake_azure: FakeAzure
) -> None:
    """The shared vocabulary: each fake accepts each fault by the same name."""
    targets: list[tuple[Any, str]] = [
        (fake_aws, "GetProducts"),
        (fake_gcp, "catalog"),
        (fake_azure, "retail-prices"),
    ]
    for fake, target in targets:
        for fault in Fault:
            fake.inject(fault, target, times=1, seconds=0.1)
            fake.inject(fault.value, target, times=1, seconds=0.1)
        fake.clear_faults()
    assert len(list(Fault)) == 8
