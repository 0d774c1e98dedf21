"""Failure events seen by one spot replica, compiled: kills, blocked launches, price spikes.

The events of a model (:mod:`spotadvisor.sim.scenarios`) arrive as an
:class:`~spotadvisor.sim.kernel_inputs.EventArrays`: per event a mask over pools and
its times, kills sorted by time. A model without events has empty arrays, and every
function here then reduces to the plain rule (one stock-out look-up, price x hours).
"""

from __future__ import annotations

import math

import numpy as np

from spotadvisor.sim.jit import jit_inline
from spotadvisor.sim.kernel_inputs import EventArrays, FloatArray
from spotadvisor.sim.kernel_strikes import stocked_out_until


@jit_inline
def serving_kill(
    ev: EventArrays, event_rng: np.random.Generator, pool: int, clock: float, notice: float
) -> tuple[float, bool]:
    """The first kill of a replica of ``pool`` serving from ``clock``, before ``notice``.

    Returns the (possibly earlier) notice and whether it comes without a notice period
    (an outage). A mass preemption takes the replica with its ``fraction``, drawn from
    ``event_rng`` so the engine's own stream stays paired with runs without events.
    """
    for k in range(ev.kill_at.size):
        at = ev.kill_at[k]
        if at >= notice:
            break  # kills are sorted by time: none later can come first
        if not ev.kill_mask[k, pool] or at < clock:
            continue
        if ev.kill_fraction[k] < 1.0 and event_rng.random() >= ev.kill_fraction[k]:
            continue
        return at, bool(ev.kill_outage[k])
    return notice, False


@jit_inline
def startup_kill(ev: EventArrays, pool: int, launch: float, ready: float) -> float:
    """First outage taking a replica of ``pool`` launched at ``launch``, not ready yet [h].

    inf if none.
    """
    for k in range(ev.kill_at.size):
        at = ev.kill_at[k]
        if at >= ready:
            break
        if ev.kill_outage[k] and ev.kill_mask[k, pool] and launch <= at:
            return float(at)
    return math.inf


@jit_inline
def launch_time(
    ev: EventArrays, st: FloatArray, start: int, stop: int, pool: int, at: float
) -> float:
    """When a spot launch in ``pool`` wanted at ``at`` can happen, after stock-outs and blocks.

    ``st[start:stop]`` are the pool's strikes. Outage and drought windows block launches
    like stock-outs; the two can chain, so they are applied until nothing moves.
    """
    t = stocked_out_until(st, start, stop, at)
    blocks = ev.block_start.size
    if blocks == 0:
        return t
    for _ in range(2 * blocks + 2):
        before = t
        for b in range(blocks):
            if ev.block_mask[b, pool] and ev.block_start[b] <= t and t < ev.block_end[b]:
                t = ev.block_end[b]
        t = stocked_out_until(st, start, stop, t)
        if t == before:
            break
    return t


@jit_inline
def spot_bill(ev: EventArrays, pool: int, price: float, start: float, end: float) -> float:
    """Cost of one spot replica of ``pool`` billed on [start, end) [USD], spikes included."""
    amount = price * (end - start)
    for q in range(ev.spike_start.size):
        if ev.spike_mask[q, pool]:
            overlap = min(end, ev.spike_end[q]) - max(start, ev.spike_start[q])
            if overlap > 0.0:
                amount += price * (ev.spike_factor[q] - 1.0) * overlap
    return amount
