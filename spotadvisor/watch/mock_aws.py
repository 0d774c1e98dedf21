"""AWS IMDSv2 for ``MetadataMock``: tokens, the spot instance-action and rebalance.

- ``PUT /latest/api/token`` with ``X-aws-ec2-metadata-token-ttl-seconds: N`` (1-21600)
  answers a token; a missing or bad TTL is 400, a proxied request (``X-Forwarded-For``)
  403, any other method 405.
- Every GET needs ``X-aws-ec2-metadata-token`` with a live token, else 401; with
  ``imdsv1`` a GET without the header is answered too (a wrong token is still 401).
- ``/latest/meta-data/spot/instance-action`` and ``spot/termination-time`` are 404 until
  the notice, ``events/recommendations/rebalance`` until the rebalance time.
- Directories list their entries one per line, subdirectories ending in ``/``; unknown
  paths are 404 with IMDS's HTML page. Values are ``text/plain``, JSON ones included.
"""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from typing import TypeAlias

from spotadvisor.watch.mock_server import MockState, Reply, Request

SERVER_HEADER = "EC2ws"
TOKEN_PATH = "/latest/api/token"
TTL_HEADER = "x-aws-ec2-metadata-token-ttl-seconds"
TOKEN_HEADER = "x-aws-ec2-metadata-token"
MAX_TTL = 21600  # seconds (6 hours), IMDS's limit

INSTANCE_ID = "i-0d3c5b6a7f8e9d0c1"
INSTANCE_TYPE = "p5.48xlarge"
REGION = "us-east-1"
ZONE = "us-east-1a"
ZONE_ID = "use1-az6"
AMI_ID = "ami-0a1b2c3d4e5f67890"
ACCOUNT_ID = "123456789012"
PRIVATE_IP = "10.0.1.23"
HOSTNAME = "ip-10-0-1-23.ec2.internal"
LAUNCHED = "2026-01-05T09:00:00Z"

Tree: TypeAlias = "str | dict[str, Tree]"

_TTL = re.compile(r"\d{1,9}")
_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    500: "Internal Server Error",
}


def _page(status: int) -> Reply:
    """An error page like IMDS's."""
    title = f"{status} - {_TITLES[status]}"
    body = (
        '<?xml version="1.0" encoding="iso-8859-1"?>\n'
        '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"\n'
        '\t"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n'
        '<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">\n'
        f" <head>\n  <title>{title}</title>\n </head>\n"
        f" <body>\n  <h1>{title}</h1>\n </body>\n</html>\n"
    )
    return Reply(status, body.encode("iso-8859-1"), {"Content-Type": "text/html"})


OUTAGE_REPLY = _page(500)


def _text(value: str, **headers: str) -> Reply:
    return Reply(200, value.encode(), {"Content-Type": "text/plain", **headers})


def iso_time(epoch: float) -> str:
    """RFC 3339 UTC with ``Z`` and whole seconds (rounded down), as IMDS writes times."""
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def answer(state: MockState, request: Request) -> Reply:
    """The IMDS answer to ``request``."""
    path = request.path
    if path.rstrip("/") == TOKEN_PATH:
        if request.method != "PUT":
            return _page(405)
        return _token(state, request)
    if request.method not in {"GET", "HEAD"}:
        return _page(405)
    token = request.headers.get(TOKEN_HEADER)
    if (token is None and not state.imdsv1) or (token is not None and not state.token_valid(token)):
        return _page(401)
    node = _find(_tree(state, time.time()), path)
    if node is None:
        return _page(404)
    if isinstance(node, dict):
        return _text("\n".join(f"{k}/" if isinstance(v, dict) else k for k, v in node.items()))
    return _text(node)


def _token(state: MockState, request: Request) -> Reply:
    # IMDS refuses proxied token requests: a token must not leave the instance
    if "x-forwarded-for" in request.headers:
        return _page(403)
    ttl_text = request.headers.get(TTL_HEADER, "").strip()
    if not _TTL.fullmatch(ttl_text) or not 1 <= int(ttl_text) <= MAX_TTL:
        return _page(400)
    ttl = int(ttl_text)
    return _text(state.issue_token(ttl), **{"X-Aws-Ec2-Metadata-Token-Ttl-Seconds": str(ttl)})


def _find(tree: Tree, path: str) -> Tree | None:
    node = tree
    for part in (p for p in path.split("/") if p):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _tree(state: MockState, now: float) -> Tree:
    """Everything the instance sees at ``now``; absent keys answer 404."""
    events: dict[str, Tree] = {"maintenance": {"history": "[]", "scheduled": "[]"}}
    if state.rebalance_out(now) and state.rebalance_time is not None:
        notice = json.dumps({"noticeTime": iso_time(state.rebalance_time)})
        events["recommendations"] = {"rebalance": notice}
    meta: dict[str, Tree] = {
        "ami-id": AMI_ID,
        "ami-launch-index": "0",
        "events": events,
        "hostname": HOSTNAME,
        "instance-id": INSTANCE_ID,
        "instance-life-cycle": "spot",
        "instance-type": INSTANCE_TYPE,
        "local-hostname": HOSTNAME,
        "local-ipv4": PRIVATE_IP,
        "placement": {
            "availability-zone": ZONE,
            "availability-zone-id": ZONE_ID,
            "region": REGION,
        },
        "services": {"domain": "amazonaws.com", "partition": "aws"},
    }
    deadline = state.deadline
    if state.notice_out(now) and deadline is not None:
        action = state.action or "terminate"
        spot: dict[str, Tree] = {
            "instance-action": json.dumps({"action": action, "time": iso_time(deadline)})
        }
        # termination-time predates instance-action and is not set for hibernation
        if action != "hibernate":
            spot["termination-time"] = iso_time(deadline)
        meta["spot"] = spot
    identity = {
        "accountId": ACCOUNT_ID,
        "architecture": "x86_64",
        "availabilityZone": ZONE,
        "billingProducts": None,
        "devpayProductCodes": None,
        "marketplaceProductCodes": None,
        "imageId": AMI_ID,
        "instanceId": INSTANCE_ID,
        "instanceType": INSTANCE_TYPE,
        "kernelId": None,
        "pendingTime": LAUNCHED,
        "privateIp": PRIVATE_IP,
        "ramdiskId": None,
        "region": REGION,
        "version": "2017-09-30",
    }
    document = json.dumps(identity, indent=2, separators=(",", " : "))
    latest: dict[str, Tree] = {
        "dynamic": {"instance-identity": {"document": document}},
        "meta-data": dict(sorted(meta.items())),
    }
    return {"latest": latest}
