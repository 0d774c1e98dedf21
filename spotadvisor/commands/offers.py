"""``spotadvisor offers``: explore GPU offers."""

from __future__ import annotations

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
    from spotadvisor.offers import OffersResult


class OutputFormat(StrEnum):
    """Formats of ``offers``."""

    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"


class SortBy(StrEnum):
    """Sort keys of ``offers``."""

    gpu_price = "gpu-price"
    price = "price"
    savings = "savings"
    band = "band"
    region = "region"


class Order(StrEnum):
    """Sort order."""

    asc = "asc"
    desc = "desc"


TABLE_LIMIT = 30

EPILOG = (
    "Examples:\n\n"
    "  spotadvisor offers --gpu H100\n\n"
    "  spotadvisor offers --gpu A100-80GB --gpus 8 --max-band 10 --region 'us-*'\n\n"
    "  spotadvisor offers --cloud gcp,azure --gpu L4 --sort price --format csv -o l4.csv\n\n"
    "  spotadvisor offers --gpu H100 --format json | jq '.offers[0]'\n\n"
    "Unknown prices and bands show as 'unknown', never as 0. Flags mark data the "
    "importers corrected or distrust (e.g. spot_price_filler: the catalog copied the "
    "on-demand price into the spot column)."
)


@handle_errors
def offers(
    ctx: typer.Context,
    cloud: list[str] | None = typer.Option(
        None, "--cloud", "-c", metavar="CLOUD", help="aws, gcp or azure; repeat or comma-separate."
    ),
    gpu: list[str] | None = typer.Option(
        None,
        "--gpu",
        "-g",
        metavar="GPU",
        help="GPU model, any case: H100, A100 (40 or 80 GB), A100-80GB, L4, L40S, A10G...",
    ),
    gpus: str | None = typer.Option(
        None,
        "--gpus",
        metavar="COUNT",
        help="GPUs per instance: 8 (exactly), 4+ (at least), 1-4 (range).",
    ),
    gpu_memory: float | None = typer.Option(
        None, "--gpu-memory", metavar="GB", help="Minimum memory per GPU [GB], e.g. 80.", min=0
    ),
    region: list[str] | None = typer.Option(
        None,
        "--region",
        "-r",
        metavar="REGION",
        help="Region or glob (us-*, *europe*); repeatable.",
    ),
    zone: list[str] | None = typer.Option(
        None, "--zone", metavar="ZONE", help="Zone name or AWS zone ID, or a glob; repeatable."
    ),
    max_band: str | None = typer.Option(
        None,
        "--max-band",
        metavar="BAND",
        help="Highest interruption band: a label (10-15%) or a percentage (15). "
        "Offers with no published band are left out.",
    ),
    max_price: float | None = typer.Option(
        None, "--max-price", metavar="USD", help="Highest spot price per instance [USD/h].", min=0
    ),
    spot_only: bool = typer.Option(
        False, "--spot-only", help="Only offers with a known spot price."
    ),
    sort: SortBy = typer.Option(
        SortBy.gpu_price,
        "--sort",
        "-s",
        help="Sort by spot $/GPU-hour, spot $/h, savings, band or region.",
    ),
    order: Order | None = typer.Option(
        None, "--order", help="asc or desc (default: asc; desc for savings)."
    ),
    limit: int | None = typer.Option(
        None,
        "--limit",
        "-n",
        metavar="N",
        min=0,
        help=f"Show at most this many (0: all). Default: {TABLE_LIMIT} for table and markdown, all otherwise.",
    ),
    output_format: OutputFormat = typer.Option(
        OutputFormat.table, "--format", "-f", help="table, json, csv or markdown."
    ),
    output: Path | None = OUTPUT_OPTION,
) -> None:
    """Explore GPU offers: prices, savings and interruption bands per region and zone."""
    from spotadvisor.bands import parse_max_band
    from spotadvisor.catalog import GpuCount, OfferFilter
    from spotadvisor.offers import find_offers
    from spotadvisor.store import Store, resolve_store_path

    spec = OfferFilter(
        clouds=tuple(c.lower() for c in split_values(cloud)),
        gpu=tuple(split_values(gpu)),
        gpus=GpuCount.parse(gpus) if gpus else None,
        min_gpu_memory_gb=gpu_memory,
        regions=tuple(split_values(region)),
        zones=tuple(split_values(zone)),
        max_band_pct=parse_max_band(max_band) if max_band else None,
        max_price=max_price,
        spot_only=spot_only,
    )
    if limit is None:
        limit = TABLE_LIMIT if output_format in (OutputFormat.table, OutputFormat.markdown) else 0
    store = Store(resolve_store_path(cli_state(ctx).db))
    result = find_offers(
        store, spec, sort=sort.value, order=order.value if order else None, limit=limit
    )
    for table in result.data:
        if not table.frame.empty:
            note(table.age_note(result.generated_at))
    _render(result, output_format, output)


def _render(result: OffersResult, output_format: OutputFormat, output: Path | None) -> None:
    from spotadvisor.render import offers as view
    from spotadvisor.render.csv import render_csv
    from spotadvisor.render.json import render_json
    from spotadvisor.render.markdown import render_markdown
    from spotadvisor.render.table import build_table, print_renderable, renderable_text

    if output_format is OutputFormat.json:
        emit(render_json(view.offers_document(result)), output)
    elif output_format is OutputFormat.csv:
        emit(render_csv(view.offers_frame(result)), output)
    elif output_format is OutputFormat.markdown:
        text = render_markdown(view.HEADERS, view.offers_rows(result), right=view.RIGHT)
        emit(text + f"\n{view.offers_caption(result)}\n", output)
    else:
        table = build_table(
            "GPU offers",
            view.HEADERS,
            view.offers_rows(result),
            right=view.RIGHT,
            caption=view.offers_caption(result),
        )
        if output is None:
            print_renderable(table)
        else:
            emit(renderable_text(table), output)
