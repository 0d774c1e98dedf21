"""``spotadvisor mock-metadata``: a local metadata server that issues a termination notice."""

from __future__ import annotations

import errno
import ipaddress
import time
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

import typer

from spotadvisor.commands.common import handle_errors, note

if TYPE_CHECKING:
    from spotadvisor.watch.mock import MetadataMock


class CloudName(StrEnum):
    """Clouds whose metadata protocol the mock speaks."""

    aws = "aws"
    gcp = "gcp"
    azure = "azure"


EPILOG = (
    "Serves one cloud's instance-metadata protocol on 127.0.0.1 and issues a spot "
    "termination notice on schedule, so a drain script, 'spotadvisor watch', boto3 or "
    "google-auth can be rehearsed on a laptop or in CI. AWS: IMDSv2 (a token is "
    "required unless --imdsv1), spot/instance-action and the rebalance recommendation. "
    "GCP: instance/preempted and maintenance-event, with hanging wait_for_change GETs. "
    "Azure: Scheduled Events with a Preempt event to acknowledge with StartRequests. "
    "Runs until Ctrl-C or --exit-after. See docs/drills.md.\n\n"
    "Examples:\n\n"
    "  spotadvisor mock-metadata --cloud aws --notice-in 30s --rebalance-in 10s\n\n"
    "  spotadvisor mock-metadata --cloud gcp --notice-in 1m --port 8080\n\n"
    "  spotadvisor mock-metadata --cloud azure --notice-lead 5m --action Terminate\n\n"
    "  spotadvisor mock-metadata --cloud aws --port 0 --notice-in 5s --exit-after 1m"
)

# what each cloud's notice looks like, for the line printed when it is issued
_NOTICE = {
    "aws": "spot/instance-action says {action} at {deadline}",
    "gcp": "instance/preempted is TRUE; the VM shuts down at {deadline}",
    "azure": "{action} event {event_id} scheduled, NotBefore {deadline}",
}
_ADVISORY = {
    "aws": "rebalance recommendation (events/recommendations/rebalance)",
    "gcp": "maintenance-event MIGRATE_ON_HOST_MAINTENANCE",
}
_SERVES = {
    "aws": "AWS IMDSv2",
    "gcp": "the GCP metadata server",
    "azure": "Azure IMDS Scheduled Events",
}
# the option behind each MetadataMock setting, for its errors
_FLAGS = {
    "cloud": "--cloud",
    "notice_in": "--notice-in",
    "rebalance_in": "--rebalance-in",
    "notice_lead": "--notice-lead",
    "action": "--action",
    "port": "--port",
    "imdsv1": "--imdsv1",
}
POLL_SECONDS = 0.05  # how often the command looks for events to print


@handle_errors
def mock_metadata(
    ctx: typer.Context,
    cloud: CloudName = typer.Option(
        ..., "--cloud", help="The metadata protocol to serve.", show_default=False
    ),
    notice_in: str = typer.Option(
        "30s",
        "--notice-in",
        metavar="DURATION",
        help="Time from start until the termination notice, e.g. 30s or 2m; 'never' for none.",
    ),
    rebalance_in: str | None = typer.Option(
        None,
        "--rebalance-in",
        metavar="DURATION",
        help="Time from start until the advisory event: the AWS rebalance recommendation, "
        "or GCP maintenance-event MIGRATE_ON_HOST_MAINTENANCE. Not on Azure.",
    ),
    notice_lead: str | None = typer.Option(
        None,
        "--notice-lead",
        metavar="DURATION",
        help="Time from the notice to the shutdown it announces. Default: the cloud's "
        "(AWS 2m, GCP 30s, Azure 30s).",
    ),
    action: str | None = typer.Option(
        None,
        "--action",
        metavar="ACTION",
        help="AWS: terminate (default), stop or hibernate. Azure: Preempt (default) or "
        "Terminate. Not on GCP.",
    ),
    port: int = typer.Option(
        1338, "--port", metavar="PORT", min=0, max=65535, help="TCP port; 0 picks a free one."
    ),
    host: str = typer.Option(
        "127.0.0.1",
        "--host",
        metavar="ADDRESS",
        help="Address to listen on. The mock has no authentication: keep it on loopback.",
    ),
    imdsv1: bool = typer.Option(
        False, "--imdsv1", help="AWS: also answer GETs without a token (IMDSv1 allowed)."
    ),
    exit_after: str | None = typer.Option(
        None,
        "--exit-after",
        metavar="DURATION",
        help="Stop after this long (for scripts). Default: run until Ctrl-C.",
    ),
) -> None:
    """Serve a local AWS, GCP or Azure instance-metadata endpoint that issues a spot termination notice, for drills and tests."""
    from spotadvisor.errors import UsageError
    from spotadvisor.watch.mock import MetadataMock

    run_for = _seconds(exit_after, "--exit-after")
    never = notice_in.strip().lower() == "never"
    try:
        mock = MetadataMock(
            cloud.value,
            notice_in=None if never else _seconds(notice_in, "--notice-in"),
            rebalance_in=_seconds(rebalance_in, "--rebalance-in"),
            notice_lead=_seconds(notice_lead, "--notice-lead"),
            action=action,
            port=port,
            host=host,
            imdsv1=imdsv1,
        )
    except UsageError as exc:
        exc.field = _FLAGS.get(exc.field or "", exc.field)
        raise
    if not _is_loopback(host):
        note(
            f"warning: --host {host} serves the mock beyond this machine, with no "
            "authentication: anyone who can reach it can read it and acknowledge events"
        )
    try:
        mock.start()
    except OSError as exc:
        raise _bind_error(exc, host, port) from None
    try:
        _introduce(mock, imdsv1)
        _serve(mock, None if run_for is None else time.time() + run_for)
    except KeyboardInterrupt:
        pass
    finally:
        mock.stop()
    note("stopped")


def _seconds(text: str | None, flag: str) -> float | None:
    """A duration option [s]; None when not given."""
    if text is None:
        return None
    from spotadvisor.config import parse_duration

    # parse_duration answers hours; rounding drops the float noise of the conversion
    return round(parse_duration(text, origin="command line", field=flag) * 3600, 6)


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _bind_error(exc: OSError, host: str, port: int) -> Exception:
    from spotadvisor.errors import UsageError

    reason = exc.strerror or str(exc)
    if port and exc.errno in {errno.EADDRINUSE, errno.EACCES}:
        return UsageError(
            f"cannot listen on port {port}: {reason}",
            field="--port",
            fix="stop what uses it, or choose another port (--port 0 picks a free one)",
        )
    return UsageError(
        f"cannot listen on {host}:{port}: {reason}",
        field="--host",
        fix="use an address of this machine, such as 127.0.0.1",
    )


def _clock(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%H:%M:%SZ")


def _span(seconds: float) -> str:
    """A duration for people: ``30 s``, ``2 min``, ``1 h 30 min``."""
    seconds = max(0, round(seconds))
    if seconds < 120:
        return f"{seconds} s"
    hours, minutes = divmod(round(seconds / 60), 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def _introduce(mock: MetadataMock, imdsv1: bool) -> None:
    """What is served, when the notice comes, and how to use it."""
    serves = "AWS IMDS (v1 and v2)" if imdsv1 else _SERVES[mock.cloud]
    now = time.time()
    notice, deadline = mock.notice_time, mock.deadline
    if notice is None or deadline is None:
        when = "no notice scheduled (--notice-in never)"
    else:
        when = (
            f"notice at {_clock(notice)} (in {_span(notice - now)}), shutdown at {_clock(deadline)}"
        )
        if mock.action and mock.cloud != "gcp":
            when += f" ({mock.action})"
    note(f"serving {serves} on {mock.url} — {when}")
    if mock.rebalance_time is not None:
        note(
            f"{_ADVISORY[mock.cloud]} at {_clock(mock.rebalance_time)} "
            f"(in {_span(mock.rebalance_time - now)})"
        )
    url = mock.url
    note(f"point the agent at it: spotadvisor watch --cloud {mock.cloud} --metadata-url {url}")
    if mock.cloud == "aws":
        note(
            "try: TOKEN=$(curl -s -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' "
            f'{url}/latest/api/token); curl -s -H "X-aws-ec2-metadata-token: $TOKEN" '
            f"{url}/latest/meta-data/spot/instance-action"
        )
        note(f"boto3 and the AWS CLI: export AWS_EC2_METADATA_SERVICE_ENDPOINT={url}/")
    elif mock.cloud == "gcp":
        note(
            "try: curl -s -H 'Metadata-Flavor: Google' "
            f"'{url}/computeMetadata/v1/instance/preempted?wait_for_change=true'"
        )
        note(f"google-auth: export GCE_METADATA_HOST={url.removeprefix('http://')}")
    else:
        note(
            "try: curl -s -H 'Metadata: true' "
            f"'{url}/metadata/scheduledevents?api-version=2020-07-01'"
        )
    note("Ctrl-C stops it")


def _serve(mock: MetadataMock, stop_at: float | None) -> None:
    """Wait until ``stop_at`` (or Ctrl-C), printing a line as each event happens."""
    notice_told = advisory_told = shutdown_told = False
    acknowledged: list[str] = []
    while stop_at is None or time.time() < stop_at:
        now = time.time()
        notice, deadline, advisory = mock.notice_time, mock.deadline, mock.rebalance_time
        if not advisory_told and advisory is not None and now >= advisory:
            advisory_told = True
            note(f"{_clock(advisory)} advisory issued: {_ADVISORY[mock.cloud]}")
        if not notice_told and notice is not None and deadline is not None and now >= notice:
            notice_told = True
            text = _NOTICE[mock.cloud].format(
                action=mock.action, deadline=_clock(deadline), event_id=mock.event_id
            )
            note(f"{_clock(notice)} notice issued: {text} (in {_span(deadline - now)})")
        for event_id in mock.acknowledged[len(acknowledged) :]:
            acknowledged.append(event_id)
            note(f"{_clock(now)} event {event_id} acknowledged (StartRequests): now Started")
        if not shutdown_told and deadline is not None and now >= deadline:
            shutdown_told = True
            note(f"{_clock(deadline)} shutdown time: a real instance would be gone now")
        time.sleep(POLL_SECONDS if stop_at is None else max(0.0, min(POLL_SECONDS, stop_at - now)))
