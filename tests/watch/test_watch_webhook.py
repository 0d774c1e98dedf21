"""The webhook's whole-request deadline, basic auth from the URL, and no redirects.

Servers trickle or hang on 127.0.0.1. A call that should end by its deadline runs in a
thread, and the test fails (rather than hangs) if it is still running 10 s later. No
assertion depends on how fast anything is.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from typing import TypeVar

import pytest

from spotadvisor.watch.webhook import post_webhook, split_credentials
from tests.watch.watch_servers import LocalServer, hung_webhook, trickling_webhook, webhook

T = TypeVar("T")
BOUND = 10.0  # seconds past which a call meant to end within ~1 s counts as hung


def bounded(call: Callable[[], T], seconds: float = BOUND) -> T:
    """``call()``, failing the test if it has not returned within ``seconds``."""
    done: list[T] = []
    worker = threading.Thread(target=lambda: done.append(call()), daemon=True)
    worker.start()
    worker.join(seconds)
    if not done:
        pytest.fail(f"still running after {seconds:g} s")
    return done[0]


@pytest.mark.parametrize("body_only", [False, True], ids=["from-the-status-line", "body"])
def test_a_trickling_webhook_is_cut_at_the_whole_request_deadline(body_only: bool) -> None:
    # a byte every 0.05 s: far within any per-read timeout, never done in a test's time
    with trickling_webhook(0.05, body_only=body_only) as server:
        result = bounded(
            lambda: post_webhook(server.url + "/spot", {"a": 1}, retries=0, timeout=1.0)
        )
        assert len(server.received) == 1 and server.answered == 0
    assert (result.ok, result.status, result.attempts) == (False, None, 1)
    assert result.error == f"{server.url}/spot: no complete answer within 1 s"


def test_a_trickled_attempt_is_retried_and_each_gets_its_own_deadline() -> None:
    with trickling_webhook(0.05) as server:
        result = bounded(
            lambda: post_webhook(server.url, {}, retries=1, timeout=1.0, sleep=lambda _: None)
        )
        assert len(server.received) == 2
    assert (result.ok, result.attempts) == (False, 2)


def test_a_webhook_that_never_answers_ends_at_the_deadline() -> None:
    with hung_webhook() as server:
        result = bounded(lambda: post_webhook(server.url, {}, retries=0, timeout=1.0))
    assert not result.ok and result.error is not None and "within 1 s" in result.error


def test_userinfo_is_sent_as_basic_auth_and_never_printed() -> None:
    with webhook() as server:
        port = server.url.rsplit(":", 1)[1]
        url = f"http://alice:p%40ss%3Aw0rd@127.0.0.1:{port}/hooks/spot?token=s3cr3t"
        result = post_webhook(url, {"event": "termination"}, retries=0)
    assert result.ok and result.status == 200
    (got,) = server.received
    assert got.path == "/hooks/spot?token=s3cr3t"
    assert got.headers["Host"] == f"127.0.0.1:{port}"  # no userinfo in the request
    assert got.headers["Authorization"] == "Basic " + base64.b64encode(b"alice:p@ss:w0rd").decode(
        "ascii"
    )
    assert json.loads(got.body) == {"event": "termination"}


def test_a_failed_basic_auth_post_names_no_credentials() -> None:
    with webhook([401]) as server:
        port = server.url.rsplit(":", 1)[1]
        url = f"http://alice:hunter2@127.0.0.1:{port}/hook"
        result = post_webhook(url, {}, retries=3)
    assert (result.ok, result.status, result.attempts) == (False, 401, 1)  # 4xx: no retry
    assert result.error == f"http://127.0.0.1:{port}/hook: HTTP 401"


@pytest.mark.parametrize(
    ("url", "bare", "credentials"),
    [
        ("https://h.example/x?t=1", "https://h.example/x?t=1", None),
        ("https://u:p@h.example:8443/x", "https://h.example:8443/x", "u:p"),
        ("https://TOKEN@h.example/x", "https://h.example/x", "TOKEN:"),  # as curl sends it
        ("https://us%C3%A9r:p%20w@h.example/", "https://h.example/", "usér:p w"),
        ("https://a:b@c@h.example/", "https://h.example/", "a:b@c"),  # the last @ ends it
        ("https://@h.example/", "https://h.example/", None),
    ],
)
def test_split_credentials(url: str, bare: str, credentials: str | None) -> None:
    target, header = split_credentials(url)
    assert target == bare
    if credentials is None:
        assert header is None
    else:
        assert header == "Basic " + base64.b64encode(credentials.encode()).decode("ascii")


def test_redirects_are_not_followed() -> None:
    def route(method: str, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        if path == "/moved":
            return 302, {"Location": "/elsewhere"}, b""
        return 200, {}, b"ok"

    with LocalServer(route) as server:
        result = post_webhook(f"http://u:pw@{server.url[7:]}/moved", {}, retries=3)
        paths = [r.path for r in server.received]
    assert (result.ok, result.status, result.attempts) == (False, 302, 1)
    assert result.error is not None and "redirects are not followed" in result.error
    assert paths == ["/moved"]  # the credentials went nowhere else


def test_an_attempt_stuck_anywhere_is_abandoned(monkeypatch: pytest.MonkeyPatch) -> None:
    # e.g. a DNS lookup that never returns, which no socket timeout covers
    from spotadvisor.watch import webhook as module

    release = threading.Event()

    def stuck(*args: object) -> tuple[int | None, str]:
        release.wait()
        return 200, "too late"

    monkeypatch.setattr(module, "_post_once", stuck)
    try:
        result = bounded(
            lambda: post_webhook("http://hooks.example/x?k=v", {}, retries=0, timeout=1.0)
        )
    finally:
        release.set()
    assert (result.ok, result.status) == (False, None)
    assert result.error == "http://hooks.example/x: no complete answer within 1 s"
