"""Azure cost-details exports (EA/MCA, actual and amortised) -> the billing table."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from spotadvisor.cli import app
from spotadvisor.errors import UsageError
from spotadvisor.importers.base import ImportBatch, read_text
from spotadvisor.importers.billing import common
from spotadvisor.importers.billing.azure import (
    parse_azure_cost_details,
    read_azure_cost_details,
    sniff_azure_cost_details,
)
from spotadvisor.importers.billing.azure_views import view_of
from spotadvisor.importers.billing.common import RawRows
from spotadvisor.importers.billing.cur import sniff_cur
from spotadvisor.importers.billing.focus import sniff_focus
from spotadvisor.importers.registry import FORMATS, detect_format, parse_files
from spotadvisor.ingest import import_files
from spotadvisor.schema import BILLING
from spotadvisor.store import Store

SAMPLES = Path("billing/azure-cost-details")
EA_ACTUAL = SAMPLES / "EA_ActualCost_Small_finops-toolkit.csv"
EA_AMORTIZED = SAMPLES / "EA_AmortizedCost_Small_finops-toolkit.csv"
EA_FOCUS_CONVERTERS = SAMPLES / "ea-export_sample-anonymous_2023-09_focus_converters.csv"
FOCUS_SUBSET = (
    Path(__file__).resolve().parents[1]
    / "fixtures"
    / "billing"
    / ("focus-1.0_focus_sample_subset.csv")
)
CUR_SUBSET = (
    Path(__file__).resolve().parents[1]
    / "fixtures"
    / "billing"
    / ("cur-legacy_sample-anonymous_subset_2023-11.csv")
)

# A tiny EA-style export: the header names the modern cost columns; values as Azure
# writes them (M/D/YYYY dates, tags without braces).
HEADER = (
    "Date,MeterCategory,MeterId,MeterName,Quantity,CostInBillingCurrency,PayGPrice,"
    "BillingCurrencyCode,PricingModel,ChargeType,ResourceLocation,ResourceId,Tags,"
    "AdditionalInfo,SubscriptionId,UnitOfMeasure"
)


def rows(lines: list[str], *, metric: str | None = None, origin: str = "costs.csv") -> pd.DataFrame:
    frame = pd.read_csv(io.StringIO("\n".join([HEADER, *lines])), dtype=str, keep_default_na=False)
    raw = RawRows(common._as_text(frame), "csv")
    out, _ = parse_azure_cost_details(
        raw,
        source="t",
        as_of=None,
        origin=origin,
        metric=metric,  # type: ignore[arg-type]
    )
    return out


def one(batches: list[ImportBatch]) -> ImportBatch:
    assert len(batches) == 1
    return batches[0]


# --- the real samples -----------------------------------------------------------------------


def test_ea_actual_cost_sample(shared_data: Path) -> None:
    batch = one(read_azure_cost_details([shared_data / EA_ACTUAL], None, None))
    frame = batch.frame
    assert len(frame) == 11 and (frame["provider"] == "azure").all()
    assert set(frame["billing_currency"]) == {"USD"} and not frame["is_spot"].any()
    assert set(frame["pricing_category"]) == {"Standard", "Committed"}
    purchase = frame[frame["charge_category"] == "Purchase"].iloc[0]
    # the reservation purchase is billed now and amortised into usage later
    assert purchase.billed_cost == 3.25 and purchase.effective_cost == 0.0
    assert pd.isna(purchase.list_cost)  # PayGPrice 0 on a line that cost 3.25
    d2 = frame[frame["usage_type"] == "D2 v3/D2s v3"].iloc[0]
    assert d2.instance_type == "Standard_D2s_v3"  # from AdditionalInfo.ServiceType
    assert d2.region_id == "southcentralus" and d2.billed_cost == 2.64
    assert frame["charge_period_start"].min() == pd.Timestamp("2023-09-04", tz="UTC")
    assert (
        (frame["charge_period_end"] - frame["charge_period_start"]) == pd.Timedelta(days=1)
    ).all()
    tags = frame["tags"].dropna()
    assert (
        tags.str.startswith("{").all()
        and '"org": "trey"' in tags.iloc[1] + tags.iloc[2] + tags.iloc[3]
    )
    assert any("actual cost (from the file name)" in n for n in batch.notes)


def test_ea_amortised_cost_sample(shared_data: Path) -> None:
    batch = one(read_azure_cost_details([shared_data / EA_AMORTIZED], None, None))
    frame = batch.frame
    assert len(frame) == 28 and set(frame["billing_currency"]) == {"USD"}
    committed = frame[frame["pricing_category"] == "Committed"]
    assert len(committed) == 2  # one reservation, one savings plan line
    assert (committed["billed_cost"] == 0).all() and (committed["effective_cost"] > 0).all()
    assert set(committed["instance_type"]) == {"Standard_DS2_v2", "Standard_B2s"}
    assert any("amortised cost (from the file name)" in n for n in batch.notes)


def test_focus_converters_ea_export_has_three_spot_lines_in_cad(shared_data: Path) -> None:
    batch = one(read_azure_cost_details([shared_data / EA_FOCUS_CONVERTERS], None, None))
    frame = batch.frame
    assert len(frame) == 27 and set(frame["billing_currency"]) == {"CAD"}  # kept as written
    spot = frame[frame["is_spot"].astype(bool)]
    assert len(spot) == 3 and set(spot["pricing_category"]) == {"Dynamic"}
    assert sorted(spot["usage_type"]) == ["DS4 v2 Spot", "L4s Spot", "L4s Spot"]
    assert sorted(spot["instance_type"]) == ["Standard_DS4_v2", "Standard_L4s", "Standard_L4s"]
    assert spot["billed_cost"].sum() == pytest.approx(0.035351812 + 0.006793634 + 0.006114271)
    assert set(frame["region_id"]) == {"centralus", "westus2", "westus", "eastus2"}
    assert frame["tags"].eq('{"tagA": "valueA", "tagB": "valueB", "tagC": "valueC"}').all()
    assert any("3 spot lines" in n for n in batch.notes)


def test_real_samples_are_detected_and_reimport_adds_nothing(
    shared_data: Path, tmp_path: Path
) -> None:
    paths = [shared_data / p for p in (EA_ACTUAL, EA_AMORTIZED, EA_FOCUS_CONVERTERS)]
    assert {detect_format(p).name for p in paths} == {"azure-cost-details"}
    store = Store(tmp_path / "billing.duckdb")
    first = store.write(parse_files(paths))
    assert [r.inserted for r in first] == [11, 28, 27]
    again = store.write(parse_files(paths))
    assert [r.inserted for r in again] == [0, 0, 0] and [r.unchanged for r in again] == [11, 28, 27]
    assert len(store.read(BILLING)) == 66


def test_parquet_copy_gives_the_same_rows(shared_data: Path, tmp_path: Path) -> None:
    source = shared_data / EA_FOCUS_CONVERTERS
    parquet = tmp_path / "ea-export_2023-09.parquet"
    con = duckdb.connect()
    con.execute(
        "COPY (SELECT * FROM read_csv(?, all_varchar=true)) TO ? (FORMAT parquet)",
        [str(source), str(parquet)],
    )
    con.close()
    assert detect_format(parquet).name == "azure-cost-details"
    from_csv = one(read_azure_cost_details([source], None, "s")).frame
    from_parquet = one(read_azure_cost_details([parquet], None, "s")).frame
    pd.testing.assert_frame_equal(from_csv, from_parquet)


def test_sniffers_stay_unambiguous(shared_data: Path) -> None:
    azure_head = read_text(shared_data / EA_ACTUAL)[:65536]
    assert sniff_azure_cost_details(azure_head)
    assert not sniff_focus(azure_head) and not sniff_cur(azure_head)
    others = [f for f in FORMATS.values() if f.name != "azure-cost-details"]
    assert not [f.name for f in others if f.sniff(azure_head)]
    for path in (FOCUS_SUBSET, CUR_SUBSET):
        assert not sniff_azure_cost_details(read_text(path)[:65536])


# --- the mapping, on tiny inputs ------------------------------------------------------------


def test_bom_and_camel_case_headers_are_read(tmp_path: Path) -> None:
    path = tmp_path / "mca.csv"
    text = (
        "date,meterCategory,meterId,meterName,quantity,costInBillingCurrency,billingCurrencyCode,"
        "pricingModel\n2023-09-02,Virtual Machines,m-1,NC6s v3 Spot,2,0.6,EUR,Spot\n"
    )
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert detect_format(path).name == "azure-cost-details"
    frame = one(parse_files([path])).frame
    row = frame.iloc[0]
    assert row.is_spot and row.instance_type == "Standard_NC6s_v3" and row.billing_currency == "EUR"
    assert row.charge_period_start == pd.Timestamp("2023-09-02", tz="UTC")


def test_tags_with_and_without_braces() -> None:
    frame = rows(
        [
            # EA: the object's members without braces
            '9/2/2023,Storage,m,Hot LRS,1,0.1,0.1,USD,OnDemand,Usage,EastUS,/r,"""env"": ""prod"",""team"": ""ml""",,s,1 GB',
            # a braced JSON object
            '9/2/2023,Storage,m,Hot LRS,1,0.2,0.1,USD,OnDemand,Usage,EastUS,/r,"{""team"": ""ml""}",,s,1 GB',
            "9/2/2023,Storage,m,Hot LRS,1,0.3,0.1,USD,OnDemand,Usage,EastUS,/r,,,s,1 GB",  # none
        ]
    )
    assert frame["tags"].tolist()[:2] == ['{"env": "prod", "team": "ml"}', '{"team": "ml"}']
    assert pd.isna(frame["tags"].iloc[2])


def test_bad_tags_name_the_line() -> None:
    with pytest.raises(UsageError, match="line 2"):
        rows(
            [
                '9/2/2023,Storage,m,Hot LRS,1,0.1,0.1,USD,OnDemand,Usage,EastUS,/r,"not: tags",,s,1 GB'
            ]
        )


def test_dates_month_first_day_first_and_iso() -> None:
    line = "{},Storage,m,Hot,1,0.1,0.1,USD,OnDemand,Usage,EastUS,/r,,,s,1 GB"
    month_first = rows([line.format("09/21/2023"), line.format("9/2/2023")])
    assert month_first["charge_period_start"].dt.day.tolist() == [21, 2]
    day_first = rows([line.format("21/09/2023"), line.format("02/09/2023")])
    assert day_first["charge_period_start"].dt.month.tolist() == [9, 9]
    iso = rows([line.format("2023-09-02T00:00:00.0000000Z")])
    assert iso["charge_period_start"].iloc[0] == pd.Timestamp("2023-09-02", tz="UTC")
    with pytest.raises(UsageError, match="not a time"):
        rows([line.format("yesterday")])


@pytest.mark.parametrize(
    ("model", "meter", "category", "spot"),
    [
        ("Spot", "NC6s v3 Spot", "Dynamic", True),
        ("OnDemand", "NC6s v3", "Standard", False),
        ("On Demand", "NC6s v3", "Standard", False),  # the legacy API's spelling
        ("Reservation", "NC6s v3", "Committed", False),
        ("SavingsPlan", "NC6s v3", "Committed", False),
        ("", "NC6s v3 Spot", None, True),  # no pricing model: the meter name decides
        ("", "NC6s v3", None, False),
        ("Promotional", "NC6s v3", "Other", False),  # unknown model: Other
    ],
)
def test_pricing_model_gives_category_and_spot(
    model: str, meter: str, category: str | None, spot: bool
) -> None:
    frame = rows(
        [f"9/2/2023,Virtual Machines,m,{meter},1,0.5,0.5,USD,{model},Usage,EastUS,/r,,,s,1 Hour"]
    )
    row = frame.iloc[0]
    assert (None if pd.isna(row.pricing_category) else row.pricing_category) == category
    assert bool(row.is_spot) is spot and row.instance_type == "Standard_NC6s_v3"


def test_actual_and_amortised_costs() -> None:
    lines = [
        # a reservation purchase, reservation-covered usage, an on-demand line
        "9/1/2023,Virtual Machines,m,B1s,1,3.25,0,USD,Reservation,Purchase,uksouth,/r,,,s,1 Hour",
        "9/2/2023,Virtual Machines,m,B1s,24,0.8,0.0104,USD,Reservation,Usage,uksouth,/r,,,s,1 Hour",
        "9/2/2023,Virtual Machines,m,B2s,24,1.0,0.0416,USD,OnDemand,Usage,uksouth,/r,,,s,1 Hour",
        "9/2/2023,Virtual Machines,m,B1s,1,0.1,0.0104,USD,Reservation,UnusedReservation,uksouth,/r,,,s,1 Hour",
    ]
    actual = rows(lines, metric="actualcost")
    assert actual["billed_cost"].tolist() == [3.25, 0.8, 1.0, 0.1]
    effective = actual["effective_cost"].tolist()
    assert effective[0] == 0.0 and math.isnan(effective[1]) and effective[2] == 1.0
    amortised = rows(lines, metric="amortizedcost")
    assert amortised["billed_cost"].tolist() == [3.25, 0.0, 1.0, 0.0]
    assert amortised["effective_cost"].tolist() == [3.25, 0.8, 1.0, 0.1]
    assert amortised["charge_category"].tolist() == ["Purchase", "Usage", "Usage", "Usage"]
    # without a metric or a telling file name, commitment usage with a cost means amortised
    guessed = rows(lines)
    assert guessed["billed_cost"].tolist() == [3.25, 0.0, 1.0, 0.0]
    assert actual["list_cost"].tolist()[1:3] == pytest.approx([24 * 0.0104, 24 * 0.0416])


def test_missing_cost_or_date_is_an_error() -> None:
    frame = pd.DataFrame({"Date": ["9/2/2023"], "MeterCategory": ["Storage"], "MeterId": ["m"]})
    with pytest.raises(UsageError, match="no CostInBillingCurrency or Cost or PreTaxCost column"):
        parse_azure_cost_details(
            RawRows(common._as_text(frame), "csv"), source="t", as_of=None, origin="x.csv"
        )
    with pytest.raises(UsageError, match="line 2 has no CostInBillingCurrency"):
        rows(["9/2/2023,Storage,m,Hot,1,,0.1,USD,OnDemand,Usage,EastUS,/r,,,s,1 GB"])


# --- one view (actual or amortised cost) per subscription and month -------------------------

runner = CliRunner()


def _import(db: Path, *paths: Path) -> tuple[int, str]:
    result = runner.invoke(app, ["--db", str(db), "data", "import", *map(str, paths)])
    return result.exit_code, result.stderr


def _stored(db: Path) -> pd.DataFrame:
    frame = Store(db).read(BILLING)
    return frame.sort_values(["source", "row_key"], ignore_index=True)


def test_both_views_in_one_import_keep_the_amortised(shared_data: Path, tmp_path: Path) -> None:
    db = tmp_path / "store.duckdb"
    code, err = _import(db, shared_data / SAMPLES)
    assert code == 0, err
    assert (
        "EA_ActualCost_Small_finops-toolkit.csv: skipped: the amortised export "
        "EA_AmortizedCost_Small_finops-toolkit.csv covers its subscriptions and months" in err
    )
    stored = _stored(db)
    assert set(stored["source"]) == {
        "azure-cost-details:EA_AmortizedCost_Small_finops-toolkit.csv",
        "azure-cost-details:ea-export_sample-anonymous_2023-09_focus_converters.csv",
    }
    assert len(stored) == 28 + 27
    # importing the folder again is an ordinary re-import: same skip, nothing added
    code, err = _import(db, shared_data / SAMPLES)
    assert code == 0 and "skipped" in err
    pd.testing.assert_frame_equal(_stored(db), stored)


@pytest.mark.parametrize(
    ("first", "second", "stored_view"),
    [(EA_ACTUAL, EA_AMORTIZED, "actual cost"), (EA_AMORTIZED, EA_ACTUAL, "amortised cost")],
)
def test_the_other_view_into_a_store_is_refused(
    shared_data: Path, tmp_path: Path, first: Path, second: Path, stored_view: str
) -> None:
    db = tmp_path / "store.duckdb"
    assert _import(db, shared_data / first)[0] == 0
    before, log = _stored(db), len(Store(db).ingest_log())
    code, err = _import(db, shared_data / second)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"error: {shared_data / second}: SubscriptionId: ")
    assert f"the {stored_view} the store holds from azure-cost-details:{first.name}" in lines[0]
    assert "4 subscription(s) of 2023-09" in lines[0] and "new store (--db" in lines[0]
    pd.testing.assert_frame_equal(_stored(db), before)
    assert len(Store(db).ingest_log()) == log


def test_reimporting_one_view_is_an_upsert(shared_data: Path, tmp_path: Path) -> None:
    db = tmp_path / "store.duckdb"
    store = Store(db)
    assert [r.inserted for r in import_files(store, [shared_data / EA_ACTUAL]).results] == [11]
    again = import_files(store, [shared_data / EA_ACTUAL])
    assert [(r.inserted, r.unchanged) for r in again.results] == [(0, 11)]
    assert len(store.read(BILLING)) == 11


def test_report_on_the_real_samples_counts_azure_usage_once(
    shared_data: Path, tmp_path: Path
) -> None:
    db = tmp_path / "store.duckdb"
    assert _import(db, shared_data / SAMPLES)[0] == 0
    result = runner.invoke(
        app,
        ["--db", str(db), "report", "--month", "2023-09", "--scope", "all", "-f", "json"],
    )
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    # The amortised export's costs, summed straight from the file (USD; the third sample
    # is in CAD and is left out of a USD report).
    amortised = pd.read_csv(shared_data / EA_AMORTIZED, encoding="utf-8-sig")
    expected = float(amortised["Cost"].sum())
    assert expected == pytest.approx(16.2969, abs=1e-4)
    assert doc["headline"]["cost"] == pytest.approx(expected, rel=1e-9)
    clouds = {row["key"]: row["cost"] for row in doc["tables"]["by_cloud"]}
    assert clouds["azure"] == pytest.approx(expected, rel=1e-9)


def _export(folder: Path, name: str, subscriptions: list[str], day: str = "9/2/2023") -> Path:
    lines = [
        f"{day},Storage,m-{i},Hot LRS,1,0.5,0.5,USD,OnDemand,Usage,EastUS,/r/{i},,,{sub},1 GB"
        for i, sub in enumerate(subscriptions)
    ]
    path = folder / name
    path.write_text("\n".join([HEADER, *lines]) + "\n")
    return path


def test_an_actual_export_partly_covered_by_an_amortised_one_is_refused(tmp_path: Path) -> None:
    actual = _export(tmp_path, "ActualCost.csv", ["sub-a", "sub-b"])
    amortised = _export(tmp_path, "AmortizedCost.csv", ["SUB-A"])  # GUIDs ignore case
    store = Store(tmp_path / "store.duckdb")
    with pytest.raises(
        UsageError, match=r"overlaps the amortised export AmortizedCost\.csv"
    ) as exc:
        import_files(store, [actual, amortised])
    assert "1 subscription(s) of 2023-09 but not in 1 subscription(s) of 2023-09" in str(exc.value)
    assert not store.exists()


def test_views_of_other_subscriptions_or_months_are_both_kept(tmp_path: Path) -> None:
    store = Store(tmp_path / "store.duckdb")
    actual = _export(tmp_path, "ActualCost.csv", ["sub-a"])
    august = _export(tmp_path, "AmortizedCost-aug.csv", ["sub-a"], day="8/30/2023")
    other = _export(tmp_path, "AmortizedCost-b.csv", ["sub-b"])
    report = import_files(store, [actual, august])
    assert len(report.results) == 2 and not any("skipped" in n for n in report.notes)
    assert len(import_files(store, [other]).results) == 1
    assert len(store.read(BILLING)) == 3


def test_view_of_reads_the_metric_note() -> None:
    assert view_of(["x.csv: as_of 2023-09-22", "x.csv: amortised cost (from the file name)"]) == (
        "amortizedcost"
    )
    assert view_of(["a\nazure usage details: actual cost (actualcost, given)"]) == "actualcost"
    assert (
        view_of(["x.csv: 2 commitment usage lines have no effective cost in actual-cost"]) is None
    )
