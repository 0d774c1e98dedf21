"""A local Azure fake speaking the real wire formats: Retail Prices, Resource Graph, Consumption.

``FakeAzure`` is a ``tests.fakes.base.FakeServer`` (HTTP on 127.0.0.1, port chosen by the
OS). ``get_retail_prices`` reaches it at ``fake.url + "/api/retail/prices"``; the Azure
SDK clients reach it with ``base_url=fake.url`` and a ``FakeCredential``.

``GET /api/retail/prices?api-version=...&$filter=...`` (no authentication)
    Answers ``{BillingCurrency, CustomerEntityId, CustomerEntityType, Items, NextPageLink,
    Count}`` with ``RETAIL_PAGE_SIZE`` items per page and a ``NextPageLink`` carrying
    ``$skip`` (null on the last page). The ``$filter`` subset implemented: ``field eq
    'v'``, ``field ne 'v'``, ``contains(field, 'v')``, ``startswith(field, 'v')``,
    ``endswith(field, 'v')``, ``and``, ``or`` and parentheses; values are compared
    case-sensitively (as since API version 2023-01-01-preview), field names in any case,
    ``priceType`` reads an item's ``type``. Anything else is a 400.

    Items: from the REAL SkyPilot Azure v6 catalog subset, one ``Consumption`` item per
    (region, size) for the Linux on-demand price (``Price``) and one for the spot price
    (``SpotPrice``, ``skuName``/``meterName`` ending in " Spot"). No item is made where
    the catalog cell is empty, or for a ``SpotPrice`` equal to ``Price`` to 4 decimals
    (the catalog's filler for "no spot price"; the H100 v5 rows). SYNTHETIC items are
    added so the filters are exercised: a Windows twin of every Linux item
    (``productName`` "... Windows", price + ``WINDOWS_UPLIFT_PER_VCPU`` x vCPUs), a
    "Low Priority" item (``LOW_PRIORITY_FACTOR`` x on-demand) and a
    ``DevTestConsumption`` item (``DEVTEST_FACTOR`` x on-demand) per (region, size).
    ``productName`` is "Virtual Machines <series> Series", the series made from the size
    (``NC24ads A100 v4`` -> ``NCads A100 v4``); meter, product and SKU ids are
    deterministic made-up ids; ``effectiveStartDate`` is ``PRICES_EFFECTIVE``.

``POST /providers/Microsoft.ResourceGraph/resources`` (bearer token required)
    Answers ``{totalRecords, count, data, facets, resultTruncated, $skipToken?}`` with
    ``GRAPH_PAGE_SIZE`` rows per page (``options.$skipToken`` pages on). The KQL subset
    implemented: ``SpotResources`` then ``| where`` conditions joined by ``and``
    (``path =~ 'v'``, ``path == 'v'``, ``path in~ ('a', 'b')``, ``path in (...)``) and
    ``| project`` of ``path``, ``name=path`` or ``name=tostring(path)``.

    No public capture of either SpotResources type exists, so both are SYNTHETIC:
    eviction rates (``microsoft.compute/skuspotevictionrate/location``) exist for every
    catalog (region, size) with a spot price; the band is ``EVICTION_LABELS[sha256(size|
    region) % 5]``, except that one pair in ``QUIRK_EVERY`` carries a label that is not
    a band (``QUIRK_LABELS``), to exercise lenient parsing. Spot price histories
    (``microsoft.compute/skuspotpricehistory/ostype/location``) are derived from the REAL
    2020 daily Azure spot prices (training_on_a_dime: NC/NCv2/NCv3 sizes in eastus,
    northcentralus, southcentralus), RE-TIMED so 2020-03-23 lands on ``now - 1 day``
    (midnight UTC); days are kept apart as in the files and only price changes are
    listed, newest first. A Windows history (Linux x ``WINDOWS_HISTORY_FACTOR``,
    synthetic) sits beside each. Sizes come back in lower case, as ``sku.name`` does.

``GET /{scope}/providers/Microsoft.Consumption/usageDetails?api-version=...`` (bearer)
    Answers ``{value, nextLink}`` with ``USAGE_PAGE_SIZE`` items per page (``nextLink``
    carries ``$skiptoken``). Items are the REAL Azure cost-details samples in the API's
    shapes: the finops-toolkit EA rows (actual cost: 11, amortised: 28) as ``legacy``
    items and the focus_converters EA export (27 rows, 3 Spot, CAD) as ``modern``
    items (its columns are the modern names: ``CostInBillingCurrency``,
    ``BillingCurrencyCode``, ``ProductName``). ``metric=amortizedcost`` swaps the EA
    actual rows for the amortised ones. ``$filter`` ``properties/usageStart ge 'D'`` and
    ``properties/usageEnd le 'D'`` select by date; ``meterDetails`` (legacy) and
    ``additionalInfo`` are present only when ``$expand`` names them, as in the real API.
    Any scope sees every sample row (one made-up billing account).

Faults, settable at any time from any thread: ``latency_s``, ``throttle`` (429 with
``Retry-After: 0``), ``hang`` (by API and region), ``malformed`` (a page cut in half),
and ``inject(fault, api, ...)`` with the shared vocabulary of ``tests.fakes.faults``
(throttle, hang, trickle, truncate, empty, page_cycle, http_403 ``AuthorizationFailed``,
http_500 ``InternalServerError``; ``region=`` for ``hang`` only); ``clear_faults``
resets them all. ``requests`` logs every request (``LoggedRequest``).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import json
import math
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import parse_qs, quote, urlsplit

from tests.fakes.base import Countdown, Delays, FakeServer, PageFaults, Reply
from tests.fakes.faults import Fault, Injected, truncated

DEFAULT_NOW = datetime(2025, 7, 1, 12, 0, 0, tzinfo=UTC)
"""A fixed 'now' for tests."""

CATALOG = "skypilot-catalog/azure_v6_vms_N-series_gpu_subset.csv"
SPOT_HISTORY = (
    "azure-spot-price-history/azure_spot_price_daily_{}_2020-02_2020-03_training_on_a_dime.csv"
)
HISTORY_REGIONS = {
    "us_east": "eastus",
    "us_north_central": "northcentralus",
    "us_south_central": "southcentralus",
}
COST_DETAILS = "billing/azure-cost-details"
EA_ACTUAL = f"{COST_DETAILS}/EA_ActualCost_Small_finops-toolkit.csv"
EA_AMORTIZED = f"{COST_DETAILS}/EA_AmortizedCost_Small_finops-toolkit.csv"
EA_MODERN = f"{COST_DETAILS}/ea-export_sample-anonymous_2023-09_focus_converters.csv"

APIS = ("retail-prices", "resource-graph", "consumption")
RETAIL_PAGE_SIZE = 100
GRAPH_PAGE_SIZE = 40
USAGE_PAGE_SIZE = 10
TOKEN = "fake-azure-token"

PRICES_EFFECTIVE = "2024-01-01T00:00:00Z"
WINDOWS_UPLIFT_PER_VCPU = 0.046  # USD/h per vCPU, synthetic
LOW_PRIORITY_FACTOR = 0.2  # x on-demand, synthetic
DEVTEST_FACTOR = 0.55  # x on-demand, synthetic
WINDOWS_HISTORY_FACTOR = 1.4  # x Linux spot, synthetic
EVICTION_LABELS = ("0-5", "5-10", "10-15", "15-20", "20+")
QUIRK_EVERY = 13
QUIRK_LABELS = ("unknown", "")
EVICTION_TYPE = "microsoft.compute/skuspotevictionrate/location"
HISTORY_TYPE = "microsoft.compute/skuspotpricehistory/ostype/location"

LOCATIONS = {
    "centralus": "US Central",
    "eastus": "US East",
    "eastus2": "US East 2",
    "northcentralus": "US North Central",
    "southcentralus": "US South Central",
    "westus": "US West",
    "westus2": "US West 2",
    "westus3": "US West 3",
}
_NAMESPACE = uuid.UUID("6f1c2a5e-2b7d-4c1e-9f3a-5d7e8b9c0a1b")


# --- the data ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Dataset:
    """The samples, shaped as the three APIs answer them.

    Attributes
    ----------
    retail_items
        Every Retail Prices item, sorted by region, size, type, product, meter.
    resources
        Every SpotResources row (eviction rates and spot price histories), unprojected.
    usage
        metric -> usage-detail items (``actualcost``, ``amortizedcost``), with their
        usage day in ``_date`` (removed before sending).
    catalog
        (region, size) -> (Linux on-demand, Linux spot) USD/h as the fake lists them (NaN
        when it lists none).
    """

    retail_items: tuple[dict[str, Any], ...]
    resources: tuple[dict[str, Any], ...]
    usage: Mapping[str, tuple[dict[str, Any], ...]]
    catalog: Mapping[tuple[str, str], tuple[float, float]]


def load_dataset(data_dir: Path) -> Dataset:
    """The samples under ``data_dir`` (the shared/data folder), loaded once per process."""
    return _load(Path(data_dir).resolve(), DEFAULT_NOW.date().isoformat())


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _float(text: str) -> float:
    text = text.strip().lstrip("$")
    return float(text) if text else math.nan


@lru_cache(maxsize=8)
def _load(data_dir: Path, today: str) -> Dataset:
    rows = _read_csv(data_dir / CATALOG)
    catalog: dict[tuple[str, str], tuple[float, float]] = {}
    items: list[dict[str, Any]] = []
    for row in rows:
        size, region = row["InstanceType"], row["Region"]
        on_demand, spot = _float(row["Price"]), _float(row["SpotPrice"])
        if _same_to_4_decimals(spot, on_demand):
            spot = math.nan  # the catalog's filler for "no spot price": no spot meter
        catalog[(region, size)] = (on_demand, spot)
        vcpus = _float(row["vCPUs"])
        uplift = WINDOWS_UPLIFT_PER_VCPU * (vcpus if not math.isnan(vcpus) else 0.0)
        for market, price in (("", on_demand), (" Spot", spot)):
            if math.isnan(price):
                continue
            items.append(_retail_item(size, region, price, suffix=market))
            items.append(_retail_item(size, region, price + uplift, suffix=market, windows=True))
        if not math.isnan(on_demand):
            low = round(on_demand * LOW_PRIORITY_FACTOR, 6)
            items.append(_retail_item(size, region, low, suffix=" Low Priority"))
            devtest = round(on_demand * DEVTEST_FACTOR, 6)
            items.append(_retail_item(size, region, devtest, price_type="DevTestConsumption"))
    items.sort(
        key=lambda i: (
            i["armRegionName"],
            i["armSkuName"],
            i["type"],
            i["productName"],
            i["meterName"],
        )
    )
    resources = _eviction_resources(catalog) + _history_resources(data_dir, today)
    usage = _usage_items(data_dir)
    return Dataset(tuple(items), tuple(resources), usage, catalog)


def _same_to_4_decimals(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return False
    return math.floor(a * 1e4 + 0.5 + 1e-6) == math.floor(b * 1e4 + 0.5 + 1e-6)


def _series(sku_name: str) -> str:
    """``NC24ads A100 v4`` -> ``NCads A100 v4``: the size's family without its number."""
    head, _, rest = sku_name.partition(" ")
    match = re.match(r"^([A-Z]+)\d+([a-z]*)$", head)
    family = f"{match.group(1)}{match.group(2)}" if match else head
    return f"{family} {rest}".strip()


def _ident(*parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "|".join(parts)))


def _code(text: str, length: int) -> str:
    digest = hashlib.sha256(text.encode()).digest()
    return base64.b32encode(digest).decode()[:length]


def _retail_item(
    size: str,
    region: str,
    price: float,
    *,
    suffix: str = "",
    windows: bool = False,
    price_type: str = "Consumption",
) -> dict[str, Any]:
    sku_name = size.removeprefix("Standard_").replace("_", " ") + suffix
    series = _series(size.removeprefix("Standard_").replace("_", " "))
    product = f"Virtual Machines {series} Series" + (" Windows" if windows else "")
    product_id = "DZH318Z0" + _code(product, 4)
    return {
        "currencyCode": "USD",
        "tierMinimumUnits": 0.0,
        "retailPrice": round(price, 6),
        "unitPrice": round(price, 6),
        "armRegionName": region,
        "location": LOCATIONS.get(region, region),
        "effectiveStartDate": PRICES_EFFECTIVE,
        "meterId": _ident(region, sku_name, product, price_type),
        "meterName": sku_name,
        "productId": product_id,
        "skuId": f"{product_id}/{_code(sku_name, 4)}",
        "productName": product,
        "skuName": sku_name,
        "serviceName": "Virtual Machines",
        "serviceId": "DZH313Z7MMC8",
        "serviceFamily": "Compute",
        "unitOfMeasure": "1 Hour",
        "type": price_type,
        "isPrimaryMeterRegion": True,
        "armSkuName": size,
    }


def eviction_label(size: str, region: str) -> str:
    """The fake's (synthetic) eviction-rate label for one size and region."""
    digest = int.from_bytes(hashlib.sha256(f"{size}|{region}".encode()).digest()[:8], "big")
    if digest % QUIRK_EVERY == 0:
        return QUIRK_LABELS[(digest // QUIRK_EVERY) % len(QUIRK_LABELS)]
    return EVICTION_LABELS[digest % len(EVICTION_LABELS)]


def _eviction_resources(
    catalog: Mapping[tuple[str, str], tuple[float, float]],
) -> list[dict[str, Any]]:
    out = []
    for (region, size), (_, spot) in sorted(catalog.items()):
        if math.isnan(spot):
            continue
        out.append(
            {
                "id": f"{EVICTION_TYPE}/{region}/{size.lower()}",
                "name": size.lower(),
                "type": EVICTION_TYPE,
                "location": region,
                "sku": {"name": size.lower()},
                "properties": {"evictionRate": eviction_label(size, region)},
            }
        )
    return out


def _history_resources(data_dir: Path, today: str) -> list[dict[str, Any]]:
    """Spot price histories from the 2020 daily files, re-timed to end yesterday."""
    newest_day = datetime.fromisoformat(today).replace(tzinfo=UTC) - timedelta(days=1)
    out: list[dict[str, Any]] = []
    for key, region in HISTORY_REGIONS.items():
        path = data_dir / SPOT_HISTORY.format(key)
        if not path.is_file():
            continue
        table = _read_csv(path)
        dates = [datetime.strptime(r["Date"], "%m/%d/%Y").replace(tzinfo=UTC) for r in table]
        shift = newest_day - max(dates)
        for column in [c for c in table[0] if c != "Date"]:
            size = "Standard_" + column.replace(" ", "_")
            changes: list[tuple[datetime, float]] = []
            for day, row in sorted(zip(dates, table, strict=True), key=lambda p: p[0]):
                price = _float(row[column])
                if math.isnan(price) or (changes and changes[-1][1] == price):
                    continue
                changes.append((day + shift, price))
            if not changes:
                continue
            for os_type, factor in (("Linux", 1.0), ("Windows", WINDOWS_HISTORY_FACTOR)):
                prices = [
                    {
                        "priceUSD": round(price * factor, 5),
                        "effectiveDate": f"{when:%Y-%m-%dT%H:%M:%S}Z",
                    }
                    for when, price in reversed(changes)
                ]
                out.append(
                    {
                        "id": f"{HISTORY_TYPE}/{os_type.lower()}/{region}/{size.lower()}",
                        "name": size.lower(),
                        "type": HISTORY_TYPE,
                        "location": region,
                        "sku": {"name": size.lower()},
                        "properties": {"osType": os_type, "spotPrices": prices},
                    }
                )
    return out


_NUMBERS = {
    "Quantity",
    "EffectivePrice",
    "Cost",
    "CostInBillingCurrency",
    "UnitPrice",
    "PayGPrice",
}
_DATES = {"Date", "BillingPeriodStartDate", "BillingPeriodEndDate"}
_METER_DETAILS = {
    "MeterName",
    "MeterCategory",
    "MeterSubCategory",
    "UnitOfMeasure",
    "ServiceFamily",
}
_MODERN_NAMES = {
    "ProductName": "product",
    "ResourceId": "instanceName",
    "SubscriptionId": "subscriptionGuid",
}


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _iso_day(text: str) -> str:
    when = datetime.strptime(text.strip(), "%m/%d/%Y")
    return f"{when:%Y-%m-%d}T00:00:00.0000000Z"


def _tags(text: str) -> dict[str, str] | None:
    text = text.strip()
    if not text:
        return None
    value = json.loads(text if text.startswith("{") else "{" + text + "}")
    return {str(k): str(v) for k, v in value.items()}


def _usage_item(
    row: Mapping[str, str], *, modern: bool, number: int, source: str
) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    details: dict[str, Any] = {}
    for column, text in row.items():
        if column == "Tags" or text is None or text.strip() == "":
            continue
        value: Any = text
        if column in _NUMBERS:
            value = float(text)
        elif column in _DATES:
            value = _iso_day(text)
        elif column == "IsAzureCreditEligible":
            value = text.strip().lower() == "true"
        if not modern and column in _METER_DETAILS:
            details[_camel(column)] = value
            continue
        name = _MODERN_NAMES.get(column, _camel(column)) if modern else _camel(column)
        properties[name] = value
    if details:
        properties["meterDetails"] = details
    guid = _ident(source, str(number))
    return {
        "kind": "modern" if modern else "legacy",
        "id": f"/providers/Microsoft.Billing/billingPeriods/202309/providers/Microsoft.Consumption/usageDetails/{guid}",
        "name": guid,
        "type": "Microsoft.Consumption/usageDetails",
        "tags": _tags(row.get("Tags") or ""),
        "properties": properties,
        "_date": datetime.strptime(row["Date"].strip(), "%m/%d/%Y").date().isoformat(),
    }


def _usage_items(data_dir: Path) -> dict[str, tuple[dict[str, Any], ...]]:
    def items(relative: str, *, modern: bool) -> list[dict[str, Any]]:
        path = data_dir / relative
        return [
            _usage_item(r, modern=modern, number=n, source=relative)
            for n, r in enumerate(_read_csv(path))
        ]

    modern = items(EA_MODERN, modern=True)
    return {
        "actualcost": tuple(items(EA_ACTUAL, modern=False) + modern),
        "amortizedcost": tuple(items(EA_AMORTIZED, modern=False) + modern),
    }


# --- OData ($filter) and KQL subsets ----------------------------------------------------


class _BadRequest(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<op>[(),])|(?P<word>[A-Za-z_][\w.]*))")


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if not match:
            raise _BadRequest("BadRequest", f"Invalid OData filter near {text[pos : pos + 20]!r}")
        kind = match.lastgroup or ""
        value = match.group(kind)
        out.append((kind, value[1:-1].replace("''", "'") if kind == "str" else value))
        pos = match.end()
    return out


Predicate = Callable[[Mapping[str, Any]], bool]


def odata_filter(text: str) -> Predicate:
    """A predicate for the OData ``$filter`` subset described in the module docstring."""
    tokens = _tokens(text)
    position = 0

    def peek() -> tuple[str, str] | None:
        return tokens[position] if position < len(tokens) else None

    def take(kind: str, value: str | None = None) -> str:
        nonlocal position
        token = peek()
        if token is None or token[0] != kind or (value is not None and token[1].lower() != value):
            raise _BadRequest("BadRequest", f"Invalid OData filter: expected {value or kind}")
        position += 1
        return token[1]

    def field(item: Mapping[str, Any], name: str) -> str:
        name = "type" if name.lower() == "pricetype" else name
        lowered = {k.lower(): v for k, v in item.items()}
        if name.lower() not in lowered:
            raise _BadRequest("BadRequest", f"Invalid OData filter: unknown field {name!r}")
        return str(lowered[name.lower()])

    def factor() -> Predicate:
        token = peek()
        if token == ("op", "("):
            take("op", "(")
            inner = expression()
            take("op", ")")
            return inner
        name = take("word")
        if name.lower() in ("contains", "startswith", "endswith"):
            take("op", "(")
            target = take("word")
            take("op", ",")
            value = take("str")
            take("op", ")")
            test: Callable[[str, str], bool] = {
                "contains": lambda a, b: b in a,
                "startswith": str.startswith,
                "endswith": str.endswith,
            }[name.lower()]
            return lambda item: test(field(item, target), value)
        operator = take("word").lower()
        value = take("str")
        if operator == "eq":
            return lambda item: field(item, name) == value
        if operator == "ne":
            return lambda item: field(item, name) != value
        raise _BadRequest("BadRequest", f"Invalid OData filter: operator {operator!r}")

    def term() -> Predicate:
        parts = [factor()]
        while (token := peek()) is not None and token[0] == "word" and token[1].lower() == "and":
            take("word")
            parts.append(factor())
        return lambda item: all(p(item) for p in parts)

    def expression() -> Predicate:
        parts = [term()]
        while (token := peek()) is not None and token[0] == "word" and token[1].lower() == "or":
            take("word")
            parts.append(term())
        return lambda item: any(p(item) for p in parts)

    predicate = expression()
    if position != len(tokens):
        raise _BadRequest("BadRequest", "Invalid OData filter: unexpected text at the end")
    return predicate


def _split_outside(text: str, separator: str) -> list[str]:
    """``text`` split on ``separator`` (a regex) outside quotes and parentheses."""
    parts, depth, quoted, start = [], 0, False, 0
    pattern = re.compile(separator, re.IGNORECASE)
    i = 0
    while i < len(text):
        char = text[i]
        if char == "'":
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
        elif not quoted and depth == 0 and (match := pattern.match(text, i)):
            parts.append(text[start:i])
            start = i = match.end()
            continue
        i += 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def _path(row: Mapping[str, Any], path: str) -> Any:
    value: Any = row
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        lowered = {k.lower(): v for k, v in value.items()}
        value = lowered.get(part.lower())
    return value


_CONDITION = re.compile(
    r"^(?P<path>[\w.]+)\s*(?P<op>=~|==|!=|in~|in)\s*(?P<value>'(?:[^']|'')*'|\((?P<list>.*)\))$",
    re.IGNORECASE | re.DOTALL,
)
_PROJECTION = re.compile(
    r"^(?:(?P<alias>\w+)\s*=\s*)?(?P<fn>tostring\s*\(\s*)?(?P<path>[\w.]+)\s*\)?$", re.IGNORECASE
)


def _literal(text: str) -> str:
    return text.strip()[1:-1].replace("''", "'")


def kql(query: str, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows of ``SpotResources`` that a query of the supported subset selects."""
    stages = _split_outside(query, r"\|")
    if not stages or stages[0].strip().lower() != "spotresources":
        raise _BadRequest("BadRequest", "Only the SpotResources table is available here")
    selected: list[Mapping[str, Any]] = list(rows)
    projections: list[tuple[str, str, bool]] | None = None
    for stage in stages[1:]:
        verb, _, rest = stage.partition(" ")
        if verb.lower() == "where":
            for condition in _split_outside(rest, r"\s+and\s+"):
                selected = [r for r in selected if _condition(condition)(r)]
        elif verb.lower() == "project":
            projections = []
            for item in _split_outside(rest, r","):
                match = _PROJECTION.match(item.strip())
                if not match:
                    raise _BadRequest("InvalidQuery", f"Unsupported projection {item!r}")
                path = match.group("path")
                alias = match.group("alias") or path.rsplit(".", 1)[-1]
                projections.append((alias, path, bool(match.group("fn"))))
        else:
            raise _BadRequest("InvalidQuery", f"Unsupported operator {verb!r}")
    if projections is None:
        return [dict(r) for r in selected]
    out = []
    for row in selected:
        projected: dict[str, Any] = {}
        for alias, path, as_text in projections:
            value = _path(row, path)
            projected[alias] = ("" if value is None else str(value)) if as_text else value
        out.append(projected)
    return out


def _condition(text: str) -> Predicate:
    match = _CONDITION.match(text.strip())
    if not match:
        raise _BadRequest("InvalidQuery", f"Unsupported condition {text!r}")
    path, op = match.group("path"), match.group("op").lower()
    if op in ("in", "in~"):
        values = [_literal(v) for v in _split_outside(match.group("list") or "", r",")]
    else:
        values = [_literal(match.group("value"))]
    fold = op in ("=~", "in~")

    def check(row: Mapping[str, Any]) -> bool:
        actual = _path(row, path)
        text = "" if actual is None else str(actual)
        found = text.lower() in {v.lower() for v in values} if fold else text in values
        return not found if op == "!=" else found

    return check


# --- the server -------------------------------------------------------------------------


class LoggedRequest(NamedTuple):
    """One request the fake received."""

    api: str
    method: str
    path: str
    params: dict[str, str]
    body: Any
    authorized: bool


@dataclass
class _Hang:
    seconds: float
    region: str | None
    times: int | None


class FakeCredential:
    """An azure-core ``TokenCredential`` that hands out the fake's token.

    ``scopes`` records the scopes asked for; the secret is never a real one.
    """

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.scopes: list[tuple[str, ...]] = []
        self._lock = threading.Lock()

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        with self._lock:
            self.scopes.append(tuple(scopes))
        return AccessToken(self.token, int(time.time()) + 3600)


class FakeAzure(FakeServer[LoggedRequest]):
    """A local HTTP server answering Retail Prices, Resource Graph and Consumption calls.

    Parameters
    ----------
    now
        The fake's present (naive means UTC): spot price histories end the day before.
    data_dir
        The shared/data folder.
    retail_page_size, graph_page_size, usage_page_size
        Items per page of each API.

    Use as a context manager, or ``start()`` / ``stop()``; ``url`` is the endpoint.
    """

    def __init__(
        self,
        now: datetime = DEFAULT_NOW,
        *,
        data_dir: Path,
        retail_page_size: int = RETAIL_PAGE_SIZE,
        graph_page_size: int = GRAPH_PAGE_SIZE,
        usage_page_size: int = USAGE_PAGE_SIZE,
    ) -> None:
        super().__init__()
        self.now = now if now.tzinfo else now.replace(tzinfo=UTC)
        self.data = _load(Path(data_dir).resolve(), self.now.date().isoformat())
        self.token = TOKEN
        self.page_sizes = {
            "retail-prices": retail_page_size,
            "resource-graph": graph_page_size,
            "consumption": usage_page_size,
        }
        self._latency = Delays()  # "*" only: every request
        self._throttles = Countdown()
        self._hangs: dict[str, _Hang] = {}
        self._malformed: PageFaults[bool] = PageFaults()

    @property
    def retail_url(self) -> str:
        """The Retail Prices endpoint, ``<url>/api/retail/prices``."""
        return f"{self.url}/api/retail/prices"

    @property
    def requests(self) -> list[LoggedRequest]:
        """A copy of the request log."""
        with self._lock:
            return list(self._request_log)

    # -- faults

    @property
    def latency_s(self) -> float:
        """Seconds slept before every response."""
        return self._latency.get("*")

    @latency_s.setter
    def latency_s(self, seconds: float) -> None:
        self._latency.set("*", seconds)

    def throttle(self, api: str, times: int = 1) -> None:
        """The next ``times`` requests of ``api`` get HTTP 429 with ``Retry-After: 0``."""
        self._throttles.set(_api(api), times)

    def hang(
        self,
        api: str,
        seconds: float = 30.0,
        *,
        region: str | None = None,
        times: int | None = None,
    ) -> None:
        """Requests of ``api`` (for ``region`` only, when given) sleep ``seconds`` first.

        The region of a Retail Prices request is its ``armRegionName eq`` value; of a
        Resource Graph request, any region in its ``location in~ (...)``. ``times``
        limits how many requests hang (None: all); ``seconds <= 0`` ends the hang.
        """
        with self._lock:
            if seconds > 0:
                self._hangs[_api(api)] = _Hang(float(seconds), region, times)
            else:
                self._hangs.pop(_api(api), None)

    def malformed(self, api: str, page: int = 1, *, times: int | None = 1) -> None:
        """Page ``page`` (1-based) of ``api`` comes back cut in half, with HTTP 200.

        ``times`` limits how often (None: every time).
        """
        self._malformed.set(_api(api), page, True, times)

    def _fault_target(self, target: str) -> str:
        """An API (``APIS``); ``throttle``, ``hang`` and ``truncate`` need one, not "*"."""
        return _api(target)

    def _apply_fault(self, spec: Injected, *, times: int | None, region: str | None) -> None:
        if spec.fault is Fault.THROTTLE:
            self.throttle(spec.target, 1 if times is None else times)
        elif spec.fault is Fault.HANG:
            self.hang(spec.target, spec.seconds, region=region, times=times)
        elif spec.fault is Fault.TRUNCATE:
            self.malformed(spec.target, spec.page or 1, times=times)
        else:
            self.faults.add(spec)

    def clear_faults(self) -> None:
        """No latency, throttling, hangs or broken pages any more."""
        with self._lock:
            self._hangs.clear()
        for table in (self._latency, self._throttles, self._malformed, self.faults):
            table.clear()

    # -- request handling (called from handler threads)

    def _respond(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> Reply | None:
        reply = self._handle(method, target, headers, body)
        if reply is None:
            return None
        fields = (
            ("Content-Type", "application/json; charset=utf-8"),
            ("x-ms-request-id", str(uuid.uuid4())),
            *reply.headers,
        )
        return Reply(reply.status, reply.body, fields, reply.trickle)

    def _handle(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> Reply | None:
        parts = urlsplit(target)
        path = parts.path
        params = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        authorized = headers.get("Authorization", "") == f"Bearer {self.token}"
        api = _route(method, path)
        try:
            document = json.loads(body) if body else None
        except ValueError:
            document = None
        self._record(LoggedRequest(api or "unknown", method, path, params, document, authorized))
        if self._wait(self._latency.get("*")):
            return None
        if api is None:
            return _arm_error(404, "NotFound", f"No route for {method} {path}")
        status = self.faults.first_status(api)
        if status == 403:
            return _arm_error(
                403,
                "AuthorizationFailed",
                "The client does not have authorization to perform this action.",
            )
        if status is not None:
            return _arm_error(status, "InternalServerError", "Encountered internal server error.")
        if self._throttles.take(api):
            return _arm_error(
                429, "TooManyRequests", "Rate limit exceeded; retry later", retry_after=True
            )
        region = _request_region(api, params, document)
        hang = self._take_hang(api, region)
        if self._wait(hang):
            return None
        if api != "retail-prices" and not authorized:
            return _arm_error(
                401, "AuthenticationFailed", "The access token is missing or invalid."
            )
        try:
            if api == "retail-prices":
                payload, page = self._retail(params)
            elif api == "resource-graph":
                payload, page = self._graph(document)
            else:
                payload, page = self._usage(path, params)
        except _BadRequest as exc:
            if api == "retail-prices":
                body_out = json.dumps({"Error": {"Code": exc.code, "Message": exc.message}})
                return Reply(400, body_out.encode())
            return _arm_error(400, exc.code, exc.message)
        if self.faults.take(Fault.EMPTY, api, page=page):
            payload = _emptied(payload)
        encoded = json.dumps(payload).encode()
        if self._malformed.take(api, page) or self.faults.take(Fault.TRUNCATE, api, page=page):
            encoded = truncated(encoded)
        trickle = self._trickle(api, page=page)
        return Reply(200, encoded, trickle=trickle)

    def _take_hang(self, api: str, region: str | None) -> float:
        with self._lock:
            hang = self._hangs.get(api)
            if hang is None:
                return 0.0
            if hang.region is not None and hang.region not in (region or "").split(","):
                return 0.0
            if hang.times is not None:
                if hang.times <= 0:
                    return 0.0
                hang.times -= 1
            return hang.seconds

    # -- the APIs

    def _retail(self, params: Mapping[str, str]) -> tuple[dict[str, Any], int]:
        text = params.get("$filter", "")
        predicate = odata_filter(text) if text.strip() else (lambda item: True)
        matched = [i for i in self.data.retail_items if predicate(i)]
        size = self.page_sizes["retail-prices"]
        skip = _int(params.get("$skip"), 0)
        chunk = matched[skip : skip + size]
        next_link = None
        page = skip // size + 1
        query = "&".join(
            f"{k}={quote(v, safe='')}" for k, v in params.items() if k not in ("$skip", "cycle")
        )
        cycle = self.faults.next_page("retail-prices", page)
        if cycle is not None:
            serial = f"&cycle={cycle.serial}" if cycle.serial is not None else ""
            next_link = (
                f"{self.url}/api/retail/prices?{query}&$skip={(cycle.page - 1) * size}{serial}"
            )
        elif skip + size < len(matched):
            next_link = f"{self.url}/api/retail/prices?{query}&$skip={skip + size}"
        answer = {
            "BillingCurrency": "USD",
            "CustomerEntityId": "Default",
            "CustomerEntityType": "Retail",
            "Items": chunk,
            "NextPageLink": next_link,
            "Count": len(chunk),
        }
        return answer, page

    def _graph(self, document: Any) -> tuple[dict[str, Any], int]:
        if not isinstance(document, dict) or not isinstance(document.get("query"), str):
            raise _BadRequest("BadRequest", "The request body needs a query")
        options = document.get("options") or {}
        rows = kql(document["query"], self.data.resources)
        top = _int(options.get("$top"), self.page_sizes["resource-graph"])
        size = max(1, min(top, self.page_sizes["resource-graph"]))
        offset = _read_token(options.get("$skipToken"))
        chunk = rows[offset : offset + size]
        answer: dict[str, Any] = {
            "totalRecords": len(rows),
            "count": len(chunk),
            "data": chunk,
            "facets": [],
            "resultTruncated": "false",
        }
        page = offset // size + 1
        cycle = self.faults.next_page("resource-graph", page)
        if cycle is not None:
            answer["$skipToken"] = _make_token((cycle.page - 1) * size, cycle.serial)
        elif offset + size < len(rows):
            answer["$skipToken"] = _make_token(offset + size)
        return answer, page

    def _usage(self, path: str, params: Mapping[str, str]) -> tuple[dict[str, Any], int]:
        if not params.get("api-version"):
            raise _BadRequest(
                "MissingApiVersionParameter", "The api-version query parameter is required"
            )
        metric = (params.get("metric") or "actualcost").lower()
        if metric not in self.data.usage:
            raise _BadRequest("BadRequest", f"Unsupported metric {metric!r}")
        start, end = _usage_window(params.get("$filter", ""))
        expand = params.get("$expand", "").lower()
        items = []
        for item in self.data.usage[metric]:
            if (start and item["_date"] < start) or (end and item["_date"] > end):
                continue
            sent = {k: v for k, v in item.items() if k != "_date"}
            properties = dict(sent["properties"])
            if "meterdetails" not in expand:
                properties.pop("meterDetails", None)
            if "additionalinfo" not in expand:
                properties.pop("additionalInfo", None)
            sent["properties"] = properties
            items.append(sent)
        size = self.page_sizes["consumption"]
        offset = _int(params.get("$skiptoken"), 0)
        chunk = items[offset : offset + size]
        answer: dict[str, Any] = {"value": chunk}
        page = offset // size + 1
        query = "&".join(
            f"{k}={quote(v, safe='')}"
            for k, v in params.items()
            if k not in ("$skiptoken", "cycle")
        )
        cycle = self.faults.next_page("consumption", page)
        if cycle is not None:
            serial = f"&cycle={cycle.serial}" if cycle.serial is not None else ""
            answer["nextLink"] = (
                f"{self.url}{path}?{query}&$skiptoken={(cycle.page - 1) * size}{serial}"
            )
        elif offset + size < len(items):
            answer["nextLink"] = f"{self.url}{path}?{query}&$skiptoken={offset + size}"
        return answer, page


def _api(name: str) -> str:
    if name not in APIS:
        raise ValueError(f"unknown API {name!r}; one of {', '.join(APIS)}")
    return name


_USAGE_PATH = re.compile(r"^/.+/providers/Microsoft\.Consumption/usageDetails$", re.IGNORECASE)


def _route(method: str, path: str) -> str | None:
    if method == "GET" and path.rstrip("/") == "/api/retail/prices":
        return "retail-prices"
    if method == "POST" and path.lower() == "/providers/microsoft.resourcegraph/resources":
        return "resource-graph"
    if method == "GET" and _USAGE_PATH.match(path):
        return "consumption"
    return None


def _request_region(api: str, params: Mapping[str, str], document: Any) -> str | None:
    if api == "retail-prices":
        match = re.search(r"armRegionName eq '([^']+)'", params.get("$filter", ""))
        return match.group(1) if match else None
    if api == "resource-graph" and isinstance(document, dict):
        match = re.search(r"location in~ \(([^)]*)\)", str(document.get("query", "")))
        if match:
            return ",".join(_literal(v) for v in _split_outside(match.group(1), r","))
    return None


def _usage_window(text: str) -> tuple[str | None, str | None]:
    start = re.search(r"properties/usageStart ge '(\d{4}-\d{2}-\d{2})", text)
    end = re.search(r"properties/usageEnd le '(\d{4}-\d{2}-\d{2})", text)
    if text.strip() and not (start or end):
        raise _BadRequest("BadRequest", f"Unsupported $filter {text!r}")
    return (start.group(1) if start else None), (end.group(1) if end else None)


def _int(value: Any, default: int) -> int:
    try:
        return int(value) if value not in (None, "") else default
    except (TypeError, ValueError):
        raise _BadRequest("BadRequest", f"{value!r} is not a number") from None


def _emptied(payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` as a valid page with no items and no next page (the ``empty`` fault)."""
    out = dict(payload)
    for key in ("Items", "data", "value"):
        if key in out:
            out[key] = []
    for key in ("Count", "count", "totalRecords"):
        if key in out:
            out[key] = 0
    if "NextPageLink" in out:
        out["NextPageLink"] = None
    out.pop("$skipToken", None)
    out.pop("nextLink", None)
    return out


def _make_token(offset: int, serial: int | None = None) -> str:
    fields: dict[str, Any] = {"o": offset}
    if serial is not None:  # a page cycle with fresh tokens: each one distinct
        fields["n"] = serial
    return base64.urlsafe_b64encode(json.dumps(fields).encode()).decode()


def _read_token(token: Any) -> int:
    if not token:
        return 0
    try:
        return int(json.loads(base64.urlsafe_b64decode(str(token)))["o"])
    except (ValueError, KeyError, TypeError):
        raise _BadRequest("BadRequest", "The $skipToken is not valid") from None


def _arm_error(status: int, code: str, message: str, *, retry_after: bool = False) -> Reply:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    headers = (("Retry-After", "0"),) if retry_after else ()
    return Reply(status, body, headers)
