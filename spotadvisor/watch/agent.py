"""The watch loop: poll the metadata service, act once on each notice.

Every ``interval`` seconds the source is polled (GCP's hanging GET is itself the wait).
An error (no answer, an error status, garbage) is logged as an ``error`` record, the
first at once and then at most one a minute, plus a ``recovered`` record when the
service answers again; it is never taken for a notice. Each notice is acted on once per
``event_id``, across polls, restarts of the metadata service and, with ``--log``,
restarts of the agent (the ids already in the log are skipped).

On a termination notice: its JSON record goes to stdout (one line) and the log; the
webhook is posted (in the background, with retries); ``--on-notice`` runs with a timeout
ending before the deadline; Azure's event is acknowledged once the hook has finished;
then the agent exits 0, or keeps watching with ``--keep-running``. Rebalance and
maintenance notices are printed and logged and ``--on-rebalance`` runs in the
background while the agent keeps watching (a termination often follows a rebalance).

The loop never waits on a webhook. Each post runs in a thread of its own (each attempt
within a whole-request deadline, see :mod:`.webhook`) and writes its ``webhook`` record
when it ends, while polling, hooks and the log go on. Only on exit does the agent wait
for posts still under way, at most ``webhook_wait`` seconds in all. A post still running
then gets a failed ``webhook`` record of its own (one line, the URL without secrets).

A torn or unreadable line in the log (a crash mid-write leaves a torn last line) is
skipped with a note naming the file and the line. The notices around it are still
remembered, and new records start on a fresh line.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from spotadvisor.watch.actions import HookResult, hook_env, hook_timeout, run_hook
from spotadvisor.watch.http import MetadataError, safe_url
from spotadvisor.watch.notice import Identity, Notice, Recorder, utc
from spotadvisor.watch.webhook import WEBHOOK_TIMEOUT, post_webhook

EXIT_OK = 0
EXIT_UNAVAILABLE = 3  # --once: the metadata service did not answer
EXIT_INTERRUPTED = 130
WEBHOOK_WAIT = 10.0  # seconds the agent waits on exit for webhook posts still under way
MAX_SKIP_NOTES = 5  # unreadable log lines named one by one at start; the rest counted


class Source(Protocol):
    """A cloud's metadata service, as the agent polls it."""

    cloud: str

    @property
    def label(self) -> str:
        """What is watched, for the user (``AWS (IMDSv2) at http://...``)."""

    def identity(self) -> Identity:
        """The instance, best effort (never raises)."""

    def poll(self, now: Callable[[], datetime]) -> list[Notice]:
        """The notices shown now; raises MetadataError when it cannot tell."""

    def acknowledge(self, notice: Notice) -> int | None:
        """Tell the platform it may go ahead: the HTTP status, None when not applicable."""


@dataclass(frozen=True)
class Settings:
    """How the agent runs (times in seconds).

    Attributes
    ----------
    interval
        Seconds between polls.
    once
        Poll once, act on what is there, and exit.
    keep_running
        Keep watching after a termination notice.
    on_notice, on_rebalance
        Shell commands for termination / rebalance and maintenance notices.
    webhook
        URL that receives each termination record as a JSON POST.
    webhook_retries
        Retries after the first webhook attempt.
    webhook_timeout
        Seconds for one whole webhook attempt: connect, send, the full answer.
    webhook_wait
        Longest the agent waits on exit for webhook posts still under way [s].
    hook_timeout
        Longest a hook may run [s]; None: until the deadline less ``hook_margin``.
    hook_margin
        Seconds before the deadline at which a hook is killed.
    log
        JSON-lines file that every record is appended to.
    error_every
        Seconds between repeated error records while the service stays down.
    """

    interval: float = 5.0
    once: bool = False
    keep_running: bool = False
    on_notice: str | None = None
    on_rebalance: str | None = None
    webhook: str | None = None
    webhook_retries: int = 5
    webhook_timeout: float = WEBHOOK_TIMEOUT
    webhook_wait: float = WEBHOOK_WAIT
    hook_timeout: float | None = None
    hook_margin: float = 5.0
    log: Path | None = None
    error_every: float = 60.0


def _stdout(line: str) -> None:
    print(line, flush=True)


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def watch(
    source: Source,
    settings: Settings,
    *,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    out: Callable[[str], None] = _stdout,
    err: Callable[[str], None] = _stderr,
) -> int:
    """Watch ``source`` until a termination notice (or once); the exit code.

    Parameters
    ----------
    source
        The metadata service.
    settings
        Interval, hooks, webhook, log...
    clock
        Epoch seconds (injectable, with ``sleep``, so tests run instantly).
    sleep
        Waits between polls.
    out, err
        Where notice records (one JSON line each) and outcome records / remarks go.

    Returns
    -------
    int
        0 after a termination notice was handled (or, with ``once``, after one poll);
        3 when the single poll of ``once`` got no answer; 130 on Ctrl-C.
    """
    return Agent(source, settings, clock=clock, sleep=sleep, out=out, err=err).run()


class Agent:
    """One run of the watch loop (see :func:`watch`)."""

    def __init__(
        self,
        source: Source,
        settings: Settings,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        out: Callable[[str], None],
        err: Callable[[str], None],
    ) -> None:
        self.source, self.settings, self.clock, self.sleep = source, settings, clock, sleep
        self.err = err
        self.records = Recorder(out, err, settings.log)
        self.seen: set[str] = set()
        self.failures = 0
        self.last_error_at = -float("inf")
        self.background: list[threading.Thread] = []
        self.deliveries: list[_Delivery] = []

    def now(self) -> datetime:
        """The current time, UTC."""
        return utc(self.clock())

    def run(self) -> int:
        """The loop; the exit code."""
        try:
            self._start()
            while True:
                started = self.clock()
                try:
                    notices = self.source.poll(self.now)
                except MetadataError as exc:
                    self._failed(exc)
                    if self.settings.once:
                        return EXIT_UNAVAILABLE
                else:
                    self._answered()
                    if self._handle(notices) or self.settings.once:
                        self._finish()
                        return EXIT_OK
                left = self.settings.interval - (self.clock() - started)
                if left > 0:
                    self.sleep(left)
        except KeyboardInterrupt:
            self._give_up_webhooks("the agent was interrupted")
            self.err("interrupted: stopped watching")
            return EXIT_INTERRUPTED

    # -- start and finish

    def _start(self) -> None:
        log = self.settings.log
        if log is not None and log.is_file():
            from spotadvisor.errors import UsageError
            from spotadvisor.watch.notice import read_watch_log

            skipped: list[str] = []
            try:
                done = {n.event_id for n in read_watch_log(log, skip=skipped.append)}
            except UsageError as exc:
                self.err(f"warning: cannot read the notices already in {log}: {exc}")
                done = set()
            for line in skipped[:MAX_SKIP_NOTES]:
                self.err(f"warning: {line}")
            if len(skipped) > MAX_SKIP_NOTES:
                more = len(skipped) - MAX_SKIP_NOTES
                self.err(
                    f"warning: skipped {more} more line(s) of {log} that are not watch records"
                )
            if done:
                self.seen |= done
                self.err(
                    f"{len(done)} notice(s) already handled in {log}: not acting on them again"
                )
        identity = self.source.identity()
        zone = identity.zone
        if identity.zone_id and identity.zone_id != zone:
            zone = f"{zone} = {identity.zone_id}" if zone else identity.zone_id
        about = ", ".join(v for v in (identity.instance_type, zone) if v)
        instance = f" for {identity.instance_id}" if identity.instance_id else ""
        instance += f" ({about})" if about and instance else ""
        every = "once" if self.settings.once else f"every {self.settings.interval:g} s"
        self.err(f"watching {self.source.label}{instance}; polling {every}")

    def _finish(self) -> None:
        running = [t for t in self.background if t.is_alive()]
        if running and not self.settings.once:
            self.err(f"{len(running)} rebalance/maintenance hook(s) still running; not waiting")
        for thread in running if self.settings.once else []:
            thread.join()
        # webhook posts still under way: a bounded wait, on the real clock
        until = time.monotonic() + self.settings.webhook_wait
        for delivery in self.deliveries:
            delivery.thread.join(max(0.0, until - time.monotonic()))
        wait = self.settings.webhook_wait
        self._give_up_webhooks(f"the agent exits after waiting {wait:g} s for it")

    def _give_up_webhooks(self, why: str) -> None:
        """A failed ``webhook`` record for each post still under way."""
        for delivery in self.deliveries:
            delivery.give_up(why)

    # -- errors

    def _failed(self, exc: MetadataError) -> None:
        self.failures += 1
        now = self.clock()
        if self.failures == 1 or now - self.last_error_at >= self.settings.error_every:
            self.last_error_at = now
            self.records.outcome(self.now(), "error", message=str(exc), failed_polls=self.failures)

    def _answered(self) -> None:
        if self.failures:
            count, self.failures = self.failures, 0
            self.last_error_at = -float("inf")
            self.records.outcome(
                self.now(),
                "recovered",
                message=f"metadata service back after {count} failed poll(s)",
                failed_polls=count,
            )

    # -- notices

    def _handle(self, notices: list[Notice]) -> bool:
        """Act on new notices; whether the agent should stop (a termination)."""
        stop = False
        for notice in sorted(notices, key=lambda n: n.kind != "termination"):
            if notice.event_id in self.seen:
                continue
            self.seen.add(notice.event_id)
            if notice.kind == "termination":
                self._terminate(notice)
                stop = stop or not self.settings.keep_running
            else:
                self._advise(notice)
        return stop

    def _terminate(self, notice: Notice) -> None:
        record = notice.record(self.now())
        self.records.notice(record)
        if self.settings.webhook:  # in the background: never waited for here
            self.deliveries = [d for d in self.deliveries if d.thread.is_alive()]
            self.deliveries.append(_Delivery(self, self.settings.webhook, notice, record))
        if self.settings.on_notice:
            self._run_hook(self.settings.on_notice, notice, record)
            self._acknowledge(notice)

    def _advise(self, notice: Notice) -> None:
        record = notice.record(self.now())
        self.records.notice(record)
        command = self.settings.on_rebalance
        if not command:
            return
        if self.settings.once:
            self._run_hook(command, notice, record)
            return
        thread = threading.Thread(
            target=self._run_hook, args=(command, notice, record), name="hook", daemon=True
        )
        self.background.append(thread)
        thread.start()

    def _run_hook(self, command: str, notice: Notice, record: dict[str, Any]) -> HookResult:
        timeout = hook_timeout(
            notice,
            self.now(),
            limit=self.settings.hook_timeout,
            margin=self.settings.hook_margin,
        )
        result = run_hook(command, hook_env(notice, record), timeout)
        self.records.outcome(
            self.now(),
            "hook",
            event_id=notice.event_id,
            kind=notice.kind,
            exit_code=result.exit_code,
            duration_s=round(result.duration, 3),
            timed_out=result.timed_out,
            timeout_s=None if timeout is None else round(timeout, 1),
        )
        return result

    def _acknowledge(self, notice: Notice) -> None:
        try:
            status = self.source.acknowledge(notice)
        except MetadataError as exc:
            self.records.outcome(
                self.now(), "ack", event_id=notice.event_id, ok=False, status=None, error=str(exc)
            )
            return
        if status is not None:
            ok = 200 <= status < 300
            self.records.outcome(self.now(), "ack", event_id=notice.event_id, ok=ok, status=status)


class _Delivery:
    """One webhook post in a thread of its own, reported in one ``webhook`` record.

    The record comes from the thread when the post ends, or from :meth:`give_up` when
    the agent stops waiting for it, whichever is first; the other is not written.
    """

    def __init__(self, agent: Agent, url: str, notice: Notice, record: dict[str, Any]) -> None:
        self.agent, self.url, self.notice = agent, url, notice
        self.attempts = 0
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._reported = False
        self.thread = threading.Thread(
            target=self._post, args=(record,), name="webhook", daemon=True
        )
        self.thread.start()

    def _post(self, record: dict[str, Any]) -> None:
        settings = self.agent.settings
        result = post_webhook(
            self.url,
            record,
            retries=settings.webhook_retries,
            timeout=settings.webhook_timeout,
            deadline=self.notice.deadline.timestamp() if self.notice.deadline else None,
            clock=self.agent.clock,
            on_attempt=self._attempt,
        )
        self._report(result.ok, result.status, result.attempts, result.error)

    def _attempt(self, number: int) -> None:
        self.attempts = number

    def give_up(self, why: str) -> None:
        """Report the post as failed if it is still under way."""
        if not self.thread.is_alive():
            return
        age = time.monotonic() - self.started
        so_far = f"{self.attempts} attempt(s) so far"
        error = f"{safe_url(self.url)}: no result after {age:.1f} s ({so_far}); {why}"
        self._report(False, None, self.attempts, error)

    def _report(self, ok: bool, status: int | None, attempts: int, error: str | None) -> None:
        with self._lock:
            if self._reported:
                return
            self._reported = True
        self.agent.records.outcome(
            self.agent.now(),
            "webhook",
            event_id=self.notice.event_id,
            url=safe_url(self.url),
            ok=ok,
            status=status,
            attempts=attempts,
            error=error,
        )
