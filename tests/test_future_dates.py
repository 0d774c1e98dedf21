"""Data is never dated later than now: a future as_of would make stale data look fresh.

Every as_of an importer derives (the date in a file name, a modification time, the
newest record of a price history, the newest charge period of a bill) becomes the time of
import when it is in the future, with a note; one the user gives is refused (exit 2).
``data status`` never shows a negative age, and ``gate --max-data-age`` never passes on
data dated in the future (a store written before this rule may hold some).
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from spotadvisor.cli import app
from spotadvisor.errors import UsageError
from spotadvisor.importers.base import ImportBatch, not_after_now, resolve_as_of
from spotadvisor.importers.registry import parse_files
from spotadvisor.schema import BILLING, INTERRUPTION_HISTORY, OFFERS, SPOT_PRICE_HISTORY
from spotadvisor.store import Store
from tests.conftest import FIXTURES
from tests.factories import frame, offer

runner = CliRunner()
SPOT_ADVISOR = FIXTURES / "spot_advisor" / "spot-advisor-data_sample_2021-02-10.json"
FOCUS = FIXTURES / "billing" / "focus-1.0_focus_sample_subset.csv"
PRICES = FIXTURES / "spot_price_history" / "spot-price-history_p2_p3_sample.csv"
FUTURE = datetime(2099, 1, 1, tzinfo=UTC)


def cli(db: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--db", str(db), *args])
    return result.exit_code, result.stdout, result.stderr


def stored_as_of(db: Path, table: object) -> pd.Timestamp:
    return Store(db).read(table)["as_of"].max()  # type: ignore[arg-type]


# -- the shared rule -----------------------------------------------------------------


def test_not_after_now_keeps_the_past_and_clamps_the_future() -> None:
    now = datetime(2026, 5, 1, 12, tzinfo=UTC)
    past = datetime(2026, 4, 30, tzinfo=UTC)
    assert not_after_now(past, "the file name", now=now) == (past, None)
    when, note = not_after_now(FUTURE, "the file name", now=now)
    assert when == now and note is not None
    assert "2099-01-01 00:00 UTC from the file name is in the future" in note
    assert "2026-05-01 12:00 UTC" in note and "--as-of" in note
    # pandas timestamps (billing, price histories) stay pandas timestamps
    stamp, _ = not_after_now(pd.Timestamp(FUTURE), "x", now=now)
    assert isinstance(stamp, pd.Timestamp) and stamp == pd.Timestamp(now)


def test_a_given_future_as_of_is_refused_by_the_library_too(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="in the future"):
        parse_files([SPOT_ADVISOR], as_of=FUTURE)
    with pytest.raises(UsageError, match="in the future"):
        resolve_as_of(SPOT_ADVISOR, FUTURE)


# -- every way an import derives as_of -----------------------------------------------


def test_a_file_named_for_the_future_is_dated_now_with_a_note(tmp_path: Path) -> None:
    named = tmp_path / "spot-advisor-data_2099-01-01.json"
    named.write_bytes(SPOT_ADVISOR.read_bytes())
    db = tmp_path / "s.duckdb"
    before = datetime.now(UTC)
    code, _, err = cli(db, "data", "import", str(named))
    assert code == 0, err
    assert "as_of 2099-01-01 00:00 UTC from the date in the file name is in the future" in err
    assert before <= stored_as_of(db, INTERRUPTION_HISTORY) <= datetime.now(UTC)


def test_a_modification_time_in_the_future_is_dated_now_with_a_note(tmp_path: Path) -> None:
    undated = tmp_path / "spot-advisor-data.json"
    undated.write_bytes(SPOT_ADVISOR.read_bytes())
    os.utime(undated, (FUTURE.timestamp(), FUTURE.timestamp()))
    db = tmp_path / "s.duckdb"
    code, _, err = cli(db, "data", "import", str(undated))
    assert code == 0, err
    assert "from the file's modification time is in the future" in err
    assert stored_as_of(db, INTERRUPTION_HISTORY) <= datetime.now(UTC)


def test_a_price_history_with_future_records_is_dated_now_with_a_note(tmp_path: Path) -> None:
    lines = PRICES.read_text().splitlines()
    lines[-1] = lines[-1].replace(lines[-1].split(",")[-1], "2099-12-23T17:18:19.000Z")
    history = tmp_path / "prices.csv"
    history.write_text("\n".join(lines) + "\n")
    db = tmp_path / "s.duckdb"
    code, _, err = cli(db, "data", "import", str(history))
    assert code == 0, err
    assert "as_of 2099-12-23 17:18 UTC from the newest record in the file is in the future" in err
    assert stored_as_of(db, SPOT_PRICE_HISTORY) <= datetime.now(UTC)


def test_a_bill_with_future_charge_periods_is_dated_now_with_a_note(tmp_path: Path) -> None:
    bill = tmp_path / "focus.csv"
    bill.write_text(
        FOCUS.read_text().replace("2024-09-", "2099-09-").replace("2024-10-", "2099-10-")
    )
    db = tmp_path / "s.duckdb"
    code, _, err = cli(db, "data", "import", str(bill))
    assert code == 0, err
    assert "from the newest charge period end in the file is in the future" in err
    assert stored_as_of(db, BILLING) <= datetime.now(UTC)


def test_a_dry_run_says_the_same(tmp_path: Path) -> None:
    named = tmp_path / "spot-advisor-data_2099-01-01.json"
    named.write_bytes(SPOT_ADVISOR.read_bytes())
    code, _, err = cli(tmp_path / "s.duckdb", "data", "import", "--dry-run", str(named))
    assert code == 0 and "is in the future" in err
    assert not (tmp_path / "s.duckdb").exists()


# -- a store that already holds future dates (written before this rule) -------------


def future_store(db: Path) -> Path:
    """Offers of one pool dated 2099, as an older spotadvisor (or a library caller) wrote."""
    rows = [offer(source="old", as_of=FUTURE)]
    Store(db).write([ImportBatch(OFFERS, frame(rows), "old", "<old spotadvisor>")])
    return db


def test_status_never_shows_a_negative_age(tmp_path: Path) -> None:
    db = future_store(tmp_path / "s.duckdb")
    code, out, err = cli(db, "data", "status", "--format", "json")
    assert code == 0, err
    ages = [s["age_days"] for t in json.loads(out)["tables"] for s in t["sources"]]
    assert all(age is None or age >= 0 for age in ages)
    [old] = [s for t in json.loads(out)["tables"] for s in t["sources"] if s["source"] == "old"]
    assert old["age_days"] is None  # unknown, not -26,000 days
    assert "offers: old is dated 2099-01-01 00:00 UTC, later than now" in err
    code, out, err = cli(db, "data", "status")
    assert code == 0, err
    [row] = [line.split("│") for line in out.splitlines() if "│ old " in line]
    assert row[6].strip() == "unknown"  # Table, Origin, Source, Rows, As of, Age
    code, _, err = cli(db, "offers", "--gpu", "H100")
    assert code == 0, err
    assert "age unknown" in err and not re.search(r"(?<!\d)-\d[\d,]* days", err)


GATED_PLAN = """\
workload: {name: chat, replicas: 1, gpus_per_replica: 8, cold_start: 10m,
           request_rate: 1.0, request_duration: 20s}
sla: {availability: 90, max_breach_probability: 0.5}
horizon: 30d
trials: 50
seed: 3
fleet:
  - {cloud: aws, region: us-east-1, zone: use1-az4, instance: p5.48xlarge, market: spot,
     count: 2, interruption: {band: '<5%'}}
policy: {on_preemption: relaunch-same-pool, fallback_after: 15m}
risk: independent
"""


def test_the_gate_never_passes_data_age_on_future_dates(tmp_path: Path) -> None:
    db = future_store(tmp_path / "s.duckdb")
    plan = tmp_path / "plan.yaml"
    plan.write_text(GATED_PLAN)
    code, _, err = cli(db, "gate", str(plan), "--max-data-age", "30d")
    assert code == 3, err
    assert "later than now" in err and "max_data_age" in err and "Traceback" not in err
    # the same plan on data dated today passes the age rule
    fresh = tmp_path / "fresh.duckdb"
    today = datetime.now(UTC) - timedelta(hours=1)
    Store(fresh).write(
        [ImportBatch(OFFERS, frame([offer(source="new", as_of=today)]), "new", "<new>")]
    )
    code, _, err = cli(fresh, "gate", str(plan), "--max-data-age", "30d")
    assert code == 0, err
