"""A local GCP fake: the Cloud Billing Catalog REST API and BigQuery ``jobs.query``.

``FakeGcp`` is a ``tests.fakes.base.FakeServer`` (HTTP on 127.0.0.1, port chosen by the
OS). ``CloudCatalogClient(transport="rest", client_options=ClientOptions(api_endpoint=
fake.url))`` and ``bigquery.Client(client_options={"api_endpoint": fake.url})``, both
with ``AnonymousCredentials``, talk to it as to Google.

Cloud Billing Catalog (``GET /v1/services``, ``GET /v1/services/{id}/skus``)
    camelCase JSON as the real API writes it (``skuId``, ``category{serviceDisplayName,
    resourceFamily, resourceGroup, usageType}``, ``serviceRegions``, ``pricingInfo[{
    pricingExpression{usageUnit, tieredRates[{startUsageAmount, unitPrice{currencyCode,
    units (a string), nanos}}]}}]``, ``nextPageToken``; a 0 ``startUsageAmount`` is
    omitted, as proto3 JSON does). ``pageSize`` is honoured up to ``sku_page_max``
    (default 40, so the SKUs span many pages); tokens are opaque and bound to the
    request. Only ``currencyCode=USD`` (or none) is served.

How the part prices are derived from the REAL SkyPilot GCP catalog subsets
(``skypilot-catalog/gcp_v8_vms_*``; one price per (machine, region) in every file):

* **GPUs**: the accelerator rows price N GPUs per zone. The per-GPU price of an
  accelerator in a region and market is the price of its largest count divided by that
  count, rounded to nanos (e.g. A100 on demand in us-central1: 46.94253 / 16 =
  2.933908). Every accelerator row is reproduced by ``round(N x per-GPU, 5)`` within
  1e-5 USD/h (checked at load). Regions whose spot cell is empty get no spot SKU.
* **Cores and RAM**: the VM rows (empty accelerator columns) hold the VM part only,
  which is linear in vCPUs and memory. Per family (``a2``; ``a3`` = a3 high/edge/mega
  GPU; ``a3-ultra`` = a3-ultragpu; ``g2``), region and market: where the region has
  machines with two memory/vCPU ratios (a2 highgpu 85/12 and ultragpu 170/12 in
  us-central1, europe-west4, asia-southeast1) core and RAM prices are the exact
  least-squares solution (us-central1 on demand: 0.031611 per vCPU-h, 0.004237 per
  GiB-h). Elsewhere all machines share one ratio (g2: 4 GiB per vCPU; a3: 9), so the
  data fix only their sum; the split then assumes RAM/GiB = ``ram_to_core`` x core/vCPU,
  the mean ratio of the exact fits (about 0.134), and the core price is the largest
  machine's price / (vCPUs + ratio x GiB). Prices are rounded to nanos. Composing them
  back (vCPUs x core + GiB x RAM [+ GPUs x GPU]) reproduces every VM row, and every
  VM+GPU total, within ``COMPOSE_TOLERANCE`` (1.5e-5 USD/h; checked at load).
* **a4**: the catalog's a4-highgpu-8g VM prices are 0.0 (unknown), so the fake has NO
  A4 core or RAM SKUs: a4 machines can only come out unpriced (B200 GPU SKUs exist).
* **n1**: the subsets hold no n1 rows. The fake prices ``N1 Predefined`` cores and RAM
  in every region with T4/V100/P100/P4 accelerator rows at the a2 prices of that region
  (GCP lists A2 and N1 at the same on-demand core and RAM price in us-central1), or at
  us-central1's a2 prices where the region has no a2: synthetic, documented figures.

SKUs group the regions that share one price (``serviceRegions`` lists them; the
description says "running in Americas/EMEA/APAC" for a group, the city for one region).
To exercise the filters there are also: spot SKUs of the G2 family and of the L4 GPU
labelled ``usageType: OnDemand`` (only their "Spot Preemptible" description says spot);
1- and 3-year commitment SKUs (``Commit1Yr``/``Commit3Yr``, "Commitment v1: ..."),
sole-tenancy, custom and extended-memory SKUs, a T4 virtual-workstation GPU, non-GPU
families (E2, N2, C3), and non-Compute SKUs (network egress with tiers, PD capacity per
GiBy.mo).

BigQuery (``POST /bigquery/v2/projects/{p}/queries``, ``GET .../jobs/{id}``,
``GET .../queries/{id}?pageToken``)
    The fake RUNS the query on an in-memory DuckDB holding two billing export tables
    (``STANDARD_TABLE`` and ``DETAILED_TABLE``, the real export schema with STRUCT and
    ARRAY columns), after transpiling the GoogleSQL to DuckDB with sqlglot
    (``read="bigquery", write="duckdb"``: ``REGEXP_CONTAINS``, ``SAFE_DIVIDE``,
    ``UNNEST(...) AS x``, ``@name`` parameters -> ``$name``...; a ``project.dataset.table``
    name of a table the fake holds becomes that one quoted DuckDB table name), and
    answers in the jobs.query wire format (``schema.fields``, ``rows[{f:[{v}]}]``,
    ``totalRows``, ``jobReference``, ``totalBytesProcessed``; TIMESTAMPs as int64
    microseconds when the client asks ``formatOptions.useInt64Timestamp``).
    ``totalBytesProcessed`` is a deterministic estimate: rows x columns x 8 bytes of
    every table the query names; a ``maximumBytesBilled`` below the bytes billed (at
    least 10 MiB, as BigQuery bills) fails the query with 400
    ``bytesBilledLimitExceeded``. An unknown table is 404 ``notFound``; SQL sqlglot
    cannot parse or DuckDB rejects is 400 ``invalidQuery``. ``bq_page_size`` (default
    None: one page) makes results page through ``pageToken`` as BigQuery does for large
    results.

No public sample of a GCP billing export exists (see ../shared/data/README.md), so the
billing rows are SYNTHETIC but realistic: one row per day and SKU (real exports write
about one per hour) for a month of a small LLM-serving fleet: an a2-highgpu-1g on spot
and one on demand (us-central1, labels team=ml, model=llama-70b), a g2-standard-8 on
spot in europe-west4 for days 10-20 (team=search, model=mistral-7b), an n1-standard-8
with one T4 on demand in us-east1 without labels (n1 lines carry a sustained-use
credit), a daily persistent-disk line, a one-off promotion credit; plus rows the query
must leave out (Cloud Storage, and Compute Engine in the months before and after). Costs
are the fake catalog's part prices x usage, so they agree with the collected offers.
The project number and billing account id are in the table but never selected.

Faults, settable at any time from any thread, per API (``"catalog"`` or ``"bigquery"``):
``latency_s``; ``throttle(api, times)`` (HTTP 429 ``RESOURCE_EXHAUSTED`` with reason
``rateLimitExceeded``); ``hang(api, seconds)``; ``malformed(api, page, times)`` (a
page's body cut in half, HTTP 200); and ``inject(fault, api, ...)`` with the shared
vocabulary of ``tests.fakes.faults`` (throttle, hang, trickle, truncate, empty,
page_cycle, http_403 ``PERMISSION_DENIED``, http_500 ``INTERNAL``). Pages: the SKU
listing's pages are 1, 2...; BigQuery's query answer is page 1 and its result pages 2,
3...; the services listing has no page number (so ``empty`` and ``truncate``, which
default to page 1, hit the SKUs). ``clear_faults()`` ends them all. ``requests`` logs
``LoggedRequest(api, method, path, params, body)`` for every request.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import threading
import traceback
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlsplit

from tests.fakes.base import Countdown, Delays, FakeServer, PageFaults, Reply
from tests.fakes.faults import Fault, truncated

DEFAULT_NOW = datetime(2025, 7, 1, 12, 0, 0, tzinfo=UTC)
BILLING_MONTH = "2025-06"  # the month before DEFAULT_NOW: the default billing month

PROJECT_ID = "ml-serving-prod"
PROJECT_NUMBER = "418274650932"  # never selected; tests check it never shows
BILLING_ACCOUNT = "01ABCD-23EF45-6789AB"
_ACCOUNT_TABLE = BILLING_ACCOUNT.replace("-", "_")
STANDARD_TABLE = f"{PROJECT_ID}.billing_export.gcp_billing_export_v1_{_ACCOUNT_TABLE}"
DETAILED_TABLE = f"{PROJECT_ID}.billing_export.gcp_billing_export_resource_v1_{_ACCOUNT_TABLE}"

COMPUTE_ID = "6F81-5844-456A"
SERVICES = (
    (COMPUTE_ID, "Compute Engine"),
    ("95FF-2EF5-5EA1", "Cloud Storage"),
    ("24E6-581D-38E5", "BigQuery"),
)
VM_FILES = ("gcp_v8_vms_a2_a3_a4_gpu_subset.csv", "gcp_v8_vms_g2_L4_subset.csv")
ACCELERATOR_FILE = "gcp_v8_vms_gpu_accelerator_rows.csv"
COMPOSE_TOLERANCE = 1.5e-5  # [USD/h] catalog prices are rounded to 5 decimals
SKU_PAGE_MAX = 40
BYTES_PER_VALUE = 8  # totalBytesProcessed estimate: every value of a named table, 8 bytes
MIN_BYTES_BILLED = 10 * 1024 * 1024  # BigQuery bills at least 10 MiB per query
EFFECTIVE_TIME = "2025-06-01T00:00:00Z"

FAMILY_NAMES = {
    "a2": "A2",
    "a3": "A3",
    "a3plus": "A3Plus",
    "a3-ultra": "A3 Ultra",
    "g2": "G2",
    "n1": "N1 Predefined",
}
GPU_NAMES = {
    "A100": "Nvidia Tesla A100 GPU",
    "A100-80GB": "Nvidia Tesla A100 80GB GPU",
    "H100": "Nvidia H100 80GB GPU",
    "H100-MEGA": "Nvidia H100 80GB Mega GPU",
    "H200": "Nvidia H200 141GB GPU",
    "B200": "Nvidia B200 GPU",
    "L4": "Nvidia L4 GPU",
    "T4": "Nvidia Tesla T4 GPU",
    "V100": "Nvidia Tesla V100 GPU",
    "P100": "Nvidia Tesla P100 GPU",
    "P4": "Nvidia Tesla P4 GPU",
}
N1_ACCELERATORS = ("T4", "V100", "P100", "P4")
MISLABELLED_SPOT = frozenset({"g2", "L4"})  # spot SKUs with usageType OnDemand
CITIES = {
    "asia-east1": "Taiwan",
    "asia-east2": "Hong Kong",
    "asia-northeast1": "Tokyo",
    "asia-northeast3": "Seoul",
    "asia-south1": "Mumbai",
    "asia-south2": "Delhi",
    "asia-southeast1": "Singapore",
    "asia-southeast2": "Jakarta",
    "australia-southeast1": "Sydney",
    "europe-central2": "Warsaw",
    "europe-north1": "Finland",
    "europe-west1": "Belgium",
    "europe-west2": "London",
    "europe-west3": "Frankfurt",
    "europe-west4": "Netherlands",
    "europe-west6": "Zurich",
    "europe-west9": "Paris",
    "me-central2": "Dammam",
    "me-west1": "Tel Aviv",
    "northamerica-northeast1": "Montreal",
    "northamerica-northeast2": "Toronto",
    "southamerica-east1": "Sao Paulo",
    "us-central1": "Iowa",
    "us-east1": "South Carolina",
    "us-east4": "Northern Virginia",
    "us-east5": "Columbus",
    "us-south1": "Dallas",
    "us-west1": "Oregon",
    "us-west2": "Los Angeles",
    "us-west3": "Salt Lake City",
    "us-west4": "Las Vegas",
}


def _continent(region: str) -> str:
    if region.startswith(("us-", "northamerica-", "southamerica-")):
        return "Americas"
    if region.startswith(("europe-", "me-")):
        return "EMEA"
    return "APAC"


# --- the catalog data ----------------------------------------------------------------------


class PartPrice(NamedTuple):
    """One fitted part price: (part, family or accelerator, region, market) -> USD."""

    part: str  # core, ram or gpu
    key: str  # family (a2, g2...) or accelerator (A100-80GB...)
    region: str
    market: str  # on-demand or spot
    price: float  # USD per vCPU-hour, GiB-hour or GPU-hour, rounded to nanos


@dataclass(frozen=True)
class CatalogFit:
    """Part prices fitted from the SkyPilot subsets, and how well they reproduce them.

    Attributes
    ----------
    parts
        Every fitted part price.
    ram_to_core
        RAM price per GiB / core price per vCPU, from the exact a2 fits.
    exact_fits
        (family, region, market) whose core and RAM prices the data determine exactly.
    max_vm_error, max_gpu_error, max_total_error
        Largest |composed - catalog| [USD/h] over the VM rows, accelerator rows and
        VM+GPU totals covered.
    covered
        (instance type, region) -> catalog (on-demand, spot) VM+GPU totals [USD/h],
        NaN where a part is unknown.
    """

    parts: tuple[PartPrice, ...]
    ram_to_core: float
    exact_fits: frozenset[tuple[str, str, str]]
    max_vm_error: float
    max_gpu_error: float
    max_total_error: float
    covered: Mapping[tuple[str, str], tuple[float, float]]

    def price(self, part: str, key: str, region: str, market: str) -> float | None:
        """A fitted price [USD per unit-hour], or None."""
        for p in self.parts:
            if (p.part, p.key, p.region, p.market) == (part, key, region, market):
                return p.price
        return None


def _nanos(value: float) -> float:
    return round(value, 9)


def fit_catalog(data_dir: Path) -> CatalogFit:
    """Fit part prices from the SkyPilot GCP subsets under ``data_dir`` (cached)."""
    return _fit_catalog(Path(data_dir).resolve())


@lru_cache(maxsize=4)
def _fit_catalog(data_dir: Path) -> CatalogFit:
    import numpy as np
    import pandas as pd

    from spotadvisor.collect.gcp_offers import pricing_family
    from spotadvisor.gpus import gcp_accelerator

    folder = data_dir / "skypilot-catalog"
    vms = pd.concat([pd.read_csv(folder / name) for name in VM_FILES], ignore_index=True)
    vms = vms.drop_duplicates(["InstanceType", "Region"])
    accelerators = pd.read_csv(folder / ACCELERATOR_FILE)
    markets = (("on-demand", "Price"), ("spot", "SpotPrice"))

    # GPUs: price of the largest count / count, per (accelerator, region, market).
    parts: dict[tuple[str, str, str, str], float] = {}
    for (name, region), rows in accelerators.groupby(["AcceleratorName", "Region"]):
        for market, column in markets:
            known = rows.dropna(subset=[column])
            known = known[known[column] > 0]
            if known.empty:
                continue
            top = known.loc[known["AcceleratorCount"].idxmax()]
            parts[("gpu", str(name), str(region), market)] = _nanos(
                float(top[column]) / float(top["AcceleratorCount"])
            )
    gpu_error = 0.0
    for row in accelerators.itertuples(index=False):
        for market, column in markets:
            value = getattr(row, column)
            per_gpu = parts.get(("gpu", row.AcceleratorName, row.Region, market))
            if per_gpu is not None and not math.isnan(value):
                gpu_error = max(gpu_error, abs(round(row.AcceleratorCount * per_gpu, 5) - value))

    # Cores and RAM: exact where two memory/vCPU ratios exist, else an assumed split.
    vms["family"] = vms["InstanceType"].map(pricing_family)
    exact: dict[tuple[str, str, str], tuple[float, float]] = {}
    single: dict[tuple[str, str, str], pd.DataFrame] = {}
    for (family, region), rows in vms.groupby(["family", "Region"]):
        for market, column in markets:
            known = rows[rows[column] > 0].dropna(subset=[column])
            if known.empty:
                continue  # a4: prices are 0.0 (unknown) in the catalog
            ratios = (known["MemoryGiB"] / known["vCPUs"]).round(6).nunique()
            key = (str(family), str(region), market)
            if ratios >= 2:
                a = known[["vCPUs", "MemoryGiB"]].to_numpy(dtype=float)
                solution = np.linalg.lstsq(a, known[column].to_numpy(dtype=float), rcond=None)[0]
                exact[key] = (float(solution[0]), float(solution[1]))
            else:
                single[key] = known
    ram_to_core = float(np.mean([ram / core for core, ram in exact.values()]))
    for (family, region, market), (core, ram) in exact.items():
        parts[("core", family, region, market)] = _nanos(core)
        parts[("ram", family, region, market)] = _nanos(ram)
    for (family, region, market), known in single.items():
        column = "Price" if market == "on-demand" else "SpotPrice"
        top = known.loc[known["vCPUs"].idxmax()]
        core = float(top[column]) / (float(top["vCPUs"]) + ram_to_core * float(top["MemoryGiB"]))
        parts[("core", family, region, market)] = _nanos(core)
        parts[("ram", family, region, market)] = _nanos(ram_to_core * core)

    # n1 (no rows in the subsets): a2's prices of the region, else us-central1's.
    n1_regions = sorted(
        set(accelerators.loc[accelerators["AcceleratorName"].isin(N1_ACCELERATORS), "Region"])
    )
    for region in n1_regions:
        for market, _ in markets:
            for part in ("core", "ram"):
                price = parts.get((part, "a2", region, market))
                if price is None:
                    price = parts[(part, "a2", "us-central1", market)]
                parts[(part, "n1", region, market)] = price

    vm_error = total_error = 0.0
    covered: dict[tuple[str, str], tuple[float, float]] = {}
    accelerator_rows: dict[tuple[str, str, float, str], float] = {}
    for row in accelerators.itertuples(index=False):
        for _, column in markets:
            key = (row.Region, row.AcceleratorName, float(row.AcceleratorCount), column)
            accelerator_rows.setdefault(key, float(getattr(row, column)))
    for row in vms.itertuples(index=False):
        found = gcp_accelerator(row.InstanceType)
        if found is None:
            continue
        gpus, accelerator = found
        totals = []
        for market, column in markets:
            core = parts.get(("core", row.family, row.Region, market))
            ram = parts.get(("ram", row.family, row.Region, market))
            vm_price = getattr(row, column)
            if core is None or ram is None or not vm_price > 0:
                totals.append(math.nan)
                continue
            vm_error = max(vm_error, abs(row.vCPUs * core + row.MemoryGiB * ram - vm_price))
            gpu_price = accelerator_rows.get(
                (row.Region, accelerator, float(gpus.count), column), math.nan
            )
            per_gpu = parts.get(("gpu", accelerator, row.Region, market))
            if per_gpu is None or math.isnan(gpu_price):
                totals.append(math.nan)
                continue
            composed = row.vCPUs * core + row.MemoryGiB * ram + gpus.count * per_gpu
            total = vm_price + gpu_price
            total_error = max(total_error, abs(composed - total))
            totals.append(total)
        covered[(row.InstanceType, row.Region)] = (totals[0], totals[1])
    worst = max(vm_error, total_error, gpu_error)
    if worst > COMPOSE_TOLERANCE:
        raise AssertionError(f"fitted parts miss the catalog by {worst:.6f} USD/h")
    return CatalogFit(
        parts=tuple(PartPrice(*key, price) for key, price in sorted(parts.items())),
        ram_to_core=ram_to_core,
        exact_fits=frozenset(exact),
        max_vm_error=vm_error,
        max_gpu_error=gpu_error,
        max_total_error=total_error,
        covered=covered,
    )


# --- SKUs ----------------------------------------------------------------------------------


def _sku_id(text: str) -> str:
    digest = hashlib.sha256(text.encode()).hexdigest().upper()
    return f"{digest[:4]}-{digest[4:8]}-{digest[8:12]}"


def _money(price: float) -> dict[str, Any]:
    units = math.floor(price)
    nanos = round((price - units) * 1e9)
    if nanos >= 1_000_000_000:
        units, nanos = units + 1, nanos - 1_000_000_000
    money: dict[str, Any] = {"currencyCode": "USD", "units": str(units)}
    if nanos:
        money["nanos"] = nanos
    return money


def make_sku(
    description: str,
    regions: Iterable[str],
    price: float,
    *,
    unit: str = "h",
    resource_family: str = "Compute",
    resource_group: str = "CPU",
    usage_type: str = "OnDemand",
    tiers: Iterable[tuple[float, float]] | None = None,
) -> dict[str, Any]:
    """One SKU as the REST API writes it (camelCase, units as a string, 0 start omitted)."""
    listed = sorted(regions)
    sku_id = _sku_id(f"{description}|{usage_type}|{','.join(listed)}")
    rates = []
    for start, amount in tiers if tiers is not None else [(0.0, price)]:
        rate: dict[str, Any] = {"unitPrice": _money(amount)}
        if start:
            rate["startUsageAmount"] = start
        rates.append(rate)
    unit_names = {
        "h": "hour",
        "GiBy.h": "gibibyte hour",
        "GiBy.mo": "gibibyte month",
        "GiBy": "gibibyte",
    }
    return {
        "name": f"services/{COMPUTE_ID}/skus/{sku_id}",
        "skuId": sku_id,
        "description": description,
        "category": {
            "serviceDisplayName": "Compute Engine",
            "resourceFamily": resource_family,
            "resourceGroup": resource_group,
            "usageType": usage_type,
        },
        "serviceRegions": listed,
        "pricingInfo": [
            {
                "summary": "",
                "pricingExpression": {
                    "usageUnit": unit,
                    "displayQuantity": 1,
                    "tieredRates": rates,
                    "usageUnitDescription": unit_names.get(unit, unit),
                    "baseUnit": "s" if unit == "h" else "By.s",
                    "baseUnitDescription": "second" if unit == "h" else "byte second",
                    "baseUnitConversionFactor": 3600 if unit == "h" else 3865470566400,
                },
                "currencyConversionRate": 1,
                "effectiveTime": EFFECTIVE_TIME,
            }
        ],
        "serviceProviderName": "Google",
        "geoTaxonomy": {
            "type": "MULTI_REGIONAL" if len(listed) > 1 else "REGIONAL",
            "regions": listed,
        },
    }


def _location(regions: list[str]) -> str:
    if len(regions) == 1:
        return CITIES.get(regions[0], regions[0])
    continents = {_continent(r) for r in regions}
    return continents.pop() if len(continents) == 1 else "multiple regions"


def build_skus(fit: CatalogFit) -> list[dict[str, Any]]:
    """Every SKU the fake serves, sorted by SKU id."""
    groups: dict[tuple[str, str, str, str, float], list[str]] = {}
    for p in fit.parts:
        continent = _continent(p.region)
        groups.setdefault((p.part, p.key, p.market, continent, p.price), []).append(p.region)
    skus: list[dict[str, Any]] = []
    for (part, key, market, _, price), regions in sorted(groups.items()):
        location = _location(regions)
        if part == "gpu":
            what, unit, group = GPU_NAMES[key], "h", "GPU"
        else:
            what = f"{FAMILY_NAMES[key]} Instance {'Core' if part == 'core' else 'Ram'}"
            unit = "h" if part == "core" else "GiBy.h"
            group = "N1Standard" if key == "n1" else ("CPU" if part == "core" else "RAM")
        description = f"{what} running in {location}"
        usage = "OnDemand"
        if market == "spot":
            description = f"Spot Preemptible {description}"
            usage = "OnDemand" if key in MISLABELLED_SPOT else "Preemptible"
        skus.append(
            make_sku(description, regions, price, unit=unit, resource_group=group, usage_type=usage)
        )
        if market == "on-demand" and key in ("a2", "A100", "L4"):
            short = {"core": "Cpu", "ram": "Ram"}.get(part, "")
            for years, factor in ((1, 0.63), (3, 0.45)):
                name = f"{what.removesuffix(' Instance Core').removesuffix(' Instance Ram')}"
                text = (
                    f"Commitment v1: {name} {short} in {location} for {years} Year"
                    if part != "gpu"
                    else f"Commitment v1: {what} in {location} for {years} Year"
                )
                skus.append(
                    make_sku(
                        " ".join(text.split()),
                        regions,
                        _nanos(price * factor),
                        unit=unit,
                        resource_group=group,
                        usage_type=f"Commit{years}Yr",
                    )
                )
        if market == "on-demand" and key in ("a2", "n1") and part != "gpu":
            label = FAMILY_NAMES[key].split()[0]
            noun = "Core" if part == "core" else "Ram"
            skus.append(
                make_sku(
                    f"{label} Sole Tenancy Instance {noun} running in {location}",
                    regions,
                    _nanos(price * 1.1),
                    unit=unit,
                    resource_group=group,
                )
            )
            if key == "n1":
                custom = (
                    "Custom Instance Core" if part == "core" else "Custom Extended Instance Ram"
                )
                skus.append(
                    make_sku(
                        f"N1 {custom} running in {location}",
                        regions,
                        _nanos(price * 1.05),
                        unit=unit,
                        resource_group="N1Custom",
                    )
                )
        if market == "on-demand" and key == "T4":
            skus.append(
                make_sku(
                    f"Nvidia Tesla T4 Virtual Workstation GPU running in {location}",
                    regions,
                    _nanos(price + 0.2),
                    resource_group="GPU",
                )
            )
    americas = ["us-central1", "us-east1", "us-east4", "us-west1"]
    for family, core, ram in (
        ("E2", 0.021811, 0.002923),
        ("N2", 0.031611, 0.004237),
        ("C3", 0.03465, 0.003938),
    ):
        skus.append(make_sku(f"{family} Instance Core running in Americas", americas, core))
        skus.append(
            make_sku(
                f"{family} Instance Ram running in Americas",
                americas,
                ram,
                unit="GiBy.h",
                resource_group="RAM",
            )
        )
        skus.append(
            make_sku(
                f"Spot Preemptible {family} Instance Core running in Americas",
                americas,
                _nanos(core * 0.3),
                usage_type="Preemptible",
            )
        )
    skus.append(
        make_sku(
            "Network Internet Egress from Americas to Americas",
            americas,
            0.12,
            unit="GiBy",
            resource_family="Network",
            resource_group="PremiumInternetEgress",
            tiers=[(0.0, 0.12), (1024.0, 0.11), (10240.0, 0.08)],
        )
    )
    skus.append(
        make_sku(
            "Storage PD Capacity",
            americas,
            0.04,
            unit="GiBy.mo",
            resource_family="Storage",
            resource_group="PDStandard",
        )
    )
    return sorted(skus, key=lambda s: s["skuId"])


# --- billing export rows -------------------------------------------------------------------

_KV = "STRUCT(key VARCHAR, value VARCHAR)[]"
BILLING_COLUMNS: tuple[tuple[str, str], ...] = (
    ("billing_account_id", "VARCHAR"),
    ("service", "STRUCT(id VARCHAR, description VARCHAR)"),
    ("sku", "STRUCT(id VARCHAR, description VARCHAR)"),
    ("usage_start_time", "TIMESTAMPTZ"),
    ("usage_end_time", "TIMESTAMPTZ"),
    (
        "project",
        f"STRUCT(id VARCHAR, number VARCHAR, name VARCHAR, labels {_KV}, ancestry_numbers VARCHAR)",
    ),
    ("labels", _KV),
    ("system_labels", _KV),
    ("location", "STRUCT(location VARCHAR, country VARCHAR, region VARCHAR, zone VARCHAR)"),
    ("tags", "STRUCT(key VARCHAR, value VARCHAR, inherited BOOLEAN, namespace VARCHAR)[]"),
    ("export_time", "TIMESTAMPTZ"),
    ("cost", "DOUBLE"),
    ("currency", "VARCHAR"),
    ("currency_conversion_rate", "DOUBLE"),
    (
        "usage",
        "STRUCT(amount DOUBLE, unit VARCHAR, amount_in_pricing_units DOUBLE, pricing_unit VARCHAR)",
    ),
    (
        "credits",
        "STRUCT(name VARCHAR, amount DOUBLE, full_name VARCHAR, id VARCHAR, type VARCHAR)[]",
    ),
    ("invoice", "STRUCT(month VARCHAR)"),
    ("cost_type", "VARCHAR"),
    ("adjustment_info", "STRUCT(id VARCHAR, description VARCHAR, mode VARCHAR, type VARCHAR)"),
)
DETAILED_COLUMNS: tuple[tuple[str, str], ...] = (
    ("resource", "STRUCT(name VARCHAR, global_name VARCHAR)"),
    (
        "price",
        "STRUCT(effective_price DOUBLE, tier_start_amount DOUBLE, unit VARCHAR, "
        "pricing_unit_quantity DOUBLE)",
    ),
)


def billing_table_ddl(name: str, *, detailed: bool) -> str:
    """``CREATE TABLE`` (DuckDB) for a billing export table with the real columns."""
    columns = BILLING_COLUMNS + (DETAILED_COLUMNS if detailed else ())
    body = ", ".join(f'"{n}" {t}' for n, t in columns)
    return f'CREATE TABLE "{name}" ({body})'


def load_billing_table(
    con: Any, name: str, rows: Iterable[Mapping[str, Any]], *, detailed: bool
) -> None:
    """Create billing export table ``name`` on DuckDB ``con`` and insert ``rows``.

    The rows go through a newline-delimited JSON file (DuckDB's ``read_json`` with the
    table's column types), which is much faster than inserting nested values one by one.
    """
    import os
    import tempfile

    columns = BILLING_COLUMNS + (DETAILED_COLUMNS if detailed else ())
    con.execute(billing_table_ddl(name, detailed=detailed))
    handle, path = tempfile.mkstemp(suffix=".json")
    try:
        with os.fdopen(handle, "w") as out:
            for row in rows:
                record = {n: row.get(n) for n, _ in columns}
                out.write(json.dumps(record, default=lambda v: v.isoformat()) + "\n")
        types = ", ".join(f"'{n}': '{t}'" for n, t in columns)
        con.execute(
            f'INSERT INTO "{name}" SELECT * FROM read_json(?, '
            f"format = 'newline_delimited', columns = {{{types}}})",
            [path],
        )
    finally:
        Path(path).unlink()


def billing_row(
    *,
    sku: str,
    sku_id: str,
    start: datetime,
    hours: float,
    cost: float,
    region: str | None,
    zone: str | None,
    amount: float,
    pricing_unit: str,
    labels: Mapping[str, str] | None = None,
    machine_spec: str | None = None,
    credits: Iterable[tuple[str, float, str]] = (),
    resource: str | None = None,
    service: tuple[str, str] = (COMPUTE_ID, "Compute Engine"),
    cost_type: str = "regular",
) -> dict[str, Any]:
    """One billing export row (the detailed table's columns; standard drops two)."""
    end = start + timedelta(hours=hours)
    system = (
        [{"key": "compute.googleapis.com/machine_spec", "value": machine_spec}]
        if machine_spec
        else []
    )
    if machine_spec:
        system.append({"key": "compute.googleapis.com/cores", "value": "0"})
    return {
        "billing_account_id": BILLING_ACCOUNT,
        "service": {"id": service[0], "description": service[1]},
        "sku": {"id": sku_id, "description": sku},
        "usage_start_time": start,
        "usage_end_time": end,
        "project": {
            "id": PROJECT_ID,
            "number": PROJECT_NUMBER,
            "name": PROJECT_ID,
            "labels": [{"key": "env", "value": "prod"}],
            "ancestry_numbers": f"/{PROJECT_NUMBER}/",
        },
        "labels": [{"key": k, "value": v} for k, v in (labels or {}).items()],
        "system_labels": system,
        "location": {
            "location": zone or region,
            "country": "US" if (region or "").startswith("us") else "NL",
            "region": region,
            "zone": zone,
        },
        "tags": [],
        "export_time": end + timedelta(hours=5),
        "cost": round(cost, 6),
        "currency": "USD",
        "currency_conversion_rate": 1.0,
        "usage": {
            "amount": hours * 3600 * (amount / hours if hours else 0),
            "unit": "seconds" if pricing_unit == "hour" else "byte-seconds",
            "amount_in_pricing_units": amount,
            "pricing_unit": pricing_unit,
        },
        "credits": [
            {
                "name": name,
                "amount": round(value, 6),
                "full_name": name,
                "id": f"credit-{kind}",
                "type": kind,
            }
            for name, value, kind in credits
        ],
        "invoice": {"month": start.strftime("%Y%m")},
        "cost_type": cost_type,
        "adjustment_info": None,
        "resource": {
            "name": resource,
            "global_name": f"//compute.googleapis.com/projects/{PROJECT_NUMBER}/zones/{zone}/instances/{resource}",
        }
        if resource
        else None,
        "price": None,
    }


@dataclass(frozen=True)
class _Vm:
    name: str
    machine_spec: str
    market: str
    region: str
    zone: str
    labels: Mapping[str, str]
    parts: tuple[tuple[str, str, float], ...]  # (part, family or accelerator, amount per hour)
    days: tuple[int, int]  # first and last day of the month it runs (1-based)
    sud: float = 0.0  # sustained-use credit share (n1)


FLEET = (
    _Vm(
        "llama-spot-1",
        "a2-highgpu-1g",
        "spot",
        "us-central1",
        "us-central1-a",
        {"team": "ml", "model": "llama-70b"},
        (("core", "a2", 12), ("ram", "a2", 85), ("gpu", "A100", 1)),
        (1, 31),
    ),
    _Vm(
        "llama-od-1",
        "a2-highgpu-1g",
        "on-demand",
        "us-central1",
        "us-central1-b",
        {"team": "ml", "model": "llama-70b"},
        (("core", "a2", 12), ("ram", "a2", 85), ("gpu", "A100", 1)),
        (1, 31),
    ),
    _Vm(
        "mistral-spot-1",
        "g2-standard-8",
        "spot",
        "europe-west4",
        "europe-west4-a",
        {"team": "search", "model": "mistral-7b"},
        (("core", "g2", 8), ("ram", "g2", 32), ("gpu", "L4", 1)),
        (10, 20),
    ),
    _Vm(
        "legacy-t4",
        "n1-standard-8",
        "on-demand",
        "us-east1",
        "us-east1-c",
        {},
        (("core", "n1", 8), ("ram", "n1", 30), ("gpu", "T4", 1)),
        (1, 31),
        sud=0.2,
    ),
)


def _descriptions(fit: CatalogFit) -> dict[tuple[str, str, str, str], tuple[str, str]]:
    """(part, key, region, market) -> (SKU description, SKU id) of the fake catalog."""
    from spotadvisor.collect.gcp_parse import describe_sku

    out: dict[tuple[str, str, str, str], tuple[str, str]] = {}
    for sku in build_skus(fit):
        what = describe_sku(
            sku["description"], sku["category"]["usageType"], sku["category"]["resourceGroup"]
        )
        if isinstance(what, str):
            continue
        part, key, market = what
        for region in sku["serviceRegions"]:
            out[(part, key, region, market)] = (sku["description"], sku["skuId"])
    return out


def billing_rows(fit: CatalogFit, month: str) -> list[dict[str, Any]]:
    """The synthetic export rows around ``month`` (``YYYY-MM``); see the module docstring."""
    year, number = (int(x) for x in month.split("-"))
    first = datetime(year, number, 1, tzinfo=UTC)
    days = ((first + timedelta(days=32)).replace(day=1) - first).days
    names = _descriptions(fit)
    rows: list[dict[str, Any]] = []
    for vm in FLEET:
        for day in range(vm.days[0], min(vm.days[1], days) + 1):
            start = first + timedelta(days=day - 1)
            for part, key, amount in vm.parts:
                price = fit.price(part, key, vm.region, vm.market)
                assert price is not None, (part, key, vm.region, vm.market)
                description, sku_id = names[(part, key, vm.region, vm.market)]
                hours_amount = amount * 24
                cost = price * hours_amount
                credits: list[tuple[str, float, str]] = []
                if vm.sud and part != "gpu":
                    credits.append(
                        ("Sustained Usage Discount", -cost * vm.sud, "SUSTAINED_USAGE_DISCOUNT")
                    )
                if vm.name == "llama-spot-1" and part == "gpu" and day == 1:
                    credits.append(("Spot GPU trial", -5.0, "PROMOTION"))
                rows.append(
                    billing_row(
                        sku=description,
                        sku_id=sku_id,
                        start=start,
                        hours=24,
                        cost=cost,
                        region=vm.region,
                        zone=vm.zone,
                        amount=hours_amount,
                        pricing_unit="gibibyte hour" if part == "ram" else "hour",
                        labels=vm.labels,
                        machine_spec=vm.machine_spec,
                        credits=credits,
                        resource=vm.name,
                    )
                )
        rows.append(
            billing_row(
                sku="Storage PD Capacity",
                sku_id="D973-5D65-BAB2",
                start=first,
                hours=24 * days,
                cost=0.04 * 200,
                region=vm.region,
                zone=vm.zone,
                amount=200,
                pricing_unit="gibibyte month",
                labels=vm.labels,
                resource=f"{vm.name}-boot",
            )
        )
    # rows the query must leave out: another service, and the months around
    rows.append(
        billing_row(
            sku="Standard Storage US Multi-region",
            sku_id="E5F0-6A5D-7BAD",
            start=first + timedelta(days=2),
            hours=24,
            cost=3.21,
            region="us",
            zone=None,
            amount=1000,
            pricing_unit="gibibyte month",
            service=("95FF-2EF5-5EA1", "Cloud Storage"),
        )
    )
    for start in (first - timedelta(days=1), first + timedelta(days=days)):
        description, sku_id = names[("gpu", "A100", "us-central1", "on-demand")]
        price = fit.price("gpu", "A100", "us-central1", "on-demand") or 0.0
        rows.append(
            billing_row(
                sku=description,
                sku_id=sku_id,
                start=start,
                hours=24,
                cost=price * 24,
                region="us-central1",
                zone="us-central1-b",
                amount=24,
                pricing_unit="hour",
                labels={"team": "ml"},
                machine_spec="a2-highgpu-1g",
                resource="llama-od-1",
            )
        )
    return rows


# --- the server ----------------------------------------------------------------------------


class LoggedRequest(NamedTuple):
    """One request the fake received."""

    api: str  # catalog or bigquery
    method: str
    path: str  # without the query string
    params: dict[str, str]
    body: Any


@dataclass(frozen=True)
class _Reply:
    status: int
    body: bytes
    trickle: tuple[int, float] | None = None  # (bytes per write, pause [s])


class _ApiError(Exception):
    def __init__(self, status: int, status_name: str, message: str, reason: str) -> None:
        super().__init__(message)
        self.status, self.status_name, self.message, self.reason = (
            status,
            status_name,
            message,
            reason,
        )


@dataclass
class _Result:
    """A finished query's rows, kept for getQueryResults pages."""

    schema: dict[str, Any]
    rows: list[dict[str, Any]]
    job: dict[str, Any]
    int64_timestamps: bool


APIS = ("catalog", "bigquery")


class FakeGcp(FakeServer[LoggedRequest]):
    """A local HTTP server answering Cloud Billing Catalog and BigQuery calls.

    Parameters
    ----------
    now
        The fake's present.
    data_dir
        The shared/data folder (SkyPilot GCP subsets).
    billing_month
        ``YYYY-MM`` around which the billing export rows are made.

    Use as a context manager, or ``start()`` / ``stop()``; ``url`` is the endpoint.
    """

    def __init__(
        self, now: datetime = DEFAULT_NOW, *, data_dir: Path, billing_month: str = BILLING_MONTH
    ) -> None:
        import duckdb

        super().__init__()
        self.now = now
        self.fit = fit_catalog(data_dir)
        self.skus = build_skus(self.fit)
        self.sku_page_max = SKU_PAGE_MAX
        self.bq_page_size: int | None = None
        self.billing = billing_rows(self.fit, billing_month)
        self._db = duckdb.connect()
        self._db.execute("SET TimeZone = 'UTC'")
        for name, detailed in ((STANDARD_TABLE, False), (DETAILED_TABLE, True)):
            load_billing_table(self._db, name, self.billing, detailed=detailed)
        self._db_lock = threading.Lock()
        self._latency = Delays()  # by API, "*": both
        self._throttles = Countdown()
        self._hangs = Delays()
        self._malformed: PageFaults[bool] = PageFaults()
        self._results: dict[str, _Result] = {}

    def _stopped(self) -> None:
        self._db.close()

    # -- faults

    def latency(self, api: str, seconds: float) -> None:
        """Requests to ``api`` ("*" = both) sleep ``seconds`` before answering."""
        self._latency.set(_api(api), seconds, keep_zero=True)

    def throttle(self, api: str, times: int = 1) -> None:
        """The next ``times`` requests to ``api`` get HTTP 429 RESOURCE_EXHAUSTED."""
        self._throttles.set(_api(api), times)

    def hang(self, api: str, seconds: float) -> None:
        """Requests to ``api`` ("*" = both) sleep ``seconds`` first; ``<= 0`` ends it."""
        self._hangs.set(_api(api), seconds)

    def malformed(self, api: str, page: int = 1, *, times: int | None = None) -> None:
        """Page ``page`` (1-based) of ``api``'s listing comes back cut in half (HTTP 200).

        Catalog: the SKU pages; BigQuery: the query answer (1) and result pages (2...).
        """
        self._malformed.set(_api(api), page, True, times)

    def _fault_target(self, target: str) -> str:
        """ "catalog" or "bigquery"."""
        return _api(target)

    def clear_faults(self) -> None:
        """No latency, throttling, hangs or broken pages any more."""
        for table in (self._latency, self._throttles, self._hangs, self._malformed, self.faults):
            table.clear()

    # -- request handling (called from handler threads)

    def _respond(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> Reply | None:
        reply = self._handle(method, target, body)
        if reply is None:
            return None
        content_type = ("Content-Type", "application/json; charset=UTF-8")
        return Reply(reply.status, reply.body, (content_type,), reply.trickle)

    def _handle(self, method: str, target: str, body: bytes) -> _Reply | None:
        parts = urlsplit(target)
        path = parts.path
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        api = "bigquery" if path.startswith("/bigquery/") else "catalog"
        try:
            payload = json.loads(body) if body else None
        except ValueError:
            payload = {"raw": body.decode("utf-8", "replace")}
        self._record(LoggedRequest(api, method, path, params, payload))
        hang = self._hangs.get(api)
        latency = self._latency.get(api)
        injected_hang = self.faults.take(Fault.HANG, api)
        if injected_hang is not None:
            hang = max(hang, injected_hang.seconds)
        if self._wait(hang) or self._wait(latency):
            return None
        status = self.faults.first_status(api)
        if status == 403:
            return _error(
                _ApiError(
                    403,
                    "PERMISSION_DENIED",
                    "The caller does not have permission",
                    "forbidden",
                )
            )
        if status is not None:
            return _error(
                _ApiError(status, "INTERNAL", "Internal error encountered.", "backendError")
            )
        if self._throttles.take(api, "*") or self.faults.take(Fault.THROTTLE, api):
            return _error(
                _ApiError(
                    429,
                    "RESOURCE_EXHAUSTED",
                    "Quota exceeded for quota metric 'Read requests' and limit 'Read requests "
                    "per minute' of service.",
                    "rateLimitExceeded",
                )
            )
        try:
            answer, page = (
                self._bigquery(method, path, params, payload)
                if api == "bigquery"
                else self._catalog(method, path, params)
            )
        except _ApiError as err:
            return _error(err)
        except Exception as exc:  # a bug of the fake: answer 500 as Google does
            traceback.print_exc()
            return _error(_ApiError(500, "INTERNAL", repr(exc), "internalError"))
        if page and self.faults.take(Fault.EMPTY, api, page=page):
            answer = _emptied(answer)
        out = json.dumps(answer).encode()
        if page and (
            self._malformed.take(api, page) or self.faults.take(Fault.TRUNCATE, api, page=page)
        ):
            out = truncated(out)
        return _Reply(200, out, self._trickle(api, page=page or None))

    def _next_token(
        self, api: str, page: int, offset: int, size: int, fingerprint: str, more: bool
    ) -> str:
        """The next-page token of ``page`` (``""``: the last page), or a cycled one under
        a ``page_cycle`` fault."""
        cycle = self.faults.next_page(api, page)
        if cycle is not None:
            return _make_token((cycle.page - 1) * size, cycle.page, fingerprint, cycle.serial)
        return _make_token(offset + size, page + 1, fingerprint) if more else ""

    # -- catalog

    def _catalog(
        self, method: str, path: str, params: dict[str, str]
    ) -> tuple[dict[str, Any], int]:
        if method != "GET":
            raise _ApiError(405, "INVALID_ARGUMENT", f"{method} is not allowed", "badRequest")
        if path == "/v1/services":
            services = [
                {
                    "name": f"services/{sid}",
                    "serviceId": sid,
                    "displayName": name,
                    "businessEntityName": "businessEntities/GCP",
                }
                for sid, name in SERVICES
            ]
            return {"services": services, "nextPageToken": ""}, 0
        match = re.fullmatch(r"/v1/services/([^/]+)/skus", path)
        if not match:
            raise _ApiError(404, "NOT_FOUND", f"Not found: {path}", "notFound")
        if match.group(1) != COMPUTE_ID:
            raise _ApiError(404, "NOT_FOUND", f"Service {match.group(1)} not found", "notFound")
        currency = params.get("currencyCode") or "USD"
        if currency != "USD":
            raise _ApiError(400, "INVALID_ARGUMENT", "the fake serves USD only", "badRequest")
        try:
            size = int(params.get("pageSize") or 5000)
        except ValueError:
            raise _ApiError(
                400, "INVALID_ARGUMENT", "pageSize is not a number", "badRequest"
            ) from None
        size = max(1, min(size, 5000, self.sku_page_max))
        fingerprint = hashlib.sha256(json.dumps([path, currency]).encode()).hexdigest()[:12]
        offset, page = _read_token(params.get("pageToken"), fingerprint)
        chunk = self.skus[offset : offset + size]
        more = offset + size < len(self.skus)
        answer: dict[str, Any] = {
            "skus": chunk,
            "nextPageToken": self._next_token("catalog", page, offset, size, fingerprint, more),
        }
        return answer, page

    # -- BigQuery

    def _bigquery(
        self, method: str, path: str, params: dict[str, str], payload: Any
    ) -> tuple[dict[str, Any], int]:
        query = re.fullmatch(r"/bigquery/v2/projects/([^/]+)/queries", path)
        if method == "POST" and query:
            return self._query(query.group(1), payload or {}), 1
        job = re.fullmatch(r"/bigquery/v2/projects/([^/]+)/jobs/([^/]+)", path)
        if method == "GET" and job:
            return self._stored(job.group(2)).job, 0
        results = re.fullmatch(r"/bigquery/v2/projects/([^/]+)/queries/([^/]+)", path)
        if method == "GET" and results:
            return self._results_page(results.group(2), params)
        raise _ApiError(404, "NOT_FOUND", f"Not found: {method} {path}", "notFound")

    def _to_duckdb(self, sql: str) -> tuple[str, int]:
        """GoogleSQL -> DuckDB SQL, and the bytes the query would scan (see the docstring).

        sqlglot transpiles the collector's ``billing_query`` to DuckDB SQL that returns the
        same rows as running it verbatim did before (checked on both export tables), so
        there is no fallback to the verbatim SQL. Table names need one fix sqlglot cannot
        know: BigQuery's `project.dataset.table` becomes a three-part DuckDB name, while
        the fake holds each export table under its full dotted name.
        """
        import sqlglot
        from sqlglot import exp

        try:
            statements = [s for s in sqlglot.parse(sql, read="bigquery") if s]
        except sqlglot.errors.ParseError as exc:
            first = str(exc).splitlines()[0]
            raise _ApiError(
                400, "INVALID_ARGUMENT", f"Syntax error: {first}", "invalidQuery"
            ) from exc
        if len(statements) != 1:
            raise _ApiError(
                400, "INVALID_ARGUMENT", "the fake runs one statement per query", "invalidQuery"
            )
        tree = statements[0]
        held = {
            name: (rows, columns)
            for name, rows, columns in self._db.execute(
                "SELECT table_name, estimated_size, column_count FROM duckdb_tables()"
            ).fetchall()
        }
        scanned = 0
        for table in tree.find_all(exp.Table):
            name = ".".join(part.name for part in table.parts)
            if name in held and len(table.parts) > 1:
                table.set("catalog", None)
                table.set("db", None)
                table.set("this", exp.to_identifier(name, quoted=True))
            if name in held:
                rows, columns = held[name]
                scanned += int(rows) * int(columns) * BYTES_PER_VALUE
        return tree.sql(dialect="duckdb"), scanned

    def _stored(self, job_id: str) -> _Result:
        with self._lock:
            result = self._results.get(job_id)
        if result is None:
            raise _ApiError(404, "NOT_FOUND", f"Not found: Job {job_id}", "notFound")
        return result

    def _query(self, project: str, body: Mapping[str, Any]) -> dict[str, Any]:
        import duckdb

        sql = str(body.get("query") or "")
        if body.get("useLegacySql", True) is not False:
            raise _ApiError(
                400, "INVALID_ARGUMENT", "the fake runs standard SQL only", "invalidQuery"
            )
        values: dict[str, Any] = {}
        for parameter in body.get("queryParameters") or []:
            kind = parameter["parameterType"]["type"]
            value = parameter["parameterValue"].get("value")
            if kind == "TIMESTAMP" and value is not None:
                value = datetime.fromisoformat(str(value).replace("Z", "+00:00").replace(" ", "T"))
            values[parameter["name"]] = value
        with self._db_lock:
            translated, scanned = self._to_duckdb(sql)
            billed = max(scanned, MIN_BYTES_BILLED) if scanned else 0
            limit = _bytes_limit(body.get("maximumBytesBilled"))
            if limit is not None and billed > limit:
                raise _ApiError(
                    400,
                    "INVALID_ARGUMENT",
                    f"Query exceeded limit for bytes billed: {limit}. {billed} or higher required.",
                    "bytesBilledLimitExceeded",
                )
            try:
                cursor = self._db.cursor()
                relation = cursor.sql(translated, params=values or None)
                names, types = relation.columns, relation.types
                raw = relation.fetchall()
            except duckdb.CatalogException as exc:
                table = re.search(r"`([^`]+)`", sql)
                name = table.group(1) if table else "?"
                project_part, _, rest = name.partition(".")
                raise _ApiError(
                    404,
                    "NOT_FOUND",
                    f"Not found: Table {project_part}:{rest} was not found in location US",
                    "notFound",
                ) from exc
            except duckdb.Error as exc:
                first = str(exc).splitlines()[0]
                raise _ApiError(
                    400, "INVALID_ARGUMENT", f"Syntax or binding error: {first}", "invalidQuery"
                ) from exc
        schema = {"fields": [_field(n, t) for n, t in zip(names, types, strict=True)]}
        int64 = bool((body.get("formatOptions") or {}).get("useInt64Timestamp"))
        rows = [
            {"f": [_cell(v, f, int64) for v, f in zip(row, schema["fields"], strict=True)]}
            for row in raw
        ]
        job_id = f"job_{uuid.uuid4().hex[:20]}"
        reference = {"projectId": project, "jobId": job_id, "location": "US"}
        job = {
            "kind": "bigquery#job",
            "id": f"{project}:US.{job_id}",
            "jobReference": reference,
            "status": {"state": "DONE"},
            "configuration": {"jobType": "QUERY", "query": {"query": sql, "useLegacySql": False}},
            "statistics": {"creationTime": "0", "startTime": "0", "endTime": "0"},
        }
        with self._lock:
            self._results[job_id] = _Result(schema, rows, job, int64)
        size = self.bq_page_size or len(rows) or 1
        if body.get("maxResults"):
            size = min(size, int(body["maxResults"]))
        answer: dict[str, Any] = {
            "kind": "bigquery#queryResponse",
            "jobComplete": True,
            "jobReference": reference,
            "schema": schema,
            "rows": rows[:size],
            "totalRows": str(len(rows)),
            "totalBytesProcessed": str(scanned),
            "totalBytesBilled": str(billed),
            "cacheHit": False,
        }
        token = self._next_token("bigquery", 1, 0, size, job_id, size < len(rows))
        if token:
            answer["pageToken"] = token
        return answer

    def _results_page(self, job_id: str, params: dict[str, str]) -> tuple[dict[str, Any], int]:
        result = self._stored(job_id)
        offset, page = _read_token(params.get("pageToken"), job_id)
        size = int(params.get("maxResults") or self.bq_page_size or len(result.rows) or 1)
        chunk = result.rows[offset : offset + size]
        answer: dict[str, Any] = {
            "kind": "bigquery#getQueryResultsResponse",
            "jobComplete": True,
            "jobReference": result.job["jobReference"],
            "schema": result.schema,
            "rows": chunk,
            "totalRows": str(len(result.rows)),
        }
        token = self._next_token(
            "bigquery", page, offset, size, job_id, offset + size < len(result.rows)
        )
        if token:
            answer["pageToken"] = token
        return answer, page


def _api(name: str) -> str:
    if name != "*" and name not in APIS:
        raise ValueError(f"api must be one of {', '.join(APIS)} or '*', not {name!r}")
    return name


def _field(name: str, kind: Any) -> dict[str, Any]:
    """A BigQuery schema field for a DuckDB type."""
    if kind.id == "list":
        inner = _field(name, kind.children[0][1])
        return {**inner, "mode": "REPEATED"}
    if kind.id == "struct":
        return {
            "name": name,
            "type": "RECORD",
            "mode": "NULLABLE",
            "fields": [_field(n, t) for n, t in kind.children],
        }
    types = {
        "varchar": "STRING",
        "double": "FLOAT",
        "float": "FLOAT",
        "bigint": "INTEGER",
        "hugeint": "INTEGER",  # DuckDB's SUM(BIGINT); BigQuery's is INT64
        "integer": "INTEGER",
        "smallint": "INTEGER",
        "decimal": "NUMERIC",
        "boolean": "BOOLEAN",
        "timestamp with time zone": "TIMESTAMP",
        "timestamp": "DATETIME",
        "date": "DATE",
    }
    return {"name": name, "type": types.get(kind.id, "STRING"), "mode": "NULLABLE"}


def _cell(value: Any, spec: Mapping[str, Any], int64: bool) -> dict[str, Any]:
    """One value in the ``{"v": ...}`` wire encoding of ``spec``."""
    if value is None:  # BigQuery returns a NULL ARRAY as an empty one
        return {"v": [] if spec.get("mode") == "REPEATED" else None}
    if spec.get("mode") == "REPEATED":
        single = {**spec, "mode": "NULLABLE"}
        return {"v": [_cell(v, single, int64) for v in value]}
    kind = spec["type"]
    if kind == "RECORD":
        return {"v": {"f": [_cell(value.get(f["name"]), f, int64) for f in spec["fields"]]}}
    if kind == "TIMESTAMP":
        micros = round(value.timestamp() * 1_000_000)
        return {"v": str(micros) if int64 else f"{micros / 1e6:.6E}"}
    if kind == "DATETIME":  # ISO 8601 with a "T", as BigQuery writes it
        return {"v": value.isoformat()}
    if kind == "FLOAT":
        return {"v": repr(float(value))}
    if kind == "BOOLEAN":
        return {"v": "true" if value else "false"}
    return {"v": str(value)}


def _bytes_limit(value: Any) -> int | None:
    """``maximumBytesBilled`` (an int64 as a string), or None when not set."""
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _ApiError(
            400,
            "INVALID_ARGUMENT",
            f"Invalid value for maximumBytesBilled: {value!r}",
            "invalid",
        ) from None


def _emptied(answer: dict[str, Any]) -> dict[str, Any]:
    """``answer`` as a valid page with no items and no next page (the ``empty`` fault)."""
    out = dict(answer)
    for key in ("skus", "services", "rows"):
        if key in out:
            out[key] = []
    if "nextPageToken" in out:
        out["nextPageToken"] = ""
    out.pop("pageToken", None)
    if "totalRows" in out:
        out["totalRows"] = "0"
    return out


def _make_token(offset: int, page: int, fingerprint: str, serial: int | None = None) -> str:
    fields: dict[str, Any] = {"o": offset, "p": page, "f": fingerprint}
    if serial is not None:  # a page cycle with fresh tokens: each one distinct
        fields["n"] = serial
    raw = json.dumps(fields, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _read_token(token: str | None, fingerprint: str) -> tuple[int, int]:
    """(offset, page number) of a token; no token is page 1 at offset 0."""
    if not token:
        return 0, 1
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        offset, page = int(data["o"]), int(data["p"])
        if data["f"] != fingerprint or offset < 0 or page < 2:
            raise ValueError("token of another request")
    except (ValueError, KeyError, TypeError):
        raise _ApiError(400, "INVALID_ARGUMENT", "Invalid page token.", "invalid") from None
    return offset, page


def _error(err: _ApiError) -> _Reply:
    """A Google JSON error (``{"error": {code, message, status, errors}}``)."""
    body = {
        "error": {
            "code": err.status,
            "message": err.message,
            "status": err.status_name,
            "errors": [{"message": err.message, "domain": "global", "reason": err.reason}],
        }
    }
    return _Reply(err.status, json.dumps(body).encode())


__all__ = [
    "BILLING_ACCOUNT",
    "BILLING_MONTH",
    "DEFAULT_NOW",
    "DETAILED_TABLE",
    "PROJECT_ID",
    "PROJECT_NUMBER",
    "STANDARD_TABLE",
    "CatalogFit",
    "FakeGcp",
    "LoggedRequest",
    "billing_row",
    "billing_rows",
    "billing_table_ddl",
    "build_skus",
    "fit_catalog",
    "load_billing_table",
    "make_sku",
]
