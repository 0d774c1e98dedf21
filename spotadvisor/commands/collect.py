"""``spotadvisor collect``: pull fresh data from the clouds into the store."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from spotadvisor.commands.common import (
    OUTPUT_OPTION,
    cli_state,
    emit,
    handle_errors,
    note,
    progress_on_stderr,
    split_values,
)

if TYPE_CHECKING:
    from spotadvisor.collect.run import CollectionReport

app = typer.Typer(
    help="Pull fresh prices, interruption data and billing from the clouds into the store.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)


class CollectFormat(StrEnum):
    """Formats of ``collect``."""

    table = "table"
    json = "json"


class Granularity(StrEnum):
    """Cost Explorer granularity."""

    monthly = "monthly"
    daily = "daily"


AWS_EPILOG = (
    "Credentials come from the standard AWS chain (environment, profiles, SSO, instance "
    "roles); --profile picks a profile. Regions run in parallel with adaptive retries; a "
    "region or source that still fails is reported at the end while everything that "
    "succeeded is kept (exit 3 only when nothing usable came back). The Spot Advisor JSON "
    "needs no credentials. IAM permissions used: ec2:DescribeSpotPriceHistory, "
    "pricing:GetProducts, ec2:GetSpotPlacementScores (with --target-capacity), "
    "ce:GetCostAndUsage (with --tag or --billing).\n\n"
    "Examples:\n\n"
    "  spotadvisor collect aws --regions us-east-1,us-west-2\n\n"
    "  spotadvisor collect aws --instance-types p5.48xlarge --target-capacity 4\n\n"
    "  spotadvisor collect aws --billing --tag team --tag model --granularity daily\n\n"
    "  spotadvisor collect aws --dry-run"
)


@app.command("aws", epilog=AWS_EPILOG)
@handle_errors
def aws(
    ctx: typer.Context,
    regions: list[str] | None = typer.Option(
        None,
        "--regions",
        metavar="REGION",
        help="Regions (default: every AWS region in the offers data).",
    ),
    instance_types: list[str] | None = typer.Option(
        None, "--instance-types", metavar="TYPE", help="Instance types (default: every GPU type)."
    ),
    since: str = typer.Option(
        "30d", "--since", metavar="DURATION", help="Spot price history window, at most 90d."
    ),
    sources: list[str] | None = typer.Option(
        None,
        "--sources",
        metavar="SOURCE",
        help="spot-prices, bands, on-demand, placement, billing (default: the first three, plus placement with --target-capacity and billing with --tag/--billing).",
    ),
    target_capacity: int | None = typer.Option(
        None,
        "--target-capacity",
        metavar="N",
        min=1,
        help="Instances a workload needs: collects placement scores per zone at that capacity.",
    ),
    tag: list[str] | None = typer.Option(
        None, "--tag", metavar="KEY", help="Cost-allocation tag to group billing by (repeatable)."
    ),
    billing: bool = typer.Option(
        False, "--billing", help="Collect Cost Explorer billing by purchase type."
    ),
    billing_months: int = typer.Option(
        1,
        "--billing-months",
        metavar="N",
        min=1,
        max=12,
        help="Whole months of billing before this one.",
    ),
    granularity: Granularity = typer.Option(
        Granularity.monthly, "--granularity", help="Billing granularity."
    ),
    spot_advisor_url: str | None = typer.Option(
        None, "--spot-advisor-url", metavar="URL", help="Where the Spot Advisor JSON is."
    ),
    endpoint_url: str | None = typer.Option(
        None,
        "--endpoint-url",
        metavar="URL",
        help="Send every AWS call to this endpoint (testing, AWS-compatible endpoints).",
    ),
    profile: str | None = typer.Option(
        None, "--profile", metavar="NAME", help="AWS profile (default: the standard chain)."
    ),
    workers: int = typer.Option(
        16, "--workers", metavar="N", min=1, max=64, help="Calls in parallel."
    ),
    timeout: float = typer.Option(
        30.0, "--timeout", metavar="SECONDS", min=1, help="Read timeout per call."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Say what would be called; call nothing."
    ),
    output_format: CollectFormat = typer.Option(
        CollectFormat.table, "--format", "-f", help="table or json."
    ),
    output: Path | None = OUTPUT_OPTION,
) -> None:
    """Collect AWS spot price history, interruption bands, on-demand prices, placement scores and billing."""

    from spotadvisor.collect.aws import AwsOptions, collect_aws
    from spotadvisor.config import parse_duration
    from spotadvisor.gpus import aws_gpu_instance_types
    from spotadvisor.store import Store, resolve_store_path

    store = Store(resolve_store_path(cli_state(ctx).db))
    chosen = set(split_values(sources)) or {"spot-prices", "bands", "on-demand"}
    if target_capacity and not sources:
        chosen.add("placement")
    if (tag or billing) and not sources:
        chosen.add("billing")
    options = AwsOptions(
        regions=tuple(split_values(regions)) or _default_regions(store, "aws"),
        instance_types=tuple(split_values(instance_types)) or tuple(aws_gpu_instance_types()),
        since_hours=parse_duration(since, origin="command line", field="--since"),
        sources=frozenset(chosen),
        target_capacity=target_capacity,
        tag_keys=tuple(split_values(tag)),
        billing_months=billing_months,
        billing_granularity=granularity.value.upper(),
        spot_advisor_url=spot_advisor_url,
        endpoint_url=endpoint_url,
        profile=profile,
        workers=workers,
        read_timeout_s=timeout,
    )
    from spotadvisor.collect.aws import plan

    _run_collection("AWS", store, options, collect_aws, plan, dry_run, output_format, output)


AZURE_EPILOG = (
    "Prices come from the public Azure Retail Prices API (no credentials). Eviction-rate "
    "bands and spot price history come from Azure Resource Graph and billing from the "
    "Consumption API; these use DefaultAzureCredential (environment, workload or managed "
    "identity, Azure CLI login) and need Reader on the subscriptions and, for billing, "
    "Cost Management Reader on the scope. Same parallel run, retries and partial-failure "
    "rules as 'collect aws'.\n\n"
    "Examples:\n\n"
    "  spotadvisor collect azure --regions eastus,westus2\n\n"
    "  spotadvisor collect azure --sources prices\n\n"
    "  spotadvisor collect azure --sources billing --billing-scope /subscriptions/SUB --billing-month 2026-10"
)


@app.command("azure", epilog=AZURE_EPILOG)
@handle_errors
def azure(
    ctx: typer.Context,
    regions: list[str] | None = typer.Option(
        None,
        "--regions",
        metavar="REGION",
        help="ARM regions (default: the Azure regions in the offers data).",
    ),
    sizes: list[str] | None = typer.Option(
        None, "--sizes", metavar="SIZE", help="VM sizes (default: every NC/ND/NV GPU size)."
    ),
    sources: list[str] | None = typer.Option(
        None,
        "--sources",
        metavar="SOURCE",
        help="prices, evictions, spot-history, billing (default: the first three; billing with --billing-scope).",
    ),
    subscriptions: list[str] | None = typer.Option(
        None,
        "--subscription",
        metavar="ID",
        help="Subscriptions for Resource Graph (default: all the credential can read).",
    ),
    billing_scope: str | None = typer.Option(
        None, "--billing-scope", metavar="SCOPE", help="Consumption scope, e.g. /subscriptions/ID."
    ),
    billing_month: str | None = typer.Option(
        None,
        "--billing-month",
        metavar="YYYY-MM",
        help="Billing month (default: the last whole month).",
    ),
    retail_prices_url: str | None = typer.Option(
        None, "--retail-prices-url", metavar="URL", help="The Retail Prices endpoint."
    ),
    management_endpoint: str | None = typer.Option(
        None, "--management-endpoint", metavar="URL", help="Azure Resource Manager endpoint."
    ),
    workers: int = typer.Option(
        8, "--workers", metavar="N", min=1, max=64, help="Calls in parallel."
    ),
    timeout: float = typer.Option(
        30.0, "--timeout", metavar="SECONDS", min=1, help="Timeout per call."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Say what would be called; call nothing."
    ),
    output_format: CollectFormat = typer.Option(
        CollectFormat.table, "--format", "-f", help="table or json."
    ),
    output: Path | None = OUTPUT_OPTION,
) -> None:
    """Collect Azure GPU prices, eviction-rate bands, spot price history and billing."""
    from spotadvisor.collect.azure import collect_azure, plan
    from spotadvisor.collect.azure_options import DEFAULT_SOURCES, AzureOptions
    from spotadvisor.store import Store, resolve_store_path

    store = Store(resolve_store_path(cli_state(ctx).db))
    chosen = set(split_values(sources)) or set(DEFAULT_SOURCES)
    if billing_scope and not sources:
        chosen.add("billing")
    changes: dict[str, Any] = {
        "sources": frozenset(chosen),
        "subscriptions": tuple(split_values(subscriptions)),
        "billing_scope": billing_scope,
        "billing_month": billing_month,
        "management_endpoint": management_endpoint,
        "workers": workers,
        "timeout_s": timeout,
    }
    changes["regions"] = tuple(split_values(regions)) or _default_regions(store, "azure")
    if sizes:
        changes["sizes"] = tuple(split_values(sizes))
    if retail_prices_url:
        changes["retail_prices_url"] = retail_prices_url
    options = AzureOptions(**changes)
    _run_collection("Azure", store, options, collect_azure, plan, dry_run, output_format, output)


GCP_EPILOG = (
    "Prices come from the Cloud Billing Catalog API (Compute Engine SKUs: cores, RAM and "
    "GPUs, on demand and spot), composed into machine-type prices per region. GCP "
    "publishes no interruption bands: with a project (--project or the Application "
    "Default Credentials project), Compute Engine's advice API gives each zone's measured "
    "Spot preemption share (preemption) and obtainability (capacity, as placement "
    "scores); the machines it does not measure get a prior fitted from public preemption "
    "traces, marked as a prior everywhere it shows. Billing comes from the BigQuery "
    "billing export. Credentials: Application Default Credentials (gcloud auth "
    "application-default login, a service account, or the metadata server). IAM: "
    "compute.advice.capacityHistory and compute.advice.capacity (in Compute Viewer) for "
    "the advice sources.\n\n"
    "Examples:\n\n"
    "  spotadvisor collect gcp --regions us-central1,europe-west4\n\n"
    "  spotadvisor collect gcp --project my-project --sources preemption,capacity --target-capacity 4\n\n"
    "  spotadvisor collect gcp --sources billing --billing-table PROJ.billing.gcp_billing_export_v1_XXXX --billing-month 2026-10"
)


@app.command("gcp", epilog=GCP_EPILOG)
@handle_errors
def gcp(
    ctx: typer.Context,
    regions: list[str] | None = typer.Option(
        None,
        "--regions",
        metavar="REGION",
        help="Regions (default: the GCP regions in the offers data).",
    ),
    machine_types: list[str] | None = typer.Option(
        None,
        "--machine-types",
        metavar="TYPE",
        help="Machine types (default: every GPU machine type).",
    ),
    sources: list[str] | None = typer.Option(
        None,
        "--sources",
        metavar="SOURCE",
        help="prices, bands, preemption, capacity, billing (default: the first four, the advice "
        "sources preemption and capacity when there is a project; billing with --billing-table).",
    ),
    target_capacity: int | None = typer.Option(
        None,
        "--target-capacity",
        metavar="N",
        min=1,
        help="Instances a workload needs: capacity advice per zone at that size (default 1).",
    ),
    billing_table: str | None = typer.Option(
        None,
        "--billing-table",
        metavar="TABLE",
        help="BigQuery billing export table, project.dataset.table.",
    ),
    billing_month: str | None = typer.Option(
        None,
        "--billing-month",
        metavar="YYYY-MM",
        help="Billing month (default: the last whole month).",
    ),
    project: str | None = typer.Option(
        None,
        "--project",
        metavar="ID",
        help="Project for the advice calls and the BigQuery query (default: the Application "
        "Default Credentials project; the billing table's project for the query).",
    ),
    catalog_endpoint: str | None = typer.Option(
        None, "--catalog-endpoint", metavar="URL", help="Cloud Billing Catalog endpoint."
    ),
    bigquery_endpoint: str | None = typer.Option(
        None, "--bigquery-endpoint", metavar="URL", help="BigQuery endpoint."
    ),
    compute_endpoint: str | None = typer.Option(
        None, "--compute-endpoint", metavar="URL", help="Compute Engine endpoint (advice API)."
    ),
    anonymous: bool = typer.Option(
        False, "--anonymous", help="Send no credentials (local test servers and emulators)."
    ),
    workers: int = typer.Option(
        4, "--workers", metavar="N", min=1, max=64, help="Calls in parallel."
    ),
    timeout: float = typer.Option(
        30.0, "--timeout", metavar="SECONDS", min=1, help="Timeout per call."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Say what would be called; call nothing."
    ),
    output_format: CollectFormat = typer.Option(
        CollectFormat.table, "--format", "-f", help="table or json."
    ),
    output: Path | None = OUTPUT_OPTION,
) -> None:
    """Collect GCP GPU prices (Cloud Billing Catalog), measured or prior interruption bands, capacity advice and BigQuery billing."""
    from spotadvisor.collect.gcp import collect_gcp, known_gcp_zones, plan
    from spotadvisor.collect.gcp_options import GcpOptions
    from spotadvisor.store import Store, resolve_store_path

    store = Store(resolve_store_path(cli_state(ctx).db))
    chosen = set(split_values(sources)) or {"prices", "bands", "preemption", "capacity"}
    if billing_table and not sources:
        chosen.add("billing")
    changes: dict[str, Any] = {
        "regions": tuple(split_values(regions)) or _default_regions(store, "gcp"),
        "sources": frozenset(chosen),
        "billing_table": billing_table,
        "billing_month": billing_month,
        "project": project,
        "target_capacity": target_capacity,
        "catalog_endpoint": catalog_endpoint,
        "bigquery_endpoint": bigquery_endpoint,
        "compute_endpoint": compute_endpoint,
        "workers": workers,
        "timeout_s": timeout,
    }
    if machine_types:
        changes["machine_types"] = tuple(split_values(machine_types))
    if anonymous:
        from google.auth.credentials import AnonymousCredentials

        changes["credentials"] = AnonymousCredentials()  # type: ignore[no-untyped-call]
    zones = known_gcp_zones(store)  # the zones the advice tasks ask about (progress bars)
    _run_collection(
        "GCP",
        store,
        GcpOptions(**changes),
        collect_gcp,
        lambda options: plan(options, zones=zones),
        dry_run,
        output_format,
        output,
    )


@app.command("all")
@handle_errors
def collect_all(
    ctx: typer.Context,
    workers: int = typer.Option(
        8, "--workers", metavar="N", min=1, max=64, help="Calls in parallel per cloud."
    ),
    timeout: float = typer.Option(
        30.0, "--timeout", metavar="SECONDS", min=1, help="Timeout per call."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Say what would be called; call nothing."
    ),
) -> None:
    """Collect AWS, GCP and Azure prices and interruption data with their defaults, one cloud after another.

    A cloud that fails (no credentials, no network) is reported and the others still run;
    exit 3 only when no cloud brought anything back.
    """
    from spotadvisor.collect.aws import AwsOptions, collect_aws
    from spotadvisor.collect.azure import collect_azure
    from spotadvisor.collect.azure_options import AzureOptions
    from spotadvisor.collect.gcp import collect_gcp
    from spotadvisor.collect.gcp_options import GcpOptions
    from spotadvisor.errors import DataError
    from spotadvisor.gpus import aws_gpu_instance_types
    from spotadvisor.store import Store, resolve_store_path

    store = Store(resolve_store_path(cli_state(ctx).db))
    runs: list[tuple[str, Any, Callable[..., CollectionReport]]] = [
        (
            "AWS",
            AwsOptions(
                regions=_default_regions(store, "aws"),
                instance_types=tuple(aws_gpu_instance_types()),
                workers=workers,
                read_timeout_s=timeout,
            ),
            collect_aws,
        ),
        (
            "GCP",
            GcpOptions(regions=_default_regions(store, "gcp"), workers=workers, timeout_s=timeout),
            collect_gcp,
        ),
        (
            "Azure",
            AzureOptions(
                regions=_default_regions(store, "azure"), workers=workers, timeout_s=timeout
            ),
            collect_azure,
        ),
    ]
    usable = False
    for cloud, options, collect in runs:
        try:
            report = collect(store, options, dry_run=dry_run)
        except Exception as exc:  # one cloud's failure must not stop the others
            note(f"warning: {cloud}: {exc}")
            continue
        if dry_run:
            for line in report.planned:
                note(f"would call ({cloud}): {line}")
            continue
        usable = usable or report.usable
        ok = sum(r.ok for r in report.results)
        note(
            f"{cloud}: {ok} of {len(report.results)} tasks succeeded, {report.offers:,} offers built"
        )
        for failure in report.failed:
            note(
                f"warning: {cloud} {failure.source} {failure.region or ''}: {failure.error}".replace(
                    "  ", " "
                )
            )
        for line in report.notes:
            note(f"note: {cloud}: {line}")
    if not dry_run and not usable:
        raise DataError(
            "nothing usable came back from any cloud",
            fix="check credentials and network; earlier data is unchanged",
        )


def _default_regions(store: Any, cloud: str) -> tuple[str, ...]:
    """Regions of ``cloud`` that have GPU offers in the store or the embedded snapshot."""
    from spotadvisor.schema import OFFERS
    from spotadvisor.sources import load_table

    frame = load_table(store, OFFERS).frame
    return tuple(sorted(set(frame.loc[frame["cloud"] == cloud, "region"])))


def _run_collection(
    cloud: str,
    store: Any,
    options: Any,
    collect: Callable[..., CollectionReport],
    plan: Callable[..., list[Any]],
    dry_run: bool,
    output_format: CollectFormat,
    output: Path | None,
) -> None:
    """Progress bars per source, warnings for what failed, the summary, and exit 3 if nothing came back."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from spotadvisor.errors import DataError

    if dry_run:
        report = collect(store, options, dry_run=True)
        for line in report.planned:
            note(f"would call: {line}")
        for line in report.notes:
            note(f"note: {line}")
        note(f"dry run: {len(report.planned)} calls planned, nothing called, nothing written")
        return
    progress = Progress(
        TextColumn("{task.description:<12}"),
        BarColumn(),
        MofNCompleteColumn(),
        **progress_on_stderr(),
    )
    with progress:
        counts: dict[str, int] = {}
        for task in plan(options):
            counts[task.source] = counts.get(task.source, 0) + 1
        bars = {source: progress.add_task(source, total=total) for source, total in counts.items()}
        report = collect(store, options, on_done=lambda r: progress.advance(bars[r.source]))
    for failure in report.failed:
        note(
            f"warning: {failure.source} {failure.region or ''}: {failure.error}".replace("  ", " ")
        )
    for line in report.notes:
        note(f"note: {line}")
    note(f"store: {store.path}; collection {report.collection_id}: {report.offers:,} offers built")
    _render(report, output_format, output, cloud)
    if not report.usable:
        raise DataError(
            f"nothing usable came back from {cloud}",
            fix="check credentials, permissions and network (the warnings above say what failed); "
            "earlier data in the store is unchanged",
        )


def _summary_rows(report: CollectionReport) -> list[list[str]]:
    """One row per source and region (a region's spot prices come in several streams)."""
    groups: dict[tuple[str, str], list[Any]] = {}
    for r in report.results:
        groups.setdefault((r.source, r.region or ""), []).append(r)
    rows = []
    for (source, region), results in sorted(groups.items()):
        errors = sorted({r.error for r in results if r.error})
        seconds = max((r.finished_at - r.started_at).total_seconds() for r in results)
        status = "ok" if not errors else f"failed: {'; '.join(errors)}"
        if errors and len(errors) < len(results):
            status = f"partly failed ({len(results) - sum(r.ok for r in results)} of {len(results)} calls): {'; '.join(errors)}"
        rows.append([source, region, f"{sum(r.rows for r in results):,}", f"{seconds:.1f}", status])
    return rows


def _render(
    report: CollectionReport, output_format: CollectFormat, output: Path | None, cloud: str
) -> None:
    from spotadvisor.render.json import render_json
    from spotadvisor.render.table import build_table, print_renderable, renderable_text
    from spotadvisor.schema import SCHEMA_VERSION

    rows = _summary_rows(report)
    if output_format is CollectFormat.json:
        document = {
            "schema_version": SCHEMA_VERSION,
            "collection_id": report.collection_id,
            "offers": report.offers,
            "tasks": [
                {
                    "source": r.source,
                    "region": r.region,
                    "started_at": r.started_at.isoformat(),
                    "finished_at": r.finished_at.isoformat(),
                    "rows": r.rows,
                    "error": r.error,
                }
                for r in report.results
            ],
            "written": [w.__dict__ for w in report.written],
            "notes": list(report.notes),
        }
        emit(render_json(document), output)
        return
    ok = sum(r.ok for r in report.results)
    table = build_table(
        f"{cloud} collection {report.collection_id}",
        ["Source", "Region", "Rows", "Seconds", "Result"],
        rows,
        right=[False, False, True, True, False],
        caption=f"{ok} of {len(report.results)} tasks succeeded; {report.offers:,} offers built",
    )
    if output is None:
        print_renderable(table)
    else:
        emit(renderable_text(table), output)
