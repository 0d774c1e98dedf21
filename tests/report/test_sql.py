"""The report's SQL: golden statements per engine, and each parses in its own dialect."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlglot

from spotadvisor.errors import UsageError
from spotadvisor.report import Month, ReportQuery, SpotTag
from spotadvisor.report.remote_sources import (
    cur2_source,
    cur_tag_key,
    gcp_export_source,
    split_athena_table,
)
from spotadvisor.report.sql import check_tag_key, statements, store_source

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
QUERY = ReportQuery(Month(2026, 10), ("team", "model"), SpotTag.parse("lifecycle=spot"), "gpu")

ENGINES = {
    "duckdb": store_source,
    "trino": lambda q: cur2_source(q, "cur2"),
    "bigquery": lambda q: gcp_export_source(q, "proj.billing.gcp_billing_export_v1_X"),
}


@pytest.mark.parametrize("dialect", sorted(ENGINES))
def test_statements_golden(dialect: str) -> None:
    sql = statements(QUERY, ENGINES[dialect](QUERY), dialect)
    text = "".join(f"-- {label}\n{statement};\n\n" for label, statement in sql.items())
    path = GOLDEN / f"report-sql-{dialect}.sql"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"missing {path}: run with UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8"), (
        "report SQL changed; if deliberate, run with UPDATE_GOLDEN=1 and review the diff"
    )


@pytest.mark.parametrize("dialect", sorted(ENGINES))
@pytest.mark.parametrize("scope", ["gpu", "compute", "all"])
def test_every_statement_parses_in_its_dialect(dialect: str, scope: str) -> None:
    query = ReportQuery(Month(2024, 1), ("team",), None, scope)  # type: ignore[arg-type]
    for _, statement in statements(query, ENGINES[dialect](query), dialect).items():
        parsed = sqlglot.parse_one(statement, read=dialect)
        assert parsed.find(sqlglot.exp.Select) is not None


def test_month_bounds_cover_the_previous_month() -> None:
    source = store_source(ReportQuery(Month(2026, 1), (), None, "gpu"))
    assert "TIMESTAMPTZ '2025-12-01 00:00:00+00'" in source
    assert "TIMESTAMPTZ '2026-02-01 00:00:00+00'" in source
    assert "TIMESTAMPTZ '2026-01-01 00:00:00+00'" in source  # current vs previous


def test_trino_uses_two_argument_regex_and_map_lookup() -> None:
    text = statements(QUERY, ENGINES["trino"](QUERY), "trino").cube
    assert "REGEXP_LIKE(instance_type, '^(" in text and "(?i)^standard_n" in text
    assert "element_at(resource_tags, 'user_team')" in text
    assert "resource_tags[" not in text  # raises on a missing key in Trino


@pytest.mark.parametrize(
    "key", ["te'am", 'a"b', "back\\slash", "", "x" * 129, "semi;colon", "new\nline"]
)
def test_tag_keys_that_could_break_a_query_are_refused(key: str) -> None:
    with pytest.raises(UsageError, match="--tag"):
        check_tag_key(key)


def test_tag_keys_clouds_use_are_accepted() -> None:
    for key in ("team", "cost-center", "kubernetes.io/cluster", "user:team", "Owner Email@x"):
        assert check_tag_key(key) == key
    assert cur_tag_key("cost-center") == "user_cost_center"


def test_spot_tag_parsing() -> None:
    assert SpotTag.parse("spot") == SpotTag("spot", None)
    assert SpotTag.parse(" lifecycle = Spot ") == SpotTag("lifecycle", "Spot")
    assert str(SpotTag.parse("lifecycle=spot")) == "lifecycle=spot"


def test_athena_table_names() -> None:
    assert split_athena_table("cur.cur2_export") == ("cur", "cur2_export")
    for bad in ("cur2", "a.b.c", "cur.cur2;drop", "cur.`x`"):
        with pytest.raises(UsageError, match="--table"):
            split_athena_table(bad)
