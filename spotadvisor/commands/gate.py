"""``spotadvisor gate``: fail a CI build when a fleet change breaks the cost or risk budget."""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from spotadvisor.commands.common import (
    OUTPUT_OPTION,
    cli_state,
    emit,
    handle_errors,
    note,
    split_values,
)

if TYPE_CHECKING:
    from spotadvisor.gate.run import GateReport


class GateFormat(StrEnum):
    """Formats of ``gate``."""

    table = "table"
    json = "json"
    markdown = "markdown"
    github = "github"
    junit = "junit"


EPILOG = (
    "The plan and its baseline (a file, or the same path at a git revision) are simulated "
    "with the same seed and trials, so their difference is the change, not Monte Carlo "
    "noise; each difference says whether it is significant. Rules come from --policy FILE "
    "and flags (flags win); warn_* rules in the policy file never fail the build.\n\n"
    "Exit codes: 0 passed (warnings allowed), 1 a rule failed, 2 bad input, 3 data missing "
    "or older than --max-data-age.\n\n"
    "Examples:\n\n"
    "  spotadvisor gate fleet.yaml --baseline-ref origin/main --max-increase 10% --max-breach-probability 0.05\n\n"
    "  spotadvisor gate fleet.yaml --policy gate.yaml --format markdown -o comment.md\n\n"
    "  spotadvisor gate fleet.yaml --baseline-ref origin/main --policy gate.yaml --format github"
)


@handle_errors
def gate(
    ctx: typer.Context,
    plan: Path = typer.Argument(
        ..., metavar="PLAN.yaml", help="The fleet file of the change.", show_default=False
    ),
    baseline: Path | None = typer.Option(
        None, "--baseline", metavar="BASE.yaml", help="The fleet file to compare with."
    ),
    baseline_ref: str | None = typer.Option(
        None,
        "--baseline-ref",
        metavar="REF",
        help="Compare with the same path at this git revision (e.g. origin/main).",
    ),
    policy: Path | None = typer.Option(
        None,
        "--policy",
        metavar="POLICY.yaml",
        help="Rules: max_monthly_cost, max_increase, max_breach_probability, min_availability, forbid_band, must_survive, their warn_* forms, max_data_age.",
    ),
    max_monthly_cost: str | None = typer.Option(
        None, "--max-monthly-cost", metavar="USD", help="Highest expected cost per month."
    ),
    max_increase: str | None = typer.Option(
        None,
        "--max-increase",
        metavar="PCT|USD",
        help="Highest increase over the baseline: 10% or 500.",
    ),
    max_breach_probability: str | None = typer.Option(
        None,
        "--max-breach-probability",
        metavar="P",
        help="Highest probability that a month misses the SLA, e.g. 0.05.",
    ),
    min_availability: str | None = typer.Option(
        None,
        "--min-availability",
        metavar="PCT",
        help="Lowest mean availability in percent, e.g. 99.9.",
    ),
    forbid_band: list[str] | None = typer.Option(
        None,
        "--forbid-band",
        metavar="BAND",
        help="No spot pool may be in this band, e.g. '>20%' (repeatable).",
    ),
    max_data_age: str | None = typer.Option(
        None,
        "--max-data-age",
        metavar="DURATION",
        help="Fail with exit 3 when the prices and bands used are older, e.g. 30d.",
    ),
    scenario: list[str] | None = typer.Option(
        None,
        "--scenario",
        metavar="WHAT-IF",
        help="Also simulate the plan under a failure what-if, e.g. zone-outage:any@3d+6h (repeatable).",
    ),
    must_survive: list[str] | None = typer.Option(
        None,
        "--must-survive",
        metavar="WHAT-IF",
        help="Fail unless the month's SLA survives this what-if, e.g. zone-outage:any (every zone of the plan; repeatable).",
    ),
    output_format: GateFormat = typer.Option(
        GateFormat.table, "--format", "-f", help="table, json, markdown, github or junit."
    ),
    output: Path | None = OUTPUT_OPTION,
) -> None:
    """CI cost-and-risk gate: compare a fleet change with its baseline and apply the budget rules."""
    from spotadvisor.gate.policy import load_policy, with_flags
    from spotadvisor.gate.run import asked_and_rules, run_gate
    from spotadvisor.store import Store, resolve_store_path

    rules = with_flags(
        load_policy(policy),
        {
            "max_monthly_cost": max_monthly_cost,
            "max_increase": max_increase,
            "max_breach_probability": max_breach_probability,
            "min_availability": min_availability,
            "forbid_band": split_values(forbid_band) or None,
            "max_data_age": max_data_age,
            "must_survive": list(must_survive) if must_survive else None,
        },
    )
    from spotadvisor.config.scenarios import parse_scenario
    from spotadvisor.config.values import Where
    from spotadvisor.errors import COMMAND_LINE

    what_ifs = tuple(parse_scenario(s, Where(COMMAND_LINE, "--scenario")) for s in scenario or [])
    _check_sizes(
        plan, baseline if baseline_ref is None else None, 1 + len(asked_and_rules(what_ifs, rules))
    )
    report = run_gate(
        Store(resolve_store_path(cli_state(ctx).db)),
        plan,
        policy=rules,
        baseline_path=baseline,
        baseline_ref=baseline_ref,
        scenarios=what_ifs,
    )
    _render(report, output_format, output)
    if not report.passed:
        raise typer.Exit(1)


def _check_sizes(plan: Path, baseline: Path | None, runs: int) -> None:
    """Refuse a plan or baseline too large for this machine before anything is simulated.

    The files' own figures (interruption rates, the worst band where they give none)
    stand in for the data's (``spotadvisor.config.limits.check_fleet``).
    """
    from spotadvisor.config import limits, load_fleet

    limits.check_fleet(load_fleet(plan), runs=runs)
    if baseline is not None:
        limits.check_fleet(load_fleet(baseline), runs=runs)


def _render(report: GateReport, output_format: GateFormat, output: Path | None) -> None:
    from rich.console import Group
    from rich.text import Text

    from spotadvisor.render import gate as view
    from spotadvisor.render.json import render_json
    from spotadvisor.render.table import build_table, print_renderable, renderable_text

    for line in report.notes:
        note(f"note: {line}")
    if output_format is GateFormat.json:
        emit(render_json(view.gate_document(report)), output)
    elif output_format is GateFormat.markdown:
        emit(view.render_markdown(report), output)
    elif output_format is GateFormat.junit:
        emit(view.render_junit(report), output)
    elif output_format is GateFormat.github:
        emit(view.render_github(report), output)
        summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if summary:
            with Path(summary).open("a", encoding="utf-8") as handle:
                handle.write(view.render_markdown(report))
            note(f"wrote the summary to $GITHUB_STEP_SUMMARY ({summary})")
    else:
        table = build_table(
            f"{report.plan.label}: {report.baseline_note}",
            ["Figure", "Baseline", "Plan", "Change", "Significant"],
            view.change_rows(report),
            right=[False, True, True, True, False],
        )
        lines = [
            Text(view.headline(report), style="bold red" if not report.passed else "bold green")
        ]
        for r in report.results:
            if not r.passed:
                lines.append(
                    Text(
                        f"{'✗' if r.level == 'fail' else '!'} {r.rule}: {r.message}",
                        style="red" if r.level == "fail" else "yellow",
                    )
                )
        if report.scenarios:
            lines += [Text(""), view.scenario_table(report)]
        group = Group(table, *lines)
        if output is None:
            print_renderable(group)
        else:
            emit(renderable_text(group), output)
