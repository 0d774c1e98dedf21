"""``spotadvisor data``: what the store holds, and importing public files into it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from spotadvisor.commands.common import OUTPUT_OPTION, cli_state, emit, handle_errors, note, stderr

if TYPE_CHECKING:
    from spotadvisor.ingest import ImportReport, StatusResult

app = typer.Typer(
    help="What the local store holds, and importing public data files into it.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)


class SummaryFormat(StrEnum):
    """Formats of the ``data`` commands."""

    table = "table"
    json = "json"


def _parse_as_of(value: str | None) -> datetime | None:
    from spotadvisor.errors import UsageError
    from spotadvisor.importers.base import given_as_of

    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"{value!r} is not a date",
            field="--as-of",
            fix="write it as YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC unless an offset is given)",
        ) from None
    # data cannot be true later than now; gates trust its age
    return given_as_of(parsed, field="--as-of", shown=value)


IMPORT_EPILOG = (
    "Formats are recognised from the content: AWS Spot Advisor JSON "
    "(spot-advisor-data.json), AWS spot price history (describe-spot-price-history JSON, "
    "CSV with a header, or headerless TSV with zone IDs), and SkyPilot GPU catalogs "
    "(AWS, GCP, Azure vms.csv). GCP catalogs split the GPU price from the VM price: import "
    "the VM rows and the accelerator rows together.\n\n"
    "Everything is parsed before anything is written, and all files are written in one "
    "transaction: a bad file leaves the store as it was. Importing the same file again "
    "adds nothing.\n\n"
    "Examples:\n\n"
    "  spotadvisor data import spot-advisor-data.json\n\n"
    "  spotadvisor data import catalogs/gcp/ --as-of 2025-06-01\n\n"
    "  spotadvisor data import prices.tsv.gz --dry-run"
)


@app.command("import", epilog=IMPORT_EPILOG)
@handle_errors
def import_(
    ctx: typer.Context,
    files: list[Path] = typer.Argument(
        ..., metavar="FILE", help="Files or folders to import.", show_default=False
    ),
    file_format: str | None = typer.Option(
        None,
        "--file-format",
        metavar="FORMAT",
        help="Format of every file (default: recognised from content).",
    ),
    as_of: str | None = typer.Option(
        None,
        "--as-of",
        metavar="DATE",
        help="When the data was true (YYYY-MM-DD). Default: the date in the file name, the "
        "newest record of a price history, else the file's modification time.",
    ),
    source: str | None = typer.Option(
        None,
        "--source",
        metavar="NAME",
        help="Provenance name stored with every row (default: format:file).",
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Parse and report, write nothing."),
    output_format: SummaryFormat = typer.Option(
        SummaryFormat.table, "--format", "-f", help="table or json summary."
    ),
    output: Path | None = OUTPUT_OPTION,
) -> None:
    """Import public data files (Spot Advisor, spot price history, GPU catalogs) into the store."""
    from spotadvisor.ingest import import_files
    from spotadvisor.store import Store, resolve_store_path

    store = Store(resolve_store_path(cli_state(ctx).db))
    with stderr().status("reading files...") as spinner:
        report = import_files(
            store,
            files,
            format_name=file_format,
            as_of=_parse_as_of(as_of),
            source=source,
            dry_run=dry_run,
            on_file=lambda path, fmt: spinner.update(f"reading {path.name} ({fmt.name})"),
        )
    for line in report.notes:
        note(line)
    if report.dry_run:
        note("dry run: nothing was written")
    else:
        note(f"store: {store.path}")
    _show(_import_summary(report), output_format, output)


def _import_summary(report: ImportReport) -> Summary:
    from spotadvisor.schema import SCHEMA_VERSION

    document = {
        "schema_version": SCHEMA_VERSION,
        "dry_run": report.dry_run,
        "parsed": [
            {"table": t, "source": s, "origin": o, "rows": n} for t, s, o, n in report.parsed
        ],
        "written": [r.__dict__ for r in report.results],
        "notes": list(report.notes),
    }
    if report.dry_run:
        headers = ["Table", "Source", "From", "Rows"]
        rows = [[t, s, o, f"{n:,}"] for t, s, o, n in report.parsed]
        return Summary(
            "Parsed (dry run)", headers, rows, [False, False, False, True], None, document
        )
    headers = ["Table", "Source", "Rows", "New", "Updated", "Unchanged"]
    rows = [
        [r.table, r.source, f"{r.rows:,}", f"{r.inserted:,}", f"{r.updated:,}", f"{r.unchanged:,}"]
        for r in report.results
    ]
    return Summary(
        "Imported", headers, rows, [False, False, True, True, True, True], None, document
    )


@dataclass(frozen=True)
class Summary:
    """A small result shown as a table or as JSON."""

    title: str
    headers: list[str]
    rows: list[list[str]]
    right: list[bool]
    caption: str | None
    document: dict[str, Any]


def _show(summary: Summary, output_format: SummaryFormat, output: Path | None) -> None:
    from spotadvisor.render.json import render_json
    from spotadvisor.render.table import build_table, print_renderable, renderable_text

    if output_format is SummaryFormat.json:
        emit(render_json(summary.document), output)
        return
    table = build_table(
        summary.title, summary.headers, summary.rows, right=summary.right, caption=summary.caption
    )
    if output is None:
        print_renderable(table)
    else:
        emit(renderable_text(table), output)


class ExportFormat(StrEnum):
    """Formats of ``data export``."""

    csv = "csv"
    json = "json"
    parquet = "parquet"


@app.command("export")
@handle_errors
def export(
    ctx: typer.Context,
    table: str = typer.Argument(
        ...,
        metavar="TABLE",
        help="offers, spot_price_history, interruption_history or billing.",
        show_default=False,
    ),
    output_format: ExportFormat = typer.Option(
        ExportFormat.csv, "--format", "-f", help="csv, json or parquet (parquet needs -o)."
    ),
    output: Path | None = OUTPUT_OPTION,
) -> None:
    """Export a canonical table (from the store, or the embedded snapshot when the store has none)."""
    from spotadvisor.errors import UsageError
    from spotadvisor.ingest import export_table
    from spotadvisor.render.csv import render_csv
    from spotadvisor.render.json import render_json
    from spotadvisor.render.values import plain
    from spotadvisor.schema import SCHEMA_VERSION
    from spotadvisor.snapshot import write_parquet
    from spotadvisor.store import Store, resolve_store_path

    data = export_table(Store(resolve_store_path(cli_state(ctx).db)), table)
    note(data.age_note())
    if output_format is ExportFormat.parquet:
        if output is None:
            raise UsageError(
                "Parquet is binary and is not written to a terminal",
                field="--format",
                fix="add -o FILE.parquet",
            )
        write_parquet(data.frame, output)
        note(f"wrote {output} ({len(data.frame):,} rows)")
    elif output_format is ExportFormat.json:
        rows = [{k: plain(v) for k, v in r.items()} for r in data.frame.to_dict("records")]
        document = {"schema_version": SCHEMA_VERSION, "data": data.provenance(), "rows": rows}
        emit(render_json(document), output)
    else:
        emit(render_csv(data.frame), output)


@app.command("status")
@handle_errors
def status(
    ctx: typer.Context,
    output_format: SummaryFormat = typer.Option(SummaryFormat.table, "--format", "-f"),
    output: Path | None = OUTPUT_OPTION,
) -> None:
    """Rows, sources, as-of dates and age of the data every read command uses."""
    from spotadvisor.ingest import data_status
    from spotadvisor.store import Store, resolve_store_path

    result = data_status(Store(resolve_store_path(cli_state(ctx).db)))
    headers, rows = _status_rows(result)
    caption = (
        f"store: {result.store_path}"
        if result.store_exists
        else f"store: {result.store_path} (not created yet; read commands use the embedded snapshot)"
    )
    right = [False, False, False, True, False, True, False]
    if result.collections and output_format is SummaryFormat.table:
        from spotadvisor.render.table import build_table, print_renderable

        rows_c = [
            [
                str(c["cloud"]),
                str(c["source"]),
                str(c["region"] or ""),
                str(c["started_at"])[:16],
                f"{int(c['rows'] or 0):,}",
                "ok" if not c["error"] else f"failed: {c['error']}",
            ]
            for c in result.collections
        ]
        print_renderable(
            build_table(
                "Latest collections",
                ["Cloud", "Source", "Region", "Started (UTC)", "Rows", "Result"],
                rows_c,
                right=[False, False, False, False, True, False],
            )
        )
    _show(
        Summary("Data", headers, rows, right, caption, _status_document(result)),
        output_format,
        output,
    )
    for table in result.tables:  # an age that cannot be told is said on every format
        for line in table.future_notes(result.generated_at):
            note(f"note: {line}")
    if output_format is SummaryFormat.table:
        for line in result.carried_prices:
            note(f"note: {line}")


def _status_rows(result: StatusResult) -> tuple[list[str], list[list[str]]]:
    headers = ["Table", "Origin", "Source", "Rows", "As of", "Age (days)", "Imported"]
    rows: list[list[str]] = []
    for table in result.tables:
        prov = table.provenance(result.generated_at)
        if not prov["sources"]:
            rows.append([table.table.name, table.origin, "(none)", "0", "", "", ""])
        for src in prov["sources"]:
            imported = result.ingested_at.get((table.table.name, src["source"]))
            rows.append(
                [
                    table.table.name,
                    table.origin_of(src["source"]),
                    src["source"],
                    f"{src['rows']:,}",
                    src["as_of"][:10],
                    "unknown" if src["age_days"] is None else f"{src['age_days']:,.0f}",
                    f"{imported:%Y-%m-%d %H:%M}" if imported else "",
                ]
            )
    return headers, rows


def _status_document(result: StatusResult) -> dict[str, Any]:
    from spotadvisor.schema import SCHEMA_VERSION

    tables = []
    for table in result.tables:
        prov = table.provenance(result.generated_at)
        for src in prov["sources"]:
            imported = result.ingested_at.get((table.table.name, src["source"]))
            src["ingested_at"] = imported.isoformat() if imported else None
        tables.append(prov)
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": result.generated_at.isoformat(),
        "store": {"path": result.store_path, "exists": result.store_exists},
        "tables": tables,
        "collections": list(result.collections),
        "carried_prices": list(result.carried_prices),
        "snapshot": result.snapshot,
    }
