"""The embedded snapshot: canonical tables shipped inside the package, with provenance.

The snapshot is built by ``data/build_snapshot.py`` from the public samples, through the
same importers users run, and written as one Parquet file per table plus
``provenance.json``. In a wheel it sits at ``spotadvisor/_snapshot``; in a source
checkout it is read from ``data/snapshot`` directly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from spotadvisor.errors import DataError
from spotadvisor.schema import SCHEMA_VERSION, Table, validate

PROVENANCE_FILE = "provenance.json"


def snapshot_dir() -> Path:
    """Folder holding the embedded snapshot (installed package first, then source tree)."""
    installed = Path(str(resources.files("spotadvisor"))) / "_snapshot"
    if (installed / PROVENANCE_FILE).is_file():
        return installed
    return Path(__file__).resolve().parent.parent / "data" / "snapshot"


@dataclass(frozen=True)
class SnapshotInfo:
    """What the snapshot holds and where it came from.

    Attributes
    ----------
    built_at
        When the snapshot was built (UTC).
    schema_version
        Canonical schema version the tables follow.
    sources
        One entry per source file: name, upstream, licence, as_of and its basis, rows.
    """

    built_at: datetime
    schema_version: int
    sources: list[dict[str, Any]]


def snapshot_info(folder: Path | None = None) -> SnapshotInfo:
    """Read ``provenance.json`` of the snapshot.

    Raises
    ------
    DataError
        When the snapshot is missing or unreadable (a broken installation).
    """
    path = (folder or snapshot_dir()) / PROVENANCE_FILE
    try:
        doc = json.loads(path.read_text())
        return SnapshotInfo(
            built_at=datetime.fromisoformat(doc["built_at"]),
            schema_version=int(doc["schema_version"]),
            sources=list(doc["sources"]),
        )
    except (OSError, ValueError, KeyError) as exc:
        raise DataError(
            f"the embedded snapshot is missing or damaged ({exc})",
            file=str(path),
            fix="reinstall spotadvisor, or import data with 'spotadvisor data import'",
        ) from None


def read_snapshot_table(table: Table, folder: Path | None = None) -> pd.DataFrame:
    """Rows of ``table`` in the snapshot, validated; empty when the snapshot lacks it."""
    folder = folder or snapshot_dir()
    path = folder / f"{table.name}.parquet"
    if not path.is_file():
        return validate(pd.DataFrame(columns=table.column_names), table, origin=str(path))
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        # a snapshot built before a column was added lacks it: validate fills it in
        described = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
        stored = {str(row[0]) for row in described}
        cols = ", ".join(c for c in table.column_names if c in stored)
        frame = con.execute(f"SELECT {cols} FROM read_parquet(?)", [str(path)]).df()
    finally:
        con.close()
    return validate(frame, table, origin=str(path))


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` to ``path`` as Parquet (zstd), times as UTC timestamps."""
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.register("rows_to_write", frame)
        con.execute("COPY rows_to_write TO ? (FORMAT parquet, COMPRESSION zstd)", [str(path)])
    finally:
        con.close()


def write_snapshot(
    folder: Path, frames: dict[Table, pd.DataFrame], provenance: dict[str, Any]
) -> None:
    """Write tables as Parquet (sorted by key, so rebuilds compare equal) and the provenance."""
    folder.mkdir(parents=True, exist_ok=True)
    for table, frame in frames.items():
        rows = validate(frame, table, origin=f"snapshot {table.name}")
        rows = rows.sort_values(list(table.key), na_position="first").reset_index(drop=True)
        write_parquet(rows, folder / f"{table.name}.parquet")
    doc = {"schema_version": SCHEMA_VERSION, **provenance}
    (folder / PROVENANCE_FILE).write_text(json.dumps(doc, indent=2, default=str) + "\n")
