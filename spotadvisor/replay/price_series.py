"""Spot price series of a pool over a backtest window: which zone's, and whether it covers.

Each spot pool takes one zone's price series: its own zone's, or for a pool without a
zone (or an AWS pool whose zone ID the history cannot name, see :func:`candidates`) the
series with the most records among those that cover the window. A series covers the
window when it has a price at or before the start and is known up to the end: spot
prices change only on a record, so a series holds its last price until the history's
``as_of`` (when it was fetched), and nothing is known after that.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from spotadvisor.errors import DataError
from spotadvisor.regions import is_aws_zone_id

# spot prices of the Linux product only: the others carry a licence on top
LINUX = ("Linux/UNIX", "Linux/UNIX (Amazon VPC)")


@dataclass(frozen=True)
class Series:
    """One zone's price records, sorted by time, and how far they are known to hold."""

    label: str
    times: npt.NDArray[np.datetime64]
    prices: npt.NDArray[np.float64]
    known_until: pd.Timestamp

    @property
    def first(self) -> pd.Timestamp:
        return pd.Timestamp(self.times[0], tz="UTC")

    def covers(self, start: pd.Timestamp, end: pd.Timestamp) -> bool:
        return self.first <= start and self.known_until >= end


def series_of(rows: pd.DataFrame, label: str) -> Series:
    """``rows`` (one zone) as a series, known until its last record or its ``as_of``.

    Spot prices only change on a record, so a series fetched (or exported) at ``as_of``
    holds its last price until then; without ``as_of`` only until its last record.
    """
    rows = rows.sort_values("timestamp")
    stamps = rows["timestamp"].dt.tz_convert("UTC")
    known = stamps.max()
    if "as_of" in rows.columns:
        as_of = pd.to_datetime(rows["as_of"], utc=True).max()
        known = max(known, as_of) if pd.notna(as_of) else known
    return Series(
        label=label,
        times=stamps.dt.tz_localize(None).to_numpy("datetime64[s]"),
        prices=rows["price_usd_per_hour"].to_numpy(dtype=float),
        known_until=pd.Timestamp(known),
    )


def split_by_zone(rows: pd.DataFrame) -> list[Series]:
    """One series per zone (its name, else its ID), most records first."""
    key = rows["zone"].fillna(rows["zone_id"]).fillna("(region)")
    order = key.value_counts().index
    return [series_of(rows[key == label], str(label)) for label in order]


def _at(moment: pd.Timestamp) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def _as_option(moment: pd.Timestamp) -> str:
    """A --from/--to value at or before ``moment`` (whole minutes)."""
    moment = moment.floor("min")
    return f"{moment:%Y-%m-%d}" if moment == moment.floor("D") else f"{moment:%Y-%m-%dT%H:%M}"


@dataclass(frozen=True)
class Candidates:
    """Where a pool's prices may come from, in order of preference."""

    where: str  # the pool's zone, else its region
    tiers: list[tuple[list[Series], str | None]]
    missing: str | None = None  # why the pool's own zone has no series, if it has none


def candidates(
    history: pd.DataFrame, name: str, cloud: str, region: str, zone: str | None, instance: str
) -> Candidates:
    """The series a pool may take its prices from (module doc, docs/replay.md).

    A pool with a zone takes that zone's series (by name or ID). An AWS pool names its
    zone by ID, and a history that names zones only by name (``us-east-1a``) cannot be
    matched to it: AWS maps names to IDs differently in every account. Then the pool
    falls back to the region's zone-name series, as a pool without a zone does.
    """
    rows = history[
        (history["cloud"] == cloud)
        & (history["region"] == region)
        & (history["instance_type"] == instance)
        & (history["product"].isin(LINUX) | (history["cloud"] != "aws"))
    ]
    if rows.empty:
        raise DataError(
            f"the spot price history has no {instance} prices in {cloud} {region} (pool {name})",
            fix="collect them ('spotadvisor collect aws') or import a price history "
            "('spotadvisor data import FILE'); 'spotadvisor data status' lists what is stored",
        )
    if not zone:
        return Candidates(region, [(split_by_zone(rows), None)])
    own = rows[rows["zone"].eq(zone).fillna(False) | rows["zone_id"].eq(zone).fillna(False)]
    tiers: list[tuple[list[Series], str | None]] = []
    if not own.empty:
        tiers.append(([series_of(own, zone)], None))
    named = rows[rows["zone_id"].isna() & rows["zone"].notna()]
    if cloud == "aws" and is_aws_zone_id(zone) and not named.empty:
        names = ", ".join(sorted(named["zone"].unique()))
        tiers.append(
            (
                split_by_zone(named),
                f"pool {name}: the spot price history names the {region} zones of "
                f"{instance} only by name ({names}), which AWS maps to zone IDs differently "
                f"in every account, so none of them can be matched to {zone}"
                + ("" if own.empty else ", whose own series does not cover the window")
                + "; using the region's series with the most records ({series}), as for a "
                "pool without a zone",
            )
        )
    missing = None
    if own.empty:
        zones = sorted(rows["zone_id"].fillna(rows["zone"]).dropna().unique())
        missing = (
            f"the spot price history has no {instance} series for zone {zone} (pool {name}); "
            f"it has {', '.join(zones) or 'only region-wide prices'}"
        )
    return Candidates(zone, tiers, missing)


def choose(
    found: Candidates, name: str, instance: str, start: pd.Timestamp, end: pd.Timestamp
) -> tuple[Series, str | None]:
    """The series that covers [start, end], with the note on how it was chosen.

    Raises
    ------
    DataError
        When no series has a price at or before ``start`` or none is known to ``end``:
        the message names the pool, where its history ends and the window that works.
    """
    for series, note in found.tiers:
        for one in series:  # most records first
            if one.covers(start, end):
                return one, note
    considered = [one for series, _ in found.tiers for one in series]
    fallback = {id(one) for series, note in found.tiers if note for one in series}
    if not considered:
        assert found.missing is not None
        raise DataError(
            found.missing,
            fix="backtest a zone the history has, drop zone: from the pool to use the "
            "region's series, or collect or import that zone's history",
        )
    started = [one for one in considered if one.first <= start]
    if not started:
        first = min(one.first for one in considered)
        raise DataError(
            f"no spot price for {instance} in {found.where} at or before {_at(start)} "
            f"(pool {name}): the history starts at {_at(first)}",
            field="--from",
            fix=f"start the window at or after {_as_option(first.ceil('min'))}, or collect "
            "or import older history ('spotadvisor data status' lists what is stored)",
        )
    best = max(started, key=lambda one: one.known_until)
    known = best.known_until
    covered = (known - start).total_seconds() / 3600
    total = (end - start).total_seconds() / 3600
    used = (
        f"{best.label} (the region's zone-name series, for {found.where})"
        if id(best) in fallback
        else best.label
    )
    if covered >= 1:
        raise DataError(
            f"the spot price history of {instance} in {used} ends at {_at(known)}, "
            f"{covered:,.0f} h into the {total:,.0f} h window (pool {name}); prices after "
            "it are unknown",
            field="--to",
            fix=f"end the window by then (--to {_as_option(known)}), or collect or import "
            "newer history",
        )
    raise DataError(
        f"the spot price history of {instance} in {used} ends at {_at(known)}, before "
        f"the window starts (pool {name}); prices after it are unknown",
        field="--to",
        fix=f"choose a window between {_as_option(best.first.ceil('min'))} and "
        f"{_as_option(known)} ('spotadvisor data status' lists the history), or collect "
        "or import newer history",
    )
