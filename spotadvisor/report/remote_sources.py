"""``lines`` sources for billing exports queried where they live.

* Athena (Trino) over an AWS CUR 2.0 table, as created for Data Exports
  (``COST_AND_USAGE_REPORT``, Parquet, partitioned by ``billing_period``).
* BigQuery over the GCP standard or detailed billing export
  (``gcp_billing_export_v1_*`` / ``gcp_billing_export_resource_v1_*``).

Both return the columns described in :mod:`spotadvisor.report.sql`; all timestamp
comparisons stay here, in the native dialect, where their types are known.
"""

from __future__ import annotations

import re

from spotadvisor.errors import UsageError
from spotadvisor.importers.billing.units import hours_per_unit_sql, hours_unit_sql
from spotadvisor.report.sql import ReportQuery, SpotTag

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BQ_TABLE = re.compile(r"[A-Za-z0-9_\-]+\.[A-Za-z0-9_]+\.[A-Za-z0-9_]+")


def split_athena_table(table: str) -> tuple[str, str]:
    """``database.table`` -> (database, table).

    Raises
    ------
    UsageError
        When ``table`` is not two plain identifiers joined by a dot.
    """
    database, dot, name = table.partition(".")
    if not dot or not _IDENT.fullmatch(database) or not _IDENT.fullmatch(name):
        raise UsageError(
            f"{table!r} is not an Athena table name",
            field="--table",
            fix="write it as database.table, e.g. --table cur.cur2_export",
        )
    return database, name


def cur_tag_key(key: str) -> str:
    """The ``resource_tags`` map key of a user tag in CUR 2.0: ``user_`` + the key
    with characters other than letters, digits and ``_`` replaced by ``_``."""
    return "user_" + re.sub(r"[^A-Za-z0-9_]", "_", key)


def _cur_tag(key: str) -> str:
    return f"NULLIF(TRIM(element_at(resource_tags, '{cur_tag_key(key)}')), '')"


def _cur_spot_tag(tag: SpotTag | None) -> str:
    if tag is None:
        return "CAST(NULL AS BOOLEAN)"
    if tag.value is None:
        return f"({_cur_tag(tag.key)} IS NOT NULL)"
    return f"COALESCE(lower({_cur_tag(tag.key)}) = '{tag.value.lower()}', FALSE)"


def cur2_source(query: ReportQuery, table: str) -> str:
    """``lines`` from a CUR 2.0 table in Athena (Trino dialect).

    Cost is amortised the way AWS's own CUR queries do it: covered usage at its
    effective cost, unused commitment fees kept, upfront fees and negations dropped.
    """
    if not _IDENT.fullmatch(table):
        raise UsageError(f"{table!r} is not a table name", field="--table", fix="check --table")
    month, before = query.month, query.month.previous
    periods = f"'{before.label}', '{month.label}'"
    tags = "".join(f",\n    {_cur_tag(k)} AS tag_{i}" for i, k in enumerate(query.tags))
    return f"""  SELECT
    CASE WHEN line_item_usage_start_date >= TIMESTAMP '{month.start:%Y-%m-%d %H:%M:%S}'
      THEN 'current' ELSE 'previous' END AS period,
    CAST(EXTRACT(DAY FROM line_item_usage_start_date) AS INTEGER) AS day_of_month,
    'aws' AS provider,
    NULLIF(product_region_code, '') AS region_id,
    NULLIF(product_instance_type, '') AS instance_type,
    line_item_usage_type AS usage_type,
    NULLIF(line_item_resource_id, '') AS resource_id,
    line_item_usage_account_id AS sub_account_id,
    COALESCE(NULLIF(line_item_currency_code, ''), 'USD') AS currency,
    CASE
      WHEN pricing_term = 'Spot' OR line_item_usage_type LIKE '%SpotUsage%' THEN 'spot'
      WHEN line_item_line_item_type IN ('DiscountedUsage', 'SavingsPlanCoveredUsage',
        'RIFee', 'SavingsPlanRecurringFee') THEN 'committed'
      WHEN line_item_line_item_type = 'Usage' THEN 'on-demand'
      ELSE 'other'
    END AS market,
    CASE line_item_line_item_type
      WHEN 'SavingsPlanCoveredUsage' THEN savings_plan_savings_plan_effective_cost
      WHEN 'SavingsPlanRecurringFee'
        THEN savings_plan_total_commitment_to_date - savings_plan_used_commitment
      WHEN 'SavingsPlanNegation' THEN 0
      WHEN 'SavingsPlanUpfrontFee' THEN 0
      WHEN 'DiscountedUsage' THEN reservation_effective_cost
      WHEN 'RIFee' THEN reservation_unused_amortized_upfront_fee_for_billing_period
        + reservation_unused_recurring_fee
      ELSE line_item_unblended_cost
    END AS cost,
    CASE WHEN line_item_line_item_type IN ('Usage', 'DiscountedUsage',
      'SavingsPlanCoveredUsage') THEN pricing_public_on_demand_cost END AS list_cost,
    CASE
      WHEN NULLIF(product_instance_type, '') IS NOT NULL
        AND line_item_line_item_type IN ('Usage', 'DiscountedUsage', 'SavingsPlanCoveredUsage')
        AND regexp_like(line_item_usage_type, '(BoxUsage|SpotUsage|DedicatedUsage|HostUsage)')
      THEN line_item_usage_amount ELSE 0
    END AS instance_hours,
    CAST(0 AS DOUBLE) AS gpu_sku_hours,
    {_cur_spot_tag(query.spot_tag)} AS spot_tagged{tags}
  FROM {table}
  WHERE billing_period IN ({periods})
    AND line_item_usage_start_date >= TIMESTAMP '{before.start:%Y-%m-%d %H:%M:%S}'
    AND line_item_usage_start_date < TIMESTAMP '{month.end:%Y-%m-%d %H:%M:%S}'"""


def _label(field: str, key: str) -> str:
    return f"(SELECT l.value FROM UNNEST({field}) AS l WHERE l.key = '{key}' LIMIT 1)"


def _gcp_tag(key: str) -> str:
    return f"NULLIF(TRIM({_label('labels', key)}), '')"


def _gcp_spot_tag(tag: SpotTag | None) -> str:
    if tag is None:
        return "CAST(NULL AS BOOL)"
    if tag.value is None:
        return f"({_gcp_tag(tag.key)} IS NOT NULL)"
    return f"COALESCE(LOWER({_gcp_tag(tag.key)}) = '{tag.value.lower()}', FALSE)"


def gcp_export_source(query: ReportQuery, table: str) -> str:
    """``lines`` from a GCP billing export table in BigQuery (GoogleSQL).

    Cost is ``cost`` plus its credits (committed-use and sustained-use discounts,
    promotions). The export has no on-demand equivalent for spot SKUs, so list cost is
    left NULL and the report estimates it from catalog prices.
    """
    if not _BQ_TABLE.fullmatch(table):
        raise UsageError(
            f"{table!r} is not a BigQuery table name",
            field="--table",
            fix="write it as project.dataset.table, e.g. "
            "my-project.billing.gcp_billing_export_v1_0123AB_4567CD_89EF01",
        )
    month, before = query.month, query.month.previous
    tags = "".join(f",\n    {_gcp_tag(k)} AS tag_{i}" for i, k in enumerate(query.tags))
    machine = _label("system_labels", "compute.googleapis.com/machine_spec")
    hourly = hours_unit_sql("usage.pricing_unit", "bigquery")
    per_unit = hours_per_unit_sql("usage.pricing_unit", "bigquery")
    return f"""  SELECT
    CASE WHEN usage_start_time >= TIMESTAMP '{month.start:%Y-%m-%d %H:%M:%S}+00'
      THEN 'current' ELSE 'previous' END AS period,
    EXTRACT(DAY FROM usage_start_time) AS day_of_month,
    'gcp' AS provider,
    location.region AS region_id,
    {machine} AS instance_type,
    sku.description AS usage_type,
    CAST(NULL AS STRING) AS resource_id,
    project.id AS sub_account_id,
    currency,
    CASE
      WHEN REGEXP_CONTAINS(sku.description, r'(?i)\\b(spot|preemptible)\\b') THEN 'spot'
      WHEN REGEXP_CONTAINS(sku.description, r'(?i)\\bcommitment\\b') THEN 'committed'
      WHEN cost_type = 'regular' THEN 'on-demand'
      ELSE 'other'
    END AS market,
    cost + IFNULL((SELECT SUM(c.amount) FROM UNNEST(credits) AS c), 0) AS cost,
    CAST(NULL AS FLOAT64) AS list_cost,
    CAST(0 AS FLOAT64) AS instance_hours,
    CASE
      WHEN REGEXP_CONTAINS(sku.description, r'(?i)\\bgpu\\b') AND {hourly}
      THEN usage.amount_in_pricing_units * {per_unit} ELSE 0
    END AS gpu_sku_hours,
    {_gcp_spot_tag(query.spot_tag)} AS spot_tagged{tags}
  FROM `{table}`
  WHERE usage_start_time >= TIMESTAMP '{before.start:%Y-%m-%d %H:%M:%S}+00'
    AND usage_start_time < TIMESTAMP '{month.end:%Y-%m-%d %H:%M:%S}+00'"""
