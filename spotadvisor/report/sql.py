"""The report's SQL: one source per billing export, aggregates written once.

Each engine reads billing lines from its own kind of table (the store's ``billing``
table, a CUR 2.0 table in Athena, a GCP billing export in BigQuery). A *source* turns
those rows into a common ``lines`` relation, written natively for its dialect because
that is where the dialects differ most (timestamps, maps, repeated fields). The
aggregates over ``lines`` are written once in DuckDB's dialect and emitted for the
engine's dialect by sqlglot, so the same questions are asked everywhere.

``lines`` has one row per billing line of the report month or the month before:

============== ==================================================================
period         ``current`` or ``previous``
day_of_month   1-31, UTC
provider       aws, gcp, azure, ...
region_id      region code
instance_type  instance type / machine type / VM size, NULL for non-compute lines
usage_type     provider usage type or SKU description
resource_id    instance id / resource id
sub_account_id account / subscription / project
currency       ISO 4217 code
market         ``spot``, ``committed``, ``on-demand`` or ``other``
cost           effective cost (amortised), else billed cost [currency]
list_cost      cost at public on-demand prices, NULL when unknown [currency]
instance_hours hours of an instance (lines metered in hours with an instance type;
               units as :mod:`spotadvisor.importers.billing.units` reads them) [h]
gpu_sku_hours  hours of a separately billed GPU (GCP accelerator SKUs) [GPU h]
tag_0 ...      value of each requested tag, NULL when missing or empty
spot_tagged    whether the line carries the tag that marks spot workloads
============== ==================================================================
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import sqlglot

from spotadvisor.errors import UsageError
from spotadvisor.gpus import AWS_FAMILIES
from spotadvisor.importers.billing.units import hours_per_unit_sql, hours_unit_sql
from spotadvisor.report.period import Month

Scope = Literal["gpu", "compute", "all"]
SCOPES: tuple[Scope, ...] = ("gpu", "compute", "all")

# Tag keys go into SQL string literals and JSON paths; allow what clouds allow in keys
# apart from quotes and backslashes.
_TAG_KEY = re.compile(r"[A-Za-z0-9 _.:/=+\-@]{1,128}")


@dataclass(frozen=True)
class SpotTag:
    """The tag that marks spot workloads: ``KEY`` (any value) or ``KEY=VALUE``."""

    key: str
    value: str | None = None

    @classmethod
    def parse(cls, text: str) -> SpotTag:
        """``spot`` or ``capacity=spot`` -> SpotTag."""
        key, sep, value = text.partition("=")
        tag = cls(check_tag_key(key.strip(), field="--spot-tag"), value.strip() if sep else None)
        if tag.value is not None and not _TAG_KEY.fullmatch(tag.value):
            raise UsageError(
                f"tag value {tag.value!r} has characters spotadvisor cannot match",
                field="--spot-tag",
                fix="use letters, digits, spaces and _ . : / = + - @",
            )
        return tag

    def __str__(self) -> str:
        return self.key if self.value is None else f"{self.key}={self.value}"


def check_tag_key(key: str, *, field: str = "--tag") -> str:
    """Return ``key`` when it is safe to put in a query.

    Raises
    ------
    UsageError
        When the key is empty or has quotes, backslashes or other unusual characters.
    """
    if not _TAG_KEY.fullmatch(key):
        raise UsageError(
            f"{key!r} is not a tag key spotadvisor can read",
            field=field,
            fix="use the key as the billing export shows it after 'user:' "
            "(letters, digits, spaces and _ . : / = + - @), e.g. --tag team",
        )
    return key


@dataclass(frozen=True)
class ReportQuery:
    """What one report asks of the billing data.

    Attributes
    ----------
    month
        The report month; the month before is read too, for the change.
    tags
        Tag keys to break spend down by; ``tag_0`` ... in ``lines``.
    spot_tag
        The tag that marks spot workloads, or None.
    scope
        ``gpu`` (GPU instances and GPU SKUs), ``compute`` (any instance) or ``all``.
    top
        Rows in the top-offender lists.
    """

    month: Month
    tags: tuple[str, ...]
    spot_tag: SpotTag | None
    scope: Scope
    top: int = 10


# --- sources ---------------------------------------------------------------------------


def _store_tag(key: str) -> str:
    return f"NULLIF(TRIM(json_extract_string(tags, '$.\"{key}\"')), '')"


def store_source(query: ReportQuery) -> str:
    """``lines`` from the store's ``billing`` table (DuckDB; the session must be UTC)."""
    start, end = query.month.previous.start, query.month.end
    current = query.month.start
    tag_columns = "".join(
        f",\n    {_store_tag(key)} AS tag_{i}" for i, key in enumerate(query.tags)
    )
    hourly = hours_unit_sql("consumed_unit", "duckdb")
    per_unit = hours_per_unit_sql("consumed_unit", "duckdb")
    return f"""  SELECT
    CASE WHEN charge_period_start >= TIMESTAMPTZ '{current:%Y-%m-%d %H:%M:%S}+00'
      THEN 'current' ELSE 'previous' END AS period,
    CAST(EXTRACT(DAY FROM charge_period_start) AS INTEGER) AS day_of_month,
    provider,
    region_id,
    instance_type,
    usage_type,
    resource_id,
    sub_account_id,
    COALESCE(billing_currency, 'USD') AS currency,
    CASE
      WHEN is_spot THEN 'spot'
      WHEN pricing_category IN ('Committed', 'Commitment-Based') THEN 'committed'
      WHEN pricing_category IN ('Standard', 'On-Demand') THEN 'on-demand'
      ELSE 'other'
    END AS market,
    COALESCE(effective_cost, billed_cost, 0) AS cost,
    list_cost,
    CASE
      WHEN instance_type IS NOT NULL AND provider <> 'gcp' AND {hourly}
      THEN consumed_quantity * {per_unit} ELSE 0
    END AS instance_hours,
    CASE
      WHEN provider = 'gcp' AND regexp_matches(usage_type, '(?i)\\bgpu\\b') AND {hourly}
      THEN consumed_quantity * {per_unit} ELSE 0
    END AS gpu_sku_hours,
    {_spot_tag_store(query.spot_tag)} AS spot_tagged{tag_columns}
  FROM billing
  WHERE charge_period_start >= TIMESTAMPTZ '{start:%Y-%m-%d %H:%M:%S}+00'
    AND charge_period_start < TIMESTAMPTZ '{end:%Y-%m-%d %H:%M:%S}+00'"""


def _spot_tag_store(tag: SpotTag | None) -> str:
    if tag is None:
        return "CAST(NULL AS BOOLEAN)"
    value = _store_tag(tag.key)
    if tag.value is None:
        return f"({value} IS NOT NULL)"
    return f"COALESCE(lower({value}) = '{tag.value.lower()}', FALSE)"


# --- aggregates (DuckDB dialect, emitted for the engine's) -----------------------------


def gpu_condition() -> str:
    """SQL (DuckDB dialect) that is true for GPU lines of ``lines``.

    AWS by instance family, Azure by N-series size, GCP by GPU machine family or a
    separately billed GPU SKU; the family lists come from :mod:`spotadvisor.gpus`.
    """
    families = "|".join(sorted((re.escape(f) for f in AWS_FAMILIES), key=len, reverse=True))
    return (
        "(CASE"
        f" WHEN provider = 'aws' THEN regexp_matches(instance_type, '^({families})\\.')"
        " WHEN provider = 'azure' THEN regexp_matches(instance_type, '(?i)^standard_n[cdgv]')"
        " WHEN provider = 'gcp' THEN regexp_matches(instance_type, '^(a2|a3|a4|g2)-|\\+\\d+x')"
        " OR gpu_sku_hours > 0 OR regexp_matches(usage_type, '(?i)\\bgpu\\b')"
        " ELSE FALSE END)"
    )


def scope_condition(scope: Scope) -> str:
    """SQL (DuckDB dialect) that keeps the lines of ``scope``."""
    if scope == "gpu":
        return f"COALESCE({gpu_condition()}, FALSE)"
    if scope == "compute":
        return "(instance_type IS NOT NULL OR gpu_sku_hours > 0)"
    return "TRUE"


def _tag_names(query: ReportQuery) -> list[str]:
    return [f"tag_{i}" for i in range(len(query.tags))]


def cube_sql(query: ReportQuery) -> str:
    """Sums by period, week, provider, region, type, market, currency, tags, spot tag.

    Every rollup of the report (by cloud, region, type, tag, week and market; spot
    share; savings; tag hygiene totals) is a sum over these rows, so one scan serves
    them all.
    """
    keys = [
        "period",
        "LEAST(CAST(FLOOR((day_of_month - 1) / 7.0) AS INTEGER) + 1, 5) AS week",
        "provider",
        "region_id",
        "instance_type",
        "market",
        "currency",
        "spot_tagged",
        *_tag_names(query),
    ]
    numbered = ", ".join(str(i + 1) for i in range(len(keys)))
    return f"""SELECT
  {", ".join(keys)},
  SUM(cost) AS cost,
  SUM(list_cost) AS list_cost,
  SUM(CASE WHEN list_cost IS NULL THEN cost ELSE 0 END) AS cost_without_list,
  SUM(CASE WHEN list_cost IS NULL THEN instance_hours ELSE 0 END) AS hours_without_list,
  SUM(instance_hours) AS instance_hours,
  SUM(gpu_sku_hours) AS gpu_sku_hours,
  COUNT(*) AS line_count
FROM lines
WHERE {scope_condition(query.scope)}
GROUP BY {numbered}"""


def offenders_sql(query: ReportQuery, *, spot_untagged: bool) -> str:
    """Resources of the report month with the most spend missing a tag.

    Resources whose untagged lines net to nothing (a negation, a refund) are left out:
    there is no spend to chase.

    With ``spot_untagged`` the resources are spot lines without the spot tag instead of
    lines missing any of ``query.tags``.
    """
    tags = _tag_names(query)
    if spot_untagged:
        missing = "market = 'spot' AND NOT COALESCE(spot_tagged, FALSE)"
        flags = ""
    else:
        missing = "(" + " OR ".join(f"{t} IS NULL" for t in tags) + ")" if tags else "FALSE"
        flags = "".join(
            f",\n  MAX(CASE WHEN {t} IS NULL THEN 1 ELSE 0 END) AS missing_{t}" for t in tags
        )
    return f"""SELECT
  provider,
  sub_account_id,
  COALESCE(resource_id, '') AS resource_id,
  COALESCE(instance_type, '') AS instance_type,
  COALESCE(region_id, '') AS region_id,
  currency,
  SUM(cost) AS cost{flags}
FROM lines
WHERE period = 'current' AND {scope_condition(query.scope)} AND {missing}
GROUP BY 1, 2, 3, 4, 5, 6
HAVING SUM(cost) > 0
ORDER BY cost DESC, provider, resource_id
LIMIT {int(query.top)}"""


def emit(aggregate: str, source: str, dialect: str) -> str:
    """The full statement for ``dialect``: ``WITH lines AS (source)`` + the aggregate.

    Parameters
    ----------
    aggregate
        A SELECT over ``lines`` in DuckDB's dialect.
    source
        The ``lines`` SELECT, already in ``dialect``.
    dialect
        sqlglot dialect: ``duckdb``, ``trino`` or ``bigquery``.
    """
    body = aggregate
    if dialect != "duckdb":
        body = sqlglot.transpile(aggregate, read="duckdb", write=dialect, pretty=True)[0]
    return f"WITH lines AS (\n{source}\n)\n{body}"


@dataclass(frozen=True)
class Statements:
    """The statements one report runs, in the engine's dialect."""

    cube: str
    untagged: str
    spot_untagged: str

    def items(self) -> Sequence[tuple[str, str]]:
        """(label, SQL) pairs in run order."""
        return (
            ("spend cube", self.cube),
            ("untagged resources", self.untagged),
            ("spot resources without the spot tag", self.spot_untagged),
        )


def statements(query: ReportQuery, source: str, dialect: str) -> Statements:
    """Every statement of the report for one source and dialect."""
    return Statements(
        cube=emit(cube_sql(query), source, dialect),
        untagged=emit(offenders_sql(query, spot_untagged=False), source, dialect),
        spot_untagged=emit(offenders_sql(query, spot_untagged=True), source, dialect),
    )
