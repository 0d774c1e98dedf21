"""Events into the report's interruptions section and ``recommend --rates measured``;
``events import`` of watch logs; ``events setup aws --print``."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from spotadvisor.cli import app
from spotadvisor.events.parse import FleetEvent
from spotadvisor.events.store import write_events
from spotadvisor.schema import INTERRUPTION_EVENTS
from spotadvisor.store import Store
from tests.report.test_interruptions import notice, write_log

runner = CliRunner()
OCT = datetime(2026, 10, 1, tzinfo=UTC)


@pytest.fixture
def store_copy(synthetic_store: Path, tmp_path: Path) -> Path:
    db = tmp_path / "copy.duckdb"
    shutil.copy(synthetic_store, db)
    return db


def bridge(n: int, instance: str, at: datetime, kind: str | None = None) -> FleetEvent:
    return FleetEvent(
        event_id=f"aws:eventbridge:{n}",
        cloud="aws",
        event_type="interruption",
        action="terminate",
        notice_time=at,
        source="aws-eventbridge-sqs",
        region="us-east-1",
        instance_id=instance,
        market="spot",
        instance_type=kind,
    )


def test_import_watch_logs_is_idempotent(tmp_path: Path) -> None:
    log = write_log(tmp_path / "a.jsonl", notice(3, "i-1"), notice(4, "i-1", "rebalance"))
    db = tmp_path / "s.duckdb"
    first = runner.invoke(app, ["--db", str(db), "events", "import", str(log)])
    assert first.exit_code == 0, first.stderr
    assert "stored 2 new event(s)" in first.stdout
    again = runner.invoke(app, ["--db", str(db), "events", "import", str(log)])
    assert "stored 0 new event(s)" in again.stdout and "2 already stored" in again.stdout
    rows = Store(db).read(INTERRUPTION_EVENTS)
    assert sorted(rows["event_type"]) == ["interruption", "rebalance"]
    assert set(rows["instance_type"]) == {"p5.48xlarge"}
    missing = runner.invoke(
        app, ["--db", str(db), "events", "import", str(tmp_path / "nope.jsonl")]
    )
    assert missing.exit_code == 2 and "nope.jsonl" in missing.stderr


def test_report_counts_the_stores_events_merged_with_watch_logs(
    store_copy: Path, tmp_path: Path
) -> None:
    at = datetime(2026, 10, 3, 3, 0, tzinfo=UTC)
    # EventBridge saw i-1 (type unknown) and i-p5-spot-1; September's event is not in October
    write_events(
        Store(store_copy),
        [
            bridge(1, "i-1", at - timedelta(seconds=20)),
            bridge(2, "i-p5-spot-1", at + timedelta(days=5)),
            bridge(3, "i-p5-spot-1", datetime(2026, 9, 20, tzinfo=UTC)),
        ],
        origin="t",
    )
    base = [
        "--db",
        str(store_copy),
        "report",
        "--month",
        "2026-10",
        "--format",
        "json",
        "--max-recommendations",
        "0",
    ]
    result = runner.invoke(app, base)
    assert result.exit_code == 0, result.stderr
    found = json.loads(result.stdout)["interruptions"]
    assert (found["events"], found["instances"]) == (2, 2)
    # the watch log of i-1 saw the same notice 20 s later, plus one more instance
    log = write_log(tmp_path / "w.jsonl", notice(3, "i-1"), notice(20, "i-2"))
    result = runner.invoke(app, [*base, "--watch-log", str(log)])
    found = json.loads(result.stdout)["interruptions"]
    assert (found["events"], found["instances"]) == (3, 3)
    pools = {p["instance_type"]: p for p in found["by_pool"]}
    assert pools["p5.48xlarge"]["interruptions"] == 3  # i-1's type came from the watch log
    assert pools["p5.48xlarge"]["per_instance_month"] == pytest.approx(3 * 730 / 744)
    text = runner.invoke(
        app, [*base[:-4], "--format", "markdown", "--max-recommendations", "0"]
    ).stdout
    section = text.split("## Interruptions\n", 1)[1]
    assert "2 termination notice(s) on 2 instance(s) in October 2026 (from EventBridge)" in section


def test_report_without_events_says_how_to_collect_them(store_copy: Path) -> None:
    result = runner.invoke(
        app,
        [
            "--db",
            str(store_copy),
            "report",
            "--month",
            "2026-10",
            "--format",
            "markdown",
            "--max-recommendations",
            "0",
        ],
    )
    assert "spotadvisor events collect" in result.stdout


def test_measured_rates_become_exact_hazards(store_copy: Path) -> None:
    from spotadvisor.config import parse_fleet
    from spotadvisor.events.rates import MeasuredRates, pool_stats
    from spotadvisor.recommend import HostFilter, recommend
    from spotadvisor.recommend.candidates import PoolKey

    store = Store(store_copy)
    write_events(
        store,
        [bridge(n, f"i-{n}", OCT + timedelta(days=n), "p5.48xlarge") for n in range(1, 4)],
        origin="t",
    )
    stats = pool_stats(store, OCT, datetime(2026, 11, 1, tzinfo=UTC))
    fleet = parse_fleet(
        {"workload": {"replicas": 1, "gpus_per_replica": 8}, "trials": 100}, origin="t"
    )
    hosts = HostFilter(gpu=("H100",), gpus_per_replica=8, clouds=("aws",), regions=("us-east-1",))
    measured = MeasuredRates(stats, min_exposure=1.0)
    rec = recommend(store, fleet, hosts, seed=1, adjust=measured)
    spot = {
        k: p
        for k, p in rec.search.pools.items()
        if k.market == "spot" and k.instance == "p5.48xlarge"
    }
    assert spot
    expected = (3 + 0.5) / (744 / 730) / 730  # Jeffreys mean per instance-month -> per hour
    for pool in spot.values():
        assert pool.model.hazard.rate_per_hour == pytest.approx(expected)
        assert pool.sources["interruption"] == "measured: 3 interruption(s) in 1.02 instance-months"
    others = [
        p for k, p in rec.search.pools.items() if k.market == "spot" and k.instance != "p5.48xlarge"
    ]
    assert all(p.model.hazard.rate_per_hour is None for p in others)  # bands
    assert "measured rates used for 1 pool(s): aws us-east-1 p5.48xlarge" in measured.notes[0]
    assert isinstance(next(iter(spot)), PoolKey)
    # below the exposure threshold the band stays
    strict = MeasuredRates(stats, min_exposure=2.0)
    rec = recommend(store, fleet, hosts, seed=1, adjust=strict)
    assert all(
        p.model.hazard.rate_per_hour is None
        for k, p in rec.search.pools.items()
        if k.market == "spot"
    )
    assert "every pool uses its published band" in strict.notes[0]


def test_recommend_cli_rates_measured(store_copy: Path) -> None:
    write_events(
        Store(store_copy), [bridge(1, "i-1", OCT + timedelta(days=2), "p5.48xlarge")], origin="t"
    )
    args = [
        "--db",
        str(store_copy),
        "recommend",
        "--gpu",
        "H100",
        "--replicas",
        "1",
        "--clouds",
        "aws",
        "--regions",
        "us-east-1",
        "--trials",
        "100",
        "--seed",
        "2",
        "--format",
        "json",
        "--rates",
        "measured",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    assert (
        "--rates measured: measured rates used for 1 pool(s): aws us-east-1 p5.48xlarge"
        in result.stderr
    )
    bands = runner.invoke(app, args[:-2])
    assert bands.exit_code == 0 and "--rates measured" not in bands.stderr


def test_setup_aws_print(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "events",
            "setup",
            "aws",
            "--print",
            "--format",
            "json",
            "--region",
            "eu-west-1",
            "--account",
            "111122223333",
        ],
    )
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    pattern = doc["rule"]["EventPattern"]
    assert pattern["source"] == ["aws.ec2"]
    types = {t for branch in pattern["$or"] for t in branch["detail-type"]}
    assert types == {
        "EC2 Spot Instance Interruption Warning",
        "EC2 Instance Rebalance Recommendation",
        "EC2 Instance State-change Notification",
    }
    statement = doc["queue"]["Attributes"]["Policy"]["Statement"][0]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert (
        statement["Condition"]["ArnEquals"]["aws:SourceArn"]
        == "arn:aws:events:eu-west-1:111122223333:rule/spotadvisor-ec2-events"
    )
    cli = runner.invoke(app, ["events", "setup", "aws", "--print", "--format", "cli"]).stdout
    assert (
        "aws events put-rule" in cli
        and "aws sqs create-queue" in cli
        and "spotadvisor events collect aws" in cli
    )
    refused = runner.invoke(app, ["events", "setup", "aws"])
    assert refused.exit_code == 2 and "--print" in refused.stderr


@pytest.mark.parametrize("account", ["abc", "12345678901", "1234567890123", "1234-5678-9012"])
def test_setup_aws_refuses_an_account_that_is_not_12_digits(account: str) -> None:
    result = runner.invoke(app, ["events", "setup", "aws", "--print", "--account", account])
    assert result.exit_code == 2 and result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert "--account" in line and "12-digit" in line


def test_setup_aws_without_account_says_to_replace_the_placeholder() -> None:
    result = runner.invoke(app, ["events", "setup", "aws", "--print", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    assert "replace 123456789012 with your account id (or pass --account)" in result.stderr
    assert "123456789012" in json.loads(result.stdout)["queue"]["Arn"]
    given = runner.invoke(
        app, ["events", "setup", "aws", "--print", "--format", "json", "--account", "111122223333"]
    )
    assert "replace" not in given.stderr
    assert json.loads(given.stdout)["queue"]["Arn"].endswith(":111122223333:spotadvisor-events")
