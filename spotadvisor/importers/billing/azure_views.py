"""One view (actual or amortised cost) of Azure cost details per subscription and month.

The two exports are two views of the same usage, so the billing table must hold one view
per subscription and month or the report counts that usage twice. ``one_view`` (called by
``ingest.import_files`` before anything is written) keeps it so:

- within one import, an actual-cost file whose subscriptions and months an amortised
  file of the same import covers is skipped, with a note (the amortised view carries
  commitment usage, which the actual view cannot); an actual-cost file that only partly
  overlaps is refused;
- a file that overlaps, on any (subscription, month), rows the store holds in the other
  view is refused (``UsageError``, nothing written). Re-importing a file in its own view
  is an ordinary upsert.

The view of a stored source is the metric note of its batches in the store's ingest log
(``view_of``), which every Azure import and ``collect azure --billing`` has written since
the importer exists; sources are therefore unchanged (``azure-cost-details:<file name>``)
and row keys stay stable. A source whose log has no such note (FOCUS, CUR) has no view
and is never compared.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from spotadvisor.errors import UsageError
from spotadvisor.importers.base import ImportBatch
from spotadvisor.importers.billing.azure import METRIC_TEXT, Metric
from spotadvisor.schema import BILLING

_METRIC_NOTE = re.compile(r"^.+: (actual|amortised) cost \(")
_NOTE_METRIC: dict[str, Metric] = {"actual": "actualcost", "amortised": "amortizedcost"}


@dataclass(frozen=True)
class ViewCover:
    """The subscription-months a stored source holds in one view.

    Attributes
    ----------
    source
        The stored ``source``.
    view
        ``actualcost`` or ``amortizedcost``.
    months
        (subscription id in lower case, ``YYYY-MM``) pairs; a line without a subscription
        has ``""``.
    """

    source: str
    view: Metric
    months: frozenset[tuple[str, str]]


def view_of(notes: Iterable[str]) -> Metric | None:
    """The view an Azure cost-details batch was read as, from its metric note.

    ``notes`` are a batch's notes, or an ingest-log entry's notes (lines joined by new
    lines); None when there is no metric note (another format).
    """
    for text in notes:
        for line in text.splitlines():
            found = _METRIC_NOTE.match(line)
            if found:
                return _NOTE_METRIC[found.group(1)]
    return None


def covered_months(frame: pd.DataFrame) -> frozenset[tuple[str, str]]:
    """(subscription id in lower case, ``YYYY-MM``) of every Azure billing row of ``frame``."""
    azure = frame[frame["provider"].eq("azure").fillna(False).astype(bool)]
    subscriptions = azure["sub_account_id"].astype("string").str.lower().fillna("")
    months = azure["charge_period_start"].dt.strftime("%Y-%m")
    return frozenset(zip(subscriptions.tolist(), months.tolist(), strict=True))


def one_view(batches: Sequence[ImportBatch], stored: Sequence[ViewCover]) -> list[str | None]:
    """Keep one view (actual or amortised cost) per subscription and month.

    Parameters
    ----------
    batches
        One import's batches, of any format; only billing batches with a metric note
        (``view_of``) are looked at.
    stored
        What the store already holds, per source and view.

    Returns
    -------
    list
        Per batch, None to write it, or the note saying why it is skipped (an actual-cost
        file covered by an amortised file of the same import).

    Raises
    ------
    UsageError
        When an actual-cost file only partly overlaps an amortised file of the same
        import, or a file overlaps stored rows of the other view.
    """
    views = [view_of(b.notes) if b.table is BILLING else None for b in batches]
    months = [
        covered_months(b.frame) if v else frozenset() for b, v in zip(batches, views, strict=True)
    ]
    amortised = [
        (b, m) for b, v, m in zip(batches, views, months, strict=True) if v == "amortizedcost"
    ]
    skipped: list[str | None] = []
    for batch, view, covers in zip(batches, views, months, strict=True):
        overlaps = [(b, covers & m) for b, m in amortised if covers & m]
        if view != "actualcost" or not overlaps:
            skipped.append(None)
            continue
        names = ", ".join(Path(b.origin).name for b, _ in overlaps)
        shared = frozenset().union(*(m for _, m in overlaps))
        if shared != covers:
            raise UsageError(
                f"its actual cost overlaps the amortised export {names} in "
                f"{_months_text(shared)} but not in {_months_text(covers - shared)}; "
                "the report would count the overlap twice",
                file=batch.origin,
                field="SubscriptionId",
                fix="the report reads one view per subscription and month: import the "
                "exports of one view only, or export both views for the same "
                "subscriptions and months",
            )
        skipped.append(
            f"{Path(batch.origin).name}: skipped: the amortised export {names} covers its "
            "subscriptions and months; the report reads one view (to use the actual view, "
            "import this file alone into a new store)"
        )
    for batch, view, covers, skip in zip(batches, views, months, skipped, strict=True):
        if view is None or skip is not None:
            continue
        for other in stored:
            clash = covers & other.months
            if other.view == view or not clash:
                continue
            mine, theirs = METRIC_TEXT[view], METRIC_TEXT[other.view]
            raise UsageError(
                f"its {mine} overlaps the {theirs} the store holds from {other.source} in "
                f"{_months_text(clash)}; the report would count that usage twice",
                file=batch.origin,
                field="SubscriptionId",
                fix=f"the report reads one view per subscription and month: to keep the "
                f"stored {theirs}, leave this file out; to use the {mine}, import it into a "
                f"new store (--db NEW_STORE) without {other.source}",
            )
    return skipped


def _months_text(pairs: frozenset[tuple[str, str]]) -> str:
    """``3 subscription(s) of 2023-08, 2023-09``: subscriptions counted, months listed."""
    subscriptions = {s for s, _ in pairs}
    months = sorted({m for _, m in pairs})
    shown = ", ".join(months[:3]) + (f" and {len(months) - 3} more" if len(months) > 3 else "")
    return f"{len(subscriptions)} subscription(s) of {shown}"
