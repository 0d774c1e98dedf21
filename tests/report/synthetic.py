"""A synthetic billing month with answers known in closed form.

October 2026 (31 days, 744 h) and September 2026 (720 h) of an LLM-serving fleet in
AWS us-east-1, one billing line per resource per day, written as a FOCUS 1.0 CSV so it
goes through the real importer. Prices are the embedded snapshot's (us-east-1,
on-demand and one zone's spot price); m5.large is AWS's public on-demand price.

Resources (October, every hour of the month):

==========  ============  =========  ===========================================  ==========
resource    type          market     tags                                         list cost
==========  ============  =========  ===========================================  ==========
p5-spot-1   p5.48xlarge   spot       team=llm model=llama-70b lifecycle=spot      yes
p5-od-1     p5.48xlarge   on-demand  team=llm model=llama-70b                     yes
p5-od-2     p5.48xlarge   on-demand  team=llm model=llama-70b lifecycle=spot      yes
g5-spot-1   g5.xlarge     spot       team=search model=embed  (no lifecycle)      **no**
g5-od-1     g5.xlarge     on-demand  model=embed              (no team)           yes
g6-ri-1     g6.xlarge     committed  (none)                                       yes
m5-1        m5.large      on-demand  team=web                 (not a GPU)         yes
==========  ============  =========  ===========================================  ==========

plus one AWS credit of -100 USD on 15 October, an Azure line of 250 EUR, and in
September p5-od-1 and p5-od-2 all month.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

HOURS_OCT = 31 * 24
HOURS_SEP = 30 * 24

P5_OD = 55.04  # USD/h, snapshot on-demand us-east-1
P5_SPOT = 19.2531  # USD/h, snapshot spot us-east-1
G5_OD = 1.006
G5_SPOT = 0.4246
G6_OD = 0.8048
G6_EFFECTIVE = 0.48288  # 40 % below on-demand: a reservation
M5_OD = 0.096
ON_DEMAND = {"p5.48xlarge": P5_OD, "g5.xlarge": G5_OD, "g6.xlarge": G6_OD, "m5.large": M5_OD}


@dataclass(frozen=True)
class Resource:
    resource_id: str
    instance_type: str
    market: str  # spot | on-demand | committed
    rate: float  # effective cost [USD/h]
    list_rate: float | None  # list cost [USD/h], None: not in the export
    tags: dict[str, str]


OCTOBER = (
    Resource(
        "i-p5-spot-1",
        "p5.48xlarge",
        "spot",
        P5_SPOT,
        P5_OD,
        {"team": "llm", "model": "llama-70b", "lifecycle": "spot"},
    ),
    Resource(
        "i-p5-od-1", "p5.48xlarge", "on-demand", P5_OD, P5_OD, {"team": "llm", "model": "llama-70b"}
    ),
    Resource(
        "i-p5-od-2",
        "p5.48xlarge",
        "on-demand",
        P5_OD,
        P5_OD,
        {"team": "llm", "model": "llama-70b", "lifecycle": "spot"},
    ),
    Resource(
        "i-g5-spot-1", "g5.xlarge", "spot", G5_SPOT, None, {"team": "search", "model": "embed"}
    ),
    Resource("i-g5-od-1", "g5.xlarge", "on-demand", G5_OD, G5_OD, {"model": "embed"}),
    Resource("i-g6-ri-1", "g6.xlarge", "committed", G6_EFFECTIVE, G6_OD, {}),
    Resource("i-m5-1", "m5.large", "on-demand", M5_OD, M5_OD, {"team": "web"}),
)
SEPTEMBER = (OCTOBER[1], OCTOBER[2])

HEADER = [
    "ProviderName",
    "BillingAccountId",
    "SubAccountId",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ChargeCategory",
    "ChargeDescription",
    "BilledCost",
    "EffectiveCost",
    "ListCost",
    "BillingCurrency",
    "PricingCategory",
    "ServiceName",
    "RegionId",
    "AvailabilityZone",
    "ResourceId",
    "SkuId",
    "ConsumedQuantity",
    "ConsumedUnit",
    "Tags",
    "x_UsageType",
]


def _day_rows(resource: Resource, day: datetime) -> dict[str, str]:
    prefix = {"spot": "SpotUsage", "on-demand": "BoxUsage", "committed": "BoxUsage"}
    pricing = {"spot": "Dynamic", "on-demand": "Standard", "committed": "Committed"}
    cost = 24 * resource.rate
    billed = 0.0 if resource.market == "committed" else cost
    return {
        "ProviderName": "AWS",
        "BillingAccountId": "111122223333",
        "SubAccountId": "444455556666",
        "ChargePeriodStart": day.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "ChargePeriodEnd": (day + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "ChargeCategory": "Usage",
        "ChargeDescription": f"{resource.instance_type} usage",
        "BilledCost": repr(billed),
        "EffectiveCost": repr(cost),
        "ListCost": "" if resource.list_rate is None else repr(24 * resource.list_rate),
        "BillingCurrency": "USD",
        "PricingCategory": pricing[resource.market],
        "ServiceName": "Amazon Elastic Compute Cloud",
        "RegionId": "us-east-1",
        "AvailabilityZone": "us-east-1a",
        "ResourceId": resource.resource_id,
        "SkuId": f"SKU-{resource.instance_type}",
        "ConsumedQuantity": "24",
        "ConsumedUnit": "Hours",
        "Tags": json.dumps({f"user:{k}": v for k, v in resource.tags.items()}),
        "x_UsageType": f"{prefix[resource.market]}:{resource.instance_type}",
    }


def _extra_rows() -> list[dict[str, str]]:
    credit = dict.fromkeys(HEADER, "")
    credit.update(
        ProviderName="AWS",
        SubAccountId="444455556666",
        ChargePeriodStart="2026-10-15T00:00:00Z",
        ChargePeriodEnd="2026-10-16T00:00:00Z",
        ChargeCategory="Credit",
        BilledCost="-100.0",
        EffectiveCost="-100.0",
        BillingCurrency="USD",
        PricingCategory="Other",
        Tags="{}",
    )
    azure = dict.fromkeys(HEADER, "")
    azure.update(
        ProviderName="Microsoft",
        SubAccountId="sub-1",
        ChargePeriodStart="2026-10-03T00:00:00Z",
        ChargePeriodEnd="2026-10-04T00:00:00Z",
        ChargeCategory="Usage",
        BilledCost="250.0",
        EffectiveCost="250.0",
        ListCost="250.0",
        BillingCurrency="EUR",
        PricingCategory="Standard",
        RegionId="westeurope",
        ResourceId="/subscriptions/sub-1/vm-1",
        Tags='{"team": "llm"}',
    )
    return [credit, azure]


def write_month(path: Path, october: tuple[Resource, ...] = OCTOBER) -> Path:
    """Write the synthetic FOCUS CSV to ``path`` and return it.

    ``october`` replaces October's resources (the answers below assume the default).
    """
    rows: list[dict[str, str]] = []
    for first, days, resources in (
        (datetime(2026, 10, 1, tzinfo=UTC), 31, october),
        (datetime(2026, 9, 1, tzinfo=UTC), 30, SEPTEMBER),
    ):
        for d in range(days):
            rows += [_day_rows(r, first + timedelta(days=d)) for r in resources]
    rows += _extra_rows()
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=HEADER)
        writer.writeheader()
        writer.writerows(rows)
    return path


# --- the answers (GPU scope, October, USD) --------------------------------------------

GPU_RESOURCES = tuple(r for r in OCTOBER if r.instance_type != "m5.large")
GPUS = {"p5.48xlarge": 8, "g5.xlarge": 1, "g6.xlarge": 1}

SPEND = HOURS_OCT * sum(r.rate for r in GPU_RESOURCES)
PREVIOUS_SPEND = HOURS_SEP * 2 * P5_OD
GPU_HOURS = HOURS_OCT * sum(GPUS[r.instance_type] for r in GPU_RESOURCES)
SPOT_GPU_HOURS = HOURS_OCT * (8 + 1)
SPOT_COST = HOURS_OCT * (P5_SPOT + G5_SPOT)
SPOT_SAVINGS = HOURS_OCT * ((P5_OD - P5_SPOT) + (G5_OD - G5_SPOT))  # g5 spot: catalog list
COMMITMENT_SAVINGS = HOURS_OCT * (G6_OD - G6_EFFECTIVE)
ON_DEMAND_EQUIVALENT = HOURS_OCT * (3 * P5_OD + 2 * G5_OD + G6_OD)
ESTIMATED = HOURS_OCT * G5_OD
UNTAGGED = HOURS_OCT * G6_EFFECTIVE  # team and model both missing
PARTLY_TAGGED = HOURS_OCT * G5_OD  # model only
SPOT_UNTAGGED = HOURS_OCT * G5_SPOT  # spot without lifecycle=spot
TAGGED_NOT_SPOT = HOURS_OCT * P5_OD  # lifecycle=spot on on-demand


def weekly_spend() -> list[float]:
    """GPU spend per report week: days 1-7, 8-14, 15-21, 22-28, 29-31."""
    per_day = 24 * sum(r.rate for r in GPU_RESOURCES)
    return [7 * per_day, 7 * per_day, 7 * per_day, 7 * per_day, 3 * per_day]
