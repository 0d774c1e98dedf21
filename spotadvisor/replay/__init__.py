"""Replay serving policies over real spot availability traces.

``group_traces`` turns zone traces (:mod:`spotadvisor.traces`) into fleets,
``replay_fleet`` replays the policies of :mod:`spotadvisor.replay.policies` over many
windows and returns availability, cost relative to on demand, preemptions and on-demand
share per policy. docs/replay.md describes the model.
"""

from __future__ import annotations

from spotadvisor.replay.policies import (
    POLICIES,
    Policy,
    ReplayConfig,
    WindowOutcome,
    replay_window,
)
from spotadvisor.replay.run import Fleet, FleetReplay, PolicyResult, group_traces, replay_fleet

__all__ = [
    "POLICIES",
    "Fleet",
    "FleetReplay",
    "Policy",
    "PolicyResult",
    "ReplayConfig",
    "WindowOutcome",
    "group_traces",
    "replay_fleet",
    "replay_window",
]
