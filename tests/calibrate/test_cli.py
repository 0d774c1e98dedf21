"""``spotadvisor calibrate`` end to end, and ``--params`` in simulate and recommend."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from spotadvisor.cli import app
from tests.calibrate.synthetic import pool_counts
from tests.conftest import ROOT

runner = CliRunner()
EXAMPLE = ROOT / "examples" / "llama70b-fleet.yaml"
PARAMS = """\
spotadvisor: calibrated-parameters
format: 1
risk: {bulk_reclaims_per_month: 2.0, bulk_fraction: 0.8, stockout: 1h, zone_correlation: 0.9}
pools:
  - {cloud: aws, region: us-east-1, instance: p4d.24xlarge, interruption: {monthly_rate: 1.5}}
"""


def _traces(folder: Path) -> Path:
    rng = np.random.default_rng(4)
    folder.mkdir()
    for zone in ("us-east-1a", "us-east-1b", "us-west-2a"):
        counts = pool_counts(
            rng,
            capacity=4,
            hours=600,
            gap_hours=1 / 12,
            lam=0.02,
            beta=0.05,
            fbar=0.7,
            stockout=1.0,
            relaunch=1 / 12,
        )
        doc = {"metadata": {"gap_seconds": 300}, "data": counts.tolist()}
        (folder / f"{zone}_v100_1.json").write_text(json.dumps(doc))
    return folder


def test_calibrate_prints_tables_and_writes_a_file_simulate_accepts(tmp_path: Path) -> None:
    folder = _traces(tmp_path / "traces")
    out = tmp_path / "params.yaml"
    result = runner.invoke(app, ["calibrate", str(folder), "-o", str(out), "--bootstrap", "20"])
    assert result.exit_code == 0, result.stderr
    assert "risk: block" in result.stdout and "Weibull" in result.stdout
    doc = yaml.safe_load(out.read_text())
    assert doc["spotadvisor"] == "calibrated-parameters"
    assert set(doc["risk"]) >= {"bulk_reclaims_per_month", "bulk_fraction", "stockout"}
    assert doc["provenance"]["traces"][0]["file"].endswith(".json")
    sim = runner.invoke(
        app, ["simulate", str(EXAMPLE), "--params", str(out), "--trials", "60", "-f", "json"]
    )
    assert sim.exit_code == 0, sim.stderr
    assert f"{out}: its risk: block replaces" in sim.stderr


def test_calibrate_json_and_yaml_formats(tmp_path: Path) -> None:
    folder = _traces(tmp_path / "traces")
    js = runner.invoke(app, ["calibrate", str(folder), "-f", "json", "--bootstrap", "0"])
    assert js.exit_code == 0, js.stderr
    doc = json.loads(js.stdout)
    assert doc["fit"]["lifetimes"]["ended"] > 0 and doc["fit"]["confidence"] == 0.95
    ym = runner.invoke(
        app, ["calibrate", str(folder), "-f", "yaml", "--bootstrap", "0", "--confidence", "0.9"]
    )
    assert ym.exit_code == 0 and "90% confidence interval" in ym.stdout


def test_simulate_applies_fitted_pools_and_says_so(tmp_path: Path) -> None:
    params = tmp_path / "p.yaml"
    params.write_text(PARAMS)
    base = runner.invoke(app, ["simulate", str(EXAMPLE), "--trials", "200", "-f", "json"])
    tuned = runner.invoke(
        app, ["simulate", str(EXAMPLE), "--trials", "200", "-f", "json", "--params", str(params)]
    )
    assert tuned.exit_code == 0, tuned.stderr
    assert "fitted hazard and risk applied to fleet[0]" in tuned.stderr
    pools = json.loads(tuned.stdout)["inputs"]["pools"]
    assert pools[0]["interruption"]["rate_per_hour"] == pytest.approx(1.5 / 730)
    assert json.loads(base.stdout)["interruptions"] != json.loads(tuned.stdout)["interruptions"]


def test_a_bad_parameter_file_exits_2_naming_file_and_field(tmp_path: Path) -> None:
    params = tmp_path / "p.yaml"
    params.write_text(PARAMS.replace("stockout: 1h", "stockout: 60"))
    result = runner.invoke(app, ["simulate", str(EXAMPLE), "--params", str(params)])
    assert result.exit_code == 2
    assert f"{params}: risk.stockout: the number 60 has no unit" in result.stderr
    fleet = runner.invoke(app, ["simulate", str(EXAMPLE), "--params", str(EXAMPLE)])
    assert fleet.exit_code == 2 and "this is a fleet file, not a parameter file" in fleet.stderr


def test_recommend_takes_params(tmp_path: Path) -> None:
    params = tmp_path / "p.yaml"
    params.write_text(PARAMS)
    result = runner.invoke(
        app,
        [
            "recommend",
            "--gpu",
            "A100",
            "--replicas",
            "2",
            "--quick",
            "--seed",
            "1",
            "--params",
            str(params),
            "-f",
            "json",
        ],
    )
    assert result.exit_code == 0, result.stderr
    assert "its risk: block replaces" in result.stderr
    assert json.loads(result.stdout)


def test_calibrate_refuses_an_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = runner.invoke(app, ["calibrate", str(tmp_path / "empty")])
    assert result.exit_code == 2
