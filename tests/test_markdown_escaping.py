"""Hostile strings in tag values, names and file names never reach Markdown or annotations raw.

The report's Markdown and the gate's pull-request comment are rendered by GitHub (or a
wiki): a tag value, pool name or file name must show as the text it is, never as HTML,
a link, an image, a heading or extra table cells. The Markdown is rendered here with
markdown-it (CommonMark with raw HTML allowed, plus GFM tables and strikethrough: what
GitHub does before sanitising) to check what a reader would get.
"""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from spotadvisor.cli import app
from spotadvisor.render.escape import annotation_message, annotation_property, markdown_text
from spotadvisor.render.markdown import render_markdown
from spotadvisor.render.report_text import render_report_markdown
from spotadvisor.report import InterruptionEvent, Month, ReportQuery, build_report
from spotadvisor.report.engine import DuckDBEngine
from spotadvisor.report.sql import store_source
from spotadvisor.store import Store
from tests.conftest import FIXTURES
from tests.report import synthetic as s

markdown_it = pytest.importorskip("markdown_it")  # rich's dependency
runner = CliRunner()
GATE = FIXTURES / "gate"

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
HEADING = "\n# injected"
JS_LINK = "[x](javascript:alert(1))"
REMOTE_IMAGE = "![](https://evil/x.png)"
PIPE = "a|b"
HOSTILE = [SCRIPT, IMG, HEADING, JS_LINK, REMOTE_IMAGE, PIPE]
# what must never appear in the Markdown source: each raw form, and its dangerous core
RAW = [*HOSTILE, "<script", "<img", "javascript:", "!["]

# Tags markdown-it may produce from spotadvisor's own Markdown; anything else came from data.
ALLOWED_TAGS = {
    *("h1", "h2", "h3", "p", "ul", "li", "strong", "em", "code", "hr", "details", "summary"),
    *("table", "thead", "tbody", "tr", "th", "td"),
}
ALIGN = re.compile(r"text-align:(left|right|center)")


def _render(text: str) -> str:
    md = markdown_it.MarkdownIt("commonmark").enable("table").enable("strikethrough")
    return str(md.render(text))


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.headings: list[str] = []
        self._in_heading = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))
        self._in_heading = tag in {"h1", "h2", "h3", "h4", "h5", "h6"}
        if self._in_heading:
            self.headings.append("")

    def handle_endtag(self, tag: str) -> None:
        self._in_heading = False if tag.startswith("h") else self._in_heading

    def handle_data(self, data: str) -> None:
        if self._in_heading:
            self.headings[-1] += data


def _html_tags(markdown: str) -> _Tags:
    parser = _Tags()
    parser.feed(_render(markdown))
    return parser


def assert_safe(markdown: str) -> _Tags:
    """No raw hostile form in the source; only spotadvisor's own tags once rendered."""
    for raw in RAW:
        assert raw not in markdown, raw
    assert not re.search(r"^\s*#+ injected", markdown, re.MULTILINE)
    assert not re.search(r"(?<!\\)\]\(", markdown)  # a link or image target
    parsed = _html_tags(markdown)
    assert {tag for tag, _ in parsed.tags} <= ALLOWED_TAGS
    # no href, src, onerror...: only the alignment of table columns
    attributes = [(name, value) for _, attrs in parsed.tags for name, value in attrs]
    assert all(name == "style" and ALIGN.fullmatch(value or "") for name, value in attributes)
    assert not [h for h in parsed.headings if "injected" in h]
    return parsed


# --- the escaping functions -----------------------------------------------------------


@pytest.mark.parametrize("text", [*HOSTILE, "javascript:alert(1)", "JaVaScRiPt:x"], ids=repr)
def test_markdown_text_shows_hostile_strings_as_text(text: str) -> None:
    escaped = markdown_text(text)
    assert "\n" not in escaped and "\r" not in escaped
    cell = render_markdown(["h"], [[text]])
    assert_safe(cell)
    # the cell's rendered text is the original, line break as a space
    shown = re.search(r"<td>(.*)</td>", _render(cell), re.DOTALL)
    assert shown is not None
    assert html.unescape(shown.group(1)) == text.replace("\n", " ").strip()


@pytest.mark.parametrize(
    "text",
    [
        "__init__ *bold* `code` ~~gone~~ R&D &amp; <5% >20% spot_price_floor_10pct",
        "back\\slash\\ and \\| and \\",
        "tab\there\r\nCRLF\rCR\u2028LS\x00NUL",
        "<!-- comment --> <https://evil> <a href='x'>y</a>",
        "&#60;script&#62; &lt;b&gt;",
    ],
    ids=repr,
)
def test_markdown_text_renders_as_itself(text: str) -> None:
    cell = render_markdown(["h"], [[text]])
    assert_safe(cell)
    shown = re.search(r"<td>(.*)</td>", _render(cell), re.DOTALL)
    assert shown is not None
    expected = re.sub("\r\n|[\r\n\u2028]", " ", text).replace("\t", " ").replace("\x00", "")
    assert html.unescape(shown.group(1)) == expected.strip()


def test_plain_values_are_left_as_they_are() -> None:
    for text in ("p5.48xlarge", "us-east-1", "$1,234.50", "-$5.00", "+23%", ">20%", "<5%",
                 "spot_price_floor_10pct", "Standard_NC4as_T4_v3", "team, model",
                 "2× spot aws p5.48xlarge us-east-1 (use1-az1); +1 spare spot"):  # fmt: skip
        assert markdown_text(text) == text


def test_a_pipe_stays_in_its_cell() -> None:
    table = render_markdown(["Key", "Spend"], [[PIPE, "$1.00"], ["x\\|y", "$2.00"]])
    html_text = _render(table)
    assert html_text.count("<td>") == 4
    assert "<td>a|b</td>" in html_text and "<td>x\\|y</td>" in html_text


def test_annotation_escaping_follows_actions_core() -> None:
    assert annotation_property("file,name:1.yaml") == "file%2Cname%3A1.yaml"
    assert annotation_property("50%\r\n") == "50%25%0D%0A"
    assert annotation_message("a:b, 50%\nnext") == "a:b, 50%25%0Anext"


# --- the report -----------------------------------------------------------------------

HOSTILE_TEAMS = [SCRIPT, IMG, "ml" + HEADING, JS_LINK, REMOTE_IMAGE, PIPE]


def _hostile_month(folder: Path) -> Path:
    """The synthetic month with hostile team tags, resource ids and spot-tag values."""
    resources = tuple(
        s.Resource(
            resource_id=f"i-{i}{bad}",
            instance_type="g5.xlarge",
            market="spot" if i % 2 else "on-demand",
            rate=1.0,
            list_rate=1.006,
            tags={"team": bad, "model": REMOTE_IMAGE} if i < 4 else {"lifecycle": bad},
        )
        for i, bad in enumerate(HOSTILE_TEAMS)
    )
    return s.write_month(folder / "hostile.csv", resources)


@pytest.fixture(scope="module")
def hostile_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    db = folder / f"{IMG}.duckdb"  # the store's file name shows as the report's source
    result = runner.invoke(app, ["--db", str(db), "data", "import", str(_hostile_month(folder))])
    assert result.exit_code == 0, result.stderr
    return db


def test_report_markdown_escapes_tags_and_resource_ids(hostile_store: Path) -> None:
    result = runner.invoke(
        app,
        [
            *("--db", str(hostile_store), "report", "--month", "2026-10", "-f", "markdown"),
            *("--tag", "team", "--tag", "model", "--spot-tag", "lifecycle"),
            *("--max-recommendations", "0"),
        ],
    )
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    parsed = assert_safe(text)
    # the values are all there, as text
    doc = json.loads(
        runner.invoke(
            app,
            [
                *("--db", str(hostile_store), "report", "--month", "2026-10", "-f", "json"),
                *("--tag", "team", "--max-recommendations", "0"),
            ],
        ).stdout
    )
    keys = {row["key"] for row in doc["tables"]["by_tag_team"]}
    assert {SCRIPT, IMG, JS_LINK} <= keys  # the data is unchanged; only the Markdown escapes
    rendered = _render(text)
    for team in (SCRIPT, IMG, JS_LINK, REMOTE_IMAGE):
        assert team.replace("<", "&lt;").replace(">", "&gt;") in rendered
    # headings are spotadvisor's own
    assert parsed.headings[0] == "GPU spend report: October 2026"
    assert all("injected" not in h for h in parsed.headings)
    # the tag table keeps eight columns in every row (no cell split by a pipe)
    team_table = text.split("### By tag team\n", 1)[1].split("\n\n", 1)[0]
    assert all(line.count(" | ") == 7 for line in team_table.splitlines() if line)


def test_report_interruptions_escape_sources_and_pools(hostile_store: Path) -> None:
    query = ReportQuery(Month(2026, 10), ("team",), None, "gpu")
    events = [
        InterruptionEvent(
            cloud="aws",
            notice_time=datetime(2026, 10, 3, tzinfo=UTC),
            action="terminate",
            source=f"watch log {IMG}{HEADING}.jsonl",
            region="us-east-1",
            zone=None,
            instance_type=SCRIPT,
            instance_id=JS_LINK,
        )
    ]
    report = build_report(
        DuckDBEngine(hostile_store),
        store_source(query),
        query,
        Store(hostile_store),
        opportunities=None,
        interruption_events=events,
    )
    text = render_report_markdown(report)
    assert_safe(text)
    section = text.split("## Interruptions\n", 1)[1]
    assert "&lt;img src=x onerror=alert(1)> # injected.jsonl" in section
    assert "| aws | us-east-1 | &lt;script>alert(1)&lt;/script> | 1 |" in section


# --- the gate -------------------------------------------------------------------------


def _hostile_plan(folder: Path, name: str) -> Path:
    """The gate's risky fleet under a hostile file name, with a hostile instance name."""
    text = (GATE / "risky.yaml").read_text(encoding="utf-8")
    bad = json.dumps(f"p4d{SCRIPT}{HEADING}{PIPE}")  # a YAML double-quoted string
    text = text.replace(
        "zone: use1-az1, instance: p4d.24xlarge", f"zone: use1-az1, instance: {bad}"
    )
    assert bad in text
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


PLAN_NAME = f"{IMG} {JS_LINK}{HEADING} {PIPE} file,name:1.yaml"


def _gate(plan: Path, fmt: str, *extra: str) -> str:
    result = runner.invoke(
        app,
        [
            *("gate", str(plan), "--baseline", str(GATE / "base.yaml")),
            *("--policy", str(GATE / "policy.yaml"), "-f", fmt, *extra),
        ],
    )
    assert result.exit_code == 1, result.stderr
    return result.stdout


def test_gate_comment_escapes_file_and_pool_names(tmp_path: Path) -> None:
    plan = _hostile_plan(tmp_path, PLAN_NAME)
    text = _gate(plan, "markdown", "--scenario", "zone-outage:any")
    assert_safe(text)
    assert text.startswith("### spotadvisor gate: ❌")
    # the pool table keeps four columns
    pools = text.split("| Pool | Replicas |", 1)[1].split("\n\n", 1)[0]
    assert all(line.count(" | ") == 3 for line in pools.splitlines()[2:] if line)


def test_gate_annotations_escape_properties_and_messages(tmp_path: Path) -> None:
    plan = _hostile_plan(tmp_path, PLAN_NAME)
    out = _gate(plan, "github")
    lines = out.splitlines()
    assert len(lines) == 4  # three failing rules and the notice: no line broken by a newline
    command = re.compile(r"^::(error|warning|notice) file=([^,:]*),title=([^,:]*)::(.*)$")
    decode = {"%25": "%", "%0D": "\r", "%0A": "\n", "%3A": ":", "%2C": ","}
    for line in lines:
        match = command.match(line)
        assert match is not None, line
        file = re.sub("%(25|0D|0A|3A|2C)", lambda m: decode[m.group(0)], match.group(2))
        assert file == str(plan)
        assert "\n" not in match.group(4)
    assert "file,name:1.yaml" not in out and "file%2Cname%3A1.yaml" in out
