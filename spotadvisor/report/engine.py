"""Where the report's SQL runs: the local store (DuckDB), Athena or BigQuery.

An engine takes one SQL statement in its own dialect and returns the result as a
DataFrame; it knows nothing about billing. ``QueryStats`` records what each query cost,
so the report can say how much data a remote engine scanned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pandas as pd

from spotadvisor.errors import DataError


@dataclass
class QueryStats:
    """What the queries of one report cost.

    Attributes
    ----------
    queries
        Statements run.
    bytes_scanned
        Bytes read by the engine [B] (Athena ``DataScannedInBytes``, BigQuery
        ``totalBytesProcessed``); 0 for DuckDB, which does not report it.
    seconds
        Wall time spent waiting for results [s].
    """

    queries: int = 0
    bytes_scanned: int = 0
    seconds: float = 0.0
    labels: list[str] = field(default_factory=list)


class QueryEngine(Protocol):
    """Runs SQL and returns rows.

    Attributes
    ----------
    name
        ``duckdb``, ``athena`` or ``bigquery``.
    dialect
        The sqlglot dialect of the SQL it accepts: ``duckdb``, ``trino`` or ``bigquery``.
    stats
        Accumulated cost of the queries run so far.
    """

    name: str
    dialect: str
    stats: QueryStats

    def run(self, sql: str, *, label: str) -> pd.DataFrame:
        """Run one statement; ``label`` names it in progress and errors."""
        ...

    def describe(self) -> str:
        """Where the data is, for the report's provenance (no credentials)."""
        ...


_NO_BILLING_FIX = (
    "import billing exports with 'spotadvisor data import FILE' (FOCUS, CUR, Azure cost "
    "details) or collect them with 'spotadvisor collect aws --billing'"
)


class DuckDBEngine:
    """Runs queries on the local store's DuckDB file, read-only.

    Parameters
    ----------
    path
        The store file.
    """

    name = "duckdb"
    dialect = "duckdb"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.stats = QueryStats()

    def run(self, sql: str, *, label: str) -> pd.DataFrame:
        """Run ``sql`` on the store and return its rows."""
        import time

        import duckdb

        if not self.path.exists():
            raise DataError(
                "the store holds no billing data yet",
                file=str(self.path),
                fix=_NO_BILLING_FIX,
            )
        started = time.perf_counter()
        try:
            with duckdb.connect(str(self.path), read_only=True) as con:
                # Days and weeks of the month are counted in UTC, as the bills are.
                con.execute("SET TimeZone = 'UTC'")
                frame: pd.DataFrame = con.sql(sql).df()
        except duckdb.IOException as exc:
            raise DataError(
                f"cannot read the store ({str(exc).splitlines()[0]})",
                file=str(self.path),
                fix="wait for the other spotadvisor process to finish, then retry",
            ) from exc
        self.stats.queries += 1
        self.stats.seconds += time.perf_counter() - started
        self.stats.labels.append(label)
        return frame

    def require_billing(self) -> None:
        """Raise DataError when the store has no billing lines at all.

        Said up front, it saves the user from a "no lines in <month>" that suggests
        picking another month when any month would be empty.
        """
        import duckdb

        try:
            count = self.run("SELECT count(*) AS n FROM billing", label="billing lines")
        except duckdb.CatalogException:
            count = None
        if count is None or int(count["n"].iloc[0]) == 0:
            raise DataError(
                "the store holds no billing data yet",
                file=str(self.path),
                fix=_NO_BILLING_FIX,
            )

    def describe(self) -> str:
        """The store path."""
        return f"local store {self.path}"
