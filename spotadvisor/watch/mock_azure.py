"""Azure IMDS for ``MetadataMock``: Scheduled Events with a Preempt event to acknowledge.

- Every request needs ``Metadata: true`` and an ``api-version`` query parameter, else
  400 with IMDS's JSON error; a proxied request (``X-Forwarded-For``) is 400 too.
- ``GET /metadata/scheduledevents`` answers ``{"DocumentIncarnation", "Events"}``:
  no events before the notice, then one ``Preempt`` (or ``Terminate``) event whose
  ``NotBefore`` (RFC 1123) is the deadline. ``POST`` with ``{"StartRequests":
  [{"EventId": ...}]}`` acknowledges it (200, empty body); an unknown id or a malformed
  body is 400. The event is ``Started`` once acknowledged or once the deadline passed,
  and then, as on Azure, its ``NotBefore`` is blank. ``DocumentIncarnation`` goes up by
  one with each change of the document.
- ``GET /metadata/instance`` answers the instance document (``compute``, ``network``);
  a path below it (``/metadata/instance/compute/vmSize``) answers that part,
  ``format=text`` a leaf as plain text.
"""

from __future__ import annotations

import json
import re
import time
from email.utils import formatdate
from typing import Any

from spotadvisor.watch.mock_server import MockState, Reply, Request

SERVER_HEADER = "Microsoft-IIS/10.0"
EVENTS_PATH = "/metadata/scheduledevents"
INSTANCE_PATH = "/metadata/instance"
NEWEST_VERSIONS = ["2023-07-01", "2023-04-15", "2023-03-01"]

VM_NAME = "spot-gpu-vm-0"
VM_ID = "5c08b38e-4d57-4c23-ac45-aca61037f084"
VM_SIZE = "Standard_NC24ads_A100_v4"
LOCATION = "eastus"
SUBSCRIPTION_ID = "8d10da13-8125-4ba9-a717-bf7490507b3d"
RESOURCE_GROUP = "spot-drill"

_API_VERSION = re.compile(r"\d{4}-\d{2}-\d{2}(-preview)?")
_DESCRIPTIONS = {
    "Preempt": "The Spot virtual machine is being evicted because Azure needs the capacity back.",
    "Terminate": "The virtual machine is being deleted.",
}


def _json(status: int, document: object) -> Reply:
    body = json.dumps(document).encode()
    return Reply(status, body, {"Content-Type": "application/json; charset=utf-8"})


def _bad_request(message: str, *, versions: bool = False) -> Reply:
    document: dict[str, object] = {"error": f"Bad request. {message}"}
    if versions:
        document["newest-versions"] = NEWEST_VERSIONS
    return _json(400, document)


OUTAGE_REPLY = _json(500, {"error": "Internal server error"})


def answer(state: MockState, request: Request) -> Reply:
    """The IMDS answer to ``request``."""
    if "x-forwarded-for" in request.headers:
        return _bad_request("Requests with an X-Forwarded-For header are not allowed")
    if request.headers.get("metadata", "").lower() != "true":
        return _bad_request("Required metadata header not specified")
    version = request.query.get("api-version")
    if not version:
        return _bad_request(
            "api-version was not specified in the request. For more information refer to "
            "aka.ms/azureimds",
            versions=True,
        )
    if not _API_VERSION.fullmatch(version):
        return _bad_request(
            "api-version is invalid or was not specified in the request. For more "
            "information refer to aka.ms/azureimds",
            versions=True,
        )
    path = request.path.rstrip("/")
    if path == EVENTS_PATH:
        if request.method in {"GET", "HEAD"}:
            return _json(200, scheduled_events(state, time.time()))
        if request.method == "POST":
            return _start_requests(state, request.body)
    elif path == INSTANCE_PATH or path.startswith(INSTANCE_PATH + "/"):
        if request.method in {"GET", "HEAD"}:
            return _instance(path, request.query.get("format", "json"))
    else:
        return _json(404, {"error": "Not found"})
    return _json(405, {"error": "Method not allowed"})


def scheduled_events(state: MockState, now: float) -> dict[str, Any]:
    """The Scheduled Events document at ``now``."""
    with state.changed:
        deadline = state.deadline
        if not state.notice_out(now) or deadline is None:
            return {"DocumentIncarnation": 0, "Events": []}
        started = state.event_id in state.acknowledged or now >= deadline
        event = {
            "EventId": state.event_id,
            "EventStatus": "Started" if started else "Scheduled",
            "EventType": state.action or "Preempt",
            "ResourceType": "VirtualMachine",
            "Resources": [VM_NAME],
            "NotBefore": "" if started else formatdate(deadline, usegmt=True),
            "Description": _DESCRIPTIONS.get(state.action or "Preempt", ""),
            "EventSource": "Platform",
            "DurationInSeconds": -1,
        }
        return {"DocumentIncarnation": 1 + int(started), "Events": [event]}


def _start_requests(state: MockState, body: bytes) -> Reply:
    try:
        document = json.loads(body or b"null")
    except ValueError:
        return _bad_request("The request body is not valid JSON")
    starts = document.get("StartRequests") if isinstance(document, dict) else None
    if not isinstance(starts, list) or not all(
        isinstance(s, dict) and isinstance(s.get("EventId"), str) for s in starts
    ):
        return _bad_request('The body must be {"StartRequests": [{"EventId": "..."}]}')
    if not state.acknowledge([s["EventId"] for s in starts]):
        return _bad_request("EventId is not a current scheduled event")
    return Reply(200, b"", {"Content-Type": "application/json; charset=utf-8"})


def _instance(path: str, output_format: str) -> Reply:
    node: Any = instance_document()
    for part in path.removeprefix(INSTANCE_PATH).split("/"):
        if not part:
            continue
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _json(404, {"error": "Not found"})
    if output_format == "text":
        if isinstance(node, dict | list):
            return _bad_request("Query parameter format=text is only supported for leaf nodes")
        return Reply(200, str(node).encode(), {"Content-Type": "text/plain; charset=utf-8"})
    if output_format != "json":
        return _bad_request("Query parameter format must be json or text")
    return _json(200, node)


def instance_document() -> dict[str, Any]:
    """The instance metadata of the mock's Spot VM."""
    resource_id = (
        f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{RESOURCE_GROUP}"
        f"/providers/Microsoft.Compute/virtualMachines/{VM_NAME}"
    )
    compute = {
        "azEnvironment": "AzurePublicCloud",
        "evictionPolicy": "Delete",
        "isHostCompatibilityLayerVm": "false",
        "location": LOCATION,
        "name": VM_NAME,
        "offer": "ubuntu-hpc",
        "osType": "Linux",
        "platformFaultDomain": "0",
        "platformUpdateDomain": "0",
        "priority": "Spot",
        "provider": "Microsoft.Compute",
        "publisher": "microsoft-dsvm",
        "resourceGroupName": RESOURCE_GROUP,
        "resourceId": resource_id,
        "sku": "2204",
        "subscriptionId": SUBSCRIPTION_ID,
        "tags": "",
        "tagsList": [],
        "version": "22.04.2024102301",
        "vmId": VM_ID,
        "vmScaleSetName": "",
        "vmSize": VM_SIZE,
        "zone": "1",
    }
    interface = {
        "ipv4": {
            "ipAddress": [{"privateIpAddress": "10.0.0.4", "publicIpAddress": ""}],
            "subnet": [{"address": "10.0.0.0", "prefix": "24"}],
        },
        "ipv6": {"ipAddress": []},
        "macAddress": "000D3A5C1B2E",
    }
    return {"compute": compute, "network": {"interface": [interface]}}
