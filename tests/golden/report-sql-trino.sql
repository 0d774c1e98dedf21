-- spend cube
WITH lines AS (
  SELECT
    CASE WHEN line_item_usage_start_date >= TIMESTAMP '2026-10-01 00:00:00'
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
    COALESCE(lower(NULLIF(TRIM(element_at(resource_tags, 'user_lifecycle')), '')) = 'spot', FALSE) AS spot_tagged,
    NULLIF(TRIM(element_at(resource_tags, 'user_team')), '') AS tag_0,
    NULLIF(TRIM(element_at(resource_tags, 'user_model')), '') AS tag_1
  FROM cur2
  WHERE billing_period IN ('2026-09', '2026-10')
    AND line_item_usage_start_date >= TIMESTAMP '2026-09-01 00:00:00'
    AND line_item_usage_start_date < TIMESTAMP '2026-11-01 00:00:00'
)
SELECT
  period,
  LEAST(CAST(FLOOR(CAST((
    day_of_month - 1
  ) AS DOUBLE) / 7.0) AS INTEGER) + 1, 5) AS week,
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
        THEN REGEXP_LIKE(
          instance_type,
          '^(p6\-b200|p3dn|p4de|p5en|g4dn|gr6f|p4d|p5e|g3s|g6e|g6f|gr6|p2|p3|p5|g3|g5|g6)\.'
        )
        WHEN provider = 'azure'
        THEN REGEXP_LIKE(instance_type, '(?i)^standard_n[cdgv]')
        WHEN provider = 'gcp'
        THEN REGEXP_LIKE(instance_type, '^(a2|a3|a4|g2)-|\+\d+x')
        OR gpu_sku_hours > 0
        OR REGEXP_LIKE(usage_type, '(?i)\bgpu\b')
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
    CASE WHEN line_item_usage_start_date >= TIMESTAMP '2026-10-01 00:00:00'
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
    COALESCE(lower(NULLIF(TRIM(element_at(resource_tags, 'user_lifecycle')), '')) = 'spot', FALSE) AS spot_tagged,
    NULLIF(TRIM(element_at(resource_tags, 'user_team')), '') AS tag_0,
    NULLIF(TRIM(element_at(resource_tags, 'user_model')), '') AS tag_1
  FROM cur2
  WHERE billing_period IN ('2026-09', '2026-10')
    AND line_item_usage_start_date >= TIMESTAMP '2026-09-01 00:00:00'
    AND line_item_usage_start_date < TIMESTAMP '2026-11-01 00:00:00'
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
        THEN REGEXP_LIKE(
          instance_type,
          '^(p6\-b200|p3dn|p4de|p5en|g4dn|gr6f|p4d|p5e|g3s|g6e|g6f|gr6|p2|p3|p5|g3|g5|g6)\.'
        )
        WHEN provider = 'azure'
        THEN REGEXP_LIKE(instance_type, '(?i)^standard_n[cdgv]')
        WHEN provider = 'gcp'
        THEN REGEXP_LIKE(instance_type, '^(a2|a3|a4|g2)-|\+\d+x')
        OR gpu_sku_hours > 0
        OR REGEXP_LIKE(usage_type, '(?i)\bgpu\b')
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
  provider,
  resource_id
LIMIT 10;

-- spot resources without the spot tag
WITH lines AS (
  SELECT
    CASE WHEN line_item_usage_start_date >= TIMESTAMP '2026-10-01 00:00:00'
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
    COALESCE(lower(NULLIF(TRIM(element_at(resource_tags, 'user_lifecycle')), '')) = 'spot', FALSE) AS spot_tagged,
    NULLIF(TRIM(element_at(resource_tags, 'user_team')), '') AS tag_0,
    NULLIF(TRIM(element_at(resource_tags, 'user_model')), '') AS tag_1
  FROM cur2
  WHERE billing_period IN ('2026-09', '2026-10')
    AND line_item_usage_start_date >= TIMESTAMP '2026-09-01 00:00:00'
    AND line_item_usage_start_date < TIMESTAMP '2026-11-01 00:00:00'
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
        THEN REGEXP_LIKE(
          instance_type,
          '^(p6\-b200|p3dn|p4de|p5en|g4dn|gr6f|p4d|p5e|g3s|g6e|g6f|gr6|p2|p3|p5|g3|g5|g6)\.'
        )
        WHEN provider = 'azure'
        THEN REGEXP_LIKE(instance_type, '(?i)^standard_n[cdgv]')
        WHEN provider = 'gcp'
        THEN REGEXP_LIKE(instance_type, '^(a2|a3|a4|g2)-|\+\d+x')
        OR gpu_sku_hours > 0
        OR REGEXP_LIKE(usage_type, '(?i)\bgpu\b')
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
  provider,
  resource_id
LIMIT 10;

