"""Terminal tables (rich), and rendering them to plain text for tests and files."""

from __future__ import annotations

import io
import sys
from collections.abc import Sequence

from rich.console import Console, RenderableType
from rich.table import Table


def build_table(
    title: str | None,
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    right: Sequence[bool] = (),
    caption: str | None = None,
    wrap: Sequence[int] = (),
) -> Table:
    """A rich table; ``right[i]`` right-aligns column i (numbers).

    Columns stay on one line except those in ``wrap`` and the last one, so names and
    numbers are never broken or squeezed to an ellipsis by a long free-text column.
    """
    table = Table(title=title, caption=caption, header_style="bold", show_lines=False)
    wrapping = {len(headers) - 1, *wrap}
    for i, header in enumerate(headers):
        table.add_column(
            header,
            justify="right" if i < len(right) and right[i] else "left",
            no_wrap=i not in wrapping,
            overflow="fold" if i in wrapping else "ellipsis",
            ratio=1 if i in wrapping else None,
        )
    for row in rows:
        table.add_row(*row)
    return table


def print_renderable(renderable: RenderableType) -> None:
    """Print to stdout: terminal width on a terminal, wide (no folding) when piped."""
    wide = None if sys.stdout.isatty() else 200
    Console(highlight=False, width=wide).print(renderable)


def renderable_text(renderable: RenderableType, *, width: int = 160) -> str:
    """Plain text of a rich renderable at a fixed width (no colour), e.g. for ``-o FILE``."""
    buffer = io.StringIO()
    Console(file=buffer, width=width, color_system=None, force_terminal=False).print(renderable)
    return buffer.getvalue()
