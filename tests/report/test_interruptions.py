"""The report's interruptions section: notices of the month against spot exposure."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from spotadvisor.bands import HOURS_PER_MONTH
from spotadvisor.cli import app
from spotadvisor.render.report_text import render_report_markdown, report_document
from spotadvisor.report import InterruptionEvent, Month, ReportQuery, build_report
from spotadvisor.report.engine import DuckDBEngine
from spotadvisor.report.interruptions import poisson_interval, summarise
from spotadvisor.report.sql import store_source
from spotadvisor.store import Store
from spotadvisor.watch.notice import Notice, outcome
from tests.report import synthetic as s

OCTOBER = Month(2026, 10)
runner = CliRunner()


def event(day: int, instance: str, *, month: int = 10, **where: str) -> InterruptionEvent:
    return InterruptionEvent(
        cloud=where.get("cloud", "aws"),
        notice_time=datetime(2026, month, day, 3, 0, tzinfo=UTC),
        action="terminate",
        source="watch log fleet.jsonl",
        region=where.get("region", "us-east-1"),
        zone="us-east-1a",
        instance_type=where.get("instance_type", "p5.48xlarge"),
        instance_id=instance,
    )


EVENTS = (
    event(3, "i-p5-spot-1"),
    event(19, "i-p5-spot-9"),
    event(30, "i-p5-spot-1", month=9),  # September: not this report's
    event(12, "i-g6-x", instance_type="g6.xlarge"),  # no spot hours billed for g6
)


@pytest.mark.parametrize(
    ("count", "low", "high"),
    # Garwood's exact 95 % limits, as tabulated (e.g. Ulm 1990, Table 1)
    [(0, 0.0, 3.689), (1, 0.0253, 5.572), (2, 0.242, 7.225), (10, 4.795, 18.390)],
)
def test_poisson_interval_matches_the_tables(count: int, low: float, high: float) -> None:
    got_low, got_high = poisson_interval(count, 1.0)
    assert got_low == pytest.approx(low, abs=5e-4)
    assert got_high == pytest.approx(high, abs=5e-4)
    half_low, half_high = poisson_interval(count, 2.0)  # twice the exposure: half the rate
    assert (half_low, half_high) == pytest.approx((got_low / 2, got_high / 2))


def test_rates_use_the_spot_hours_of_the_same_pool() -> None:
    spot_hours = pd.DataFrame(
        {
            "provider": ["aws", "aws"],
            "region_id": ["us-east-1", "us-east-1"],
            "instance_type": ["p5.48xlarge", "g5.xlarge"],
            "instance_hours": [2 * 744.0, 744.0],
        }
    )
    found = summarise(EVENTS, OCTOBER, spot_hours)
    assert (found.events, found.instances) == (3, 3)
    pools = found.by_pool.set_index("instance_type")
    p5 = pools.loc["p5.48xlarge"]
    assert p5["interruptions"] == 2 and p5["spot_instance_hours"] == 2 * 744.0
    assert p5["per_instance_month"] == pytest.approx(2 / (2 * 744.0 / HOURS_PER_MONTH))
    low, high = poisson_interval(2, 2 * 744.0 / HOURS_PER_MONTH)
    assert (p5["per_instance_month_low"], p5["per_instance_month_high"]) == pytest.approx(
        (low, high)
    )
    assert math.isnan(pools.loc["g6.xlarge", "per_instance_month"])
    assert found.sources == ("watch log fleet.jsonl",)


def test_no_events_in_the_month() -> None:
    found = summarise(EVENTS[2:3], OCTOBER, pd.DataFrame())
    assert found.events == 0 and found.by_pool.empty


def test_report_section_from_events(synthetic_store: Path) -> None:
    query = ReportQuery(OCTOBER, ("team",), None, "gpu")
    report = build_report(
        DuckDBEngine(synthetic_store),
        store_source(query),
        query,
        Store(synthetic_store),
        opportunities=None,
        interruption_events=EVENTS,
    )
    assert report.interruptions is not None
    p5 = report.interruptions.by_pool.set_index("instance_type").loc["p5.48xlarge"]
    # the synthetic month has one p5 on spot all month: 744 h
    assert p5["spot_instance_hours"] == pytest.approx(s.HOURS_OCT)
    assert p5["per_instance_month"] == pytest.approx(2 * HOURS_PER_MONTH / s.HOURS_OCT)
    text = render_report_markdown(report)
    section = text.split("## Interruptions\n", 1)[1]
    assert "3 termination notice(s) on 3 instance(s) in October 2026" in section
    assert "| aws | us-east-1 | p5.48xlarge | 2 | 2 | 744 | 1.96 (0.24–7.09) |" in section
    assert "no spot hours billed" in section
    doc = report_document(report)
    assert doc["interruptions"]["events"] == 3
    assert "interruptions" in doc["tables"]


def test_report_without_event_data_says_how_to_add_it(synthetic_store: Path) -> None:
    query = ReportQuery(OCTOBER, (), None, "gpu")
    report = build_report(
        DuckDBEngine(synthetic_store),
        store_source(query),
        query,
        Store(synthetic_store),
        opportunities=None,
    )
    assert report.interruptions is None
    assert "--watch-log" in render_report_markdown(report)
    assert report_document(report)["interruptions"] is None


def write_log(path: Path, *notices: Notice) -> Path:
    now = datetime(2026, 11, 1, tzinfo=UTC)
    lines = [json.dumps(n.record(now)) for n in notices]
    lines.insert(1, json.dumps(outcome("hook", now, exit_code=0)))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def notice(day: int, instance: str, kind: str = "termination") -> Notice:
    at = datetime(2026, 10, day, 3, 0, tzinfo=UTC)
    return Notice(
        kind=kind,  # type: ignore[arg-type]
        cloud="aws",
        action="terminate",
        notice_time=at,
        deadline=at + timedelta(minutes=2),
        event_id=f"terminate@{at:%Y-%m-%dT%H:%M:%SZ}",
        instance_id=instance,
        instance_type="p5.48xlarge",
        zone="us-east-1a",
        region="us-east-1",
    )


def test_cli_reads_watch_logs(synthetic_store: Path, tmp_path: Path) -> None:
    first = write_log(tmp_path / "a.jsonl", notice(3, "i-1"), notice(4, "i-1", "rebalance"))
    # the same notice seen by a second agent's log, and one more instance
    second = write_log(tmp_path / "b.jsonl", notice(3, "i-1"), notice(20, "i-2"))
    base = ["--db", str(synthetic_store), "report", "--month", "2026-10", "--format", "json"]
    logs = ["--watch-log", str(first), "--watch-log", str(second)]
    result = runner.invoke(app, [*base, "--max-recommendations", "0", *logs])
    assert result.exit_code == 0, result.stderr
    found = json.loads(result.stdout)["interruptions"]
    assert (found["events"], found["instances"]) == (2, 2)  # rebalance is not a termination
    assert found["by_pool"][0]["per_instance_month"] == pytest.approx(2 * 730 / s.HOURS_OCT)


def test_cli_bad_watch_log_is_a_usage_error(synthetic_store: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"event": "termination"}\nnot json\n', encoding="utf-8")
    base = ["--db", str(synthetic_store), "report", "--month", "2026-10", "--format", "json"]
    for path in (bad, tmp_path / "missing.jsonl"):
        result = runner.invoke(app, [*base, "--watch-log", str(path)])
        assert result.exit_code == 2, result.stderr
        assert path.name in result.stderr and "Traceback" not in result.stderr
