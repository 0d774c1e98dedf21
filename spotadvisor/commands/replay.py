"""``spotadvisor replay``: serving policies replayed over real spot availability traces."""

from __future__ import annotations

import dataclasses
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from spotadvisor.commands.common import OUTPUT_OPTION, cli_state, emit, handle_errors, note

if TYPE_CHECKING:
    from datetime import datetime

    from spotadvisor.replay import Fleet, FleetReplay, ReplayConfig
    from spotadvisor.traces import ZoneTrace


class ReplayFormat(StrEnum):
    """Formats of ``replay``."""

    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"


class PolicyName(StrEnum):
    """Policies ``replay`` knows (spotadvisor.replay.policies)."""

    relaunch_same_pool = "relaunch-same-pool"
    next_pool = "next-pool"
    on_demand_fallback = "on-demand-fallback"
    even_spread = "even-spread"
    round_robin = "round-robin"
    spothedge = "spothedge"


EPILOG = (
    "Reads the JSON tick traces of the Can't Be Late and SpotHedge studies, SkyPilot's "
    "raw timestamped traces, SpotServe node logs and training-on-a-dime probe logs "
    "(files or folders; the format is sniffed). Traces of one folder and instance type "
    "form one fleet of zones. Each policy is replayed over --offsets windows; the table "
    "gives the mean ± sd over windows. Cost is relative to N on-demand replicas, with "
    "spot billed at the snapshot's spot/on-demand ratio unless --spot-price-ratio is "
    "given. See docs/replay.md.\n\n"
    "Examples:\n\n"
    "  spotadvisor replay ../shared/data/spot-traces-spothedge/data/AWS1\n\n"
    "  spotadvisor replay ../shared/data/spot-traces-spothedge/data --replicas 3 "
    "--overprovision 1 --cold-start 2m --window 1d --spot-price-ratio 0.3333\n\n"
    "  spotadvisor replay traces/ --policy spothedge --policy on-demand-fallback "
    "--fallback-after 10m --format json"
)


def _duration_seconds(value: str, option: str) -> float:
    from spotadvisor.config import parse_duration

    return 3600.0 * parse_duration(value, origin=option, field=option)


@handle_errors
def replay(
    ctx: typer.Context,
    traces: list[Path] = typer.Argument(
        ...,
        metavar="TRACES",
        help="Trace files or folders (searched recursively); with --prices, one fleet file.",
        show_default=False,
    ),
    prices: bool = typer.Option(
        False,
        "--prices",
        help="Price backtest: replay the spot price history over --from/--to for the fleet "
        "file given instead of traces, against the forecast made at --from.",
    ),
    start: str | None = typer.Option(
        None, "--from", metavar="DATE", help="--prices: window start, e.g. 2020-02-01 (UTC)."
    ),
    end: str | None = typer.Option(
        None, "--to", metavar="DATE", help="--prices: window end, exclusive (UTC)."
    ),
    trials: int = typer.Option(
        500, "--trials", "-t", metavar="N", min=1, help="--prices: Monte Carlo trials per run."
    ),
    policy: list[PolicyName] | None = typer.Option(
        None, "--policy", "-p", help="A policy to replay (repeatable). Default: all six."
    ),
    replicas: int = typer.Option(3, "--replicas", "-n", min=1, help="Ready replicas needed (N)."),
    overprovision: int = typer.Option(
        1, "--overprovision", "-k", min=0, help="Extra spot replicas (K): N+K spot targets."
    ),
    cold_start: str = typer.Option(
        "2m", "--cold-start", metavar="DURATION", help="Launch to ready, e.g. 2m or 10m."
    ),
    fallback_after: str = typer.Option(
        "0s",
        "--fallback-after",
        metavar="DURATION",
        help="on-demand-fallback: wait this long for spot before launching on demand.",
    ),
    on_demand_replicas: int = typer.Option(
        0,
        "--on-demand-replicas",
        metavar="M",
        min=0,
        help="Always-on on-demand replicas, counted towards N (spot targets: N-M+K).",
    ),
    spot_price_ratio: float | None = typer.Option(
        None,
        "--spot-price-ratio",
        metavar="R",
        min=0.0,
        help="Spot price / on-demand price. Default: the embedded snapshot's median for the traces' instance type.",
    ),
    window: str = typer.Option(
        "7d", "--window", metavar="DURATION", help="Window per replay; cut to the traces' span."
    ),
    offsets: int = typer.Option(
        20, "--offsets", metavar="N", min=1, help="Windows (start offsets) per policy."
    ),
    seed: int = typer.Option(0, "--seed", metavar="N", min=0, help="Seed of the zone orders."),
    one_fleet: bool = typer.Option(
        False, "--one-fleet", help="Replay all traces as one fleet (they must share a tick)."
    ),
    output_format: ReplayFormat = typer.Option(
        ReplayFormat.table, "--format", "-f", help="table, json, csv or markdown."
    ),
    output: Path | None = OUTPUT_OPTION,
) -> None:
    """Replay serving policies over real spot traces: availability, cost and preemptions."""
    from spotadvisor.config import limits

    limits.check_trials(trials)
    for flag, count in (
        ("--replicas", replicas),
        ("--overprovision", overprovision),
        ("--on-demand-replicas", on_demand_replicas),
    ):
        limits.check_replicas(count, flag)
    if offsets > limits.MAX_OFFSETS:
        from spotadvisor.config.values import Where
        from spotadvisor.errors import COMMAND_LINE

        raise Where(COMMAND_LINE, "--offsets").error(
            f"{offsets:,} windows per policy is more than spotadvisor replays",
            f"write at most {limits.MAX_OFFSETS:,}; 20 windows already show the spread",
        )
    if prices:
        _price_backtest(ctx, traces, start, end, trials, seed, output_format, output)
        return
    from spotadvisor.errors import UsageError

    for flag, value in (("--from", start), ("--to", end)):
        if value is not None:
            raise UsageError(f"{flag} is for --prices", field=flag, fix="add --prices FLEET.yaml")
    from spotadvisor.replay import POLICIES, ReplayConfig, group_traces, replay_fleet
    from spotadvisor.replay.prices import snapshot_ratio
    from spotadvisor.traces import read_traces

    skipped: list[Path] = []
    zone_traces = read_traces(traces, skipped=skipped)
    short = [t for t in zone_traces if len(t.counts) < 2]
    zone_traces = [t for t in zone_traces if len(t.counts) >= 2]
    if not zone_traces:
        raise UsageError(
            "no trace with two ticks or more: a single tick spans no time to replay",
            field="TRACES",
            fix="give longer traces",
        )
    if short:
        note(f"skipped {len(short)} trace(s) of one tick: {', '.join(t.source for t in short[:3])}")
    if skipped:
        note(
            f"skipped {len(skipped)} file(s) in no trace format: {', '.join(map(str, skipped[:3]))}"
        )
    base = ReplayConfig(
        replicas=replicas,
        spot_price_ratio=spot_price_ratio if spot_price_ratio is not None else 0.0,
        overprovision=overprovision,
        cold_start_seconds=_duration_seconds(cold_start, "--cold-start"),
        fallback_after_seconds=_duration_seconds(fallback_after, "--fallback-after"),
        on_demand_replicas=on_demand_replicas,
    )
    chosen = [p.value for p in policy] if policy else list(POLICIES)
    window_seconds = _duration_seconds(window, "--window")
    replays: list[FleetReplay] = []
    bases: list[str] = []
    for fleet in group_traces(zone_traces, one_fleet=one_fleet):
        if spot_price_ratio is None:
            found = snapshot_ratio(fleet.instance, (t.region for t in fleet.traces))
            config, basis = dataclasses.replace(base, spot_price_ratio=found.ratio), found.basis
        else:
            config, basis = base, "--spot-price-ratio"
        policies = [p for p in POLICIES if p in chosen]
        _check_replay_size(fleet, config, len(policies), window_seconds, offsets)
        result = replay_fleet(
            fleet,
            config,
            policies=policies,
            window_seconds=window_seconds,
            offsets=offsets,
            seed=seed,
        )
        _describe(fleet.label, fleet.traces, result, basis)
        replays.append(result)
        bases.append(basis)
    _render(replays, bases, output_format, output)


def _check_replay_size(
    fleet: Fleet, config: ReplayConfig, policies: int, window_seconds: float, offsets: int
) -> None:
    """Refuse a replay that would take hours, naming the input to turn down.

    A replay steps every slot through every tick of every window of every policy, in
    Python: its work is ``policies x offsets x window ticks x slots`` slot-ticks, counted
    as events of ``spotadvisor.config.limits.MAX_EVENTS`` (about 70 ns each, measured).
    """
    from spotadvisor.config import limits
    from spotadvisor.config.values import number_text
    from spotadvisor.errors import COMMAND_LINE

    ticks = fleet.counts.shape[1]
    window = max(1, min(ticks, round(window_seconds / fleet.gap_seconds)))
    extra = config.overprovision + config.on_demand_replicas

    def work(replicas: float, windows: float, length: float) -> limits.Cost:
        slots = replicas + extra + fleet.counts.shape[0]
        return limits.Cost(0.0, policies * windows * length * slots)

    knobs = [
        limits.Knob(
            COMMAND_LINE,
            "--replicas",
            config.replicas,
            lambda n: f"{number_text(int(n))} replicas",
            1,
            lambda n: work(n, offsets, window),
        ),
        limits.Knob(
            COMMAND_LINE,
            "--offsets",
            offsets,
            lambda n: f"{number_text(int(n))} windows",
            1,
            lambda n: work(config.replicas, n, window),
        ),
        limits.Knob(
            COMMAND_LINE,
            "--window",
            window,
            lambda n: f"a window of {limits.horizon_text(n * fleet.gap_seconds / 3600)}",
            1,
            lambda n: work(config.replicas, offsets, n),
        ),
    ]
    limits.check_run(knobs, work(config.replicas, offsets, window), budget=float("inf"))


def _describe(label: str, traces: tuple[ZoneTrace, ...], result: FleetReplay, basis: str) -> None:
    """One stderr line per fleet: what was read and how it was replayed."""
    fleet = result.fleet
    zones = ", ".join(f"{t.label}×{t.capacity}" for t in traces)
    lengths = {len(t.counts) for t in traces}
    cut = (
        f", cut to the shortest of {min(lengths)}-{max(lengths)} ticks" if len(lengths) > 1 else ""
    )
    note(
        f"{label}: {len(traces)} zone(s) {zones}; {fleet.instance or 'instance unknown'}; "
        f"{fleet.gap_seconds:g} s ticks over {fleet.hours:.1f} h{cut}; "
        f"{len(result.starts)} windows of {result.window_hours:.1f} h; "
        f"spot/on-demand {result.config.spot_price_ratio:.3f} ({basis})"
    )


def _render(
    replays: list[FleetReplay], bases: list[str], output_format: ReplayFormat, output: Path | None
) -> None:
    from spotadvisor.render import replay as out
    from spotadvisor.render.json import render_json

    if output_format is ReplayFormat.json:
        emit(render_json(out.document(replays, bases)), output)
    elif output_format is ReplayFormat.csv:
        import pandas as pd

        from spotadvisor.render.csv import render_csv

        frame = pd.DataFrame(out.csv_records(replays), columns=list(out.CSV_COLUMNS))
        emit(render_csv(frame), output)
    elif output_format is ReplayFormat.markdown:
        emit(out.markdown(replays), output)
    else:
        from spotadvisor.render.table import build_table, print_renderable, renderable_text

        c = replays[0].config
        title = (
            f"Replay: N={c.replicas} ready, K={c.overprovision} extra spot, "
            f"M={c.on_demand_replicas} on demand, cold start {c.cold_start_seconds / 60:g} min"
        )
        table = build_table(
            title,
            out.TABLE_HEADERS,
            out.table_rows(replays),
            right=[False, False, True, True, True, True, True],
            caption="mean ± sd over windows; cost relative to N on-demand replicas",
        )
        if output is None:
            print_renderable(table)
        else:
            emit(renderable_text(table), output)


def _check_backtest_size(path: Path, first: datetime, last: datetime, trials: int) -> None:
    """Refuse a price backtest too large for this machine: two runs over the window."""
    from spotadvisor.config import limits, load_fleet

    hours = (last - first).total_seconds() / 3600
    if hours <= 0:
        return  # the backtest says what is wrong with the window
    limits.check_horizon(hours, "--to", "a window")
    fleet = dataclasses.replace(load_fleet(path), trials=trials, horizon_hours=hours)
    limits.check_fleet(fleet, trials_from_cli=True, horizon_field="--to", runs=2)


def _moment(text: str | None, flag: str) -> datetime:
    from datetime import UTC, datetime

    from spotadvisor.errors import UsageError

    if text is None:
        raise UsageError(f"--prices needs {flag}", field=flag, fix=f"add {flag} 2020-02-01")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"{text!r} is not a date", field=flag, fix="write YYYY-MM-DD or YYYY-MM-DDTHH:MM"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _date_option(moment: datetime) -> str:
    """``moment`` as a --from/--to value: the date alone at midnight."""
    if (moment.hour, moment.minute, moment.second) == (0, 0, 0):
        return f"{moment:%Y-%m-%d}"
    return f"{moment:%Y-%m-%dT%H:%M}"


def _price_backtest(
    ctx: typer.Context,
    paths: list[Path],
    start: str | None,
    end: str | None,
    trials: int,
    seed: int,
    output_format: ReplayFormat,
    output: Path | None,
) -> None:
    """``replay --prices FLEET --from --to``: the forecast against the prices as they were."""
    from datetime import timedelta

    from spotadvisor.errors import UsageError
    from spotadvisor.render import backtest as render
    from spotadvisor.replay.backtest import backtest_fleet
    from spotadvisor.store import resolve_store_path

    if len(paths) != 1 or paths[0].is_dir():
        raise UsageError(
            "--prices backtests one fleet file",
            field="TRACES",
            fix="give one fleet YAML file, e.g. spotadvisor replay --prices fleet.yaml "
            "--from 2020-02-01 --to 2020-03-01",
        )
    store = resolve_store_path(cli_state(ctx).db)
    first = _moment(start, "--from")
    if end is None:
        from spotadvisor.replay.backtest import suggest_end

        suggested, history_end = suggest_end(store, paths[0], first)
        if history_end is None:
            fix = f"add --to {_date_option(suggested)} (a month)"
        elif history_end - first >= timedelta(hours=1):
            fix = f"add --to {_date_option(suggested)} (where the fleet's price history ends)"
        else:
            fix = (
                f"the fleet's price history ends at {history_end:%Y-%m-%d %H:%M} UTC: "
                f"choose a window that ends by then, e.g. --from "
                f"{(history_end - timedelta(days=28)):%Y-%m-%d} --to {_date_option(history_end)}"
            )
        raise UsageError("--prices needs --to", field="--to", fix=fix)
    last = _moment(end, "--to")
    _check_backtest_size(paths[0], first, last, trials)
    _, result = backtest_fleet(store, paths[0], first, last, trials=trials, seed=seed)
    for pool in result.pools:
        if pool.note:
            note(pool.note)
    if output_format is ReplayFormat.json:
        from spotadvisor.render.json import render_json

        emit(render_json(render.document(result)), output)
        return
    if output_format in (ReplayFormat.csv, ReplayFormat.markdown):
        from spotadvisor.render.markdown import render_markdown

        if output_format is ReplayFormat.csv:
            raise UsageError(
                "the price backtest has no CSV form", field="--format", fix="use json or markdown"
            )
        text = render_markdown(render.POOL_HEADERS, render.pool_rows(result))
        text += "\n" + render_markdown(render.RUN_HEADERS, render.run_rows(result))
        emit(text + "\n" + render.verdict(result) + "\n", output)
        return
    from rich.console import Group

    from spotadvisor.render.table import build_table, print_renderable, renderable_text

    group = Group(
        build_table(
            "Spot prices over the window [USD/h per instance]",
            render.POOL_HEADERS,
            render.pool_rows(result),
            right=[False, False, True, True, True, True, True],
        ),
        build_table(
            "Fleet cost",
            render.RUN_HEADERS,
            render.run_rows(result),
            right=[False, True, True, True, True],
            caption=render.verdict(result),
        ),
    )
    if output is None:
        print_renderable(group)
    else:
        emit(renderable_text(group), output)
