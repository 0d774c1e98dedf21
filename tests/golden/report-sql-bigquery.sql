-- spend cube
WITH lines AS (
  SELECT
    CASE WHEN usage_start_time >= TIMESTAMP '2026-10-01 00:00:00+00'
      THEN 'current' ELSE 'previous' END AS period,
    EXTRACT(DAY FROM usage_start_time) AS day_of_month,
    'gcp' AS provider,
    location.region AS region_id,
    (SELECT l.value FROM UNNEST(system_labels) AS l WHERE l.key = 'compute.googleapis.com/machine_spec' LIMIT 1) AS instance_type,
    sku.description AS usage_type,
    CAST(NULL AS STRING) AS resource_id,
    project.id AS sub_account_id,
    currency,
    CASE
      WHEN REGEXP_CONTAINS(sku.description, r'(?i)\b(spot|preemptible)\b') THEN 'spot'
      WHEN REGEXP_CONTAINS(sku.description, r'(?i)\bcommitment\b') THEN 'committed'
      WHEN cost_type = 'regular' THEN 'on-demand'
      ELSE 'other'
    END AS market,
    cost + IFNULL((SELECT SUM(c.amount) FROM UNNEST(credits) AS c), 0) AS cost,
    CAST(NULL AS FLOAT64) AS list_cost,
    CAST(0 AS FLOAT64) AS instance_hours,
    CASE
      WHEN REGEXP_CONTAINS(sku.description, r'(?i)\bgpu\b') AND REGEXP_CONTAINS(usage.pricing_unit, '(?i)^ *(?:([0-9]*[1-9][0-9]*) +)?(?:1 +)?(?:instance +)?(?:hours?|hrs?[.]?|h|horas?|小时) *$')
      THEN usage.amount_in_pricing_units * COALESCE(CAST(NULLIF(REGEXP_EXTRACT(usage.pricing_unit, '(?i)^ *(?:([0-9]*[1-9][0-9]*) +)?(?:1 +)?(?:instance +)?(?:hours?|hrs?[.]?|h|horas?|小时) *$'), '') AS FLOAT64), 1) ELSE 0
    END AS gpu_sku_hours,
    COALESCE(LOWER(NULLIF(TRIM((SELECT l.value FROM UNNEST(labels) AS l WHERE l.key = 'lifecycle' LIMIT 1)), '')) = 'spot', FALSE) AS spot_tagged,
    NULLIF(TRIM((SELECT l.value FROM UNNEST(labels) AS l WHERE l.key = 'team' LIMIT 1)), '') AS tag_0,
    NULLIF(TRIM((SELECT l.value FROM UNNEST(labels) AS l WHERE l.key = 'model' LIMIT 1)), '') AS tag_1
  FROM `proj.billing.gcp_billing_export_v1_X`
  WHERE usage_start_time >= TIMESTAMP '2026-09-01 00:00:00+00'
    AND usage_start_time < TIMESTAMP '2026-11-01 00:00:00+00'
)
SELECT
  period,
  LEAST(CAST(FLOOR((
    day_of_month - 1
  ) / 7.0) AS INT64) + 1, 5) AS week,
  provider,
  region_id,
  instance_type,
  market,
  currency,
  spot_tagged,
  tag_0,
  tag_1,
  SUM(cost) AS cost,
  SUM(list_cost) AS list_cost,
  SUM(CASE WHEN list_cost IS NULL THEN cost ELSE 0 END) AS cost_without_list,
  SUM(CASE WHEN list_cost IS NULL THEN instance_hours ELSE 0 END) AS hours_without_list,
  SUM(instance_hours) AS instance_hours,
  SUM(gpu_sku_hours) AS gpu_sku_hours,
  COUNT(*) AS line_count
FROM lines
WHERE
  COALESCE(
    (
      CASE
        WHEN provider = 'aws'
        THEN REGEXP_CONTAINS(
          instance_type,
          '^(p6\\-b200|p3dn|p4de|p5en|g4dn|gr6f|p4d|p5e|g3s|g6e|g6f|gr6|p2|p3|p5|g3|g5|g6)\\.'
        )
        WHEN provider = 'azure'
        THEN REGEXP_CONTAINS(instance_type, '(?i)^standard_n[cdgv]')
        WHEN provider = 'gcp'
        THEN REGEXP_CONTAINS(instance_type, '^(a2|a3|a4|g2)-|\\+\\d+x')
        OR gpu_sku_hours > 0
        OR REGEXP_CONTAINS(usage_type, '(?i)\\bgpu\\b')
        ELSE FALSE
      END
    ),
    FALSE
  )
GROUP BY
  1,
  2,
  3,
  4,
  5,
  6,
  7,
  8,
  9,
  10;

-- untagged resources
WITH lines AS (
  SELECT
    CASE WHEN usage_start_time >= TIMESTAMP '2026-10-01 00:00:00+00'
      THEN 'current' ELSE 'previous' END AS period,
    EXTRACT(DAY FROM usage_start_time) AS day_of_month,
    'gcp' AS provider,
    location.region AS region_id,
    (SELECT l.value FROM UNNEST(system_labels) AS l WHERE l.key = 'compute.googleapis.com/machine_spec' LIMIT 1) AS instance_type,
    sku.description AS usage_type,
    CAST(NULL AS STRING) AS resource_id,
    project.id AS sub_account_id,
    currency,
    CASE
      WHEN REGEXP_CONTAINS(sku.description, r'(?i)\b(spot|preemptible)\b') THEN 'spot'
      WHEN REGEXP_CONTAINS(sku.description, r'(?i)\bcommitment\b') THEN 'committed'
      WHEN cost_type = 'regular' THEN 'on-demand'
      ELSE 'other'
    END AS market,
    cost + IFNULL((SELECT SUM(c.amount) FROM UNNEST(credits) AS c), 0) AS cost,
    CAST(NULL AS FLOAT64) AS list_cost,
    CAST(0 AS FLOAT64) AS instance_hours,
    CASE
      WHEN REGEXP_CONTAINS(sku.description, r'(?i)\bgpu\b') AND REGEXP_CONTAINS(usage.pricing_unit, '(?i)^ *(?:([0-9]*[1-9][0-9]*) +)?(?:1 +)?(?:instance +)?(?:hours?|hrs?[.]?|h|horas?|小时) *$')
      THEN usage.amount_in_pricing_units * COALESCE(CAST(NULLIF(REGEXP_EXTRACT(usage.pricing_unit, '(?i)^ *(?:([0-9]*[1-9][0-9]*) +)?(?:1 +)?(?:instance +)?(?:hours?|hrs?[.]?|h|horas?|小时) *$'), '') AS FLOAT64), 1) ELSE 0
    END AS gpu_sku_hours,
    COALESCE(LOWER(NULLIF(TRIM((SELECT l.value FROM UNNEST(labels) AS l WHERE l.key = 'lifecycle' LIMIT 1)), '')) = 'spot', FALSE) AS spot_tagged,
    NULLIF(TRIM((SELECT l.value FROM UNNEST(labels) AS l WHERE l.key = 'team' LIMIT 1)), '') AS tag_0,
    NULLIF(TRIM((SELECT l.value FROM UNNEST(labels) AS l WHERE l.key = 'model' LIMIT 1)), '') AS tag_1
  FROM `proj.billing.gcp_billing_export_v1_X`
  WHERE usage_start_time >= TIMESTAMP '2026-09-01 00:00:00+00'
    AND usage_start_time < TIMESTAMP '2026-11-01 00:00:00+00'
)
SELECT
  provider,
  sub_account_id,
  COALESCE(resource_id, '') AS resource_id,
  COALESCE(instance_type, '') AS instance_type,
  COALESCE(region_id, '') AS region_id,
  currency,
  SUM(cost) AS cost,
  MAX(CASE WHEN tag_0 IS NULL THEN 1 ELSE 0 END) AS missing_tag_0,
  MAX(CASE WHEN tag_1 IS NULL THEN 1 ELSE 0 END) AS missing_tag_1
FROM lines
WHERE
  period = 'current'
  AND COALESCE(
    (
      CASE
        WHEN provider = 'aws'
        THEN REGEXP_CONTAINS(
          instance_type,
          '^(p6\\-b200|p3dn|p4de|p5en|g4dn|gr6f|p4d|p5e|g3s|g6e|g6f|gr6|p2|p3|p5|g3|g5|g6)\\.'
        )
        WHEN provider = 'azure'
        THEN REGEXP_CONTAINS(instance_type, '(?i)^standard_n[cdgv]')
        WHEN provider = 'gcp'
        THEN REGEXP_CONTAINS(instance_type, '^(a2|a3|a4|g2)-|\\+\\d+x')
        OR gpu_sku_hours > 0
        OR REGEXP_CONTAINS(usage_type, '(?i)\\bgpu\\b')
        ELSE FALSE
      END
    ),
    FALSE
  )
  AND (
    tag_0 IS NULL OR tag_1 IS NULL
  )
GROUP BY
  1,
  2,
  3,
  4,
  5,
  6
HAVING
  SUM(cost) > 0
ORDER BY
  cost DESC,
  provider NULLS LAST,
  resource_id NULLS LAST
LIMIT 10;

-- spot resources without the spot tag
WITH lines AS (
  SELECT
    CASE WHEN usage_start_time >= TIMESTAMP '2026-10-01 00:00:00+00'
      THEN 'current' ELSE 'previous' END AS period,
    EXTRACT(DAY FROM usage_start_time) AS day_of_month,
    'gcp' AS provider,
    location.region AS region_id,
    (SELECT l.value FROM UNNEST(system_labels) AS l WHERE l.key = 'compute.googleapis.com/machine_spec' LIMIT 1) AS instance_type,
    sku.description AS usage_type,
    CAST(NULL AS STRING) AS resource_id,
    project.id AS sub_account_id,
    currency,
    CASE
      WHEN REGEXP_CONTAINS(sku.description, r'(?i)\b(spot|preemptible)\b') THEN 'spot'
      WHEN REGEXP_CONTAINS(sku.description, r'(?i)\bcommitment\b') THEN 'committed'
      WHEN cost_type = 'regular' THEN 'on-demand'
      ELSE 'other'
    END AS market,
    cost + IFNULL((SELECT SUM(c.amount) FROM UNNEST(credits) AS c), 0) AS cost,
    CAST(NULL AS FLOAT64) AS list_cost,
    CAST(0 AS FLOAT64) AS instance_hours,
    CASE
      WHEN REGEXP_CONTAINS(sku.description, r'(?i)\bgpu\b') AND REGEXP_CONTAINS(usage.pricing_unit, '(?i)^ *(?:([0-9]*[1-9][0-9]*) +)?(?:1 +)?(?:instance +)?(?:hours?|hrs?[.]?|h|horas?|小时) *$')
      THEN usage.amount_in_pricing_units * COALESCE(CAST(NULLIF(REGEXP_EXTRACT(usage.pricing_unit, '(?i)^ *(?:([0-9]*[1-9][0-9]*) +)?(?:1 +)?(?:instance +)?(?:hours?|hrs?[.]?|h|horas?|小时) *$'), '') AS FLOAT64), 1) ELSE 0
    END AS gpu_sku_hours,
    COALESCE(LOWER(NULLIF(TRIM((SELECT l.value FROM UNNEST(labels) AS l WHERE l.key = 'lifecycle' LIMIT 1)), '')) = 'spot', FALSE) AS spot_tagged,
    NULLIF(TRIM((SELECT l.value FROM UNNEST(labels) AS l WHERE l.key = 'team' LIMIT 1)), '') AS tag_0,
    NULLIF(TRIM((SELECT l.value FROM UNNEST(labels) AS l WHERE l.key = 'model' LIMIT 1)), '') AS tag_1
  FROM `proj.billing.gcp_billing_export_v1_X`
  WHERE usage_start_time >= TIMESTAMP '2026-09-01 00:00:00+00'
    AND usage_start_time < TIMESTAMP '2026-11-01 00:00:00+00'
)
SELECT
  provider,
  sub_account_id,
  COALESCE(resource_id, '') AS resource_id,
  COALESCE(instance_type, '') AS instance_type,
  COALESCE(region_id, '') AS region_id,
  currency,
  SUM(cost) AS cost
FROM lines
WHERE
  period = 'current'
  AND COALESCE(
    (
      CASE
        WHEN provider = 'aws'
        THEN REGEXP_CONTAINS(
          instance_type,
          '^(p6\\-b200|p3dn|p4de|p5en|g4dn|gr6f|p4d|p5e|g3s|g6e|g6f|gr6|p2|p3|p5|g3|g5|g6)\\.'
        )
        WHEN provider = 'azure'
        THEN REGEXP_CONTAINS(instance_type, '(?i)^standard_n[cdgv]')
        WHEN provider = 'gcp'
        THEN REGEXP_CONTAINS(instance_type, '^(a2|a3|a4|g2)-|\\+\\d+x')
        OR gpu_sku_hours > 0
        OR REGEXP_CONTAINS(usage_type, '(?i)\\bgpu\\b')
        ELSE FALSE
      END
    ),
    FALSE
  )
  AND market = 'spot'
  AND NOT COALESCE(spot_tagged, FALSE)
GROUP BY
  1,
  2,
  3,
  4,
  5,
  6
HAVING
  SUM(cost) > 0
ORDER BY
  cost DESC,
  provider NULLS LAST,
  resource_id NULLS LAST
LIMIT 10;

