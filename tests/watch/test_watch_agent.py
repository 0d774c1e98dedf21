"""The watch loop on scripted sources, with a fake clock: no waiting, no network."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from spotadvisor.watch.agent import Settings, watch
from spotadvisor.watch.http import MetadataError, MetadataUnavailable
from spotadvisor.watch.notice import Identity, Kind, Notice, read_watch_log

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
