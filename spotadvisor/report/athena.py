"""Run the report's SQL on Amazon Athena (Trino SQL) over the CUR 2.0 / FOCUS tables.

``AthenaEngine`` starts a query, polls it until it ends and pages its results through
``GetQueryResults``; the text values Athena returns are typed from the result's column
metadata. boto3 is imported on first use only, so the rest of spotadvisor works without
it. Errors become ``DataError`` with a fix; no credential is ever put in a message.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from spotadvisor.errors import DataError, UsageError
from spotadvisor.report.engine import QueryStats

PAGE_SIZE = 1000  # GetQueryResults' largest MaxResults
FINAL_STATES = frozenset({"SUCCEEDED", "FAILED", "CANCELLED"})

_INTEGERS = frozenset({"tinyint", "smallint", "integer", "int", "bigint"})
_FLOATS = frozenset({"double", "float", "real", "decimal"})
_AUTH_CODES = frozenset(
    {
        "AccessDeniedException",
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "IncompleteSignature",
    }
)
_THROTTLE_CODES = frozenset({"ThrottlingException", "TooManyRequestsException"})


class AthenaEngine:
    """Runs queries on Athena and returns their rows.

    Parameters
    ----------
    database
        The Glue database unqualified table names resolve in.
    output_location
        ``s3://bucket/prefix/`` where Athena writes the result files.
    workgroup
        The Athena workgroup; None: the caller's default (``primary``).
    region
        The AWS region; None: boto3's (``AWS_REGION``, the profile).
    endpoint_url
        Another Athena endpoint (``http://127.0.0.1:N`` in tests).
    poll_seconds
        Wait between two ``GetQueryExecution`` calls [s].
    timeout_seconds
        Longest wait for one query [s]; the query is then stopped.

    Raises
    ------
    UsageError
        When the database is empty or the output location is not an ``s3://`` URL.
    """

    name = "athena"
    dialect = "trino"

    def __init__(
        self,
        database: str,
        output_location: str,
        *,
        workgroup: str | None = None,
        region: str | None = None,
        endpoint_url: str | None = None,
        poll_seconds: float = 1.0,
        timeout_seconds: float = 1800,
    ) -> None:
        if not database.strip():
            raise UsageError("the Athena database is empty", field="database")
        if not output_location.startswith("s3://") or len(output_location) <= len("s3://"):
            raise UsageError(
                f"the Athena output location {output_location!r} is not an S3 URL",
                field="--athena-output",
                fix="give s3://bucket/prefix/ of a bucket the credentials can write to",
            )
        self.database = database.strip()
        self.output_location = output_location
        self.workgroup = workgroup
        self.region = region
        self.endpoint_url = endpoint_url
        self.poll_seconds = max(0.0, poll_seconds)
        self.timeout_seconds = timeout_seconds
        self.stats = QueryStats()
        self._client: Any = None

    def run(self, sql: str, *, label: str) -> pd.DataFrame:
        """Run ``sql`` (Trino SQL) and return its rows, typed by Athena's column types.

        Only queries that succeed are added to ``stats``.

        Raises
        ------
        DataError
            When the query fails, is cancelled, outlasts ``timeout_seconds`` (it is then
            stopped), or Athena cannot be reached or refuses the credentials.
        """
        started = time.perf_counter()
        try:
            client = self._athena()
            query_id = self._start(client, sql)
            try:
                execution = self._wait(client, query_id, label)
            except KeyboardInterrupt:
                self._stop(client, query_id)  # else it runs on, and bills, after Ctrl-C
                raise
            frame = _read_results(client, query_id, label)
        except DataError:
            raise
        except Exception as exc:
            mapped = _aws_error(exc, label)
            if mapped is None:
                raise
            raise mapped from exc
        statistics = execution.get("Statistics") or {}
        self.stats.queries += 1
        self.stats.bytes_scanned += int(statistics.get("DataScannedInBytes") or 0)
        self.stats.seconds += time.perf_counter() - started
        self.stats.labels.append(label)
        return frame

    def describe(self) -> str:
        """Database, workgroup and region (and the endpoint when not AWS's)."""
        region = self.region
        if region is None and self._client is not None:
            region = self._client.meta.region_name
        text = (
            f"Athena database {self.database} (workgroup {self.workgroup or 'primary'}, "
            f"region {region or 'from the AWS configuration'}"
        )
        if self.endpoint_url:
            parts = urlsplit(self.endpoint_url)
            # user:password@ in a URL would be a secret: keep the host and port only
            text += f", endpoint {parts.scheme}://{parts.hostname}" + (
                f":{parts.port}" if parts.port else ""
            )
        return text + ")"

    # -- steps

    def _athena(self) -> Any:
        """The boto3 client, made on first use (a missing region fails here)."""
        if self._client is None:
            try:
                import boto3
                from botocore.config import Config
            except ImportError as exc:
                raise DataError(
                    "reading billing data from Athena needs boto3, which is not installed",
                    fix="pip install 'spotadvisor[aws]'",
                ) from exc

            config = Config(
                retries={"mode": "standard", "max_attempts": 5},
                connect_timeout=10,
                read_timeout=60,
                user_agent_extra="spotadvisor",
            )
            self._client = boto3.session.Session().client(
                "athena", region_name=self.region, endpoint_url=self.endpoint_url, config=config
            )
        return self._client

    def _start(self, client: Any, sql: str) -> str:
        request: dict[str, Any] = {
            "QueryString": sql,
            "QueryExecutionContext": {"Database": self.database},
            "ResultConfiguration": {"OutputLocation": self.output_location},
        }
        if self.workgroup:
            request["WorkGroup"] = self.workgroup
        # botocore fills ClientRequestToken, so its retries cannot start the query twice
        return str(client.start_query_execution(**request)["QueryExecutionId"])

    def _wait(self, client: Any, query_id: str, label: str) -> dict[str, Any]:
        """Poll until the query ends; its ``QueryExecution`` when it succeeded."""
        deadline = time.monotonic() + self.timeout_seconds
        while True:
            execution: dict[str, Any] = client.get_query_execution(QueryExecutionId=query_id)[
                "QueryExecution"
            ]
            status = execution.get("Status") or {}
            state = status.get("State", "")
            if state == "SUCCEEDED":
                return execution
            if state in FINAL_STATES:
                reason = status.get("StateChangeReason") or (status.get("AthenaError") or {}).get(
                    "ErrorMessage", "no reason given"
                )
                raise DataError(
                    f"the Athena query '{label}' {'failed' if state == 'FAILED' else 'was cancelled'}"
                    f" ({_one_line(reason)})",
                    fix=f"check the SQL and that its tables exist in database {self.database}"
                    if state == "FAILED"
                    else "run the report again",
                )
            left = deadline - time.monotonic()
            if left <= 0:
                self._stop(client, query_id)
                raise DataError(
                    f"the Athena query '{label}' did not finish within "
                    f"{self.timeout_seconds:g} s and was stopped",
                    fix="raise the query timeout or report a shorter period",
                )
            time.sleep(min(self.poll_seconds, left))

    @staticmethod
    def _stop(client: Any, query_id: str) -> None:
        """Stop a query we give up on (it would go on scanning, and billing, otherwise)."""
        try:
            client.stop_query_execution(QueryExecutionId=query_id)
        except Exception:  # the timeout is the error worth reporting, not this one
            return


# -- results -------------------------------------------------------------------------------


def _read_results(client: Any, query_id: str, label: str) -> pd.DataFrame:
    """Every page of a finished query's results as a typed DataFrame."""
    request: dict[str, Any] = {"QueryExecutionId": query_id, "MaxResults": PAGE_SIZE}
    columns: list[dict[str, Any]] | None = None
    values: list[list[str | None]] = []
    while True:
        page = client.get_query_results(**request)
        result_set = page.get("ResultSet") or {}
        rows = [
            [datum.get("VarCharValue") for datum in row.get("Data", [])]
            for row in result_set.get("Rows", [])
        ]
        if columns is None:
            columns = list((result_set.get("ResultSetMetadata") or {}).get("ColumnInfo", []))
            names = [column.get("Label") or column.get("Name") for column in columns]
            # SELECT results start with a header row holding the column names
            if rows and rows[0] == names:
                rows = rows[1:]
        values.extend(rows)
        token = page.get("NextToken")
        if not token:
            break
        request["NextToken"] = token
    return results_frame(columns or [], values, label=label)


def results_frame(
    columns: Sequence[Mapping[str, Any]], rows: Sequence[Sequence[str | None]], *, label: str
) -> pd.DataFrame:
    """Athena's text values -> a DataFrame typed like ``DuckDBEngine``'s results.

    Parameters
    ----------
    columns
        ``ResultSetMetadata.ColumnInfo`` (``Name``, ``Type``).
    rows
        The values, None for NULL (a ``Datum`` without ``VarCharValue``).
    label
        The query's label, for errors.

    Returns
    -------
    pandas.DataFrame
        Integers as ``Int64``, double/real/decimal as ``float64``, booleans as
        ``boolean``, dates and timestamps as ``datetime64[us]`` (``timestamp with time
        zone`` in UTC), everything else (varchar, arrays, maps, rows) as strings.

    Raises
    ------
    DataError
        When a value does not read as its column's type.
    """
    series: dict[int, pd.Series] = {}
    for index, column in enumerate(columns):
        kind = str(column.get("Type", "varchar")).lower()
        cells = [row[index] if index < len(row) else None for row in rows]
        try:
            series[index] = _typed(kind, cells)
        except (ValueError, TypeError, OverflowError) as exc:
            raise DataError(
                f"the Athena query '{label}' returned a value that is not a {kind}",
                field=str(column.get("Name", index)),
                fix="cast the column in the SQL to the type the report expects",
            ) from exc
    frame = pd.DataFrame(series, index=pd.RangeIndex(len(rows)))
    frame.columns = pd.Index([str(column.get("Name", "")) for column in columns])
    return frame


def _typed(kind: str, cells: list[str | None]) -> pd.Series:
    base = kind.split("(", 1)[0].strip()
    if base in _INTEGERS:
        return pd.Series([None if c is None else int(c) for c in cells], dtype="Int64")
    if base in _FLOATS:
        return pd.Series([float("nan") if c is None else float(c) for c in cells], dtype="float64")
    if base == "boolean":
        return pd.Series([None if c is None else _boolean(c) for c in cells], dtype="boolean")
    if base == "date":
        return _datetimes(cells, datetime.fromisoformat)
    if kind.startswith("timestamp"):  # timestamp, timestamp(3), ... with time zone
        if kind.endswith("with time zone"):
            return _datetimes(cells, _zoned_timestamp, utc=True)
        return _datetimes(cells, datetime.fromisoformat)
    return pd.Series(cells, dtype="str")


def _boolean(text: str) -> bool:
    if text in ("true", "false"):
        return text == "true"
    raise ValueError(f"not a boolean: {text!r}")


def _datetimes(
    cells: list[str | None], parse: Callable[[str], datetime], *, utc: bool = False
) -> pd.Series:
    parsed = [None if c is None else parse(c) for c in cells]
    stamps = pd.to_datetime(pd.Series(parsed, dtype="object"), utc=utc)
    return stamps.astype("datetime64[us, UTC]") if utc else stamps.astype("datetime64[us]")


def _zoned_timestamp(text: str) -> datetime:
    """``2025-06-01 00:00:00.000 UTC`` (or a zone name / offset) -> aware datetime."""
    stamp, _, zone = text.strip().rpartition(" ")
    if not stamp:
        raise ValueError(f"no time zone in {text!r}")
    if zone.startswith(("+", "-")):
        return datetime.fromisoformat(stamp + zone)
    try:
        where = UTC if zone.upper() in ("UTC", "Z") else ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {zone!r}") from exc
    return datetime.fromisoformat(stamp).replace(tzinfo=where)


# -- errors ----------------------------------------------------------------------------------


def _one_line(text: str) -> str:
    from spotadvisor.collect.run import scrub

    return scrub(str(text))


def _aws_error(exc: Exception, label: str) -> DataError | None:
    """A DataError for a botocore error (None for anything else); never credentials."""
    from botocore import exceptions as aws

    where = f"the Athena query '{label}'"
    if isinstance(exc, aws.ClientError):
        error = exc.response.get("Error", {}) if isinstance(exc.response, dict) else {}
        code = str(error.get("Code") or "ClientError")
        detail = _one_line(f"{code}: {error.get('Message') or ''}".rstrip(": "))
        if code in _AUTH_CODES:
            fix = (
                "check the AWS credentials and that they allow athena:StartQueryExecution, "
                "athena:GetQueryExecution, athena:GetQueryResults, glue:GetTable and "
                "s3 access to the tables and the output location"
            )
        elif code in _THROTTLE_CODES:
            fix = "Athena is throttling requests: wait a minute and run the report again"
        else:
            fix = "check the database, the workgroup and the output location"
        return DataError(f"{where} was refused ({detail})", fix=fix)
    if isinstance(exc, aws.NoCredentialsError | aws.PartialCredentialsError):
        return DataError(
            f"{where} cannot run: no AWS credentials were found",
            fix="run 'aws configure' or 'aws sso login', or set AWS_PROFILE",
        )
    if isinstance(exc, aws.NoRegionError):
        return DataError(
            f"{where} cannot run: no AWS region is configured",
            fix="give the Athena region, or set AWS_REGION",
        )
    if isinstance(
        exc,
        aws.EndpointConnectionError
        | aws.ConnectTimeoutError
        | aws.ReadTimeoutError
        | aws.ConnectionClosedError,
    ):
        return DataError(
            f"{where} cannot reach Athena ({_one_line(str(exc))})",
            fix="check the network connection and the region",
        )
    if isinstance(exc, aws.BotoCoreError):
        return DataError(
            f"{where} failed ({_one_line(f'{type(exc).__name__}: {exc}')})",
            fix="check the AWS configuration (profile, region, endpoint)",
        )
    return None
