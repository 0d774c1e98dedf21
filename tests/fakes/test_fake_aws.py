"""The local AWS fake, driven by real boto3 clients (``tests/fakes/aws.py``).

Expected values are recomputed here from the public sample files with the csv module, not
taken from the fake's own index.
"""

from __future__ import annotations

import csv
import itertools
import json
import re
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ReadTimeoutError
from botocore.parsers import ResponseParserError

from spotadvisor.regions import aws_region_of_zone_id
from tests.fakes.aws import (
    CATALOG_GLOB,
    DEFAULT_NOW,
    SPOT_ADVISOR,
    SPOT_CSV,
    SPOT_TSV,
    FakeAws,
    load_dataset,
)

NEWEST = DEFAULT_NOW - timedelta(hours=1)
RETRYING = Config(retries={"mode": "standard", "max_attempts": 5})
NO_RETRY = Config(retries={"mode": "standard", "total_max_attempts": 1})
PRICE_6 = re.compile(r"^\d+\.\d{6}$")

needs_samples = pytest.mark.shared_data


def ec2(fake: FakeAws, region: str = "us-east-1", config: Config | None = None) -> Any:
    return boto3.client("ec2", region_name=region, endpoint_url=fake.url, config=config)


def pricing(fake: FakeAws, config: Config | None = None) -> Any:
    return boto3.client("pricing", region_name="us-east-1", endpoint_url=fake.url, config=config)


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def csv_history(shared_data: Path) -> list[dict[str, str]]:
    with (shared_data / SPOT_CSV).open(newline="") as f:
        return list(csv.DictReader(f))


def tsv_history(shared_data: Path) -> list[list[str]]:
    with (shared_data / SPOT_TSV).open(newline="") as f:
        return [row for row in csv.reader(f, delimiter="\t") if row]


def shifted(rows_times: list[datetime]) -> timedelta:
    """The fake's shift of one file: its newest event lands an hour before now."""
    return NEWEST - max(rows_times)


def catalog_rows(shared_data: Path) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for path in sorted(shared_data.glob(CATALOG_GLOB)):
        with path.open(newline="") as f:
            rows.extend(csv.DictReader(f))
    return rows


def history_requests(fake: FakeAws) -> list[dict[str, Any]]:
    return [r.params for r in fake.requests if r.action == "DescribeSpotPriceHistory"]


def products(answer: dict[str, Any]) -> list[dict[str, Any]]:
    return [json.loads(item) for item in answer["PriceList"]]


def term_price(doc: dict[str, Any]) -> str:
    [term] = doc["terms"]["OnDemand"].values()
    [dimension] = term["priceDimensions"].values()
    assert dimension["unit"] == "Hrs"
    return str(dimension["pricePerUnit"]["USD"])


# --- DescribeSpotPriceHistory ------------------------------------------------------------


@needs_samples
def test_history_paginates_newest_first_with_the_last_change_before_start(
    fake_aws: FakeAws, shared_data: Path
) -> None:
    start = DEFAULT_NOW - timedelta(days=20)
    pages = list(
        ec2(fake_aws)
        .get_paginator("describe_spot_price_history")
        .paginate(
            InstanceTypes=["p2.xlarge"],
            ProductDescriptions=["Linux/UNIX"],
            StartTime=start,
            PaginationConfig={"PageSize": 100},
        )
    )
    rows = [row for page in pages for row in page["SpotPriceHistory"]]

    source = csv_history(shared_data)
    shift = shifted([when(r["Timestamp"]) for r in source])
    pool_rows: dict[str, list[datetime]] = {}
    for r in source:
        if r["Region"] == "us-east-1" and r["InstanceType"] == "p2.xlarge":
            pool_rows.setdefault(r["AvailabilityZone"], []).append(when(r["Timestamp"]) + shift)
    expected = sum(
        sum(t >= start for t in times) + any(t < start for t in times)
        for times in pool_rows.values()
    )
    assert len(rows) == expected
    assert len(pages) == -(-expected // 100) > 2
    stamps = [row["Timestamp"] for row in rows]
    assert stamps == sorted(stamps, reverse=True)
    for zone, times in pool_rows.items():
        before = max(t for t in times if t < start)
        assert any(r["AvailabilityZone"] == zone and r["Timestamp"] == before for r in rows)
    assert all(t < start for t in stamps[-len(pool_rows) :])
    first = rows[0]
    assert set(first) == {
        "AvailabilityZone",
        "AvailabilityZoneId",
        "InstanceType",
        "ProductDescription",
        "SpotPrice",
        "Timestamp",
    }
    assert all(PRICE_6.match(r["SpotPrice"]) for r in rows)
    assert first["Timestamp"].utcoffset() == timedelta(0)

    sent = history_requests(fake_aws)
    assert len(sent) == len(pages)
    assert "NextToken" not in sent[0]
    assert all(p["NextToken"] and p["MaxResults"] == "100" for p in sent[1:])
    assert pages[-1]["NextToken"] == ""  # AWS's last page carries an empty token


@needs_samples
def test_history_window_matches_the_real_series(fake_aws: FakeAws, shared_data: Path) -> None:
    source = csv_history(shared_data)
    shift = shifted([when(r["Timestamp"]) for r in source])
    series = sorted(
        (
            (when(r["Timestamp"]) + shift, r["SpotPrice"])
            for r in source
            if r["AvailabilityZone"] == "us-west-2a" and r["InstanceType"] == "p3.2xlarge"
        ),
        reverse=True,
    )
    start, end = DEFAULT_NOW - timedelta(days=30), DEFAULT_NOW - timedelta(days=10)
    inside = [e for e in series if start <= e[0] <= end]
    last_before = next(e for e in series if e[0] < start)
    assert len(inside) > 10

    answer = ec2(fake_aws, "us-west-2").describe_spot_price_history(
        InstanceTypes=["p3.2xlarge"], AvailabilityZone="us-west-2a", StartTime=start, EndTime=end
    )
    got = [(r["Timestamp"], r["SpotPrice"]) for r in answer["SpotPriceHistory"]]
    assert got == [*inside, last_before]
    assert {r["AvailabilityZoneId"] for r in answer["SpotPriceHistory"]} == {"usw2-az4"}


@needs_samples
def test_each_file_is_retimed_to_end_an_hour_ago(fake_aws: FakeAws, shared_data: Path) -> None:
    answer = ec2(fake_aws).describe_spot_price_history(MaxResults=5)
    newest = answer["SpotPriceHistory"][0]
    assert newest["Timestamp"] == NEWEST
    assert (newest["AvailabilityZone"], newest["InstanceType"], newest["SpotPrice"]) == (
        "us-east-1c",
        "p3.2xlarge",
        "1.020100",
    )

    rows = tsv_history(shared_data)
    shift = shifted([when(r[4]) for r in rows])
    zone_id, instance_type, product, price, stamp = max(rows, key=lambda r: when(r[4]))
    region = aws_region_of_zone_id(zone_id)
    answer = ec2(fake_aws, region).describe_spot_price_history(
        AvailabilityZoneId=zone_id, InstanceTypes=[instance_type], ProductDescriptions=[product]
    )
    [row, *_] = answer["SpotPriceHistory"]
    assert (row["Timestamp"], row["SpotPrice"]) == (when(stamp) + shift, price)
    assert row["Timestamp"] == NEWEST
    assert row["AvailabilityZone"] in fake_aws.zone_map(region)


@needs_samples
def test_every_zone_has_a_name_and_an_id(fake_aws: FakeAws, shared_data: Path) -> None:
    assert {k: v for k, v in fake_aws.zone_map("us-east-1").items() if "atl" not in k} == {
        "us-east-1a": "use1-az6",
        "us-east-1b": "use1-az1",
        "us-east-1c": "use1-az2",
        "us-east-1d": "use1-az3",
        "us-east-1e": "use1-az4",
        "us-east-1f": "use1-az5",
    }
    assert fake_aws.zone_map("ca-central-1") == {
        "ca-central-1a": "cac1-az4",
        "ca-central-1b": "cac1-az1",
        "ca-central-1c": "cac1-az2",
    }
    assert fake_aws.zone_map("us-west-2")["us-west-2-lax-1a"] == "usw2-lax1-az1"

    # p4d comes from the TSV (zone IDs only): names are filled in from the mapping.
    answer = ec2(fake_aws).describe_spot_price_history(InstanceTypes=["p4d.24xlarge"])
    rows = answer["SpotPriceHistory"]
    tsv_ids = {
        r[0] for r in tsv_history(shared_data) if r[1] == "p4d.24xlarge" and r[0][:4] == "use1"
    }
    assert {r["AvailabilityZoneId"] for r in rows} == tsv_ids
    mapping = fake_aws.zone_map("us-east-1")
    assert all(mapping[r["AvailabilityZone"]] == r["AvailabilityZoneId"] for r in rows)
    assert {r["ProductDescription"] for r in rows} == {
        "Linux/UNIX",
        "Red Hat Enterprise Linux",
        "SUSE Linux",
    }


@needs_samples
def test_history_filters(fake_aws: FakeAws) -> None:
    client = ec2(fake_aws, "ap-northeast-1")
    rows = client.describe_spot_price_history(
        Filters=[
            {"Name": "instance-type", "Values": ["p3*"]},
            {"Name": "product-description", "Values": ["Windows"]},
        ]
    )["SpotPriceHistory"]
    assert rows
    assert all(r["InstanceType"].startswith("p3.") for r in rows)
    assert {r["ProductDescription"] for r in rows} == {"Windows"}

    by_param = client.describe_spot_price_history(InstanceTypes=["g4dn.xlarge"])
    by_filter = client.describe_spot_price_history(
        Filters=[{"Name": "instance-type", "Values": ["g4dn.xlarge"]}]
    )
    assert by_param["SpotPriceHistory"] == by_filter["SpotPriceHistory"]

    zone = by_param["SpotPriceHistory"][0]["AvailabilityZone"]
    in_zone = client.describe_spot_price_history(
        InstanceTypes=["g4dn.xlarge"], Filters=[{"Name": "availability-zone", "Values": [zone]}]
    )["SpotPriceHistory"]
    assert in_zone
    assert {r["AvailabilityZone"] for r in in_zone} == {zone}

    # The samples hold no "(Amazon VPC)" rows; product descriptions match exactly.
    vpc = client.describe_spot_price_history(ProductDescriptions=["Linux/UNIX (Amazon VPC)"])
    assert vpc["SpotPriceHistory"] == []


@needs_samples
def test_history_rejects_what_aws_rejects(fake_aws: FakeAws) -> None:
    client = ec2(fake_aws, config=NO_RETRY)
    cases = [
        ({"Filters": [{"Name": "bogus", "Values": ["x"]}]}, "InvalidParameterValue"),
        ({"MaxResults": 2000}, "InvalidParameterValue"),
        ({"NextToken": "not-a-token"}, "InvalidNextToken"),
    ]
    for kwargs, code in cases:
        with pytest.raises(ClientError) as caught:
            client.describe_spot_price_history(**kwargs)
        assert caught.value.response["Error"]["Code"] == code

    # A token only continues the request that made it.
    token = client.describe_spot_price_history(InstanceTypes=["p2.xlarge"], MaxResults=5)[
        "NextToken"
    ]
    with pytest.raises(ClientError, match="InvalidNextToken"):
        client.describe_spot_price_history(InstanceTypes=["p3.2xlarge"], NextToken=token)


# --- GetSpotPlacementScores ------------------------------------------------------------


@needs_samples
def test_placement_scores_per_zone_and_per_region(fake_aws: FakeAws) -> None:
    client = ec2(fake_aws)
    types = ["p4d.24xlarge", "p5.48xlarge", "p3.16xlarge"]
    regions = ["us-east-1", "us-west-2"]
    per_zone = client.get_spot_placement_scores(
        InstanceTypes=types, TargetCapacity=2, SingleAvailabilityZone=True, RegionNames=regions
    )["SpotPlacementScores"]
    standard = {
        (region, zone_id)
        for region in regions
        for name, zone_id in fake_aws.zone_map(region).items()
        if name[-1].isalpha() and name[:-1] == region
    }
    assert {(s["Region"], s["AvailabilityZoneId"]) for s in per_zone} == standard
    assert all(1 <= s["Score"] <= 10 for s in per_zone)
    again = client.get_spot_placement_scores(
        InstanceTypes=types, TargetCapacity=2, SingleAvailabilityZone=True, RegionNames=regions
    )["SpotPlacementScores"]
    assert again == per_zone

    per_region = client.get_spot_placement_scores(
        InstanceTypes=types, TargetCapacity=2, RegionNames=regions
    )["SpotPlacementScores"]
    assert {s["Region"] for s in per_region} == set(regions)
    assert all("AvailabilityZoneId" not in s for s in per_region)
    sent = next(r for r in fake_aws.requests if r.action == "GetSpotPlacementScores")
    assert sent.params["InstanceType.1"] == "p4d.24xlarge"
    assert sent.params["RegionName.2"] == "us-west-2"


@needs_samples
def test_placement_scores_fall_with_target_capacity(fake_aws: FakeAws) -> None:
    client = ec2(fake_aws)

    def scores(capacity: int, unit: str = "units") -> dict[str, int]:
        answer = client.get_spot_placement_scores(
            InstanceTypes=["p4d.24xlarge", "p5.48xlarge"],
            TargetCapacity=capacity,
            TargetCapacityUnitType=unit,
            SingleAvailabilityZone=True,
            RegionNames=["us-east-1", "us-east-2", "us-west-2"],
        )
        return {s["AvailabilityZoneId"]: s["Score"] for s in answer["SpotPlacementScores"]}

    ladder = [scores(c) for c in (1, 4, 32, 512)]
    for smaller, larger in itertools.pairwise(ladder):
        assert all(larger[z] <= smaller[z] for z in smaller)
        assert any(larger[z] < smaller[z] for z in smaller)
    assert set(scores(1_000_000).values()) == {1}
    # 8 instances' worth of vCPUs (p5.48xlarge has 192) scores like 8 units.
    assert scores(8 * 192, "vcpu") == scores(8)


@needs_samples
def test_placement_scores_paginate(fake_aws: FakeAws) -> None:
    pages = list(
        ec2(fake_aws)
        .get_paginator("get_spot_placement_scores")
        .paginate(
            InstanceTypes=["g5.xlarge", "g6.xlarge", "g4dn.xlarge"],
            TargetCapacity=4,
            SingleAvailabilityZone=True,
            PaginationConfig={"PageSize": 10},
        )
    )
    items = [s for page in pages for s in page["SpotPlacementScores"]]
    zones = {(z.zone_id) for zs in fake_aws.data.zones.values() for z in zs if not z.local}
    assert len(pages) == -(-len(zones) // 10) > 1
    assert {s["AvailabilityZoneId"] for s in items} == zones
    assert [s["Score"] for s in items] == sorted((s["Score"] for s in items), reverse=True)


@needs_samples
def test_placement_scores_denied(fake_aws: FakeAws) -> None:
    client = ec2(fake_aws, config=NO_RETRY)
    fake_aws.deny_placement_scores = True
    with pytest.raises(ClientError) as caught:
        client.get_spot_placement_scores(InstanceTypes=["p3.2xlarge"], TargetCapacity=1)
    response = caught.value.response
    assert response["Error"] == {
        "Code": "UnauthorizedOperation",
        "Message": "You are not authorized to perform: ec2:GetSpotPlacementScores",
    }
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 403

    fake_aws.deny_placement_scores = False
    answer = client.get_spot_placement_scores(InstanceTypes=["p3.2xlarge"], TargetCapacity=1)
    assert answer["SpotPlacementScores"]


# --- Pricing GetProducts -----------------------------------------------------------------


def gpu_filters(region: str, instance_type: str) -> list[dict[str, str]]:
    fields = {
        "regionCode": region,
        "instanceType": instance_type,
        "operatingSystem": "Linux",
        "tenancy": "Shared",
        "preInstalledSw": "NA",
        "capacitystatus": "Used",
    }
    return [{"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in fields.items()]


@needs_samples
def test_pricing_filters_and_the_capacity_block_trap(fake_aws: FakeAws, shared_data: Path) -> None:
    [catalog_price] = {
        r["Price"]
        for r in catalog_rows(shared_data)
        if r["InstanceType"] == "p5.48xlarge" and r["Region"] == "us-east-2"
    }
    client = pricing(fake_aws)
    market = {"Type": "TERM_MATCH", "Field": "marketoption", "Value": "OnDemand"}
    answer = client.get_products(
        ServiceCode="AmazonEC2",
        FormatVersion="aws_v1",
        Filters=[*gpu_filters("us-east-2", "p5.48xlarge"), market],
    )
    assert answer["FormatVersion"] == "aws_v1"
    assert all(isinstance(item, str) for item in answer["PriceList"])
    [doc] = products(answer)
    attributes = doc["product"]["attributes"]
    assert doc["product"]["productFamily"] == "Compute Instance"
    assert doc["serviceCode"] == "AmazonEC2"
    assert {k: attributes[k] for k in ("usagetype", "vcpu", "memory", "gpu", "gpuMemory")} == {
        "usagetype": "USE2-BoxUsage:p5.48xlarge",
        "vcpu": "192",
        "memory": "2048 GiB",
        "gpu": "8",
        "gpuMemory": "640 GB",
    }
    assert attributes["location"] == "US East (Ohio)"
    assert term_price(doc) == f"{float(catalog_price):.10f}"
    sku = doc["product"]["sku"]
    assert list(doc["terms"]["OnDemand"]) == [f"{sku}.JRTCKXETXF"]

    # Forgetting marketoption returns the Capacity Block row too, at another price.
    both = products(
        client.get_products(
            ServiceCode="AmazonEC2", Filters=gpu_filters("us-east-2", "p5.48xlarge")
        )
    )
    assert sorted(d["product"]["attributes"]["marketoption"] for d in both) == [
        "CapacityBlock",
        "OnDemand",
    ]
    assert len({term_price(d) for d in both}) == 2

    # Types outside p4/p5 have one row; us-east-1 usage types have no prefix.
    [g5] = products(
        client.get_products(ServiceCode="AmazonEC2", Filters=gpu_filters("us-east-1", "g5.xlarge"))
    )
    assert g5["product"]["attributes"]["usagetype"] == "BoxUsage:g5.xlarge"
    unknown = {"Type": "TERM_MATCH", "Field": "noSuchField", "Value": "x"}
    ignored = client.get_products(
        ServiceCode="AmazonEC2", Filters=[*gpu_filters("us-east-1", "g5.xlarge"), unknown]
    )
    assert len(ignored["PriceList"]) == 1

    sent = [r for r in fake_aws.requests if r.action == "GetProducts"]
    assert market in sent[0].params["Filters"]
    assert market not in sent[1].params["Filters"]
    assert {r.region for r in sent} == {"us-east-1"}


@needs_samples
def test_pricing_paginates(fake_aws: FakeAws, shared_data: Path) -> None:
    region_filter = {"Type": "TERM_MATCH", "Field": "regionCode", "Value": "us-east-1"}
    pages = list(
        pricing(fake_aws)
        .get_paginator("get_products")
        .paginate(
            ServiceCode="AmazonEC2", Filters=[region_filter], PaginationConfig={"PageSize": 10}
        )
    )
    docs = [json.loads(item) for page in pages for item in page["PriceList"]]
    keys = [
        (d["product"]["attributes"]["instanceType"], d["product"]["attributes"]["marketoption"])
        for d in docs
    ]
    assert len(keys) == len(set(keys))
    priced = {
        r["InstanceType"]
        for r in catalog_rows(shared_data)
        if r["Region"] == "us-east-1" and r["Price"]
    }
    assert {t for t, m in keys if m == "OnDemand"} == priced
    assert len(pages) == -(-len(docs) // 10) > 1
    tokens = [r.params.get("NextToken") for r in fake_aws.requests]
    assert tokens[0] is None
    assert all(tokens[1:])


# --- faults ----------------------------------------------------------------------------


@needs_samples
def test_throttling_is_retried_by_botocore(fake_aws: FakeAws) -> None:
    fake_aws.throttle("DescribeSpotPriceHistory", 2)
    answer = ec2(fake_aws, config=RETRYING).describe_spot_price_history(MaxResults=5)
    assert answer["ResponseMetadata"]["RetryAttempts"] == 2
    assert len(answer["SpotPriceHistory"]) == 5

    fake_aws.throttle("GetProducts", 1)
    answer = pricing(fake_aws, RETRYING).get_products(ServiceCode="AmazonEC2", MaxResults=1)
    assert answer["ResponseMetadata"]["RetryAttempts"] == 1
    assert [r.action for r in fake_aws.requests] == ["DescribeSpotPriceHistory"] * 3 + [
        "GetProducts"
    ] * 2

    # Without retries the caller sees AWS's own throttling errors.
    fake_aws.throttle("DescribeSpotPriceHistory", 1)
    with pytest.raises(ClientError) as caught:
        ec2(fake_aws, config=NO_RETRY).describe_spot_price_history(MaxResults=5)
    assert caught.value.response["Error"]["Code"] == "RequestLimitExceeded"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    fake_aws.throttle("GetProducts", 1)
    with pytest.raises(ClientError) as caught:
        pricing(fake_aws, NO_RETRY).get_products(ServiceCode="AmazonEC2", MaxResults=1)
    assert caught.value.response["Error"] == {
        "Code": "ThrottlingException",
        "Message": "Rate exceeded",
    }
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


@needs_samples
def test_a_hanging_region_fires_the_read_timeout(fake_aws: FakeAws) -> None:
    fake_aws.hang("eu-west-1", 30)
    impatient = Config(read_timeout=0.3, connect_timeout=1, retries={"total_max_attempts": 1})
    began = time.monotonic()
    with pytest.raises(ReadTimeoutError):
        ec2(fake_aws, "eu-west-1", impatient).describe_spot_price_history(MaxResults=5)
    assert time.monotonic() - began < 3
    # Other regions still answer.
    assert ec2(fake_aws, "eu-west-2", impatient).describe_spot_price_history(MaxResults=5)[
        "SpotPriceHistory"
    ]


@needs_samples
def test_a_malformed_xml_page_is_a_parse_error(fake_aws: FakeAws) -> None:
    fake_aws.malformed("DescribeSpotPriceHistory", page=2)
    paginator = ec2(fake_aws).get_paginator("describe_spot_price_history")
    pages = paginator.paginate(InstanceTypes=["p3.2xlarge"], PaginationConfig={"PageSize": 10})
    with pytest.raises(ResponseParserError):
        list(pages)
    assert len(history_requests(fake_aws)) == 2  # page 1 was fine


@needs_samples
def test_malformed_pricing_pages(fake_aws: FakeAws) -> None:
    client = pricing(fake_aws)
    # botocore does not raise on broken JSON: the page just has no PriceList.
    fake_aws.malformed("GetProducts", page=1, times=1)
    answer = client.get_products(ServiceCode="AmazonEC2", MaxResults=3)
    assert "PriceList" not in answer
    assert "NextToken" not in answer

    fake_aws.malformed("GetProducts", page=1, how="item", times=1)
    answer = client.get_products(ServiceCode="AmazonEC2", MaxResults=3)
    assert len(answer["PriceList"]) == 3
    with pytest.raises(json.JSONDecodeError):
        json.loads(answer["PriceList"][0])

    assert len(client.get_products(ServiceCode="AmazonEC2", MaxResults=3)["PriceList"]) == 3


@needs_samples
def test_latency_and_the_request_log(fake_aws: FakeAws) -> None:
    fake_aws.latency_s = 0.05
    began = time.monotonic()
    ec2(fake_aws, "ap-south-1").describe_spot_price_history(
        InstanceTypes=["g4dn.xlarge"], MaxResults=5
    )
    assert time.monotonic() - began >= 0.05
    [(action, region, params)] = fake_aws.requests
    assert (action, region) == ("DescribeSpotPriceHistory", "ap-south-1")
    assert params["InstanceType.1"] == "g4dn.xlarge"
    assert params["MaxResults"] == "5"


# --- Spot Advisor file and the data ------------------------------------------------------


@needs_samples
def test_spot_advisor_file_is_served_verbatim(fake_aws: FakeAws, shared_data: Path) -> None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"{fake_aws.url}/spot-advisor-data.json", timeout=5) as response:
        assert response.headers["Content-Type"] == "application/json"
        assert response.read() == (shared_data / SPOT_ADVISOR).read_bytes()
    with pytest.raises(urllib.error.HTTPError) as caught:
        opener.open(f"{fake_aws.url}/other.json", timeout=5)
    assert caught.value.code == 404
    fake_aws.throttle("GetSpotAdvisorData", 1)
    with pytest.raises(urllib.error.HTTPError) as caught:
        opener.open(f"{fake_aws.url}/spot-advisor-data.json", timeout=5)
    assert caught.value.code == 503
    assert [r.action for r in fake_aws.requests] == ["GetSpotAdvisorData"] * 3


@needs_samples
def test_samples_are_loaded_once_and_now_moves_the_series(
    fake_aws: FakeAws, shared_data: Path, aws_credentials: None
) -> None:
    assert load_dataset(shared_data) is fake_aws.data
    later = DEFAULT_NOW + timedelta(days=1, seconds=30)
    with FakeAws(later, data_dir=shared_data) as other:
        assert other.data is fake_aws.data
        newest = ec2(other).describe_spot_price_history(MaxResults=5)["SpotPriceHistory"][0]
    assert newest["Timestamp"] == later - timedelta(hours=1)


# --- the moto fixture --------------------------------------------------------------------


def test_moto_server_fixture_answers_on_localhost(moto_server: str) -> None:
    assert moto_server.startswith("http://127.0.0.1:")
    client = boto3.client("ec2", region_name="us-east-1", endpoint_url=moto_server)
    answer = client.describe_spot_price_history(MaxResults=5)
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert isinstance(answer["SpotPriceHistory"], list)
