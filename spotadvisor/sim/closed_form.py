"""Exact results of the risk model, used to validate the simulation engines.

Every function here is pure (no randomness, no I/O) and is the closed form of one piece of
the model in :mod:`spotadvisor.sim.model`. Units follow the model: times in hours and
rates per hour unless a name says otherwise (``_s``: seconds), prices in USD per hour per
replica, probabilities as fractions in [0, 1]. docs/model.md has the same equations for
users.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from spotadvisor.bands import HOURS_PER_MONTH
from spotadvisor.sim.model import Distribution

__all__ = [
    "band_mean_hazard",
    "expected_lost_per_preemption",
    "hazard_to_monthly_probability",
    "k_of_n_availability",
    "k_of_n_availability_hetero",
    "mean_outage_hours",
    "monthly_probability_to_hazard",
    "on_demand_cost",
    "outage_rate_per_hour",
    "slot_availability",
]


def _check_probability(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0 or math.isnan(value):
        raise ValueError(f"{name} must be a probability in [0, 1], got {value!r}")


def _check_non_negative(name: str, value: float) -> None:
    if not value >= 0.0:  # also rejects NaN
        raise ValueError(f"{name} must be >= 0, got {value!r}")


def monthly_probability_to_hazard(p: float) -> float:
    """Constant hazard [1/h] whose survival over one month leaves ``1 - p``.

    An instance with a constant hazard ``lambda`` survives a month of ``T = 730 h`` with
    probability ``exp(-lambda * T)``. Setting the interruption probability
    ``1 - exp(-lambda * T)`` equal to ``p`` gives

    .. math:: \\lambda = -\\ln(1 - p) / 730.

    Parameters
    ----------
    p
        Probability of at least one interruption in a month [fraction, 0-1].

    Returns
    -------
    float
        Hazard [1/h]; ``inf`` for ``p == 1``.
    """
    _check_probability("p", p)
    if p == 1.0:
        return math.inf
    return -math.log1p(-p) / HOURS_PER_MONTH


def hazard_to_monthly_probability(hazard_per_hour: float) -> float:
    """Probability of at least one interruption in a month, ``1 - exp(-730 * lambda)``.

    The inverse of :func:`monthly_probability_to_hazard`.

    Parameters
    ----------
    hazard_per_hour
        Constant hazard [1/h].

    Returns
    -------
    float
        Monthly interruption probability [fraction, 0-1].
    """
    _check_non_negative("hazard_per_hour", hazard_per_hour)
    return -math.expm1(-hazard_per_hour * HOURS_PER_MONTH)


def _integral_of_hazard_in_probability(p: float) -> float:
    """``G(p) = (1 - p) ln(1 - p) + p``, an antiderivative of ``-ln(1 - p)`` on [0, 1].

    ``G'(p) = -ln(1 - p) - 1 + 1``; ``G(1) = 1`` by continuity (``x ln x -> 0``).
    """
    if p == 1.0:
        return 1.0
    return (1.0 - p) * math.log1p(-p) + p


def band_mean_hazard(p_low: float, p_high: float) -> float:
    """Mean hazard [1/h] of a band: ``E[lambda]`` for ``p ~ Uniform(p_low, p_high)``.

    With ``lambda(p) = -ln(1 - p) / 730`` and ``G(p) = (1 - p) ln(1 - p) + p`` (an
    antiderivative of ``-ln(1 - p)``: ``G'(p) = -ln(1 - p) - 1 + 1``),

    .. math::

        E[\\lambda] = \\frac{1}{730 (p_h - p_l)} \\int_{p_l}^{p_h} -\\ln(1 - p)\\,dp
                    = \\frac{G(p_h) - G(p_l)}{730 (p_h - p_l)}.

    The integrand has only a logarithmic singularity at ``p = 1`` and ``G(1) = 1`` (since
    ``x ln x -> 0``), so a band reaching 100 % has a finite mean hazard:
    ``E[lambda] = (1 - ln(1 - p_l)) / 730``, e.g. ``0.001676 /h`` for the ``>20%`` band
    (20-100 %). A degenerate band (``p_low == p_high``) is the point hazard
    ``-ln(1 - p) / 730``. Numerically, bands below 50 % use the power series of ``G``
    (no cancellation for small or narrow bands); above, very narrow bands use the
    midpoint (error ``O(width^2)``).

    Parameters
    ----------
    p_low, p_high
        Band bounds, monthly interruption probabilities [fraction, 0-1], ``p_low <= p_high``.

    Returns
    -------
    float
        Mean hazard over the band [1/h] (``inf`` only for ``p_low == p_high == 1``).
    """
    _check_probability("p_low", p_low)
    _check_probability("p_high", p_high)
    if p_low > p_high:
        raise ValueError(f"p_low ({p_low}) must not exceed p_high ({p_high})")
    if p_high <= 0.5:
        return _band_mean_series(p_low, p_high) / HOURS_PER_MONTH
    width = p_high - p_low
    if width <= 1e-7 * (1.0 - p_high):
        # Narrow relative to the distance from the singularity at 1 (or zero width): the
        # point value, exact to O(width^2), avoids the cancellation in G(p_h) - G(p_l).
        return monthly_probability_to_hazard(0.5 * (p_low + p_high))
    integral = _integral_of_hazard_in_probability(p_high) - _integral_of_hazard_in_probability(
        p_low
    )
    return integral / (width * HOURS_PER_MONTH)


def _band_mean_series(p_low: float, p_high: float) -> float:
    """``(G(b) - G(a)) / (b - a)`` for ``0 <= a <= b <= 1/2`` without cancellation.

    ``G(p) = sum_{j>=2} p^j / (j (j - 1))``, so the quotient is
    ``sum_{j>=2} h_j / (j (j - 1))`` with ``h_j = (b^j - a^j) / (b - a)
    = sum_{i<j} b^i a^(j-1-i)``, built by ``h_j = b h_{j-1} + a^(j-1)``: sums of
    non-negative terms only, exact for a degenerate band too (it gives ``-ln(1 - a)``).
    """
    total = 0.0
    h = 1.0  # h_1
    a_power = 1.0  # a^(j-1)
    for j in range(2, 200):
        a_power *= p_low
        h = p_high * h + a_power
        term = h / (j * (j - 1))
        total += term
        if term <= 1e-17 * total:
            break
    return total


def slot_availability(hazard_per_hour: float, mean_down_hours: float) -> float:
    """Long-run fraction of time one slot serves (alternating renewal process).

    A slot alternates between up periods ``U ~ Exp(lambda)`` (mean ``1/lambda`` [h]) and
    down periods ``D`` (cold start, and any wait; any distribution with mean ``E[D]``
    [h]). By the renewal-reward theorem the long-run up fraction is
    ``E[U] / (E[U] + E[D])``:

    .. math:: a = \\frac{1/\\lambda}{1/\\lambda + E[D]} = \\frac{1}{1 + \\lambda E[D]}.

    It is also the stationary probability that the slot is up at a random time.

    Parameters
    ----------
    hazard_per_hour
        Preemption hazard of the replica [1/h] (``instances_per_replica * lambda``).
    mean_down_hours
        Mean time from notice to ready [h].

    Returns
    -------
    float
        Availability of one slot [fraction, 0-1].
    """
    _check_non_negative("hazard_per_hour", hazard_per_hour)
    _check_non_negative("mean_down_hours", mean_down_hours)
    if math.isinf(hazard_per_hour):
        return 0.0 if mean_down_hours > 0 else 1.0
    return 1.0 / (1.0 + hazard_per_hour * mean_down_hours)


def _binomial_pmf(n: int, j: int, a: float) -> float:
    """``C(n, j) a^j (1 - a)^(n - j)``, in log space so large ``n`` does not overflow."""
    if a == 0.0:
        return 1.0 if j == 0 else 0.0
    if a == 1.0:
        return 1.0 if j == n else 0.0
    log_pmf = (
        math.lgamma(n + 1)
        - math.lgamma(j + 1)
        - math.lgamma(n - j + 1)
        + j * math.log(a)
        + (n - j) * math.log1p(-a)
    )
    return math.exp(log_pmf)


def k_of_n_availability(n: int, k: int, a: float) -> float:
    """Probability that at least ``k`` of ``n`` independent slots are up.

    With independent slots each up with stationary probability ``a``, the number up
    ``N ~ Binomial(n, a)`` at a random time, so the long-run fraction of time with at
    least ``k`` up is

    .. math:: A = P(N \\ge k) = \\sum_{j=k}^{n} \\binom{n}{j} a^j (1 - a)^{n - j}.

    Parameters
    ----------
    n
        Slots (>= 0).
    k
        Slots needed; ``k <= 0`` gives 1, ``k > n`` gives 0.
    a
        Availability of one slot [fraction, 0-1] (see :func:`slot_availability`).

    Returns
    -------
    float
        Availability of the k-out-of-n system [fraction, 0-1].
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    _check_probability("a", a)
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    # Sum the shorter tail for accuracy.
    if k > n // 2:
        total = math.fsum(_binomial_pmf(n, j, a) for j in range(k, n + 1))
    else:
        total = 1.0 - math.fsum(_binomial_pmf(n, j, a) for j in range(k))
    return min(1.0, max(0.0, total))


def _poisson_binomial_pmf(a: Sequence[float]) -> list[float]:
    """Distribution of the number up among independent slots with up probabilities ``a``.

    Dynamic programme over the slots: adding a slot with probability ``a_i`` maps
    ``P_new(j) = P(j) (1 - a_i) + P(j - 1) a_i``. O(n^2), numerically stable (only sums of
    non-negative terms).
    """
    pmf = [1.0]
    for value in a:
        _check_probability("a[i]", value)
        nxt = [0.0] * (len(pmf) + 1)
        for j, mass in enumerate(pmf):
            nxt[j] += mass * (1.0 - value)
            nxt[j + 1] += mass * value
        pmf = nxt
    return pmf


def k_of_n_availability_hetero(a: Sequence[float], k: int) -> float:
    """Probability that at least ``k`` of independent slots with availabilities ``a`` are up.

    The number up is Poisson-binomial; its distribution is built by the recursion
    ``P_i(j) = P_{i-1}(j) (1 - a_i) + P_{i-1}(j - 1) a_i`` and ``A = sum_{j >= k} P_n(j)``.

    Parameters
    ----------
    a
        Availability of each slot [fraction, 0-1].
    k
        Slots needed.

    Returns
    -------
    float
        Availability of the system [fraction, 0-1].
    """
    if k <= 0:
        return 1.0
    pmf = _poisson_binomial_pmf(a)
    if k >= len(pmf):
        return 0.0
    return min(1.0, max(0.0, math.fsum(pmf[k:])))


def outage_rate_per_hour(n: int, k: int, hazard_per_hour: float, mean_down_hours: float) -> float:
    """Rate [1/h] at which ``n`` independent slots go from ``>= k`` up to ``< k`` up.

    The number up can only drop by one at a time, and only through a failure of an up
    slot. With exponential up times a failure is memoryless: whatever the past, each of
    the ``j`` up slots fails at rate ``lambda``. So the long-run rate of down-crossings
    from ``k`` to ``k - 1`` is the time fraction spent at exactly ``k`` up times ``k
    lambda``:

    .. math:: \\nu = P(N = k)\\, k\\, \\lambda, \\qquad N \\sim \\mathrm{Binomial}(n, a),
              \\quad a = 1 / (1 + \\lambda E[D]).

    Only the mean of the down time enters (through ``a``), so this holds for any
    down-time distribution (fixed or exponential cold start alike).

    Parameters
    ----------
    n
        Slots.
    k
        Slots needed (1 <= k <= n; otherwise there are no outages, or a permanent one).
    hazard_per_hour
        Preemption hazard of one replica [1/h].
    mean_down_hours
        Mean notice-to-ready time [h].

    Returns
    -------
    float
        Outages per hour, long run.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if k <= 0 or k > n:
        return 0.0
    a = slot_availability(hazard_per_hour, mean_down_hours)
    return _binomial_pmf(n, k, a) * k * hazard_per_hour


def mean_outage_hours(n: int, k: int, hazard_per_hour: float, mean_down_hours: float) -> float:
    """Mean length [h] of an outage (a maximal interval with fewer than ``k`` up).

    Renewal-reward: the long-run fraction of time in outage equals the outage rate times
    the mean outage length, so

    .. math:: E[L] = \\frac{P(N < k)}{\\nu} = \\frac{1 - A}{P(N = k)\\, k\\, \\lambda}.

    Parameters
    ----------
    n, k, hazard_per_hour, mean_down_hours
        As in :func:`outage_rate_per_hour`.

    Returns
    -------
    float
        Mean outage length [h]; NaN when outages never happen.
    """
    rate = outage_rate_per_hour(n, k, hazard_per_hour, mean_down_hours)
    if rate <= 0.0:
        return math.nan
    a = slot_availability(hazard_per_hour, mean_down_hours)
    return (1.0 - k_of_n_availability(n, k, a)) / rate


def expected_lost_per_preemption(
    request_rate_per_s: float,
    request_duration_s: float,
    notice_s: float,
    distribution: Distribution = "exponential",
) -> float:
    """Mean number of requests lost at one preemption notice.

    Requests arrive as a Poisson process at rate ``r`` [1/s] and are served in parallel
    (M/G/inf) with service times ``D`` of mean ``d`` [s]. At the notice (time 0) routing
    stops; a request is lost if it is still running ``s = notice_s`` seconds later.

    In steady state the number in flight at time 0 is Poisson with mean ``r E[D]`` and,
    given that number, their residual service times are i.i.d. with the equilibrium
    (residual-life) density ``(1 - F_D(x)) / E[D]``. So one in-flight request is still
    running at ``s`` with probability

    .. math:: P(R > s) = \\frac{1}{E[D]} \\int_s^\\infty (1 - F_D(x))\\,dx
              = \\frac{E[(D - s)^+]}{E[D]},

    and by Poisson thinning the number lost is Poisson with mean

    .. math:: r\\,E[D]\\,P(R > s) = r\\,E[(D - s)^+].

    Exponential ``D``: ``E[(D - s)^+] = d e^{-s/d}``; fixed ``D = d``:
    ``E[(D - s)^+] = max(d - s, 0)``.

    Parameters
    ----------
    request_rate_per_s
        Request arrival rate per replica [1/s].
    request_duration_s
        Mean service time [s].
    notice_s
        Notice period [s].
    distribution
        ``exponential`` or ``fixed`` service times.

    Returns
    -------
    float
        Expected requests lost per notice [requests].
    """
    _check_non_negative("request_rate_per_s", request_rate_per_s)
    _check_non_negative("request_duration_s", request_duration_s)
    _check_non_negative("notice_s", notice_s)
    if request_rate_per_s == 0.0 or request_duration_s == 0.0:
        return 0.0
    if distribution == "exponential":
        excess = request_duration_s * math.exp(-notice_s / request_duration_s)
    elif distribution == "fixed":
        excess = max(request_duration_s - notice_s, 0.0)
    else:
        raise ValueError(f"unknown distribution {distribution!r}")
    return request_rate_per_s * excess


def on_demand_cost(
    counts: Sequence[int | float],
    prices_per_hour: Sequence[float],
    horizon_hours: float,
) -> float:
    """Cost [USD] of replicas running on demand for the whole horizon.

    On-demand replicas are never preempted, so each is billed for the horizon:
    ``sum_i count_i * price_i * horizon``.

    Parameters
    ----------
    counts
        Replicas per pool.
    prices_per_hour
        On-demand price of one replica per pool [USD/h].
    horizon_hours
        Horizon [h].

    Returns
    -------
    float
        Cost over the horizon [USD].
    """
    if len(counts) != len(prices_per_hour):
        raise ValueError("counts and prices_per_hour must have the same length")
    _check_non_negative("horizon_hours", horizon_hours)
    return math.fsum(c * p for c, p in zip(counts, prices_per_hour, strict=True)) * horizon_hours
