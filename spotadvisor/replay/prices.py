"""The spot/on-demand price ratio a replay bills spot hours at, from the embedded snapshot.

Traces say when spot capacity exists, not what it cost. Unless ``--spot-price-ratio``
is given, a fleet's ratio is the median ``spot / on-demand`` of the snapshot's offers
(``spotadvisor/_snapshot`` or ``data/snapshot``, from the SkyPilot catalog) for the
fleet's instance type in its regions; else for that type in any region; else
:data:`FALLBACK_INSTANCE` in :data:`FALLBACK_REGIONS`, the type and regions of most
public GPU traces.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

FALLBACK_INSTANCE = "p3.2xlarge"
FALLBACK_REGIONS = ("us-east-1", "us-east-2", "us-west-2")


@dataclass(frozen=True)
class PriceRatio:
    """A spot/on-demand price ratio and where it came from.

    Attributes
    ----------
    ratio
        Spot price over on-demand price [-].
    basis
        One line for the user, e.g. ``snapshot median of 12 p3.2xlarge offers in ...``.
    """

    ratio: float
    basis: str


def snapshot_ratio(instance: str | None, regions: Iterable[str]) -> PriceRatio:
    """The ratio for an instance type and regions (module doc); reads the snapshot.

    Raises
    ------
    DataError
        When the snapshot is missing or holds no priced offer of the fallback type.
    """
    from spotadvisor.errors import DataError
    from spotadvisor.schema import OFFERS
    from spotadvisor.snapshot import read_snapshot_table

    offers = read_snapshot_table(OFFERS)
    spot = offers["price_spot_usd_per_hour"]
    demand = offers["price_on_demand_usd_per_hour"]
    priced = offers[(spot > 0) & (demand > 0)]
    wanted = sorted({r for r in regions if r})
    attempts = [
        (instance, wanted, f"in {', '.join(wanted)}"),
        (instance, [], "in any region"),
        (FALLBACK_INSTANCE, list(FALLBACK_REGIONS), f"in {', '.join(FALLBACK_REGIONS)}"),
    ]
    for name, where, text in attempts:
        if not name or (where is wanted and not wanted):
            continue
        rows = priced[priced["instance_type"] == name]
        if where:
            rows = rows[rows["region"].isin(where)]
        if rows.empty:
            continue
        ratios = rows["price_spot_usd_per_hour"] / rows["price_on_demand_usd_per_hour"]
        as_of = rows["as_of"].max()
        when = f", {as_of:%Y-%m-%d}" if as_of is not None else ""
        stand_in = f" (no snapshot price for {instance})" if name != instance else ""
        return PriceRatio(
            float(ratios.median()),
            f"snapshot median of {len(rows)} {name} offers {text}{when}{stand_in}",
        )
    raise DataError(
        f"the snapshot has no priced {FALLBACK_INSTANCE} offer",
        fix="pass --spot-price-ratio",
    )
