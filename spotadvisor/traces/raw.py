"""SkyPilot's raw timestamped availability traces (shared data README 4c).

Lines ``tick,ISO8601,failed``, one probe about every 600 s. The last column is 1 when
the probe's spot launch *failed*: the collector (Michaelvll/skypilot-spot-strategy,
``scripts/availability/availability_trace.py``) writes ``int(not launched)``, and the
4a JSON of the same run is exactly ``1 -`` it. So a count is ``1 - failed``.

The rows are 600-601 s apart (the collector sleeps 600 s, then works), so they are
resampled to a fixed gap: the median interval rounded to whole seconds; tick *i* at
``first + i × gap`` takes the value of the row nearest in time (ties to the earlier
row), for every tick up to the last row.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

RAW_LINE = re.compile(r"^\d+,\d{4}-\d\d-\d\dT[^,]+,\d+$")
"""A line of a raw trace (used to sniff the format)."""


def parse_raw(text: str) -> tuple[list[datetime], list[int]]:
    """UTC times and counts (``1 - failed``) of a raw trace's rows.

    Raises
    ------
    ValueError
        On a malformed line, a value other than 0/1 or a time that does not increase
        (the message starts with the line number).
    """
    times: list[datetime] = []
    values: list[int] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            _, stamp, value = raw.strip().split(",")
            when = datetime.fromisoformat(stamp)
            failed = int(value)
        except ValueError as exc:
            raise ValueError(f"line {number}: expected 'tick,ISO8601,failed', got {raw!r}") from exc
        if failed not in (0, 1):
            raise ValueError(f"line {number}: the launch outcome must be 0 or 1, got {failed}")
        when = when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
        if times and when <= times[-1]:
            raise ValueError(f"line {number}: timestamp {stamp} is not after the previous one")
        times.append(when)
        values.append(1 - failed)  # the column is 1 when the launch failed
    return times, values


def resample_raw(
    times: Sequence[datetime], values: Sequence[int]
) -> tuple[npt.NDArray[np.int64], float]:
    """Timestamped samples on a fixed grid: counts and the gap [s] (see module doc)."""
    seconds = np.array([(t - times[0]).total_seconds() for t in times], dtype=np.float64)
    gap = float(max(1.0, round(float(np.median(np.diff(seconds))))) if len(times) > 1 else 1.0)
    grid = np.arange(int(seconds[-1] // gap) + 1, dtype=np.float64) * gap
    right = np.clip(np.searchsorted(seconds, grid, side="left"), 0, len(seconds) - 1)
    left = np.maximum(right - 1, 0)
    nearest = np.where(grid - seconds[left] <= seconds[right] - grid, left, right)
    return np.asarray(values, dtype=np.int64)[nearest], gap
