"""Billing files: FOCUS 1.x and AWS CUR (2.0 and legacy) -> the billing table; s3:// paths."""

from __future__ import annotations

import io
import json
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from spotadvisor.errors import UsageError
from spotadvisor.importers.base import ImportBatch, read_text
from spotadvisor.importers.billing import common
from spotadvisor.importers.billing.common import RawRows
from spotadvisor.importers.billing.cur import cur2_name, parse_cur, read_cur, sniff_cur
from spotadvisor.importers.billing.focus import parse_focus, read_focus, sniff_focus
from spotadvisor.importers.registry import FORMATS, detect_format, parse_files
from spotadvisor.schema import BILLING, validate
from spotadvisor.store import Store

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "billing"
FOCUS_SUBSET = FIXTURES / "focus-1.0_focus_sample_subset.csv"
CUR_LEGACY_SUBSET = FIXTURES / "cur-legacy_sample-anonymous_subset_2023-11.csv"
CUR2_CSV = FIXTURES / "cur2_synthetic_ec2_spot.csv"
CUR2_PARQUET = FIXTURES / "cur2_synthetic_ec2_spot.parquet"
FOCUS_SAMPLE = Path("billing/focus-sample-data/focus-1.0_focus_sample_1000.csv")
CUR_SAMPLE = Path("billing/aws-cur/cur-legacy_sample-anonymous-aws-export-dataset_2023-11.csv")


def flag(value: object) -> bool | None:
    """A cell of is_spot as True, False or None."""
    return None if pd.isna(value) else bool(value)


def one(batches: list[ImportBatch]) -> ImportBatch:
    assert len(batches) == 1
    return batches[0]


def focus_rows(csv_text: str, as_of: datetime | None = None) -> tuple[pd.DataFrame, list[str]]:
    """parse_focus on CSV text (header + lines), the way read_focus reads a file."""
    frame = pd.read_csv(io.StringIO(csv_text), dtype=str, keep_default_na=False)
    raw = RawRows(common._as_text(frame), "csv")
    return parse_focus(raw, source="test", as_of=as_of, origin="focus.csv")


def cur_rows(csv_text: str) -> tuple[pd.DataFrame, list[str]]:
    frame = pd.read_csv(io.StringIO(csv_text), dtype=str, keep_default_na=False)
    raw = RawRows(common._as_text(frame), "csv")
    return parse_cur(raw, source="test", as_of=None, origin="cur.csv")


# --- detection ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (FOCUS_SUBSET, "focus"),
        (CUR_LEGACY_SUBSET, "aws-cur"),  # lineItem/... headers
        (CUR2_CSV, "aws-cur"),  # line_item_... headers
        (CUR2_PARQUET, "aws-cur"),  # Parquet: sniffed on its column names
    ],
)
def test_each_billing_file_is_detected_as_its_format(path: Path, expected: str) -> None:
    assert detect_format(path).name == expected


def test_sniffers_do_not_claim_each_other() -> None:
    focus_head = read_text(FOCUS_SUBSET)[:65536]
    cur_head = read_text(CUR_LEGACY_SUBSET)[:65536]
    assert sniff_focus(focus_head) and not sniff_cur(focus_head)
    assert sniff_cur(cur_head) and not sniff_focus(cur_head)
    others = [f for f in FORMATS.values() if f.name not in {"focus", "aws-cur"}]
    for head in (focus_head, cur_head, read_text(CUR2_CSV)):
        assert not [f.name for f in others if f.sniff(head)]


def test_an_unknown_parquet_file_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "other.parquet"
    con = duckdb.connect()
    con.execute("COPY (SELECT 1 AS a, 'x' AS b) TO ? (FORMAT parquet)", [str(path)])
    con.close()
    with pytest.raises(UsageError, match="not a Parquet file spotadvisor can import"):
        detect_format(path)


def test_text_formats_still_detect_after_parquet_support() -> None:
    spot = Path(__file__).resolve().parents[1] / "fixtures" / "spot_price_history"
    assert detect_format(spot / "spot-price-history_p2_p3_sample.csv").name == (
        "aws-spot-price-csv"
    )


@pytest.mark.parametrize(
    ("legacy", "cur2"),
    [
        ("lineItem/UsageStartDate", "line_item_usage_start_date"),
        ("identity/LineItemId", "identity_line_item_id"),
        ("product/ProductName", "product_product_name"),
        ("product/regionCode", "product_region_code"),
        ("pricing/publicOnDemandCost", "pricing_public_on_demand_cost"),
        ("savingsPlan/SavingsPlanEffectiveCost", "savings_plan_savings_plan_effective_cost"),
        ("line_item_usage_type", "line_item_usage_type"),  # CUR 2.0 names stay
    ],
)
def test_legacy_cur_names_become_cur2_names(legacy: str, cur2: str) -> None:
    assert cur2_name(legacy) == cur2


# --- shared mapping -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("usage_type", "instance_type", "spot"),
    [
        ("SpotUsage:g5.xlarge", "g5.xlarge", True),  # us-east-1 has no prefix
        ("USW2-SpotUsage:g5.2xlarge", "g5.2xlarge", True),
        ("BoxUsage:p4d.24xlarge", "p4d.24xlarge", False),
        ("EUC1-DedicatedUsage:m7i-flex.xlarge", "m7i-flex.xlarge", False),
        ("USE1-SpotUsage-Fargate-vCPU-Hours:perCPU", None, True),  # Fargate Spot: no type
        ("EBS:VolumeUsage.gp3", None, False),
        ("InstanceUsage:db.t3.micro", None, False),  # RDS classes are not EC2 types
        (None, None, None),
    ],
)
def test_usage_types_give_instance_type_and_spot(
    usage_type: str | None, instance_type: str | None, spot: bool | None
) -> None:
    series = pd.Series([usage_type], dtype="string")
    got_type = common.instance_type_from_usage_type(series).iloc[0]
    got_spot = common.spot_in_usage_type(series).iloc[0]
    assert (None if pd.isna(got_type) else got_type) == instance_type
    assert (None if pd.isna(got_spot) else bool(got_spot)) == spot


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("Standard", "Standard"),
        ("dynamic", "Dynamic"),  # case is not significant
        ("On-Demand", "Standard"),  # FOCUS 1.0-preview names (old Azure exports)
        ("Commitment-Based", "Committed"),
        ("Spot-ish", "Other"),  # unknown: Other, and listed
        (None, None),
    ],
)
def test_pricing_categories_are_focus_values(written: str | None, stored: str | None) -> None:
    mapped, unknown = common.pricing_categories(pd.Series([written], dtype="string"))
    assert (None if pd.isna(mapped.iloc[0]) else mapped.iloc[0]) == stored
    assert unknown == (["Spot-ish"] if written == "Spot-ish" else [])


@pytest.mark.parametrize(
    ("key", "kept"),
    [
        ("user:team", "team"),  # legacy CUR resourceTags/user:team, FOCUS
        ("user_team", "team"),  # CUR 2.0 resource_tags map
        ("aws:createdBy", "aws:createdBy"),  # AWS-generated tags stay as written
        ("aws_created_by", "aws_created_by"),
        ("team", "team"),
        ("user_", "user_"),  # nothing after the prefix: not a user tag
    ],
)
def test_aws_tag_keys_lose_the_user_prefix(key: str, kept: str) -> None:
    assert common.aws_tag_key(key) == kept


def test_hash_keys_are_stable_and_keep_identical_lines_apart() -> None:
    frame = pd.DataFrame({"a": ["x", "x", "y"], "b": [1.0, 1.0, 1.0]})
    keys = common.hash_keys(frame, ["a", "b"])
    assert keys.nunique() == 3  # two identical lines get different keys
    assert keys.tolist() == common.hash_keys(frame.copy(), ["a", "b"]).tolist()
    assert common.hash_keys(frame.iloc[[1, 0, 2]], ["a", "b"]).tolist() == keys.tolist()


# --- FOCUS --------------------------------------------------------------------------------


def test_focus_subset_maps_every_column() -> None:
    batch = one(read_focus([FOCUS_SUBSET], None, None))
    frame = batch.frame
    assert batch.source == "focus:focus-1.0_focus_sample_subset.csv"
    assert list(frame.columns) == BILLING.column_names and len(frame) == 15
    assert frame["provider"].value_counts().to_dict() == {"aws": 9, "oracle": 4, "azure": 2}
    first = frame.iloc[0]  # the SQS line: AvailabilityZone and Tags are NULL
    assert pd.isna(first["availability_zone"]) and pd.isna(first["tags"])
    assert first["charge_period_start"] == pd.Timestamp("2024-09-18 22:00", tz="UTC")
    assert first["billed_cost"] == pytest.approx(8e-07)
    assert first["service_name"] == "Amazon Simple Queue Service"
    assert first["pricing_category"] == "Standard" and flag(first["is_spot"]) is False
    assert json.loads(frame.iloc[1]["tags"]) == {
        "application": "BrightLensMatrix",
        "environment": "dev",
        "business_unit": "ViennaAI",
    }
    # no spot line in the sample
    assert not frame["is_spot"].fillna(False).any()


def test_focus_literal_null_and_empty_cells_are_null() -> None:
    frame = one(read_focus([FOCUS_SUBSET], None, None)).frame
    credit = frame[frame["charge_category"] == "Credit"].iloc[0]
    assert credit["pricing_category"] == "Other" and flag(credit["is_spot"]) is False
    assert pd.isna(credit["consumed_quantity"]) and pd.isna(credit["consumed_unit"])
    assert pd.isna(credit["resource_id"]) and credit["billed_cost"] == pytest.approx(-2.6137)
    oracle = frame[frame["provider"] == "oracle"]
    # Oracle writes PricingCategory as an empty string: unknown, and so is is_spot
    assert oracle["pricing_category"].isna().all() and oracle["is_spot"].isna().all()
    assert oracle["region_id"].isna().all()  # RegionId NULL
    assert set(oracle["charge_category"]) == {"Usage", "Adjustment"}


def test_focus_microsoft_lines_lose_numeric_zones_and_keep_tags_as_written() -> None:
    batch = one(read_focus([FOCUS_SUBSET], None, None))
    azure = batch.frame[batch.frame["provider"] == "azure"]
    assert azure["availability_zone"].isna().all()  # 0.05, 0.00941 are not zones
    assert any("2 AvailabilityZone values are numbers" in n for n in batch.notes)
    tags = [json.loads(t) for t in azure["tags"]]
    assert " org" in tags[0] and tags[0]["org"] == "trey"  # keys as Microsoft wrote them
    assert tags[1]["test"] == ",NULL,NULL,"  # a tag value that looks like NULL stays text


def test_focus_instance_types_from_ec2_charge_descriptions() -> None:
    frame = one(read_focus([FOCUS_SUBSET], None, None)).frame
    typed = frame.dropna(subset=["instance_type"])
    assert sorted(typed["instance_type"]) == ["c5.2xlarge", "g5.4xlarge", "m5.2xlarge", "t2.medium"]
    committed = typed[typed["pricing_category"] == "Committed"].iloc[0]
    assert committed["instance_type"] == "t2.medium" and flag(committed["is_spot"]) is False
    rds = frame[frame["service_name"] == "Amazon Relational Database Service"].iloc[0]
    assert pd.isna(rds["instance_type"])  # "db.t3.micro Single-AZ instance hour"


def test_focus_as_of_is_the_newest_charge_period_end_unless_given() -> None:
    batch = one(read_focus([FOCUS_SUBSET], None, None))
    assert (batch.frame["as_of"] == pd.Timestamp("2024-09-30 23:00", tz="UTC")).all()
    assert "newest charge period end" in batch.notes[0]
    given = datetime(2024, 10, 5, tzinfo=UTC)
    batch = one(read_focus([FOCUS_SUBSET], given, "mine"))
    assert (batch.frame["as_of"] == pd.Timestamp(given)).all()
    assert set(batch.frame["source"]) == {"mine"} and "(given)" in batch.notes[0]


HEADER = "ChargePeriodStart,ChargePeriodEnd,BilledCost,ProviderName,PricingCategory"


@pytest.mark.parametrize(
    ("extra_header", "row", "spot"),
    [
        # AWS FOCUS exports: x_UsageType decides, and cross-checks PricingCategory
        (",x_UsageType", "AWS,Dynamic,USE2-SpotUsage:g5.xlarge", True),
        (",x_UsageType", "AWS,Standard,BoxUsage:g5.xlarge", False),
        (",x_UsageType", "AWS,Dynamic,BoxUsage:g5.xlarge", False),  # disagreement: noted
        # no usage type: PricingCategory Dynamic
        ("", "Microsoft,Dynamic", True),
        ("", "Microsoft,Standard", False),
        ("", "Oracle,", None),  # nothing said: unknown
        # Azure FocusCost: x_PricingSubcategory = Spot
        (",x_PricingSubcategory", "Microsoft,Standard,Spot", True),
        # Google Cloud: the SKU text decides, PricingCategory is a hint only
        (",ChargeDescription", "Google Cloud,Standard,Spot Preemptible Nvidia L4 GPU", True),
        (",ChargeDescription", "Google Cloud,Dynamic,Nvidia L4 GPU running in Americas", False),
    ],
)
def test_focus_spot_detection(extra_header: str, row: str, spot: bool | None) -> None:
    text = f"{HEADER}{extra_header}\n2025-03-01 00:00:00,2025-03-01 01:00:00,1.5,{row}\n"
    frame, notes = focus_rows(text)
    got = frame["is_spot"].iloc[0]
    assert (None if pd.isna(got) else bool(got)) == spot
    if row == "AWS,Dynamic,BoxUsage:g5.xlarge":
        assert any("Dynamic but a usage type without SpotUsage" in n for n in notes)


def test_focus_user_tag_prefix_is_dropped_for_aws_lines_only() -> None:
    text = (
        f"{HEADER},Tags\n"
        '2025-03-01,2025-03-02,1,AWS,Standard,"{""user:team"": ""ml"", ""aws:createdBy"": ""x""}"\n'
        '2025-03-01,2025-03-02,1,Microsoft,Standard,"{""user:team"": ""ml""}"\n'
    )
    frame, _ = focus_rows(text)
    assert json.loads(frame["tags"].iloc[0]) == {"team": "ml", "aws:createdBy": "x"}
    assert json.loads(frame["tags"].iloc[1]) == {"user:team": "ml"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ChargePeriodStart,ChargePeriodEnd\n2025-03-01,2025-03-02\n", "no BilledCost column"),
        (f"{HEADER}\n2025-03-01,2025-03-02,abc,AWS,Standard\n", "line 2: BilledCost 'abc'"),
        (f"{HEADER}\nyesterday,2025-03-02,1,AWS,Standard\n", "line 2: ChargePeriodStart"),
        (f"{HEADER}\nNULL,2025-03-02,1,AWS,Standard\n", "line 2 has no ChargePeriodStart"),
        (f"{HEADER},Tags\n2025-03-01,2025-03-02,1,AWS,Standard,team=ml\n", "line 2: Tags"),
        (f"{HEADER}\n2025-03-02,2025-03-01,1,AWS,Standard\n", "end before they start"),
    ],
)
def test_focus_errors_name_the_line_and_column(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        focus_rows(text)


def test_focus_parquet_gives_the_same_rows_as_csv(tmp_path: Path) -> None:
    """A Parquet copy of the subset, with costs as DOUBLE, times as TIMESTAMP and Tags as
    a MAP (as AWS's FOCUS Parquet writes them), reads into the same rows."""
    parquet = tmp_path / "focus_subset.parquet"
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(
        "CREATE TABLE t AS SELECT * FROM read_csv(?, all_varchar = true, header = true)",
        [str(FOCUS_SUBSET)],
    )
    names = [r[0] for r in con.execute("DESCRIBE t").fetchall()]
    doubles = {"BilledCost", "EffectiveCost", "ListCost", "ConsumedQuantity"}
    times = {"ChargePeriodStart", "ChargePeriodEnd"}
    selects = []
    for name in names:
        cell = f"NULLIF(NULLIF(\"{name}\", 'NULL'), '')"
        if name in doubles:
            selects.append(f'CAST({cell} AS DOUBLE) AS "{name}"')
        elif name in times:
            selects.append(f'CAST({cell} AS TIMESTAMP) AS "{name}"')
        elif name == "Tags":
            selects.append(f'CAST(CAST({cell} AS JSON) AS MAP(VARCHAR, VARCHAR)) AS "{name}"')
        else:
            selects.append(f'{cell} AS "{name}"')
    con.execute(f"COPY (SELECT {', '.join(selects)} FROM t) TO ? (FORMAT parquet)", [str(parquet)])
    con.close()
    assert detect_format(parquet).name == "focus"
    from_csv = one(read_focus([FOCUS_SUBSET], None, "same")).frame
    from_parquet = one(read_focus([parquet], None, "same")).frame
    pd.testing.assert_frame_equal(from_parquet, from_csv)


@pytest.mark.shared_data
def test_focus_sample_1000_rows(shared_data: Path) -> None:
    batch = one(read_focus([shared_data / FOCUS_SAMPLE], None, None))
    frame = batch.frame
    assert len(frame) == 1000 and frame["row_key"].is_unique
    # ProviderName AWS 942, Microsoft 51, Oracle 7
    assert frame["provider"].value_counts().to_dict() == {"aws": 942, "azure": 51, "oracle": 7}
    assert not frame["is_spot"].fillna(False).any()  # no spot rows in the sample
    assert int(frame["is_spot"].isna().sum()) == 7  # Oracle's empty PricingCategory
    assert frame["charge_category"].value_counts().to_dict() == {
        "Usage": 997,
        "Adjustment": 2,
        "Credit": 1,
    }
    assert frame["pricing_category"].value_counts().to_dict() == {
        "Standard": 988,
        "Committed": 4,
        "Other": 1,
    }
    # the literal NULL: 289 NULL Tags, 893 NULL zones (+ 51 Microsoft numbers dropped)
    assert int(frame["tags"].isna().sum()) == 289
    assert int(frame["availability_zone"].isna().sum()) == 893 + 51
    assert int(frame["resource_id"].isna().sum()) == 75
    assert all(isinstance(json.loads(t), dict) for t in frame["tags"].dropna())
    assert int((frame["service_name"] == "Amazon Elastic Compute Cloud").sum()) == 554
    assert frame["charge_period_start"].min() == pd.Timestamp("2024-09-01", tz="UTC")
    assert (frame["as_of"] == pd.Timestamp("2024-10-01", tz="UTC")).all()
    assert set(frame["billing_currency"]) == {"USD"}


# --- CUR ----------------------------------------------------------------------------------


def test_cur2_spot_by_pricing_term_and_by_usage_type_fallback() -> None:
    batch = one(read_cur([CUR2_CSV], None, None))
    frame = batch.frame.set_index(batch.frame["row_key"].str.split("@").str[0])
    by_term = frame.loc["synthspot0000000000000000000001"]
    assert flag(by_term["is_spot"]) is True and by_term["pricing_category"] == "Dynamic"
    assert by_term["instance_type"] == "g5.xlarge" and by_term["list_cost"] == 1.006
    assert by_term["availability_zone"] == "us-east-1a"
    fallback = frame.loc["synthspot0000000000000000000002"]  # pricing_term empty
    assert flag(fallback["is_spot"]) is True and fallback["pricing_category"] == "Dynamic"
    assert fallback["instance_type"] == "g5.2xlarge"  # from USW2-SpotUsage:g5.2xlarge
    assert fallback["region_id"] == "us-west-2"
    assert any("1 spot lines have no pricing_term" in n for n in batch.notes)
    assert int(frame["is_spot"].fillna(False).sum()) == 2


def test_cur2_commitments_costs_and_categories() -> None:
    frame = one(read_cur([CUR2_CSV], None, None)).frame
    by_id = frame.set_index(frame["row_key"].str.split("@").str[0])
    covered = by_id.loc["synthsp000000000000000000000005"]
    assert covered["billed_cost"] == pytest.approx(32.7726)
    assert covered["effective_cost"] == pytest.approx(20.0)  # the plan's effective cost
    assert covered["pricing_category"] == "Committed" and flag(covered["is_spot"]) is False
    negation = by_id.loc["synthsp000000000000000000000006"]
    assert negation["effective_cost"] == 0.0 and negation["billed_cost"] < 0
    reserved = by_id.loc["synthri000000000000000000000007"]
    assert reserved["effective_cost"] == pytest.approx(0.62)
    assert reserved["pricing_category"] == "Committed"
    tax = by_id.loc["synthtax00000000000000000000009"]
    assert tax["charge_category"] == "Tax" and pd.isna(tax["is_spot"])
    assert pd.isna(tax["pricing_category"]) and pd.isna(tax["usage_type"])
    assert set(frame["service_name"]) == {"Amazon Elastic Compute Cloud"}
    assert set(frame["sub_account_id"]) == {"111122223333"}


def test_cur2_resource_tags_are_normalised() -> None:
    frame = one(read_cur([CUR2_CSV], None, None)).frame
    tags = [json.loads(t) for t in frame["tags"]]
    assert tags[0] == {"team": "ml", "env": "prod"}  # user_team, user_env
    assert tags[6] == {"team": "infra", "aws_created_by": "bot"}  # aws_ keys kept
    assert tags[7] == {}  # an empty map: no activated tags on that volume


def test_cur2_parquet_and_csv_give_the_same_rows() -> None:
    from_csv = one(read_cur([CUR2_CSV], None, "same")).frame
    from_parquet = one(read_cur([CUR2_PARQUET], None, "same")).frame
    pd.testing.assert_frame_equal(from_parquet, from_csv)


def test_cur_row_keys_are_line_ids_per_interval_and_stable() -> None:
    first = one(read_cur([CUR2_PARQUET], None, None)).frame
    again = one(read_cur([CUR2_PARQUET], None, None)).frame
    assert first["row_key"].tolist() == again["row_key"].tolist()
    ids = first["row_key"].str.split("@").str[0]
    assert ids.nunique() == 8 and first["row_key"].is_unique  # one id, two hours


def test_legacy_cur_subset_and_its_repeated_line_item_id() -> None:
    batch = one(read_cur([CUR_LEGACY_SUBSET], None, None))
    frame = batch.frame
    assert len(frame) == 10 and frame["row_key"].is_unique
    repeated = frame[frame["row_key"].str.startswith("24depyj234")]
    assert len(repeated) == 3  # the same id on 11-04, 11-05 and 11-06
    tax = frame[frame["charge_category"] == "Tax"]
    assert len(tax) == 3 and tax["is_spot"].isna().all()
    assert tax["charge_period_end"].max() == pd.Timestamp("2023-12-01", tz="UTC")
    assert frame["tags"].isna().all()  # the file has no resourceTags columns
    assert frame["instance_type"].isna().all()
    no_term = frame[frame["usage_type"] == "APN3-Catalog-Request"].iloc[0]
    assert pd.isna(no_term["pricing_category"]) and flag(no_term["is_spot"]) is False
    assert set(frame["region_id"]) >= {"global", "ca-central-1"}


def test_legacy_cur_tag_columns_become_tags() -> None:
    text = (
        "lineItem/UsageStartDate,lineItem/UsageEndDate,lineItem/UnblendedCost,"
        "lineItem/UsageType,pricing/term,resourceTags/user:team,resourceTags/aws:createdBy\n"
        "2025-03-01T00:00:00Z,2025-03-01T01:00:00Z,0.4,SpotUsage:g5.xlarge,Spot,ml,\n"
        "2025-03-01T00:00:00Z,2025-03-01T01:00:00Z,0.4,SpotUsage:g5.xlarge,Spot,,\n"
    )
    frame, notes = cur_rows(text)
    assert json.loads(frame["tags"].iloc[0]) == {"team": "ml"}
    assert frame["tags"].iloc[1] == "{}"
    # no identity_line_item_id: hashed keys, and the two identical lines stay two
    assert frame["row_key"].nunique() == 2
    assert any("row keys are hashes" in n for n in notes)


@pytest.mark.shared_data
def test_legacy_cur_sample_1281_rows_no_ec2(shared_data: Path) -> None:
    batch = one(read_cur([shared_data / CUR_SAMPLE], None, None))
    frame = batch.frame
    assert len(frame) == 1281 and frame["row_key"].is_unique
    assert frame["charge_category"].value_counts().to_dict() == {"Usage": 1269, "Tax": 12}
    # identity/LineItemId repeats across daily intervals: 388 ids for 1,281 lines
    assert frame["row_key"].str.split("@").str[0].nunique() == 388
    assert not frame["service_name"].str.contains("Elastic Compute Cloud").any()
    assert frame["instance_type"].isna().all()
    assert not frame["is_spot"].fillna(False).any()
    assert int(frame["is_spot"].isna().sum()) == 12  # tax lines say nothing
    assert frame["pricing_category"].value_counts().to_dict() == {"Standard": 901}
    assert frame["tags"].isna().all() and set(frame["billing_currency"]) == {"USD"}
    assert frame["charge_period_start"].min() == pd.Timestamp("2023-11-01", tz="UTC")


# --- the store ----------------------------------------------------------------------------


def test_store_write_twice_inserts_nothing_the_second_time(tmp_path: Path) -> None:
    store = Store(tmp_path / "billing.duckdb")
    batches = parse_files([CUR2_PARQUET, FOCUS_SUBSET])
    first = store.write(batches)
    assert [r.inserted for r in first] == [len(b.frame) for b in batches]
    again = store.write(parse_files([CUR2_PARQUET, FOCUS_SUBSET]))
    assert [r.inserted for r in again] == [0, 0]
    assert [r.unchanged for r in again] == [len(b.frame) for b in batches]
    stored = store.read(BILLING)
    assert len(stored) == sum(len(b.frame) for b in batches)
    assert stored["is_spot"].dtype == "boolean"
    back = validate(stored, BILLING)
    assert int(back["is_spot"].fillna(False).sum()) == 2


def test_boolean_column_reads_text_and_rejects_nonsense() -> None:
    frame = one(read_cur([CUR2_CSV], None, None)).frame.head(2).copy()
    frame["is_spot"] = pd.Series(["true", "FALSE"], dtype="string")
    assert validate(frame, BILLING)["is_spot"].tolist() == [True, False]
    frame["is_spot"] = pd.Series(["yes", None], dtype="object")
    with pytest.raises(UsageError, match="is_spot"):
        validate(frame, BILLING)


# --- s3:// --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    """moto's server on 127.0.0.1 (a free port) for this module."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def bucket(moto_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """A bucket in moto with the CUR 2.0 Parquet under a Data Exports-like prefix, and
    the environment pointing boto3 at moto with dummy credentials."""
    import boto3

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_S3": moto_url,
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="billing")
    data = "exports/cur2/data/BILLING_PERIOD=2025-03/cur2-00001.snappy.parquet"
    s3.upload_file(str(CUR2_PARQUET), "billing", data)
    s3.put_object(
        Bucket="billing",
        Key="exports/cur2/metadata/BILLING_PERIOD=2025-03/cur2-Manifest.json",
        Body=b'{"reportName": "cur2"}',
    )
    yield "billing"
    request = urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST")
    urllib.request.urlopen(request, timeout=10).close()


def test_s3_object_is_downloaded_then_detected_and_read(bucket: str) -> None:
    uri = f"s3://{bucket}/exports/cur2/data/BILLING_PERIOD=2025-03/cur2-00001.snappy.parquet"
    batch = one(parse_files([uri]))
    assert batch.origin == uri  # named by the object, not the temporary copy
    assert batch.source == "aws-cur:cur2-00001.snappy.parquet"
    local = one(read_cur([CUR2_PARQUET], None, batch.source)).frame
    pd.testing.assert_frame_equal(batch.frame, local)


def test_s3_prefix_imports_every_object_but_manifests(bucket: str) -> None:
    # pathlib folds s3://bucket/exports/ into s3:/bucket/exports, as the CLI passes it
    batches = parse_files([Path(f"s3://{bucket}/exports/")])
    batch = one(batches)
    assert batch.origin.endswith("cur2-00001.snappy.parquet") and len(batch.frame) == 9
    assert any("skipped 1 export manifest" in n for n in batch.notes)
    assert not any("111122223333" in n for n in batch.notes)


def test_s3_missing_object_is_a_clear_error(bucket: str) -> None:
    with pytest.raises(UsageError, match="no objects to import there"):
        parse_files([f"s3://{bucket}/exports/nothing-here.parquet"])


def test_s3_store_import_is_idempotent(bucket: str, tmp_path: Path) -> None:
    store = Store(tmp_path / "s3.duckdb")
    uri = f"s3://{bucket}/exports/cur2/data/"
    assert store.write(parse_files([uri]))[0].inserted == 9
    result = store.write(parse_files([uri]))[0]
    assert (result.inserted, result.unchanged) == (0, 9)
    assert result.origin.startswith("s3://billing/exports/cur2/data/")


def test_downloads_are_removed_after_reading(bucket: str) -> None:
    seen: list[Path] = []
    parse_files([f"s3://{bucket}/exports/cur2/data/"], on_file=lambda path, _: seen.append(path))
    assert len(seen) == 1 and seen[0].name == "cur2-00001.snappy.parquet"
    assert not seen[0].exists()


def test_errors_in_downloaded_files_name_the_s3_object(bucket: str) -> None:
    import boto3

    boto3.client("s3").put_object(
        Bucket=bucket, Key="bad/focus.csv", Body=f"{HEADER}\nNULL,2025-03-02,1,AWS,\n".encode()
    )
    with pytest.raises(UsageError) as info:
        parse_files([f"s3://{bucket}/bad/focus.csv"])
    assert info.value.file == f"s3://{bucket}/bad/focus.csv"
