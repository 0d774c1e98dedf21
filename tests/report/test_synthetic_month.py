"""The report of a synthetic month whose answers are known in closed form (synthetic.py).

The month goes the whole way: FOCUS CSV -> ``data import`` -> store -> SQL -> rollups ->
renderers, and every figure is checked against the formula, not against a recording.
"""

from __future__ import annotations

import dataclasses
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from spotadvisor.cli import app
from spotadvisor.report import Month, OpportunitySettings, ReportQuery, SpotTag, build_report
from spotadvisor.report.engine import DuckDBEngine
from spotadvisor.report.model import Report
from spotadvisor.report.sql import store_source
from spotadvisor.store import Store
from tests.report import synthetic as s

runner = CliRunner()
REL = 1e-9


def build(db: Path, **changes: object) -> Report:
    query = ReportQuery(
        month=Month(2026, 10),
        tags=("team", "model"),
        spot_tag=SpotTag.parse("lifecycle=spot"),
        scope="gpu",
    )
    query = dataclasses.replace(query, **changes)  # type: ignore[arg-type]
    return build_report(DuckDBEngine(db), store_source(query), query, Store(db), opportunities=None)


@pytest.fixture(scope="module")
def report(synthetic_store: Path) -> Report:
    return build(synthetic_store)


def test_spend_and_change(report: Report) -> None:
    assert report.currency == "USD"
    assert report.headline.cost == pytest.approx(s.SPEND, rel=REL)
    assert report.headline.previous_cost == pytest.approx(s.PREVIOUS_SPEND, rel=REL)
    assert report.headline.change == pytest.approx(s.SPEND / s.PREVIOUS_SPEND - 1, rel=REL)


def test_spot_share_of_gpu_hours_and_cost(report: Report) -> None:
    h = report.headline
    assert h.gpu_hours == pytest.approx(s.GPU_HOURS, rel=REL)
    assert h.spot_gpu_hours == pytest.approx(s.SPOT_GPU_HOURS, rel=REL)
    assert h.spot_hours_share == pytest.approx(1 / 3, rel=REL)  # 9 of 27 GPUs on spot
    assert h.spot_cost_share == pytest.approx(s.SPOT_COST / s.SPEND, rel=REL)


def test_realised_savings(report: Report) -> None:
    sv = report.savings
    assert sv.on_demand_equivalent == pytest.approx(s.ON_DEMAND_EQUIVALENT, rel=REL)
    assert sv.spot == pytest.approx(s.SPOT_SAVINGS, rel=REL)
    assert sv.committed == pytest.approx(s.COMMITMENT_SAVINGS, rel=REL)
    assert sv.other == pytest.approx(0.0, abs=1e-6)
    assert sv.actual == pytest.approx(s.SPEND, rel=REL)
    assert sv.estimated == pytest.approx(s.ESTIMATED, rel=REL)  # g5 spot has no ListCost
    assert sv.unpriced == 0.0
    assert any("estimated from catalog" in n for n in report.notes)


def test_untagged_and_partly_tagged_share(report: Report) -> None:
    hy = report.hygiene
    assert hy.untagged == pytest.approx(s.UNTAGGED, rel=REL)
    assert hy.partly_tagged == pytest.approx(s.PARTLY_TAGGED, rel=REL)
    assert hy.untagged_share == pytest.approx(s.UNTAGGED / s.SPEND, rel=REL)
    assert hy.missing_by_tag["team"] == pytest.approx(s.UNTAGGED + s.PARTLY_TAGGED, rel=REL)
    assert hy.missing_by_tag["model"] == pytest.approx(s.UNTAGGED, rel=REL)
    offenders = hy.offenders
    assert list(offenders["resource_id"]) == ["i-g5-od-1", "i-g6-ri-1"]
    assert list(offenders["missing"]) == ["team", "team, model"]


def test_spot_tag_mismatches(report: Report) -> None:
    hy = report.hygiene
    assert hy.spot_untagged == pytest.approx(s.SPOT_UNTAGGED, rel=REL)
    assert hy.tagged_not_spot == pytest.approx(s.TAGGED_NOT_SPOT, rel=REL)
    assert list(hy.spot_offenders["resource_id"]) == ["i-g5-spot-1"]


def test_weekly_spend_by_market(report: Report) -> None:
    weekly = report.weekly
    assert list(weekly["label"]) == ["1–7 Oct", "8–14 Oct", "15–21 Oct", "22–28 Oct", "29–31 Oct"]
    totals = weekly[["spot", "on-demand", "committed", "other"]].sum(axis=1)
    assert list(totals) == pytest.approx(s.weekly_spend(), rel=REL)
    assert weekly["spot"].sum() == pytest.approx(s.SPOT_COST, rel=REL)
    assert weekly["committed"].sum() == pytest.approx(s.HOURS_OCT * s.G6_EFFECTIVE, rel=REL)


def test_breakdowns(report: Report) -> None:
    by_type = report.by_instance_type.set_index("key")
    assert by_type.loc["p5.48xlarge", "cost"] == pytest.approx(
        s.HOURS_OCT * (s.P5_SPOT + 2 * s.P5_OD), rel=REL
    )
    assert by_type.loc["p5.48xlarge", "previous_cost"] == pytest.approx(s.PREVIOUS_SPEND)
    assert by_type.loc["g5.xlarge", "spot_hours_share"] == pytest.approx(0.5)
    assert "m5.large" not in by_type.index  # not a GPU
    team = report.by_tag["team"].set_index("key")
    assert team.loc["search", "spot_cost_share"] == pytest.approx(1.0)
    assert team.loc["(untagged)", "cost"] == pytest.approx(s.UNTAGGED + s.PARTLY_TAGGED, rel=REL)
    assert report.by_cloud["share"].sum() == pytest.approx(1.0)


def test_compute_scope_adds_cpu_instances_and_all_scope_adds_the_credit(
    synthetic_store: Path,
) -> None:
    compute = build(synthetic_store, scope="compute")
    assert compute.headline.cost == pytest.approx(s.SPEND + s.HOURS_OCT * s.M5_OD, rel=REL)
    everything = build(synthetic_store, scope="all")
    assert everything.headline.cost == pytest.approx(s.SPEND + s.HOURS_OCT * s.M5_OD - 100.0)
    assert everything.other_currencies == {"EUR": 250.0}
    assert any("250.00 EUR" in n for n in everything.notes)


def test_other_currency_on_request(synthetic_store: Path) -> None:
    query = ReportQuery(Month(2026, 10), ("team",), None, "all")
    eur = build_report(
        DuckDBEngine(synthetic_store),
        store_source(query),
        query,
        Store(synthetic_store),
        opportunities=None,
        currency="EUR",
    )
    assert eur.currency == "EUR" and eur.headline.cost == 250.0
    assert eur.by_tag["team"]["key"].tolist() == ["llm"]


def test_savings_left_on_the_table_come_from_the_risk_engine(synthetic_store: Path) -> None:
    query = ReportQuery(Month(2026, 10), ("team",), None, "gpu")
    settings = OpportunitySettings(trials=200, limit=5, seed=7)
    got = build_report(
        DuckDBEngine(synthetic_store),
        store_source(query),
        query,
        Store(synthetic_store),
        opportunities=settings,
    )
    groups = {(o.instance_type, o.replicas): o for o in got.opportunities}
    # p5 on demand: 2 instances all month -> 2 replicas of 8x H100; g5: 1 replica of 1x A10G.
    assert set(groups) == {("p5.48xlarge", 2), ("g5.xlarge", 1)}
    p5 = groups[("p5.48xlarge", 2)]
    assert p5.on_demand_cost == pytest.approx(2 * s.HOURS_OCT * s.P5_OD, rel=REL)
    assert p5.gpu == "8x H100"
    for o in got.opportunities:
        assert o.savings == pytest.approx(o.on_demand_cost * o.saving_fraction, rel=REL)
        if o.mix:
            assert o.breach_probability is not None and o.breach_probability <= 0.05
            assert 0 < o.saving_fraction < 1
    assert got.savings.left_on_table == pytest.approx(sum(o.savings for o in got.opportunities))
    assert got.savings.achievable == pytest.approx(s.SPEND - got.savings.left_on_table)


def test_cli_json_has_the_same_answers(synthetic_store: Path) -> None:
    result = runner.invoke(
        app,
        [
            "--db",
            str(synthetic_store),
            "report",
            "--month",
            "2026-10",
            "--tag",
            "team,model",
            "--spot-tag",
            "lifecycle=spot",
            "--format",
            "json",
            "--max-recommendations",
            "0",
        ],
    )
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["headline"]["cost"] == pytest.approx(s.SPEND, rel=REL)
    assert doc["headline"]["spot_hours_share"] == pytest.approx(1 / 3, rel=REL)
    assert doc["savings"]["spot"] == pytest.approx(s.SPOT_SAVINGS, rel=REL)
    assert doc["hygiene"]["untagged_share"] == pytest.approx(s.UNTAGGED / s.SPEND, rel=REL)
    assert {"by_cloud", "weekly", "savings", "untagged_resources"} <= set(doc["tables"])


def test_cli_csv_writes_one_file_per_table(synthetic_store: Path, tmp_path: Path) -> None:
    base = ["--db", str(synthetic_store), "report", "--month", "2026-10", "--format", "csv"]
    result = runner.invoke(app, [*base, "--max-recommendations", "0", "-o", str(tmp_path / "t")])
    assert result.exit_code == 0, result.stderr
    names = sorted(p.name for p in (tmp_path / "t").iterdir())
    assert "by_cloud.csv" in names and "weekly.csv" in names and "by_tag_team.csv" in names
    one = runner.invoke(app, [*base, "--max-recommendations", "0", "--table-name", "weekly"])
    assert one.exit_code == 0 and one.stdout.splitlines()[0].startswith("week,label,spot")


MARKDOWN_GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "report-2026-10.md"


def test_markdown_golden(synthetic_store: Path) -> None:
    """The Markdown of the synthetic month, recommendations included (fixed seed)."""
    query = ReportQuery(Month(2026, 10), ("team", "model"), SpotTag.parse("lifecycle=spot"), "gpu")
    got = build_report(
        DuckDBEngine(synthetic_store),
        store_source(query),
        query,
        Store(synthetic_store),
        opportunities=OpportunitySettings(trials=200, seed=11),
    )
    fixed = dataclasses.replace(
        got, source="local store store.duckdb", generated_at=datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    )
    from spotadvisor.render.report_text import render_report_markdown

    text = render_report_markdown(fixed)
    if os.environ.get("UPDATE_GOLDEN"):
        MARKDOWN_GOLDEN.write_text(text, encoding="utf-8")
    assert MARKDOWN_GOLDEN.is_file(), f"missing {MARKDOWN_GOLDEN}: run with UPDATE_GOLDEN=1"
    assert text == MARKDOWN_GOLDEN.read_text(encoding="utf-8"), (
        "report Markdown changed; if deliberate, run with UPDATE_GOLDEN=1 and review the diff"
    )
