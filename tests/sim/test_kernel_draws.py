"""A trial's own draws in the compiled kernel: Poisson counts and price-path windows."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from spotadvisor.sim.kernel_draws import _window_mean, poisson
from spotadvisor.sim.kernel_inputs import kernel_inputs
from spotadvisor.sim.model import FleetModel, PoolModel


@numba.njit
def poisson_sample(rng: np.random.Generator, mean: float, n: int) -> np.ndarray:
    out = np.empty(n)
    for i in range(n):
        out[i] = poisson(rng, mean)
    return out


@pytest.mark.parametrize("mean", [0.0, 0.3, 7.0, 120.0])  # 120: drawn in pieces of 50
def test_poisson_counts_have_the_poisson_mean_and_variance(mean: float) -> None:
    n = 40_000
    sample = poisson_sample(np.random.default_rng(4), mean, n)
    assert np.all(sample == np.floor(sample)) and sample.min() >= 0
    # mean within 4 standard errors; variance equal to the mean within 10 %
    assert abs(sample.mean() - mean) <= 4 * np.sqrt(max(mean, 1e-12) / n) + 1e-12
    if mean > 0:
        assert sample.var() == pytest.approx(mean, rel=0.1)


def test_window_mean_wraps_around_the_path_like_the_reference() -> None:
    rng = np.random.default_rng(5)
    for _ in range(200):
        length = int(rng.integers(1, 40))
        path = tuple(float(x) for x in rng.uniform(0.2, 3.0, size=length))
        horizon = float(rng.integers(1, 200))
        pool = PoolModel("p", "aws", "r", "z", "spot", 1, 1.0, 2.0, price_path=path)
        inputs = kernel_inputs(FleetModel((pool,), 1, horizon, 0.1))
        window = inputs.fleet.price_window
        start = int(rng.integers(0, length))
        # the reference engine's rule: hourly values from `start`, wrapping around
        values = [path[(start + h) % length] for h in range(window)]
        assert _window_mean(inputs.pools, 0, start, window) == pytest.approx(np.mean(values))
