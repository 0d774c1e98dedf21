"""``spotadvisor report`` on bad input: one line naming the field and the fix, right exit code."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from spotadvisor.cli import app
from tests.report import synthetic

runner = CliRunner()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli")
    db = folder / "store.duckdb"
    csv = synthetic.write_month(folder / "focus.csv")
    assert runner.invoke(app, ["--db", str(db), "data", "import", str(csv)]).exit_code == 0
    return db


def run(db: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--db", str(db), "report", *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("args", "code", "expected"),
    [
        (["--month", "2026-13"], 2, "--month: '2026-13' is not a month"),
        (["--month", "October"], 2, "write it as YYYY-MM"),
        (["--tag", "te'am"], 2, '--tag: "te\'am" is not a tag key'),
        (["--spot-tag", 'lifecycle=sp"ot'], 2, "--spot-tag"),
        (["--sla", "150"], 2, "--sla"),
        (["--risk", "2"], 2, "--risk"),
        (["--month", "2026-10", "-f", "csv"], 2, "--output: csv writes one file per table"),
        (["--month", "2026-10", "-f", "csv", "--table-name", "weeky"], 2, "'weekly'"),
        (["--month", "2026-10", "--table-name", "weekly"], 2, "--table-name needs --format csv"),
        (["--month", "2025-01"], 3, "no gpu billing lines in January 2025"),
        (["--month", "2025-01", "--scope", "all"], 3, "no billing lines in January 2025"),
        (["--month", "2026-10", "--currency", "xyz"], 3, "--currency: no gpu spend in XYZ in"),
        (["--engine", "athena"], 2, "--table: --engine athena needs the billing table"),
        (["--engine", "athena", "--table", "cur.cur2"], 2, "--athena-output"),
        (
            ["--engine", "athena", "--table", "cur2", "--athena-output", "s3://b/"],
            2,
            "database.table",
        ),
        (["--engine", "bigquery", "--table", "x"], 2, "project.dataset.table"),
        (["--table", "cur.cur2"], 2, "--table is for --engine athena or bigquery"),
    ],
)
def test_bad_input(store: Path, args: list[str], code: int, expected: str) -> None:
    exit_code, _, err = run(store, *args, "--max-recommendations", "0")
    assert exit_code == code, err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and expected in errors[0], err
    assert "Traceback" not in err


def test_missing_store_is_a_data_problem(tmp_path: Path) -> None:
    exit_code, _, err = run(tmp_path / "none.duckdb", "--month", "2026-10")
    assert exit_code == 3
    assert "no billing data" in err and "spotadvisor data import" in err


def test_store_without_billing_is_a_data_problem(tmp_path: Path, shared_data: Path) -> None:
    db = tmp_path / "store.duckdb"
    advisor = sorted((shared_data / "aws-spot-advisor").glob("*.json"))[0]
    assert runner.invoke(app, ["--db", str(db), "data", "import", str(advisor)]).exit_code == 0
    exit_code, _, err = run(db, "--month", "2026-10")
    assert exit_code == 3 and "no billing data" in err, err


def test_default_month_is_the_last_complete_one(store: Path) -> None:
    from spotadvisor.report import Month

    exit_code, _, err = run(store, "-f", "json")
    expected = Month.last_complete().title
    assert exit_code in (0, 3)
    if exit_code == 3:
        assert expected in err


def test_html_goes_to_a_file_named_after_the_month(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    exit_code, out, err = run(store, "--month", "2026-10", "--max-recommendations", "0")
    assert exit_code == 0, err
    assert out == "" and "wrote report-2026-10.html" in err
    html = (tmp_path / "report-2026-10.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "<svg" in html


def test_show_sql_prints_the_statements_for_each_engine(store: Path) -> None:
    code, out, err = run(store, "--month", "2026-10", "--show-sql", "--tag", "team")
    assert code == 0, err
    assert out.count("WITH lines AS (") == 3 and "FROM billing" in out
    code, out, err = run(
        store,
        "--month",
        "2026-10",
        "--show-sql",
        "--engine",
        "athena",
        "--table",
        "cur.cur2",
        "--athena-output",
        "s3://bucket/results/",
    )
    assert code == 0, err
    assert "element_at(resource_tags, 'user_team')" in out and "REGEXP_LIKE" in out
    assert "billing_period IN ('2026-09', '2026-10')" in out
    code, out, err = run(
        store,
        "--month",
        "2026-10",
        "--show-sql",
        "--engine",
        "bigquery",
        "--table",
        "proj.billing.gcp_billing_export_v1_X",
    )
    assert code == 0, err
    assert "FROM `proj.billing.gcp_billing_export_v1_X`" in out and "REGEXP_CONTAINS" in out
