"""Issue 6's finish line: after collecting GCP and Azure from local servers, `offers`,
`recommend` and `data status` use the fresh prices, their band sources and their ages."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from spotadvisor.cli import app
from spotadvisor.collect.azure import collect_azure
from spotadvisor.collect.azure_options import AzureOptions
from spotadvisor.store import Store
from tests.fakes.azure import FakeAzure, FakeCredential
from tests.fakes.gcp import FakeGcp

runner = CliRunner()


def test_gcp_and_azure_collections_feed_offers_recommend_and_status(
    fake_gcp: FakeGcp, fake_azure: FakeAzure, tmp_path: Path
) -> None:
    db = tmp_path / "s.duckdb"
    # GCP through the command line (anonymous credentials, the fake's endpoints)
    gcp = runner.invoke(
        app,
        [
            "--db",
            str(db),
            "collect",
            "gcp",
            "--anonymous",
            "--catalog-endpoint",
            fake_gcp.url,
            "--regions",
            "us-central1,europe-west4",
            "--format",
            "json",
        ],
    )
    assert gcp.exit_code == 0, gcp.stderr
    assert all(t["error"] is None for t in json.loads(gcp.stdout)["tasks"])
    # Azure through the library: its credential is a test object the CLI cannot take
    report = collect_azure(
        Store(db),
        AzureOptions(
            regions=("eastus", "westus2"),
            retail_prices_url=fake_azure.retail_url,
            management_endpoint=fake_azure.url,
            credential=FakeCredential(),
            sources=frozenset({"prices", "evictions", "spot-history"}),
            max_attempts=2,
            backoff_s=0.0,
        ),
    )
    assert not report.failed, report.failed

    offers = json.loads(
        runner.invoke(
            app, ["--db", str(db), "offers", "--gpu", "A100", "--format", "json", "--limit", "0"]
        ).stdout
    )
    by_source = {(o["cloud"], o["source"]) for o in offers["offers"]}
    assert ("gcp", "gcp-catalog") in by_source and ("azure", "azure-retail-prices") in by_source
    gcp_rows = [o for o in offers["offers"] if o["source"] == "gcp-catalog"]
    assert all(o["interruption_band_source"].startswith("prior:") for o in gcp_rows)
    azure_rows = [o for o in offers["offers"] if o["source"] == "azure-retail-prices"]
    assert any(
        (o["interruption_band_source"] or "").startswith("azure-resource-graph") for o in azure_rows
    )
    table = runner.invoke(
        app,
        ["--db", str(db), "offers", "--gpu", "A100", "--cloud", "gcp", "--region", "us-central1"],
    )
    assert "(prior)" in table.stdout  # the band is marked as a prior, not a published band

    rec = json.loads(
        runner.invoke(
            app,
            [
                "--db",
                str(db),
                "recommend",
                "--gpu",
                "A100",
                "--replicas",
                "2",
                "--quick",
                "--seed",
                "1",
                "--clouds",
                "gcp,azure",
                "--regions",
                "us-central1,europe-west4,eastus,westus2",
                "--format",
                "json",
            ],
        ).stdout
    )
    clouds = {p["cloud"] for m in rec["mixes"] for p in m["pools"]}
    assert clouds == {"gcp", "azure"}
    assert {
        s["origin"]
        for d in rec["data"]
        for s in d["sources"]
        if s["source"] in ("gcp-catalog", "azure-retail-prices")
    } == {"store"}

    status = json.loads(
        runner.invoke(app, ["--db", str(db), "data", "status", "-f", "json"]).stdout
    )
    offers_sources = {
        s["source"]: s for t in status["tables"] if t["table"] == "offers" for s in t["sources"]
    }
    assert {"gcp-catalog", "azure-retail-prices"} <= set(offers_sources)
    assert all(offers_sources[s]["age_days"] >= 0 for s in ("gcp-catalog", "azure-retail-prices"))
    assert {(c["cloud"], c["source"]) for c in status["collections"]} >= {
        ("gcp", "prices"),
        ("gcp", "bands"),
        ("azure", "prices"),
        ("azure", "evictions"),
    }
