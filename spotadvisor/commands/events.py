"""``spotadvisor events``: the fleet's interruptions from the clouds' event services."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from spotadvisor.commands.common import OUTPUT_OPTION, cli_state, emit, handle_errors, note

if TYPE_CHECKING:
    from datetime import datetime

    import pandas as pd

    from spotadvisor.events.parse import FleetEvent
    from spotadvisor.store import Store

app = typer.Typer(
    help="Collect the fleet's interruption events (EventBridge/SQS, Cloud Logging, Activity "
    "Log, watch logs) and measure interruption rates per pool.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)


class Cloud(StrEnum):
    """Event sources."""

    aws = "aws"
    gcp = "gcp"
    azure = "azure"


class StatsFormat(StrEnum):
    """Formats of ``events stats``."""

    table = "table"
    json = "json"
    csv = "csv"


class SetupFormat(StrEnum):
    """What ``events setup aws --print`` prints."""

    both = "both"
    json = "json"
    cli = "cli"


QUEUE: Any = typer.Option(
    None, "--sqs-queue-url", metavar="URL", help="aws: the SQS queue EventBridge delivers to."
)
PROJECT: Any = typer.Option(
    None, "--project", metavar="ID", help="gcp: project whose logs to read (repeatable)."
)
SUBSCRIPTION: Any = typer.Option(
    None, "--subscription", metavar="ID", help="azure: subscription (repeatable)."
)
SINCE: Any = typer.Option(
    "7d", "--since", metavar="DURATION", help="gcp/azure: how far back to read."
)
ENDPOINT: Any = typer.Option(
    None, "--endpoint-url", metavar="URL", help="Send the cloud calls to this endpoint (testing)."
)
PROFILE: Any = typer.Option(
    None, "--profile", metavar="NAME", help="aws: profile (default: the standard chain)."
)
WAIT: Any = typer.Option(
    20, "--wait", metavar="S", min=0, max=20, help="aws: long-poll wait per receive [s]."
)
VISIBILITY: Any = typer.Option(
    60,
    "--visibility-timeout",
    metavar="S",
    min=0,
    help="aws: seconds a received message stays hidden while it is stored.",
)
DELETE_POISON: Any = typer.Option(
    False,
    "--delete-poison",
    help="aws: delete unparseable messages after reporting them (default: leave them for the dead-letter queue).",
)
NO_DESCRIBE: Any = typer.Option(
    False, "--no-describe", help="aws: do not ask EC2 for instance types and zones."
)

COLLECT_EPILOG = (
    "aws drains the queue once: receive (long poll), store every event of a batch in one "
    "transaction, then delete the batch. A redelivered message is stored under the same "
    "EventBridge event id and counted once; an unparseable one is reported and left for "
    "the queue's dead-letter queue (or deleted with --delete-poison). gcp reads "
    "compute.instances.preempted entries from Cloud Logging; azure reads evictSpotVM "
    "operations from the Activity Log. See docs/events.md.\n\n"
    "Examples:\n\n"
    "  spotadvisor events collect aws --sqs-queue-url https://sqs.us-east-1.amazonaws.com/123456789012/spotadvisor-events\n\n"
    "  spotadvisor events collect gcp --project my-project --since 30d\n\n"
    "  spotadvisor events collect azure --subscription 0000-... --since 30d"
)


def _store(ctx: typer.Context) -> Store:
    from spotadvisor.store import Store, resolve_store_path

    return Store(resolve_store_path(cli_state(ctx).db))


def _poller(ctx: typer.Context, cloud: Cloud, opts: dict[str, Any]) -> tuple[Any, str]:
    """A function returning new events per call, and a description of the source."""
    from datetime import UTC, datetime, timedelta

    from spotadvisor.errors import UsageError
    from spotadvisor.events.run import aws_consumer, cloud_errors, window
    from spotadvisor.events.store import write_events

    store = _store(ctx)
    if cloud is Cloud.aws:
        if not opts["queue"]:
            raise UsageError(
                "no queue given",
                field="--sqs-queue-url",
                fix="add --sqs-queue-url URL; 'spotadvisor events setup aws --print' shows how to create it",
            )
        consumer = aws_consumer(
            opts["queue"],
            store,
            endpoint_url=opts["endpoint"],
            profile=opts["profile"],
            wait_s=opts["wait"],
            visibility_timeout_s=opts["visibility"],
            delete_poison=opts["delete_poison"],
            describe=not opts["no_describe"],
        )

        def poll_aws() -> list[FleetEvent]:
            with cloud_errors(
                "sqs", "check --sqs-queue-url, the credentials and sqs:ReceiveMessage/DeleteMessage"
            ):
                result = consumer.poll()
            for message_id, reason in result.poison:
                action = "deleted" if consumer.delete_poison else "left for the dead-letter queue"
                note(f"warning: message {message_id} is not an EC2 event ({reason}); {action}")
            return result.new

        return poll_aws, opts["queue"]
    lo, _ = window(opts["since"], None, None)
    state = {"from": lo}

    def poll_logs() -> list[FleetEvent]:
        hi = datetime.now(UTC)
        if cloud is Cloud.gcp:
            from spotadvisor.events.gcp_logging import get_preemptions

            with cloud_errors(
                "cloud logging",
                "check --project, Application Default Credentials and roles/logging.viewer",
            ):
                found = get_preemptions(
                    opts["project"] or [], state["from"], hi, endpoint=opts["endpoint"], on_bad=_bad
                )
        else:
            from spotadvisor.events.azure_monitor import get_evictions

            with cloud_errors(
                "activity log", "check --subscription, 'az login' and the Reader role"
            ):
                found = get_evictions(
                    opts["subscription"] or [],
                    state["from"],
                    hi,
                    endpoint=opts["endpoint"],
                    on_bad=_bad,
                )
        state["from"] = hi - timedelta(minutes=10)  # late-ingested entries; ids dedupe
        return list(write_events(store, found, origin=cloud.value).new)

    return poll_logs, ", ".join(opts["project"] or opts["subscription"] or [])


def _bad(reason: str) -> None:
    note(f"warning: skipped an entry: {reason}")


@app.command("collect", epilog=COLLECT_EPILOG)
@handle_errors
def collect(
    ctx: typer.Context,
    cloud: Cloud = typer.Argument(..., help="aws, gcp or azure."),
    queue: str | None = QUEUE,
    project: list[str] | None = PROJECT,
    subscription: list[str] | None = SUBSCRIPTION,
    since: str = SINCE,
    endpoint: str | None = ENDPOINT,
    profile: str | None = PROFILE,
    wait: int = WAIT,
    visibility: int = VISIBILITY,
    delete_poison: bool = DELETE_POISON,
    no_describe: bool = NO_DESCRIBE,
) -> None:
    """Pull interruption events from one cloud's event service into the store."""
    poll, where = _poller(ctx, cloud, locals())
    new: list[FleetEvent] = []
    while True:  # aws: drain the queue; gcp/azure: one window
        batch = poll()
        new += batch
        if cloud is not Cloud.aws or not batch:
            break
    counts: dict[str, int] = {}
    for e in new:
        counts[e.event_type] = counts.get(e.event_type, 0) + 1
    detail = ", ".join(f"{n} {t}" for t, n in sorted(counts.items())) or "nothing new"
    emit(f"stored {len(new)} new event(s) from {where}: {detail}\n", None)


@app.command("follow")
@handle_errors
def follow(
    ctx: typer.Context,
    cloud: Cloud = typer.Argument(..., help="aws, gcp or azure."),
    queue: str | None = QUEUE,
    project: list[str] | None = PROJECT,
    subscription: list[str] | None = SUBSCRIPTION,
    since: str = typer.Option(
        "1h", "--since", metavar="DURATION", help="gcp/azure: how far back the first read goes."
    ),
    endpoint: str | None = ENDPOINT,
    profile: str | None = PROFILE,
    wait: int = WAIT,
    visibility: int = VISIBILITY,
    delete_poison: bool = DELETE_POISON,
    no_describe: bool = NO_DESCRIBE,
    interval: str = typer.Option(
        "60s", "--interval", metavar="DURATION", help="gcp/azure: pause between reads."
    ),
    hook: str | None = typer.Option(
        None,
        "--hook",
        metavar="CMD",
        help="Shell command run once per new event (SPOTADVISOR_* variables, the event as SPOTADVISOR_EVENT_JSON).",
    ),
    hook_timeout: float = typer.Option(
        60.0, "--hook-timeout", metavar="S", min=1, help="Seconds a hook may run."
    ),
    max_events: int | None = typer.Option(
        None, "--max-events", metavar="N", min=1, help="Stop after N new events."
    ),
    duration: str | None = typer.Option(
        None,
        "--duration",
        metavar="DURATION",
        help="Stop after this long (default: run until Ctrl-C).",
    ),
) -> None:
    """Keep consuming events into the store; print one JSON line per new event."""
    from spotadvisor.config import parse_duration
    from spotadvisor.events.run import follow as run_follow
    from spotadvisor.watch.actions import run_hook
    from spotadvisor.watch.notice import dumps

    poll, where = _poller(ctx, cloud, locals())
    note(f"following {cloud.value} events from {where}; Ctrl-C stops")

    def on_event(event: FleetEvent) -> None:
        record = event.record()
        emit(dumps(record) + "\n", None)
        if hook:
            env = {
                f"SPOTADVISOR_{k.upper()}": "" if v is None else str(v) for k, v in record.items()
            }
            env["SPOTADVISOR_EVENT_JSON"] = dumps(record)
            result = run_hook(hook, env, hook_timeout)
            if result.exit_code != 0:
                note(
                    f"warning: hook for {event.event_id} ended with {result.exit_code} (timed out: {result.timed_out})"
                )

    pause = (
        0.0
        if cloud is Cloud.aws
        else 3600 * parse_duration(interval, origin="command line", field="--interval")
    )
    limit = (
        None
        if duration is None
        else 3600 * parse_duration(duration, origin="command line", field="--duration")
    )
    run_follow(poll, on_event, pause_s=pause, max_events=max_events, duration_s=limit)


@app.command("import")
@handle_errors
def import_logs(
    ctx: typer.Context,
    files: list[Path] = typer.Argument(
        ..., metavar="FILE...", help="Logs written by 'spotadvisor watch --log'.", dir_okay=False
    ),
) -> None:
    """Import the notices of watch logs, so instances without event plumbing count too."""
    from spotadvisor.errors import UsageError
    from spotadvisor.events.parse import events_from_notices
    from spotadvisor.events.store import write_events
    from spotadvisor.watch.notice import read_watch_log

    events = []
    for path in files:
        if not path.is_file():
            raise UsageError(
                "no such watch log",
                file=str(path),
                fix="give the file 'spotadvisor watch --log FILE' wrote",
            )
        events += events_from_notices(read_watch_log(path), source="watch-log")
    written = write_events(_store(ctx), events, origin=", ".join(p.name for p in files))
    emit(
        f"stored {len(written.new)} new event(s) from {len(files)} watch log(s); {written.repeated} already stored\n",
        None,
    )


STATS_EPILOG = (
    "Rate = interruptions / exposure, in interruptions per instance-month (730 spot "
    "instance-hours), with an exact 95% Poisson interval. Exposure: the billing data's spot "
    "instance hours of the pool in the window, or --fleet FILE (its spot pools' counts x the "
    "window). The band column is the published band of the same pool as a rate, "
    "-ln(1 - p); the flag says when the whole interval is above or below it. A window "
    "ending in the future is measured up to now. With --by-zone, a pool whose events or "
    "exposure name no zone, or mix AWS zone names and zone IDs, is one row with zone (any); "
    "a note says why.\n\n"
    "Examples:\n\n"
    "  spotadvisor events stats --since 90d\n\n"
    "  spotadvisor events stats --from 2026-01-01 --to 2026-04-01 --fleet fleet.yaml --format json"
)


@app.command("stats", epilog=STATS_EPILOG)
@handle_errors
def stats(
    ctx: typer.Context,
    since: str | None = typer.Option(
        None, "--since", metavar="DURATION", help="Window ending now (or at --to). [default: 30d]"
    ),
    start: str | None = typer.Option(None, "--from", metavar="DATE", help="Window start (UTC)."),
    end: str | None = typer.Option(
        None, "--to", metavar="DATE", help="Window end, exclusive (UTC)."
    ),
    fleet: Path | None = typer.Option(
        None,
        "--fleet",
        metavar="FILE",
        help="Exposure from this fleet file's spot pools instead of billing.",
        dir_okay=False,
    ),
    by_zone: bool = typer.Option(
        False, "--by-zone", help="One row per zone where events and exposure name zones."
    ),
    output_format: StatsFormat = typer.Option(
        StatsFormat.table, "--format", "-f", help="table, json or csv."
    ),
    output: Path | None = OUTPUT_OPTION,
) -> None:
    """Measured interruptions per instance-month per pool, beside the published bands."""
    from spotadvisor.events.rates import pool_stats
    from spotadvisor.events.run import clip_to_now, window

    lo, hi = window(since, start, end)
    hi, clipped = clip_to_now(lo, hi)
    if clipped:
        note(
            f"note: the window ends in the future; measured up to now ({hi:%Y-%m-%d %H:%M} UTC), "
            "and exposure counts only that time"
        )
    notes: list[str] = []
    frame = pool_stats(_store(ctx), lo, hi, by_zone=by_zone, fleet=fleet, notes=notes)
    for text in notes:
        note(f"note: {text}")
    _render_stats(frame, lo, hi, output_format.value, output, by_zone=by_zone)


@app.command("setup")
@handle_errors
def setup(
    cloud: Cloud = typer.Argument(Cloud.aws, help="aws (the only cloud that needs plumbing)."),
    print_only: bool = typer.Option(
        False, "--print", help="Print what to create; nothing is created."
    ),
    region: str = typer.Option(
        "us-east-1", "--region", metavar="REGION", help="Region of the rule and queue."
    ),
    account: str | None = typer.Option(
        None,
        "--account",
        metavar="ID",
        help="Your AWS account id (12 digits). Default: the placeholder 123456789012.",
    ),
    queue: str = typer.Option("spotadvisor-events", "--queue", metavar="NAME", help="Queue name."),
    output_format: SetupFormat = typer.Option(
        SetupFormat.both, "--format", "-f", help="both, json or cli."
    ),
) -> None:
    """Print the EventBridge rule, SQS queue policy and IAM policy 'events collect aws' needs."""
    from spotadvisor.errors import UsageError
    from spotadvisor.events.setup import (
        PLACEHOLDER_ACCOUNT,
        aws_cli_snippet,
        aws_setup,
        check_account,
    )

    if cloud is not Cloud.aws:
        raise UsageError(
            f"{cloud.value} needs no setup",
            field="CLOUD",
            fix="see docs/events.md for the permissions",
        )
    if not print_only:
        raise UsageError("setup only prints what to create", field="--print", fix="add --print")
    if account is None:
        note(f"note: replace {PLACEHOLDER_ACCOUNT} with your account id (or pass --account)")
        account = PLACEHOLDER_ACCOUNT
    doc = aws_setup(region=region, account=check_account(account), queue=queue)
    parts = []
    if output_format is not SetupFormat.cli:
        parts.append(json.dumps(doc, indent=2) + "\n")
    if output_format is not SetupFormat.json:
        parts.append(aws_cli_snippet(doc))
    emit("\n".join(parts), None)


def _render_stats(
    frame: pd.DataFrame,
    start: datetime,
    end: datetime,
    fmt: str,
    output: Path | None,
    *,
    by_zone: bool,
) -> None:
    """Write the stats in ``fmt`` (table, json or csv) to ``output`` or stdout."""
    from spotadvisor.render.csv import render_csv
    from spotadvisor.render.events import stats_document, stats_rows
    from spotadvisor.render.json import render_json
    from spotadvisor.render.table import build_table, print_renderable, renderable_text

    if fmt == "json":
        emit(render_json(stats_document(frame, start, end)), output)
        return
    if fmt == "csv":
        emit(render_csv(frame if by_zone else frame.drop(columns=["zone"])), output)
        return
    headers, rows = stats_rows(frame, by_zone=by_zone)
    title = f"Measured interruptions, {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC"
    caption = None if rows else "no events and no exposure in the window"
    right = [
        False,
        False,
        *([False] if by_zone else []),
        False,
        True,
        True,
        True,
        True,
        False,
        False,
    ]
    table = build_table(title, headers, rows, right=right, caption=caption)
    if output is None:
        print_renderable(table)
    else:
        emit(renderable_text(table), output)
