"""Units that mean hours, as exports spell them: one definition for the report and the stats.

The spellings come from the public samples in ../shared/data/billing (checked below where
the folder is there) and from the FinOps toolkit's list of every Azure unit of measure
(``billing/azure-reference/PricingUnits_finops-toolkit.csv``):

* ``Hrs``: AWS CUR ``pricing_unit`` of instance usage (the synthetic CUR 2.0 fixture,
  tests/fixtures/billing/cur2_synthetic_ec2_spot.*) and Cost Explorer's unit. The legacy
  CUR sample in ../shared/data has no EC2 lines, so no ``Hrs``.
* ``Hours``: the FOCUS 1.0 sample's ``ConsumedUnit`` (107 lines, its g5/g3 instance hours).
* ``1 Hour``: ``UnitOfMeasure`` of all three Azure EA cost-details samples.
* ``hour``: GCP billing export ``usage.pricing_unit``.
* ``Hours`` (MCA), ``1 Hours``, ``1 hour``, ``1 1 Hour``, ``1 hora``, ``1 小时``, ``10 Hour``,
  ``10 Hours`` ... ``100000 Hours``, ``10 Instance Hours``: PricingUnits.csv.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import sqlglot
from typer.testing import CliRunner

from spotadvisor.cli import app
from spotadvisor.events.stats import exposure_from_billing
from spotadvisor.importers.billing.units import (
    HOURS_UNIT,
    hours_per_unit,
    hours_per_unit_series,
    hours_per_unit_sql,
    hours_unit_sql,
    is_hours_unit,
)
from spotadvisor.report import Month, ReportQuery
from spotadvisor.report.sql import store_source
from tests.conftest import FIXTURES

runner = CliRunner()
CUR2_FIXTURES = [
    FIXTURES / "billing" / "cur2_synthetic_ec2_spot.csv",
    FIXTURES / "billing" / "cur2_synthetic_ec2_spot.parquet",
]

# (unit as an export writes it, hours in one unit, where it occurs)
SPELLINGS = [
    ("Hrs", 1.0, "AWS CUR pricing_unit (EC2 instance usage), Cost Explorer"),
    ("Hours", 1.0, "FOCUS 1.0 sample ConsumedUnit; Azure MCA UnitOfMeasure"),
    ("1 Hour", 1.0, "Azure EA cost-details samples UnitOfMeasure"),
    ("hour", 1.0, "GCP billing export usage.pricing_unit"),
    ("Hour", 1.0, "FOCUS PricingUnit, singular"),
    ("hours", 1.0, "lower case"),
    ("HRS", 1.0, "upper case"),
    ("Hrs.", 1.0, "abbreviation with a dot"),
    ("hr", 1.0, "abbreviation"),
    ("h", 1.0, "symbol"),
    (" Hrs ", 1.0, "padded"),
    ("1 Hours", 1.0, "PricingUnits.csv (EA)"),
    ("1 hour", 1.0, "PricingUnits.csv (EA)"),
    ("1 1 Hour", 1.0, "PricingUnits.csv (EA), block size 1"),
    ("1 hora", 1.0, "PricingUnits.csv (MCA, Spanish/Portuguese)"),
    ("1 小时", 1.0, "PricingUnits.csv (MCA, Chinese)"),
    ("10 Hour", 10.0, "PricingUnits.csv (EA), block size 10"),
    ("10 Hours", 10.0, "PricingUnits.csv (EA), block size 10"),
    ("100 Hours", 100.0, "PricingUnits.csv (MCA, EA)"),
    ("100000 Hours", 100000.0, "PricingUnits.csv (EA)"),
    ("10 Instance Hours", 10.0, "PricingUnits.csv (EA)"),
]

NOT_HOURS = [
    # something per hour, or hours of something other than an instance
    "vCPU-Hours",  # FOCUS sample
    "GB Hours",  # FOCUS sample
    "LCU-Hours",  # FOCUS sample
    "ACU-Hours",  # FOCUS sample
    "OCPU Hours",  # FOCUS sample
    "WriteCapacityUnit-Hours",  # FOCUS sample
    "Units/Hour",  # FOCUS sample
    "OCPU Per Hour",  # FOCUS sample
    "Gigabyte Per Hour",  # FOCUS sample
    "1/Hour",  # PricingUnits.csv
    "1 /Hour",  # PricingUnits.csv
    "1 GB Hour",  # PricingUnits.csv
    "100 Core Hours",  # PricingUnits.csv: core hours, not instance hours
    "1000 Relay Hours",  # PricingUnits.csv
    "1 Content Hours",  # PricingUnits.csv
    # other units
    "GB-Mo",  # CUR sample
    "Requests",  # CUR sample
    "10K",  # Azure samples
    "1/Month",  # Azure samples
    "Months",
    "0 Hours",
    "Hours of GPU",
    "",
    None,
    float("nan"),
    pd.NA,
]


@pytest.mark.parametrize(("unit", "hours", "where"), SPELLINGS, ids=[s[0] for s in SPELLINGS])
def test_each_spelling_is_hours(unit: str, hours: float, where: str) -> None:
    assert hours_per_unit(unit) == hours, where
    assert is_hours_unit(unit)


@pytest.mark.parametrize("unit", NOT_HOURS, ids=repr)
def test_other_units_are_not_hours(unit: object) -> None:
    assert hours_per_unit(unit) is None and not is_hours_unit(unit)


def test_series_matches_the_scalar_function() -> None:
    units = pd.Series([u for u, _, _ in SPELLINGS] + NOT_HOURS, index=range(100, 147))
    got = hours_per_unit_series(units)
    want = [h for _, h, _ in SPELLINGS] + [None] * len(NOT_HOURS)
    assert list(got.index) == list(units.index)
    assert [None if pd.isna(v) else v for v in got] == want


def test_the_pattern_fits_in_any_sql_string_literal() -> None:
    assert "'" not in HOURS_UNIT and "\\" not in HOURS_UNIT
    for dialect in ("duckdb", "trino", "bigquery"):
        sql = f"SELECT {hours_unit_sql('u', dialect)}, {hours_per_unit_sql('u', dialect)}"  # type: ignore[arg-type]
        assert sqlglot.parse_one(sql, read=dialect) is not None


@pytest.mark.parametrize("dialect", ["duckdb", "bigquery"])
def test_sql_reads_every_unit_as_python_does(dialect: str) -> None:
    """DuckDB runs the store's SQL; BigQuery's is checked as the fake BigQuery runs it."""
    units = [u for u, _, _ in SPELLINGS] + [u for u in NOT_HOURS if isinstance(u, str)]
    sql = (
        f"SELECT u, CASE WHEN {hours_unit_sql('u', dialect)} "  # type: ignore[arg-type]
        f"THEN 3 * {hours_per_unit_sql('u', dialect)} END AS h FROM t"  # type: ignore[arg-type]
    )
    if dialect != "duckdb":
        sql = sqlglot.transpile(sql, read=dialect, write="duckdb")[0]
    con = duckdb.connect()
    con.execute("CREATE TABLE t (u VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?)", [[u] for u in [*units, None]])
    got = dict(con.execute(sql).fetchall())
    for unit in units:
        per_unit = hours_per_unit(unit)
        assert got[unit] == (None if per_unit is None else 3 * per_unit), unit
    assert got[None] is None


# --- the real samples -----------------------------------------------------------------


def _units(path: Path, column: str) -> set[str]:
    return set(pd.read_csv(path, dtype=str, usecols=[column])[column].dropna())


def test_units_of_the_real_samples(shared_data: Path) -> None:
    billing = shared_data / "billing"
    focus = _units(billing / "focus-sample-data/focus-1.0_focus_sample_1000.csv", "ConsumedUnit")
    assert {u for u in focus if is_hours_unit(u)} == {"Hours"}
    for name in (
        "EA_ActualCost_Small_finops-toolkit.csv",
        "EA_AmortizedCost_Small_finops-toolkit.csv",
        "ea-export_sample-anonymous_2023-09_focus_converters.csv",
    ):
        azure = _units(billing / "azure-cost-details" / name, "UnitOfMeasure")
        assert {u for u in azure if is_hours_unit(u)} == {"1 Hour"}, name
    cur = billing / "aws-cur/cur-legacy_sample-anonymous-aws-export-dataset_2023-11.csv"
    # S3, Glue, SQS, SNS...: no EC2 in this sample, so no ``Hrs`` (the report tests use the
    # sample with EC2 lines appended, and the synthetic CUR 2.0 fixture)
    assert not {u for u in _units(cur, "pricing/unit") if is_hours_unit(u)}


# Units whose distinct unit is Hours in PricingUnits.csv but which are not instance hours.
NOT_INSTANCE_HOURS = {
    "1 Content Hours",
    "100 Core Hours",
    "100 Core Hrs",
    "1000 Relay Hours",
    "1000 Relay Hrs",
}


def test_every_azure_unit_of_measure(shared_data: Path) -> None:
    """Each hours unit of the FinOps toolkit's list reads as its block size; no other does."""
    table = pd.read_csv(
        shared_data / "billing/azure-reference/PricingUnits_finops-toolkit.csv",
        dtype={"UnitOfMeasure": str, "DistinctUnits": str},
        keep_default_na=False,
    )
    hourly = table[
        (table["DistinctUnits"] == "Hours") & ~table["UnitOfMeasure"].isin(NOT_INSTANCE_HOURS)
    ]
    assert len(hourly) >= 20
    for unit, size in zip(hourly["UnitOfMeasure"], hourly["PricingBlockSize"], strict=True):
        assert hours_per_unit(unit) == float(size), unit
    others = table[~table.index.isin(hourly.index)]
    assert not [u for u in others["UnitOfMeasure"] if is_hours_unit(u)]


# --- readers --------------------------------------------------------------------------


def _billing(rows: list[tuple[str, str | None, float, bool, str]]) -> pd.DataFrame:
    """Billing lines of 1 October 2026: (provider, unit, quantity, spot, instance type)."""
    start = pd.Timestamp("2026-10-01", tz="UTC")
    return pd.DataFrame(
        {
            "provider": [r[0] for r in rows],
            "consumed_unit": pd.Series([r[1] for r in rows], dtype="string"),
            "consumed_quantity": [r[2] for r in rows],
            "is_spot": [r[3] for r in rows],
            "instance_type": [r[4] for r in rows],
            "region_id": "r1",
            "availability_zone": pd.Series([None] * len(rows), dtype="string"),
            "charge_period_start": start,
            "charge_period_end": start + pd.Timedelta(days=1),
            "charge_category": "Usage",
            "pricing_category": ["Dynamic" if r[3] else "Standard" for r in rows],
            "billed_cost": 1.0,
            "effective_cost": 1.0,
            "list_cost": 2.0,
            "billing_currency": "USD",
            "usage_type": "BoxUsage",
            "resource_id": [f"i-{i}" for i in range(len(rows))],
            "sub_account_id": "a",
            "tags": "{}",
        }
    )


LINES = [
    ("aws", "Hrs", 24.0, True, "g5.xlarge"),  # CUR
    ("aws", "Hours", 24.0, True, "g5.xlarge"),  # FOCUS
    ("azure", "1 Hour", 24.0, True, "Standard_NC4as_T4_v3"),  # Azure EA
    ("azure", "10 Hours", 2.4, True, "Standard_NC4as_T4_v3"),  # 2.4 blocks of 10 h
    ("aws", "GB-Mo", 5.0, True, "g5.xlarge"),  # not hours
    ("aws", "Hrs", 24.0, False, "g5.xlarge"),  # on-demand
]


def test_spot_exposure_reads_every_spelling() -> None:
    billing = _billing(LINES)
    got = exposure_from_billing(
        billing, datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 10, 2, tzinfo=UTC)
    ).set_index("instance_type")["instance_hours"]
    assert got["g5.xlarge"] == pytest.approx(48.0)  # Hrs + Hours; GB-Mo and on-demand left out
    assert got["Standard_NC4as_T4_v3"] == pytest.approx(48.0)  # 24 x 1 Hour + 2.4 x 10 Hours


def test_store_sql_counts_instance_hours_in_every_spelling() -> None:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("lines_frame", _billing(LINES))
    con.execute("CREATE TABLE billing AS SELECT * FROM lines_frame")
    query = ReportQuery(Month(2026, 10), (), None, "all")
    got = dict(
        con.execute(
            f"SELECT instance_type, SUM(instance_hours) FROM ({store_source(query)}) GROUP BY 1"
        ).fetchall()
    )
    assert got["g5.xlarge"] == pytest.approx(72.0)  # Hrs (spot) + Hours + Hrs (on-demand)
    assert got["Standard_NC4as_T4_v3"] == pytest.approx(48.0)


# --- end to end: import a CUR, run the report ----------------------------------------


@pytest.mark.parametrize("path", CUR2_FIXTURES, ids=lambda p: p.suffix)
def test_report_on_a_cur_counts_hours_in_hrs(path: Path, tmp_path: Path) -> None:
    """CUR 2.0 meters instance usage in ``Hrs``: the report shows those hours.

    The expected figures are summed here from the file: usage lines in ``Hrs`` with an
    instance type, the Savings Plan negation left out (it repeats the covered line).
    """
    db = tmp_path / "store.duckdb"
    imported = runner.invoke(app, ["--db", str(db), "data", "import", str(path)])
    assert imported.exit_code == 0, imported.stderr
    result = runner.invoke(
        app,
        [
            *("--db", str(db), "report", "--month", "2025-03", "-f", "json"),
            *("--scope", "compute", "--max-recommendations", "0"),
        ],
    )
    assert result.exit_code == 0, result.stderr
    headline = json.loads(result.stdout)["headline"]

    raw = pd.read_csv(CUR2_FIXTURES[0])
    kind = raw["product_instance_type"].fillna(
        raw["line_item_usage_type"].str.extract(r"Usage:(.+)$", expand=False)
    )
    usage = raw[
        (raw["pricing_unit"] == "Hrs")
        & kind.notna()
        & (raw["line_item_line_item_type"] != "SavingsPlanNegation")
    ]
    spot = usage["line_item_usage_type"].str.contains("SpotUsage")
    gpus = kind[usage.index].map({"g5.xlarge": 1, "g5.2xlarge": 1, "p4d.24xlarge": 8})
    assert usage["line_item_usage_amount"].sum() == 6.0  # the fixture's six instance hours
    assert headline["instance_hours"] == pytest.approx(usage["line_item_usage_amount"].sum())
    assert headline["spot_instance_hours"] == pytest.approx(
        usage.loc[spot, "line_item_usage_amount"].sum()
    )
    assert headline["gpu_hours"] == pytest.approx((usage["line_item_usage_amount"] * gpus).sum())
    assert 0 < headline["spot_hours_share"] < 1
