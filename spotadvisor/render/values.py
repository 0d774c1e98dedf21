"""Turning values into display text and JSON-safe Python values; unknown is never 0."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

UNKNOWN = "unknown"


def is_missing(value: Any) -> bool:
    """True for None, NaN, NaT and pandas NA."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def plain(value: Any) -> Any:
    """A JSON-safe plain Python value: numpy scalars unwrapped, missing as None, times ISO."""
    if is_missing(value):
        return None
    if isinstance(value, (pd.Timestamp, datetime)):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    return value


def money(value: Any) -> str:
    """USD amount: cents from $1 up (``$55.04``), four decimals below (``$0.2231``)."""
    if is_missing(value):
        return UNKNOWN
    v = float(value)
    return f"${v:,.2f}" if abs(v) >= 1 else f"${v:.4f}"


def number(value: Any, digits: int = 0) -> str:
    """Number with thousands separators; ``unknown`` when missing."""
    if is_missing(value):
        return UNKNOWN
    v = float(value)
    return f"{v:,.{digits}f}" if digits or v != int(v) else f"{int(v):,}"


def percent(value: Any, digits: int = 0) -> str:
    """Percentage such as ``63%``; ``unknown`` when missing."""
    return UNKNOWN if is_missing(value) else f"{float(value):.{digits}f}%"


def count(value: Any) -> str:
    """A count that may be fractional (1/8 of a GPU shows as 0.125)."""
    if is_missing(value):
        return UNKNOWN
    v = float(value)
    return str(int(v)) if v == int(v) else f"{v:.3g}"
