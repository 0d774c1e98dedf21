"""The GCP interruption prior, and the script that fits it (data/fit_gcp_prior.py)."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from scipy import stats

from spotadvisor.bands import parse_band
from spotadvisor.priors import GCP_SPOT_PRIOR, PRIOR_PREFIX, Prior, is_prior, prior_for
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def fitter() -> Any:
    """data/fit_gcp_prior.py, imported as a module."""
    spec = importlib.util.spec_from_file_location(
        "fit_gcp_prior", ROOT / "data" / "fit_gcp_prior.py"
    )
    assert spec is not None and spec.loader is not None
    module: ModuleType = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


# --- the prior ------------------------------------------------------------------------------


def test_gcp_prior_is_a_prior_and_a_valid_band() -> None:
    assert GCP_SPOT_PRIOR.source.startswith(PRIOR_PREFIX)
    assert is_prior(GCP_SPOT_PRIOR.source)
    band = parse_band(GCP_SPOT_PRIOR.label)
    assert band is not None
    assert (band.lower_pct, band.upper_pct) == (GCP_SPOT_PRIOR.lower_pct, GCP_SPOT_PRIOR.upper_pct)
    assert 0.0 <= GCP_SPOT_PRIOR.lower_pct < GCP_SPOT_PRIOR.upper_pct <= 100.0
    assert "\n" not in GCP_SPOT_PRIOR.basis


@pytest.mark.parametrize(
    ("cloud", "prior"),
    [
        ("gcp", GCP_SPOT_PRIOR),
        (" GCP ", GCP_SPOT_PRIOR),
        ("aws", None),
        ("azure", None),
        ("", None),
    ],
)
def test_prior_for(cloud: str, prior: Prior | None) -> None:
    assert prior_for(cloud) == prior


# --- tick traces ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "gap", "events", "hours"),
    [
        ([0, 1, 1, 1, 1], 3600.0, 0, 4.0),  # launch, then 4 h alive: no event
        ([0, 1, 1, 0, 1], 1800.0, 1, 1.5),  # one 1->0: 3 ticks alive x 0.5 h
        ([1, 0, 0, 1, 0, 1], 3600.0, 2, 3.0),  # two preemptions, relaunched each time
        ([4, 3, 4, 0, 2], 900.0, 5, 3.25),  # 4->3 (1) + 4->0 (4); 13 instance-ticks x 0.25 h
        ([2, 2, 2], 150.0, 0, 0.25),  # steady: 6 instance-ticks x 150 s
        ([0, 0, 0], 30.0, 0, 0.0),  # never alive (us-east1-b in the A100 set)
        ([], 30.0, 0, 0.0),
    ],
)
def test_tick_counts(fitter: Any, values: list[int], gap: float, events: int, hours: float) -> None:
    assert fitter.tick_counts(values, gap) == (events, pytest.approx(hours))


def test_parse_tick_trace(fitter: Any) -> None:
    text = json.dumps({"metadata": {"gap_seconds": 150}, "data": [0, 4, 3]})
    assert fitter.parse_tick_trace(text) == ([0, 4, 3], 150.0)
    with pytest.raises(ValueError, match="non-negative"):
        fitter.parse_tick_trace(json.dumps({"metadata": {"gap_seconds": 0}, "data": [1]}))


@pytest.mark.parametrize(
    ("stem", "zone", "machine"),
    [
        ("us-east1-b_c3-88", "us-east1-b", "c3-88"),
        ("asia-northeast1-a_a100_40gb_8", "asia-northeast1-a", "a100_40gb_8"),
    ],
)
def test_zone_and_machine(fitter: Any, stem: str, zone: str, machine: str) -> None:
    assert fitter.zone_and_machine(stem) == (zone, machine)


def test_synchronous_drops(fitter: Any) -> None:
    series = {
        "a": [4, 4, 0, 0, 3],  # drops 4 at tick 2
        "b": [1, 1, 0, 0, 0],  # drops 1 at tick 2
        "c": [2, 2, 1, 2, 1],  # drops 1 at tick 2 and 1 at tick 4 (alone)
    }
    assert fitter.synchronous_drops(series, min_zones=3) == 6  # tick 2 only
    assert fitter.synchronous_drops(series, min_zones=1) == 7
    assert fitter.synchronous_drops({}, min_zones=3) == 0


# --- probe logs -----------------------------------------------------------------------------

LOG = """\
[2020-03-01T10:00:00.000Z] Created instance instance0 with 1 GPU(s) of type nvidia-tesla-v100 in zone us-west1-b
[2020-03-01T10:00:01.000Z] Instance instance0 running in zone us-west1-b
[2020-03-01T10:01:00.000Z] Instance instance1 creation failed
[2020-03-01T10:01:01.000Z] Instance instance1 not running in zone us-west1-b
[2020-03-01T11:00:00.000Z] Instance instance0 running in zone us-west1-b
[2020-03-01T11:12:00.000Z] Instance instance0 not running in zone us-west1-b
[2020-03-01T11:12:05.000Z] Successfully deleted instance instance0
[2020-03-01T11:20:00.000Z] Created instance instance0 with 1 GPU(s) of type nvidia-tesla-v100 in zone us-west1-b
[2020-03-01T11:20:01.000Z] Instance instance0 running in zone us-west1-b
[2020-03-01T11:30:00.000Z] Created instance instance2 with 8 GPU(s) of type nvidia-tesla-k80 in zone us-east1-c
[2020-03-01T11:30:01.000Z] Instance instance2 running in zone us-east1-c
[2020-03-01T12:00:00.000Z] Instance instance0 running in zone us-west1-b
[2020-03-02T11:20:00.000Z] Instance instance2 running in zone us-east1-c
[2020-03-02T11:40:00.000Z] Instance instance2 not running in zone us-east1-c
"""
# instance0, first VM: created 10:00, last running 11:00, gone 11:12 -> preempted, 1.1 h
# instance1: never created -> nothing
# instance0, second VM: created 11:20, last running 12:00, never seen gone -> censored, 0.667 h
# instance2 (8x K80): created 11:30, last running +23.833 h, gone +24.167 h -> 24 h limit,
#   censored, exposure to the midpoint +24 h


def test_parse_probe_log(fitter: Any) -> None:
    lives = fitter.parse_probe_log(LOG.splitlines())
    assert [(life.name, life.zone, life.machine) for life in lives] == [
        ("instance0", "us-west1-b", "v100x1"),
        ("instance0", "us-west1-b", "v100x1"),
        ("instance2", "us-east1-c", "k80x8"),
    ]
    assert lives[0].ended is not None and lives[1].ended is None


@pytest.mark.parametrize(
    ("index", "preempted", "hours", "limit"),
    [
        (0, True, 1.1, False),  # midpoint of 11:00 and 11:12
        (1, False, 40 / 60, False),  # open at the end of the log: censored at 12:00
        (2, False, 24.0, True),  # first seen gone at 24.17 h: the preemptible 24 h limit
    ],
)
def test_lifetime_outcome(
    fitter: Any, index: int, preempted: bool, hours: float, limit: bool
) -> None:
    life = fitter.parse_probe_log(LOG.splitlines())[index]
    assert fitter.lifetime_outcome(life) == (preempted, pytest.approx(hours), limit)


def test_lifetime_counts(fitter: Any) -> None:
    counts = fitter.lifetime_counts(fitter.parse_probe_log(LOG.splitlines()), "f", "t")
    assert [(c.zone, c.machine, c.events, c.censored) for c in counts] == [
        ("us-east1-c", "k80x8", 0, 1),
        ("us-west1-b", "v100x1", 1, 0),
    ]
    assert counts[1].hours == pytest.approx(1.1 + 40 / 60)


def test_probe_log_rejects_unknown_lines(fitter: Any) -> None:
    with pytest.raises(ValueError, match="line 2"):
        fitter.parse_probe_log(["", "[2020-03-01T10:00:00.000Z] Something else"])


# --- statistics -----------------------------------------------------------------------------


@pytest.mark.parametrize("events", [0, 1, 2, 3, 10, 36, 79, 434])
@pytest.mark.parametrize("confidence", [0.90, 0.95])
def test_poisson_interval_matches_chi_square(fitter: Any, events: int, confidence: float) -> None:
    alpha = 1.0 - confidence
    lower, upper = fitter.poisson_interval(events, confidence)
    expected_lower = stats.chi2.ppf(alpha / 2, 2 * events) / 2 if events else 0.0
    assert lower == pytest.approx(expected_lower, rel=1e-9, abs=1e-12)
    assert upper == pytest.approx(stats.chi2.ppf(1 - alpha / 2, 2 * events + 2) / 2, rel=1e-9)


def test_rate_interval(fitter: Any) -> None:
    rate, lower, upper = fitter.rate_interval(3, 180.0)
    assert rate == pytest.approx(3 / 180)
    assert (lower, upper) == pytest.approx(
        (stats.chi2.ppf(0.05, 6) / 360, stats.chi2.ppf(0.95, 8) / 360), rel=1e-9
    )
    rate, lower, upper = fitter.rate_interval(0, 0.0)
    assert math.isnan(rate) and (lower, upper) == (0.0, math.inf)


@pytest.mark.parametrize("df", [1, 2, 3, 4, 8, 11])
@pytest.mark.parametrize("x", [0.5, 3.0, 9.4, 40.0])
def test_chi2_sf_matches_scipy(fitter: Any, df: int, x: float) -> None:
    assert fitter.chi2_sf(x, df) == pytest.approx(stats.chi2.sf(x, df), rel=1e-9)


def test_monthly_probability(fitter: Any) -> None:
    rate = -math.log(1 - 0.10) / 730
    assert fitter.monthly_probability(rate) == pytest.approx(0.10)
    assert fitter.monthly_probability(0.0) == 0.0


@pytest.mark.parametrize(
    ("events", "hours", "band"),
    [
        (3, 180.4, (95, 100)),  # the c3 family: p in 96.3-100 %
        (79, 521.1, (95, 100)),  # the 2023 pool: p = 1 to double precision -> step below
        (0, 45.6, (0, 100)),  # one quiet zone: p in 0-100 %
        (1, 7300.0, (0, 40)),  # p in 0.51-37.8 %
        (10, 73000.0, (5, 20)),  # p in 5.28-15.6 %: 5 is the step strictly below 5.28
    ],
)
def test_band_rule(fitter: Any, events: int, hours: float, band: tuple[int, int]) -> None:
    count = fitter.Count("f", "", "", "", events, hours)
    assert fitter.band_pct(count) == band


def test_dispersion_flags_unequal_rates(fitter: Any) -> None:
    same = [fitter.Count("f", "", z, "", 10, 100.0) for z in "abc"]
    stat, df, p_value = fitter.dispersion(same)
    assert (stat, df, p_value) == (0.0, 2, 1.0)
    unequal = [fitter.Count("f", "", "a", "", 0, 100.0), fitter.Count("f", "", "b", "", 30, 100.0)]
    stat, df, p_value = fitter.dispersion(unequal)
    assert stat == pytest.approx(30.0) and df == 1 and p_value < 1e-6


# --- the real traces ------------------------------------------------------------------------


@pytest.mark.shared_data
def test_fit_on_the_traces_reproduces_the_prior(fitter: Any, shared_data: Path) -> None:
    result = fitter.fit(shared_data)
    assert fitter.build_prior(result) == GCP_SPOT_PRIOR
    c3, a100 = (fitter.pool(result.family(f), f) for f in (fitter.C3, fitter.A100))
    assert (c3.events, c3.series, a100.events, a100.series) == (3, 4, 76, 5)
    preemptible = fitter.pool(result.family(fitter.PREEMPTIBLE), "p")
    assert preemptible.censored == 11  # lifetimes ended by the 24 h limit
    # the 2020 preemptible check gives the same band
    assert fitter.band_pct(preemptible) == (
        int(GCP_SPOT_PRIOR.lower_pct),
        int(GCP_SPOT_PRIOR.upper_pct),
    )
    assert "GCP_SPOT_PRIOR = Prior(label='95-100%'" in fitter.report(result)
