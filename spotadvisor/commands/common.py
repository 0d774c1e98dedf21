"""What every command shares: global options, the error boundary, where output goes."""

from __future__ import annotations

import contextlib
import functools
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, ParamSpec, TypeVar

import typer
from rich.console import Console

from spotadvisor.errors import COMMAND_LINE, ExitCode, SpotadvisorError, UsageError

P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class CliState:
    """Global options, set by the app callback and read by every command."""

    db: Path | None = None
    debug: bool = False


def cli_state(ctx: typer.Context) -> CliState:
    """The global options of this invocation."""
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState()
    return root.obj


def stderr() -> Console:
    """Console for progress, warnings and notes (never mixed into results)."""
    return Console(stderr=True, highlight=False, soft_wrap=True)


def progress_on_stderr() -> dict[str, Any]:
    """Keyword arguments for a ``rich.progress.Progress`` that draws on stderr.

    Transient, and off when stderr is not a terminal: a bar that was never drawn would
    still leave an empty line in a CI log or a captured stream.
    """
    console = stderr()
    return {"console": console, "transient": True, "disable": not console.is_terminal}


def note(message: str) -> None:
    """A remark on stderr, kept as one line."""
    stderr().print(message, markup=False)


def handle_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn spotadvisor errors into one line on stderr and their exit code.

    Every command takes ``ctx: typer.Context`` so the wrapper can see ``--debug``.

    With ``--debug`` the traceback is printed too. Ctrl-C exits 130, also when DuckDB
    caught it first (it turns the interrupt into an error of its own). A DuckDB error
    about the file itself (I/O, a damaged block) that escaped the store's own checks is a
    data problem (3), not a bug. Other unexpected exceptions are bugs: one line asking
    for ``--debug``, exit code 1.
    """

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        # typer passes the context as ``ctx`` (its runtime class is click's, not typer.Context)
        ctx = kwargs.get("ctx")
        debug = ctx is not None and cli_state(ctx).debug  # type: ignore[arg-type]
        try:
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except SpotadvisorError as exc:
            if debug:
                traceback.print_exc()
            stderr().print(f"error: {exc.one_line()}", markup=False)
            raise typer.Exit(int(exc.exit_code)) from None
        except KeyboardInterrupt:
            _interrupted()
        except MemoryError:
            if debug:
                raise
            stderr().print(
                "error: the work did not fit in memory. use fewer --trials (a few thousand "
                "give a breach probability to about ±0.5 points) or smaller inputs.",
                markup=False,
            )
            raise typer.Exit(int(ExitCode.BAD_INPUT)) from None
        except Exception as exc:
            if is_interrupt(exc):
                _interrupted()
            if debug:
                raise
            if _is_store_file_error(exc):
                text = " ".join(str(exc).split()) or type(exc).__name__
                stderr().print(
                    f"error: a data file cannot be read: {text}. If it is the store, move it "
                    "aside and import or collect the data again, or point --db at another store.",
                    markup=False,
                )
                raise typer.Exit(int(ExitCode.DATA_PROBLEM)) from None
            stderr().print(
                f"internal error: {type(exc).__name__}: {exc}. "
                "Run again with --debug for the traceback and report it.",
                markup=False,
            )
            raise typer.Exit(int(ExitCode.POLICY_FAILED)) from None

    return wrapper


def _interrupted() -> NoReturn:
    stderr().print("interrupted; nothing half-written was kept", markup=False)
    raise typer.Exit(int(ExitCode.INTERRUPTED)) from None


def _from_duckdb(exc: BaseException) -> bool:
    """True for DuckDB's exceptions, told by module so duckdb is not imported here."""
    return type(exc).__module__.split(".")[0] in ("duckdb", "_duckdb")


def is_interrupt(exc: BaseException) -> bool:
    """True for Ctrl-C as DuckDB reports it when it arrives during a query.

    DuckDB catches the ``KeyboardInterrupt`` and raises ``InterruptException`` or a
    ``RuntimeError("Query interrupted")`` instead.
    """
    if isinstance(exc, KeyboardInterrupt):
        return True
    if _from_duckdb(exc) and type(exc).__name__ == "InterruptException":
        return True
    return isinstance(exc, RuntimeError) and str(exc).strip().lower() == "query interrupted"


def _is_store_file_error(exc: BaseException) -> bool:
    """A DuckDB error about the database file, not about a query: I/O or a damaged block."""
    if not _from_duckdb(exc):
        return False
    name = type(exc).__name__
    return name in ("IOException", "SerializationException") or (
        name == "Error" and "corrupt" in str(exc).lower()
    )


def emit(text: str, output: Path | None) -> None:
    """Write a result to ``output``, or to stdout when it is None."""
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        output.write_text(text)
    except OSError as exc:
        raise UsageError(
            f"cannot write the output: {exc.strerror}",
            file=str(output),
            fix="choose a writable path",
        ) from None
    note(f"wrote {output}")


def _output_folder_exists(value: Path | None) -> Path | None:
    """Refuse ``-o`` into a missing folder before any work is done."""
    if value is not None and not value.parent.is_dir():
        raise typer.BadParameter(
            f"the folder {value.parent} does not exist; create it or choose another path"
        )
    return value


def split_values(values: list[str] | None) -> list[str]:
    """Repeatable options that also accept comma-separated lists: ``-g A100,H100 -g L4``."""
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]


OUTPUT_OPTION: Any = typer.Option(
    None,
    "--output",
    "-o",
    metavar="FILE",
    help="Write the result to this file instead of stdout.",
    dir_okay=False,
    callback=_output_folder_exists,
)


def option_fraction(text: str, *, field: str, percent: bool) -> float:
    """A fraction from an option: ``99.9`` / ``99.9%`` with ``percent``, else ``0.05`` / ``5%``.

    Options arrive as text; numeric text is read as the number it spells, so the
    checks (and messages) are those of fleet files.
    """
    from spotadvisor.config import parse_fraction
    from spotadvisor.config.values import Where, as_availability

    value: object = text
    with contextlib.suppress(ValueError):
        value = float(text)
    if percent:  # every option in percent is an availability
        return as_availability(value, Where(COMMAND_LINE, field))
    return parse_fraction(value, origin=COMMAND_LINE, field=field, percent=percent)
