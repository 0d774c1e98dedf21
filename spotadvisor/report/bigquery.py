"""Run the report's SQL on BigQuery (GoogleSQL) over the Cloud Billing export tables.

``BigQueryEngine`` runs one statement with ``query_and_wait`` and builds the DataFrame
from the rows and the result schema itself, so neither pyarrow nor db-dtypes is needed.
google-cloud-bigquery is imported on first use only. Errors become ``DataError`` with a
fix; credentials never appear in a message.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from spotadvisor.errors import DataError
from spotadvisor.report.engine import QueryStats

ADC_FIX = "run 'gcloud auth application-default login' or set GOOGLE_APPLICATION_CREDENTIALS"
_INTEGERS = frozenset({"INTEGER", "INT64"})
_FLOATS = frozenset({"FLOAT", "FLOAT64", "NUMERIC", "BIGNUMERIC", "DECIMAL", "BIGDECIMAL"})
_BOOLEANS = frozenset({"BOOLEAN", "BOOL"})
_LABEL_VALUE = re.compile(r"[^a-z0-9_-]+")


class BigQueryEngine:
    """Runs queries on BigQuery and returns their rows.

    Parameters
    ----------
    project
        The project the query jobs run (and are billed) in; None: the credentials'.
    location
        Where the jobs run (``US``, ``EU``, ``europe-west4``...); None: BigQuery's guess.
    endpoint_url
        Another BigQuery endpoint (``http://127.0.0.1:N`` in tests), reached with
        anonymous credentials.
    maximum_bytes_billed
        A job that would bill more bytes fails instead (``maximumBytesBilled``) [B].
    timeout_seconds
        Longest wait for one query [s]; None: no limit.
    """

    name = "bigquery"
    dialect = "bigquery"

    def __init__(
        self,
        project: str | None = None,
        *,
        location: str | None = None,
        endpoint_url: str | None = None,
        maximum_bytes_billed: int | None = None,
        timeout_seconds: float | None = 1800,
    ) -> None:
        self.project = project
        self.location = location
        self.endpoint_url = endpoint_url
        self.maximum_bytes_billed = maximum_bytes_billed
        self.timeout_seconds = timeout_seconds
        self.stats = QueryStats()
        self._client: Any = None

    def run(self, sql: str, *, label: str) -> pd.DataFrame:
        """Run ``sql`` (GoogleSQL) and return its rows, typed by the result schema.

        Only queries that succeed are added to ``stats``.

        Raises
        ------
        DataError
            When there are no credentials, the query fails or exceeds
            ``maximum_bytes_billed``, or BigQuery cannot be reached.
        """
        started = time.perf_counter()
        try:
            from google.cloud import bigquery

            client = self._bigquery(label)
            config = bigquery.QueryJobConfig(labels=_job_labels(label))
            if self.maximum_bytes_billed is not None:
                # set only when given: QueryJobConfig(maximum_bytes_billed=None) sends
                # the string "None", which BigQuery rejects
                config.maximum_bytes_billed = self.maximum_bytes_billed
            rows = client.query_and_wait(sql, job_config=config, wait_timeout=self.timeout_seconds)
            frame = rows_frame(rows.schema, (tuple(row.values()) for row in rows))
        except ImportError as exc:
            raise DataError(
                "reading billing data from BigQuery needs google-cloud-bigquery, "
                "which is not installed",
                fix="pip install 'spotadvisor[gcp]'",
            ) from exc
        except DataError:
            raise
        except Exception as exc:
            mapped = _google_error(exc, label)
            if mapped is None:
                raise
            raise mapped from exc
        self.stats.queries += 1
        self.stats.bytes_scanned += int(getattr(rows, "total_bytes_processed", None) or 0)
        self.stats.seconds += time.perf_counter() - started
        self.stats.labels.append(label)
        return frame

    def describe(self) -> str:
        """Project and location (and the endpoint when not Google's)."""
        project = self.project
        if project is None and self._client is not None:
            project = self._client.project
        text = f"BigQuery project {project or 'from the Google credentials'}"
        if self.location:
            text += f" (location {self.location})"
        if self.endpoint_url:
            text += f" at {self.endpoint_url.split('@')[-1]}"  # never user:password@
        return text

    def _bigquery(self, label: str) -> Any:
        """The client, made on first use (missing credentials fail here)."""
        if self._client is None:
            from google.cloud import bigquery

            if self.endpoint_url:
                from google.auth.credentials import AnonymousCredentials

                self._client = bigquery.Client(
                    project=self.project,
                    credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
                    location=self.location,
                    client_options={"api_endpoint": self.endpoint_url},
                )
            else:
                self._client = bigquery.Client(project=self.project, location=self.location)
        return self._client


def rows_frame(fields: Sequence[Any], rows: Iterable[Sequence[Any]]) -> pd.DataFrame:
    """BigQuery rows (Python values) -> a DataFrame typed like ``DuckDBEngine``'s results.

    Parameters
    ----------
    fields
        The result schema (``SchemaField``: ``name``, ``field_type``, ``mode``).
    rows
        One tuple of values per row, in schema order.

    Returns
    -------
    pandas.DataFrame
        INT64 as ``Int64``, FLOAT64 / NUMERIC as ``float64``, BOOL as ``boolean``,
        TIMESTAMP as ``datetime64[us, UTC]``, DATETIME and DATE as ``datetime64[us]``,
        STRING as strings; REPEATED, RECORD and other types stay Python objects (lists,
        dicts...).
    """
    values = [list(row) for row in rows]
    series: dict[int, pd.Series] = {}
    for index, field in enumerate(fields):
        cells = [row[index] for row in values]
        series[index] = _typed(str(field.field_type or "").upper(), str(field.mode or ""), cells)
    frame = pd.DataFrame(series, index=pd.RangeIndex(len(values)))
    frame.columns = pd.Index([str(field.name) for field in fields])
    return frame


def _typed(kind: str, mode: str, cells: list[Any]) -> pd.Series:
    if mode.upper() == "REPEATED" or kind in ("RECORD", "STRUCT"):
        return pd.Series(cells, dtype="object")
    if kind in _INTEGERS:
        return pd.Series(cells, dtype="Int64")
    if kind in _FLOATS:
        return pd.Series([float("nan") if c is None else float(c) for c in cells], dtype="float64")
    if kind in _BOOLEANS:
        return pd.Series(cells, dtype="boolean")
    if kind == "TIMESTAMP":
        stamps = pd.to_datetime(pd.Series(cells, dtype="object"), utc=True)
        return stamps.astype("datetime64[us, UTC]")
    if kind in ("DATETIME", "DATE"):
        return pd.to_datetime(pd.Series(cells, dtype="object")).astype("datetime64[us]")
    if kind == "STRING":
        return pd.Series(cells, dtype="str")
    return pd.Series(cells, dtype="object")


def _job_labels(label: str) -> dict[str, str]:
    """Job labels that find the report's queries in INFORMATION_SCHEMA.JOBS."""
    value = _LABEL_VALUE.sub("-", label.lower()).strip("-")[:63]
    return {"spotadvisor": "report", "query": value} if value else {"spotadvisor": "report"}


def _first_line(text: str) -> str:
    from spotadvisor.collect.run import scrub

    lines = str(text).strip().splitlines()
    return scrub(lines[0] if lines else "")


def _google_error(exc: Exception, label: str) -> DataError | None:
    """A DataError for a Google client error (None for anything else)."""
    import concurrent.futures

    import requests
    from google.api_core import exceptions as api
    from google.auth import exceptions as auth

    where = f"the BigQuery query '{label}'"
    if isinstance(exc, auth.DefaultCredentialsError):
        return DataError(f"{where} cannot run: no Google credentials were found", fix=ADC_FIX)
    if isinstance(exc, auth.RefreshError):
        return DataError(f"{where} cannot run: the Google credentials were refused", fix=ADC_FIX)
    if isinstance(exc, api.GoogleAPICallError):
        reasons = {str(e.get("reason", "")) for e in exc.errors or [] if isinstance(e, dict)}
        detail = _first_line(exc.message or str(exc))
        if "bytesBilledLimitExceeded" in reasons or "bytes billed" in detail:
            fix = "raise the maximum bytes billed, or report a shorter period"
        elif isinstance(exc, api.Forbidden | api.Unauthorized):
            fix = (
                "the credentials need roles/bigquery.jobUser on the project and "
                "roles/bigquery.dataViewer on the billing export dataset"
            )
        elif isinstance(exc, api.NotFound):
            fix = "check the billing export table name, its project and the location"
        elif isinstance(exc, api.TooManyRequests | api.ServiceUnavailable):
            fix = "BigQuery is busy: wait a minute and run the report again"
        else:
            fix = "check the SQL and the billing export table name"
        return DataError(f"{where} failed ({detail})", fix=fix)
    if isinstance(exc, api.RetryError | concurrent.futures.TimeoutError):
        return DataError(
            f"{where} did not finish in time ({_first_line(str(exc)) or 'timeout'})",
            fix="raise the query timeout or report a shorter period",
        )
    if isinstance(exc, requests.exceptions.RequestException | auth.TransportError):
        return DataError(
            f"{where} cannot reach BigQuery ({_first_line(type(exc).__name__)})",
            fix="check the network connection and the endpoint",
        )
    if isinstance(exc, OSError) and "project" in str(exc).lower():
        return DataError(
            f"{where} cannot run: no Google Cloud project was given or found",
            fix="give the project that runs the queries, or set GOOGLE_CLOUD_PROJECT",
        )
    return None
