"""`simulate --scenario`, `gate --must-survive` and `recommend` on a load profile, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from spotadvisor.cli import app
from tests.conftest import FIXTURES, ROOT

runner = CliRunner()
GATE = FIXTURES / "gate"
DIURNAL = ROOT / "examples" / "diurnal-fleet.yaml"


def run_json(*args: str) -> dict[str, object]:
    result = runner.invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.stderr
    document: dict[str, object] = json.loads(result.stdout)
    return document


def test_simulate_runs_the_files_scenarios_and_the_flags() -> None:
    doc = run_json(
        "simulate", str(DIURNAL), "--trials", "200", "--scenario", "price-spike:use2-az1x3@1d+12h"
    )
    scenarios = doc["scenarios"]
    assert isinstance(scenarios, list)
    labels = [s["scenario"] for s in scenarios]
    assert labels == [
        "zone-outage:use2-az1@T+10d+6h",
        "capacity-drought:use2-az2@12d+4h",
        "price-spike:use2-az1x3@1d+12h",
    ]
    spike = scenarios[2]
    assert spike["extra_cost"]["value"] > 0 and spike["survives"] in (True, False)
    assert set(spike["availability"]) == {"mean", "stderr", "during", "after"}
    assert doc["inputs"]["workload"]["load"]["timezone"] == "Europe/Berlin"  # type: ignore[index]


def test_simulate_prints_a_side_by_side_table() -> None:
    result = runner.invoke(
        app, ["simulate", str(GATE / "zone-fragile.yaml"), "--scenario", "zone-outage:any@3d+6h"]
    )
    assert result.exit_code == 0, result.stderr
    for text in ("Failure what-ifs", "zone-outage:use1-az1@3d+6h", "Time to recover", "370.0 min"):
        assert text in result.stdout


@pytest.mark.parametrize(
    ("scenario", "message"),
    [
        ("zone-outage:use1-az9@2d+1h", "no zone 'use1-az9' in the fleet"),
        ("zone-outag:use1-az1@2d+1h", "Did you mean 'zone-outage'"),
        ("zone-outage:use1-az1@2d", "is not T+DURATION"),
        ("zone-outage:use1-az1@40d+1h", "after the 720 h horizon"),
    ],
)
def test_bad_scenarios_are_one_line_exit_2(scenario: str, message: str) -> None:
    result = runner.invoke(
        app, ["simulate", str(GATE / "zone-fragile.yaml"), "--scenario", scenario]
    )
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("plan", "code", "survives"),
    [("zone-resilient", 0, [True, True, True]), ("zone-fragile", 1, [False])],
)
def test_gate_must_survive_the_loss_of_any_zone(plan: str, code: int, survives: list[bool]) -> None:
    result = runner.invoke(
        app,
        [
            "gate",
            str(GATE / f"{plan}.yaml"),
            "--must-survive",
            "zone-outage:any",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == code, result.stderr
    doc = json.loads(result.stdout)
    rules = [r for r in doc["rules"] if r["rule"] == "must_survive"]
    assert [r["passed"] for r in rules] == survives
    assert [s["survives"] for s in doc["scenarios"]] == survives
    assert doc["passed"] is (code == 0)


def test_gate_policy_file_and_markdown(tmp_path: Path) -> None:
    policy = tmp_path / "gate.yaml"
    policy.write_text(
        "must_survive: ['zone-outage:any@5d+2h']\nwarn_must_survive: [region-loss:any]\n"
    )
    result = runner.invoke(
        app,
        ["gate", str(GATE / "zone-fragile.yaml"), "--policy", str(policy), "--format", "markdown"],
    )
    assert result.exit_code == 1
    assert "**Failure what-ifs**" in result.stdout
    assert "must_survive" in result.stdout and "warn_must_survive" in result.stdout


def test_gate_scenario_without_a_rule_reports_and_passes() -> None:
    result = runner.invoke(
        app, ["gate", str(GATE / "zone-fragile.yaml"), "--scenario", "mass-preemption:any:1@2d"]
    )
    assert result.exit_code == 0, result.stderr
    assert "mass-preemption:fleet[0]:1@2d" in result.stdout


def test_recommend_picks_a_spot_baseline_with_on_demand_peaks(tmp_path: Path) -> None:
    workload = tmp_path / "spiky.yaml"
    workload.write_text(
        "workload:\n"
        "  name: spiky\n"
        "  load: {profile: [2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 8, 8, 2, 2, 2, 2, 2, 2, 2, 2, 2]}\n"
        "  gpus_per_replica: 8\n"
        "  cold_start: 10m\n"
        "sla: {availability: 99.9, max_breach_probability: 0.05}\n"
        "trials: 600\nseed: 7\n"
        "scaling: {peak: on-demand, scale_up_delay: 1m, prewarm: 15m, cooldown: 10m}\n"
    )
    doc = run_json(
        "recommend", "--workload", str(workload), "--gpu", "H100", "--clouds", "aws",
        "--regions", "us-east-2",
    )  # fmt: skip
    best = doc["mixes"][0]  # type: ignore[index]
    assert best["recommended"] and best["within_risk_budget"]
    replicas = sum(p["count"] for p in best["pools"])
    assert replicas < 8  # a baseline below the peak: the peaks run on demand
    assert any(p["market"] == "spot" for p in best["pools"])
    all_on_demand = doc["baseline"]["cost_usd_per_month_mean"]  # type: ignore[index]
    assert best["cost_usd_per_month_mean"] < 0.7 * all_on_demand


def zoneless(tmp_path: Path) -> Path:
    """The fragile plan with its spot pool's zone left out."""
    plan = tmp_path / "zoneless.yaml"
    plan.write_text((GATE / "zone-fragile.yaml").read_text().replace("zone: use1-az1, ", ""))
    return plan


def test_zone_outage_any_on_a_fleet_without_zones_is_refused_not_passed(tmp_path: Path) -> None:
    plan = zoneless(tmp_path)
    for args in (
        ["gate", str(plan), "--must-survive", "zone-outage:any"],
        ["simulate", str(plan), "--scenario", "zone-outage:any"],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.stdout
        (line,) = [x for x in result.stderr.splitlines() if x.startswith("error:")]
        assert "no pool of the fleet names a zone" in line and "region-loss:any" in line


def test_spot_what_ifs_on_an_all_on_demand_plan_pass_with_a_note(tmp_path: Path) -> None:
    plan = tmp_path / "on-demand.yaml"
    plan.write_text(
        "workload: {name: chat, replicas: 2}\ntrials: 100\nseed: 1\n"
        "fleet: [{cloud: aws, region: us-east-1, instance: p4d.24xlarge, market: on-demand,"
        " count: 2, price_per_hour: 22.0}]\n"
    )
    result = runner.invoke(app, ["gate", str(plan), "--must-survive", "mass-preemption:any:1"])
    assert result.exit_code == 0, result.stderr
    assert "has no spot pool, so it survives this by construction" in result.stderr


def test_a_bad_scenario_in_the_file_names_the_file_and_the_entry(tmp_path: Path) -> None:
    plan = tmp_path / "bad.yaml"
    plan.write_text((GATE / "zone-fragile.yaml").read_text() + "scenarios: [zone-outage:nowhere]\n")
    result = runner.invoke(app, ["simulate", str(plan)])
    assert result.exit_code == 2
    assert f"error: {plan}: scenarios[0]: zone-outage:nowhere: no zone 'nowhere'" in result.stderr
    flag = runner.invoke(app, ["simulate", str(plan), "--scenario", "zone-outage:any@3d+0s"])
    assert "error: --scenario: '0s' must be longer than zero" in flag.stderr


def test_saved_fleet_keeps_only_the_what_ifs_of_its_own_pools(tmp_path: Path) -> None:
    saved = tmp_path / "chosen.yaml"
    result = runner.invoke(
        app,
        ["recommend", "--workload", str(DIURNAL), "--quick", "--regions", "us-east-2",
         "--save-fleet", str(saved)],
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    text = saved.read_text()
    zones = {z for z in ("use2-az1", "use2-az2", "use2-az3") if f"zone: {z}" in text}
    for scenario, zone in (
        ("zone-outage:use2-az1@T+10d+6h", "use2-az1"),
        ("capacity-drought:use2-az2@12d+4h", "use2-az2"),
    ):
        if zone in zones:
            assert f"- {scenario}" in text or f"'{scenario}'" in text or scenario in text
        else:
            assert "What-ifs left out" in text and scenario in result.stderr
    simulated = runner.invoke(app, ["simulate", str(saved), "--trials", "100"])
    assert simulated.exit_code == 0, simulated.stderr


def test_a_load_profile_reads_as_the_replicas_needed_and_costs_name_their_period() -> None:
    result = runner.invoke(
        app, ["simulate", str(DIURNAL), "--trials", "100", "--scenario", "zone-outage:any@2d+1h"]
    )
    assert result.exit_code == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "the replicas needed, on demand (peak 6)" in text
    assert "the replicas needed on demand ($" in text  # the verdict
    assert "Cost, per 30 days" in text and "Extra cost, per 30 days" in text
    assert not result.stderr.startswith("\n")
