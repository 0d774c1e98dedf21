"""Interruption-frequency bands: labels as the clouds publish them, and their bounds.

A band is the share of spot capacity reclaimed over a trailing month (AWS Spot Advisor)
or 28 days (Azure eviction rates), published as a range label. AWS's file also carries a
``max`` per band that does not match its labels (5, 11, 16, 22, 100), so the bounds come
from the label, never from ``max``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from spotadvisor.errors import UsageError

_RANGE = re.compile(r"^(\d+(?:\.\d+)?)\s*[-–]\s*(\d+(?:\.\d+)?)\s*%?$")
_BELOW = re.compile(r"^<\s*(\d+(?:\.\d+)?)\s*%?$")
_ABOVE = re.compile(r"^(?:>\s*(\d+(?:\.\d+)?)\s*%?|(\d+(?:\.\d+)?)\s*%?\s*\+)$")


@dataclass(frozen=True)
class Band:
    """An interruption band.

    Attributes
    ----------
    label
        The label as normalised for display, e.g. ``5-10%``.
    lower_pct, upper_pct
        Bounds of the monthly interruption frequency [%]; ``>20%`` is 20-100.
    """

    label: str
    lower_pct: float
    upper_pct: float


def parse_band(label: str) -> Band | None:
    """Parse a band label (``<5%``, ``5-10%``, ``>20%``, Azure's ``0-5`` and ``20+``).

    Returns None when ``label`` is not a band.
    """
    text = label.strip()
    band = None
    if match := _RANGE.match(text):
        lower, upper = float(match.group(1)), float(match.group(2))
        band = Band(f"{lower:g}-{upper:g}%", lower, upper) if lower <= upper else None
    elif match := _BELOW.match(text):
        upper = float(match.group(1))
        band = Band(f"<{upper:g}%", 0.0, upper)
    elif match := _ABOVE.match(text):
        lower = float(match.group(1) or match.group(2))
        band = Band(f">{lower:g}%", lower, 100.0)
    # a share of capacity reclaimed in a month cannot exceed 100%
    return band if band is not None and band.upper_pct <= 100.0 and band.lower_pct < 100.0 else None


def parse_max_band(value: str) -> float:
    """Upper bound [%] that a ``--max-band`` value allows.

    Accepts a band label (``10-15%`` allows bands up to 15%) or a number (``15``).

    Raises
    ------
    UsageError
        When the value is neither.
    """
    text = value.strip()
    number = text.rstrip("%").strip()
    try:
        return float(number)
    except ValueError:
        pass
    band = parse_band(text)
    if band is None:
        raise UsageError(
            f"{value!r} is not an interruption band",
            field="--max-band",
            fix="give a band label such as '<5%', '5-10%', '10-15%' or a percentage such as 15",
        )
    return band.upper_pct
