"""SkyPilot catalog importers: one tiny frame per quirk, fixture subsets, then the real files.

The files in ``tests/fixtures/skypilot_catalog`` are verbatim row subsets (header plus a
few rows) of the public samples in ``shared/data/skypilot-catalog`` (from
skypilot-org/skypilot-catalog ``catalogs/v8/{aws,gcp}/vms.csv`` and
``catalogs/v6/azure/vms.csv``), picked to hold every quirk below; each test that reads
them says which rows carry which quirk. The folder holds only CSVs, so importing it
whole works too.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import os
import shutil
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from spotadvisor.errors import UsageError
from spotadvisor.importers import skypilot as sc
from spotadvisor.schema import OFFERS
from tests.conftest import FIXTURES

AS_OF = datetime(2025, 7, 1, tzinfo=UTC)
FIX = FIXTURES / "skypilot_catalog"
AWS_FIX = [
    FIX / "aws_v8_vms_subset_g4dn_g5_g6f_p3_p3dn_p6b200.csv",
    FIX / "aws_v8_vms_subset_g6e12xl_p4d_p4de_p5_p5e_p5en.csv",
]
GCP_VM_FIX = FIX / "gcp_v8_vms_subset_a2_a3_a4_g2.csv"
GCP_ACC_FIX = FIX / "gcp_v8_vms_accelerator_rows_subset.csv"
AZURE_FIX = FIX / "azure_v6_vms_subset_N-series.csv"


def gpu_info(mib: int, partition: float = 1.0) -> str:
    """An AWS GpuInfo cell (a Python-literal dict) with one GPU entry."""
    return (
        f"{{'Gpus': [{{'Name': 'X', 'Count': 1, 'GpuPartitionSize': {partition}, "
        f"'MemoryInfo': {{'SizeInMiB': {mib}}}}}]}}"
    )


def aws_row(**cells: str) -> dict[str, str]:
    """An AWS catalog row as text: p5.48xlarge in use1-az4 unless told otherwise."""
    row = {
        "InstanceType": "p5.48xlarge",
        "AcceleratorName": "H100",
        "AcceleratorCount": "8.0",
        "vCPUs": "192.0",
        "MemoryGiB": "2048.0",
        "GpuInfo": gpu_info(81920),
        "Price": "55.04",
        "SpotPrice": "20.000000",
        "Region": "us-east-1",
        "AvailabilityZone": "use1-az4",
        "Arch": "x86_64",
    }
    return {**row, **cells}


def gcp_vm(**cells: str) -> dict[str, str]:
    """A GCP VM row: g2-standard-4 in us-central1-a (its price excludes the L4)."""
    row = dict.fromkeys(sc.GCP_COLUMNS, "")
    row.update(
        InstanceType="g2-standard-4",
        vCPUs="4.0",
        MemoryGiB="16.0",
        Region="us-central1",
        AvailabilityZone="us-central1-a",
        Price="0.14679",
        SpotPrice="0.05874",
    )
    return {**row, **cells}


GCP_GPU_MIB = {"L4": 24576, "T4": 16384, "A100-80GB": 81920, "H200": 144384, "B200": 184320}


def gcp_acc(**cells: str) -> dict[str, str]:
    """A GCP accelerator row (empty InstanceType): L4 x1 in us-central1-a.

    ``GpuInfo`` follows the accelerator name, as in the catalog.
    """
    mib = GCP_GPU_MIB[cells.get("AcceleratorName", "L4")]
    row = dict.fromkeys(sc.GCP_COLUMNS, "")
    row.update(
        AcceleratorName="L4",
        AcceleratorCount="1",
        GpuInfo=f"{{'Gpus': [{{'MemoryInfo': {{'SizeInMiB': {mib}}}}}]}}",
        Region="us-central1",
        AvailabilityZone="us-central1-a",
        Price="0.56004",
        SpotPrice="0.2231",
    )
    return {**row, **cells}


def azure_row(**cells: str) -> dict[str, str]:
    """An Azure row: Standard_NC4as_T4_v3 in eastus2 unless told otherwise."""
    row = {
        "InstanceType": "Standard_NC4as_T4_v3",
        "AcceleratorName": "T4",
        "AcceleratorCount": "1",
        "vCPUs": "4.0",
        "MemoryGiB": "28",
        "GpuInfo": "T4",
        "Price": "0.526",
        "SpotPrice": "0.05786",
        "Region": "eastus2",
        "Generation": "V1,V2",
    }
    return {**row, **cells}


def csv_text(columns: Sequence[str], rows: list[dict[str, str]]) -> str:
    """A CSV head with ``columns`` in this order, as a file would start."""
    out = io.StringIO()
    writer = csv.DictWriter(
        out, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n"
    )
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def parse(kind: str, *rows: dict[str, str]) -> tuple[pd.DataFrame, list[str]]:
    parser = {
        "aws": sc.parse_aws_catalog,
        "gcp": sc.parse_gcp_catalog,
        "azure": sc.parse_azure_catalog,
    }[kind]
    return parser(pd.DataFrame(list(rows)), source="test", as_of=AS_OF, origin="t.csv")


def flags(value: Any) -> set[str]:
    """The flags of one quality_flags cell."""
    return set() if pd.isna(value) else set(str(value).split(";"))


def flag_counts(frame: pd.DataFrame) -> dict[str, int]:
    """Offers per flag kind (the part before any parenthesis)."""
    counts: dict[str, int] = {}
    for cell in frame["quality_flags"]:
        for flag in {f.partition("(")[0] for f in flags(cell)}:
            counts[flag] = counts.get(flag, 0) + 1
    return dict(sorted(counts.items()))


def same(actual: Any, expected: float | None) -> bool:
    """Equal to 6 decimals, or both unknown."""
    if expected is None:
        return bool(pd.isna(actual))
    return not pd.isna(actual) and math.isclose(float(actual), expected, abs_tol=1e-6)


# -- prices --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("price", "spot", "want_on_demand", "want_spot", "flag"),
    [
        # a market discount: kept, no flag
        ("55.04", "20.000000", 55.04, 20.0, None),
        # filler: the 6-decimal spot column repeats on-demand (p4d apne1-az1)
        ("30.09784", "30.097800", 30.09784, None, "spot_price_filler"),
        # filler through rounding, 0.00005 above on-demand (g5.24xlarge euc1-az2)
        ("10.18405", "10.184100", 10.18405, None, "spot_price_filler"),
        # exactly 10 % of on-demand to 4 decimals (g4dn.16xlarge afs1-az2): a floor
        ("5.774", "0.577400", 5.774, 0.5774, "spot_price_floor_10pct"),
        # 10 % after rounding to 4 decimals (p5en eus2-az2: 6.835968 -> 6.8360)
        ("68.35968", "6.836000", 68.35968, 6.836, "spot_price_floor_10pct"),
        # above on-demand beyond the rounding: kept and flagged
        ("10.0", "10.500000", 10.0, 10.5, "spot_above_on_demand"),
        # empty spot is unknown, never 0 (p5.4xlarge us-east-1)
        ("6.88", "", 6.88, None, "spot_price_missing"),
        # empty on-demand (p5e): spot kept, nothing to compare it with
        ("", "62.995700", None, 62.9957, "on_demand_price_missing"),
        # 0.0 is unknown, not free (GCP a4 rows)
        ("0.0", "0.0", None, None, "price_zero"),
    ],
)
def test_aws_spot_rules(
    price: str, spot: str, want_on_demand: float | None, want_spot: float | None, flag: str | None
) -> None:
    offers, _ = parse("aws", aws_row(Price=price, SpotPrice=spot))
    row = offers.iloc[0]
    assert same(row["price_on_demand_usd_per_hour"], want_on_demand)
    assert same(row["price_spot_usd_per_hour"], want_spot)
    assert flags(row["quality_flags"]) == ({flag} if flag else set())


def test_both_prices_empty_keeps_the_row_with_both_flags() -> None:
    offers, _ = parse("aws", aws_row(Price="", SpotPrice=""))
    assert len(offers) == 1
    assert flags(offers.at[0, "quality_flags"]) == {
        "on_demand_price_missing",
        "spot_price_missing",
    }


def test_malformed_price_names_file_column_and_line() -> None:
    with pytest.raises(UsageError) as err:
        parse("aws", aws_row(), aws_row(AvailabilityZone="use1-az6", Price="n/a"))
    assert (err.value.file, err.value.field) == ("t.csv", "Price")
    assert "line 3" in err.value.message


# -- GPUs ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cells", "want", "flag"),
    [
        # reference and catalog agree; 81920 "MiB" is 80 GiB, the nominal 80 GB
        ({}, ("H100", 8.0, 80.0), None),
        # 22888 "MiB" is really MB/1.048576: 24.0 GB, the A10G's nominal
        (
            {"InstanceType": "g5.xlarge", "AcceleratorName": "A10G",
             "AcceleratorCount": "1.0", "GpuInfo": gpu_info(22888)},
            ("A10G", 1.0, 24.0), None,
        ),
        # fractional L4: the slice's memory over the partition size is a whole L4
        (
            {"InstanceType": "g6f.large", "AcceleratorName": "L4",
             "AcceleratorCount": "0.125", "GpuInfo": gpu_info(2861, 0.125)},
            ("L4", 0.125, 24.0), None,
        ),
        # the catalog's count is wrong: the reference wins, the flag keeps the catalog's
        ({"AcceleratorCount": "4.0"}, ("H100", 8.0, 80.0), "gpu_count_corrected(catalog=4)"),
        # the catalog's GPU name disagrees with the reference
        (
            {"InstanceType": "p4d.24xlarge", "GpuInfo": gpu_info(40960)},
            ("A100", 8.0, 40.0), "gpu_model_corrected(catalog=H100)",
        ),
        # 40960 "MiB" is neither 80 GB nor 80 GiB
        ({"GpuInfo": gpu_info(40960)}, ("H100", 8.0, 80.0), "gpu_memory_mismatch(catalog=42.9)"),
        ({"GpuInfo": "not a dict"}, ("H100", 8.0, 80.0), "gpu_info_unreadable"),
        # not in the reference: the catalog's facts, flagged
        ({"InstanceType": "p9.48xlarge"}, ("H100", 8.0, 80.0), "gpu_unverified"),
        # unknown model too: memory from the GiB reading of GpuInfo
        (
            {"InstanceType": "g9.48xlarge", "AcceleratorName": "RTX PRO 6000",
             "GpuInfo": gpu_info(97887)},
            ("RTX PRO 6000", 8.0, 96.0), "gpu_unverified",
        ),
        # nothing known at all: GPU columns empty
        (
            {"InstanceType": "c5.large", "AcceleratorName": "", "AcceleratorCount": "",
             "GpuInfo": ""},
            (None, None, None), "gpu_unknown",
        ),
    ],
)  # fmt: skip
def test_aws_gpu_facts(
    cells: dict[str, str], want: tuple[str | None, float | None, float | None], flag: str | None
) -> None:
    offers, _ = parse("aws", aws_row(**cells))
    row = offers.iloc[0]
    model = None if pd.isna(row["gpu_model"]) else row["gpu_model"]
    assert model == want[0]
    assert same(row["gpu_count"], want[1])
    assert same(row["gpu_memory_gb"], want[2])
    assert flags(row["quality_flags"]) == ({flag} if flag else set())


# -- AWS zones -----------------------------------------------------------------------


def test_aws_zone_id_goes_to_zone_id_and_local_zones_are_kept() -> None:
    offers, _ = parse(
        "aws",
        aws_row(),
        aws_row(InstanceType="g5.4xlarge", AcceleratorName="A10G", AcceleratorCount="1.0",
                GpuInfo=gpu_info(22888), Region="us-west-2", AvailabilityZone="usw2-lax1-az1"),
    )  # fmt: skip
    assert list(offers["zone_id"]) == ["use1-az4", "usw2-lax1-az1"]
    assert offers["zone"].isna().all()
    assert (offers["cloud"] == "aws").all()


def test_aws_region_that_does_not_match_its_zone_id_is_an_error() -> None:
    with pytest.raises(UsageError) as err:
        parse("aws", aws_row(), aws_row(Region="us-west-2", AvailabilityZone="use1-az6"))
    assert (err.value.file, err.value.field) == ("t.csv", "Region")
    assert "line 3" in err.value.message
    assert "us-east-1" in err.value.message


def test_missing_column_names_it_with_a_fix() -> None:
    rows = pd.DataFrame([aws_row()]).drop(columns="SpotPrice")
    with pytest.raises(UsageError) as err:
        sc.parse_aws_catalog(rows, source="test", as_of=AS_OF, origin="t.csv")
    assert (err.value.file, err.value.field) == ("t.csv", "SpotPrice")
    assert err.value.fix


def test_every_row_carries_source_as_of_and_empty_bands() -> None:
    offers, notes = parse("aws", aws_row())
    assert list(offers.columns) == OFFERS.column_names
    assert (offers["source"] == "test").all()
    assert offers.at[0, "as_of"] == pd.Timestamp(AS_OF)
    for column in ("interruption_band", "interruption_band_lower_pct", "placement_score"):
        assert offers[column].isna().all()
    assert notes[0] == "1 catalog row(s) read, 1 offer(s) out"


# -- GCP -----------------------------------------------------------------------------


def test_gcp_vm_price_is_composed_with_its_accelerator_row() -> None:
    offers, _ = parse("gcp", gcp_vm(), gcp_acc())
    row = offers.iloc[0]
    assert same(row["price_on_demand_usd_per_hour"], 0.14679 + 0.56004)  # 0.70683
    assert same(row["price_spot_usd_per_hour"], 0.05874 + 0.2231)
    assert (row["gpu_model"], row["gpu_count"], row["gpu_memory_gb"]) == ("L4", 1.0, 24.0)
    assert (row["zone"], row["region"]) == ("us-central1-a", "us-central1")
    assert pd.isna(row["zone_id"]) and pd.isna(row["quality_flags"])


def test_gcp_uses_the_accelerator_row_with_the_machines_gpu_count() -> None:
    offers, _ = parse(
        "gcp",
        gcp_vm(InstanceType="g2-standard-24", Price="0.88075", SpotPrice="0.35242"),
        gcp_acc(),  # L4 x1: not this machine's
        gcp_acc(AcceleratorCount="2", Price="1.12008", SpotPrice="0.4462"),
    )
    assert len(offers) == 1
    assert same(offers.at[0, "price_on_demand_usd_per_hour"], 0.88075 + 1.12008)
    assert offers.at[0, "gpu_count"] == 2.0


@pytest.mark.parametrize(
    ("vm", "acc", "want_on_demand", "want_spot", "want_flags"),
    [
        # the accelerator's spot is above its on-demand (A100-80GB europe-west4-a), but
        # the composed price is judged: 3.24335 vs 2.63588, no flag
        (
            {"InstanceType": "a2-ultragpu-1g", "Price": "1.2105", "SpotPrice": "0.47328"},
            {"AcceleratorName": "A100-80GB", "Price": "2.03285", "SpotPrice": "2.1626"},
            3.24335, 2.63588, set(),
        ),
        # composed spot above composed on-demand: flagged, kept
        (
            {"InstanceType": "a2-ultragpu-1g", "Price": "0.1", "SpotPrice": "0.5"},
            {"AcceleratorName": "A100-80GB", "Price": "2.0", "SpotPrice": "2.1"},
            2.1, 2.6, {"spot_above_on_demand"},
        ),
        # empty accelerator spot (H200 us-east5-a): composed spot unknown
        (
            {"InstanceType": "a3-ultragpu-8g", "Price": "13.81519", "SpotPrice": "3.01627"},
            {"AcceleratorName": "H200", "AcceleratorCount": "8", "Price": "36.60258",
             "SpotPrice": ""},
            50.41777, None, {"spot_price_missing"},
        ),
        # a4 VM rows priced 0.0: unknown, so the sums are unknown
        (
            {"InstanceType": "a4-highgpu-8g", "Price": "0.0", "SpotPrice": "0.0"},
            {"AcceleratorName": "B200", "AcceleratorCount": "8", "Price": "90.216",
             "SpotPrice": "32.6064"},
            None, None, {"price_zero"},
        ),
        # GCP's 700.0 placeholder for "not offered" is unknown too
        (
            {}, {"Price": "700.0"}, None, 0.28184, {"price_sentinel"},
        ),
        # equal composed prices: the catalog's filler
        (
            {"Price": "0.1", "SpotPrice": "0.1"}, {"Price": "0.5", "SpotPrice": "0.5"},
            0.6, None, {"spot_price_filler"},
        ),
    ],
)  # fmt: skip
def test_gcp_rules_judge_the_composed_price(
    vm: dict[str, str],
    acc: dict[str, str],
    want_on_demand: float | None,
    want_spot: float | None,
    want_flags: set[str],
) -> None:
    offers, _ = parse("gcp", gcp_vm(**vm), gcp_acc(**acc))
    row = offers.iloc[0]
    assert same(row["price_on_demand_usd_per_hour"], want_on_demand)
    assert same(row["price_spot_usd_per_hour"], want_spot)
    assert flags(row["quality_flags"]) == want_flags


def test_gcp_vm_without_an_accelerator_row_in_its_zone_has_unknown_price() -> None:
    # a3-highgpu-1g in europe-west8-c has no H100 x1 row in the real catalog
    offers, _ = parse(
        "gcp",
        gcp_vm(InstanceType="a3-highgpu-1g", Region="europe-west8",
               AvailabilityZone="europe-west8-c", Price="1.37171", SpotPrice="0.2469"),
        gcp_acc(),
    )  # fmt: skip
    row = offers[offers["instance_type"] == "a3-highgpu-1g"].iloc[0]
    assert pd.isna(row["price_on_demand_usd_per_hour"])
    assert pd.isna(row["price_spot_usd_per_hour"])
    assert flags(row["quality_flags"]) == {"gpu_price_missing"}
    assert (row["gpu_model"], row["gpu_count"]) == ("H100", 1.0)


def test_gcp_gpu_vms_without_any_accelerator_rows_is_an_error() -> None:
    with pytest.raises(UsageError) as err:
        parse("gcp", gcp_vm())
    assert err.value.file == "t.csv"
    assert err.value.fix is not None and "accelerator rows" in err.value.fix


def test_gcp_unused_accelerator_rows_and_non_gpu_vms_are_skipped_with_notes() -> None:
    offers, notes = parse(
        "gcp",
        gcp_vm(),
        gcp_vm(InstanceType="n1-standard-8", Price="0.38", SpotPrice="0.08"),
        gcp_acc(),
        gcp_acc(AcceleratorName="T4", Price="0.35", SpotPrice="0.175"),
        gcp_acc(AcceleratorName="T4", AcceleratorCount="2", Price="0.7", SpotPrice="0.35"),
    )
    assert list(offers["instance_type"]) == ["g2-standard-4"]
    assert any("skipped 2 accelerator row(s)" in n and "T4 (2)" in n for n in notes)
    assert any("skipped 1 VM row(s)" in n and "n1-standard-8" in n for n in notes)


def test_gcp_zone_outside_its_region_is_an_error() -> None:
    with pytest.raises(UsageError) as err:
        parse("gcp", gcp_vm(Region="us-east1"), gcp_acc())
    assert (err.value.field, "line 2" in err.value.message) == ("Region", True)


def test_gcp_two_accelerator_rows_for_one_zone_name_and_count_is_an_error() -> None:
    with pytest.raises(UsageError) as err:
        parse("gcp", gcp_vm(), gcp_acc(), gcp_acc(Price="0.6"))
    assert err.value.field == "AcceleratorName"


# -- Azure ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cells", "want_count", "flag"),
    [
        # catalog says 12 GPUs; the SKU has 8
        ({"InstanceType": "Standard_ND96isr_H100_v5", "AcceleratorName": "H100",
          "AcceleratorCount": "12"}, 8.0, "gpu_count_corrected(catalog=12)"),
        # NV4as_v4 gets an eighth of an MI25, the catalog lists a whole one
        ({"InstanceType": "Standard_NV4as_v4", "AcceleratorName": "Radeon MI25",
          "AcceleratorCount": "1"}, 0.125, "gpu_count_corrected(catalog=1)"),
        # _Promo sizes are the same hardware
        ({"InstanceType": "Standard_NC6_Promo", "AcceleratorName": "K80"}, 1.0, None),
        # no accelerator columns (NCC H100), but the reference knows it
        ({"InstanceType": "Standard_NCC40ads_H100_v5", "AcceleratorName": "",
          "AcceleratorCount": ""}, 1.0, None),
        # ND40s_v3: neither the reference nor the catalog says
        ({"InstanceType": "Standard_ND40s_v3", "AcceleratorName": "",
          "AcceleratorCount": ""}, None, "gpu_unknown"),
    ],
)  # fmt: skip
def test_azure_gpu_facts(cells: dict[str, str], want_count: float | None, flag: str | None) -> None:
    offers, _ = parse("azure", azure_row(**cells))
    assert same(offers.at[0, "gpu_count"], want_count)
    assert flags(offers.at[0, "quality_flags"]) == ({flag} if flag else set())


def test_azure_skips_fpga_sizes_and_keeps_rows_without_prices() -> None:
    offers, notes = parse(
        "azure",
        azure_row(),
        azure_row(InstanceType="Standard_NP10s", AcceleratorName="", AcceleratorCount=""),
        azure_row(InstanceType="Standard_NC8ads_A10_v4", AcceleratorName="",
                  AcceleratorCount="", Price="", SpotPrice="", Region="eastus"),
    )  # fmt: skip
    assert list(offers["instance_type"]) == ["Standard_NC4as_T4_v3", "Standard_NC8ads_A10_v4"]
    assert offers["zone"].isna().all() and offers["zone_id"].isna().all()
    assert flags(offers.at[1, "quality_flags"]) == {"on_demand_price_missing", "spot_price_missing"}
    assert any(n.startswith("skipped 1 row(s)") and "Standard_NP10s" in n for n in notes)


def test_azure_h100_filler_spot_is_unknown() -> None:
    offers, _ = parse(
        "azure",
        azure_row(InstanceType="Standard_NC40ads_H100_v5", AcceleratorName="H100",
                  Price="6.98", SpotPrice="6.98"),
    )  # fmt: skip
    assert pd.isna(offers.at[0, "price_spot_usd_per_hour"])
    assert flags(offers.at[0, "quality_flags"]) == {"spot_price_filler"}


# -- sniffing ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        (AWS_FIX[0], "aws"),
        (AWS_FIX[1], "aws"),
        (GCP_VM_FIX, "gcp"),
        (GCP_ACC_FIX, "gcp"),
        (AZURE_FIX, "azure"),
    ],
)
def test_each_fixture_is_recognised_by_its_own_sniff_only(path: Path, kind: str) -> None:
    head = path.read_text()[:65536]
    seen = {"aws": sc.sniff_aws(head), "gcp": sc.sniff_gcp(head), "azure": sc.sniff_azure(head)}
    assert seen == {k: k == kind for k in seen}


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        # header only, in each catalog's own order
        (",".join(sc.AWS_COLUMNS) + "\n", "aws"),
        (",".join(sc.GCP_COLUMNS) + "\n", "gcp"),
        (",".join(sc.AZURE_COLUMNS) + "\n", "azure"),
        # AWS order but GCP zone names: the zones decide
        (csv_text(sc.AWS_COLUMNS, [gcp_vm()]), "gcp"),
        # columns in neither order, with AWS zone IDs
        (csv_text(sorted(sc.AWS_COLUMNS), [aws_row()]), "aws"),
        # ... and with GCP zone names
        (csv_text(sorted(sc.GCP_COLUMNS), [gcp_vm(), gcp_acc()]), "gcp"),
        # AWS with Arch: a zone that is neither kind does not make it GCP
        (csv_text([*sc.AWS_COLUMNS, "Arch"], [aws_row(AvailabilityZone="nowhere")]), "aws"),
        # a CSV of something else
        ("instance_type,price\np5.48xlarge,55.04\n", None),
        ("", None),
    ],
)  # fmt: skip
def test_sniff_tells_aws_from_gcp_by_order_or_zones(head: str, kind: str | None) -> None:
    seen = {"aws": sc.sniff_aws(head), "gcp": sc.sniff_gcp(head), "azure": sc.sniff_azure(head)}
    assert seen == {k: k == kind for k in seen}


def test_formats_are_named_and_wired() -> None:
    assert [f.name for f in (sc.AWS_CATALOG, sc.GCP_CATALOG, sc.AZURE_CATALOG)] == [
        "skypilot-aws",
        "skypilot-gcp",
        "skypilot-azure",
    ]
    assert sc.GCP_CATALOG.read is sc.read_gcp_catalog
    assert sc.AWS_CATALOG.sniff is sc.sniff_aws


# -- fixture files -------------------------------------------------------------------


def test_read_aws_fixtures_one_batch_per_file() -> None:
    batches = sc.read_aws_catalog(AWS_FIX, AS_OF, None)
    assert [b.origin for b in batches] == [str(p) for p in AWS_FIX]
    source = f"skypilot-aws:{AWS_FIX[0].name},{AWS_FIX[1].name}"
    assert {b.source for b in batches} == {source}
    first, second = (b.frame for b in batches)
    assert (len(first), len(second)) == (11, 9)
    assert flag_counts(first) == {
        "spot_price_filler": 3,  # g5.24xlarge euc1-az2/az3, p3.16xlarge euc1-az2
        "spot_price_floor_10pct": 2,  # g4dn.16xlarge afs1-az2, p3.16xlarge euc1-az3
        "spot_price_missing": 3,  # g5.4xlarge usw2-lax1-az1, g6f.large apne2, p3 use1-atl2
    }
    assert flag_counts(second) == {
        "on_demand_price_missing": 2,  # p5e
        "spot_price_filler": 2,  # p4d apne1-az1, p5.48xlarge use1-az1
        "spot_price_floor_10pct": 1,  # p5en eus2-az2
        "spot_price_missing": 2,  # p5.4xlarge use1-az1, p5e use2-az2
    }
    assert batches[0].notes[0].endswith("(given)")
    local = first[first["zone_id"].str.contains("-lax1-|-atl2-", regex=True)]
    assert set(local["region"]) == {"us-west-2", "us-east-1"}
    fractional = first[first["instance_type"] == "g6f.large"]
    assert set(fractional["gpu_count"]) == {0.125}
    p3dn = first[first["instance_type"] == "p3dn.24xlarge"].iloc[0]
    assert (p3dn["gpu_model"], p3dn["gpu_memory_gb"]) == ("V100", 32.0)


def test_read_gcp_fixtures_together_and_compose() -> None:
    [batch] = sc.read_gcp_catalog([GCP_VM_FIX, GCP_ACC_FIX], AS_OF, None)
    offers = batch.frame.set_index(["instance_type", "zone"])
    assert len(offers) == 8
    g2 = offers.loc[("g2-standard-4", "us-central1-a")]
    assert same(g2["price_on_demand_usd_per_hour"], 0.70683)
    assert same(g2["price_spot_usd_per_hour"], 0.28184)
    a2 = offers.loc[("a2-highgpu-1g", "us-central1-a")]
    assert same(a2["price_on_demand_usd_per_hour"], 0.73948 + 2.93391)
    assert flag_counts(batch.frame) == {
        "gpu_price_missing": 1,  # a3-highgpu-1g europe-west8-c
        "price_zero": 1,  # a4-highgpu-8g
        "spot_price_missing": 1,  # a3-ultragpu-8g us-east5-a (H200 spot empty)
    }
    assert any("skipped 2 accelerator row(s)" in n for n in batch.notes)
    assert batch.source == f"skypilot-gcp:{GCP_VM_FIX.name},{GCP_ACC_FIX.name}"


def test_read_the_same_files_twice_is_harmless_and_said(tmp_path: Path) -> None:
    [batch] = sc.read_gcp_catalog([GCP_VM_FIX, GCP_ACC_FIX, GCP_ACC_FIX], AS_OF, None)
    assert len(batch.frame) == 8
    copy = Path(shutil.copy(AWS_FIX[1], tmp_path / "again.csv"))
    batches = sc.read_aws_catalog([AWS_FIX[1], copy], AS_OF, None)
    assert [len(b.frame) for b in batches] == [9, 9]
    assert batches[1].notes[-1].startswith("9 offer(s) also appear in an earlier file")
    assert not any("earlier file" in n for n in batches[0].notes)


def test_read_gcp_vm_rows_alone_is_an_error_naming_the_fix() -> None:
    with pytest.raises(UsageError) as err:
        sc.read_gcp_catalog([GCP_VM_FIX], AS_OF, None)
    assert err.value.file == str(GCP_VM_FIX)


def test_read_gcp_uses_the_earliest_as_of(tmp_path: Path) -> None:
    vm = shutil.copy(GCP_VM_FIX, tmp_path / "vms.csv")
    acc = shutil.copy(GCP_ACC_FIX, tmp_path / "accelerators.csv")
    early, late = datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 5, 1, tzinfo=UTC)
    os.utime(vm, (late.timestamp(), late.timestamp()))
    os.utime(acc, (early.timestamp(), early.timestamp()))
    [batch] = sc.read_gcp_catalog([Path(vm), Path(acc)], None, "mine")
    assert (batch.frame["as_of"] == pd.Timestamp(early)).all()
    assert (batch.frame["source"] == "mine").all()
    assert sum("modification time" in n for n in batch.notes) == 2


def test_read_gzipped_azure_fixture(tmp_path: Path) -> None:
    packed = tmp_path / "azure_vms_2025-06-30.csv.gz"
    packed.write_bytes(gzip.compress(AZURE_FIX.read_bytes()))
    [batch] = sc.read_azure_catalog([packed], None, None)
    [plain] = sc.read_azure_catalog([AZURE_FIX], datetime(2025, 6, 30, tzinfo=UTC), None)
    pd.testing.assert_frame_equal(
        batch.frame.drop(columns="source"), plain.frame.drop(columns="source")
    )
    assert "from the file name" in batch.notes[0]
    offers = batch.frame
    assert len(offers) == 10  # 11 rows, NP10s skipped
    nd = offers[offers["instance_type"] == "Standard_ND96isr_H100_v5"].iloc[0]
    assert nd["gpu_count"] == 8.0
    assert flags(nd["quality_flags"]) == {"gpu_count_corrected(catalog=12)", "spot_price_filler"}


def test_read_missing_column_names_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "aws.csv"
    frame = pd.read_csv(AWS_FIX[0], dtype=str, keep_default_na=False)
    frame.drop(columns="Region").to_csv(broken, index=False)
    with pytest.raises(UsageError) as err:
        sc.read_aws_catalog([broken], AS_OF, None)
    assert (err.value.file, err.value.field) == (str(broken), "Region")


# -- the real files ------------------------------------------------------------------

REAL_AWS_BIG = "aws_v8_vms_gpu_subset_g4dn_g5_g6_g6e_g6f_gr6_gr6f_p3_p3dn_p6b200.csv"
REAL_AWS_P5 = "aws_v8_vms_gpu_subset_g6e12xl_p4d_p4de_p5_p5e_p5en.csv"
REAL_AZURE = "azure_v6_vms_N-series_gpu_subset.csv"
REAL_GCP = (
    "gcp_v8_vms_a2_a3_a4_gpu_subset.csv",
    "gcp_v8_vms_g2_L4_subset.csv",
    "gcp_v8_vms_gpu_accelerator_rows.csv",
)


def test_real_aws_large_file(shared_data: Path) -> None:
    path = shared_data / "skypilot-catalog" / REAL_AWS_BIG
    [batch] = sc.read_aws_catalog([path], AS_OF, None)
    offers = batch.frame
    assert len(offers) == 1469
    # 36 rows equal to 4 decimals plus the two g5.24xlarge rows 0.00005 above on-demand
    # (the README counts 36 and mentions those two, but its 36 leaves them out)
    assert flag_counts(offers) == {
        "spot_price_filler": 38,
        "spot_price_floor_10pct": 32,
        "spot_price_missing": 45,
    }
    family = offers["instance_type"].str.partition(".")[0]
    filler = offers["quality_flags"].str.contains("spot_price_filler", na=False)
    assert family[filler].value_counts().to_dict() == {
        "g5": 25, "p3": 9, "g6e": 2, "g6": 1, "g6f": 1,
    }  # fmt: skip
    assert offers["zone_id"].nunique() == 69
    assert offers["zone_id"].str.contains("-lax1-|-atl2-", regex=True).sum() == 20
    assert set(offers.loc[family.isin(["g6f", "gr6f"]), "gpu_count"]) == {0.125, 0.25, 0.5}


def test_real_aws_p4_p5_file(shared_data: Path) -> None:
    path = shared_data / "skypilot-catalog" / REAL_AWS_P5
    [batch] = sc.read_aws_catalog([path], AS_OF, None)
    offers = batch.frame
    assert len(offers) == 148
    assert flag_counts(offers) == {
        "on_demand_price_missing": 9,  # every p5e row
        "spot_price_filler": 25,
        "spot_price_floor_10pct": 1,  # p5en.48xlarge eus2-az2
        "spot_price_missing": 28,
    }
    p5 = offers.set_index(["instance_type", "zone_id"]).loc[("p5.48xlarge", "use1-az1")]
    assert pd.isna(p5["price_spot_usd_per_hour"])
    assert p5["price_on_demand_usd_per_hour"] == 55.04
    assert offers.loc[offers["instance_type"] == "p5e.48xlarge", "price_on_demand_usd_per_hour"]\
        .isna().all()  # fmt: skip


def test_real_azure_file(shared_data: Path) -> None:
    path = shared_data / "skypilot-catalog" / REAL_AZURE
    [batch] = sc.read_azure_catalog([path], AS_OF, None)
    offers = batch.frame
    assert len(offers) == 199  # 208 rows less 9 NP (FPGA) rows
    assert any("skipped 9 row(s)" in n for n in batch.notes)
    assert flag_counts(offers) == {
        "gpu_count_corrected": 24,  # ND96isr_H100_v5 (3) and NV4/8/16as_v4 (21)
        "gpu_unknown": 1,  # Standard_ND40s_v3
        "on_demand_price_missing": 9,
        "spot_price_filler": 11,
        "spot_price_missing": 20,  # the 9 above and 11 _Promo rows
    }
    filler = offers[offers["quality_flags"].str.contains("spot_price_filler", na=False)]
    assert set(filler["gpu_model"]) == {"H100"}
    nd = offers[offers["instance_type"] == "Standard_ND96isr_H100_v5"]
    assert set(nd["gpu_count"]) == {8.0}
    assert set(nd["quality_flags"].str.contains("catalog=12")) == {True}


def test_real_gcp_files(shared_data: Path) -> None:
    paths = [shared_data / "skypilot-catalog" / name for name in REAL_GCP]
    [batch] = sc.read_gcp_catalog(paths, AS_OF, None)
    offers = batch.frame
    assert batch.notes[4] == "1406 catalog row(s) read, 659 offer(s) out"
    assert len(offers) == 307 + 352
    assert flag_counts(offers) == {
        "gpu_price_missing": 5,  # a3-highgpu-1/2/4g europe-west8-c, a3-megagpu asia-east1-c
        "price_zero": 11,  # the a4 rows
        "spot_price_missing": 4,  # a3-ultragpu-8g(-nolssd) on the empty H200 spot rows
    }
    assert any("skipped 319 accelerator row(s)" in n for n in batch.notes)
    by_key = offers.set_index(["instance_type", "zone"])
    g2 = by_key.loc[("g2-standard-4", "us-central1-a")]
    assert same(g2["price_on_demand_usd_per_hour"], 0.70683)
    assert same(g2["price_spot_usd_per_hour"], 0.28184)
    a4 = offers[offers["instance_type"] == "a4-highgpu-8g"]
    assert len(a4) == 11 and a4["price_on_demand_usd_per_hour"].isna().all()
    # The 16 accelerator rows with spot above on-demand price 20 VMs (a2-ultragpu in
    # 3 zones, a3-ultragpu(-nolssd) in 4); composed, every one of them is below on-demand.
    above_parts = (
        (offers["instance_type"].str.startswith("a2-ultragpu")
         & offers["zone"].isin(["europe-west4-a", "us-central1-a", "us-central1-c"]))
        | (offers["instance_type"].str.startswith("a3-ultragpu")
           & offers["zone"].isin(["asia-south1-b", "europe-west1-b", "europe-west4-a",
                                  "us-south1-b"]))
    )  # fmt: skip
    assert above_parts.sum() == 20
    priced = offers[above_parts]
    assert (priced["price_spot_usd_per_hour"] < priced["price_on_demand_usd_per_hour"]).all()
    known = offers.dropna(subset=["price_spot_usd_per_hour", "price_on_demand_usd_per_hour"])
    assert (known["price_spot_usd_per_hour"] < known["price_on_demand_usd_per_hour"]).all()
