"""JSON output: stable key order, plain floats, null for unknown."""

from __future__ import annotations

import json
from typing import Any


def render_json(document: dict[str, Any]) -> str:
    """Serialise a result document (already made of plain values) with a trailing newline."""
    return json.dumps(document, indent=2, allow_nan=False) + "\n"
