"""AWS: spot interruption and rebalance notices from the instance metadata service.

IMDSv2 session, as botocore and aws-node-termination-handler run it:

- ``PUT /latest/api/token`` with ``X-aws-ec2-metadata-token-ttl-seconds`` (default
  21600 s) gives a token, sent back as ``X-aws-ec2-metadata-token``. It is renewed at
  80 % of its TTL, and at once on a 401 (then the request is retried once).
- A token PUT answered 403, 404 or 405 means IMDSv1 (or a service without tokens):
  GETs go without a token from then on, and stderr says so once. A later 401 on a
  tokenless GET (IMDSv2 required after all) switches back to tokens.
- A timeout or a refused connection is *not* a fallback signal (botocore also falls
  back on a read timeout, for containers behind a hop limit of 1): it is an outage,
  logged and polled again. Falling back there would hide a misconfiguration.

Notices: ``/latest/meta-data/spot/instance-action`` (404: nothing; ``{"action",
"time"}``: termination, deadline = time) and
``/latest/meta-data/events/recommendations/rebalance`` (404: nothing; ``{"noticeTime"}``:
rebalance recommendation, advisory, no deadline).

Identity: ``instance-id``, ``instance-type``, ``placement/availability-zone`` (the
zone name, which differs between accounts), ``placement/availability-zone-id`` (the
zone ID, the same for everyone: what fleet files name) and ``placement/region``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime

from spotadvisor.watch.http import MetadataError, MetadataUnavailable, Response, request, safe_url
from spotadvisor.watch.notice import Identity, Notice, parse_time

DEFAULT_URL = "http://169.254.169.254"
ENDPOINT_ENV = "AWS_EC2_METADATA_SERVICE_ENDPOINT"  # honoured by botocore too
TOKEN_PATH = "/latest/api/token"
TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds"
TOKEN_HEADER = "X-aws-ec2-metadata-token"
ACTION_PATH = "/latest/meta-data/spot/instance-action"
REBALANCE_PATH = "/latest/meta-data/events/recommendations/rebalance"
MAX_TTL = 21600  # seconds, IMDS's limit
REFRESH_AT = 0.8  # fraction of the TTL after which the token is renewed
FALLBACK_STATUSES = frozenset({403, 404, 405})  # token PUT refused: tokenless GETs
IDENTITY_PATHS = {
    "instance_id": "/latest/meta-data/instance-id",
    "instance_type": "/latest/meta-data/instance-type",
    "zone": "/latest/meta-data/placement/availability-zone",
    "zone_id": "/latest/meta-data/placement/availability-zone-id",  # the same in every account
    "region": "/latest/meta-data/placement/region",
}


class AwsSource:
    """Polls IMDS for spot interruption and rebalance notices.

    Parameters
    ----------
    base_url
        IMDS, e.g. ``http://169.254.169.254`` (no trailing path).
    token_ttl
        TTL asked for each IMDSv2 token [s], 1-21600.
    timeout
        Seconds allowed per request (connect and each read).
    clock
        Monotonic seconds, for token renewal (injectable for tests).
    note
        Where one-line remarks go (the IMDSv1 fallback).
    """

    cloud = "aws"

    def __init__(
        self,
        base_url: str,
        *,
        token_ttl: int = MAX_TTL,
        timeout: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        note: Callable[[str], None] = lambda _: None,
    ) -> None:
        if not 1 <= token_ttl <= MAX_TTL:
            raise ValueError(f"token_ttl must be 1-{MAX_TTL} s, got {token_ttl}")
        self.base_url = base_url.rstrip("/")
        self.token_ttl = token_ttl
        self.timeout = timeout
        self._clock = clock
        self._note = note
        self._token: str | None = None
        self._renew_at = 0.0  # monotonic s
        self._v1 = False
        self._said_v1 = False
        self._identity: Identity | None = None

    @property
    def label(self) -> str:
        """``AWS (IMDSv2) at http://...``, as the agent tells the user."""
        mode = "IMDSv1, no token" if self._v1 else "IMDSv2"
        return f"AWS ({mode}) at {safe_url(self.base_url)}"

    # -- the session

    def _fetch_token(self) -> None:
        """Get a new token, or switch to tokenless GETs when tokens are refused."""
        answer = request(
            "PUT",
            self.base_url + TOKEN_PATH,
            headers={TTL_HEADER: str(self.token_ttl)},
            timeout=self.timeout,
        )
        token = answer.text().strip()
        if answer.status == 200 and token:
            ttl = float(self.token_ttl)
            granted = answer.headers.get(TTL_HEADER.lower(), "").strip()
            if granted.isdigit() and 0 < int(granted) < ttl:
                ttl = float(granted)
            self._token = token
            self._renew_at = self._clock() + REFRESH_AT * ttl
            return
        if answer.status in FALLBACK_STATUSES:
            self._token = None
            self._v1 = True
            if not self._said_v1:
                self._said_v1 = True
                self._note(
                    f"IMDSv2 token request refused (HTTP {answer.status}): falling back to "
                    "IMDSv1 GETs without a token"
                )
            return
        raise MetadataError(f"PUT {TOKEN_PATH}: HTTP {answer.status}")

    def _get(self, path: str) -> Response:
        """GET ``path`` with the session: renew the token when due, and once on a 401."""
        for _ in range(2):
            headers: dict[str, str] = {}
            if not self._v1:
                if self._token is None or self._clock() >= self._renew_at:
                    self._fetch_token()
                if self._token is not None:
                    headers[TOKEN_HEADER] = self._token
            answer = request("GET", self.base_url + path, headers=headers, timeout=self.timeout)
            if answer.status != 401:
                return answer
            # expired or revoked token, a restarted IMDS, or IMDSv2 required after all
            self._token = None
            self._v1 = False
        raise MetadataError(f"GET {path}: HTTP 401 even with a fresh token")

    # -- identity and notices

    def identity(self) -> Identity:
        """The instance (fetched once; fields it could not read stay None)."""
        if self._identity is not None:
            return self._identity
        values: dict[str, str | None] = dict.fromkeys(IDENTITY_PATHS)
        for key, path in IDENTITY_PATHS.items():
            try:
                answer = self._get(path)
            except MetadataUnavailable:
                break
            except MetadataError:
                continue
            if answer.status == 200 and answer.text().strip():
                values[key] = answer.text().strip()
        if values["region"] is None and values["zone"]:
            values["region"] = values["zone"].rstrip("abcdefghijklmnopqrstuvwxyz")
        found = Identity(**values)
        if found.instance_id is not None:
            self._identity = found
        return found

    def poll(self, now: Callable[[], datetime]) -> list[Notice]:
        """The notices IMDS shows now: a termination, else a rebalance, else none.

        Raises
        ------
        MetadataError
            On outages, error statuses and answers that are not what IMDS sends.
        """
        answer = self._get(ACTION_PATH)
        if answer.status == 200:
            action, deadline = _instance_action(answer.text())
            return [
                Notice(
                    kind="termination",
                    cloud=self.cloud,
                    action=action,
                    notice_time=now(),
                    deadline=deadline,
                    event_id=f"{action}@{deadline.strftime('%Y-%m-%dT%H:%M:%SZ')}",
                ).with_identity(self.identity())
            ]
        if answer.status != 404:
            raise MetadataError(f"GET {ACTION_PATH}: HTTP {answer.status}")
        answer = self._get(REBALANCE_PATH)
        if answer.status == 404:
            return []
        if answer.status != 200:
            raise MetadataError(f"GET {REBALANCE_PATH}: HTTP {answer.status}")
        advised = _notice_time(answer.text())
        return [
            Notice(
                kind="rebalance",
                cloud=self.cloud,
                action="rebalance",
                notice_time=now(),
                deadline=None,
                event_id=f"rebalance@{advised}",
            ).with_identity(self.identity())
        ]

    def acknowledge(self, notice: Notice) -> int | None:
        """AWS has nothing to acknowledge: None."""
        return None


def _json_object(text: str, path: str) -> dict[str, object]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        raise MetadataError(f"GET {path}: the answer is not JSON") from None
    if not isinstance(document, dict):
        raise MetadataError(f"GET {path}: the answer is not a JSON object")
    return document


def _instance_action(text: str) -> tuple[str, datetime]:
    document = _json_object(text, ACTION_PATH)
    action, moment = document.get("action"), document.get("time")
    if not isinstance(action, str) or not action or not isinstance(moment, str):
        raise MetadataError(f"GET {ACTION_PATH}: no action and time in the answer")
    try:
        return action, parse_time(moment)
    except ValueError:
        raise MetadataError(f"GET {ACTION_PATH}: the time is not ISO 8601") from None


def _notice_time(text: str) -> str:
    document = _json_object(text, REBALANCE_PATH)
    moment = document.get("noticeTime")
    if not isinstance(moment, str) or not moment:
        raise MetadataError(f"GET {REBALANCE_PATH}: no noticeTime in the answer")
    return moment
