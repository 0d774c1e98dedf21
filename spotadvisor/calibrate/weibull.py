"""Are spot lifetimes heavier-tailed than exponential? A censored Weibull fit.

The engine draws exponential lifetimes (a constant hazard). A Weibull lifetime with
shape ``k`` has hazard ``(k/η)(t/η)^(k-1)``: ``k = 1`` is the exponential, ``k < 1`` a
hazard that falls with age (many early preemptions, and long survivors: a heavier
tail than the exponential of the same mean), ``k > 1`` one that rises.

Maximum likelihood with right censoring: for lifetimes ``t_i`` with ``d`` ended by a
preemption, the scale profiles out as ``η^k = Σ t_i^k / d`` and the profile
log-likelihood of the shape is

    ℓ(k) = d ln k − d ln(Σ t_i^k / d) + (k − 1) Σ_ended ln t_i − d.

Lifetimes are not independent: a bulk reclaim ends several at the same tick. The
interval of ``k`` and the test of ``k = 1`` therefore use the cluster-robust (sandwich)
variance of the maximum-likelihood estimate, ``A⁻¹ B A⁻¹`` with ``A`` the observed
information of ``(k, η)`` and ``B`` the sum over clusters (lifetimes ending at the same
tick of the same series) of the outer products of their summed scores: a Wald interval
``k ± z se`` and a two-sided Wald test. The naive likelihood-ratio statistic
``2(ℓ(k̂) − ℓ(1))`` (which assumes independence) is reported alongside.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import optimize, stats

from spotadvisor.calibrate.stats import Interval

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

SHAPE_BOUNDS = (0.02, 50.0)  # search range of k; real lifetimes are well inside it


@dataclass(frozen=True)
class WeibullFit:
    """Weibull versus exponential on censored lifetimes.

    Attributes
    ----------
    lifetimes, ended
        Lifetimes used, and how many ended in a preemption (the rest are censored).
    shape
        Shape ``k`` with its cluster-robust Wald interval [-].
    scale_hours
        Scale ``η`` at the fitted shape [h].
    exponential_mean_hours
        Mean lifetime of the exponential fit, total time / ended [h].
    lr_statistic
        Naive likelihood-ratio statistic of ``k = 1`` (independent lifetimes).
    p_value
        Two-sided cluster-robust Wald p-value of ``k = 1``.
    heavier_tail
        True when the whole interval of ``k`` is below 1 (a falling hazard at the
        chosen confidence).
    """

    lifetimes: int
    ended: int
    shape: Interval
    scale_hours: float
    exponential_mean_hours: float
    lr_statistic: float
    p_value: float
    heavier_tail: bool


def _profile(k: float, t: FloatArray, log_t: FloatArray, ended: BoolArray, d: int) -> float:
    """ℓ(k) with the scale profiled out (constant terms kept)."""
    # scale t^k by max(t)^k: avoids overflow for large k, cancels in the ratio form below
    top = float(log_t.max())
    sum_k = float(np.exp(k * (log_t - top)).sum())
    return (
        d * math.log(k)
        - d * (math.log(sum_k / d) + k * top)
        + (k - 1.0) * float(log_t[ended].sum())
        - d
    )


def fit_weibull(
    lifetimes_hours: npt.ArrayLike,
    ended: npt.ArrayLike,
    confidence: float,
    clusters: npt.ArrayLike | None = None,
) -> WeibullFit | None:
    """Fit a Weibull to right-censored lifetimes; None with fewer than 3 ended lifetimes.

    Parameters
    ----------
    lifetimes_hours
        Lifetimes [h], > 0.
    ended
        True where the lifetime ended in a preemption, False where it was censored.
    confidence
        Coverage of the interval of the shape, and the level of the test.
    clusters
        Cluster id of each lifetime (same id: not independent); None: all independent.
    """
    t = np.asarray(lifetimes_hours, dtype=np.float64)
    e = np.asarray(ended, dtype=bool)
    groups = np.arange(t.size) if clusters is None else np.asarray(clusters)
    keep = t > 0
    t, e, groups = t[keep], e[keep], groups[keep]
    d = int(e.sum())
    if d < 3:
        return None
    log_t = np.log(t)

    def loss(log_k: float) -> float:
        return -_profile(math.exp(log_k), t, log_t, e, d)

    low, high = (math.log(b) for b in SHAPE_BOUNDS)
    best = optimize.minimize_scalar(loss, bounds=(low, high), method="bounded")
    k_hat = math.exp(float(best.x))
    top = -float(best.fun)
    scale = float((np.exp(k_hat * (log_t - log_t.max())).sum() / d) ** (1.0 / k_hat)) * math.exp(
        float(log_t.max())
    )
    se = _robust_se(k_hat, scale, t, e, groups)
    z = float(stats.norm.ppf(0.5 + confidence / 2.0))
    shape = Interval(k_hat, max(k_hat - z * se, 0.0), k_hat + z * se)
    lr = max(0.0, 2.0 * (top - _profile(1.0, t, log_t, e, d)))
    wald = (k_hat - 1.0) / se if se > 0 else math.inf
    return WeibullFit(
        lifetimes=int(t.size),
        ended=d,
        shape=shape,
        scale_hours=scale,
        exponential_mean_hours=float(t.sum()) / d,
        lr_statistic=lr,
        p_value=float(2.0 * stats.norm.sf(abs(wald))),
        heavier_tail=shape.high < 1.0,
    )


def _robust_se(
    k: float, eta: float, t: FloatArray, ended: BoolArray, groups: npt.NDArray[np.int64]
) -> float:
    """Cluster-robust standard error of the shape at the MLE ``(k, η)``."""
    delta = ended.astype(np.float64)
    z = np.log(t / eta)
    u = np.exp(k * z)
    score = np.stack([delta * (1.0 / k + z) - u * z, (k / eta) * (u - delta)], axis=1)
    h_kk = float(np.sum(-delta / k**2 - u * z**2))
    h_ke = float(np.sum(-delta / eta + (k * u * z) / eta + u / eta))
    h_ee = float(np.sum(-(k / eta**2) * (u - delta) - (k**2 / eta**2) * u))
    info = -np.array([[h_kk, h_ke], [h_ke, h_ee]])
    _, index = np.unique(groups, return_inverse=True)
    summed = np.zeros((int(index.max()) + 1, 2))
    np.add.at(summed, index, score)
    meat = summed.T @ summed
    try:
        bread = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        return math.nan
    return float(math.sqrt(max((bread @ meat @ bread)[0, 0], 0.0)))
