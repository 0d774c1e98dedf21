"""AWS spot price history in three shapes: zones, prices, times, duplicates, as_of, sniffing."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from spotadvisor.errors import UsageError
from spotadvisor.importers.base import ImportBatch, read_text
from spotadvisor.importers.spot_advisor import sniff_spot_advisor
from spotadvisor.importers.spot_price_history import (
    SPOT_PRICE_CSV,
    SPOT_PRICE_JSON,
    SPOT_PRICE_TSV,
    parse_spot_price_records,
    read_spot_price_csv,
    read_spot_price_json,
    read_spot_price_tsv,
    sniff_spot_price_csv,
    sniff_spot_price_json,
    sniff_spot_price_tsv,
)
from spotadvisor.schema import SPOT_PRICE_HISTORY

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "spot_price_history"
JSON_SAMPLE = FIXTURES / "describe-spot-price-history_us-east-1_p3.2xlarge_sample.json"
CSV_SAMPLE = FIXTURES / "spot-price-history_p2_p3_sample.csv"
TSV_SAMPLE = FIXTURES / "spot-price-history_azid_sample.tsv"
SNIFF_BYTES = 64 * 1024
HEADER = "Region,AvailabilityZone,InstanceType,ProductDescription,SpotPrice,Timestamp"

Reader = Callable[[Sequence[Path], datetime | None, str | None], list[ImportBatch]]
SNIFFS = {
    "aws-spot-advisor": sniff_spot_advisor,
    "aws-spot-price-json": sniff_spot_price_json,
    "aws-spot-price-csv": sniff_spot_price_csv,
    "aws-spot-price-tsv": sniff_spot_price_tsv,
}


def rec(**fields: Any) -> dict[str, Any]:
    """One API record (a real us-east-1b p3.2xlarge event) with ``fields`` replaced."""
    record: dict[str, Any] = {
        "AvailabilityZone": "us-east-1b",
        "InstanceType": "p3.2xlarge",
        "ProductDescription": "Linux/UNIX",
        "SpotPrice": "1.067100",
        "Timestamp": "2020-02-20T22:06:16.000Z",
    }
    record.update(fields)
    return {k: v for k, v in record.items() if v is not ...}  # ... deletes a field


def parse(
    records: list[dict[str, Any]], as_of: datetime | None = None
) -> tuple[pd.DataFrame, list[str]]:
    return parse_spot_price_records(records, source="test", as_of=as_of, origin="prices.json")


def error_of(records: list[dict[str, Any]]) -> UsageError:
    with pytest.raises(UsageError) as info:
        parse(records)
    return info.value


# --- zones and regions ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "zone_id", "region", "out_zone", "out_zone_id"),
    [
        ("us-east-1a", ..., "us-east-1", "us-east-1a", None),  # name only (old dumps)
        (..., "use1-az4", "us-east-1", None, "use1-az4"),  # ID only
        ("us-east-1a", "use1-az6", "us-east-1", "us-east-1a", "use1-az6"),  # both, as boto3 gives
        ("use1-az4", ..., "us-east-1", None, "use1-az4"),  # an ID in the name field
        ("us-west-2-lax-1a", ..., "us-west-2", "us-west-2-lax-1a", None),  # Local Zone name
        (..., "usw2-lax1-az1", "us-west-2", None, "usw2-lax1-az1"),  # Local Zone ID
        (..., "use1-atl2-az1", "us-east-1", None, "use1-atl2-az1"),  # Atlanta Local Zone
        ("us-gov-west-1a", ..., "us-gov-west-1", "us-gov-west-1a", None),  # GovCloud name
        (..., "usgw1-az1", "us-gov-west-1", None, "usgw1-az1"),  # GovCloud ID
        (..., "apse6-az1", "ap-southeast-6", None, "apse6-az1"),  # New Zealand (2025)
        (..., "ape2-az1", "ap-east-2", None, "ape2-az1"),  # Taipei (2025)
    ],
)
def test_zone_name_or_id_and_region(
    zone: Any, zone_id: Any, region: str, out_zone: str | None, out_zone_id: str | None
) -> None:
    frame, _ = parse([rec(AvailabilityZone=zone, AvailabilityZoneId=zone_id)])
    row = frame.iloc[0]
    assert row["region"] == region
    assert (None if pd.isna(row["zone"]) else row["zone"]) == out_zone
    assert (None if pd.isna(row["zone_id"]) else row["zone_id"]) == out_zone_id


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"AvailabilityZone": "useast1a"}, "AvailabilityZone", "not an AWS zone name"),
        ({"AvailabilityZone": "us-east-1"}, "AvailabilityZone", "not an AWS zone name"),  # region
        ({"AvailabilityZone": "zzz9-az1"}, "AvailabilityZoneId", "unknown prefix 'zzz9'"),
        (  # name and ID in different regions
            {"AvailabilityZone": "us-east-1a", "AvailabilityZoneId": "usw2-az1"},
            "AvailabilityZoneId",
            "is in us-west-2, not in us-east-1",
        ),
        (  # an ID in the name field that contradicts the ID field
            {"AvailabilityZone": "use1-az4", "AvailabilityZoneId": "use1-az6"},
            "AvailabilityZone",
            "is a zone ID but",
        ),
        (  # a stated Region that the zone contradicts
            {"Region": "us-west-2"},
            "AvailabilityZone",
            "is in us-east-1, not in us-west-2",
        ),
    ],
)
def test_bad_zone_names_record_and_field(fields: dict[str, Any], field: str, words: str) -> None:
    err = error_of([rec(), rec(**fields)])
    assert err.field == field
    assert err.message.startswith("record 2")
    assert words in err.message
    assert err.file == "prices.json"
    assert err.fix


def test_new_zone_id_prefix_is_accepted_when_the_region_is_stated() -> None:
    frame, _ = parse([rec(AvailabilityZone=..., AvailabilityZoneId="xyz1-az1", Region="xy-z-1")])
    assert frame.iloc[0]["region"] == "xy-z-1"


# --- prices, times, missing fields ------------------------------------------------------


@pytest.mark.parametrize(
    "price",
    [
        "abc",
        "1,0671",  # decimal comma
        "-0.5",  # negative
        "inf",
        "nan",
    ],
)
def test_bad_price(price: str) -> None:
    err = error_of([rec(), rec(SpotPrice=price)])
    assert err.field == "SpotPrice"
    assert err.message == f"record 2: SpotPrice {price!r} is not a price"
    assert "USD per hour" in (err.fix or "")


@pytest.mark.parametrize(
    ("price", "expected"),
    [("1.067100", 1.0671), (" 0.9 ", 0.9), ("0", 0.0), (1.5, 1.5), ("3e-1", 0.3)],
)
def test_price_is_a_float_from_text(price: Any, expected: float) -> None:
    frame, _ = parse([rec(SpotPrice=price)])
    assert frame.iloc[0]["price_usd_per_hour"] == pytest.approx(expected)


@pytest.mark.parametrize(
    "stamp",
    [
        "2020-02-20T22:06:16.000Z",  # API / training_on_a_dime
        "2020-02-20T22:06:16+00:00",  # ericpauley TSV
        "2020-02-21T00:06:16+02:00",  # another offset, same instant
        "2020-02-20 22:06:16",  # naive: taken as UTC, as the API returns
        datetime(2020, 2, 20, 22, 6, 16, tzinfo=UTC),  # boto3 gives datetimes
        datetime(2020, 2, 20, 17, 6, 16, tzinfo=timezone(timedelta(hours=-5))),
    ],
)
def test_timestamps_become_utc(stamp: Any) -> None:
    frame, _ = parse([rec(Timestamp=stamp)])
    assert frame.iloc[0]["timestamp"] == pd.Timestamp("2020-02-20 22:06:16", tz="UTC")


@pytest.mark.parametrize("stamp", ["yesterday", "2020-02-31T00:00:00Z", "20-02-2020 10:00"])
def test_bad_timestamp(stamp: str) -> None:
    err = error_of([rec(), rec(Timestamp=stamp)])
    assert err.field == "Timestamp"
    assert err.message == f"record 2: Timestamp {stamp!r} is not a time"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"InstanceType": ...}, "InstanceType"),
        ({"ProductDescription": ""}, "ProductDescription"),  # empty counts as missing
        ({"SpotPrice": None}, "SpotPrice"),
        ({"Timestamp": "  "}, "Timestamp"),
        ({"AvailabilityZone": ...}, "AvailabilityZone"),  # neither zone name nor ID
    ],
)
def test_missing_field(fields: dict[str, Any], field: str) -> None:
    err = error_of([rec(), rec(**fields)])
    assert err.field == field
    assert err.message == f"record 2 has no {field}"


def test_record_that_is_not_an_object() -> None:
    err = error_of([rec(), 5])  # type: ignore[list-item]
    assert err.message.startswith("record 2 is int")


def test_product_is_kept_as_given() -> None:
    products = ["Linux/UNIX", "Linux/UNIX (Amazon VPC)", "Red Hat Enterprise Linux", "Windows"]
    frame, _ = parse([rec(ProductDescription=p) for p in products])
    assert sorted(frame["product"]) == sorted(products)


# --- duplicates and conflicts -----------------------------------------------------------


@pytest.mark.parametrize(
    ("second", "rows", "dropped"),
    [
        (rec(), 1, 1),  # the same event twice
        (rec(SpotPrice="1.0671"), 1, 1),  # same price, other spelling
        (rec(Timestamp="2020-02-20T22:06:16+00:00"), 1, 1),  # same instant, other spelling
        (rec(ProductDescription="Windows"), 2, 0),  # another pool
        (rec(Timestamp="2020-02-20T22:06:17Z"), 2, 0),  # a later change of the same pool
    ],
)
def test_exact_duplicates_are_dropped_and_counted(
    second: dict[str, Any], rows: int, dropped: int
) -> None:
    frame, notes = parse([rec(), second])
    assert len(frame) == rows
    assert any(f"dropped {dropped} exact duplicate" in n for n in notes) is bool(dropped)


def test_two_prices_for_one_pool_and_time_name_both_records() -> None:
    err = error_of([rec(), rec(AvailabilityZone="us-east-1c"), rec(SpotPrice="0.5")])
    assert err.field == "SpotPrice"
    assert err.message.startswith("record 1 and record 3 give two prices (1.0671 and 0.5 USD/h)")
    assert "us-east-1b p3.2xlarge Linux/UNIX at 2020-02-20T22:06:16Z" in err.message
    assert "accounts" in (err.fix or "")


# --- as_of and output -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (None, pd.Timestamp("2020-02-20T22:06:16Z")),  # newest event
        (datetime(2020, 3, 1, tzinfo=UTC), pd.Timestamp("2020-03-01T00:00:00Z")),  # --as-of
    ],
)
def test_as_of_is_given_or_the_newest_timestamp(
    given: datetime | None, expected: pd.Timestamp
) -> None:
    older = rec(Timestamp="2020-02-19T00:00:00Z", SpotPrice="0.9")
    frame, _ = parse([rec(), older], as_of=given)
    assert set(frame["as_of"]) == {expected}


def test_output_is_canonical_and_sorted_by_pool_then_time() -> None:
    frame, notes = parse(
        [
            rec(Timestamp="2020-02-20T00:00:00Z"),
            rec(AvailabilityZone="us-east-1a"),
            rec(Timestamp="2020-02-19T00:00:00Z"),
        ]
    )
    assert list(frame.columns) == SPOT_PRICE_HISTORY.column_names
    assert list(frame["zone"]) == ["us-east-1a", "us-east-1b", "us-east-1b"]
    assert frame["timestamp"].iloc[1] < frame["timestamp"].iloc[2]
    assert set(frame["cloud"]) == {"aws"}
    assert "3 price-change events in 2 pools" in notes[0]


def test_no_records() -> None:
    frame, notes = parse([])
    assert frame.empty
    assert list(frame.columns) == SPOT_PRICE_HISTORY.column_names
    assert notes == ["prices.json: no price records"]


# --- reading each shape -----------------------------------------------------------------


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def read_error(reader: Reader, path: Path) -> UsageError:
    with pytest.raises(UsageError) as info:
        reader([path], None, None)
    assert info.value.file == str(path)
    return info.value


@pytest.mark.parametrize(
    ("reader", "path", "events", "newest"),
    [
        (read_spot_price_json, JSON_SAMPLE, 6, "2020-02-20T22:06:16Z"),
        (read_spot_price_csv, CSV_SAMPLE, 12, "2019-12-23T17:18:19Z"),
        (read_spot_price_tsv, TSV_SAMPLE, 12, "2022-05-31T22:53:10Z"),
    ],
    ids=["json", "csv", "tsv"],
)
def test_read_fixture(reader: Reader, path: Path, events: int, newest: str) -> None:
    [batch] = reader([path], None, None)
    assert batch.table is SPOT_PRICE_HISTORY
    assert len(batch.frame) == events
    assert set(batch.frame["as_of"]) == {pd.Timestamp(newest)}
    assert "the newest timestamp in the file" in batch.notes[0]
    assert batch.source.endswith(f":{path.name}")
    assert set(batch.frame["source"]) == {batch.source}


@pytest.mark.parametrize(
    ("fmt", "path"),
    [(SPOT_PRICE_JSON, JSON_SAMPLE), (SPOT_PRICE_CSV, CSV_SAMPLE), (SPOT_PRICE_TSV, TSV_SAMPLE)],
    ids=["json", "csv", "tsv"],
)
def test_fixture_is_sniffed_only_as_its_own_format(fmt: Any, path: Path) -> None:
    head = path.read_text()[:SNIFF_BYTES]
    assert {name for name, sniff in SNIFFS.items() if sniff(head)} == {fmt.name}
    assert fmt.read([path], None, "x")[0].source == "x"


def test_given_as_of_and_source_win(tmp_path: Path) -> None:
    given = datetime(2020, 4, 1, tzinfo=UTC)
    [batch] = read_spot_price_csv([CSV_SAMPLE], given, "mine")
    assert set(batch.frame["as_of"]) == {pd.Timestamp(given)}
    assert set(batch.frame["source"]) == {"mine"}
    assert "(given)" in batch.notes[0]


def test_tsv_rows_carry_zone_ids_and_regions() -> None:
    [batch] = read_spot_price_tsv([TSV_SAMPLE], None, None)
    frame = batch.frame
    assert frame["zone"].isna().all()
    assert set(frame["zone_id"]) == {"euw3-az1", "euw3-az2", "use1-az1", "use1-az4"}
    assert set(frame["region"]) == {"eu-west-3", "us-east-1"}
    assert set(frame["product"]) == {
        "Linux/UNIX",
        "Red Hat Enterprise Linux",
        "SUSE Linux",
        "Windows",
    }


def test_json_list_of_pages_and_bare_list(tmp_path: Path) -> None:
    page = json.loads(JSON_SAMPLE.read_text())
    first, rest = dict(page, SpotPriceHistory=page["SpotPriceHistory"][:2]), page
    pages = write(tmp_path, "pages.json", json.dumps([first, rest]))
    [batch] = read_spot_price_json([pages], None, None)
    assert len(batch.frame) == 6  # the two records of page 0 repeat in page 1
    assert any("dropped 2 exact duplicate" in n for n in batch.notes)
    bare = write(tmp_path, "bare.json", json.dumps(page["SpotPriceHistory"]))
    assert len(read_spot_price_json([bare], None, None)[0].frame) == 6


@pytest.mark.parametrize(
    ("doc", "words"),
    [
        (
            [{"SpotPriceHistory": []}, {"SpotPriceHistory": [rec(), rec(SpotPrice="x")]}],
            "[1].SpotPriceHistory[1]: SpotPrice 'x'",
        ),
        ({"SpotPriceHistory": [rec(), rec(InstanceType="")]}, "SpotPriceHistory[1] has no"),
        ([rec(), rec(Timestamp="soon")], "[1]: Timestamp 'soon'"),
        ({"Reservations": []}, "not a describe-spot-price-history dump"),
        ({"SpotPriceHistory": {}}, "not a describe-spot-price-history dump"),
        ("SpotPriceHistory", "not a describe-spot-price-history dump"),
    ],
)
def test_json_errors_point_at_the_record(tmp_path: Path, doc: Any, words: str) -> None:
    err = read_error(read_spot_price_json, write(tmp_path, "p.json", json.dumps(doc)))
    assert words in err.message


def test_json_next_token_is_noted(tmp_path: Path) -> None:
    path = write(tmp_path, "p.json", json.dumps({"NextToken": "abc", "SpotPriceHistory": [rec()]}))
    [batch] = read_spot_price_json([path], None, None)
    assert any("NextToken is set" in n for n in batch.notes)


def test_invalid_json_reports_line_and_column(tmp_path: Path) -> None:
    err = read_error(read_spot_price_json, write(tmp_path, "p.json", '{\n "SpotPriceHistory": [}'))
    assert "line 2, column 23" in err.message


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        # line numbers count the header and blank lines
        (
            f"{HEADER}\nus-east-1,us-east-1a,p3.2xlarge,Linux/UNIX,0.9,2020-01-01T00:00:00Z\n\n"
            "us-east-1,us-east-1a,p3.2xlarge,Linux/UNIX,abc,2020-01-02T00:00:00Z\n",
            "SpotPrice",
            "line 4: SpotPrice 'abc'",
        ),
        (
            "AvailabilityZone,InstanceType,SpotPrice,Timestamp\n",
            "ProductDescription",
            "line 1 (the header) has no ProductDescription column",
        ),
        (
            "Region,InstanceType,ProductDescription,SpotPrice,Timestamp\n",
            "AvailabilityZone",
            "no AvailabilityZone column",
        ),
        (
            f"{HEADER}\nus-east-1,us-east-1a,p3.2xlarge\n",
            "ProductDescription",
            "line 2 has no ProductDescription",
        ),  # a short line
        (
            f"{HEADER}\nus-east-1,us-east-1z-x,p3.2xlarge,Linux/UNIX,0.9,2020-01-01T00:00:00Z\n",
            "AvailabilityZone",
            "line 2: 'us-east-1z-x' is not an AWS zone name",
        ),
        (
            f"{HEADER}\nus-east-1,us-east-1a,p3.2xlarge,Linux/UNIX,0.9,2020-01-01T00:00:00Z,x\n",
            None,
            "Expected 6 fields in line 2, saw 7",
        ),  # a surplus field
        ("", None, "the file is empty"),
    ],
)
def test_csv_errors(tmp_path: Path, text: str, field: str | None, words: str) -> None:
    err = read_error(read_spot_price_csv, write(tmp_path, "p.csv", text))
    assert err.field == field
    assert words in err.message


def test_csv_region_is_optional_and_extra_columns_are_noted(tmp_path: Path) -> None:
    text = (
        "Timestamp,SpotPrice,ProductDescription,InstanceType,AvailabilityZone,Note\n"
        "2020-01-01T00:00:00Z,0.9,Linux/UNIX,p3.2xlarge,eu-west-1c,hello\n"
    )
    [batch] = read_spot_price_csv([write(tmp_path, "p.csv", text)], None, None)
    assert batch.frame.iloc[0]["region"] == "eu-west-1"
    assert any("ignored column(s) Note" in n for n in batch.notes)


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        (
            "use1-az4\tp3.2xlarge\tLinux/UNIX\t0.9\t2022-05-31T18:20:41+00:00\n"
            "use1-az4\tp3.2xlarge\tLinux/UNIX\t-\t2022-05-31T18:21:41+00:00\n",
            "spot_price (column 4)",
            "line 2: spot_price (column 4) '-'",
        ),
        ("use1-az4\tp3.2xlarge\tLinux/UNIX\t0.9\n", None, "expected 5 tab-separated fields"),
        (
            "use9-az4\tp3.2xlarge\tLinux/UNIX\t0.9\t2022-05-31T18:20:41+00:00\n",
            "az_id (column 1)",
            "unknown prefix 'use9'",
        ),
    ],
)
def test_tsv_errors(tmp_path: Path, text: str, field: str | None, words: str) -> None:
    err = read_error(read_spot_price_tsv, write(tmp_path, "p.tsv", text))
    assert err.field == field
    assert words in err.message


# --- sniffing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        ('{\n    "NextToken": "",\n    "SpotPriceHistory": [\n', "aws-spot-price-json"),
        ('[{"NextToken": "", "SpotPriceHistory": []}]', "aws-spot-price-json"),  # list of pages
        (
            '[{"AvailabilityZone": "us-east-1b", "InstanceType": "p3.2xlarge", "SpotPrice": "1"',
            "aws-spot-price-json",
        ),  # bare list of records
        (f"{HEADER}\n", "aws-spot-price-csv"),
        (
            "AvailabilityZone,InstanceType,ProductDescription,SpotPrice,Timestamp\r\n",
            "aws-spot-price-csv",
        ),  # no Region
        (
            '"AvailabilityZoneId","InstanceType","ProductDescription","SpotPrice","Timestamp"\n',
            "aws-spot-price-csv",
        ),  # quoted, with zone IDs
        (
            "euw3-az2\tg4dn.4xlarge\tLinux/UNIX\t0.466400\t2022-05-31T18:20:41+00:00\n",
            "aws-spot-price-tsv",
        ),
        (
            "us-east-1a\tp3.2xlarge\tWindows\t1.2\t2022-05-31T18:20:41+00:00\neuw3-az2\tg4dn.4x",
            "aws-spot-price-tsv",
        ),  # zone name; the cut-off last line is not judged
        # SkyPilot's catalog header: SpotPrice and AvailabilityZone, but no events
        (
            "InstanceType,AcceleratorName,AcceleratorCount,vCPUs,MemoryGiB,GpuInfo,Price,"
            "SpotPrice,Region,AvailabilityZone,Arch\n",
            None,
        ),
        ("az_id\tinstance_type\tproduct_description\tspot_price\ttimestamp\n", None),  # header
        ("use1-az4,p3.2xlarge,Linux/UNIX,0.9,2022-05-31T18:20:41+00:00\n", None),  # commas
        ('{"spot_advisor": {}, "ranges": []}', "aws-spot-advisor"),
        ('{"us-east": {"p3.2xlarge": {"Linux": "0.918"}}}', None),  # spot.js price feed
        ("", None),
    ],
)
def test_each_sniff_accepts_only_its_own_shape(head: str, expected: str | None) -> None:
    matched = {name for name, sniff in SNIFFS.items() if sniff(head)}
    assert matched == ({expected} if expected else set())


def test_format_objects() -> None:
    assert [f.name for f in (SPOT_PRICE_JSON, SPOT_PRICE_CSV, SPOT_PRICE_TSV)] == [
        "aws-spot-price-json",
        "aws-spot-price-csv",
        "aws-spot-price-tsv",
    ]
    assert all("\n" not in f.description for f in (SPOT_PRICE_JSON, SPOT_PRICE_CSV, SPOT_PRICE_TSV))


# --- the real files (../shared/data) ------------------------------------------------------

REAL_CSV = "aws_spot_price_history_p2_p3_2019-12_2020-03_training_on_a_dime.csv"
REAL_JSON = "raw_describe-spot-price-history_us-east-1_p3.2xlarge_training_on_a_dime.json"
REAL_TSV = "aws-spot-price-history_2022-05-31_6h_all-types_azid_ericpauley.tsv"


def real(shared_data: Path, name: str) -> Path:
    return shared_data / "aws-spot-price-history" / name


@pytest.mark.shared_data
def test_real_csv(shared_data: Path) -> None:
    [batch] = read_spot_price_csv([real(shared_data, REAL_CSV)], None, None)
    frame = batch.frame
    assert len(frame) == 16_560  # every event kept: the merged file has no duplicates
    assert not any("duplicate" in n for n in batch.notes)
    assert sorted(frame["region"].unique()) == [
        "eu-central-1",
        "eu-west-1",
        "eu-west-2",
        "us-east-1",
        "us-east-2",
        "us-west-2",
    ]
    assert frame["zone"].nunique() == 19
    assert frame["zone_id"].isna().all()
    assert sorted(frame["instance_type"].unique()) == [
        "p2.16xlarge",
        "p2.8xlarge",
        "p2.xlarge",
        "p3.16xlarge",
        "p3.2xlarge",
        "p3.8xlarge",
    ]
    assert set(frame["product"]) == {"Linux/UNIX"}
    assert frame["timestamp"].min() == pd.Timestamp("2019-12-20T06:39:10Z")
    assert frame["timestamp"].max() == pd.Timestamp("2020-03-23T16:09:42Z")
    assert set(frame["as_of"]) == {pd.Timestamp("2020-03-23T16:09:42Z")}


@pytest.mark.shared_data
def test_real_json(shared_data: Path) -> None:
    [batch] = read_spot_price_json([real(shared_data, REAL_JSON)], None, None)
    frame = batch.frame
    assert len(frame) == 874
    assert sorted(frame["zone"].unique()) == [
        "us-east-1b",
        "us-east-1c",
        "us-east-1d",
        "us-east-1f",
    ]
    assert set(frame["instance_type"]) == {"p3.2xlarge"}
    assert frame["timestamp"].min() == pd.Timestamp("2019-12-22T07:09:01Z")
    assert set(frame["as_of"]) == {pd.Timestamp("2020-02-20T22:06:16Z")}  # the first record
    assert not any("NextToken" in n for n in batch.notes)  # NextToken is ""


@pytest.mark.shared_data
def test_real_tsv(shared_data: Path) -> None:
    [batch] = read_spot_price_tsv([real(shared_data, REAL_TSV)], None, None)
    frame = batch.frame
    assert len(frame) == 33_362
    assert frame["region"].nunique() == 17
    assert frame["zone_id"].nunique() == 55
    assert frame["zone"].isna().all()
    assert frame["instance_type"].nunique() == 509
    assert frame["product"].value_counts().to_dict() == {
        "Linux/UNIX": 9281,
        "Red Hat Enterprise Linux": 9281,
        "SUSE Linux": 9281,
        "Windows": 5519,
    }
    assert frame["timestamp"].min() == pd.Timestamp("2022-05-31T18:20:41Z")
    assert set(frame["as_of"]) == {pd.Timestamp("2022-05-31T23:59:47Z")}


@pytest.mark.shared_data
@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        (REAL_JSON, "aws-spot-price-json"),
        (REAL_CSV, "aws-spot-price-csv"),
        (REAL_TSV, "aws-spot-price-tsv"),
    ],
)
def test_real_files_are_sniffed_only_as_their_format(
    shared_data: Path, name: str, fmt: str
) -> None:
    head = read_text(real(shared_data, name))[:SNIFF_BYTES]
    assert {n for n, sniff in SNIFFS.items() if sniff(head)} == {fmt}


@pytest.mark.shared_data
def test_no_other_public_sample_is_taken_for_these_formats(shared_data: Path) -> None:
    for path in sorted(p for p in shared_data.rglob("*") if p.is_file()):
        if path.parent.name in ("aws-spot-advisor", "aws-spot-price-history"):
            continue
        try:
            head = read_text(path)[:SNIFF_BYTES]
        except UsageError:  # binary samples are not text at all
            continue
        matched = {n for n, sniff in SNIFFS.items() if sniff(head)}
        assert not matched, f"{path.relative_to(shared_data)} sniffed as {matched}"
