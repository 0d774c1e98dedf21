"""Self-contained inline SVG charts for the FinOps report.

Every function returns one ``<svg>`` element as a string, ready to paste into an HTML
page: no external CSS, JavaScript, fonts or images, no ``<style>`` element (it would leak
into the page), only presentation attributes. The charts scale with their container
(``width="100%"`` and a ``viewBox``), carry ``role="img"`` and a ``<title>`` for screen
readers, and stay readable when printed in black and white: series differ in lightness
as well as hue, and every colour is named in a legend.

Geometry is exact: a bar's length is its value times one scale factor per chart, so bar
lengths are proportional to the values (tests check it). Every bar is a
``<rect class="bar">`` with ``data-*`` attributes holding the raw value and a
``<title>`` tooltip. Coordinates are in viewBox units (px at the natural size).
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "MARKET_COLORS",
    "WATERFALL_COLORS",
    "horizontal_bars",
    "nice_ticks",
    "stacked_bars",
    "waterfall",
]

MARKET_COLORS: dict[str, str] = {
    "spot": "#1d3557",  # dark navy, CIE L* 22
    "committed": "#217a6e",  # teal, L* 46
    "on-demand": "#e8923a",  # orange, L* 68
    "other": "#dcdcdc",  # light grey, L* 88
}
"""Fill colour per purchase market. Lightness steps of about 20 L* keep them apart in grey."""

WATERFALL_COLORS: dict[str, str] = {
    "total": "#333f4c",  # slate, L* 26
    "increase": "#c0392b",  # red, L* 45
    "decrease": "#9fd3b5",  # pale green, L* 80
}
"""Fill colour per waterfall bar kind (a delta is an increase or a decrease)."""

_FALLBACK_COLORS = ("#5b3a8c", "#b5651d", "#7f7f7f", "#2c6e9e", "#a4508b", "#bcbd22")

FONT_FAMILY = "system-ui, sans-serif"
_TEXT = "#222222"
_MUTED = "#555555"
_GRID = "#ececec"
_AXIS = "#555555"
_TRACK = "#f2f2f2"

_WIDTH = 720.0  # viewBox width of every chart
_HEIGHT = 400.0  # viewBox height of the vertical charts
_FONT = 12.0  # base font size
_CHAR = 0.6 * _FONT  # rough average glyph width, for layout estimates only
_TITLE_Y = 22.0
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


# --- helpers --------------------------------------------------------------------------


def _esc(text: object) -> str:
    """``text`` escaped for XML text and attributes; control characters dropped."""
    return html.escape(_CONTROL.sub("", str(text)), quote=True)


def _n(x: float) -> str:
    """A coordinate for an attribute: 10 significant digits, no ``-0``."""
    if x == 0:
        return "0"
    return f"{x:.10g}"


def _raw(value: float) -> str:
    """A value for a ``data-value`` attribute: the float's shortest exact repr."""
    return repr(float(value))


def _text_width(text: str, size: float = _FONT) -> float:
    """Estimated rendered width of ``text`` at font size ``size`` (viewBox units)."""
    return len(text) * 0.6 * size


def _fit(text: str, width: float) -> str:
    """``text`` shortened with an ellipsis to an estimated ``width``."""
    chars = max(int(width / _CHAR + 1e-6), 1)
    return text if len(text) <= chars else text[: max(chars - 1, 0)] + "\u2026"


def _finite(values: Sequence[float], what: str) -> list[float]:
    out = [float(v) for v in values]
    for v in out:
        if not math.isfinite(v):
            raise ValueError(f"{what}: values must be finite numbers, got {v!r}")
    return out


def _decimals(step: float) -> int:
    """Decimals needed to print multiples of ``step`` exactly (0-6)."""
    for digits in range(7):
        if abs(round(step, digits) - step) <= 1e-9 * abs(step):
            return digits
    return 6


def _fmt(value: float, decimals: int) -> str:
    """``value`` with thousands separators and a true minus sign."""
    text = f"{abs(value):,.{decimals}f}"
    if value < 0 and float(text.replace(",", "")) != 0:
        return "\u2212" + text
    return text


def _amount_decimals(values: Sequence[float]) -> int:
    """0 decimals for amounts of 100 or more (or whole numbers), else 2."""
    biggest = max((abs(v) for v in values), default=0.0)
    if biggest >= 100 or all(float(v).is_integer() for v in values):
        return 0
    return 2


def nice_ticks(low: float, high: float, count: int = 4) -> list[float]:
    """Round axis ticks covering ``[low, high]`` with about ``count`` intervals.

    Parameters
    ----------
    low, high : float
        The range to cover, in data units. ``low`` is usually 0.
    count : int
        Target number of intervals. For ranges starting at 0 the result has between
        ``count // 2 + 1`` and ``count`` intervals (4 or 5 ticks for the default 4).

    Returns
    -------
    list of float
        Ascending ticks at multiples of 1, 2, 2.5 or 5 times a power of ten, the first
        ``<= low`` and the last ``>= high``. ``[0.0]`` when the range is empty at 0.
    """
    low, high = min(low, high), max(low, high)
    span = high - low
    if span <= 0:
        if high == 0:
            return [0.0]
        span = abs(high)
    raw = span / count
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * power >= raw * (1 - 1e-12))
    first = math.floor(low / step + 1e-9)
    last = math.ceil(high / step - 1e-9)
    return [round(i * step, 12) for i in range(first, last + 1)]


def _svg(width: float, height: float, title: str, description: str, body: list[str]) -> str:
    return "\n".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
            f'viewBox="0 0 {_n(width)} {_n(height)}" width="100%" '
            f'preserveAspectRatio="xMidYMid meet" font-family="{FONT_FAMILY}" '
            f'font-size="{_n(_FONT)}" fill="{_TEXT}">',
            f"<title>{_esc(title)}</title>",
            f"<desc>{_esc(description)}</desc>",
            f'<rect class="background" x="0" y="0" width="{_n(width)}" height="{_n(height)}" '
            f'fill="#ffffff"/>',
            f'<text class="chart-title" x="8" y="{_n(_TITLE_Y)}" font-size="16" '
            f'font-weight="600">{_esc(_fit(title, (width - 16) * _FONT / 16))}</text>',
            *body,
            "</svg>",
        ]
    )


def _legend(items: Sequence[tuple[str, str]], x: float, y: float) -> list[str]:
    """A column of swatches with labels, top-left corner at (x, y)."""
    room = _legend_width([label for label, _ in items]) - 18
    out = ['<g class="legend">']
    for i, (label, color) in enumerate(items):
        top = y + i * 20
        out.append(
            f'<rect class="swatch" x="{_n(x)}" y="{_n(top)}" width="12" height="12" '
            f'fill="{_esc(color)}" stroke="{_AXIS}" stroke-width="0.5"/>'
        )
        out.append(f'<text x="{_n(x + 18)}" y="{_n(top + 10)}">{_esc(_fit(label, room))}</text>')
    out.append("</g>")
    return out


def _legend_width(labels: Sequence[str]) -> float:
    """Width of a legend column; long labels are shortened to keep it under 30 %."""
    return min(18 + max((_text_width(label) for label in labels), default=0.0), _WIDTH * 0.3)


@dataclass(frozen=True)
class _Frame:
    """The plot area of a vertical chart, in viewBox units (y grows downwards)."""

    left: float
    right: float
    top: float
    bottom: float
    low: float  # data value at the bottom edge
    high: float  # data value at the top edge
    centers: tuple[float, ...]  # x of each bar's centre
    bar_width: float

    @property
    def scale(self) -> float:
        """ViewBox units per data unit (0 when the axis range is empty)."""
        span = self.high - self.low
        return (self.bottom - self.top) / span if span > 0 else 0.0

    def y(self, value: float) -> float:
        """The y coordinate of ``value``."""
        return self.bottom - (value - self.low) * self.scale


def _vertical_frame(
    labels: Sequence[str], ticks: Sequence[float], unit: str, legend: Sequence[str], top: float
) -> tuple[_Frame, list[str]]:
    """Lay out a vertical chart: y-axis labels left, legend right, bar labels below.

    Returns the frame and the SVG of the grid, the y axis and the bar labels; the
    caller adds the bars and the legend.
    """
    left = 12 + _tick_label_width(ticks, unit)
    right = _WIDTH - (_legend_width(legend) + 24 if legend else 16)
    band = (right - left) / len(labels) if labels else right - left
    centers = tuple(left + band * (i + 0.5) for i in range(len(labels)))
    widest = max((_text_width(label) for label in labels), default=0.0)
    rotate = widest > band * 0.95
    if rotate:  # slanted labels longer than 180 units are shortened (tooltips keep them)
        widest = min(widest, 180.0)
        labels = [_fit(label, widest) for label in labels]
    bottom = _HEIGHT - (18.0 + 0.65 * widest if rotate else 22.0) - 8
    frame = _Frame(left, right, top, bottom, ticks[0], ticks[-1], centers, band * 0.62)

    out = _y_axis(ticks, frame.y, left, right, unit)
    out.append(
        f'<line class="y-axis-line" x1="{_n(left)}" x2="{_n(left)}" y1="{_n(top)}" '
        f'y2="{_n(bottom)}" stroke="{_AXIS}" stroke-width="1"/>'
    )
    out.append('<g class="categories">')
    for label, cx in zip(labels, centers, strict=True):
        if rotate:
            y = bottom + 12
            out.append(
                f'<text x="{_n(cx)}" y="{_n(y)}" text-anchor="end" '
                f'transform="rotate(-40 {_n(cx)} {_n(y)})">{_esc(label)}</text>'
            )
        else:
            out.append(
                f'<text x="{_n(cx)}" y="{_n(bottom + 16)}" text-anchor="middle">'
                f"{_esc(label)}</text>"
            )
    out.append("</g>")
    return frame, out


def _y_axis(
    ticks: Sequence[float],
    to_y: Callable[[float], float],
    left: float,
    right: float,
    unit: str,
) -> list[str]:
    """Horizontal grid lines with tick labels ``12,000 USD`` right-aligned at ``left``."""
    digits = _decimals(ticks[1] - ticks[0]) if len(ticks) > 1 else 0
    out = ['<g class="y-axis">']
    for tick in ticks:
        y = to_y(tick)
        color = _AXIS if tick == 0 else _GRID
        out.append(
            f'<line x1="{_n(left)}" x2="{_n(right)}" y1="{_n(y)}" y2="{_n(y)}" '
            f'stroke="{color}" stroke-width="1"/>'
        )
        label = f"{_fmt(tick, digits)} {unit}".strip()
        out.append(
            f'<text class="tick" x="{_n(left - 6)}" y="{_n(y + 4)}" text-anchor="end" '
            f'fill="{_MUTED}">{_esc(label)}</text>'
        )
    out.append("</g>")
    return out


def _tick_label_width(ticks: Sequence[float], unit: str) -> float:
    digits = _decimals(ticks[1] - ticks[0]) if len(ticks) > 1 else 0
    widest = max(_text_width(f"{_fmt(t, digits)} {unit}".strip()) for t in ticks)
    return min(widest, _WIDTH * 0.3)


def _no_data(x: float, y: float) -> str:
    return (
        f'<text class="no-data" x="{_n(x)}" y="{_n(y)}" text-anchor="middle" '
        f'font-size="14" fill="{_MUTED}">no data</text>'
    )


# --- stacked bars ---------------------------------------------------------------------


def _series_fills(names: Sequence[str], colors: Mapping[str, str] | None) -> dict[str, str]:
    palette = {**MARKET_COLORS, **(colors or {})}
    spare = iter(_FALLBACK_COLORS * (1 + len(names) // len(_FALLBACK_COLORS)))
    return {name: palette[name] if name in palette else next(spare) for name in names}


def stacked_bars(
    categories: Sequence[str],
    series: Mapping[str, Sequence[float]],
    *,
    title: str,
    unit: str,
    colors: Mapping[str, str] | None = None,
) -> str:
    """Vertical stacked bars: one bar per category, the series stacked in order.

    Parameters
    ----------
    categories : sequence of str
        One label per bar, left to right (e.g. week labels ``"1–7 Oct"``).
    series : mapping of str to sequence of float
        Values per series, one per category, in ``unit``. The first series is drawn at
        the bottom of each bar, the next on top of it and so on; the legend lists them
        top to bottom in the order they appear in the stack.
    title : str
        Chart title, also the accessible name.
    unit : str
        Unit of the values (e.g. ``"USD"``), appended to the y-axis tick labels.
    colors : mapping of str to str, optional
        Fill colour per series name, on top of :data:`MARKET_COLORS`; other names get a
        fixed fallback palette.

    Returns
    -------
    str
        An ``<svg>`` element, viewBox 720 x 400. Each segment is ``<rect class="bar"
        data-series data-category data-value>`` with a ``<title>`` tooltip, one per
        category and series (zero-height ones included); heights are ``value * scale``
        viewBox units with one scale for the chart. Negative values are drawn as 0
        (``data-value`` keeps them). The y axis has 4 or 5 round ticks from 0. With no
        categories, no series or nothing above 0, the axes carry a "no data" note.

    Raises
    ------
    ValueError
        When a series does not have one value per category or holds NaN or infinity.
    """
    names = list(series)
    values = {name: _finite(series[name], f"series {name!r}") for name in names}
    for name, column in values.items():
        if len(column) != len(categories):
            raise ValueError(
                f"series {name!r} has {len(column)} values for {len(categories)} categories"
            )
    fills = _series_fills(names, colors)
    totals = [sum(max(values[n][i], 0.0) for n in names) for i in range(len(categories))]
    top_value = max(totals, default=0.0)
    frame, body = _vertical_frame(categories, nice_ticks(0.0, top_value), unit, names, 44.0)

    body.append('<g class="bars">')
    for i, category in enumerate(categories):
        x = frame.centers[i] - frame.bar_width / 2
        base = frame.bottom
        for name in names:
            value = values[name][i]
            h = max(value, 0.0) * frame.scale
            tip = f"{name}, {category}: {_fmt(value, _amount_decimals([value]))} {unit}"
            body.append(
                f'<rect class="bar" data-series="{_esc(name)}" data-category="{_esc(category)}" '
                f'data-value="{_raw(value)}" x="{_n(x)}" y="{_n(base - h)}" '
                f'width="{_n(frame.bar_width)}" height="{_n(h)}" fill="{_esc(fills[name])}">'
                f"<title>{_esc(tip.strip())}</title></rect>"
            )
            base -= h
    body.append("</g>")
    if names:
        body.extend(_legend([(n, fills[n]) for n in reversed(names)], frame.right + 16, 44.0))
    if top_value <= 0:
        body.append(_no_data((frame.left + frame.right) / 2, (frame.top + frame.bottom) / 2))
    description = (
        f"Stacked bar chart: {len(categories)} categories, series "
        f"{', '.join(names) if names else 'none'} (bottom to top), in {unit}."
    )
    return _svg(_WIDTH, _HEIGHT, title, description, body)


# --- horizontal bars ------------------------------------------------------------------


def horizontal_bars(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    value_format: Callable[[float], str],
    max_value: float | None = None,
    color: str | None = None,
) -> str:
    """Horizontal bars, one row per label, the formatted value at the end of each bar.

    Parameters
    ----------
    labels : sequence of str
        Row labels, top to bottom (e.g. team names). Labels longer than the label column
        (about 35 % of the width) are shortened with an ellipsis; the full label stays in
        ``data-label`` and the tooltip.
    values : sequence of float
        One value per label, in the caller's unit (e.g. a spot share 0..1).
    title : str
        Chart title, also the accessible name.
    value_format : callable
        Turns a value into the text shown at the bar end (e.g. ``lambda v: f"{v:.0%}"``).
    max_value : float, optional
        The value drawn as a full-length bar (e.g. 1 for shares, so 100 % spans the
        plot and a light track shows the remainder). Defaults to the largest value.
        Larger values widen the scale rather than being cut off.
    color : str, optional
        Bar fill; defaults to ``MARKET_COLORS["spot"]``.

    Returns
    -------
    str
        An ``<svg>`` element, ``width="100%"``, viewBox 720 wide and 26 per row tall.
        Each bar is ``<rect class="bar" data-label data-value>`` of width
        ``max(value, 0) * scale``. Empty input draws a "no data" note.

    Raises
    ------
    ValueError
        When ``labels`` and ``values`` differ in length, a value is NaN or infinite, or
        ``max_value`` is not positive.
    """
    numbers = _finite(values, "values")
    if len(numbers) != len(labels):
        raise ValueError(f"{len(labels)} labels but {len(numbers)} values")
    if max_value is not None and not (math.isfinite(max_value) and max_value > 0):
        raise ValueError(f"max_value must be a positive number, got {max_value!r}")
    fill = color or MARKET_COLORS["spot"]
    texts = [value_format(v) for v in numbers]

    row_h = 26.0
    bar_h = 16.0
    top = 40.0
    height = top + max(len(labels), 1) * row_h + 12
    label_w = min(max((_text_width(label) for label in labels), default=0.0), _WIDTH * 0.35)
    left = 12 + label_w + 8
    right = _WIDTH - 12 - min(max((_text_width(t) for t in texts), default=0.0), _WIDTH * 0.3) - 6
    span = right - left
    largest = max(numbers, default=0.0)
    scale_max = max(max_value or 0.0, largest)
    if scale_max <= 0:
        scale_max = 1.0
    scale = span / scale_max

    body: list[str] = []
    if max_value is not None:
        body.append('<g class="tracks">')
        for i in range(len(labels)):
            y = top + i * row_h + (row_h - bar_h) / 2
            body.append(
                f'<rect class="track" x="{_n(left)}" y="{_n(y)}" '
                f'width="{_n(max_value * scale)}" height="{_n(bar_h)}" fill="{_TRACK}"/>'
            )
        body.append("</g>")
    body.append('<g class="bars">')
    for i, (label, value, text) in enumerate(zip(labels, numbers, texts, strict=True)):
        y = top + i * row_h + (row_h - bar_h) / 2
        w = max(value, 0.0) * scale
        middle = y + bar_h / 2
        body.append(
            f'<text class="label" x="{_n(left - 8)}" y="{_n(middle + 4)}" '
            f'text-anchor="end">{_esc(_fit(label, label_w))}</text>'
        )
        body.append(
            f'<rect class="bar" data-label="{_esc(label)}" data-value="{_raw(value)}" '
            f'x="{_n(left)}" y="{_n(y)}" width="{_n(w)}" height="{_n(bar_h)}" '
            f'fill="{_esc(fill)}"><title>{_esc(f"{label}: {text}")}</title></rect>'
        )
        body.append(
            f'<text class="value" x="{_n(left + w + 6)}" y="{_n(middle + 4)}" '
            f'fill="{_TEXT}">{_esc(text)}</text>'
        )
    body.append("</g>")
    bottom = top + max(len(labels), 1) * row_h
    body.append(
        f'<line class="axis" x1="{_n(left)}" x2="{_n(left)}" y1="{_n(top)}" '
        f'y2="{_n(bottom)}" stroke="{_AXIS}" stroke-width="1"/>'
    )
    if not labels:
        body.append(_no_data((left + right) / 2, top + row_h / 2 + 5))
    description = f"Horizontal bar chart: {len(labels)} rows."
    return _svg(_WIDTH, height, title, description, body)


# --- waterfall ------------------------------------------------------------------------


def _waterfall_levels(steps: Sequence[tuple[str, float, str]]) -> list[tuple[float, float]]:
    """The (from, to) levels each step's bar spans, following the running total."""
    levels: list[tuple[float, float]] = []
    running = 0.0
    for label, amount, kind in steps:
        if kind not in ("total", "delta"):
            raise ValueError(f"step {label!r}: kind must be 'total' or 'delta', got {kind!r}")
        if not math.isfinite(amount):
            raise ValueError(f"step {label!r}: amount must be a finite number, got {amount!r}")
        start = 0.0 if kind == "total" else running
        running = float(amount) if kind == "total" else running + amount
        levels.append((start, running))
    return levels


def _connectors(
    steps: Sequence[tuple[str, float, str]], levels: Sequence[tuple[float, float]], frame: _Frame
) -> list[str]:
    """Dashed lines from each bar's end level to the next bar, when that bar starts there."""
    out = ['<g class="connectors">']
    for i in range(len(steps) - 1):
        level = levels[i][1]
        _, amount, kind = steps[i + 1]
        if kind != "delta" and not math.isclose(amount, level, rel_tol=1e-9, abs_tol=1e-9):
            continue  # a total that resets the running total: nothing to connect
        y = frame.y(level)
        out.append(
            f'<line class="connector" x1="{_n(frame.centers[i] + frame.bar_width / 2)}" '
            f'x2="{_n(frame.centers[i + 1] - frame.bar_width / 2)}" y1="{_n(y)}" y2="{_n(y)}" '
            f'stroke="{_MUTED}" stroke-width="1" stroke-dasharray="3 3"/>'
        )
    out.append("</g>")
    return out


def waterfall(steps: Sequence[tuple[str, float, str]], *, title: str, unit: str) -> str:
    """A waterfall: totals as bars from 0, deltas floating from the running total.

    Parameters
    ----------
    steps : sequence of (label, amount, kind)
        Left to right. ``kind`` is ``"total"`` (a bar from 0 to ``amount``; it also
        resets the running total to ``amount``) or ``"delta"`` (a bar from the running
        total to running total + ``amount``; the running total moves by ``amount``).
        The running total starts at 0, so normally the first step is a total.
        Amounts are in ``unit``.
    title : str
        Chart title, also the accessible name.
    unit : str
        Unit of the amounts (e.g. ``"USD"``), shown on the y-axis tick labels.

    Returns
    -------
    str
        An ``<svg>`` element, viewBox 720 x 400. Each bar is ``<rect class="bar"
        data-kind data-label data-value data-from data-to>`` where ``data-kind`` is
        ``total``, ``increase`` or ``decrease`` (coloured per
        :data:`WATERFALL_COLORS`) and ``data-from``/``data-to`` are the levels the bar
        spans; its height is ``|to - from| * scale`` viewBox units. The amount is
        printed above each bar (deltas signed), and dashed ``<line class="connector">``
        lines join each bar's end level to the next bar when that bar starts there.
        The y axis covers 0 and every level, negative ones included. With no steps or
        only zero-height bars, the axes carry a "no data" note.

    Raises
    ------
    ValueError
        On a kind other than ``"total"`` or ``"delta"`` or an amount that is NaN or
        infinite.
    """
    levels = _waterfall_levels(steps)
    points = [v for pair in levels for v in pair]
    ticks = nice_ticks(min(points, default=0.0), max(points, default=0.0))
    decimals = _amount_decimals([amount for _, amount, _ in steps])
    kinds = list(WATERFALL_COLORS)
    frame, body = _vertical_frame([s[0] for s in steps], ticks, unit, kinds, 56.0)

    body.append('<g class="bars">')
    for i, ((label, amount, kind), (start, end)) in enumerate(zip(steps, levels, strict=True)):
        shown = "total" if kind == "total" else ("increase" if amount >= 0 else "decrease")
        y = frame.y(max(start, end))
        h = abs(end - start) * frame.scale
        text = ("+" if kind == "delta" and amount >= 0 else "") + _fmt(amount, decimals)
        tip = f"{label}: {text} {unit}".strip()
        if kind == "delta":
            tip += f" ({_fmt(start, decimals)} \u2192 {_fmt(end, decimals)})"
        body.append(
            f'<rect class="bar" data-kind="{shown}" data-label="{_esc(label)}" '
            f'data-value="{_raw(amount)}" data-from="{_raw(start)}" data-to="{_raw(end)}" '
            f'x="{_n(frame.centers[i] - frame.bar_width / 2)}" y="{_n(y)}" '
            f'width="{_n(frame.bar_width)}" height="{_n(h)}" '
            f'fill="{WATERFALL_COLORS[shown]}"><title>{_esc(tip)}</title></rect>'
        )
        body.append(
            f'<text class="value" x="{_n(frame.centers[i])}" y="{_n(y - 5)}" '
            f'text-anchor="middle">{_esc(text)}</text>'
        )
    body.append("</g>")
    body.extend(_connectors(steps, levels, frame))
    body.extend(_legend([(k, WATERFALL_COLORS[k]) for k in kinds], frame.right + 16, 56.0))
    if all(start == end for start, end in levels):
        body.append(_no_data((frame.left + frame.right) / 2, (frame.top + frame.bottom) / 2))
    description = f"Waterfall chart: {len(steps)} steps, in {unit}."
    return _svg(_WIDTH, _HEIGHT, title, description, body)
