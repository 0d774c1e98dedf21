"""Does a pool's zone lie in its region? Checked where the zone's name tells the region."""

from __future__ import annotations

from spotadvisor.config.values import Where
from spotadvisor.errors import UsageError
from spotadvisor.regions import (
    aws_region_of_zone,
    aws_region_of_zone_id,
    gcp_region_of_zone,
    is_aws_zone_id,
    is_aws_zone_name,
)


def region_of_zone(cloud: str, zone: str) -> str | None:
    """The region a zone name or ID belongs to, or None when the name does not tell.

    AWS zone IDs (``use1-az4``) and names (``us-east-1a``) and GCP zones
    (``us-central1-a``) carry their region; Azure zones (``1``, ``2``, ``3``) do not.
    """
    try:
        if cloud == "aws" and is_aws_zone_id(zone):
            return aws_region_of_zone_id(zone)
        if cloud == "aws" and is_aws_zone_name(zone):
            return aws_region_of_zone(zone)
    except UsageError:  # an unknown zone-ID prefix: a new region, nothing to check against
        return None
    if cloud == "gcp":
        return gcp_region_of_zone(zone)
    return None


def check_zone(cloud: str, region: str, zone: str, where: Where) -> None:
    """Raise when ``zone`` names a region other than ``region``.

    Raises
    ------
    UsageError
        Naming both regions, at ``where`` (the pool's ``zone`` key).
    """
    found = region_of_zone(cloud, zone)
    if found is not None and found != region:
        raise where.error(
            f"zone {zone!r} is in {found}, not in region {region}",
            f"set region: {found}, or pick a zone of {region}",
        )
