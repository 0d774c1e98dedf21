"""Gate thresholds: a policy file and/or flags (flags win). ``warn_*`` rules never fail."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path

from spotadvisor.bands import PUBLISHED_BOUNDS, parse_band
from spotadvisor.config.scenarios import ScenarioSpec, parse_scenarios
from spotadvisor.config.sections import Section
from spotadvisor.config.values import Where, as_availability, parse_duration, parse_fraction
from spotadvisor.config.yamlfile import read_yaml
from spotadvisor.errors import UsageError

# key -> (kind) ; every key also exists as warn_<key> except max_data_age
RULE_KEYS = (
    "max_monthly_cost",
    "max_increase",
    "max_breach_probability",
    "min_availability",
    "forbid_band",
    "must_survive",
)
POLICY_KEYS = (*RULE_KEYS, *(f"warn_{k}" for k in RULE_KEYS), "max_data_age")


@dataclass(frozen=True)
class Increase:
    """A limit on the increase of monthly cost: a share of the baseline or an amount."""

    pct: float | None = None
    usd: float | None = None

    def label(self) -> str:
        """How it reads: ``10%`` or ``$500``."""
        return f"{self.pct:g}%" if self.pct is not None else f"${self.usd:,.0f}"


@dataclass(frozen=True)
class Limits:
    """One level of limits (failing or warn-only); None means no such rule.

    Attributes
    ----------
    max_monthly_cost
        Highest expected cost per 730-hour month [USD].
    max_increase
        Highest increase of that cost over the baseline.
    max_breach_probability
        Highest probability that a month misses the SLA [0-1].
    min_availability
        Lowest mean availability [fraction, e.g. 0.999].
    forbid_band
        Interruption bands no spot pool may be in (normalised labels).
    must_survive
        Failure what-ifs under which the month's SLA must survive (``any`` expands to
        every zone, region or spot pool of the plan).
    """

    max_monthly_cost: float | None = None
    max_increase: Increase | None = None
    max_breach_probability: float | None = None
    min_availability: float | None = None
    forbid_band: tuple[str, ...] = ()
    must_survive: tuple[ScenarioSpec, ...] = ()


@dataclass(frozen=True)
class GatePolicy:
    """Failing limits, warn-only limits, and the oldest data accepted [h]."""

    fail: Limits = dataclasses.field(default_factory=Limits)
    warn: Limits = dataclasses.field(default_factory=Limits)
    max_data_age_hours: float | None = None


_MONEY = re.compile(r"^\$?\s*([0-9][0-9,]*(?:\.[0-9]+)?)\s*(?:usd)?$", re.IGNORECASE)


def parse_increase(value: object, where: Where) -> Increase:
    """``10%`` (share of the baseline) or ``500`` / ``$500`` (USD per month)."""
    text = str(value).strip()
    if text.endswith("%"):
        try:
            return Increase(pct=float(text[:-1].strip()))
        except ValueError:
            pass
    match = _MONEY.match(text)
    if match:
        return Increase(usd=float(match.group(1).replace(",", "")))
    raise where.error(
        f"{text!r} is not an increase",
        "write a percentage such as 10% or an amount in USD such as 500",
    )


def parse_bands(value: object, where: Where) -> tuple[str, ...]:
    """One band label or a list of them, normalised (``>20%``, ``15-20%``)."""
    items = value if isinstance(value, list) else [value]
    out = []
    for i, item in enumerate(items):
        band = parse_band(str(item))
        bounds = (band.lower_pct, band.upper_pct) if band is not None else None
        if band is None or bounds not in PUBLISHED_BOUNDS:
            raise (where.item(i) if isinstance(value, list) else where).error(
                f"{item!r} is not a published interruption band, so the rule could never fire",
                "write one of '<5%', '5-10%', '10-15%', '15-20%', '>20%' (quoted)",
            )
        # Azure's 0-5 and 20+ are AWS's <5% and >20%: one label per band
        out.append({(0.0, 5.0): "<5%", (20.0, 100.0): ">20%"}.get(bounds, band.label))
    return tuple(out)


def _money(value: object, where: Where) -> float:
    match = _MONEY.match(str(value).strip())
    if not match:
        raise where.error(f"{value!r} is not an amount", "write USD per month, e.g. 60000")
    return float(match.group(1).replace(",", ""))


def _limits(section: Section, prefix: str) -> Limits:
    return Limits(
        max_monthly_cost=section.maybe(f"{prefix}max_monthly_cost", _money),
        max_increase=section.maybe(f"{prefix}max_increase", parse_increase),
        max_breach_probability=section.maybe(
            f"{prefix}max_breach_probability",
            lambda v, w: parse_fraction(v, origin=w.origin, field=w.path, percent=False),
        ),
        min_availability=section.maybe(
            f"{prefix}min_availability",
            as_availability,
        ),
        forbid_band=section.optional(f"{prefix}forbid_band", parse_bands, ()),
        must_survive=section.optional(f"{prefix}must_survive", parse_scenarios, ()),
    )


def parse_policy(doc: object, origin: str) -> GatePolicy:
    """A policy mapping (from a file) into limits; unknown keys get "did you mean"."""
    section = Section.read(doc if doc is not None else {}, Where(origin), POLICY_KEYS)
    return GatePolicy(
        fail=_limits(section, ""),
        warn=_limits(section, "warn_"),
        max_data_age_hours=section.maybe(
            "max_data_age", lambda v, w: parse_duration(v, origin=w.origin, field=w.path)
        ),
    )


def load_policy(path: Path | None) -> GatePolicy:
    """The policy file's limits, or none when no file is given."""
    return parse_policy(read_yaml(path), str(path)) if path is not None else GatePolicy()


def with_flags(policy: GatePolicy, flags: dict[str, object]) -> GatePolicy:
    """The policy with command-line values in place of the file's (flags win).

    ``flags`` maps policy keys (``max_increase``, ``warn_max_increase``, ``max_data_age``)
    to the raw flag values; None values are ignored.
    """
    given = {k: _typed(v) for k, v in flags.items() if v is not None and v != ()}
    unknown = sorted(set(given) - set(POLICY_KEYS))
    if unknown:
        raise UsageError(f"unknown policy key {unknown[0]!r}", fix=f"use {', '.join(POLICY_KEYS)}")
    if not given:
        return policy
    from_flags = parse_policy(given, "command line")
    return GatePolicy(
        fail=_merge(policy.fail, from_flags.fail, given, ""),
        warn=_merge(policy.warn, from_flags.warn, given, "warn_"),
        max_data_age_hours=from_flags.max_data_age_hours
        if "max_data_age" in given
        else policy.max_data_age_hours,
    )


def _typed(value: object) -> object:
    """A flag's text as YAML would type it: ``0.05`` a number, ``10%`` text."""
    if isinstance(value, str):
        try:
            return float(value) if any(c in value for c in ".eE") else int(value)
        except ValueError:
            return value
    return value


def _merge(base: Limits, flags: Limits, given: dict[str, object], prefix: str) -> Limits:
    changes = {
        field.name: getattr(flags, field.name)
        for field in dataclasses.fields(Limits)
        if f"{prefix}{field.name}" in given
    }
    return dataclasses.replace(base, **changes)
