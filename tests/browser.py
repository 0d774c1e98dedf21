"""Open HTML in headless Chromium from tests: the DOM it parsed, a screenshot, a PDF.

Usage in a test module (Chromium starts three times per :func:`render_html` call, in
parallel, so render once per module)::

    from tests.browser import RenderedPage, render_html, require_chromium

    @pytest.fixture(scope="module")
    def page(tmp_path_factory: pytest.TempPathFactory) -> RenderedPage:
        require_chromium()
        tmp = tmp_path_factory.mktemp("browser")
        (tmp / "page.html").write_text(html, encoding="utf-8")
        return render_html(tmp / "page.html", tmp)

    def test_draws(page: RenderedPage) -> None:
        assert page.count_color((0x1D, 0x35, 0x57)) > 500

Chromium runs offline (background networking off, every host name unresolvable) with a
throw-away profile. Without Chromium :func:`require_chromium` skips the test, unless
``SPOTADVISOR_REQUIRE_CHROMIUM=1`` (set by ``.ci/run``), which makes it fail instead.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import struct
import subprocess
import zlib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
REQUIRE_ENV = "SPOTADVISOR_REQUIRE_CHROMIUM"
TIMEOUT_SECONDS = 60.0

# Flags for every run: headless, no sandbox (containers), no GPU, no first-run UI, and
# nothing that talks to the network; fixed colour profile and scale so pixels are exact.
BASE_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-sync",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--no-pings",
    "--no-proxy-server",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--mute-audio",
    "--hide-scrollbars",
    "--force-color-profile=srgb",
    "--force-device-scale-factor=1",
)


class ChromiumError(RuntimeError):
    """Chromium failed, timed out or produced no output; the message has its stderr."""


def find_chromium() -> str | None:
    """The path of the first Chromium or Chrome on ``PATH``, or None."""
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def require_chromium() -> str:
    """The Chromium path; skips the calling test without one (fails it in CI).

    With ``SPOTADVISOR_REQUIRE_CHROMIUM=1`` a missing browser is a failure, so CI
    cannot pass by silently skipping the browser tests.
    """
    path = find_chromium()
    if path is not None:
        return path
    reason = f"headless Chromium not found on PATH (looked for {', '.join(CHROMIUM_NAMES)})"
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason}, and {REQUIRE_ENV}=1 requires it", pytrace=False)
    pytest.skip(f"{reason}; install chromium or set {REQUIRE_ENV}=1 to make this a failure")


# --- PNG decoding (stdlib only) -------------------------------------------------------


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _unfilter_row(kind: int, row: bytearray, prev: bytearray, bpp: int) -> None:
    """Undo PNG filter ``kind`` (0-4) on ``row`` in place, given the decoded ``prev``."""
    n = len(row)
    if kind == 0:
        return
    if kind == 1:  # Sub
        for i in range(bpp, n):
            row[i] = (row[i] + row[i - bpp]) & 0xFF
    elif kind == 2:  # Up
        # byte-wise addition mod 256 of whole rows at once (SWAR on Python integers)
        a = int.from_bytes(row, "big")
        b = int.from_bytes(prev, "big")
        low = int.from_bytes(b"\x7f" * n, "big")
        high = int.from_bytes(b"\x80" * n, "big")
        total = ((a & low) + (b & low)) ^ ((a ^ b) & high)
        row[:] = total.to_bytes(n, "big")
    elif kind == 3:  # Average
        for i in range(bpp):
            row[i] = (row[i] + (prev[i] >> 1)) & 0xFF
        for i in range(bpp, n):
            row[i] = (row[i] + ((row[i - bpp] + prev[i]) >> 1)) & 0xFF
    elif kind == 4:  # Paeth
        for i in range(bpp):
            row[i] = (row[i] + prev[i]) & 0xFF  # left and upper-left are 0
        for i in range(bpp, n):
            row[i] = (row[i] + _paeth(row[i - bpp], prev[i], prev[i - bpp])) & 0xFF
    else:
        raise ValueError(f"PNG: unknown filter type {kind}")


def decode_png(data: bytes) -> tuple[int, int, bytes]:
    """Decode an 8-bit RGB or RGBA, non-interlaced PNG.

    Returns
    -------
    (width, height, pixels)
        ``pixels`` is packed RGB, 3 bytes per pixel, rows top to bottom (alpha dropped).
    """
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG file")
    pos = 8
    header: tuple[int, ...] | None = None
    compressed = bytearray()
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            compressed += body
        elif kind == b"IEND":
            break
    if header is None:
        raise ValueError("PNG without IHDR")
    width, height, depth, color_type, _, _, interlace = header
    if depth != 8 or color_type not in (2, 6) or interlace != 0:
        raise ValueError(
            f"PNG: only 8-bit RGB/RGBA non-interlaced is supported "
            f"(depth {depth}, colour type {color_type}, interlace {interlace})"
        )
    bpp = 3 if color_type == 2 else 4
    stride = width * bpp
    raw = zlib.decompress(bytes(compressed))
    if len(raw) != height * (stride + 1):
        raise ValueError("PNG: image data has the wrong size")
    out = bytearray()
    prev = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        row = bytearray(raw[start + 1 : start + 1 + stride])
        _unfilter_row(raw[start], row, prev, bpp)
        if bpp == 3:
            out += row
        else:
            rgb = row.copy()
            del rgb[3::4]  # drop alpha
            out += rgb
        prev = row
    return width, height, bytes(out)


# --- the rendered page ------------------------------------------------------------------


@dataclass
class RenderedPage:
    """What Chromium made of one HTML file.

    Attributes
    ----------
    dom : str
        The document as Chromium parsed it (``--dump-dom``), serialised as HTML.
    png_size : (int, int)
        Screenshot width and height in pixels (the window size).
    pixels : bytes
        Screenshot as packed RGB, 3 bytes per pixel, rows top to bottom.
    pdf_bytes : int
        Size of the printed PDF in bytes.
    png_path, pdf_path : Path
        The screenshot and the PDF on disk.
    """

    dom: str
    png_size: tuple[int, int]
    pixels: bytes
    pdf_bytes: int
    png_path: Path
    pdf_path: Path
    _histogram: Counter[bytes] | None = field(default=None, repr=False)

    def pixel(self, x: int, y: int) -> tuple[int, int, int]:
        """The (r, g, b) of the screenshot pixel at column ``x``, row ``y``."""
        width, height = self.png_size
        if not (0 <= x < width and 0 <= y < height):
            raise IndexError(f"pixel ({x}, {y}) outside {width}x{height}")
        i = 3 * (y * width + x)
        r, g, b = self.pixels[i : i + 3]
        return r, g, b

    def histogram(self) -> Counter[bytes]:
        """Pixel count per colour (3-byte RGB keys), computed once."""
        if self._histogram is None:
            view = self.pixels
            self._histogram = Counter(view[i : i + 3] for i in range(0, len(view), 3))
        return self._histogram

    def count_color(self, rgb: tuple[int, int, int] | str, tolerance: int = 0) -> int:
        """Pixels whose every channel is within ``tolerance`` of ``rgb`` (or ``"#rrggbb"``)."""
        if isinstance(rgb, str):
            rgb = hex_to_rgb(rgb)
        r0, g0, b0 = rgb
        return sum(
            count
            for key, count in self.histogram().items()
            if abs(key[0] - r0) <= tolerance
            and abs(key[1] - g0) <= tolerance
            and abs(key[2] - b0) <= tolerance
        )

    def elements(self, tag: str, **attrs: str) -> list[dict[str, str | None]]:
        """Attributes of every ``tag`` element in the DOM whose attributes match ``attrs``.

        Use ``class_`` for ``class``; ``data_value`` for ``data-value`` and so on.
        """
        wanted = {k.rstrip("_").replace("_", "-"): v for k, v in attrs.items()}
        return [
            found
            for name, found in _Elements.parse(self.dom)
            if name == tag.lower() and all(found.get(k) == v for k, v in wanted.items())
        ]


def hex_to_rgb(color: str) -> tuple[int, int, int]:
    """``"#1d3557"`` as ``(29, 53, 87)``."""
    text = color.lstrip("#")
    if len(text) != 6:
        raise ValueError(f"expected #rrggbb, got {color!r}")
    return int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16)


class _Elements(HTMLParser):
    """Collects (tag, attributes) of every start tag; tag names lower-cased."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))

    @classmethod
    def parse(cls, text: str) -> list[tuple[str, dict[str, str | None]]]:
        parser = cls()
        parser.feed(text)
        parser.close()
        return parser.found


# --- running Chromium -------------------------------------------------------------------


def _run(chromium: str, args: list[str], profile: Path, url: str) -> tuple[str, str]:
    """Run Chromium once; its (stdout, stderr). Kills its whole process group on timeout."""
    command = [chromium, *BASE_FLAGS, f"--user-data-dir={profile}", *args, url]
    try:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            start_new_session=True,  # its own process group, so a timeout kills helpers too
        )
    except OSError as error:
        raise ChromiumError(f"cannot run {chromium}: {error}") from error
    try:
        stdout, stderr = process.communicate(timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired as error:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        raise ChromiumError(
            f"chromium timed out after {TIMEOUT_SECONDS:.0f} s: {' '.join(command)}\n{stderr}"
        ) from error
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    if process.returncode != 0:
        raise ChromiumError(
            f"chromium exited with {process.returncode}: {' '.join(command)}\n{stderr}"
        )
    return stdout, stderr


def render_html(
    path: Path,
    tmp_dir: Path,
    *,
    width: int = 1200,
    height: int = 900,
    chromium: str | None = None,
) -> RenderedPage:
    """Render the HTML file ``path`` in headless Chromium: DOM, screenshot and PDF.

    Runs Chromium three times in parallel, each with its own throw-away profile under
    ``tmp_dir`` (deleted afterwards; the PNG and PDF are written there too): ``--dump-dom``,
    ``--screenshot`` at ``width`` x ``height`` CSS pixels (scale 1, sRGB), and
    ``--print-to-pdf`` without header and footer. Each run times out after 60 s.

    Raises
    ------
    ChromiumError
        When Chromium is missing, fails, times out or writes no output; the message
        carries its stderr.
    """
    browser = chromium or find_chromium()
    if browser is None:
        raise ChromiumError(f"no Chromium on PATH (looked for {', '.join(CHROMIUM_NAMES)})")
    url = path.resolve().as_uri()
    png = tmp_dir / f"{path.stem}.png"
    pdf = tmp_dir / f"{path.stem}.pdf"
    for stale in (png, pdf):
        stale.unlink(missing_ok=True)
    jobs = {
        "dom": ["--dump-dom"],
        "png": [f"--screenshot={png}", f"--window-size={width},{height}"],
        "pdf": [f"--print-to-pdf={pdf}", "--no-pdf-header-footer"],
    }
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = {
            name: pool.submit(_run, browser, args, tmp_dir / f"profile-{name}", url)
            for name, args in jobs.items()
        }
        results = {name: future.result() for name, future in futures.items()}
    for name, output in (("png", png), ("pdf", pdf)):
        if not output.is_file() or output.stat().st_size == 0:
            raise ChromiumError(f"chromium wrote no {name} to {output}\n{results[name][1]}")
    dom = results["dom"][0]
    if "<" not in dom:
        raise ChromiumError(f"chromium dumped no DOM\n{results['dom'][1]}")
    png_width, png_height, pixels = decode_png(png.read_bytes())
    return RenderedPage(
        dom=dom,
        png_size=(png_width, png_height),
        pixels=pixels,
        pdf_bytes=pdf.stat().st_size,
        png_path=png,
        pdf_path=pdf,
    )
