"""The report as named tables (CSV, JSON) and the text shared by Markdown and HTML."""

from __future__ import annotations

from typing import Any

import pandas as pd

from spotadvisor.render.values import is_missing, plain
from spotadvisor.report.model import Opportunity, Report

SCOPE_WORDS = {"gpu": "GPU", "compute": "compute", "all": "cloud"}


def money(value: Any, currency: str) -> str:
    """``$1,234.50`` for USD, ``1,234.50 EUR`` otherwise; ``unknown`` when missing."""
    if is_missing(value):
        return "unknown"
    v = float(value)
    v = round(v, 2) + 0.0  # no "-$0.00" for rounding dust or -0.0
    if currency == "USD":
        return f"-${-v:,.2f}" if v < 0 else f"${v:,.2f}"
    return f"{v:,.2f} {currency}"


def share(value: Any, digits: int = 0) -> str:
    """A fraction as a percentage, ``–`` when unknown."""
    return "–" if is_missing(value) else f"{100 * float(value):.{digits}f}%"


def change(value: Any) -> str:
    """A relative change with its sign, ``–`` when unknown."""
    return "–" if is_missing(value) else f"{100 * float(value):+.0f}%"


def hours(value: Any) -> str:
    """Hours with thousands separators."""
    v = 0.0 if is_missing(value) else float(value)
    return f"{v:,.0f}" if v >= 100 else f"{v:,.1f}"


def breakdowns(report: Report) -> list[tuple[str, str, pd.DataFrame]]:
    """(table name, title, frame) of every breakdown in display order."""
    out = [
        ("by_cloud", "By cloud", report.by_cloud),
        ("by_region", "By region", report.by_region),
        ("by_instance_type", "By instance type", report.by_instance_type),
    ]
    for key, frame in report.by_tag.items():
        out.append((f"by_tag_{key}", f"By tag {key}", frame))
    return out


def opportunities_frame(report: Report) -> pd.DataFrame:
    """Savings left on the table, one row per on-demand GPU group."""
    columns = list(Opportunity.__dataclass_fields__)
    return pd.DataFrame(
        [[getattr(o, c) for c in columns] for o in report.opportunities], columns=columns
    )


def waterfall_frame(report: Report) -> pd.DataFrame:
    """The savings waterfall as (step, amount, kind)."""
    return pd.DataFrame(report.savings.waterfall(), columns=["step", "amount", "kind"])


def coverage_frame(report: Report) -> pd.DataFrame:
    """Tag coverage of spend: fully, partly and not tagged, and missing per tag."""
    h = report.hygiene
    rows = [
        ("fully tagged", h.fully_tagged),
        ("partly tagged", h.partly_tagged),
        ("untagged", h.untagged),
        *((f"missing {key}", amount) for key, amount in h.missing_by_tag.items()),
    ]
    if h.spot_tag is not None:
        rows.append((f"spot without tag {h.spot_tag}", h.spot_untagged))
        rows.append((f"tag {h.spot_tag} not on spot", h.tagged_not_spot))
    total = h.fully_tagged + h.partly_tagged + h.untagged
    frame = pd.DataFrame(rows, columns=["measure", "cost"])
    frame["share"] = frame["cost"] / total if total else float("nan")
    return frame


def tables(report: Report) -> dict[str, pd.DataFrame]:
    """Every table of the report by name (the CSV files and JSON arrays)."""
    out = {name: frame for name, _, frame in breakdowns(report)}
    out["weekly"] = report.weekly
    out["savings"] = waterfall_frame(report)
    out["opportunities"] = opportunities_frame(report)
    out["tag_coverage"] = coverage_frame(report)
    out["untagged_resources"] = report.hygiene.offenders
    out["spot_untagged_resources"] = report.hygiene.spot_offenders
    if report.interruptions is not None:
        out["interruptions"] = report.interruptions.by_pool
    return out


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-safe dicts (NaN -> None)."""
    return [{str(k): plain(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


def summary_lines(report: Report) -> list[str]:
    """The summary as sentences, the same in Markdown and HTML."""
    h, s, hy, cur = report.headline, report.savings, report.hygiene, report.currency
    what = SCOPE_WORDS[report.scope]
    before = report.month.previous.title
    if h.previous_cost is None:
        trend = f"no data for {before}"
    elif h.change is None:
        trend = f"{money(h.previous_cost, cur)} in {before}"
    else:
        trend = f"{change(h.change)} from {money(h.previous_cost, cur)} in {before}"
    unit = "GPU hours" if h.gpu_hours > 0 else "instance hours"
    used = h.gpu_hours if h.gpu_hours > 0 else h.instance_hours
    lines = [
        f"{what[:1].upper()}{what[1:]} spend: {money(h.cost, cur)} ({trend})",
        f"Spot share: {share(h.spot_hours_share)} of {hours(used)} {unit}, "
        f"{share(h.spot_cost_share)} of spend",
        f"Realised savings: {money(s.spot, cur)} from spot and {money(s.committed, cur)} "
        f"from commitments, against {money(s.on_demand_equivalent, cur)} at on-demand prices",
        f"Left on the table: {money(s.left_on_table, cur)} by moving on-demand GPU usage to "
        f"the recommended spot mixes ({len(report.opportunities)} group(s) evaluated)"
        if report.recommendations
        else "Left on the table: not evaluated (recommendations were turned off)",
    ]
    if hy.tags:
        lines.append(
            f"Tag hygiene: {share(hy.untagged_share)} of spend has none of "
            f"{', '.join(hy.tags)}; {share(hy.partly_tagged_share)} has some of them"
        )
    if hy.spot_tag is not None:
        lines.append(
            f"Spot spend without the tag {hy.spot_tag}: {money(hy.spot_untagged, cur)}; "
            f"spend tagged {hy.spot_tag} but not on spot: {money(hy.tagged_not_spot, cur)}"
        )
    return lines


def interruption_section(report: Report) -> tuple[str, list[str], list[list[str]]]:
    """The interruptions section as (sentence, table headers, table rows).

    The rate is termination notices per spot instance-month (730 h of spot usage in the
    billing data for the same pool), with its exact 95 % interval.
    """
    found = report.interruptions
    if found is None:
        return INTERRUPTIONS_MISSING, [], []
    where = ", ".join(found.sources) if found.sources else "the events given"
    if not found.events:
        return f"No termination notices in {report.month.title} ({where}).", [], []
    sentence = (
        f"{found.events} termination notice(s) on {found.instances} instance(s) in "
        f"{report.month.title} (from {where})."
    )
    headers = ["Cloud", "Region", "Type", "Notices", "Instances", "Spot hours", "Per month"]
    rows = [
        [
            str(r.cloud),
            str(r.region),
            str(r.instance_type),
            str(r.interruptions),
            str(r.instances),
            "–" if is_missing(r.spot_instance_hours) else hours(r.spot_instance_hours),
            "no spot hours billed"
            if is_missing(r.per_instance_month)
            else f"{r.per_instance_month:.2f} ({r.per_instance_month_low:.2f}–"
            f"{r.per_instance_month_high:.2f})",
        ]
        for r in found.by_pool.itertuples()
    ]
    return sentence, headers, rows


INTERRUPTIONS_MISSING = (
    "No interruption data given. Collect the fleet's events with `spotadvisor events "
    "collect` (or import `spotadvisor watch --log` files with `spotadvisor events import` "
    "or --watch-log FILE) to count this month's interruptions per pool."
)


def market_title(market: str) -> str:
    """``on-demand`` -> ``On-demand``."""
    return market[:1].upper() + market[1:]
