"""Fleet files (SPEC section 3): durations, percentages, the full example, and every error."""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from spotadvisor.config import (
    DEFAULT_RISK,
    FleetFile,
    InterruptionOverride,
    Policy,
    PoolRisk,
    PoolSpec,
    RiskSettings,
    Sla,
    Workload,
    load_fleet,
    parse_duration,
    parse_fleet,
    parse_fraction,
)
from spotadvisor.errors import ExitCode, UsageError
from tests.conftest import FIXTURES

FLEETS = FIXTURES / "fleets"
HOURS_PER_UNIT = {
    "s": Fraction(1, 3600),
    "m": Fraction(1, 60),
    "h": Fraction(1),
    "d": Fraction(24),
    "w": Fraction(168),
}


def duration(value: object) -> float:
    return parse_duration(value, origin="fleet.yaml", field="workload.cold_start")


def parse_text(text: str) -> FleetFile:
    return parse_fleet(yaml.safe_load(text), origin="fleet.yaml")


# --- durations ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "hours"),
    [
        ("90s", 90 / 3600),  # AWS notice-scale times
        ("5m", 5 / 60),
        ("4h", 4.0),
        ("30d", 720.0),  # the default horizon
        ("1.5h", 1.5),  # decimals
        ("2w", 336.0),
        (".5h", 0.5),  # no leading digit
        ("1h30m", 1.5),  # Go/Kubernetes-style compound
        ("10 min", 10 / 60),  # a space and a spelt-out unit
        ("3 hours", 3.0),
        (" 20m ", 20 / 60),  # padding from a quoted YAML value
        ("0s", 0.0),  # zero is a valid duration (e.g. fallback_after: 0s)
    ],
)
def test_duration_forms(value: str, hours: float) -> None:
    assert duration(value) == hours


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (10, "write 10m, 10h"),  # a bare YAML number: the unit would be a guess
        (1.5, "write 1.5m, 1.5h"),
        ("10", "has no unit"),  # a quoted bare number
        ("-5m", "cannot be negative"),
        ("10y", "unknown unit 'y'"),
        ("2mo", "write 30d or 730h"),  # months differ in length
        ("5M", "lower-case m"),  # M is not minutes
        ("10 mints", "Did you mean 'mins'"),
        ("ten minutes", "is not a duration"),
        ("", "is not a duration"),
        (True, "boolean true"),  # `cold_start: yes` in YAML
        ([10, "m"], "got a list"),
        (float("inf"), "got inf"),  # YAML .inf
        ("9" * 400 + "w", "too long"),
    ],
)
def test_duration_errors(value: object, expected: str) -> None:
    with pytest.raises(UsageError) as caught:
        duration(value)
    message = str(caught.value)
    assert message.startswith("fleet.yaml: workload.cold_start: ")
    assert expected in message
    assert "\n" not in message


@given(st.integers(min_value=0, max_value=5_214), st.sampled_from(sorted(HOURS_PER_UNIT)))
def test_duration_is_n_times_the_unit(n: int, unit: str) -> None:
    # up to 5,214 of any unit: 5,214 weeks is within the 36,500-day cap on durations
    # The exact product, correctly rounded: 20m is exactly 20/60 h, not 20 * (1/60).
    assert duration(f"{n}{unit}") == float(n * HOURS_PER_UNIT[unit])


@given(st.integers(0, 1000), st.integers(0, 59))
def test_compound_durations_add_up(hours: int, minutes: int) -> None:
    assert duration(f"{hours}h{minutes}m") == float(hours + Fraction(minutes, 60))


# --- fractions and percentages -------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "percent", "fraction"),
    [
        (99.9, True, 0.999),  # sla.availability: a bare number is in percent, exactly 0.999
        ("99.9%", True, 0.999),
        (99.99, True, 0.9999),
        (95, True, 0.95),  # an int
        (100, True, 1.0),  # the generic parser allows 100%; sla.availability does not
        (0.05, False, 0.05),  # sla.max_breach_probability: a bare number is a fraction
        ("5%", False, 0.05),
        (" 12.5 % ", False, 0.125),  # padding
        (0, False, 0.0),
        (1, False, 1.0),
    ],
)
def test_fraction_forms(value: object, percent: bool, fraction: float) -> None:
    assert parse_fraction(value, origin="f.yaml", field="sla.x", percent=percent) == fraction


@pytest.mark.parametrize(
    ("value", "percent", "expected"),
    [
        (5, False, "write 0.05 or '5%'"),  # a percentage where a fraction belongs
        ("0.05", False, "write 0.05 without quotes"),
        ("five%", False, "is not a percentage"),
        (True, True, "boolean true"),
        (-1, True, "outside 0-100%"),
        (101, True, "outside 0-100%"),
        ("150%", False, "outside 0-100%"),
        ([99.9], True, "got a list"),
        (float("nan"), True, "finite"),  # YAML .nan
        (10**400, True, "too large"),
    ],
)
def test_fraction_errors(value: object, percent: bool, expected: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_fraction(value, origin="f.yaml", field="sla.x", percent=percent)
    assert str(caught.value).startswith("f.yaml: sla.x: ")
    assert expected in str(caught.value)


# --- whole files -------------------------------------------------------------------------

SPEC_WORKLOAD = Workload(
    name="llama-70b-chat",
    replicas=4,
    gpus_per_replica=8,
    gpu_memory_gb_per_replica=None,
    gpu=("A100-80GB", "H100"),
    cold_start_hours=10 / 60,
    cold_start_distribution="fixed",
    request_rate_per_s=2.0,
    request_duration_s=20.0,
    request_duration_distribution="exponential",
    throughput_tokens_per_s=None,
)
SPEC_POOLS = (
    PoolSpec(0, "aws", "us-east-1", "use1-az4", "p4d.24xlarge", "spot", 3),
    PoolSpec(1, "aws", "us-east-1", None, "p4d.24xlarge", "on-demand", 2),
)


def test_spec_example() -> None:
    path = FLEETS / "spec_example.yaml"
    assert load_fleet(path) == FleetFile(
        origin=str(path),
        workload=SPEC_WORKLOAD,
        sla=Sla(availability=0.999, max_breach_probability=0.05),
        horizon_hours=720.0,
        trials=2000,
        seed=7,
        pools=SPEC_POOLS,
        policy=Policy("relaunch-same-pool", fallback_after_hours=0.25, overprovision=1),
        risk=RiskSettings(0.5, 0.6, 20 / 60, 0.4, 0.1),
        risk_independent=False,
        spot_prices="fixed",
    )


def test_spec_risk_block_states_the_defaults() -> None:
    assert load_fleet(FLEETS / "spec_example.yaml").risk == DEFAULT_RISK == RiskSettings()


def test_spec_example_independent() -> None:
    fleet = load_fleet(FLEETS / "spec_independent.yaml")
    assert fleet.risk == RiskSettings.INDEPENDENT == RiskSettings(0, 0, 0, 0, 0)
    assert fleet.risk_independent
    assert (fleet.workload, fleet.pools) == (SPEC_WORKLOAD, SPEC_POOLS)


def test_every_override_pinned() -> None:
    fleet = load_fleet(FLEETS / "overrides.yaml")
    assert fleet.workload == Workload(
        name="mixtral-8x7b",
        replicas=2,
        gpus_per_replica=None,
        gpu_memory_gb_per_replica=96.0,
        gpu=("L40S",),  # a single string is a one-model list
        cold_start_hours=0.1,
        cold_start_distribution="exponential",
        request_rate_per_s=5.0,
        request_duration_s=1.5,  # request durations are kept in seconds
        request_duration_distribution="fixed",
        throughput_tokens_per_s=2500.0,
    )
    assert fleet.sla == Sla(availability=0.995, max_breach_probability=0.1)
    assert (fleet.horizon_hours, fleet.trials, fleet.seed) == (336.0, 500, None)
    assert fleet.pools == (
        PoolSpec(
            0, "aws", "us-west-2", "usw2-az1", "g6e.12xlarge", "spot", 2, 4.2, 10.49,
            InterruptionOverride(band="5-10%"),
            PoolRisk(bulk_reclaims_per_month=1.0, stockout_hours=0.75),
        ),
        PoolSpec(
            1, "gcp", "us-central1", "us-central1-a", "g2-standard-48", "spot", 1, 1.6, 4.0,
            InterruptionOverride(monthly_rate=0.05),
            PoolRisk(bulk_fraction=0.3),
        ),
        PoolSpec(
            2, "azure", "eastus", "1", "Standard_NC48ads_A100_v4", "spot", 1, 2.9, 7.35,
            InterruptionOverride(mean_time_to_preemption_hours=4.0),
        ),
        PoolSpec(3, "aws", "us-west-2", None, "g6e.12xlarge", "on-demand", 0, 10.49),
    )  # fmt: skip
    assert fleet.policy == Policy("next-pool", None, 0)
    assert fleet.risk == dataclasses.replace(DEFAULT_RISK, stockout_hours=1.0, zone_correlation=0.5)
    assert (fleet.risk_independent, fleet.spot_prices) == (False, "history")


def test_defaults_of_a_minimal_file() -> None:
    # What `recommend` needs: a workload and nothing else.
    fleet = parse_text("workload: {replicas: 1}")
    assert fleet.workload == Workload(
        "workload", 1, None, None, (), 10 / 60, "fixed", 0.0, 20.0, "exponential", None
    )
    assert fleet.sla == Sla(0.999, 0.05)
    assert (fleet.horizon_hours, fleet.trials, fleet.seed, fleet.pools) == (720.0, 2000, None, ())
    assert fleet.policy == Policy("relaunch-same-pool", None, 0)
    assert (fleet.risk, fleet.risk_independent, fleet.spot_prices) == (DEFAULT_RISK, False, "fixed")


def test_empty_sections_keep_the_defaults() -> None:
    # `policy:` with every line commented out is null in YAML.
    fleet = parse_text("workload: {replicas: 1}\nsla:\npolicy:\nrisk:\nseed:\n")
    assert (fleet.sla, fleet.policy, fleet.risk, fleet.seed) == (
        Sla(),
        Policy(),
        DEFAULT_RISK,
        None,
    )


def test_names_are_case_insensitive_and_normalised() -> None:
    fleet = parse_text(
        "workload: {replicas: 1, cold_start_dist: Exponential}\n"
        "fleet: [{cloud: AWS, region: us-east-1, instance: p5.48xlarge, market: Spot, count: 1,"
        " interruption: {band: ' 10 - 15 % '}}]\n"
        "risk: Independent\n"
    )
    assert fleet.workload.cold_start_distribution == "exponential"
    pool = fleet.pools[0]
    assert (pool.cloud, pool.market) == ("aws", "spot")
    assert pool.interruption == InterruptionOverride(band="10-15%")
    assert fleet.risk_independent


def test_whole_floats_are_whole_numbers() -> None:
    assert parse_text("workload: {replicas: 4.0}").workload.replicas == 4


def test_repeated_gpu_models_are_listed_once() -> None:
    assert parse_text("workload: {replicas: 1, gpu: [H100, A100, H100]}").workload.gpu == (
        "H100",
        "A100",
    )


def test_results_are_frozen() -> None:
    fleet = load_fleet(FLEETS / "spec_example.yaml")
    with pytest.raises(dataclasses.FrozenInstanceError):
        fleet.trials = 1  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        fleet.pools[0].count = 9  # type: ignore[misc]


# --- errors in documents -------------------------------------------------------------------

W = "workload: {replicas: 2}\n"
SPOT = "{cloud: aws, region: us-east-1, instance: p4d.24xlarge, market: spot, count: 1"
OD = "{cloud: aws, region: us-east-1, instance: p4d.24xlarge, market: on-demand, count: 1"


@pytest.mark.parametrize(
    ("text", "field", "expected"),
    [
        # unknown and misplaced keys, at every level
        ("workload: {replicas: 2, cold_strat: 5m}", "workload.cold_strat", "Did you mean 'cold_start'"),
        (W + "polcy: {overprovision: 1}", "polcy", "Did you mean 'policy'"),
        (W + "fleet: [" + SPOT + ", instance_type: x}]", "fleet[0].instance_type", "Did you mean 'instance'"),
        (W + "fleet: [" + SPOT + ", interruption: {bnd: '<5%'}}]", "fleet[0].interruption.bnd", "Did you mean 'band'"),
        (W + "sla: {availabilty: 99}", "sla.availabilty", "Did you mean 'availability'"),
        (W + "risk: {stockout_hours: 1h}", "risk.stockout_hours", "Did you mean 'stockout'"),
        (W + "colour: blue", "colour", "allowed keys here: workload, sla"),  # nothing close
        (W + "replicas: 3", "replicas", "move it under workload"),
        (W + "on_preemption: next-pool", "on_preemption", "move it under policy"),
        ("workload: {replicas: 2, availability: 99.9}", "workload.availability", "move it under sla"),
        ("workload: {replicas: 2, horizon: 30d}", "workload.horizon", "move it to the top level"),
        (W + "fleet: [" + SPOT + ", risk: {zone_correlation: 0.2}}]", "fleet[0].risk.zone_correlation", "fleet-wide"),
        # the workload
        ("sla: {availability: 99.9}", "workload", "required key 'workload' is missing"),
        ("workload:\n", "workload", "required key 'workload' has no value"),
        ("workload: [replicas, 2]", "workload", "expected a mapping, got a list"),
        ("workload: {name: chat}", "workload.replicas", "add replicas: N"),
        ("workload: {replicas: 0}", "workload.replicas", "must be at least 1"),  # zero replicas
        ("workload: {replicas: '4'}", "workload.replicas", "write 4 without quotes"),  # a string count
        ("workload: {replicas: yes}", "workload.replicas", "YAML reads yes/no"),  # `yes` is a bool
        ("workload: {replicas: 2.5}", "workload.replicas", "whole number"),
        ("workload: {replicas: .inf}", "workload.replicas", "whole number"),
        ("workload: {replicas: 2, request_rate: .nan}", "workload.request_rate", "finite"),
        ("workload: {replicas: 2, request_rate: " + "9" * 400 + "}", "workload.request_rate", "too large"),
        ("workload: {replicas: 2, name: ''}", "workload.name", "is empty"),
        ("workload: {replicas: 2, gpus_per_replica: 8, gpu_memory_gb_per_replica: 160}", "workload", "keep one of them"),
        ("workload: {replicas: 2, gpus_per_replica: 0}", "workload.gpus_per_replica", "at least 1"),
        ("workload: {replicas: 2, gpu_memory_gb_per_replica: 0}", "workload.gpu_memory_gb_per_replica", "must be > 0"),
        ("workload: {replicas: 2, gpu: [H1OO]}", "workload.gpu[0]", "Did you mean 'H100'"),  # O for 0
        ("workload: {replicas: 2, gpu: A100-80G}", "workload.gpu", "Did you mean 'A100-80GB'"),
        ("workload: {replicas: 2, gpu: []}", "workload.gpu", "remove gpu: to accept any"),
        ("workload: {replicas: 2, gpu: {model: H100}}", "workload.gpu", "expected text, got a mapping"),
        ("workload: {replicas: 2, cold_start: 10}", "workload.cold_start", "write 10m"),
        ("workload: {replicas: 2, cold_start: -5m}", "workload.cold_start", "cannot be negative"),
        ("workload: {replicas: 2, cold_start_dist: exponentail}", "workload.cold_start_dist", "Did you mean 'exponential'"),
        ("workload: {replicas: 2, request_duration_dist: normal}", "workload.request_duration_dist", "the choices are fixed, exponential"),
        ("workload: {replicas: 2, request_rate: -1}", "workload.request_rate", "must be >= 0"),
        ("workload: {replicas: 2, request_rate: '2/s'}", "workload.request_rate", "write a number"),
        ("workload: {replicas: 2, request_duration: 20}", "workload.request_duration", "write 20m"),
        ("workload: {replicas: 2, throughput: 0}", "workload.throughput", "must be > 0"),
        # the SLA
        (W + "sla: {availability: 0.999}", "sla.availability", "availability is in percent: write 99.9"),
        (W + "sla: {availability: 100}", "sla.availability", "write a target such as 99.9"),
        (W + "sla: {availability: 0}", "sla.availability", "write a target such as 99.9"),
        (W + "sla: {availability: '99.9'}", "sla.availability", "without quotes"),
        (W + "sla: {max_breach_probability: 5}", "sla.max_breach_probability", "write 0.05 or '5%'"),
        (W + "sla: [99.9]", "sla", "expected a mapping"),
        # top-level scalars
        (W + "horizon: 0d", "horizon", "must be longer than zero"),
        (W + "horizon: 30", "horizon", "write 30m, 30h"),
        (W + "trials: 0", "trials", "must be at least 1"),
        (W + "trials: many", "trials", "write a number such as 1"),
        (W + "trials: 1e3", "trials", "YAML reads 1e3 as text: write 1000 or 1.0e+03"),
        (W + "seed: -1", "seed", "must be at least 0"),
        (W + "seed: 1.5", "seed", "whole number"),
        (W + "spot_prices: histroy", "spot_prices", "Did you mean 'history'"),
        # the fleet list
        (W + "fleet: []", "fleet", "the fleet has no pools"),  # an empty list where fleet is given
        (W + "fleet:\n", "fleet", "the fleet has no pools"),  # a fleet key with every pool commented out
        (W + "fleet: {cloud: aws}", "fleet", "got a mapping. start each pool with '- '"),
        (W + "fleet: [aws]", "fleet[0]", "expected a mapping, got the text 'aws'"),
        (W + "fleet: [{cloud: aws, region: us-east-1, market: spot, count: 1}]", "fleet[0].instance", "add instance:"),
        (W + "fleet: [" + SPOT + "}, {cloud: aws, region: us-east-1, instance: p5.48xlarge, market: spot}]", "fleet[1].count", "add count: N"),
        (W + "fleet: [" + SPOT.replace("aws", "aws2") + "}]", "fleet[0].cloud", "Did you mean 'aws'"),
        (W + "fleet: [" + SPOT.replace("spot", "ondemand") + "}]", "fleet[0].market", "Did you mean 'on-demand'"),
        (W + "fleet: [" + SPOT.replace("spot", "on_demand") + "}]", "fleet[0].market", "Did you mean 'on-demand'"),
        (W + "fleet: [" + SPOT.replace("spot", "od") + "}]", "fleet[0].market", "the choices are spot, on-demand"),
        (W + "fleet: [" + SPOT.replace("1", "-1") + "}]", "fleet[0].count", "must be at least 0"),
        (W + "fleet: [" + SPOT.replace("count: 1", "count: '3'") + "}]", "fleet[0].count", "write 3 without quotes"),
        (W + "fleet: [" + SPOT + ", region: []}]", "fleet[0].region", "expected text, got a list"),
        (W + "fleet: [" + SPOT + ", price_per_hour: 0}]", "fleet[0].price_per_hour", "must be > 0"),
        (W + "fleet: [" + SPOT + ", on_demand_price_per_hour: yes}]", "fleet[0].on_demand_price_per_hour", "boolean true"),
        (W + "fleet: [" + SPOT + ", zone: use1-az4}, " + SPOT + ", zone: use1-az4}]", "fleet[1]", "duplicates fleet[0]"),
        (W + "fleet: [" + SPOT + ", zone: usw2-az1}]", "fleet[0].zone", "set region: us-west-2"),
        (W + "fleet: [" + SPOT + ", zone: us-west-2b}]", "fleet[0].zone", "is in us-west-2"),
        (W + "fleet: [{cloud: gcp, region: us-east1, zone: us-central1-a, instance: a2-highgpu-1g, market: spot, count: 1}]", "fleet[0].zone", "set region: us-central1"),
        # per-pool overrides
        (W + "fleet: [" + OD + ", interruption: {band: '<5%'}}]", "fleet[0].interruption", "on-demand pools are never preempted"),
        (W + "fleet: [" + OD + ", risk: {stockout: 1h}}]", "fleet[0].risk", "set market: spot"),
        (W + "fleet: [" + OD + ", price_per_hour: 30, on_demand_price_per_hour: 32}]", "fleet[0].on_demand_price_per_hour", "give only price_per_hour"),
        (W + "fleet: [" + SPOT + ", interruption: {band: '5-10%', monthly_rate: 0.05}}]", "fleet[0].interruption", "gives band and monthly_rate"),
        (W + "fleet: [" + SPOT + ", interruption: {}}]", "fleet[0].interruption", "give exactly one of band"),
        (W + "fleet: [" + SPOT + ", interruption: '5-10%'}]", "fleet[0].interruption", "write interruption: {band: '5-10%'}"),
        (W + "fleet: [" + SPOT + ", interruption: {band: high}}]", "fleet[0].interruption.band", "is not an interruption band"),
        (W + "fleet: [" + SPOT + ", interruption: {monthly_rate: -0.1}}]", "fleet[0].interruption.monthly_rate", "must be >= 0"),
        (W + "fleet: [" + SPOT + ", interruption: {mean_time_to_preemption: 0h}}]", "fleet[0].interruption.mean_time_to_preemption", "longer than zero"),
        (W + "fleet: [" + SPOT + ", risk: {bulk_fraction: 2}}]", "fleet[0].risk.bulk_fraction", "more than 1"),
        (W + "fleet: [" + SPOT + ", risk: independent}]", "fleet[0].risk", "expected a mapping"),
        # the policy
        (W + "policy: {on_preemption: relaunch-same-pol}", "policy.on_preemption", "Did you mean 'relaunch-same-pool'"),
        (W + "policy: {on_preemption: ondemand}", "policy.on_preemption", "Did you mean 'on-demand'"),
        (W + "policy: {fallback_after: 15}", "policy.fallback_after", "write 15m"),
        (W + "policy: {fallback_after: -15m}", "policy.fallback_after", "cannot be negative"),
        (W + "policy: {overprovision: -1}", "policy.overprovision", "must be at least 0"),
        (W + "policy: {overprovision: true}", "policy.overprovision", "YAML reads yes/no"),
        # the fleet-wide risk block
        (W + "risk: independant", "risk", "Did you mean 'independent'"),
        (W + "risk: none", "risk", "write risk: independent, or a mapping"),
        (W + "risk: [independent]", "risk", "write risk: independent, or a mapping"),
        (W + "risk: {bulk_reclaims_per_month: -1}", "risk.bulk_reclaims_per_month", "must be >= 0"),
        (W + "risk: {bulk_fraction: 60}", "risk.bulk_fraction", "write 0.6 or '60%'"),
        (W + "risk: {stockout: -20m}", "risk.stockout", "cannot be negative"),
        (W + "risk: {zone_correlation: '140%'}", "risk.zone_correlation", "outside 0-100%"),
        (W + "risk: {region_correlation: no}", "risk.region_correlation", "boolean false"),
    ],
)  # fmt: skip
def test_errors_name_the_key_path_and_the_fix(text: str, field: str, expected: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_text(text)
    error = caught.value
    assert (error.file, error.field) == ("fleet.yaml", field)
    message = str(error)
    assert message.startswith(f"fleet.yaml: {field}: ")
    assert expected in message
    assert "\n" not in message
    assert error.exit_code == ExitCode.BAD_INPUT


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        (None, "the fleet file is empty"),  # an empty file
        ([{"workload": {"replicas": 1}}], "expected a mapping, got a list"),
        ("workload", "expected a mapping, got the text 'workload'"),
        ({1: "x", "workload": {"replicas": 1}}, "unknown key '1'"),  # a non-text key
    ],
)
def test_document_must_be_a_mapping(doc: object, expected: str) -> None:
    with pytest.raises(UsageError, match=expected):
        parse_fleet(doc, origin="fleet.yaml")


def test_duplicate_pool_error_names_both_indexes_and_the_merge() -> None:
    pools = ", ".join(SPOT + f", count: {n}}}" for n in (2, 3)).replace("count: 1, ", "")
    with pytest.raises(UsageError) as caught:
        parse_text(W + f"fleet: [{OD}}}, {pools}]")
    assert caught.value.field == "fleet[2]"
    assert "duplicates fleet[1] (aws us-east-1 p4d.24xlarge spot)" in str(caught.value)
    assert "merge fleet[1] and fleet[2] into one pool with count: 5" in str(caught.value)


def test_regional_and_zonal_pools_of_one_type_are_different_pools() -> None:
    fleet = parse_text(W + f"fleet: [{SPOT}}}, {SPOT}, zone: use1-az4}}]")
    assert [pool.zone for pool in fleet.pools] == [None, "use1-az4"]


def test_zones_the_name_cannot_place_are_accepted() -> None:
    # Azure zones are numbers; an unknown AWS zone-ID prefix may be a new region.
    fleet = parse_text(
        W + "fleet: [{cloud: azure, region: eastus, zone: 2, instance: x, market: spot, count: 1},"
        " {cloud: aws, region: xx-new-1, zone: xxn1-az1, instance: x, market: spot, count: 1}]"
    )
    assert [pool.zone for pool in fleet.pools] == ["2", "xxn1-az1"]


# --- reading files -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("workload:\n  replicas: 2\n  name: [chat\n", "line 4"),  # unclosed flow list
        ("workload:\n  replicas: 2\n\tname: chat\n", "indent with spaces, not tabs"),
        (
            "workload:\n  replicas: 2\nworkload:\n  replicas: 3\n",
            "duplicate key 'workload' (first at line 1)",
        ),
        ("workload: {replicas: 2, replicas: 3}\n", "line 1"),  # duplicates in a flow mapping too
        (
            W + "fleet:\n  - {" + SPOT[1:] + ", interruption: {band: >20%}}\n",
            "quote values that start with a symbol such as >",
        ),
        (
            W + "fleet:\n  - interruption:\n      band: >20%\n",  # block style
            "quote values that start with a symbol such as >",
        ),
        ("a: 1\n---\nb: 2\n", "expected a single document"),
    ],
)
def test_yaml_errors_give_the_line(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "fleet.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UsageError) as caught:
        load_fleet(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: invalid YAML at line ")
    assert expected in message
    assert "\n" not in message


def test_yaml_merge_keys_are_not_duplicates(tmp_path: Path) -> None:
    # An anchored pool reused with one key changed: the change is not a duplicate key.
    path = tmp_path / "fleet.yaml"
    path.write_text(
        "workload: {replicas: 2}\n"
        "fleet:\n"
        "  - &pool {cloud: aws, region: us-east-1, instance: p4d.24xlarge, market: spot, count: 3}\n"
        "  - {<<: *pool, market: on-demand, count: 1}\n",
        encoding="utf-8",
    )
    assert [(p.market, p.count) for p in load_fleet(path).pools] == [("spot", 3), ("on-demand", 1)]


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"no such file\. check the path"):
        load_fleet(tmp_path / "missing.yaml")
    with pytest.raises(UsageError, match="is a folder, not a file"):
        load_fleet(tmp_path)
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes("workload: {name: caf\xe9, replicas: 1}\n".encode("latin-1"))
    with pytest.raises(UsageError, match="not UTF-8 text") as caught:
        load_fleet(latin1)
    assert caught.value.file == str(latin1)
