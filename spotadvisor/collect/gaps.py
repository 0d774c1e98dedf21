"""Prices a collection could not find that earlier data has: kept, and said so.

A catalog page that lacks a SKU, a region a price list skipped, a conflict between two
SKUs: the collection then writes an offer without a price. ``catalog.latest_offers``
keeps showing the earlier price (flagged ``<market>_price_carried(...)``); the functions
here say which offers that happened to, for the collection report and ``data status``.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping

import pandas as pd

from spotadvisor.catalog import POOL, PRICE_COLUMNS

EXAMPLES = 5  # offers named per line; the rest are counted


def _label(row: Mapping[Hashable, object]) -> str:
    where = row["zone"] if isinstance(row["zone"], str) and row["zone"] else row["region"]
    return f"{row['cloud']} {where} {row['instance_type']}"


def _known(value: object) -> bool:
    """A price is there: not None, NA or NaN."""
    return not (value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)))


def _keys(frame: pd.DataFrame) -> pd.Series:
    return frame[POOL].astype("string").fillna("").agg("|".join, axis=1)


def price_gaps(collected: pd.DataFrame, known: pd.DataFrame) -> list[str]:
    """One line per market: offers this collection left unpriced that ``known`` prices.

    Parameters
    ----------
    collected
        Offers the collection is about to write.
    known
        What read commands showed before it (``latest_offers`` of the store and
        snapshot rows).

    Returns
    -------
    list of str
        E.g. ``no spot price collected for 2 offer(s) that earlier data prices; the
        earlier price is kept and flagged spot_price_carried: gcp us-central1-a
        a2-highgpu-1g (gcp-skypilot-catalog as of 2025-06-01), ...``.
    """
    if collected.empty or known.empty:
        return []
    earlier: dict[str, dict[Hashable, object]] = {}
    for key, row in zip(_keys(known), known.to_dict("records"), strict=True):
        earlier.setdefault(key, row)
    lines = []
    for column, market in PRICE_COLUMNS.items():
        found = []
        for key, row in zip(_keys(collected), collected.to_dict("records"), strict=True):
            before = earlier.get(key)
            if not _known(row[column]) and before is not None and _known(before[column]):
                found.append(
                    f"{_label(row)} ({before['source']} as of "
                    f"{pd.Timestamp(str(before['as_of'])):%Y-%m-%d})"
                )
        if found:
            shown = ", ".join(found[:EXAMPLES])
            more = f" and {len(found) - EXAMPLES} more" if len(found) > EXAMPLES else ""
            lines.append(
                f"no {market.replace('_', '-')} price collected for {len(found)} offer(s) that "
                f"earlier data prices; the earlier price is kept and flagged "
                f"{market}_price_carried: {shown}{more}"
            )
    return lines


def carried_prices(view: pd.DataFrame) -> list[str]:
    """One line per market: offers whose newest row had no price, shown with an earlier one."""
    if view.empty or "quality_flags" not in view.columns:
        return []
    flags = view["quality_flags"].fillna("").astype(str)
    lines = []
    for market in PRICE_COLUMNS.values():
        carried = view.loc[flags.str.contains(f"{market}_price_carried(", regex=False)]
        if carried.empty:
            continue
        names = [_label(row) for row in carried.head(EXAMPLES).to_dict("records")]
        more = f" and {len(carried) - EXAMPLES} more" if len(carried) > EXAMPLES else ""
        lines.append(
            f"{len(carried)} offer(s) show an earlier {market.replace('_', '-')} price: the "
            f"latest data for them had none ({', '.join(names)}{more})"
        )
    return lines
