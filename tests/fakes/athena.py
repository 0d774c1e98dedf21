"""A local Amazon Athena fake: the JSON 1.1 API over an in-memory DuckDB.

``FakeAthena`` is a ``tests.fakes.base.FakeServer`` (HTTP on 127.0.0.1, port chosen by the
OS). A boto3 ``athena`` client made with ``endpoint_url=fake.url`` talks to it as to AWS
(``POST /``, ``X-Amz-Target: AmazonAthena.<Operation>``, ``application/x-amz-json-1.1``):

``StartQueryExecution``
    Checks the output location (``s3://...``, required) and the workgroup (``primary``
    and those given to the constructor), honours ``ClientRequestToken`` (a retried start
    returns the same id), then RUNS the query at once: the Trino SQL is transpiled with
    sqlglot (``read="trino", write="duckdb"``; the ``awsdatacatalog`` catalog is dropped
    from table names) and executed on ``fake.duckdb`` with the DuckDB schema named
    like ``QueryExecutionContext.Database`` first on the search path. A SQL error (from
    sqlglot or DuckDB) makes the query FAILED with that error as ``StateChangeReason``.
``GetQueryExecution``
    ``QUEUED`` on the first call and ``RUNNING`` after it, for ``running_polls`` calls
    (default 0; None: until stopped), then the final state. ``Statistics`` carry
    ``DataScannedInBytes``: a deterministic estimate, for every table the query names,
    rows x columns x 8 bytes (so it grows with the tables, not with the result).
``GetQueryResults``
    Pages of at most ``MaxResults`` rows (1..1000, default 1000) linked by an opaque
    ``NextToken``; the first row of the first page is the header row (column names), as
    Athena writes it, and counts towards ``MaxResults``. Values are text as Athena
    renders them (``2025-06-01 00:00:00.000``, ``true``, ``1.0E-5``, ``{k=v}``,
    ``[1, 2]``), NULL is a ``Datum`` without ``VarCharValue``, and ``ColumnInfo`` uses
    Athena's type names (``bigint``, ``double``, ``decimal`` with precision and scale,
    ``varchar``, ``timestamp``, ``map``...). Asked before the query succeeded it answers
    ``InvalidRequestException`` as Athena does.
``StopQueryExecution``
    A query not yet finished becomes CANCELLED.

Tables: ``load_table(name, frame, database="default")`` creates DuckDB table
``database.name`` from a DataFrame; anything else can be prepared on ``fake.duckdb``.
``requests`` logs ``LoggedRequest(operation, body)`` for every request; ``queries`` lists
the ``QueryString`` of every StartQueryExecution, exactly as received.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import traceback
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from tests.fakes.base import FakeServer, Reply

JSON_CONTENT_TYPE = "application/x-amz-json-1.1"
TARGET_PREFIX = "AmazonAthena."
DEFAULT_DATABASE = "default"
MAX_RESULTS = 1000
BYTES_PER_VALUE = 8  # the scanned-bytes estimate: every value of a named table, 8 bytes

# DuckDB type id -> Athena (Trino) type name
ATHENA_TYPES = {
    "bigint": "bigint",
    "hugeint": "bigint",  # DuckDB's SUM(BIGINT); Trino's is bigint
    "ubigint": "bigint",
    "uinteger": "bigint",
    "integer": "integer",
    "usmallint": "integer",
    "smallint": "smallint",
    "utinyint": "smallint",
    "tinyint": "tinyint",
    "double": "double",
    "float": "real",
    "decimal": "decimal",
    "boolean": "boolean",
    "varchar": "varchar",
    "date": "date",
    "timestamp": "timestamp",
    "timestamp_ms": "timestamp",
    "timestamp_s": "timestamp",
    "timestamp_ns": "timestamp",
    "timestamp with time zone": "timestamp with time zone",
    "list": "array",
    "map": "map",
    "struct": "row",
    "blob": "varbinary",
    "time": "time",
    "interval": "interval day to second",
    "uuid": "uuid",
}
PRECISION = {"bigint": 19, "integer": 10, "smallint": 5, "tinyint": 3, "double": 17, "real": 7}


class LoggedRequest(NamedTuple):
    """One request the fake received."""

    operation: str  # StartQueryExecution, GetQueryExecution...
    body: dict[str, Any]


@dataclass
class _Execution:
    """One query, with its outcome computed when it was started."""

    query_id: str
    query: str
    database: str | None
    workgroup: str
    output_location: str
    submitted: float
    polls_left: int | None  # GetQueryExecution answers still RUNNING; None: until stopped
    state: str = "SUCCEEDED"  # the final state, reported once polls_left is used up
    reason: str | None = None
    columns: list[dict[str, Any]] = field(default_factory=list)
    rows: list[list[dict[str, str]]] = field(default_factory=list)
    scanned: int = 0
    completed: float | None = None
    polls: int = 0


class _AthenaError(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind, self.message = kind, message


class FakeAthena(FakeServer[LoggedRequest]):
    """A local HTTP server answering Athena query calls from a DuckDB database.

    Parameters
    ----------
    workgroups
        Workgroups that exist besides ``primary``.

    Use as a context manager, or ``start()`` / ``stop()`` (which also closes the DuckDB
    database); ``url`` is the endpoint.
    """

    methods = frozenset({"POST"})

    def __init__(self, *, workgroups: tuple[str, ...] = ()) -> None:
        import duckdb

        super().__init__()
        self.duckdb = duckdb.connect()
        self.duckdb.execute("SET TimeZone = 'UTC'")
        self.workgroups = frozenset({"primary", *workgroups})
        self.running_polls: int | None = 0
        self._executions: dict[str, _Execution] = {}
        self._tokens: dict[str, str] = {}
        self._db_lock = threading.Lock()

    def _stopped(self) -> None:
        self.duckdb.close()

    # -- set-up and inspection

    def load_table(self, name: str, frame: Any, *, database: str = DEFAULT_DATABASE) -> None:
        """Create (or replace) table ``database.name`` holding a pandas DataFrame."""
        with self._db_lock:
            self.duckdb.execute(f"CREATE SCHEMA IF NOT EXISTS {_quote(database)}")
            self.duckdb.register("_fake_athena_frame", frame)
            try:
                self.duckdb.execute(
                    f"CREATE OR REPLACE TABLE {_quote(database)}.{_quote(name)} AS "
                    "SELECT * FROM _fake_athena_frame"
                )
            finally:
                self.duckdb.unregister("_fake_athena_frame")

    @property
    def queries(self) -> list[str]:
        """The ``QueryString`` of every StartQueryExecution, as received."""
        with self._lock:
            return [
                str(r.body.get("QueryString"))
                for r in self.requests
                if r.operation == "StartQueryExecution"
            ]

    def state(self, query_id: str) -> str:
        """The state a query is in now (without counting as a poll)."""
        with self._lock:
            execution = self._executions[query_id]
            return self._state(execution)

    # -- request handling (called from handler threads)

    def _respond(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Reply:
        status, answer = self._handle(headers.get("X-Amz-Target", ""), body)
        reply_headers = (
            ("Content-Type", JSON_CONTENT_TYPE),
            ("x-amzn-RequestId", str(uuid.uuid4())),
        )
        return Reply(status, json.dumps(answer).encode(), reply_headers)

    def _handle(self, target: str, body: bytes) -> tuple[int, dict[str, Any]]:
        operation = target.removeprefix(TARGET_PREFIX) if target.startswith(TARGET_PREFIX) else ""
        try:
            payload = json.loads(body or b"{}")
            if not isinstance(payload, dict):
                raise ValueError("not an object")
        except ValueError:
            return 400, {"__type": "SerializationException", "Message": "body is not JSON"}
        self._record(LoggedRequest(operation or target, payload))
        handlers = {
            "StartQueryExecution": self._start_query,
            "GetQueryExecution": self._get_execution,
            "GetQueryResults": self._get_results,
            "StopQueryExecution": self._stop_query,
        }
        handler = handlers.get(operation)
        if handler is None:
            return 400, {
                "__type": "UnknownOperationException",
                "Message": f"the fake does not serve {target or 'this request'}",
            }
        try:
            return 200, handler(payload)
        except _AthenaError as err:
            return 400, {"__type": err.kind, "Message": err.message}
        except Exception as exc:  # a bug of the fake: answer 500 as AWS does
            traceback.print_exc()
            return 500, {"__type": "InternalServerException", "Message": repr(exc)}

    def _start_query(self, body: dict[str, Any]) -> dict[str, Any]:
        query = body.get("QueryString")
        if not isinstance(query, str) or not query.strip():
            raise _AthenaError("InvalidRequestException", "QueryString is required")
        workgroup = str(body.get("WorkGroup") or "primary")
        if workgroup not in self.workgroups:
            raise _AthenaError("InvalidRequestException", f"WorkGroup {workgroup} is not found.")
        output = str((body.get("ResultConfiguration") or {}).get("OutputLocation") or "")
        if not output:
            raise _AthenaError(
                "InvalidRequestException",
                "No output location provided. An output location is required either through "
                "the Workgroup result configuration setting or as an API input.",
            )
        if not output.startswith("s3://"):
            raise _AthenaError("InvalidRequestException", "outputLocation is not a valid S3 path.")
        token = body.get("ClientRequestToken")
        with self._lock:
            if token and token in self._tokens:
                return {"QueryExecutionId": self._tokens[token]}
        database = (body.get("QueryExecutionContext") or {}).get("Database")
        execution = _Execution(
            query_id=str(uuid.uuid4()),
            query=query,
            database=database,
            workgroup=workgroup,
            output_location=output,
            submitted=time.time(),
            polls_left=self.running_polls,
        )
        self._execute(execution)
        with self._lock:
            self._executions[execution.query_id] = execution
            if token:
                self._tokens[token] = execution.query_id
        return {"QueryExecutionId": execution.query_id}

    def _execute(self, execution: _Execution) -> None:
        """Run the query now; its outcome is revealed once the polls are used up."""
        import duckdb
        import sqlglot
        from sqlglot import exp

        try:
            statements = [s for s in sqlglot.parse(execution.query, read="trino") if s]
            if len(statements) != 1:
                raise ValueError("Only one sql statement is allowed.")
            tree = statements[0]
        except (sqlglot.errors.ParseError, ValueError) as exc:
            execution.state = "FAILED"
            execution.reason = f"SYNTAX_ERROR: {str(exc).splitlines()[0]}"
            return
        tables: set[tuple[str | None, str]] = set()
        for table in tree.find_all(exp.Table):
            # Athena's own catalog; DuckDB knows only schema.table
            if table.catalog.lower() == "awsdatacatalog":
                table.set("catalog", None)
            if table.name:
                tables.add((table.db or None, table.name))
        sql = tree.sql(dialect="duckdb")
        with self._db_lock:
            cursor = self.duckdb.cursor()
            try:
                cursor.execute("SET TimeZone = 'UTC'")
                listed = cursor.execute("SELECT schema_name FROM duckdb_schemas()").fetchall()
                if execution.database and execution.database in {r[0] for r in listed}:
                    # unqualified table names resolve in the context database, as in Athena
                    path = _quote(execution.database).replace("'", "''")
                    cursor.execute(f"SET search_path = '{path}'")
                relation = cursor.sql(sql)
                if relation is None:  # DDL and other statements without rows
                    names, types, raw = [], [], []
                else:
                    names, types = relation.columns, relation.types
                    raw = relation.fetchall()
                execution.scanned = self._scanned(cursor, tables, execution.database)
            except duckdb.Error as exc:
                execution.state = "FAILED"
                execution.reason = str(exc).splitlines()[0]
                return
            finally:
                cursor.close()
        execution.columns = [_column_info(n, t) for n, t in zip(names, types, strict=True)]
        header = [{"VarCharValue": str(n)} for n in names]
        execution.rows = [header] + [[_datum(v) for v in row] for row in raw]

    @staticmethod
    def _scanned(cursor: Any, tables: set[tuple[str | None, str]], database: str | None) -> int:
        total = 0
        for schema, name in sorted(tables, key=str):
            found = cursor.execute(
                "SELECT schema_name, table_name, column_count FROM duckdb_tables() "
                "WHERE schema_name = ? AND table_name = ?",
                [schema or database or "main", name],
            ).fetchone()
            if found is None:
                continue  # a CTE or subquery name
            rows = cursor.execute(
                f"SELECT count(*) FROM {_quote(found[0])}.{_quote(found[1])}"
            ).fetchone()
            total += int(rows[0]) * int(found[2]) * BYTES_PER_VALUE
        return total

    def _execution(self, body: dict[str, Any]) -> _Execution:
        query_id = str(body.get("QueryExecutionId") or "")
        execution = self._executions.get(query_id)
        if execution is None:
            raise _AthenaError(
                "InvalidRequestException", f"QueryExecution {query_id} was not found"
            )
        return execution

    def _state(self, execution: _Execution) -> str:
        if execution.state == "CANCELLED":
            return "CANCELLED"
        if execution.polls_left is None or execution.polls_left > 0:
            return "QUEUED" if execution.polls == 0 else "RUNNING"
        return execution.state

    def _get_execution(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            execution = self._execution(body)
            state = self._state(execution)
            execution.polls += 1
            if execution.polls_left is not None and execution.polls_left > 0:
                execution.polls_left -= 1
            if state in ("SUCCEEDED", "FAILED", "CANCELLED") and execution.completed is None:
                execution.completed = time.time()
        status: dict[str, Any] = {"State": state, "SubmissionDateTime": execution.submitted}
        if execution.completed is not None:
            status["CompletionDateTime"] = execution.completed
        if state == "FAILED":
            status["StateChangeReason"] = execution.reason
            status["AthenaError"] = {
                "ErrorCategory": 2,  # USER
                "ErrorType": 1100,
                "Retryable": False,
                "ErrorMessage": execution.reason,
            }
        elif state == "CANCELLED":
            status["StateChangeReason"] = execution.reason or "Query cancelled by user"
        elapsed = int(((execution.completed or time.time()) - execution.submitted) * 1000)
        context: dict[str, Any] = {"Catalog": "awsdatacatalog"}
        if execution.database:
            context["Database"] = execution.database
        return {
            "QueryExecution": {
                "QueryExecutionId": execution.query_id,
                "Query": execution.query,
                "StatementType": "DML",
                "ResultConfiguration": {
                    "OutputLocation": f"{execution.output_location.rstrip('/')}/"
                    f"{execution.query_id}.csv"
                },
                "QueryExecutionContext": context,
                "Status": status,
                "Statistics": {
                    "EngineExecutionTimeInMillis": elapsed,
                    "DataScannedInBytes": execution.scanned if state == "SUCCEEDED" else 0,
                    "TotalExecutionTimeInMillis": elapsed,
                    "QueryQueueTimeInMillis": 0,
                },
                "WorkGroup": execution.workgroup,
                "EngineVersion": {
                    "SelectedEngineVersion": "AUTO",
                    "EffectiveEngineVersion": "Athena engine version 3",
                },
            }
        }

    def _get_results(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            execution = self._execution(body)
            state = self._state(execution)
        if state in ("QUEUED", "RUNNING"):
            raise _AthenaError(
                "InvalidRequestException", f"Query has not yet finished. Current state: {state}"
            )
        if state != "SUCCEEDED":
            raise _AthenaError(
                "InvalidRequestException",
                f"Query did not finish successfully. Final query state: {state}",
            )
        size = body.get("MaxResults", MAX_RESULTS)
        if not isinstance(size, int) or not 1 <= size <= MAX_RESULTS:
            raise _AthenaError(
                "InvalidRequestException",
                f"MaxResults must be between 1 and {MAX_RESULTS}, not {size!r}",
            )
        offset = _read_token(body.get("NextToken"), execution.query_id)
        chunk = execution.rows[offset : offset + size]
        answer: dict[str, Any] = {
            "UpdateCount": 0,
            "ResultSet": {
                "Rows": [{"Data": row} for row in chunk],
                "ResultSetMetadata": {"ColumnInfo": execution.columns},
            },
        }
        if offset + size < len(execution.rows):
            answer["NextToken"] = _make_token(offset + size, execution.query_id)
        return answer

    def _stop_query(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            execution = self._execution(body)
            if self._state(execution) in ("QUEUED", "RUNNING"):
                execution.state = "CANCELLED"
                execution.reason = "Query cancelled by user"
                execution.completed = time.time()
        return {}


# -- wire encoding ---------------------------------------------------------------------------


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _column_info(name: str, kind: Any) -> dict[str, Any]:
    """``ColumnInfo`` of a result column of DuckDB type ``kind``."""
    athena = ATHENA_TYPES.get(kind.id, "varchar")
    info: dict[str, Any] = {
        "CatalogName": "hive",
        "SchemaName": "",
        "TableName": "",
        "Name": name,
        "Label": name,
        "Type": athena,
        "Precision": PRECISION.get(athena, 2147483647 if athena == "varchar" else 0),
        "Scale": 0,
        "Nullable": "UNKNOWN",
        "CaseSensitive": athena == "varchar",
    }
    if athena == "decimal":
        params = dict(kind.children)
        info["Precision"], info["Scale"] = int(params["precision"]), int(params["scale"])
    elif athena == "timestamp":
        info["Precision"] = 3
    return info


def _datum(value: Any) -> dict[str, str]:
    """One value as Athena writes it; NULL is a Datum without VarCharValue."""
    return {} if value is None else {"VarCharValue": _text(value)}


def _text(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _java_double(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        zone = ""
        if value.tzinfo is not None:
            value, zone = value.astimezone(UTC).replace(tzinfo=None), " UTC"
        return f"{value:%Y-%m-%d %H:%M:%S}.{value.microsecond // 1000:03d}{zone}"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_text(k)}={_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_text(v) for v in value) + "]"
    return str(value)


def _java_double(value: float) -> str:
    """Java's ``Double.toString``, which Trino uses: ``3.5``, ``1.0E-5``, ``1.2345678E7``."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0 or 1e-3 <= abs(value) < 1e7:
        return repr(value)  # Python and Java agree in this range
    sign, digits, exponent = Decimal(repr(value)).as_tuple()
    shown = "".join(map(str, digits)).rstrip("0") or "0"
    power = len(digits) + int(exponent) - 1
    mantissa = shown[0] + "." + (shown[1:] or "0")
    return f"{'-' if sign else ''}{mantissa}E{power}"


def _make_token(offset: int, query_id: str) -> str:
    raw = json.dumps({"o": offset, "q": query_id}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _read_token(token: Any, query_id: str) -> int:
    """The row offset a NextToken stands for (0 without one)."""
    if not token:
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(str(token) + "=" * (-len(str(token)) % 4)))
        offset = int(data["o"])
        if data["q"] != query_id or offset <= 0:
            raise ValueError("token of another query")
    except (ValueError, KeyError, TypeError):
        raise _AthenaError("InvalidRequestException", "The NextToken is not valid.") from None
    return offset


__all__ = ["DEFAULT_DATABASE", "FakeAthena", "LoggedRequest"]
