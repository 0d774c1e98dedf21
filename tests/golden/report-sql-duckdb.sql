-- spend cube
WITH lines AS (
  SELECT
    CASE WHEN charge_period_start >= TIMESTAMPTZ '2026-10-01 00:00:00+00'
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
      WHEN instance_type IS NOT NULL AND provider <> 'gcp' AND regexp_matches(consumed_unit, '(?i)^ *(?:([0-9]*[1-9][0-9]*) +)?(?:1 +)?(?:instance +)?(?:hours?|hrs?[.]?|h|horas?|小时) *$')
      THEN consumed_quantity * COALESCE(CAST(NULLIF(regexp_extract(consumed_unit, '(?i)^ *(?:([0-9]*[1-9][0-9]*) +)?(?:1 +)?(?:instance +)?(?:hours?|hrs?[.]?|h|horas?|小时) *$', 1), '') AS DOUBLE), 1) ELSE 0
    END AS instance_hours,
    CASE
      WHEN provider = 'gcp' AND regexp_matches(usage_type, '(?i)\bgpu\b') AND regexp_matches(consumed_unit, '(?i)^ *(?:([0-9]*[1-9][0-9]*) +)?(?:1 +)?(?:instance +)?(?:hours?|hrs?[.]?|h|horas?|小时) *$')
      THEN consumed_quantity * COALESCE(CAST(NULLIF(regexp_extract(consumed_unit, '(?i)^ *(?:([0-9]*[1-9][0-9]*) +)?(?:1 +)?(?:instance +)?(?:hours?|hrs?[.]?|h|horas?|小时) *$', 1), '') AS DOUBLE), 1) ELSE 0
    END AS gpu_sku_hours,
    COALESCE(lower(NULLIF(TRIM(json_extract_string(tags, '$."lifecycle"')), '')) = 'spot', FALSE) AS spot_tagged,
    NULLIF(TRIM(json_extract_string(tags, '$."team"')), '') AS tag_0,
    NULLIF(TRIM(json_extract_string(tags, '$."model"')), '') AS tag_1
  FROM billing
  WHERE charge_period_start >= TIMESTAMPTZ '2026-09-01 00:00:00+00'
    AND charge_period_start < TIMESTAMPTZ '2026-11-01 00:00:00+00'
)
SELECT
  period, LEAST(CAST(FLOOR((day_of_month - 1) / 7.0) AS INTEGER) + 1, 5) AS week, provider, region_id, instance_type, market, currency, spot_tagged, tag_0, tag_1,
  SUM(cost) AS cost,
  SUM(list_cost) AS list_cost,
  SUM(CASE WHEN list_cost IS NULL THEN cost ELSE 0 END) AS cost_without_list,
  SUM(CASE WHEN list_cost IS NULL THEN instance_hours ELSE 0 END) AS hours_without_list,
  SUM(instance_hours) AS instance_hours,
  SUM(gpu_sku_hours) AS gpu_sku_hours,
  COUNT(*) AS line_count
FROM lines
WHERE COALESCE((CASE WHEN provider = 'aws' THEN regexp_matches(instance_type, '^(p6\-b200|p3dn|p4de|p5en|g4dn|gr6f|p4d|p5e|g3s|g6e|g6f|gr6|p2|p3|p5|g3|g5|g6)\.') WHEN provider = 'azure' THEN regexp_matches(instance_type, '(?i)^standard_n[cdgv]') WHEN provider = 'gcp' THEN regexp_matches(instance_type, '^(a2|a3|a4|g2)-|\+\d+x') OR gpu_sku_hours > 0 OR regexp_matches(usage_type, '(?i)\bgpu\b') ELSE FALSE END), FALSE)
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10;

-- untagged resources
WITH lines AS (
  SELECT
    CASE WHEN charge_period_start >= TIMESTAMPTZ '2026-10-01 00:00:00+00'
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
      WHEN instance_type IS NOT NULL AND provider <> 'gcp' AND regexp_matches(consumed_unit, '(?i)^ *(?:([0-9]*[1-9][0-9]*) +)?(?:1 +)?(?:instance +)?(?:hours?|hrs?[.]?|h|horas?|小时) *$')
      THEN consumed_quantity * COALESCE(CAST(NULLIF(regexp_extract(consumed_unit, '(?i)^ *(?:([0-9]*[1-9][0-9]*) +)?(?:1 +)?(?:instance +)?(?:hours?|hrs?[.]?|h|horas?|小时) *$', 1), '') AS DOUBLE), 1) ELSE 0
    END AS instance_hours,
    CASE
      WHEN provider = 'gcp' AND regexp_matches(usage_type, '(?i)\bgpu\b') AND regexp_matches(consumed_unit, '(?i)^ *(?:([0-9]*[1-9][0-9]*) +)?(?:1 +)?(?:instance +)?(?:hours?|hrs?[.]?|h|horas?|小时) *$')
      THEN consumed_quantity * COALESCE(CAST(NULLIF(regexp_extract(consumed_unit, '(?i)^ *(?:([0-9]*[1-9][0-9]*) +)?(?:1 +)?(?:instance +)?(?:hours?|hrs?[.]?|h|horas?|小时) *$', 1), '') AS DOUBLE), 1) ELSE 0
    END AS gpu_sku_hours,
    COALESCE(lower(NULLIF(TRIM(json_extract_string(tags, '$."lifecycle"')), '')) = 'spot', FALSE) AS spot_tagged,
    NULLIF(TRIM(json_extract_string(tags, '$."team"')), '') AS tag_0,
    NULLIF(TRIM(json_extract_string(tags, '$."model"')), '') AS tag_1
  FROM billing
  WHERE charge_period_start >= TIMESTAMPTZ '2026-09-01 00:00:00+00'
    AND charge_period_start < TIMESTAMPTZ '2026-11-01 00:00:00+00'
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
WHERE period = 'current' AND COALESCE((CASE WHEN provider = 'aws' THEN regexp_matches(instance_type, '^(p6\-b200|p3dn|p4de|p5en|g4dn|gr6f|p4d|p5e|g3s|g6e|g6f|gr6|p2|p3|p5|g3|g5|g6)\.') WHEN provider = 'azure' THEN regexp_matches(instance_type, '(?i)^standard_n[cdgv]') WHEN provider = 'gcp' THEN regexp_matches(instance_type, '^(a2|a3|a4|g2)-|\+\d+x') OR gpu_sku_hours > 0 OR regexp_matches(usage_type, '(?i)\bgpu\b') ELSE FALSE END), FALSE) AND (tag_0 IS NULL OR tag_1 IS NULL)
GROUP BY 1, 2, 3, 4, 5, 6
HAVING SUM(cost) > 0
ORDER BY cost DESC, provider, resource_id
LIMIT 10;

-- spot resources without the spot tag
WITH lines AS (
  SELECT
    CASE WHEN charge_period_start >= TIMESTAMPTZ '2026-10-01 00:00:00+00'
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
      WHEN instance_type IS NOT NULL AND provider <> 'gcp' AND regexp_matches(consumed_unit, '(?i)^ *(?:([0-9]*[1-9][0-9]*) +)?(?:1 +)?(?:instance +)?(?:hours?|hrs?[.]?|h|horas?|小时) *$')
      THEN consumed_quantity * COALESCE(CAST(NULLIF(regexp_extract(consumed_unit, '(?i)^ *(?:([0-9]*[1-9][0-9]*) +)?(?:1 +)?(?:instance +)?(?:hours?|hrs?[.]?|h|horas?|小时) *$', 1), '') AS DOUBLE), 1) ELSE 0
    END AS instance_hours,
    CASE
      WHEN provider = 'gcp' AND regexp_matches(usage_type, '(?i)\bgpu\b') AND regexp_matches(consumed_unit, '(?i)^ *(?:([0-9]*[1-9][0-9]*) +)?(?:1 +)?(?:instance +)?(?:hours?|hrs?[.]?|h|horas?|小时) *$')
      THEN consumed_quantity * COALESCE(CAST(NULLIF(regexp_extract(consumed_unit, '(?i)^ *(?:([0-9]*[1-9][0-9]*) +)?(?:1 +)?(?:instance +)?(?:hours?|hrs?[.]?|h|horas?|小时) *$', 1), '') AS DOUBLE), 1) ELSE 0
    END AS gpu_sku_hours,
    COALESCE(lower(NULLIF(TRIM(json_extract_string(tags, '$."lifecycle"')), '')) = 'spot', FALSE) AS spot_tagged,
    NULLIF(TRIM(json_extract_string(tags, '$."team"')), '') AS tag_0,
    NULLIF(TRIM(json_extract_string(tags, '$."model"')), '') AS tag_1
  FROM billing
  WHERE charge_period_start >= TIMESTAMPTZ '2026-09-01 00:00:00+00'
    AND charge_period_start < TIMESTAMPTZ '2026-11-01 00:00:00+00'
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
WHERE period = 'current' AND COALESCE((CASE WHEN provider = 'aws' THEN regexp_matches(instance_type, '^(p6\-b200|p3dn|p4de|p5en|g4dn|gr6f|p4d|p5e|g3s|g6e|g6f|gr6|p2|p3|p5|g3|g5|g6)\.') WHEN provider = 'azure' THEN regexp_matches(instance_type, '(?i)^standard_n[cdgv]') WHEN provider = 'gcp' THEN regexp_matches(instance_type, '^(a2|a3|a4|g2)-|\+\d+x') OR gpu_sku_hours > 0 OR regexp_matches(usage_type, '(?i)\bgpu\b') ELSE FALSE END), FALSE) AND market = 'spot' AND NOT COALESCE(spot_tagged, FALSE)
GROUP BY 1, 2, 3, 4, 5, 6
HAVING SUM(cost) > 0
ORDER BY cost DESC, provider, resource_id
LIMIT 10;

