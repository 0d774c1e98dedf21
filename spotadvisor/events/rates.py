"""Measured rates from the store, and their use by ``recommend --rates measured``.

:func:`pool_stats` reads the window's events (merged across sources, enriched from
billing), the exposure (billing spot hours, or a fleet file) and the published bands,
and returns :func:`spotadvisor.events.stats.measured_rates`. :class:`MeasuredRates`
turns pools with enough exposure into exact hazards for the engine.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from spotadvisor.events.parse import FleetEvent
from spotadvisor.events.stats import (
    UNKNOWN,
    engine_rate,
    exposure_from_billing,
    exposure_from_pools,
    latest_bands,
    measured_rates,
)
from spotadvisor.events.store import fleet_events

if TYPE_CHECKING:
    from spotadvisor.config import FleetFile
    from spotadvisor.store import Store

DEFAULT_MIN_EXPOSURE = 1.0  # instance-months
_SHOWN = 4


def pool_stats(
    store: Store,
    start: datetime,
    end: datetime,
    *,
    by_zone: bool = False,
    fleet: Path | None = None,
    extra: list[FleetEvent] | None = None,
    notes: list[str] | None = None,
) -> pd.DataFrame:
    """Measured rates per pool over ``[start, end)`` (see :mod:`spotadvisor.events.stats`).

    Exposure comes from ``fleet`` (a fleet file's spot pools running all window) when
    given, else from the store's billing lines. ``end`` should not be in the future
    (:func:`spotadvisor.events.run.clip_to_now`): a fleet file's pools would be counted
    as exposed there. Remarks for the user are appended to ``notes``.
    """
    from spotadvisor.schema import BILLING, INTERRUPTION_HISTORY
    from spotadvisor.sources import load_table

    events = fleet_events(store, start, end, extra=extra or [])
    if fleet is not None:
        from spotadvisor.config import load_fleet

        spec = load_fleet(fleet)
        pools = [
            (p.cloud, p.region, p.zone, p.instance, p.count)
            for p in spec.pools
            if p.market == "spot"
        ]
        exposure = exposure_from_pools(
            pools, start, end, by_zone=by_zone, source=f"fleet {fleet.name}"
        )
    else:
        exposure = exposure_from_billing(store.read(BILLING), start, end, by_zone=by_zone)
    bands = latest_bands(load_table(store, INTERRUPTION_HISTORY).frame)
    return measured_rates(events, exposure, bands, by_zone=by_zone, notes=notes)


@dataclass
class MeasuredRates:
    """Callable that gives spot pools with enough exposure their measured hazard.

    Precedence: a pool's own ``interruption:`` (fleet file or ``--params``) is kept;
    then the measured rate where the pool (cloud, region, instance type) has at least
    ``min_exposure`` instance-months; else the published band, as without it.

    Attributes
    ----------
    stats
        :func:`pool_stats` by region (``by_zone=False``).
    min_exposure
        Instance-months a pool needs before its measured rate is trusted.
    notes
        What was applied, for the user.
    """

    stats: pd.DataFrame
    min_exposure: float = DEFAULT_MIN_EXPOSURE
    notes: list[str] = field(default_factory=list)
    used: dict[tuple[str, str, str], float] = field(default_factory=dict)

    def rates(self) -> dict[tuple[str, str, str], tuple[float, int, float]]:
        """(cloud, region, type) -> (engine rate [1/instance-month], events, exposure)."""
        out = {}
        for r in self.stats.to_dict("records"):
            if UNKNOWN in (r["instance_type"], r["region"]):
                continue
            months = float(r["exposure_instance_months"])
            if months >= self.min_exposure:
                key = (str(r["cloud"]), str(r["region"]), str(r["instance_type"]))
                n = int(r["interruptions"])
                out[key] = (engine_rate(n, months), n, months)
        return out

    def __call__(self, fleet: FleetFile) -> FleetFile:
        """``fleet`` with measured hazards on the spot pools that have enough exposure."""
        from spotadvisor.config import InterruptionOverride

        known = self.rates()
        pools = []
        for spec in fleet.pools:
            found = known.get((spec.cloud, spec.region, spec.instance))
            if spec.market != "spot" or spec.interruption is not None or found is None:
                pools.append(spec)
                continue
            rate, n, months = found
            self.used[(spec.cloud, spec.region, spec.instance)] = rate
            origin = f"measured: {n} interruption(s) in {months:.2f} instance-months"
            measured = InterruptionOverride(monthly_rate=rate, origin=origin)
            pools.append(dataclasses.replace(spec, interruption=measured))
        self._summarise(known)
        return dataclasses.replace(fleet, pools=tuple(pools))

    def _summarise(self, known: dict[tuple[str, str, str], tuple[float, int, float]]) -> None:
        self.notes.clear()
        if not self.used:
            self.notes.append(
                f"--rates measured: no candidate pool has {self.min_exposure:g} instance-months "
                "of measured exposure; every pool uses its published band"
            )
            return
        shown = [
            f"{c} {r} {t} {rate:.3f}/instance-month ({known[(c, r, t)][1]} in "
            f"{known[(c, r, t)][2]:.1f} instance-months)"
            for (c, r, t), rate in sorted(self.used.items())
        ]
        more = f" and {len(shown) - _SHOWN} more" if len(shown) > _SHOWN else ""
        self.notes.append(
            f"--rates measured: measured rates used for {len(shown)} pool(s): "
            f"{'; '.join(shown[:_SHOWN])}{more}; the other pools use their published band"
        )
