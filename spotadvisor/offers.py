"""``spotadvisor offers``: find GPU offers in the store (or the embedded snapshot)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import pandas as pd

from spotadvisor.catalog import OfferFilter, SortKey, filter_offers, offers_view, sort_offers
from spotadvisor.schema import INTERRUPTION_HISTORY, OFFERS, SCHEMA_VERSION
from spotadvisor.sources import TableData, load_table
from spotadvisor.store import Store


@dataclass(frozen=True)
class OffersResult:
    """Offers that matched a query.

    Attributes
    ----------
    offers
        The matching rows of the offers view, sorted, cut to ``limit``.
    matched
        How many rows matched before the limit.
    query
        The query as given (echoed in JSON output).
    data
        Where the offers and bands came from.
    generated_at
        When the result was made (UTC).
    """

    offers: pd.DataFrame
    matched: int
    query: dict[str, Any]
    data: tuple[TableData, ...]
    generated_at: datetime


def find_offers(
    store: Store,
    spec: OfferFilter,
    *,
    sort: SortKey = "gpu-price",
    order: Literal["asc", "desc"] | None = None,
    limit: int | None = None,
) -> OffersResult:
    """Offers matching ``spec``, sorted, at most ``limit`` of them (None or 0: all)."""
    offers = load_table(store, OFFERS)
    bands = load_table(store, INTERRUPTION_HISTORY)
    view = offers_view(offers.frame, bands.frame)
    matched = sort_offers(filter_offers(view, spec), sort, order)
    shown = matched.head(limit) if limit else matched
    query = {
        **{k: (list(v) if isinstance(v, tuple | list) else v) for k, v in asdict(spec).items()},
        "sort": sort,
        "order": order,
        "limit": limit,
    }
    return OffersResult(shown, len(matched), query, (offers, bands), datetime.now(UTC))


__all__ = ["SCHEMA_VERSION", "OffersResult", "find_offers"]
