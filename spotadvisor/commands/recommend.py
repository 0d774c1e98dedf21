"""``spotadvisor recommend``: which mix to run, how much it saves, and how sure that is."""

from __future__ import annotations

import dataclasses
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
    option_fraction,
    progress_on_stderr,
    split_values,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from spotadvisor.calibrate.apply import ParamsApplier
    from spotadvisor.config import FleetFile
    from spotadvisor.events.rates import MeasuredRates
    from spotadvisor.recommend import Recommendation


class Rates(StrEnum):
    """Where spot pools' interruption rates come from."""

    bands = "bands"
    measured = "measured"


class RecommendFormat(StrEnum):
    """Formats of ``recommend``."""

    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"


DEFAULT_GPUS_PER_REPLICA = 8
QUICK_TRIALS = 400
CLI = "command line"

EPILOG = (
    "Candidates are built from every offer that can host a replica (GPU model, count and "
    "memory fit), spread over zones and regions, from all on-demand to all spot, with "
    "spare spot replicas and on-demand fallback. Hopeless and dominated mixes are pruned "
    "with closed-form bounds, the rest are simulated with common random numbers, and the "
    "mixes whose SLA breach probability is within the risk budget (at two standard "
    "errors) are ranked by expected monthly cost (costs within Monte Carlo error: lower "
    "breach probability first). The finalists (the recommended mix, the first 10 and "
    "cheaper mixes near the risk budget) get more trials, until their breach probability "
    "is known to 0.25 points or is clearly apart from the budget. Without --seed the seed "
    "is derived from the request and the data, so a rerun on the same data gives the "
    "same answer.\n\n"
    "Examples:\n\n"
    "  spotadvisor recommend --gpu H100 --replicas 4\n\n"
    "  spotadvisor recommend --gpu A100-80GB,H100 --replicas 6 --sla 99.95 --risk 0.02 --clouds aws,gcp\n\n"
    "  spotadvisor recommend --workload fleet.yaml --quick --save-fleet chosen.yaml\n\n"
    "  spotadvisor recommend --gpu H100 --replicas 4 --explain 2\n\n"
    "  spotadvisor recommend --gpu A100-80GB --replicas 4 --rates measured --min-exposure 2"
)


@handle_errors
def recommend(
    ctx: typer.Context,
    gpu: list[str] | None = typer.Option(
        None, "--gpu", "-g", metavar="GPU", help="Acceptable GPU models (repeat or comma-separate)."
    ),
    gpus_per_replica: int | None = typer.Option(
        None,
        "--gpus-per-replica",
        metavar="N",
        min=1,
        help=f"GPUs one replica needs (default {DEFAULT_GPUS_PER_REPLICA}).",
    ),
    gpu_memory_per_replica: float | None = typer.Option(
        None,
        "--gpu-memory-per-replica",
        metavar="GB",
        min=1,
        help="GPU memory one replica needs, instead of a GPU count.",
    ),
    replicas: int | None = typer.Option(
        None, "--replicas", "-r", metavar="N", min=1, help="Serving replicas needed."
    ),
    sla: str | None = typer.Option(
        None, "--sla", metavar="PCT", help="Availability target in percent (default 99.9)."
    ),
    risk: str | None = typer.Option(
        None,
        "--risk",
        metavar="P",
        help="Risk budget: accepted probability that a month misses the SLA (default 0.05).",
    ),
    cold_start: str | None = typer.Option(
        None, "--cold-start", metavar="DURATION", help="Launch to serving (default 10m)."
    ),
    throughput: float | None = typer.Option(
        None,
        "--throughput",
        metavar="TOKENS/S",
        min=0,
        help="Tokens per second per replica, for a cost per million tokens.",
    ),
    clouds: list[str] | None = typer.Option(
        None, "--clouds", metavar="CLOUD", help="aws, gcp, azure (default: all)."
    ),
    regions: list[str] | None = typer.Option(
        None, "--regions", metavar="REGION", help="Regions or globs (default: all)."
    ),
    max_band: str | None = typer.Option(
        None,
        "--max-band",
        metavar="BAND",
        help="Highest interruption band for spot pools, e.g. 10-15% or 15.",
    ),
    budget: float | None = typer.Option(
        None, "--budget", metavar="USD", min=0, help="Highest expected cost per month."
    ),
    workload: Path | None = typer.Option(
        None,
        "--workload",
        metavar="FILE",
        help="A fleet file giving the workload, SLA and risk (flags override it).",
    ),
    trials: int | None = typer.Option(
        None,
        "--trials",
        "-t",
        metavar="N",
        min=50,
        help="Trials per mix in the full evaluation (default 2000).",
    ),
    quick: bool = typer.Option(
        False, "--quick", help=f"{QUICK_TRIALS} trials: faster, with a larger Monte Carlo error."
    ),
    seed: int | None = typer.Option(
        None,
        "--seed",
        metavar="N",
        min=0,
        help="Random seed (default: derived from the request and the data); echoed in the output.",
    ),
    limit: int = typer.Option(
        10, "--limit", "-n", metavar="N", min=1, help="Mixes shown in the table."
    ),
    explain: int | None = typer.Option(
        None,
        "--explain",
        metavar="RANK",
        min=1,
        help="Show the pools and every metric of the mix at this rank.",
    ),
    save_fleet: Path | None = typer.Option(
        None,
        "--save-fleet",
        metavar="FILE",
        help="Write the recommended mix (or --explain's) as a fleet file for simulate and gate.",
    ),
    output_format: RecommendFormat = typer.Option(
        RecommendFormat.table, "--format", "-f", help="table, json, csv or markdown."
    ),
    output: Path | None = OUTPUT_OPTION,
    params: Path | None = PARAMS_OPTION,
    rates: Rates = typer.Option(
        Rates.bands,
        "--rates",
        help="bands: published interruption bands; measured: the store's measured rates "
        "('spotadvisor events') for pools with enough exposure, bands elsewhere.",
    ),
    min_exposure: float = typer.Option(
        1.0,
        "--min-exposure",
        metavar="INSTANCE-MONTHS",
        min=0,
        help="--rates measured: spot exposure a pool needs before its measured rate is used.",
    ),
    rates_window: str = typer.Option(
        "90d",
        "--rates-window",
        metavar="DURATION",
        help="--rates measured: how far back events and billing exposure are read.",
    ),
) -> None:
    """Search region / zone / instance / spot-share mixes for a workload and rank them by cost within the SLA risk budget."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from spotadvisor.bands import parse_max_band
    from spotadvisor.recommend import HostFilter
    from spotadvisor.recommend import recommend as run_recommend
    from spotadvisor.store import Store, resolve_store_path

    applier: ParamsApplier | None = None
    if params is not None:  # the calibrate package imports scipy: only when asked for
        from spotadvisor.calibrate.apply import params_applier

        applier = params_applier(params)
    from spotadvisor.config import limits

    if replicas is not None:
        limits.check_replicas(replicas, "--replicas")
    if trials is not None:
        limits.check_trials(trials)
    measured = _measured(ctx, min_exposure, rates_window) if rates is Rates.measured else None
    fleet = _fleet(workload, replicas, sla, risk, cold_start, throughput, trials, quick, seed)
    if applier is not None:  # the risk: block now, so --save-fleet writes it; pools in search
        fleet = applier(fleet)
    wl = fleet.workload
    per_replica = gpus_per_replica or wl.gpus_per_replica
    memory = gpu_memory_per_replica or (None if gpus_per_replica else wl.gpu_memory_gb_per_replica)
    if per_replica is None and memory is None:
        per_replica = DEFAULT_GPUS_PER_REPLICA
        note(
            f"assuming {per_replica} GPUs per replica; set --gpus-per-replica or --gpu-memory-per-replica"
        )
    fleet = dataclasses.replace(
        fleet,
        workload=dataclasses.replace(
            wl,
            gpus_per_replica=None if memory else per_replica,
            gpu_memory_gb_per_replica=memory,
            gpu=tuple(split_values(gpu)) or wl.gpu,
        ),
    )
    hosts = HostFilter(
        gpu=fleet.workload.gpu,
        gpus_per_replica=fleet.workload.gpus_per_replica,
        gpu_memory_gb_per_replica=fleet.workload.gpu_memory_gb_per_replica,
        clouds=tuple(c.lower() for c in split_values(clouds)),
        regions=tuple(split_values(regions)),
        max_band_pct=parse_max_band(max_band) if max_band else None,
    )
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("mixes"),
        **progress_on_stderr(),
    )
    with progress:
        task = progress.add_task("searching", total=None)

        def report(stage: str, done: int, total: int) -> None:
            progress.update(task, description=stage, completed=done, total=total)

        rec = run_recommend(
            Store(resolve_store_path(cli_state(ctx).db)),
            fleet,
            hosts,
            seed=fleet.seed,  # None: derived from the request and the data
            budget_usd_per_month=budget,
            on_progress=report,
            adjust=_adjust(applier, measured),
            replicas_field="--replicas" if replicas is not None else "workload.replicas",
            trials_field="--trials" if trials is not None else "trials",
        )
    for line in measured.notes if measured else []:
        note(f"note: {line}")
    for line in applier.notes if applier else []:
        note(f"note: {line}")
    for line in rec.search.notes:
        note(f"note: {line}")
    if output_format in (RecommendFormat.json, RecommendFormat.csv):  # the table's footer has it
        for table in rec.data:
            note(table.age_note(rec.generated_at))
    _render(rec, output_format, output, limit, explain)
    if save_fleet is not None:
        _save(rec, save_fleet, explain)


def _measured(ctx: typer.Context, min_exposure: float, window_text: str) -> MeasuredRates:
    """Measured rates per (cloud, region, type) over the window ending now."""
    from spotadvisor.events.rates import MeasuredRates, pool_stats
    from spotadvisor.events.run import window
    from spotadvisor.store import Store, resolve_store_path

    start, end = window(window_text, None, None)
    stats = pool_stats(Store(resolve_store_path(cli_state(ctx).db)), start, end)
    return MeasuredRates(stats, min_exposure=min_exposure)


def _adjust(
    applier: Callable[[FleetFile], FleetFile] | None, measured: MeasuredRates | None
) -> Callable[[FleetFile], FleetFile] | None:
    """--params first (its hazards win), then measured rates for the pools left."""
    steps = [f for f in (applier, measured) if f is not None]
    if not steps:
        return None

    def adjust(fleet: FleetFile) -> FleetFile:
        for step in steps:
            fleet = step(fleet)
        return fleet

    return adjust


def _fleet(
    workload: Path | None,
    replicas: int | None,
    sla: str | None,
    risk: str | None,
    cold_start: str | None,
    throughput: float | None,
    trials: int | None,
    quick: bool,
    seed: int | None,
) -> FleetFile:
    """The workload file (or a bare one), with every flag applied and validated."""
    from spotadvisor.config import load_fleet, parse_duration, parse_fleet
    from spotadvisor.errors import UsageError

    if workload is not None:
        fleet = load_fleet(workload)
        if fleet.pools:
            note(f"{workload}: its fleet: list is ignored; recommend builds its own mixes")
    elif replicas is None:
        raise UsageError(
            "how many replicas must serve?",
            field="--replicas",
            fix="add --replicas N, or --workload FILE",
        )
    else:
        fleet = parse_fleet({"workload": {"replicas": replicas}}, origin=CLI)
    wl = fleet.workload
    wl = dataclasses.replace(
        wl,
        replicas=replicas or wl.replicas,
        cold_start_hours=parse_duration(cold_start, origin=CLI, field="--cold-start")
        if cold_start
        else wl.cold_start_hours,
        throughput_tokens_per_s=throughput
        if throughput is not None
        else wl.throughput_tokens_per_s,
    )
    agreement = dataclasses.replace(
        fleet.sla,
        availability=option_fraction(sla, field="--sla", percent=True)
        if sla
        else fleet.sla.availability,
        max_breach_probability=option_fraction(risk, field="--risk", percent=False)
        if risk
        else fleet.sla.max_breach_probability,
    )
    runs = trials if trials is not None else (QUICK_TRIALS if quick else fleet.trials)
    return dataclasses.replace(
        fleet,
        workload=wl,
        sla=agreement,
        trials=runs,
        seed=seed if seed is not None else fleet.seed,
        pools=(),
    )


def _render(
    rec: Recommendation,
    output_format: RecommendFormat,
    output: Path | None,
    limit: int,
    explain: int | None,
) -> None:
    from rich.console import Group
    from rich.text import Text

    from spotadvisor.render import recommendation as view
    from spotadvisor.render.csv import render_csv
    from spotadvisor.render.json import render_json
    from spotadvisor.render.markdown import render_markdown
    from spotadvisor.render.table import build_table, print_renderable, renderable_text

    if output_format is RecommendFormat.json:
        emit(render_json(view.recommendation_document(rec)), output)
        return
    if output_format is RecommendFormat.csv:
        emit(render_csv(view.recommendation_frame(rec)), output)
        return
    headers, right = view.headers(rec)
    rows = view.table_rows(rec, limit)
    if output_format is RecommendFormat.markdown:
        text = (
            render_markdown(headers, rows, right=right)
            + f"\n{view.explanation(rec)}\n\n{view.footer(rec)}\n"
        )
        emit(text, output)
        return
    fleet = rec.fleet
    load = fleet.workload.load
    peak = load.peak() if load is not None else None
    serving = (
        f"{fleet.workload.replicas} replicas"
        if load is None
        else "a load profile" + (f" (peak {peak} replicas)" if peak is not None else "")
    )
    title = (
        f"{serving} of {fleet.workload.name}: {100 * fleet.sla.availability:g}% availability, "
        f"risk budget {100 * fleet.sla.max_breach_probability:g}%"
    )
    parts: list[object] = [
        build_table(title, headers, rows, right=right, wrap=[1]),
        Text(view.explanation(rec), style="bold" if rec.recommended is not None else "bold yellow"),
        Text(""),
        Text(view.footer(rec), style="dim"),
    ]
    if explain is not None:
        parts += [Text(""), *_explain(rec, explain)]
    group = Group(*parts)  # type: ignore[arg-type]
    if output is None:
        print_renderable(group)
    else:
        emit(renderable_text(group), output)


def _explain(rec: Recommendation, rank: int) -> list[object]:
    from spotadvisor.errors import UsageError
    from spotadvisor.recommend.describe import describe_mix
    from spotadvisor.render.simulation import metric_rows, pool_rows
    from spotadvisor.render.table import build_table

    ranked = rec.ranked()
    if rank > len(ranked):
        raise UsageError(
            f"there are {len(ranked)} ranked mixes",
            field="--explain",
            fix=f"give a rank from 1 to {len(ranked)}",
        )
    e = ranked[rank - 1]
    pools = [
        dataclasses.replace(
            rec.search.pools[key], model=dataclasses.replace(rec.search.pools[key].model, count=n)
        )
        for key, n in e.candidate.pools
    ]
    return [
        build_table(
            f"#{rank}: {describe_mix(e.candidate)}",
            ["Metric", "Value", "Std. error", "Meaning"],
            metric_rows(e.metrics, rec.fleet),
            right=[False, True, True, False],
        ),
        build_table(
            "Pools",
            ["Pool", "Replicas", "$/replica-h", "Interruption", "Price from", "Interruption from"],
            pool_rows(pools),
            right=[False, True, True, False, False, False],
        ),
    ]


def _save(rec: Recommendation, path: Path, explain: int | None) -> None:
    from spotadvisor.errors import UsageError
    from spotadvisor.recommend.describe import describe_mix
    from spotadvisor.recommend.fleet_yaml import fleet_yaml, scenarios_for

    if explain is not None:
        chosen = rec.ranked()[explain - 1]
    elif rec.recommended is not None:
        chosen = rec.search.evaluated[rec.recommended]
    else:
        raise UsageError(
            "no mix is within the risk budget, so none is saved",
            field="--save-fleet",
            fix="pick one with --explain RANK --save-fleet FILE",
        )
    days = rec.fleet.horizon_hours / 24
    header = (
        f"Written by spotadvisor recommend on {rec.generated_at:%Y-%m-%d}: {describe_mix(chosen.candidate)}\n"
        f"recommend quoted ${rec.monthly(chosen.metrics.cost_mean.value):,.0f} per 730-hour month; "
        f"simulate reports the same run per {days:g}-day horizon "
        f"(${chosen.metrics.cost_mean.value:,.0f}), and its savings against these pools on demand"
    )
    # the mix's own trials (a finalist's are more than --trials), so simulate repeats its run
    saved = dataclasses.replace(rec.fleet, trials=chosen.metrics.trials)
    emit(fleet_yaml(saved, chosen.candidate, rec.seed, header=header), path)
    _, dropped = scenarios_for(rec.fleet, chosen.candidate)
    if dropped:
        note(
            f"note: left out of {path} (they name pools the mix does not use): {', '.join(dropped)}"
        )
