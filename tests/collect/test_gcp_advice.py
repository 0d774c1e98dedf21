"""`collect gcp --sources preemption,capacity` against a local advice API on 127.0.0.1,
the pure parsers of collect.gcp_advice, and the measured band reaching simulate/recommend.

The fake's records (tests/fakes/gcp_advice.py) and the figures they must give, by hand:

a2-highgpu-1g, us-central1
    -a: 0.02 for 24 h (06-01), 0.05 for 48 h (06-02..06-04), one record with no rate
        -> (0.02 x 24 + 0.05 x 48) / 72 = 0.04, window 06-01 00:00 .. 06-04 00:00 UTC
    -b: 0.10 for 12 h (05-31 12:00), 0.06 for 36 h -> (1.2 + 2.16) / 48 = 0.07
    -c: no history
    -f: 0.031 for one Pacific day, 06-29 07:00 .. 06-30 07:00 UTC
    region row: mean (4.0 + 7.0 + 3.1) / 3 = 4.7 %, band [3.1, 7.0] %, window
    05-31 12:00 .. 06-30 07:00 UTC = 29 d 19 h = 29.7917 d, "measured 3.1-7.0%"
a2-highgpu-2g, us-central1: -a 0.05 for one day, the other zones nothing
    -> 5.0 %, band [5.0, 5.0], "measured 5.0%", 1 d
g2-standard-8: HTTP 403 on both methods
capacity, a2-highgpu-1g: -a obtainability 0.5 (uptime 7200 s) -> 1 + 9 x 0.5 = 5.5;
    -b 0.8 -> 8.2; -c no recommendation; -f 1.0 (uptime 86400 s) -> 10.0
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
import yaml
from google.auth.credentials import AnonymousCredentials

from spotadvisor.catalog import attach_bands, offers_view
from spotadvisor.collect.gcp import collect_gcp, plan
from spotadvisor.collect.gcp_advice import (
    ADVICE_SOURCE,
    ZonePreemption,
    apply_placement_scores,
    capacity_frame,
    measured_history_rows,
    parse_capacity_advice,
    parse_duration_hours,
    parse_preemption_history,
    parse_timestamp,
    placement_score,
    zone_name,
)
from spotadvisor.collect.gcp_options import GcpOptions
from spotadvisor.config import parse_fleet
from spotadvisor.errors import UsageError
from spotadvisor.fleet import resolve_fleet
from spotadvisor.importers.base import ImportBatch
from spotadvisor.priors import prior_for
from spotadvisor.schema import INTERRUPTION_HISTORY, OFFERS, validate
from spotadvisor.sources import load_table
from spotadvisor.store import Store
from tests.fakes.gcp import DEFAULT_NOW, PROJECT_ID, FakeGcp
from tests.fakes.gcp_advice import FakeGcpAdvice, daily, record

PT = timezone(timedelta(hours=-7))  # Pacific daylight time: GCP's day boundaries
REGION = "us-central1"
A2_1G, A2_2G, G2 = "a2-highgpu-1g", "a2-highgpu-2g", "g2-standard-8"
ZONES = {A2_1G: "abcf", A2_2G: "abcf", G2: "abc"}  # the snapshot's zones in us-central1
WINDOW_DAYS = 29 + 19 / 24


def zone(letter: str) -> str:
    return f"{REGION}-{letter}"


@pytest.fixture
def fake_advice(gcp_env: None) -> Iterator[FakeGcpAdvice]:
    with FakeGcpAdvice() as fake:
        fake.history[(zone("a"), A2_1G)] = [
            record("2025-06-01T00:00:00Z", "2025-06-02T00:00:00Z", 0.02),
            record("2025-06-02T00:00:00Z", "2025-06-04T00:00:00Z", 0.05),
            record("2025-06-04T00:00:00Z", "2025-06-05T00:00:00Z", None),
        ]
        fake.history[(zone("b"), A2_1G)] = [
            record("2025-05-31T12:00:00Z", "2025-06-01T00:00:00.000000000Z", 0.10),
            record("2025-06-01T00:00:00Z", "2025-06-02T12:00:00Z", 0.06),
        ]
        fake.history[(zone("c"), A2_1G)] = []
        fake.history[(zone("f"), A2_1G)] = daily(datetime(2025, 6, 29, tzinfo=PT), [0.031])
        fake.history[(zone("a"), A2_2G)] = daily(datetime(2025, 6, 1, tzinfo=PT), [0.05])
        fake.capacity[(zone("a"), A2_1G)] = {"obtainability": 0.5, "estimatedUptime": "7200s"}
        fake.capacity[(zone("b"), A2_1G)] = {"obtainability": 0.8}
        fake.capacity[(zone("f"), A2_1G)] = {"obtainability": 1.0, "estimatedUptime": "86400s"}
        fake.denied.add(G2)
        yield fake


def options(fake: FakeGcpAdvice, **changes: Any) -> GcpOptions:
    base = GcpOptions(
        regions=(REGION,),
        machine_types=(A2_1G, A2_2G, G2),
        sources=frozenset({"bands", "preemption", "capacity"}),
        project=PROJECT_ID,
        target_capacity=3,
        compute_endpoint=fake.url,
        credentials=AnonymousCredentials(),
        now=DEFAULT_NOW,
        timeout_s=5,
        retry_deadline_s=5,
    )
    return dataclasses.replace(base, **changes)


def bands_of(store: Store) -> pd.DataFrame:
    return store.read(INTERRUPTION_HISTORY).set_index(["source", "instance_type"]).sort_index()


# -- a collection ------------------------------------------------------------------------


def test_measured_rows_from_the_preemption_history(
    fake_advice: FakeGcpAdvice, tmp_path: Path
) -> None:
    store = Store(tmp_path / "s.duckdb")
    report = collect_gcp(store, options(fake_advice))
    assert fake_advice.problems == []
    bands = bands_of(store)

    one = bands.loc[(ADVICE_SOURCE, A2_1G)]
    assert one["region"] == REGION and one["cloud"] == "gcp" and one["os"] == "Linux"
    assert one["measured_rate_pct"] == pytest.approx((4.0 + 7.0 + 3.1) / 3)
    assert one["interruption_band_lower_pct"] == pytest.approx(3.1)
    assert one["interruption_band_upper_pct"] == pytest.approx(7.0)
    assert one["interruption_band"] == "measured 3.1-7.0%"
    assert one["window_start"] == pd.Timestamp("2025-05-31T12:00:00Z")
    assert one["window_end"] == pd.Timestamp("2025-06-30T07:00:00Z")
    assert one["window_days"] == pytest.approx(WINDOW_DAYS)
    assert one["as_of"] == pd.Timestamp(DEFAULT_NOW) and pd.isna(one["savings_pct"])

    two = bands.loc[(ADVICE_SOURCE, A2_2G)]  # one zone with history: lower = upper
    assert two["interruption_band"] == "measured 5.0%"
    assert two["interruption_band_lower_pct"] == two["interruption_band_upper_pct"] == 5.0
    assert two["measured_rate_pct"] == pytest.approx(5.0) and two["window_days"] == 1.0
    assert two["window_start"] == pd.Timestamp("2025-06-01T07:00:00Z")

    # the prior only for the machine the advice API refused: never for a measured pair
    prior = prior_for("gcp")
    assert prior is not None
    assert set(bands.index) == {(ADVICE_SOURCE, A2_1G), (ADVICE_SOURCE, A2_2G), (prior.source, G2)}
    assert pd.isna(bands.loc[(prior.source, G2), "measured_rate_pct"])

    # the 403 fails the g2 tasks only, with the permission hint
    failed = {(r.source, r.region): r.error or "" for r in report.failed}
    assert set(failed) == {("preemption", REGION), ("capacity", REGION)}
    for source, permission in (("preemption", "capacityHistory"), ("capacity", "capacity")):
        error = failed[(source, REGION)]
        assert error.startswith(
            f"{G2}: Forbidden (HTTP 403): Required 'compute.advice.{permission}'"
        )
        assert error.endswith(
            "(the caller lacks this permission; grant it or leave the source out)"
        )
    ok = [r for r in report.results if r.ok and r.source in ("preemption", "capacity")]
    assert len(ok) == 4 and report.usable

    # zones without history are noted, not errors; scores without prices are not written
    notes = " | ".join(report.notes)
    assert "4 zone(s) have no preemption history" in notes and f"{zone('c')} {A2_1G}" in notes
    assert "capacity: 3 zone score(s) not written" in notes
    log = store.ingest_log()
    measured_notes = log.loc[log["source"] == ADVICE_SOURCE, "notes"].str.cat(sep="\n")
    assert (
        f"{zone('a')} {A2_1G}: preemption share 4.0% over 3.0 d (2 record(s); 1 skipped"
        in measured_notes
    )


def test_requests_speak_the_advice_wire_format(fake_advice: FakeGcpAdvice, tmp_path: Path) -> None:
    collect_gcp(Store(tmp_path / "s.duckdb"), options(fake_advice))
    paths = {r.path for r in fake_advice.requests}
    assert paths == {
        f"/compute/v1/projects/{PROJECT_ID}/regions/{REGION}/advice/capacityHistory",
        f"/compute/v1/projects/{PROJECT_ID}/regions/{REGION}/advice/capacity",
    }
    assert {r.method for r in fake_advice.requests} == {"POST"}
    # every known zone of every machine; g2's first zone answers 403, which ends its task
    expected = {(zone(z), t) for t, letters in ZONES.items() for z in letters if t != G2}
    expected.add((zone("a"), G2))
    history = fake_advice.bodies("capacityHistory")
    assert len(history) == len(expected)
    assert {
        (
            b["locationPolicy"]["location"].removeprefix("zones/"),
            b["instanceProperties"]["machineType"],
        )
        for b in history
    } == expected
    for body in history:
        assert body["instanceProperties"]["scheduling"] == {"provisioningModel": "SPOT"}
        assert body["types"] == ["PREEMPTION"]
    capacity = fake_advice.bodies("capacity")
    assert len(capacity) == len(expected)
    seen = set()
    for body in capacity:
        assert body["size"] == 3  # --target-capacity
        assert body["instanceProperties"] == {"scheduling": {"provisioningModel": "SPOT"}}
        policy = body["distributionPolicy"]
        assert policy["targetShape"] == "ANY_SINGLE_ZONE" and len(policy["zones"]) == 1
        [selection] = body["instanceFlexibilityPolicy"]["instanceSelections"].values()
        [machine] = selection["machineTypes"]
        seen.add((policy["zones"][0]["zone"].removeprefix("zones/"), machine))
    assert seen == expected
    assert fake_advice.problems == []


def test_capacity_scores_go_into_this_runs_offers(
    fake_gcp: FakeGcp, fake_advice: FakeGcpAdvice, tmp_path: Path
) -> None:
    store = Store(tmp_path / "s.duckdb")
    report = collect_gcp(
        store,
        options(
            fake_advice,
            sources=frozenset({"prices", "bands", "preemption", "capacity"}),
            catalog_endpoint=fake_gcp.url,
        ),
    )
    assert {r.source for r in report.failed} == {"preemption", "capacity"}  # g2's 403s
    offers = store.read(OFFERS)
    offers = offers[(offers["source"] == "gcp-catalog") & (offers["region"] == REGION)]
    scores = {
        (z, t): s
        for z, t, s in zip(
            offers["zone"], offers["instance_type"], offers["placement_score"], strict=True
        )
    }
    assert scores[(zone("a"), A2_1G)] == 5.5
    assert scores[(zone("b"), A2_1G)] == 8.2
    assert math.isnan(scores[(zone("c"), A2_1G)])  # no recommendation
    assert scores[(zone("f"), A2_1G)] == 10.0
    assert all(math.isnan(s) for (_, t), s in scores.items() if t != A2_1G)
    assert not any("not written" in n for n in report.notes)
    log = store.ingest_log()
    offer_notes = log.loc[log["source"] == "gcp-catalog", "notes"].str.cat(sep="\n")
    assert "placement_score of 3 offer(s) from capacity advice" in offer_notes
    # the prior goes to the offered machine the advice did not measure, only
    bands = bands_of(store)
    priors = [t for s, t in bands.index if s.startswith("prior:")]
    assert priors == [G2]


def test_a_rerun_adds_nothing_twice(fake_advice: FakeGcpAdvice, tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    collect_gcp(store, options(fake_advice))
    before = len(store.read(INTERRUPTION_HISTORY))
    again = collect_gcp(store, options(fake_advice))
    assert sum(w.inserted + w.updated for w in again.written) == 0
    assert len(store.read(INTERRUPTION_HISTORY)) == before


def test_without_a_project_the_advice_sources_are_skipped(
    fake_advice: FakeGcpAdvice, tmp_path: Path
) -> None:
    store = Store(tmp_path / "s.duckdb")
    report = collect_gcp(store, options(fake_advice, project=None))
    assert not report.failed and fake_advice.requests == []
    assert [r.source for r in report.results] == ["bands"]
    [note] = [n for n in report.notes if "skipped" in n]
    assert note.startswith("preemption and capacity skipped: the advice API needs a project")
    assert "--project" in note
    bands = store.read(INTERRUPTION_HISTORY)
    assert bands["source"].str.startswith("prior:").all() and len(bands) == 3
    dry = collect_gcp(store, options(fake_advice, project=None), dry_run=True)
    assert any("needs a project" in n for n in dry.notes)


def test_the_adc_project_is_used_when_none_is_given(
    fake_advice: FakeGcpAdvice, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import google.auth

    def adc(*args: Any, **kwargs: Any) -> tuple[Any, str]:
        return AnonymousCredentials(), PROJECT_ID

    monkeypatch.setattr(google.auth, "default", adc)
    report = collect_gcp(
        Store(tmp_path / "s.duckdb"),
        options(fake_advice, project=None, credentials=None, sources=frozenset({"preemption"})),
    )
    assert [r.region for r in report.results if r.ok] == [REGION, REGION]
    assert all(f"/projects/{PROJECT_ID}/" in r.path for r in fake_advice.requests)


def test_a_target_capacity_below_one_is_refused(fake_advice: FakeGcpAdvice, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="target capacity"):
        collect_gcp(Store(tmp_path / "s.duckdb"), options(fake_advice, target_capacity=0))
    assert fake_advice.requests == []


def test_dry_run_describes_the_advice_calls(fake_advice: FakeGcpAdvice, tmp_path: Path) -> None:
    tasks = plan(
        options(fake_advice),
        zones=pd.DataFrame(
            {
                "region": [REGION, REGION],
                "zone": [zone("a"), zone("b")],
                "instance_type": [A2_1G, A2_1G],
            }
        ),
    )
    assert [(t.source, t.region) for t in tasks] == [
        ("bands", None),
        ("preemption", REGION),
        ("capacity", REGION),
    ]
    assert (
        "capacity_history" in tasks[1].describe and f"{zone('a')}, {zone('b')}" in tasks[1].describe
    )
    assert "obtainability of 3 Spot a2-highgpu-1g" in tasks[2].describe
    report = collect_gcp(Store(tmp_path / "s.duckdb"), options(fake_advice), dry_run=True)
    assert report.dry_run and fake_advice.requests == []
    assert sum("capacity_history" in line for line in report.planned) == 3  # one per machine


def test_cli_collect_gcp_advice(fake_advice: FakeGcpAdvice, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from spotadvisor.cli import app

    db = tmp_path / "s.duckdb"
    result = CliRunner().invoke(
        app,
        [
            "--db", str(db), "collect", "gcp",
            "--compute-endpoint", fake_advice.url,
            "--anonymous", "--project", PROJECT_ID,
            "--regions", REGION, "--machine-types", f"{A2_1G},{G2}",
            "--sources", "bands,preemption,capacity",
            "--target-capacity", "2",
            "--format", "json",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert any("not written" in n for n in document["notes"])
    assert "warning: preemption us-central1: g2-standard-8: Forbidden (HTTP 403)" in result.stderr
    assert {b["size"] for b in fake_advice.bodies("capacity")} == {2}
    bands = Store(db).read(INTERRUPTION_HISTORY)
    assert set(bands.loc[bands["source"] == ADVICE_SOURCE, "instance_type"]) == {A2_1G}


# -- the measurement reaches simulate and recommend ----------------------------------------

FLEET = """
workload: {replicas: 2, gpus_per_replica: 1, cold_start: 10m}
sla: {availability: 99.0}
horizon: 30d
trials: 60
seed: 3
fleet:
  - {cloud: gcp, region: us-central1, zone: us-central1-a, instance: a2-highgpu-1g, market: spot, count: 2}
  - {cloud: azure, region: eastus, instance: Standard_NC24ads_A100_v4, market: spot, count: 1}
"""


def test_recommend_and_simulate_use_the_measured_band(
    fake_advice: FakeGcpAdvice, tmp_path: Path
) -> None:
    store = Store(tmp_path / "s.duckdb")
    collect_gcp(store, options(fake_advice))
    # a newer prior row for the same pool: the measured row still wins
    prior = prior_for("gcp")
    assert prior is not None
    later = validate(
        pd.DataFrame(
            [
                {
                    "cloud": "gcp",
                    "region": REGION,
                    "instance_type": A2_1G,
                    "os": "Linux",
                    "interruption_band": prior.label,
                    "interruption_band_lower_pct": prior.lower_pct,
                    "interruption_band_upper_pct": prior.upper_pct,
                    "savings_pct": None,
                    "source": prior.source,
                    "as_of": DEFAULT_NOW + timedelta(days=5),
                }
            ]
        ),
        INTERRUPTION_HISTORY,
    )
    store.write([ImportBatch(INTERRUPTION_HISTORY, later, prior.source, "test")])

    offers, bands = load_table(store, OFFERS), load_table(store, INTERRUPTION_HISTORY)
    view = offers_view(offers.frame, bands.frame)
    spec = parse_fleet(yaml.safe_load(FLEET), origin="f.yaml")
    resolved = resolve_fleet(spec, view, data_label=bands.origin_of)
    gcp = resolved.pools[0]
    expected = (
        "measured: gcp-advice (preemption share 3.1-7.0% over 29.8 d to 2025-06-30, "
        "as of 2025-07-01)"
    )
    assert gcp.sources["interruption"] == expected
    assert (gcp.model.hazard.p_low, gcp.model.hazard.p_high) == pytest.approx((0.031, 0.07))
    # the "assumed worst band" notes count the unmeasured Azure pool, not the GCP one
    assumed = [n for n in resolved.notes if "no published interruption band" in n]
    assert len(assumed) == 1 and "azure" in assumed[0]

    fleet_file = tmp_path / "fleet.yaml"
    fleet_file.write_text(FLEET)
    from typer.testing import CliRunner

    from spotadvisor.cli import app

    result = CliRunner().invoke(
        app, ["--db", str(store.path), "simulate", str(fleet_file), "-t", "60", "-f", "json"]
    )
    assert result.exit_code == 0, result.stderr
    pools = json.loads(result.stdout)["inputs"]["pools"]
    assert pools[0]["sources"]["interruption"] == expected
    assert pools[0]["interruption"]["monthly_probability_low"] == pytest.approx(0.031)
    assert pools[0]["interruption"]["monthly_probability_high"] == pytest.approx(0.07)


def test_a_measured_row_wins_over_a_prior_whatever_its_age() -> None:
    def row(
        source: str, as_of: str, measured: float | None, lower: float, upper: float
    ) -> dict[str, Any]:
        return {
            "cloud": "gcp",
            "region": REGION,
            "instance_type": A2_1G,
            "os": "Linux",
            "interruption_band": f"{lower:g}-{upper:g}%",
            "interruption_band_lower_pct": lower,
            "interruption_band_upper_pct": upper,
            "savings_pct": None,
            "measured_rate_pct": measured,
            "window_start": None,
            "window_end": None,
            "window_days": None,
            "source": source,
            "as_of": as_of,
        }

    offers = validate(
        pd.DataFrame(
            [
                {
                    "cloud": "gcp",
                    "region": REGION,
                    "zone": zone("a"),
                    "zone_id": None,
                    "instance_type": A2_1G,
                    "gpu_model": "A100",
                    "gpu_count": 1.0,
                    "gpu_memory_gb": 40.0,
                    "vcpus": 12.0,
                    "memory_gib": 85.0,
                    "price_on_demand_usd_per_hour": 3.67,
                    "price_spot_usd_per_hour": 1.8,
                    "interruption_band": None,
                    "interruption_band_lower_pct": None,
                    "interruption_band_upper_pct": None,
                    "placement_score": None,
                    "quality_flags": None,
                    "source": "t",
                    "as_of": "2025-07-01",
                }
            ]
        ),
        OFFERS,
    )
    older_measured = row(ADVICE_SOURCE, "2025-06-01", 4.0, 3.0, 5.0)
    newer_prior = row("prior:gcp-spot-traces-2023", "2025-07-01", None, 95.0, 100.0)
    history = validate(pd.DataFrame([older_measured, newer_prior]), INTERRUPTION_HISTORY)
    got = attach_bands(offers, history).iloc[0]
    assert got["interruption_band_source"] == ADVICE_SOURCE
    assert (got["interruption_band_lower_pct"], got["interruption_band_upper_pct"]) == (3.0, 5.0)
    assert got["interruption_measured_rate_pct"] == 4.0
    # without a measured row the newest wins, as before (AWS and published bands unchanged)
    newer_published = row("other", "2025-07-02", None, 5.0, 10.0)
    history = validate(pd.DataFrame([older_measured, newer_published]), INTERRUPTION_HISTORY)
    assert attach_bands(offers, history).iloc[0]["interruption_band_source"] == "other"
    only_prior = validate(pd.DataFrame([newer_prior]), INTERRUPTION_HISTORY)
    got = attach_bands(offers, only_prior).iloc[0]
    assert got["interruption_band_source"].startswith("prior:")
    assert pd.isna(got["interruption_measured_rate_pct"])


# -- the pure parsers ------------------------------------------------------------------------


def test_timestamps_and_durations() -> None:
    assert parse_timestamp("2025-06-01T00:00:00Z") == datetime(2025, 6, 1, tzinfo=UTC)
    assert parse_timestamp("2025-06-01T00:00:00-07:00") == datetime(2025, 6, 1, 7, tzinfo=UTC)
    assert parse_timestamp("2025-06-01T00:00:00.123456789Z") == datetime(
        2025, 6, 1, 0, 0, 0, 123456, tzinfo=UTC
    )
    assert parse_timestamp("2025-06-01t10:30:00.5+02:00") == datetime(
        2025, 6, 1, 8, 30, 0, 500000, tzinfo=UTC
    )
    for bad in ("2025-06-01", "2025-06-01T00:00:00", "yesterday", ""):
        with pytest.raises(ValueError, match="RFC 3339"):
            parse_timestamp(bad)
    assert parse_duration_hours("7200s") == 2.0
    assert parse_duration_hours("1.5s") == pytest.approx(1.5 / 3600)
    assert parse_duration_hours("0s") == 0.0
    for bad in ("2h", "-5s", "7200", "s"):
        with pytest.raises(ValueError, match="duration"):
            parse_duration_hours(bad)
    assert (
        zone_name("https://www.googleapis.com/compute/v1/projects/p/zones/us-east1-b")
        == "us-east1-b"
    )
    assert zone_name("zones/us-east1-b") == zone_name("us-east1-b") == "us-east1-b"


def test_preemption_history_is_weighted_by_interval_length() -> None:
    response = {
        "preemptionHistory": [
            record("2025-06-01T00:00:00Z", "2025-06-01T06:00:00Z", 0.5),  # 6 h
            record("2025-06-01T06:00:00Z", "2025-06-02T00:00:00Z", 0.1),  # 18 h
            record("2025-06-02T00:00:00Z", "2025-06-03T00:00:00Z", None),  # no rate: skipped
            record("2025-06-03T00:00:00Z", "2025-06-03T00:00:00Z", 0.9),  # empty interval
            record("2025-06-03T00:00:00Z", "not a time", 0.9),  # unreadable
            record("2025-06-03T00:00:00Z", "2025-06-04T00:00:00Z", 1.5),  # not a share
            {"preemptionRate": 0.9},  # no interval
        ]
    }
    found, notes = parse_preemption_history(response, zone="z-a", machine_type="m")
    assert found is not None
    assert found.rate == pytest.approx((0.5 * 6 + 0.1 * 18) / 24)  # 0.2, not the plain mean 0.3
    assert (found.records, found.skipped) == (2, 5)
    assert found.window_start == datetime(2025, 6, 1, tzinfo=UTC)
    assert found.window_end == datetime(2025, 6, 2, tzinfo=UTC) and found.window_days == 1.0
    assert notes == [
        "z-a m: preemption share 20.0% over 1.0 d (2 record(s); 5 skipped: "
        "1 without a preemption rate, 4 unreadable)"
    ]
    # a zero share is a measurement, not a missing one
    zero, _ = parse_preemption_history(
        {"preemptionHistory": [record("2025-06-01T00:00:00Z", "2025-06-02T00:00:00Z", 0.0)]},
        zone="z-a",
        machine_type="m",
    )
    assert zero is not None and zero.rate == 0.0
    for empty in ({}, {"preemptionHistory": []}):
        none, notes = parse_preemption_history(empty, zone="z-b", machine_type="m")
        assert none is None and notes == ["z-b m: no preemption history, so no measured rate"]
    none, notes = parse_preemption_history(
        {"preemptionHistory": [record("2025-06-01T00:00:00Z", "2025-06-02T00:00:00Z", None)]},
        zone="z-c",
        machine_type="m",
    )
    assert none is None and "1 record(s) skipped: 1 without a preemption rate" in notes[0]


def test_region_rows_take_the_zone_mean_and_spread() -> None:
    def zone_rate(name: str, rate: float, start: str, end: str) -> ZonePreemption:
        return ZonePreemption(name, "m", rate, parse_timestamp(start), parse_timestamp(end), 1)

    rows = measured_history_rows(
        {
            ("r", "m"): [
                zone_rate("r-a", 0.031, "2025-06-01T00:00:00Z", "2025-06-30T00:00:00Z"),
                zone_rate("r-b", 0.074, "2025-06-02T00:00:00Z", "2025-07-01T00:00:00Z"),
            ],
            ("r", "n"): [],
        },
        as_of=DEFAULT_NOW,
    )
    [row] = rows.to_dict("records")
    assert row["interruption_band"] == "measured 3.1-7.4%"
    assert (
        row["interruption_band_lower_pct"],
        row["interruption_band_upper_pct"],
    ) == pytest.approx((3.1, 7.4))
    assert row["measured_rate_pct"] == pytest.approx(5.25) and row["window_days"] == 30.0
    assert row["source"] == ADVICE_SOURCE and row["instance_type"] == "m"
    assert measured_history_rows({}, as_of=DEFAULT_NOW).empty


def test_capacity_advice_becomes_a_placement_score() -> None:
    assert [placement_score(o) for o in (0.0, 0.5, 0.8, 1.0, -0.2, 1.4)] == [
        1.0, 5.5, 8.2, 10.0, 1.0, 10.0
    ]  # fmt: skip
    answer = {
        "recommendations": [
            {
                "scores": {"obtainability": 0.3, "estimatedUptime": "5400s"},
                "shards": [{"zone": "r-b", "machineType": "m", "instanceCount": 1}],
            },
            {
                "scores": {"obtainability": 0.7, "estimatedUptime": "10800s"},
                "shards": [{"zone": "https://www.googleapis.com/compute/v1/projects/p/zones/r-a"}],
            },
        ]
    }
    found, notes = parse_capacity_advice(answer, zone="r-a", machine_type="m")
    assert found is not None and found.obtainability == 0.7 and found.placement_score == 7.3
    assert found.estimated_uptime_hours == 3.0
    assert notes == ["r-a m: obtainability 0.70 -> placement score 7.3; estimated uptime 3.0 h"]
    none, notes = parse_capacity_advice(answer, zone="r-c", machine_type="m")
    assert none is None and notes == ["r-c m: no capacity recommendation for this zone"]
    none, notes = parse_capacity_advice(
        {"recommendations": [{"scores": {}}]}, zone="r-a", machine_type="m"
    )
    assert none is None and "no obtainability" in notes[0]
    odd, notes = parse_capacity_advice(
        {"recommendations": [{"scores": {"obtainability": 0.2, "estimatedUptime": "2h"}}]},
        zone="r-a",
        machine_type="m",
    )
    assert odd is not None and odd.estimated_uptime_hours is None and "ignored" in notes[0]

    offers = pd.DataFrame(
        {
            "cloud": ["gcp", "gcp", "gcp", "aws"],
            "zone": ["r-a", "r-b", None, "r-a"],
            "instance_type": ["m", "m", "m", "m"],
            "placement_score": [float("nan"), 4.0, float("nan"), 6.0],
        }
    )
    assert found is not None
    scored, applied = apply_placement_scores(offers, capacity_frame("r", [found]))
    assert applied == 1
    got = scored["placement_score"].tolist()
    assert got[0] == 7.3 and got[1] == 4.0 and math.isnan(got[2]) and got[3] == 6.0
    assert math.isnan(offers["placement_score"].iloc[0])  # the input is left as it was


# -- a store created before the measured columns existed -----------------------------------

OLD_COLUMNS = (
    "cloud VARCHAR, region VARCHAR, instance_type VARCHAR, os VARCHAR, interruption_band VARCHAR, "
    "interruption_band_lower_pct DOUBLE, interruption_band_upper_pct DOUBLE, savings_pct DOUBLE, "
    "source VARCHAR, as_of TIMESTAMPTZ"
)


def test_an_old_store_reads_and_gains_the_measured_columns(
    fake_advice: FakeGcpAdvice, tmp_path: Path
) -> None:
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    con.execute("INSERT INTO meta VALUES ('schema_version', '1'), ('created_at', '2025-01-01')")
    con.execute(f"CREATE TABLE interruption_history ({OLD_COLUMNS})")
    con.execute(
        "INSERT INTO interruption_history VALUES ('aws', 'us-east-1', 'p5.48xlarge', 'Linux', "
        "'5-10%', 5, 10, 60, 'aws-spot-advisor:2025-06-28', TIMESTAMPTZ '2025-06-28 00:00:00+00')"
    )
    con.close()
    store = Store(path)
    old = store.read(INTERRUPTION_HISTORY)  # read-only: nothing altered yet
    assert (
        len(old) == 1 and old["measured_rate_pct"].isna().all() and old["window_end"].isna().all()
    )

    collect_gcp(store, options(fake_advice))  # the first write adds the columns
    con = duckdb.connect(str(path), read_only=True)
    columns = [r[0] for r in con.execute("DESCRIBE interruption_history").fetchall()]
    con.close()
    assert columns[-4:] == ["measured_rate_pct", "window_start", "window_end", "window_days"]
    bands = store.read(INTERRUPTION_HISTORY)
    kept = bands[bands["source"] == "aws-spot-advisor:2025-06-28"]
    assert kept.drop(
        columns=["measured_rate_pct", "window_start", "window_end", "window_days"]
    ).equals(old.drop(columns=["measured_rate_pct", "window_start", "window_end", "window_days"]))
    measured = bands[bands["source"] == ADVICE_SOURCE].set_index("instance_type")
    assert measured.loc[A2_1G, "window_days"] == pytest.approx(WINDOW_DAYS)
    assert measured.loc[A2_1G, "interruption_band"] == "measured 3.1-7.0%"
    again = collect_gcp(store, options(fake_advice))  # idempotent on the migrated table
    assert sum(w.inserted + w.updated for w in again.written) == 0
