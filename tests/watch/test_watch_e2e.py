"""``spotadvisor watch`` end to end: the real CLI in a subprocess against the metadata mock.

Everything listens on 127.0.0.1. Timings are kept short (polls every 0.2 s, request
timeouts of 0.5 s); no assertion depends on how long anything took.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from spotadvisor.cli import app
from spotadvisor.watch.mock import MetadataMock
from spotadvisor.watch.notice import read_watch_log
from tests.watch.watch_servers import imdsv1, trickling_webhook, webhook

LABELS = {"aws": "AWS (IMDSv2)", "gcp": "GCP (metadata server)", "azure": "Azure (IMDS)"}
NOTICE_PATHS = {
    "aws": "/latest/meta-data/spot/instance-action",
    "gcp": "/computeMetadata/v1/instance/preempted",
    "azure": "/metadata/scheduledevents",
}
# a hook that records what it was told, and on Azure the event's status at that moment
HOOK = textwrap.dedent(
    """
    import json, os, sys, time, urllib.request
    seen = {k: v for k, v in os.environ.items() if k.startswith("SPOTADVISOR_")}
    seen["hook_started"] = time.time()
    if seen["SPOTADVISOR_CLOUD"] == "azure":
        ask = urllib.request.Request(
            sys.argv[2] + "/metadata/scheduledevents?api-version=2020-07-01",
            headers={"Metadata": "true"},
        )
        events = json.load(urllib.request.urlopen(ask, timeout=5))["Events"]
        seen["status_during_hook"] = events[0]["EventStatus"]
    with open(sys.argv[1], "a") as out:
        out.write(json.dumps(seen) + "\\n")
    """
)


def clean_env() -> dict[str, str]:
    """This environment without proxies (the webhook must go to 127.0.0.1 directly)."""
    return {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}


def start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "spotadvisor", "watch", "--interval", "0.2s", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )


def finish(agent: subprocess.Popen[str], timeout: float = 30) -> tuple[int, str, str]:
    try:
        out, err = agent.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        agent.kill()
        out, err = agent.communicate()
        pytest.fail(f"watch did not exit: {err}")
    return agent.returncode, out, err


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 15) -> None:
    limit = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > limit:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def polls(mock: MetadataMock, cloud: str) -> int:
    return sum(NOTICE_PATHS[cloud] in r.path for r in mock.requests)


def records(err: str, event: str) -> list[dict[str, object]]:
    found = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    return [r for r in found if r.get("event") == event]


def tokens(mock: MetadataMock) -> set[str]:
    return {
        value
        for r in mock.requests
        for name, value in r.headers.items()
        if name.lower() == "x-aws-ec2-metadata-token"
    }


@contextmanager
def hook_file(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    script, out = tmp_path / "hook.py", tmp_path / "hook-runs.jsonl"
    script.write_text(HOOK)
    yield script, out


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure"])
def test_termination_end_to_end(cloud: str, tmp_path: Path) -> None:
    log = tmp_path / "notices.jsonl"
    lead = 30.0 if cloud == "gcp" else 20.0  # GCP's notice is 30 s, and the agent knows it
    with (
        hook_file(tmp_path) as (script, runs),
        MetadataMock(cloud, notice_in=0.5, notice_lead=lead) as mock,  # type: ignore[arg-type]
        webhook([503]) as receiver,
    ):
        hook = f"{sys.executable} {script} {runs} {mock.url}"
        secret_url = f"{receiver.url}/spot?token=hook-s3cret"
        agent = start(
            "--cloud", "auto", "--metadata-url", mock.url, "--on-notice", hook,
            "--webhook", secret_url, "--log", str(log),
        )  # fmt: skip
        code, out, err = finish(agent)
    assert code == 0, err
    assert f"detected {LABELS[cloud]} at {mock.url}" in err
    (line,) = out.splitlines()
    record = json.loads(line)
    assert (record["event"], record["cloud"]) == ("termination", cloud)
    # the hook ran once, told the deadline the cloud announced (to the second)
    (seen,) = [json.loads(x) for x in runs.read_text().splitlines()]
    assert mock.deadline is not None
    deadline = datetime.fromisoformat(seen["SPOTADVISOR_DEADLINE"]).timestamp()
    if cloud == "gcp":  # first seen + 30 s: the agent saw it after it was set, before the hook
        assert mock.deadline - 0.01 <= deadline <= float(seen["hook_started"]) + 30.0
    else:
        assert deadline == int(mock.deadline)
    assert seen["SPOTADVISOR_EVENT_ID"] == record["event_id"]
    assert json.loads(seen["SPOTADVISOR_NOTICE_JSON"]) == record
    (hook_record,) = records(err, "hook")
    assert hook_record["exit_code"] == 0 and not hook_record["timed_out"]
    assert 0 < float(hook_record["timeout_s"]) < lead - 4  # ends before the deadline
    # the webhook got the record, after one 503
    posts = [r for r in receiver.received if r.method == "POST"]
    assert len(posts) == 2 and json.loads(posts[-1].body) == record
    (posted,) = records(err, "webhook")
    assert posted["ok"] and posted["attempts"] == 2
    assert posted["url"] == f"{receiver.url}/spot" and "hook-s3cret" not in err + out
    # Azure: acknowledged once the hook had finished
    if cloud == "azure":
        assert seen["status_during_hook"] == "Scheduled"
        assert mock.acknowledged == [mock.event_id] == [record["event_id"]]
        (ack,) = records(err, "ack")
        assert ack["ok"] and ack["status"] == 200
    else:
        assert records(err, "ack") == []
    (logged,) = read_watch_log(log)
    assert logged.event_id == record["event_id"] and logged.cloud == cloud
    assert not any(token in out + err + log.read_text() for token in tokens(mock))


def test_aws_token_expiry_and_renewal_make_no_error(tmp_path: Path) -> None:
    log = tmp_path / "notices.jsonl"
    with hook_file(tmp_path) as (script, runs), MetadataMock("aws", notice_in=None) as mock:
        agent = start(
            "--cloud", "aws", "--metadata-url", mock.url, "--token-ttl", "2s",
            "--on-notice", f"{sys.executable} {script} {runs} {mock.url}", "--log", str(log),
        )  # fmt: skip
        wait_until(lambda: polls(mock, "aws") >= 3, "the first polls")
        mock.expire_tokens()  # every token dies: 401, then a new token
        seen = polls(mock, "aws")
        wait_until(lambda: polls(mock, "aws") >= seen + 3, "polls after the expiry")
        wait_until(lambda: len(mock.token_ttls) >= 3, "a renewal at 80 % of 2 s")
        mock.issue_notice_now()
        code, out, err = finish(agent)
    assert code == 0, err
    assert records(err, "error") == [] and "error" not in log.read_text()
    assert set(mock.token_ttls) == {2} and len(tokens(mock)) >= 3
    assert len(out.splitlines()) == 1 and len(runs.read_text().splitlines()) == 1
    assert not any(token in out + err + log.read_text() for token in tokens(mock))


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure"])
def test_an_outage_gives_no_false_notice(cloud: str, tmp_path: Path) -> None:
    log = tmp_path / "notices.jsonl"
    with (
        hook_file(tmp_path) as (script, runs),
        MetadataMock(cloud, notice_in=None) as mock,  # type: ignore[arg-type]
    ):
        agent = start(
            "--cloud", cloud, "--metadata-url", mock.url, "--log", str(log),
            "--on-notice", f"{sys.executable} {script} {runs} {mock.url}",
        )  # fmt: skip
        wait_until(lambda: polls(mock, cloud) >= 2, "the first polls")
        for mode in ("error", "hang"):
            mock.set_outage(mode)  # type: ignore[arg-type]
            wait_until(
                lambda before=len(mock.requests): len(mock.requests) >= before + 3,
                f"polls during the {mode} outage",
            )
        mock.set_outage("none")
        mock.restart(downtime=0.5)  # refused connections meanwhile
        seen = polls(mock, cloud)
        wait_until(lambda: polls(mock, cloud) >= seen + 2, "polls after the restart")
        assert agent.poll() is None, "a notice was taken from the outage"
        mock.issue_notice_now()
        code, out, err = finish(agent)
    assert code == 0, err
    (line,) = out.splitlines()
    assert json.loads(line)["event"] == "termination"
    assert len(runs.read_text().splitlines()) == 1
    assert records(err, "error") and records(err, "recovered")
    assert [n.kind for n in read_watch_log(log)] == ["termination"]


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure"])
def test_once_without_a_notice_prints_nothing(cloud: str) -> None:
    with MetadataMock(cloud, notice_in=None) as mock:  # type: ignore[arg-type]
        code, out, err = finish(start("--once", "--cloud", cloud, "--metadata-url", mock.url))
    assert (code, out) == (0, ""), err
    assert "polling once" in err


def test_imdsv1_fallback_end_to_end() -> None:
    answers = {
        "/latest/meta-data/instance-id": "i-v1",
        "/latest/meta-data/spot/instance-action": '{"action":"stop","time":"2030-01-01T00:00:00Z"}',
    }
    with imdsv1(405, answers) as server:
        code, out, err = finish(start("--cloud", "auto", "--metadata-url", server.url))
    assert code == 0, err
    assert "detected AWS (IMDSv1) at" in err and err.count("falling back to IMDSv1") == 1
    record = json.loads(out)
    assert (record["action"], record["instance_id"]) == ("stop", "i-v1")


def test_nothing_to_watch_exits_3(tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    code, out, err = finish(start("--metadata-url", url, "--probe-timeout", "0.5s"))
    assert (code, out) == (3, "") and "no instance metadata service answered" in err
    code, out, err = finish(start("--once", "--cloud", "azure", "--metadata-url", url))
    assert (code, out) == (3, "") and "connection refused" in records(err, "error")[0]["message"]


def test_ctrl_c_exits_130() -> None:
    with MetadataMock("aws", notice_in=None) as mock:
        agent = start("--cloud", "aws", "--metadata-url", mock.url)
        wait_until(lambda: polls(mock, "aws") >= 1, "the first poll")
        agent.send_signal(signal.SIGINT)
        code, out, err = finish(agent)
    assert (code, out) == (130, "") and "interrupted" in err


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--interval", "0s"], "--interval"),
        (["--interval", "5"], "--interval"),
        (["--token-ttl", "7h"], "--token-ttl"),
        (["--webhook", "ftp://example.com/x"], "--webhook"),
        (["--metadata-url", "169.254.169.254"], "--metadata-url"),
        (["--metadata-url", "http://127.0.0.1:99999"], "--metadata-url"),
        (["--log", "/nonexistent-folder/notices.jsonl"], "--log"),
    ],
)
def test_bad_options_exit_2(args: list[str], expected: str) -> None:
    result = CliRunner().invoke(app, ["watch", *args])
    assert result.exit_code == 2 and expected in result.stderr


def test_the_log_feeds_the_report(tmp_path: Path) -> None:
    from spotadvisor.report.interruptions import events_from_watch_logs

    log = tmp_path / "notices.jsonl"
    with MetadataMock("azure", notice_in=0.0) as mock:
        code, _, err = finish(start("--once", "--cloud", "azure", "--metadata-url", mock.url, "--log", str(log)))  # fmt: skip
    assert code == 0, err
    (event,) = events_from_watch_logs([log])
    assert (event.cloud, event.action, event.region) == ("azure", "Preempt", "eastus")
    assert event.notice_time <= datetime.now(UTC)


def test_a_trickling_webhook_does_not_stop_polling_with_keep_running(tmp_path: Path) -> None:
    log = tmp_path / "notices.jsonl"
    with (
        MetadataMock("aws", notice_in=0.3) as mock,
        trickling_webhook(0.05) as receiver,
    ):
        url = f"http://ops:pw-s3cret@{receiver.url[7:]}/spot?token=t0ken"
        agent = start(
            "--cloud", "aws", "--metadata-url", mock.url, "--keep-running",
            "--webhook", url, "--log", str(log),
        )  # fmt: skip
        wait_until(lambda: len(receiver.received) == 1, "the webhook post")
        seen = polls(mock, "aws")
        wait_until(lambda: polls(mock, "aws") >= seen + 5, "polls while the webhook trickles")
        agent.send_signal(signal.SIGINT)
        code, out, err = finish(agent)
    assert code == 130, err
    assert json.loads(out)["event"] == "termination"
    (posted,) = records(err, "webhook")  # the 5 s attempt, or the interrupt, ended it
    assert posted["ok"] is False and posted["url"] == f"{receiver.url}/spot"
    for secret in ("s3cret", "t0ken", "ops:"):
        assert secret not in out + err + log.read_text()


def test_a_webhook_url_with_user_and_password_uses_basic_auth(tmp_path: Path) -> None:
    import base64

    log = tmp_path / "notices.jsonl"
    with MetadataMock("aws", notice_in=0.0) as mock, webhook() as receiver:
        url = f"http://ops:pw-s3cret@{receiver.url[7:]}/spot"
        agent = start(
            "--once", "--cloud", "aws", "--metadata-url", mock.url,
            "--webhook", url, "--log", str(log),
        )  # fmt: skip
        code, out, err = finish(agent)
    assert code == 0, err
    (got,) = receiver.received
    assert got.path == "/spot" and json.loads(got.body) == json.loads(out)
    assert got.headers["Authorization"] == "Basic " + base64.b64encode(b"ops:pw-s3cret").decode()
    (posted,) = records(err, "webhook")
    assert posted["ok"] is True and posted["url"] == f"{receiver.url}/spot"
    assert "s3cret" not in out + err + log.read_text()
