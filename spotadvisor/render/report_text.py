"""The report as Markdown (for a wiki or a ticket), JSON and CSV.

In the Markdown every string that comes from the billing data or the command line (tag
keys and values, resource ids, instance types, regions, currencies, the source, file
names of watch logs, notes) goes through
:func:`~spotadvisor.render.escape.markdown_text`; table cells are escaped by
:func:`~spotadvisor.render.markdown.render_markdown`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pandas as pd

from spotadvisor.render.csv import render_csv
from spotadvisor.render.escape import markdown_text
from spotadvisor.render.json import render_json
from spotadvisor.render.markdown import render_markdown
from spotadvisor.render.report_tables import (
    INTERRUPTIONS_MISSING,
    breakdowns,
    change,
    coverage_frame,
    hours,
    interruption_section,
    market_title,
    money,
    records,
    share,
    summary_lines,
    tables,
)
from spotadvisor.render.values import is_missing, plain
from spotadvisor.report.model import MARKETS, Report


def title(report: Report) -> str:
    """``GPU spend report: October 2026``."""
    what = {"gpu": "GPU", "compute": "Compute", "all": "Cloud"}[report.scope]
    return f"{what} spend report: {report.month.title}"


def period_text(report: Report) -> str:
    """``1–31 October 2026``."""
    return f"1\u2013{report.month.days} {report.month.title}"


def no_opportunities(report: Report) -> str:
    """What the savings-left section says when it has no rows."""
    if report.recommendations:
        return "No on-demand GPU usage this month."
    return "Not evaluated: recommendations were turned off (--max-recommendations 0)."


def breakdown_rows(frame: pd.DataFrame, currency: str) -> list[list[str]]:
    """Display rows of a breakdown table."""
    return [
        [
            str(r.key),
            money(r.cost, currency),
            "–" if is_missing(r.previous_cost) else money(r.previous_cost, currency),
            change(r.change),
            share(r.share),
            hours(r.gpu_hours),
            share(r.spot_hours_share),
            share(r.spot_cost_share),
        ]
        for r in frame.itertuples(index=False)
    ]


BREAKDOWN_HEADERS = [
    "",
    "Spend",
    "Previous month",
    "Change",
    "Share",
    "GPU hours",
    "Spot share of hours",
    "Spot share of spend",
]
BREAKDOWN_RIGHT = [False, *([True] * 7)]


def weekly_rows(report: Report) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of spend by week and market."""
    headers = ["Week", *(market_title(m) for m in MARKETS), "Total"]
    rows = [
        [
            str(r["label"]),
            *(money(r[m], report.currency) for m in MARKETS),
            money(sum(float(r[m]) for m in MARKETS), report.currency),
        ]
        for _, r in report.weekly.iterrows()
    ]
    return headers, rows


def opportunity_rows(report: Report) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of the savings-left-on-the-table table."""
    headers = [
        "Cloud",
        "Region",
        "Instance type",
        "GPUs",
        "On-demand hours",
        "On-demand spend",
        "Recommended mix",
        "Spot share",
        "SLA miss risk",
        "Saving",
    ]
    rows = [
        [
            o.provider,
            o.region,
            o.instance_type,
            o.gpu,
            hours(o.on_demand_hours),
            money(o.on_demand_cost, report.currency),
            o.mix or o.note,
            share(o.spot_share),
            share(o.breach_probability, 1),
            money(o.savings, report.currency),
        ]
        for o in report.opportunities
    ]
    return headers, rows


def offender_rows(frame: pd.DataFrame, currency: str, *, missing: bool) -> list[list[str]]:
    """Display rows of an offenders table."""
    return [
        [
            str(r.provider),
            str(r.resource_id or "(no resource id)"),
            str(r.instance_type or ""),
            str(r.region_id or ""),
            money(r.cost, currency),
            *([str(r.missing)] if missing else []),
        ]
        for r in frame.itertuples(index=False)
    ]


def render_report_markdown(report: Report) -> str:
    """The report as GitHub-flavoured Markdown."""
    md = markdown_text
    cur = report.currency
    parts = [
        f"# {title(report)}\n",
        f"{period_text(report)} (UTC), {md(report.scope)} scope, figures in {md(cur)}. "
        f"Data: {md(report.source)}.\n",
        "## Summary\n",
        "".join(f"- {md(line)}\n" for line in summary_lines(report)),
    ]
    parts.append("## Spend\n")
    for _, heading, frame in breakdowns(report):
        parts.append(f"### {md(heading)}\n")
        if frame.empty:
            parts.append("No spend in scope.\n")
            continue
        headers = [heading.removeprefix("By ").capitalize(), *BREAKDOWN_HEADERS[1:]]
        parts.append(render_markdown(headers, breakdown_rows(frame, cur), right=BREAKDOWN_RIGHT))
    headers, rows = weekly_rows(report)
    parts += [
        "### By week and market\n",
        render_markdown(headers, rows, right=[False, *([True] * 5)]),
    ]
    parts.append("## Savings\n")
    steps = report.savings.waterfall()
    parts.append(
        render_markdown(
            ["Step", "Amount"],
            [[label, money(amount, cur)] for label, amount, _ in steps],
            right=[False, True],
        )
    )
    parts.append(
        "On-demand equivalent is the month's usage at public on-demand prices (the export's "
        "list cost). Left on the table is what the recommended mixes below would have "
        "saved on the on-demand GPU usage, within the SLA risk budget.\n"
    )
    parts.append("### Savings left on the table\n")
    if report.opportunities:
        headers, rows = opportunity_rows(report)
        parts.append(
            render_markdown(headers, rows, right=[False] * 4 + [True, True, False] + [True] * 3)
        )
    else:
        parts.append(no_opportunities(report) + "\n")
    parts.append("## Tag hygiene\n")
    coverage = coverage_frame(report)
    parts.append(
        render_markdown(
            ["Spend", "Amount", "Share"],
            [[str(r.measure), money(r.cost, cur), share(r.share)] for r in coverage.itertuples()],
            right=[False, True, True],
        )
    )
    hygiene = report.hygiene
    if not hygiene.offenders.empty:
        parts.append("### Top untagged resources\n")
        parts.append(
            render_markdown(
                ["Cloud", "Resource", "Type", "Region", "Spend", "Missing"],
                offender_rows(hygiene.offenders, cur, missing=True),
                right=[False] * 4 + [True, False],
            )
        )
    if hygiene.spot_tag is None:
        parts.append("Spot tagging not checked: give --spot-tag KEY[=VALUE] to check it.\n")
    elif not hygiene.spot_offenders.empty:
        parts.append(f"### Spot resources without the tag {md(hygiene.spot_tag)}\n")
        parts.append(
            render_markdown(
                ["Cloud", "Resource", "Type", "Region", "Spend"],
                offender_rows(hygiene.spot_offenders, cur, missing=False),
                right=[False] * 4 + [True],
            )
        )
    parts.append("## Interruptions\n")
    sentence, headers, rows = interruption_section(report)
    # the fixed sentence's code spans are spotadvisor's own; others name the user's files
    parts.append((sentence if sentence == INTERRUPTIONS_MISSING else md(sentence)) + "\n")
    if rows:
        parts.append(render_markdown(headers, rows, right=[False] * 3 + [True] * 4))
    if report.notes:
        parts.append("## Notes\n")
        parts.append("".join(f"- {md(n)}\n" for n in report.notes))
    stats = report.stats
    scanned = f", {stats.bytes_scanned / 1e9:,.2f} GB scanned" if stats.bytes_scanned else ""
    parts.append(
        f"---\n{stats.queries} queries{scanned}. Generated by spotadvisor on "
        f"{report.generated_at:%Y-%m-%d %H:%M} UTC.\n"
    )
    return "\n".join(parts)


def report_document(report: Report) -> dict[str, Any]:
    """The report as a JSON-safe document."""
    h = report.headline
    return {
        "month": report.month.label,
        "currency": report.currency,
        "scope": report.scope,
        "tags": list(report.tags),
        "source": report.source,
        "generated_at": report.generated_at.isoformat(),
        "headline": {
            **{k: plain(v) for k, v in dataclasses.asdict(h).items()},
            "change": plain(h.change),
            "spot_hours_share": plain(h.spot_hours_share),
            "spot_cost_share": plain(h.spot_cost_share),
        },
        "savings": {
            **{k: plain(v) for k, v in dataclasses.asdict(report.savings).items()},
            "achievable": report.savings.achievable,
        },
        "hygiene": {
            "tags": list(report.hygiene.tags),
            "fully_tagged": report.hygiene.fully_tagged,
            "partly_tagged": report.hygiene.partly_tagged,
            "untagged": report.hygiene.untagged,
            "untagged_share": plain(report.hygiene.untagged_share),
            "missing_by_tag": report.hygiene.missing_by_tag,
            "spot_tag": None if report.hygiene.spot_tag is None else str(report.hygiene.spot_tag),
            "spot_untagged": report.hygiene.spot_untagged,
            "tagged_not_spot": report.hygiene.tagged_not_spot,
        },
        "other_currencies": report.other_currencies,
        "notes": list(report.notes),
        "queries": {
            "count": report.stats.queries,
            "bytes_scanned": report.stats.bytes_scanned,
            "seconds": round(report.stats.seconds, 3),
        },
        "interruptions": None
        if report.interruptions is None
        else {
            "events": report.interruptions.events,
            "instances": report.interruptions.instances,
            "sources": list(report.interruptions.sources),
            "by_pool": records(report.interruptions.by_pool),
        },
        "tables": {name: records(frame) for name, frame in tables(report).items()},
    }


def render_report_json(report: Report) -> str:
    """The report as JSON."""
    return render_json(report_document(report))


def write_csv_tables(report: Report, folder: Path) -> list[Path]:
    """One CSV file per table in ``folder`` (created); returns the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in tables(report).items():
        path = folder / f"{name}.csv"
        path.write_text(render_csv(frame), encoding="utf-8")
        written.append(path)
    return written
