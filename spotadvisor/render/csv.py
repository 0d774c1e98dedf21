"""CSV output: one header row, canonical column names, empty cells for unknown."""

from __future__ import annotations

import io

import pandas as pd


def render_csv(frame: pd.DataFrame) -> str:
    """``frame`` as CSV text; times as ISO 8601 UTC, unknown as an empty cell."""
    out = frame.copy()
    for column in out.columns:
        if isinstance(out[column].dtype, pd.DatetimeTZDtype):
            out[column] = out[column].map(lambda t: t.isoformat() if pd.notna(t) else None)
    buffer = io.StringIO()
    out.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue()
