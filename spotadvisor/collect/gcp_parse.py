"""Pure parsing of Cloud Billing Catalog SKUs into GPU-machine part prices for ``collect gcp``.

GCP publishes no price per GPU machine. The Cloud Billing Catalog lists *parts*: a price
per vCPU-hour and per GiB-hour of memory for each machine family (``A2 Instance Core
running in Americas``), a price per GPU-hour for each accelerator (``Nvidia Tesla A100
GPU running in Americas``) and, for A4, a price per *GPU slice* (below), for on-demand
and spot. ``parse_gcp_skus`` turns SKUs (the SDK's objects, or the REST JSON as dicts,
camelCase or snake_case) into a frame of parts; ``collect.gcp_offers`` composes machine
offers from it, and ``collect.gcp_billing_export`` reads the BigQuery billing export.

The rule table (``RULES``)
    Every SKU gets exactly one outcome: that of the FIRST rule it matches, so the order of
    ``RULES`` is the documented precedence. A rule is a pattern searched in the
    description (whitespace collapsed, case ignored), optionally with a pattern on
    ``category.usageType``, ``resourceFamily`` or ``resourceGroup``; its outcome is either
    a skip reason or ``(part, key, market)``. The skip rules come first (not Compute,
    commitments, DWS / flex-start / calendar mode, reservations, sole tenancy, custom and
    extended shapes, licences, GPU virtual workstations, premiums, other provisioning
    models), then three rules per *subject* (a GPU, an A4 slice or a machine family's
    core/RAM): spot by wording (``Spot Preemptible X`` / ``X attached to Spot Preemptible
    VMs``, whatever ``usageType`` says: Google labels some spot SKUs ``OnDemand``), spot by
    ``usageType == "Preemptible"``, and on-demand. The subjects are ordered specific
    first (``H100 80GB Plus|Mega`` before ``H100``, ``A100 80GB`` before ``A100``);
    unknown GPUs, families without GPUs and anything else are skipped last.
    ``describe_sku`` applies the table to one SKU; ``rules_markdown`` prints it (the
    table in docs/collect.md is that output, checked by the tests).

    DWS SKUs ("Nvidia H100 80GB GPU attached to DWS Defined Duration VMs running in
    Americas", "DWS Defined Duration A3 Core ...", "DWS Calendar Mode ...", "DWS Flex
    Start ...") are labelled ``usageType: OnDemand`` at roughly half the on-demand price:
    without their skip rule a machine's price depended on the order of SKU ids.

A4 GPU slices
    A4 (``a4-highgpu-8g``, 8 x B200) has no core or RAM SKUs. It is priced per *GPU
    slice*: "A4 Nvidia B200 (1 gpu slice) running in Americas" ($16.11/h on demand in
    2026) and "Spot Preemptible A4 Nvidia B200 (1 gpu slice) running in Americas"
    ($4.9542/h, labelled ``OnDemand``). One slice is one eighth of the whole VM: its
    vCPUs, memory and one GPU together, so ``a4-highgpu-8g = 8 x slice``. Sources (public
    code that prices GCP from the same catalog): SpareCores/sc-crawler
    ``tests/test_gcp.py`` (its A4 spot test: a4-highgpu-8g spot = 8 x 4.9542 = 39.6336,
    no core or RAM added; and the G4 fractional "1/8 vGPU" SKU that "covers vCPUs,
    memory and the GPU slice"); other public
    catalog readers describe A4/A4X as having "no separate CPU/RAM SKU at all - the entire
    instance (vCPU + RAM + one GPU slice) is priced as a single bundled rate", and list
    A4/A4X as "priced per GPU slice". Google's machine-family page says accelerator-
    optimized machines are billed "for their attached GPUs, predefined vCPU, memory, and
    bundled Local SSD"; the slice bundles them. An "A4 Instance Core/Ram" SKU, should one
    appear, is skipped (it would count the cores twice).

Prices and duplicates (``parse_gcp_skus``)
    Price: ``units + nanos / 1e9`` of the tiered rate that starts at 0 (proto3 JSON omits
    a 0 ``startUsageAmount`` and a 0 ``units``), else of the only rate; cores, GPUs and
    slices per ``h``, RAM per ``GiBy.h``, USD; other units or currencies, negative or
    missing prices and SKUs without ``serviceRegions`` are skipped (counted). A SKU lists
    its regions in ``serviceRegions``: one part row per region. Two SKUs pricing the same
    (region, part, key, market) at the SAME price are merged (``frame.attrs["merged"]``
    counts them); at DIFFERENT prices it is a conflict: neither price is used (the part
    stays unpriced in that region and market) and ``frame.attrs["conflicts"]`` holds one
    line per conflict naming the region, part, key, market and every SKU's id,
    description and price. Never resolved by SKU id or by number of regions, so the
    result does not depend on the order the catalog returns SKUs in.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

COMPUTE_ENGINE_SERVICE = "services/6F81-5844-456A"
COMPUTE_ENGINE_SERVICE_ID = "6F81-5844-456A"
COMPUTE_ENGINE_NAME = "Compute Engine"

ON_DEMAND, SPOT = "on-demand", "spot"
PARTS = ("core", "ram", "gpu", "slice")
UNITS = {"core": "h", "ram": "GiBy.h", "gpu": "h", "slice": "h"}

PART_COLUMNS = [
    "sku_id",
    "description",
    "region",
    "part",
    "family",
    "accelerator",
    "market",
    "price_usd_per_unit_hour",
    "unit",
    "sku_regions",
]

# Pricing families of the machines spotadvisor prices: each has its own core and RAM SKUs
# (a4: its GPU-slice SKUs).
GPU_HOST_FAMILIES = frozenset({"a2", "a3", "a3plus", "a3-ultra", "a4", "g2", "n1"})
# Families priced per GPU slice (vCPUs + memory + one GPU) -> the GPU in the slice.
SLICE_FAMILIES: Mapping[str, str] = {"a4": "B200"}


# --- the rule table -------------------------------------------------------------------------


@dataclass(frozen=True)
class Price:
    """Outcome of a rule that prices a part.

    ``part`` None takes the part from the pattern's ``part`` group (``Core`` -> core,
    ``Ram`` -> ram).
    """

    part: str | None
    key: str
    market: str


@dataclass(frozen=True)
class Rule:
    """One row of the table: patterns that must all match, and the outcome.

    Attributes
    ----------
    name
        Short id (``dws``, ``gpu:H100-MEGA:spot``), used in the docs and tests.
    pattern
        Searched in the description (whitespace collapsed, case ignored).
    outcome
        A skip reason, or the ``Price`` the SKU gives.
    usage_type, resource_family, resource_group
        Optional patterns that must also match (fullmatch) the category's field.
    """

    name: str
    pattern: re.Pattern[str]
    outcome: str | Price
    usage_type: re.Pattern[str] | None = None
    resource_family: re.Pattern[str] | None = None
    resource_group: re.Pattern[str] | None = None

    def matches(
        self, description: str, usage_type: str, resource_family: str, resource_group: str
    ) -> re.Match[str] | None:
        """The description's match when every pattern of the rule matches, else None."""
        for field_pattern, value in (
            (self.usage_type, usage_type),
            (self.resource_family, resource_family),
            (self.resource_group, resource_group),
        ):
            if field_pattern is not None and not field_pattern.fullmatch(value):
                return None
        return self.pattern.search(description)


def _re(source: str) -> re.Pattern[str]:
    return re.compile(source, re.IGNORECASE)


# Skip rules, in precedence order: (name, description pattern, reason, field patterns).
_ANY = r""  # matches every description
_SKIPS: tuple[tuple[str, str, str, dict[str, str]], ...] = (
    ("not-compute", _ANY, "not Compute", {"resource_family": r"(?!Compute$).*"}),
    ("commitment-usage", _ANY, "commitment", {"usage_type": r"Commit.*"}),
    ("commitment", r"^Commitment\b|\bCommitted Use\b", "commitment", {}),
    (
        "dws",
        r"\bDWS\b|\bFlex[- ]?Start\b|\bCalendar Mode\b|\bDynamic Workload Scheduler\b",
        "DWS, flex-start or calendar mode",
        {},
    ),
    ("reserved", r"^Reserved\b|\bReservation\b", "reservation", {}),
    ("sole-tenancy", r"\bSole Tenan", "sole tenancy", {}),
    ("custom-extended", r"\bCustom\b|\bExtended\b", "custom or extended", {}),
    ("licence", r"\bLicen[cs]", "licence", {}),
    (
        "os-licence",
        r"\bWindows\b|\bRHEL\b|\bRed Hat\b|\bSLES\b|\bSUSE\b|\bSQL Server\b",
        "licence",
        {},
    ),
    ("virtual-workstation", r"\bVirtual Workstation\b", "GPU virtual workstation", {}),
    ("premium", r"\bPremium\b|\bUpgrade\b", "premium or upgrade add-on", {}),
    (
        "other-provisioning",
        r"\battached to (?!(?:Spot )?Preemptible VMs\b)",
        "other provisioning model",
        {},
    ),
)

# Subjects, in precedence order: (name, description fragment, part or None, key). A part
# None comes from the fragment's ``part`` group; fragments must not match each other's
# descriptions except where the earlier one is meant to win.
_FAMILY = r"(?:Predefined )?Instance (?P<part>Core|Ram)"
_SUBJECTS: tuple[tuple[str, str, str | None, str], ...] = (
    ("slice:a4", r"A4 Nvidia B200 \(1 gpu slice\)", "slice", "a4"),
    (
        "gpu:H100-MEGA",
        r"Nvidia H100 (?:80GB (?:Plus|Mega)|(?:Plus|Mega) 80GB) GPU",
        "gpu",
        "H100-MEGA",
    ),
    ("gpu:H100", r"Nvidia H100 80GB GPU", "gpu", "H100"),
    ("gpu:H200", r"(?:Nvidia )?H200 141GB GPU", "gpu", "H200"),
    ("gpu:B200", r"Nvidia B200 GPU", "gpu", "B200"),
    ("gpu:A100-80GB", r"Nvidia (?:Tesla )?A100 80GB GPU", "gpu", "A100-80GB"),
    ("gpu:A100", r"Nvidia (?:Tesla )?A100 GPU", "gpu", "A100"),
    ("gpu:L4", r"Nvidia L4 GPU", "gpu", "L4"),
    ("gpu:T4", r"Nvidia Tesla T4 GPU", "gpu", "T4"),
    ("gpu:V100", r"Nvidia Tesla V100 GPU", "gpu", "V100"),
    ("gpu:P100", r"Nvidia Tesla P100 GPU", "gpu", "P100"),
    ("gpu:P4", r"Nvidia Tesla P4 GPU", "gpu", "P4"),
    ("gpu:K80", r"Nvidia Tesla K80 GPU", "gpu", "K80"),
    ("family:a3plus", rf"A3Plus {_FAMILY}", None, "a3plus"),
    ("family:a3-ultra", rf"A3 ?Ultra {_FAMILY}", None, "a3-ultra"),
    ("family:a3", rf"A3 {_FAMILY}", None, "a3"),
    ("family:a2", rf"A2 {_FAMILY}", None, "a2"),
    ("family:g2", rf"G2 {_FAMILY}", None, "g2"),
    ("family:n1", rf"N1 {_FAMILY}", None, "n1"),
)
# After the subject: nothing, or where it runs ("running in Iowa", "in Americas").
_WHERE = r"(?: running in .+| in .+)?$"
_SPOT_PREFIX = r"(?:Spot )?Preemptible "
_SPOT_SUFFIX = r" attached to (?:Spot )?Preemptible VMs"

# Last rules: what no subject took.
_LAST: tuple[tuple[str, str, str, dict[str, str]], ...] = (
    (
        "a4-core-ram",
        r"\bA4X? (?:Predefined )?Instance (?:Core|Ram)\b",
        "A4 core or RAM (A4 is priced by GPU slice)",
        {},
    ),
    ("unknown-gpu-group", _ANY, "unknown GPU", {"resource_group": r"GPU"}),
    ("unknown-gpu", r"\bGPU\b", "unknown GPU", {}),
    ("other-family", r"\bInstance (?:Core|Ram)\b", "family without GPUs", {}),
    ("other", _ANY, "not a GPU-machine part", {}),
)


def _skip_rule(name: str, source: str, reason: str, fields: Mapping[str, str]) -> Rule:
    compiled = {key: _re(value) for key, value in fields.items()}
    return Rule(name, _re(source), reason, **compiled)


def _subject_rules(name: str, subject: str, part: str | None, key: str) -> tuple[Rule, ...]:
    spot_wording = (
        rf"^(?={_SPOT_PREFIX}|.*{_SPOT_SUFFIX})(?:{_SPOT_PREFIX})?{subject}(?:{_SPOT_SUFFIX})?"
        rf"{_WHERE}"
    )
    plain = rf"^{subject}{_WHERE}"
    return (
        Rule(f"{name}:spot", _re(spot_wording), Price(part, key, SPOT)),
        Rule(
            f"{name}:spot-usage",
            _re(plain),
            Price(part, key, SPOT),
            usage_type=_re(r"Preemptible"),
        ),
        Rule(f"{name}:on-demand", _re(plain), Price(part, key, ON_DEMAND)),
    )


RULES: tuple[Rule, ...] = (
    *(_skip_rule(*row) for row in _SKIPS),
    *(rule for row in _SUBJECTS for rule in _subject_rules(*row)),
    *(_skip_rule(*row) for row in _LAST),
)


def match_rule(
    description: str,
    usage_type: str = "OnDemand",
    resource_group: str = "",
    resource_family: str = "Compute",
) -> tuple[Rule, str | tuple[str, str, str]]:
    """The first rule a SKU matches and its outcome (see ``describe_sku``)."""
    text = " ".join(description.split())
    for rule in RULES:
        match = rule.matches(text, usage_type, resource_family, resource_group)
        if match is None:
            continue
        if isinstance(rule.outcome, str):
            return rule, rule.outcome
        part = rule.outcome.part or match.group("part").lower()
        return rule, (part, rule.outcome.key, rule.outcome.market)
    raise AssertionError("the last rule matches every SKU")  # pragma: no cover


def describe_sku(
    description: str, usage_type: str, resource_group: str, resource_family: str = "Compute"
) -> tuple[str, str, str] | str:
    """What a SKU prices, from its description and category (the first matching rule).

    Returns
    -------
    tuple or str
        ``(part, family_or_accelerator, market)``, e.g. ``("core", "a2", "spot")``,
        ``("gpu", "A100-80GB", "on-demand")`` or ``("slice", "a4", "spot")``; or, for a
        SKU that is not a GPU-machine part, the reason it is skipped.
    """
    return match_rule(description, usage_type, resource_group, resource_family)[1]


def _cell(text: str) -> str:
    """``text`` as a markdown code span in a table cell (``|`` escaped)."""
    return "`" + text.replace("|", "\\|") + "`"


def _conditions(rule: Rule) -> str:
    parts = [_cell(rule.pattern.pattern)] if rule.pattern.pattern else []
    for label, field_pattern in (
        ("usageType", rule.usage_type),
        ("resourceFamily", rule.resource_family),
        ("resourceGroup", rule.resource_group),
    ):
        if field_pattern is not None:
            parts.append(f"{label} {_cell(field_pattern.pattern)}")
    return " and ".join(parts) or "anything"


def rules_markdown() -> str:
    """The rule table as markdown, in precedence order (the docs print this verbatim).

    Skip rules take one row each; each subject takes one row for its three rules
    (``:spot``, ``:spot-usage``, ``:on-demand``).
    """
    lines = [
        "| # | rules | matches (the description unless a field is named) | outcome |",
        "|---|---|---|---|",
    ]
    rows: list[tuple[str, str, str]] = []
    for row in _SKIPS:
        rule = _skip_rule(*row)
        rows.append((f"`{rule.name}`", _conditions(rule), f"skip: {rule.outcome}"))
    for name, subject, part, key in _SUBJECTS:
        rows.append(
            (
                f"`{name}:spot`, `:spot-usage`, `:on-demand`",
                f"{_cell(subject)}, then nothing or a location",
                f"{part or 'core or ram (from the match)'} `{key}`, market below",
            )
        )
    for row in _LAST:
        rule = _skip_rule(*row)
        rows.append((f"`{rule.name}`", _conditions(rule), f"skip: {rule.outcome}"))
    lines += [f"| {n} | {a} | {b} | {c} |" for n, (a, b, c) in enumerate(rows, start=1)]
    return "\n".join(lines) + "\n"


# --- SKUs -> parts ------------------------------------------------------------------------


def proto_field(obj: Any, name: str) -> Any:
    """Field ``name`` (snake_case) of a proto-plus message or a dict in either key style."""
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        if name in obj:
            return obj[name]
        head, *rest = name.split("_")
        return obj.get(head + "".join(word.title() for word in rest))
    return getattr(obj, name, None)


def as_list(value: Any) -> list[Any]:
    """A repeated field as a list; empty for None (and never a string's characters)."""
    return list(value) if value is not None and not isinstance(value, str | bytes) else []


def _money(rate: Any) -> float | None:
    """``units + nanos / 1e9`` of a tiered rate's unit price [USD], or None."""
    price = proto_field(rate, "unit_price")
    if price is None:
        return None
    units, nanos = proto_field(price, "units"), proto_field(price, "nanos")
    try:
        return int(units or 0) + int(nanos or 0) / 1e9
    except (TypeError, ValueError):
        return None


def _first_rate(rates: list[Any]) -> Any:
    """The tiered rate starting at 0 (the list price), or the only one."""
    for rate in rates:
        start = proto_field(rate, "start_usage_amount")
        if start is None or float(start) == 0.0:
            return rate
    return rates[0] if len(rates) == 1 else None


def _same_price(a: float, b: float) -> bool:
    return round(a, 9) == round(b, 9)


def _conflict_line(key: tuple[str, str, str, str], rows: list[dict[str, Any]]) -> str:
    region, part, name, market = key
    skus = " vs ".join(
        f"SKU {r['sku_id']} {r['description']!r} at {r['price_usd_per_unit_hour']:.9g} USD/{r['unit']}"
        for r in rows
    )
    return f"conflicting catalog prices for {part} {name} ({market}) in {region}: {skus}"


def parse_gcp_skus(skus: Iterable[Any]) -> pd.DataFrame:
    """Core, RAM, GPU and GPU-slice part prices of GPU machines from Catalog SKUs.

    Parameters
    ----------
    skus
        ``Sku`` messages from ``CloudCatalogClient.list_skus``, or their REST JSON as
        dicts (``skuId``, ``category.usageType``, ``serviceRegions``, ``pricingInfo``...),
        in any order.

    Returns
    -------
    pandas.DataFrame
        ``PART_COLUMNS``, sorted by region, part, key and market: one row per (region,
        part, family or accelerator, market) with its price [USD per vCPU-hour, GiB-hour,
        GPU-hour or slice-hour] and unit (``h``, ``GiBy.h``); ``family`` is set for cores,
        RAM and slices (``a2``, ``a3plus``, ``a4``...), ``accelerator`` for GPUs and
        slices (``A100-80GB``, ``H100-MEGA``, ``B200``...). ``frame.attrs``:
        ``skipped`` (reason -> SKUs), ``merged`` (rows dropped as same-price duplicates),
        ``conflicts`` (one line per conflicting (region, part, key, market), sorted) and
        ``conflict_keys`` (the matching ``(region, part, key, market)`` tuples).
    """
    by_key: dict[tuple[str, str, str, str], list[dict[str, Any]]] = {}
    skipped: dict[str, int] = {}

    def skip(reason: str) -> None:
        skipped[reason] = skipped.get(reason, 0) + 1

    for sku in skus:
        category = proto_field(sku, "category")
        description = str(proto_field(sku, "description") or "")
        what = describe_sku(
            description,
            str(proto_field(category, "usage_type") or ""),
            str(proto_field(category, "resource_group") or ""),
            str(proto_field(category, "resource_family") or ""),
        )
        if isinstance(what, str):
            skip(what)
            continue
        part, key, market = what
        infos = as_list(proto_field(sku, "pricing_info"))
        expression = proto_field(infos[0], "pricing_expression") if infos else None
        rate = _first_rate(as_list(proto_field(expression, "tiered_rates")))
        price = _money(rate)
        unit = str(proto_field(expression, "usage_unit") or "")
        currency = str(proto_field(proto_field(rate, "unit_price"), "currency_code") or "USD")
        if price is None or not math.isfinite(price) or price < 0:
            skip("no usable price")
            continue
        if unit != UNITS[part] or currency != "USD":
            skip("unexpected unit or currency")
            continue
        regions = sorted({str(r) for r in as_list(proto_field(sku, "service_regions"))})
        if not regions:
            skip("no service region")
            continue
        for region in regions:
            row = {
                "sku_id": str(proto_field(sku, "sku_id") or ""),
                "description": description,
                "region": region,
                "part": part,
                "family": key if part != "gpu" else None,
                "accelerator": SLICE_FAMILIES.get(key)
                if part == "slice"
                else (key if part == "gpu" else None),
                "market": market,
                "price_usd_per_unit_hour": price,
                "unit": unit,
                "sku_regions": len(regions),
            }
            by_key.setdefault((region, part, key, market), []).append(row)

    rows: list[dict[str, Any]] = []
    merged = 0
    conflicts: list[tuple[tuple[str, str, str, str], str]] = []
    for slot in sorted(by_key):
        candidates = sorted(
            by_key[slot],
            key=lambda r: (r["sku_id"], r["description"], r["price_usd_per_unit_hour"]),
        )
        first = candidates[0]
        if all(
            _same_price(r["price_usd_per_unit_hour"], first["price_usd_per_unit_hour"])
            for r in candidates
        ):
            rows.append(first)
            merged += len(candidates) - 1
        else:
            conflicts.append((slot, _conflict_line(slot, candidates)))
    frame = pd.DataFrame(rows, columns=PART_COLUMNS)
    frame.attrs["skipped"] = skipped
    frame.attrs["merged"] = merged
    frame.attrs["conflicts"] = [line for _, line in conflicts]
    frame.attrs["conflict_keys"] = [slot for slot, _ in conflicts]
    return frame


def skipped_notes(skipped: Mapping[str, int]) -> list[str]:
    """One line per reason SKUs were skipped."""
    return [f"skipped {n} SKU(s): {reason}" for reason, n in sorted(skipped.items())]


def catalog_notes(attrs: Mapping[Any, Any]) -> list[str]:
    """Notes for a parts frame's ``attrs``: skips, merged duplicates, conflicts."""
    notes = skipped_notes(attrs.get("skipped", {}))
    merged = int(attrs.get("merged", 0))
    if merged:
        notes.append(f"merged {merged} duplicate SKU price(s) that agree")
    conflicts = list(attrs.get("conflicts", []))
    if conflicts:
        notes.append(
            f"{len(conflicts)} conflicting part price(s) left unpriced (reported as errors)"
        )
    return notes
