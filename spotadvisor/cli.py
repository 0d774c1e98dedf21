"""The ``spotadvisor`` command line: a thin typer app over the library.

Each command parses its options, calls one library function, renders the result and
maps errors to exit codes (0 ok, 1 gate or policy failed, 2 bad usage or input,
3 data problem). Heavy modules (pandas, duckdb, cloud SDKs) are imported inside the
commands so ``spotadvisor --help`` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from spotadvisor import __version__
from spotadvisor.commands import collect as collect_commands
from spotadvisor.commands import data as data_commands
from spotadvisor.commands import events as events_commands
from spotadvisor.commands.calibrate import EPILOG as CALIBRATE_EPILOG
from spotadvisor.commands.calibrate import calibrate
from spotadvisor.commands.common import CliState
from spotadvisor.commands.gate import EPILOG as GATE_EPILOG
from spotadvisor.commands.gate import gate
from spotadvisor.commands.mock_metadata import EPILOG as MOCK_EPILOG
from spotadvisor.commands.mock_metadata import mock_metadata
from spotadvisor.commands.offers import EPILOG as OFFERS_EPILOG
from spotadvisor.commands.offers import offers
from spotadvisor.commands.recommend import EPILOG as RECOMMEND_EPILOG
from spotadvisor.commands.recommend import recommend
from spotadvisor.commands.replay import EPILOG as REPLAY_EPILOG
from spotadvisor.commands.replay import replay
from spotadvisor.commands.report import EPILOG as REPORT_EPILOG
from spotadvisor.commands.report import report
from spotadvisor.commands.simulate import EPILOG as SIMULATE_EPILOG
from spotadvisor.commands.simulate import simulate
from spotadvisor.commands.watch import EPILOG as WATCH_EPILOG
from spotadvisor.commands.watch import watch
from spotadvisor.errors import ExitCode

app = typer.Typer(
    name="spotadvisor",
    help=(
        "Spot-risk and FinOps advisor for GPU fleets that serve LLMs.\n\n"
        "Finds GPU offers across AWS, GCP and Azure with on-demand and spot prices and "
        "interruption bands. Works offline from an embedded snapshot until you import or "
        "collect fresher data.\n\n"
        "Exit codes: 0 ok, 1 a gate or policy failed, 2 bad usage or input, "
        "3 data missing, stale or unreachable."
    ),
    rich_markup_mode="rich",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"spotadvisor {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    db: Path | None = typer.Option(
        None,
        "--db",
        metavar="FILE",
        envvar="SPOTADVISOR_DB",
        help="The local store (a DuckDB file). Default: spotadvisor.duckdb in your user data folder.",
        dir_okay=False,
        show_envvar=True,
    ),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
    version: bool = typer.Option(
        False,
        "--version",
        "-V",
        callback=_version,
        is_eager=True,
        help="Print the version and exit.",
    ),
) -> None:
    """Global options."""
    ctx.obj = CliState(db=db, debug=debug)


app.command(epilog=RECOMMEND_EPILOG)(recommend)
app.command(epilog=OFFERS_EPILOG)(offers)
app.command(epilog=SIMULATE_EPILOG)(simulate)
app.command(epilog=GATE_EPILOG)(gate)
app.command(epilog=REPORT_EPILOG)(report)
app.command(epilog=REPLAY_EPILOG)(replay)
app.command(epilog=CALIBRATE_EPILOG)(calibrate)
app.command(name="mock-metadata", epilog=MOCK_EPILOG)(mock_metadata)
app.command(epilog=WATCH_EPILOG)(watch)
app.add_typer(collect_commands.app, name="collect")
app.add_typer(data_commands.app, name="data")
app.add_typer(events_commands.app, name="events")


def _parser_error(name: str) -> type[Exception]:
    """The option parser's ``UsageError`` / ``ClickException`` class.

    Found through ``typer.BadParameter`` because typer may carry its own copy of click.
    """
    return next(c for c in typer.BadParameter.__mro__ if c.__name__ == name)


def main() -> None:
    """Console-script entry point.

    Usage errors found by the option parser (a missing argument, an unknown option, a
    value out of range) print one line and exit 2, like every other input error.
    """
    parser_usage_error, parser_error = _parser_error("UsageError"), _parser_error("ClickException")
    try:
        code = app(prog_name="spotadvisor", standalone_mode=False)
    except parser_usage_error as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # a bare group: show its help
            exc.show()  # type: ignore[attr-defined]
            sys.exit(exc.exit_code)  # type: ignore[attr-defined]
        ctx = getattr(exc, "ctx", None)
        where = ctx.command_path if ctx is not None else "spotadvisor"
        message = " ".join(exc.format_message().split())  # type: ignore[attr-defined]
        message += "" if message.endswith((".", "?", "!")) else "."
        print(f"error: {where}: {message} See '{where} --help'.", file=sys.stderr)
        sys.exit(ExitCode.BAD_INPUT)
    except parser_error as exc:
        print(f"error: {' '.join(exc.format_message().split())}", file=sys.stderr)  # type: ignore[attr-defined]
        sys.exit(exc.exit_code)  # type: ignore[attr-defined]
    except typer.Abort:
        print("aborted", file=sys.stderr)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
