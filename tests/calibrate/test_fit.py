"""The numerical core on hand-made series: events, intervals, Weibull, pooling."""

from __future__ import annotations

import importlib.util
import math
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from spotadvisor.calibrate.events import series_events
from spotadvisor.calibrate.fit import PoolKey, fit_pool
from spotadvisor.calibrate.share import engine_whole_pool
from spotadvisor.calibrate.stats import dispersion, poisson_rate, proportion_interval
from spotadvisor.calibrate.stockout import stockout_from_blocks
from spotadvisor.calibrate.weibull import fit_weibull
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def fit_gcp_prior() -> Iterator[Any]:
    """data/fit_gcp_prior.py, imported as a module (its method is reused here)."""
    spec = importlib.util.spec_from_file_location(
        "fit_gcp_prior", ROOT / "data" / "fit_gcp_prior.py"
    )
    assert spec is not None and spec.loader is not None
    module: ModuleType = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


KEY = PoolKey("aws", "us-east-1", "us-east-1f", "p3.2xlarge")


def test_strikes_units_and_exposures_follow_the_stated_rules() -> None:
    counts = [4, 4, 3, 3, 1, 1, 4, 0, 0, 2, 4]
    e = series_events(counts, 3600.0, capacity=4, threshold=2)
    assert e.all_units == 1 + 2 + 4  # 4->3, 3->1, 4->0
    assert e.strikes == 2 and e.independent_units == 1
    assert e.exposure_hours == pytest.approx(sum(counts[:-1]))
    assert e.strike_exposure_hours == pytest.approx(sum(c >= 2 for c in counts[:-1]))
    assert e.shares.tolist() == [pytest.approx(2 / 3), 1.0]
    # blocks: from the strike at tick 4 until the count is back at 3 (tick 6); from
    # tick 7 until back at 4 (tick 10)
    assert e.blocks_hours.tolist() == [2.0, 3.0]
    assert e.blocked.tolist() == [False] * 4 + [True, True, False, True, True, True, False]
    assert e.zero_runs_hours.tolist() == [2.0]


def test_a_one_node_series_counts_every_drop_as_a_strike() -> None:
    e = series_events([1, 1, 0, 0, 0, 1, 1, 0, 1], 1800.0, capacity=1, threshold=2)
    assert e.threshold == 1 and e.strikes == 2 and e.independent_units == 0
    assert e.zero_runs_hours.tolist() == [1.5, 0.5]
    assert e.blocks_hours.tolist() == [1.5, 0.5]
    # one known lifetime (born at tick 5, ended at tick 7) and one censored at the end
    assert e.lifetimes_hours.tolist() == [1.0, 0.5] and e.lifetime_ended.tolist() == [True, False]


def test_an_open_block_is_censored_and_an_initial_zero_run_is_skipped() -> None:
    e = series_events([0, 0, 3, 3, 0, 0], 3600.0, capacity=3, threshold=2)
    assert e.blocks_hours.size == 0 and e.censored_block_hours == 2.0
    assert e.zero_runs_hours.size == 0


@pytest.mark.parametrize(("events", "hours"), [(0, 45.6), (3, 43.5), (25, 67.5), (76, 340.7)])
def test_exact_poisson_interval_matches_the_gcp_prior_script(
    fit_gcp_prior: Any, events: int, hours: float
) -> None:
    ours = poisson_rate(events, hours, 0.90)
    rate, low, high = fit_gcp_prior.rate_interval(events, hours, 0.90)
    assert ours.value == pytest.approx(rate)
    assert ours.low == pytest.approx(low, rel=1e-6, abs=1e-12)
    assert ours.high == pytest.approx(high, rel=1e-6)


def test_dispersion_matches_the_gcp_prior_script(fit_gcp_prior: Any) -> None:
    rows = [(0, 45.6), (3, 43.5), (1, 30.8), (36, 19.7)]
    ours = dispersion([k for k, _ in rows], [t for _, t in rows])
    counts = [fit_gcp_prior.Count("f", "t", str(i), "m", k, t) for i, (k, t) in enumerate(rows)]
    stat, df, p = fit_gcp_prior.dispersion(counts)
    assert (ours.statistic, ours.df) == (pytest.approx(stat), df)
    assert ours.p_value == pytest.approx(p, rel=1e-6, abs=1e-300)


def test_clopper_pearson_bounds() -> None:
    i = proportion_interval(0, 10, 0.95)
    assert i.low == 0.0 and i.high == pytest.approx(1 - 0.025 ** (1 / 10))
    assert proportion_interval(10, 10, 0.95).high == 1.0


def test_weibull_recovers_its_shape_and_tells_exponential_apart() -> None:
    rng = np.random.default_rng(0)
    heavy = 3.0 * rng.weibull(0.6, 3000)
    censor = rng.uniform(0, 20, 3000)
    fit = fit_weibull(np.minimum(heavy, censor), heavy <= censor, 0.95)
    assert fit is not None and fit.shape.low < 0.6 < fit.shape.high and fit.heavier_tail
    flat = rng.exponential(2.0, 3000)
    fit = fit_weibull(flat, np.ones(3000, dtype=bool), 0.95)
    assert fit is not None and fit.shape.low < 1.0 < fit.shape.high and not fit.heavier_tail
    assert fit.exponential_mean_hours == pytest.approx(flat.mean())
    assert fit_weibull([1.0, 2.0], [True, True], 0.95) is None


def test_busy_period_inversion_round_trips() -> None:
    nu, s = 0.4, 1.5
    block = math.expm1(nu * s) / nu  # docs/model.md: busy period of M/M/inf
    assert stockout_from_blocks(nu, block) == pytest.approx(s)
    assert stockout_from_blocks(0.0, 2.0) == 2.0


def test_pool_fit_with_no_exposure_has_no_rate() -> None:
    e = series_events([0, 0, 0], 150.0, capacity=4, threshold=2)
    fit = fit_pool(KEY, [e], 0.95)
    assert math.isnan(fit.total.rate.value) and fit.strikes == 0 and fit.down_fraction == 1.0


def test_engine_whole_pool_probability() -> None:
    # Beta(2.4, 1.6), n = 4: E[f^4] = (2.4 3.4 4.4 5.4) / (4 5 6 7)
    assert engine_whole_pool([4], 0.6) == pytest.approx(2.4 * 3.4 * 4.4 * 5.4 / 840)
    assert engine_whole_pool([4, 16], 1.0) == 1.0 and math.isnan(engine_whole_pool([], 0.5))
