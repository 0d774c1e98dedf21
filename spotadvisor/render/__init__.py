"""Renderers: pure functions from results to text (or rich renderables for the terminal)."""

from __future__ import annotations

from typing import Literal

Format = Literal["table", "json", "csv", "markdown"]
FORMATS: tuple[Format, ...] = ("table", "json", "csv", "markdown")
