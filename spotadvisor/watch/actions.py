"""What the agent does about a notice: run the hook (the webhook is in :mod:`.webhook`).

The hook is a shell command run once per notice, in its own process group, with the
notice in environment variables (:func:`hook_env`) and a timeout that ends
``margin`` seconds before the deadline; on timeout the whole group is killed (TERM,
then KILL a second later). Its stdout and stderr go to the agent's stderr, so stdout
stays one JSON line per notice.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from spotadvisor.watch.notice import Notice, dumps, iso

MIN_HOOK_TIMEOUT = 1.0  # seconds
KILL_GRACE = 1.0  # seconds between TERM and KILL of a timed-out hook


@dataclass(frozen=True)
class HookResult:
    """How a hook ended.

    Attributes
    ----------
    exit_code
        The shell's exit code; None when it was killed on timeout or could not start.
    duration
        Seconds from start to end.
    timed_out
        Whether the timeout killed it.
    timeout
        The timeout it ran under [s], None for none.
    """

    exit_code: int | None
    duration: float
    timed_out: bool
    timeout: float | None


def hook_timeout(
    notice: Notice, now: datetime, *, limit: float | None, margin: float
) -> float | None:
    """Seconds the hook may run: ``limit`` and the deadline less ``margin``, >= 1 s.

    None when there is neither a ``limit`` nor a deadline.
    """
    choices = [] if limit is None else [limit]
    left = notice.seconds_left(now)
    if left is not None:
        choices.append(left - margin)
    if not choices:
        return None
    return max(MIN_HOOK_TIMEOUT, min(choices))


def hook_env(notice: Notice, record: dict[str, Any]) -> dict[str, str]:
    """The ``SPOTADVISOR_*`` variables a hook sees (empty text for unknown values)."""
    left = record.get("seconds_left")
    return {
        "SPOTADVISOR_EVENT": notice.kind,
        "SPOTADVISOR_CLOUD": notice.cloud,
        "SPOTADVISOR_INSTANCE_ID": notice.instance_id or "",
        "SPOTADVISOR_INSTANCE_TYPE": notice.instance_type or "",
        "SPOTADVISOR_ZONE": notice.zone or "",
        "SPOTADVISOR_ZONE_ID": notice.zone_id or "",
        "SPOTADVISOR_REGION": notice.region or "",
        "SPOTADVISOR_ACTION": notice.action,
        "SPOTADVISOR_DEADLINE": iso(notice.deadline) if notice.deadline else "",
        "SPOTADVISOR_SECONDS_LEFT": "" if left is None else f"{left:.1f}",
        "SPOTADVISOR_EVENT_ID": notice.event_id,
        "SPOTADVISOR_NOTICE_JSON": dumps(record),
    }


def run_hook(
    command: str,
    env: dict[str, str],
    timeout: float | None,
    *,
    clock: Callable[[], float] = time.monotonic,
) -> HookResult:
    """Run ``command`` in a shell once, in a new process group, within ``timeout`` s."""
    started = clock()
    try:
        process = subprocess.Popen(
            command,
            shell=True,
            env={**os.environ, **env},
            stdin=subprocess.DEVNULL,
            stdout=_stderr_fd(),
            stderr=_stderr_fd(),
            start_new_session=True,
        )
    except OSError:
        return HookResult(None, clock() - started, False, timeout)
    try:
        code: int | None = process.wait(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        _kill_group(process)
        code, timed_out = None, True
    return HookResult(code, round(clock() - started, 3), timed_out, timeout)


def _stderr_fd() -> int:
    """The agent's stderr as a file descriptor (the process's fd 2 when it has none)."""
    try:
        return sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        return 2


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """TERM the hook's process group, KILL it if still there after ``KILL_GRACE``."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=KILL_GRACE)
            return
        except subprocess.TimeoutExpired:
            continue
    process.wait()
