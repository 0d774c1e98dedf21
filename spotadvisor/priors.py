"""Interruption priors for clouds that publish no interruption bands.

GCP publishes no interruption frequency for Spot VMs. spotadvisor uses a prior fitted
from public preemption traces (``data/fit_gcp_prior.py`` reproduces the numbers from
../shared/data); every row and output that uses it names its source as a prior.

The numbers are literals on purpose: the package never reads the traces at run time.
tests/test_priors.py reruns the fit on the traces and checks that it gives exactly
these constants, so the two cannot drift apart.
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


GCP_SPOT_PRIOR = Prior(
    label="95-100%",
    lower_pct=95.0,
    upper_pct=100.0,
    source="prior:gcp-spot-traces-2023",
    basis=(
        "fitted from 79 preemptions in 521 instance-hours of public GCP Spot traces "
        "(2023, c3-highcpu-88 and A100, 9 series in 7 zones); see docs/model.md"
    ),
)
"""GCP Spot VMs: the pooled exact 90 % interval of the 2023 traces, rounded outward.

The fitted hazard is 0.152 /h (90 % CI 0.125-0.183), about 111 preemptions per
instance-month, so every p in its interval is 100 % to many digits; the band is the
5 % step below that. It is saturated: its mean hazard is 0.0055 /h (4.0 per
instance-month), well below the fitted rates. docs/model.md ("GCP interruption
prior") gives the method, the per-family results and the caveats.
"""

_PRIORS: dict[str, Prior] = {"gcp": GCP_SPOT_PRIOR}


def prior_for(cloud: str) -> Prior | None:
    """The interruption prior of a cloud, or None when it has none.

    Parameters
    ----------
    cloud
        Cloud name, ``aws``, ``gcp`` or ``azure`` (case and surrounding blanks are
        ignored).

    Returns
    -------
    Prior | None
        ``GCP_SPOT_PRIOR`` for GCP; None for clouds that publish bands (AWS) or for
        which no prior has been fitted (Azure).
    """
    return _PRIORS.get(cloud.strip().lower())
