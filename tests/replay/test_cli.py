"""``spotadvisor replay`` as users run it, on the real SpotHedge traces."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from spotadvisor.cli import app
from spotadvisor.replay import POLICIES

runner = CliRunner()


@pytest.fixture
def aws1(shared_data: Path) -> Path:
    return shared_data / "spot-traces-spothedge/data/AWS1"


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["replay", *args])
    return result.exit_code, result.stdout, result.stderr


def test_table_on_aws1(aws1: Path) -> None:
    code, out, err = run(str(aws1), "--offsets", "4")
    assert code == 0, err
    for policy in POLICIES:
        assert policy in out
    assert "Availability" in out and "Cost vs on-demand" in out
    assert "AWS1: 3 zone(s) us-east-1f×4, us-east-2a×4, us-west-2c×4; p3.2xlarge" in err
    assert "300 s ticks over 263.0 h" in err
    assert "spot/on-demand" in err and "snapshot median" in err


def test_json_on_aws1(aws1: Path) -> None:
    code, out, err = run(
        str(aws1),
        "--format",
        "json",
        "--policy",
        "spothedge",
        "--policy",
        "relaunch-same-pool",
        "--offsets",
        "3",
        "--window",
        "1d",
        "--spot-price-ratio",
        "0.3333",
        "--cold-start",
        "2m",
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["settings"] == {
        "replicas": 3,
        "overprovision": 1,
        "on_demand_replicas": 0,
        "cold_start_seconds": 120.0,
        "fallback_after_seconds": 0.0,
    }
    (fleet,) = doc["fleets"]
    assert fleet["fleet"] == "AWS1"
    assert fleet["window_hours"] == 24.0
    assert fleet["spot_price_ratio"] == 0.3333
    assert [p["policy"] for p in fleet["policies"]] == ["relaunch-same-pool", "spothedge"]
    hedge = fleet["policies"][1]
    assert len(hedge["availability"]["values"]) == 3
    assert 0.0 < hedge["availability"]["mean"] <= 1.0


def test_csv_and_markdown(aws1: Path) -> None:
    code, out, err = run(str(aws1), "--format", "csv", "--offsets", "2", "-p", "next-pool")
    assert code == 0, err
    (row,) = list(csv.DictReader(io.StringIO(out)))
    assert row["fleet"] == "AWS1" and row["policy"] == "next-pool"
    assert row["zones"] == "us-east-1f us-east-2a us-west-2c"
    code, out, _ = run(str(aws1), "--format", "markdown", "--offsets", "2", "-p", "spothedge")
    assert code == 0
    assert out.splitlines()[0].startswith("| Fleet | Policy | Availability |")
    assert out.splitlines()[2].startswith("| AWS1 | spothedge |")


def test_bad_option_values(aws1: Path) -> None:
    code, _, err = run(str(aws1), "--cold-start", "5")
    assert code == 2
    assert "--cold-start" in err
    code, _, _ = run(str(aws1), "--policy", "cheapest")
    assert code == 2


def test_one_fleet_of_different_gaps_names_a_file_of_each(shared_data: Path) -> None:
    code, out, err = run(str(shared_data / "spot-traces-spothedge/data"), "--one-fleet")
    assert code == 2 and out == ""
    assert err.startswith(f"error: {shared_data / 'spot-traces-spothedge/data'}: ")
    assert "the traces have different gaps: AWS1/us-east-1f_v100_1.json has 300 s, " in err
    assert "GCP1/asia-northeast1-a_a100_40gb_8.json has 150 s." in err


def test_one_tick_traces_are_skipped_and_a_bare_file_names_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "drill"
    folder.mkdir()
    (folder / "us-east-1f_v100_1.json").write_text('{"metadata":{"gap_seconds":60},"data":[1]}')
    (folder / "us-east-1a_v100_1.json").write_text(
        '{"metadata":{"gap_seconds":60},"data":[1,1,0,1,1,1]}'
    )
    monkeypatch.chdir(folder)
    code, _, err = run("us-east-1f_v100_1.json")
    assert code == 2 and "no trace with two ticks or more" in err
    code, _, err = run("us-east-1f_v100_1.json", "us-east-1a_v100_1.json", "--offsets", "2")
    assert code == 0, err
    assert "skipped 1 trace(s) of one tick: us-east-1f_v100_1.json" in err
    assert "\ndrill: 1 zone(s) us-east-1a×1" in "\n" + err
