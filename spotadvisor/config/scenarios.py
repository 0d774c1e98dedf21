"""Failure what-ifs as users write them: ``zone-outage:use1-az4@3d+6h`` and friends.

Forms (``T`` from the start of the horizon, written ``3d`` or ``T+3d``; ``DURATION``
such as ``6h``):

- ``zone-outage:ZONE@T+DURATION``
- ``region-loss:REGION@T+DURATION``
- ``price-spike:POOL×FACTOR@T+DURATION`` (``x`` or ``*`` for ``×``)
- ``capacity-drought:POOL@T+DURATION``
- ``mass-preemption:POOL:FRACTION@T``

``@...`` may be left out: the event then starts in the middle of the horizon and lasts
:data:`DEFAULT_DURATION_HOURS` (``--must-survive zone-outage:any``).

``POOL`` is ``fleet[N]``, a zone, a region or an instance type (every spot pool that
matches). ``any`` in place of a zone, region or pool expands to one scenario per zone,
region or spot pool of the fleet (:func:`expand`). Parsing is pure; :func:`to_events`
maps a scenario onto the pools of a resolved fleet.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from spotadvisor.config.values import Where, as_fraction, as_hours, as_number, describe
from spotadvisor.errors import COMMAND_LINE, did_you_mean
from spotadvisor.sim.model import PoolModel
from spotadvisor.sim.scenarios import ScenarioEvent

Kind = Literal["zone-outage", "region-loss", "price-spike", "capacity-drought", "mass-preemption"]
KINDS: tuple[Kind, ...] = (
    "zone-outage",
    "region-loss",
    "price-spike",
    "capacity-drought",
    "mass-preemption",
)
EXAMPLES = {
    "zone-outage": "zone-outage:use1-az4@3d+6h",
    "region-loss": "region-loss:us-east-1@T+10d+2h",
    "price-spike": "price-spike:use1-az4x3@2d+12h",
    "capacity-drought": "capacity-drought:fleet[0]@5d+4h",
    "mass-preemption": "mass-preemption:use1-az4:0.5@3d",
}
DEFAULT_DURATION_HOURS = 6.0
_SPIKE = re.compile(r"^(.+?)\s*[×x*]\s*(\d+(?:\.\d*)?|\.\d+)$")
_FLEET_INDEX = re.compile(r"^fleet\[(\d+)\]$")


@dataclass(frozen=True)
class ScenarioSpec:
    """One parsed what-if.

    Attributes
    ----------
    kind
        What happens.
    target
        Zone, region or pool as written (``any`` before expansion).
    at_hours, duration_hours
        Start from the start of the horizon and length [h] (0 for mass preemption);
        ``at_hours`` None means the middle of the horizon.
    factor
        Price multiplier (price spike).
    fraction
        Share of serving replicas preempted (mass preemption) [0-1].
    text
        The scenario as written, for outputs.
    where
        Where it was written (a fleet file's ``scenarios[N]`` or ``--scenario``), for
        errors found when it meets the fleet.
    """

    kind: Kind
    target: str
    at_hours: float | None
    duration_hours: float = 0.0
    factor: float = 1.0
    fraction: float = 1.0
    text: str = ""
    where: Where = field(default=Where(COMMAND_LINE, "--scenario"), compare=False)

    @property
    def label(self) -> str:
        """How it reads in tables."""
        return self.text


def parse_scenario(text: object, where: Where) -> ScenarioSpec:
    """Parse one scenario; errors name the place and give an example of the form."""
    if not isinstance(text, str):
        raise where.error(
            f"expected a scenario such as {EXAMPLES['zone-outage']}, got {describe(text)}",
            "write each scenario as text: KIND:WHAT@T+DURATION",
        )
    raw = text.strip()
    kind_text, sep, rest = raw.partition(":")
    if kind_text not in KINDS:
        hint = did_you_mean(kind_text, KINDS)
        raise where.error(
            f"unknown scenario kind {kind_text!r}", hint or f"use one of {', '.join(KINDS)}"
        )
    kind: Kind = kind_text
    example = EXAMPLES[kind]
    what, at_sign, when = rest.rpartition("@")
    if not at_sign:
        what, when = rest, ""
    if not sep or not what.strip() or (at_sign and not when.strip()):
        raise where.error(f"{raw!r} is not a {kind} scenario", f"write it like {example}")
    at: float | None = None
    duration = DEFAULT_DURATION_HOURS if kind != "mass-preemption" else 0.0
    if at_sign:
        at, duration = _when(when.strip(), kind, where, example)
    spec = ScenarioSpec(kind, what.strip(), at, duration, text=raw, where=where)
    if kind == "price-spike":
        match = _SPIKE.match(spec.target)
        if not match:
            raise where.error(f"{raw!r} gives no price factor", f"write it like {example}")
        factor = as_number(float(match.group(2)), where, minimum=0.0)
        if factor <= 0:
            raise where.error("the price factor must be > 0", f"write it like {example}")
        return replace(spec, target=match.group(1).strip(), factor=factor)
    if kind == "mass-preemption":
        pool, colon, share = spec.target.rpartition(":")
        if not colon or not pool:
            raise where.error(f"{raw!r} gives no fraction", f"write it like {example}")
        try:
            number: object = float(share) if not share.strip().endswith("%") else share.strip()
        except ValueError:
            number = share
        fraction = as_fraction(number, where, percent=False)
        return replace(spec, target=pool.strip(), fraction=fraction)
    return spec


def _when(text: str, kind: Kind, where: Where, example: str) -> tuple[float, float]:
    body = text[2:] if text.upper().startswith("T+") else text
    parts = [p.strip() for p in body.split("+")]
    wants_duration = kind != "mass-preemption"
    if len(parts) != (2 if wants_duration else 1) or not all(parts):
        form = "T+DURATION (a start and a length)" if wants_duration else "T (a start only)"
        raise where.error(f"{text!r} is not {form}", f"write it like {example}")
    at = 0.0 if parts[0] in ("0", "T") else as_hours(parts[0], where)
    duration = as_hours(parts[1], where, positive=True) if wants_duration else 0.0
    return at, duration


def parse_scenarios(value: object, where: Where) -> tuple[ScenarioSpec, ...]:
    """The ``scenarios:`` list of a fleet file."""
    items = value if isinstance(value, list) else [value]
    return tuple(
        parse_scenario(item, where.item(i) if isinstance(value, list) else where)
        for i, item in enumerate(items)
    )


def expand(specs: Sequence[ScenarioSpec], pools: Sequence[PoolModel]) -> list[ScenarioSpec]:
    """Scenarios with ``any`` replaced by one per zone, region or spot pool of the fleet.

    A spot-only what-if (price spike, drought, mass preemption) on a fleet without spot
    pools expands to nothing: such a fleet survives it (:func:`not_applicable` says so).

    Raises
    ------
    UsageError
        For ``zone-outage:any`` when no pool names a zone: the rule could not be tested,
        and passing it silently would let a gate pass on nothing.
    """
    out: list[ScenarioSpec] = []
    for spec in specs:
        if spec.target != "any":
            out.append(spec)
            continue
        if spec.kind == "zone-outage":
            targets = _unique(p.zone for p in pools if p.zone)
            if not targets:
                raise spec.where.error(
                    f"{spec.text}: no pool of the fleet names a zone, so no zone can be lost",
                    "give the pools a zone (e.g. zone: use1-az4), or test region-loss:any",
                )
        elif spec.kind == "region-loss":
            targets = _unique(p.region for p in pools)
        else:
            targets = [f"fleet[{i}]" for i, p in enumerate(pools) if p.market == "spot"]
        for target in targets:
            out.append(replace(spec, target=target, text=spec.text.replace("any", target, 1)))
    return out


def not_applicable(specs: Sequence[ScenarioSpec], pools: Sequence[PoolModel]) -> list[str]:
    """Notes for spot-only ``any`` what-ifs that a fleet without spot pools survives as is."""
    if any(p.market == "spot" for p in pools):
        return []
    return [
        f"{spec.text}: the fleet has no spot pool, so it survives this by construction"
        for spec in specs
        if spec.target == "any" and spec.kind not in ("zone-outage", "region-loss")
    ]


def _unique(values: object) -> list[str]:
    seen: list[str] = []
    for value in values:  # type: ignore[attr-defined]
        if value not in seen:
            seen.append(value)
    return seen


def to_events(
    spec: ScenarioSpec, pools: Sequence[PoolModel], *, horizon_hours: float, peak_region: str
) -> tuple[ScenarioEvent, ...]:
    """The engine's event for a scenario on a fleet's pools.

    Raises
    ------
    UsageError
        When the zone, region or pool matches nothing in the fleet, or the scenario
        starts after the horizon.
    """
    if spec.at_hours is None:
        spec = replace(spec, at_hours=horizon_hours / 2)
    assert spec.at_hours is not None
    if spec.at_hours >= horizon_hours:
        raise spec.where.error(
            f"{spec.text} starts at {spec.at_hours:g} h, after the {horizon_hours:g} h horizon",
            "start it earlier or use a longer --horizon",
        )
    if spec.kind == "zone-outage":
        hit = [i for i, p in enumerate(pools) if p.zone == spec.target]
        _found(hit, spec, [p.zone for p in pools if p.zone], "zone")
        return (
            ScenarioEvent(
                "outage", tuple(hit), spec.at_hours, spec.duration_hours, label=spec.text
            ),
        )
    if spec.kind == "region-loss":
        hit = [i for i, p in enumerate(pools) if p.region == spec.target]
        _found(hit, spec, [p.region for p in pools], "region")
        peak = spec.target == peak_region
        return (
            ScenarioEvent(
                "outage", tuple(hit), spec.at_hours, spec.duration_hours, peak=peak, label=spec.text
            ),
        )
    hit = _spot_pools(spec, pools)
    kind = {"price-spike": "spike", "capacity-drought": "drought", "mass-preemption": "preempt"}[
        spec.kind
    ]
    return (
        ScenarioEvent(
            kind,  # type: ignore[arg-type]
            tuple(hit),
            spec.at_hours,
            spec.duration_hours,
            factor=spec.factor,
            fraction=spec.fraction,
            label=spec.text,
        ),
    )


def _spot_pools(spec: ScenarioSpec, pools: Sequence[PoolModel]) -> list[int]:
    index = _FLEET_INDEX.match(spec.target)
    if index:
        i = int(index.group(1))
        hit = [i] if i < len(pools) and pools[i].market == "spot" else []
    else:
        hit = [
            i
            for i, p in enumerate(pools)
            if p.market == "spot"
            and spec.target in (p.zone, p.region, p.name.split()[-2] if p.name else None)
        ]
    names = [f"fleet[{i}]" for i, p in enumerate(pools) if p.market == "spot"]
    names += [p.zone for p in pools if p.market == "spot" and p.zone]
    _found(hit, spec, names, "spot pool")
    return hit


def _found(hit: list[int], spec: ScenarioSpec, names: list[str], what: str) -> None:
    if hit:
        return
    choices = _unique(names)
    hint = did_you_mean(spec.target, choices)
    if hint or choices:
        fix = hint or f"use one of {', '.join(choices)}"
    elif what == "zone":
        fix = "no pool of the fleet names a zone: give the pools a zone, or test a region-loss"
    else:
        fix = "the fleet has no spot pool: spot what-ifs need one"
    raise spec.where.error(f"{spec.text}: no {what} {spec.target!r} in the fleet", fix)
