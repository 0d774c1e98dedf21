"""docs/watch.md keeps up with the code: every key, variable and example."""

from __future__ import annotations

from datetime import UTC, datetime

import yaml

from spotadvisor.watch.actions import hook_env
from spotadvisor.watch.notice import NOTICE_KEYS, Notice
from tests.conftest import ROOT

DOC = (ROOT / "docs" / "watch.md").read_text()


def test_every_record_key_and_hook_variable_is_documented() -> None:
    for key in NOTICE_KEYS:
        assert f"| `{key}` |" in DOC
    moment = datetime(2026, 10, 3, tzinfo=UTC)
    notice = Notice(
        kind="termination",
        cloud="aws",
        action="terminate",
        notice_time=moment,
        deadline=moment,
        event_id="x",
    )
    for name in hook_env(notice, notice.record(moment)):
        assert f"`{name}`" in DOC
    for event in ("hook", "webhook", "ack", "error", "recovered"):
        assert f"| `{event}` |" in DOC


def test_the_kubernetes_examples_are_valid_yaml() -> None:
    blocks = [block.split("\n```")[0] for block in DOC.split("```yaml\n")[1:]]
    kinds = [yaml.safe_load(block)["kind"] for block in blocks]
    assert kinds == ["DaemonSet", "ClusterRole", "Deployment"]
    daemonset = yaml.safe_load(blocks[0])
    args = daemonset["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[:2] == ["watch", "--keep-running"]


def test_the_systemd_unit_restarts_and_keeps_running() -> None:
    unit = DOC.split("```ini\n")[1].split("\n```")[0]
    assert "Restart=always" in unit and "--keep-running" in unit and "--log" in unit
    assert "HttpPutResponseHopLimit" in DOC and "(drills.md)" in DOC
