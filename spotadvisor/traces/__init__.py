"""Real spot availability and preemption traces, read into one series per zone.

``read_traces`` sniffs each file's format (the JSON tick traces of the Can't Be Late
and SpotHedge studies, SkyPilot's raw timestamped traces, SpotServe node logs,
training-on-a-dime probe logs) and returns :class:`ZoneTrace` objects: instances
obtainable at each fixed tick. docs/replay.md describes the formats and rules.
"""

from __future__ import annotations

from spotadvisor.traces.model import ZoneTrace, split_zone, tick_counts, zone_and_machine
from spotadvisor.traces.read import parse_tick_trace, read_traces

__all__ = [
    "ZoneTrace",
    "parse_tick_trace",
    "read_traces",
    "split_zone",
    "tick_counts",
    "zone_and_machine",
]
