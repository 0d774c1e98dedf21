"""`spotadvisor simulate` end to end on the example fleet and the embedded snapshot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from spotadvisor.cli import app
from tests.conftest import ROOT

EXAMPLE = ROOT / "examples" / "llama70b-fleet.yaml"
runner = CliRunner()

METRIC_KEYS = {
    "availability": {"mean", "p5", "stderr"},
    "sla_breach_probability": {"value", "stderr"},
    "cost": {"mean", "p95", "stderr"},
    "savings_pct": {"value", "stderr"},
    "interruptions": {"mean", "stderr"},
    "lost_requests": {"mean", "stderr"},
    "outages": {"mean", "stderr"},
    "mean_outage_minutes": {"value", "stderr"},
}


def simulate_json(*args: str) -> dict[str, object]:
    result = runner.invoke(app, ["simulate", str(EXAMPLE), "--format", "json", *args])
    assert result.exit_code == 0, result.stderr
    document: dict[str, object] = json.loads(result.stdout)
    return document


def test_json_has_the_spec_metrics_inputs_seed_and_provenance() -> None:
    doc = simulate_json("--trials", "500")
    for key, fields in METRIC_KEYS.items():
        assert set(doc[key]) == fields, key  # type: ignore[arg-type]
    assert isinstance(doc["on_demand_cost"], float)
    assert doc["schema_version"] == 1 and doc["seed"] == 7 and doc["trials"] == 500
    inputs = doc["inputs"]
    pools = inputs["pools"]  # type: ignore[index]
    assert [p["count"] for p in pools] == [2, 1, 2]
    assert pools[0]["sources"]["price_per_hour"].startswith("embedded snapshot")
    assert {d["table"] for d in doc["data"]} == {"offers", "interruption_history"}  # type: ignore[union-attr]
    assert 0.99 < doc["availability"]["mean"] <= 1.0  # type: ignore[index]
    assert doc["verdict"]["status"] in {"meets", "fails", "uncertain"}  # type: ignore[index]


def test_a_seed_reproduces_the_result_exactly() -> None:
    a, b = (
        simulate_json("--trials", "300", "--seed", "11"),
        simulate_json("--trials", "300", "--seed", "11"),
    )
    for key in METRIC_KEYS:
        assert a[key] == b[key]
    c = simulate_json("--trials", "300", "--seed", "12")
    assert c["cost"] != a["cost"]


def test_horizon_override_scales_the_on_demand_cost() -> None:
    month, week = (
        simulate_json("--trials", "50"),
        simulate_json("--trials", "50", "--horizon", "7d"),
    )
    assert week["horizon_hours"] == 168
    assert week["on_demand_cost"] * 30 == month["on_demand_cost"] * 7  # type: ignore[operator]


def test_table_output_has_a_verdict_and_the_data_age() -> None:
    result = runner.invoke(app, ["simulate", str(EXAMPLE), "--trials", "500"])
    assert result.exit_code == 0
    assert "SLA breach probability" in result.stdout and "Pools" in result.stdout
    assert any(v in result.stdout for v in ("Meets the SLA", "Does not meet", "Too close to call"))
    assert "embedded snapshot" in result.stderr and "days old" in result.stderr


def test_bad_fleet_file_is_one_line_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(EXAMPLE.read_text().replace("cold_start: 12m", "cold_strat: 12m"))
    result = runner.invoke(app, ["simulate", str(bad)])
    assert result.exit_code == 2 and result.stdout == ""
    line = result.stderr.strip()
    assert (
        "\n" not in line
        and str(bad) in line
        and "workload" in line
        and "Did you mean 'cold_start'" in line
    )


def test_missing_price_is_a_data_error_exit_3(tmp_path: Path) -> None:
    fleet = tmp_path / "p5.yaml"
    # p5.48xlarge in use1-az4 has only a filler spot price in the catalog: unknown
    fleet.write_text(
        "workload: {replicas: 1}\n"
        "fleet:\n  - {cloud: aws, region: us-east-1, zone: use1-az4, instance: p5.48xlarge, market: spot, count: 1}\n"
    )
    result = runner.invoke(app, ["simulate", str(fleet)])
    assert result.exit_code == 3
    assert "fleet[0].price_per_hour" in result.stderr and "Traceback" not in result.stderr


def test_missing_file_exit_2() -> None:
    result = runner.invoke(app, ["simulate", "/nonexistent/fleet.yaml"])
    assert result.exit_code == 2 and "/nonexistent/fleet.yaml" in result.stderr


def test_running_out_of_memory_is_one_line_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    import spotadvisor.simulate

    def too_big(*args: object, **kwargs: object) -> None:
        raise MemoryError

    monkeypatch.setattr(spotadvisor.simulate, "simulate_fleet", too_big)
    result = runner.invoke(app, ["simulate", str(EXAMPLE), "--trials", "100000000"])
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: the work did not fit in memory. use fewer --trials")
