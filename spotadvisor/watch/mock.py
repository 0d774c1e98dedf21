"""A local instance-metadata server that issues spot termination notices.

``MetadataMock`` speaks the metadata protocol of one cloud well enough that curl, boto3,
google-auth, a drain script or ``spotadvisor watch`` cannot tell it from the real one,
and issues the termination notice on a schedule:

- **AWS**: IMDSv2 (``mock_aws``): token PUT, ``spot/instance-action``,
  ``spot/termination-time`` and ``events/recommendations/rebalance``.
- **GCP**: the metadata server (``mock_gcp``): ``instance/preempted`` and
  ``instance/maintenance-event``, with hanging ``wait_for_change`` GETs.
- **Azure**: IMDS Scheduled Events (``mock_azure``): a ``Preempt`` event that a
  ``StartRequests`` POST acknowledges.

It uses only the standard library: a ``ThreadingHTTPServer`` (``mock_server``) on
127.0.0.1, with no authentication, so nothing else should be able to reach it.
The schedule is in ``time.time()`` seconds and every answer is computed from the clock
when it is asked, so a notice appears exactly at ``notice_time``.

Failure drills: ``set_outage`` makes every request fail or hang, ``restart`` drops the
listening socket for a while (and forgets IMDSv2 tokens), ``expire_tokens`` expires them.
"""

from __future__ import annotations

import math
import threading
import time
from types import TracebackType
from typing import Self, get_args

from spotadvisor.errors import UsageError
from spotadvisor.watch import mock_aws, mock_azure, mock_gcp
from spotadvisor.watch.mock_server import (
    Cloud,
    LoggedRequest,
    MockServer,
    MockState,
    OutageMode,
)

__all__ = ["Cloud", "LoggedRequest", "MetadataMock", "OutageMode"]

CLOUDS: tuple[Cloud, ...] = get_args(Cloud)
#: seconds from the notice to the shutdown, as each cloud gives them
DEFAULT_LEAD: dict[Cloud, float] = {"aws": 120.0, "gcp": 30.0, "azure": 30.0}
#: what happens at the shutdown; the first is the default (GCP has no choice here)
ACTIONS: dict[Cloud, tuple[str, ...]] = {
    "aws": ("terminate", "stop", "hibernate"),
    "gcp": (),
    "azure": ("Preempt", "Terminate"),
}


class MetadataMock:
    """A local metadata server of one cloud that issues a spot termination notice.

    Parameters
    ----------
    cloud
        ``"aws"``, ``"gcp"`` or ``"azure"``.
    notice_in
        Seconds from ``start()`` until the termination notice appears; None: never
        (until ``issue_notice_now()``).
    rebalance_in
        Seconds from ``start()`` until the advisory event: the AWS rebalance
        recommendation, or GCP ``maintenance-event`` ``MIGRATE_ON_HOST_MAINTENANCE``.
        None: never. Azure has no such signal and refuses it.
    notice_lead
        Seconds from the notice to the shutdown deadline. None: the cloud's own (AWS
        120, GCP 30, Azure 30).
    action
        AWS: ``terminate`` (default), ``stop`` or ``hibernate``; Azure: ``Preempt``
        (default) or ``Terminate``; GCP: must be None. Case does not matter.
    port
        TCP port; 0 picks a free one (see ``port`` once started).
    host
        Address to listen on. The mock has no authentication: keep it on loopback.
    imdsv1
        AWS only: also answer GETs without a token (IMDSv1 allowed). By default a token
        is required (IMDSv2), and a wrong or expired token is refused either way.

    Raises
    ------
    UsageError
        For an unknown cloud or action, a negative time, and settings the cloud does
        not have (``rebalance_in`` on Azure, ``action`` on GCP, ``imdsv1`` off AWS).

    Examples
    --------
    >>> import urllib.request
    >>> with MetadataMock("gcp", notice_in=None) as mock:
    ...     url = mock.url + "/computeMetadata/v1/instance/preempted"
    ...     request = urllib.request.Request(url, headers={"Metadata-Flavor": "Google"})
    ...     before = urllib.request.urlopen(request).read()
    ...     mock.issue_notice_now()
    ...     after = urllib.request.urlopen(request).read()
    >>> before, after
    (b'FALSE', b'TRUE')
    """

    def __init__(
        self,
        cloud: Cloud,
        notice_in: float | None = 30.0,
        rebalance_in: float | None = None,
        notice_lead: float | None = None,
        action: str | None = None,
        port: int = 0,
        host: str = "127.0.0.1",
        imdsv1: bool = False,
    ) -> None:
        if cloud not in CLOUDS:
            raise UsageError(
                f"unknown cloud {cloud!r}", field="cloud", fix="choose aws, gcp or azure"
            )
        for name, value in (
            ("notice_in", notice_in),
            ("rebalance_in", rebalance_in),
            ("notice_lead", notice_lead),
        ):
            if value is not None and not (math.isfinite(value) and value >= 0):
                raise UsageError(
                    f"{value!r} is not a time in seconds >= 0",
                    field=name,
                    fix="give a number of seconds such as 30",
                )
        if cloud == "azure" and rebalance_in is not None:
            raise UsageError(
                "Azure has no rebalance signal: it sends only the Preempt event",
                field="rebalance_in",
                fix="leave the rebalance time out for Azure",
            )
        if imdsv1 and cloud != "aws":
            raise UsageError("IMDSv1 is an AWS setting", field="imdsv1", fix="use it only with aws")
        if not 0 <= port <= 65535:
            raise UsageError(
                f"port {port} is out of range", field="port", fix="choose 0-65535 (0: a free one)"
            )
        self.cloud: Cloud = cloud
        self.action = _check_action(cloud, action)
        self.notice_lead = DEFAULT_LEAD[cloud] if notice_lead is None else float(notice_lead)
        self._host = host
        self._port = port
        self._state = MockState(
            cloud, notice_in, rebalance_in, self.notice_lead, self.action, imdsv1
        )
        self._server: MockServer | None = None
        self._thread: threading.Thread | None = None
        self._life = threading.Lock()  # start / stop / restart one at a time

    # -- life cycle

    def start(self) -> Self:
        """Listen and serve in a background thread; the schedule starts now.

        Raises
        ------
        OSError
            When the address cannot be bound (port in use, unknown host...).
        RuntimeError
            When the mock was already started.
        """
        with self._life:
            if self._server is not None or self._state.generation:
                raise RuntimeError("this MetadataMock was already started; make a new one")
            self._listen()
            self._state.schedule(time.time())
        return self

    def stop(self) -> None:
        """Stop serving: close the socket and every connection, end hanging requests."""
        with self._life:
            self._close()

    def restart(self, downtime: float = 0.0) -> None:
        """Close the listening socket, wait ``downtime`` seconds, listen on the same port.

        Blocks for ``downtime``. Open connections and hanging requests are closed,
        and AWS tokens issued before are forgotten (401 on use); the notice schedule
        does not move.
        """
        if not (math.isfinite(downtime) and downtime >= 0):
            raise ValueError(f"downtime must be seconds >= 0, got {downtime!r}")
        with self._life:
            if self._server is None:
                raise RuntimeError("restart() needs a running MetadataMock")
            self._close()
            with self._state.changed:
                self._state.tokens.clear()
            time.sleep(downtime)
            self._listen()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _listen(self) -> None:
        protocol = {"aws": mock_aws, "gcp": mock_gcp, "azure": mock_azure}[self.cloud]
        server = MockServer(
            (self._host, self._port),
            self._state,
            protocol.answer,
            protocol.OUTAGE_REPLY,
            protocol.SERVER_HEADER,
        )
        self._port = int(server.server_address[1])
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"metadata-mock-{self.cloud}",
            daemon=True,
        )
        self._thread.start()

    def _close(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._state.end_generation()
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # -- drills

    def issue_notice_now(self) -> None:
        """Make the termination notice appear now (deadline: now + lead).

        Does nothing when the notice is already out.
        """
        with self._state.changed:
            now = time.time()
            if not self._state.notice_out(now):
                self._state.notice_time = now
                self._state.changed.notify_all()

    def set_outage(self, mode: OutageMode) -> None:
        """``"error"``: answer every request 500 (GCP 503); ``"hang"``: answer none.

        A held request waits until the outage is lifted (``"none"``) or ``HANG_LIMIT``
        (30 s) passes, then its connection is closed without an answer.
        """
        if mode not in get_args(OutageMode):
            raise ValueError(f"outage mode must be none, error or hang, got {mode!r}")
        with self._state.changed:
            self._state.outage = mode
            self._state.changed.notify_all()

    def expire_tokens(self) -> None:
        """AWS: every token issued so far is expired from now on (401 on use)."""
        with self._state.changed:
            self._state.tokens = dict.fromkeys(self._state.tokens, -math.inf)

    # -- inspection

    @property
    def port(self) -> int:
        """The TCP port (the one chosen by the OS once started with port 0)."""
        return self._port

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:1338`` (no trailing slash)."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self._port}"

    @property
    def notice_time(self) -> float | None:
        """When the notice appears or appeared [epoch s]; None: not scheduled."""
        with self._state.changed:
            return self._state.notice_time

    @property
    def deadline(self) -> float | None:
        """The shutdown the notice announces [epoch s]: ``notice_time`` + lead."""
        return self._state.deadline

    @property
    def rebalance_time(self) -> float | None:
        """When the advisory event appears or appeared [epoch s]; None: never."""
        with self._state.changed:
            return self._state.rebalance_time

    @property
    def event_id(self) -> str:
        """Azure: the EventId of the termination event (upper-case UUID)."""
        return self._state.event_id

    @property
    def acknowledged(self) -> list[str]:
        """Azure: EventIds acknowledged with StartRequests, in order, each once."""
        with self._state.changed:
            return list(self._state.acknowledged)

    @property
    def requests(self) -> list[LoggedRequest]:
        """Every request received, in order (a copy)."""
        with self._state.changed:
            return list(self._state.requests)

    @property
    def token_ttls(self) -> list[int]:
        """AWS: the TTL [s] asked for in each accepted token PUT."""
        with self._state.changed:
            return list(self._state.token_ttls)


def _check_action(cloud: Cloud, action: str | None) -> str | None:
    """The action in the cloud's spelling, its default when None."""
    choices = ACTIONS[cloud]
    if not choices:
        if action is not None:
            raise UsageError(
                "GCP has no interruption action to choose: a preempted Spot VM is "
                "stopped or deleted as its instance-termination-action says",
                field="action",
                fix="leave the action out for gcp",
            )
        return None
    if action is None:
        return choices[0]
    for choice in choices:
        if choice.lower() == action.strip().lower():
            return choice
    raise UsageError(
        f"{action!r} is not an action {cloud} sends",
        field="action",
        fix=f"choose {', '.join(choices[:-1])} or {choices[-1]}",
    )
