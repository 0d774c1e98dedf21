"""Reports built from the real public billing samples in ../shared/data/billing.

Each total is checked against a sum computed here straight from the sample file with
pandas, independently of the importer, the store and the report's SQL.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from spotadvisor.cli import app

runner = CliRunner()

FOCUS = "billing/focus-sample-data/focus-1.0_focus_sample_1000.csv"
CUR = "billing/aws-cur/cur-legacy_sample-anonymous-aws-export-dataset_2023-11.csv"
AZURE = "billing/azure-cost-details/EA_AmortizedCost_Small_finops-toolkit.csv"


def _import(db: Path, path: Path) -> None:
    result = runner.invoke(app, ["--db", str(db), "data", "import", str(path)])
    assert result.exit_code == 0, result.stderr


def _report(db: Path, *args: str) -> dict[str, object]:
    result = runner.invoke(
        app,
        ["--db", str(db), "report", "--format", "json", "--max-recommendations", "0", *args],
    )
    assert result.exit_code == 0, result.stderr
    doc: dict[str, object] = json.loads(result.stdout)
    return doc


def test_focus_sample_all_scope_matches_the_file(shared_data: Path, tmp_path: Path) -> None:
    db = tmp_path / "store.duckdb"
    _import(db, shared_data / FOCUS)
    raw = pd.read_csv(shared_data / FOCUS, low_memory=False)
    start = pd.to_datetime(raw["ChargePeriodStart"], utc=True)
    sept = raw[(start >= "2024-09-01") & (start < "2024-10-01")]
    cost = sept["EffectiveCost"].fillna(sept["BilledCost"])
    tags = sept["Tags"].fillna("{}").map(json.loads)
    expected_untagged = float(cost[tags.map(lambda t: "application" not in t)].sum())

    doc = _report(db, "--month", "2024-09", "--scope", "all", "--tag", "application")
    headline = doc["headline"]
    assert isinstance(headline, dict)
    assert headline["cost"] == pytest.approx(float(cost.sum()), rel=1e-9)
    hygiene = doc["hygiene"]
    assert isinstance(hygiene, dict)
    assert hygiene["untagged"] == pytest.approx(expected_untagged, rel=1e-9, abs=1e-9)
    tables = doc["tables"]
    assert isinstance(tables, dict)
    clouds = {row["key"]: row["cost"] for row in tables["by_cloud"]}
    by_provider = cost.groupby(sept["ProviderName"].str.lower()).sum()
    assert clouds["aws"] == pytest.approx(float(by_provider["aws"]), rel=1e-9)


def test_focus_sample_gpu_scope_finds_its_gpu_instances(shared_data: Path, tmp_path: Path) -> None:
    """The sample bills g5.4xlarge and g3.4xlarge hours; the GPU report is exactly those."""
    db = tmp_path / "store.duckdb"
    _import(db, shared_data / FOCUS)
    raw = pd.read_csv(shared_data / FOCUS, low_memory=False)
    gpu = raw[raw["ChargeDescription"].fillna("").str.contains(r"\b(?:g5|g3)\.\w+ Instance Hour")]
    doc = _report(db, "--month", "2024-09", "--tag", "application,business_unit")
    headline = doc["headline"]
    assert isinstance(headline, dict)
    assert headline["cost"] == pytest.approx(
        float(gpu["EffectiveCost"].fillna(gpu["BilledCost"]).sum()), rel=1e-9
    )
    # One GPU per g5.4xlarge and g3.4xlarge: GPU hours are the instance hours.
    assert headline["gpu_hours"] == pytest.approx(float(gpu["ConsumedQuantity"].sum()), rel=1e-9)
    assert headline["spot_hours_share"] == 0.0


def test_cur_sample_matches_the_file(shared_data: Path, tmp_path: Path) -> None:
    db = tmp_path / "store.duckdb"
    _import(db, shared_data / CUR)
    raw = pd.read_csv(shared_data / CUR, low_memory=False)
    doc = _report(db, "--month", "2023-11", "--scope", "all")
    headline = doc["headline"]
    assert isinstance(headline, dict)
    assert headline["cost"] == pytest.approx(float(raw["lineItem/UnblendedCost"].sum()), rel=1e-6)
    # No EC2 instances in this sample: nothing in GPU scope, and the report says so.
    empty = runner.invoke(app, ["--db", str(db), "report", "--month", "2023-11", "-f", "json"])
    assert empty.exit_code == 3 and "no gpu billing lines" in empty.stderr.lower()


def test_azure_amortised_sample_builds_markdown(shared_data: Path, tmp_path: Path) -> None:
    db = tmp_path / "store.duckdb"
    _import(db, shared_data / AZURE)
    result = runner.invoke(
        app,
        [
            "--db",
            str(db),
            "report",
            "--month",
            "2023-09",
            "--scope",
            "compute",
            "--format",
            "markdown",
            "--max-recommendations",
            "0",
        ],
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("# Compute spend report: September 2023")
    assert "| azure |" in result.stdout


def _with_ec2_lines(sample: Path, folder: Path) -> tuple[Path, pd.DataFrame]:
    """The CUR sample with EC2 instance lines appended in its own (legacy) layout.

    The public sample bills S3, Glue, SQS... but no EC2, so it has no ``Hrs`` line. The
    appended lines copy a real line of the file and change what an instance-hour line of
    a legacy CUR has: usage type, amount, ``pricing/unit = Hrs``, term, costs.
    """
    raw = pd.read_csv(sample, dtype=str, keep_default_na=False)
    template = raw.iloc[20].copy()  # an hourly S3 usage line of 10 November 2023
    lines = []
    for i, (usage_type, term, amount, cost) in enumerate(
        [
            ("BoxUsage:g5.xlarge", "OnDemand", "24", "24.144"),
            ("SpotUsage:g5.xlarge", "Spot", "10", "4.0240"),
            ("BoxUsage:p4d.24xlarge", "OnDemand", "3", "98.3176"),
        ]
    ):
        line = template.copy()
        line["identity/LineItemId"] = f"ec2line{i:044d}"
        line["lineItem/ProductCode"] = "AmazonEC2"
        line["lineItem/UsageType"] = usage_type
        line["lineItem/Operation"] = "RunInstances"
        line["lineItem/UsageAmount"] = amount
        line["lineItem/UnblendedCost"] = cost
        line["lineItem/BlendedCost"] = cost
        line["lineItem/UnblendedRate"] = line["lineItem/BlendedRate"] = ""
        line["lineItem/LineItemDescription"] = f"{usage_type} instance hours"
        line["product/ProductName"] = "Amazon Elastic Compute Cloud"
        line["product/servicecode"] = line["product/servicename"] = "AmazonEC2"
        line["product/usagetype"] = usage_type
        line["pricing/term"] = term
        line["pricing/unit"] = "Hrs"
        line["pricing/publicOnDemandCost"] = line["pricing/publicOnDemandRate"] = ""
        lines.append(line)
    added = pd.DataFrame(lines)
    path = folder / "cur-with-ec2.csv"
    pd.concat([raw, added], ignore_index=True).to_csv(path, index=False)
    return path, added


def test_cur_sample_with_ec2_lines_shows_their_instance_hours(
    shared_data: Path, tmp_path: Path
) -> None:
    """CUR meters instance usage in ``Hrs``: GPU hours and spot share come from them."""
    path, added = _with_ec2_lines(shared_data / CUR, tmp_path)
    db = tmp_path / "store.duckdb"
    _import(db, path)
    doc = _report(db, "--month", "2023-11")
    headline = doc["headline"]
    assert isinstance(headline, dict)
    amount = added["lineItem/UsageAmount"].astype(float)
    spot = (added["pricing/term"] == "Spot").to_numpy()
    gpus = added["lineItem/UsageType"].map(
        {"BoxUsage:g5.xlarge": 1, "SpotUsage:g5.xlarge": 1, "BoxUsage:p4d.24xlarge": 8}
    )
    assert headline["instance_hours"] == pytest.approx(amount.sum())  # 37
    assert headline["spot_instance_hours"] == pytest.approx(amount[spot].sum())  # 10
    assert headline["gpu_hours"] == pytest.approx((amount * gpus).sum())  # 58
    assert headline["spot_hours_share"] == pytest.approx(10 / 58)
    assert headline["cost"] == pytest.approx(added["lineItem/UnblendedCost"].astype(float).sum())
    tables = doc["tables"]
    assert isinstance(tables, dict)
    by_type = {row["key"]: row["gpu_hours"] for row in tables["by_instance_type"]}
    assert by_type == pytest.approx({"g5.xlarge": 34.0, "p4d.24xlarge": 24.0})
