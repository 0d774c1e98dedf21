"""The GCP metadata server for ``MetadataMock``: preemption and maintenance events.

- Every request under ``/computeMetadata/`` needs ``Metadata-Flavor: Google`` (else
  403) and every answer carries it; ``GET /`` answers without it, for platform
  detection. A proxied request (``X-Forwarded-For``) is 403.
- ``instance/preempted`` is ``FALSE``, then ``TRUE`` from the notice on;
  ``instance/maintenance-event`` is ``NONE``, then ``MIGRATE_ON_HOST_MAINTENANCE`` from
  the rebalance time on.
- Values are ``application/text`` with an ``ETag`` (a hash of the value).
  ``?wait_for_change=true`` hangs until the value's ETag differs from ``last_etag``
  (without it: from the value when asked), or ``timeout_sec`` passes (default and cap
  3600 s), then answers the value then current. ``alt=json`` answers JSON.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import TypeAlias

from spotadvisor.watch.mock_server import MockState, Reply, Request

SERVER_HEADER = "Metadata Server for VM"
FLAVOR = "Google"
MAX_TIMEOUT = 3600  # seconds a wait_for_change GET may hang

PROJECT_NUMBER = "123456789012"
PROJECT_ID = "spot-drill"
INSTANCE_ID = "4520031799277581759"
INSTANCE_NAME = "spot-gpu-0"
ZONE = f"projects/{PROJECT_NUMBER}/zones/us-central1-a"
MACHINE_TYPE = f"projects/{PROJECT_NUMBER}/machineTypes/a2-highgpu-1g"

Tree: TypeAlias = "str | dict[str, Tree]"


def _reply(status: int, body: str, content_type: str = "text/html; charset=UTF-8") -> Reply:
    return Reply(status, body.encode(), {"Metadata-Flavor": FLAVOR, "Content-Type": content_type})


def _error_page(status: int, message: str) -> Reply:
    return _reply(
        status, f"<!DOCTYPE html>\n<html><body><p>{status}. {message}</p></body></html>\n"
    )


OUTAGE_REPLY = _error_page(503, "The metadata server is temporarily unavailable.")


def etag(body: bytes) -> str:
    """The ETag of a value: the first 16 hex digits of its SHA-1, stable across runs."""
    return hashlib.sha1(body, usedforsecurity=False).hexdigest()[:16]


def answer(state: MockState, request: Request) -> Reply | None:
    """The metadata server's answer to ``request``; None when a restart ends a wait."""
    if "x-forwarded-for" in request.headers:
        return _error_page(403, "Requests with X-Forwarded-For are not allowed.")
    if request.path == "/":
        return _reply(200, "computeMetadata/\n", "application/text")
    if request.headers.get("metadata-flavor") != FLAVOR:
        return _error_page(
            403,
            f"Your client does not have permission to get URL {request.path} from this "
            "server. Missing Metadata-Flavor:Google header.",
        )
    if request.method not in {"GET", "HEAD"}:
        return _error_page(405, "Only GET is allowed.")
    as_json = request.query.get("alt", "text") == "json"
    if request.query.get("wait_for_change", "").lower() != "true":
        return _value(state, request.path, as_json, time.time())
    timeout_text = request.query.get("timeout_sec", str(MAX_TIMEOUT))
    if not timeout_text.isdigit() or int(timeout_text) < 1:
        return _error_page(400, "timeout_sec must be a positive whole number of seconds.")
    timeout = min(int(timeout_text), MAX_TIMEOUT)
    return _wait_for_change(state, request, as_json, request.query.get("last_etag"), timeout)


def _wait_for_change(
    state: MockState, request: Request, as_json: bool, last_etag: str | None, timeout: int
) -> Reply | None:
    """Hang until the value's ETag differs from ``last_etag`` or ``timeout`` seconds pass."""
    limit = time.time() + timeout
    with state.changed:
        now = time.time()
        reply = _value(state, request.path, as_json, now)
        unchanged = last_etag or reply.headers.get("ETag")
        while reply.status == 200 and reply.headers["ETag"] == unchanged and now < limit:
            if not state.wait(request.generation, min(limit, state.next_change(now))):
                return None  # stop() or restart(): close the connection
            now = time.time()
            reply = _value(state, request.path, as_json, now)
        return reply


def _value(state: MockState, path: str, as_json: bool, now: float) -> Reply:
    node: Tree | None = _tree(state, now)
    for part in (p for p in path.split("/") if p):
        node = node.get(part) if isinstance(node, dict) else None
    if node is None:
        return _error_page(404, f"The requested URL {path} was not found on this server.")
    if isinstance(node, dict):
        entries = [f"{k}/" if isinstance(v, dict) else k for k, v in node.items()]
        body = json.dumps(entries) if as_json else "".join(f"{e}\n" for e in entries)
    else:
        body = json.dumps(node) if as_json else node
    reply = _reply(200, body, "application/json" if as_json else "application/text")
    reply.headers["ETag"] = etag(reply.body)
    return reply


def _tree(state: MockState, now: float) -> Tree:
    """Everything the instance sees at ``now``."""
    zone_name = ZONE.rsplit("/", 1)[-1]
    instance: dict[str, Tree] = {
        "hostname": f"{INSTANCE_NAME}.{zone_name}.c.{PROJECT_ID}.internal",
        "id": INSTANCE_ID,
        "machine-type": MACHINE_TYPE,
        "maintenance-event": (
            "MIGRATE_ON_HOST_MAINTENANCE" if state.rebalance_out(now) else "NONE"
        ),
        "name": INSTANCE_NAME,
        "preempted": "TRUE" if state.notice_out(now) else "FALSE",
        "scheduling": {
            "automatic-restart": "FALSE",
            "instance-termination-action": "STOP",
            "on-host-maintenance": "TERMINATE",
            "preemptible": "TRUE",
            "provisioning-model": "SPOT",
        },
        "zone": ZONE,
    }
    project: dict[str, Tree] = {"numeric-project-id": PROJECT_NUMBER, "project-id": PROJECT_ID}
    return {"computeMetadata": {"v1": {"instance": instance, "project": project}}}
