"""Options of ``collect gcp``: the ``GcpOptions`` dataclass, its defaults and checks.

``GcpOptions`` says what a GCP collection collects and how; ``check_options`` refuses
options that make no sense (unknown source or machine type, a target capacity below one,
billing without a table or with a malformed table or month). Nothing here calls an API.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from spotadvisor.collect.gcp_billing_export import check_billing_table, month_bounds
from spotadvisor.errors import UsageError, did_you_mean
from spotadvisor.gpus import gcp_gpu_machine_types, gcp_machine

SOURCES = ("prices", "bands", "preemption", "capacity", "billing")
ADVICE_SOURCES = frozenset({"preemption", "capacity"})
DEFAULT_TARGET_CAPACITY = 1  # instances per capacity-advice request without --target-capacity


def _all_machine_types() -> tuple[str, ...]:
    return tuple(gcp_gpu_machine_types())


def _previous_month(now: datetime) -> str:
    year, month = (now.year, now.month - 1) if now.month > 1 else (now.year - 1, 12)
    return f"{year:04d}-{month:02d}"


@dataclass(frozen=True)
class GcpOptions:
    """What ``collect gcp`` collects and how.

    Attributes
    ----------
    regions
        Regions to keep (``us-central1``...); empty: every region the catalog prices.
    machine_types
        Machines to price; by default every GCP GPU machine type the reference knows
        (a2, a3, a4, g2) plus n1 hosts with attachable GPUs (``n1-standard-8+1xT4``...,
        see ``gpus.gcp_n1_default_combos``).
    sources
        Subset of ``SOURCES``; default prices, bands, preemption and capacity (the last
        two only with a project).
    billing_table
        ``project.dataset.gcp_billing_export_v1_XXXXXX_XXXXXX_XXXXXX`` or the detailed
        ``..._resource_v1_...`` table (``dataset.table`` with ``project``).
    billing_month
        ``YYYY-MM`` to read from the export; None: the month before ``now``.
    project
        Project that runs (and pays for) the BigQuery query; None: the table's project.
        Also the project the advice calls (preemption, capacity) are made for; None:
        the Application Default Credentials project, if any.
    target_capacity
        Instances per zone to ask capacity advice for (``size``), as ``collect aws
        --target-capacity``; None: ``DEFAULT_TARGET_CAPACITY`` (1).
    catalog_endpoint, bigquery_endpoint, compute_endpoint
        Where to send the calls (``http://127.0.0.1:8080`` in tests); None: Google's.
    credentials
        ``google.auth.credentials.Credentials``; None: Application Default Credentials.
        Never printed.
    workers
        Threads.
    timeout_s
        Timeout of each HTTP request [s].
    retry_deadline_s
        Longest time spent retrying transient errors of one call [s].
    now
        The collection's reference time (UTC): ``as_of`` of offers and bands.
    """

    regions: tuple[str, ...] = ()
    machine_types: tuple[str, ...] = field(default_factory=_all_machine_types)
    sources: frozenset[str] = frozenset({"prices", "bands", "preemption", "capacity"})
    billing_table: str | None = None
    billing_month: str | None = None
    project: str | None = None
    target_capacity: int | None = None
    catalog_endpoint: str | None = None
    bigquery_endpoint: str | None = None
    compute_endpoint: str | None = None
    credentials: Any = field(default=None, repr=False)
    workers: int = 4
    timeout_s: float = 30.0
    retry_deadline_s: float = 30.0
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def month(self) -> str:
        """The billing month to read, ``YYYY-MM``."""
        return self.billing_month or _previous_month(self.now)

    @property
    def table(self) -> str | None:
        """The billing table as ``project.dataset.table`` (None without one)."""
        if not self.billing_table:
            return None
        project, dataset, table = check_billing_table(self.billing_table)
        project = project or self.project
        return f"{project}.{dataset}.{table}" if project else None

    @property
    def capacity_size(self) -> int:
        """Instances per capacity-advice request."""
        return self.target_capacity or DEFAULT_TARGET_CAPACITY


def check_options(options: GcpOptions) -> None:
    """Refuse options ``collect_gcp`` cannot run.

    Raises
    ------
    UsageError
        For an unknown source or machine type, a target capacity below 1, or billing
        without a table, with a table that names no project or with a malformed table
        or month.
    """
    unknown = sorted(set(options.sources) - set(SOURCES))
    if unknown:
        raise UsageError(
            f"unknown source {unknown[0]!r}", field="--sources", fix=f"use {', '.join(SOURCES)}"
        )
    if options.target_capacity is not None and options.target_capacity < 1:
        raise UsageError(
            f"a target capacity of {options.target_capacity} instances",
            field="--target-capacity",
            fix="give the instances a workload needs, at least 1",
        )
    known = gcp_gpu_machine_types()
    for name in options.machine_types:
        if gcp_machine(name) is None:
            raise UsageError(
                f"unknown GCP GPU machine type {name!r}",
                field="--machine-types",
                fix=did_you_mean(name, known)
                or "use a2/a3/a4/g2 GPU machine types or n1-standard-N+KxT4|V100|P100|P4",
            )
    if "billing" in options.sources:
        if not options.billing_table:
            raise UsageError(
                "billing needs the BigQuery billing export table",
                field="--billing-table",
                fix="give project.dataset.gcp_billing_export_v1_XXXXXX_XXXXXX_XXXXXX",
            )
        if options.table is None:
            raise UsageError(
                "the billing table names no project",
                field="--billing-table",
                fix="write it as project.dataset.table or pass --project",
            )
        month_bounds(options.month)
