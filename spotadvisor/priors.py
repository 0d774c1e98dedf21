"""Interruption priors for clouds that publish no interruption bands.

GCP publishes no interruption frequency for Spot VMs. spotadvisor uses a prior fitted
from public preemption traces (``data/fit_gcp_prior.py`` reproduces the numbers from
../shared/data); every row and output that uses it names its source as a prior.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Prior:
    """A band of monthly interruption probabilities assumed for a cloud.

    Attributes
    ----------
    label
        Band label, e.g. ``10-25%``.
    lower_pct, upper_pct
        Bounds of the monthly interruption probability [%].
    source
        Provenance name; always starts with ``prior:`` so outputs can say so.
    basis
        One line on how it was fitted.
    """

    label: str
    lower_pct: float
    upper_pct: float
    source: str
    basis: str


PRIOR_PREFIX = "prior:"


def is_prior(source: str | None) -> bool:
    """True when a band's source is a prior rather than a published band."""
    return bool(source) and str(source).startswith(PRIOR_PREFIX)
