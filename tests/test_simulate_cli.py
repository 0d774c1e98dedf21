"""`spotadvisor simulate` end to end on the example fleet and the embedded snapshot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from spotadvisor.cli import app
from tests.conftest import FIXTURES, ROOT

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
    assert doc["schema_version"] == 2 and doc["trials"] == 500
    assert doc["seed"] == 7 and doc["seed_origin"] == "given"  # the file's seed: 7
    assert "generated_at" not in doc
    inputs = doc["inputs"]
    pools = inputs["pools"]  # type: ignore[index]
    assert [p["count"] for p in pools] == [2, 1, 2]
    assert pools[0]["sources"]["price_per_hour"].startswith("embedded snapshot")
    assert {d["table"] for d in doc["data"]} == {"offers", "interruption_history"}  # type: ignore[union-attr]
    for table in doc["data"]:  # type: ignore[union-attr]
        assert table["digest"].startswith("sha256:")
        assert all("as_of" in s and "age_days" not in s for s in table["sources"])
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


def test_without_a_seed_the_seed_is_derived_from_the_fleet_and_the_data(tmp_path: Path) -> None:
    unseeded = tmp_path / "fleet.yaml"
    unseeded.write_text(EXAMPLE.read_text().replace("seed: 7\n", ""))

    def run(*args: str) -> tuple[str, dict[str, object]]:
        result = runner.invoke(app, [*args, "simulate", str(unseeded), "-t", "200", "-f", "json"])
        assert result.exit_code == 0, result.stderr
        return result.stdout, json.loads(result.stdout)

    text, doc = run()
    assert doc["seed_origin"] == "derived"
    assert run()[0] == text  # byte for byte
    # a what-if runs with the baseline's seed: adding one does not move the baseline
    what_if = runner.invoke(
        app,
        [
            "simulate",
            str(unseeded),
            "-t",
            "200",
            "-f",
            "json",
            "--scenario",
            "zone-outage:any@3d+6h",
        ],
    )
    assert json.loads(what_if.stdout)["seed"] == doc["seed"]
    # the same file somewhere else is the same request
    moved = tmp_path / "elsewhere.yaml"
    moved.write_text(unseeded.read_text())
    again = runner.invoke(app, ["simulate", str(moved), "-t", "200", "-f", "json"])
    assert json.loads(again.stdout)["seed"] == doc["seed"]
    # more trials, or new data in the store, give new dice
    assert (
        json.loads(
            runner.invoke(app, ["simulate", str(unseeded), "-t", "300", "-f", "json"]).stdout
        )["seed"]
        != doc["seed"]
    )
    db = tmp_path / "imported.duckdb"
    bands = FIXTURES / "spot_advisor" / "spot-advisor-data_sample_2025-06-28.json"
    imported = runner.invoke(
        app, ["--db", str(db), "data", "import", str(bands), "--as-of", "2026-11-01"]
    )
    assert imported.exit_code == 0, imported.stderr
    assert run("--db", str(db))[1]["seed"] != doc["seed"]
    # the table says where the seed came from
    table = runner.invoke(app, ["simulate", str(unseeded), "-t", "200"])
    assert f"seed {doc['seed']} (derived from the request and the data)" in " ".join(
        table.stdout.split()
    )


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
