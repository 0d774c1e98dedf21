"""Interruption-frequency bands: labels as the clouds publish them, and their bounds.

A band is the share of spot capacity reclaimed over a trailing month (AWS Spot Advisor)
or 28 days (Azure eviction rates), published as a range label. AWS's file also carries a
``max`` per band that does not match its labels (5, 11, 16, 22, 100), so the bounds come
from the label, never from ``max``. A band measured rather than published (GCP's
preemption share across a region's zones, ``collect.gcp_advice``) is labelled
``measured 3.1-7.4%``; its bounds are stored with it, never parsed from the label.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from spotadvisor.errors import UsageError

_RANGE = re.compile(r"^(\d+(?:\.\d+)?)\s*[-–]\s*(\d+(?:\.\d+)?)\s*%?$")
_BELOW = re.compile(r"^<\s*(\d+(?:\.\d+)?)\s*%?$")
_ABOVE = re.compile(r"^(?:>\s*(\d+(?:\.\d+)?)\s*%?|(\d+(?:\.\d+)?)\s*%?\s*\+)$")


# (lower, upper) [%] of the bands AWS and Azure publish: <5%, 5-10%, 10-15%, 15-20%, >20%
HOURS_PER_MONTH = 730.0  # an average month [h]: the instance-month the bands count in
# A spot pool with no published band and no override is assumed to be in the worst
# AWS band rather than treated as safe.
UNKNOWN_BAND = ">20%"
PUBLISHED_BOUNDS = ((0.0, 5.0), (5.0, 10.0), (10.0, 15.0), (15.0, 20.0), (20.0, 100.0))


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


def band_text(p_low: float, p_high: float) -> str:
    """A band from its monthly bounds [0-1] as the tables write it: ``<5%``, ``5-10%``, ``>20%``."""
    low, high = 100 * p_low, 100 * p_high
    if low == 0:
        return f"<{high:g}%"
    if high >= 100:
        return f">{low:g}%"
    return f"{low:g}-{high:g}%"


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
        upper = float(number)
    except ValueError:
        band = parse_band(text)
        if band is None or (band.lower_pct, band.upper_pct) not in PUBLISHED_BOUNDS:
            raise UsageError(
                f"{value!r} is not an interruption band",
                field="--max-band",
                fix="give a published band ('<5%', '5-10%', '10-15%', '15-20%', '>20%') "
                "or a percentage such as 15",
            ) from None
        return band.upper_pct
    if not 0 < upper <= 100:  # a share of capacity, in percent
        raise UsageError(
            f"{value!r} is not a percentage above 0 and up to 100",
            field="--max-band",
            fix="give e.g. 15 (bands up to 15%) or a band label such as '10-15%'",
        )
    if upper < PUBLISHED_BOUNDS[0][1]:
        raise UsageError(
            f"no published band is as low as {upper:g}%: the lowest is <5%",
            field="--max-band",
            fix="give 5 (or '<5%') for the least interrupted offers",
        )
    return upper


MEASURED_PREFIX = "measured "


def percent_range_text(lower_pct: float, upper_pct: float) -> str:
    """``3.1-7.4%``, or ``5.0%`` when both bounds show the same at one decimal."""
    low, high = f"{lower_pct:.1f}", f"{upper_pct:.1f}"
    return f"{low}%" if low == high else f"{low}-{high}%"


def measured_band_label(lower_pct: float, upper_pct: float) -> str:
    """The label of a measured band: ``measured 3.1-7.4%`` or ``measured 5.0%``.

    A measured band is the spread of a measured rate across zones (GCP's preemption
    share), not a published range; the prefix keeps it apart from ``5-10%``.
    """
    return MEASURED_PREFIX + percent_range_text(lower_pct, upper_pct)


def measured_share_text(
    lower_pct: float, upper_pct: float, window_days: float, window_end: datetime
) -> str:
    """``preemption share 3.1-7.4% over 30 d to 2026-11-30``: a measured band in words."""
    share = percent_range_text(lower_pct, upper_pct)
    return f"preemption share {share} over {round(window_days, 1):g} d to {window_end:%Y-%m-%d}"
