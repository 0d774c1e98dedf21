"""`collect aws` against real endpoints on 127.0.0.1: the fake AWS server and moto."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from spotadvisor.cli import app
from spotadvisor.collect.aws import AwsOptions, collect_aws
from spotadvisor.collect.run import scrub
from spotadvisor.schema import INTERRUPTION_HISTORY, OFFERS, SPOT_PRICE_HISTORY
from spotadvisor.store import Store
from tests.fakes.aws import DEFAULT_NOW, FakeAws

REGIONS = ("us-east-1", "us-west-2", "eu-west-1")
TYPES = ("p3.2xlarge", "p3.8xlarge", "p4d.24xlarge", "p5.48xlarge", "g5.xlarge")


def options(fake: FakeAws, **changes: object) -> AwsOptions:
    base = AwsOptions(
        regions=REGIONS,
        instance_types=TYPES,
        sources=frozenset({"spot-prices", "bands", "on-demand"}),
        endpoint_url=fake.url,
        now=DEFAULT_NOW,
        read_timeout_s=5,
        max_attempts=4,
        workers=6,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # placement-score cache


def test_full_collection_fills_every_table(fake_aws: FakeAws, tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    report = collect_aws(
        store,
        options(
            fake_aws,
            sources=frozenset({"spot-prices", "bands", "on-demand", "placement"}),
            target_capacity=4,
        ),
    )
    assert not report.failed, report.failed
    history = store.read(SPOT_PRICE_HISTORY)
    assert set(history["region"]) == set(REGIONS)
    assert history["zone"].notna().all() and history["zone_id"].notna().all()  # both kept
    assert (history["source"] == "aws-api:spot-price-history").all()
    bands = store.read(INTERRUPTION_HISTORY)
    assert (bands["as_of"] == pd.Timestamp(DEFAULT_NOW)).all() and "p5.48xlarge" in set(
        bands["instance_type"]
    )
    offers = store.read(OFFERS)
    p4d = offers[(offers.instance_type == "p4d.24xlarge") & (offers.region == "us-east-1")]
    assert (
        p4d["price_spot_usd_per_hour"].notna().all()
        and p4d["price_on_demand_usd_per_hour"].notna().all()
    )
    assert (p4d["gpu_model"] == "A100").all() and (p4d["gpu_count"] == 8).all()
    assert offers["placement_score"].notna().any()
    # the pricing calls asked for on-demand only and went to us-east-1
    pricing = [r for r in fake_aws.requests if r.action == "GetProducts"]
    assert pricing and {r.region for r in pricing} == {"us-east-1"}
    assert all(
        {"Field": "marketoption", "Type": "TERM_MATCH", "Value": "OnDemand"} in r.params["Filters"]
        for r in pricing
    )
    log = store.collections()
    assert (
        set(log["source"]) == {"spot-prices", "bands", "on-demand", "placement"}
        and log["error"].isna().all()
    )


def test_rerun_adds_nothing_twice(fake_aws: FakeAws, tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    collect_aws(store, options(fake_aws))
    counts = {
        t.name: len(store.read(t)) for t in (SPOT_PRICE_HISTORY, INTERRUPTION_HISTORY, OFFERS)
    }
    again = collect_aws(store, options(fake_aws))
    assert sum(w.inserted for w in again.written) == 0
    assert {
        t.name: len(store.read(t)) for t in (SPOT_PRICE_HISTORY, INTERRUPTION_HISTORY, OFFERS)
    } == counts


def test_throttling_is_retried(fake_aws: FakeAws, tmp_path: Path) -> None:
    fake_aws.throttle("DescribeSpotPriceHistory", 3)
    fake_aws.throttle("GetProducts", 2)
    report = collect_aws(Store(tmp_path / "s.duckdb"), options(fake_aws))
    assert not report.failed
    assert len([r for r in fake_aws.requests if r.action == "DescribeSpotPriceHistory"]) > len(
        REGIONS
    )


def test_a_region_that_times_out_fails_alone(fake_aws: FakeAws, tmp_path: Path) -> None:
    fake_aws.hang("eu-west-1", 30)
    store = Store(tmp_path / "s.duckdb")
    report = collect_aws(store, options(fake_aws, read_timeout_s=3, max_attempts=1))
    failed = {(r.source, r.region) for r in report.failed}
    assert ("spot-prices", "eu-west-1") in failed
    assert all(r.region == "eu-west-1" for r in report.failed)
    assert any("did not answer in time" in (r.error or "") for r in report.failed)
    assert set(store.read(SPOT_PRICE_HISTORY)["region"]) == {
        "us-east-1",
        "us-west-2",
    }  # the rest is kept
    assert report.usable


def test_a_malformed_page_fails_its_task_only(fake_aws: FakeAws, tmp_path: Path) -> None:
    fake_aws.malformed("DescribeSpotPriceHistory", page=1, times=1)
    report = collect_aws(Store(tmp_path / "s.duckdb"), options(fake_aws, max_attempts=1))
    spot = [r for r in report.results if r.source == "spot-prices"]
    assert len([r for r in spot if not r.ok]) == 1  # one stream of one region, nothing else
    assert len(spot) == len(REGIONS) * 2  # 5 types in streams of at most 4
    assert all(r.ok for r in report.results if r.source != "spot-prices")


def test_an_interrupted_collection_keeps_earlier_data(
    fake_aws: FakeAws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(tmp_path / "s.duckdb")
    collect_aws(store, options(fake_aws, sources=frozenset({"bands"})))
    before = {
        t.name: len(store.read(t)) for t in (SPOT_PRICE_HISTORY, INTERRUPTION_HISTORY, OFFERS)
    }
    later = datetime(2025, 7, 1, 13, tzinfo=UTC)
    real_write = Store.write

    def interrupted(self: Store, batches: object, **kw: object) -> object:
        raise KeyboardInterrupt  # Ctrl-C while the collection is being written

    monkeypatch.setattr(Store, "write", interrupted)
    with pytest.raises(KeyboardInterrupt):
        collect_aws(store, options(fake_aws, now=later))
    monkeypatch.setattr(Store, "write", real_write)
    # everything stored before the interrupted run is intact, nothing half-written
    assert {
        t.name: len(store.read(t)) for t in (SPOT_PRICE_HISTORY, INTERRUPTION_HISTORY, OFFERS)
    } == before
    # a re-run, even twice, ends where one clean run ends
    collect_aws(store, options(fake_aws, now=later))
    collect_aws(store, options(fake_aws, now=later))
    clean = Store(tmp_path / "clean.duckdb")
    collect_aws(clean, options(fake_aws, sources=frozenset({"bands"})))
    collect_aws(clean, options(fake_aws, now=later))
    for table in (SPOT_PRICE_HISTORY, INTERRUPTION_HISTORY, OFFERS):
        assert len(store.read(table)) == len(clean.read(table)), table.name


def test_placement_scores_without_permission_say_so(fake_aws: FakeAws, tmp_path: Path) -> None:
    fake_aws.deny_placement_scores = True
    report = collect_aws(
        Store(tmp_path / "s.duckdb"),
        options(fake_aws, sources=frozenset({"placement", "spot-prices"}), target_capacity=2),
    )
    placement = [r for r in report.results if r.source == "placement"]
    assert placement and all(not r.ok for r in placement)
    assert all(
        "UnauthorizedOperation" in (r.error or "") and "permission" in (r.error or "")
        for r in placement
    )
    assert all(r.ok for r in report.results if r.source == "spot-prices")


def test_dry_run_calls_nothing(fake_aws: FakeAws, tmp_path: Path) -> None:
    report = collect_aws(Store(tmp_path / "s.duckdb"), options(fake_aws), dry_run=True)
    # bands, two spot-price streams per region (5 types, 4 per call), on-demand per region
    assert report.dry_run and len(report.planned) == 1 + 2 * len(REGIONS) + len(REGIONS)
    assert fake_aws.requests == [] and not (tmp_path / "s.duckdb").exists()


def test_options_are_checked(fake_aws: FakeAws, tmp_path: Path) -> None:
    from spotadvisor.errors import UsageError

    with pytest.raises(UsageError, match="90 days"):
        collect_aws(Store(tmp_path / "s.duckdb"), options(fake_aws, since_hours=91 * 24))


def test_moto_ec2_smoke(moto_server: str, tmp_path: Path) -> None:
    """moto's EC2 implements describe-spot-price-history (with placeholder prices)."""
    store = Store(tmp_path / "s.duckdb")
    report = collect_aws(
        store,
        AwsOptions(
            regions=("us-east-1",),
            instance_types=("p4d.24xlarge",),
            sources=frozenset({"spot-prices"}),
            endpoint_url=moto_server,
            now=DEFAULT_NOW,
        ),
    )
    assert not report.failed and len(store.read(SPOT_PRICE_HISTORY)) > 0


def test_scrub_hides_accounts_keys_and_signatures() -> None:
    text = (
        "User: arn:aws:iam::123456789012:user/x with AKIAABCDEFGHIJKLMNOP Signature=abc123 failed"
    )
    clean = scrub(text)
    assert (
        "123456789012" not in clean
        and "AKIAABCDEFGHIJKLMNOP" not in clean
        and "abc123" not in clean
    )


# -- the command line: collect, then offers and recommend use the fresh data ------------


def test_cli_collect_then_offers_and_recommend_use_it(
    aws_credentials: None, shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    db = tmp_path / "s.duckdb"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    runner = CliRunner()
    with FakeAws(now, data_dir=shared_data) as fake:
        result = runner.invoke(
            app,
            [
                "--db",
                str(db),
                "collect",
                "aws",
                "--endpoint-url",
                fake.url,
                "--regions",
                "us-east-1,us-west-2",
                "--instance-types",
                "p4d.24xlarge,p3.8xlarge",
                "--target-capacity",
                "2",
            ],
        )
    assert result.exit_code == 0, result.stderr
    assert "AKIAIOSFODNN7EXAMPLE" not in result.stdout + result.stderr
    assert "offers built" in result.stderr and "succeeded" in result.stdout
    offers = json.loads(
        runner.invoke(
            app,
            [
                "--db",
                str(db),
                "offers",
                "--gpu",
                "A100",
                "--region",
                "us-east-1",
                "--format",
                "json",
            ],
        ).stdout
    )
    fresh = [o for o in offers["offers"] if o["source"] == "aws-api"]
    assert fresh and all(o["as_of"].startswith(now.date().isoformat()) for o in fresh)
    assert {s["origin"] for s in offers["data"][0]["sources"] if s["source"] == "aws-api"} == {
        "store"
    }
    rec = runner.invoke(
        app,
        [
            "--db",
            str(db),
            "recommend",
            "--gpu",
            "A100",
            "--replicas",
            "2",
            "--quick",
            "--regions",
            "us-east-1",
            "--clouds",
            "aws",
        ],
    )
    assert rec.exit_code == 0, rec.stderr
    assert "store" in rec.stdout and now.date().isoformat() in rec.stdout
    status = json.loads(
        runner.invoke(app, ["--db", str(db), "data", "status", "-f", "json"]).stdout
    )
    assert {c["source"] for c in status["collections"]} >= {
        "spot-prices",
        "on-demand",
        "bands",
        "placement",
    }


def test_cli_collects_billing_by_purchase_type_and_tag(moto_server: str, tmp_path: Path) -> None:
    """Cost Explorer through moto: seeded results come back as billing rows."""
    import urllib.request

    from spotadvisor.schema import BILLING

    result = {
        "TimePeriod": {"Start": "2026-10-01", "End": "2026-11-01"},
        "Total": {},
        "Groups": [
            {
                "Keys": ["Spot Instances", "team$ml"],
                "Metrics": {"UnblendedCost": {"Amount": "812.5", "Unit": "USD"}},
            },
            {
                "Keys": ["On Demand Instances", "team$ml"],
                "Metrics": {"UnblendedCost": {"Amount": "2100", "Unit": "USD"}},
            },
            {
                "Keys": ["On Demand Instances", "team$"],
                "Metrics": {"UnblendedCost": {"Amount": "40", "Unit": "USD"}},
            },
        ],
        "Estimated": False,
    }
    request = urllib.request.Request(
        f"{moto_server}/moto-api/static/ce/cost-and-usage-results",
        data=json.dumps(
            {
                "results": [
                    {
                        "ResultsByTime": [result],
                        "GroupDefinitions": [
                            {"Type": "DIMENSION", "Key": "PURCHASE_TYPE"},
                            {"Type": "TAG", "Key": "team"},
                        ],
                    }
                ]
            }
        ).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(request, timeout=10).close()
    db = tmp_path / "s.duckdb"
    out = CliRunner().invoke(
        app,
        [
            "--db",
            str(db),
            "collect",
            "aws",
            "--endpoint-url",
            moto_server,
            "--regions",
            "us-east-1",
            "--sources",
            "billing",
            "--tag",
            "team",
            "--format",
            "json",
        ],
    )
    assert out.exit_code == 0, out.stderr
    billing = Store(db).read(BILLING)
    assert len(billing) == 3 and billing["is_spot"].sum() == 1
    assert billing.loc[billing["is_spot"].astype(bool), "billed_cost"].item() == 812.5
    assert "123456789012" not in out.stdout + out.stderr
