"""Cost Explorer get_cost_and_usage: the paging loop against moto, and the pure parser."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from spotadvisor.collect.cost_explorer import (
    cost_and_usage_batch,
    cost_and_usage_notes,
    get_cost_and_usage,
    parse_cost_and_usage,
    service_of_filter,
)
from spotadvisor.errors import DataError
from spotadvisor.schema import BILLING
from spotadvisor.store import Store

AS_OF = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)
EC2 = "Amazon Elastic Compute Cloud - Compute"
EC2_FILTER = {"Dimensions": {"Key": "SERVICE", "Values": [EC2]}}
BY_TEAM = [{"Type": "DIMENSION", "Key": "PURCHASE_TYPE"}, {"Type": "TAG", "Key": "team"}]


def usd(amount: str) -> dict[str, str]:
    return {"Amount": amount, "Unit": "USD"}


def group(purchase: str, tag: str | None, unblended: str, **more: dict[str, str]) -> dict[str, Any]:
    """One CE group: Keys [purchase type, tag$value], Metrics UnblendedCost (+ more)."""
    keys = [purchase] if tag is None else [purchase, tag]
    return {"Keys": keys, "Metrics": {"UnblendedCost": usd(unblended), **more}}


def day(start: str, end: str, groups: list[dict[str, Any]], estimated: bool = False) -> Any:
    return {
        "TimePeriod": {"Start": start, "End": end},
        "Total": {},
        "Groups": groups,
        "Estimated": estimated,
    }


def page(*results: Any, token: str | None = None, by: list[Any] | None = None) -> Any:
    response: dict[str, Any] = {
        "GroupDefinitions": BY_TEAM if by is None else by,
        "ResultsByTime": list(results),
        "DimensionValueAttributes": [],
    }
    if token:
        response["NextPageToken"] = token
    return response


def parse(pages: list[Any], **kwargs: Any) -> pd.DataFrame:
    options: dict[str, Any] = {"tag_keys": ("team",), "source": "ce-test", "as_of": AS_OF}
    options.update(kwargs)
    return parse_cost_and_usage(pages, **options)


def tags(frame: pd.DataFrame) -> list[Any]:
    return [None if pd.isna(t) else json.loads(t) for t in frame["tags"]]


# --- parse_cost_and_usage -----------------------------------------------------------------


def test_spot_on_demand_and_commitments_by_purchase_type() -> None:
    pages = [
        page(
            day(
                "2025-03-01",
                "2025-03-02",
                [
                    group("Spot Instances", "team$ml", "12.5"),  # spot: Dynamic
                    group("On Demand Instances", "team$ml", "40.0"),  # Standard
                    group("Savings Plans", "team$ml", "8.0"),  # Committed
                    group("Standard Reserved Instances", "team$ml", "3.0"),  # Committed
                ],
            )
        )
    ]
    frame = parse(pages)
    assert list(frame.columns) == BILLING.column_names
    assert frame["pricing_category"].tolist() == ["Dynamic", "Standard", "Committed", "Committed"]
    assert frame["is_spot"].tolist() == [True, False, False, False]
    assert frame["billed_cost"].tolist() == [12.5, 40.0, 8.0, 3.0]
    assert set(frame["billing_currency"]) == {"USD"} and set(frame["provider"]) == {"aws"}
    assert tags(frame) == [{"team": "ml"}] * 4
    assert frame["charge_period_start"].iloc[0] == pd.Timestamp("2025-03-01", tz="UTC")
    assert frame["charge_period_end"].iloc[0] == pd.Timestamp("2025-03-02", tz="UTC")
    assert (frame["as_of"] == pd.Timestamp(AS_OF)).all()
    assert frame["effective_cost"].isna().all()  # AmortizedCost not requested
    assert frame["service_name"].isna().all()  # no Request, no service_name given


def test_untagged_group_gets_an_empty_tags_object() -> None:
    # "team$" is the spend with no team tag
    frame = parse([page(day("2025-03-01", "2025-03-02", [group("Spot Instances", "team$", "2")]))])
    assert frame["tags"].tolist() == ["{}"]
    notes = cost_and_usage_notes([], frame)
    assert any("1 rows are untagged spend" in n for n in notes)


def test_estimated_periods_are_kept_and_replaced_by_final_figures(tmp_path: Path) -> None:
    store = Store(tmp_path / "ce.duckdb")
    estimated = [
        page(day("2025-03-03", "2025-03-04", [group("Spot Instances", "team$ml", "5")], True))
    ]
    batch = cost_and_usage_batch(estimated, tag_keys=("team",), source="ce", as_of=AS_OF)
    assert len(batch.frame) == 1
    assert any("1 period result(s) are Estimated" in n for n in batch.notes)
    assert store.write([batch])[0].inserted == 1
    final = [page(day("2025-03-03", "2025-03-04", [group("Spot Instances", "team$ml", "5.5")]))]
    later = cost_and_usage_batch(final, tag_keys=("team",), source="ce", as_of=AS_OF)
    result = store.write([later])[0]
    assert (result.inserted, result.updated) == (0, 1)  # same row_key: replaced
    assert store.read(BILLING)["billed_cost"].tolist() == [5.5]


def test_no_tag_key_means_tags_unknown() -> None:
    only_purchase = [{"Type": "DIMENSION", "Key": "PURCHASE_TYPE"}]
    pages = [
        page(
            day("2025-03-01", "2025-03-02", [group("Spot Instances", None, "1")]), by=only_purchase
        )
    ]
    frame = parse(pages, tag_keys=())
    assert frame["tags"].isna().all() and frame["is_spot"].tolist() == [True]


def test_groups_are_read_without_group_definitions() -> None:
    # seeded or hand-made responses may lack GroupDefinitions: "team$..." is told apart
    response = {
        "ResultsByTime": [
            day("2025-03-01", "2025-03-02", [group("Spot Instances", "team$ml", "1")])
        ]
    }
    frame = parse([response])
    assert tags(frame) == [{"team": "ml"}] and frame["pricing_category"].tolist() == ["Dynamic"]


def test_amortized_cost_and_usage_quantity_when_requested() -> None:
    hours = {"Amount": "24", "Unit": "Hrs"}
    mixed = {"Amount": "31.5", "Unit": "N/A"}  # several units summed: meaningless
    pages = [
        page(
            day(
                "2025-03-01",
                "2025-03-02",
                [
                    group(
                        "Savings Plans",
                        "team$ml",
                        "0",
                        AmortizedCost=usd("6.25"),
                        UsageQuantity=hours,
                    ),
                    group(
                        "On Demand Instances",
                        "team$ml",
                        "2",
                        AmortizedCost=usd("2"),
                        UsageQuantity=mixed,
                    ),
                ],
            )
        )
    ]
    frame = parse(pages)
    assert frame["effective_cost"].tolist() == [6.25, 2.0]
    assert frame["consumed_quantity"].iloc[0] == 24.0 and frame["consumed_unit"].iloc[0] == "Hrs"
    assert pd.isna(frame["consumed_quantity"].iloc[1]) and pd.isna(frame["consumed_unit"].iloc[1])


def test_another_metric_can_be_the_billed_cost() -> None:
    one = group("Spot Instances", "team$ml", "1", NetUnblendedCost=usd("0.9"))
    frame = parse([page(day("2025-03-01", "2025-03-02", [one]))], metric="NetUnblendedCost")
    assert frame["billed_cost"].tolist() == [0.9]
    with pytest.raises(DataError, match="no AmortizedCost metric"):
        parse([page(day("2025-03-01", "2025-03-02", [one]))], metric="AmortizedCost")


def test_hourly_periods_and_service_from_the_request_filter() -> None:
    response = page(
        day(
            "2025-03-01T05:00:00Z",
            "2025-03-01T06:00:00Z",
            [group("Spot Instances", "team$ml", "1")],
        )
    )
    response["Request"] = {
        "Filter": {"And": [EC2_FILTER, {"Tags": {"Key": "team", "Values": ["ml"]}}]}
    }
    frame = parse([response])
    assert frame["charge_period_start"].iloc[0] == pd.Timestamp("2025-03-01 05:00", tz="UTC")
    assert frame["service_name"].tolist() == [EC2]
    assert parse([response], service_name="Mine")["service_name"].tolist() == ["Mine"]


@pytest.mark.parametrize(
    ("expression", "service"),
    [
        (EC2_FILTER, EC2),
        ({"And": [EC2_FILTER, {"Dimensions": {"Key": "REGION", "Values": ["us-east-1"]}}]}, EC2),
        ({"Dimensions": {"Key": "SERVICE", "Values": [EC2, "Amazon S3"]}}, None),  # two
        ({"Or": [EC2_FILTER]}, None),  # Or does not pin one service
        (None, None),
    ],
)
def test_service_of_filter(expression: Any, service: str | None) -> None:
    assert service_of_filter(expression) == service


def test_row_keys_are_stable_and_differ_by_tag_and_metric() -> None:
    pages = [
        page(
            day(
                "2025-03-01",
                "2025-03-02",
                [group("Spot Instances", "team$ml", "1"), group("Spot Instances", "team$web", "1")],
            )
        )
    ]
    keys = parse(pages)["row_key"].tolist()
    assert len(set(keys)) == 2 and parse(pages)["row_key"].tolist() == keys
    for_net = [
        page(
            day(
                "2025-03-01",
                "2025-03-02",
                [group("Spot Instances", "team$ml", "1", NetUnblendedCost=usd("1"))],
            )
        )
    ]
    assert parse(for_net, metric="NetUnblendedCost")["row_key"].iloc[0] != keys[0]


def test_empty_responses_give_an_empty_frame() -> None:
    frame = parse([{"ResultsByTime": [], "DimensionValueAttributes": []}])
    assert frame.empty and list(frame.columns) == BILLING.column_names


def test_unknown_purchase_type_is_other_and_spot_unknown() -> None:
    frame = parse(
        [page(day("2025-03-01", "2025-03-02", [group("Capacity Blocks", "team$ml", "1")]))]
    )
    assert frame["pricing_category"].tolist() == ["Other"] and frame["is_spot"].isna().all()


# --- get_cost_and_usage with fakes --------------------------------------------------------


class FakeCe:
    """Answers get_cost_and_usage from a list of responses, recording the requests."""

    def __init__(self, responses: list[Any]) -> None:
        self.responses = list(responses)
        self.requests: list[dict[str, Any]] = []

    def get_cost_and_usage(self, **params: Any) -> Any:
        self.requests.append(params)
        return self.responses.pop(0)


def test_a_repeated_page_token_stops_the_loop() -> None:
    client = FakeCe([page(token="same"), page(token="same"), page()])
    with pytest.raises(DataError, match="token 'same' again after 2 pages"):
        get_cost_and_usage(client, start=date(2025, 3, 1), end=date(2025, 3, 2))


def test_sdk_errors_become_data_errors_without_account_ids() -> None:
    from botocore.exceptions import ClientError

    class Refusing:
        def get_cost_and_usage(self, **params: Any) -> Any:
            raise ClientError(
                {
                    "Error": {
                        "Code": "AccessDeniedException",
                        "Message": "User: arn:aws:iam::123456789012:user/x is not authorized",
                    }
                },
                "GetCostAndUsage",
            )

    with pytest.raises(DataError) as info:
        get_cost_and_usage(Refusing(), start="2025-03-01", end="2025-03-02")
    assert "123456789012" not in str(info.value) and "<account>" in str(info.value)


# --- get_cost_and_usage against moto ------------------------------------------------------


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    """moto's server on 127.0.0.1 (a free port) for this module."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def ce(moto_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    """A boto3 Cost Explorer client on moto, dummy credentials, no user AWS config."""
    import boto3

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    yield boto3.client("ce", region_name="us-east-1", endpoint_url=moto_url)
    _post(f"{moto_url}/moto-api/reset", {})


def _post(url: str, body: Any) -> int:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return int(response.status)


def test_get_cost_and_usage_pages_by_hand_per_tag_key(ce: Any, moto_url: str) -> None:
    """moto hands out the seeded results in order, one per distinct request body (it does
    not read NextPageToken; a request carrying the token is simply a new body). So the
    first result of each series carries a NextPageToken and the second none, and the
    client must send the token to get page two."""
    by_project = [BY_TEAM[0], {"Type": "TAG", "Key": "project"}]
    seeded = [
        page(
            day("2025-03-01", "2025-03-02", [group("Spot Instances", "team$ml", "12.5")]),
            token="t-2",
        ),
        page(
            day(
                "2025-03-02",
                "2025-03-03",
                [
                    group("On Demand Instances", "team$ml", "40"),
                    group("Spot Instances", "team$", "1"),
                ],
                estimated=True,
            )
        ),
        page(
            day("2025-03-01", "2025-03-02", [group("Spot Instances", "project$llm", "12.5")]),
            by=by_project,
            token="p-2",
        ),
        page(
            day("2025-03-02", "2025-03-03", [group("Spot Instances", "project$llm", "2")]),
            by=by_project,
        ),
    ]
    assert (
        _post(f"{moto_url}/moto-api/static/ce/cost-and-usage-results", {"results": seeded}) == 201
    )
    sent: list[dict[str, Any]] = []
    ce.meta.events.register(
        "provide-client-params.ce.GetCostAndUsage", lambda params, **_: sent.append(dict(params))
    )
    pages = get_cost_and_usage(
        ce,
        start=date(2025, 3, 1),
        end=date(2025, 3, 3),
        granularity="DAILY",
        tag_keys=("team", "project"),
        metrics=("UnblendedCost",),
        filter=EC2_FILTER,
    )
    assert len(sent) == 4 and len(pages) == 4
    assert [r.get("NextPageToken") for r in sent] == [None, "t-2", None, "p-2"]
    assert [r["GroupBy"][1]["Key"] for r in sent] == ["team", "team", "project", "project"]
    assert all(r["TimePeriod"] == {"Start": "2025-03-01", "End": "2025-03-03"} for r in sent)
    assert all(r["Filter"] == EC2_FILTER and r["Metrics"] == ["UnblendedCost"] for r in sent)
    assert all("ResponseMetadata" not in p for p in pages)

    frame = parse_cost_and_usage(
        pages, tag_keys=("team", "project"), metric="UnblendedCost", source="ce", as_of=AS_OF
    )
    assert len(frame) == 5 and frame["row_key"].is_unique
    assert set(frame["service_name"]) == {EC2}  # from the request's filter
    assert tags(frame) == [
        {"team": "ml"},
        {"team": "ml"},
        {},
        {"project": "llm"},
        {"project": "llm"},
    ]
    assert frame["is_spot"].tolist() == [True, False, True, True, True]
    notes = cost_and_usage_notes(pages, frame, ("team", "project"))
    assert any("Estimated" in n for n in notes)
    assert any("sum costs within one tag key" in n for n in notes)
    assert not any("123456789012" in n for n in notes)


def test_get_cost_and_usage_without_tags_is_one_series(ce: Any, moto_url: str) -> None:
    only_purchase = [{"Type": "DIMENSION", "Key": "PURCHASE_TYPE"}]
    seeded = [
        page(
            day("2025-03-01", "2025-03-02", [group("Spot Instances", None, "3")]), by=only_purchase
        )
    ]
    _post(f"{moto_url}/moto-api/static/ce/cost-and-usage-results", {"results": seeded})
    pages = get_cost_and_usage(ce, start="2025-03-01", end="2025-03-02", metrics=("UnblendedCost",))
    assert len(pages) == 1
    assert pages[0]["Request"]["GroupBy"] == only_purchase and "Filter" not in pages[0]["Request"]
    frame = parse_cost_and_usage(pages, source="ce", as_of=AS_OF)
    assert frame["billed_cost"].tolist() == [3.0] and frame["tags"].isna().all()
