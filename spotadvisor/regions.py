"""Region and zone naming across clouds.

AWS names zones per account (``us-east-1a`` is a different data centre for different
accounts) but zone IDs (``use1-az4``) are the same for everyone; some public files carry
only the ID, so the region must come from its prefix.
"""

from __future__ import annotations

import re

from spotadvisor.errors import UsageError

# AWS zone-ID prefix -> region (from the AWS Regions and Zones guide).
AWS_ZONE_ID_PREFIXES: dict[str, str] = {
    "use1": "us-east-1",
    "use2": "us-east-2",
    "usw1": "us-west-1",
    "usw2": "us-west-2",
    "cac1": "ca-central-1",
    "caw1": "ca-west-1",
    "sae1": "sa-east-1",
    "mxc1": "mx-central-1",
    "euw1": "eu-west-1",
    "euw2": "eu-west-2",
    "euw3": "eu-west-3",
    "euc1": "eu-central-1",
    "euc2": "eu-central-2",
    "eun1": "eu-north-1",
    "eus1": "eu-south-1",
    "eus2": "eu-south-2",
    "apne1": "ap-northeast-1",
    "apne2": "ap-northeast-2",
    "apne3": "ap-northeast-3",
    "aps1": "ap-south-1",
    "aps2": "ap-south-2",
    "apse1": "ap-southeast-1",
    "apse2": "ap-southeast-2",
    "apse3": "ap-southeast-3",
    "apse4": "ap-southeast-4",
    "apse5": "ap-southeast-5",
    "apse6": "ap-southeast-6",
    "apse7": "ap-southeast-7",
    "ape1": "ap-east-1",
    "ape2": "ap-east-2",
    "afs1": "af-south-1",
    "mes1": "me-south-1",
    "mec1": "me-central-1",
    "ilc1": "il-central-1",
    "usgw1": "us-gov-west-1",
    "usge1": "us-gov-east-1",
    "cnn1": "cn-north-1",
    "cnnw1": "cn-northwest-1",
}

_AWS_ZONE_ID = re.compile(r"^([a-z]+\d)(?:-[a-z]+\d+)?-az\d+$")
_AWS_ZONE_NAME = re.compile(r"^([a-z]{2}(?:-gov)?-[a-z]+-\d)(?:-[a-z]+-\d+)?[a-z]$")
_GCP_ZONE = re.compile(r"^([a-z]+-[a-z]+\d+)-[a-z]$")


def aws_region_of_zone_id(zone_id: str, *, origin: str = "<data>") -> str:
    """Region of an AWS zone ID, e.g. ``use1-az4`` or the Local Zone ``usw2-lax1-az1``.

    Raises
    ------
    UsageError
        When the ID is malformed or its prefix is not a known region.
    """
    match = _AWS_ZONE_ID.match(zone_id)
    if not match:
        raise UsageError(
            f"{zone_id!r} is not an AWS zone ID",
            file=origin,
            field="zone_id",
            fix="zone IDs look like use1-az4, or usw2-lax1-az1 for a Local Zone",
        )
    if match.group(1) not in AWS_ZONE_ID_PREFIXES:
        raise UsageError(
            f"cannot tell the region of AWS zone ID {zone_id!r}: unknown prefix {match.group(1)!r}",
            file=origin,
            field="zone_id",
            fix="if it is a new region, add its prefix to regions.AWS_ZONE_ID_PREFIXES",
        )
    return AWS_ZONE_ID_PREFIXES[match.group(1)]


def is_aws_zone_id(text: str) -> bool:
    """True when ``text`` is shaped like an AWS zone ID (known region prefix or not)."""
    return _AWS_ZONE_ID.match(text) is not None


def is_aws_zone_name(text: str) -> bool:
    """True when ``text`` is shaped like an AWS zone name (``us-east-1a``, ``us-west-2-lax-1a``)."""
    return _AWS_ZONE_NAME.match(text) is not None


def aws_region_of_zone(zone: str, *, origin: str = "<data>") -> str:
    """Region of an AWS zone name: ``us-east-1a`` or the Local Zone ``us-west-2-lax-1a``."""
    match = _AWS_ZONE_NAME.match(zone)
    if not match:
        raise UsageError(
            f"{zone!r} is not an AWS zone name",
            file=origin,
            field="zone",
            fix="zone names look like us-east-1a",
        )
    return match.group(1)


def gcp_region_of_zone(zone: str) -> str | None:
    """Region of a GCP zone (``us-central1-a`` -> ``us-central1``), or None if malformed."""
    match = _GCP_ZONE.match(zone)
    return match.group(1) if match else None
