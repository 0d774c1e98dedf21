"""The webhook: POST a notice record as JSON, each attempt within a whole-request deadline.

Each attempt has a whole-request deadline (``timeout``, 5 s by default, never past the
notice's deadline but at least 1 s). Connecting, sending and reading the whole answer
must all fit in it. urllib's own timeout is per socket operation, so a server that
trickles its answer one byte at a time would hold a plain ``urlopen`` for ever. Here
every connect, send and read is given only the time left (:class:`_DeadlineSocket`).
The attempt also runs in a thread that is abandoned :data:`GRACE` seconds after its
deadline, whatever it is stuck in (a slow DNS lookup, a proxy that trickles its CONNECT
answer). So :func:`post_webhook` returns in bounded time: at most ``retries + 1``
attempts of ``timeout + GRACE`` seconds plus the backoff, and never long past the
notice's deadline.

Retries back off exponentially (0.5, 1, 2, 4... s). They follow connection errors,
timeouts, 5xx and 429, and go on until the webhook accepts, the retries run out or the
deadline passes. Other 4xx are not retried. Redirects are not followed: urllib would
turn the POST into a GET without the record, and would send the credentials along to
another host. A 3xx is therefore a failure that names the status.

Webhook URLs often carry a secret (a token in the query, ``user:password@``). Userinfo
is sent as HTTP Basic authentication (percent-decoded, UTF-8) and removed from the URL
that is requested. Only ``scheme://host/path`` is ever printed.
"""

from __future__ import annotations

import base64
import functools
import http.client
import io
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import unquote, urlsplit, urlunsplit

from spotadvisor import __version__
from spotadvisor.watch.http import safe_url
from spotadvisor.watch.notice import dumps

WEBHOOK_TIMEOUT = 5.0  # seconds for a whole attempt: connect, send, the full answer
MIN_ATTEMPT = 1.0  # seconds an attempt gets even when the notice's deadline is closer
FIRST_BACKOFF = 0.5  # seconds before the first retry; doubles each time
GRACE = 1.0  # seconds past an attempt's deadline after which its thread is abandoned
MAX_ANSWER = 1 << 16  # bytes of the answer read; the rest is not waited for


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


def split_credentials(url: str) -> tuple[str, str | None]:
    """``url`` without ``user:password@``, and the Basic ``Authorization`` value for them.

    The user and password are percent-decoded and encoded as UTF-8 (RFC 7617). A user
    without a password (``https://TOKEN@host/``) gets an empty password, as curl sends
    it. The header value is None when the URL has no userinfo.
    """
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    bare = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
    user, password = unquote(parts.username or ""), unquote(parts.password or "")
    if not user and not password:
        return bare, None
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return bare, f"Basic {token}"


def post_webhook(
    url: str,
    record: dict[str, Any],
    *,
    retries: int = 5,
    timeout: float = WEBHOOK_TIMEOUT,
    deadline: float | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    on_attempt: Callable[[int], None] | None = None,
) -> WebhookResult:
    """POST ``record`` as JSON to ``url``, retrying transient failures.

    Parameters
    ----------
    url
        The webhook (http or https, optionally with ``user:password@``). Proxies from
        the environment apply.
    record
        The notice record.
    retries
        Retries after the first attempt.
    timeout
        Seconds for one whole attempt (connect, send, the full answer).
    deadline
        Epoch seconds (on ``clock``) after which no attempt starts: the notice's deadline.
    clock, sleep
        Injectable for tests. The attempts' own deadlines use the monotonic clock.
    on_attempt
        Called with the number of each attempt as it starts.
    """
    target, authorization = split_credentials(url)
    headers = {"Content-Type": "application/json", "User-Agent": f"spotadvisor/{__version__}"}
    if authorization is not None:
        headers["Authorization"] = authorization
    body = dumps(record).encode()
    where = safe_url(url)
    backoff = FIRST_BACKOFF
    status: int | None = None
    error: str | None = None
    attempts = 0
    while True:
        attempts += 1
        if on_attempt is not None:
            on_attempt(attempts)
        budget = timeout
        if deadline is not None:
            budget = max(MIN_ATTEMPT, min(budget, deadline - clock()))
        status, error = _attempt(target, body, headers, budget, where)
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


def _attempt(
    url: str, body: bytes, headers: dict[str, str], budget: float, where: str
) -> tuple[int | None, str]:
    """One POST in a thread of its own, given up ``GRACE`` s after its deadline."""
    answer: list[tuple[int | None, str]] = []
    end = time.monotonic() + budget
    worker = threading.Thread(
        target=lambda: answer.append(_post_once(url, body, headers, end, budget, where)),
        name="webhook-attempt",
        daemon=True,
    )
    worker.start()
    worker.join(budget + GRACE)
    if answer:
        return answer[0]
    return None, f"{where}: no complete answer within {budget:g} s"


def _post_once(
    url: str, body: bytes, headers: dict[str, str], end: float, budget: float, where: str
) -> tuple[int | None, str]:
    """One POST that ends by ``end`` (monotonic): (status, reason), status None when no answer came."""
    late = f"{where}: no complete answer within {budget:g} s"
    try:
        post = urllib.request.Request(url, data=body, headers=headers, method="POST")
        opener = urllib.request.build_opener(
            _NoRedirects(), _DeadlineHTTPHandler(end), _DeadlineHTTPSHandler(end)
        )
        with opener.open(post, timeout=max(0.001, end - time.monotonic())) as answer:
            answer.read(MAX_ANSWER)
            return int(answer.status), f"{where}: HTTP {answer.status}"
    except urllib.error.HTTPError as exc:
        exc.close()
        if 300 <= exc.code < 400:
            return exc.code, f"{where}: HTTP {exc.code} (redirects are not followed)"
        return exc.code, f"{where}: HTTP {exc.code}"
    except urllib.error.URLError as exc:
        reason = exc.reason  # text reasons may quote the URL: not printed
        if isinstance(reason, TimeoutError):
            return None, late
        text = "cannot send" if isinstance(reason, str) else _os_reason(reason)
        return None, f"{where}: {text}"
    except TimeoutError:
        return None, late
    except OSError as exc:
        return None, f"{where}: {_os_reason(exc)}"
    except http.client.HTTPException as exc:
        return None, f"{where}: broken answer ({type(exc).__name__})"
    except ValueError:
        return None, f"{where}: not a valid URL"


def _os_reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    return getattr(exc, "strerror", None) or type(exc).__name__


# -- the whole-request deadline, on urllib's own machinery (proxies included)


def _left(end: float) -> float:
    """Seconds left before ``end`` (monotonic); TimeoutError once it has passed."""
    left = end - time.monotonic()
    if left <= 0:
        raise TimeoutError("the webhook's deadline passed")
    return left


class _DeadlineReader(io.RawIOBase):
    """A socket's reading side where every read may take only the time left."""

    def __init__(self, sock: socket.socket, end: float) -> None:
        super().__init__()
        self._sock, self._end = sock, end
        self._raw = sock.makefile("rb", buffering=0)  # keeps the socket open until closed

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        self._sock.settimeout(_left(self._end))
        return self._raw.readinto(buffer)

    def close(self) -> None:
        self._raw.close()
        super().close()


class _DeadlineSocket:
    """A connected socket (plain or TLS) whose sends and reads all end by ``end``.

    http.client uses ``sendall``, ``makefile`` and ``close`` of a connected socket;
    anything else is passed through.
    """

    def __init__(self, sock: socket.socket, end: float) -> None:
        self._sock, self._end = sock, end

    def sendall(self, data: Any, flags: int = 0) -> None:
        self._sock.settimeout(_left(self._end))  # since 3.5: the whole sendall
        self._sock.sendall(data, flags)

    def makefile(self, mode: str = "rb", *args: Any, **kwargs: Any) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineReader(self._sock, self._end))

    def close(self) -> None:
        self._sock.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class _DeadlineHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, *, end: float, **kwargs: Any) -> None:
        super().__init__(host, **kwargs)
        self.end = end

    def connect(self) -> None:
        self.timeout = _left(self.end)  # connecting (and a proxy tunnel) within it
        super().connect()
        self.sock = cast(socket.socket, _DeadlineSocket(self.sock, self.end))


class _DeadlineHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, *, end: float, **kwargs: Any) -> None:
        super().__init__(host, **kwargs)
        self.end = end

    def connect(self) -> None:
        self.timeout = _left(self.end)  # the TLS handshake is bounded by it as a whole
        super().connect()
        self.sock = cast(Any, _DeadlineSocket(self.sock, self.end))


class _DeadlineHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, end: float) -> None:
        super().__init__()
        self.end = end

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(functools.partial(_DeadlineHTTPConnection, end=self.end), req)


class _DeadlineHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, end: float) -> None:
        super().__init__()
        self.end = end

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(functools.partial(_DeadlineHTTPSConnection, end=self.end), req)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """3xx answers stay errors: a redirected POST would lose the record."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> urllib.request.Request | None:
        return None
