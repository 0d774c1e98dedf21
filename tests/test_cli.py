"""The command line as users run it: offers, data import/status, errors and exit codes."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from spotadvisor import __version__
from spotadvisor.cli import app
from spotadvisor.schema import OFFERS
from spotadvisor.store import Store
from tests.conftest import FIXTURES, ROOT

runner = CliRunner()
CATALOG = FIXTURES / "skypilot_catalog"
EXAMPLE = ROOT / "examples" / "llama70b-fleet.yaml"


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def offers_json(*args: str) -> dict[str, object]:
    code, out, err = run("offers", "--format", "json", *args)
    assert code == 0, err
    document: dict[str, object] = json.loads(out)
    return document


# -- global options ------------------------------------------------------------------


def test_version() -> None:
    code, out, _ = run("--version")
    assert code == 0 and out == f"spotadvisor {__version__}\n"


def test_python_dash_m_works_and_help_imports_no_heavy_modules() -> None:
    probe = (
        "import sys, runpy\n"
        "sys.argv = ['spotadvisor', '--help']\n"
        "try:\n    runpy.run_module('spotadvisor', run_name='__main__')\n"
        "except SystemExit as e:\n    code = e.code\n"
        "heavy = [m for m in ('pandas', 'duckdb', 'boto3', 'google.cloud', 'azure') if m in sys.modules]\n"
        "print('EXIT', code, 'HEAVY', heavy)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    )
    assert "offers" in done.stdout and "data" in done.stdout
    assert "EXIT 0 HEAVY []" in done.stdout, done.stdout + done.stderr


# -- offers on the embedded snapshot -------------------------------------------------


def test_offers_h100_json_has_all_three_clouds_with_prices_and_bands() -> None:
    doc = offers_json("--gpu", "H100")
    offers = doc["offers"]
    assert isinstance(offers, list)
    clouds = {o["cloud"] for o in offers}
    assert clouds == {"aws", "gcp", "azure"}
    assert all(o["gpu_model"] == "H100" for o in offers)
    for cloud in clouds:
        priced = [o for o in offers if o["cloud"] == cloud and o["price_on_demand_usd_per_hour"]]
        assert priced, f"no priced H100 offer on {cloud}"
    aws_bands = {o["interruption_band"] for o in offers if o["cloud"] == "aws"}
    assert aws_bands - {None}, "AWS offers should carry Spot Advisor bands"
    # no published bands for GCP/Azure in the snapshot: unknown is null, never 0
    assert all(o["interruption_band"] is None for o in offers if o["cloud"] != "aws")
    assert doc["schema_version"] == 1 and doc["query"]["gpu"] == ["H100"]
    origins = {d["table"]: d["origin"] for d in doc["data"]}  # type: ignore[index]
    assert origins == {"offers": "snapshot", "interruption_history": "snapshot"}


def test_offers_default_table_is_a_real_ranked_table() -> None:
    code, out, err = run("offers", "--gpu", "H100")
    assert code == 0
    assert "GPU offers" in out and "H100 80GB" in out
    assert "of" in out and "--limit 0 shows all" in out
    assert "embedded snapshot" in err and "days old" in err  # age of the data, on stderr
    # sorted by spot price per GPU-hour
    doc = offers_json("--gpu", "H100", "--spot-only")
    prices = [o["price_spot_usd_per_gpu_hour"] for o in doc["offers"]]  # type: ignore[union-attr]
    assert prices == sorted(prices)


def test_unknown_prices_show_as_unknown_never_zero() -> None:
    # GCP a4-highgpu-8g carries price 0.0 in the catalog: that is unknown, not free
    code, out, _ = run("offers", "--gpu", "B200", "--cloud", "gcp", "--limit", "0")
    assert code == 0 and "unknown" in out and "$0.00" not in out
    doc = offers_json("--gpu", "B200", "--cloud", "gcp")
    assert all(o["price_on_demand_usd_per_hour"] is None for o in doc["offers"])  # type: ignore[union-attr]
    assert all("price_zero" in o["quality_flags"] for o in doc["offers"])  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("args", "check"),
    [
        (
            ["--gpu", "A100-80GB", "--gpus", "8"],
            lambda o: o["gpu_memory_gb"] == 80 and o["gpu_count"] == 8,
        ),
        (["--gpu", "a100"], lambda o: o["gpu_model"] == "A100"),
        (["--gpu-memory", "80"], lambda o: o["gpu_memory_gb"] >= 80),
        (["--region", "eu*", "--gpu", "L4"], lambda o: o["region"].startswith("eu")),
        (["--max-band", "10-15%"], lambda o: o["interruption_band_upper_pct"] <= 15),
        (["--max-price", "1.5"], lambda o: o["price_spot_usd_per_hour"] <= 1.5),
        (["--cloud", "azure,gcp", "--gpu", "T4,L4"], lambda o: o["cloud"] in ("azure", "gcp")),
        (["--zone", "use1-az*"], lambda o: o["zone_id"].startswith("use1-az")),
    ],
)
def test_offers_filters_end_to_end(args: list[str], check: object) -> None:
    doc = offers_json(*args)
    offers = doc["offers"]
    assert offers, f"{args} matched nothing"
    assert all(check(o) for o in offers)  # type: ignore[operator, union-attr]


def test_offers_csv_and_markdown() -> None:
    code, out, _ = run("offers", "--gpu", "L40S", "--format", "csv")
    assert code == 0
    frame = pd.read_csv(io.StringIO(out))
    assert set(OFFERS.column_names) <= set(frame.columns)
    assert (frame["gpu_model"] == "L40S").all() and len(frame) > 30  # csv shows all by default
    code, out, _ = run("offers", "--gpu", "L40S", "--format", "markdown", "-n", "3")
    assert code == 0 and out.startswith("| Cloud | Region |") and "3 of " in out


def test_output_file(tmp_path: Path) -> None:
    target = tmp_path / "h100.json"
    code, out, err = run("offers", "--gpu", "H100", "--format", "json", "-o", str(target))
    assert code == 0 and out == "" and "wrote" in err
    assert json.loads(target.read_text())["count"] > 0


# -- error paths ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["offers", "--gpu", "H1OO"],
            "error: --gpu: unknown GPU model 'H1OO'. Did you mean 'H100'",
        ),
        (["offers", "--region", "us-est-1"], "Did you mean"),
        (["offers", "--cloud", "amazon"], "--cloud: unknown cloud 'amazon'"),
        (["offers", "--gpus", "eight"], "--gpus: 'eight' is not a GPU count"),
        (["offers", "--gpus", "0"], "--gpus: '0' is not a GPU count"),
        (["offers", "--max-band", "low"], "--max-band: 'low' is not an interruption band"),
        (["data", "import", "/nonexistent/file.json"], "/nonexistent/file.json: file not found"),
        (["data", "import", str(ROOT / "README.md")], "(or name it with --file-format if"),
        (
            ["data", "import", "--as-of", "2999-01-01", str(CATALOG)],
            "--as-of: '2999-01-01' is in the future",
        ),
        (["simulate", str(EXAMPLE), "--horizon", "0s"], "error: --horizon: '0s' must be longer"),
        (["simulate", str(EXAMPLE), "--horizon", "10"], "error: --horizon: the number '10' has"),
        (["simulate", str(EXAMPLE), "--params", str(EXAMPLE)], "this is a fleet file, not a"),
    ],
)
def test_bad_input_is_one_line_exit_2(args: list[str], expected: str) -> None:
    code, out, err = run(*args)
    assert code == 2
    assert out == ""
    assert expected in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_typer_usage_errors_exit_2() -> None:
    code, _, err = run("offers", "--sort", "cheapest")
    assert code == 2 and "cheapest" in err


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["simulate"], "error: spotadvisor simulate: Missing argument 'FLEET.yaml'."),
        (["simulate", "x.yaml", "--trials", "0"], "error: spotadvisor simulate: Invalid value"),
        (["offers", "--bogus"], "error: spotadvisor offers: No such option: --bogus"),
        (["nosuch"], "error: spotadvisor: No such command 'nosuch'."),
        (
            ["offers", "-o", "/nonexistent-folder/x.csv"],
            "error: spotadvisor offers: Invalid value for '--output' / '-o': the folder "
            "/nonexistent-folder does not exist",
        ),
    ],
)
def test_parser_errors_from_the_installed_command_are_one_line(
    args: list[str], expected: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "spotadvisor", *args], capture_output=True, text=True, check=False
    )
    assert done.returncode == 2 and done.stdout == ""
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(expected) and line.endswith("--help'."), line


def test_debug_shows_the_traceback() -> None:
    code, _, err = run("--debug", "offers", "--gpu", "H1OO")
    assert code == 2 and "Traceback" in err and "Did you mean 'H100'" in err


def test_store_that_is_not_a_database_exits_3(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.duckdb"
    bogus.write_text("not a database\n" * 50)
    code, _, err = run("--db", str(bogus), "data", "status")
    assert code == 3 and str(bogus) in err and "Traceback" not in err


# -- data import and status ----------------------------------------------------------


def test_import_then_offers_use_the_store(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    catalog = sorted(CATALOG.glob("aws*.csv"))[0]
    code, out, err = run("--db", str(db), "data", "import", str(catalog), "--as-of", "2026-11-01")
    assert code == 0, err
    assert "offers" in out and "Imported" in out
    stored = Store(db).read(OFFERS)
    assert len(stored) > 0 and (stored["as_of"] == pd.Timestamp("2026-11-01", tz="UTC")).all()

    # second run: nothing new
    code, out, _ = run(
        "--db", str(db), "data", "import", str(catalog), "--as-of", "2026-11-01", "-f", "json"
    )
    written = json.loads(out)["written"]
    assert code == 0 and written[0]["inserted"] == 0 and written[0]["unchanged"] == len(stored)

    doc = offers_json()  # default store is the isolated SPOTADVISOR_DB, still empty: snapshot
    assert doc["data"][0]["origin"] == "snapshot"  # type: ignore[index]
    code, out, err = run("--db", str(db), "offers", "--format", "json")
    stored_doc = json.loads(out)
    # the imported AWS types and regions come from the store; every other type, region
    # and cloud still comes from the snapshot
    assert stored_doc["data"][0]["origin"] == "store+snapshot"
    origins = {s["source"]: s["origin"] for s in stored_doc["data"][0]["sources"]}
    assert origins[stored["source"].iloc[0]] == "store"
    assert {o for src, o in origins.items() if "gcp" in src or "azure" in src} == {"snapshot"}
    imported = set(zip(stored["region"], stored["instance_type"], strict=True))
    aws = [o for o in stored_doc["offers"] if o["cloud"] == "aws"]
    fresh = [o for o in aws if (o["region"], o["instance_type"]) in imported]
    assert len(fresh) == len(stored) and {o["source"] for o in fresh} == set(stored["source"])
    others = [o for o in aws if (o["region"], o["instance_type"]) not in imported]
    assert others and all(o["source"].startswith("skypilot-catalog") for o in others)
    assert {o["region"] for o in others} & set(stored["region"])  # same regions, other types
    assert "store" in err and "2026-11-01" in err


def test_bad_import_leaves_the_store_as_it_was(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    good = sorted(CATALOG.glob("aws*.csv"))[0]
    assert run("--db", str(db), "data", "import", str(good), "--as-of", "2026-11-01")[0] == 0
    before = Store(db).read(OFFERS)
    unknown = tmp_path / "notes.txt"
    unknown.write_text("hello\n")
    code, _, err = run("--db", str(db), "data", "import", str(good), str(unknown))
    assert code == 2 and "notes.txt" in err and "not a file format" in err
    pd.testing.assert_frame_equal(Store(db).read(OFFERS), before)


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    code, out, err = run(
        "--db", str(db), "data", "import", str(CATALOG), "--dry-run", "--as-of", "2026-01-01"
    )
    assert code == 0 and "dry run" in err and "Parsed" in out
    assert not db.exists()


def test_status_on_empty_store_describes_the_snapshot() -> None:
    code, out, _ = run("data", "status", "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert doc["store"]["exists"] is False
    tables = {t["table"]: t for t in doc["tables"]}
    shipped = {"offers", "spot_price_history", "interruption_history"}
    assert shipped <= set(tables) and set(tables) - shipped <= {"billing", "interruption_events"}
    assert all(tables[t]["origin"] == "snapshot" for t in shipped)
    assert all(s["rows"] > 0 and s["age_days"] > 0 for t in shipped for s in tables[t]["sources"])
    assert doc["snapshot"]["sources"]
    code, out, _ = run("data", "status")
    assert code == 0 and "embedded snapshot" in out and "not created yet" in out


def test_status_after_import_shows_store_rows(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    catalog = sorted(CATALOG.glob("azure*.csv"))[0]
    run(
        "--db", str(db), "data", "import", str(catalog), "--as-of", "2026-11-01", "--source", "mine"
    )
    doc = json.loads(run("--db", str(db), "data", "status", "-f", "json")[1])
    offers = next(t for t in doc["tables"] if t["table"] == "offers")
    assert (
        offers["origin"] == "store+snapshot"
    )  # Azure from the store, AWS and GCP from the snapshot
    mine = next(s for s in offers["sources"] if s["source"] == "mine")
    assert mine["origin"] == "store" and mine["ingested_at"]
    assert all(s["origin"] == "snapshot" for s in offers["sources"] if s["source"] != "mine")


# -- data export ---------------------------------------------------------------------


def test_export_csv_json_and_parquet(tmp_path: Path) -> None:
    code, out, err = run("data", "export", "offers")
    assert code == 0 and "embedded snapshot" in err
    exported = pd.read_csv(io.StringIO(out))
    assert list(exported.columns) == OFFERS.column_names and len(exported) > 2000

    code, out, _ = run("data", "export", "interruption_history", "-f", "json")
    doc = json.loads(out)
    assert code == 0 and doc["data"]["origin"] == "snapshot" and doc["rows"][0]["cloud"] == "aws"

    target = tmp_path / "offers.parquet"
    code, out, _ = run("data", "export", "offers", "-f", "parquet", "-o", str(target))
    assert code == 0 and out == ""
    from spotadvisor.snapshot import read_snapshot_table

    target.rename(tmp_path / "offers.parquet")  # read it back through the snapshot reader
    back = read_snapshot_table(OFFERS, tmp_path)
    assert len(back) == len(exported)


def test_export_errors() -> None:
    code, _, err = run("data", "export", "offer")
    assert code == 2 and "Did you mean 'offers'" in err
    code, _, err = run("data", "export", "offers", "-f", "parquet")
    assert code == 2 and "-o FILE.parquet" in err


def test_export_billing_after_import(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    focus = sorted((FIXTURES / "billing").glob("focus*.csv"))[0]
    assert run("--db", str(db), "data", "import", str(focus))[0] == 0
    code, out, err = run("--db", str(db), "data", "export", "billing")
    assert code == 0, err
    assert "billing: store" in err and len(pd.read_csv(io.StringIO(out))) > 0
