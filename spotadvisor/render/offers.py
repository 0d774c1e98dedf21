"""How an offers result looks in each format."""

from __future__ import annotations

from typing import Any

import pandas as pd

from spotadvisor import __version__
from spotadvisor.catalog import VIEW_EXTRA
from spotadvisor.gpus import gpu_label
from spotadvisor.offers import OffersResult
from spotadvisor.priors import is_prior
from spotadvisor.render.values import UNKNOWN, count, is_missing, money, percent, plain
from spotadvisor.schema import OFFERS, SCHEMA_VERSION

HEADERS = ["Cloud", "Region", "Zone", "Instance", "GPUs", "On-demand $/h", "Spot $/h"]
HEADERS += ["Spot $/GPU-h", "Savings", "Band", "Flags"]
RIGHT = [False] * 5 + [True] * 4 + [False] * 2
COLUMNS = [*OFFERS.column_names, *VIEW_EXTRA]


def offer_cells(row: pd.Series) -> list[str]:
    """Display cells of one offer, in ``HEADERS`` order."""
    zone = row["zone"] if not is_missing(row["zone"]) else row["zone_id"]
    gpus = (
        UNKNOWN
        if is_missing(row["gpu_model"])
        else f"{count(row['gpu_count'])}× {gpu_label(row['gpu_model'], row['gpu_memory_gb'])}"
    )
    band = UNKNOWN if is_missing(row["interruption_band"]) else str(row["interruption_band"])
    if not is_missing(row["interruption_band"]) and is_prior(row.get("interruption_band_source")):
        band += " (prior)"  # fitted from traces, not published by the cloud
    flags = "" if is_missing(row["quality_flags"]) else str(row["quality_flags"]).replace(";", " ")
    return [
        str(row["cloud"]),
        str(row["region"]),
        "regional" if is_missing(zone) else str(zone),
        str(row["instance_type"]),
        gpus,
        money(row["price_on_demand_usd_per_hour"]),
        money(row["price_spot_usd_per_hour"]),
        money(row["price_spot_usd_per_gpu_hour"]),
        percent(row["savings_pct"]),
        band,
        flags,
    ]


def offers_rows(result: OffersResult) -> list[list[str]]:
    """Display rows for the table and markdown formats."""
    return [offer_cells(row) for _, row in result.offers.iterrows()]


def offers_caption(result: OffersResult) -> str:
    """Footer line: how many offers are shown of how many matched."""
    shown = len(result.offers)
    if shown == result.matched:
        return f"{shown} offer{'s' if shown != 1 else ''}"
    return f"{shown} of {result.matched} offers; --limit 0 shows all"


def offer_record(row: pd.Series) -> dict[str, Any]:
    """One offer as a flat JSON object with canonical column names."""
    record = {column: plain(row[column]) for column in COLUMNS}
    flags = record["quality_flags"]
    record["quality_flags"] = flags.split(";") if flags else []
    return record


def offers_document(result: OffersResult) -> dict[str, Any]:
    """The JSON document of an offers result (``schema_version``, inputs, provenance)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "spotadvisor_version": __version__,
        "generated_at": result.generated_at.isoformat(),
        "query": result.query,
        "data": [table.provenance(result.generated_at) for table in result.data],
        "matched": result.matched,
        "count": len(result.offers),
        "offers": [offer_record(row) for _, row in result.offers.iterrows()],
    }


def offers_frame(result: OffersResult) -> pd.DataFrame:
    """The rows for CSV output: canonical and derived columns."""
    return result.offers[COLUMNS]
