"""Fleet-file load profiles, scaling and scenarios: strict validation and the demand curve."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from spotadvisor.config import load_fleet, parse_fleet
from spotadvisor.config.load import demand_of
from spotadvisor.config.scenarios import expand, parse_scenario, to_events
from spotadvisor.config.values import Where
from spotadvisor.errors import UsageError
from spotadvisor.sim.model import PoolModel

PROFILE = [2] * 6 + [3, 4, 5, 6, 6, 6, 6, 6, 6, 6, 5, 4, 3, 3, 2, 2, 2, 2]
POOL = {"cloud": "aws", "region": "us-east-1", "zone": "use1-az4", "instance": "p5.48xlarge"}


def doc(**top: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "workload": {"load": {"profile": PROFILE}},
        "fleet": [{**POOL, "market": "spot", "count": 2}],
    }
    out.update(top)
    return out


def error(document: object) -> str:
    with pytest.raises(UsageError) as caught:
        parse_fleet(document, origin="f.yaml")
    return caught.value.one_line()


def test_a_profile_sets_the_peak_as_replicas_and_scaling_defaults() -> None:
    fleet = parse_fleet(doc(scaling={"peak": "on-demand"}), origin="f.yaml")
    assert fleet.workload.replicas == 6 and fleet.workload.load is not None
    assert fleet.scaling is not None and fleet.scaling.cooldown_hours == pytest.approx(5 / 60)


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (
            {"workload": {"replicas": 2, "load": {"profile": PROFILE}}},
            "f.yaml: workload: gives both replicas and load",
        ),
        (doc(workload={"load": {"profile": [1, 2]}}), "workload.load.profile: a profile has 24"),
        (doc(workload={"load": {"profile": PROFILE, "timezone": "Europe/Berln"}}), "Europe/Berlin"),
        (doc(workload={"load": {"profile": PROFILE, "tz": "UTC"}}), "unknown key 'tz'"),
        (doc(workload={"load": {"profile": [0] * 24}}), "never needs a replica"),
        (
            doc(workload={"load": {"profile": PROFILE, "requests_per_replica": 5}}),
            "requests_per_replica is for csv: loads",
        ),
        (doc(workload={"load": {"csv": "x.csv"}}), "add requests_per_replica"),
        (doc(scaling={"cooldown": 5}), "scaling.cooldown: the number 5 has no unit"),
        (doc(scaling={"critical_share": 2}), "scaling.critical_share"),
        (doc(scaling={"peak": "spot"}), "scaling.peak: unknown value 'spot'"),
        (doc(scaling={"baseline": "on-demand"}), "baseline: on-demand, but the fleet has spot"),
        (
            {"workload": {"replicas": 2}, "scaling": {"peak": "on-demand"}},
            "scaling: follows a time-varying load",
        ),
        (doc(scenarios=["zone-outage:use1-az4@3x+6h"]), "scenarios[0]: unknown unit 'x'"),
        (doc(scenarios=["zone-outtage:use1-az4@3d+6h"]), "Did you mean 'zone-outage'"),
        (doc(scenarios=["zone-outage:use1-az4@3d"]), "is not T+DURATION"),
        (doc(scenarios=["price-spike:use1-az4@3d+1h"]), "gives no price factor"),
        (doc(scenarios=["mass-preemption:use1-az4:1.5@3d"]), "more than 1"),
    ],
)
def test_errors_name_the_file_the_field_and_a_fix(document: object, expected: str) -> None:
    message = error(document)
    assert expected in message and message.startswith("f.yaml")


@pytest.mark.parametrize(
    ("text", "kind", "target", "at", "duration", "extra"),
    [
        ("zone-outage:use1-az4@3d+6h", "zone-outage", "use1-az4", 72.0, 6.0, {}),
        ("zone-outage:use1-az4@T+3d+6h", "zone-outage", "use1-az4", 72.0, 6.0, {}),
        ("region-loss:us-east-1@0+2h", "region-loss", "us-east-1", 0.0, 2.0, {}),
        (
            "price-spike:p5.48xlarge×3@1d+12h",
            "price-spike",
            "p5.48xlarge",
            24.0,
            12.0,
            {"factor": 3.0},
        ),
        ("price-spike:fleet[0]x2.5@1d+1h", "price-spike", "fleet[0]", 24.0, 1.0, {"factor": 2.5}),
        ("capacity-drought:use1-az4@5d+4h", "capacity-drought", "use1-az4", 120.0, 4.0, {}),
        (
            "mass-preemption:use1-az4:0.5@3d",
            "mass-preemption",
            "use1-az4",
            72.0,
            0.0,
            {"fraction": 0.5},
        ),
        (
            "mass-preemption:use1-az4:50%@T+3d",
            "mass-preemption",
            "use1-az4",
            72.0,
            0.0,
            {"fraction": 0.5},
        ),
        ("zone-outage:any", "zone-outage", "any", None, 6.0, {}),
    ],
)
def test_scenario_forms(
    text: str, kind: str, target: str, at: float | None, duration: float, extra: dict[str, float]
) -> None:
    spec = parse_scenario(text, Where("cli", "--scenario"))
    assert (spec.kind, spec.target, spec.at_hours, spec.duration_hours) == (
        kind,
        target,
        at,
        duration,
    )
    for key, value in extra.items():
        assert getattr(spec, key) == pytest.approx(value)


def pools() -> tuple[PoolModel, ...]:
    def one(zone: str | None, market: str, region: str = "us-east-1") -> PoolModel:
        return PoolModel(
            f"aws {region} {zone or ''} p5.48xlarge {market}".replace("  ", " "),
            "aws", region, zone, market, 1, 1.0, 2.0,  # type: ignore[arg-type]
        )  # fmt: skip

    return (one("use1-az4", "spot"), one("use1-az6", "spot"), one(None, "on-demand"),
            one("use2-az1", "spot", "us-east-2"))  # fmt: skip


def test_any_expands_to_every_zone_region_or_spot_pool() -> None:
    where = Where("cli", "--scenario")
    zones = expand([parse_scenario("zone-outage:any@1d+1h", where)], pools())
    assert [s.target for s in zones] == ["use1-az4", "use1-az6", "use2-az1"]
    assert zones[0].text == "zone-outage:use1-az4@1d+1h"
    regions = expand([parse_scenario("region-loss:any", where)], pools())
    assert [s.target for s in regions] == ["us-east-1", "us-east-2"]
    drought = expand([parse_scenario("capacity-drought:any@1d+1h", where)], pools())
    assert [s.target for s in drought] == ["fleet[0]", "fleet[1]", "fleet[3]"]


def test_scenarios_map_onto_pools() -> None:
    where = Where("cli", "--scenario")
    region = to_events(
        parse_scenario("region-loss:us-east-1", where), pools(), horizon_hours=720.0,
        peak_region="us-east-1",
    )[0]  # fmt: skip
    assert region.pools == (0, 1, 2) and region.peak and region.at_hours == 360.0
    spike = to_events(
        parse_scenario("price-spike:p5.48xlarge×2@1h+1h", where), pools(), horizon_hours=720.0,
        peak_region="",
    )[0]  # fmt: skip
    assert spike.kind == "spike" and spike.pools == (0, 1, 3)
    with pytest.raises(UsageError, match="no zone 'use1-az5' in the fleet"):
        to_events(parse_scenario("zone-outage:use1-az5@1h+1h", where), pools(),
                  horizon_hours=720.0, peak_region="")  # fmt: skip
    with pytest.raises(UsageError, match="after the 720 h horizon"):
        to_events(parse_scenario("zone-outage:use1-az4@31d+1h", where), pools(),
                  horizon_hours=720.0, peak_region="")  # fmt: skip


def test_profile_follows_the_local_clock() -> None:
    fleet = parse_fleet(
        doc(workload={"load": {"profile": list(range(24)), "timezone": "Asia/Kolkata"}}),
        origin="f.yaml",
    )
    assert fleet.workload.load is not None
    demand = demand_of(fleet.workload.load, 48.0)
    # UTC+5:30: local hour 5 runs from UTC 23:30 of the day before; at UTC 0 it is 5:30
    assert demand.times[:3] == (0.0, 0.5, 1.5) and demand.replicas[:3] == (5, 6, 7)


def test_a_weekly_profile_starts_on_monday() -> None:
    weekly = [1] * 24 * 5 + [3] * 48  # weekends busier
    fleet = parse_fleet(doc(workload={"load": {"profile": weekly}}), origin="f.yaml")
    assert fleet.workload.load is not None
    demand = demand_of(fleet.workload.load, 24.0 * 7)
    assert demand.replicas[0] == 1 and demand.replicas[-1] == 3
    assert 120.0 in demand.times


def test_a_csv_load_becomes_replicas_per_minute(tmp_path: Path) -> None:
    (tmp_path / "rpm.csv").write_text("Time (min),Requests\n0,100\n1,250\n2,0\n")
    path = tmp_path / "fleet.yaml"
    path.write_text(
        "workload: {load: {csv: rpm.csv, requests_per_replica: 100, max_replicas: 2}}\n"
        "fleet: [{cloud: aws, region: us-east-1, instance: p5.48xlarge, market: spot, count: 1}]\n"
    )
    fleet = load_fleet(path)
    assert fleet.workload.replicas == 2 and fleet.workload.load is not None
    demand = demand_of(fleet.workload.load, 5 / 60)
    assert demand.replicas == (1, 2, 0, 1, 2)  # the series repeats


def test_csv_errors(tmp_path: Path) -> None:
    (tmp_path / "rpm.csv").write_text("Time (min),Requests\n0,abc\n")
    path = tmp_path / "fleet.yaml"
    path.write_text("workload: {load: {csv: rpm.csv, requests_per_replica: 100, column: Reqs}}\n")
    with pytest.raises(UsageError, match="Did you mean 'Requests'"):
        load_fleet(path)
    path.write_text("workload: {load: {csv: rpm.csv, requests_per_replica: 100}}\n")
    with pytest.raises(UsageError, match="line 2: Requests is not a number"):
        load_fleet(path)
    path.write_text("workload: {load: {csv: none.csv, requests_per_replica: 100}}\n")
    with pytest.raises(UsageError, match="cannot read"):
        load_fleet(path)


def test_the_azure_functions_trace_loads(shared_data: Path, tmp_path: Path) -> None:
    trace = shared_data / "spot-traces-spothedge/workloads/maf1_cleaned_requests_per_minute.csv"
    if not trace.exists():
        pytest.skip(f"{trace} is not in the shared data")
    path = tmp_path / "fleet.yaml"
    path.write_text(
        f"workload: {{load: {{csv: '{trace}', requests_per_replica: 50000, max_replicas: 12}}}}\n"
    )
    fleet = load_fleet(path)
    assert fleet.workload.load is not None
    demand = demand_of(fleet.workload.load, 720.0)
    assert min(demand.replicas[1:]) >= 1 and max(demand.replicas) == 12
