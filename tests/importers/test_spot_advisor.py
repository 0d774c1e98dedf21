"""AWS Spot Advisor feed: bands looked up by index, bounds from labels, errors that say where."""

from __future__ import annotations

import gzip
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from spotadvisor.errors import UsageError
from spotadvisor.importers.spot_advisor import (
    SPOT_ADVISOR,
    parse_spot_advisor,
    read_spot_advisor,
    sniff_spot_advisor,
)
from spotadvisor.importers.spot_price_history import (
    sniff_spot_price_csv,
    sniff_spot_price_json,
    sniff_spot_price_tsv,
)
from spotadvisor.schema import INTERRUPTION_HISTORY

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "spot_advisor"
SAMPLE_2025 = FIXTURES / "spot-advisor-data_sample_2025-06-28.json"
SAMPLE_2021 = FIXTURES / "spot-advisor-data_sample_2021-02-10.json"
AS_OF = datetime(2025, 6, 28, tzinfo=UTC)
SNIFF_BYTES = 64 * 1024

# The ranges as every public snapshot publishes them; note max != label bound.
RANGES: list[dict[str, Any]] = [
    {"index": 0, "label": "<5%", "dots": 0, "max": 5},
    {"index": 1, "label": "5-10%", "dots": 1, "max": 11},
    {"index": 2, "label": "10-15%", "dots": 2, "max": 16},
    {"index": 3, "label": "15-20%", "dots": 3, "max": 22},
    {"index": 4, "label": ">20%", "dots": 4, "max": 100},
]
FIVE_BANDS = {
    ("<5%", 0.0, 5.0),
    ("5-10%", 5.0, 10.0),
    ("10-15%", 10.0, 15.0),
    ("15-20%", 15.0, 20.0),
    (">20%", 20.0, 100.0),
}


def feed(
    entries: dict[str, Any] | None = None,
    *,
    ranges: list[dict[str, Any]] | None = None,
    os_name: str = "Linux",
) -> dict[str, Any]:
    """A one-region feed: ``entries`` are the us-east-1 types of ``os_name``."""
    return {
        "ranges": RANGES if ranges is None else ranges,
        "spot_advisor": {"us-east-1": {os_name: entries or {"p4d.24xlarge": {"s": 67, "r": 2}}}},
    }


def parse(doc: dict[str, Any]) -> tuple[pd.DataFrame, list[str]]:
    return parse_spot_advisor(doc, source="test", as_of=AS_OF, origin="advisor.json")


def one_row(doc: dict[str, Any]) -> dict[str, Any]:
    frame, _ = parse(doc)
    assert len(frame) == 1
    row: dict[str, Any] = frame.iloc[0].to_dict()
    return row


# --- bands ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("r", "label", "lower", "upper"),
    [
        (0, "<5%", 0.0, 5.0),  # "below" band starts at 0
        (1, "5-10%", 5.0, 10.0),  # max says 11: the label wins
        (2, "10-15%", 10.0, 15.0),  # max says 16
        (3, "15-20%", 15.0, 20.0),  # max says 22
        (4, ">20%", 20.0, 100.0),  # "above" band ends at 100
    ],
)
def test_bounds_come_from_the_label_not_max(r: int, label: str, lower: float, upper: float) -> None:
    row = one_row(feed({"p4d.24xlarge": {"s": 67, "r": r}}))
    assert row["interruption_band"] == label
    assert (row["interruption_band_lower_pct"], row["interruption_band_upper_pct"]) == (
        lower,
        upper,
    )


@pytest.mark.parametrize(
    "maxima",
    [
        [5, 11, 16, 22, 100],  # spot-bid-advisor copies
        [5, 10, 15, 20, 100],  # another public copy
        [1, 1, 1, 1, 1],  # nonsense: still ignored
    ],
)
def test_max_never_changes_the_bounds(maxima: list[int]) -> None:
    ranges = [{**r, "max": m} for r, m in zip(RANGES, maxima, strict=True)]
    row = one_row(feed({"g5.xlarge": {"s": 59, "r": 3}}, ranges=ranges))
    assert (row["interruption_band_lower_pct"], row["interruption_band_upper_pct"]) == (15, 20)


@pytest.mark.parametrize(
    "order",
    [
        [4, 3, 2, 1, 0],  # reversed
        [2, 0, 4, 1, 3],  # shuffled
        [1, 2, 3, 4, 0],  # rotated: position 0 holds index 1
    ],
)
def test_range_is_found_by_its_index_not_its_position(order: list[int]) -> None:
    ranges = [RANGES[i] for i in order]
    row = one_row(feed({"p4d.24xlarge": {"s": 67, "r": 0}}, ranges=ranges))
    assert row["interruption_band"] == "<5%"


def test_savings_and_identity_columns() -> None:
    row = one_row(feed({"p4d.24xlarge": {"s": 67, "r": 2}}, os_name="Windows"))
    assert row["cloud"] == "aws"
    assert row["region"] == "us-east-1"
    assert row["os"] == "Windows"
    assert row["instance_type"] == "p4d.24xlarge"
    assert row["savings_pct"] == 67.0
    assert row["source"] == "test"
    assert row["as_of"] == pd.Timestamp(AS_OF)


@pytest.mark.parametrize(
    ("entry", "savings"),
    [
        ({"r": 0}, None),  # no "s": savings unknown, band still usable
        ({"s": -62, "r": 0}, -62.0),  # real: ca-central-1 p5.48xlarge in 2025, kept as published
        ({"s": 0, "r": 0}, 0.0),
        ({"s": 70.5, "r": 0}, 70.5),
    ],
)
def test_savings_kept_as_published(entry: dict[str, Any], savings: float | None) -> None:
    row = one_row(feed({"p5.48xlarge": entry}))
    assert pd.isna(row["savings_pct"]) if savings is None else row["savings_pct"] == savings


# --- errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "r",
    [
        7,  # no range has this index
        -1,
        "2",  # text, not an index
        None,  # missing
        True,  # a bool is not an index even though True == 1
    ],
)
def test_bad_range_index_names_file_region_type_and_fix(r: Any) -> None:
    with pytest.raises(UsageError) as info:
        parse(feed({"p4d.24xlarge": {"s": 67, "r": r}}))
    err = info.value
    assert err.file == "advisor.json"
    assert err.field == "spot_advisor.us-east-1.Linux.p4d.24xlarge.r"
    assert "us-east-1" in err.message
    assert "p4d.24xlarge" in err.message
    assert err.fix


@pytest.mark.parametrize("label", ["often", "", "10-5%", "5..10"])
def test_unreadable_label_of_a_used_range_is_an_error(label: str) -> None:
    ranges = [*RANGES[:2], {**RANGES[2], "label": label}, *RANGES[3:]]
    with pytest.raises(UsageError) as info:
        parse(feed({"p4d.24xlarge": {"s": 67, "r": 2}}, ranges=ranges))
    assert "p4d.24xlarge" in info.value.message
    assert repr(label) in info.value.message
    assert info.value.field == "spot_advisor.us-east-1.Linux.p4d.24xlarge.r"


def test_unreadable_label_of_an_unused_range_is_only_noted() -> None:
    ranges = [*RANGES, {"index": 5, "label": "unknown", "dots": 5, "max": 100}]
    frame, notes = parse(feed({"p4d.24xlarge": {"s": 67, "r": 2}}, ranges=ranges))
    assert len(frame) == 1
    assert any("not bands: unknown" in n for n in notes)


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"spot_advisor": {}}, "ranges"),  # no ranges
        ({"ranges": RANGES}, "spot_advisor"),  # no spot_advisor
        ({"ranges": {}, "spot_advisor": {}}, "ranges"),  # ranges not a list
        ({"ranges": RANGES, "spot_advisor": []}, "spot_advisor"),
        ({"ranges": [{"index": 0}], "spot_advisor": {}}, "ranges[0]"),  # no label
        ({"ranges": [RANGES[0], RANGES[0]], "spot_advisor": {}}, "ranges[1]"),  # index twice
        ({"ranges": RANGES, "spot_advisor": {"us-east-1": []}}, "spot_advisor.us-east-1"),
        (feed({"p4d.24xlarge": [67, 2]}), "spot_advisor.us-east-1.Linux.p4d.24xlarge"),
        (
            feed({"p4d.24xlarge": {"s": "67", "r": 2}}),
            "spot_advisor.us-east-1.Linux.p4d.24xlarge.s",
        ),
    ],
)
def test_malformed_feed_names_the_field(doc: dict[str, Any], field: str) -> None:
    with pytest.raises(UsageError) as info:
        parse(doc)
    assert info.value.field == field
    assert info.value.file == "advisor.json"


def test_other_operating_systems_are_skipped_with_a_note() -> None:
    doc = feed()
    doc["spot_advisor"]["us-east-1"]["SUSE"] = {"p4d.24xlarge": {"s": 60, "r": 1}}
    frame, notes = parse(doc)
    assert list(frame["os"]) == ["Linux"]
    assert any("skipped OS 'SUSE'" in n for n in notes)


def test_notes_count_rows_regions_and_types() -> None:
    doc = feed({"p4d.24xlarge": {"s": 67, "r": 2}, "g5.xlarge": {"s": 59, "r": 4}})
    doc["spot_advisor"]["eu-west-1"] = {"Windows": {"g5.xlarge": {"s": 47, "r": 1}}}
    doc["instance_types"] = {"p4d.24xlarge": {}, "g5.xlarge": {}, "x1.metal": {}}
    _, notes = parse(doc)
    assert "3 rows (region, OS, instance type), 2 regions, 2 instance types" in notes[0]
    assert any("1 type(s) in instance_types have no band" in n for n in notes)


# --- sniffing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        ('{"spot_advisor": {"ap-southeast-1": {"Linux": {', True),  # 2021 order
        ('{\n  "ranges": [\n    {\n      "label": "<5%",', True),  # pretty-printed 2022
        ('{"instance_types": {"c6i.32xlarge": {"emr": true, "cores": 128', True),  # 2025 order
        ('{"global_rate": "<10%", "spot_advisor": {', True),
        ('\ufeff{"spot_advisor": {}}', True),  # byte-order mark
        ('{"NextToken": "", "SpotPriceHistory": []}', False),  # price history dump
        ('{"ranges": [1, 2, 3]}', False),  # ranges but not the advisor's
        ('{"instance_types": {"x": {"vcpus": 1}}}', False),
        ('{"us-east": {"p3.2xlarge": {"Linux": "0.918"}}}', False),  # the spot.js price feed
        ("Region,AvailabilityZone,InstanceType\n", False),
        ("", False),
    ],
)
def test_sniff(head: str, expected: bool) -> None:
    assert sniff_spot_advisor(head) is expected


@pytest.mark.parametrize("path", [SAMPLE_2025, SAMPLE_2021], ids=lambda p: p.name)
def test_fixtures_are_sniffed_only_as_spot_advisor(path: Path) -> None:
    head = path.read_text()[:SNIFF_BYTES]
    assert sniff_spot_advisor(head)
    assert not sniff_spot_price_json(head)
    assert not sniff_spot_price_csv(head)
    assert not sniff_spot_price_tsv(head)


# --- reading files ----------------------------------------------------------------------


def test_read_fixture_with_defaults() -> None:
    [batch] = read_spot_advisor([SAMPLE_2025], None, None)
    assert batch.table is INTERRUPTION_HISTORY
    assert batch.source == f"aws-spot-advisor:{SAMPLE_2025.name}"
    assert batch.origin == str(SAMPLE_2025)
    assert len(batch.frame) == 14  # 3 regions; 6 + 5 + 3 (region, OS, type) entries
    assert set(batch.frame["as_of"]) == {pd.Timestamp("2025-06-28", tz="UTC")}
    assert "from the file name" in batch.notes[0]
    row = batch.frame.set_index(["region", "os", "instance_type"]).loc[
        ("us-east-1", "Linux", "p4d.24xlarge")
    ]
    assert (row["interruption_band"], row["savings_pct"]) == ("10-15%", 67.0)
    assert any("negative savings" in n and "p5.48xlarge" in n for n in batch.notes)


def test_read_gives_one_batch_per_file_and_honours_as_of_and_source() -> None:
    given = datetime(2024, 1, 2, tzinfo=UTC)
    batches = read_spot_advisor([SAMPLE_2025, SAMPLE_2021], given, "mine")
    assert [len(b.frame) for b in batches] == [14, 10]
    for batch in batches:
        assert set(batch.frame["source"]) == {"mine"}
        assert set(batch.frame["as_of"]) == {pd.Timestamp(given)}
        assert "(given)" in batch.notes[0]


def test_key_order_does_not_matter() -> None:
    doc = json.loads(SAMPLE_2021.read_text())
    assert next(iter(doc)) == "spot_advisor"  # as in the 2021 file
    reordered = {k: doc[k] for k in ("instance_types", "ranges", "spot_advisor", "global_rate")}
    pd.testing.assert_frame_equal(parse(doc)[0], parse(reordered)[0])


def test_invalid_json_reports_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "spot-advisor-data.json"
    path.write_text('{"ranges": [\n  {"index": 0,, "label": "<5%"}\n]}')
    with pytest.raises(UsageError) as info:
        read_spot_advisor([path], AS_OF, None)
    assert "line 2, column 15" in info.value.message  # the second comma
    assert info.value.file == str(path)


def test_gzipped_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "spot-advisor-data.json.gz"
    path.write_bytes(gzip.compress(SAMPLE_2021.read_bytes()))
    [batch] = read_spot_advisor([path], AS_OF, None)
    assert len(batch.frame) == 10


def test_format_object() -> None:
    assert SPOT_ADVISOR.name == "aws-spot-advisor"
    assert SPOT_ADVISOR.sniff is sniff_spot_advisor
    assert SPOT_ADVISOR.read is read_spot_advisor
    assert "\n" not in SPOT_ADVISOR.description


# --- the real snapshots (../shared/data) --------------------------------------------------

# file -> (rows, regions, instance types with a band); counted from the files' JSON.
SNAPSHOTS = {
    "spot-advisor-data_spotinfo_2021-02-10.json": (7890, 21, 357),
    "spot-advisor-data-2022-01-09_AWSSpotAdvisorCuration.json": (10889, 21, 461),
    "spot-advisor-data-2022-04-06_AWSSpotAdvisorCuration.json": (11074, 21, 489),
    "spot-advisor-data-2022-04-22_AWSSpotAdvisorCuration.json": (11031, 21, 489),
    "spot-advisor-data-2022-05-28_AWSSpotAdvisorCuration.json": (11714, 21, 526),
    "spot-advisor-data-2022-06-02_AWSSpotAdvisorCuration.json": (11716, 21, 526),
    "spot-advisor-data-2022-06-17_AWSSpotAdvisorCuration.json": (11835, 21, 537),
    "spot-advisor-data-2022-06-24_AWSSpotAdvisorCuration.json": (11850, 21, 535),
    "spot-advisor-data-2022-06-26_AWSSpotAdvisorCuration.json": (11836, 21, 535),
    "spot-advisor-data-2022-07-09_AWSSpotAdvisorCuration.json": (11866, 21, 535),
    "spot-advisor-data-2022-07-16_AWSSpotAdvisorCuration.json": (11854, 21, 535),
    "spot-advisor-data-2022-07-23_AWSSpotAdvisorCuration.json": (11836, 21, 535),
    "spot-advisor-data_spotinfo_2025-06-28.json": (25323, 33, 895),
}


def snapshot(shared_data: Path, name: str) -> Path:
    return shared_data / "aws-spot-advisor" / name


@pytest.mark.shared_data
@pytest.mark.parametrize("name", sorted(SNAPSHOTS))
def test_every_real_snapshot(shared_data: Path, name: str) -> None:
    path = snapshot(shared_data, name)
    assert sniff_spot_advisor(path.read_text()[:SNIFF_BYTES])
    [batch] = read_spot_advisor([path], None, None)
    frame = batch.frame
    rows, regions, types = SNAPSHOTS[name]
    assert (len(frame), frame["region"].nunique(), frame["instance_type"].nunique()) == (
        rows,
        regions,
        types,
    )
    assert set(frame["os"]) == {"Linux", "Windows"}
    dated = re.search(r"\d{4}-\d{2}-\d{2}", name)
    assert dated is not None
    assert set(frame["as_of"]) == {pd.Timestamp(dated.group(), tz="UTC")}
    # Bands come from this file's ranges; its maxima are the mismatched 5/11/16/22/100.
    ranges = json.loads(path.read_text())["ranges"]
    assert sorted(r["max"] for r in ranges) == [5, 11, 16, 22, 100]
    bands = set(
        frame[["interruption_band", "interruption_band_lower_pct", "interruption_band_upper_pct"]]
        .drop_duplicates()
        .itertuples(index=False, name=None)
    )
    assert bands == FIVE_BANDS


@pytest.mark.shared_data
@pytest.mark.parametrize(
    ("name", "band", "savings"),
    [
        ("spot-advisor-data_spotinfo_2021-02-10.json", "<5%", 70.0),
        ("spot-advisor-data-2022-01-09_AWSSpotAdvisorCuration.json", ">20%", 70.0),
        ("spot-advisor-data-2022-06-26_AWSSpotAdvisorCuration.json", ">20%", 70.0),
        ("spot-advisor-data-2022-07-09_AWSSpotAdvisorCuration.json", ">20%", 70.0),  # last >20%
        ("spot-advisor-data-2022-07-16_AWSSpotAdvisorCuration.json", "<5%", 70.0),  # first <5%
        ("spot-advisor-data-2022-07-23_AWSSpotAdvisorCuration.json", "<5%", 70.0),
        ("spot-advisor-data_spotinfo_2025-06-28.json", "10-15%", 67.0),  # {"s":67,"r":2}
    ],
)
def test_p4d_band_drift_in_us_east_1(
    shared_data: Path, name: str, band: str, savings: float
) -> None:
    [batch] = read_spot_advisor([snapshot(shared_data, name)], None, None)
    frame = batch.frame.set_index(["region", "os", "instance_type"])
    row = frame.loc[("us-east-1", "Linux", "p4d.24xlarge")]
    assert (row["interruption_band"], row["savings_pct"]) == (band, savings)


@pytest.mark.shared_data
def test_real_2021_key_order_parses_like_any_other(shared_data: Path) -> None:
    path = snapshot(shared_data, "spot-advisor-data_spotinfo_2021-02-10.json")
    text = path.read_text()
    doc = json.loads(text)
    assert list(doc) == ["spot_advisor", "global_rate", "ranges", "instance_types"]
    assert text.index('"ranges"') > SNIFF_BYTES  # the sniff cannot rely on seeing it
    reordered = {k: doc[k] for k in ("instance_types", "ranges", "spot_advisor", "global_rate")}
    pd.testing.assert_frame_equal(parse(doc)[0], parse(reordered)[0])


@pytest.mark.shared_data
def test_real_2025_negative_savings_is_kept_and_noted(shared_data: Path) -> None:
    path = snapshot(shared_data, "spot-advisor-data_spotinfo_2025-06-28.json")
    [batch] = read_spot_advisor([path], None, None)
    negative = batch.frame[batch.frame["savings_pct"] < 0]
    assert negative[["region", "os", "instance_type", "savings_pct"]].values.tolist() == [
        ["ca-central-1", "Linux", "p5.48xlarge", -62.0]
    ]
    assert any("1 row(s) with negative savings" in n for n in batch.notes)
