"""The Cloud Billing Catalog rule table, duplicate and conflict handling, and composition.

SKUs come from ``tests/fixtures/gcp_catalog`` (its README says where every description, id
and price comes from). The HTTP tests serve them from the local fake Catalog
(``tests/fakes/gcp.py``) on 127.0.0.1; nothing else is contacted.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
import random
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from google.auth.credentials import AnonymousCredentials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spotadvisor.collect.gcp import collect_gcp
from spotadvisor.collect.gcp_clients import get_skus, transient_retry
from spotadvisor.collect.gcp_offers import compose_gcp_offers, machine_parts, pricing_family
from spotadvisor.collect.gcp_options import GcpOptions
from spotadvisor.collect.gcp_parse import (
    COMPUTE_ENGINE_SERVICE,
    RULES,
    catalog_notes,
    describe_sku,
    match_rule,
    parse_gcp_skus,
    rules_markdown,
)
from spotadvisor.gpus import gcp_machine
from spotadvisor.schema import OFFERS
from spotadvisor.store import Store
from tests.fakes.gcp import FakeGcp, make_sku

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "gcp_catalog"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "collect.md"
NOW = datetime(2026, 7, 1, tzinfo=UTC)
MACHINES = ("a2-highgpu-1g", "a3-highgpu-8g", "a3-megagpu-8g", "a4-highgpu-8g", "g2-standard-4")
AMERICAS = (
    "northamerica-northeast1",
    "northamerica-northeast2",
    "southamerica-east1",
    "us-central1",
    "us-east1",
    "us-east4",
    "us-east5",
    "us-south1",
    "us-west1",
    "us-west4",
)
DWS = "DWS, flex-start or calendar mode"


def load(name: str) -> list[dict[str, Any]]:
    skus: list[dict[str, Any]] = json.loads((FIXTURES / name).read_text())["skus"]
    return skus


def catalog() -> list[dict[str, Any]]:
    """Both pages of the fixture catalog, in their order."""
    return load("compute_engine_skus_page1.json") + load("compute_engine_skus_page2.json")


def _with_id(sku: dict[str, Any], sku_id: str) -> dict[str, Any]:
    return {**sku, "skuId": sku_id, "name": f"services/6F81-5844-456A/skus/{sku_id}"}


# Added to the catalog by the conflict tests: an Iowa A2 core at another price than the
# Americas SKU that also lists us-central1 (a conflict), and an Iowa A100 at the Americas
# price (a duplicate that agrees).
CONFLICTING = [
    _with_id(
        make_sku("A2 Instance Core running in Iowa", ["us-central1"], 0.0316), "0000-D7A2-5F4D"
    ),
    _with_id(
        make_sku(
            "Nvidia Tesla A100 GPU running in Iowa", ["us-central1"], 2.933908, resource_group="GPU"
        ),
        "0000-5A1E-0A11",
    ),
]


# -- one test per rule -------------------------------------------------------------------

# (description, usageType, resourceGroup, resourceFamily, rule, outcome): real
# descriptions where one was seen (see the fixture README), else marked "made up".
# fmt: off
SKIP_CASES: list[tuple[str, str, str, str, str, Any]] = [
    ("Network Internet Egress from Americas to Americas", "OnDemand", "PremiumInternetEgress", "Network", "not-compute", "not Compute"),
    ("Licensing Fee for Windows Server 2022 Datacenter Edition (CPU cost)", "OnDemand", "Windows", "License", "not-compute", "not Compute"),
    ("Nvidia Tesla A100 GPU running in Americas", "OnDemand", "GPU", "", "not-compute", "not Compute"),  # no resourceFamily at all
    ("Commitment v1: A2 Cpu in Americas for 1 Year", "Commit1Yr", "CPU", "Compute", "commitment-usage", "commitment"),
    ("Commitment v1: N4A Core in Johannesburg for 5 Years", "Commit", "CPU", "Compute", "commitment-usage", "commitment"),
    ("Commitment v1: A4 Nvidia B200 (1 gpu slice) in Americas for 1 Year", "OnDemand", "GPU", "Compute", "commitment", "commitment"),  # made-up usageType: the wording decides
    ("Committed Use Discount Premium for E2 Custom Instance Core running in Johannesburg", "CmtCudPremium", "CPU", "Compute", "commitment", "commitment"),
    ("Nvidia Tesla A100 GPU attached to DWS Defined Duration VMs running in Americas", "OnDemand", "GPU", "Compute", "dws", DWS),
    ("Nvidia H100 80GB GPU attached to DWS Defined Duration VMs running in Americas", "OnDemand", "GPU", "Compute", "dws", DWS),
    ("Nvidia H100 Mega 80GB GPU attached to DWS Defined Duration VMs running in Americas", "OnDemand", "GPU", "Compute", "dws", DWS),
    ("DWS Defined Duration A3 Core running in Americas", "OnDemand", "CPU", "Compute", "dws", DWS),
    ("DWS Calendar Mode A3 Core running in Americas", "OnDemand", "CPU", "Compute", "dws", DWS),
    ("DWS Flex Start H4D Core running in Americas", "OnDemand", "CPU", "Compute", "dws", DWS),
    ("Reserved Nvidia H100 80GB Mega GPU in Americas in Calendar Mode", "OnDemand", "GPU", "Compute", "dws", DWS),  # calendar mode (rule 4) before "Reserved" (rule 5)
    ("1/8 vGPU no lssd attached to DWS Defined Duration VMs running in Iowa", "OnDemand", "GPU", "Compute", "dws", DWS),
    ("Reserved Nvidia Tesla A100 GPU in Americas", "OnDemand", "GPU", "Compute", "reserved", "reservation"),
    ("Reserved A2 Ram in Netherlands", "OnDemand", "RAM", "Compute", "reserved", "reservation"),
    ("Nvidia Tesla T4 GPU attached to Sole Tenancy VMs running in Americas", "OnDemand", "GPU", "Compute", "sole-tenancy", "sole tenancy"),
    ("Sole Tenancy Premium for C4 Sole Tenancy Instance Core running in Americas", "OnDemand", "CPU", "Compute", "sole-tenancy", "sole tenancy"),
    ("N2 Custom Instance Core running in Americas", "OnDemand", "N2Custom", "Compute", "custom-extended", "custom or extended"),
    ("N1 Custom Extended Instance Ram running in Americas", "OnDemand", "N1Custom", "Compute", "custom-extended", "custom or extended"),
    ("Licensing Fee for Windows Server 2022 Datacenter Edition (CPU cost)", "OnDemand", "Windows", "Compute", "licence", "licence"),  # made-up family: the wording decides
    ("RHEL for SAP with HA on VM with 1 to 8 vCPU", "OnDemand", "RHEL", "Compute", "os-licence", "licence"),
    ("SUSE Linux Enterprise Server 15 (GPU cost)", "OnDemand", "SUSE", "Compute", "os-licence", "licence"),  # made up
    ("Nvidia Tesla T4 Virtual Workstation GPU running in Americas", "OnDemand", "GPU", "Compute", "virtual-workstation", "GPU virtual workstation"),
    ("Nvidia L4 Virtual Workstation GPU running in Netherlands", "OnDemand", "GPU", "Compute", "virtual-workstation", "GPU virtual workstation"),
    ("Memory Optimized Upgrade Premium for Memory-optimized Instance Core running in Johannesburg", "OnDemand", "CPU", "Compute", "premium", "premium or upgrade add-on"),
    ("Nvidia L4 GPU attached to Managed VMs running in Iowa", "OnDemand", "GPU", "Compute", "other-provisioning", "other provisioning model"),  # made up: an unknown VM kind
    ("A4 Instance Core running in Iowa", "OnDemand", "CPU", "Compute", "a4-core-ram", "A4 core or RAM (A4 is priced by GPU slice)"),
    ("A4X Instance Ram running in Americas", "OnDemand", "RAM", "Compute", "a4-core-ram", "A4 core or RAM (A4 is priced by GPU slice)"),
    ("RTX 6000 96GB running in Oregon", "OnDemand", "GPU", "Compute", "unknown-gpu-group", "unknown GPU"),
    ("1/8 vGPU no lssd running in Iowa", "OnDemand", "GPU", "Compute", "unknown-gpu-group", "unknown GPU"),
    ("Nvidia GB200 GPU running in Americas", "OnDemand", "", "Compute", "unknown-gpu", "unknown GPU"),
    ("E2 Instance Core running in Americas", "OnDemand", "CPU", "Compute", "other-family", "family without GPUs"),
    ("N2D AMD Instance Ram running in Americas", "OnDemand", "RAM", "Compute", "other-family", "family without GPUs"),
    ("Micro Instance with burstable CPU running in Americas", "OnDemand", "F1Micro", "Compute", "other", "not a GPU-machine part"),
    ("SSD backed PD Capacity in Iowa", "OnDemand", "SSD", "Compute", "other", "not a GPU-machine part"),
]
# fmt: on

# subject rule -> (an example of its subject, part, key)
SUBJECTS: dict[str, tuple[str, str, str]] = {
    "slice:a4": ("A4 Nvidia B200 (1 gpu slice)", "slice", "a4"),
    "gpu:H100-MEGA": ("Nvidia H100 80GB Plus GPU", "gpu", "H100-MEGA"),
    "gpu:H100": ("Nvidia H100 80GB GPU", "gpu", "H100"),
    "gpu:H200": ("H200 141GB GPU", "gpu", "H200"),
    "gpu:B200": ("Nvidia B200 GPU", "gpu", "B200"),
    "gpu:A100-80GB": ("Nvidia Tesla A100 80GB GPU", "gpu", "A100-80GB"),
    "gpu:A100": ("Nvidia Tesla A100 GPU", "gpu", "A100"),
    "gpu:L4": ("Nvidia L4 GPU", "gpu", "L4"),
    "gpu:T4": ("Nvidia Tesla T4 GPU", "gpu", "T4"),
    "gpu:V100": ("Nvidia Tesla V100 GPU", "gpu", "V100"),
    "gpu:P100": ("Nvidia Tesla P100 GPU", "gpu", "P100"),
    "gpu:P4": ("Nvidia Tesla P4 GPU", "gpu", "P4"),
    "gpu:K80": ("Nvidia Tesla K80 GPU", "gpu", "K80"),
    "family:a3plus": ("A3Plus Instance Core", "core", "a3plus"),
    "family:a3-ultra": ("A3Ultra Instance Ram", "ram", "a3-ultra"),
    "family:a3": ("A3 Instance Core", "core", "a3"),
    "family:a2": ("A2 Instance Ram", "ram", "a2"),
    "family:g2": ("G2 Instance Core", "core", "g2"),
    "family:n1": ("N1 Predefined Instance Ram", "ram", "n1"),
}


def _subject_cases() -> list[tuple[str, str, str, str, str, Any]]:
    cases: list[tuple[str, str, str, str, str, Any]] = []
    for name, (subject, part, key) in SUBJECTS.items():
        spot, on_demand = (part, key, "spot"), (part, key, "on-demand")
        cases += [
            # spot by wording, even labelled OnDemand
            (
                f"Spot Preemptible {subject} running in Americas",
                "OnDemand",
                "GPU",
                "Compute",
                f"{name}:spot",
                spot,
            ),
            (
                f"{subject} attached to Spot Preemptible VMs running in Tokyo",
                "Preemptible",
                "GPU",
                "Compute",
                f"{name}:spot",
                spot,
            ),
            # spot by usageType alone
            (
                f"{subject} running in Americas",
                "Preemptible",
                "GPU",
                "Compute",
                f"{name}:spot-usage",
                spot,
            ),
            (
                f"{subject} running in Iowa",
                "OnDemand",
                "GPU",
                "Compute",
                f"{name}:on-demand",
                on_demand,
            ),
        ]
    return cases


# fmt: off
PRICE_CASES: list[tuple[str, str, str, str, str, Any]] = [
    # precedence among subjects, with real descriptions
    ("Nvidia H100 80GB Plus GPU running in Americas", "OnDemand", "GPU", "Compute", "gpu:H100-MEGA:on-demand", ("gpu", "H100-MEGA", "on-demand")),
    ("Nvidia H100 80GB Mega GPU attached to Spot Preemptible VMs running in Tokyo", "Preemptible", "GPU", "Compute", "gpu:H100-MEGA:spot", ("gpu", "H100-MEGA", "spot")),
    ("Nvidia H100 Mega 80GB GPU running in Americas", "OnDemand", "GPU", "Compute", "gpu:H100-MEGA:on-demand", ("gpu", "H100-MEGA", "on-demand")),
    ("Nvidia H100 80GB GPU running in Americas", "OnDemand", "GPU", "Compute", "gpu:H100:on-demand", ("gpu", "H100", "on-demand")),
    ("Nvidia A100 80GB GPU running in Americas", "OnDemand", "GPU", "Compute", "gpu:A100-80GB:on-demand", ("gpu", "A100-80GB", "on-demand")),
    ("Nvidia Tesla A100 GPU attached to Spot Preemptible VMs running in Americas", "Preemptible", "GPU", "Compute", "gpu:A100:spot", ("gpu", "A100", "spot")),
    ("Spot Preemptible A4 Nvidia B200 (1 gpu slice) running in Americas", "OnDemand", "GPU", "Compute", "slice:a4:spot", ("slice", "a4", "spot")),
    ("A4 Nvidia B200 (1 gpu slice) running in Americas", "OnDemand", "GPU", "Compute", "slice:a4:on-demand", ("slice", "a4", "on-demand")),
    ("Spot Preemptible A3Plus Instance Ram running in Tokyo", "Preemptible", "RAM", "Compute", "family:a3plus:spot", ("ram", "a3plus", "spot")),
    ("A3Plus Instance Core running in Americas", "OnDemand", "CPU", "Compute", "family:a3plus:on-demand", ("core", "a3plus", "on-demand")),
    ("A3 Ultra Instance Core running in Americas", "OnDemand", "CPU", "Compute", "family:a3-ultra:on-demand", ("core", "a3-ultra", "on-demand")),
    ("Spot Preemptible G2 Instance Core running in Iowa", "OnDemand", "CPU", "Compute", "family:g2:spot", ("core", "g2", "spot")),
    ("Preemptible Nvidia Tesla K80 GPU running in Americas", "Preemptible", "GPU", "Compute", "gpu:K80:spot", ("gpu", "K80", "spot")),  # the pre-"Spot" wording
    ("  N1   Predefined Instance Core running in Americas ", "OnDemand", "N1Standard", "Compute", "family:n1:on-demand", ("core", "n1", "on-demand")),
]
# fmt: on

CASES = SKIP_CASES + _subject_cases() + PRICE_CASES


@pytest.mark.parametrize(
    ("description", "usage", "group", "family", "rule", "outcome"),
    CASES,
    ids=[f"{c[4]}|{c[0][:48]}" for c in CASES],
)
def test_rule(
    description: str, usage: str, group: str, family: str, rule: str, outcome: Any
) -> None:
    matched, got = match_rule(description, usage, group, family)
    assert (matched.name, got) == (rule, outcome)
    assert describe_sku(description, usage, group, family) == outcome


def test_every_rule_of_the_table_has_a_case() -> None:
    names = [rule.name for rule in RULES]
    assert len(names) == len(set(names))
    assert {c[4] for c in CASES} == set(names)


def test_rule_order_is_the_documented_precedence() -> None:
    order = {rule.name: i for i, rule in enumerate(RULES)}
    first_price = min(i for i, rule in enumerate(RULES) if not isinstance(rule.outcome, str))
    for skip in ("not-compute", "commitment-usage", "commitment", "dws", "reserved"):
        assert order[skip] < first_price
    assert order["dws"] < order["reserved"]  # "Reserved ... in Calendar Mode" is calendar mode
    assert order["gpu:H100-MEGA:on-demand"] < order["gpu:H100:spot"]
    assert order["gpu:A100-80GB:on-demand"] < order["gpu:A100:spot"]
    assert order["family:a3plus:on-demand"] < order["family:a3:spot"]
    for name in ("a4-core-ram", "unknown-gpu-group", "unknown-gpu", "other-family", "other"):
        assert order[name] > max(order[n] for n in order if n.startswith(("gpu:", "family:")))
    assert RULES[-1].name == "other"


def test_docs_print_the_rule_table() -> None:
    section = DOCS.read_text().split("### GCP SKU rules", 1)[1]
    assert rules_markdown() in section


# -- composition: the fixture catalog -----------------------------------------------------

# Expected (on-demand, spot) [USD/h] per (machine, region), by hand from the fixture's SKU
# prices: vCPUs x core + GiB x RAM + GPUs x GPU, or GPUs x slice for A4. The DWS, calendar
# mode, reserved and commitment SKUs of the same parts must change none of them.
EXPECTED: dict[tuple[str, str], tuple[float, float]] = {}
for _region in AMERICAS:
    EXPECTED["a2-highgpu-1g", _region] = (
        12 * 0.031611 + 85 * 0.004237 + 1 * 2.933908,
        12 * 0.01659 + 85 * 0.00222 + 1 * 1.5399,
    )
    EXPECTED["a3-highgpu-8g", _region] = (
        208 * 0.025498 + 1872 * 0.00222034 + 8 * 9.796550569,
        208 * 0.0102 + 1872 * 0.000888 + 8 * 2.2356,
    )
    EXPECTED["a3-megagpu-8g", _region] = (
        208 * 0.026924 + 1872 * 0.002344 + 8 * 10.344275712,
        208 * 0.01077 + 1872 * 0.000937 + 8 * 1.8619,
    )
    EXPECTED["a4-highgpu-8g", _region] = (8 * 16.11, 8 * 4.9542)
EXPECTED["a3-highgpu-8g", "europe-west4"] = (
    208 * 0.0267729 + 1872 * 0.00233136 + 8 * 12.73551625,
    208 * 0.00613167 + 1872 * 0.00053382 + 8 * 2.9112,
)
EXPECTED["g2-standard-4", "us-central1"] = (
    4 * 0.024988 + 16 * 0.002927 + 1 * 0.56004,
    4 * 0.01 + 16 * 0.001171 + 1 * 0.2231,
)
EXPECTED["g2-standard-4", "us-east4"] = (
    4 * 0.024907 + 16 * 0.002918 + 1 * 0.55820625,
    4 * 0.009962 + 16 * 0.001166 + 1 * 0.2233,
)
EXPECTED["g2-standard-4", "europe-west4"] = (
    4 * 0.026266 + 16 * 0.003077 + 1 * 0.5880425,
    4 * 0.012173 + 16 * 0.001425 + 1 * 0.2438,
)


def _price(value: Any) -> float | None:
    return None if pd.isna(value) else float(value)


def offer_prices(offers: pd.DataFrame) -> dict[tuple[str, str], tuple[Any, Any, Any]]:
    """(machine, region) -> (on-demand, spot, flags); every zone row must agree."""
    out: dict[tuple[str, str], tuple[Any, Any, Any]] = {}
    for row in offers.itertuples():
        value = (
            _price(row.price_on_demand_usd_per_hour),
            _price(row.price_spot_usd_per_hour),
            None if pd.isna(row.quality_flags) else str(row.quality_flags),
        )
        assert out.setdefault((str(row.instance_type), str(row.region)), value) == value
    return out


def assert_fixture_prices(offers: pd.DataFrame, *, others_unpriced: bool = False) -> None:
    got = offer_prices(offers[offers["instance_type"].isin(MACHINES)])
    missing = set(EXPECTED) - set(got)
    assert not missing, sorted(missing)
    for key, (on_demand, spot) in EXPECTED.items():
        assert got[key] == (
            pytest.approx(on_demand, abs=1e-6),
            pytest.approx(spot, abs=1e-6),
            None,
        ), key
    extra = set(got) - set(EXPECTED)
    if others_unpriced:  # zone hints from the snapshot may add regions the catalog lacks
        for key in extra:
            assert got[key][:2] == (None, None) and "price_missing" in str(got[key][2]), key
    else:
        assert not extra, sorted(extra)


def compose(skus: list[Any], machines: tuple[str, ...] = MACHINES) -> pd.DataFrame:
    return compose_gcp_offers(parse_gcp_skus(skus), machines, source="t", as_of=NOW)


def test_expected_prices_agree_with_the_public_figures() -> None:
    # a3-megagpu-8g "about $92.7/hr, not half that"; a2-highgpu-1g spot $1.92768 in the
    # 2026-08-02 pull; a4-highgpu-8g spot 8 x 4.9542 = 39.6336 (sc-crawler)
    assert EXPECTED["a3-megagpu-8g", "us-central1"][0] == pytest.approx(92.742368)
    assert EXPECTED["a2-highgpu-1g", "us-central1"][1] == pytest.approx(1.92768)
    assert EXPECTED["a4-highgpu-8g", "us-central1"] == (
        pytest.approx(128.88),
        pytest.approx(39.6336),
    )
    # the DWS parts would give a2-highgpu-1g 2.02038 and a3-highgpu-8g 37.66 on demand
    dws_a2 = 12 * 0.01739 + 85 * 0.00233 + 1.61365
    dws_a3 = 208 * 0.010934 + 1872 * 0.000952 + 8 * 4.200761
    assert dws_a2 == pytest.approx(2.02038)
    assert EXPECTED["a2-highgpu-1g", "us-central1"][0] > 1.8 * dws_a2
    assert EXPECTED["a3-highgpu-8g", "us-central1"][0] > 2 * dws_a3


def test_fixture_catalog_prices_every_machine_in_every_region() -> None:
    skus = catalog()
    pages = [
        json.loads((FIXTURES / f"compute_engine_skus_page{n}.json").read_text()) for n in (1, 2)
    ]
    assert pages[0]["nextPageToken"] and pages[1]["nextPageToken"] == ""
    parts = parse_gcp_skus(skus)
    assert parts.attrs["skipped"] == {
        DWS: 13,
        "reservation": 1,
        "commitment": 3,
        "sole tenancy": 1,
        "custom or extended": 2,
        "GPU virtual workstation": 1,
        "not Compute": 3,
        "family without GPUs": 1,
        "unknown GPU": 1,
        "premium or upgrade add-on": 1,
        "no service region": 1,
        "no usable price": 1,
    }
    assert parts.attrs["merged"] == 0 and parts.attrs["conflicts"] == []
    offers = compose_gcp_offers(parts, MACHINES, source="t", as_of=NOW)
    assert_fixture_prices(offers)


def test_fixture_keeps_the_wire_format_quirks() -> None:
    skus = {s["description"]: s for s in catalog()}

    def money(description: str) -> dict[str, Any]:
        rates = skus[description]["pricingInfo"][0]["pricingExpression"]["tieredRates"]
        return dict(rates[0]["unitPrice"])

    # proto3 JSON: no "units" below $1, no "nanos" when 0, nothing but the currency at 0
    assert money("A2 Instance Core running in Americas") == {
        "currencyCode": "USD",
        "nanos": 31611000,
    }
    assert money("Nvidia H100 80GB GPU running in Americas") == {
        "currencyCode": "USD",
        "units": "9",
        "nanos": 796550569,
    }
    assert money("Reserved Nvidia Tesla A100 GPU in Americas") == {"currencyCode": "USD"}
    egress = skus["Network Internet Egress from Americas to Americas"]
    tiers = egress["pricingInfo"][0]["pricingExpression"]["tieredRates"]
    assert ["startUsageAmount" in t for t in tiers] == [False, True, True]
    bare = skus["Nvidia L4 GPU attached to Spot Preemptible VMs running in Virginia"]
    assert "resourceGroup" not in bare["category"] and "serviceProviderName" not in bare
    assert skus["Nvidia Tesla K80 GPU running in Americas"]["serviceRegions"] == []
    assert skus["Nvidia Tesla P4 GPU running in Americas"]["pricingInfo"] == []
    assert (
        skus["Spot Preemptible A4 Nvidia B200 (1 gpu slice) running in Americas"]["category"][
            "usageType"
        ]
        == "OnDemand"
    )
    assert len(skus["A3 Instance Core running in Americas"]["serviceRegions"]) == 10


def test_a_region_with_spot_skus_only_has_no_on_demand_price() -> None:
    # Tokyo: spot A3Plus core, RAM and Mega GPU, and a DWS Mega GPU (skipped)
    skus = load("tokyo_a3_mega_spot_only.json")
    parts = parse_gcp_skus(skus)
    assert parts.attrs["skipped"] == {DWS: 1}
    got = offer_prices(compose_gcp_offers(parts, MACHINES, source="t", as_of=NOW))
    spot = 208 * 0.00819739 + 1872 * 0.00071318 + 8 * 2.3914
    assert got == {
        ("a3-megagpu-8g", "asia-northeast1"): (
            None,
            pytest.approx(spot, abs=1e-6),
            "on_demand_price_missing(core+ram+gpu)",
        )
    }


def test_a4_is_composed_from_gpu_slices_only() -> None:
    slice_skus = [s for s in catalog() if "gpu slice" in s["description"]]
    extra = [
        make_sku("A4 Instance Core running in Americas", AMERICAS, 0.05),
        make_sku("Nvidia B200 GPU running in Americas", AMERICAS, 9.0, resource_group="GPU"),
    ]
    got = offer_prices(compose(slice_skus + extra, ("a4-highgpu-8g",)))
    assert set(got) == {("a4-highgpu-8g", region) for region in AMERICAS}
    assert got["a4-highgpu-8g", "us-east4"] == (
        pytest.approx(8 * 16.11),
        pytest.approx(8 * 4.9542),
        None,
    )
    # without slices A4 is not priced, whatever B200 GPU SKUs there are
    assert compose(extra, ("a4-highgpu-8g",)).empty


def test_pricing_families_and_machine_parts() -> None:
    assert pricing_family("a3-megagpu-8g") == "a3plus"
    assert pricing_family("a3-ultragpu-8g") == pricing_family("a3-ultragpu-8g-nolssd") == "a3-ultra"
    assert pricing_family("a3-highgpu-8g") == pricing_family("a3-edgegpu-8g") == "a3"
    assert pricing_family("a4-highgpu-8g") == "a4"

    def parts_of(name: str) -> tuple[tuple[str, str, float], ...]:
        machine = gcp_machine(name)
        assert machine is not None
        return machine_parts(machine)

    assert parts_of("a4-highgpu-8g") == (("slice", "a4", 8.0),)
    assert parts_of("a3-megagpu-8g") == (
        ("core", "a3plus", 208.0),
        ("ram", "a3plus", 1872.0),
        ("gpu", "H100-MEGA", 8.0),
    )
    assert parts_of("a3-highgpu-8g")[-1] == ("gpu", "H100", 8.0)
    assert parts_of("g2-standard-4") == (
        ("core", "g2", 4.0),
        ("ram", "g2", 16.0),
        ("gpu", "L4", 1.0),
    )


# -- duplicates and conflicts ------------------------------------------------------------


def test_different_prices_are_a_conflict_and_leave_the_part_unpriced() -> None:
    parts = parse_gcp_skus(catalog() + CONFLICTING)
    assert parts.attrs["conflict_keys"] == [("us-central1", "core", "a2", "on-demand")]
    [line] = parts.attrs["conflicts"]
    assert line == (
        "conflicting catalog prices for core a2 (on-demand) in us-central1: "
        "SKU 0000-C9F2-8720 'A2 Instance Core running in Americas' at 0.031611 USD/h vs "
        "SKU 0000-D7A2-5F4D 'A2 Instance Core running in Iowa' at 0.0316 USD/h"
    )
    # the same price twice is merged silently
    assert parts.attrs["merged"] == 1
    assert catalog_notes(parts.attrs)[-2:] == [
        "merged 1 duplicate SKU price(s) that agree",
        "1 conflicting part price(s) left unpriced (reported as errors)",
    ]
    keys = set(
        zip(
            parts["region"],
            parts["part"],
            parts["family"].fillna(parts["accelerator"]),
            parts["market"],
            strict=True,
        )
    )
    assert ("us-central1", "core", "a2", "on-demand") not in keys
    assert ("us-east1", "core", "a2", "on-demand") in keys
    assert ("us-central1", "core", "a2", "spot") in keys
    assert ("us-central1", "gpu", "A100", "on-demand") in keys
    got = offer_prices(compose_gcp_offers(parts, MACHINES, source="t", as_of=NOW))
    assert got["a2-highgpu-1g", "us-central1"] == (
        None,
        pytest.approx(EXPECTED["a2-highgpu-1g", "us-central1"][1], abs=1e-6),
        "on_demand_price_missing(core)",
    )
    assert got["a2-highgpu-1g", "us-east1"][0] == pytest.approx(
        EXPECTED["a2-highgpu-1g", "us-east1"][0], abs=1e-6
    )


def test_a_conflict_lists_every_sku_and_is_never_resolved_by_id_or_regions() -> None:
    # two agree, one does not: still a conflict, naming all three; the one listing fewer
    # regions, or the lowest id, does not win
    skus = [
        _with_id(
            make_sku("G2 Instance Core running in Iowa", ["us-central1"], 0.024988),
            "0001-0000-0000",
        ),
        _with_id(
            make_sku("G2 Instance Core running in Americas", ["us-central1", "us-east1"], 0.025),
            "0002-0000-0000",
        ),
        _with_id(
            make_sku("G2 Instance Core running in Iowa", ["us-central1"], 0.024988),
            "0003-0000-0000",
        ),
    ]
    for order in (skus, skus[::-1], [skus[1], skus[0], skus[2]]):
        parts = parse_gcp_skus(order)
        assert parts["region"].tolist() == ["us-east1"]
        [line] = parts.attrs["conflicts"]
        assert line.count("SKU ") == 3 and "0001-0000-0000" in line and "0002-0000-0000" in line
        assert parts.attrs["merged"] == 0


# every fixture SKU and the conflicting ones: what shuffling and paging must not change
ALL_SKUS = catalog() + load("tokyo_a3_mega_spot_only.json") + CONFLICTING


@cache
def baseline() -> tuple[Any, ...]:
    return outcome(ALL_SKUS)


def outcome(skus: Any) -> tuple[Any, ...]:
    """Everything a catalog gives: offer prices and flags, skips, merges, conflicts."""
    parts = parse_gcp_skus(skus)
    offers = compose_gcp_offers(parts, MACHINES, source="t", as_of=NOW)
    return (
        sorted(offer_prices(offers).items()),
        parts.attrs["skipped"],
        parts.attrs["merged"],
        parts.attrs["conflicts"],
    )


@settings(max_examples=60, deadline=None)
@given(
    order=st.permutations(range(len(ALL_SKUS))),
    cuts=st.lists(st.integers(0, len(ALL_SKUS)), max_size=8),
)
def test_order_and_pages_never_change_a_price(order: list[int], cuts: list[int]) -> None:
    skus = [copy.deepcopy(ALL_SKUS[i]) for i in order]
    bounds = sorted({0, len(skus), *cuts})
    pages = [json.loads(json.dumps({"skus": skus[a:b]})) for a, b in itertools.pairwise(bounds)]
    assert outcome(s for page in pages for s in page["skus"]) == baseline()


# -- through the Catalog API on 127.0.0.1 --------------------------------------------------


def _options(fake: FakeGcp, **changes: Any) -> GcpOptions:
    return GcpOptions(
        sources=frozenset({"prices"}),
        machine_types=MACHINES,
        catalog_endpoint=fake.url,
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        now=NOW,
        timeout_s=5,
        retry_deadline_s=10,
        **changes,
    )


def _sku_requests(fake: FakeGcp) -> int:
    return sum(1 for r in fake.requests if r.path.endswith("/skus"))


def test_collect_gcp_over_http_prices_every_machine(fake_gcp: FakeGcp, tmp_path: Path) -> None:
    skus = catalog()
    random.Random(20).shuffle(skus)
    fake_gcp.skus = skus
    fake_gcp.sku_page_max = 7
    store = Store(tmp_path / "s.duckdb")
    report = collect_gcp(store, _options(fake_gcp))
    assert not report.failed, report.failed
    assert _sku_requests(fake_gcp) == math.ceil(len(skus) / 7)
    offers = store.read(OFFERS)
    assert_fixture_prices(offers[offers["source"] == "gcp-catalog"], others_unpriced=True)


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 2**32 - 1), page=st.integers(1, 40))
def test_http_pages_and_order_never_change_a_price(fake_gcp: FakeGcp, seed: int, page: int) -> None:
    from google.api_core.client_options import ClientOptions
    from google.cloud import billing_v1

    skus = list(ALL_SKUS)
    random.Random(seed).shuffle(skus)
    fake_gcp.skus = skus
    fake_gcp.sku_page_max = page
    client = billing_v1.CloudCatalogClient(
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        transport="rest",
        client_options=ClientOptions(api_endpoint=fake_gcp.url),
    )
    before = _sku_requests(fake_gcp)
    got = get_skus(client, service=COMPUTE_ENGINE_SERVICE, timeout_s=5, retry=transient_retry(10))
    assert _sku_requests(fake_gcp) - before == math.ceil(len(skus) / page)
    assert outcome(got) == baseline()


def test_cli_reports_each_conflict_as_an_error_and_writes_the_rest(
    fake_gcp: FakeGcp, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from spotadvisor.cli import app

    fake_gcp.skus = catalog() + CONFLICTING
    db = tmp_path / "s.duckdb"
    regions = ("us-central1", "us-east1", "us-east4", "europe-west4")
    result = CliRunner().invoke(
        app,
        [
            "--db", str(db), "collect", "gcp",
            "--catalog-endpoint", fake_gcp.url, "--anonymous",
            "--sources", "prices",
            "--machine-types", ",".join(MACHINES),
            "--regions", ",".join(regions),
            "--format", "json",
        ],
    )  # fmt: skip
    # a partly failed collection: the warnings say what failed; exit 3 only when nothing
    # usable came back
    assert result.exit_code == 0, result.stderr
    line = (
        "conflicting catalog prices for core a2 (on-demand) in us-central1: "
        "SKU 0000-C9F2-8720 'A2 Instance Core running in Americas' at 0.031611 USD/h vs "
        "SKU 0000-D7A2-5F4D 'A2 Instance Core running in Iowa' at 0.0316 USD/h"
    )
    assert f"warning: prices us-central1: {line}" in result.stderr
    assert f"warning: prices us-central1: {line}" in DOCS.read_text()  # the docs' example
    document = json.loads(result.stdout)
    failed = [t for t in document["tasks"] if t["error"]]
    assert failed == [{**failed[0], "source": "prices", "region": "us-central1", "error": line}]
    store = Store(db)
    log = store.collections()
    assert log.loc[log["error"].notna(), ["source", "region", "error"]].values.tolist() == [
        ["prices", "us-central1", line]
    ]
    # every other offer is written, priced as composed
    offers = store.read(OFFERS)
    got = offer_prices(
        offers[(offers["source"] == "gcp-catalog") & offers["instance_type"].isin(MACHINES)]
    )
    a2 = got.pop(("a2-highgpu-1g", "us-central1"))
    assert a2[0] is None and a2[2] == "on_demand_price_missing(core)"
    for key, (on_demand, spot, flags) in got.items():
        if key in EXPECTED:
            assert (on_demand, spot, flags) == (
                pytest.approx(EXPECTED[key][0], abs=1e-6),
                pytest.approx(EXPECTED[key][1], abs=1e-6),
                None,
            ), key
    assert {k for k in EXPECTED if k[1] in regions} <= set(got) | {("a2-highgpu-1g", "us-central1")}
