"""The DuckDB store: round trips, idempotent upserts, atomic writes, locking."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from spotadvisor.errors import DataError, StoreBusyError
from spotadvisor.importers.base import ImportBatch
from spotadvisor.schema import OFFERS, SCHEMA_VERSION
from spotadvisor.store import Store, resolve_store_path
from tests.factories import frame, offer


def batch(rows: list[dict[str, object]], source: str = "test") -> ImportBatch:
    return ImportBatch(OFFERS, frame([{**r, "source": source} for r in rows]), source, "<test>")


TWO_POOLS = [
    offer(),
    # a regional Azure offer: both zone columns empty, so the key holds NULLs
    offer(
        cloud="azure",
        region="eastus",
        zone=None,
        zone_id=None,
        instance_type="Standard_ND96isr_H100_v5",
        price_spot_usd_per_hour=None,
    ),
]


def test_round_trip_keeps_values_and_unknowns(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    store.write([batch(TWO_POOLS)])
    back = store.read(OFFERS).sort_values("cloud").reset_index(drop=True)
    assert list(back.columns) == OFFERS.column_names
    assert back.loc[0, "cloud"] == "aws" and back.loc[0, "price_spot_usd_per_hour"] == 20.0
    # unknown stays unknown (never 0)
    assert pd.isna(back.loc[1, "price_spot_usd_per_hour"])
    assert pd.isna(back.loc[1, "zone"]) and pd.isna(back.loc[1, "zone_id"])
    assert str(back["as_of"].dtype) == "datetime64[us, UTC]"


def test_rerun_adds_nothing_and_changes_are_counted(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    first = store.write([batch(TWO_POOLS)])[0]
    assert (first.inserted, first.updated, first.unchanged) == (2, 0, 0)
    again = store.write([batch(TWO_POOLS)])[0]
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    assert len(store.read(OFFERS)) == 2

    cheaper = [offer(price_spot_usd_per_hour=18.5), TWO_POOLS[1]]
    changed = store.write([batch(cheaper)])[0]
    assert (changed.inserted, changed.updated, changed.unchanged) == (0, 1, 1)
    back = store.read(OFFERS)
    assert len(back) == 2
    assert back.loc[back.cloud == "aws", "price_spot_usd_per_hour"].item() == 18.5


def test_same_pool_from_two_sources_is_kept_apart(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    store.write([batch([offer()], source="a"), batch([offer()], source="b")])
    assert sorted(store.read(OFFERS)["source"]) == ["a", "b"]


def test_failure_mid_transaction_leaves_earlier_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(tmp_path / "s.duckdb")
    store.write([batch([offer()])])

    import spotadvisor.store as store_module

    real_upsert = store_module._upsert
    calls = {"n": 0}

    def failing_upsert(*args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk on fire")
        return real_upsert(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(store_module, "_upsert", failing_upsert)
    # the second batch fails after the first was staged: neither may land
    with pytest.raises(RuntimeError):
        store.write([batch([offer(price_spot_usd_per_hour=1.0)]), batch(TWO_POOLS, "other")])
    back = store.read(OFFERS)
    assert len(back) == 1 and back["price_spot_usd_per_hour"].item() == 20.0
    assert len(store.ingest_log()) == 1


# A child process that starts a write, says so, then stalls inside the transaction.
STALLING_WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import spotadvisor.store as sm
    from spotadvisor.importers.base import ImportBatch
    from spotadvisor.schema import OFFERS
    from tests.factories import frame, offer

    real = sm._upsert
    def stalled(con, batch, frame_):
        result = real(con, batch, frame_)
        Path(sys.argv[2]).write_text("in transaction")
        time.sleep(60)
        return result
    sm._upsert = stalled
    rows = [offer(instance_type=f"p5.{i}xlarge", source="child") for i in range(500)]
    sm.Store(Path(sys.argv[1])).write([ImportBatch(OFFERS, frame(rows), "child", "<child>")])
    """
)


def start_stalled_writer(db: Path, tmp_path: Path) -> subprocess.Popen[bytes]:
    marker = tmp_path / "marker"
    child = subprocess.Popen(
        [sys.executable, "-c", STALLING_WRITER, str(db), str(marker)],
        cwd=Path(__file__).resolve().parents[1],
    )
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert child.poll() is None, "writer died before reaching its transaction"
        assert time.monotonic() < deadline, "writer never reached its transaction"
        time.sleep(0.05)
    return child


def test_killed_writer_leaves_earlier_data_intact(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    Store(db).write([batch([offer()])])
    child = start_stalled_writer(db, tmp_path)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    back = Store(db).read(OFFERS)
    assert len(back) == 1 and back["source"].item() == "test"
    # and the store still takes writes
    Store(db).write([batch(TWO_POOLS)])
    assert len(Store(db).read(OFFERS)) == 2


def test_second_writer_gets_a_clear_busy_error(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    Store(db).write([batch([offer()])])
    child = start_stalled_writer(db, tmp_path)
    try:
        with pytest.raises(StoreBusyError) as caught:
            Store(db, lock_timeout_s=0.3).write([batch(TWO_POOLS)])
        line = caught.value.one_line()
        assert str(db) in line and f"process {child.pid}" in line and "--db" in line
    finally:
        child.kill()
        child.wait()
    assert len(Store(db).read(OFFERS)) == 1


def test_reading_a_missing_store_creates_nothing(tmp_path: Path) -> None:
    db = tmp_path / "none" / "s.duckdb"
    store = Store(db)
    assert store.read(OFFERS).empty
    assert store.status().empty
    assert not db.exists() and not db.parent.exists()


def test_a_file_that_is_not_a_store_is_a_data_error(tmp_path: Path) -> None:
    db = tmp_path / "notes.txt"
    db.write_text("hello, I am not a database\n" * 100)
    with pytest.raises(DataError) as caught:
        Store(db).read(OFFERS)
    assert "--db" in caught.value.one_line()
    assert db.read_text().startswith("hello")


def test_a_store_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    Store(db).write([batch([offer()])])
    con = duckdb.connect(str(db))
    con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION + 1)])
    con.close()
    with pytest.raises(DataError, match="schema version"):
        Store(db).write([batch([offer()])])


def test_status_reports_rows_and_as_of_per_source(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    store.write([batch(TWO_POOLS, "catalog"), batch([offer(zone_id="use1-az1")], "other")])
    status = store.status().set_index("source")
    assert status.loc["catalog", "rows"] == 2 and status.loc["other", "rows"] == 1
    assert set(status["table"]) == {"offers"}
    assert status["ingested_at"].notna().all()


def test_store_path_resolution(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SPOTADVISOR_DB", str(tmp_path / "env.duckdb"))
    assert resolve_store_path() == tmp_path / "env.duckdb"
    assert resolve_store_path(tmp_path / "flag.duckdb") == tmp_path / "flag.duckdb"
    monkeypatch.delenv("SPOTADVISOR_DB")
    assert resolve_store_path().name == "spotadvisor.duckdb"
