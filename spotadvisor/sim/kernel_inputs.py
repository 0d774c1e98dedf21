"""A :class:`~spotadvisor.sim.model.FleetModel` as the flat arrays the compiled kernel reads.

Built once per simulation in plain Python; the kernel (:mod:`spotadvisor.sim.kernel`)
takes the three tuples as they are. Index ``p`` is a pool's position in the fleet,
times are in hours, prices in USD per replica-hour.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from spotadvisor.bands import HOURS_PER_MONTH
from spotadvisor.sim.closed_form import expected_lost_per_preemption
from spotadvisor.sim.model import FleetModel
from spotadvisor.sim.scenarios import FleetPlan, fleet_plan, pool_windows

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

RELAUNCH, NEXT_POOL, ON_DEMAND = 0, 1, 2
POLICIES = {"relaunch-same-pool": RELAUNCH, "next-pool": NEXT_POOL, "on-demand": ON_DEMAND}


class Tolerance(NamedTuple):
    """Spot-slot gaps tolerated before the fleet is below demand, as a step function.

    ``values[j]`` holds from ``times[j]`` (``times[0] == 0``) to the next time [h];
    ``least`` is the smallest value. ``min_tree`` and ``max_tree`` are segment trees of
    the values (leaves from index ``min_tree.size // 2``, padded with values no query
    selects), so the sweep finds the next step that changes whether the fleet is in
    outage in O(log steps) instead of visiting every step of a per-minute profile.
    """

    times: FloatArray
    values: IntArray
    least: int
    min_tree: IntArray
    max_tree: IntArray


def tolerance_of(times: FloatArray, values: IntArray) -> Tolerance:
    """The :class:`Tolerance` of a step function (``times[0] == 0``)."""
    values = np.ascontiguousarray(values, dtype=np.int64)
    base = 1
    while base < values.size:
        base *= 2
    big = np.iinfo(np.int64).max
    min_tree = np.full(2 * base, big, dtype=np.int64)
    max_tree = np.full(2 * base, -big, dtype=np.int64)
    min_tree[base : base + values.size] = values
    max_tree[base : base + values.size] = values
    for i in range(base - 1, 0, -1):
        min_tree[i] = min(min_tree[2 * i], min_tree[2 * i + 1])
        max_tree[i] = max(max_tree[2 * i], max_tree[2 * i + 1])
    return Tolerance(
        times=np.ascontiguousarray(times, dtype=np.float64),
        values=values,
        least=int(values.min()),
        min_tree=min_tree,
        max_tree=max_tree,
    )


class FleetArrays(NamedTuple):
    """Fleet-wide settings and the deterministic part of the fleet.

    Attributes
    ----------
    horizon, cold_start
        Simulated time and launch-to-ready time (or its mean) [h].
    cold_exponential
        Cold starts are exponential with mean ``cold_start`` (else fixed).
    policy
        ``RELAUNCH``, ``NEXT_POOL`` or ``ON_DEMAND``.
    fallback_after
        Launch on demand when spot cannot be had for this long [h]; inf: never.
    price_window
        Whole hours of a price path averaged per trial (the horizon, at least 1).
    slot_pool
        ``[S]`` starting pool of every spot slot (overprovision included).
    tolerance
        Spot-slot gaps tolerated before the fleet is below demand, over time.
    has_window, window_start, window_end
        Whether to measure outage around the first failure event, and its window [h].
    base_cost, base_lost
        Cost of the on-demand pools and peak replicas [USD] and expected requests lost
        by on-demand replicas taken by outages, the same in every trial.
    """

    horizon: float
    cold_start: float
    cold_exponential: bool
    policy: int
    fallback_after: float
    price_window: int
    slot_pool: IntArray
    tolerance: Tolerance
    has_window: bool
    window_start: float
    window_end: float
    base_cost: float
    base_lost: float


class PoolArrays(NamedTuple):
    """Per-pool constants (``[P]`` unless noted).

    Attributes
    ----------
    spot
        Whether the pool is on the spot market.
    price
        Price of a replica on the pool's market [USD/h].
    band_low, band_high, exact_rate
        The hazard per instance: a band of monthly interruption probabilities [0-1], or
        an exact rate [1/h] (NaN where the pool has a band).
    path_prefix, path_offset, path_length
        Prefix sums of the relative price paths, all pools one after another: pool p's
        are ``path_prefix[path_offset[p]:][:path_length[p] + 1]`` (length 0: no path).
    od_price
        On-demand price of a replica of the pool's type [USD/h].
    notice_hours
        Notice before a spot instance stops [h].
    lost_mean
        Expected requests lost per notice.
    next_spot
        The next spot pool in fleet order, cycling (``next-pool``).
    bulk_rate
        Bulk-reclaim source events [1/h] (0 for on-demand pools).
    strike_prob
        ``[P, P]`` probability that a source event in pool i strikes pool j.
    strike_targets
        Pools a source event of each pool may strike (to size buffers).
    share_mean, instances, stockout_mean
        Mean share of the pool one strike takes [0-1], instances per replica, mean
        stock-out after a strike [h].
    """

    spot: BoolArray
    price: FloatArray
    band_low: FloatArray
    band_high: FloatArray
    exact_rate: FloatArray
    path_prefix: FloatArray
    path_offset: IntArray
    path_length: IntArray
    od_price: FloatArray
    notice_hours: FloatArray
    lost_mean: FloatArray
    next_spot: IntArray
    bulk_rate: FloatArray
    strike_prob: FloatArray
    strike_targets: IntArray
    share_mean: FloatArray
    instances: FloatArray
    stockout_mean: FloatArray


class EventArrays(NamedTuple):
    """Failure events as masks over pools (``[E, P]``) and times [h].

    Kills (outages and mass preemptions) are sorted by time; blocks (outage and
    drought windows) refuse spot launches on [start, end); spikes multiply spot prices
    on [start, end). ``lost_abrupt`` is the expected requests lost by a replica lost
    without notice.
    """

    kill_mask: BoolArray
    kill_at: FloatArray
    kill_outage: BoolArray
    kill_fraction: FloatArray
    block_mask: BoolArray
    block_start: FloatArray
    block_end: FloatArray
    spike_mask: BoolArray
    spike_start: FloatArray
    spike_end: FloatArray
    spike_factor: FloatArray
    lost_abrupt: float


class KernelInputs(NamedTuple):
    """Everything the kernel needs that is the same in every trial."""

    fleet: FleetArrays
    pools: PoolArrays
    events: EventArrays
    plan: FleetPlan


def kernel_inputs(model: FleetModel) -> KernelInputs:
    """The arrays of ``model`` for the kernel, and its deterministic plan."""
    plan = fleet_plan(model)
    fixed_cost = sum(p.count * p.price_per_hour for p in model.pools if p.market != "spot")
    first = model.events[0] if model.events else None
    fleet = FleetArrays(
        horizon=float(model.horizon_hours),
        cold_start=float(model.cold_start_hours),
        cold_exponential=model.cold_start_distribution == "exponential",
        policy=POLICIES[model.on_preemption],
        fallback_after=np.inf
        if model.fallback_after_hours is None
        else float(model.fallback_after_hours),
        price_window=max(1, round(model.horizon_hours)),
        slot_pool=_slot_pools(model),
        tolerance=tolerance_of(plan.tolerance.times, plan.tolerance.values),
        has_window=first is not None,
        window_start=min(first.at_hours, model.horizon_hours) if first else 0.0,
        window_end=min(first.end_hours, model.horizon_hours) if first else 0.0,
        base_cost=float(fixed_cost * model.horizon_hours + plan.peak_cost),
        base_lost=float(plan.lost_requests),
    )
    return KernelInputs(fleet, _pools(model), _events(model), plan)


def _floats(values: object) -> FloatArray:
    return np.array(values, dtype=np.float64)


def _pools(model: FleetModel) -> PoolArrays:
    pools = model.pools
    spot = np.array([p.market == "spot" for p in pools], dtype=bool)
    order = [i for i, p in enumerate(pools) if p.market == "spot"]
    next_spot = np.arange(len(pools), dtype=np.int64)
    for position, index in enumerate(order):
        next_spot[index] = order[(position + 1) % len(order)]
    regions = np.array([p.region for p in pools])
    same_region = regions[:, None] == regions[None, :]
    prob = np.where(same_region, model.zone_correlation, model.region_correlation)
    np.fill_diagonal(prob, 1.0)
    prob = np.where(spot[None, :], prob, 0.0).astype(np.float64)
    rate = _floats(
        [p.bulk_reclaims_per_month / HOURS_PER_MONTH if p.market == "spot" else 0.0 for p in pools]
    )
    lost = [
        expected_lost_per_preemption(
            model.request_rate_per_s,
            model.request_duration_s,
            p.notice_seconds,
            model.request_duration_distribution,
        )
        if model.request_rate_per_s > 0
        else 0.0
        for p in pools
    ]
    paths = [np.asarray(p.price_path or (), dtype=np.float64) for p in pools]
    paths = [path if p.market == "spot" else path[:0] for path, p in zip(paths, pools, strict=True)]
    prefixes = [np.concatenate(([0.0], np.cumsum(path))) for path in paths]
    return PoolArrays(
        spot=spot,
        price=_floats([p.price_per_hour for p in pools]),
        band_low=_floats([p.hazard.p_low for p in pools]),
        band_high=_floats([p.hazard.p_high for p in pools]),
        exact_rate=_floats(
            [np.nan if p.hazard.rate_per_hour is None else p.hazard.rate_per_hour for p in pools]
        ),
        path_prefix=np.concatenate([np.zeros(0), *prefixes]),
        path_offset=np.cumsum([0] + [x.size for x in prefixes[:-1]], dtype=np.int64),
        path_length=np.array([path.size for path in paths], dtype=np.int64),
        od_price=_floats([p.on_demand_price_per_hour for p in pools]),
        notice_hours=_floats([p.notice_seconds / 3600.0 for p in pools]),
        lost_mean=_floats(lost),
        next_spot=next_spot,
        bulk_rate=rate,
        strike_prob=np.ascontiguousarray(prob),
        strike_targets=(prob > 0).sum(axis=1).astype(np.int64),
        share_mean=_floats([p.bulk_fraction for p in pools]),
        instances=_floats([p.instances_per_replica for p in pools]),
        stockout_mean=_floats([p.stockout_hours for p in pools]),
    )


def _slot_pools(model: FleetModel) -> IntArray:
    """Starting pool of every spot slot: the pools' counts, then overprovision round-robin."""
    slots = [j for j, p in enumerate(model.pools) if p.market == "spot" for _ in range(p.count)]
    spot = [j for j, p in enumerate(model.pools) if p.market == "spot"]
    slots += [spot[i % len(spot)] for i in range(model.overprovision)]
    return np.array(slots, dtype=np.int64)


def _events(model: FleetModel) -> EventArrays:
    width = len(model.pools)
    kills = sorted(
        (
            (s, m, ev.kind == "outage", ev.fraction if ev.kind == "preempt" else 1.0)
            for m, s, _, ev in pool_windows(model, ("outage", "preempt"))
        ),
        key=lambda k: k[0],
    )
    blocks = sorted(
        ((s, e, m) for m, s, e, _ in pool_windows(model, ("outage", "drought"))),
        key=lambda b: b[0],
    )
    spikes = [(s, e, ev.factor, m) for m, s, e, ev in pool_windows(model, ("spike",))]

    def masks(rows: list[np.ndarray]) -> BoolArray:
        return np.array(rows, dtype=bool).reshape(len(rows), width)

    return EventArrays(
        kill_mask=masks([k[1] for k in kills]),
        kill_at=_floats([k[0] for k in kills]),
        kill_outage=np.array([k[2] for k in kills], dtype=bool),
        kill_fraction=_floats([k[3] for k in kills]),
        block_mask=masks([b[2] for b in blocks]),
        block_start=_floats([b[0] for b in blocks]),
        block_end=_floats([b[1] for b in blocks]),
        spike_mask=masks([s[3] for s in spikes]),
        spike_start=_floats([s[0] for s in spikes]),
        spike_end=_floats([s[1] for s in spikes]),
        spike_factor=_floats([s[2] for s in spikes]),
        lost_abrupt=float(model.request_rate_per_s * model.request_duration_s),
    )
