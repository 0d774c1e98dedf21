"""``spotadvisor watch``: the on-instance agent that acts on spot termination notices."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from spotadvisor.commands.common import handle_errors, note

if TYPE_CHECKING:
    from spotadvisor.watch.agent import Source


class CloudChoice(StrEnum):
    """Which metadata service ``watch`` polls."""

    auto = "auto"
    aws = "aws"
    gcp = "gcp"
    azure = "azure"


EPILOG = (
    "Runs on the instance. Polls the cloud's metadata service (AWS IMDSv2 spot "
    "instance-action and rebalance recommendation, GCP preempted and maintenance-event, "
    "Azure Scheduled Events) and, on a termination notice, prints one JSON line, runs "
    "--on-notice once with the notice in SPOTADVISOR_* variables and a timeout that ends "
    "--hook-margin before the deadline, posts --webhook with retries, acknowledges the "
    "Azure event, and exits 0 (or keeps watching with --keep-running). Metadata errors "
    "and outages are logged, never taken for a notice. See docs/watch.md for the log "
    "format, hooks, a systemd unit and a Kubernetes DaemonSet.\n\n"
    "Exit codes: 0 a termination notice was handled (with --once: one poll done, notice "
    "or not), 2 bad usage, 3 no metadata service answered (--cloud auto, or the poll of "
    "--once), 130 interrupted.\n\n"
    "Examples:\n\n"
    "  spotadvisor watch --on-notice 'systemctl stop vllm' --log /var/log/spot-notices.jsonl\n\n"
    "  spotadvisor watch --cloud aws --webhook https://hooks.example.com/spot --keep-running\n\n"
    "  spotadvisor watch --once --cloud gcp --metadata-url http://127.0.0.1:8080"
)


MIN_REQUEST_TIMEOUT = 0.5  # seconds per metadata request, with short intervals
MAX_REQUEST_TIMEOUT = 2.0  # seconds per metadata request, as botocore and NTH use


def _seconds(text: str, field: str, *, minimum: float = 0.0) -> float:
    from spotadvisor.config import parse_duration
    from spotadvisor.errors import UsageError

    seconds = parse_duration(text, origin="command line", field=field) * 3600
    if seconds < minimum:
        raise UsageError(f"{text!r} is too short", field=field, fix=f"give at least {minimum:g}s")
    return seconds


@handle_errors
def watch(
    ctx: typer.Context,
    cloud: CloudChoice = typer.Option(
        CloudChoice.auto,
        "--cloud",
        help="The platform; auto probes the metadata services (short timeouts) and says "
        "what it found.",
    ),
    on_notice: str | None = typer.Option(
        None,
        "--on-notice",
        metavar="CMD",
        help="Shell command run once per termination notice (drain, checkpoint...). On "
        "Azure the event is acknowledged when it has finished.",
    ),
    on_rebalance: str | None = typer.Option(
        None,
        "--on-rebalance",
        metavar="CMD",
        help="Shell command run once per rebalance recommendation (AWS) or maintenance "
        "event (GCP, Azure), in the background while watching goes on.",
    ),
    webhook: str | None = typer.Option(
        None,
        "--webhook",
        metavar="URL",
        help="POST each termination record as JSON here, with retries. Only "
        "scheme://host/path of it is ever printed.",
    ),
    metadata_url: str | None = typer.Option(
        None,
        "--metadata-url",
        metavar="URL",
        help="The metadata service's base URL (e.g. a mock-metadata server). Default: "
        "the cloud's own (AWS_EC2_METADATA_SERVICE_ENDPOINT and GCE_METADATA_HOST apply).",
    ),
    interval: str = typer.Option(
        "5s", "--interval", metavar="DURATION", help="Time between polls."
    ),
    once: bool = typer.Option(
        False, "--once", help="Poll once, act on any notice, exit 0 (3 if no answer)."
    ),
    keep_running: bool = typer.Option(
        False,
        "--keep-running",
        help="Keep watching after a termination notice (for systemd Restart=always and "
        "DaemonSets).",
    ),
    log: Path | None = typer.Option(
        None,
        "--log",
        metavar="FILE",
        help="Append every record (JSON lines) here; notices already in it are not acted "
        "on again. 'spotadvisor report --watch-log FILE' reads it.",
        dir_okay=False,
    ),
    hook_timeout: str | None = typer.Option(
        None,
        "--hook-timeout",
        metavar="DURATION",
        help="Longest a hook may run. Default: until --hook-margin before the deadline "
        "(no limit for notices without one).",
    ),
    hook_margin: str = typer.Option(
        "5s",
        "--hook-margin",
        metavar="DURATION",
        help="Kill the hook this long before the deadline (never sooner than 1 s after it starts).",
    ),
    webhook_retries: int = typer.Option(
        5,
        "--webhook-retries",
        metavar="N",
        min=0,
        help="Retries after a failed webhook post (connection errors, 5xx, 429), backing "
        "off 0.5, 1, 2... s, never past the deadline.",
    ),
    token_ttl: str = typer.Option(
        "6h",
        "--token-ttl",
        metavar="DURATION",
        help="AWS: lifetime asked for each IMDSv2 token (1s-6h); renewed at 80 %.",
    ),
    probe_timeout: str = typer.Option(
        "1s",
        "--probe-timeout",
        metavar="DURATION",
        help="Timeout of each request made to detect the cloud with --cloud auto.",
    ),
) -> None:
    """Watch this instance's metadata service and act on spot termination notices."""
    from spotadvisor.errors import UsageError
    from spotadvisor.watch.agent import Settings
    from spotadvisor.watch.agent import watch as run_agent

    interval_s = _seconds(interval, "--interval", minimum=0.1)
    margin_s = _seconds(hook_margin, "--hook-margin")
    limit_s = _seconds(hook_timeout, "--hook-timeout", minimum=1) if hook_timeout else None
    ttl_s = _seconds(token_ttl, "--token-ttl", minimum=1)
    if ttl_s > 21600:
        raise UsageError(
            f"{token_ttl!r} is longer than IMDS allows", field="--token-ttl", fix="give 6h or less"
        )
    probe_s = _seconds(probe_timeout, "--probe-timeout", minimum=0.1)
    for flag, url in (("--webhook", webhook), ("--metadata-url", metadata_url)):
        if url is not None:
            _check_url(url, flag)
    if log is not None:
        _check_log(log)
    source = _source(cloud, metadata_url, interval_s, round(ttl_s), probe_s)
    settings = Settings(
        interval=interval_s,
        once=once,
        keep_running=keep_running,
        on_notice=on_notice or None,
        on_rebalance=on_rebalance or None,
        webhook=webhook or None,
        webhook_retries=webhook_retries,
        hook_timeout=limit_s,
        hook_margin=margin_s,
        log=log,
    )
    code = run_agent(source, settings)
    if code:
        raise typer.Exit(code)


def _source(
    cloud: CloudChoice, metadata_url: str | None, interval: float, ttl: int, probe: float
) -> Source:
    import os

    from spotadvisor.watch.aws import AwsSource
    from spotadvisor.watch.azure import AzureSource
    from spotadvisor.watch.detect import base_urls, detect
    from spotadvisor.watch.gcp import GcpSource
    from spotadvisor.watch.http import safe_url

    urls = base_urls(metadata_url, os.environ)
    # short request timeouts: a poll must not outlast the interval by much
    timeout = min(MAX_REQUEST_TIMEOUT, max(MIN_REQUEST_TIMEOUT, interval))
    name = cloud.value
    if cloud is CloudChoice.auto:
        found = detect(urls, timeout=probe)
        name = found.cloud
        label = {"aws": "AWS", "gcp": "GCP", "azure": "Azure"}[found.cloud]
        note(f"detected {label} ({found.detail}) at {safe_url(found.base_url)}")
    if name == "aws":
        return AwsSource(urls["aws"], token_ttl=ttl, timeout=timeout, note=note)
    if name == "gcp":
        return GcpSource(urls["gcp"], interval=interval, timeout=timeout)
    return AzureSource(urls["azure"], timeout=timeout)


def _check_url(url: str, flag: str) -> None:
    from urllib.parse import urlsplit

    from spotadvisor.errors import UsageError

    parts = urlsplit(url)
    try:
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        port_ok = False
    if parts.scheme not in {"http", "https"} or not parts.hostname or not port_ok:
        raise UsageError(
            "not an http(s) URL", field=flag, fix="give a URL such as http://host:port/path"
        )


def _check_log(log: Path) -> None:
    from spotadvisor.errors import UsageError

    try:
        with log.open("a", encoding="utf-8"):
            pass
    except OSError as exc:
        raise UsageError(
            f"cannot write the log: {exc.strerror}",
            file=str(log),
            field="--log",
            fix="choose a writable file in an existing folder",
        ) from None
