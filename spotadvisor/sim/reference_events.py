"""Reference simulation with a demand curve and failure events, one event at a time.

Extends the plain event loop of :mod:`spotadvisor.sim.reference_trial` (the oracle of
the compiled engine) for models with a ``load`` or ``events``:

- The deterministic part (demand, peak replicas, fixed on-demand replicas lost and
  relaunched) is the tolerance step function of
  :func:`spotadvisor.sim.scenarios.fleet_plan`, itself checked against hand-computed
  cases. Its breakpoints are events; between events the trial is in outage when the
  spot slots not serving exceed the tolerance.
- Failure events are queue entries: a *block* (outage or drought window) raises the
  pool's stock-out end at its start; a *kill* at an outage takes every serving or
  starting spot replica of the pool without notice (a starting one is billed until then
  and relaunched per policy, its fallback clock restarting; a running fallback carries
  on); a mass preemption gives each serving replica a notice with the event's
  probability; price spikes are added when a spot replica is billed.
- Outage stretches are recorded, so the figures of the first event's window (outage
  inside it and after it, recovery) follow from them directly.
"""

from __future__ import annotations

import numpy as np

from spotadvisor.sim.model import FleetModel
from spotadvisor.sim.reference_state import PricePath, ReferenceTrial, ReplicaState
from spotadvisor.sim.reference_trial import EVENT_FALLBACK, EVENT_READY_FALLBACK, TrialLoop
from spotadvisor.sim.scenarios import FleetPlan, pool_windows

_TOLERANCE = -3  # the tolerance changes (first at equal times)
_BLOCK = -2  # an outage or drought window starts: raise the pool's stock-out end
_KILL = 6  # an outage or mass preemption takes replicas (after replicas became ready)


class EventTrial(TrialLoop):
    """One trial with a time-varying tolerance and failure events."""

    def __init__(
        self,
        model: FleetModel,
        rng: np.random.Generator,
        paths: list[PricePath | None],
        plan: FleetPlan,
        choose: np.random.Generator,
    ) -> None:
        super().__init__(model, rng, paths)
        self.plan = plan
        self.choose = choose  # mass-preemption choices, apart from the main stream
        tol = plan.tolerance
        self.tolerance = int(tol.values[0])
        for j in range(1, tol.times.size):
            self.push(float(tol.times[j]), _TOLERANCE, j, 0)
        self.blocks = pool_windows(model, ("outage", "drought"))
        for k, (_, start, _, _) in enumerate(self.blocks):
            self.push(start, _BLOCK, k, 0)
        self.kills = pool_windows(model, ("outage", "preempt"))
        for k, (_, start, _, _) in enumerate(self.kills):
            self.push(start, _KILL, k, 0)
        self.spikes = pool_windows(model, ("spike",))
        self.stretches: list[list[float]] = []

    def bill(self, replica: ReplicaState, until: float) -> None:
        """Bill as the plain trial, plus any price spike of the replica's spot pool."""
        super().bill(replica, until)
        end = min(until, self.horizon)
        for mask, start, stop, event in self.spikes:
            if replica.pool >= 0 and mask[replica.pool]:
                overlap = max(0.0, min(end, stop) - max(replica.launch, start))
                self.cost += replica.price * (event.factor - 1.0) * overlap

    def advance(self, t: float) -> None:
        """Account [now, t): outage when the spot slots down exceed the tolerance."""
        if t <= self.now:
            return
        below = len(self.slots) - self.serving > self.tolerance
        if below:
            self.outage_hours += t - self.now
            if self.in_outage:
                self.stretches[-1][1] = t
            else:
                self.outages += 1
                self.stretches.append([self.now, t])
        self.in_outage = below
        self.now = t

    def startup_kill(self, index: int, t: float) -> None:
        """A spot replacement lost while starting: relaunch per policy, restart the wait."""
        slot = self.slots[index]
        assert slot.primary is not None
        self.bill(slot.primary, t)
        slot.primary = None
        slot.epoch += 1
        fallback = slot.fallback
        if fallback is not None and not fallback.ready:
            self.push(fallback.ready_at, EVENT_READY_FALLBACK, index, slot.epoch)
        if self.model.on_preemption == "next-pool":
            slot.pool = self.next_spot_pool(slot.pool)
        self.launch(index, t)
        after = self.model.fallback_after_hours
        if slot.primary is None and fallback is None and after is not None:
            self.push(t + after, EVENT_FALLBACK, index, slot.epoch)

    def on_kill(self, k: int, t: float) -> None:
        """An outage or mass preemption at ``t``."""
        mask, _, _, event = self.kills[k]
        for index, slot in enumerate(self.slots):
            if slot.on_demand or slot.primary is None or not mask[slot.pool]:
                continue
            if event.kind == "preempt":
                if slot.primary.ready and self.choose.random() < event.fraction:
                    self.notice(index, t)
            elif slot.primary.ready:
                self.notice(index, t, abrupt=True)
            else:
                self.startup_kill(index, t)

    def on_block(self, k: int) -> None:
        """An outage or drought window starts: no spot launch in its pools until it ends."""
        mask, _, end, _ = self.blocks[k]
        for j in np.flatnonzero(mask):
            self.stockout_until[int(j)] = max(self.stockout_until[int(j)], end)

    def handle(self, t: float, kind: int, index: int, epoch: int) -> None:
        """The plain events, plus tolerance changes, blocks and kills."""
        if kind == _TOLERANCE:
            self.tolerance = int(self.plan.tolerance.values[index])
        elif kind == _BLOCK:
            self.on_block(index)
        elif kind == _KILL:
            self.on_kill(index, t)
        else:
            super().handle(t, kind, index, epoch)

    def finish(self) -> ReferenceTrial:
        """As the plain trial, plus the peak replicas' cost and on-demand losses."""
        outcome = super().finish()
        lost = int(self.rng.poisson(self.plan.lost_requests)) if self.plan.lost_requests else 0
        return ReferenceTrial(
            availability=outcome.availability,
            cost=outcome.cost + self.plan.peak_cost,
            interruptions=outcome.interruptions,
            lost_requests=outcome.lost_requests + lost,
            outages=outcome.outages,
            outage_hours=outcome.outage_hours,
            spot_slots_per_pool=outcome.spot_slots_per_pool,
        )

    def window(self) -> tuple[float, float, float]:
        """Outage inside the first event's window, after it, and the recovery [h]."""
        event = self.model.events[0]
        t0, t1 = min(event.at_hours, self.horizon), min(event.end_hours, self.horizon)
        during = sum(max(0.0, min(b, t1) - max(a, t0)) for a, b in self.stretches)
        after = sum(max(0.0, b - max(a, t1)) for a, b in self.stretches)
        recovery = 0.0
        for a, b in self.stretches:
            if (a < t1 and b > t0) or (a <= t1 < b) or (a == t0 == t1):
                recovery = max(recovery, b - t0)
        return during, after, recovery
