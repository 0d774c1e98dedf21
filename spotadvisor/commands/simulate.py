"""``spotadvisor simulate``: Monte Carlo cost and SLA risk of one fleet file."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from spotadvisor.commands.calibrate import PARAMS_OPTION
from spotadvisor.commands.common import (
    OUTPUT_OPTION,
    cli_state,
    emit,
    handle_errors,
    note,
    progress_on_stderr,
)

if TYPE_CHECKING:
    from spotadvisor.calibrate.apply import ParamsApplier
    from spotadvisor.simulate import SimulationReport


class SimulateFormat(StrEnum):
    """Formats of ``simulate``."""

    table = "table"
    json = "json"


EPILOG = (
    "The fleet file (YAML) gives the workload, the SLA and the pools; prices and "
    "interruption bands it leaves out come from the store, or from the embedded snapshot "
    "when the store is empty, and the output says which. See docs/model.md for the model "
    "and docs/fleet-files.md for every key.\n\n"
    "Examples:\n\n"
    "  spotadvisor simulate examples/llama70b-fleet.yaml\n\n"
    "  spotadvisor simulate fleet.yaml --trials 10000 --seed 1 --format json | jq .availability"
)


@handle_errors
def simulate(
    ctx: typer.Context,
    fleet_file: Path = typer.Argument(
        ..., metavar="FLEET.yaml", help="The fleet file.", show_default=False
    ),
    trials: int | None = typer.Option(
        None, "--trials", "-t", metavar="N", min=1, help="Simulated periods (overrides the file)."
    ),
    horizon: str | None = typer.Option(
        None,
        "--horizon",
        metavar="DURATION",
        help="Length of a period, e.g. 30d (overrides the file).",
    ),
    seed: int | None = typer.Option(
        None,
        "--seed",
        metavar="N",
        min=0,
        help="Random seed (overrides the file; default: derived from the fleet and the data); echoed in the output.",
    ),
    output_format: SimulateFormat = typer.Option(
        SimulateFormat.table, "--format", "-f", help="table or json."
    ),
    output: Path | None = OUTPUT_OPTION,
    params: Path | None = PARAMS_OPTION,
    scenario: list[str] | None = typer.Option(
        None,
        "--scenario",
        metavar="WHAT-IF",
        help="A failure what-if, e.g. zone-outage:use1-az4@3d+6h (repeatable); see docs/load-and-scenarios.md.",
    ),
) -> None:
    """Simulate one fleet month after month: cost, availability and SLA risk, with their Monte Carlo error."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from spotadvisor.config.scenarios import parse_scenario
    from spotadvisor.config.values import Where, as_hours
    from spotadvisor.errors import COMMAND_LINE
    from spotadvisor.simulate import simulate_fleet
    from spotadvisor.store import Store, resolve_store_path

    horizon_hours = (
        as_hours(horizon, Where(COMMAND_LINE, "--horizon"), positive=True) if horizon else None
    )
    what_ifs = [parse_scenario(s, Where(COMMAND_LINE, "--scenario")) for s in scenario or []]
    applier: ParamsApplier | None = None
    if params is not None:  # the calibrate package imports scipy: only when asked for
        from spotadvisor.calibrate.apply import params_applier

        applier = params_applier(params)
    store = Store(resolve_store_path(cli_state(ctx).db))
    progress = Progress(
        TextColumn("simulating"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("trials"),
        TimeRemainingColumn(),
        **progress_on_stderr(),
    )
    with progress:
        task = progress.add_task("simulate", total=None)
        report = simulate_fleet(
            store,
            fleet_file,
            trials=trials,
            horizon_hours=horizon_hours,
            seed=seed,
            on_progress=lambda done, total: progress.update(task, completed=done, total=total),
            adjust=applier,
            scenarios=what_ifs,
        )
    for line in applier.notes if applier else []:
        note(f"note: {line}")
    for table in report.data:
        if not table.frame.empty:
            note(table.age_note(report.generated_at))
    for line in report.resolved.notes:
        note(f"note: {line}")
    _render(report, output_format, output)


def _render(report: SimulationReport, output_format: SimulateFormat, output: Path | None) -> None:
    from rich.console import Group, RenderableType
    from rich.text import Text

    from spotadvisor.render.json import render_json
    from spotadvisor.render.simulation import metric_rows, pool_rows, simulation_document, verdict
    from spotadvisor.render.table import build_table, print_renderable, renderable_text
    from spotadvisor.seeds import Seed

    if output_format is SimulateFormat.json:
        emit(render_json(simulation_document(report)), output)
        return
    fleet = report.resolved.fleet
    seed = Seed(report.seed, report.seed_origin).describe()
    title = f"{fleet.workload.name or 'fleet'}: {fleet.trials:,} periods of {fleet.horizon_hours / 24:g} days, {seed}"
    metrics = build_table(
        title,
        ["Metric", "Value", "Std. error", "Meaning"],
        metric_rows(report.metrics, report.resolved.fleet),
        right=[False, True, True, False],
    )
    pools = build_table(
        "Pools",
        ["Pool", "Replicas", "$/replica-h", "Interruption", "Price from", "Interruption from"],
        pool_rows(report.resolved.pools),
        right=[False, True, True, False, False, False],
    )
    status, text = verdict(report)
    style = {"meets": "bold green", "fails": "bold red", "uncertain": "bold yellow"}[status]
    parts: list[RenderableType] = [metrics, Text(text, style=style), Text(""), pools]
    if report.scenarios:
        from spotadvisor.render.scenarios import scenario_headers, scenario_rows

        parts += [
            Text(""),
            build_table(
                "Failure what-ifs (same seed and trials as the baseline)",
                scenario_headers(report),
                scenario_rows(report),
                right=[False, True] + [True] * len(report.scenarios),
            ),
        ]
    group = Group(*parts)
    if output is None:
        print_renderable(group)
    else:
        emit(renderable_text(group), output)
