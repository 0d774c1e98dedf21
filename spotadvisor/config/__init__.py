"""Files a user writes (SPEC section 3): fleet YAML into frozen dataclasses.

:func:`load_fleet` reads a file; everything else is pure. Times are in hours (request
durations in seconds), fractions in 0-1. Every problem is a
:class:`~spotadvisor.errors.UsageError` that names the file, the key path and the fix.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from spotadvisor.config.fleet import parse_fleet
from spotadvisor.config.load import read_series
from spotadvisor.config.specs import (
    DEFAULT_RISK,
    FleetFile,
    InterruptionOverride,
    Policy,
    PoolRisk,
    PoolSpec,
    RiskSettings,
    Sla,
    Workload,
)
from spotadvisor.config.values import UNIT_HOURS, parse_duration, parse_fraction
from spotadvisor.config.yamlfile import read_yaml


def load_fleet(path: Path) -> FleetFile:
    """Read and validate a fleet file.

    Parameters
    ----------
    path
        A YAML file as described in SPEC section 3.

    Returns
    -------
    FleetFile
        The parsed file, ``origin`` set to ``str(path)``.

    Raises
    ------
    UsageError
        When the file is unreadable, is not valid YAML (the message gives the line) or
        breaks the fleet-file contract (the error gives the key path and the fix).
    """
    fleet = parse_fleet(read_yaml(path), origin=str(path))
    load = fleet.workload.load
    if load is None or load.csv is None:
        return fleet
    load = read_series(load, str(path))
    workload = dataclasses.replace(fleet.workload, load=load, replicas=load.peak() or 1)
    return dataclasses.replace(fleet, workload=workload)


__all__ = [
    "DEFAULT_RISK",
    "UNIT_HOURS",
    "FleetFile",
    "InterruptionOverride",
    "Policy",
    "PoolRisk",
    "PoolSpec",
    "RiskSettings",
    "Sla",
    "Workload",
    "load_fleet",
    "parse_duration",
    "parse_fleet",
    "parse_fraction",
]
