"""Apply a parameter file to a fleet file: what ``--params`` does to ``simulate`` and ``recommend``.

Precedence, from strongest to weakest:

1. A value the fleet file gives **on the pool itself** (``fleet[i].interruption``,
   ``fleet[i].risk.<key>``): written for that pool on purpose, so it is kept.
2. The parameter file's entry for the **same pool**: same cloud, region and instance,
   and the same zone; when no entry has the pool's zone (AWS fleet files name zone
   IDs, traces zone names), the region-level entry (no zone). Its ``monthly_rate``
   becomes the pool's exact hazard and its ``risk:`` keys the pool's risk.
3. The parameter file's ``risk:`` block: each key it gives replaces the fleet file's
   top-level ``risk:`` value (also ``risk: independent``); keys it leaves out keep
   the fleet file's value or the documented default.
4. The fleet file's ``risk:`` block and defaults; the published band for the hazard.

On-demand pools are never touched. Every application is reported as a note.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from spotadvisor.calibrate.params import FittedPool, Params, load_params
from spotadvisor.config import FleetFile, InterruptionOverride, PoolRisk, PoolSpec

_SHOWN = 3  # pools named in a note before "and N more"


def _match(params: Params, spec: PoolSpec) -> FittedPool | None:
    """The entry for ``spec``: its zone's if any, else its region's (zone-less) one."""
    same = [
        p
        for p in params.pools
        if (p.cloud, p.region, p.instance) == (spec.cloud, spec.region, spec.instance)
    ]
    zoned = [p for p in same if spec.zone is not None and p.zone == spec.zone]
    regional = [p for p in same if p.zone is None]
    found = zoned or regional
    return found[0] if found else None


def _merged_risk(own: PoolRisk | None, fitted: PoolRisk | None) -> PoolRisk | None:
    """Per key: the fleet file's own value, else the fitted one."""
    if fitted is None:
        return own
    if own is None:
        return fitted
    return PoolRisk(
        *(
            mine if mine is not None else theirs
            for mine, theirs in zip(
                dataclasses.astuple(own), dataclasses.astuple(fitted), strict=True
            )
        )
    )


@dataclass
class ParamsApplier:
    """Callable that applies ``params`` to a :class:`FleetFile`, collecting notes.

    Applying twice gives the same fleet and the same notes (``recommend`` applies it
    to the workload file, then to the pools it builds).
    """

    params: Params
    notes: list[str] = field(default_factory=list)

    def _note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def __call__(self, fleet: FleetFile) -> FleetFile:
        """``fleet`` with the parameter file applied (see the module docstring)."""
        risk = dataclasses.replace(fleet.risk, **self.params.risk)
        if self.params.risk:
            given = ", ".join(
                sorted(k.replace("stockout_hours", "stockout") for k in self.params.risk)
            )
            was = "risk: independent" if fleet.risk_independent else "the fleet's risk: block"
            self._note(f"{self.params.origin}: its risk: block replaces {was} for {given}")
        applied: list[str] = []
        kept: list[str] = []
        pools = []
        for spec in fleet.pools:
            fitted = _match(self.params, spec) if spec.market == "spot" else None
            if fitted is None:
                pools.append(spec)
                continue
            label = f"fleet[{spec.index}] ({fitted.label})"
            interruption = spec.interruption
            mine = InterruptionOverride(
                monthly_rate=fitted.monthly_rate, origin=f"parameter file {self.params.origin}"
            )
            if interruption is None and fitted.monthly_rate is not None:
                interruption = mine
            elif interruption is not None and interruption != mine:  # not our own earlier pass
                kept.append(f"fleet[{spec.index}]")
            pools.append(
                dataclasses.replace(
                    spec, interruption=interruption, risk=_merged_risk(spec.risk, fitted.risk)
                )
            )
            applied.append(label)
        if applied:
            shown = ", ".join(applied[:_SHOWN])
            more = f" and {len(applied) - _SHOWN} more" if len(applied) > _SHOWN else ""
            self._note(f"{self.params.origin}: fitted hazard and risk applied to {shown}{more}")
        if kept:
            self._note(
                f"{', '.join(kept)} keep their own interruption: (the fleet file wins over "
                f"{self.params.origin})"
            )
        return dataclasses.replace(
            fleet,
            risk=risk,
            risk_independent=fleet.risk_independent and not self.params.risk,
            pools=tuple(pools),
        )


def params_applier(path: Path) -> ParamsApplier:
    """Read and validate the parameter file at ``path`` (a UsageError when it is bad)."""
    return ParamsApplier(load_params(path))
