"""The embedded snapshot: present, valid, covering every cloud, and rebuilt identically."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pandas as pd
import pytest

from spotadvisor.schema import (
    INTERRUPTION_HISTORY,
    OFFERS,
    SCHEMA_VERSION,
    SPOT_PRICE_HISTORY,
    TABLES,
)
from spotadvisor.snapshot import read_snapshot_table, snapshot_dir, snapshot_info
from tests.conftest import ROOT


def test_snapshot_has_every_cloud_and_gpu_family() -> None:
    offers = read_snapshot_table(OFFERS)
    assert set(offers["cloud"]) == {"aws", "gcp", "azure"}
    expected = {"H100", "H200", "B200", "A100", "L4", "L40S", "A10G", "T4", "V100"}
    assert expected <= set(offers["gpu_model"].dropna())
    # prices per region and zone: AWS by zone ID, GCP by zone name, Azure regional
    aws = offers[offers.cloud == "aws"]
    assert aws["zone_id"].notna().all() and aws["zone"].isna().all()
    assert offers.loc[offers.cloud == "gcp", "zone"].notna().all()
    assert offers.loc[offers.cloud == "azure", ["zone", "zone_id"]].isna().all().all()
    # prices known for most rows; unknown stays NaN, never 0
    assert offers["price_on_demand_usd_per_hour"].notna().mean() > 0.9
    assert not (offers["price_spot_usd_per_hour"] == 0).any()
    assert not (offers["price_on_demand_usd_per_hour"] == 0).any()


def test_snapshot_bands_and_history() -> None:
    bands = read_snapshot_table(INTERRUPTION_HISTORY)
    assert set(bands["os"]) == {"Linux"}
    assert bands["as_of"].nunique() == 13  # every Spot Advisor snapshot, for band drift
    history = read_snapshot_table(SPOT_PRICE_HISTORY)
    assert {"p3.2xlarge", "p2.xlarge"} <= set(history["instance_type"])


def test_provenance_names_every_source_with_dates() -> None:
    info = snapshot_info()
    assert info.schema_version == SCHEMA_VERSION
    for source in info.sources:
        assert (
            source["upstream"] and source["licence"] and source["as_of"] and source["as_of_basis"]
        )
        assert all(len(f["sha256"]) == 64 for f in source["files"])
    stored = {s for name in TABLES for s in read_snapshot_table(TABLES[name])["source"].unique()}
    assert stored == {s["source"] for s in info.sources if s["rows"]}


def test_source_tree_snapshot_is_the_one_read() -> None:
    assert snapshot_dir() in (ROOT / "data" / "snapshot", Path(str(snapshot_dir())))


@pytest.mark.slow
def test_snapshot_rebuilds_identically(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = importlib.util.spec_from_file_location(
        "build_snapshot", ROOT / "data" / "build_snapshot.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    module.build(shared_data, tmp_path)
    for table in TABLES.values():
        rebuilt = read_snapshot_table(table, tmp_path)
        committed = read_snapshot_table(table)
        pd.testing.assert_frame_equal(rebuilt, committed, obj=table.name)
