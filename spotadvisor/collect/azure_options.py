"""Options of ``collect azure``: the ``AzureOptions`` dataclass, its defaults and checks.

``AzureOptions`` says what an Azure collection collects and how; ``default_sizes`` and
``default_regions`` give its defaults; ``check_options`` and ``billing_period`` validate it
(sources, names, the billing scope and month), and ``plain_http_allowed`` admits plain
``http://`` endpoints on the loopback interface only. Nothing here calls an API.
"""

from __future__ import annotations

import ipaddress
import re
import urllib.parse
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from spotadvisor import gpus
from spotadvisor.collect.azure_parse import check_names
from spotadvisor.errors import UsageError
from spotadvisor.schema import OFFERS

SOURCES = ("prices", "evictions", "spot-history", "billing")
DEFAULT_SOURCES = frozenset({"prices", "evictions", "spot-history"})
RETAIL_PRICES_URL = "https://prices.azure.com/api/retail/prices"
MANAGEMENT_ENDPOINT = "https://management.azure.com"
# Regions of the embedded snapshot's Azure offers, used if the snapshot cannot be read.
FALLBACK_REGIONS = (
    "centralus",
    "eastus",
    "eastus2",
    "northcentralus",
    "southcentralus",
    "westus",
    "westus2",
    "westus3",
)

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def default_sizes() -> tuple[str, ...]:
    """Every NC, ND and NV VM size the GPU reference knows (``gpus``), sorted."""
    return tuple(
        s
        for s in gpus.azure_gpu_sizes()
        if s.startswith(("Standard_NC", "Standard_ND", "Standard_NV"))
    )


def default_regions() -> tuple[str, ...]:
    """Regions of the Azure offers in the embedded snapshot (``FALLBACK_REGIONS`` if it
    cannot be read)."""
    try:
        from spotadvisor.snapshot import read_snapshot_table

        offers = read_snapshot_table(OFFERS)
    except Exception:  # a broken installation should not stop an explicit collection
        return FALLBACK_REGIONS
    regions = sorted(set(offers.loc[offers["cloud"] == "azure", "region"].dropna()))
    return tuple(str(r) for r in regions) or FALLBACK_REGIONS


@dataclass(frozen=True)
class AzureOptions:
    """What ``collect azure`` collects and how.

    Attributes
    ----------
    regions
        ARM region names (``eastus``); default: the regions of the Azure offers in the
        embedded snapshot.
    sizes
        VM sizes (``Standard_NC24ads_A100_v4``); default: every NC/ND/NV size the GPU
        reference knows.
    sources
        Subset of ``SOURCES``; default prices, evictions and spot-history.
    subscriptions
        Subscriptions Resource Graph queries run over; empty: every subscription the
        credential can read.
    billing_scope
        Consumption scope for ``billing``: ``/subscriptions/<id>``, a resource group, or
        ``/providers/Microsoft.Billing/billingAccounts/<id>``.
    billing_month
        ``YYYY-MM``; default: the last whole month before ``now``.
    retail_prices_url
        The Retail Prices endpoint.
    management_endpoint
        Azure Resource Manager endpoint; None: ``https://management.azure.com``.
    credential
        An azure-core ``TokenCredential``; None: ``azure.identity.DefaultAzureCredential()``
        (environment, workload or managed identity, Azure CLI...).
    workers
        Threads.
    timeout_s
        Socket connect and read timeout per request [s].
    max_attempts
        Attempts per request (1 = no retry); 429 and 5xx answers and network errors are
        retried.
    backoff_s
        Base of the exponential backoff between retries [s] (when no ``Retry-After``).
    now
        The collection's reference time (UTC).
    """

    regions: tuple[str, ...] = field(default_factory=default_regions)
    sizes: tuple[str, ...] = field(default_factory=default_sizes)
    sources: frozenset[str] = DEFAULT_SOURCES
    subscriptions: tuple[str, ...] = ()
    billing_scope: str | None = None
    billing_month: str | None = None
    retail_prices_url: str = RETAIL_PRICES_URL
    management_endpoint: str | None = None
    credential: Any = field(default=None, repr=False)
    workers: int = 8
    timeout_s: float = 30.0
    max_attempts: int = 4
    backoff_s: float = 0.8
    now: datetime = field(default_factory=lambda: datetime.now(UTC))


# -- validation --------------------------------------------------------------------


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def plain_http_allowed(url: str, option: str) -> bool:
    """False for ``https://``, True for ``http://`` on loopback; anything else is refused.

    Raises
    ------
    UsageError
        For another scheme, or plain http to a non-loopback host.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return False
    if parts.scheme == "http" and _is_loopback(parts.hostname):
        return True
    raise UsageError(
        f"{url!r} is not an https:// URL",
        field=option,
        fix="give an https:// URL (plain http is accepted on 127.0.0.1 only, for tests)",
    )


def billing_period(options: AzureOptions) -> tuple[date, date]:
    """First and last day of ``billing_month`` (default: the last whole month).

    Raises
    ------
    UsageError
        When ``billing_month`` is not ``YYYY-MM``.
    """
    if options.billing_month is None:
        last = options.now.date().replace(day=1) - timedelta(days=1)
        return last.replace(day=1), last
    match = _MONTH.match(options.billing_month.strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise UsageError(
            f"{options.billing_month!r} is not a month",
            field="--billing-month",
            fix="give the month as YYYY-MM, e.g. 2025-06",
        )
    first = date(int(match.group(1)), int(match.group(2)), 1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


def check_options(options: AzureOptions) -> None:
    """Refuse options that cannot be collected (unknown sources, no regions or sizes, bad names)."""
    unknown = sorted(set(options.sources) - set(SOURCES))
    if unknown:
        raise UsageError(
            f"unknown source {unknown[0]!r}", field="--sources", fix=f"use {', '.join(SOURCES)}"
        )
    if not options.sources:
        raise UsageError("no source to collect", field="--sources", fix=f"use {', '.join(SOURCES)}")
    needs_regions = bool({"prices", "evictions", "spot-history"} & set(options.sources))
    if needs_regions and not options.regions:
        raise UsageError(
            "no region to collect",
            field="--regions",
            fix="give at least one, e.g. --regions eastus",
        )
    if needs_regions and not options.sizes:
        raise UsageError(
            "no VM size to collect",
            field="--sizes",
            fix="give at least one, e.g. --sizes Standard_NC24ads_A100_v4",
        )
    check_names(options.regions, "region", "--regions", "eastus")
    check_names(options.sizes, "VM size", "--sizes", "Standard_NC24ads_A100_v4")
    check_names(
        options.subscriptions,
        "subscription id",
        "--subscriptions",
        "00000000-0000-0000-0000-000000000000",
    )
    if "prices" in options.sources:
        plain_http_allowed(options.retail_prices_url, "--retail-prices-url")
    if {"evictions", "spot-history", "billing"} & set(options.sources):
        plain_http_allowed(
            options.management_endpoint or MANAGEMENT_ENDPOINT, "--management-endpoint"
        )
    if "billing" in options.sources:
        scope = (options.billing_scope or "").strip()
        if not scope.startswith(("/subscriptions/", "/providers/Microsoft.Billing/")):
            raise UsageError(
                "billing needs a scope",
                field="--billing-scope",
                fix="give /subscriptions/<id>, a resource group or "
                "/providers/Microsoft.Billing/billingAccounts/<id>",
            )
        billing_period(options)
    if options.workers < 1 or options.max_attempts < 1 or options.timeout_s <= 0:
        raise UsageError(
            "workers, attempts and timeout must be positive",
            field="--workers",
            fix="give at least 1 worker, 1 attempt and a timeout above 0 s",
        )
