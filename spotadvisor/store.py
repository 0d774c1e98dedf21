"""The local store: one DuckDB file holding the canonical tables and their provenance.

Writes are all-or-nothing: every batch of one import or collection goes into a single
transaction, so a crash, a kill or a bad batch leaves what was stored before intact.
Upserts are keyed on each table's natural key, so running the same import twice adds
nothing. DuckDB lets one process open a file for writing; a second one gets a clear
``StoreBusyError`` after a short wait instead of a corrupt file.

Every connection, for reading or writing, first checks the file: a store that is
truncated, damaged, not a DuckDB file, or written by a newer spotadvisor raises
``StoreUnreadableError`` (exit code 3), so no read command falls back to the embedded
snapshot in silence. A ``--db`` path that cannot hold a store (a folder, a device, a
folder that cannot be created or written) is a ``UsageError`` (exit code 2). Ctrl-C
while DuckDB runs a query surfaces as ``KeyboardInterrupt``, like anywhere else.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd
import platformdirs

from spotadvisor.errors import DataError, StoreBusyError, StoreUnreadableError, UsageError
from spotadvisor.importers.base import ImportBatch
from spotadvisor.schema import SCHEMA_VERSION, SQL_TYPES, TABLES, Table, empty_frame, validate

DB_ENV = "SPOTADVISOR_DB"
DEFAULT_LOCK_TIMEOUT_S = 10.0


def default_store_path() -> Path:
    """Where the store lives when neither ``--db`` nor ``SPOTADVISOR_DB`` says otherwise."""
    return platformdirs.user_data_path("spotadvisor") / "spotadvisor.duckdb"


def resolve_store_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The store path: ``explicit`` (``--db``), else ``$SPOTADVISOR_DB``, else the default."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get(DB_ENV)
    return Path(env).expanduser() if env else default_store_path()


@dataclass(frozen=True)
class UpsertResult:
    """What one batch did to the store.

    Attributes
    ----------
    table, source, origin
        Which table, under which provenance, from which file(s).
    rows
        Rows in the batch.
    inserted
        Rows whose key was new.
    updated
        Rows that replaced a stored row with different values.
    unchanged
        Rows identical to what was stored (a re-run adds nothing).
    """

    table: str
    source: str
    origin: str
    rows: int
    inserted: int
    updated: int
    unchanged: int


_LOCK_PID = re.compile(r"\(PID (\d+)\)")
_LOCK_CONFLICT = re.compile(r"could not set lock|conflicting lock", re.IGNORECASE)
_DB_FIX = "choose a --db (or SPOTADVISOR_DB) path in a folder you can write"
_DAMAGED_FIX = (
    "move the file aside (keep it for a look) and import or collect the data again into a "
    "new store, or point --db (or SPOTADVISOR_DB) at another store"
)


class Store:
    """A spotadvisor store at ``path``.

    Parameters
    ----------
    path
        The DuckDB file. It is created on the first write, never on a read.
    lock_timeout_s
        How long to wait for another process to release the file [s].
    """

    def __init__(self, path: Path, *, lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S) -> None:
        self.path = path
        self.lock_timeout_s = lock_timeout_s

    def exists(self) -> bool:
        """True when the store file exists.

        Raises
        ------
        UsageError
            When the path exists but is not a regular file (a folder, a device, a FIFO).
        """
        try:
            mode = self.path.stat().st_mode
        except FileNotFoundError:
            return False
        except OSError as exc:  # e.g. a parent that is a file, or a folder one cannot enter
            if isinstance(exc, NotADirectoryError):
                return False
            raise UsageError(
                f"cannot reach the store: {exc.strerror}", file=str(self.path), fix=_DB_FIX
            ) from None
        if not stat.S_ISREG(mode):
            raise UsageError(
                "the store path is not a regular file", file=str(self.path), fix=_DB_FIX
            )
        return True

    # -- writing ---------------------------------------------------------------------

    def write(
        self,
        batches: Sequence[ImportBatch],
        *,
        on_batch: Callable[[UpsertResult], None] | None = None,
    ) -> list[UpsertResult]:
        """Upsert every batch in one transaction; on any error nothing is written.

        Parameters
        ----------
        batches
            Parsed rows; each is validated again against its table before writing.
        on_batch
            Called after each batch is staged (for progress display).
        """
        frames = [validate(b.frame, b.table, origin=b.origin) for b in batches]
        for batch, frame in zip(batches, frames, strict=True):
            if set(frame["source"]) - {batch.source}:
                raise ValueError(
                    f"rows of {batch.origin} carry a source other than {batch.source!r}"
                )
        self._prepare_for_writing()
        results: list[UpsertResult] = []
        with self._connect(read_only=False) as con:
            _ensure_schema(con, self.path)
            con.execute("BEGIN TRANSACTION")
            try:
                for batch, frame in zip(batches, frames, strict=True):
                    result = _upsert(con, batch, frame)
                    _log_ingest(con, batch, result)
                    results.append(result)
                    if on_batch is not None:
                        on_batch(result)
                con.execute("COMMIT")
            except BaseException:
                # never let a failed rollback hide why the write stopped; DuckDB drops an
                # uncommitted transaction when the connection closes anyway
                with contextlib.suppress(duckdb.Error, RuntimeError):
                    con.execute("ROLLBACK")
                raise
        return results

    # -- reading ---------------------------------------------------------------------

    def read(self, table: Table) -> pd.DataFrame:
        """All rows of ``table``; an empty frame when the store or table does not exist."""
        if not self.exists():
            return empty_frame(table)
        with self._connect(read_only=True) as con:
            if not _has_table(con, table.name):
                return empty_frame(table)
            stored = _columns(con, table.name)  # a store written before a column was added
            cols = ", ".join(c for c in table.column_names if c in stored)
            frame = con.execute(f"SELECT {cols} FROM {table.name}").df()
        return validate(frame, table, origin=str(self.path))

    def status(self) -> pd.DataFrame:
        """Rows, as_of range and last ingest time per table and source.

        Columns: ``table``, ``source``, ``rows``, ``as_of_min``, ``as_of_max``,
        ``ingested_at`` (all times UTC).
        """
        columns = ["table", "source", "rows", "as_of_min", "as_of_max", "ingested_at"]
        if not self.exists():
            return pd.DataFrame(columns=columns)
        with self._connect(read_only=True) as con:
            parts = [
                f"SELECT '{name}' AS table, source, count(*) AS rows, min(as_of) AS as_of_min, "
                f"max(as_of) AS as_of_max FROM {name} GROUP BY source"
                for name in TABLES
                if _has_table(con, name)
            ]
            if not parts:
                return pd.DataFrame(columns=columns)
            frame = con.execute(
                f"SELECT s.*, l.ingested_at FROM ({' UNION ALL '.join(parts)}) s "
                "LEFT JOIN (SELECT table_name, source, max(ingested_at) AS ingested_at "
                "FROM ingest_log GROUP BY ALL) l ON l.table_name = s.table AND l.source = s.source "
                "ORDER BY s.table, s.as_of_max DESC, s.source"
            ).df()
        return frame[columns]

    def log_collection(self, entries: Sequence[dict[str, object]]) -> None:
        """Record how each task of a collection went (source, region, times, rows, error).

        Keys: ``collection_id``, ``cloud``, ``source``, ``region``, ``started_at``,
        ``finished_at``, ``rows``, ``error``.
        """
        if not entries:
            return
        self._prepare_for_writing()
        columns = [
            "collection_id",
            "cloud",
            "source",
            "region",
            "started_at",
            "finished_at",
            "rows",
            "error",
        ]
        with self._connect(read_only=False) as con:
            _ensure_schema(con, self.path)
            con.executemany(
                "INSERT INTO collection_log VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [[entry.get(c) for c in columns] for entry in entries],
            )

    def collections(self) -> pd.DataFrame:
        """Every collection task ever run, newest first."""
        if not self.exists():
            return pd.DataFrame()
        with self._connect(read_only=True) as con:
            if not _has_table(con, "collection_log"):
                return pd.DataFrame()
            return con.execute("SELECT * FROM collection_log ORDER BY started_at DESC").df()

    def ingest_log(self) -> pd.DataFrame:
        """Every batch ever written, oldest first."""
        if not self.exists():
            return pd.DataFrame()
        with self._connect(read_only=True) as con:
            if not _has_table(con, "ingest_log"):
                return pd.DataFrame()
            return con.execute("SELECT * FROM ingest_log ORDER BY ingested_at").df()

    # -- connections -----------------------------------------------------------------

    def _prepare_for_writing(self) -> None:
        """Create the store's folder; refuse a path no store can be written to (exit 2)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            why = "a file is in the way" if isinstance(exc, FileExistsError) else exc.strerror
            raise UsageError(
                f"cannot create the store's folder {self.path.parent}: {why}",
                file=str(self.path),
                fix=_DB_FIX,
            ) from None
        if self.exists():
            if not os.access(self.path, os.R_OK | os.W_OK):
                raise UsageError(
                    "the store cannot be written (permission denied)",
                    file=str(self.path),
                    fix="make the file writable, or " + _DB_FIX,
                )
        elif not os.access(self.path.parent, os.W_OK | os.X_OK):
            raise UsageError(
                f"cannot create the store: the folder {self.path.parent} is not writable",
                file=str(self.path),
                fix=_DB_FIX,
            )

    @contextmanager
    def _connect(self, *, read_only: bool) -> Iterator[duckdb.DuckDBPyConnection]:
        """An open, checked connection; DuckDB errors become spotadvisor errors."""
        con = self._open(read_only=read_only)
        try:
            with _translated_errors(self.path, read_only=read_only):
                con.execute("SET TimeZone = 'UTC'")
                _check_file(con, self.path)
                yield con
                con.close()  # closing a writer checkpoints: its errors are the store's too
        finally:
            with contextlib.suppress(duckdb.Error, RuntimeError):
                con.close()

    def _open(self, *, read_only: bool) -> duckdb.DuckDBPyConnection:
        existed = self.exists()
        deadline = time.monotonic() + self.lock_timeout_s
        pause = 0.05
        while True:
            try:
                return duckdb.connect(str(self.path), read_only=read_only)
            except duckdb.Error as exc:
                if _interrupted(exc):
                    raise KeyboardInterrupt from None
                text = str(exc)
                if not _LOCK_CONFLICT.search(text):
                    if not existed and not read_only:  # DuckDB could not create the file
                        raise UsageError(
                            f"cannot create the store: {_first_line(exc)}",
                            file=str(self.path),
                            fix=_DB_FIX,
                        ) from None
                    raise StoreUnreadableError(
                        f"cannot open the store: {_first_line(exc)}",
                        file=str(self.path),
                        fix=_DAMAGED_FIX,
                    ) from None
                if time.monotonic() >= deadline:
                    pid = _LOCK_PID.search(text)
                    holder = f" (process {pid.group(1)})" if pid else ""
                    raise StoreBusyError(
                        f"the store is in use by another spotadvisor process{holder}",
                        file=str(self.path),
                        fix="wait for it to finish and run again, or use --db for another store",
                    ) from None
                time.sleep(pause)
                pause = min(pause * 2, 0.5)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _interrupted(exc: BaseException) -> bool:
    """True for DuckDB's answer to Ctrl-C (it turns the KeyboardInterrupt into its own error)."""
    if isinstance(exc, duckdb.InterruptException):
        return True
    return isinstance(exc, RuntimeError) and str(exc).strip().lower() == "query interrupted"


# DuckDB errors that say the file (or the disk under it) is at fault, not the SQL
_FILE_ERRORS = (
    duckdb.IOException,
    duckdb.SerializationException,
    duckdb.InternalException,
    duckdb.FatalException,
)


@contextmanager
def _translated_errors(path: Path, *, read_only: bool) -> Iterator[None]:
    """Ctrl-C inside a query -> KeyboardInterrupt; a file DuckDB cannot read -> exit 3.

    While reading, every DuckDB error means the store cannot be read. While writing,
    only errors about the file (I/O, a damaged block) do; others are bugs and stay as
    they are.
    """
    try:
        yield
    except duckdb.Error as exc:
        if _interrupted(exc):
            raise KeyboardInterrupt from None
        damaged = "corrupt" in str(exc).lower() or type(exc) is duckdb.Error
        if read_only or damaged:
            raise StoreUnreadableError(
                f"cannot read the store: {_first_line(exc)}", file=str(path), fix=_DAMAGED_FIX
            ) from None
        if isinstance(exc, _FILE_ERRORS):
            raise StoreUnreadableError(
                f"cannot write the store: {_first_line(exc)}",
                file=str(path),
                fix="check the disk has room and the file is writable, then run again "
                "(a failed write keeps what the store held before)",
            ) from None
        raise
    except RuntimeError as exc:
        if _interrupted(exc):
            raise KeyboardInterrupt from None
        raise


def _check_file(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Refuse a truncated file or one written by a newer spotadvisor, before any query.

    DuckDB reads blocks lazily, so a file cut short opens fine and fails (or reads
    nothing) only when a query reaches the missing part. Every block in use lies inside
    the file, so the file holds at least ``used_blocks`` of them (trailing free blocks
    may be cut off by DuckDB itself, so ``total_blocks`` is no bound). A cut this misses
    still fails, as exit 3, on the first query that reaches it.
    """
    row = con.execute(
        "SELECT block_size, used_blocks FROM pragma_database_size() "
        "WHERE database_name = current_database()"
    ).fetchone()
    if row is not None and row[0] is not None and row[1] is not None:
        needed = int(row[0]) * int(row[1])
        size = path.stat().st_size
        if size < needed:
            raise StoreUnreadableError(
                f"the store is truncated: the file has {size:,} bytes, the blocks it "
                f"uses need at least {needed:,}",
                file=str(path),
                fix=_DAMAGED_FIX,
            )
    if not _has_table(con, "meta"):
        return  # a new file, or one no spotadvisor wrote to yet
    found = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if found is None:
        return
    try:
        version = int(str(found[0]))
    except ValueError:
        raise StoreUnreadableError(
            f"the store's schema version {found[0]!r} is not a number",
            file=str(path),
            fix=_DAMAGED_FIX,
        ) from None
    if version > SCHEMA_VERSION:
        raise StoreUnreadableError(
            f"the store has schema version {version}; this spotadvisor reads up to "
            f"{SCHEMA_VERSION}",
            file=str(path),
            fix="upgrade spotadvisor, or use --db for another store",
        )


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    found = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
    ).fetchone()
    return bool(found and found[0])


def _columns(con: duckdb.DuckDBPyConnection, name: str) -> set[str]:
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [name]
    ).fetchall()
    return {str(r[0]) for r in rows}


def _ensure_schema(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    con.execute("CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if row is None:  # (a newer version was refused by _check_file when connecting)
        con.execute(
            "INSERT INTO meta VALUES ('schema_version', ?), ('created_at', ?)",
            [str(SCHEMA_VERSION), datetime.now(UTC).isoformat()],
        )
    for table in TABLES.values():
        cols = ", ".join(f"{c.name} {SQL_TYPES[c.dtype]}" for c in table.columns)
        con.execute(f"CREATE TABLE IF NOT EXISTS {table.name} ({cols})")
        _add_missing_columns(con, table, path)
    con.execute(
        "CREATE TABLE IF NOT EXISTS collection_log (collection_id VARCHAR, cloud VARCHAR, "
        "source VARCHAR, region VARCHAR, started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ, "
        "rows BIGINT, error VARCHAR)"
    )
    con.execute(
        "CREATE TABLE IF NOT EXISTS ingest_log (ingested_at TIMESTAMPTZ, table_name VARCHAR, "
        "source VARCHAR, origin VARCHAR, rows BIGINT, inserted BIGINT, updated BIGINT, "
        "unchanged BIGINT, notes VARCHAR)"
    )


def _add_missing_columns(con: duckdb.DuckDBPyConnection, table: Table, path: Path) -> None:
    """Add the columns a table created by an older spotadvisor lacks (an additive migration).

    New columns are nullable and start empty, so no stored row changes; they go to the
    end of the table, and every read and write names its columns.
    """
    stored = _columns(con, table.name)
    for column in table.columns:
        if column.name in stored:
            continue
        if column.required:
            raise DataError(
                f"the store's {table.name} table lacks the required column {column.name}",
                file=str(path),
                fix="use --db for a new store and import or collect the data again",
            )
        con.execute(f"ALTER TABLE {table.name} ADD COLUMN {column.name} {SQL_TYPES[column.dtype]}")


def _upsert(
    con: duckdb.DuckDBPyConnection, batch: ImportBatch, frame: pd.DataFrame
) -> UpsertResult:
    """Replace rows whose natural key matches, insert the rest; count what changed.

    Keys may hold NULLs (a regional offer has no zone), so matching uses
    ``IS NOT DISTINCT FROM`` rather than a primary-key constraint.
    """
    table = batch.table
    cols = ", ".join(table.column_names)
    con.register("incoming", frame)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE staged AS SELECT {cols} FROM incoming")
    finally:
        con.unregister("incoming")
    match = " AND ".join(f"t.{k} IS NOT DISTINCT FROM s.{k}" for k in table.key)
    matched = _count(con, f"SELECT count(*) FROM staged s SEMI JOIN {table.name} t ON {match}")
    unchanged = _count(
        con,
        f"SELECT count(*) FROM (SELECT {cols} FROM staged INTERSECT SELECT {cols} FROM {table.name})",
    )
    con.execute(f"DELETE FROM {table.name} t USING staged s WHERE {match}")
    con.execute(f"INSERT INTO {table.name} ({cols}) SELECT {cols} FROM staged")
    con.execute("DROP TABLE staged")
    rows = len(frame)
    return UpsertResult(
        table=table.name,
        source=batch.source,
        origin=batch.origin,
        rows=rows,
        inserted=rows - matched,
        updated=matched - unchanged,
        unchanged=unchanged,
    )


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    return int(row[0]) if row else 0


def _log_ingest(con: duckdb.DuckDBPyConnection, batch: ImportBatch, result: UpsertResult) -> None:
    con.execute(
        "INSERT INTO ingest_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            datetime.now(UTC),
            result.table,
            result.source,
            result.origin,
            result.rows,
            result.inserted,
            result.updated,
            result.unchanged,
            "\n".join(batch.notes),
        ],
    )
