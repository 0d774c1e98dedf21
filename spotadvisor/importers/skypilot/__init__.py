"""Importers for SkyPilot's GPU price catalogs: AWS and GCP ``v8/vms.csv``, Azure ``v6/vms.csv``.

Each catalog row is one instance type in one zone (AWS, GCP) or region (Azure) with its
on-demand and spot Linux price [USD/h]; the importers turn them into canonical ``offers``
rows, with the catalogs' known faults as ``quality_flags`` (listed in ``common``).
``common`` holds what the three share, ``gpu_facts`` the GPU columns, and ``aws``,
``gcp`` and ``azure`` one catalog each.
"""

from spotadvisor.importers.skypilot.aws import AWS_CATALOG, parse_aws_catalog, read_aws_catalog
from spotadvisor.importers.skypilot.azure import (
    AZURE_CATALOG,
    parse_azure_catalog,
    read_azure_catalog,
)
from spotadvisor.importers.skypilot.common import (
    AWS_COLUMNS,
    AZURE_COLUMNS,
    GCP_COLUMNS,
    GCP_PRICE_SENTINEL,
    sniff_aws,
    sniff_azure,
    sniff_gcp,
)
from spotadvisor.importers.skypilot.gcp import GCP_CATALOG, parse_gcp_catalog, read_gcp_catalog
from spotadvisor.importers.skypilot.gpu_facts import MEMORY_TOLERANCE

__all__ = [
    "AWS_CATALOG",
    "AWS_COLUMNS",
    "AZURE_CATALOG",
    "AZURE_COLUMNS",
    "GCP_CATALOG",
    "GCP_COLUMNS",
    "GCP_PRICE_SENTINEL",
    "MEMORY_TOLERANCE",
    "parse_aws_catalog",
    "parse_azure_catalog",
    "parse_gcp_catalog",
    "read_aws_catalog",
    "read_azure_catalog",
    "read_gcp_catalog",
    "sniff_aws",
    "sniff_azure",
    "sniff_gcp",
]
