"""``spotadvisor calibrate``: fit the engine's risk parameters from spot traces."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from spotadvisor.commands.common import emit, handle_errors, note


class CalibrateFormat(StrEnum):
    """Formats of ``calibrate``."""

    table = "table"
    json = "json"
    yaml = "yaml"


PARAMS_OPTION: Any = typer.Option(
    None,
    "--params",
    metavar="PARAMS.yaml",
    help=(
        "Fitted parameters from 'spotadvisor calibrate': its risk: block replaces the "
        "fleet's, its per-pool hazards apply to matching spot pools (docs/calibrate.md)."
    ),
    dir_okay=False,
)

EPILOG = (
    "Reads trace files or folders (the formats of 'spotadvisor replay') and fits, per "
    "pool and pooled: the preemption hazard with exact Poisson intervals and a dispersion "
    "test, a Weibull lifetime tail against the exponential, bulk reclaims (a drop of at "
    "least --bulk-threshold units in one tick) with their rate and share, stock-outs, "
    "and zone / region correlation with bootstrap intervals, plus how often every zone "
    "was down at once against independence. The file written with -o is read by "
    "'simulate --params' and 'recommend --params'. See docs/calibrate.md.\n\n"
    "Examples:\n\n"
    "  spotadvisor calibrate ../shared/data/spot-traces-cant-be-late/preemption/4-node -o params.yaml\n\n"
    "  spotadvisor simulate fleet.yaml --params params.yaml\n\n"
    "  spotadvisor calibrate traces/ --format json --confidence 0.9"
)


@handle_errors
def calibrate(
    ctx: typer.Context,
    traces: list[Path] = typer.Argument(
        ..., metavar="TRACES", help="Trace files or folders.", show_default=False
    ),
    output: Path | None = typer.Option(
        None,
        "--output",
        "-o",
        metavar="PARAMS.yaml",
        help="Write the parameter file here (for simulate/recommend --params).",
        dir_okay=False,
    ),
    output_format: CalibrateFormat = typer.Option(
        CalibrateFormat.table,
        "--format",
        "-f",
        help="table, json (every figure) or yaml (the parameter file) on stdout.",
    ),
    confidence: float = typer.Option(
        0.95, "--confidence", metavar="P", min=0.5, max=0.999, help="Coverage of the intervals."
    ),
    bulk_threshold: int = typer.Option(
        2,
        "--bulk-threshold",
        metavar="UNITS",
        min=1,
        help="A drop of at least this many units in one tick (all of a smaller pool) is a bulk reclaim.",
    ),
    window: int = typer.Option(
        1,
        "--window",
        metavar="TICKS",
        min=0,
        help="Strikes within this many ticks of each other count as coincident.",
    ),
    bootstrap: int = typer.Option(
        200,
        "--bootstrap",
        metavar="N",
        min=0,
        help="Bootstrap replicates for correlation intervals.",
    ),
    seed: int = typer.Option(0, "--seed", metavar="N", min=0, help="Bootstrap seed."),
) -> None:
    """Fit the risk model's parameters from spot traces, with confidence intervals."""
    from datetime import UTC, datetime

    from spotadvisor import __version__
    from spotadvisor.calibrate.params import dump_params, params_document
    from spotadvisor.calibrate.run import Options
    from spotadvisor.calibrate.run import calibrate as fit
    from spotadvisor.config.limits import MAX_BOOTSTRAP
    from spotadvisor.errors import UsageError
    from spotadvisor.traces import read_traces

    if bootstrap > MAX_BOOTSTRAP:
        raise UsageError(
            f"{bootstrap:,} bootstrap replicates is more than spotadvisor runs",
            field="--bootstrap",
            fix=f"write at most {MAX_BOOTSTRAP:,} (the default is 200)",
        )
    series = read_traces(traces)
    if not any(t.counts.size >= 2 for t in series):
        raise UsageError(
            "no trace with two ticks or more", field="TRACES", fix="give trace files or folders"
        )
    options = Options(
        confidence=confidence,
        bulk_threshold=bulk_threshold,
        window_ticks=window,
        replicates=bootstrap,
        seed=seed,
    )
    result = fit(series, options)
    document = params_document(
        result, fitted_at=datetime.now(UTC).isoformat(timespec="seconds"), version=__version__
    )
    text = dump_params(document)
    if output is not None:
        emit(text, output)
    if output_format is CalibrateFormat.yaml:
        emit(text, None)
    elif output_format is CalibrateFormat.json:
        from spotadvisor.render.json import render_json

        emit(render_json(document), None)
    else:
        _tables(result)
        if output is None:
            note("note: nothing written; add -o params.yaml to keep the fitted parameters")


def _tables(result: object) -> None:
    from rich.console import Group
    from rich.text import Text

    from spotadvisor.calibrate import table as rows
    from spotadvisor.calibrate.run import Calibration
    from spotadvisor.render.table import build_table, print_renderable

    assert isinstance(result, Calibration)
    cal = result
    pct = f"{100 * cal.options.confidence:g}%"
    parts: list[Any] = [
        build_table(
            f"Pools ({pct} intervals; s = engine stock-out mean)",
            rows.POOL_HEADERS,
            rows.pool_rows(cal),
            right=[False, *([True] * 9)],
        ),
        build_table(
            "risk: block (what the parameter file carries)",
            rows.RISK_HEADERS,
            rows.risk_rows(cal),
            right=[False, True, True, True],
        ),
        build_table("Tests", rows.TEST_HEADERS, rows.test_rows(cal)),
    ]
    if cal.all_down:
        parts.append(
            build_table(
                "Every series down at once (nothing alive), measured vs independence",
                rows.DOWN_HEADERS,
                rows.down_rows(cal),
                right=[False, False, True, True, True, True],
            )
        )
    parts.append(
        Text(
            f"{_count(len(cal.traces), 'series', 'series')}, {_count(len(cal.pools), 'pool', 'pools')}, "
            f"{_count(len(cal.sets), 'aligned set', 'aligned sets')}",
            style="dim",
        )
    )
    print_renderable(Group(*parts))


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"
