"""The parameter file ``calibrate`` writes and ``simulate --params`` reads.

The keys the engine reads use the names, units and meaning of fleet files
(docs/fleet-files.md): a ``risk:`` block (``bulk_reclaims_per_month``,
``bulk_fraction``, ``stockout`` as a duration, ``zone_correlation``,
``region_correlation``) and per-pool ``interruption: {monthly_rate: ...}`` and
``risk:``. Everything else (``risk_ci``, ``ci``, ``observed``, ``fit``, ``provenance``)
is information for people: intervals, tests and where the numbers came from.

:func:`params_document` builds the mapping (pure), :func:`dump_params` turns it into
YAML with a header, :func:`parse_params` validates a loaded document and
:func:`load_params` reads a file; errors name the file, the key path and a fix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from spotadvisor.calibrate.report import fit_block, pool_entries, provenance_block, risk_blocks
from spotadvisor.calibrate.run import Calibration
from spotadvisor.config.fleet import POOL_RISK_KEYS, RISK_KEYS
from spotadvisor.config.sections import Section
from spotadvisor.config.specs import CLOUDS, PoolRisk
from spotadvisor.config.values import Where, as_choice, as_fraction, as_hours, as_number, as_text
from spotadvisor.config.yamlfile import read_yaml
from spotadvisor.config.zones import check_zone

KIND = "calibrated-parameters"
FORMAT_VERSION = 1
TOP_KEYS = ("spotadvisor", "format", "risk", "risk_ci", "pools", "fit", "provenance")
POOL_KEYS = ("cloud", "region", "zone", "instance", "interruption", "risk", "ci", "observed")
_FIX_TOP = "write the file with 'spotadvisor calibrate TRACES... -o params.yaml'"


def params_document(calibration: Calibration, *, fitted_at: str, version: str) -> dict[str, Any]:
    """The parameter file as a mapping (key order is the file's order)."""
    risk, risk_ci = risk_blocks(calibration)
    return {
        "spotadvisor": KIND,
        "format": FORMAT_VERSION,
        "risk": risk,
        "risk_ci": risk_ci,
        "pools": pool_entries(calibration),
        "fit": fit_block(calibration),
        "provenance": provenance_block(calibration, fitted_at=fitted_at, version=version),
    }


def dump_params(document: dict[str, Any]) -> str:
    """YAML text of a parameter file, with a header saying what is fitted and what is an interval."""
    confidence = document.get("fit", {}).get("confidence", 0.95)
    header = (
        "# Engine parameters fitted by `spotadvisor calibrate` from spot traces.\n"
        "# Fitted values (point estimates) are the keys simulate --params and recommend --params\n"
        "# read: risk: and, per pool, interruption: and risk: (same keys and units as fleet\n"
        f"# files). Every risk_ci: / ci: entry is a {100 * confidence:g}% confidence interval\n"
        "# [low, high] of the value of the same name, for people: the engine never reads it.\n"
        "# observed:, fit: and provenance: record the counts, tests and sources.\n"
        "# docs/calibrate.md gives the method.\n"
    )
    return header + yaml.dump(
        document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100
    )


class _Dumper(yaml.SafeDumper):
    """Safe YAML with short lists of scalars (intervals) on one line: ``[0.1, 0.3]``."""


def _list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    flow = len(data) <= 4 and all(not isinstance(x, dict | list) for x in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(list, _list)


@dataclass(frozen=True)
class FittedPool:
    """A pool's fitted values, as read from a parameter file.

    Attributes
    ----------
    index
        Position in ``pools:`` (0-based).
    cloud, region, zone, instance
        Which pool; zone None for a region-level entry (zones pooled).
    monthly_rate
        Preemptions per instance-month [1/month], or None.
    risk
        Per-pool bulk-reclaim and stock-out values, or None.
    """

    index: int
    cloud: str
    region: str
    zone: str | None
    instance: str
    monthly_rate: float | None
    risk: PoolRisk | None

    @property
    def label(self) -> str:
        """``aws us-east-1 us-east-1f p3.2xlarge``."""
        return " ".join(p for p in (self.cloud, self.region, self.zone, self.instance) if p)


@dataclass(frozen=True)
class Params:
    """A validated parameter file.

    Attributes
    ----------
    origin
        The file.
    risk
        The ``risk:`` keys given, as fleet-file values (``stockout`` in hours under
        ``stockout_hours``).
    pools
        Per-pool entries.
    """

    origin: str
    risk: dict[str, float]
    pools: tuple[FittedPool, ...]


def load_params(path: Path) -> Params:
    """Read and validate a parameter file.

    Raises
    ------
    UsageError
        When the file is unreadable, not YAML, or breaks the format; the error names
        the file, the key path and a fix.
    """
    return parse_params(read_yaml(path), origin=str(path))


def parse_params(doc: object, *, origin: str) -> Params:
    """Validate a loaded parameter document (see :func:`load_params`)."""
    where = Where(origin)
    if isinstance(doc, dict) and "spotadvisor" not in doc and {"workload", "fleet"} & set(doc):
        raise where.error(
            "this is a fleet file, not a parameter file",
            "give it as the FLEET argument; --params takes the file 'spotadvisor calibrate -o' writes",
        )
    top = Section.read(doc, where, TOP_KEYS, fix=_FIX_TOP)
    if top.data.get("spotadvisor") != KIND:
        raise top.at("spotadvisor").error(
            f"not a calibrated parameter file (expected spotadvisor: {KIND})",
            "pass a file written by 'spotadvisor calibrate -o'; a fleet file goes as FLEET.yaml, "
            "not --params",
        )
    version = top.data.get("format")
    if version != FORMAT_VERSION:
        raise top.at("format").error(
            f"unsupported format {version!r}", f"write it again with this spotadvisor ({_FIX_TOP})"
        )
    empty: dict[str, float] = {}
    risk = top.optional("risk", _fleet_risk, empty)
    pools = top.optional("pools", _pools, tuple[FittedPool, ...]())
    if not risk and not pools:
        raise where.error("gives neither risk: nor pools:", _FIX_TOP)
    return Params(origin=origin, risk=risk, pools=pools)


def _number(value: object, where: Where) -> float:
    return as_number(value, where)


def _fraction(value: object, where: Where) -> float:
    return as_fraction(value, where, percent=False)


def _hours(value: object, where: Where) -> float:
    return as_hours(value, where)


_RISK_PARSERS: dict[str, tuple[str, Callable[[object, Where], float]]] = {
    "bulk_reclaims_per_month": ("bulk_reclaims_per_month", _number),
    "bulk_fraction": ("bulk_fraction", _fraction),
    "stockout": ("stockout_hours", _hours),
    "zone_correlation": ("zone_correlation", _fraction),
    "region_correlation": ("region_correlation", _fraction),
}


def _fleet_risk(value: object, where: Where) -> dict[str, float]:
    return _risk(value, where, RISK_KEYS)


def _risk(value: object, where: Where, keys: tuple[str, ...]) -> dict[str, float]:
    sec = Section.read(value, where, keys, fix=f"write risk: as a mapping with {', '.join(keys)}")
    out: dict[str, float] = {}
    for key in keys:
        if sec.has(key):
            name, parse = _RISK_PARSERS[key]
            out[name] = parse(sec.data[key], sec.at(key))
    return out


def _pools(value: object, where: Where) -> tuple[FittedPool, ...]:
    if not isinstance(value, list):
        raise where.error("expected a list of pools", "start each pool with '- '")
    return tuple(_pool(item, where.item(i), i) for i, item in enumerate(value))


def _pool(value: object, where: Where, index: int) -> FittedPool:
    sec = Section.read(value, where, POOL_KEYS, fix="write each pool as a mapping")
    cloud = sec.required(
        "cloud", lambda v, w: as_choice(v, w, CLOUDS), "add cloud: aws, gcp or azure"
    )
    region = sec.required("region", as_text, "add region:, e.g. us-east-1")
    zone = sec.maybe("zone", as_text)
    if zone is not None:
        check_zone(cloud, region, zone, sec.at("zone"))
    rate = None
    if sec.has("interruption"):
        inner = Section.read(
            sec.data["interruption"],
            sec.at("interruption"),
            ("monthly_rate",),
            fix="write interruption: {monthly_rate: N}",
        )
        rate = inner.required("monthly_rate", _number, "add monthly_rate: N")
    risk = None
    if sec.has("risk"):
        values = _risk(sec.data["risk"], sec.at("risk"), POOL_RISK_KEYS)
        risk = PoolRisk(**values)
    if rate is None and risk is None:
        raise where.error("gives neither interruption: nor risk:", "remove the pool, or add them")
    return FittedPool(
        index=index,
        cloud=cloud,
        region=region,
        zone=zone,
        instance=sec.required("instance", as_text, "add instance:, e.g. p3.2xlarge"),
        monthly_rate=rate,
        risk=risk,
    )
