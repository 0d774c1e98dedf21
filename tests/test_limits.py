"""Sizes that cannot run are refused up front with exit 2, never exit 1 (issue 21, items 4 and 11).

Hard caps on absurd values (parsed from the file, with the key path), the engine's
estimate of a run's memory and work, the refusal naming the input and the largest value
that fits this machine, deeply nested YAML, the report's months and the longest duration.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from spotadvisor.cli import app
from spotadvisor.config import limits, load_fleet, parse_duration, parse_fleet
from spotadvisor.config.yamlfile import MAX_NESTING, load_yaml_text, read_yaml
from spotadvisor.errors import UsageError
from spotadvisor.report.period import Month
from spotadvisor.sim.engine import CHUNK_TRIALS, RESULT_BYTES, estimate, simulate
from spotadvisor.sim.model import FleetModel, Hazard, PoolModel
from tests.conftest import ROOT

EXAMPLE = ROOT / "examples" / "llama70b-fleet.yaml"
runner = CliRunner()

POOL = "{cloud: aws, region: us-east-1, instance: p4d.24xlarge, market: spot, count: 2}"


def fleet_error(text: str) -> str:
    with pytest.raises(UsageError) as caught:
        parse_fleet(yaml.safe_load(text), origin="fleet.yaml")
    return str(caught.value)


def one_line_error(args: list[str]) -> str:
    """The one error line of a command that exits 2 (notes before it are allowed)."""
    result = runner.invoke(app, args)
    assert result.exit_code == 2, (result.exit_code, result.stderr)
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and errors[0].startswith("error: "), result.stderr
    return errors[0]


def pool_model(count: int, rate: float = 1e-3, **changes: object) -> PoolModel:
    pool = PoolModel("p", "aws", "r", "z", "spot", count, 1.0, 2.0, hazard=Hazard.exact(rate))
    return dataclasses.replace(pool, **changes)  # type: ignore[arg-type]


def fleet_model(*pools: PoolModel, **changes: object) -> FleetModel:
    model = FleetModel(pools=pools, replicas=1, horizon_hours=720.0, cold_start_hours=0.1)
    return dataclasses.replace(model, **changes)  # type: ignore[arg-type]


# --- hard caps, while parsing --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "field", "expected"),
    [
        (
            f"workload: {{replicas: 2}}\nfleet: [{POOL}, {POOL[:-2]}1000000000, zone: use1-az4}}]",
            "fleet[1].count",
            "1,000,000,000 replicas is more than spotadvisor accepts here",
        ),
        ("workload: {replicas: 1000000}", "workload.replicas", "at most 100,000"),
        ("workload: {replicas: 2}\ntrials: 1000000000", "trials", "at most 100,000,000"),
        ("workload: {replicas: 2}\nhorizon: 100000000d", "horizon", "longest accepted is 36500d"),
        ("workload: {replicas: 2}\nhorizon: 3651d", "horizon", "at most 3650d"),
        ("workload: {replicas: 2}\nseed: 18446744073709551616", "seed", "64-bit"),
        ("workload: {replicas: 2}\npolicy: {overprovision: 100001}", "policy.overprovision", "100,000"),
        ("workload: {replicas: 2}\nrisk: {bulk_reclaims_per_month: 1000000}", "risk.bulk_reclaims_per_month", "one a minute"),
        ("workload: {replicas: 2, request_rate: 10000000}", "workload.request_rate", "at most 1,000,000"),
        ("workload: {replicas: 2, request_duration: 2d}", "workload.request_duration", "at most 1d"),
        (
            f"workload: {{replicas: 2}}\nfleet: [{POOL[:-1]}, interruption: {{mean_time_to_preemption: 30s}}}}]",
            "fleet[0].interruption.mean_time_to_preemption",
            "at least 1m",
        ),
        (
            f"workload: {{replicas: 2}}\nfleet: [{POOL[:-1]}, price_per_hour: 1.0e+300}}]",
            "fleet[0].price_per_hour",
            "at most 1,000,000",
        ),
        ("workload: {load: {profile: [" + "1, " * 23 + "1000000]}}", "workload.load.profile[23]", "100,000"),
        ("workload: {load: {profile: [" + "1, " * 23 + "1], start: 9999-12-31}}", "workload.load.start", "2200-12-31"),
    ],
)  # fmt: skip
def test_absurd_values_are_refused_with_the_file_and_key(
    text: str, field: str, expected: str
) -> None:
    message = fleet_error(text)
    assert message.startswith(f"fleet.yaml: {field}: "), message
    assert expected in message


def test_a_csv_load_with_too_many_steps_over_the_horizon_is_refused(tmp_path: Path) -> None:
    (tmp_path / "load.csv").write_text("minute,requests\n0,10\n1,20\n")
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(
        "workload: {load: {csv: load.csv, interval: 1s, requests_per_replica: 5}}\nhorizon: 3650d\n"
    )
    with pytest.raises(UsageError) as caught:
        load_fleet(fleet)
    message = str(caught.value)
    assert "workload.load.interval" in message and "315,360,000 demand steps" in message


def test_a_csv_load_needing_absurd_replicas_is_refused(tmp_path: Path) -> None:
    (tmp_path / "load.csv").write_text("requests\n10\n1e300\n")
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text("workload: {load: {csv: load.csv, requests_per_replica: 1}}\n")
    with pytest.raises(UsageError, match=r"workload\.load\.requests_per_replica"):
        load_fleet(fleet)


def test_numbers_too_long_to_print_are_described_not_printed() -> None:
    huge = "0x" + "f" * 5_000  # YAML reads it; Python will not print it in decimal
    for text, field in [
        (f"workload: {{replicas: {huge}}}", "workload.replicas"),
        (f"workload: {{replicas: 2, name: {huge}}}", "workload.name"),
        (f"workload: {{replicas: 2}}\nrisk: {{bulk_fraction: {huge}}}", "risk.bulk_fraction"),
        (f"workload: {{replicas: 2, cold_start: {huge}}}", "workload.cold_start"),
        (f"workload: {{replicas: 2}}\nscenarios: [{huge}]", "scenarios[0]"),
    ]:
        message = fleet_error(text)
        assert message.startswith(f"fleet.yaml: {field}: ") and "digits" in message, message
    with pytest.raises(UsageError, match="more digits than Python reads"):
        load_yaml_text("workload: {replicas: " + "9" * 5_000 + "}", "fleet.yaml")


# --- durations ---------------------------------------------------------------------------


def test_durations_longer_than_a_century_are_refused() -> None:
    assert parse_duration("36500d", origin="f", field="x") == 36500 * 24
    with pytest.raises(UsageError, match="longest accepted is 36500d"):
        parse_duration("36501d", origin="f", field="x")
    with pytest.raises(UsageError, match="too long"):
        parse_duration("1000000000d", origin="f", field="x")


def test_mock_metadata_refuses_a_notice_a_billion_days_away() -> None:
    line = one_line_error(
        ["mock-metadata", "--cloud", "aws", "--port", "0", "--notice-in", "1000000000d"]
    )
    assert "--notice-in" in line and "36500d" in line


# --- nesting -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "a: " + "[" * 100_000 + "]" * 100_000,  # JSON-style, 100 k deep
        "{" + '"a": {' * 50_000 + "}" * 50_000 + "}",
        "- " * 2_000 + "1",  # block style, on one line
        "a:\n" + "".join("  " * i + "b:\n" for i in range(1, 300)),
    ],
)
def test_deep_nesting_is_one_error_naming_the_file(text: str, tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text(text)
    with pytest.raises(UsageError) as caught:
        read_yaml(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and f"nested deeper than {MAX_NESTING} levels" in message


def test_nesting_up_to_the_limit_reads() -> None:
    assert load_yaml_text("[" * MAX_NESTING + "]" * MAX_NESTING, "f.yaml") is not None


def test_every_yaml_file_of_the_cli_refuses_deep_nesting(tmp_path: Path) -> None:
    deep = tmp_path / "deep.yaml"
    deep.write_text("a: " + "[" * 60_000 + "]" * 60_000)
    for args in (
        ["simulate", str(deep)],
        ["simulate", str(EXAMPLE), "--params", str(deep)],
        ["gate", str(EXAMPLE), "--policy", str(deep)],
        ["gate", str(deep)],
        ["recommend", "--workload", str(deep)],
    ):
        line = one_line_error(args)
        assert str(deep) in line and "nested deeper" in line, args


# --- the report's months -----------------------------------------------------------------


@pytest.mark.parametrize("month", ["9999-12", "0001-01", "1969-12", "2262-01"])
def test_months_outside_the_calendar_are_refused(month: str) -> None:
    line = one_line_error(["report", "--month", month])
    assert "--month" in line and "from 1970-01 to 2261-12" in line


def test_months_at_the_ends_of_the_range_parse() -> None:
    assert Month.parse("1970-01").previous == Month(1969, 12)
    assert Month.parse("2261-12").next == Month(2262, 1)


# --- the estimate ------------------------------------------------------------------------


def test_memory_is_flat_in_trials_but_for_their_results() -> None:
    model = fleet_model(pool_model(10))
    small, large = estimate(model, 2_000, workers=2), estimate(model, 2_000_000, workers=2)
    assert small.trial_bytes == large.trial_bytes and small.fixed_bytes == large.fixed_bytes
    assert large.bytes - small.bytes == pytest.approx(1_998_000 * RESULT_BYTES)
    assert large.events == pytest.approx(1_000 * small.events)


def test_a_trial_grows_with_slots_horizon_and_hazard() -> None:
    base = estimate(fleet_model(pool_model(10)), 1)
    assert estimate(fleet_model(pool_model(1_000)), 1).trial_bytes > 50 * base.trial_bytes
    assert estimate(fleet_model(pool_model(10), horizon_hours=72_000), 1).gaps_per_trial > (
        50 * base.gaps_per_trial
    )
    assert estimate(fleet_model(pool_model(10, rate=1.0)), 1).gaps_per_trial > (
        50 * base.gaps_per_trial
    )


@pytest.mark.parametrize(
    "model",
    [
        fleet_model(pool_model(20, rate=0.05)),  # cycles with a 6-minute cold start
        fleet_model(pool_model(5, hazard=Hazard.band(0.2, 1.0)), horizon_hours=7_000.0),
        fleet_model(
            pool_model(4, rate=0.01, bulk_reclaims_per_month=20.0, bulk_fraction=0.5),
            pool_model(4, rate=0.01, zone="z2"),
            zone_correlation=0.5,
        ),
        fleet_model(pool_model(6, rate=0.5), pool_model(6, rate=0.001), on_preemption="next-pool"),
    ],
)
def test_expected_preemptions_are_about_what_the_engine_does(model: FleetModel) -> None:
    simulated = simulate(model, CHUNK_TRIALS // 4, np.random.default_rng(1), workers=1)
    assert 0.3 < estimate(model, 1).gaps_per_trial / simulated.interruptions.mean() < 3.0


# --- refusing what does not fit ------------------------------------------------------------


def test_a_pool_too_large_for_the_memory_names_its_count_and_what_fits() -> None:
    fleet = parse_fleet(
        yaml.safe_load(f"workload: {{replicas: 2}}\ntrials: 10\nfleet: [{POOL}, {POOL[:-2]}90000, zone: use1-az4}}]"),
        origin="fleet.yaml",
    )  # fmt: skip
    fleet = dataclasses.replace(
        fleet, pools=tuple(dataclasses.replace(p, interruption=None) for p in fleet.pools)
    )
    budget = 2e6
    with pytest.raises(UsageError) as caught:
        limits.check_fleet(fleet, budget=budget, workers=1)
    message = str(caught.value)
    assert message.startswith("fleet.yaml: fleet[1].count: a pool of 90,000 replicas would need")
    assert "largest that fits is about a pool of" in message
    fit = int(message.rsplit("a pool of ", 1)[-1].split(" replicas", 1)[0].replace(",", ""))
    assert 1 <= fit < 90_000
    smaller = dataclasses.replace(fleet.pools[1], count=fit)
    limits.check_fleet(
        dataclasses.replace(fleet, pools=(fleet.pools[0], smaller)), budget=budget, workers=1
    )


def test_too_much_work_names_the_trials_and_what_fits() -> None:
    doc = yaml.safe_load(f"workload: {{replicas: 2}}\nfleet: [{POOL[:-2]}1000}}]")
    fleet = dataclasses.replace(parse_fleet(doc, origin="f.yaml"), trials=100_000_000)
    with pytest.raises(UsageError) as caught:
        limits.check_fleet(fleet, trials_from_cli=True, budget=float("inf"))
    message = str(caught.value)
    assert message.startswith("--trials: 100,000,000 trials would need about")
    assert "events of work" in message and "largest that fits is about" in message


def test_a_long_horizon_with_frequent_preemptions_names_the_horizon() -> None:
    fleet = parse_fleet(
        yaml.safe_load(
            f"workload: {{replicas: 2}}\ntrials: 10\nhorizon: 3650d\n"
            f"fleet: [{POOL[:-1]}, interruption: {{mean_time_to_preemption: 1m}}}}]"
        ),
        origin="f.yaml",
    )
    with pytest.raises(UsageError) as caught:
        limits.check_fleet(fleet, budget=5e6, workers=1)
    assert str(caught.value).startswith("f.yaml: horizon: a horizon of 3650d would need")


def test_the_examples_and_readme_sizes_fit() -> None:
    fleet = load_fleet(EXAMPLE)
    limits.check_fleet(fleet, budget=1e9)  # a machine with 1.25 GB free
    limits.check_fleet(dataclasses.replace(fleet, trials=1_000_000), budget=1e9)


def test_available_memory_is_read() -> None:
    assert limits.available_memory() > 0


def test_simulate_refuses_absurd_sizes_with_exit_2(tmp_path: Path) -> None:
    billion = tmp_path / "billion.yaml"
    billion.write_text(EXAMPLE.read_text().replace("count: 2}", "count: 1000000000}", 1))
    cases = [
        ([str(billion)], "fleet[0].count: 1,000,000,000 replicas"),
        ([str(EXAMPLE), "--trials", "10000000000"], "--trials: 10,000,000,000 trials"),
        ([str(EXAMPLE), "--horizon", "1000000w"], "--horizon: duration '1000000w' is too long"),
        ([str(EXAMPLE), "--horizon", "3651d"], "--horizon: a horizon of 3651d"),
    ]
    for args, expected in cases:
        assert expected in one_line_error(["simulate", *args]), args


def test_simulate_refuses_trials_that_do_not_fit_this_machine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(limits, "available_memory", lambda: 1_000_000_000)
    line = one_line_error(["simulate", str(EXAMPLE), "--trials", "50000000"])
    assert line.startswith("error: --trials: 50,000,000 trials would need about")
    assert "free for it here" in line and "largest that fits is about" in line


def test_recommend_refuses_absurd_replicas_before_building_mixes() -> None:
    line = one_line_error(["recommend", "--gpu", "H100", "--replicas", "1000000000"])
    assert "--replicas: 1,000,000,000 replicas" in line and "100,000" in line
    line = one_line_error(["recommend", "--gpu", "H100", "--replicas", "100000"])
    assert line.startswith("error: --replicas: 100,000 replicas would need about")
    assert "largest that fits is about" in line


def test_the_readme_recommendation_is_far_within_the_limits() -> None:
    from spotadvisor.recommend.size import mixes, search_cost

    pool = pool_model(4, hazard=Hazard.band(0.2, 1.0))
    largest = [fleet_model(dataclasses.replace(pool, zone=f"z{i}")) for i in range(60)]
    cost = search_cost(largest, [3] * 60, 4, 2_000, 250)
    assert mixes([3] * 60, 4) < 10_000
    assert cost.events < limits.MAX_EVENTS / 100 and cost.memory < 1e9


def test_replay_and_calibrate_refuse_absurd_counts() -> None:
    traces = str(ROOT / "tests")  # never read: the sizes are checked first
    for args, expected in [
        (["replay", traces, "--replicas", "1000000000"], "--replicas: 1,000,000,000 replicas"),
        (["replay", traces, "--offsets", "1000000000"], "--offsets: 1,000,000,000 windows"),
        (["replay", traces, "--prices", "--trials", "1000000000"], "--trials"),
        (["calibrate", traces, "--bootstrap", "1000000000"], "--bootstrap: 1,000,000,000"),
    ]:
        assert expected in one_line_error(args), args


def test_gate_refuses_a_plan_too_large_before_reading_data(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "workload: {replicas: 2}\nhorizon: 3650d\n"
        f"fleet: [{POOL[:-2]}100000, interruption: {{mean_time_to_preemption: 1m}}}}]\n"
    )
    line = one_line_error(["gate", str(plan)])
    assert f"{plan}: " in line and "would need about" in line
