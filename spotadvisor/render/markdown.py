"""Markdown output: a GitHub-flavoured pipe table."""

from __future__ import annotations

from collections.abc import Sequence


def render_markdown(
    headers: Sequence[str], rows: Sequence[Sequence[str]], *, right: Sequence[bool] = ()
) -> str:
    """A pipe table; ``right[i]`` right-aligns column i (numbers)."""
    align = [("---:" if (i < len(right) and right[i]) else "---") for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(headers), line(align), *(line(r) for r in rows)]) + "\n"
