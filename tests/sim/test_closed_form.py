"""The closed forms against independent numeric computations.

Each closed form is checked against something computed another way: numerical
integration, brute-force enumeration of slot states, a continuous-time Markov chain, or a
small direct Monte Carlo with explicit event times.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate, stats

from spotadvisor.sim import closed_form as cf

HOURS_PER_MONTH = 730.0

# -- hazard and bands ------------------------------------------------------------------


@pytest.mark.parametrize("p", [0.0, 0.05, 0.1, 0.2, 0.5, 0.99])
def test_hazard_matches_the_monthly_survival(p: float) -> None:
    hazard = cf.monthly_probability_to_hazard(p)
    # Survival over 730 h at a constant hazard is exp(-730 lambda).
    assert math.exp(-hazard * HOURS_PER_MONTH) == pytest.approx(1.0 - p, rel=1e-12)
    assert cf.hazard_to_monthly_probability(hazard) == pytest.approx(p, rel=1e-12, abs=1e-15)


def test_hazard_edges_and_errors() -> None:
    assert cf.monthly_probability_to_hazard(1.0) == math.inf
    assert cf.hazard_to_monthly_probability(math.inf) == 1.0
    assert cf.hazard_to_monthly_probability(0.0) == 0.0
    with pytest.raises(ValueError):
        cf.monthly_probability_to_hazard(1.5)
    with pytest.raises(ValueError):
        cf.hazard_to_monthly_probability(-1.0)


@pytest.mark.parametrize(
    ("p_low", "p_high"),
    [(0.0, 0.05), (0.05, 0.10), (0.10, 0.15), (0.15, 0.20), (0.20, 1.0), (0.0, 1.0), (0.5, 0.9)],
)
def test_band_mean_hazard_matches_numerical_integration(p_low: float, p_high: float) -> None:
    def hazard(p: float) -> float:
        return -math.log1p(-p) / HOURS_PER_MONTH if p < 1.0 else 0.0  # integrable singularity

    integral, error = integrate.quad(hazard, p_low, p_high, limit=200)
    assert error < 1e-10
    assert cf.band_mean_hazard(p_low, p_high) == pytest.approx(
        integral / (p_high - p_low), rel=1e-9
    )


def test_band_mean_hazard_worked_example_and_edges() -> None:
    # The docs' worked example: band 5-10 %.
    mean = cf.band_mean_hazard(0.05, 0.10)
    assert mean == pytest.approx(1.0696e-4, rel=1e-4)
    assert 1.0 / mean / 24.0 == pytest.approx(389.5, rel=1e-3)  # days between preemptions
    # A band reaching 100 % has a finite mean: (1 - ln(1 - p_low)) / 730.
    assert cf.band_mean_hazard(0.2, 1.0) == pytest.approx(
        (1.0 - math.log(0.8)) / HOURS_PER_MONTH, rel=1e-12
    )
    assert cf.band_mean_hazard(0.0, 1.0) == pytest.approx(1.0 / HOURS_PER_MONTH, rel=1e-12)
    # Degenerate and very narrow bands are the point hazard.
    for p in (0.0, 1e-300, 0.07, 0.5, 0.9):
        assert cf.band_mean_hazard(p, p) == pytest.approx(
            cf.monthly_probability_to_hazard(p), rel=1e-14, abs=0.0
        )
    assert cf.band_mean_hazard(0.07, 0.07 + 1e-12) == pytest.approx(
        cf.monthly_probability_to_hazard(0.07), rel=1e-9
    )
    assert cf.band_mean_hazard(0.0, 0.0) == 0.0
    assert cf.band_mean_hazard(1.0, 1.0) == math.inf
    with pytest.raises(ValueError):
        cf.band_mean_hazard(0.2, 0.1)


@given(
    st.floats(min_value=0.0, max_value=1.0),
    st.floats(min_value=0.0, max_value=1.0),
)
def test_band_mean_hazard_lies_between_the_hazards_of_its_bounds(x: float, y: float) -> None:
    p_low, p_high = min(x, y), max(x, y)
    mean = cf.band_mean_hazard(p_low, p_high)
    low = cf.monthly_probability_to_hazard(p_low)
    high = cf.monthly_probability_to_hazard(p_high)
    assert low * (1 - 1e-9) <= mean <= high * (1 + 1e-9)


@given(st.floats(min_value=0.0, max_value=1.0 - 1e-12))
def test_hazard_round_trip(p: float) -> None:
    back = cf.hazard_to_monthly_probability(cf.monthly_probability_to_hazard(p))
    assert back == pytest.approx(p, rel=1e-9, abs=1e-15)


# -- one slot --------------------------------------------------------------------------


@pytest.mark.parametrize("down", ["fixed", "uniform", "exponential"])
def test_slot_availability_matches_an_alternating_renewal_simulation(down: str) -> None:
    rng = np.random.default_rng(11)
    hazard, mean_down, cycles = 0.2, 1.5, 200_000
    up = rng.exponential(1.0 / hazard, cycles)
    if down == "fixed":
        downs = np.full(cycles, mean_down)
    elif down == "uniform":
        downs = rng.uniform(0.0, 2.0 * mean_down, cycles)
    else:
        downs = rng.exponential(mean_down, cycles)
    # Ratio estimator sum(up) / sum(up + down) with a delta-method standard error.
    total = up + downs
    ratio = up.sum() / total.sum()
    stderr = np.sqrt(np.var(up - ratio * total, ddof=1) / cycles) / total.mean()
    expected = cf.slot_availability(hazard, mean_down)
    assert expected == pytest.approx(1.0 / (1.0 + 0.3))
    assert abs(ratio - expected) < 4.0 * stderr


def test_slot_availability_edges() -> None:
    assert cf.slot_availability(0.0, 5.0) == 1.0
    assert cf.slot_availability(0.3, 0.0) == 1.0
    assert cf.slot_availability(math.inf, 1.0) == 0.0


# -- k out of n ------------------------------------------------------------------------


def brute_force_k_of_n(a: list[float], k: int) -> float:
    """Sum the probability of every up/down state of the slots with at least k up."""
    total = 0.0
    for state in itertools.product((0, 1), repeat=len(a)):
        if sum(state) >= k:
            total += math.prod(p if s else 1.0 - p for p, s in zip(a, state, strict=True))
    return total


@pytest.mark.parametrize("n", [1, 2, 4, 6, 8])
@pytest.mark.parametrize("a", [0.0, 0.3, 0.909, 0.999, 1.0])
def test_k_of_n_matches_brute_force_enumeration(n: int, a: float) -> None:
    for k in range(-1, n + 2):
        expected = brute_force_k_of_n([a] * n, k)
        assert cf.k_of_n_availability(n, k, a) == pytest.approx(expected, abs=1e-12)


def test_k_of_n_hetero_matches_brute_force_enumeration() -> None:
    a = [0.9, 0.5, 0.99, 0.7, 0.8, 0.95]
    for k in range(-1, len(a) + 2):
        expected = brute_force_k_of_n(a, k)
        assert cf.k_of_n_availability_hetero(a, k) == pytest.approx(expected, abs=1e-12)
    assert cf.k_of_n_availability_hetero([], 0) == 1.0
    assert cf.k_of_n_availability_hetero([], 1) == 0.0


def test_k_of_n_large_n_matches_scipy() -> None:
    # Log-space terms: no overflow where C(n, j) exceeds the range of a double.
    n, a = 3000, 0.97
    for k in (2850, 2900, 2910, 2950):
        expected = float(stats.binom.sf(k - 1, n, a))
        assert cf.k_of_n_availability(n, k, a) == pytest.approx(expected, rel=1e-9, abs=1e-300)


@given(
    st.integers(min_value=0, max_value=40),
    st.integers(min_value=-1, max_value=42),
    st.floats(min_value=0.0, max_value=1.0),
)
def test_k_of_n_is_monotone_in_n_and_k(n: int, k: int, a: float) -> None:
    value = cf.k_of_n_availability(n, k, a)
    assert 0.0 <= value <= 1.0
    assert cf.k_of_n_availability(n + 1, k, a) >= value - 1e-12
    assert cf.k_of_n_availability(n, k + 1, a) <= value + 1e-12


@given(
    st.integers(min_value=0, max_value=40),
    st.integers(min_value=0, max_value=41),
    st.floats(min_value=0.0, max_value=1.0),
    st.floats(min_value=0.0, max_value=1.0),
)
def test_k_of_n_is_non_decreasing_in_a(n: int, k: int, x: float, y: float) -> None:
    low, high = min(x, y), max(x, y)
    assert cf.k_of_n_availability(n, k, high) >= cf.k_of_n_availability(n, k, low) - 1e-12


@given(
    st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=0, max_size=12),
    st.integers(min_value=0, max_value=13),
)
def test_hetero_with_equal_slots_is_binomial(a: list[float], k: int) -> None:
    if a:
        same = [a[0]] * len(a)
        assert cf.k_of_n_availability_hetero(same, k) == pytest.approx(
            cf.k_of_n_availability(len(a), k, a[0]), abs=1e-12
        )


# -- outages ---------------------------------------------------------------------------


def birth_death_chain(n: int, hazard: float, mean_down: float) -> np.ndarray:
    """Stationary law of the number up, exponential up and down times (a CTMC, solved)."""
    repair = 1.0 / mean_down
    generator = np.zeros((n + 1, n + 1))
    for j in range(n + 1):
        if j > 0:
            generator[j, j - 1] = j * hazard
        if j < n:
            generator[j, j + 1] = (n - j) * repair
        generator[j, j] = -generator[j].sum()
    # Solve pi Q = 0 with sum(pi) = 1.
    system = np.vstack([generator.T, np.ones(n + 1)])
    rhs = np.zeros(n + 2)
    rhs[-1] = 1.0
    pi, *_ = np.linalg.lstsq(system, rhs, rcond=None)
    return np.asarray(pi)


@pytest.mark.parametrize(("n", "k"), [(4, 3), (6, 4), (3, 3), (5, 1)])
def test_outage_rate_and_length_match_the_markov_chain(n: int, k: int) -> None:
    hazard, mean_down = 0.1, 1.0
    pi = birth_death_chain(n, hazard, mean_down)
    flow_down = pi[k] * k * hazard  # probability flow from k up to k - 1 up
    assert cf.k_of_n_availability(n, k, cf.slot_availability(hazard, mean_down)) == (
        pytest.approx(pi[k:].sum(), rel=1e-9)
    )
    assert cf.outage_rate_per_hour(n, k, hazard, mean_down) == pytest.approx(flow_down, rel=1e-9)
    assert cf.mean_outage_hours(n, k, hazard, mean_down) == pytest.approx(
        pi[:k].sum() / flow_down, rel=1e-9
    )


def count_up_process(
    n: int, k: int, hazard: float, down: np.ndarray, horizon: float, rng: np.random.Generator
) -> tuple[int, float]:
    """Outages (down-crossings of k) and time below k of n independent slots, all up at 0.

    ``down`` is a pool of down times to draw from; each slot alternates Exp(hazard) up
    and a drawn down time. Returns counts over [0, horizon].
    """
    times: list[np.ndarray] = []
    steps: list[np.ndarray] = []
    cycles = int(horizon * hazard * 1.5) + 50
    for _ in range(n):
        ups = rng.exponential(1.0 / hazard, cycles)
        downs = rng.choice(down, cycles)
        failures = np.cumsum(ups + downs) - downs  # end of each up period
        repairs = failures + downs
        times += [failures, repairs]
        steps += [np.full(cycles, -1), np.full(cycles, 1)]
    t = np.concatenate(times)
    d = np.concatenate(steps)
    order = np.argsort(t, kind="stable")
    t, d = t[order], d[order]
    keep = t < horizon
    t, d = t[keep], d[keep]
    level = n + np.cumsum(d)  # number up right after each transition
    before = np.concatenate(([n], level[:-1]))
    outages = int(np.sum((before >= k) & (level < k)))
    durations = np.diff(np.concatenate((t, [horizon])))
    below = float(durations[level < k].sum())
    return outages, below


@pytest.mark.parametrize("down_kind", ["fixed", "uniform"])
def test_outage_rate_holds_for_non_exponential_down_times(down_kind: str) -> None:
    rng = np.random.default_rng(5)
    n, k, hazard, mean_down, horizon, runs = 4, 3, 0.1, 1.0, 20_000.0, 30
    down = np.full(1, mean_down) if down_kind == "fixed" else rng.uniform(0.0, 2.0, 100_000)
    results = np.array(
        [count_up_process(n, k, hazard, down, horizon, rng) for _ in range(runs)], dtype=float
    )
    counts, below = results[:, 0], results[:, 1]
    rate = counts / horizon
    expected_rate = cf.outage_rate_per_hour(n, k, hazard, mean_down)
    assert abs(rate.mean() - expected_rate) < 4.0 * rate.std(ddof=1) / math.sqrt(runs)
    ratio = below.sum() / counts.sum()
    stderr = np.sqrt(np.var(below - ratio * counts, ddof=1) / runs) / counts.mean()
    assert abs(ratio - cf.mean_outage_hours(n, k, hazard, mean_down)) < 4.0 * stderr


def test_outage_edges() -> None:
    assert cf.outage_rate_per_hour(4, 0, 0.1, 1.0) == 0.0
    assert cf.outage_rate_per_hour(4, 5, 0.1, 1.0) == 0.0
    assert cf.outage_rate_per_hour(4, 3, 0.0, 1.0) == 0.0
    assert math.isnan(cf.mean_outage_hours(4, 3, 0.0, 1.0))


# -- lost requests ---------------------------------------------------------------------


def simulate_lost_requests(
    rate_per_s: float,
    mean_s: float,
    notice_s: float,
    distribution: str,
    notices: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Requests lost at each of ``notices`` notices, from explicit arrivals and services.

    Arrivals are Poisson over a look-back window before the notice (time 0), long enough
    that no earlier request can still be running at the end of the notice; a request is
    lost when arrival + service > notice_s (it is then also in flight at 0).
    """
    window = mean_s + 1.0 if distribution == "fixed" else notice_s + 30.0 * mean_s
    per_notice = rng.poisson(rate_per_s * window, notices)
    total = int(per_notice.sum())
    arrivals = -rng.uniform(0.0, window, total)
    fixed = distribution == "fixed"
    service = np.full(total, mean_s) if fixed else rng.exponential(mean_s, total)
    lost = arrivals + service > notice_s
    owner = np.repeat(np.arange(notices), per_notice)
    return np.bincount(owner, weights=lost.astype(float), minlength=notices)


@pytest.mark.parametrize("distribution", ["exponential", "fixed"])
@pytest.mark.parametrize("notice_s", [0.0, 30.0, 120.0])
def test_lost_requests_match_a_direct_simulation(distribution: str, notice_s: float) -> None:
    rng = np.random.default_rng(int(notice_s) + (7 if distribution == "fixed" else 0))
    rate, mean_s, notices = 0.25, 20.0, 20_000
    lost = simulate_lost_requests(rate, mean_s, notice_s, distribution, notices, rng)
    expected = cf.expected_lost_per_preemption(rate, mean_s, notice_s, distribution)  # type: ignore[arg-type]
    if expected == 0.0:
        assert lost.sum() == 0.0  # fixed 20 s requests all finish within a 30 s notice
        return
    stderr = lost.std(ddof=1) / math.sqrt(notices)
    assert abs(lost.mean() - expected) < 4.0 * stderr
    # And the count is Poisson: variance equals the mean (within sampling error).
    assert lost.var(ddof=1) == pytest.approx(expected, rel=0.1)


def test_lost_requests_fixed_longer_than_the_notice() -> None:
    rng = np.random.default_rng(3)
    lost = simulate_lost_requests(0.2, 200.0, 120.0, "fixed", 20_000, rng)
    expected = cf.expected_lost_per_preemption(0.2, 200.0, 120.0, "fixed")
    assert expected == pytest.approx(16.0)
    assert abs(lost.mean() - expected) < 4.0 * lost.std(ddof=1) / math.sqrt(lost.size)


def test_lost_requests_closed_forms() -> None:
    assert cf.expected_lost_per_preemption(2.0, 20.0, 120.0, "exponential") == pytest.approx(
        2.0 * 20.0 * math.exp(-6.0)
    )
    assert cf.expected_lost_per_preemption(2.0, 20.0, 0.0, "fixed") == pytest.approx(40.0)
    assert cf.expected_lost_per_preemption(0.0, 20.0, 0.0, "fixed") == 0.0
    with pytest.raises(ValueError):
        cf.expected_lost_per_preemption(1.0, 20.0, 0.0, "lognormal")  # type: ignore[arg-type]


# -- cost ------------------------------------------------------------------------------


def test_on_demand_cost() -> None:
    assert cf.on_demand_cost([2, 3], [10.0, 4.5], 720.0) == pytest.approx(
        2 * 10.0 * 720 + 3 * 4.5 * 720
    )
    assert cf.on_demand_cost([], [], 720.0) == 0.0
    with pytest.raises(ValueError):
        cf.on_demand_cost([1], [1.0, 2.0], 1.0)
