"""The hook (env, timeout, process-group kill) and the webhook (retries, no secrets)."""

from __future__ import annotations

import json
import socket
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from spotadvisor import __version__
from spotadvisor.watch.actions import hook_env, hook_timeout, run_hook
from spotadvisor.watch.http import safe_url
from spotadvisor.watch.notice import Identity, Notice
from spotadvisor.watch.webhook import post_webhook
from tests.watch.watch_servers import webhook

NOW = datetime(2026, 10, 3, 3, 0, tzinfo=UTC)


def notice(left: float | None = 120.0) -> Notice:
    return Notice(
        kind="termination",
        cloud="aws",
        action="terminate",
        notice_time=NOW,
        deadline=None if left is None else NOW + timedelta(seconds=left),
        event_id="terminate@2026-10-03T03:02:00Z",
    ).with_identity(
        Identity("i-0abc", "p5.48xlarge", "us-east-1a", "us-east-1", zone_id="use1-az6")
    )


# -- the hook ------------------------------------------------------------------------


def test_hook_timeout_ends_before_the_deadline() -> None:
    assert hook_timeout(notice(120), NOW, limit=None, margin=5) == 115
    assert hook_timeout(notice(120), NOW, limit=30, margin=5) == 30
    assert hook_timeout(notice(3), NOW, limit=None, margin=5) == 1  # never below 1 s
    assert hook_timeout(notice(None), NOW, limit=None, margin=5) is None
    assert hook_timeout(notice(None), NOW, limit=40, margin=5) == 40


def test_hook_sees_the_notice_in_its_environment(tmp_path: Path) -> None:
    record = notice().record(NOW)
    out = tmp_path / "env.txt"
    result = run_hook(f"env | grep ^SPOTADVISOR_ | sort > {out}", hook_env(notice(), record), 10)
    assert (result.exit_code, result.timed_out) == (0, False)
    env = dict(line.split("=", 1) for line in out.read_text().splitlines())
    assert env["SPOTADVISOR_EVENT"] == "termination"
    assert env["SPOTADVISOR_CLOUD"] == "aws"
    assert env["SPOTADVISOR_INSTANCE_ID"] == "i-0abc"
    assert env["SPOTADVISOR_INSTANCE_TYPE"] == "p5.48xlarge"
    assert env["SPOTADVISOR_ZONE"] == "us-east-1a"
    assert env["SPOTADVISOR_ZONE_ID"] == "use1-az6"
    assert env["SPOTADVISOR_REGION"] == "us-east-1"
    assert env["SPOTADVISOR_ACTION"] == "terminate"
    assert env["SPOTADVISOR_DEADLINE"] == "2026-10-03T03:02:00Z"
    assert env["SPOTADVISOR_SECONDS_LEFT"] == "120.0"
    assert env["SPOTADVISOR_EVENT_ID"] == "terminate@2026-10-03T03:02:00Z"
    assert json.loads(env["SPOTADVISOR_NOTICE_JSON"]) == record


def test_hook_exit_code_is_reported() -> None:
    result = run_hook("exit 7", {}, 10)
    assert (result.exit_code, result.timed_out, result.timeout) == (7, False, 10)


def test_a_hook_past_its_timeout_is_killed_with_its_children(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    # the shell starts a child that ignores nothing and would outlive a plain kill
    command = f"sleep 30 & echo $! > {pid_file}; wait"
    result = run_hook(command, {}, 1.0)
    assert result.timed_out and result.exit_code is None
    child = int(pid_file.read_text())
    for _ in range(50):  # a zombie waiting for init to reap it is dead enough
        if not alive(child):
            break
        time.sleep(0.05)
    else:
        pytest.fail("the hook's child survived the timeout")


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


# -- the webhook ---------------------------------------------------------------------


def test_webhook_retries_503_then_delivers_the_record() -> None:
    record = notice().record(NOW)
    waits: list[float] = []
    with webhook([503, 503]) as server:
        result = post_webhook(server.url + "/spot", record, retries=5, sleep=waits.append)
    assert (result.ok, result.status, result.attempts) == (True, 200, 3)
    assert waits == [0.5, 1.0]
    assert len(server.received) == 3
    last = server.received[-1]
    assert last.method == "POST" and last.path == "/spot"
    assert json.loads(last.body) == record
    assert last.headers["Content-Type"] == "application/json"
    assert last.headers["User-Agent"] == f"spotadvisor/{__version__}"


def test_webhook_does_not_retry_a_400_but_retries_429() -> None:
    with webhook([400]) as server:
        result = post_webhook(server.url, {}, sleep=lambda _: None)
    assert (result.ok, result.status, result.attempts) == (False, 400, 1)
    with webhook([429]) as server:
        result = post_webhook(server.url, {}, sleep=lambda _: None)
    assert (result.ok, result.attempts) == (True, 2)


def test_webhook_gives_up_after_the_retries() -> None:
    waits: list[float] = []
    with webhook([500] * 10) as server:
        result = post_webhook(server.url, {}, retries=2, sleep=waits.append)
    assert (result.ok, result.status, result.attempts) == (False, 500, 3)
    assert waits == [0.5, 1.0]


def test_webhook_stops_retrying_at_the_deadline() -> None:
    with webhook([503] * 10) as server:
        result = post_webhook(
            server.url, {}, retries=10, deadline=100.4, clock=lambda: 100.0, sleep=lambda _: None
        )
    assert result.attempts == 1 and result.error is not None and "deadline" in result.error


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_webhook_secrets_never_appear_in_errors() -> None:
    url = f"http://alice:hunter2@127.0.0.1:{closed_port()}/hooks/spot?token=s3cr3t-t0ken#frag"
    result = post_webhook(url, {}, retries=1, sleep=lambda _: None)
    assert not result.ok and result.status is None and result.attempts == 2
    assert result.error is not None and "127.0.0.1" in result.error
    for secret in ("hunter2", "alice", "s3cr3t", "token=", "frag"):
        assert secret not in result.error
    port = url.rsplit(":", 1)[1].split("/", 1)[0]
    assert safe_url(url) == f"http://127.0.0.1:{port}/hooks/spot"


def test_hook_output_does_not_reach_stdout(tmp_path: Path) -> None:
    probe = (
        "from spotadvisor.watch.actions import run_hook\nrun_hook('echo from-the-hook', {}, 10)\n"
    )
    import subprocess

    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=30
    )
    assert done.stdout == "" and "from-the-hook" in done.stderr
