"""Glue between the command line and the event clients: AWS clients, time windows,
error mapping and the ``follow`` loop."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from spotadvisor.errors import DataError, UsageError
from spotadvisor.events.parse import FleetEvent
from spotadvisor.events.sqs import SqsConsumer, ec2_describer, queue_region

if TYPE_CHECKING:
    from spotadvisor.store import Store


def window(
    since: str | None, start: str | None, end: str | None, *, now: datetime | None = None
) -> tuple[datetime, datetime]:
    """``[start, end)`` from ``--from``/``--to`` (dates or times, UTC) or ``--since``."""
    from spotadvisor.config import parse_duration

    now = now or datetime.now(UTC)
    if since and start:
        raise UsageError(
            "--since and --from both set where the window starts",
            field="--since",
            fix="give --since, or --from (with --to), not both",
        )
    hi = _moment(end, "--to") if end else now
    if start:
        lo = _moment(start, "--from")
    else:
        hours = parse_duration(since or "30d", origin="command line", field="--since")
        lo = hi - timedelta(hours=hours)
    if lo >= hi:
        raise UsageError("the window is empty", field="--from", fix="give a --from before --to")
    return lo, hi


def clip_to_now(
    start: datetime, end: datetime, *, now: datetime | None = None
) -> tuple[datetime, bool]:
    """``end``, or now when ``end`` is later (nothing has been measured there yet).

    Returns the end and whether it was clipped.

    Raises
    ------
    UsageError
        When the whole window lies in the future.
    """
    now = now or datetime.now(UTC)
    if start >= now:
        raise UsageError(
            f"the window starts in the future ({start:%Y-%m-%d %H:%M} UTC)",
            field="--from",
            fix="give a --from in the past",
        )
    return (now, True) if end > now else (end, False)


def _moment(text: str, option: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"{text!r} is not a date or time",
            field=option,
            fix="write e.g. 2026-05-01 or 2026-05-01T12:00Z",
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@contextmanager
def cloud_errors(service: str, fix: str) -> Iterator[None]:
    """Turn SDK and network failures into a one-line :class:`DataError` (exit 3)."""
    try:
        yield
    except (UsageError, DataError):
        raise
    except Exception as exc:  # SDK errors have no common base worth importing eagerly
        name = type(exc).__name__
        if name in ("NoCredentialsError", "DefaultCredentialsError", "ClientAuthenticationError"):
            raise DataError(
                f"{service}: no usable credentials ({name})", field=service, fix=fix
            ) from None
        text = str(exc).splitlines()[0] if str(exc) else name
        raise DataError(f"{service} failed: {name}: {text[:300]}", field=service, fix=fix) from None


def aws_consumer(
    queue_url: str,
    store: Store,
    *,
    endpoint_url: str | None = None,
    profile: str | None = None,
    region: str | None = None,
    wait_s: int = 20,
    visibility_timeout_s: int = 60,
    delete_poison: bool = False,
    describe: bool = True,
) -> SqsConsumer:
    """An :class:`SqsConsumer` with boto3 clients from the standard credential chain."""
    import boto3
    from botocore.config import Config

    if not queue_url.startswith(("https://", "http://")):
        raise UsageError(
            f"{queue_url!r} is not a queue URL",
            field="--sqs-queue-url",
            fix="give the URL 'aws sqs get-queue-url' prints (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME)",
        )
    session = boto3.session.Session(profile_name=profile)
    where = region or queue_region(queue_url) or session.region_name or "us-east-1"
    # the long poll must outlast the read timeout
    config = Config(read_timeout=wait_s + 10, retries={"mode": "adaptive", "max_attempts": 5})
    sqs = session.client("sqs", region_name=where, endpoint_url=endpoint_url, config=config)
    clients: dict[str, Any] = {}

    def ec2(name: str) -> Any:
        if name not in clients:
            clients[name] = session.client("ec2", region_name=name, endpoint_url=endpoint_url)
        return clients[name]

    return SqsConsumer(
        sqs,
        queue_url,
        store,
        wait_s=wait_s,
        visibility_timeout_s=visibility_timeout_s,
        delete_poison=delete_poison,
        describe=ec2_describer(ec2) if describe else None,
    )


def follow(
    poll: Callable[[], list[FleetEvent]],
    on_event: Callable[[FleetEvent], None],
    *,
    pause_s: float,
    max_events: int | None = None,
    duration_s: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Call ``poll`` until stopped; ``on_event`` for each new event. Returns events seen.

    Stops after ``max_events`` events or ``duration_s`` seconds (None: never; Ctrl-C).
    """
    started = clock()
    seen = 0
    while True:
        for event in poll():
            on_event(event)
            seen += 1
            if max_events is not None and seen >= max_events:
                return seen
        if duration_s is not None and clock() - started >= duration_s:
            return seen
        if pause_s > 0:
            sleep(pause_s)
