"""`spotadvisor recommend` end to end on the embedded snapshot."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from spotadvisor.cli import app

runner = CliRunner()
BASE = ["recommend", "--gpu", "H100", "--replicas", "4", "--quick", "--seed", "3"]


@pytest.fixture(scope="module")
def document() -> dict[str, object]:
    result = runner.invoke(app, [*BASE, "--format", "json"])
    assert result.exit_code == 0, result.stderr
    doc: dict[str, object] = json.loads(result.stdout)
    return doc


def test_recommends_a_real_mix_within_the_risk_budget(document: dict[str, object]) -> None:
    mixes = document["mixes"]
    assert isinstance(mixes, list) and document["recommended_rank"] == 1
    best = mixes[0]
    assert best["recommended"] and best["within_risk_budget"]
    breach = best["metrics"]["sla_breach_probability"]
    assert breach["value"] + 2 * breach["stderr"] <= 0.05
    assert (
        best["savings_pct"] > 0
        and best["cost_usd_per_month_mean"] < document["baseline"]["cost_usd_per_month_mean"]
    )  # type: ignore[index]
    assert all(p["market"] in ("spot", "on-demand") for p in best["pools"])
    # ranked: within budget first, by expected cost
    ok = [m for m in mixes if m["within_risk_budget"]]
    costs = [m["cost_usd_per_month_mean"] for m in ok]
    assert costs == sorted(costs) and mixes[: len(ok)] == ok


def test_document_echoes_inputs_seed_provenance_and_search(document: dict[str, object]) -> None:
    assert document["schema_version"] == 1 and document["seed"] == 3
    inputs = document["inputs"]
    assert inputs["workload"]["gpu"] == ["H100"] and inputs["workload"]["gpus_per_replica"] == 8  # type: ignore[index]
    assert inputs["trials"] == 400  # type: ignore[index]
    assert {d["origin"] for d in document["data"]} == {"snapshot"}  # type: ignore[union-attr]
    search = document["search"]
    assert search["generated"] > search["short_run"] >= search["full_run"] > 0  # type: ignore[index]
    assert document["frontier_ranks"] and "Recommended:" in document["explanation"]  # type: ignore[operator]
    assert any("no published interruption band" in n for n in document["notes"])  # type: ignore[union-attr]


def test_same_seed_same_ranking(document: dict[str, object]) -> None:
    again = json.loads(runner.invoke(app, [*BASE, "--format", "json"]).stdout)
    assert again["mixes"] == document["mixes"]


def test_saved_fleet_simulates_to_the_same_figures(
    tmp_path: Path, document: dict[str, object]
) -> None:
    saved = tmp_path / "chosen.yaml"
    result = runner.invoke(app, [*BASE, "--save-fleet", str(saved), "--format", "json"])
    assert result.exit_code == 0 and saved.is_file()
    simulated = json.loads(runner.invoke(app, ["simulate", str(saved), "--format", "json"]).stdout)
    best = document["mixes"][0]["metrics"]  # type: ignore[index]
    for key, field in (("availability", "mean"), ("cost", "mean"), ("interruptions", "mean")):
        a, b = best[key], simulated[key]
        assert abs(a[field] - b[field]) <= 4 * max(a["stderr"], 1e-12) + 1e-9, key


def test_table_csv_and_markdown() -> None:
    table = runner.invoke(app, [*BASE, "--limit", "3"])
    assert (
        table.exit_code == 0 and "★1" in table.stdout and "all on-demand baseline" in table.stdout
    )
    assert "Recommended:" in table.stdout and "days old" in table.stdout
    csv = runner.invoke(app, [*BASE, "--format", "csv"])
    frame = pd.read_csv(io.StringIO(csv.stdout))
    assert frame.loc[0, "recommended"] and {
        "mix",
        "cost_usd_per_month_mean",
        "sla_breach_probability",
    } <= set(frame.columns)
    md = runner.invoke(app, [*BASE, "--format", "markdown", "--limit", "2"])
    assert md.stdout.startswith("| # | Mix |") and "Recommended:" in md.stdout


def test_explain_shows_pools_and_metrics() -> None:
    result = runner.invoke(app, [*BASE, "--explain", "2"])
    assert result.exit_code == 0 and "#2:" in result.stdout and "Pools" in result.stdout
    assert "SLA breach probability" in result.stdout


def test_throughput_adds_cost_per_million_tokens() -> None:
    result = runner.invoke(app, [*BASE, "--throughput", "2500", "--format", "json"])
    best = json.loads(result.stdout)["mixes"][0]
    assert best["cost_usd_per_million_tokens"] > 0


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["recommend", "--gpu", "H100"], "--replicas: how many replicas must serve?"),
        (["recommend", "--gpu", "H1OO", "--replicas", "2"], "Did you mean 'H100'"),
        (["recommend", "--replicas", "2", "--sla", "150"], "--sla"),
        (
            ["recommend", "--gpu", "H100", "--replicas", "2", "--budget", "10", "--quick"],
            "--budget: no mix fits the budget of $10 a month",
        ),
        ([*BASE, "--explain", "999"], "--explain"),
        ([*BASE, "--sla", "0.999"], "--sla: 0.999 would mean 0.999% availability"),
        ([*BASE, "--clouds", "gpc"], "--clouds: unknown cloud 'gpc'. Did you mean 'gcp'?"),
        ([*BASE, "--regions", "us-est-1"], "--regions: no offer has a region matching 'us-est-1'"),
    ],
)
def test_bad_input_exit_2(args: list[str], expected: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and expected in result.stderr and "Traceback" not in result.stderr


def test_sla_and_risk_options_take_numbers() -> None:
    """Options arrive as text; ``--sla 99.95 --risk 0.02`` must read as numbers."""
    result = runner.invoke(app, [*BASE, "--sla", "99.95", "--risk", "2%", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    sla = json.loads(result.stdout)["inputs"]["sla"]
    assert sla == {"availability": 0.9995, "max_breach_probability": 0.02}


def test_the_baseline_is_not_recommended_over_the_budget(document: dict[str, object]) -> None:
    """A budget below the cheapest mix within the risk budget leaves nothing to recommend.

    The all-on-demand baseline is still evaluated (as the reference) but must not be
    recommended at several times the budget.
    """
    mixes = document["mixes"]
    assert isinstance(mixes, list)
    cheapest_ok = min(m["cost_usd_per_month_mean"] for m in mixes if m["within_risk_budget"])
    budget = f"{0.99 * cheapest_ok:.0f}"
    result = runner.invoke(app, [*BASE, "--budget", budget, "--format", "json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["recommended_rank"] is None
    assert not any(m["recommended"] for m in doc["mixes"])
    table = runner.invoke(app, [*BASE, "--budget", budget])
    assert f"No mix meets both the SLA and the budget of ${float(budget):,.0f} a month" in (
        " ".join(table.stdout.split())
    )


def test_every_mix_is_listed_once(document: dict[str, object]) -> None:
    mixes = document["mixes"]
    assert isinstance(mixes, list)
    keys = [json.dumps([m["pools"], m["policy"]], sort_keys=True) for m in mixes]
    assert len(keys) == len(set(keys))
    assert sum(1 for m in mixes if m["recommended"]) == 1
