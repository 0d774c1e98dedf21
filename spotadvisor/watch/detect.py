"""``--cloud auto``: which metadata service answers here, with short timeouts.

Each cloud is probed in its own thread, all at once, so detection takes at most about
one probe timeout whatever answers:

- AWS: ``PUT /latest/api/token`` answering a token (IMDSv2), or, when the PUT is refused
  (403/404/405), ``GET /latest/meta-data/instance-id`` answering (IMDSv1).
- GCP: ``GET /computeMetadata/v1/`` with ``Metadata-Flavor: Google`` answering 200 with
  the same header.
- Azure: ``GET /metadata/instance?api-version=2021-02-01`` with ``Metadata: true``
  answering JSON with ``compute``.

Base URLs: AWS ``AWS_EC2_METADATA_SERVICE_ENDPOINT`` or ``http://169.254.169.254``; GCP
``GCE_METADATA_HOST`` or ``http://metadata.google.internal``; Azure
``http://169.254.169.254``. ``--metadata-url`` replaces all three (every protocol is
tried against that one URL).
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from spotadvisor.errors import DataError
from spotadvisor.watch import aws, azure, gcp
from spotadvisor.watch.http import MetadataUnavailable, request, safe_url

CLOUDS = ("aws", "gcp", "azure")
# when several answer (GCE also listens on 169.254.169.254), the most specific answer wins:
# GCP's Metadata-Flavor header, then Azure's instance document, then AWS
PREFERENCE = ("gcp", "azure", "aws")


@dataclass(frozen=True)
class Probe:
    """What one probe found.

    Attributes
    ----------
    cloud
        ``aws``, ``gcp`` or ``azure``.
    base_url
        The URL probed.
    found
        Whether that cloud's metadata service answered.
    detail
        ``IMDSv2``/``IMDSv1`` for AWS when found; why not otherwise.
    """

    cloud: str
    base_url: str
    found: bool
    detail: str


def base_urls(metadata_url: str | None, env: Mapping[str, str]) -> dict[str, str]:
    """The metadata base URL of each cloud: ``metadata_url`` for all, else the defaults."""
    if metadata_url:
        return dict.fromkeys(CLOUDS, metadata_url.rstrip("/"))
    return {
        "aws": (env.get(aws.ENDPOINT_ENV) or aws.DEFAULT_URL).rstrip("/"),
        "gcp": gcp.base_url_from_env(dict(env)),
        "azure": azure.DEFAULT_URL,
    }


def probe_aws(base_url: str, timeout: float) -> Probe:
    """Whether IMDS answers at ``base_url``, and whether with IMDSv2 tokens."""
    answer = request(
        "PUT", base_url + aws.TOKEN_PATH, headers={aws.TTL_HEADER: "60"}, timeout=timeout
    )
    if answer.status == 200 and answer.body.strip():
        return Probe("aws", base_url, True, "IMDSv2")
    if answer.status in aws.FALLBACK_STATUSES:
        answer = request("GET", base_url + aws.IDENTITY_PATHS["instance_id"], timeout=timeout)
        if answer.status == 200 and answer.body.strip():
            return Probe("aws", base_url, True, "IMDSv1")
    return Probe("aws", base_url, False, f"HTTP {answer.status}")


def probe_gcp(base_url: str, timeout: float) -> Probe:
    """Whether the GCE metadata server answers at ``base_url``."""
    answer = request("GET", base_url + gcp.PREFIX, headers=dict(gcp.FLAVOR), timeout=timeout)
    if answer.status == 200 and answer.headers.get("metadata-flavor") == "Google":
        return Probe("gcp", base_url, True, "metadata server")
    return Probe("gcp", base_url, False, f"HTTP {answer.status}")


def probe_azure(base_url: str, timeout: float) -> Probe:
    """Whether Azure IMDS answers at ``base_url``."""
    answer = request(
        "GET", base_url + azure.INSTANCE_PATH, headers=dict(azure.HEADERS), timeout=timeout
    )
    try:
        document = json.loads(answer.body) if answer.status == 200 else None
    except ValueError:
        document = None
    if isinstance(document, dict) and isinstance(document.get("compute"), dict):
        return Probe("azure", base_url, True, "IMDS")
    return Probe("azure", base_url, False, f"HTTP {answer.status}")


PROBES: dict[str, Callable[[str, float], Probe]] = {
    "aws": probe_aws,
    "gcp": probe_gcp,
    "azure": probe_azure,
}


def detect(urls: Mapping[str, str], timeout: float = 1.0) -> Probe:
    """Probe every cloud at once; the first found in the order gcp, azure, aws.

    Parameters
    ----------
    urls
        Base URL per cloud (see :func:`base_urls`).
    timeout
        Seconds per request of a probe; detection gives up after about twice that
        (a name that does not resolve can take longer, and is abandoned).

    Raises
    ------
    DataError
        When no metadata service answered: the message lists what was tried.
    """
    answers: queue.Queue[Probe] = queue.Queue()

    def run(cloud: str) -> None:
        try:
            answers.put(PROBES[cloud](urls[cloud], timeout))
        except MetadataUnavailable as exc:
            answers.put(Probe(cloud, urls[cloud], False, _reason(str(exc))))
        except Exception as exc:  # a probe must never take the others down
            answers.put(Probe(cloud, urls[cloud], False, type(exc).__name__))

    for cloud in CLOUDS:
        threading.Thread(target=run, args=(cloud,), name=f"probe-{cloud}", daemon=True).start()
    found: dict[str, Probe] = {}
    give_up = time.monotonic() + 2 * timeout + 0.5
    while len(found) < len(CLOUDS):
        try:
            result = answers.get(timeout=max(0.0, give_up - time.monotonic()))
        except queue.Empty:
            break
        found[result.cloud] = result
    for cloud in PREFERENCE:
        if cloud in found and found[cloud].found:
            return found[cloud]
    tried = "; ".join(
        f"{cloud} at {safe_url(urls[cloud])}: "
        + (found[cloud].detail if cloud in found else "no answer in time")
        for cloud in CLOUDS
    )
    raise DataError(
        f"no instance metadata service answered ({tried})",
        field="--cloud auto",
        fix="run this on a cloud VM, or pass --cloud and --metadata-url "
        "(e.g. a 'spotadvisor mock-metadata' server)",
    )


def _reason(message: str) -> str:
    """The part of a MetadataUnavailable message after the request line."""
    return message.split(": ", 1)[-1]
