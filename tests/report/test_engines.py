"""The report's query engines against local fakes: Athena, BigQuery and the DuckDB store.

Athena runs on ``tests.fakes.athena.FakeAthena`` (Trino SQL transpiled to DuckDB),
BigQuery on ``tests.fakes.gcp.FakeGcp`` (its billing export tables), DuckDB on a
temporary store file. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from spotadvisor.errors import DataError, ExitCode, UsageError
from spotadvisor.report.athena import AthenaEngine, results_frame
from spotadvisor.report.bigquery import BigQueryEngine
from spotadvisor.report.engine import DuckDBEngine
from tests.fakes.athena import FakeAthena
from tests.fakes.gcp import BILLING_COLUMNS, PROJECT_ID, STANDARD_TABLE, FakeGcp

DATABASE = "finops"
OUTPUT = "s3://finops-athena-results/spotadvisor/"

# One DDL for the fake Athena's DuckDB and the DuckDB store, so both hold the same table.
CUR_DDL = """
CREATE TABLE {table} (
    instance_type VARCHAR, hours BIGINT, cost DOUBLE, rate DECIMAL(12, 6),
    is_spot BOOLEAN, usage_date DATE, usage_start TIMESTAMP,
    resource_tags MAP(VARCHAR, VARCHAR)
);
INSERT INTO {table} VALUES
    ('p4d.24xlarge', 24, 780.5, 32.520833, true, DATE '2025-06-01',
     TIMESTAMP '2025-06-01 00:00:00', MAP {{'user_team': 'ml'}}),
    (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
    ('g5.xlarge', 3, 3.018, 1.006, false, DATE '2025-06-30',
     TIMESTAMP '2025-06-30 23:59:59.250', MAP {{'user_team': 'search', 'user_model': 'mistral-7b'}});
"""
CUR_ROWS, CUR_COLUMNS = 3, 8
TYPED_SQL = """SELECT instance_type, hours, cost, rate, is_spot, usage_date, usage_start
FROM cur
ORDER BY hours"""


def load_cur(fake: FakeAthena) -> None:
    fake.duckdb.execute(f"CREATE SCHEMA {DATABASE}")
    fake.duckdb.execute(CUR_DDL.format(table=f"{DATABASE}.cur"))


def athena(fake: FakeAthena, **changes: Any) -> AthenaEngine:
    options: dict[str, Any] = {
        "region": "us-east-1",
        "endpoint_url": fake.url,
        "poll_seconds": 0.01,
        "timeout_seconds": 10,
    }
    options.update(changes)
    return AthenaEngine(DATABASE, OUTPUT, **options)


def operations(fake: FakeAthena, name: str) -> list[dict[str, Any]]:
    return [r.body for r in fake.requests if r.operation == name]


# --- Athena -----------------------------------------------------------------------------


def test_athena_types_nulls_match_duckdb_engine(fake_athena: FakeAthena, tmp_path: Path) -> None:
    import duckdb

    load_cur(fake_athena)
    store = tmp_path / "report.duckdb"
    with duckdb.connect(str(store)) as con:
        con.execute(CUR_DDL.format(table="cur"))

    frame = athena(fake_athena).run(TYPED_SQL, label="typed")
    local = DuckDBEngine(store).run(TYPED_SQL, label="typed")

    assert frame.dtypes.astype(str).to_dict() == {
        "instance_type": "str",
        "hours": "Int64",
        "cost": "float64",
        "rate": "float64",
        "is_spot": "boolean",
        "usage_date": "datetime64[us]",
        "usage_start": "datetime64[us]",
    }
    pd.testing.assert_frame_equal(frame, local)
    assert frame["hours"].tolist()[:2] == [3, 24] and frame["hours"].isna().tolist()[2]
    assert frame.loc[0, "usage_start"] == pd.Timestamp("2025-06-30 23:59:59.250")
    assert frame.loc[1, "rate"] == pytest.approx(32.520833)
    assert frame.iloc[2].isna().all()  # a NULL of every type


def test_athena_pages_through_results(fake_athena: FakeAthena) -> None:
    numbers = pd.DataFrame({"n": range(2500), "label": [f"row-{i}" for i in range(2500)]})
    fake_athena.load_table("big", numbers, database=DATABASE)

    frame = athena(fake_athena).run("SELECT n, label FROM big ORDER BY n", label="big")

    assert frame["n"].tolist() == list(range(2500))
    assert frame["label"].iloc[-1] == "row-2499"
    pages = operations(fake_athena, "GetQueryResults")
    # 2,500 rows + the header row: 1000 + 1000 + 501
    assert len(pages) == 3
    assert all(p["MaxResults"] == 1000 for p in pages)
    assert "NextToken" not in pages[0] and all("NextToken" in p for p in pages[1:])


def test_athena_polls_until_the_query_ends(fake_athena: FakeAthena) -> None:
    load_cur(fake_athena)
    fake_athena.running_polls = 3  # QUEUED, RUNNING, RUNNING, then SUCCEEDED

    frame = athena(fake_athena).run("SELECT count(*) AS n FROM cur", label="count")

    assert frame["n"].tolist() == [3]
    assert len(operations(fake_athena, "GetQueryExecution")) == 4


def test_athena_failed_query_names_the_label_and_reason(fake_athena: FakeAthena) -> None:
    load_cur(fake_athena)

    with pytest.raises(DataError) as caught:
        athena(fake_athena).run("SELECT no_such_column FROM cur", label="spot savings")

    assert caught.value.exit_code == ExitCode.DATA_PROBLEM == 3
    text = str(caught.value)
    assert "'spot savings' failed" in text and "no_such_column" in text
    assert DATABASE in (caught.value.fix or "")
    assert operations(fake_athena, "GetQueryResults") == []


def test_athena_timeout_stops_the_query(fake_athena: FakeAthena) -> None:
    load_cur(fake_athena)
    fake_athena.running_polls = None  # runs until stopped

    engine = athena(fake_athena, timeout_seconds=0.2, poll_seconds=0.02)
    with pytest.raises(DataError, match=r"'slow' did not finish within 0\.2 s") as caught:
        engine.run("SELECT * FROM cur", label="slow")

    assert caught.value.exit_code == ExitCode.DATA_PROBLEM
    (stop,) = operations(fake_athena, "StopQueryExecution")
    (started,) = operations(fake_athena, "StartQueryExecution")
    assert fake_athena.state(stop["QueryExecutionId"]) == "CANCELLED"
    assert started["QueryString"] == "SELECT * FROM cur"
    assert engine.stats.queries == 0


def test_athena_sends_the_sql_verbatim_with_context(fake_athena: FakeAthena) -> None:
    load_cur(fake_athena)
    sql = "-- spotadvisor: hours by type\nSELECT  instance_type,\n\thours FROM cur\nWHERE hours > 0"

    athena(fake_athena, workgroup="finops").run(sql, label="hours")
    athena(fake_athena).run(sql, label="hours")

    assert fake_athena.queries == [sql, sql]
    first, second = operations(fake_athena, "StartQueryExecution")
    assert first["QueryExecutionContext"] == {"Database": DATABASE}
    assert first["ResultConfiguration"] == {"OutputLocation": OUTPUT}
    assert first["WorkGroup"] == "finops" and "WorkGroup" not in second


def test_athena_trino_only_syntax_runs_end_to_end(fake_athena: FakeAthena) -> None:
    load_cur(fake_athena)
    sql = r"""SELECT
  element_at(resource_tags, 'user_team') AS team,
  element_at(resource_tags, 'user_model') AS model,
  count_if(regexp_like(instance_type, '(?i)^P4D\.')) AS p4d_rows,
  sum(cost) AS cost
FROM cur
WHERE instance_type IS NOT NULL
GROUP BY 1, 2
ORDER BY 1"""

    frame = athena(fake_athena).run(sql, label="tags")

    assert frame["team"].tolist() == ["ml", "search"]
    assert frame["model"].isna().tolist() == [True, False]
    assert frame["model"].iloc[1] == "mistral-7b"
    assert frame["p4d_rows"].tolist() == [1, 0]
    assert frame["cost"].tolist() == pytest.approx([780.5, 3.018])
    assert fake_athena.queries == [sql]


def test_athena_stats_accumulate(fake_athena: FakeAthena) -> None:
    load_cur(fake_athena)
    engine = athena(fake_athena)

    engine.run("SELECT sum(cost) AS cost FROM cur", label="total")
    engine.run("SELECT count(*) AS n FROM finops.cur", label="rows")

    assert engine.stats.queries == 2
    assert engine.stats.labels == ["total", "rows"]
    # the fake's DataScannedInBytes: rows x columns x 8 of each table named
    assert engine.stats.bytes_scanned == 2 * CUR_ROWS * CUR_COLUMNS * 8
    assert engine.stats.seconds > 0


def test_athena_describe_has_no_secrets(fake_athena: FakeAthena) -> None:
    load_cur(fake_athena)
    port = fake_athena.url.rsplit(":", 1)[1]
    secret = athena(
        fake_athena,
        workgroup="finops",
        endpoint_url=f"http://AKIAIOSFODNN7EXAMPLE:s3cr3t@127.0.0.1:{port}",
    )
    assert secret.describe() == (
        f"Athena database {DATABASE} (workgroup finops, region us-east-1, "
        f"endpoint http://127.0.0.1:{port})"
    )

    default_region = AthenaEngine(DATABASE, OUTPUT, endpoint_url=fake_athena.url)
    default_region.run("SELECT 1 AS one", label="one")
    text = default_region.describe()
    assert "workgroup primary" in text and "region us-east-1" in text
    assert "testing" not in text  # the access key and secret of aws_credentials


def test_athena_refused_request_is_a_data_error(fake_athena: FakeAthena) -> None:
    with pytest.raises(DataError) as caught:
        athena(fake_athena, workgroup="nope").run("SELECT 1", label="one")

    assert caught.value.exit_code == ExitCode.DATA_PROBLEM
    assert "WorkGroup nope is not found" in str(caught.value)
    assert "workgroup" in (caught.value.fix or "")


def test_athena_without_credentials_says_how_to_get_them(
    fake_athena: FakeAthena, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")

    with pytest.raises(DataError, match="no AWS credentials") as caught:
        athena(fake_athena).run("SELECT 1", label="one")

    assert "aws configure" in (caught.value.fix or "")
    assert fake_athena.requests == []


def test_athena_without_region_says_so(
    fake_athena: FakeAthena, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")

    with pytest.raises(DataError, match="no AWS region"):
        athena(fake_athena, region=None).run("SELECT 1", label="one")


class _Refusing:
    """A stand-in boto3 client whose first call raises ``error``."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def start_query_execution(self, **kwargs: Any) -> Any:
        raise self.error


def test_athena_sdk_errors_map_without_secrets(aws_credentials: None) -> None:
    from botocore.exceptions import ClientError, EndpointConnectionError

    denied = ClientError(
        {
            "Error": {
                "Code": "AccessDeniedException",
                "Message": "User: arn:aws:iam::123456789012:user/ci with key "
                "AKIAIOSFODNN7EXAMPLE is not authorized to perform athena:StartQueryExecution",
            }
        },
        "StartQueryExecution",
    )
    unreachable = EndpointConnectionError(endpoint_url="https://athena.eu-west-1.amazonaws.com/")
    cases = [(denied, "was refused", "credentials"), (unreachable, "cannot reach", "network")]
    for error, message, fix in cases:
        engine = AthenaEngine(DATABASE, OUTPUT, region="eu-west-1")
        engine._client = _Refusing(error)
        with pytest.raises(DataError) as caught:
            engine.run("SELECT 1", label="one")
        text = str(caught.value)
        assert message in text and fix in (caught.value.fix or "")
        assert "123456789012" not in text and "AKIAIOSFODNN7EXAMPLE" not in text


def test_athena_output_location_must_be_s3() -> None:
    with pytest.raises(UsageError) as caught:
        AthenaEngine(DATABASE, "finops-athena-results/spotadvisor/")
    assert caught.value.exit_code == ExitCode.BAD_INPUT


def test_athena_text_values_convert() -> None:
    columns = [
        {"Name": "at", "Type": "timestamp with time zone"},
        {"Name": "x", "Type": "double"},
        {"Name": "tags", "Type": "map(varchar, varchar)"},
        {"Name": "n", "Type": "integer"},
    ]
    rows = [
        ["2025-06-01 02:00:00.000 Europe/Berlin", "1.0E-5", "{a=b}", "7"],
        ["2025-06-01 00:00:00.000 UTC", "NaN", None, None],
        [None, "Infinity", "{}", "-2"],
    ]

    frame = results_frame(columns, rows, label="q")

    assert str(frame["at"].dtype) == "datetime64[us, UTC]"
    assert frame["at"].tolist()[:2] == [pd.Timestamp("2025-06-01 00:00", tz="UTC")] * 2
    assert frame["x"].iloc[0] == 1e-5 and math.isnan(frame["x"].iloc[1])
    assert frame["x"].iloc[2] == math.inf
    assert frame["tags"].tolist()[0] == "{a=b}" and pd.isna(frame["tags"].iloc[1])
    assert frame["n"].tolist()[0] == 7 and pd.isna(frame["n"].iloc[1])

    with pytest.raises(DataError) as caught:
        results_frame([{"Name": "hours", "Type": "bigint"}], [["12.5"]], label="q")
    assert caught.value.field == "hours"


# --- BigQuery ---------------------------------------------------------------------------


def bigquery(fake: FakeGcp, **changes: Any) -> BigQueryEngine:
    return BigQueryEngine(PROJECT_ID, location="US", endpoint_url=fake.url, **changes)


def test_bigquery_unnest_and_regexp_contains(fake_gcp: FakeGcp) -> None:
    sql = f"""SELECT
  (SELECT l.value FROM UNNEST(labels) AS l WHERE l.key = 'team') AS team,
  COUNTIF(REGEXP_CONTAINS(sku.description, r'(?i)^spot preemptible')) AS spot_rows,
  SUM(cost) AS cost
FROM `{STANDARD_TABLE}`
GROUP BY team
ORDER BY team"""
    expected: dict[str | None, list[float]] = {}
    for row in fake_gcp.billing:
        team = next((kv["value"] for kv in row["labels"] if kv["key"] == "team"), None)
        spot = re.match(r"(?i)spot preemptible", row["sku"]["description"]) is not None
        counts = expected.setdefault(team, [0, 0.0])
        counts[0] += spot
        counts[1] += row["cost"]

    engine = bigquery(fake_gcp)
    frame = engine.run(sql, label="by team")

    # BigQuery sorts NULL first; sqlglot keeps that with NULLS FIRST
    assert pd.isna(frame["team"].iloc[0])
    assert frame["team"].tolist()[1:] == sorted(t for t in expected if t is not None)
    assert frame.dtypes.astype(str).tolist() == ["str", "Int64", "float64"]
    for team, spot_rows, cost in frame.itertuples(index=False):
        want = expected[None if pd.isna(team) else team]
        assert spot_rows == want[0] and cost == pytest.approx(want[1])
    (posted,) = [r.body for r in fake_gcp.requests if r.method == "POST"]
    assert posted["query"] == sql
    assert engine.stats.bytes_scanned == len(fake_gcp.billing) * len(BILLING_COLUMNS) * 8


def test_bigquery_types_and_nulls(fake_gcp: FakeGcp) -> None:
    sql = """SELECT 1 AS i, 1.5 AS f, TRUE AS b, 'x' AS s, DATE '2025-06-01' AS d,
  TIMESTAMP '2025-06-01 12:00:00+00' AS ts, DATETIME '2025-06-01 12:00:00' AS dt,
  NUMERIC '1.25' AS n, [1, 2] AS arr
UNION ALL
SELECT CAST(NULL AS INT64), CAST(NULL AS FLOAT64), CAST(NULL AS BOOL), CAST(NULL AS STRING),
  CAST(NULL AS DATE), CAST(NULL AS TIMESTAMP), CAST(NULL AS DATETIME),
  CAST(NULL AS NUMERIC), CAST(NULL AS ARRAY<INT64>)"""

    frame = bigquery(fake_gcp).run(sql, label="types").sort_values("i", ignore_index=True)

    assert frame.dtypes.astype(str).to_dict() == {
        "i": "Int64",
        "f": "float64",
        "b": "boolean",
        "s": "str",
        "d": "datetime64[us]",
        "ts": "datetime64[us, UTC]",
        "dt": "datetime64[us]",
        "n": "float64",
        "arr": "object",
    }
    first = frame.iloc[0]
    assert (first["i"], first["f"], first["b"], first["s"], first["n"]) == (1, 1.5, True, "x", 1.25)
    assert first["ts"] == pd.Timestamp("2025-06-01 12:00", tz="UTC")
    assert first["d"] == pd.Timestamp("2025-06-01") and first["arr"] == [1, 2]
    assert frame.drop(columns="arr").iloc[1].isna().all()
    assert frame["arr"].iloc[1] == []  # BigQuery returns a NULL array as an empty one


def test_bigquery_follows_result_pages(fake_gcp: FakeGcp) -> None:
    fake_gcp.bq_page_size = 100

    frame = bigquery(fake_gcp).run(f"SELECT cost FROM `{STANDARD_TABLE}`", label="all")

    assert len(frame) == len(fake_gcp.billing)
    assert frame["cost"].sum() == pytest.approx(sum(r["cost"] for r in fake_gcp.billing))
    pages = [r for r in fake_gcp.requests if r.method == "GET" and "/queries/" in r.path]
    assert len(pages) == math.ceil(len(fake_gcp.billing) / 100) - 1


def test_bigquery_errors_are_data_errors(fake_gcp: FakeGcp) -> None:
    engine = bigquery(fake_gcp)
    with pytest.raises(DataError) as caught:
        engine.run(f"SELECT no_such_column FROM `{STANDARD_TABLE}`", label="broken")
    assert caught.value.exit_code == ExitCode.DATA_PROBLEM
    assert "'broken' failed" in str(caught.value) and "no_such_column" in str(caught.value)
    assert "\n" not in str(caught.value)

    with pytest.raises(DataError) as caught:
        engine.run(f"SELECT cost FROM `{PROJECT_ID}.billing_export.missing`", label="gone")
    assert "not found" in str(caught.value) and "table name" in (caught.value.fix or "")
    assert engine.stats.queries == 0


def test_bigquery_maximum_bytes_billed(fake_gcp: FakeGcp) -> None:
    sql = f"SELECT SUM(cost) AS cost FROM `{STANDARD_TABLE}`"
    with pytest.raises(DataError, match="bytes billed") as caught:
        bigquery(fake_gcp, maximum_bytes_billed=1_000_000).run(sql, label="capped")
    assert "maximum bytes billed" in (caught.value.fix or "")

    engine = bigquery(fake_gcp, maximum_bytes_billed=50 * 1024**2)
    assert engine.run(sql, label="capped")["cost"].iloc[0] > 0
    limits = [r.body.get("maximumBytesBilled") for r in fake_gcp.requests if r.method == "POST"]
    assert limits == ["1000000", str(50 * 1024**2)]
    assert engine.stats.queries == 1 and engine.stats.labels == ["capped"]


def test_bigquery_without_credentials_says_how_to_log_in(gcp_env: None) -> None:
    with pytest.raises(DataError) as caught:
        BigQueryEngine("ml-serving-prod").run("SELECT 1", label="one")
    assert caught.value.exit_code == ExitCode.DATA_PROBLEM
    assert "gcloud auth application-default login" in (caught.value.fix or "")
    assert "no-such-adc.json" not in str(caught.value)


def test_bigquery_describe_has_no_secrets(fake_gcp: FakeGcp) -> None:
    port = fake_gcp.url.rsplit(":", 1)[1]
    engine = BigQueryEngine(
        PROJECT_ID, location="US", endpoint_url=f"http://user:s3cr3t@127.0.0.1:{port}"
    )
    assert engine.describe() == f"BigQuery project {PROJECT_ID} (location US) at 127.0.0.1:{port}"


# --- DuckDB and imports -----------------------------------------------------------------


def test_duckdb_engine_without_a_store_is_a_data_error(tmp_path: Path) -> None:
    engine = DuckDBEngine(tmp_path / "missing.duckdb")
    with pytest.raises(DataError) as caught:
        engine.run("SELECT 1", label="one")
    assert caught.value.exit_code == ExitCode.DATA_PROBLEM
    assert engine.describe() == f"local store {tmp_path / 'missing.duckdb'}"


def test_engine_modules_import_no_cloud_sdk() -> None:
    code = (
        "import sys, spotadvisor.report.athena, spotadvisor.report.bigquery\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'boto3', 'botocore', 'google'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"
