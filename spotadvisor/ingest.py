"""``data import`` and ``data status``: put public files into the store, and say what it holds."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from spotadvisor.errors import UsageError, did_you_mean
from spotadvisor.importers.base import FileFormat
from spotadvisor.importers.billing import azure_views as azure
from spotadvisor.importers.billing.azure import Metric
from spotadvisor.importers.registry import parse_files
from spotadvisor.schema import BILLING, TABLES
from spotadvisor.snapshot import snapshot_info
from spotadvisor.sources import TableData, load_table
from spotadvisor.store import Store, UpsertResult


@dataclass(frozen=True)
class ImportReport:
    """What an import did.

    Attributes
    ----------
    results
        One entry per batch written (empty for a dry run).
    parsed
        (table, source, origin, rows) per batch parsed.
    notes
        Importers' remarks: rows skipped or flagged, how as_of was chosen.
    dry_run
        True when nothing was written.
    """

    results: tuple[UpsertResult, ...]
    parsed: tuple[tuple[str, str, str, int], ...]
    notes: tuple[str, ...]
    dry_run: bool


def import_files(
    store: Store,
    paths: Sequence[Path],
    *,
    format_name: str | None = None,
    as_of: datetime | None = None,
    source: str | None = None,
    dry_run: bool = False,
    on_file: Callable[[Path, FileFormat], None] | None = None,
) -> ImportReport:
    """Parse every file, then write all of them in one transaction (or none on error).

    Azure actual- and amortised-cost exports are two views of the same usage: one view is
    kept per subscription and month (``importers.billing.azure_views.one_view``), so an actual
    export covered by an amortised one of the same import is skipped with a note, and a
    file overlapping stored rows of the other view is refused before anything is written.
    """
    batches = parse_files(
        paths, format_name=format_name, as_of=as_of, source=source, on_file=on_file
    )
    stored = _stored_views(store) if any(azure.view_of(b.notes) for b in batches) else []
    skipped = azure.one_view(batches, stored)
    kept = [b for b, skip in zip(batches, skipped, strict=True) if skip is None]
    parsed = tuple((b.table.name, b.source, b.origin, len(b.frame)) for b in kept)
    notes = tuple(
        n
        for b, skip in zip(batches, skipped, strict=True)
        for n in (b.notes if skip is None else (*b.notes, skip))
    )
    results = () if dry_run else tuple(store.write(kept))
    return ImportReport(results, parsed, notes, dry_run)


def _stored_views(store: Store) -> list[azure.ViewCover]:
    """The subscription-months each stored Azure cost-details source holds, and its view
    (the metric note its batches left in the ingest log)."""
    if not store.exists():
        return []
    log = store.ingest_log()
    if log.empty:
        return []
    views: dict[str, set[Metric]] = {}
    for table, source, notes in zip(log["table_name"], log["source"], log["notes"], strict=True):
        view = azure.view_of([notes]) if table == BILLING.name and isinstance(notes, str) else None
        if view is not None:
            views.setdefault(str(source), set()).add(view)
    if not views:
        return []
    rows = store.read(BILLING)
    rows = rows[rows["source"].isin(list(views))]
    return [
        azure.ViewCover(str(source), view, azure.covered_months(group))
        for source, group in rows.groupby("source", sort=True)
        for view in sorted(views[str(source)])
    ]


@dataclass(frozen=True)
class StatusResult:
    """What the store holds, per table, and what read commands will use.

    Attributes
    ----------
    store_path
        The store file.
    store_exists
        False before the first import.
    tables
        Per table: where read commands get it from, and its sources.
    ingested_at
        Last write per (table, source) in the store.
    snapshot
        The embedded snapshot's provenance file, as a dict.
    generated_at
        When the status was taken (UTC).
    collections
        The latest collection task per (cloud, source, region): times, rows, error.
    carried_prices
        One line per market about offers whose newest row has no price and that show
        an earlier one instead (``collect.gaps.carried_prices``).
    """

    store_path: str
    store_exists: bool
    tables: tuple[TableData, ...]
    ingested_at: dict[tuple[str, str], datetime]
    snapshot: dict[str, Any]
    generated_at: datetime
    collections: tuple[dict[str, Any], ...] = ()
    carried_prices: tuple[str, ...] = ()


def data_status(store: Store) -> StatusResult:
    """Rows, sources, as_of and age of every table that read commands would use."""
    tables = tuple(load_table(store, table) for table in TABLES.values())
    status = store.status()
    ingested = {
        (str(r["table"]), str(r["source"])): r["ingested_at"].to_pydatetime()
        for _, r in status.iterrows()
        if r["ingested_at"] is not None and str(r["ingested_at"]) != "NaT"
    }
    info = snapshot_info()
    snapshot = {
        "built_at": info.built_at.isoformat(),
        "schema_version": info.schema_version,
        "sources": info.sources,
    }
    log = store.collections()
    latest: tuple[dict[str, Any], ...] = ()
    if not log.empty:
        newest = log.sort_values("started_at", ascending=False).drop_duplicates(
            ["cloud", "source", "region"]
        )
        latest = tuple(
            {str(k): _plain(v) for k, v in row.items()} for row in newest.to_dict("records")
        )
    from spotadvisor.catalog import latest_offers
    from spotadvisor.collect.gaps import carried_prices

    offers = next(t for t in tables if t.table.name == "offers")
    carried = tuple(carried_prices(latest_offers(offers.frame)))
    return StatusResult(
        str(store.path),
        store.exists(),
        tables,
        ingested,
        snapshot,
        datetime.now(UTC),
        latest,
        carried,
    )


def export_table(store: Store, name: str) -> TableData:
    """Rows of the table called ``name``, from the store or else the embedded snapshot.

    Raises
    ------
    UsageError
        When ``name`` is not a table (with "did you mean").
    """
    if name not in TABLES:
        raise UsageError(
            f"unknown table {name!r}",
            field="TABLE",
            fix=did_you_mean(name, TABLES) or f"use one of {', '.join(TABLES)}",
        )
    return load_table(store, TABLES[name])


def _plain(value: Any) -> Any:
    """A JSON-safe value: None for missing, ISO text for times, Python scalars."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp | datetime):
        return value.isoformat()
    return value.item() if hasattr(value, "item") else value
