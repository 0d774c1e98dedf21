"""One trial of the reference simulation: its draws, its event queue and its handlers.

``TrialLoop`` draws a trial's hazards, spot prices and bulk-reclaim events, then processes
a :mod:`heapq` of timed events (preemption notices, retries after stock-outs, fallbacks,
replicas becoming ready, bulk reclaims) in time order until the horizon, accounting
outage time and cost; :mod:`spotadvisor.sim.reference_events` extends it. The model and
the decisions it follows are described in :mod:`spotadvisor.sim.reference`.
"""

from __future__ import annotations

import heapq
import itertools
import math

import numpy as np

from spotadvisor.bands import HOURS_PER_MONTH
from spotadvisor.sim.closed_form import expected_lost_per_preemption
from spotadvisor.sim.model import FleetModel, PoolModel
from spotadvisor.sim.reference_state import PricePath, ReferenceTrial, ReplicaState, SlotState

SECONDS_PER_HOUR = 3600.0
BETA_CONCENTRATION = 4.0  # a + b of the Beta law of the share a bulk strike takes

# Event kinds. At equal times the lower number is handled first: a launch that becomes
# possible exactly at the fallback deadline wins over the fallback.
EVENT_RETRY = 0  # a slot waiting out a stock-out tries to launch its spot replacement
EVENT_READY = 1  # the slot's primary replica (spot, or permanent on-demand) is ready
EVENT_READY_FALLBACK = 2  # the slot's on-demand fallback replica is ready
EVENT_FALLBACK = 3  # launch an on-demand fallback if the spot launch is still waiting
EVENT_PREEMPT = 4  # independent preemption notice of the slot's serving spot replica
EVENT_BULK = 5  # a bulk-reclaim source event in a pool


def _replica_hazard(pool: PoolModel, rng: np.random.Generator) -> float:
    """Per-replica hazard [1/h] of a spot pool for one trial (drawn from its band)."""
    hazard = pool.hazard
    if hazard.rate_per_hour is not None:
        per_instance = hazard.rate_per_hour
    else:
        p = float(rng.uniform(hazard.p_low, hazard.p_high))
        # p == 1 would be an infinite hazard; the largest double below 1 is the limit.
        p = min(p, math.nextafter(1.0, 0.0))
        per_instance = -math.log1p(-p) / HOURS_PER_MONTH
    return pool.instances_per_replica * per_instance


class TrialLoop:
    """State and event handlers of one trial."""

    def __init__(
        self,
        model: FleetModel,
        rng: np.random.Generator,
        paths: list[PricePath | None],
    ) -> None:
        self.model = model
        self.rng = rng
        self.horizon = model.horizon_hours
        pools = model.pools
        self.spot_pools = [i for i, pool in enumerate(pools) if pool.market == "spot"]

        # Per-trial draws, pool by pool in fleet order.
        self.hazard = [0.0] * len(pools)  # per replica [1/h]
        self.spot_price = [pool.price_per_hour for pool in pools]  # [USD/h]
        for i, pool in enumerate(pools):
            if pool.market != "spot":
                continue
            self.hazard[i] = _replica_hazard(pool, rng)
            path = paths[i]
            if path is not None:
                start = int(rng.integers(path.length))
                self.spot_price[i] = pool.price_per_hour * path.window_mean(start, self.horizon)
        self.lost_mean = [
            expected_lost_per_preemption(
                model.request_rate_per_s,
                model.request_duration_s,
                pool.notice_seconds,
                model.request_duration_distribution,
            )
            for pool in pools
        ]
        self.stockout_until = [0.0] * len(pools)

        # Event queue: (time, kind, sequence, slot or pool index, epoch).
        self.queue: list[tuple[float, int, int, int, int]] = []
        self.sequence = itertools.count()
        for i in self.spot_pools:
            rate = pools[i].bulk_reclaims_per_month / HOURS_PER_MONTH
            if rate <= 0.0:
                continue
            t = float(rng.exponential(1.0 / rate))
            while t < self.horizon:
                self.push(t, EVENT_BULK, i, 0)
                t += float(rng.exponential(1.0 / rate))

        # Slots: every pool's count, then the overprovision round-robin over spot pools.
        self.slots: list[SlotState] = []
        for i, pool in enumerate(pools):
            for _ in range(pool.count):
                self.add_initial_slot(i, on_demand=pool.market != "spot")
        for j in range(model.overprovision):
            self.add_initial_slot(self.spot_pools[j % len(self.spot_pools)], on_demand=False)

        # Accumulators.
        self.serving = len(self.slots)
        self.now = 0.0
        self.in_outage = False
        self.outages = 0
        self.outage_hours = 0.0
        self.cost = 0.0
        self.interruptions = 0
        self.lost_requests = 0

    # -- helpers -------------------------------------------------------------------

    def push(self, time: float, kind: int, index: int, epoch: int) -> None:
        """Schedule an event (ties: lower kind first, then first scheduled)."""
        heapq.heappush(self.queue, (time, kind, next(self.sequence), index, epoch))

    def add_initial_slot(self, pool: int, on_demand: bool) -> None:
        """A slot ready at t = 0, billed from t = 0."""
        price = self.model.pools[pool].price_per_hour if on_demand else self.spot_price[pool]
        replica = ReplicaState(0.0, price, ready=True, ready_at=0.0, pool=-1 if on_demand else pool)
        slot = SlotState(pool=pool, on_demand=on_demand, primary=replica)
        self.slots.append(slot)
        if not on_demand:
            self.schedule_preemption(len(self.slots) - 1, 0.0)

    def schedule_preemption(self, index: int, ready_at: float) -> None:
        """Independent preemption ``Exp(hazard)`` after the spot replica is ready."""
        slot = self.slots[index]
        hazard = self.hazard[slot.pool]
        if hazard > 0.0:
            self.push(
                ready_at + float(self.rng.exponential(1.0 / hazard)),
                EVENT_PREEMPT,
                index,
                slot.epoch,
            )

    def cold_start(self) -> float:
        """Launch-to-ready time [h]."""
        mean = self.model.cold_start_hours
        if self.model.cold_start_distribution == "exponential" and mean > 0.0:
            return float(self.rng.exponential(mean))
        return mean

    def bill(self, replica: ReplicaState, until: float) -> None:
        """Add the cost of ``replica`` from its launch to ``until`` (capped at the horizon)."""
        self.cost += replica.price * max(0.0, min(until, self.horizon) - replica.launch)

    def advance(self, t: float) -> None:
        """Account the interval [now, t) during which the serving count was constant."""
        if t <= self.now:
            return
        below = self.serving < self.model.replicas
        if below:
            self.outage_hours += t - self.now
            if not self.in_outage:
                self.outages += 1
        self.in_outage = below
        self.now = t

    def next_spot_pool(self, pool: int) -> int:
        """The next spot pool after ``pool`` in fleet order, cycling."""
        position = self.spot_pools.index(pool)
        return self.spot_pools[(position + 1) % len(self.spot_pools)]

    # -- what happens to a slot ----------------------------------------------------

    def notice(self, index: int, t: float, abrupt: bool = False) -> None:
        """The slot's serving spot replica gets its notice at ``t``: replace it.

        ``abrupt``: lost without notice (an outage): billing ends at ``t`` and every
        request in flight is lost, ``r * E[D]`` on average.
        """
        slot = self.slots[index]
        assert slot.primary is not None and slot.primary.ready and not slot.on_demand
        pool = self.model.pools[slot.pool]
        self.interruptions += 1
        lost = (
            self.model.request_rate_per_s * self.model.request_duration_s
            if abrupt
            else self.lost_mean[slot.pool]
        )
        if lost > 0.0:
            self.lost_requests += int(self.rng.poisson(lost))
        notice_hours = 0.0 if abrupt else pool.notice_seconds / SECONDS_PER_HOUR
        self.bill(slot.primary, t + notice_hours)
        slot.primary = None
        slot.epoch += 1
        self.serving -= 1

        policy = self.model.on_preemption
        if policy == "on-demand":
            slot.on_demand = True
        elif policy == "next-pool":
            slot.pool = self.next_spot_pool(slot.pool)
        self.launch(index, t)
        fallback_after = self.model.fallback_after_hours
        if slot.primary is None and fallback_after is not None:
            self.push(t + fallback_after, EVENT_FALLBACK, index, slot.epoch)

    def launch(self, index: int, t: float) -> None:
        """Launch the slot's replacement now, or wait for its pool's stock-out to end."""
        slot = self.slots[index]
        if slot.on_demand:
            price = self.model.pools[slot.pool].on_demand_price_per_hour
        else:
            until = self.stockout_until[slot.pool]
            if until > t:
                self.push(until, EVENT_RETRY, index, slot.epoch)
                return
            price = self.spot_price[slot.pool]
        ready_at = t + self.cold_start()
        slot.primary = ReplicaState(
            t, price, ready_at=ready_at, pool=-1 if slot.on_demand else slot.pool
        )
        self.push(ready_at, EVENT_READY, index, slot.epoch)

    def on_ready(self, index: int, t: float) -> None:
        """The primary replica is ready: it serves; a fallback, if any, is stopped."""
        slot = self.slots[index]
        assert slot.primary is not None
        slot.primary.ready = True
        fallback = slot.fallback
        if fallback is not None:
            self.bill(fallback, t)
            slot.fallback = None
        if fallback is None or not fallback.ready:
            self.serving += 1
        if not slot.on_demand:
            self.schedule_preemption(index, t)

    def on_fallback(self, index: int, t: float) -> None:
        """Still waiting for spot after ``fallback_after_hours``: launch on demand."""
        slot = self.slots[index]
        if slot.primary is not None or slot.fallback is not None:
            return
        price = self.model.pools[slot.pool].on_demand_price_per_hour
        ready_at = t + self.cold_start()
        slot.fallback = ReplicaState(t, price, ready_at=ready_at)
        self.push(ready_at, EVENT_READY_FALLBACK, index, slot.epoch)

    def on_fallback_ready(self, index: int) -> None:
        """The on-demand fallback is ready and serves."""
        fallback = self.slots[index].fallback
        if fallback is not None and not fallback.ready:
            fallback.ready = True
            self.serving += 1

    def on_bulk(self, source: int, t: float) -> None:
        """A bulk-reclaim source event in pool ``source``: strike it and correlated pools."""
        model = self.model
        pools = model.pools
        struck = [source]
        for j in self.spot_pools:
            if j == source:
                continue
            same_region = pools[j].region == pools[source].region
            probability = model.zone_correlation if same_region else model.region_correlation
            if probability > 0.0 and self.rng.random() < probability:
                struck.append(j)
        # Stock-outs first (overlapping ones merge), then the reclaims.
        for j in struck:
            if pools[j].stockout_hours > 0.0:
                end = t + float(self.rng.exponential(pools[j].stockout_hours))
                self.stockout_until[j] = max(self.stockout_until[j], end)
        for j in struck:
            share = self.strike_fraction(pools[j].bulk_fraction)
            taken = 1.0 - (1.0 - share) ** pools[j].instances_per_replica
            if taken <= 0.0:
                continue
            for index, slot in enumerate(self.slots):
                serving_spot = (
                    slot.pool == j
                    and not slot.on_demand
                    and slot.primary is not None
                    and slot.primary.ready
                )
                if serving_spot and self.rng.random() < taken:
                    self.notice(index, t)

    def strike_fraction(self, mean: float) -> float:
        """Share of a pool one strike takes: ``Beta(4 m, 4 (1 - m))``, or ``m`` at 0 or 1."""
        if mean <= 0.0 or mean >= 1.0:
            return mean
        return float(self.rng.beta(BETA_CONCENTRATION * mean, BETA_CONCENTRATION * (1.0 - mean)))

    # -- the loop --------------------------------------------------------------------

    def run(self) -> ReferenceTrial:
        """Process every event before the horizon and return the trial's outcome."""
        while self.queue:
            t, kind, _, index, epoch = heapq.heappop(self.queue)
            if t >= self.horizon:
                break
            self.advance(t)
            self.handle(t, kind, index, epoch)
        return self.finish()

    def handle(self, t: float, kind: int, index: int, epoch: int) -> None:
        """Process one event at ``t`` (the clock has been advanced to it)."""
        if kind == EVENT_BULK:
            self.on_bulk(index, t)
            return
        slot = self.slots[index]
        if epoch != slot.epoch:
            return  # scheduled for a replica that has since been noticed
        if kind == EVENT_PREEMPT:
            self.notice(index, t)
        elif kind == EVENT_RETRY:
            if slot.primary is None:
                self.launch(index, t)
        elif kind == EVENT_READY:
            self.on_ready(index, t)
        elif kind == EVENT_FALLBACK:
            self.on_fallback(index, t)
        elif kind == EVENT_READY_FALLBACK:
            self.on_fallback_ready(index)

    def finish(self) -> ReferenceTrial:
        """Close the horizon: account the last stretch, bill what still runs."""
        self.advance(self.horizon)

        # Bill everything still running to the horizon.
        for slot in self.slots:
            for replica in (slot.primary, slot.fallback):
                if replica is not None:
                    self.bill(replica, self.horizon)
        per_pool = [0] * len(self.model.pools)
        for slot in self.slots:
            if not slot.on_demand:
                per_pool[slot.pool] += 1
        return ReferenceTrial(
            availability=1.0 - self.outage_hours / self.horizon,
            cost=self.cost,
            interruptions=self.interruptions,
            lost_requests=self.lost_requests,
            outages=self.outages,
            outage_hours=self.outage_hours,
            spot_slots_per_pool=tuple(per_pool),
        )
