"""What the agent does about a notice: run the hook, post the webhook.

The hook is a shell command run once per notice, in its own process group, with the
notice in environment variables (:func:`hook_env`) and a timeout that ends
``margin`` seconds before the deadline; on timeout the whole group is killed (TERM,
then KILL a second later). Its stdout and stderr go to the agent's stderr, so stdout
stays one JSON line per notice.

The webhook gets the notice record as a JSON POST, retried with exponential backoff
(0.5, 1, 2, 4... s) on connection errors, timeouts, 5xx and 429, until it is accepted,
the retries run out or the deadline passes; other 4xx are not retried. Webhook URLs
often carry a secret (a token in the query, user:password@): only
``scheme://host/path`` is ever printed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from spotadvisor import __version__
from spotadvisor.watch.http import safe_url
from spotadvisor.watch.notice import Notice, dumps, iso

MIN_HOOK_TIMEOUT = 1.0  # seconds
KILL_GRACE = 1.0  # seconds between TERM and KILL of a timed-out hook
FIRST_BACKOFF = 0.5  # seconds before the first webhook retry; doubles each time
WEBHOOK_TIMEOUT = 5.0  # seconds per webhook attempt, at most


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


@dataclass(frozen=True)
class WebhookResult:
    """How a webhook post ended.

    Attributes
    ----------
    ok
        Whether it was accepted (2xx).
    status
        The last HTTP status, None when no answer came.
    attempts
        Requests made.
    error
        Why the last attempt failed (no URL secrets), None when accepted.
    """

    ok: bool
    status: int | None
    attempts: int
    error: str | None


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


def post_webhook(
    url: str,
    record: dict[str, Any],
    *,
    retries: int = 5,
    deadline: float | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> WebhookResult:
    """POST ``record`` as JSON to ``url``, retrying transient failures.

    Parameters
    ----------
    url
        The webhook (http or https; proxies from the environment apply).
    record
        The notice record.
    retries
        Retries after the first attempt.
    deadline
        Epoch seconds after which no attempt starts (the notice's deadline).
    clock, sleep
        Injectable for tests.
    """
    body = dumps(record).encode()
    headers = {"Content-Type": "application/json", "User-Agent": f"spotadvisor/{__version__}"}
    backoff = FIRST_BACKOFF
    status: int | None = None
    error: str | None = None
    attempts = 0
    while True:
        attempts += 1
        timeout = WEBHOOK_TIMEOUT
        if deadline is not None:
            timeout = max(1.0, min(timeout, deadline - clock()))
        status, error = _post_once(url, body, headers, timeout)
        if status is not None and 200 <= status < 300:
            return WebhookResult(True, status, attempts, None)
        retryable = status is None or status >= 500 or status == 429
        if not retryable or attempts > retries:
            break
        if deadline is not None and clock() + backoff >= deadline:
            error = f"{error}; no time left before the deadline to retry"
            break
        sleep(backoff)
        backoff *= 2
    return WebhookResult(False, status, attempts, error)


def _post_once(
    url: str, body: bytes, headers: dict[str, str], timeout: float
) -> tuple[int | None, str]:
    """One POST: (status, reason), status None when no answer came."""
    where = safe_url(url)
    post = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(post, timeout=timeout) as answer:
            answer.read(1 << 16)
            return int(answer.status), f"{where}: HTTP {answer.status}"
    except urllib.error.HTTPError as exc:
        exc.close()
        return exc.code, f"{where}: HTTP {exc.code}"
    except urllib.error.URLError as exc:
        reason = exc.reason  # text reasons may quote the URL: not printed
        text = "cannot send" if isinstance(reason, str) else _os_reason(reason)
        return None, f"{where}: {text}"
    except OSError as exc:
        return None, f"{where}: {_os_reason(exc)}"
    except ValueError:
        return None, f"{where}: not a valid URL"


def _os_reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    return getattr(exc, "strerror", None) or type(exc).__name__
