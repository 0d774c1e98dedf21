"""Serving policies replayed over one window of zone traces, event by event.

The fleet needs ``N`` ready replicas. It keeps ``S = max(N - M, 0) + K`` spot replica
*slots* (``M`` always-on on-demand replicas, ``K`` overprovisioned spot ones). Time is
continuous [s]; the traces only change at their ticks, and between two *events* (a
trace change, a replica becoming ready, a fallback deadline) nothing changes, so the
replay jumps from event to event instead of walking every tick.

Rules common to all policies (docs/replay.md has the reasoning):

- ``room[z, i]`` is how many of our spot instances zone *z* can hold during tick *i*.
  A zone whose room drops below what we hold there preempts the difference, youngest
  launch first (replicas still starting go before ready ones).
- A spot replica launched at *t* is ready at *t* + cold start; so is an on-demand one.
  Billing runs from launch to preemption, release or the end of the window.
- At the start of the window the slots are placed by the policy where there is room
  and are already ready (as if the fleet had been running); the others wait.
- ``M`` baseline on-demand replicas are ready and billed throughout.

Policies (``POLICIES``):

``relaunch-same-pool``
    All slots start in the first zone (the *home* zone); a preempted replica waits for
    room in the zone it was in. The engine's ``relaunch-same-pool``.
``next-pool``
    All slots start in the home zone (overflowing to the next zones in order); a
    preempted replica relaunches in the next zone in order, cycling, that has room.
``on-demand-fallback``
    ``relaunch-same-pool``, and a slot that has waited ``fallback_after`` for spot gets
    an on-demand replica, stopped once its spot replacement is ready.
``even-spread``
    Slot *j* lives in zone ``j mod Z``; a preempted replica waits for its zone.
``round-robin``
    Every launch goes to the next zone in turn that has room (one pointer for the
    fleet); a preempted replica waits until some zone has room.
``spothedge``
    Dynamic placement after SpotHedge (EuroSys'25): a zone that preempts one of our
    replicas is marked; launches go to unmarked zones with room first, to the zone
    holding fewest of ours (spread), then to marked ones; when every zone is marked the
    marks are cleared. While ready spot replicas are fewer than ``N - M`` it runs
    on-demand replicas for the difference and stops them (youngest first) as spot
    replicas become ready.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import numpy.typing as npt

Policy = Literal[
    "relaunch-same-pool",
    "next-pool",
    "on-demand-fallback",
    "even-spread",
    "round-robin",
    "spothedge",
]
POLICIES: tuple[Policy, ...] = get_args(Policy)
INF = math.inf


@dataclass(frozen=True)
class ReplayConfig:
    """The serving fleet and its prices.

    Attributes
    ----------
    replicas
        Ready replicas needed (N).
    spot_price_ratio
        Spot price over on-demand price of the same instance [-].
    overprovision
        Extra spot replicas (K).
    cold_start_seconds
        Launch to ready [s].
    fallback_after_seconds
        How long a slot waits for spot before ``on-demand-fallback`` launches an
        on-demand replica [s].
    on_demand_replicas
        Always-on on-demand replicas (M), counted towards N.
    """

    replicas: int
    spot_price_ratio: float
    overprovision: int = 0
    cold_start_seconds: float = 0.0
    fallback_after_seconds: float = 0.0
    on_demand_replicas: int = 0

    @property
    def spot_target(self) -> int:
        """Spot slots: ``max(N - M, 0) + K`` [-]."""
        return max(self.replicas - self.on_demand_replicas, 0) + self.overprovision


@dataclass(frozen=True)
class WindowOutcome:
    """What one policy did over one window.

    Attributes
    ----------
    seconds
        Window length [s].
    available_seconds
        Time with at least N replicas ready [s].
    spot_seconds, on_demand_seconds
        Instance-seconds billed, spot and on demand (baseline included) [s].
    preemptions
        Spot replicas taken by the trace, ready or starting [-].
    outages
        Maximal intervals with fewer than N ready (one if the window starts short) [-].
    """

    seconds: float
    available_seconds: float
    spot_seconds: float
    on_demand_seconds: float
    preemptions: int
    outages: int


class _Fleet:
    """Mutable state of one replay: slots, zones, on-demand replicas, accumulators."""

    def __init__(self, policy: Policy, zones: int, config: ReplayConfig) -> None:
        self.policy = policy
        self.zones = zones
        self.need = config.replicas
        self.base = config.on_demand_replicas
        self.cold = config.cold_start_seconds
        self.fallback = config.fallback_after_seconds if policy == "on-demand-fallback" else INF
        slots = config.spot_target
        self.zone = [-1] * slots  # -1: waiting for spot
        self.launched = [INF] * slots
        self.since = [0.0] * slots  # waiting since [s]; INF when placed
        # even-spread: fixed zone; next-pool: where the search starts; others: zone 0.
        self.cursor = [j % zones if policy == "even-spread" else 0 for j in range(slots)]
        self.od = [INF] * slots  # on-demand-fallback replica of each slot: launch time
        self.dynamic: list[float] = []  # spothedge on-demand replicas: launch times
        self.room = [0] * zones
        self.held = [0] * zones
        self.marked = [False] * zones
        self.pointer = 0
        self.available = self.spot_s = self.od_s = 0.0
        self.preemptions = self.outages = 0
        self.was_ok = True
        # Cached between events: valid until the state changes or the timer falls due.
        self.waiting = slots
        self.changed = True
        self.ready = self.billed_od = 0
        self.timer = INF

    # --- placement -------------------------------------------------------------------

    def _choose(self, slot: int) -> int:
        """Zone for a launch of ``slot`` now, or -1 when the policy finds no room."""
        room, held, zones = self.room, self.held, self.zones
        policy = self.policy
        if policy in ("relaunch-same-pool", "on-demand-fallback", "even-spread"):
            home = self.cursor[slot]
            return home if room[home] > held[home] else -1
        if policy in ("next-pool", "round-robin"):
            start = self.cursor[slot] if policy == "next-pool" else self.pointer
            for k in range(zones):
                z = (start + k) % zones
                if room[z] > held[z]:
                    if policy == "round-robin":
                        self.pointer = (z + 1) % zones
                    return z
            return -1
        best, best_key = -1, (True, 0, 0)
        for z in range(zones):  # spothedge: unmarked first, then fewest of ours
            if room[z] > held[z]:
                key = (self.marked[z], held[z], z)
                if best < 0 or key < best_key:
                    best, best_key = z, key
        return best

    def launch_spot(self, t: float, *, warm: bool = False) -> None:
        """Launch every waiting slot the policy can place (oldest wait first)."""
        if not self.waiting:
            return
        waiting = sorted((self.since[s], s) for s in range(len(self.zone)) if self.zone[s] < 0)
        for _, slot in waiting:
            z = self._choose(slot)
            if z >= 0:
                self.zone[slot] = z
                self.held[z] += 1
                self.launched[slot] = t - self.cold if warm else t
                self.since[slot] = INF
                self.waiting -= 1
                self.changed = True

    def set_room(self, new_room: list[int], t: float) -> None:
        """Apply a trace change: preempt, youngest first, where we hold too many."""
        for z, value in enumerate(new_room):
            self.room[z] = value
            excess = self.held[z] - value
            if excess <= 0:
                continue
            mine = sorted(
                (s for s in range(len(self.zone)) if self.zone[s] == z),
                key=lambda s: self.launched[s],
                reverse=True,
            )
            for slot in mine[:excess]:
                self.zone[slot] = -1
                self.launched[slot] = INF
                self.since[slot] = t
                self.cursor[slot] = (
                    (z + 1) % self.zones if self.policy == "next-pool" else self.cursor[slot]
                )
            self.held[z] = value
            self.preemptions += excess
            self.waiting += excess
            self.changed = True
            if self.policy == "spothedge":
                self.marked[z] = True
        if all(self.marked):
            self.marked = [False] * self.zones

    # --- on demand -------------------------------------------------------------------

    def _ready_spot(self, t: float) -> int:
        cold = self.cold
        return sum(1 for s, z in enumerate(self.zone) if z >= 0 and self.launched[s] + cold <= t)

    def on_demand(self, t: float) -> None:
        """Fallback launches and releases (on-demand-fallback, spothedge)."""
        if self.policy == "on-demand-fallback":
            for s in range(len(self.zone)):
                if self.zone[s] < 0:
                    if self.od[s] == INF and self.since[s] + self.fallback <= t:
                        self.od[s] = t
                        self.changed = True
                elif self.od[s] != INF and self.launched[s] + self.cold <= t:
                    self.od[s] = INF  # its spot replacement is ready
                    self.changed = True
        elif self.policy == "spothedge":
            target = max(0, self.need - self.base - self._ready_spot(t))
            while len(self.dynamic) < target:
                self.dynamic.append(t)
                self.changed = True
            if len(self.dynamic) > target:
                self.changed = True
                self.dynamic.sort()
                del self.dynamic[target:]  # stop the youngest: they are not ready yet

    # --- time ------------------------------------------------------------------------

    def next_timer(self, t: float) -> float:
        """The next time after ``t`` at which something becomes ready or falls due [s]."""
        cold = self.cold
        times = [x + cold for x in self.launched if x != INF]
        times += [x + cold for x in self.od if x != INF]
        times += [x + cold for x in self.dynamic]
        if self.fallback != INF:
            times += [
                since + self.fallback
                for since, od in zip(self.since, self.od, strict=True)
                if since != INF and od == INF
            ]
        return min((x for x in times if x > t), default=INF)

    def refresh(self, t: float) -> None:
        """Recompute the cached ready count, on-demand count and next timer at ``t``."""
        cold = self.cold
        fallback = [x for x in self.od if x != INF]
        self.ready = (
            self._ready_spot(t)
            + self.base
            + sum(1 for x in fallback if x + cold <= t)
            + sum(1 for x in self.dynamic if x + cold <= t)
        )
        self.billed_od = self.base + len(fallback) + len(self.dynamic)
        self.timer = self.next_timer(t)
        self.changed = False

    def accumulate(self, dt: float) -> None:
        """Add an interval of ``dt`` seconds over which the cached state holds."""
        if dt <= 0.0:
            return
        ok = self.ready >= self.need
        if ok:
            self.available += dt
        elif self.was_ok:
            self.outages += 1
        self.was_ok = ok
        self.spot_s += (len(self.zone) - self.waiting) * dt
        self.od_s += self.billed_od * dt


def replay_window(
    policy: Policy, room: npt.NDArray[np.int64], gap_seconds: float, config: ReplayConfig
) -> WindowOutcome:
    """Replay one policy over one window.

    Parameters
    ----------
    policy
        One of :data:`POLICIES`.
    room
        Spot instances of ours each zone can hold at each tick [-], shape (zones,
        ticks), zones in the policy's order (the first is the home zone).
    gap_seconds
        Tick length [s].
    config
        Fleet and prices.

    Returns
    -------
    WindowOutcome
        Times, billed instance-seconds and counts over the window.
    """
    zones, ticks = room.shape
    end = ticks * gap_seconds
    changed = np.flatnonzero((room[:, 1:] != room[:, :-1]).any(axis=0)) + 1
    change_times = (changed * gap_seconds).tolist()
    change_rooms = room[:, changed].T.tolist()
    fleet = _Fleet(policy, zones, config)
    fleet.room = room[:, 0].tolist()
    fleet.launch_spot(0.0, warm=True)
    fleet.on_demand(0.0)
    fleet.refresh(0.0)
    t, index, changes = 0.0, 0, len(change_times)
    while t < end:
        step = min(change_times[index] if index < changes else end, fleet.timer, end)
        fleet.accumulate(step - t)
        t = step
        if t >= end:
            break
        due = t >= fleet.timer
        if index < changes and change_times[index] == t:
            fleet.set_room(change_rooms[index], t)
            index += 1
        # A change that preempts nothing while nothing waits leaves the state as it was.
        if due or fleet.changed or fleet.waiting:
            fleet.launch_spot(t)
            fleet.on_demand(t)
            if due or fleet.changed:
                fleet.refresh(t)
    return WindowOutcome(
        seconds=end,
        available_seconds=fleet.available,
        spot_seconds=fleet.spot_s,
        on_demand_seconds=fleet.od_s,
        preemptions=fleet.preemptions,
        outages=fleet.outages,
    )
