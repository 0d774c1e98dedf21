"""`spotadvisor recommend` end to end on the embedded snapshot."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from spotadvisor.cli import app
from tests.conftest import FIXTURES

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
    # ranked: within budget first, by expected cost; costs within Monte Carlo error of
    # each other tie, and a tie goes to the lower breach probability. So a mix listed
    # after a dearer one is no safer than it, and dearer only within the error.
    ok = [m for m in mixes if m["within_risk_budget"]]
    assert mixes[: len(ok)] == ok
    cost, se = "cost_usd_per_month_mean", "cost_usd_per_month_stderr"
    largest = max(m[se] for m in ok)
    for i, a in enumerate(ok):
        for b in ok[i + 1 :]:
            if b[cost] < a[cost]:
                assert b["sla_breach_probability"] >= a["sla_breach_probability"]
                assert a[cost] - b[cost] <= 2 * math.sqrt(2) * largest


def test_document_echoes_inputs_seed_provenance_and_search(document: dict[str, object]) -> None:
    assert document["schema_version"] == 2
    assert document["seed"] == 3 and document["seed_origin"] == "given"
    assert "generated_at" not in document  # the document does not move with the clock
    inputs = document["inputs"]
    assert inputs["workload"]["gpu"] == ["H100"] and inputs["workload"]["gpus_per_replica"] == 8  # type: ignore[index]
    assert inputs["trials"] == 400  # type: ignore[index]
    data = document["data"]
    assert {d["origin"] for d in data} == {"snapshot"}  # type: ignore[union-attr]
    for table in data:  # type: ignore[union-attr]
        assert table["digest"].startswith("sha256:") and table["rows"] > 0
        assert all("as_of" in s and "age_days" not in s for s in table["sources"])
    search = document["search"]
    assert search["generated"] > search["short_run"] >= search["full_run"] > 0  # type: ignore[index]
    assert document["frontier_ranks"] and "Recommended:" in document["explanation"]  # type: ignore[operator]
    assert any("no published interruption band" in n for n in document["notes"])  # type: ignore[union-attr]
    assert document["precision"]["target_breach_stderr"] == 0.0025  # type: ignore[index]


def test_same_seed_same_ranking(document: dict[str, object]) -> None:
    again = json.loads(runner.invoke(app, [*BASE, "--format", "json"]).stdout)
    assert again["mixes"] == document["mixes"]


def test_finalists_reach_the_precision_or_are_clearly_apart(document: dict[str, object]) -> None:
    mixes = document["mixes"]
    assert isinstance(mixes, list)
    budget = 0.05
    finals = [m for m in mixes if m["finalist"]]
    assert mixes[0]["recommended"] and all(m["finalist"] for m in mixes[:10])
    for m in finals:
        p, se = m["sla_breach_probability"], m["sla_breach_probability_stderr"]
        assert se <= 0.0025 or abs(p - budget) >= 4 * se, m["mix"]
        assert m["trials"] <= 64_000
    # any mix cheaper than the recommended one that is not clearly apart is a finalist
    best = mixes[0]["cost_usd_per_month_mean"]
    for m in mixes:
        p, se = m["sla_breach_probability"], m["sla_breach_probability_stderr"]
        if m["cost_usd_per_month_mean"] < best and abs(p - budget) < 4 * se:
            assert m["finalist"], m["mix"]
    # --quick gives 400 trials, so some finalists needed more: the count is honest
    search = document["search"]
    assert isinstance(search, dict)
    refined = [m for m in finals if m["trials"] > search["full_trials"]]
    assert refined and search["refined"] == len(refined)
    assert search["finalists"] == len(finals)
    assert search["finalist_trials_max"] == max(m["trials"] for m in finals)
    start = search["full_trials"] // 1000 * 1000  # a partial chunk is run again
    assert search["refine_trials"] >= sum(m["trials"] - start for m in refined)
    assert all(m["trials"] == 400 for m in mixes if not m["finalist"])


def test_saved_fleet_simulates_to_the_same_figures(
    tmp_path: Path, document: dict[str, object]
) -> None:
    saved = tmp_path / "chosen.yaml"
    result = runner.invoke(app, [*BASE, "--save-fleet", str(saved), "--format", "json"])
    assert result.exit_code == 0 and saved.is_file()
    best = document["mixes"][0]  # type: ignore[index]
    assert yaml.safe_load(saved.read_text())["trials"] == best["trials"]  # the finalist's run
    simulated = json.loads(runner.invoke(app, ["simulate", str(saved), "--format", "json"]).stdout)
    assert simulated["seed"] == 3 and simulated["seed_origin"] == "given"
    # the same trials from the same seed: the very same figures
    for key in ("availability", "cost", "interruptions", "sla_breach_probability"):
        assert simulated[key] == best["metrics"][key], key


AWS = ["recommend", "--gpu", "H100", "--replicas", "2", "--clouds", "aws", "--quick"]


def test_without_a_seed_two_runs_print_the_same_json_bytes() -> None:
    first = runner.invoke(app, [*AWS, "--format", "json"])
    second = runner.invoke(app, [*AWS, "--format", "json"])
    assert first.exit_code == 0, first.stderr
    assert first.stdout == second.stdout  # byte for byte
    doc = json.loads(first.stdout)
    assert doc["seed_origin"] == "derived"
    # the data's age moved from the JSON to stderr
    assert "days old" in first.stderr
    # the same seed given reproduces it, and says so
    given = runner.invoke(app, [*AWS, "--seed", str(doc["seed"]), "--format", "json"])
    again = json.loads(given.stdout)
    assert again["seed_origin"] == "given" and again["mixes"] == doc["mixes"]
    # the table states the seed and where it came from, and the finalists' precision
    table = " ".join(runner.invoke(app, AWS).stdout.split())
    assert f"Seed {doc['seed']} (derived from the request and the data)" in table
    assert "Finalists (" in table and "(1 s.e.)" in table


def test_the_derived_seed_follows_the_flags_and_the_data(tmp_path: Path) -> None:
    def seed(*extra: str, db: Path | None = None) -> int:
        args = ["--db", str(db)] if db else []
        result = runner.invoke(app, [*args, *AWS, *extra, "--format", "json"])
        assert result.exit_code == 0, result.stderr
        value: int = json.loads(result.stdout)["seed"]
        return value

    base = seed()
    assert seed("--risk", "0.04") != base
    assert seed("--limit", "3") == base  # presentation is not part of the request
    db = tmp_path / "imported.duckdb"
    assert seed(db=db) == base  # an empty store reads the same snapshot
    catalog = sorted((FIXTURES / "skypilot_catalog").glob("aws*.csv"))[-1]
    imported = runner.invoke(
        app, ["--db", str(db), "data", "import", str(catalog), "--as-of", "2026-11-01"]
    )
    assert imported.exit_code == 0, imported.stderr
    assert seed(db=db) != base  # new data, new dice


def test_table_csv_and_markdown() -> None:
    table = runner.invoke(app, [*BASE, "--limit", "3"])
    assert (
        table.exit_code == 0 and "★1" in table.stdout and "all on-demand baseline" in table.stdout
    )
    assert "Recommended:" in table.stdout and "days old" in table.stdout
    assert "Seed 3 (given)" in " ".join(table.stdout.split())
    csv = runner.invoke(app, [*BASE, "--format", "csv"])
    frame = pd.read_csv(io.StringIO(csv.stdout))
    assert frame.loc[0, "recommended"] and {
        "mix",
        "trials",
        "finalist",
        "cost_usd_per_month_mean",
        "sla_breach_probability",
    } <= set(frame.columns)
    md = runner.invoke(app, [*BASE, "--format", "markdown", "--limit", "2"])
    assert md.stdout.startswith("| # | Mix |") and "Recommended:" in md.stdout
    assert "Finalists (" in md.stdout and "Seed 3 (given)" in md.stdout


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
