"""The watch loop on scripted sources, mostly with a fake clock: no waiting, no network.

The webhook tests run on the real clock against servers on 127.0.0.1 that trickle or
hang; each run is bounded, so a hang fails the test instead of stalling it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from spotadvisor.watch.agent import Settings, watch
from spotadvisor.watch.http import MetadataError, MetadataUnavailable
from spotadvisor.watch.notice import Identity, Kind, Notice, read_watch_log, utc
from tests.watch.watch_servers import hung_webhook, trickling_webhook, webhook

Step = list[Notice] | Exception


class Clock:
    def __init__(self) -> None:
        self.t = 1_790_000_000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


class Scripted:
    """A source that answers each poll from a script; Ctrl-C when the script ends."""

    cloud = "aws"
    label = "scripted AWS"

    def __init__(self, clock: Clock, script: list[Step], poll_time: float = 0.0) -> None:
        self.clock = clock
        self.script = list(script)
        self.poll_time = poll_time
        self.polls = 0
        self.acks: list[tuple[str, bool]] = []
        self.ack_check: Callable[[], bool] = lambda: True

    def identity(self) -> Identity:
        return Identity("i-0abc", "p5.48xlarge", "us-east-1a", "us-east-1")

    def poll(self, now: Callable[[], datetime]) -> list[Notice]:
        self.polls += 1
        self.clock.t += self.poll_time
        if not self.script:
            raise KeyboardInterrupt
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        return step

    def acknowledge(self, notice: Notice) -> int | None:
        self.acks.append((notice.event_id, self.ack_check()))
        return 200


def make(kind: Kind, event_id: str, clock: Clock, left: float | None = 120.0) -> Notice:
    seen = datetime.fromtimestamp(clock.t).astimezone()
    return Notice(
        kind=kind,
        cloud="aws",
        action={"termination": "terminate"}.get(kind, kind),
        notice_time=seen,
        deadline=None if left is None else seen + timedelta(seconds=left),
        event_id=event_id,
    )


class Run:
    def __init__(self, source: Scripted, clock: Clock, **settings: object) -> None:
        self.out: list[str] = []
        self.err: list[str] = []
        self.code = watch(
            source,
            Settings(**settings),  # type: ignore[arg-type]
            clock=clock,
            sleep=clock.sleep,
            out=self.out.append,
            err=self.err.append,
        )

    def records(self, event: str) -> list[dict[str, object]]:
        found = [json.loads(line) for line in self.err if line.startswith("{")]
        return [r for r in found if r["event"] == event]


def wait_for_lines(path: Path, count: int) -> list[str]:
    for _ in range(100):
        if path.is_file() and len(path.read_text().splitlines()) >= count:
            break
        time.sleep(0.05)
    return path.read_text().splitlines() if path.is_file() else []


def test_a_notice_seen_on_many_polls_is_acted_on_once(tmp_path: Path) -> None:
    clock = Clock()
    term = make("termination", "terminate@T", clock)
    rebalance = make("rebalance", "rebalance@R", clock, left=None)
    hooks = tmp_path / "hooks.txt"
    source = Scripted(clock, [[], [rebalance], [rebalance], [rebalance, term], [term]])
    run = Run(
        source,
        clock,
        on_notice=f"echo $SPOTADVISOR_EVENT_ID >> {hooks}",
        on_rebalance=f"echo $SPOTADVISOR_EVENT >> {hooks}",
    )
    assert run.code == 0 and source.polls == 4  # stops at the termination
    assert [json.loads(line)["event"] for line in run.out] == ["rebalance", "termination"]
    assert sorted(wait_for_lines(hooks, 2)) == ["rebalance", "terminate@T"]
    # the rebalance hook runs in the background: its outcome is recorded once it returns,
    # which may be after its line is written and after the agent has stopped
    for _ in range(100):
        if len(run.records("hook")) == 2:
            break
        time.sleep(0.05)
    assert len(run.records("hook")) == 2


def test_errors_are_never_notices_and_are_rate_limited() -> None:
    clock = Clock()
    failures: list[Step] = [MetadataUnavailable("GET x: no answer within 2 s")] * 20
    failures += [MetadataError("GET x: HTTP 500"), MetadataError("GET x: not JSON")]
    source = Scripted(clock, [*failures, [], [make("termination", "t", clock)]])
    run = Run(source, clock, interval=5.0)
    assert run.code == 0 and len(run.out) == 1  # only the real notice
    errors = run.records("error")
    # 22 failed polls 5 s apart: the first, then one a minute
    assert [e["failed_polls"] for e in errors] == [1, 13]
    assert "no answer" in str(errors[0]["message"])
    (recovered,) = run.records("recovered")
    assert recovered["failed_polls"] == 22 and "back" in str(recovered["message"])


def test_polls_are_one_interval_apart_whatever_a_poll_takes() -> None:
    clock = Clock()
    source = Scripted(clock, [[], [], []], poll_time=1.5)
    run = Run(source, clock, interval=5.0)
    assert run.code == 130
    assert clock.sleeps == [3.5, 3.5, 3.5]


def test_once_without_a_notice_prints_nothing_and_exits_0() -> None:
    clock = Clock()
    run = Run(Scripted(clock, [[]]), clock, once=True)
    assert run.code == 0 and run.out == [] and clock.sleeps == []


def test_once_without_an_answer_exits_3() -> None:
    clock = Clock()
    run = Run(Scripted(clock, [MetadataUnavailable("refused")]), clock, once=True)
    assert run.code == 3 and run.out == [] and len(run.records("error")) == 1


def test_once_runs_the_rebalance_hook_before_exiting(tmp_path: Path) -> None:
    clock = Clock()
    hooks = tmp_path / "hooks.txt"
    source = Scripted(clock, [[make("rebalance", "r", clock, left=None)]])
    run = Run(source, clock, once=True, on_rebalance=f"echo ran > {hooks}")
    assert run.code == 0 and hooks.read_text() == "ran\n"


def test_keep_running_acts_once_and_goes_on(tmp_path: Path) -> None:
    clock = Clock()
    hooks = tmp_path / "hooks.txt"
    term = make("termination", "terminate@T", clock)
    source = Scripted(clock, [[term], [term], [term], []])
    run = Run(source, clock, keep_running=True, on_notice=f"echo x >> {hooks}")
    assert run.code == 130 and source.polls == 5
    assert len(run.out) == 1 and hooks.read_text() == "x\n"


def test_the_ack_comes_after_the_hook(tmp_path: Path) -> None:
    clock = Clock()
    done = tmp_path / "hook-done"
    source = Scripted(clock, [[make("termination", "EV-1", clock)]])
    source.ack_check = done.is_file
    run = Run(source, clock, on_notice=f"sleep 0.2; touch {done}")
    assert run.code == 0 and source.acks == [("EV-1", True)]
    assert [r["event"] for r in map(json.loads, run.err[1:])] == ["hook", "ack"]


def test_no_hook_means_no_ack() -> None:
    clock = Clock()
    source = Scripted(clock, [[make("termination", "EV-1", clock)]])
    assert Run(source, clock).code == 0 and source.acks == []


def test_the_log_is_read_back_and_remembered_across_restarts(tmp_path: Path) -> None:
    clock = Clock()
    log, hooks = tmp_path / "notices.jsonl", tmp_path / "hooks.txt"
    term = make("termination", "terminate@T", clock)
    first = Run(
        Scripted(clock, [MetadataError("HTTP 500"), [term]]),
        clock,
        log=log,
        on_notice=f"echo x >> {hooks}",
    )
    assert first.code == 0
    events = [json.loads(line)["event"] for line in log.read_text().splitlines()]
    assert events == ["error", "recovered", "termination", "hook", "ack"]
    (logged,) = read_watch_log(log)
    assert logged.event_id == "terminate@T" and logged.instance_id is None
    # restarted (systemd Restart=always): the notice is still shown, the hook not rerun
    again = Run(Scripted(clock, [[term], [term]]), clock, log=log, on_notice=f"echo x >> {hooks}")
    assert again.code == 130 and again.out == [] and hooks.read_text() == "x\n"
    assert any("already handled" in line for line in again.err)


def test_an_unwritable_log_is_a_warning_not_a_crash(tmp_path: Path) -> None:
    clock = Clock()
    log = tmp_path / "missing-folder" / "notices.jsonl"
    run = Run(Scripted(clock, [[make("termination", "t", clock)]]), clock, log=log)
    assert run.code == 0 and len(run.out) == 1
    assert sum("cannot write" in line for line in run.err) == 1


def test_ctrl_c_exits_130() -> None:
    clock = Clock()
    run = Run(Scripted(clock, []), clock)
    assert run.code == 130 and run.err[-1] == "interrupted: stopped watching"


# -- webhooks never hold the loop (issue 21 item 5) -----------------------------------


class RealTime(Scripted):
    """A scripted source on the real clock, noting when each poll came."""

    def __init__(self, script: list[Step], poll_time: float) -> None:
        super().__init__(Clock(), script)
        self.real_poll_time = poll_time
        self.polled_at: list[float] = []

    def poll(self, now: Callable[[], datetime]) -> list[Notice]:
        self.polled_at.append(time.monotonic())
        time.sleep(self.real_poll_time)
        return super().poll(now)


def bounded_run(source: Scripted, seconds: float = 10.0, **settings: object) -> Run:
    """``Run`` on the real clock in a thread; fails the test if not done in ``seconds``."""
    done: list[Run] = []
    worker = threading.Thread(
        target=lambda: done.append(RealRun(source, **settings)), name="agent", daemon=True
    )
    worker.start()
    worker.join(seconds)
    if not done:
        pytest.fail(f"the agent was still running after {seconds:g} s")
    return done[0]


class RealRun(Run):
    def __init__(self, source: Scripted, **settings: object) -> None:
        self.out, self.err = [], []
        self.code = watch(
            source,
            Settings(**settings),  # type: ignore[arg-type]
            out=self.out.append,
            err=self.err.append,
        )


def join_webhook_threads(seconds: float = 10.0) -> None:
    limit = time.monotonic() + seconds
    for thread in threading.enumerate():
        if thread.name in {"webhook", "webhook-attempt"}:
            thread.join(max(0.0, limit - time.monotonic()))


def test_a_trickling_webhook_does_not_stop_polling() -> None:
    clock = Clock()
    term = make("termination", "terminate@T", clock, left=None)
    # a notice, then 20 more polls 0.1 s apart, then Ctrl-C
    source = RealTime([[term]] + [[]] * 20, poll_time=0.0)
    with trickling_webhook(0.05) as server:
        url = f"http://ops:pw-s3cret@{server.url[7:]}/spot?token=t0ken"
        run = bounded_run(
            source,
            interval=0.1,
            keep_running=True,
            webhook=url,
            webhook_timeout=1.0,
            webhook_retries=0,
        )
        join_webhook_threads()
    assert run.code == 130 and source.polls == 22
    # polls went on while the webhook trickled, and its failure was reported once
    (posted,) = run.records("webhook")
    assert posted["ok"] is False and posted["status"] is None and posted["attempts"] == 1
    assert posted["error"] == f"{server.url}/spot: no complete answer within 1 s"
    assert posted["url"] == f"{server.url}/spot"
    lines = "\n".join(run.out + run.err)
    assert "s3cret" not in lines and "t0ken" not in lines and "ops" not in lines


def test_a_hung_webhook_delays_the_exit_a_bounded_time(tmp_path: Path) -> None:
    clock = Clock()
    log, hooks = tmp_path / "notices.jsonl", tmp_path / "hooks.txt"
    term = make("termination", "terminate@T", clock, left=None)
    source = RealTime([[term]], poll_time=0.0)
    with hung_webhook() as server:
        url = f"http://ops:pw-s3cret@{server.url[7:]}/spot?token=t0ken"
        run = bounded_run(
            source,
            webhook=url,
            webhook_wait=1.0,
            webhook_retries=0,
            webhook_timeout=3.0,
            on_notice=f"echo ran >> {hooks}",
            log=log,
        )
        assert len(server.received) == 1
        join_webhook_threads()  # the post ends by itself later: it reports nothing more
    assert run.code == 0 and hooks.read_text() == "ran\n"
    (posted,) = run.records("webhook")
    assert posted["ok"] is False and posted["status"] is None and posted["attempts"] == 1
    error = str(posted["error"])
    assert error.startswith(f"{server.url}/spot: no result after ")
    assert error.endswith("; the agent exits after waiting 1 s for it")
    logged = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["event"] for r in logged] == ["termination", "hook", "ack", "webhook"]
    assert "s3cret" not in log.read_text() + "\n".join(run.err)


def test_the_exit_waits_for_a_webhook_that_finishes_in_time(tmp_path: Path) -> None:
    clock = Clock()
    term = make("termination", "terminate@T", clock, left=None)
    with webhook([503]) as server:  # one retry after 0.5 s
        run = bounded_run(RealTime([[term]], 0.0), webhook=server.url, webhook_wait=5.0)
    (posted,) = run.records("webhook")
    assert posted["ok"] is True and posted["attempts"] == 2


# -- a torn log (issue 21 item 7) -------------------------------------------------------


def test_torn_lines_in_the_log_do_not_make_the_hook_run_twice(tmp_path: Path) -> None:
    clock = Clock()
    log, hooks = tmp_path / "notices.jsonl", tmp_path / "hooks.txt"
    first = make("termination", "terminate@A", clock)
    Run(
        Scripted(clock, [[first]]),
        clock,
        log=log,
        on_notice=f"echo $SPOTADVISOR_EVENT_ID >> {hooks}",
    )
    assert hooks.read_text() == "terminate@A\n"
    # a torn record in the middle, a whole one after it, and a torn last line (cut inside
    # a two-byte character, without its newline): what crashes and a full disk leave
    rebalance = make("rebalance", "rebalance@B", clock, left=None).record(utc(clock.t))
    torn_middle = '{"ts":"2026-09-21T10:00:00Z","event":"ho'
    torn_last = '{"ts":"2026-09-21T10:00:01Z","event":"error","message":"caf'
    with log.open("ab") as handle:
        handle.write(torn_middle.encode() + b"\n")
        handle.write(json.dumps(rebalance).encode() + b"\n")
        handle.write(torn_last.encode() + "é".encode()[:1])
    before = log.read_bytes().split(b"\n")
    second = make("termination", "terminate@C", clock)
    again = Run(
        Scripted(clock, [[first], [second]]),
        clock,
        log=log,
        keep_running=True,
        on_notice=f"echo $SPOTADVISOR_EVENT_ID >> {hooks}",
    )
    assert again.code == 130
    assert hooks.read_text() == "terminate@A\nterminate@C\n"  # A was remembered
    assert [json.loads(line)["event_id"] for line in again.out] == ["terminate@C"]
    notes = [line for line in again.err if line.startswith("warning: skipped")]
    assert notes == [
        f"warning: skipped line 4 of {log}: not JSON; not a watch record",
        f"warning: skipped line 6 of {log}, the last: not UTF-8 text, an incomplete "
        "record as a crash mid-write leaves; new records start on a fresh line",
    ]
    assert any("2 notice(s) already handled" in line for line in again.err)
    # the torn line is left as it was, and the next record starts on a line of its own
    after = log.read_bytes().split(b"\n")
    assert after[: len(before)] == before
    assert json.loads(after[len(before)])["event_id"] == "terminate@C"
    skipped: list[str] = []
    found = read_watch_log(log, skip=skipped.append)
    assert [n.event_id for n in found] == ["terminate@A", "rebalance@B", "terminate@C"]
    assert len(skipped) == 2


def test_a_crash_mid_write_is_survived_on_restart(tmp_path: Path) -> None:
    clock = Clock()
    log, hooks = tmp_path / "notices.jsonl", tmp_path / "hooks.txt"
    hook = f"echo $SPOTADVISOR_EVENT_ID >> {hooks}"
    term = make("termination", "terminate@A", clock)
    Run(Scripted(clock, [[term]]), clock, log=log, on_notice=hook)
    whole = log.read_bytes()
    lines = whole.splitlines(keepends=True)
    assert [json.loads(line)["event"] for line in lines] == ["termination", "hook", "ack"]
    # the machine died while the hook record was written: half of it reached the disk
    log.write_bytes(lines[0] + lines[1][: len(lines[1]) // 2])
    again = Run(Scripted(clock, [[term], [term]]), clock, log=log, on_notice=hook)
    assert again.code == 130 and again.out == [] and hooks.read_text() == "terminate@A\n"
    assert any("the last" in line and "incomplete" in line for line in again.err)
    # it died while the notice itself was written: the hook had not run, so it runs now
    log.write_bytes(lines[0][:40])
    third = Run(Scripted(clock, [[term]]), clock, log=log, on_notice=hook)
    assert third.code == 0 and len(third.out) == 1
    assert hooks.read_text() == "terminate@A\nterminate@A\n"
    assert log.read_bytes().split(b"\n")[0] == lines[0][:40]  # the new notice: next line


def test_each_record_is_one_write_of_a_whole_line_and_notices_are_synced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from spotadvisor.watch import notice as notice_module

    writes: list[bytes] = []
    syncs: list[int] = []
    real_write, real_fsync = os.write, os.fsync

    def write(fd: int, data: bytes) -> int:
        writes.append(bytes(data))
        return real_write(fd, data)

    def fsync(fd: int) -> None:
        syncs.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(notice_module.os, "write", write)
    monkeypatch.setattr(notice_module.os, "fsync", fsync)
    clock = Clock()
    log = tmp_path / "notices.jsonl"
    run = Run(
        Scripted(clock, [[make("termination", "t", clock)]]), clock, log=log, on_notice="true"
    )
    assert run.code == 0
    assert [json.loads(w)["event"] for w in writes] == ["termination", "hook", "ack"]
    assert all(w.endswith(b"\n") and w.count(b"\n") == 1 for w in writes)
    assert b"".join(writes) == log.read_bytes()
    assert len(syncs) == 2  # the notice, and the new file's folder (outcomes are not synced)
