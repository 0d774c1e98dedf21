"""Reference simulation: one plain discrete-event loop per trial.

This is the oracle the vectorised engine (:mod:`spotadvisor.sim.engine`) is checked
against, and the speed baseline it is benchmarked against. It follows the model of
:mod:`spotadvisor.sim.model` literally, one event at a time, with a :mod:`heapq` of
timed events, and is written for clarity rather than speed.

Per trial:

1. Draw the per-instance hazard of every spot pool (uniform in monthly probability
   within the band, or the exact rate), the mean relative spot price of every pool with
   a price path (a uniformly random circular window of the horizon's length), and the
   times of the bulk-reclaim source events of every spot pool (Poisson).
2. Start with every slot ready; a spot replica's preemption is scheduled
   ``Exp(instances_per_replica * lambda)`` after it becomes ready.
3. Process events in time order until the horizon: preemption notices (independent or
   from bulk strikes), launches that waited out a stock-out, on-demand fallbacks,
   replicas becoming ready. Between events the number of serving slots is constant;
   time below ``replicas`` is accumulated as outage time.

Decisions where the model text leaves room (docs/model.md repeats them):

- Bulk reclaims concern spot pools only: on-demand pools neither emit source events nor
  are struck (they are never preempted and never stocked out).
- All stock-outs of one event are applied before its reclaims, so a replacement aimed at
  a pool struck by the same event waits.
- Only *serving* spot replicas can be reclaimed; replicas still starting are not (their
  exponential lifetime starts when they are ready), nor are those already noticed.
- A fallback is launched when the spot launch has not happened ``fallback_after_hours``
  after the notice (stock-outs may be extended by later strikes while waiting); it is
  billed at the on-demand price of the pool the slot waits for, from its launch to the
  moment the spot replacement is ready (even if the fallback is not ready yet).
- Lost requests are counted for every notice within the horizon; billing stops at the
  horizon.
"""

from __future__ import annotations

import heapq
import itertools
import math
from dataclasses import dataclass

import numpy as np

from spotadvisor.sim.closed_form import expected_lost_per_preemption
from spotadvisor.sim.model import HOURS_PER_MONTH, FleetModel, PoolModel
from spotadvisor.sim.results import FloatArray, TrialResults

__all__ = ["ReferenceTrial", "run_reference_trial", "simulate_reference"]

SECONDS_PER_HOUR = 3600.0
BETA_CONCENTRATION = 4.0  # a + b of the Beta law of the share a bulk strike takes

# Event kinds. At equal times the lower number is handled first: a launch that becomes
# possible exactly at the fallback deadline wins over the fallback.
_RETRY = 0  # a slot waiting out a stock-out tries to launch its spot replacement
_READY = 1  # the slot's primary replica (spot, or permanent on-demand) is ready
_READY_FALLBACK = 2  # the slot's on-demand fallback replica is ready
_FALLBACK = 3  # launch an on-demand fallback if the spot launch is still waiting
_PREEMPT = 4  # independent preemption notice of the slot's serving spot replica
_BULK = 5  # a bulk-reclaim source event in a pool


@dataclass
class _Replica:
    """A launched replica: billed at ``price`` [USD/h] from ``launch`` [h].

    ``ready_at`` is when it is (or was) due ready [h]; ``pool`` the spot pool of a spot
    replica (-1 otherwise), for price spikes.
    """

    launch: float
    price: float
    ready: bool = False
    ready_at: float = math.inf
    pool: int = -1


@dataclass
class _Slot:
    """One serving position of the fleet.

    ``pool`` is the pool of its spot replica (current, starting or awaited);
    ``on_demand`` is set for slots of on-demand pools and for slots moved to on-demand
    by the ``on-demand`` policy. ``epoch`` counts notices: events scheduled in an
    earlier epoch are stale and ignored.
    """

    pool: int
    on_demand: bool
    primary: _Replica | None
    fallback: _Replica | None = None
    epoch: int = 0


@dataclass(frozen=True)
class ReferenceTrial:
    """Outcome of one reference trial.

    Attributes
    ----------
    availability
        Fraction of the horizon with at least ``replicas`` slots serving [0-1].
    cost
        Billed cost over the horizon [USD].
    interruptions
        Preemption notices received (independent and bulk).
    lost_requests
        Requests lost at the notices.
    outages
        Maximal intervals of positive length with fewer than ``replicas`` serving.
    outage_hours
        Total time with fewer than ``replicas`` serving [h].
    spot_slots_per_pool
        At the horizon, per pool of the fleet, the slots whose spot replica is in that
        pool (serving, starting or awaited); slots on demand are not counted.
    """

    availability: float
    cost: float
    interruptions: int
    lost_requests: int
    outages: int
    outage_hours: float
    spot_slots_per_pool: tuple[int, ...]


class _PricePath:
    """Mean of a circular relative price path over windows of a given length."""

    def __init__(self, path: tuple[float, ...]) -> None:
        values = np.asarray(path, dtype=np.float64)
        self.length = int(values.size)
        self.total = float(values.sum())
        # prefix[i] = sum of the first i values of the path repeated twice.
        self.prefix = np.concatenate(([0.0], np.cumsum(np.concatenate((values, values)))))
        self.values = values

    def window_mean(self, start: int, hours: float) -> float:
        """Time-weighted mean of the hourly values over ``hours`` from index ``start``.

        Whole hours take whole values (wrapping around the path); a fractional last hour
        takes its share of the next value.
        """
        if hours <= 0.0:
            return float(self.values[start])
        whole = math.floor(hours)
        cycles, rest = divmod(whole, self.length)
        total = cycles * self.total + float(self.prefix[start + rest] - self.prefix[start])
        fraction = hours - whole
        if fraction > 0.0:
            total += fraction * float(self.values[(start + whole) % self.length])
        return total / hours


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


def _on_demand_baseline(model: FleetModel) -> float:
    """``replicas * (count-weighted mean on-demand price) * horizon`` [USD]."""
    if not model.pools:
        return 0.0
    counts = [pool.count for pool in model.pools]
    weights = counts if sum(counts) > 0 else [1] * len(counts)
    mean_price = sum(
        w * pool.on_demand_price_per_hour for w, pool in zip(weights, model.pools, strict=True)
    ) / sum(weights)
    return model.replicas * mean_price * model.horizon_hours


def _validate(model: FleetModel) -> None:
    if not model.horizon_hours > 0.0:
        raise ValueError(f"horizon_hours must be > 0, got {model.horizon_hours}")
    if model.replicas < 0 or model.overprovision < 0:
        raise ValueError("replicas and overprovision must be >= 0")
    if model.cold_start_hours < 0.0:
        raise ValueError("cold_start_hours must be >= 0")
    if model.fallback_after_hours is not None and model.fallback_after_hours < 0.0:
        raise ValueError("fallback_after_hours must be >= 0")
    has_spot = any(pool.market == "spot" for pool in model.pools)
    if model.overprovision and not has_spot:
        raise ValueError("overprovision needs at least one spot pool")
    if model.on_preemption == "next-pool" and not has_spot:
        raise ValueError("next-pool needs at least one spot pool")
    for pool in model.pools:
        if pool.count < 0 or pool.instances_per_replica < 1:
            raise ValueError(f"pool {pool.name!r}: count >= 0 and instances_per_replica >= 1")
        if not 0.0 <= pool.bulk_fraction <= 1.0:
            raise ValueError(f"pool {pool.name!r}: bulk_fraction must be in [0, 1]")
        if pool.price_path is not None and len(pool.price_path) == 0:
            raise ValueError(f"pool {pool.name!r}: price_path is empty")


class _Trial:
    """State and event handlers of one trial."""

    def __init__(
        self,
        model: FleetModel,
        rng: np.random.Generator,
        paths: list[_PricePath | None],
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
                self.push(t, _BULK, i, 0)
                t += float(rng.exponential(1.0 / rate))

        # Slots: every pool's count, then the overprovision round-robin over spot pools.
        self.slots: list[_Slot] = []
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
        replica = _Replica(0.0, price, ready=True, ready_at=0.0, pool=-1 if on_demand else pool)
        slot = _Slot(pool=pool, on_demand=on_demand, primary=replica)
        self.slots.append(slot)
        if not on_demand:
            self.schedule_preemption(len(self.slots) - 1, 0.0)

    def schedule_preemption(self, index: int, ready_at: float) -> None:
        """Independent preemption ``Exp(hazard)`` after the spot replica is ready."""
        slot = self.slots[index]
        hazard = self.hazard[slot.pool]
        if hazard > 0.0:
            self.push(
                ready_at + float(self.rng.exponential(1.0 / hazard)), _PREEMPT, index, slot.epoch
            )

    def cold_start(self) -> float:
        """Launch-to-ready time [h]."""
        mean = self.model.cold_start_hours
        if self.model.cold_start_distribution == "exponential" and mean > 0.0:
            return float(self.rng.exponential(mean))
        return mean

    def bill(self, replica: _Replica, until: float) -> None:
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
            self.push(t + fallback_after, _FALLBACK, index, slot.epoch)

    def launch(self, index: int, t: float) -> None:
        """Launch the slot's replacement now, or wait for its pool's stock-out to end."""
        slot = self.slots[index]
        if slot.on_demand:
            price = self.model.pools[slot.pool].on_demand_price_per_hour
        else:
            until = self.stockout_until[slot.pool]
            if until > t:
                self.push(until, _RETRY, index, slot.epoch)
                return
            price = self.spot_price[slot.pool]
        ready_at = t + self.cold_start()
        slot.primary = _Replica(
            t, price, ready_at=ready_at, pool=-1 if slot.on_demand else slot.pool
        )
        self.push(ready_at, _READY, index, slot.epoch)

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
        slot.fallback = _Replica(t, price, ready_at=ready_at)
        self.push(ready_at, _READY_FALLBACK, index, slot.epoch)

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
        if kind == _BULK:
            self.on_bulk(index, t)
            return
        slot = self.slots[index]
        if epoch != slot.epoch:
            return  # scheduled for a replica that has since been noticed
        if kind == _PREEMPT:
            self.notice(index, t)
        elif kind == _RETRY:
            if slot.primary is None:
                self.launch(index, t)
        elif kind == _READY:
            self.on_ready(index, t)
        elif kind == _FALLBACK:
            self.on_fallback(index, t)
        elif kind == _READY_FALLBACK:
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


def _price_paths(model: FleetModel) -> list[_PricePath | None]:
    return [
        _PricePath(pool.price_path)
        if pool.market == "spot" and pool.price_path is not None
        else None
        for pool in model.pools
    ]


def run_reference_trial(model: FleetModel, rng: np.random.Generator) -> ReferenceTrial:
    """Simulate one trial of ``model`` event by event.

    Parameters
    ----------
    model
        The fleet, workload and policy.
    rng
        Source of all randomness.

    Returns
    -------
    ReferenceTrial
        The trial's outcome, with where the spot slots sit at the horizon.
    """
    _validate(model)
    return _make_trial(model, rng, _price_paths(model)).run()


def simulate_reference(model: FleetModel, trials: int, rng: np.random.Generator) -> TrialResults:
    """Simulate ``trials`` independent trials of ``model`` with the reference event loop.

    Parameters
    ----------
    model
        The fleet, workload and policy (see :mod:`spotadvisor.sim.model`).
    trials
        Number of trials (>= 1).
    rng
        Source of all randomness; trials consume it in order.

    Returns
    -------
    TrialResults
        Per-trial availability, cost [USD], interruptions, lost requests, outages and
        outage hours [h], and the all-on-demand cost of ``replicas`` [USD].
    """
    if trials < 1:
        raise ValueError(f"trials must be >= 1, got {trials}")
    _validate(model)
    paths = _price_paths(model)
    outcomes = []
    windows: list[tuple[float, float, float]] = []
    for _ in range(trials):
        trial = _make_trial(model, rng, paths)
        outcomes.append(trial.run())
        window = getattr(trial, "window", None)
        if window is not None and model.events:
            windows.append(window())

    def column(name: str) -> FloatArray:
        return np.array([getattr(o, name) for o in outcomes], dtype=np.float64)

    return TrialResults(
        availability=column("availability"),
        cost=column("cost"),
        interruptions=column("interruptions"),
        lost_requests=column("lost_requests"),
        outages=column("outages"),
        outage_hours=column("outage_hours"),
        on_demand_cost=_on_demand_baseline(model) if model.load is None else _load_baseline(model),
        **_window_columns(windows),
    )


def _make_trial(
    model: FleetModel, rng: np.random.Generator, paths: list[_PricePath | None]
) -> _Trial:
    """The plain trial, or the one with a load and failure events when the model has them."""
    if model.load is None and not model.events:
        return _Trial(model, rng, paths)
    from spotadvisor.sim.reference_events import EventTrial
    from spotadvisor.sim.scenarios import fleet_plan

    return EventTrial(model, rng, paths, fleet_plan(model), rng.spawn(1)[0])


def _load_baseline(model: FleetModel) -> float:
    from spotadvisor.sim.scenarios import fleet_plan

    return fleet_plan(model).on_demand_cost


def _window_columns(windows: list[tuple[float, float, float]]) -> dict[str, FloatArray]:
    if not windows:
        return {}
    during, after, recovery = (
        np.array(column, dtype=np.float64) for column in zip(*windows, strict=True)
    )
    return {"during_hours": during, "after_hours": after, "recovery_hours": recovery}
