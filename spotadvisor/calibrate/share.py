"""How often a strike takes the whole pool: the traces against the engine's Beta share.

The engine draws the share a strike takes from ``Beta(κ f̄, κ (1 − f̄))`` with ``κ = 4``
(``spotadvisor.sim.kernel_strikes``), so with ``n`` alive a strike takes all ``n`` with
probability ``E[f^n]``, the beta-binomial probability of ``n`` out of ``n``. Comparing
it with the share of strikes that emptied the pool in the traces shows whether the
fixed concentration fits (real reclaims are often all-or-nothing).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy import stats

CONCENTRATION = 4.0  # the engine's κ (spotadvisor.sim.kernel_strikes.BETA_CONCENTRATION)


def engine_whole_pool(alive: npt.ArrayLike, mean: float, kappa: float = CONCENTRATION) -> float:
    """Mean over strikes of P(the engine's strike takes all ``alive`` units) [0-1].

    NaN without strikes; 1 when ``mean`` is 1 (the engine then takes everything).
    """
    n = np.asarray(alive, dtype=np.int64)
    if n.size == 0 or not math.isfinite(mean):
        return math.nan
    if mean >= 1.0:
        return 1.0
    if mean <= 0.0:
        return 0.0
    p = stats.betabinom.pmf(n, n, kappa * mean, kappa * (1.0 - mean))
    return float(np.mean(p))
