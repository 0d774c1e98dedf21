"""The charts in a real browser: Chromium parses them, draws them and prints them.

Chromium runs three times for the whole module (DOM, screenshot and PDF, in parallel).
Skipped without Chromium, unless SPOTADVISOR_REQUIRE_CHROMIUM=1 (CI) makes that a failure.
"""

from __future__ import annotations

import os
import struct
import sys
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

import pytest

from spotadvisor.render.charts import (
    MARKET_COLORS,
    WATERFALL_COLORS,
    horizontal_bars,
    stacked_bars,
    waterfall,
)
from tests.browser import (
    REQUIRE_ENV,
    ChromiumError,
    RenderedPage,
    decode_png,
    hex_to_rgb,
    render_html,
    require_chromium,
)

SVG = "{http://www.w3.org/2000/svg}"
WIDTH, HEIGHT = 1200, 520  # the charts end at about 450 px
COLUMN = 580  # CSS px per chart: two charts side by side fit the window

WEEKS = ["1–7 Oct", "8–14 Oct", "15–21 Oct", "22–28 Oct"]
MARKETS = {
    "spot": [9_000.0, 10_500.0, 8_000.0, 11_000.0],
    "on-demand": [6_000.0, 5_500.0, 7_000.0, 4_000.0],
    "committed": [4_000.0, 4_000.0, 4_000.0, 4_000.0],
    "other": [2_500.0, 3_000.0, 2_000.0, 2_500.0],
}
TEAMS = ["search", "chat <&> tools", "batch"]
SHARES = [0.8, 0.45, 1.0]
STEPS = [
    ("September", 80_000.0, "total"),
    ("more spot", 9_000.0, "delta"),
    ("price cuts", -12_000.0, "delta"),
    ("October", 77_000.0, "total"),
]


def charts() -> dict[str, str]:
    return {
        "stacked": stacked_bars(WEEKS, MARKETS, title="Weekly cost by market", unit="USD"),
        "waterfall": waterfall(STEPS, title="September to October", unit="USD"),
        "shares": horizontal_bars(
            TEAMS, SHARES, title="Spot share per team", value_format="{:.0%}".format, max_value=1
        ),
    }


def page_html() -> str:
    cells = "\n".join(
        f'<figure id="{name}" style="margin:0;width:{COLUMN}px">{svg}</figure>'
        for name, svg in charts().items()
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>charts</title></head>
<body style="margin:8px;background:#fff">
<div style="display:flex;flex-wrap:wrap;gap:12px;width:{2 * COLUMN + 12}px">
{cells}
</div>
</body></html>
"""


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> RenderedPage:
    require_chromium()
    tmp = tmp_path_factory.mktemp("browser")
    path = tmp / "charts.html"
    path.write_text(page_html(), encoding="utf-8")
    return render_html(path, tmp, width=WIDTH, height=HEIGHT)


def drawn_area(svg: str, fill: str) -> float:
    """Area in CSS px^2 of the bars filled with ``fill``, at COLUMN px wide."""
    root = ET.fromstring(svg)
    view_width = float(str(root.get("viewBox")).split()[2])
    scale = COLUMN / view_width
    return sum(
        float(str(r.get("width"))) * float(str(r.get("height"))) * scale**2
        for r in root.iter(f"{SVG}rect")
        if r.get("class") == "bar" and r.get("fill") == fill
    )


def test_the_dom_holds_every_bar(page: RenderedPage) -> None:
    assert len(page.elements("svg", role="img")) == 3
    bars = page.elements("rect", class_="bar")
    assert len(bars) == len(WEEKS) * len(MARKETS) + len(TEAMS) + len(STEPS)
    assert len([b for b in bars if b.get("data-series")]) == len(WEEKS) * len(MARKETS)
    assert [b["data-label"] for b in bars if b.get("data-label") in TEAMS] == TEAMS
    assert [b["data-kind"] for b in bars if b.get("data-kind")] == [
        "total",
        "increase",
        "decrease",
        "total",
    ]
    # the escaped label came back as text, not as markup
    assert not page.elements("tools")


def test_the_screenshot_shows_every_market_colour(page: RenderedPage) -> None:
    assert page.png_size == (WIDTH, HEIGHT)
    stacked = charts()["stacked"]
    for market, color in MARKET_COLORS.items():
        expected = drawn_area(stacked, color)
        counted = page.count_color(hex_to_rgb(color), tolerance=2)
        assert counted >= 0.6 * expected > 500, (market, counted, expected)


def test_the_screenshot_shows_the_waterfall_and_share_bars(page: RenderedPage) -> None:
    flow = charts()["waterfall"]
    for kind, color in WATERFALL_COLORS.items():
        expected = drawn_area(flow, color)
        assert page.count_color(color, tolerance=2) >= 0.6 * expected > 300, kind
    assert page.count_color((255, 255, 255)) > WIDTH * HEIGHT // 3  # mostly white paper


def test_it_prints_to_pdf(page: RenderedPage) -> None:
    assert page.pdf_bytes > 1_000
    assert page.pdf_path.read_bytes()[:5] == b"%PDF-"


# --- the harness's own PNG decoder, on every filter type ------------------------------


def _png(width: int, height: int, rows: list[bytes], color_type: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + chunk(b"IEND", b"")
    )


def _filter(kind: int, row: bytes, prev: bytes, bpp: int) -> bytes:
    """Encode ``row`` with PNG filter ``kind`` (the inverse of what the decoder does)."""
    out = bytearray()
    for i, x in enumerate(row):
        a = row[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        if kind == 0:
            predictor = 0
        elif kind == 1:
            predictor = a
        elif kind == 2:
            predictor = b
        elif kind == 3:
            predictor = (a + b) // 2
        else:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            predictor = a if pa <= pb and pa <= pc else b if pb <= pc else c
        out.append((x - predictor) & 0xFF)
    return bytes([kind]) + bytes(out)


@pytest.mark.parametrize("color_type", [2, 6])
def test_decode_png_handles_every_filter(color_type: int) -> None:
    bpp = 3 if color_type == 2 else 4
    width, height = 7, 10
    image = [
        bytes(
            (x * 37 + y * 91 + c * 53 + x * y * 11) % 256 for x in range(width) for c in range(bpp)
        )
        for y in range(height)
    ]
    rows = []
    prev = bytes(width * bpp)
    for y, row in enumerate(image):
        rows.append(_filter(y % 5, row, prev, bpp))
        prev = row
    w, h, pixels = decode_png(_png(width, height, rows, color_type))
    assert (w, h) == (width, height)
    expected = b"".join(
        bytes(b for i, b in enumerate(row) if bpp == 3 or i % 4 != 3) for row in image
    )
    assert pixels == expected


def test_decode_png_rejects_other_formats() -> None:
    with pytest.raises(ValueError, match="not a PNG"):
        decode_png(b"GIF89a")
    grey = _png(1, 1, [b"\x00\x00"], color_type=0)
    with pytest.raises(ValueError, match="only 8-bit RGB"):
        decode_png(grey)


# --- the harness without a browser ---------------------------------------------------


def test_require_chromium_skips_without_a_browser(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    monkeypatch.delenv(REQUIRE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="Chromium not found"):
        require_chromium()


def test_require_chromium_fails_without_a_browser_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    monkeypatch.setenv(REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match=f"{REQUIRE_ENV}=1 requires it"):
        require_chromium()


def test_render_html_reports_chromium_stderr(tmp_path: Path) -> None:
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\necho 'GPU process exploded' >&2\nexit 3\n")
    fake.chmod(0o755)
    page = tmp_path / "page.html"
    page.write_text("<p>hi</p>")
    with pytest.raises(ChromiumError, match=r"(?s)exited with 3.*GPU process exploded"):
        render_html(page, tmp_path, chromium=str(fake))
    with pytest.raises(ChromiumError, match="cannot run"):
        render_html(page, tmp_path, chromium=os.fspath(tmp_path / "missing"))


def test_render_html_kills_a_hanging_chromium(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tests.browser

    monkeypatch.setattr(tests.browser, "TIMEOUT_SECONDS", 0.5)
    fake = tmp_path / "chromium"
    pause = f"{sys.executable} -c 'import time; time.sleep(30)'"  # no PATH needed
    fake.write_text(f"#!/bin/sh\necho 'still loading' >&2\nexec {pause}\n")
    fake.chmod(0o755)
    page = tmp_path / "page.html"
    page.write_text("<p>hi</p>")
    with pytest.raises(ChromiumError, match=r"(?s)timed out.*still loading"):
        render_html(page, tmp_path, chromium=str(fake))
