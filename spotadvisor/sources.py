"""Which data a read command uses: the store, and the embedded snapshot for what it lacks.

For tables with cloud and region columns, each (cloud, region) comes from the store when
the store has rows for it, else from the snapshot: after ``collect aws --regions
us-east-1`` the offers of us-east-1 are fresh while every other region and cloud still
comes from the snapshot, and the provenance says which is which.

Every result that leaves spotadvisor says where its data came from and how old it is;
``TableData.provenance`` is that record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, Literal

import pandas as pd

from spotadvisor.schema import Table
from spotadvisor.seeds import frame_digest
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
        ``store``, ``snapshot``, or ``store+snapshot`` when some clouds come from each.
    location
        The store file or the snapshot folder.
    snapshot_sources
        Sources whose rows came from the embedded snapshot.
    """

    table: Table
    frame: pd.DataFrame
    origin: Literal["store", "snapshot", "store+snapshot"]
    location: str
    snapshot_sources: frozenset[str] = frozenset()

    def origin_of(self, source: str) -> str:
        """``embedded snapshot`` or ``store`` for one source of the table."""
        return "embedded snapshot" if source in self.snapshot_sources else "store"

    @cached_property
    def digest(self) -> str:
        """``sha256:<hex>`` of the rows as loaded (store and snapshot merged), in order."""
        return frame_digest(self.frame)

    def provenance(self, now: datetime | None = None, *, ages: bool = True) -> dict[str, Any]:
        """Origin, and rows / newest as_of / age [days] per source, for JSON outputs.

        ``ages=False`` leaves out ``age_days`` (it moves with the clock) and gives the
        table's ``digest`` instead: the record of an output that must not change from
        run to run on the same data.
        """
        now = now or datetime.now(UTC)
        sources = []
        if not self.frame.empty:
            grouped = self.frame.groupby("source", sort=True)["as_of"].agg(["size", "max"])
            for source, row in grouped.iterrows():  # each source's rows share one origin
                as_of = row["max"].to_pydatetime()
                entry: dict[str, Any] = {
                    "source": str(source),
                    "origin": "snapshot" if source in self.snapshot_sources else "store",
                    "rows": int(row["size"]),
                    "as_of": as_of.isoformat(),
                }
                if ages:
                    entry["age_days"] = round((now - as_of).total_seconds() / 86400, 1)
                sources.append(entry)
        out: dict[str, Any] = {
            "table": self.table.name,
            "origin": self.origin,
            "location": self.location,
        }
        if not ages:
            out["rows"] = len(self.frame)
            out["digest"] = self.digest
        out["sources"] = sources
        return out

    def age_note(self, now: datetime | None = None) -> str:
        """One line for stderr: where the table came from and how old it is, per cloud."""
        now = now or datetime.now(UTC)
        where = {
            "snapshot": "embedded snapshot",
            "store": f"store {self.location}",
            "store+snapshot": f"store {self.location} and the embedded snapshot",
        }[self.origin]
        if self.frame.empty:
            return f"{self.table.name}: no rows in the {where}"
        by = "cloud" if "cloud" in self.frame.columns else "provider"  # billing says provider
        newest = self.frame.groupby(by)["as_of"].max().sort_index()
        ages = [(now - ts.to_pydatetime()).days for ts in newest]
        dates = ", ".join(f"{cloud} {ts:%Y-%m-%d}" for cloud, ts in newest.items())
        span = f"{min(ages)}" if min(ages) == max(ages) else f"{min(ages)}-{max(ages)}"
        note = f"{self.table.name}: {where}, data as of {dates} ({span} days old)"
        if self.origin != "store":
            note += "; collect fresh data with 'spotadvisor collect' or 'spotadvisor data import'"
        return note


def load_table(store: Store, table: Table) -> TableData:
    """Rows of ``table``: the store's, plus the snapshot's for (cloud, region)s the store lacks."""
    frame = store.read(table)
    folder = snapshot_dir()
    if frame.empty:
        snapshot = read_snapshot_table(table, folder)
        return TableData(table, snapshot, "snapshot", str(folder), frozenset(snapshot["source"]))
    scope = [c for c in ("cloud", "region") if c in table.column_names]
    if not scope:
        return TableData(table, frame, "store", str(store.path))
    snapshot = read_snapshot_table(table, folder)
    have = set(frame[scope].itertuples(index=False, name=None))
    missing = snapshot[
        [key not in have for key in snapshot[scope].itertuples(index=False, name=None)]
    ]
    if missing.empty:
        return TableData(table, frame, "store", str(store.path))
    merged = pd.concat([frame, missing], ignore_index=True)
    return TableData(
        table, merged, "store+snapshot", f"{store.path} + {folder}", frozenset(missing["source"])
    )
