"""How a gate result looks: PR-comment Markdown, GitHub annotations, JUnit XML, JSON, table rows.

File names, pool names, scenario labels and rule messages come from the user's files: in
the Markdown they go through :func:`~spotadvisor.render.escape.markdown_text` and in
annotations through :func:`~spotadvisor.render.escape.annotation_property` (``file=``,
``title=``) and :func:`~spotadvisor.render.escape.annotation_message`.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape, quoteattr

from spotadvisor import __version__
from spotadvisor.bands import band_text
from spotadvisor.gate.rules import RuleResult
from spotadvisor.gate.run import Change, GateReport
from spotadvisor.render.escape import annotation_message, annotation_property, markdown_text
from spotadvisor.render.scenarios import comparison_rows, scenario_document
from spotadvisor.render.simulation import metrics_document
from spotadvisor.render.values import plain
from spotadvisor.schema import SCHEMA_VERSION


def _value(change: Change, value: float | None) -> str:
    if value is None:
        return "—"
    if change.unit == "usd":
        return f"${value:,.0f}"
    if change.unit == "probability":
        return f"{100 * value:.3f}%" if change.name == "availability" else f"{100 * value:.1f}%"
    return f"{value:,.2f}"


def _difference(change: Change) -> str:
    if change.difference is None:
        return "new"
    d = change.difference
    if change.unit == "usd":
        text = f"{'+' if d >= 0 else '-'}${abs(d):,.0f}"
        if change.baseline:
            text += f" ({100 * d / change.baseline:+.1f}%)"
        return text
    if change.unit == "probability":
        digits = 3 if change.name == "availability" else 1
        return f"{100 * d:+.{digits}f} pts"
    return f"{d:+,.2f}"


def _significance(change: Change) -> str:
    if change.difference is None:
        return ""
    if change.difference == 0 and (change.stderr or 0) == 0:
        return "no change"
    return "yes" if change.significant else "no (within Monte Carlo error)"


def change_rows(report: GateReport) -> list[list[str]]:
    """Rows: figure, baseline, plan, change, significant."""
    return [
        [c.name, _value(c, c.baseline), _value(c, c.plan), _difference(c), _significance(c)]
        for c in report.changes
    ]


def headline(report: GateReport) -> str:
    """One line: pass or fail, how many rules failed or warned."""
    if report.failed:
        status = (
            f"❌ failed: {len(report.failed)} rule{'s' if len(report.failed) > 1 else ''} broken"
        )
    else:
        status = "✅ passed"
    if report.warnings:
        status += f", ⚠️ {len(report.warnings)} warning{'s' if len(report.warnings) > 1 else ''}"
    return status


def _age(report: GateReport) -> str:
    if report.data_as_of is None:
        return "every input given in the fleet file"
    days = (report.generated_at - report.data_as_of).days
    return f"oldest input data as of {report.data_as_of:%Y-%m-%d} ({days} days old)"


def _rule_line(result: RuleResult) -> str:
    mark = "❌" if result.level == "fail" else "⚠️"
    md = markdown_text
    return (
        f"- {mark} **{md(result.rule)}**: {md(result.message)} "
        f"(figure {md(result.figure)}, limit {md(result.limit)})"
    )


def _row(cells: list[str]) -> str:
    return f"| {' | '.join(markdown_text(c) for c in cells)} |"


def render_markdown(report: GateReport) -> str:
    """A pull-request comment: summary, violations first, before/after, collapsible details."""
    plan = report.plan
    cost = report.changes[0]
    breach = report.changes[1]
    lines = [
        f"### spotadvisor gate: {headline(report)}",
        "",
        f"Plan: {markdown_text(plan.label)} — {markdown_text(report.baseline_note)}.",
        "",
        f"**Monthly cost** {_value(cost, cost.baseline)} → {_value(cost, cost.plan)}, {_difference(cost)} · "
        f"**SLA breach probability** {_value(breach, breach.baseline)} → {_value(breach, breach.plan)}, "
        f"{_difference(breach)}",
        "",
    ]
    broken = [r for r in report.results if not r.passed]
    if broken:
        lines += ["**Violations**", "", *(_rule_line(r) for r in broken), ""]
    lines += [
        "| Figure | Baseline | Plan | Change | Significant |",
        "|---|---:|---:|---:|---|",
        *(_row(row) for row in change_rows(report)),
        "",
        *_scenario_markdown(report),
        "<details><summary>Details</summary>",
        "",
        "| Rule | Level | Result | Figure | Limit |",
        "|---|---|---|---|---|",
        *(
            _row(
                [
                    r.rule,
                    r.level,
                    "pass" if r.passed else "FAIL" if r.level == "fail" else "warn",
                    r.figure,
                    r.limit,
                ]
            )
            for r in report.results
        ),
        "",
        "| Pool | Replicas | $/replica-h | Interruption |",
        "|---|---:|---:|---|",
        *(_row(row) for row in pool_rows(report)),
        "",
        f"{report.trials:,} simulated months per fleet, seed {report.seed}, common random numbers; "
        f"{_age(report)}. spotadvisor {__version__}.",
        "",
        "</details>",
        "",
    ]
    return "\n".join(lines)


def pool_rows(report: GateReport) -> list[list[str]]:
    """The plan's pools."""
    rows = []
    for pool in report.plan.resolved.pools:
        m = pool.model
        if m.market != "spot":
            risk = "on demand"
        elif m.hazard.rate_per_hour is not None:
            risk = f"{m.hazard.rate_per_hour:.3g}/h"
        else:
            risk = f"{band_text(m.hazard.p_low, m.hazard.p_high)}/month"
        rows.append([m.name, str(m.count), f"${m.price_per_hour:,.4f}", risk])
    return rows


def render_github(report: GateReport) -> str:
    """GitHub Actions workflow commands: one annotation per broken rule, then a notice."""
    file = annotation_property(report.plan.label)
    out = []
    for r in report.results:
        if r.passed:
            continue
        kind = "error" if r.level == "fail" else "warning"
        title = annotation_property(f"spotadvisor gate {r.rule}")
        out.append(f"::{kind} file={file},title={title}::{annotation_message(r.message)}")
    out.append(
        f"::notice file={file},title=spotadvisor gate::{annotation_message(headline(report))}"
    )
    return "\n".join(out) + "\n"


def render_junit(report: GateReport) -> str:
    """JUnit XML: one test case per rule (failures for broken failing rules)."""
    cases = []
    for r in report.results:
        name = quoteattr(r.rule)
        body = ""
        if not r.passed and r.level == "fail":
            body = f'<failure message={quoteattr(r.message)} type="policy">{escape(f"figure {r.figure}, limit {r.limit}")}</failure>'
        elif not r.passed:
            body = f"<system-out>{escape('warning: ' + r.message)}</system-out>"
        cases.append(f'    <testcase classname="spotadvisor.gate" name={name}>{body}</testcase>')
    failures = len(report.failed)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<testsuites name="spotadvisor gate" tests="{len(report.results)}" failures="{failures}">\n'
        f'  <testsuite name={quoteattr(report.plan.label)} tests="{len(report.results)}" failures="{failures}">\n'
        + "\n".join(cases)
        + ("\n" if cases else "")
        + "  </testsuite>\n</testsuites>\n"
    )


def gate_document(report: GateReport) -> dict[str, Any]:
    """The JSON document."""
    return {
        "schema_version": SCHEMA_VERSION,
        "spotadvisor_version": __version__,
        "generated_at": report.generated_at.isoformat(),
        "passed": report.passed,
        "plan": report.plan.label,
        "baseline": report.baseline.label if report.baseline else None,
        "baseline_note": report.baseline_note,
        "seed": report.seed,
        "trials": report.trials,
        "data_as_of": report.data_as_of.isoformat() if report.data_as_of else None,
        "data": [t.provenance(report.generated_at) for t in report.data],
        "rules": [r.__dict__ for r in report.results],
        "changes": [{k: plain(v) for k, v in c.__dict__.items()} for c in report.changes],
        "plan_metrics": metrics_document(report.plan.metrics),
        "baseline_metrics": metrics_document(report.baseline.metrics) if report.baseline else None,
        "scenarios": [scenario_document(o) for o in report.scenarios],
    }


def scenario_table(report: GateReport) -> Any:
    """The plan beside each failure what-if, as a rich table."""
    from spotadvisor.render.table import build_table

    return build_table(
        "The plan under failure what-ifs (same seed and trials)",
        ["Metric", "Plan", *(o.spec.label for o in report.scenarios)],
        _scenario_rows(report),
        right=[False, True] + [True] * len(report.scenarios),
    )


def _scenario_rows(report: GateReport) -> list[list[str]]:
    budget = report.plan.resolved.fleet.sla.max_breach_probability
    horizon = report.plan.resolved.fleet.horizon_hours
    return comparison_rows(report.plan.metrics, report.scenarios, budget, horizon)


def _scenario_markdown(report: GateReport) -> list[str]:
    if not report.scenarios:
        return []
    header = ["Metric", "Plan", *(o.spec.label for o in report.scenarios)]
    return [
        "**Failure what-ifs**",
        "",
        _row(header),
        "|---|" + "---:|" * (len(header) - 1),
        *(_row(row) for row in _scenario_rows(report)),
        "",
    ]
