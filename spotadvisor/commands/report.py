"""``spotadvisor report``: the monthly FinOps report from tagged billing data."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from spotadvisor.commands.common import (
    cli_state,
    emit,
    handle_errors,
    note,
    option_fraction,
    progress_on_stderr,
    split_values,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from spotadvisor.report import InterruptionEvent, Report
    from spotadvisor.report.engine import QueryEngine
    from spotadvisor.report.sql import ReportQuery
    from spotadvisor.store import Store


class ReportFormat(StrEnum):
    """Formats of ``report``."""

    html = "html"
    markdown = "markdown"
    json = "json"
    csv = "csv"


class EngineName(StrEnum):
    """Where the report's SQL runs."""

    duckdb = "duckdb"
    athena = "athena"
    bigquery = "bigquery"


class ScopeName(StrEnum):
    """Which billing lines the report covers."""

    gpu = "gpu"
    compute = "compute"
    all = "all"


EPILOG = (
    "Reads the billing table of the store (fill it with 'spotadvisor data import' of "
    "FOCUS, CUR or Azure cost exports, or with 'spotadvisor collect'), or sends the same "
    "SQL to Athena (a CUR 2.0 table) or BigQuery (a GCP billing export) with --engine. "
    "See docs/report.md for every figure and how it is computed.\n\n"
    "Examples:\n\n"
    "  spotadvisor report --month 2026-10 --tag team --tag model -o october.html\n\n"
    "  spotadvisor report --format markdown --spot-tag lifecycle=spot > report.md\n\n"
    "  spotadvisor report --format csv -o tables/\n\n"
    "  spotadvisor report --engine athena --table billing.cur2 "
    "--athena-output s3://my-bucket/athena/ --month 2026-10"
)


@handle_errors
def report(
    ctx: typer.Context,
    month: str | None = typer.Option(
        None,
        "--month",
        "-m",
        metavar="YYYY-MM",
        help="The month to report (UTC). Default: the last complete month.",
    ),
    tags: list[str] | None = typer.Option(
        None,
        "--tag",
        "-t",
        metavar="KEY",
        help="Tag key to break spend down by; repeat or comma-separate. The first one "
        "groups the spot-share chart. Default: team.",
    ),
    spot_tag: str | None = typer.Option(
        None,
        "--spot-tag",
        metavar="KEY[=VALUE]",
        help="The tag that marks spot workloads; the report lists spot spend without it "
        "and tagged spend that is not on spot.",
    ),
    scope: ScopeName = typer.Option(
        ScopeName.gpu,
        "--scope",
        help="gpu: GPU instances and GPU SKUs; compute: any instance; all: every line.",
    ),
    currency: str | None = typer.Option(
        None,
        "--currency",
        metavar="CODE",
        help="Report in this currency. Default: the one with the most spend; spend in "
        "others is listed in the notes.",
    ),
    sla: str = typer.Option(
        "99.9",
        "--sla",
        metavar="PERCENT",
        help="Availability target the recommended mixes must meet.",
    ),
    risk: str = typer.Option(
        "0.05",
        "--risk",
        metavar="P",
        help="Largest acceptable probability of missing the SLA in a month.",
    ),
    max_recommendations: int = typer.Option(
        5,
        "--max-recommendations",
        metavar="N",
        min=0,
        help="On-demand GPU groups to simulate for savings left on the table, most spend first.",
    ),
    trials: int = typer.Option(
        400, "--trials", metavar="N", min=50, help="Monte Carlo trials per recommendation."
    ),
    top: int = typer.Option(
        10, "--top", metavar="N", min=1, help="Rows in the untagged-resource lists."
    ),
    output_format: ReportFormat = typer.Option(
        ReportFormat.html, "--format", "-f", help="html, markdown, json or csv."
    ),
    output: Path | None = typer.Option(
        None,
        "--output",
        "-o",
        metavar="PATH",
        help="File to write (a folder for csv). Default: stdout, except html, which goes "
        "to report-YYYY-MM.html.",
    ),
    table: str | None = typer.Option(
        None,
        "--table-name",
        metavar="NAME",
        help="With --format csv: print only this table to stdout (e.g. by_cloud).",
    ),
    show_sql: bool = typer.Option(
        False, "--show-sql", help="Print the SQL the engine would run, and stop."
    ),
    engine_name: EngineName = typer.Option(
        EngineName.duckdb,
        "--engine",
        help="duckdb: the local store; athena: a CUR 2.0 table; bigquery: a GCP billing export.",
    ),
    source_table: str | None = typer.Option(
        None,
        "--table",
        metavar="NAME",
        help="The billing table for athena (database.table) or bigquery (project.dataset.table).",
    ),
    athena_output: str | None = typer.Option(
        None,
        "--athena-output",
        metavar="S3_URI",
        help="Where Athena writes query results, e.g. s3://bucket/athena/.",
    ),
    workgroup: str | None = typer.Option(
        None, "--workgroup", metavar="NAME", help="Athena workgroup."
    ),
    region: str | None = typer.Option(
        None, "--region", metavar="REGION", help="AWS region of Athena."
    ),
    project: str | None = typer.Option(
        None, "--project", metavar="ID", help="Google Cloud project that runs BigQuery jobs."
    ),
    endpoint_url: str | None = typer.Option(
        None,
        "--endpoint-url",
        metavar="URL",
        help="Send Athena or BigQuery calls to this endpoint (e.g. a local emulator).",
    ),
    watch_logs: list[Path] | None = typer.Option(
        None,
        "--watch-log",
        metavar="FILE",
        help="A notice log written by 'spotadvisor watch --log' (repeatable): the "
        "Interruptions section counts its termination notices per pool, against the spot "
        "hours in the billing data, merged with the store's events ('spotadvisor events').",
        dir_okay=False,
    ),
) -> None:
    """Monthly FinOps report: GPU spend, spot share, realised savings, savings left on the table and tag hygiene."""
    from spotadvisor.report import Month, OpportunitySettings, ReportQuery, SpotTag
    from spotadvisor.report.engine import DuckDBEngine
    from spotadvisor.report.interruptions import events_from_watch_logs
    from spotadvisor.report.sql import check_tag_key
    from spotadvisor.store import Store, resolve_store_path

    period = Month.parse(month) if month else Month.last_complete()
    keys = tuple(check_tag_key(k) for k in (split_values(tags) or ["team"]))
    query = ReportQuery(
        month=period,
        tags=tuple(dict.fromkeys(keys)),
        spot_tag=SpotTag.parse(spot_tag) if spot_tag else None,
        scope=scope.value,
        top=top,
    )
    store = Store(resolve_store_path(cli_state(ctx).db))
    engine, source = _engine(
        engine_name,
        store,
        query,
        source_table,
        athena_output,
        workgroup,
        region,
        project,
        endpoint_url,
    )
    if show_sql:
        from spotadvisor.report.sql import statements

        for label, sql in statements(query, source, engine.dialect).items():
            emit(f"-- {label}\n{sql};\n\n", None)
        return
    _check_output(output_format, output, table)
    if isinstance(engine, DuckDBEngine):  # the store's events of the month, plus the logs
        from spotadvisor.events.report import report_events

        events = report_events(store, period, watch_logs or [])
    else:
        events = events_from_watch_logs(watch_logs) if watch_logs else None
    if isinstance(engine, DuckDBEngine):
        engine.require_billing()
    availability = option_fraction(sla, field="--sla", percent=True)
    max_breach = option_fraction(risk, field="--risk", percent=False)
    settings = (
        OpportunitySettings(
            availability=availability,
            max_breach_probability=max_breach,
            trials=trials,
            limit=max_recommendations,
        )
        if max_recommendations
        else None
    )
    result = _build(engine, source, query, store, settings, currency, events)
    for line in result.notes:
        note(f"note: {line}")
    _write(result, output_format, output, table)


def _engine(
    name: EngineName,
    store: Store,
    query: ReportQuery,
    table: str | None,
    athena_output: str | None,
    workgroup: str | None,
    region: str | None,
    project: str | None,
    endpoint_url: str | None,
) -> tuple[QueryEngine, str]:
    """The engine and the ``lines`` source for its table."""
    from spotadvisor.errors import UsageError
    from spotadvisor.report.engine import DuckDBEngine
    from spotadvisor.report.sql import store_source

    if name is EngineName.duckdb:
        for flag, value in (("--table", table), ("--athena-output", athena_output)):
            if value:
                raise UsageError(
                    f"{flag} is for --engine athena or bigquery",
                    field=flag,
                    fix="drop it, or add --engine athena / --engine bigquery",
                )
        return DuckDBEngine(store.path), store_source(query)
    if not table:
        raise UsageError(
            f"--engine {name.value} needs the billing table",
            field="--table",
            fix="add --table database.cur2 (athena) or --table project.dataset.gcp_billing_"
            "export_v1_XXXX (bigquery)",
        )
    if name is EngineName.athena:
        from spotadvisor.report.athena import AthenaEngine
        from spotadvisor.report.remote_sources import cur2_source, split_athena_table

        if not athena_output:
            raise UsageError(
                "Athena needs a place for query results",
                field="--athena-output",
                fix="add --athena-output s3://BUCKET/PREFIX/ (a prefix you may write to)",
            )
        database, relation = split_athena_table(table)
        engine = AthenaEngine(
            database,
            athena_output,
            workgroup=workgroup,
            region=region,
            endpoint_url=endpoint_url,
        )
        return engine, cur2_source(query, relation)
    from spotadvisor.report.bigquery import BigQueryEngine
    from spotadvisor.report.remote_sources import gcp_export_source

    return (
        BigQueryEngine(project, endpoint_url=endpoint_url),
        gcp_export_source(query, table),
    )


def _build(
    engine: QueryEngine,
    source: str,
    query: ReportQuery,
    store: Store,
    settings: object,
    currency: str | None,
    events: Sequence[InterruptionEvent] | None,
) -> Report:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from spotadvisor.report import OpportunitySettings, build_report

    assert settings is None or isinstance(settings, OpportunitySettings)
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        **progress_on_stderr(),
    )
    with progress:
        task = progress.add_task("report", total=None)

        def update(step: str, done: int, total: int) -> None:
            progress.update(task, description=step or "report", completed=done, total=total)

        return build_report(
            engine,
            source,
            query,
            store,
            opportunities=settings,
            currency=currency.upper() if currency else None,
            interruption_events=events,
            on_progress=update,
        )


def _check_output(fmt: ReportFormat, output: Path | None, table: str | None) -> None:
    """Refuse output options that cannot work, before any query runs."""
    from spotadvisor.errors import UsageError

    if table is not None and fmt is not ReportFormat.csv:
        raise UsageError(
            "--table-name needs --format csv", field="--table-name", fix="add --format csv"
        )
    if fmt is ReportFormat.csv and table is None and output is None:
        raise UsageError(
            "csv writes one file per table",
            field="--output",
            fix="add -o FOLDER, or --table-name NAME to print one table",
        )


def _write(result: Report, fmt: ReportFormat, output: Path | None, table: str | None) -> None:
    from spotadvisor.errors import UsageError, did_you_mean
    from spotadvisor.render.csv import render_csv
    from spotadvisor.render.report_tables import tables
    from spotadvisor.render.report_text import (
        render_report_json,
        render_report_markdown,
        write_csv_tables,
    )

    if fmt is ReportFormat.markdown:
        emit(render_report_markdown(result), output)
    elif fmt is ReportFormat.json:
        emit(render_report_json(result), output)
    elif fmt is ReportFormat.csv:
        named = tables(result)
        if table is not None:
            if table not in named:
                raise UsageError(
                    f"no table {table!r} in the report",
                    field="--table-name",
                    fix=did_you_mean(table, list(named)) or f"choose one of {', '.join(named)}",
                )
            emit(render_csv(named[table]), output)
        else:
            assert output is not None  # _check_output
            written = write_csv_tables(result, output)
            note(f"wrote {len(written)} tables to {output}")
    else:
        from spotadvisor.render.report_html import render_report_html

        path = output or Path(f"report-{result.month.label}.html")
        emit(render_report_html(result), path)
