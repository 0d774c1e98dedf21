"""Which data a read command uses: the store, or the embedded snapshot when the store has none.

Every result that leaves spotadvisor says where its data came from and how old it is;
``TableData.provenance`` is that record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import pandas as pd

from spotadvisor.schema import Table
from spotadvisor.snapshot import read_snapshot_table, snapshot_dir
from spotadvisor.store import Store


@dataclass(frozen=True)
class TableData:
    """Rows of one canonical table and where they came from.

    Attributes
    ----------
    table
        The canonical table.
    frame
        Its rows (validated).
    origin
        ``store`` or ``snapshot``.
    location
        The store file or the snapshot folder.
    """

    table: Table
    frame: pd.DataFrame
    origin: Literal["store", "snapshot"]
    location: str

    def provenance(self, now: datetime | None = None) -> dict[str, Any]:
        """Origin, and rows / newest as_of / age [days] per source, for JSON outputs."""
        now = now or datetime.now(UTC)
        sources = []
        if not self.frame.empty:
            grouped = self.frame.groupby("source", sort=True)["as_of"].agg(["size", "max"])
            for source, row in grouped.iterrows():
                as_of = row["max"].to_pydatetime()
                sources.append(
                    {
                        "source": str(source),
                        "rows": int(row["size"]),
                        "as_of": as_of.isoformat(),
                        "age_days": round((now - as_of).total_seconds() / 86400, 1),
                    }
                )
        return {
            "table": self.table.name,
            "origin": self.origin,
            "location": self.location,
            "sources": sources,
        }

    def age_note(self, now: datetime | None = None) -> str:
        """One line for stderr: where the table came from and how old it is, per cloud."""
        now = now or datetime.now(UTC)
        where = "embedded snapshot" if self.origin == "snapshot" else f"store {self.location}"
        if self.frame.empty:
            return f"{self.table.name}: no rows in the {where}"
        newest = self.frame.groupby("cloud")["as_of"].max().sort_index()
        ages = [(now - ts.to_pydatetime()).days for ts in newest]
        dates = ", ".join(f"{cloud} {ts:%Y-%m-%d}" for cloud, ts in newest.items())
        span = f"{min(ages)}" if min(ages) == max(ages) else f"{min(ages)}-{max(ages)}"
        note = f"{self.table.name}: {where}, data as of {dates} ({span} days old)"
        if self.origin == "snapshot":
            note += "; import or collect fresh data with 'spotadvisor data import'"
        return note


def load_table(store: Store, table: Table) -> TableData:
    """Rows of ``table`` from the store, or from the embedded snapshot when the store has none."""
    frame = store.read(table)
    if not frame.empty:
        return TableData(table, frame, "store", str(store.path))
    folder = snapshot_dir()
    return TableData(table, read_snapshot_table(table, folder), "snapshot", str(folder))
