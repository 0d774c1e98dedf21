"""The HTML report opened in headless Chromium: it renders, its charts draw, it prints.

Skipped without Chromium unless SPOTADVISOR_REQUIRE_CHROMIUM=1 (set by .ci/run).
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from spotadvisor.cli import app
from spotadvisor.render.charts import MARKET_COLORS, WATERFALL_COLORS
from tests.browser import RenderedPage, render_html, require_chromium
from tests.report import synthetic

runner = CliRunner()


@pytest.fixture(scope="module")
def html_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("html")
    db = folder / "store.duckdb"
    csv = synthetic.write_month(folder / "focus.csv")
    assert runner.invoke(app, ["--db", str(db), "data", "import", str(csv)]).exit_code == 0
    out = folder / "october.html"
    result = runner.invoke(
        app,
        [
            "--db",
            str(db),
            "report",
            "--month",
            "2026-10",
            "--tag",
            "team,model",
            "--spot-tag",
            "lifecycle=spot",
            "--trials",
            "100",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def page(html_file: Path, tmp_path_factory: pytest.TempPathFactory) -> RenderedPage:
    require_chromium()
    return render_html(html_file, tmp_path_factory.mktemp("chromium"), width=1200, height=4200)


def test_the_file_needs_no_network(html_file: Path) -> None:
    text = html_file.read_text(encoding="utf-8")
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", text))
    assert urls <= {"http://www.w3.org/2000/svg"}, urls
    assert "<script" not in text and "<link" not in text and "@import" not in text


def test_chromium_renders_the_three_charts(page: RenderedPage) -> None:
    figures = {e["id"] for e in page.elements("figure")}
    assert {"chart-weekly", "chart-spot-by-team", "chart-waterfall"} <= figures
    assert len(page.elements("svg")) == 3
    bars = page.elements("rect", class_="bar")
    weekly = [b for b in bars if b.get("data-category")]
    assert len(weekly) == 5 * 4  # five weeks x four markets
    teams = [b for b in bars if b.get("data-label") and not b.get("data-kind")]
    assert sorted(str(b["data-label"]) for b in teams) == ["(untagged)", "llm", "search"]
    steps = [b for b in bars if b.get("data-kind")]
    assert len(steps) == 7 and steps[0]["data-label"] == "On-demand equivalent"


def test_the_charts_are_drawn_in_their_colours(page: RenderedPage) -> None:
    for color in (MARKET_COLORS["spot"], MARKET_COLORS["on-demand"], WATERFALL_COLORS["total"]):
        assert page.count_color(color, tolerance=2) > 500, color


def test_the_report_prints(page: RenderedPage) -> None:
    assert page.pdf_bytes > 10_000
    assert page.pdf_path.read_bytes().startswith(b"%PDF-")


def test_the_tables_are_in_the_page(page: RenderedPage) -> None:
    assert "GPU spend report: October 2026" in page.dom
    assert "Top untagged resources" in page.dom and "i-g6-ri-1" in page.dom
    assert len(page.elements("table")) >= 8


def test_html_escapes_what_it_shows(tmp_path: Path) -> None:
    """Tag values and resource ids come from bills: they must not become markup."""
    from spotadvisor.render.report_html import render_report_html
    from spotadvisor.report import Month, ReportQuery, build_report
    from spotadvisor.report.engine import DuckDBEngine
    from spotadvisor.report.sql import store_source
    from spotadvisor.store import Store

    rows = synthetic.OCTOBER
    evil = dataclasses.replace(rows[0], tags={"team": "<script>alert(1)</script>"})
    csv = synthetic.write_month(tmp_path / "focus.csv", (evil, *rows[1:]))
    db = tmp_path / "store.duckdb"
    assert runner.invoke(app, ["--db", str(db), "data", "import", str(csv)]).exit_code == 0
    query = ReportQuery(Month(2026, 10), ("team",), None, "gpu")
    report = build_report(
        DuckDBEngine(db), store_source(query), query, Store(db), opportunities=None
    )
    html = render_report_html(report)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
