"""Tiny canonical frames for tests: a few offers, written out in full so a reader sees them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pandas as pd

from spotadvisor.schema import OFFERS, Table, validate

AS_OF = datetime(2025, 6, 28, tzinfo=UTC)


def offer(**overrides: Any) -> dict[str, Any]:
    """One offers row: an 8x H100 AWS pool unless told otherwise."""
    row: dict[str, Any] = {
        "cloud": "aws",
        "region": "us-east-1",
        "zone": None,
        "zone_id": "use1-az4",
        "instance_type": "p5.48xlarge",
        "gpu_model": "H100",
        "gpu_count": 8.0,
        "gpu_memory_gb": 80.0,
        "vcpus": 192.0,
        "memory_gib": 2048.0,
        "price_on_demand_usd_per_hour": 55.04,
        "price_spot_usd_per_hour": 20.0,
        "interruption_band": None,
        "interruption_band_lower_pct": None,
        "interruption_band_upper_pct": None,
        "placement_score": None,
        "quality_flags": None,
        "source": "test",
        "as_of": AS_OF,
    }
    row.update(overrides)
    return row


def frame(rows: list[dict[str, Any]], table: Table = OFFERS) -> pd.DataFrame:
    """Validated frame of ``rows`` for ``table``."""
    return validate(pd.DataFrame(rows), table, origin="<test>")
