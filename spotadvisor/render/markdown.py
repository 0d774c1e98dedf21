"""Markdown output: a GitHub-flavoured pipe table."""

from __future__ import annotations

from collections.abc import Sequence

from spotadvisor.render.escape import markdown_text


def render_markdown(
    headers: Sequence[str], rows: Sequence[Sequence[str]], *, right: Sequence[bool] = ()
) -> str:
    """A pipe table; ``right[i]`` right-aligns column i (numbers).

    Every header and cell is escaped with :func:`~spotadvisor.render.escape.markdown_text`:
    cells are plain text, never Markdown or HTML.
    """
    align = [("---:" if (i < len(right) and right[i]) else "---") for i in range(len(headers))]

    def line(cells: Sequence[str], *, escape: bool = True) -> str:
        return "| " + " | ".join(markdown_text(c) if escape else c for c in cells) + " |"

    return "\n".join([line(headers), line(align, escape=False), *(line(r) for r in rows)]) + "\n"
