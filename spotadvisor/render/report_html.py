"""The report as one self-contained HTML file: inline CSS and SVG, no scripts, no network.

Printing is a first-class use (reports get attached to tickets as PDFs), so the page
has print rules: no background colours needed to read it, charts kept whole on a page.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from spotadvisor.render.charts import MARKET_COLORS, horizontal_bars, stacked_bars, waterfall
from spotadvisor.render.report_tables import (
    breakdowns,
    coverage_frame,
    interruption_section,
    market_title,
    money,
    share,
    summary_lines,
)
from spotadvisor.render.report_text import (
    BREAKDOWN_HEADERS,
    BREAKDOWN_RIGHT,
    breakdown_rows,
    no_opportunities,
    offender_rows,
    opportunity_rows,
    period_text,
    title,
    weekly_rows,
)
from spotadvisor.render.values import is_missing
from spotadvisor.report.model import MARKETS, Report

_CSS = """
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222;
  margin: 2rem auto; max-width: 1100px; padding: 0 1.5rem; }
h1 { font-size: 1.7rem; margin-bottom: .2rem; }
h2 { font-size: 1.25rem; border-bottom: 2px solid #333f4c; padding-bottom: .2rem;
  margin-top: 2.2rem; }
h3 { font-size: 1.05rem; margin-top: 1.4rem; }
.meta { color: #555; margin-top: 0; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(190px, 1fr));
  gap: .8rem; margin: 1.2rem 0; }
.card { border: 1px solid #ccd; border-radius: 6px; padding: .7rem .9rem; }
.card .value { font-size: 1.45rem; font-weight: 650; }
.card .label { color: #555; font-size: .85rem; }
table { border-collapse: collapse; width: 100%; margin: .6rem 0 1rem; font-size: .9rem; }
th, td { padding: .3rem .55rem; border-bottom: 1px solid #ddd; text-align: left;
  vertical-align: top; }
th { border-bottom: 2px solid #999; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
figure.chart { margin: 1rem 0 1.5rem; break-inside: avoid; page-break-inside: avoid; }
figure.chart svg { width: 100%; height: auto; max-width: 900px; display: block; }
figcaption { color: #555; font-size: .85rem; }
ul.notes li { margin-bottom: .3rem; }
footer { color: #666; font-size: .8rem; margin-top: 2.5rem; border-top: 1px solid #ccc;
  padding-top: .5rem; }
@media print {
  body { margin: 0; max-width: none; font-size: 11px; }
  h2 { break-after: avoid; }
  table, .cards { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
"""


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool]) -> str:
    def cell(tag: str, text: str, i: int) -> str:
        css = ' class="num"' if i < len(right) and right[i] else ""
        return f"<{tag}{css}>{escape(text)}</{tag}>"

    head = "".join(cell("th", h, i) for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(cell("td", c, i) for i, c in enumerate(row)) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _figure(svg: str, caption: str, name: str) -> str:
    return (
        f'<figure class="chart" id="chart-{name}">{svg}'
        f"<figcaption>{escape(caption)}</figcaption></figure>"
    )


def _cards(report: Report) -> str:
    h, s, cur = report.headline, report.savings, report.currency
    items = [
        ("Spend", money(h.cost, cur)),
        ("Change from last month", "–" if h.change is None else f"{100 * h.change:+.0f}%"),
        (
            "Spot share of GPU hours" if h.gpu_hours else "Spot share of hours",
            share(h.spot_hours_share),
        ),
        ("Realised savings", money(s.spot + s.committed, cur)),
        ("Left on the table", money(s.left_on_table, cur)),
        ("Untagged spend", share(report.hygiene.untagged_share)),
    ]
    return (
        '<div class="cards">'
        + "".join(
            f'<div class="card"><div class="value">{escape(v)}</div>'
            f'<div class="label">{escape(k)}</div></div>'
            for k, v in items
        )
        + "</div>"
    )


def _charts_spend(report: Report) -> str:
    weekly = report.weekly
    svg = stacked_bars(
        list(weekly["label"]),
        {market_title(m): [float(v) for v in weekly[m]] for m in MARKETS},
        title=f"Spend by week and market ({report.currency})",
        unit=report.currency,
        colors={market_title(m): MARKET_COLORS[m] for m in MARKETS},
    )
    return _figure(svg, "Weeks are days 1–7, 8–14, 15–21, 22–28 and 29 to the end.", "weekly")


def _chart_spot_by_team(report: Report) -> str:
    key = report.team_tag
    if key is None or key not in report.by_tag:
        return ""
    frame = report.by_tag[key].head(15)
    labels = [str(k) for k in frame["key"]]
    values = [0.0 if is_missing(v) else float(v) for v in frame["spot_hours_share"]]
    svg = horizontal_bars(
        labels,
        values,
        title=f"Spot share of hours by {key}",
        value_format=lambda v: f"{100 * v:.0f}%",
        max_value=1.0,
        color=MARKET_COLORS["spot"],
    )
    more = (
        f" (the 15 with most spend of {len(report.by_tag[key])})"
        if len(report.by_tag[key]) > 15
        else ""
    )
    return _figure(
        svg,
        f"Share of GPU hours (instance hours where no GPUs) on spot, by {key}{more}.",
        "spot-by-team",
    )


def _chart_waterfall(report: Report) -> str:
    svg = waterfall(
        report.savings.waterfall(),
        title=f"From on-demand prices to what the month could have cost ({report.currency})",
        unit=report.currency,
    )
    return _figure(
        svg,
        "On-demand equivalent is the usage at public on-demand prices; left on the table is "
        "what the recommended mixes would have saved within the SLA risk budget.",
        "waterfall",
    )


def render_report_html(report: Report) -> str:
    """The report as a standalone HTML document."""
    cur = report.currency
    head = escape(title(report))
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{head}</title><style>{_CSS}</style></head><body>",
        f"<h1>{head}</h1>",
        f'<p class="meta">{escape(period_text(report))} (UTC) · {escape(report.scope)} scope · '
        f"figures in {escape(cur)} · data: {escape(report.source)}</p>",
        _cards(report),
        "<h2>Summary</h2><ul>",
        *(f"<li>{escape(line)}</li>" for line in summary_lines(report)),
        "</ul>",
        "<h2>Spend</h2>",
        _charts_spend(report),
    ]
    for _, heading, frame in breakdowns(report):
        parts.append(f"<h3>{escape(heading)}</h3>")
        if frame.empty:
            parts.append("<p>No spend in scope.</p>")
            continue
        headers = [heading.removeprefix("By ").capitalize(), *BREAKDOWN_HEADERS[1:]]
        parts.append(_table(headers, breakdown_rows(frame, cur), BREAKDOWN_RIGHT))
    headers, rows = weekly_rows(report)
    parts += ["<h3>By week and market</h3>", _table(headers, rows, [False, *([True] * 5)])]
    parts += ["<h2>Spot share</h2>", _chart_spot_by_team(report) or "<p>No tag to group by.</p>"]
    parts += ["<h2>Savings</h2>", _chart_waterfall(report)]
    parts.append(
        _table(
            ["Step", "Amount"],
            [[label, money(amount, cur)] for label, amount, _ in report.savings.waterfall()],
            [False, True],
        )
    )
    parts.append("<h3>Savings left on the table</h3>")
    if report.opportunities:
        headers, rows = opportunity_rows(report)
        parts.append(_table(headers, rows, [False] * 4 + [True, True, False] + [True] * 3))
    else:
        parts.append(f"<p>{escape(no_opportunities(report))}</p>")
    parts.append("<h2>Tag hygiene</h2>")
    coverage = coverage_frame(report)
    parts.append(
        _table(
            ["Spend", "Amount", "Share"],
            [[str(r.measure), money(r.cost, cur), share(r.share)] for r in coverage.itertuples()],
            [False, True, True],
        )
    )
    hygiene = report.hygiene
    if not hygiene.offenders.empty:
        parts.append("<h3>Top untagged resources</h3>")
        parts.append(
            _table(
                ["Cloud", "Resource", "Type", "Region", "Spend", "Missing"],
                offender_rows(hygiene.offenders, cur, missing=True),
                [False] * 4 + [True, False],
            )
        )
    if hygiene.spot_tag is None:
        parts.append("<p>Spot tagging not checked: give --spot-tag KEY[=VALUE] to check it.</p>")
    elif not hygiene.spot_offenders.empty:
        parts.append(f"<h3>Spot resources without the tag {escape(str(hygiene.spot_tag))}</h3>")
        parts.append(
            _table(
                ["Cloud", "Resource", "Type", "Region", "Spend"],
                offender_rows(hygiene.spot_offenders, cur, missing=False),
                [False] * 4 + [True],
            )
        )
    parts.append("<h2>Interruptions</h2>")
    sentence, headers, rows = interruption_section(report)
    parts.append(f"<p>{escape(sentence)}</p>")
    if rows:
        parts.append(_table(headers, rows, [False] * 3 + [True] * 4))
    if report.notes:
        parts.append('<h2>Notes</h2><ul class="notes">')
        parts += [f"<li>{escape(n)}</li>" for n in report.notes]
        parts.append("</ul>")
    stats = report.stats
    scanned = f", {stats.bytes_scanned / 1e9:,.2f} GB scanned" if stats.bytes_scanned else ""
    parts.append(
        f"<footer>{stats.queries} queries{scanned}. Generated by spotadvisor on "
        f"{report.generated_at:%Y-%m-%d %H:%M} UTC.</footer></body></html>\n"
    )
    return "\n".join(parts)
