"""A collected row never hides better data: unpriced offers keep the earlier price, said so."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from spotadvisor.catalog import latest_offers
from spotadvisor.cli import app
from spotadvisor.collect.gaps import carried_prices, price_gaps
from spotadvisor.collect.run import Task, TaskOutput, run_collection
from spotadvisor.importers.base import ImportBatch
from spotadvisor.schema import OFFERS, validate
from spotadvisor.snapshot import read_snapshot_table
from spotadvisor.sources import load_table
from spotadvisor.store import Store

NOW = datetime(2026, 12, 1, tzinfo=UTC)
TYPE, REGION = "a2-highgpu-1g", "us-central1"


def _snapshot_rows() -> pd.DataFrame:
    offers = read_snapshot_table(OFFERS)
    rows = offers[
        (offers["cloud"] == "gcp")
        & (offers["instance_type"] == TYPE)
        & (offers["region"] == REGION)
    ]
    assert len(rows) == 4 and rows["price_on_demand_usd_per_hour"].notna().all()
    return rows.reset_index(drop=True)


def _unpriced(rows: pd.DataFrame, *, spot_too: bool = True) -> pd.DataFrame:
    """The same pools as a newer collection that found no on-demand (and spot) price."""
    out = rows.copy()
    out["price_on_demand_usd_per_hour"] = np.nan
    if spot_too:
        out["price_spot_usd_per_hour"] = np.nan
    out["quality_flags"] = "on_demand_price_missing(gpu)"
    out["source"] = "gcp-catalog"
    out["as_of"] = pd.Timestamp(NOW)
    return validate(out, OFFERS, origin="test")


def test_latest_offers_carries_a_missing_price_forward_and_flags_it() -> None:
    old = _snapshot_rows()
    new = _unpriced(old, spot_too=False)
    new["price_spot_usd_per_hour"] = 1.5  # the new row's own spot price wins
    latest = latest_offers(pd.concat([old, new], ignore_index=True)).set_index("zone")
    for zone, before in old.set_index("zone").iterrows():
        row = latest.loc[zone]
        assert row["source"] == "gcp-catalog" and row["as_of"] == pd.Timestamp(NOW)
        assert row["price_on_demand_usd_per_hour"] == before["price_on_demand_usd_per_hour"]
        assert row["price_spot_usd_per_hour"] == 1.5
        assert row["quality_flags"] == (
            f"on_demand_price_missing(gpu);on_demand_price_carried({before['source']} as of "
            f"{before['as_of']:%Y-%m-%d})"
        )


def test_latest_offers_leaves_priced_rows_and_lone_gaps_alone() -> None:
    old = _snapshot_rows()
    assert latest_offers(old).equals(latest_offers(old.copy()))
    lone = latest_offers(_unpriced(old))  # nothing earlier to carry
    assert lone["price_on_demand_usd_per_hour"].isna().all()
    assert not lone["quality_flags"].str.contains("carried").any()


def test_store_rows_without_a_price_do_not_hide_the_snapshot(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    store.write([ImportBatch(OFFERS, _unpriced(_snapshot_rows()), "gcp-catalog", "test")])
    loaded = load_table(store, OFFERS)
    assert loaded.origin == "store+snapshot"
    view = latest_offers(loaded.frame)
    pools = view[(view["instance_type"] == TYPE) & (view["region"] == REGION)]
    assert len(pools) == 4 and (pools["source"] == "gcp-catalog").all()
    assert pools["price_on_demand_usd_per_hour"].notna().all()
    assert pools["price_spot_usd_per_hour"].notna().all()
    [od, spot] = carried_prices(view)
    assert od.startswith("4 offer(s) show an earlier on-demand price")
    assert spot.startswith("4 offer(s) show an earlier spot price")


def test_a_region_collected_for_one_type_keeps_the_snapshot_for_the_others(
    tmp_path: Path,
) -> None:
    """The snapshot is replaced per (cloud, region, type), not per (cloud, region)."""
    store = Store(tmp_path / "s.duckdb")
    priced = _snapshot_rows().assign(source="gcp-catalog", as_of=pd.Timestamp(NOW))
    store.write([ImportBatch(OFFERS, priced, "gcp-catalog", "test")])
    frame = load_table(store, OFFERS).frame
    region = frame[(frame["cloud"] == "gcp") & (frame["region"] == REGION)]
    assert (region.loc[region["instance_type"] == TYPE, "source"] == "gcp-catalog").all()
    assert set(region["instance_type"]) > {TYPE}  # g2, a3... still from the snapshot


def test_price_gaps_name_the_offers_and_the_earlier_source() -> None:
    old = _snapshot_rows()
    [od, spot] = price_gaps(_unpriced(old), latest_offers(old))
    source = old["source"].iloc[0]
    assert od.startswith(
        "no on-demand price collected for 4 offer(s) that earlier data prices; "
        "the earlier price is kept and flagged on_demand_price_carried: "
    )
    assert f"gcp us-central1-a {TYPE} ({source} as of 2025-05-15)" in od
    assert spot.startswith("no spot price collected for 4 offer(s)")
    assert price_gaps(old, latest_offers(old)) == []


def test_a_collection_reports_the_gap_and_data_status_shows_it(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    rows = _unpriced(_snapshot_rows())

    def work() -> TaskOutput:
        return TaskOutput([ImportBatch(OFFERS, rows, "gcp-catalog", "test")])

    report = run_collection(store, "gcp", [Task("prices", None, work)], workers=1)
    assert not report.failed
    assert len(report.notes) == 2 and "on_demand_price_carried" in report.notes[0]
    # the rows are stored as collected (nothing rewritten), and read commands carry
    stored = store.read(OFFERS)
    assert stored["price_on_demand_usd_per_hour"].isna().all()
    result = CliRunner().invoke(
        app, ["--db", str(store.path), "data", "status", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    carried = json.loads(result.stdout)["carried_prices"]
    assert len(carried) == 2 and "a2-highgpu-1g" in carried[0]
    offers = CliRunner().invoke(
        app,
        ["--db", str(store.path), "offers", "--cloud", "gcp", "--region", REGION, "-f", "json"],
    )
    assert offers.exit_code == 0, offers.output
    shown = [o for o in json.loads(offers.stdout)["offers"] if o["instance_type"] == TYPE]
    assert len(shown) == 4 and all(o["price_on_demand_usd_per_hour"] for o in shown)
