"""The whole report on Athena and BigQuery: generated SQL run end to end on local fakes.

Athena: the synthetic month of ``synthetic.py`` rewritten as an AWS CUR 2.0 table
(daily lines, ``resource_tags`` map, ``billing_period`` partitions, a reservation and
a Savings Plans negation line) in ``FakeAthena``; the report must give the synthetic
answers, derived in closed form. BigQuery: ``FakeGcp``'s billing export table; the
report must agree with sums taken in pandas over the very rows the fake holds.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from spotadvisor.cli import app
from spotadvisor.report import Month, ReportQuery, SpotTag, build_report
from spotadvisor.report.athena import AthenaEngine
from spotadvisor.report.bigquery import BigQueryEngine
from spotadvisor.report.model import Report
from spotadvisor.report.remote_sources import cur2_source, gcp_export_source
from spotadvisor.store import Store
from tests.fakes.athena import FakeAthena
from tests.fakes.gcp import PROJECT_ID, STANDARD_TABLE, FakeGcp
from tests.report import synthetic as s

runner = CliRunner()
REL = 1e-9
DATABASE = "cur"
TABLE = "cur2_export"
OUTPUT = "s3://finops-athena-results/spotadvisor/"
OCTOBER = ReportQuery(Month(2026, 10), ("team", "model"), SpotTag.parse("lifecycle=spot"), "gpu")

# --- Athena over CUR 2.0 ----------------------------------------------------------------


def _cur_line(resource: s.Resource, day: datetime) -> dict[str, Any]:
    hours = 24.0
    committed = resource.market == "committed"
    prefix = "SpotUsage" if resource.market == "spot" else "BoxUsage"
    return {
        "line_item_usage_start_date": day,
        "line_item_line_item_type": "DiscountedUsage" if committed else "Usage",
        "line_item_usage_type": f"USE1-{prefix}:{resource.instance_type}",
        "product_region_code": "us-east-1",
        "product_instance_type": resource.instance_type,
        "line_item_resource_id": resource.resource_id,
        "line_item_usage_account_id": "444455556666",
        "line_item_currency_code": "USD",
        "pricing_term": {"spot": "Spot", "on-demand": "OnDemand", "committed": "Reserved"}[
            resource.market
        ],
        # a reserved line's unblended cost is zero; its cost is the effective cost
        "line_item_unblended_cost": 0.0 if committed else hours * resource.rate,
        "reservation_effective_cost": hours * resource.rate if committed else 0.0,
        # CUR prices spot usage at the public on-demand rate, unlike the FOCUS sample
        "pricing_public_on_demand_cost": hours * s.ON_DEMAND[resource.instance_type],
        "line_item_usage_amount": hours,
        "tags": json.dumps({f"user_{k}": v for k, v in resource.tags.items()}),
    }


def _cur_extras() -> list[dict[str, Any]]:
    day = datetime(2026, 10, 15)
    credit = {
        "line_item_usage_start_date": day,
        "line_item_line_item_type": "Credit",
        "line_item_usage_type": "",
        "product_instance_type": "",
        "line_item_unblended_cost": -100.0,
    }
    # a negation without a covered line: must count zero, not -500
    negation = {
        "line_item_usage_start_date": day,
        "line_item_line_item_type": "SavingsPlanNegation",
        "line_item_usage_type": "USE1-BoxUsage:p5.48xlarge",
        "product_instance_type": "p5.48xlarge",
        "line_item_resource_id": "i-p5-od-1",
        "line_item_unblended_cost": -500.0,
        "line_item_usage_amount": 24.0,
        "tags": json.dumps({"user_team": "llm", "user_model": "llama-70b"}),
    }
    # November: the partition after the report month, must be left out
    november = _cur_line(s.OCTOBER[0], datetime(2026, 11, 1))
    return [credit, negation, november]


def cur_frame() -> pd.DataFrame:
    """The synthetic month (AWS lines) as CUR 2.0 rows; ``tags`` is JSON for now."""
    rows = []
    for first, days, resources in (
        (datetime(2026, 10, 1), 31, s.OCTOBER),
        (datetime(2026, 9, 1), 30, s.SEPTEMBER),
    ):
        rows += [_cur_line(r, first + timedelta(days=d)) for d in range(days) for r in resources]
    rows += _cur_extras()
    frame = pd.DataFrame(rows)
    frame["billing_period"] = frame["line_item_usage_start_date"].dt.strftime("%Y-%m")
    for column in ("line_item_unblended_cost", "reservation_effective_cost"):
        frame[column] = frame[column].fillna(0.0)
    frame["tags"] = frame["tags"].fillna("{}")
    zero = (
        "savings_plan_savings_plan_effective_cost",
        "savings_plan_total_commitment_to_date",
        "savings_plan_used_commitment",
        "reservation_unused_amortized_upfront_fee_for_billing_period",
        "reservation_unused_recurring_fee",
    )
    for column in zero:
        frame[column] = 0.0
    return frame


def load_cur(fake: FakeAthena) -> None:
    fake.load_table("cur_staging", cur_frame(), database=DATABASE)
    fake.duckdb.execute(
        f"CREATE TABLE {DATABASE}.{TABLE} AS SELECT * EXCLUDE (tags), "
        "CAST(tags::JSON AS MAP(VARCHAR, VARCHAR)) AS resource_tags "
        f"FROM {DATABASE}.cur_staging"
    )


def athena_report(fake: FakeAthena, tmp_path: Path, query: ReportQuery = OCTOBER) -> Report:
    engine = AthenaEngine(
        DATABASE,
        OUTPUT,
        region="us-east-1",
        endpoint_url=fake.url,
        poll_seconds=0.01,
        timeout_seconds=30,
    )
    store = Store(tmp_path / "empty.duckdb")
    return build_report(engine, cur2_source(query, TABLE), query, store, opportunities=None)


def test_athena_cur2_report_has_the_synthetic_answers(
    fake_athena: FakeAthena, tmp_path: Path
) -> None:
    load_cur(fake_athena)
    report = athena_report(fake_athena, tmp_path)
    h, sv, hy = report.headline, report.savings, report.hygiene
    assert report.currency == "USD"
    assert h.cost == pytest.approx(s.SPEND, rel=REL)
    assert h.previous_cost == pytest.approx(s.PREVIOUS_SPEND, rel=REL)
    assert h.gpu_hours == pytest.approx(s.GPU_HOURS, rel=REL)
    assert h.spot_hours_share == pytest.approx(1 / 3, rel=REL)
    assert h.spot_cost == pytest.approx(s.SPOT_COST, rel=REL)
    assert sv.on_demand_equivalent == pytest.approx(s.ON_DEMAND_EQUIVALENT, rel=REL)
    assert sv.spot == pytest.approx(s.SPOT_SAVINGS, rel=REL)
    assert sv.committed == pytest.approx(s.COMMITMENT_SAVINGS, rel=REL)
    assert sv.estimated == 0.0  # CUR carries the on-demand cost of spot usage
    assert hy.untagged == pytest.approx(s.UNTAGGED, rel=REL)
    assert hy.partly_tagged == pytest.approx(s.PARTLY_TAGGED, rel=REL)
    assert hy.spot_untagged == pytest.approx(s.SPOT_UNTAGGED, rel=REL)
    assert hy.tagged_not_spot == pytest.approx(s.TAGGED_NOT_SPOT, rel=REL)
    assert list(hy.offenders["resource_id"]) == ["i-g5-od-1", "i-g6-ri-1"]
    weekly = report.weekly[["spot", "on-demand", "committed", "other"]].sum(axis=1)
    assert list(weekly) == pytest.approx(s.weekly_spend(), rel=REL)
    # the statements went to Athena in its own dialect, reading only two partitions
    assert fake_athena.queries and all(
        "billing_period IN ('2026-09', '2026-10')" in q for q in fake_athena.queries
    )
    assert all("element_at(resource_tags, 'user_team')" in q for q in fake_athena.queries)


def test_athena_all_scope_keeps_the_credit_and_drops_the_negation(
    fake_athena: FakeAthena, tmp_path: Path
) -> None:
    load_cur(fake_athena)
    query = ReportQuery(Month(2026, 10), ("team",), None, "all")
    report = athena_report(fake_athena, tmp_path, query)
    assert report.headline.cost == pytest.approx(s.SPEND + s.HOURS_OCT * s.M5_OD - 100.0)


def test_cli_report_on_athena(fake_athena: FakeAthena, tmp_path: Path) -> None:
    load_cur(fake_athena)
    out = tmp_path / "report.json"
    common = ["--db", str(tmp_path / "store.duckdb"), "report", "--month", "2026-10"]
    remote = [
        "--engine",
        "athena",
        "--table",
        f"{DATABASE}.{TABLE}",
        "--athena-output",
        OUTPUT,
        "--region",
        "us-east-1",
        "--endpoint-url",
        fake_athena.url,
    ]
    options = ["--tag", "team,model", "--spot-tag", "lifecycle=spot", "--max-recommendations", "0"]
    result = runner.invoke(app, [*common, *remote, *options, "--format", "json", "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["headline"]["cost"] == pytest.approx(s.SPEND, rel=REL)
    assert doc["savings"]["spot"] == pytest.approx(s.SPOT_SAVINGS, rel=REL)
    assert doc["hygiene"]["untagged_share"] == pytest.approx(s.UNTAGGED / s.SPEND, rel=REL)
    assert "testing" not in result.stderr  # the dummy secret key is never printed
    shown = runner.invoke(app, [*common, *remote, "--show-sql"])
    assert shown.exit_code == 0, shown.stderr
    assert "element_at(resource_tags" in shown.stdout and "FROM cur2_export" in shown.stdout


def test_cli_athena_without_output_location_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "--db",
            str(tmp_path / "store.duckdb"),
            "report",
            "--engine",
            "athena",
            "--table",
            f"{DATABASE}.{TABLE}",
        ],
    )
    assert result.exit_code == 2
    assert "--athena-output" in result.stderr and "Traceback" not in result.stderr


# --- BigQuery over the GCP billing export ----------------------------------------------

JUNE = ReportQuery(Month(2025, 6), ("team", "model"), None, "gpu")
GPU_MACHINE = re.compile(r"^(a2|g2)-")


def export_frame(fake: FakeGcp) -> pd.DataFrame:
    """The fake's export rows, one per line, with the figures the report adds up."""
    rows = []
    for row in fake.billing:
        machine = next(
            (
                label["value"]
                for label in row["system_labels"]
                if label["key"] == "compute.googleapis.com/machine_spec"
            ),
            None,
        )
        sku = row["sku"]["description"]
        gpu_sku = " GPU " in f" {sku} "
        rows.append(
            {
                "start": row["usage_start_time"],
                "net": row["cost"] + sum(c["amount"] for c in row["credits"]),
                "gpu": bool(machine and GPU_MACHINE.match(machine)) or gpu_sku,
                "spot": sku.startswith("Spot Preemptible"),
                "gpu_hours": row["usage"]["amount_in_pricing_units"] if gpu_sku else 0.0,
                "team": {x["key"]: x["value"] for x in row["labels"]}.get("team"),
            }
        )
    return pd.DataFrame(rows)


def bigquery_report(fake: FakeGcp, tmp_path: Path) -> Report:
    engine = BigQueryEngine(PROJECT_ID, endpoint_url=fake.url)
    store = Store(tmp_path / "empty.duckdb")
    source = gcp_export_source(JUNE, STANDARD_TABLE)
    return build_report(engine, source, JUNE, store, opportunities=None)


def test_bigquery_export_report_matches_the_rows(fake_gcp: FakeGcp, tmp_path: Path) -> None:
    rows = export_frame(fake_gcp)
    june = datetime(2025, 6, 1, tzinfo=UTC)
    current = rows[(rows["start"] >= june) & (rows["start"] < datetime(2025, 7, 1, tzinfo=UTC))]
    previous = rows[(rows["start"] < june) & (rows["start"] >= datetime(2025, 5, 1, tzinfo=UTC))]
    gpu, gpu_before = current[current["gpu"]], previous[previous["gpu"]]
    assert len(gpu) and len(gpu_before)  # the fixture has both months

    report = bigquery_report(fake_gcp, tmp_path)
    h = report.headline
    assert h.cost == pytest.approx(gpu["net"].sum(), rel=REL)
    assert h.previous_cost == pytest.approx(gpu_before["net"].sum(), rel=REL)
    assert h.spot_cost == pytest.approx(gpu.loc[gpu["spot"], "net"].sum(), rel=REL)
    assert h.gpu_hours == pytest.approx(gpu["gpu_hours"].sum(), rel=REL)
    assert h.spot_gpu_hours == pytest.approx(gpu.loc[gpu["spot"], "gpu_hours"].sum(), rel=REL)
    team = report.by_tag["team"].set_index("key")["cost"]
    for name, cost in gpu.groupby(gpu["team"].fillna("(untagged)"))["net"].sum().items():
        assert team[name] == pytest.approx(cost, rel=REL)
    # the T4 line of the unlabelled n1 VM is the only GPU spend with neither tag
    assert report.hygiene.untagged == pytest.approx(gpu.loc[gpu["team"].isna(), "net"].sum())
    assert report.by_cloud["key"].tolist() == ["gcp"]
