"""Rendering ``events stats``: a table, JSON or CSV of measured rates per pool."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import pandas as pd

SCHEMA_VERSION = 1


def _num(value: object, digits: int = 2) -> str:
    if not isinstance(value, int | float) or math.isnan(value):
        return "–"
    return "∞" if math.isinf(value) else f"{value:.{digits}f}"


class _Row:
    """Attribute access to one record (values typed Any)."""

    def __init__(self, record: dict[str, Any]) -> None:
        self.__dict__.update(record)

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(name)


def _records(frame: pd.DataFrame) -> list[Any]:
    return [_Row({str(k): v for k, v in r.items()}) for r in frame.to_dict("records")]


def stats_rows(frame: pd.DataFrame, *, by_zone: bool) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of the stats table."""
    headers = ["Cloud", "Region", *(["Zone"] if by_zone else []), "Type", "Interruptions"]
    headers += ["Rebalances", "Exposure (inst-months)", "Rate /inst-month (95% CI)"]
    headers += ["Published band (as rate)", "Flag"]
    rows = []
    for r in _records(frame):
        rate = (
            "no exposure"
            if pd.isna(r.rate_per_instance_month)
            else f"{_num(r.rate_per_instance_month)} ({_num(r.rate_low)}–{_num(r.rate_high)})"
        )
        band = (
            f"{r.band} ({_num(r.band_rate_low, 3)}–{_num(r.band_rate_high, 3)})"
            if r.band
            else "none"
        )
        rows.append(
            [
                str(r.cloud),
                str(r.region),
                *([str(r.zone)] if by_zone else []),
                str(r.instance_type),
                str(r.interruptions),
                str(r.rebalances),
                f"{_num(r.exposure_instance_months)} ({r.exposure_source})",
                rate,
                band,
                str(r.flag),
            ]
        )
    return headers, rows


def stats_document(frame: pd.DataFrame, start: datetime, end: datetime) -> dict[str, Any]:
    """The JSON document of ``events stats``."""
    pools = [
        {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()}
        for row in frame.to_dict("records")
    ]
    return {
        "schema_version": SCHEMA_VERSION,
        "window": {"from": start.isoformat(), "to": end.isoformat()},
        "unit": "interruptions per instance-month (730 instance-hours)",
        "confidence": 0.95,
        "pools": pools,
    }
