"""`collect gcp` against the local Catalog and BigQuery fake on 127.0.0.1, and its parsers."""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
from google.auth.credentials import AnonymousCredentials

from spotadvisor.collect.gcp import collect_gcp, plan
from spotadvisor.collect.gcp_billing_export import (
    billing_parameters,
    billing_query,
    parse_bigquery_billing,
)
from spotadvisor.collect.gcp_offers import compose_gcp_offers, pricing_family
from spotadvisor.collect.gcp_options import GcpOptions
from spotadvisor.collect.gcp_parse import parse_gcp_skus
from spotadvisor.errors import UsageError
from spotadvisor.gpus import gcp_gpu_machine_types, gcp_machine, instance_gpus
from spotadvisor.priors import prior_for
from spotadvisor.schema import BILLING, INTERRUPTION_HISTORY, OFFERS
from spotadvisor.store import Store
from tests.fakes.gcp import (
    BILLING_ACCOUNT,
    DEFAULT_NOW,
    DETAILED_TABLE,
    PROJECT_ID,
    PROJECT_NUMBER,
    STANDARD_TABLE,
    FakeGcp,
    billing_row,
    load_billing_table,
    make_sku,
)

TABLES = (OFFERS, INTERRUPTION_HISTORY, BILLING)
MONTH = "2025-06"


def options(fake: FakeGcp, **changes: Any) -> GcpOptions:
    base = GcpOptions(
        sources=frozenset({"prices", "bands", "billing"}),
        billing_table=STANDARD_TABLE,
        billing_month=MONTH,
        catalog_endpoint=fake.url,
        bigquery_endpoint=fake.url,
        credentials=AnonymousCredentials(),
        now=DEFAULT_NOW,
        timeout_s=5,
        retry_deadline_s=10,
    )
    return dataclasses.replace(base, **changes)


def counts(store: Store) -> dict[str, int]:
    return {t.name: len(store.read(t)) for t in TABLES}


def fresh_offers(store: Store) -> pd.DataFrame:
    offers = store.read(OFFERS)
    return offers[offers["source"] == "gcp-catalog"].reset_index(drop=True)


def catalog_totals(shared_data: Path) -> pd.DataFrame:
    """VM + GPU totals per (machine, region) from the SkyPilot files, by the repo's importer."""
    from spotadvisor.importers.skypilot.gcp import read_gcp_catalog

    paths = sorted((shared_data / "skypilot-catalog").glob("gcp_v8_vms_*.csv"))
    [batch] = read_gcp_catalog(paths)
    frame = batch.frame
    return (
        frame.groupby(["instance_type", "region"])[
            ["price_on_demand_usd_per_hour", "price_spot_usd_per_hour"]
        ]
        .first()
        .reset_index()
    )


# -- a whole collection -----------------------------------------------------------------


def test_full_collection_fills_every_table(fake_gcp: FakeGcp, tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    report = collect_gcp(store, options(fake_gcp))
    assert not report.failed, report.failed
    offers = fresh_offers(store)
    assert report.offers == len(offers) > 500
    assert (offers["as_of"] == pd.Timestamp(DEFAULT_NOW)).all()
    assert set(offers["instance_type"]) == set(gcp_gpu_machine_types())
    a2 = offers[(offers.instance_type == "a2-highgpu-1g") & (offers.region == "us-central1")]
    # zones from the snapshot's GCP offers (the zone hint): one row per known zone
    assert sorted(a2["zone"]) == [
        "us-central1-a",
        "us-central1-b",
        "us-central1-c",
        "us-central1-f",
    ]
    assert (a2["gpu_model"] == "A100").all() and (a2["gpu_count"] == 1).all()
    assert (a2["vcpus"] == 12).all() and (a2["memory_gib"] == 85).all()
    # n1 hosts with attached GPUs: no zone hint, one regional row each
    t4 = offers[(offers.instance_type == "n1-standard-8+1xT4") & (offers.region == "us-central1")]
    assert (
        len(t4) == 1 and t4["zone"].isna().all() and t4["price_on_demand_usd_per_hour"].item() > 0
    )
    # machines without a part are offered without a price, never at 0 (A4 is priced by
    # GPU slice, and the fake has no slice SKUs)
    a4 = offers[offers.instance_type == "a4-highgpu-8g"]
    assert len(a4) and a4["price_on_demand_usd_per_hour"].isna().all()
    assert a4["quality_flags"].str.contains("on_demand_price_missing(slice)", regex=False).all()
    assert not (offers["price_on_demand_usd_per_hour"] == 0).any()
    assert not (offers["price_spot_usd_per_hour"] == 0).any()

    bands = store.read(INTERRUPTION_HISTORY)
    prior = prior_for("gcp")
    assert prior is not None and prior.source.startswith("prior:")
    assert (bands["source"] == prior.source).all() and (bands["os"] == "Linux").all()
    assert (bands["interruption_band"] == prior.label).all()
    assert (bands["as_of"] == pd.Timestamp(DEFAULT_NOW)).all()
    offered = set(zip(offers["region"], offers["instance_type"], strict=True))
    assert set(zip(bands["region"], bands["instance_type"], strict=True)) == offered

    billing = store.read(BILLING)
    assert len(billing) > 100 and (billing["provider"] == "gcp").all()
    assert billing["charge_period_start"].min() >= pd.Timestamp("2025-06-01", tz="UTC")
    assert billing["charge_period_start"].max() < pd.Timestamp("2025-07-01", tz="UTC")
    assert set(billing["service_name"]) == {"Compute Engine"}
    log = store.collections()
    assert set(log["source"]) == {"prices", "bands", "billing"} and log["error"].isna().all()
    # every request went to the fake; the query ran in the table's project
    queries = [r for r in fake_gcp.requests if r.api == "bigquery" and r.method == "POST"]
    assert [r.path for r in queries] == [f"/bigquery/v2/projects/{PROJECT_ID}/queries"]
    params = {p["name"]: p["parameterValue"]["value"] for p in queries[0].body["queryParameters"]}
    assert params["usage_start"].startswith("2025-06-01") and params["usage_end"].startswith(
        "2025-07-01"
    )


def test_composed_prices_match_the_catalog_totals(
    fake_gcp: FakeGcp, shared_data: Path, tmp_path: Path
) -> None:
    store = Store(tmp_path / "s.duckdb")
    collect_gcp(store, options(fake_gcp, sources=frozenset({"prices"})))
    offers = fresh_offers(store)
    a2 = offers[(offers.instance_type == "a2-highgpu-1g") & (offers.region == "us-central1")]
    # VM row 0.73948 + accelerator row 2.93391 (on demand); 0.36975 + 1.4341 (spot)
    assert a2["price_on_demand_usd_per_hour"].iloc[0] == pytest.approx(0.73948 + 2.93391, abs=2e-5)
    assert a2["price_spot_usd_per_hour"].iloc[0] == pytest.approx(0.36975 + 1.4341, abs=2e-5)
    # every (machine, region) the catalog prices in full comes back to the cent (in fact
    # within 2e-5 USD/h: the catalog rounds each of its two rows to 5 decimals)
    totals = catalog_totals(shared_data)
    ours = offers.groupby(["instance_type", "region"])[
        ["price_on_demand_usd_per_hour", "price_spot_usd_per_hour"]
    ].first()
    joined = totals.merge(
        ours.reset_index(), on=["instance_type", "region"], suffixes=("", "_ours")
    )
    for column in ("price_on_demand_usd_per_hour", "price_spot_usd_per_hour"):
        both = joined[column].notna()
        assert both.sum() > 250
        error = (joined.loc[both, column] - joined.loc[both, f"{column}_ours"]).abs()
        assert error.max() < 2e-5, joined.loc[both][error >= 2e-5]


def test_spot_labelled_on_demand_is_found_by_its_description(
    fake_gcp: FakeGcp, shared_data: Path, tmp_path: Path
) -> None:
    # the fake labels every G2 and L4 spot SKU usageType OnDemand
    mislabelled = [
        s
        for s in fake_gcp.skus
        if s["category"]["usageType"] == "OnDemand" and "Spot Preemptible" in s["description"]
    ]
    assert {s["description"].split(" running")[0] for s in mislabelled} >= {
        "Spot Preemptible G2 Instance Core",
        "Spot Preemptible Nvidia L4 GPU",
    }
    store = Store(tmp_path / "s.duckdb")
    collect_gcp(store, options(fake_gcp, sources=frozenset({"prices"}), regions=("asia-east1",)))
    offers = fresh_offers(store)
    assert set(offers["region"]) == {"asia-east1"}
    g2 = offers[offers.instance_type == "g2-standard-12"].iloc[0]
    # catalog: VM 0.50991 / 0.13469, L4 x1 0.70660 / 0.28270 in asia-east1
    totals = catalog_totals(shared_data).set_index(["instance_type", "region"])
    expected = totals.loc[("g2-standard-12", "asia-east1")]
    assert g2["price_spot_usd_per_hour"] == pytest.approx(
        expected["price_spot_usd_per_hour"], abs=2e-5
    )
    assert g2["price_spot_usd_per_hour"] < 0.5 * g2["price_on_demand_usd_per_hour"]


def test_rerun_adds_nothing_twice(fake_gcp: FakeGcp, tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    collect_gcp(store, options(fake_gcp))
    before = counts(store)
    again = collect_gcp(store, options(fake_gcp))
    assert not again.failed and sum(w.inserted for w in again.written) == 0
    assert sum(w.updated for w in again.written) == 0
    assert counts(store) == before


def test_throttling_then_success(fake_gcp: FakeGcp, tmp_path: Path) -> None:
    fake_gcp.throttle("catalog", 3)
    fake_gcp.throttle("bigquery", 2)
    report = collect_gcp(Store(tmp_path / "s.duckdb"), options(fake_gcp))
    assert not report.failed, report.failed
    catalog = [r for r in fake_gcp.requests if r.api == "catalog"]
    pages = math.ceil(len(fake_gcp.skus) / fake_gcp.sku_page_max)
    assert len(catalog) == 1 + pages + 3  # services, every SKU page, three 429s retried
    assert len([r for r in fake_gcp.requests if r.api == "bigquery"]) == 1 + 2


def test_a_hung_query_fails_its_task_only(fake_gcp: FakeGcp, tmp_path: Path) -> None:
    fake_gcp.hang("bigquery", 30)
    store = Store(tmp_path / "s.duckdb")
    report = collect_gcp(store, options(fake_gcp, timeout_s=3))
    assert [(r.source, r.error) for r in report.failed] == [
        ("billing", "ReadTimeout: the endpoint did not answer in time")
    ]
    assert report.usable and len(fresh_offers(store)) > 500
    assert len(store.read(BILLING)) == 0 and len(store.read(INTERRUPTION_HISTORY)) > 0
    log = store.collections()
    assert log.loc[log["source"] == "billing", "error"].notna().all()


def test_a_hung_catalog_fails_prices_only(fake_gcp: FakeGcp, tmp_path: Path) -> None:
    fake_gcp.hang("catalog", 30)
    store = Store(tmp_path / "s.duckdb")
    report = collect_gcp(store, options(fake_gcp, timeout_s=3))
    assert [r.source for r in report.failed] == ["prices"]
    assert len(fresh_offers(store)) == 0 and len(store.read(BILLING)) > 0
    # without prices, the prior goes to what the snapshot already offers
    bands = store.read(INTERRUPTION_HISTORY)
    assert ("us-central1", "a2-highgpu-1g") in set(
        zip(bands["region"], bands["instance_type"], strict=True)
    )


def test_a_malformed_page_fails_its_task_only(fake_gcp: FakeGcp, tmp_path: Path) -> None:
    fake_gcp.malformed("catalog", page=2, times=1)
    store = Store(tmp_path / "s.duckdb")
    report = collect_gcp(store, options(fake_gcp))
    assert [r.source for r in report.failed] == ["prices"]
    assert len(report.failed[0].error or "") <= 200
    assert len(fresh_offers(store)) == 0 and len(store.read(BILLING)) > 0


def test_an_interrupted_collection_keeps_earlier_data(
    fake_gcp: FakeGcp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(tmp_path / "s.duckdb")
    collect_gcp(store, options(fake_gcp, sources=frozenset({"bands"})))
    before = counts(store)
    later = datetime(2025, 7, 1, 13, tzinfo=UTC)
    real_write = Store.write

    def interrupted(self: Store, batches: object, **kw: object) -> object:
        raise KeyboardInterrupt  # Ctrl-C while the collection is being written

    monkeypatch.setattr(Store, "write", interrupted)
    with pytest.raises(KeyboardInterrupt):
        collect_gcp(store, options(fake_gcp, now=later))
    monkeypatch.setattr(Store, "write", real_write)
    assert counts(store) == before  # nothing half-written
    collect_gcp(store, options(fake_gcp, now=later))
    collect_gcp(store, options(fake_gcp, now=later))
    clean = Store(tmp_path / "clean.duckdb")
    collect_gcp(clean, options(fake_gcp, sources=frozenset({"bands"})))
    collect_gcp(clean, options(fake_gcp, now=later))
    assert counts(store) == counts(clean)


def test_dry_run_calls_nothing(fake_gcp: FakeGcp, tmp_path: Path) -> None:
    report = collect_gcp(Store(tmp_path / "s.duckdb"), options(fake_gcp), dry_run=True)
    assert report.dry_run and len(report.planned) == 3
    assert fake_gcp.requests == [] and not (tmp_path / "s.duckdb").exists()
    text = " ".join(report.planned)
    assert "list_skus" in text and "2025-06" in text
    assert BILLING_ACCOUNT.replace("-", "_") not in text and "<billing-account>" in text
    assert [t.source for t in plan(options(fake_gcp))] == ["prices", "bands", "billing"]


def test_detailed_table_pages_and_carries_resources(fake_gcp: FakeGcp, tmp_path: Path) -> None:
    fake_gcp.bq_page_size = 60  # BigQuery pages large results; the client follows
    store = Store(tmp_path / "s.duckdb")
    report = collect_gcp(
        store, options(fake_gcp, sources=frozenset({"billing"}), billing_table=DETAILED_TABLE)
    )
    assert not report.failed, report.failed
    billing = store.read(BILLING)
    pages = [r for r in fake_gcp.requests if r.method == "GET" and "/queries/" in r.path]
    assert len(pages) >= 4
    assert billing["resource_id"].notna().all()
    assert set(billing["resource_id"]) >= {"llama-spot-1", "llama-od-1", "legacy-t4"}


def test_billing_rows_map_spot_tags_credits(fake_gcp: FakeGcp, tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    collect_gcp(store, options(fake_gcp, sources=frozenset({"billing"})))
    billing = store.read(BILLING)
    spot = billing[billing["is_spot"].astype(bool)]
    assert set(spot["instance_type"]) == {"a2-highgpu-1g", "g2-standard-8"}
    assert (spot["pricing_category"] == "Dynamic").all()
    assert spot["usage_type"].str.startswith("Spot Preemptible").all()
    llama = billing[billing["instance_type"] == "a2-highgpu-1g"]
    assert {json.loads(t)["model"] for t in llama["tags"]} == {"llama-70b"}
    untagged = billing[billing["instance_type"] == "n1-standard-8"]
    assert (untagged["tags"] == "{}").all()
    # n1 core and RAM lines carry a 20 % sustained-use credit, netted into billed cost
    core = untagged[untagged["usage_type"].str.startswith("N1 Predefined Instance Core")]
    per_day = 8 * 24 * fake_gcp.fit.price("core", "n1", "us-east1", "on-demand")  # type: ignore[operator]
    assert core["billed_cost"].iloc[0] == pytest.approx(0.8 * per_day, abs=1e-5)
    text = billing.to_csv() + store.ingest_log().to_csv() + store.collections().to_csv()
    assert PROJECT_NUMBER not in text and BILLING_ACCOUNT not in text
    assert BILLING_ACCOUNT.replace("-", "_") not in text


def test_errors_name_no_billing_account(fake_gcp: FakeGcp, tmp_path: Path) -> None:
    missing = f"{PROJECT_ID}.billing_export.gcp_billing_export_v1_0A0B0C_0D0E0F_101112"
    report = collect_gcp(
        Store(tmp_path / "s.duckdb"),
        options(fake_gcp, sources=frozenset({"billing"}), billing_table=missing),
    )
    [failed] = report.failed
    assert "NotFound (HTTP 404)" in (failed.error or "")
    assert "0A0B0C" not in (failed.error or "") and "<billing-account>" in (failed.error or "")


def test_missing_credentials_say_how_to_get_them(fake_gcp: FakeGcp, tmp_path: Path) -> None:
    # gcp_env points GOOGLE_APPLICATION_CREDENTIALS at a missing file: no network lookups
    report = collect_gcp(
        Store(tmp_path / "s.duckdb"),
        options(fake_gcp, credentials=None, sources=frozenset({"prices"})),
    )
    [failed] = report.failed
    assert "gcloud auth application-default login" in (failed.error or "")
    assert fake_gcp.requests == []


def test_options_are_checked(fake_gcp: FakeGcp, tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    with pytest.raises(UsageError, match="a2-highgpu-1g"):
        collect_gcp(store, options(fake_gcp, machine_types=("a2-highgpu-1x",)))
    with pytest.raises(UsageError, match="billing export table"):
        collect_gcp(store, options(fake_gcp, billing_table=None))
    with pytest.raises(UsageError, match="not a BigQuery table name"):
        collect_gcp(store, options(fake_gcp, billing_table="x; DROP TABLE y"))
    with pytest.raises(UsageError, match="names no project"):
        collect_gcp(
            store, options(fake_gcp, billing_table="billing_export.gcp_billing_export_v1_X")
        )
    with pytest.raises(UsageError, match="not a month"):
        collect_gcp(store, options(fake_gcp, billing_month="2025-13"))
    with pytest.raises(UsageError, match="unknown source"):
        collect_gcp(store, options(fake_gcp, sources=frozenset({"spot-prices"})))
    assert fake_gcp.requests == []


def test_the_fake_reproduces_the_catalog(fake_gcp: FakeGcp) -> None:
    fit = fake_gcp.fit
    assert max(fit.max_vm_error, fit.max_gpu_error, fit.max_total_error) < 1.5e-5
    assert fit.price("core", "a2", "us-central1", "on-demand") == pytest.approx(0.031611, abs=1e-6)
    assert fit.price("ram", "a2", "us-central1", "on-demand") == pytest.approx(0.004237, abs=1e-6)
    assert 0.13 < fit.ram_to_core < 0.14


# -- parse_gcp_skus on tiny inputs ------------------------------------------------------


def _sku(description: str, price: float, **kw: Any) -> dict[str, Any]:
    return make_sku(description, kw.pop("regions", ["us-central1"]), price, **kw)


def test_parse_skus_parts_markets_and_skips() -> None:
    skus = [
        # an on-demand A2 core and its spot SKU, properly labelled
        _sku("A2 Instance Core running in Americas", 0.031611, regions=["us-central1", "us-east1"]),
        _sku(
            "Spot Preemptible A2 Instance Core running in Americas",
            0.01581,
            usage_type="Preemptible",
        ),
        # spot, but labelled OnDemand: the description decides
        _sku(
            "Spot Preemptible G2 Instance Ram running in Iowa",
            0.0012,
            unit="GiBy.h",
            resource_group="RAM",
        ),
        # a GPU, 2.933908 = units "2" + nanos 933908000
        _sku("Nvidia Tesla A100 80GB GPU running in Iowa", 2.933908, resource_group="GPU"),
        _sku("Nvidia H100 80GB Mega GPU running in Iowa", 11.0, resource_group="GPU"),
        # skipped: commitment, sole tenancy, custom, extended, workstation, E2, Network
        _sku("Commitment v1: A2 Cpu in Americas for 1 Year", 0.02, usage_type="Commit1Yr"),
        _sku(
            "Commitment v1: Nvidia Tesla A100 GPU in Americas for 3 Year",
            1.0,
            usage_type="Commit3Yr",
            resource_group="GPU",
        ),
        _sku("A2 Sole Tenancy Instance Core running in Americas", 0.04),
        _sku("N1 Custom Instance Core running in Americas", 0.033),
        _sku("N1 Custom Extended Instance Ram running in Americas", 0.009, unit="GiBy.h"),
        _sku("Nvidia Tesla T4 Virtual Workstation GPU running in Iowa", 0.55, resource_group="GPU"),
        _sku("E2 Instance Core running in Americas", 0.0218),
        _sku(
            "Network Internet Egress from Americas to Americas",
            0.12,
            unit="GiBy",
            resource_family="Network",
        ),
        # RAM priced per month: a unit the parser does not expect
        _sku("N1 Predefined Instance Ram running in Iowa", 3.1, unit="GiBy.mo"),
    ]
    parts = parse_gcp_skus(skus)
    got = {
        (r.region, r.part, r.accelerator if r.part == "gpu" else r.family, r.market): (
            r.price_usd_per_unit_hour
        )
        for r in parts.itertuples()
    }
    assert got == {
        ("us-central1", "core", "a2", "on-demand"): pytest.approx(0.031611),
        ("us-east1", "core", "a2", "on-demand"): pytest.approx(0.031611),
        ("us-central1", "core", "a2", "spot"): pytest.approx(0.01581),
        ("us-central1", "ram", "g2", "spot"): pytest.approx(0.0012),
        ("us-central1", "gpu", "A100-80GB", "on-demand"): pytest.approx(2.933908),
        ("us-central1", "gpu", "H100-MEGA", "on-demand"): pytest.approx(11.0),
    }
    assert parts.attrs["skipped"] == {
        "commitment": 2,
        "sole tenancy": 1,
        "custom or extended": 2,
        "GPU virtual workstation": 1,
        "family without GPUs": 1,
        "not Compute": 1,
        "unexpected unit or currency": 1,
    }


def test_parse_skus_tiers_units_nanos_and_sdk_objects() -> None:
    from google.cloud import billing_v1

    # a tiered GPU price: the tier starting at 0 (omitted in JSON) is the list price
    tiered = _sku(
        "Nvidia L4 GPU running in Iowa",
        0.0,
        resource_group="GPU",
        tiers=[(0.0, 0.560040), (100.0, 0.5)],
    )
    # snake_case dicts and SDK messages work too
    snake = {
        "sku_id": "X-1",
        "description": "Spot Preemptible Nvidia Tesla T4 GPU running in Iowa",
        "category": {
            "resource_family": "Compute",
            "resource_group": "GPU",
            "usage_type": "OnDemand",
        },
        "service_regions": ["us-central1"],
        "pricing_info": [
            {
                "pricing_expression": {
                    "usage_unit": "h",
                    "tiered_rates": [
                        {"unit_price": {"currency_code": "USD", "units": "0", "nanos": 175000000}}
                    ],
                }
            }
        ],
    }
    message = billing_v1.Sku(
        sku_id="X-2",
        description="G2 Instance Core running in Iowa",
        category=billing_v1.Category(
            resource_family="Compute", resource_group="CPU", usage_type="OnDemand"
        ),
        service_regions=["us-central1"],
        pricing_info=[
            billing_v1.PricingInfo(
                pricing_expression=billing_v1.PricingExpression(
                    usage_unit="h",
                    tiered_rates=[
                        billing_v1.PricingExpression.TierRate(
                            start_usage_amount=0,
                            unit_price={"currency_code": "USD", "units": 0, "nanos": 24988000},
                        )
                    ],
                )
            )
        ],
    )
    parts = parse_gcp_skus([tiered, snake, message]).set_index("sku_id")
    assert parts.loc[tiered["skuId"], "price_usd_per_unit_hour"] == pytest.approx(0.56004)
    assert parts.loc["X-1", ["market", "accelerator"]].tolist() == ["spot", "T4"]
    assert parts.loc["X-2", ["part", "family", "price_usd_per_unit_hour"]].tolist() == [
        "core",
        "g2",
        pytest.approx(0.024988),
    ]


def test_parse_skus_conflicting_skus_leave_the_part_unpriced() -> None:
    # formerly "the SKU naming fewer regions wins"; now a conflict (tests/collect/test_gcp_skus.py)
    skus = [
        _sku("A2 Instance Core running in Americas", 0.03, regions=["us-central1", "us-east1"]),
        _sku("A2 Instance Core running in Iowa", 0.031611, regions=["us-central1"]),
    ]
    parsed = parse_gcp_skus(skus)
    parts = parsed.set_index("region")
    assert "us-central1" not in parts.index
    assert parts.loc["us-east1", "price_usd_per_unit_hour"] == pytest.approx(0.03)
    assert parsed.attrs["conflict_keys"] == [("us-central1", "core", "a2", "on-demand")]


# -- compose_gcp_offers ------------------------------------------------------------------


def test_compose_prices_flags_missing_parts_and_uses_zone_hints() -> None:
    skus = [
        _sku("A2 Instance Core running in Iowa", 0.031611),
        _sku("A2 Instance Ram running in Iowa", 0.004237, unit="GiBy.h"),
        _sku("Nvidia Tesla A100 GPU running in Iowa", 2.933908, resource_group="GPU"),
        _sku(
            "Spot Preemptible A2 Instance Core running in Iowa", 0.01581, usage_type="Preemptible"
        ),
        # no spot A2 RAM, and in us-east1 an A100 without any A2 core or RAM
        _sku(
            "Spot Preemptible Nvidia Tesla A100 GPU running in Iowa",
            1.4341,
            usage_type="Preemptible",
        ),
        _sku(
            "Nvidia Tesla A100 GPU running in South Carolina",
            2.933908,
            regions=["us-east1"],
            resource_group="GPU",
        ),
    ]
    zones = pd.DataFrame(
        {
            "region": ["us-central1", "us-central1"],
            "zone": ["us-central1-a", "us-central1-b"],
            "instance_type": ["a2-highgpu-1g"] * 2,
        }
    )
    offers = compose_gcp_offers(
        parse_gcp_skus(skus),
        ["a2-highgpu-1g", "a2-ultragpu-1g"],
        source="t",
        as_of=DEFAULT_NOW,
        zones=zones,
    )
    central = offers[offers.region == "us-central1"]
    assert central["zone"].tolist() == ["us-central1-a", "us-central1-b"]
    # 12 x 0.031611 + 85 x 0.004237 + 2.933908
    assert central["price_on_demand_usd_per_hour"].iloc[0] == pytest.approx(3.673385)
    assert central["price_spot_usd_per_hour"].isna().all()
    assert (central["quality_flags"] == "spot_price_missing(ram)").all()
    east = offers[offers.region == "us-east1"].iloc[0]
    assert math.isnan(east["price_on_demand_usd_per_hour"]) and east["zone"] is pd.NA
    assert east["quality_flags"] == (
        "on_demand_price_missing(core+ram);spot_price_missing(core+ram+gpu)"
    )
    # a2-ultragpu needs A100-80GB, which no SKU prices: not offered anywhere
    assert "a2-ultragpu-1g" not in set(offers["instance_type"])
    only = compose_gcp_offers(
        parse_gcp_skus(skus),
        ["a2-highgpu-1g"],
        source="t",
        as_of=DEFAULT_NOW,
        regions=("us-east1",),
    )
    assert set(only["region"]) == {"us-east1"}


def test_gpu_reference_for_gcp_machines() -> None:
    machine = gcp_machine("n1-standard-8+1xT4")
    assert machine is not None
    assert (machine.host, machine.vcpus, machine.memory_gib, machine.accelerator) == (
        "n1-standard-8",
        8,
        30,
        "T4",
    )
    assert instance_gpus("gcp", "n1-standard-64+8xV100") == instance_gpus(
        "gcp", "n1-standard-96+8xV100"
    )
    assert gcp_machine("n1-standard-96+1xV100") is None  # V100 x1 allows at most 12 vCPUs
    assert gcp_machine("n1-standard-8+3xT4") is None  # T4 comes in 1, 2 or 4
    assert pricing_family("a3-ultragpu-8g-nolssd") == "a3-ultra"
    assert pricing_family("a3-megagpu-8g") == "a3plus"
    assert all(gcp_machine(m) is not None for m in gcp_gpu_machine_types())


# -- billing_query: the text, and the SQL run on DuckDB -----------------------------------


def test_billing_query_text() -> None:
    sql = billing_query(STANDARD_TABLE, "2025-06", detailed=False)
    assert f"FROM `{STANDARD_TABLE}`" in sql
    assert "WHERE service.id = '6F81-5844-456A'" in sql
    assert "usage_start_time >= @usage_start" in sql and "usage_start_time < @usage_end" in sql
    assert "IFNULL((SELECT SUM(c.amount) FROM UNNEST(credits) AS c), 0) AS credits_amount" in sql
    assert "'compute.googleapis.com/machine_spec'" in sql and "labels," in sql
    assert "CAST(NULL AS STRING) AS resource_name" in sql and "resource.name" not in sql
    assert "billing_account_id" not in sql and "project.number" not in sql
    detailed = billing_query(DETAILED_TABLE, "2025-06", detailed=True)
    assert "resource.name AS resource_name" in detailed
    assert billing_parameters("2025-12") == {
        "usage_start": datetime(2025, 12, 1, tzinfo=UTC),
        "usage_end": datetime(2026, 1, 1, tzinfo=UTC),
    }
    with pytest.raises(UsageError):
        billing_query("proj.ds.t` WHERE 1=1 --", "2025-06", detailed=False)


@pytest.mark.parametrize("detailed", [False, True])
def test_billing_query_runs_on_duckdb(detailed: bool) -> None:
    """The SQL runs unchanged on DuckDB except for parameters: BigQuery's ``@name``
    becomes DuckDB's ``$name``. Everything else (backquoted project.dataset.table,
    STRUCT field access, correlated ``UNNEST`` subqueries, ``IFNULL``, ``CAST(NULL AS
    STRING)``, ``LIMIT`` in a scalar subquery) ports as written."""
    table = DETAILED_TABLE if detailed else STANDARD_TABLE
    june = datetime(2025, 6, 3, tzinfo=UTC)
    rows = [
        # a spot GPU day with a promotion credit, labels and the machine spec
        billing_row(
            sku="Spot Preemptible Nvidia Tesla A100 GPU running in Iowa",
            sku_id="S-1",
            start=june,
            hours=24,
            cost=34.42,
            region="us-central1",
            zone="us-central1-a",
            amount=24,
            pricing_unit="hour",
            labels={"team": "ml"},
            machine_spec="a2-highgpu-1g",
            credits=[("promo", -5.0, "PROMOTION"), ("sud", -1.5, "SUSTAINED_USAGE_DISCOUNT")],
            resource="vm-1",
        ),
        # no credits, no labels: credits_amount is 0, labels empty
        billing_row(
            sku="A2 Instance Core running in Iowa",
            sku_id="S-2",
            start=june,
            hours=24,
            cost=9.1,
            region="us-central1",
            zone="us-central1-b",
            amount=288,
            pricing_unit="hour",
            machine_spec="a2-highgpu-1g",
            resource="vm-2",
        ),
        # left out: May, and another service
        billing_row(
            sku="A2 Instance Core running in Iowa",
            sku_id="S-2",
            start=datetime(2025, 5, 31, tzinfo=UTC),
            hours=24,
            cost=9.1,
            region="us-central1",
            zone="us-central1-b",
            amount=288,
            pricing_unit="hour",
        ),
        billing_row(
            sku="Standard Storage",
            sku_id="S-3",
            start=june,
            hours=24,
            cost=1.0,
            region="us",
            zone=None,
            amount=1,
            pricing_unit="gibibyte month",
            service=("95FF-2EF5-5EA1", "Cloud Storage"),
        ),
    ]
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    load_billing_table(con, table, rows, detailed=detailed)
    sql = billing_query(table, "2025-06", detailed).replace("@usage_", "$usage_")
    result = con.sql(sql, params=billing_parameters("2025-06"))
    got = [dict(zip(result.columns, r, strict=True)) for r in result.fetchall()]
    got.sort(key=lambda r: r["sku_id"])
    assert [r["sku_id"] for r in got] == ["S-1", "S-2"]
    assert got[0]["credits_amount"] == pytest.approx(-6.5) and got[1]["credits_amount"] == 0
    assert got[0]["machine_spec"] == "a2-highgpu-1g"
    assert got[0]["labels"] == [{"key": "team", "value": "ml"}] and got[1]["labels"] == []
    assert got[0]["resource_name"] == ("vm-1" if detailed else None)
    frame = parse_bigquery_billing(got, source="t")
    assert frame.set_index("sku_id").loc["S-1", "billed_cost"] == pytest.approx(34.42 - 6.5)
    if not detailed:  # the detailed query fails on the standard table: no resource column
        with pytest.raises(duckdb.BinderException):
            con.sql(
                billing_query(table, "2025-06", True).replace("@usage_", "$usage_"),
                params=billing_parameters("2025-06"),
            )


# -- parse_bigquery_billing on tiny inputs -------------------------------------------------


def _row(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "service_description": "Compute Engine",
        "sku_id": "S-1",
        "sku_description": "Nvidia Tesla A100 GPU running in Iowa",
        "usage_start_time": datetime(2025, 6, 1, tzinfo=UTC),
        "usage_end_time": datetime(2025, 6, 1, 1, tzinfo=UTC),
        "project_id": "p",
        "region": "us-central1",
        "zone": "us-central1-a",
        "labels": [{"key": "team", "value": "ml"}],
        "machine_spec": "a2-highgpu-1g",
        "cost": 2.93,
        "credits_amount": 0.0,
        "currency": "usd",
        "cost_type": "regular",
        "usage_amount_in_pricing_units": 1.0,
        "usage_pricing_unit": "hour",
        "resource_name": None,
    }
    return {**base, **kw}


def test_parse_billing_spot_categories_tags_and_stable_keys() -> None:
    rows = [
        _row(),  # on demand
        _row(sku_description="Spot Preemptible Nvidia Tesla A100 GPU running in Iowa", cost=1.43),
        _row(sku_description="Preemptible N1 Predefined Instance Core running in Iowa", cost=0.1),
        _row(sku_description="Commitment v1: A2 Cpu in Americas for 1 Year", cost=5.0, labels=[]),
        _row(cost_type="tax", cost=0.3, labels=None, machine_spec=None),
        _row(),  # an identical line stays a separate row with its own key
    ]
    frame = parse_bigquery_billing(rows, source="t")
    assert frame["is_spot"].tolist().count(True) == 2
    by_cost = frame.set_index("billed_cost")
    assert by_cost.loc[1.43, "pricing_category"] == "Dynamic"
    assert by_cost.loc[0.1, "pricing_category"] == "Dynamic"
    assert by_cost.loc[5.0, "pricing_category"] == "Committed"
    assert by_cost.loc[5.0, "tags"] == "{}"
    assert by_cost.loc[0.3, "charge_category"] == "Tax" and pd.isna(by_cost.loc[0.3, "tags"])
    assert set(frame["billing_currency"]) == {"USD"} and set(frame["provider"]) == {"gcp"}
    assert frame["row_key"].is_unique
    assert frame["as_of"].iloc[0] == pd.Timestamp("2025-06-01 01:00", tz="UTC")
    again = parse_bigquery_billing(list(reversed(rows)), source="t")
    assert sorted(again["row_key"]) == sorted(frame["row_key"])


def test_parse_billing_rejects_rows_without_times() -> None:
    from spotadvisor.errors import DataError

    with pytest.raises(DataError, match="row 2") as err:
        parse_bigquery_billing(
            [_row(), _row(usage_start_time=None, project_id="123456789012")], source="t"
        )
    assert "123456789012" not in str(err.value)


# -- the command line ----------------------------------------------------------------------


def test_cli_collect_gcp_with_billing(fake_gcp: FakeGcp, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from spotadvisor.cli import app

    db = tmp_path / "s.duckdb"
    result = CliRunner().invoke(
        app,
        [
            "--db",
            str(db),
            "collect",
            "gcp",
            "--catalog-endpoint",
            fake_gcp.url,
            "--bigquery-endpoint",
            fake_gcp.url,
            "--anonymous",
            "--regions",
            "us-central1,europe-west4",
            "--billing-table",
            STANDARD_TABLE,
            "--billing-month",
            MONTH,
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.stderr
    store = Store(db)
    assert set(fresh_offers(store)["region"]) == {"us-central1", "europe-west4"}
    assert len(store.read(BILLING)) > 0
    assert BILLING_ACCOUNT.replace("-", "_") not in result.stdout + result.stderr


def test_a_month_without_charges_is_not_an_error(fake_gcp: FakeGcp, tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    report = collect_gcp(
        store, options(fake_gcp, sources=frozenset({"billing"}), billing_month="2024-01")
    )
    [result] = report.results
    assert result.ok and result.rows == 0 and len(store.read(BILLING)) == 0
