"""The inline SVG charts: well-formed, exact geometry, escaped text, robust to edge cases."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from itertools import pairwise

import pytest

from spotadvisor.render.charts import (
    MARKET_COLORS,
    WATERFALL_COLORS,
    horizontal_bars,
    nice_ticks,
    stacked_bars,
    waterfall,
)

SVG = "{http://www.w3.org/2000/svg}"
WEEKS = ["1–7 Oct", "8–14 Oct", "15–21 Oct", "22–28 Oct", "29–31 Oct"]
MARKETS = {
    "spot": [12_000.0, 13_500.0, 9_000.0, 14_250.5, 4_000.0],
    "on-demand": [6_000.0, 5_500.0, 7_250.0, 4_000.0, 1_500.0],
    "committed": [3_000.0, 3_000.0, 3_000.0, 3_000.0, 1_300.0],
    "other": [250.0, 410.0, 120.0, 90.0, 20.0],
}
STEPS = [
    ("September", 20_000.0, "total"),
    ("more spot", 1_500.0, "delta"),
    ("price cuts", -4_000.0, "delta"),
    ("new team", 2_500.0, "delta"),
    ("October", 20_000.0, "total"),
    ("reserved", -26_000.0, "delta"),
]


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # raises on malformed XML
    assert root.tag == f"{SVG}svg"
    return root


def bars(root: ET.Element) -> list[ET.Element]:
    return [r for r in root.iter(f"{SVG}rect") if r.get("class") == "bar"]


def texts(root: ET.Element, cls: str) -> list[ET.Element]:
    return [t for t in root.iter(f"{SVG}text") if t.get("class") == cls]


def num(element: ET.Element, name: str) -> float:
    value = element.get(name)
    assert value is not None, f"{element.tag} has no {name}"
    return float(value)


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-6)


def lightness(color: str) -> float:
    """CIE L* of an sRGB ``#rrggbb`` colour."""
    channels = [int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    y = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return 116 * y ** (1 / 3) - 16 if y > 0.008856 else 903.3 * y


def all_charts() -> list[str]:
    return [
        stacked_bars(WEEKS, MARKETS, title="Weekly cost by market", unit="USD"),
        horizontal_bars(
            ["search", "chat"], [0.8, 0.35], title="Spot share", value_format="{:.0%}".format
        ),
        waterfall(STEPS, title="Month over month", unit="USD"),
    ]


# --- common properties -----------------------------------------------------------------


@pytest.mark.parametrize("index", [0, 1, 2])
def test_every_chart_is_self_contained_accessible_and_scalable(index: int) -> None:
    svg = all_charts()[index]
    root = parse(svg)
    assert root.get("role") == "img"
    assert root.get("width") == "100%"
    assert re.fullmatch(r"0 0 [\d.]+ [\d.]+", root.get("viewBox") or "")
    assert root.get("font-family") == "system-ui, sans-serif"
    assert root[0].tag == f"{SVG}title" and root[0].text
    lowered = svg.lower()
    for external in ("<style", "<script", "href", "url(", "@import", "<image", "<foreignobject"):
        assert external not in lowered
    assert "http" not in lowered.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_market_colors_differ_in_lightness_so_they_survive_grey_printing() -> None:
    assert set(MARKET_COLORS) == {"spot", "on-demand", "committed", "other"}
    values = sorted(lightness(c) for c in MARKET_COLORS.values())
    assert all(b - a >= 15 for a, b in pairwise(values))
    shades = sorted(lightness(c) for c in WATERFALL_COLORS.values())
    assert all(b - a >= 15 for a, b in pairwise(shades))


@pytest.mark.parametrize(
    "top", [1, 3, 7, 9.99, 10, 10.01, 99, 101, 250, 999, 1_001, 12_345.6, 0.003, 7e9]
)
def test_nice_ticks_are_four_or_five_round_steps_from_zero(top: float) -> None:
    ticks = nice_ticks(0.0, top)
    assert 4 <= len(ticks) <= 5
    assert ticks[0] == 0 and ticks[-1] >= top
    step = ticks[1] - ticks[0]
    assert all(close(b - a, step) for a, b in pairwise(ticks))
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert any(close(mantissa, m) for m in (1, 2, 2.5, 5))


def test_nice_ticks_of_an_empty_range() -> None:
    assert nice_ticks(0.0, 0.0) == [0.0]


# --- stacked bars ------------------------------------------------------------------------


def test_stacked_bars_one_segment_per_category_and_series() -> None:
    root = parse(stacked_bars(WEEKS, MARKETS, title="Weekly cost", unit="USD"))
    rects = bars(root)
    assert len(rects) == len(WEEKS) * len(MARKETS)
    assert {(r.get("data-category"), r.get("data-series")) for r in rects} == {
        (w, m) for w in WEEKS for m in MARKETS
    }
    for rect in rects:
        expected = MARKETS[str(rect.get("data-series"))][
            WEEKS.index(str(rect.get("data-category")))
        ]
        assert num(rect, "data-value") == expected
        assert rect.get("fill") == MARKET_COLORS[str(rect.get("data-series"))]
        tip = rect.find(f"{SVG}title")
        assert tip is not None and tip.text and "USD" in tip.text


def test_stacked_heights_are_proportional_to_values() -> None:
    rects = bars(parse(stacked_bars(WEEKS, MARKETS, title="Weekly cost", unit="USD")))
    ratios = [num(r, "height") / num(r, "data-value") for r in rects]
    assert all(math.isclose(q, ratios[0], rel_tol=1e-6) for q in ratios)
    spot = [r for r in rects if r.get("data-series") == "spot"]
    assert math.isclose(
        num(spot[0], "height") / num(spot[1], "height"), 12_000 / 13_500, rel_tol=1e-6
    )


def test_stacked_segments_sit_on_each_other_in_series_order() -> None:
    rects = bars(parse(stacked_bars(WEEKS, MARKETS, title="Weekly cost", unit="USD")))
    bottoms = set()
    for week in WEEKS:
        column = [r for r in rects if r.get("data-category") == week]
        assert [r.get("data-series") for r in column] == list(MARKETS)
        assert len({r.get("x") for r in column}) == 1
        bottoms.add(round(num(column[0], "y") + num(column[0], "height"), 6))
        for lower, upper in pairwise(column):
            assert close(num(upper, "y") + num(upper, "height"), num(lower, "y"))
    assert len(bottoms) == 1  # every bar stands on the same baseline
    xs = [num(r, "x") for r in rects if r.get("data-series") == "spot"]
    assert xs == sorted(xs)  # categories left to right


def test_stacked_y_axis_has_round_ticks_with_separators_unit_and_matching_positions() -> None:
    root = parse(stacked_bars(WEEKS, MARKETS, title="Weekly cost", unit="USD"))
    ticks = texts(root, "tick")
    assert 4 <= len(ticks) <= 5
    labels = [str(t.text) for t in ticks]
    assert all(label.endswith(" USD") for label in labels)
    assert any("," in label for label in labels)  # thousands separators
    values = [float(label.removesuffix(" USD").replace(",", "")) for label in labels]
    assert values[0] == 0 and values == sorted(values)
    tallest = max(sum(col) for col in zip(*MARKETS.values(), strict=True))
    assert values[-1] >= tallest
    # tick positions use the same scale as the bars
    rects = bars(root)
    scale = num(rects[0], "height") / num(rects[0], "data-value")
    baseline = num(rects[0], "y") + num(rects[0], "height")
    for tick, value in zip(ticks, values, strict=True):
        assert close(num(tick, "y") - 4, baseline - value * scale)


def test_stacked_legend_names_every_series_with_its_colour() -> None:
    root = parse(stacked_bars(WEEKS, MARKETS, title="Weekly cost", unit="USD"))
    legend = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "legend")
    swatches = [r.get("fill") for r in legend.iter(f"{SVG}rect")]
    names = [t.text for t in legend.iter(f"{SVG}text")]
    # listed top to bottom as stacked: last series first
    assert names == list(reversed(MARKETS))
    assert swatches == [MARKET_COLORS[str(n)] for n in names]


def test_stacked_custom_and_fallback_colours_are_distinct() -> None:
    series = {"spot": [1.0], "gpu-x": [2.0], "gpu-y": [3.0]}
    root = parse(stacked_bars(["a"], series, title="t", unit="USD", colors={"spot": "#123456"}))
    fills = {r.get("data-series"): r.get("fill") for r in bars(root)}
    assert fills["spot"] == "#123456"
    assert len(set(fills.values())) == 3


def test_stacked_negative_values_draw_as_zero_but_keep_their_value() -> None:
    series = {"spot": [100.0, 50.0], "on-demand": [-20.0, 50.0], "other": [40.0, 0.0]}
    rects = bars(parse(stacked_bars(["a", "b"], series, title="t", unit="USD")))
    negative = next(r for r in rects if r.get("data-value") == "-20.0")
    assert num(negative, "height") == 0
    column = [r for r in rects if r.get("data-category") == "a"]
    spot, _, other = column
    assert close(num(other, "y") + num(other, "height"), num(spot, "y"))
    assert math.isclose(num(other, "height") / num(spot, "height"), 0.4, rel_tol=1e-6)
    tip = negative.find(f"{SVG}title")
    assert tip is not None and "\u221220" in str(tip.text)


@pytest.mark.parametrize(
    ("categories", "series"),
    [
        (["a", "b"], {"spot": [0.0, 0.0], "other": [0.0, 0.0]}),
        (["a", "b"], {"spot": [-1.0, -2.0]}),
        ([], {"spot": []}),
        ([], {}),
        (["a"], {}),
    ],
)
def test_stacked_without_data_draws_axes_and_says_so(
    categories: list[str], series: dict[str, list[float]]
) -> None:
    root = parse(stacked_bars(categories, series, title="Nothing", unit="USD"))
    assert [t.text for t in texts(root, "no-data")] == ["no data"]
    assert all(num(r, "height") == 0 for r in bars(root))
    assert len(bars(root)) == len(categories) * len(series)
    assert [t.text for t in texts(root, "tick")] == ["0 USD"]
    assert any(line.get("stroke") for line in root.iter(f"{SVG}line"))


def test_stacked_with_data_has_no_no_data_note() -> None:
    root = parse(stacked_bars(WEEKS, MARKETS, title="t", unit="USD"))
    assert texts(root, "no-data") == []


def test_stacked_escapes_markup_in_every_text() -> None:
    svg = stacked_bars(
        ["<&>", 'it\'s "q"'],
        {"a<b&c": [1.0, 2.0]},
        title="<script>alert(1)</script> & co",
        unit="<USD>",
    )
    root = parse(svg)
    assert "<script>" not in svg and "<&>" not in svg and "a<b" not in svg
    assert root[0].text == "<script>alert(1)</script> & co"
    rects = bars(root)
    assert [r.get("data-category") for r in rects] == ["<&>", 'it\'s "q"']
    assert rects[0].get("data-series") == "a<b&c"
    assert any(t.text == "<&>" for t in root.iter(f"{SVG}text"))
    assert all(str(t.text).endswith("<USD>") for t in texts(root, "tick"))


def test_stacked_control_characters_do_not_break_the_xml() -> None:
    parse(stacked_bars(["a\x00b\x1b"], {"spot\x07": [1.0]}, title="t\x0c", unit="USD"))


def test_stacked_rejects_ragged_or_non_finite_series() -> None:
    with pytest.raises(ValueError, match="2 values for 3 categories"):
        stacked_bars(["a", "b", "c"], {"spot": [1.0, 2.0]}, title="t", unit="USD")
    with pytest.raises(ValueError, match="finite"):
        stacked_bars(["a"], {"spot": [math.nan]}, title="t", unit="USD")


def test_stacked_many_long_labels_are_rotated_not_overlapping() -> None:
    days = [f"2026-10-{d:02d} (week {d // 7})" for d in range(1, 32)]
    root = parse(stacked_bars(days, {"spot": [float(d) for d in range(31)]}, title="t", unit="USD"))
    labels = [t for t in root.iter(f"{SVG}text") if t.text in days]
    assert len(labels) == 31
    assert all("rotate(" in str(t.get("transform")) for t in labels)


# --- horizontal bars -------------------------------------------------------------------


def percent(value: float) -> str:
    return f"{value:.0%}"


def test_horizontal_bars_are_proportional_with_a_full_scale_track() -> None:
    labels = ["search", "chat", "batch", "eval"]
    shares = [0.82, 0.41, 1.0, 0.05]
    root = parse(
        horizontal_bars(labels, shares, title="Spot share", value_format=percent, max_value=1)
    )
    rects = bars(root)
    assert [r.get("data-label") for r in rects] == labels
    assert [num(r, "data-value") for r in rects] == shares
    widths = [num(r, "width") for r in rects]
    assert all(
        math.isclose(w / v, widths[2] / 1.0, rel_tol=1e-6)
        for w, v in zip(widths, shares, strict=True)
    )
    tracks = [r for r in root.iter(f"{SVG}rect") if r.get("class") == "track"]
    assert len(tracks) == 4 and all(close(num(t, "width"), widths[2]) for t in tracks)
    assert len({r.get("x") for r in rects}) == 1  # common left edge
    ys = [num(r, "y") for r in rects]
    assert ys == sorted(ys)  # first label on top


def test_horizontal_value_text_sits_at_the_bar_end_and_labels_on_the_left() -> None:
    root = parse(
        horizontal_bars(["a", "b"], [0.5, 0.25], title="t", value_format=percent, max_value=1)
    )
    rects = bars(root)
    values = texts(root, "value")
    assert [v.text for v in values] == ["50%", "25%"]
    for rect, value in zip(rects, values, strict=True):
        assert close(num(value, "x"), num(rect, "x") + num(rect, "width") + 6)
        assert num(rect, "y") < num(value, "y") < num(rect, "y") + num(rect, "height")
    for label in texts(root, "label"):
        assert label.get("text-anchor") == "end" and num(label, "x") < num(rects[0], "x")
    assert 720 - num(values[0], "x") > 0


def test_horizontal_scale_defaults_to_the_largest_value_and_grows_past_max_value() -> None:
    root = parse(horizontal_bars(["a", "b"], [50.0, 200.0], title="t", value_format=str))
    assert not [r for r in root.iter(f"{SVG}rect") if r.get("class") == "track"]
    a, b = bars(root)
    assert math.isclose(num(b, "width") / num(a, "width"), 4, rel_tol=1e-6)
    over = bars(
        parse(
            horizontal_bars(["a", "b"], [0.5, 1.25], title="t", value_format=percent, max_value=1)
        )
    )
    assert math.isclose(num(over[1], "width") / num(over[0], "width"), 2.5, rel_tol=1e-6)


def test_horizontal_negative_zero_and_empty_inputs() -> None:
    rects = bars(parse(horizontal_bars(["a", "b"], [-0.2, 0.0], title="t", value_format=percent)))
    assert [num(r, "width") for r in rects] == [0, 0]
    assert rects[0].get("data-value") == "-0.2"
    empty = parse(horizontal_bars([], [], title="t", value_format=percent))
    assert bars(empty) == [] and [t.text for t in texts(empty, "no-data")] == ["no data"]


def test_horizontal_escapes_and_shortens_long_labels() -> None:
    long = "<&> " + "x" * 200
    svg = horizontal_bars([long], [0.5], title="a & b", value_format=lambda v: f"<{v}>")
    root = parse(svg)
    (rect,) = bars(root)
    assert rect.get("data-label") == long
    (label,) = texts(root, "label")
    assert str(label.text).startswith("<&>") and str(label.text).endswith("\u2026")
    assert len(str(label.text)) < len(long)
    assert [v.text for v in texts(root, "value")] == ["<0.5>"]


def test_horizontal_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="2 labels but 1 values"):
        horizontal_bars(["a", "b"], [1.0], title="t", value_format=str)
    with pytest.raises(ValueError, match="max_value"):
        horizontal_bars(["a"], [1.0], title="t", value_format=str, max_value=0)
    with pytest.raises(ValueError, match="finite"):
        horizontal_bars(["a"], [math.inf], title="t", value_format=str)


# --- waterfall ---------------------------------------------------------------------------


def waterfall_geometry(
    steps: list[tuple[str, float, str]],
) -> tuple[list[ET.Element], float, float]:
    """The bars, the y of level 0 and the scale (viewBox units per unit), from the first total."""
    rects = bars(parse(waterfall(steps, title="t", unit="USD")))
    first = rects[0]
    assert first.get("data-kind") == "total"
    scale = num(first, "height") / num(first, "data-value")
    zero = num(first, "y") + num(first, "height")
    return rects, zero, scale


def test_waterfall_floating_bars_start_at_the_running_total() -> None:
    rects, zero, scale = waterfall_geometry(STEPS)
    assert len(rects) == len(STEPS)

    def y(level: float) -> float:
        return zero - level * scale

    running = 0.0
    for rect, (label, amount, kind) in zip(rects, STEPS, strict=True):
        assert rect.get("data-label") == label and num(rect, "data-value") == amount
        top, bottom = num(rect, "y"), num(rect, "y") + num(rect, "height")
        assert math.isclose(num(rect, "height"), abs(amount) * scale, rel_tol=1e-6)
        if kind == "total":
            assert rect.get("data-kind") == "total"
            assert close(bottom, y(0)) and close(top, y(amount))
            running = amount
        elif amount >= 0:
            assert rect.get("data-kind") == "increase"
            assert close(bottom, y(running)) and close(top, y(running + amount))
            running += amount
        else:
            assert rect.get("data-kind") == "decrease"
            assert close(top, y(running)) and close(bottom, y(running + amount))
            running += amount
        assert num(rect, "data-to") == running


def test_waterfall_negative_running_total_goes_below_the_zero_line() -> None:
    rects, zero, scale = waterfall_geometry(STEPS)
    last = rects[-1]  # 20,000 - 26,000 = -6,000
    assert close(num(last, "y"), zero - 20_000 * scale)
    assert close(num(last, "y") + num(last, "height"), zero + 6_000 * scale)
    root = parse(waterfall(STEPS, title="t", unit="USD"))
    tick_values = [
        float(str(t.text).removesuffix(" USD").replace(",", "").replace("\u2212", "-"))
        for t in texts(root, "tick")
    ]
    assert min(tick_values) <= -6_000 and 0 in tick_values


def test_waterfall_colours_and_kinds() -> None:
    rects = bars(parse(waterfall(STEPS, title="t", unit="USD")))
    kinds = [r.get("data-kind") for r in rects]
    assert kinds == ["total", "increase", "decrease", "increase", "total", "decrease"]
    for rect in rects:
        assert rect.get("fill") == WATERFALL_COLORS[str(rect.get("data-kind"))]
    assert len(set(WATERFALL_COLORS.values())) == 3


def test_waterfall_value_labels_are_above_the_bars_and_signed() -> None:
    root = parse(waterfall(STEPS, title="t", unit="USD"))
    rects = bars(root)
    values = texts(root, "value")
    assert [v.text for v in values] == [
        "20,000",
        "+1,500",
        "\u22124,000",
        "+2,500",
        "20,000",
        "\u221226,000",
    ]
    for rect, value in zip(rects, values, strict=True):
        assert num(value, "y") < num(rect, "y")
        assert close(num(value, "x"), num(rect, "x") + num(rect, "width") / 2)


def test_waterfall_dashed_connectors_join_bar_ends() -> None:
    root = parse(waterfall(STEPS, title="t", unit="USD"))
    rects = bars(root)
    lines = [ln for ln in root.iter(f"{SVG}line") if ln.get("class") == "connector"]
    assert len(lines) == len(STEPS) - 1  # October's total equals the running total
    for i, line in enumerate(lines):
        assert line.get("stroke-dasharray")
        left, right = rects[i], rects[i + 1]
        assert close(num(line, "x1"), num(left, "x") + num(left, "width"))
        assert close(num(line, "x2"), num(right, "x"))
        end_level = float(str(left.get("data-to")))
        level_y = [num(left, "y"), num(left, "y") + num(left, "height")]
        # the connector leaves at the bar's end level, which is one of its edges
        assert any(close(num(line, "y1"), edge) for edge in level_y)
        assert num(line, "y1") == num(line, "y2")
        assert float(str(right.get("data-from"))) in (end_level, 0.0)


def test_waterfall_total_resets_the_running_total() -> None:
    steps = [
        ("Q1", 100.0, "total"),
        ("up", 50.0, "delta"),
        ("restated", 400.0, "total"),
        ("down", -100.0, "delta"),
    ]
    rects, zero, scale = waterfall_geometry(steps)
    down = rects[3]
    assert close(num(down, "y"), zero - 400 * scale)
    assert num(down, "data-from") == 400 and num(down, "data-to") == 300
    root = parse(waterfall(steps, title="t", unit="USD"))
    lines = [ln for ln in root.iter(f"{SVG}line") if ln.get("class") == "connector"]
    assert len(lines) == 2  # 150 does not connect to the restated 400


def test_waterfall_starting_with_a_delta_starts_from_zero() -> None:
    rects = bars(
        parse(waterfall([("up", 10.0, "delta"), ("down", -4.0, "delta")], title="t", unit=""))
    )
    assert [(num(r, "data-from"), num(r, "data-to")) for r in rects] == [(0, 10), (10, 6)]
    assert math.isclose(num(rects[0], "height") / num(rects[1], "height"), 2.5, rel_tol=1e-6)


@pytest.mark.parametrize(
    "steps",
    [[], [("a", 0.0, "total")], [("a", 0.0, "total"), ("b", 0.0, "delta")]],
)
def test_waterfall_without_data_draws_axes_and_says_so(steps: list[tuple[str, float, str]]) -> None:
    root = parse(waterfall(steps, title="t", unit="USD"))
    assert [t.text for t in texts(root, "no-data")] == ["no data"]
    assert len(bars(root)) == len(steps)
    assert all(num(r, "height") == 0 for r in bars(root))


def test_waterfall_escapes_labels_and_rejects_bad_steps() -> None:
    svg = waterfall([("<&>", 5.0, "total"), ("a&b", -1.0, "delta")], title="<t>", unit="&")
    assert "<&>" not in svg
    root = parse(svg)
    assert [r.get("data-label") for r in bars(root)] == ["<&>", "a&b"]
    with pytest.raises(ValueError, match="kind"):
        waterfall([("a", 1.0, "subtotal")], title="t", unit="USD")
    with pytest.raises(ValueError, match="finite"):
        waterfall([("a", math.nan, "total")], title="t", unit="USD")


def test_waterfall_small_amounts_keep_cents() -> None:
    root = parse(waterfall([("a", 1.5, "total"), ("b", 0.25, "delta")], title="t", unit="USD"))
    assert [v.text for v in texts(root, "value")] == ["1.50", "+0.25"]


def test_very_long_names_keep_every_bar_inside_the_chart() -> None:
    long = "x" * 300
    charts = [
        stacked_bars(
            [long, long + "y"], {long: [1.0, 2.0], "spot": [3.0, 1.0]}, title=long, unit="USD"
        ),
        waterfall([(long, 5.0, "total"), (long, -2.0, "delta")], title=long, unit="USD"),
        horizontal_bars([long], [0.5], title=long, value_format=lambda v: long, max_value=1),
    ]
    for svg in charts:
        root = parse(svg)
        width, height = (float(v) for v in str(root.get("viewBox")).split()[2:])
        for rect in bars(root):
            x, y = num(rect, "x"), num(rect, "y")
            assert x >= 0 and x + num(rect, "width") <= width
            assert y >= 0 and y + num(rect, "height") <= height
            size = num(
                rect, "width" if rect.get("data-kind") or rect.get("data-series") else "height"
            )
            assert size > 10  # vertical bars stay wide, horizontal ones tall
        assert max(num(r, "height") + num(r, "width") for r in bars(root)) > 100


def test_waterfall_negative_total_hangs_from_zero_with_its_label_above() -> None:
    root = parse(waterfall([("a", 10.0, "total"), ("b", -4.0, "total")], title="t", unit="USD"))
    first, second = bars(root)
    zero = num(first, "y") + num(first, "height")
    assert close(num(second, "y"), zero)
    assert math.isclose(num(second, "height") / num(first, "height"), 0.4, rel_tol=1e-6)
    label = texts(root, "value")[1]
    assert label.text == "\u22124" and num(label, "y") < num(second, "y")
