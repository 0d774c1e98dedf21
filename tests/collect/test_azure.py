"""`collect azure` against the local Azure fake, and the pure parsers on tiny inputs."""

from __future__ import annotations

import dataclasses
import math
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from spotadvisor.collect import azure_graph_parse as agp
from spotadvisor.collect import azure_parse as ap
from spotadvisor.collect import azure_usage_parse as aup
from spotadvisor.collect.azure import _classify, collect_azure
from spotadvisor.collect.azure_api import get_retail_prices
from spotadvisor.collect.azure_options import (
    AzureOptions,
    billing_period,
    default_sizes,
    plain_http_allowed,
)
from spotadvisor.collect.run import TaskResult
from spotadvisor.errors import DataError, UsageError
from spotadvisor.schema import BILLING, INTERRUPTION_HISTORY, OFFERS, SPOT_PRICE_HISTORY
from spotadvisor.store import Store
from tests.fakes.azure import DEFAULT_NOW, QUIRK_LABELS, FakeAzure, FakeCredential, eviction_label

REGIONS = ("eastus", "westus2", "southcentralus", "northcentralus")
SUBSCRIPTION = "1caaa5a3-2b66-438e-8ab4-bce37d518c5d"  # the finops-toolkit sample's
SCOPE = f"/subscriptions/{SUBSCRIPTION}"
GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
TABLES = (OFFERS, INTERRUPTION_HISTORY, SPOT_PRICE_HISTORY, BILLING)


def options(fake: FakeAzure, **changes: object) -> AzureOptions:
    base = AzureOptions(
        regions=REGIONS,
        sources=frozenset({"prices", "evictions", "spot-history", "billing"}),
        billing_scope=SCOPE,
        billing_month="2023-09",  # the month of the cost-details samples
        retail_prices_url=fake.retail_url,
        management_endpoint=fake.url,
        credential=FakeCredential(),
        now=DEFAULT_NOW,
        timeout_s=5,
        max_attempts=4,
        backoff_s=0.01,
        workers=8,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def counts(store: Store) -> dict[str, int]:
    return {t.name: len(store.read(t)) for t in TABLES}


# -- the collection against the fake --------------------------------------------------------


def test_full_collection_fills_every_table(fake_azure: FakeAzure, tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    opts = options(fake_azure)
    report = collect_azure(store, opts)
    assert not report.failed, report.failed

    offers = store.read(OFFERS)
    assert set(offers["region"]) == set(REGIONS) and (offers["cloud"] == "azure").all()
    assert offers["zone"].isna().all() and offers["zone_id"].isna().all()  # regional
    assert (offers["source"] == "azure-retail-prices").all()
    assert (offers["as_of"] == pd.Timestamp(DEFAULT_NOW)).all()
    a100 = offers[
        (offers.instance_type == "Standard_NC24ads_A100_v4") & (offers.region == "eastus")
    ].iloc[0]
    # the SkyPilot v6 catalog's eastus row: 3.673 on demand, 0.444433 spot
    assert a100.price_on_demand_usd_per_hour == pytest.approx(3.673)
    assert a100.price_spot_usd_per_hour == pytest.approx(0.444433)
    assert (a100.gpu_model, a100.gpu_count, a100.gpu_memory_gb) == ("A100", 1, 80)
    h100 = offers[offers.instance_type == "Standard_NC40ads_H100_v5"]
    assert len(h100) and h100["price_spot_usd_per_hour"].isna().all()  # no spot meter
    assert h100["quality_flags"].str.contains("spot_price_missing").all()
    assert not (offers["price_on_demand_usd_per_hour"] == 0).any()

    bands = store.read(INTERRUPTION_HISTORY)
    assert (bands["source"] == "azure-resource-graph:eviction-rate").all()
    assert (bands["os"] == "Linux").all() and set(bands["region"]) == set(REGIONS)
    assert bands["instance_type"].str.startswith("Standard_").all()  # casing normalised
    assert set(bands["instance_type"]) <= set(opts.sizes)
    assert set(bands["interruption_band"]) <= {"0-5%", "5-10%", "10-15%", "15-20%", ">20%"}
    over_20 = bands[bands.interruption_band == ">20%"]
    assert over_20.empty or (over_20["interruption_band_upper_pct"] == 100).all()

    history = store.read(SPOT_PRICE_HISTORY)
    assert set(history["region"]) == {"eastus", "southcentralus", "northcentralus"}
    assert (history["product"] == "Linux").all() and history["zone"].isna().all()
    nc6s_v2 = history[
        (history.region == "eastus") & (history.instance_type == "Standard_NC6s_v2")
    ].sort_values("timestamp")
    # the real 2020 series re-timed: $0.27241 from 2/24, $0.25771 on 3/23 (= now - 1 day)
    assert nc6s_v2["price_usd_per_hour"].iloc[0] == pytest.approx(0.27241)
    assert nc6s_v2["price_usd_per_hour"].iloc[-1] == pytest.approx(0.25771)
    yesterday = pd.Timestamp(DEFAULT_NOW.date() - timedelta(days=1), tz="UTC")
    assert nc6s_v2["timestamp"].iloc[-1] == yesterday

    billing = store.read(BILLING)
    assert len(billing) == 11 + 27 and (billing["provider"] == "azure").all()
    spot = billing[billing["is_spot"].fillna(False).astype(bool)]
    assert len(spot) == 3 and set(spot["billing_currency"]) == {"CAD"}
    assert set(spot["instance_type"]) == {"Standard_DS4_v2", "Standard_L4s"}
    assert set(billing["billing_currency"]) == {"USD", "CAD"}
    assert billing["tags"].dropna().str.startswith("{").all()
    assert (billing["source"] == "azure-usage-details:2023-09").all()

    log = store.collections()
    assert set(log["source"]) == {"prices", "evictions", "spot-history", "billing"}
    assert log["error"].isna().all() and (log["cloud"] == "azure").all()

    managed = [r for r in fake_azure.requests if r.api != "retail-prices"]
    assert managed and all(r.authorized for r in managed)  # bearer token over loopback http
    assert {s for call in opts.credential.scopes for s in call} == {
        "https://management.azure.com/.default"
    }
    usage = [r for r in fake_azure.requests if r.api == "consumption"]
    assert len(usage) == 4  # 38 items, 10 a page: the pager followed nextLink
    assert usage[0].params["metric"] == "actualcost"
    assert "properties/usageStart ge '2023-09-01'" in usage[0].params["$filter"]
    assert "properties/usageEnd le '2023-09-30'" in usage[0].params["$filter"]


def test_retail_filters_keep_linux_consumption_only(fake_azure: FakeAzure, tmp_path: Path) -> None:
    """Windows, Low Priority and DevTest items are served but never become prices."""
    store = Store(tmp_path / "s.duckdb")
    report = collect_azure(store, options(fake_azure, sources=frozenset({"prices"})))
    assert not report.failed
    retail = [r for r in fake_azure.requests if r.api == "retail-prices"]
    assert all(r.params["api-version"] == "2023-01-01-preview" for r in retail)
    assert all("priceType eq 'Consumption'" in r.params["$filter"] for r in retail)
    offers = store.read(OFFERS)
    for row in offers.itertuples():
        on_demand, spot = fake_azure.data.catalog[(row.region, row.instance_type)]
        assert row.price_on_demand_usd_per_hour == pytest.approx(on_demand)
        if math.isnan(spot):
            assert pd.isna(row.price_spot_usd_per_hour)
        else:
            assert row.price_spot_usd_per_hour == pytest.approx(spot)
    served = {i["type"] for i in fake_azure.data.retail_items}
    assert served == {"Consumption", "DevTestConsumption"}
    assert any("Windows" in i["productName"] for i in fake_azure.data.retail_items)
    assert any(i["skuName"].endswith("Low Priority") for i in fake_azure.data.retail_items)


def test_offers_notes_count_the_dropped_items(fake_azure: FakeAzure, tmp_path: Path) -> None:
    from spotadvisor.collect.azure import _offers_batch, plan

    opts = options(fake_azure, sources=frozenset({"prices"}), regions=("eastus",))
    [task] = plan(opts)
    output = task.work()
    result = TaskResult("prices", "eastus", DEFAULT_NOW, DEFAULT_NOW, output.rows, None, output)
    batch = _offers_batch(opts, [result])
    assert batch is not None
    dropped = next(n for n in batch.notes if "dropped" in n)
    assert "Windows" in dropped and "Low Priority" in dropped


def test_eviction_rates_are_parsed_leniently(fake_azure: FakeAzure, tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    report = collect_azure(store, options(fake_azure, sources=frozenset({"evictions"})))
    assert not report.failed
    sizes = set(default_sizes())
    served = [
        (r["location"], r["sku"]["name"])
        for r in fake_azure.data.resources
        if r["type"].endswith("evictionrate/location") and r["location"] in REGIONS
    ]
    known = {s.lower(): s for s in sizes}
    wanted = [(region, known[size]) for region, size in served if size in known]
    quirks = [(r, s) for r, s in wanted if eviction_label(s, r) in QUIRK_LABELS]
    assert quirks, "the fake should serve some labels that are not bands"
    bands = store.read(INTERRUPTION_HISTORY)
    assert len(bands) == len(wanted) - len(quirks)
    notes = [n for r in report.results for b in r.output.batches for n in b.notes]
    assert any("not bands" in n for n in notes)


def test_rerun_adds_nothing_twice(fake_azure: FakeAzure, tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    opts = options(fake_azure, regions=("eastus", "southcentralus"))
    collect_azure(store, opts)
    before = counts(store)
    assert all(before.values())
    again = collect_azure(store, opts)
    assert sum(w.inserted for w in again.written) == 0
    assert sum(w.updated for w in again.written) == 0
    assert counts(store) == before


def test_throttling_is_retried(fake_azure: FakeAzure, tmp_path: Path) -> None:
    fake_azure.throttle("retail-prices", 3)
    fake_azure.throttle("resource-graph", 2)
    fake_azure.throttle("consumption", 2)
    report = collect_azure(Store(tmp_path / "s.duckdb"), options(fake_azure))
    assert not report.failed, report.failed
    graph = [r for r in fake_azure.requests if r.api == "resource-graph"]
    assert len(graph) >= 2 * len(REGIONS) + 2


def test_throttling_past_the_attempts_fails_the_task(fake_azure: FakeAzure, tmp_path: Path) -> None:
    fake_azure.throttle("consumption", 10)
    report = collect_azure(
        Store(tmp_path / "s.duckdb"),
        options(fake_azure, sources=frozenset({"billing"}), max_attempts=2),
    )
    [failed] = report.failed
    assert failed.source == "billing" and "TooManyRequests" in (failed.error or "")
    assert not GUID.search(failed.error or "")


def test_a_hung_request_fails_its_task_only(fake_azure: FakeAzure, tmp_path: Path) -> None:
    fake_azure.hang("retail-prices", 30, region="westus2")
    fake_azure.hang("resource-graph", 30, region="eastus")
    store = Store(tmp_path / "s.duckdb")
    report = collect_azure(store, options(fake_azure, timeout_s=3, max_attempts=1))
    failed = {(r.source, r.region) for r in report.failed}
    assert failed == {("prices", "westus2"), ("evictions", "eastus"), ("spot-history", "eastus")}
    assert all("did not answer in time" in (r.error or "") for r in report.failed)
    assert set(store.read(OFFERS)["region"]) == set(REGIONS) - {"westus2"}
    assert "eastus" not in set(store.read(INTERRUPTION_HISTORY)["region"])
    assert len(store.read(BILLING)) == 38
    assert report.usable


def test_a_malformed_page_fails_its_task_only(
    tmp_path: Path, azure_env: None, shared_data: Path
) -> None:
    with FakeAzure(DEFAULT_NOW, data_dir=shared_data, retail_page_size=20) as fake:
        fake.malformed("retail-prices", page=2, times=1)
        fake.malformed("resource-graph", page=1, times=1)
        fake.malformed("consumption", page=2, times=1)
        report = collect_azure(Store(tmp_path / "s.duckdb"), options(fake, max_attempts=1))
    # one retail region, one Resource Graph query (whichever asked first) and the billing
    failed = {r.source: r for r in report.failed}
    assert len(report.failed) == 3 and {"prices", "billing"} <= set(failed)
    assert set(failed) - {"prices", "billing"} <= {"evictions", "spot-history"}
    assert "not a price page" in (failed["prices"].error or "")
    assert "DecodeError" in (failed["billing"].error or "")


def test_an_interrupted_collection_keeps_earlier_data(
    fake_azure: FakeAzure, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def run(store: Store, **changes: object) -> None:
        collect_azure(store, options(fake_azure, regions=("eastus", "westus2"), **changes))

    store = Store(tmp_path / "s.duckdb")
    run(store, sources=frozenset({"evictions"}))
    before = counts(store)
    later = DEFAULT_NOW + timedelta(hours=1)
    real_write = Store.write

    def interrupted(self: Store, batches: object, **kw: object) -> object:
        raise KeyboardInterrupt  # Ctrl-C while the collection is being written

    monkeypatch.setattr(Store, "write", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run(store, now=later)
    monkeypatch.setattr(Store, "write", real_write)
    assert counts(store) == before  # nothing half-written
    # a re-run, even twice, ends where one clean run ends
    run(store, now=later)
    run(store, now=later)
    clean = Store(tmp_path / "clean.duckdb")
    run(clean, sources=frozenset({"evictions"}))
    run(clean, now=later)
    assert counts(store) == counts(clean)


def test_dry_run_calls_nothing(fake_azure: FakeAzure, tmp_path: Path) -> None:
    credential = FakeCredential()
    report = collect_azure(
        Store(tmp_path / "s.duckdb"), options(fake_azure, credential=credential), dry_run=True
    )
    assert report.dry_run and len(report.planned) == 3 * len(REGIONS) + 1
    assert fake_azure.requests == [] and credential.scopes == []
    assert not (tmp_path / "s.duckdb").exists()
    assert not any(GUID.search(p) for p in report.planned)  # the scope's id is hidden


def test_a_refused_token_is_reported_without_ids(fake_azure: FakeAzure, tmp_path: Path) -> None:
    opts = options(
        fake_azure,
        sources=frozenset({"billing", "evictions"}),
        credential=FakeCredential("not-the-token"),
        regions=("eastus",),
    )
    report = collect_azure(Store(tmp_path / "s.duckdb"), opts)
    assert len(report.failed) == 2
    for result in report.failed:
        text = result.error or ""
        assert "refused the token" in text
        assert SUBSCRIPTION not in text and "not-the-token" not in text


def test_options_are_checked(fake_azure: FakeAzure, tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    with pytest.raises(UsageError, match="unknown source"):
        collect_azure(store, options(fake_azure, sources=frozenset({"bands"})))
    with pytest.raises(UsageError, match="billing needs a scope"):
        collect_azure(store, options(fake_azure, billing_scope=None))
    with pytest.raises(UsageError, match="not a month"):
        collect_azure(store, options(fake_azure, billing_month="2023-13"))
    with pytest.raises(UsageError, match="not an https"):
        collect_azure(store, options(fake_azure, management_endpoint="http://example.com"))
    with pytest.raises(UsageError, match="not a valid Azure VM size"):
        collect_azure(store, options(fake_azure, sizes=("Standard_NC6') or (1==1",)))
    assert fake_azure.requests == []


def test_production_endpoints_stay_https_only() -> None:
    assert plain_http_allowed("https://management.azure.com", "x") is False
    assert plain_http_allowed("http://127.0.0.1:8080", "x") is True
    assert plain_http_allowed("http://localhost:1", "x") is True
    for url in ("http://management.azure.com", "http://10.0.0.1", "ftp://127.0.0.1"):
        with pytest.raises(UsageError):
            plain_http_allowed(url, "x")


def test_defaults() -> None:
    opts = AzureOptions(now=datetime(2025, 3, 15, tzinfo=UTC))
    assert "eastus" in opts.regions and opts.sources == {"prices", "evictions", "spot-history"}
    assert "Standard_NC24ads_A100_v4" in opts.sizes and "Standard_ND96isr_H100_v5" in opts.sizes
    assert all(s.startswith(("Standard_NC", "Standard_ND", "Standard_NV")) for s in opts.sizes)
    assert billing_period(opts) == (
        datetime(2025, 2, 1).date(),
        datetime(2025, 2, 28).date(),
    )
    assert "secret" not in repr(AzureOptions(credential=FakeCredential("secret")))


def test_next_page_on_another_host_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import urllib.request

    def answer(self: object, request: object, timeout: float = 0) -> io.BytesIO:
        return io.BytesIO(b'{"Items": [], "NextPageLink": "https://elsewhere.example/next"}')

    monkeypatch.setattr(urllib.request.OpenerDirector, "open", answer)
    with pytest.raises(DataError, match="another host"):
        get_retail_prices(
            "https://prices.azure.com/api/retail/prices", filter="x eq 'y'", timeout_s=1
        )


def test_classify_scrubs_ids_and_tokens() -> None:
    error = RuntimeError(
        f"failed for /subscriptions/{SUBSCRIPTION} tenant 72f988bf-86f1-41af-91ab-2d7cd011db47 "
        "with Authorization: Bearer eyJ0eXAiOiJKV1QiLCJhbGciOi.abc-def_123"
    )
    text = _classify(error)
    assert not GUID.search(text) and "eyJ0eXAi" not in text and "<id>" in text


# -- parse_* on tiny inputs ------------------------------------------------------------------


def _item(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "armRegionName": "eastus",
        "armSkuName": "Standard_NC6s_v3",
        "skuName": "NC6s v3",
        "meterName": "NC6s v3",
        "productName": "Virtual Machines NCSv3 Series",
        "retailPrice": 3.06,
        "unitOfMeasure": "1 Hour",
        "type": "Consumption",
        "currencyCode": "USD",
        "isPrimaryMeterRegion": True,
        "effectiveStartDate": "2024-01-01T00:00:00Z",
    }
    return {**base, **fields}


def test_parse_retail_prices_markets_units_and_filters() -> None:
    items = [
        _item(),  # Linux on demand: 3.06
        _item(skuName="NC6s v3 Spot", meterName="NC6s v3 Spot", retailPrice=0.306),  # spot
        _item(productName="Virtual Machines NCSv3 Series Windows", retailPrice=3.5),  # dropped
        _item(skuName="NC6s v3 Low Priority", meterName="NC6s v3 Low Priority", retailPrice=0.6),
        _item(type="DevTestConsumption", retailPrice=1.0),  # dropped
        _item(currencyCode="EUR", retailPrice=2.8),  # dropped
        _item(unitOfMeasure="1/Month", retailPrice=100.0),  # dropped: not hourly
        # a "10 Hours" unit is divided down to one hour: 4.0 / 10
        _item(
            armSkuName="Standard_NC12s_v3",
            skuName="NC12s v3",
            retailPrice=4.0,
            unitOfMeasure="10 Hours",
        ),
        # a non-primary meter region loses to the primary one
        _item(armRegionName="westus", retailPrice=9.99, isPrimaryMeterRegion=False),
        _item(armRegionName="westus", retailPrice=3.2),
    ]
    notes: list[str] = []
    frame = ap.parse_retail_prices(items, notes=notes).set_index(["region", "instance_type"])
    assert frame.loc[("eastus", "Standard_NC6s_v3"), "price_on_demand_usd_per_hour"] == 3.06
    assert frame.loc[("eastus", "Standard_NC6s_v3"), "price_spot_usd_per_hour"] == 0.306
    assert frame.loc[("eastus", "Standard_NC12s_v3"), "price_on_demand_usd_per_hour"] == 0.4
    assert math.isnan(frame.loc[("eastus", "Standard_NC12s_v3"), "price_spot_usd_per_hour"])
    assert frame.loc[("westus", "Standard_NC6s_v3"), "price_on_demand_usd_per_hour"] == 3.2
    [note] = notes
    for what in (
        "1 Windows",
        "1 Low Priority",
        "'DevTestConsumption'",
        "currency EUR",
        "'1/Month'",
    ):
        assert what in note


def test_assemble_offers_flags_and_skips() -> None:
    prices = pd.DataFrame(
        [
            # spot filled in with the on-demand price: unknown spot, flagged
            ("eastus", "Standard_NC40ads_H100_v5", 6.98, 6.98),
            ("eastus", "Standard_NP10s", 1.65, 0.33),  # FPGA: skipped
            ("eastus", "Standard_NC6s_v3", 0.0, 0.3),  # 0.0 is unknown, never free
            ("eastus", "Standard_NX99_v9", 1.0, math.nan),  # not in the reference
        ],
        columns=ap.PRICE_COLUMNS,
    )
    frame, notes = ap.assemble_offers(prices, source="t", as_of=DEFAULT_NOW)
    rows = frame.set_index("instance_type")
    assert "Standard_NP10s" not in rows.index and any("FPGA" in n for n in notes)
    h100 = rows.loc["Standard_NC40ads_H100_v5"]
    assert pd.isna(h100.price_spot_usd_per_hour) and "spot_price_filler" in h100.quality_flags
    assert h100.gpu_count == 1 and h100.gpu_model == "H100"
    v100 = rows.loc["Standard_NC6s_v3"]
    assert pd.isna(v100.price_on_demand_usd_per_hour) and "price_zero" in v100.quality_flags
    unknown = rows.loc["Standard_NX99_v9"]
    assert pd.isna(unknown.gpu_model) and unknown.quality_flags == "spot_price_missing;gpu_unknown"


@pytest.mark.parametrize(
    ("label", "band"),
    [
        ("0-5", "0-5%"),
        ("5 - 10", "5-10%"),  # spaces
        ("10-15%", "10-15%"),  # a percent sign
        ("20+", ">20%"),  # Azure's open top band
        ("20 +", ">20%"),
        ("n/a", None),  # not a band: skipped
        ("", None),
    ],
)
def test_parse_eviction_rates_is_lenient(label: str, band: str | None) -> None:
    rows = [{"skuName": "standard_nc24ads_a100_v4", "location": "EastUS", "evictionRate": label}]
    known = ap.size_lookup(["Standard_NC24ads_A100_v4"])
    frame, notes = agp.parse_eviction_rates(rows, known_sizes=known, as_of=DEFAULT_NOW)
    if band is None:
        assert frame.empty and "not bands" in notes[0]
        return
    [row] = frame.itertuples()
    assert (row.instance_type, row.region, row.interruption_band) == (
        "Standard_NC24ads_A100_v4",
        "eastus",
        band,
    )
    assert row.source == "azure-resource-graph:eviction-rate" and row.os == "Linux"


def test_parse_eviction_rates_reads_unprojected_rows() -> None:
    rows = [
        {
            "sku": {"name": "STANDARD_NC6S_V3"},
            "location": "eastus",
            "properties": {"evictionRate": "15-20"},
        }
    ]
    frame, _ = agp.parse_eviction_rates(
        rows, known_sizes=ap.size_lookup(["Standard_NC6s_v3"]), as_of=DEFAULT_NOW
    )
    assert frame["instance_type"].tolist() == ["Standard_NC6s_v3"]
    assert frame["interruption_band_upper_pct"].tolist() == [20.0]


def test_parse_spot_price_history_keeps_linux_prices() -> None:
    rows = [
        {
            "skuName": "standard_nc6s_v3",
            "osType": "Linux",
            "location": "eastus",
            "spotPrices": [
                {"priceUSD": 0.60313, "effectiveDate": "2025-06-03T00:00:00Z"},
                {"priceUSD": 0.55, "effectiveDate": "2025-06-01T00:00:00Z"},
                {"priceUSD": "n/a", "effectiveDate": "2025-05-01T00:00:00Z"},  # skipped
                {"priceUSD": 0.5},  # no date: skipped
            ],
        },
        {
            "skuName": "standard_nc6s_v3",
            "osType": "Windows",
            "location": "eastus",
            "spotPrices": [],
        },
    ]
    frame, notes = agp.parse_spot_price_history(
        rows, known_sizes=ap.size_lookup(["Standard_NC6s_v3"]), as_of=DEFAULT_NOW
    )
    assert frame.sort_values("timestamp")["price_usd_per_hour"].tolist() == [0.55, 0.60313]
    assert (frame["product"] == "Linux").all() and frame["zone"].isna().all()
    assert any("Windows" in n for n in notes) and any("2 spot price" in n for n in notes)


def test_retail_filter_and_queries() -> None:
    sizes = ("Standard_NC6s_v3", "Standard_ND96asr_v4")
    text = ap.retail_filter("eastus", sizes)
    assert text.endswith("contains(armSkuName, 'Standard_N')")
    assert "armRegionName eq 'eastus'" in text and "priceType eq 'Consumption'" in text
    other = ap.retail_filter("eastus", ("Standard_D2s_v3", "Standard_NC6s_v3"))
    assert "(armSkuName eq 'Standard_D2s_v3' or armSkuName eq 'Standard_NC6s_v3')" in other
    query = agp.eviction_rate_query(sizes, ["eastus"])
    assert (
        "'standard_nc6s_v3', 'standard_nd96asr_v4'" in query and "location in~ ('eastus')" in query
    )
    assert "properties.osType =~ 'linux'" in agp.spot_price_history_query(sizes, ["eastus"])


def test_canonical_size_spelling() -> None:
    known = ap.size_lookup(["Standard_NC24ads_A100_v4"])
    assert ap.canonical_size("standard_nc24ads_a100_v4", known) == "Standard_NC24ads_A100_v4"
    assert ap.canonical_size("standard_D2s_v3", known) == "Standard_D2s_v3"  # prefix only
    assert ap.azure_region("East US 2") == "eastus2" and ap.azure_region("EastUS2") == "eastus2"


def test_usage_details_rows_flatten_legacy_and_modern() -> None:
    items = [
        {  # legacy (EA): meter details nested, cost / billingCurrency
            "kind": "legacy",
            "tags": {"team": "ml"},
            "properties": {
                "date": "2023-09-04T00:00:00.0000000Z",
                "cost": 2.64,
                "billingCurrency": "USD",
                "pricingModel": "OnDemand",
                "meterDetails": {"meterName": "D2 v3/D2s v3", "meterCategory": "Virtual Machines"},
                "additionalInfo": '{"ServiceType":"Standard_D2s_v3"}',
            },
        },
        {  # modern (MCA): costInBillingCurrency, instanceName, subscriptionGuid
            "kind": "modern",
            "tags": None,
            "properties": {
                "date": "2023-09-02T00:00:00.0000000Z",
                "costInBillingCurrency": 0.035351812,
                "billingCurrencyCode": "CAD",
                "pricingModel": "Spot",
                "meterName": "DS4 v2 Spot",
                "meterCategory": "Virtual Machines",
                "instanceName": "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm",
                "subscriptionGuid": "x",
                "quantity": 0.433342,
            },
        },
    ]
    raw = aup.usage_details_rows(items)
    from spotadvisor.importers.billing.azure import parse_azure_cost_details

    frame, _ = parse_azure_cost_details(
        raw, source="t", as_of=DEFAULT_NOW, origin="api", metric="actualcost"
    )
    legacy, modern = frame.iloc[0], frame.iloc[1]
    assert legacy.billed_cost == 2.64 and legacy.instance_type == "Standard_D2s_v3"
    assert legacy.tags == '{"team": "ml"}' and not legacy.is_spot
    assert modern.is_spot and modern.billing_currency == "CAD"
    assert modern.instance_type == "Standard_DS4_v2" and modern.resource_id.endswith("/vm")
    assert modern.sub_account_id == "x" and pd.isna(modern.tags)
    with pytest.raises(DataError):
        aup.usage_details_rows([{"kind": "legacy"}])


def test_cli_collect_azure_prices_then_offers_use_them(
    fake_azure: FakeAzure, tmp_path: Path
) -> None:
    """Retail Prices need no credentials, so the command line runs against the fake as is."""
    import json

    from typer.testing import CliRunner

    from spotadvisor.cli import app

    db = tmp_path / "cli.duckdb"
    runner = CliRunner()
    dry = runner.invoke(
        app,
        [
            "--db",
            str(db),
            "collect",
            "azure",
            "--dry-run",
            "--sources",
            "prices",
            "--regions",
            "eastus",
        ],
    )
    assert dry.exit_code == 0 and "would call" in dry.stderr and not db.exists()
    done = runner.invoke(
        app,
        [
            "--db",
            str(db),
            "collect",
            "azure",
            "--sources",
            "prices",
            "--regions",
            "eastus,westus2",
            "--retail-prices-url",
            fake_azure.retail_url,
            "--format",
            "json",
        ],
    )
    assert done.exit_code == 0, done.stderr
    assert all(t["error"] is None for t in json.loads(done.stdout)["tasks"])
    offers = json.loads(
        runner.invoke(
            app,
            ["--db", str(db), "offers", "--cloud", "azure", "--gpu", "A100", "--format", "json"],
        ).stdout
    )
    fresh = [o for o in offers["offers"] if o["region"] in ("eastus", "westus2")]
    assert fresh and {o["source"] for o in fresh} == {"azure-retail-prices"}
    assert any(o["price_spot_usd_per_hour"] for o in fresh)
