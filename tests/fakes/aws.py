"""A local AWS fake that speaks the real wire formats, with answers built from real samples.

``FakeAws`` is a ``tests.fakes.base.FakeServer`` (HTTP on 127.0.0.1, port chosen by the OS).
boto3 clients made with ``endpoint_url=fake.url`` talk to it as to AWS:

``DescribeSpotPriceHistory`` (EC2 query protocol, XML)
    Real price-change events from the training_on_a_dime CSV (p2/p3, 6 regions, zone
    names, 2019-12 to 2020-03) and the ericpauley TSV (509 types incl. g4dn/g5/p3dn/p4d,
    17 regions, zone IDs, 4 OS products, 6 h of 2022-05-31). Rows are price changes,
    newest first: those in [StartTime, EndTime] plus, per pool (zone, type, product),
    the last change before StartTime. ``MaxResults`` (default and maximum 1000) and an
    opaque ``NextToken`` paginate; the last page carries an empty ``<nextToken/>`` as
    AWS does. Product descriptions match exactly: the files hold ``Linux/UNIX`` (and
    the TSV also Windows, Red Hat Enterprise Linux, SUSE Linux), no ``(Amazon VPC)``
    variants, so a filter on ``Linux/UNIX (Amazon VPC)`` returns nothing.
``GetSpotPlacementScores`` (EC2 query protocol, XML)
    Deterministic scores 1-10 from (region, zone, instance types, capacity); see
    ``placement_score``. ``deny_placement_scores`` makes it answer 403
    ``UnauthorizedOperation``.
``GetProducts`` (Price List API, JSON 1.1)
    One ``Compute Instance`` product per region x instance type of the SkyPilot AWS
    catalog subsets (on-demand Linux prices; a region's price is the same in every
    zone), plus, for the p4/p5 families, a second product with ``marketoption:
    CapacityBlock`` priced at ``CAPACITY_BLOCK_FACTOR`` x on-demand (an invented
    figure: the samples hold no Capacity Block prices). Types with no on-demand price in
    the catalog (p5e.48xlarge) get no product.
``GET /spot-advisor-data.json``
    The bytes of ``spot-advisor-data_spotinfo_2025-06-28.json``.
``GetCostAndUsage`` (Cost Explorer, JSON 1.1)
    SYNTHETIC spend (no public sample of a Cost Explorer answer is used): for every
    period of the request's ``TimePeriod`` (``MONTHLY`` or ``DAILY``), one group per
    purchase type in ``CE_PURCHASE_TYPES`` (and, when grouped by a tag, per value in
    ``CE_TAG_VALUES``) with a deterministic ``UnblendedCost`` and ``AmortizedCost``;
    ``ce_page_periods`` periods per page (default 1) and an opaque ``NextPageToken``.

Re-timing. Each of the two history files is shifted by one constant so that its newest
event lands at ``now - 1 h`` (``now`` is a constructor argument): the CSV's 2020-03-23
16:09:42Z and the TSV's 2022-05-31 23:59:47Z both become ``now - 1 h``. The real gaps
between events, within and across pools of a file, are kept. Where a pool (region, zone
name, type, product) is in both files, the CSV's multi-week series is kept and the TSV's
dropped, so no pool mixes two eras.

Zone names and IDs. Every zone has both. Per region, the standard zone IDs seen in the
TSV and the catalog, sorted by number (``az1 < az2 < az4``), get the letters ``a, b,
...`` (as many as the region needs, covering the CSV's letters) ROTATED BY ONE: the k-th
ID (0-based) is named with letter ``(k + 1) mod n``. So in us-east-1 (az1..az6)
``use1-az1 = us-east-1b, ..., use1-az5 = us-east-1f, use1-az6 = us-east-1a``; in
ca-central-1 (az1, az2, az4) ``cac1-az1 = ca-central-1b, cac1-az2 = ca-central-1c,
cac1-az4 = ca-central-1a``; a one-zone region maps ``az1 = a``. This mimics AWS's
per-account shuffle, so code that derives an ID from a letter gets it wrong here too.
Local Zones keep the plain order: ``usw2-lax1-az1 = us-west-2-lax-1a``. If a region had
more CSV letters than IDs, IDs with the next numbers would be made up (none is, today).
``FakeAws.zone_map(region)`` returns the mapping.

Faults, all settable at any time from any thread: ``latency_s``, ``throttle``, ``hang``,
``malformed``, ``deny_placement_scores``, and ``inject(fault, action, ...)`` with the
shared vocabulary of ``tests.fakes.faults`` (throttle, hang, trickle, truncate, empty,
page_cycle, http_403, http_500; targets are action names or "*", ``region=`` the
region a request is signed for); ``clear_faults`` resets them all. ``requests``
logs ``LoggedRequest(action, region, params)`` for every request received (params: the
EC2 form fields without ``Action``, the Price List JSON body, or ``{"path": ...}``).

The samples are loaded and indexed once per process and data folder (``load_dataset``).
"""

from __future__ import annotations

import base64
import contextlib
import fnmatch
import hashlib
import json
import math
import re
import traceback
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from tests.fakes.base import Countdown, Delays, FakeServer, PageFaults, Reply
from tests.fakes.faults import Fault, Injected, truncated

DEFAULT_NOW = datetime(2025, 7, 1, 12, 0, 0, tzinfo=UTC)
"""A fixed 'now' for tests: the newest spot price event is at 11:00 that day."""

EC2_NAMESPACE = "http://ec2.amazonaws.com/doc/2016-11-15/"
JSON_CONTENT_TYPE = "application/x-amz-json-1.1"

SPOT_CSV = (
    "aws-spot-price-history/aws_spot_price_history_p2_p3_2019-12_2020-03_training_on_a_dime.csv"
)
SPOT_TSV = (
    "aws-spot-price-history/aws-spot-price-history_2022-05-31_6h_all-types_azid_ericpauley.tsv"
)
CATALOG_GLOB = "skypilot-catalog/aws_v8_vms_gpu_subset_*.csv"
SPOT_ADVISOR = "aws-spot-advisor/spot-advisor-data_spotinfo_2025-06-28.json"

NEWEST_EVENT_AGE = timedelta(hours=1)
SPOT_PAGE_MAX = 1000
SCORES_PAGE_MIN, SCORES_PAGE_MAX = 10, 1000
PRICING_PAGE_MAX = 100

ON_DEMAND_TERM = "JRTCKXETXF"
RATE_CODE = "6YS6EN2CT7"
CAPACITY_BLOCK_FACTOR = 0.6
CAPACITY_BLOCK_FAMILIES = ("p4d", "p4de", "p5", "p5en")
PRICE_LIST_VERSION = "20250628000000"
PRICE_LIST_PUBLISHED = "2025-06-28T00:00:00Z"
PRICE_EFFECTIVE = "2025-06-01T00:00:00Z"

ACTIONS = (
    "DescribeSpotPriceHistory",
    "GetSpotPlacementScores",
    "GetProducts",
    "GetSpotAdvisorData",
    "DescribeAvailabilityZones",
    "GetCostAndUsage",
)
CE_PURCHASE_TYPES = ("On Demand Instances", "Spot Instances", "Savings Plans")
CE_TAG_VALUES = ("ml", "")  # "" is untagged spend (key "team$")

# Price List API ``location`` per region (the names the API uses, "EU (...)").
LOCATIONS: dict[str, str] = {
    "us-east-1": "US East (N. Virginia)",
    "us-east-2": "US East (Ohio)",
    "us-west-1": "US West (N. California)",
    "us-west-2": "US West (Oregon)",
    "af-south-1": "Africa (Cape Town)",
    "ap-east-1": "Asia Pacific (Hong Kong)",
    "ap-northeast-1": "Asia Pacific (Tokyo)",
    "ap-northeast-2": "Asia Pacific (Seoul)",
    "ap-northeast-3": "Asia Pacific (Osaka)",
    "ap-south-1": "Asia Pacific (Mumbai)",
    "ap-southeast-1": "Asia Pacific (Singapore)",
    "ap-southeast-2": "Asia Pacific (Sydney)",
    "ap-southeast-3": "Asia Pacific (Jakarta)",
    "ca-central-1": "Canada (Central)",
    "eu-central-1": "EU (Frankfurt)",
    "eu-north-1": "EU (Stockholm)",
    "eu-south-1": "EU (Milan)",
    "eu-south-2": "EU (Spain)",
    "eu-west-1": "EU (Ireland)",
    "eu-west-2": "EU (London)",
    "eu-west-3": "EU (Paris)",
    "me-central-1": "Middle East (UAE)",
    "me-south-1": "Middle East (Bahrain)",
    "sa-east-1": "South America (Sao Paulo)",
}

# Billing region code that prefixes ``usagetype`` outside us-east-1 (eu-west-1 is "EU").
USAGE_PREFIXES: dict[str, str] = {
    "us-east-1": "",
    "us-east-2": "USE2",
    "us-west-1": "USW1",
    "us-west-2": "USW2",
    "af-south-1": "AFS1",
    "ap-east-1": "APE1",
    "ap-northeast-1": "APN1",
    "ap-northeast-2": "APN2",
    "ap-northeast-3": "APN3",
    "ap-south-1": "APS3",
    "ap-southeast-1": "APS1",
    "ap-southeast-2": "APS2",
    "ap-southeast-3": "APS4",
    "ca-central-1": "CAN1",
    "eu-central-1": "EUC1",
    "eu-north-1": "EUN1",
    "eu-south-1": "EUS1",
    "eu-south-2": "EUS2",
    "eu-west-1": "EU",
    "eu-west-2": "EUW2",
    "eu-west-3": "EUW3",
    "me-central-1": "MEC1",
    "me-south-1": "MES1",
    "sa-east-1": "SAE1",
}

_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/([^/,\s]+)/([^/,\s]+)/aws4_request")
_STANDARD_ID = re.compile(r"^([a-z]+\d)-az(\d+)$")
_LOCAL_ID = re.compile(r"^([a-z]+\d)-([a-z]+)(\d+)-az(\d+)$")
_SPOT_FILTERS = (
    "availability-zone",
    "availability-zone-id",
    "instance-type",
    "product-description",
    "spot-price",
    "timestamp",
)


# --- the data --------------------------------------------------------------------------


class SpotEvent(NamedTuple):
    """One spot price change; its time is ``now - 1 h + offset_ms``."""

    offset_ms: int  # <= 0: milliseconds before the newest event of its file
    zone: str
    zone_id: str
    instance_type: str
    product: str
    price: str  # USD/h, 6 decimals as the API writes it


@dataclass(frozen=True)
class Zone:
    """One availability zone of a region, as both the name and the ID."""

    name: str
    zone_id: str
    local: bool


@dataclass(frozen=True)
class Product:
    """One Price List product: its attributes (for filters) and its JSON document."""

    attributes: Mapping[str, str]
    document: str


@dataclass(frozen=True)
class Dataset:
    """The samples, indexed for the fake's queries.

    Attributes
    ----------
    zones
        region -> its zones (standard and Local Zones), sorted by ID.
    events
        region -> its spot price events, newest first (ties by zone, type, product).
    offered
        region -> zone ID -> instance types seen there (history or catalog).
    sizes
        instance type -> (vCPUs, memory MiB), from the catalog and the Spot Advisor file.
    products
        Price List products sorted by region, type, market option.
    fields
        Every product attribute name: the fields a GetProducts filter can use.
    spot_advisor
        The Spot Advisor file's bytes.
    """

    zones: Mapping[str, tuple[Zone, ...]]
    events: Mapping[str, tuple[SpotEvent, ...]]
    offered: Mapping[str, Mapping[str, frozenset[str]]]
    sizes: Mapping[str, tuple[float, float]]
    products: tuple[Product, ...]
    fields: frozenset[str]
    spot_advisor: bytes

    @property
    def regions(self) -> tuple[str, ...]:
        """Every region with zones, sorted."""
        return tuple(sorted(self.zones))


def load_dataset(data_dir: Path) -> Dataset:
    """The samples under ``data_dir`` (the shared/data folder), loaded once per process."""
    return _load_dataset(Path(data_dir).resolve())


@lru_cache(maxsize=4)
def _load_dataset(data_dir: Path) -> Dataset:
    # The repo's own importers read and validate the files (regions, zone IDs, UTC times).
    import pandas as pd

    from spotadvisor.importers.skypilot.aws import read_aws_catalog
    from spotadvisor.importers.spot_price_history import read_spot_price_csv, read_spot_price_tsv

    [named] = read_spot_price_csv([data_dir / SPOT_CSV], None, "fake-aws")
    [by_id] = read_spot_price_tsv([data_dir / SPOT_TSV], None, "fake-aws")
    catalog_paths = sorted(data_dir.glob(CATALOG_GLOB))
    if not catalog_paths:
        raise FileNotFoundError(f"no {CATALOG_GLOB} under {data_dir}")
    catalog = pd.concat([b.frame for b in read_aws_catalog(catalog_paths)], ignore_index=True)
    advisor_bytes = (data_dir / SPOT_ADVISOR).read_bytes()

    named_frame, id_frame = named.frame, by_id.frame
    ids: dict[str, set[str]] = {}
    for frame in (id_frame, catalog):
        for region, zone_id in frame[["region", "zone_id"]].drop_duplicates().itertuples(False):
            ids.setdefault(str(region), set()).add(str(zone_id))
    letters: dict[str, set[str]] = {}
    for region, zone in named_frame[["region", "zone"]].drop_duplicates().itertuples(False):
        letters.setdefault(str(region), set()).add(str(zone).removeprefix(str(region)))
    zones = {
        region: _region_zones(region, ids.get(region, set()), letters.get(region, set()))
        for region in sorted(set(ids) | set(letters))
    }
    name_to_id = {z.name: z.zone_id for zs in zones.values() for z in zs}
    id_to_name = {z.zone_id: z.name for zs in zones.values() for z in zs}

    events: dict[str, list[SpotEvent]] = {}
    csv_pools: set[tuple[str, str, str]] = set()
    for frame, from_names in ((named_frame, True), (id_frame, False)):
        newest = frame["timestamp"].max()
        offsets = ((frame["timestamp"] - newest) // pd.Timedelta(milliseconds=1)).astype("int64")
        rows = zip(
            frame["region"],
            frame["zone"] if from_names else frame["zone_id"],
            frame["instance_type"],
            frame["product"],
            frame["price_usd_per_hour"],
            offsets,
            strict=True,
        )
        for region, zone_key, instance_type, product, price, offset in rows:
            zone = str(zone_key) if from_names else id_to_name[str(zone_key)]
            pool = (zone, str(instance_type), str(product))
            if from_names:
                csv_pools.add(pool)
            elif pool in csv_pools:
                continue  # the CSV's multi-week series of this pool wins
            event = SpotEvent(
                int(offset),
                zone,
                name_to_id[zone],
                str(instance_type),
                str(product),
                f"{float(price):.6f}",
            )
            events.setdefault(str(region), []).append(event)
    ordered = {
        region: tuple(
            sorted(
                items,
                key=lambda e: (-e.offset_ms, e.zone, e.instance_type, e.product),
            )
        )
        for region, items in events.items()
    }

    offered: dict[str, dict[str, set[str]]] = {}
    for region, items in ordered.items():
        for event in items:
            offered.setdefault(region, {}).setdefault(event.zone_id, set()).add(event.instance_type)
    for region, zone_id, instance_type in (
        catalog[["region", "zone_id", "instance_type"]].drop_duplicates().itertuples(False)
    ):
        offered.setdefault(str(region), {}).setdefault(str(zone_id), set()).add(str(instance_type))

    advisor = json.loads(advisor_bytes)
    sizes: dict[str, tuple[float, float]] = {
        name: (float(facts["cores"]), float(facts["ram_gb"]) * 1024)
        for name, facts in advisor.get("instance_types", {}).items()
        if facts.get("cores") and facts.get("ram_gb")
    }
    for instance_type, vcpus, memory_gib in (
        catalog[["instance_type", "vcpus", "memory_gib"]].drop_duplicates().itertuples(False)
    ):
        sizes[str(instance_type)] = (float(vcpus), float(memory_gib) * 1024)

    products = _products(catalog)
    return Dataset(
        zones=zones,
        events=ordered,
        offered={
            r: {z: frozenset(t) for z, t in by_zone.items()} for r, by_zone in offered.items()
        },
        sizes=sizes,
        products=products,
        fields=frozenset(k for p in products for k in p.attributes),
        spot_advisor=advisor_bytes,
    )


def _region_zones(region: str, ids: set[str], letters: set[str]) -> tuple[Zone, ...]:
    """Zones of one region: standard IDs get rotated letters, Local Zones keep their order."""
    from spotadvisor.regions import AWS_ZONE_ID_PREFIXES

    prefix = {r: p for p, r in AWS_ZONE_ID_PREFIXES.items()}[region]
    numbers = sorted(int(m.group(2)) for z in ids if (m := _STANDARD_ID.match(z)))
    needed = max([len(numbers), *(ord(letter) - ord("a") + 1 for letter in letters)])
    while len(numbers) < needed:
        numbers.append((numbers[-1] if numbers else 0) + 1)
    out = [
        Zone(f"{region}{chr(ord('a') + (k + 1) % needed)}", f"{prefix}-az{number}", False)
        for k, number in enumerate(numbers)
    ]
    for zone_id in sorted(ids):
        if match := _LOCAL_ID.match(zone_id):
            _, city, city_number, number = match.groups()
            letter = chr(ord("a") + int(number) - 1)
            out.append(Zone(f"{region}-{city}-{city_number}{letter}", zone_id, True))
    return tuple(sorted(out, key=lambda z: (z.local, z.zone_id)))


def _products(catalog: Any) -> tuple[Product, ...]:
    """Price List products: one per region x type with an on-demand price, + Capacity Blocks."""
    firsts = catalog.dropna(subset=["price_on_demand_usd_per_hour"]).drop_duplicates(
        subset=["region", "instance_type"]
    )
    products = []
    for row in firsts.itertuples(index=False):
        region, instance_type = str(row.region), str(row.instance_type)
        price = float(row.price_on_demand_usd_per_hour)
        attributes = {
            "servicecode": "AmazonEC2",
            "servicename": "Amazon Elastic Compute Cloud",
            "location": LOCATIONS[region],
            "locationType": "AWS Region",
            "regionCode": region,
            "instanceType": instance_type,
            "instanceFamily": "GPU instance",
            "currentGeneration": "Yes",
            "vcpu": _number(row.vcpus),
            "memory": f"{_number(row.memory_gib)} GiB",
            "operatingSystem": "Linux",
            "tenancy": "Shared",
            "preInstalledSw": "NA",
            "licenseModel": "No License required",
            "capacitystatus": "Used",
            "marketoption": "OnDemand",
            "operation": "RunInstances",
            "usagetype": _usage_type(region, instance_type),
        }
        if not math.isnan(row.gpu_count):
            attributes["gpu"] = _number(row.gpu_count)
            if not math.isnan(row.gpu_memory_gb):
                attributes["gpuMemory"] = f"{_number(row.gpu_count * row.gpu_memory_gb)} GB"
        markets = [("OnDemand", price)]
        if instance_type.partition(".")[0] in CAPACITY_BLOCK_FAMILIES:
            markets.append(("CapacityBlock", round(price * CAPACITY_BLOCK_FACTOR, 4)))
        for market, market_price in markets:
            attrs = {**attributes, "marketoption": market}
            products.append(_product(attrs, market_price))
    products.sort(
        key=lambda p: (
            p.attributes["regionCode"],
            p.attributes["instanceType"],
            p.attributes["marketoption"] != "OnDemand",
        )
    )
    return tuple(products)


def _product(attributes: dict[str, str], price: float) -> Product:
    region, instance_type = attributes["regionCode"], attributes["instanceType"]
    market = attributes["marketoption"]
    digest = hashlib.sha256(f"{region}|{instance_type}|{market}".encode()).digest()
    sku = base64.b32encode(digest).decode()[:16]
    label = "On Demand" if market == "OnDemand" else "Capacity Block"
    term = f"{sku}.{ON_DEMAND_TERM}"
    document = {
        "product": {
            "productFamily": "Compute Instance",
            "attributes": attributes,
            "sku": sku,
        },
        "serviceCode": "AmazonEC2",
        "terms": {
            "OnDemand": {
                term: {
                    "priceDimensions": {
                        f"{term}.{RATE_CODE}": {
                            "unit": "Hrs",
                            "endRange": "Inf",
                            "description": f"${price:.4f} per {label} Linux {instance_type} "
                            "Instance Hour",
                            "appliesTo": [],
                            "rateCode": f"{term}.{RATE_CODE}",
                            "beginRange": "0",
                            "pricePerUnit": {"USD": f"{price:.10f}"},
                        }
                    },
                    "sku": sku,
                    "effectiveDate": PRICE_EFFECTIVE,
                    "offerTermCode": ON_DEMAND_TERM,
                    "termAttributes": {},
                }
            }
        },
        "version": PRICE_LIST_VERSION,
        "publicationDate": PRICE_LIST_PUBLISHED,
    }
    fields = {**attributes, "productFamily": "Compute Instance", "sku": sku}
    return Product(fields, json.dumps(document))


def _usage_type(region: str, instance_type: str) -> str:
    prefix = USAGE_PREFIXES[region]
    return f"{prefix}-BoxUsage:{instance_type}" if prefix else f"BoxUsage:{instance_type}"


def _number(value: float) -> str:
    value = float(value)
    return str(int(value)) if value.is_integer() else f"{value:g}"


# --- placement scores -------------------------------------------------------------------


def placement_score(
    region: str, zone_id: str, instance_types: Sequence[str], instances: float, offered: int
) -> int:
    """The fake's score (1-10) for one zone.

    ``4 + sha256(region|zone|sorted types) % 7`` (4-10), plus one per offered requested
    type beyond the first (at most +2), minus ``floor(log2(instances))`` for the number
    of instances the target capacity needs; 1 when no requested type is offered there.
    """
    if offered == 0:
        return 1
    key = f"{region}|{zone_id}|{','.join(sorted(set(instance_types)))}".encode()
    base = 4 + int.from_bytes(hashlib.sha256(key).digest()[:4], "big") % 7
    penalty = math.floor(math.log2(instances)) if instances >= 1 else 0
    return max(1, min(10, base + min(2, offered - 1) - penalty))


# --- the server -------------------------------------------------------------------------


class LoggedRequest(NamedTuple):
    """One request the fake received."""

    action: str
    region: str | None
    params: dict[str, Any]


@dataclass(frozen=True)
class _Reply:
    status: int
    body: bytes
    content_type: str
    request_id: str
    trickle: tuple[int, float] | None = None  # (bytes per write, pause [s])


class _ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class FakeAws(FakeServer[LoggedRequest]):
    """A local HTTP server answering EC2 and Price List calls from the real samples.

    Parameters
    ----------
    now
        The fake's present (naive means UTC); the newest spot price event is 1 h before.
    data_dir
        The shared/data folder.

    Use as a context manager, or ``start()`` / ``stop()``; ``url`` is the endpoint.
    """

    def __init__(self, now: datetime, *, data_dir: Path) -> None:
        super().__init__()
        self.now = now if now.tzinfo else now.replace(tzinfo=UTC)
        self.data = load_dataset(data_dir)
        self._anchor_ms = math.floor((self.now - NEWEST_EVENT_AGE).timestamp() * 1000)
        self._latency = Delays()  # "*" only: every request
        self._deny = False
        self._omit_zone_ids = False
        self._deny_zones = False
        self._throttles = Countdown()
        self._hangs = Delays()  # by region
        self._malformed: PageFaults[str] = PageFaults()  # how: "truncate" or "item"
        self.ce_page_periods = 1
        self._history_cache: dict[tuple[str, str], tuple[SpotEvent, ...]] = {}

    # -- faults

    @property
    def latency_s(self) -> float:
        """Seconds slept before every response."""
        return self._latency.get("*")

    @latency_s.setter
    def latency_s(self, seconds: float) -> None:
        self._latency.set("*", seconds)

    @property
    def deny_placement_scores(self) -> bool:
        """When true, GetSpotPlacementScores answers 403 UnauthorizedOperation."""
        with self._lock:
            return self._deny

    @deny_placement_scores.setter
    def deny_placement_scores(self, denied: bool) -> None:
        with self._lock:
            self._deny = bool(denied)

    @property
    def omit_zone_ids(self) -> bool:
        """When true, spot price items carry a zone name but no ``availabilityZoneId``
        (as older API versions, AWS-compatible endpoints and archived responses do)."""
        with self._lock:
            return self._omit_zone_ids

    @omit_zone_ids.setter
    def omit_zone_ids(self, omitted: bool) -> None:
        with self._lock:
            self._omit_zone_ids = bool(omitted)

    @property
    def deny_describe_zones(self) -> bool:
        """When true, DescribeAvailabilityZones answers 403 UnauthorizedOperation."""
        with self._lock:
            return self._deny_zones

    @deny_describe_zones.setter
    def deny_describe_zones(self, denied: bool) -> None:
        with self._lock:
            self._deny_zones = bool(denied)

    def throttle(self, action: str, times: int = 1) -> None:
        """The next ``times`` requests of ``action`` get AWS's throttling error.

        EC2: HTTP 503 ``RequestLimitExceeded``; Price List: HTTP 400
        ``ThrottlingException``; Spot Advisor file: HTTP 503 S3 ``SlowDown``.
        """
        self._throttles.set(_action_name(action), times)

    def hang(self, region: str, seconds: float) -> None:
        """Requests signed for ``region`` ("*" = every request) sleep ``seconds`` first.

        ``seconds <= 0`` stops the hang. Use with a short client ``read_timeout``.
        """
        self._hangs.set(region, seconds)

    def malformed(
        self, action: str, page: int = 1, *, how: str = "truncate", times: int | None = None
    ) -> None:
        """Page ``page`` (1-based) of ``action`` comes back broken, with HTTP 200.

        ``how="truncate"`` cuts the body in half (invalid XML or JSON). Note that botocore
        raises ``ResponseParserError`` for broken XML, but for broken JSON (Price List)
        it returns a response with no ``PriceList`` and no ``NextToken``. ``how="item"``
        keeps the envelope valid and breaks the items: every ``PriceList`` string is
        truncated JSON, or every ``spotPrice`` reads ``not-a-price``. ``times`` limits
        how often (None: every time).
        """
        if how not in ("truncate", "item"):
            raise ValueError(f"how must be 'truncate' or 'item', not {how!r}")
        self._malformed.set(_action_name(action), page, how, times)

    def _fault_target(self, target: str) -> str:
        """An action name (``ACTIONS``); ``throttle`` and ``truncate`` need one, not "*"."""
        return _action_name(target)

    def _apply_fault(self, spec: Injected, *, times: int | None, region: str | None) -> None:
        if spec.fault is Fault.THROTTLE:
            self.throttle(spec.target, 1 if times is None else times)
        elif spec.fault is Fault.TRUNCATE:
            self.malformed(spec.target, spec.page or 1, how="truncate", times=times)
        else:
            self.faults.add(spec)

    def clear_faults(self) -> None:
        """No latency, throttling, hangs, broken pages or denial any more."""
        with self._lock:
            self._deny = False
            self._omit_zone_ids = False
            self._deny_zones = False
        for table in (self._latency, self._throttles, self._hangs, self._malformed, self.faults):
            table.clear()

    # -- helpers for tests

    def zone_map(self, region: str) -> dict[str, str]:
        """Zone name -> zone ID in ``region`` (standard and Local Zones)."""
        return {z.name: z.zone_id for z in self.data.zones.get(region, ())}

    def event_time(self, event: SpotEvent) -> datetime:
        """When ``event`` happened on this fake's clock."""
        return datetime.fromtimestamp((self._anchor_ms + event.offset_ms) / 1000, tz=UTC)

    # -- request handling (called from handler threads)

    def _respond(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> Reply | None:
        reply = self._handle(method, target, headers, body)
        if reply is None:
            return None
        fields = (("Content-Type", reply.content_type), ("x-amzn-RequestId", reply.request_id))
        return Reply(reply.status, reply.body, fields, reply.trickle)

    def _handle(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> _Reply | None:
        request_id = str(uuid.uuid4())
        region, service = _credential_scope(headers.get("Authorization", ""))
        target = headers.get("X-Amz-Target", "")
        if method == "GET":
            action, protocol, params = "GetSpotAdvisorData", "s3", {"path": path}
        elif target or service == "pricing":
            action, protocol = target.rpartition(".")[2], "json"
            try:
                params = json.loads(body or b"{}")
                if not isinstance(params, dict):
                    raise ValueError("not an object")
            except ValueError:
                params = {"body": body.decode("utf-8", "replace")}
                self._log(action, region, params)
                return _json_error(400, "SerializationException", "Invalid JSON", request_id)
        else:
            params = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
            action, protocol = params.pop("Action", ""), "ec2"
        self._log(action, region, params)

        hang = self._hangs.get(region or "")
        latency = self._latency.get("*")
        injected_hang = self.faults.take(Fault.HANG, action, region=region)
        if injected_hang is not None:
            hang = max(hang, injected_hang.seconds)
        if self._wait(hang) or self._wait(latency):
            return None
        status = self.faults.first_status(action, region=region)
        if status is not None:
            return _error(protocol, _http_fault(protocol, status), request_id)
        if self._throttles.take(action) or self.faults.take(Fault.THROTTLE, action, region=region):
            return _throttled(protocol, request_id)
        try:
            body_out, page, content_type = self._dispatch(
                protocol, action, region, path, params, request_id
            )
        except _ApiError as err:
            return _error(protocol, err, request_id)
        except Exception as exc:  # a bug of the fake: answer as AWS does, 500 InternalError
            traceback.print_exc()
            return _error(protocol, _ApiError(500, "InternalError", repr(exc)), request_id)
        if self.faults.take(Fault.EMPTY, action, page=page, region=region):
            body_out = self._empty_answer(action, params, request_id)
        broken = self._malformed.take(action, page)
        if broken == "truncate" or self.faults.take(
            Fault.TRUNCATE, action, page=page, region=region
        ):
            body_out = truncated(body_out)
        trickle = self._trickle(action, page=page, region=region)
        return _Reply(200, body_out, content_type, request_id, trickle)

    def _empty_answer(self, action: str, params: dict[str, Any], request_id: str) -> bytes:
        """A valid answer of ``action`` with no items and no next page."""
        if action == "GetProducts":
            return json.dumps({"FormatVersion": "aws_v1", "PriceList": []}).encode()
        if action == "GetCostAndUsage":
            empty = {
                "GroupDefinitions": params.get("GroupBy") or [],
                "ResultsByTime": [],
                "DimensionValueAttributes": [],
            }
            return json.dumps(empty).encode()
        if action == "GetSpotAdvisorData":
            doc = json.loads(self.data.spot_advisor)
            doc["spot_advisor"], doc["instance_types"] = {}, {}
            return json.dumps(doc).encode()
        inner = {
            "DescribeSpotPriceHistory": "<spotPriceHistorySet/><nextToken/>",
            "GetSpotPlacementScores": "<spotPlacementScoreSet/>",
            "DescribeAvailabilityZones": "<availabilityZoneInfo/>",
        }[action]
        return _ec2_xml(action, inner, request_id)

    def _next_token(
        self, action: str, page: int, offset: int, size: int, fingerprint: str, more: bool
    ) -> str:
        """The next-page token of ``page`` (``""``: the last page), or a cycled one under
        a ``page_cycle`` fault."""
        cycle = self.faults.next_page(action, page)
        if cycle is not None:
            return _make_token((cycle.page - 1) * size, cycle.page, fingerprint, cycle.serial)
        return _make_token(offset + size, page + 1, fingerprint) if more else ""

    def _dispatch(
        self,
        protocol: str,
        action: str,
        region: str | None,
        path: str,
        params: dict[str, Any],
        request_id: str,
    ) -> tuple[bytes, int, str]:
        """(body, page number, content type) of a successful answer."""
        if protocol == "s3":
            if path.partition("?")[0] != "/spot-advisor-data.json":
                raise _ApiError(404, "NoSuchKey", "The specified key does not exist.")
            return self.data.spot_advisor, 1, "application/json"
        if protocol == "json":
            if action == "GetCostAndUsage":
                return self._get_cost_and_usage(params)
            if action != "GetProducts":
                raise _ApiError(400, "UnknownOperationException", f"Unknown operation {action}")
            return self._get_products(params)
        handlers: dict[str, Callable[[str, dict[str, str]], tuple[str, int]]] = {
            "DescribeSpotPriceHistory": self._describe_spot_price_history,
            "GetSpotPlacementScores": self._get_spot_placement_scores,
            "DescribeAvailabilityZones": self._describe_availability_zones,
        }
        if action not in handlers:
            raise _ApiError(
                400, "InvalidAction", f"The action {action} is not valid for this web service."
            )
        if params.get("DryRun", "").lower() == "true":
            raise _ApiError(
                412, "DryRunOperation", "Request would have succeeded, but DryRun flag is set."
            )
        inner, page = handlers[action](region or "us-east-1", params)
        return _ec2_xml(action, inner, request_id), page, "text/xml;charset=UTF-8"

    def _log(self, action: str, region: str | None, params: dict[str, Any]) -> None:
        self._record(LoggedRequest(action, region, params))

    def _item_broken(self, action: str, page: int) -> bool:
        return self._malformed.peek(action, page) == "item"

    # -- DescribeAvailabilityZones

    def _describe_availability_zones(self, region: str, params: dict[str, str]) -> tuple[str, int]:
        """The region's zones with this fake account's name -> ID mapping."""
        if self.deny_describe_zones:
            raise _ApiError(
                403,
                "UnauthorizedOperation",
                "You are not authorized to perform this operation.",
            )
        items = "".join(
            "<item>"
            f"<zoneName>{escape(z.name)}</zoneName>"
            f"<zoneId>{escape(z.zone_id)}</zoneId>"
            f"<regionName>{escape(region)}</regionName>"
            "<zoneState>available</zoneState>"
            "</item>"
            for z in self.data.zones.get(region, ())
        )
        return f"<availabilityZoneInfo>{items}</availabilityZoneInfo>", 1

    # -- DescribeSpotPriceHistory

    def _describe_spot_price_history(self, region: str, params: dict[str, str]) -> tuple[str, int]:
        """The XML inside the response element, and the page number."""
        max_results = _int_param(params, "MaxResults", SPOT_PAGE_MAX, 1, SPOT_PAGE_MAX)
        fingerprint = _fingerprint(region, params)
        offset, page = _read_token(params.get("NextToken"), fingerprint, "InvalidNextToken")
        rows = self._history(region, params, fingerprint)
        chunk = rows[offset : offset + max_results]
        more = offset + max_results < len(rows)
        token = self._next_token(
            "DescribeSpotPriceHistory", page, offset, max_results, fingerprint, more
        )
        bad_price = self._item_broken("DescribeSpotPriceHistory", page)
        omit_ids = self.omit_zone_ids
        items = "".join(
            "<item>"
            f"<instanceType>{escape(e.instance_type)}</instanceType>"
            f"<productDescription>{escape(e.product)}</productDescription>"
            f"<spotPrice>{'not-a-price' if bad_price else e.price}</spotPrice>"
            f"<timestamp>{_iso_ms(self._anchor_ms + e.offset_ms)}</timestamp>"
            f"<availabilityZone>{escape(e.zone)}</availabilityZone>"
            + ("" if omit_ids else f"<availabilityZoneId>{escape(e.zone_id)}</availabilityZoneId>")
            + "</item>"
            for e in chunk
        )
        tail = f"<nextToken>{token}</nextToken>" if token else "<nextToken/>"
        return f"<spotPriceHistorySet>{items}</spotPriceHistorySet>{tail}", page

    def _history(
        self, region: str, params: dict[str, str], fingerprint: str
    ) -> tuple[SpotEvent, ...]:
        key = (region, fingerprint)
        with self._lock:
            cached = self._history_cache.get(key)
        if cached is not None:
            return cached
        types = set(_members(params, "InstanceType", "InstanceTypes"))
        products = set(_members(params, "ProductDescription", "ProductDescriptions"))
        zone, zone_id = params.get("AvailabilityZone"), params.get("AvailabilityZoneId")
        start, end = _time_ms(params, "StartTime"), _time_ms(params, "EndTime")
        if start is not None and end is not None and start > end:
            raise _ApiError(400, "InvalidParameterValue", "StartTime must be before EndTime.")
        checks = [_spot_filter(name, values) for name, values in _filters(params)]
        seen_before_start: set[tuple[str, str, str]] = set()
        out = []
        for event in self.data.events.get(region, ()):
            if (types and event.instance_type not in types) or (
                products and event.product not in products
            ):
                continue
            if (zone and event.zone != zone) or (zone_id and event.zone_id != zone_id):
                continue
            when = self._anchor_ms + event.offset_ms
            if end is not None and when > end:
                continue
            if not all(check(event, when) for check in checks):
                continue
            if start is not None and when < start:
                pool = (event.zone, event.instance_type, event.product)
                if pool in seen_before_start:
                    continue
                seen_before_start.add(pool)  # the price in effect at StartTime
            out.append(event)
        result = tuple(out)
        with self._lock:
            if len(self._history_cache) > 64:
                self._history_cache.clear()
            self._history_cache[key] = result
        return result

    # -- GetSpotPlacementScores

    def _get_spot_placement_scores(self, region: str, params: dict[str, str]) -> tuple[str, int]:
        """The XML inside the response element, and the page number."""
        if self.deny_placement_scores:
            raise _ApiError(
                403,
                "UnauthorizedOperation",
                "You are not authorized to perform: ec2:GetSpotPlacementScores",
            )
        types = _members(params, "InstanceType", "InstanceTypes")
        if not types and not any(k.startswith("InstanceRequirementsWithMetadata") for k in params):
            raise _ApiError(
                400,
                "MissingParameter",
                "Either InstanceTypes or InstanceRequirementsWithMetadata must be specified.",
            )
        if "TargetCapacity" not in params:
            raise _ApiError(
                400, "MissingParameter", "The request must contain the parameter TargetCapacity"
            )
        capacity = _int_param(params, "TargetCapacity", 1, 1, 2_000_000_000)
        unit = params.get("TargetCapacityUnitType", "units")
        if unit not in ("units", "vcpu", "memory-mib"):
            raise _ApiError(
                400, "InvalidParameterValue", f"Invalid value '{unit}' for TargetCapacityUnitType"
            )
        instances = float(capacity)
        if unit != "units":
            index = 0 if unit == "vcpu" else 1
            largest = max(
                (self.data.sizes[t][index] for t in types if t in self.data.sizes), default=1.0
            )
            instances = math.ceil(capacity / largest)
        single = params.get("SingleAvailabilityZone", "false").lower() == "true"
        local = params.get("IncludeLocalZones", "false").lower() == "true"
        regions = _members(params, "RegionName", "RegionNames") or list(self.data.regions)
        max_results = _int_param(
            params, "MaxResults", SCORES_PAGE_MAX, SCORES_PAGE_MIN, SCORES_PAGE_MAX
        )

        scores: list[tuple[str, str | None, int]] = []
        for name in dict.fromkeys(regions):
            offered = self.data.offered.get(name, {})
            by_zone = [
                (
                    z.zone_id,
                    placement_score(
                        name,
                        z.zone_id,
                        types,
                        instances,
                        len(set(types) & offered.get(z.zone_id, frozenset())),
                    ),
                )
                for z in self.data.zones.get(name, ())
                if local or not z.local
            ]
            if single:
                scores.extend((name, zone_id, score) for zone_id, score in by_zone)
            else:
                scores.append((name, None, max((s for _, s in by_zone), default=1)))
        scores.sort(key=lambda s: (-s[2], s[0], s[1] or ""))

        fingerprint = _fingerprint(region, params)
        offset, page = _read_token(params.get("NextToken"), fingerprint, "InvalidNextToken")
        chunk = scores[offset : offset + max_results]
        more = offset + max_results < len(scores)
        items = "".join(
            f"<item><region>{escape(r)}</region>"
            + (f"<availabilityZoneId>{escape(z)}</availabilityZoneId>" if z else "")
            + f"<score>{s}</score></item>"
            for r, z, s in chunk
        )
        token = self._next_token(
            "GetSpotPlacementScores", page, offset, max_results, fingerprint, more
        )
        tail = f"<nextToken>{token}</nextToken>" if token else ""
        return f"<spotPlacementScoreSet>{items}</spotPlacementScoreSet>{tail}", page

    # -- GetProducts

    def _get_products(self, params: dict[str, Any]) -> tuple[bytes, int, str]:
        max_results = params.get("MaxResults", PRICING_PAGE_MAX)
        if not isinstance(max_results, int) or not 1 <= max_results <= PRICING_PAGE_MAX:
            raise _ApiError(
                400, "InvalidParameterException", f"MaxResults must be 1 to {PRICING_PAGE_MAX}"
            )
        filters = params.get("Filters") or []
        if not isinstance(filters, list):
            raise _ApiError(400, "InvalidParameterException", "Filters must be a list")
        checks = [_price_filter(f, self.data.fields) for f in filters]
        matched = (
            [p for p in self.data.products if all(check(p) for check in checks)]
            if params.get("ServiceCode") == "AmazonEC2"
            else []
        )
        fingerprint = _fingerprint("pricing", params)
        offset, page = _read_token(
            params.get("NextToken"), fingerprint, "InvalidNextTokenException"
        )
        chunk = matched[offset : offset + max_results]
        items = [p.document for p in chunk]
        if self._item_broken("GetProducts", page):
            items = [doc[: len(doc) // 2] for doc in items]
        answer: dict[str, Any] = {
            "FormatVersion": params.get("FormatVersion") or "aws_v1",
            "PriceList": items,
        }
        more = offset + max_results < len(matched)
        token = self._next_token("GetProducts", page, offset, max_results, fingerprint, more)
        if token:
            answer["NextToken"] = token
        return json.dumps(answer).encode(), page, JSON_CONTENT_TYPE

    # -- GetCostAndUsage

    def _get_cost_and_usage(self, params: dict[str, Any]) -> tuple[bytes, int, str]:
        """Synthetic spend per period, purchase type and tag value (see the docstring)."""
        period = params.get("TimePeriod") or {}
        try:
            start = datetime.fromisoformat(str(period["Start"])).date()
            end = datetime.fromisoformat(str(period["End"])).date()
        except (KeyError, ValueError):
            raise _ApiError(400, "ValidationException", "TimePeriod needs Start and End") from None
        if start >= end:
            raise _ApiError(400, "ValidationException", "Start must be before End")
        granularity = params.get("Granularity", "DAILY")
        if granularity not in ("DAILY", "MONTHLY"):
            raise _ApiError(400, "ValidationException", f"Unsupported granularity {granularity}")
        group_by = params.get("GroupBy") or []
        tag = next((g.get("Key") for g in group_by if g.get("Type") == "TAG"), None)
        metrics = params.get("Metrics") or ["UnblendedCost"]
        periods: list[tuple[str, str]] = []
        day = start
        while day < end:
            if granularity == "DAILY":
                following = day + timedelta(days=1)
            else:
                following = (day.replace(day=1) + timedelta(days=32)).replace(day=1)
            periods.append((day.isoformat(), min(following, end).isoformat()))
            day = following
        fingerprint = _fingerprint("ce", params)
        offset, page = _read_token(
            params.get("NextPageToken"), fingerprint, "InvalidNextTokenException"
        )
        size = max(1, int(self.ce_page_periods))
        results = []
        for begin, finish in periods[offset : offset + size]:
            groups = []
            for purchase in CE_PURCHASE_TYPES:
                for value in CE_TAG_VALUES if tag else (None,):
                    keys = [purchase] + ([f"{tag}${value}"] if tag else [])
                    digest = hashlib.sha256(f"{begin}|{'|'.join(keys)}".encode()).digest()
                    amount = 10 + int.from_bytes(digest[:2], "big") % 990
                    groups.append(
                        {
                            "Keys": keys,
                            "Metrics": {
                                m: {
                                    "Amount": f"{amount * (0.9 if m == 'AmortizedCost' else 1.0):.4f}",
                                    "Unit": "USD",
                                }
                                for m in metrics
                            },
                        }
                    )
            results.append(
                {
                    "TimePeriod": {"Start": begin, "End": finish},
                    "Total": {},
                    "Groups": groups,
                    "Estimated": finish > self.now.date().isoformat(),
                }
            )
        answer: dict[str, Any] = {
            "GroupDefinitions": group_by,
            "ResultsByTime": results,
            "DimensionValueAttributes": [],
        }
        more = offset + size < len(periods)
        token = self._next_token("GetCostAndUsage", page, offset, size, fingerprint, more)
        if token:
            answer["NextPageToken"] = token
        return json.dumps(answer).encode(), page, JSON_CONTENT_TYPE


# --- protocol helpers -------------------------------------------------------------------


def _action_name(action: str) -> str:
    name = action.rpartition(".")[2]
    if name not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; one of {', '.join(ACTIONS)}")
    return name


def _credential_scope(authorization: str) -> tuple[str | None, str | None]:
    """(region, service) from a SigV4 ``Authorization`` header."""
    match = _SCOPE.search(authorization)
    return (match.group(1), match.group(2)) if match else (None, None)


def _ec2_xml(action: str, inner: str, request_id: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<{action}Response xmlns="{EC2_NAMESPACE}">'
        f"<requestId>{request_id}</requestId>{inner}</{action}Response>"
    ).encode()


def _ec2_error(status: int, code: str, message: str, request_id: str) -> _Reply:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Response><Errors><Error><Code>{escape(code)}</Code>"
        f"<Message>{escape(message)}</Message></Error></Errors>"
        f"<RequestID>{request_id}</RequestID></Response>"
    ).encode()
    return _Reply(status, body, "text/xml;charset=UTF-8", request_id)


def _json_error(status: int, kind: str, message: str, request_id: str) -> _Reply:
    body = json.dumps({"__type": kind, "message": message}).encode()
    return _Reply(status, body, JSON_CONTENT_TYPE, request_id)


def _s3_error(status: int, code: str, message: str, request_id: str) -> _Reply:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
        f"<RequestId>{request_id}</RequestId></Error>"
    ).encode()
    return _Reply(status, body, "application/xml", request_id)


def _error(protocol: str, err: _ApiError, request_id: str) -> _Reply:
    """An API error in the protocol's own format."""
    render = {"json": _json_error, "s3": _s3_error}.get(protocol, _ec2_error)
    return render(err.status, err.code, err.message, request_id)


def _http_fault(protocol: str, status: int) -> _ApiError:
    """The ``http_403`` / ``http_500`` fault as the protocol words it."""
    if status == 403:
        code = {"json": "AccessDeniedException", "s3": "AccessDenied"}.get(
            protocol, "UnauthorizedOperation"
        )
        return _ApiError(403, code, "You are not authorized to perform this operation.")
    code = {"json": "InternalErrorException"}.get(protocol, "InternalError")
    return _ApiError(status, code, "An internal error has occurred.")


def _throttled(protocol: str, request_id: str) -> _Reply:
    if protocol == "json":
        return _json_error(400, "ThrottlingException", "Rate exceeded", request_id)
    if protocol == "s3":
        return _s3_error(503, "SlowDown", "Please reduce your request rate.", request_id)
    return _ec2_error(503, "RequestLimitExceeded", "Request limit exceeded.", request_id)


def _members(params: Mapping[str, str], *names: str) -> list[str]:
    """Values of a flattened EC2 list (``Name.1``, ``Name.2``, ...) in index order.

    botocore sends ``InstanceType.N`` and ``RegionName.N``; the plural spellings are
    accepted too.
    """
    found: list[tuple[int, str]] = []
    for name in names:
        prefix = f"{name}."
        for key, value in params.items():
            index = key[len(prefix) :]
            if key.startswith(prefix) and index.isdigit():
                found.append((int(index), value))
    return [value for _, value in sorted(found)]


def _filters(params: Mapping[str, str]) -> list[tuple[str, list[str]]]:
    """``Filter.N.Name`` / ``Filter.N.Value.M`` as (name, values), in N order."""
    out = []
    numbers = sorted(
        {int(k.split(".")[1]) for k in params if re.fullmatch(r"Filter\.\d+\.Name", k)}
    )
    for n in numbers:
        values = _members(params, f"Filter.{n}.Value")
        out.append((params[f"Filter.{n}.Name"], values))
    return out


def _spot_filter(name: str, patterns: Sequence[str]) -> Callable[[SpotEvent, int], bool]:
    """A predicate for one DescribeSpotPriceHistory filter (values may use * and ?)."""
    if name not in _SPOT_FILTERS:
        raise _ApiError(400, "InvalidParameterValue", f"The filter '{name}' is invalid")

    def matches(value: str) -> bool:
        return any(fnmatch.fnmatchcase(value, p) for p in patterns)

    if name == "spot-price":

        def price_matches(event: SpotEvent, _when: int) -> bool:
            for pattern in patterns:
                if any(c in pattern for c in "*?"):
                    if fnmatch.fnmatchcase(event.price, pattern):
                        return True
                    continue
                with contextlib.suppress(ValueError):
                    if float(pattern) == float(event.price):
                        return True
            return False

        return price_matches
    if name == "timestamp":
        return lambda _event, when: matches(_iso_ms(when))
    field = {
        "availability-zone": "zone",
        "availability-zone-id": "zone_id",
        "instance-type": "instance_type",
        "product-description": "product",
    }[name]
    return lambda event, _when: matches(getattr(event, field))


def _price_filter(spec: Any, known: frozenset[str]) -> Callable[[Product], bool]:
    """A predicate for one GetProducts filter; a field no product has (not in ``known``)
    is ignored."""
    if not isinstance(spec, dict) or not {"Type", "Field", "Value"} <= set(spec):
        raise _ApiError(400, "InvalidParameterException", "Filters need Type, Field and Value")
    kind, field, value = spec["Type"], str(spec["Field"]), str(spec["Value"])
    listed = {v.strip() for v in value.split(",")}
    tests: dict[str, Callable[[str], bool]] = {
        "TERM_MATCH": lambda a: a == value,
        "EQUALS": lambda a: a == value,
        "CONTAINS": lambda a: value in a,
        "ANY_OF": lambda a: a in listed,
        "NONE_OF": lambda a: a not in listed,
    }
    if kind not in tests:
        raise _ApiError(400, "InvalidParameterException", f"Unknown filter type {kind}")
    test = tests[kind]

    def check(product: Product) -> bool:
        if field not in known:
            return True
        return test(product.attributes.get(field, ""))

    return check


def _int_param(params: Mapping[str, Any], name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise _ApiError(400, "InvalidParameterValue", f"Invalid value '{raw}' for {name}") from None
    if not low <= value <= high:
        raise _ApiError(
            400, "InvalidParameterValue", f"{name} must be between {low} and {high}; got {value}"
        )
    return value


def _time_ms(params: Mapping[str, str], name: str) -> int | None:
    raw = params.get(name)
    if not raw:
        return None
    try:
        if re.fullmatch(r"\d+(\.\d+)?", raw):
            return math.floor(float(raw) * 1000)
        when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise _ApiError(400, "InvalidParameterValue", f"Invalid value '{raw}' for {name}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return math.floor(when.timestamp() * 1000)


def _iso_ms(epoch_ms: int) -> str:
    when = datetime.fromtimestamp(epoch_ms // 1000, tz=UTC)
    return f"{when:%Y-%m-%dT%H:%M:%S}.{epoch_ms % 1000:03d}Z"


def _fingerprint(scope: str | None, params: Mapping[str, Any]) -> str:
    """What a pagination token is bound to: the request without its paging fields."""
    kept = {
        k: v for k, v in params.items() if k not in ("NextToken", "NextPageToken", "MaxResults")
    }
    text = json.dumps([scope, kept], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _make_token(offset: int, page: int, fingerprint: str, serial: int | None = None) -> str:
    fields: dict[str, Any] = {"o": offset, "p": page, "f": fingerprint}
    if serial is not None:  # a page cycle with fresh tokens: each one distinct
        fields["n"] = serial
    raw = json.dumps(fields, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _read_token(token: str | None, fingerprint: str, error_code: str) -> tuple[int, int]:
    """(offset, page number) of a token; no token is page 1 at offset 0."""
    if not token:
        return 0, 1
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        offset, page = int(data["o"]), int(data["p"])
        if data["f"] != fingerprint or offset < 0 or page < 2:
            raise ValueError("token of another request")
    except (ValueError, KeyError, TypeError):
        raise _ApiError(400, error_code, "The specified NextToken is not valid.") from None
    return offset, page
