"""One serving cycle of one spot slot, compiled: ready -> notice -> replacement ready.

A slot's spot replica serves from ``clock`` (when it became ready; it was launched, and
is billed, from ``bill_from``) until its notice: the first of its exponential lifetime,
a bulk strike that takes it, and a failure event that kills it. The slot is then out of
service (a *gap*) until its replacement, or an on-demand fallback, is ready. The cycle
bills what it ran and counts the notice, so the caller only has to keep the gaps.
The rules are those of :mod:`spotadvisor.sim.model`; docs/model.md has the equations.
"""

from __future__ import annotations

import math

import numpy as np

from spotadvisor.sim.jit import jit_inline
from spotadvisor.sim.kernel_events import launch_time, serving_kill, spot_bill, startup_kill
from spotadvisor.sim.kernel_inputs import (
    NEXT_POOL,
    ON_DEMAND,
    EventArrays,
    FleetArrays,
    FloatArray,
    IntArray,
    PoolArrays,
)
from spotadvisor.sim.kernel_strikes import first_strike

# Per-trial accumulators a cycle adds to.
COST, INTERRUPTIONS, LOST_MEAN = 0, 1, 2


@jit_inline
def cold_start(rng: np.random.Generator, fleet: FleetArrays) -> float:
    """Launch-to-ready time of one replica [h]."""
    if fleet.cold_exponential and fleet.cold_start > 0.0:
        return rng.exponential(fleet.cold_start)
    return fleet.cold_start


@jit_inline
def cycle(
    fleet: FleetArrays,
    pools: PoolArrays,
    ev: EventArrays,
    st: FloatArray,
    lo: IntArray,
    hi: IntArray,
    hazard: FloatArray,
    price: FloatArray,
    rng: np.random.Generator,
    event_rng: np.random.Generator,
    acc: FloatArray,
    pool: int,
    clock: float,
    bill_from: float,
) -> tuple[float, float, int, float, float, bool]:
    """Run the slot's cycle that starts with a replica of ``pool`` ready at ``clock``.

    Parameters
    ----------
    st, lo, hi
        The trial's strikes (:mod:`spotadvisor.sim.kernel_strikes`).
    hazard, price
        ``[P]`` the trial's replica hazards [1/h] and spot prices [USD/h].
    acc
        Cost [USD], notices and expected lost requests of the trial, added to.
    pool, clock, bill_from
        The replica: its pool, when it became ready and when it was launched [h].

    Returns
    -------
    tuple
        The gap ``(start, end)`` [h] (empty when the replica serves to the horizon), and
        the next cycle's ``pool``, ``clock``, ``bill_from`` and whether there is one.
    """
    horizon = fleet.horizon
    rate = hazard[pool]
    notice = clock + rng.standard_exponential() / rate if rate > 0.0 else math.inf
    if hi[pool] > lo[pool]:
        notice = min(notice, first_strike(rng, st, lo[pool], hi[pool], clock, notice))
    abrupt = False
    if ev.kill_at.size:
        notice, abrupt = serving_kill(ev, event_rng, pool, clock, notice)
    if notice >= horizon:
        acc[COST] += spot_bill(ev, pool, price[pool], bill_from, horizon)
        return horizon, horizon, pool, horizon, horizon, False

    # billed until the notice period ends; an outage takes the instance at once
    stop = min(notice + (0.0 if abrupt else pools.notice_hours[pool]), horizon)
    acc[COST] += spot_bill(ev, pool, price[pool], bill_from, stop)
    acc[INTERRUPTIONS] += 1.0
    acc[LOST_MEAN] += ev.lost_abrupt if abrupt else pools.lost_mean[pool]

    if fleet.policy == ON_DEMAND:  # the slot serves on demand for the rest of the horizon
        ready = notice + cold_start(rng, fleet)
        acc[COST] += pools.od_price[pool] * (horizon - notice)
        return notice, min(ready, horizon), pool, horizon, horizon, False

    target = pools.next_spot[pool] if fleet.policy == NEXT_POOL else pool
    launch = launch_time(ev, st, lo[target], hi[target], target, notice)
    ready = launch + cold_start(rng, fleet)
    after = fleet.fallback_after
    fallback = launch - notice > after
    fb_launch = notice + after if fallback else math.inf
    fb_ready = fb_launch + cold_start(rng, fleet) if fallback else math.inf
    fb_price = pools.od_price[target]
    for _ in range(ev.kill_at.size):  # a replacement lost to an outage while it starts
        lost_at = startup_kill(ev, target, launch, ready)
        if not lost_at < horizon:
            break
        acc[COST] += spot_bill(ev, target, price[target], launch, lost_at)
        if fleet.policy == NEXT_POOL:
            target = pools.next_spot[target]
        launch = launch_time(ev, st, lo[target], hi[target], target, lost_at)
        ready = launch + cold_start(rng, fleet)
        if not fallback and launch - lost_at > after:  # the wait starts again at the loss
            fallback = True
            fb_launch = lost_at + after
            fb_ready = fb_launch + cold_start(rng, fleet)
            fb_price = pools.od_price[target]
    serve_from = min(fb_ready, ready) if fallback else ready
    if fallback:  # the on-demand fallback runs until the spot replacement is ready
        acc[COST] += fb_price * max(0.0, min(ready, horizon) - fb_launch)
    if ready >= horizon:  # not ready in time: bill what was launched and close out
        if launch < horizon:
            acc[COST] += spot_bill(ev, target, price[target], launch, horizon)
        return notice, min(serve_from, horizon), target, horizon, horizon, False
    return notice, serve_from, target, ready, launch, True


# Where run_slots stands, kept in a small array between calls.
SLOT, POOL, CLOCK, BILL_FROM, GAPS = 0, 1, 2, 3, 4
STATE_SIZE = 5


@jit_inline
def run_slots(
    fleet: FleetArrays,
    pools: PoolArrays,
    ev: EventArrays,
    st: FloatArray,
    lo: IntArray,
    hi: IntArray,
    hazard: FloatArray,
    price: FloatArray,
    rng: np.random.Generator,
    event_rng: np.random.Generator,
    acc: FloatArray,
    state: FloatArray,
    gap_start: FloatArray,
    gap_end: FloatArray,
    slot_lo: IntArray,
) -> bool:
    """Run every spot slot of a trial through its cycles to the horizon, keeping the gaps.

    Slot ``s``'s gaps go to ``gap_start/gap_end[slot_lo[s]:slot_lo[s + 1]]``. Starts
    from ``state`` (``POOL < 0``: at the start of slot ``SLOT``). Returns True when every
    slot is done, False when the gap buffers are full: ``state`` then says where to
    resume once the caller has grown them.
    """
    slots = fleet.slot_pool.size
    s, pool, gaps = int(state[SLOT]), int(state[POOL]), int(state[GAPS])
    clock, bill_from = state[CLOCK], state[BILL_FROM]
    while s < slots:
        if pool < 0:
            slot_lo[s] = gaps
            pool, clock, bill_from = fleet.slot_pool[s], 0.0, 0.0
        alive = True
        while alive:
            if gaps == gap_start.size:
                state[SLOT], state[POOL], state[GAPS] = s, pool, gaps
                state[CLOCK], state[BILL_FROM] = clock, bill_from
                return False
            a, b, pool, clock, bill_from, alive = cycle(
                fleet, pools, ev, st, lo, hi, hazard, price, rng, event_rng, acc,
                pool, clock, bill_from,
            )  # fmt: skip
            if a < b:
                gap_start[gaps] = a
                gap_end[gaps] = b
                gaps += 1
        s += 1
        pool = -1
    slot_lo[slots] = gaps
    state[SLOT], state[GAPS] = slots, gaps
    return True
