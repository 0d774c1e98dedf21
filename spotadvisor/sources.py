"""Which data a read command uses: the store, and the embedded snapshot for what it lacks.

For tables with cloud, region and instance-type columns, each (cloud, region, instance
type) comes from the store when the store has rows for it, else from the snapshot: after
``collect aws --regions us-east-1`` the offers of us-east-1 are fresh while every other
region and cloud still comes from the snapshot, and the provenance says which is which.
Offers the store never priced in a market also keep the snapshot's rows, so a
collection that came back without a price cannot hide one the snapshot knows.

Every result that leaves spotadvisor says where its data came from and how old it is;
``TableData.provenance`` is that record. A store that exists but cannot be read is an
error (exit 3), never a reason to fall back to the snapshot.
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
        run to run on the same data. ``age_days`` is None (unknown), never negative, for a
        source dated later than ``now`` (a store written before imports clamped such
        dates); ``future_notes`` says which.
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
                    age = (now - as_of).total_seconds() / 86400
                    entry["age_days"] = round(age, 1) if age >= 0 else None
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
        ages = [(now - ts.to_pydatetime()).days for ts in newest if ts.to_pydatetime() <= now]
        dates = ", ".join(f"{cloud} {ts:%Y-%m-%d}" for cloud, ts in newest.items())
        if not ages:
            span = "age unknown: dated later than now"
        elif min(ages) == max(ages):
            span = f"{min(ages)} days old"
        else:
            span = f"{min(ages)}-{max(ages)} days old"
        if ages and len(ages) < len(newest):
            span += "; some dated later than now, age unknown"
        note = f"{self.table.name}: {where}, data as of {dates} ({span})"
        if self.origin != "store":
            note += "; collect fresh data with 'spotadvisor collect' or 'spotadvisor data import'"
        return note

    def future_notes(self, now: datetime | None = None) -> list[str]:
        """One line per source whose newest as_of is later than ``now``.

        Imports never store such a date (they use the time of import, with a note); a
        store written by an older spotadvisor may hold one. Its age is unknown, and
        ``gate --max-data-age`` refuses a plan that relies on it.
        """
        now = now or datetime.now(UTC)
        if self.frame.empty:
            return []
        newest = self.frame.groupby("source", sort=True)["as_of"].max()
        return [
            f"{self.table.name}: {source} is dated {ts:%Y-%m-%d %H:%M} UTC, later than now, "
            "so its age is unknown; import it again (pass --as-of to say when it was true)"
            for source, ts in newest.items()
            if ts.to_pydatetime() > now
        ]


def load_table(store: Store, table: Table) -> TableData:
    """Rows of ``table``: the store's, plus the snapshot's for what the store lacks.

    The snapshot's rows of a (cloud, region, instance type) are used when the store has
    none for it; for offers, also the rows of a pool (zone and type) the store has never
    priced in a market (a collection that came back without a price does not hide a
    known one: ``catalog.latest_offers`` carries the price forward and flags it).

    Only a store that does not exist yet, or holds no rows of ``table``, leaves it all to
    the snapshot: a store that exists but cannot be read (damaged, truncated, written by
    a newer spotadvisor) raises ``StoreUnreadableError`` (exit 3), never a silent
    fallback to the snapshot.
    """
    frame = store.read(table)
    folder = snapshot_dir()
    if frame.empty:
        snapshot = read_snapshot_table(table, folder)
        return TableData(table, snapshot, "snapshot", str(folder), frozenset(snapshot["source"]))
    scope: list[str] = [c for c in ("cloud", "region", "instance_type") if c in table.column_names]
    if "cloud" not in scope:  # billing: the store's own lines only
        return TableData(table, frame, "store", str(store.path))
    snapshot = read_snapshot_table(table, folder)
    have = set(frame[scope].itertuples(index=False, name=None))
    wanted = [key not in have for key in snapshot[scope].itertuples(index=False, name=None)]
    if table.name == "offers":  # pools the store has but never priced: carry a price
        pools = _unpriced_pools(frame)
        wanted = [w or key in pools for w, key in zip(wanted, _pool_keys(snapshot), strict=True)]
    missing = snapshot[wanted]
    if missing.empty:
        return TableData(table, frame, "store", str(store.path))
    merged = pd.concat([frame, missing], ignore_index=True)
    return TableData(
        table, merged, "store+snapshot", f"{store.path} + {folder}", frozenset(missing["source"])
    )


def _pool_keys(offers: pd.DataFrame) -> list[tuple[str, ...]]:
    pools = offers[["cloud", "region", "zone", "zone_id", "instance_type"]]
    return list(pools.astype("string").fillna("").itertuples(index=False, name=None))


def _unpriced_pools(offers: pd.DataFrame) -> set[tuple[str, ...]]:
    """Pools whose stored offers lack an on-demand or a spot price in every row."""
    keys = pd.Series(_pool_keys(offers), index=offers.index)
    od = offers["price_on_demand_usd_per_hour"].notna().groupby(keys).any()
    spot = offers["price_spot_usd_per_hour"].notna().groupby(keys).any()
    return set(od.index[~(od & spot).to_numpy()])
