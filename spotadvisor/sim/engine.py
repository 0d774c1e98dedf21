"""The Monte Carlo engine: many independent trials of a fleet, compiled and in parallel.

Trials run in chunks of ``CHUNK_TRIALS``; chunk ``i`` draws from the ``i``-th child of
the caller's generator, so a result depends only on the generator's state, not on how
the chunks are spread over threads (they run on every core, the compiled kernel
releasing the GIL). Each trial runs event by event in :mod:`spotadvisor.sim.kernel`;
memory is the trials' results plus a few buffers per thread, whatever the number of
trials. The model
is described in :mod:`spotadvisor.sim.model`; equations are in docs/model.md.

:func:`estimate` tells, before a run, how much work and memory it will take, so that
callers can refuse a run that cannot finish or fit (:mod:`spotadvisor.config.limits`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from spotadvisor.bands import HOURS_PER_MONTH
from spotadvisor.sim.jit import ensure_compiled
from spotadvisor.sim.kernel_inputs import KernelInputs, kernel_inputs
from spotadvisor.sim.model import FleetModel, Hazard, PoolModel
from spotadvisor.sim.results import TrialResults

FloatArray = npt.NDArray[np.float64]

CHUNK_TRIALS = 1_000  # trials per chunk; fixed so a seed gives the same result every time


def default_workers() -> int:
    """Threads to use: the CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def simulate(
    model: FleetModel,
    trials: int,
    rng: np.random.Generator,
    *,
    on_progress: Callable[[int, int], None] | None = None,
    first_trial: int = 0,
    workers: int | None = None,
) -> TrialResults:
    """Simulate ``trials`` independent horizons of ``model``.

    Parameters
    ----------
    model
        The fleet, workload and policy.
    trials
        Number of simulated horizons (months, for a 30-day horizon).
    rng
        The only source of randomness.
    on_progress
        Called with (trials done, trials) after each chunk.
    first_trial
        Index of the first trial to simulate, a multiple of ``CHUNK_TRIALS``: trials
        ``[first_trial, first_trial + trials)`` of the sequence ``rng`` defines, so a run
        can be extended without repeating it.
    workers
        Threads (default: every CPU available); the result does not depend on it.
    """
    if trials < 1:
        raise ValueError("trials must be at least 1")
    if first_trial % CHUNK_TRIALS:
        raise ValueError(f"first_trial must be a multiple of {CHUNK_TRIALS}")
    _check(model)
    inputs = kernel_inputs(model)
    ensure_compiled(_warm_up)
    sizes = [CHUNK_TRIALS] * (trials // CHUNK_TRIALS)
    if trials % CHUNK_TRIALS:
        sizes.append(trials % CHUNK_TRIALS)
    skip = first_trial // CHUNK_TRIALS
    jobs = list(zip(sizes, rng.spawn(skip + len(sizes))[skip:], strict=True))
    threads = min(workers or default_workers(), len(jobs))

    def run(job: tuple[int, np.random.Generator]) -> tuple[FloatArray, FloatArray]:
        return _chunk(model, inputs, *job)

    parts: list[tuple[FloatArray, FloatArray]] = []
    if threads <= 1:
        for job in jobs:
            parts.append(run(job))
            if on_progress is not None:
                on_progress(sum(p[0].shape[0] for p in parts), trials)
    else:
        with ThreadPoolExecutor(threads) as pool:
            for part in pool.map(run, jobs):
                parts.append(part)
                if on_progress is not None:
                    on_progress(sum(p[0].shape[0] for p in parts), trials)
    return _results(inputs, parts)


def _check(model: FleetModel) -> None:
    if model.horizon_hours <= 0:
        raise ValueError("horizon must be positive")
    if model.overprovision and not any(p.market == "spot" for p in model.pools):
        raise ValueError("overprovision needs at least one spot pool")
    if model.on_preemption == "next-pool" and not any(p.market == "spot" for p in model.pools):
        raise ValueError("next-pool needs at least one spot pool")


def _chunk(
    model: FleetModel, inputs: KernelInputs, size: int, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray]:
    """One chunk: the kernel's output rows and the lost requests drawn from their means."""
    from spotadvisor.sim.kernel import OUT_COLUMNS, OUT_LOST_MEAN, initial_capacity, run_chunk

    # mass preemptions draw apart, so a what-if stays paired with its baseline
    event_rng = rng.spawn(1)[0] if model.events else rng
    out = np.empty((size, OUT_COLUMNS))
    capacity = initial_capacity(inputs.fleet.slot_pool.size)
    run_chunk(inputs.fleet, inputs.pools, inputs.events, rng, event_rng, out, capacity)
    lost: FloatArray = rng.poisson(out[:, OUT_LOST_MEAN]).astype(np.float64)
    return out, lost


def _results(inputs: KernelInputs, parts: list[tuple[FloatArray, FloatArray]]) -> TrialResults:
    from spotadvisor.sim import kernel as k

    out = np.concatenate([p[0] for p in parts])

    def column(index: int) -> FloatArray:
        return np.ascontiguousarray(out[:, index])

    windowed = inputs.fleet.has_window
    return TrialResults(
        availability=column(k.OUT_AVAILABILITY),
        cost=column(k.OUT_COST),
        interruptions=column(k.OUT_INTERRUPTIONS),
        lost_requests=np.concatenate([p[1] for p in parts]),
        outages=column(k.OUT_OUTAGES),
        outage_hours=column(k.OUT_OUTAGE_HOURS),
        on_demand_cost=inputs.plan.on_demand_cost,
        during_hours=column(k.OUT_DURING) if windowed else None,
        after_hours=column(k.OUT_AFTER) if windowed else None,
        recovery_hours=column(k.OUT_RECOVERY) if windowed else None,
    )


def _warm_up() -> None:
    """One trial of a one-pool fleet: compiles the kernel, or loads it from the cache."""
    pool = PoolModel("warm-up", "aws", "r", "z", "spot", 1, 1.0, 2.0, hazard=Hazard.exact(0.1))
    model = FleetModel(pools=(pool,), replicas=1, horizon_hours=10.0, cold_start_hours=0.1)
    _chunk(model, kernel_inputs(model), 1, np.random.default_rng(0))


# --- what a run will cost, before it runs ------------------------------------------------
#
# Work is counted in *events*: one per spot slot and per pool of every trial, one per
# preemption (a gap), one per bulk-reclaim strike and one per strike a serving slot
# looks at, plus TRIAL_EVENTS for what every trial costs whatever its size (draws,
# sweep set-up, the result row). Measured on one core of the development machine, an
# event takes 10-400 ns (about 10 for a slot, 40-400 for a preemption, whose sweep
# grows with the slots it overlaps; a one-pool trial takes 350 ns): the count tells a
# run of minutes from one of days, not when it will end.
#
# Memory is counted from the buffers the code allocates, as an upper bound of what a
# run touches: per spot slot its starting pool (inputs) and, per thread, the sweep's
# heap, cursor and slot_lo entries; per gap of the largest trial two float64 entries,
# grown by doubling, so the old and new buffers are both alive while they grow (3 x 16
# bytes; measured 27); per strike a raw and a sorted row (4 + 5 float64), also doubled;
# per trial the output row (9 float64) and the lost requests, copied into TrialResults'
# columns and read by summarize (measured 225 bytes while a run ends), of which the
# columns stay (KEPT_BYTES) while a caller holds the results of several runs; per step
# of a load's demand curve its Python tuples, the step functions and the segment trees
# of the tolerance.

TRIAL_EVENTS = 30  # fixed cost of a trial, in events (about 350 ns / 10 ns)
SLOT_INPUT_BYTES = 40  # per spot slot, once: the slot -> pool array and its Python list
SLOT_BYTES = 40  # per spot slot and thread: the sweep's heap, cursor and slot_lo
GAP_BYTES = 48  # per gap of the largest trial, per thread: 2 x float64, grown by doubling
STRIKE_BYTES = 216  # per strike of the largest trial, per thread: 9 x float64, doubled
BUCKET_BYTES = 8  # per bucket of the no-outage test (at most kernel.MAX_BUCKETS)
RESULT_BYTES = 300  # per trial: the output row, lost requests, result columns, summary
KEPT_BYTES = 80  # per trial, once the run is over: TrialResults' columns (up to 10 float64)
STEP_BYTES = 1_000  # per step of a load's demand curve and of the tolerance
PATH_BYTES = 16  # per hour of a spot price path: the path and its prefix sums
MAX_BUCKETS = 1 << 16  # kernel.MAX_BUCKETS, without importing the compiled kernel


@dataclass(frozen=True)
class RunEstimate:
    """What a run of the engine will cost, estimated from its model before it runs.

    Attributes
    ----------
    trials, workers
        The run's trials and threads.
    slots
        Spot slots of a trial (overprovision included).
    gaps_per_trial, strikes_per_trial
        Expected preemptions (gaps) and bulk-reclaim strikes of one trial.
    events_per_trial
        Work of one trial, in events (see the constants above).
    trial_bytes
        One thread's buffers, sized for the largest trial a chunk is expected to hold.
    fixed_bytes
        Inputs, held once whatever the trials (slots, price paths, demand steps).
    result_bytes_per_trial
        Results kept per trial.
    """

    trials: int
    workers: int
    slots: int
    gaps_per_trial: float
    strikes_per_trial: float
    events_per_trial: float
    trial_bytes: float
    fixed_bytes: float
    result_bytes_per_trial: float = RESULT_BYTES

    @property
    def events(self) -> float:
        """Work of the whole run, in events."""
        return self.trials * self.events_per_trial

    @property
    def bytes(self) -> float:
        """Peak memory of the run beyond the libraries [bytes]."""
        return (
            self.fixed_bytes
            + self.workers * self.trial_bytes
            + self.trials * self.result_bytes_per_trial
        )


def estimate(model: FleetModel, trials: int, *, workers: int | None = None) -> RunEstimate:
    """Work and memory of ``simulate(model, trials)``, from the model alone (no draws).

    Per spot pool, a slot is preempted at its replica hazard (a band's mean hazard for
    the work, the largest a chunk of ``CHUNK_TRIALS`` trials is expected to draw for the
    memory) plus the strikes that reach it times the share they take, and is out of
    service for the cold start after each notice; bulk-reclaim sources are Poisson over
    the horizon, each striking its own pool and, with the correlations, the others.
    Pure arithmetic over the pools: O(pools^2), whatever the counts, the horizon or the
    trials.

    Parameters
    ----------
    model
        The fleet.
    trials
        Trials of the run.
    workers
        Threads (default: every CPU available, as :func:`simulate`).
    """
    threads = max(1, min(workers or default_workers(), max(1, -(-trials // CHUNK_TRIALS))))
    pools = model.pools
    horizon = max(model.horizon_hours, 0.0)
    spot = [i for i, p in enumerate(pools) if p.market == "spot"]
    slots = [p.count if p.market == "spot" else 0 for p in pools]
    for i in range(model.overprovision if spot else 0):
        slots[spot[i % len(spot)]] += 1
    total_slots = sum(slots)
    sources = [
        pools[i].bulk_reclaims_per_month / HOURS_PER_MONTH * horizon if i in spot else 0.0
        for i in range(len(pools))
    ]
    strikes = strikes_max = looked_at = 0.0
    kills = sum(1 for e in model.events if e.kind in ("outage", "preempt"))
    rates: dict[int, tuple[float, float]] = {}  # notices per serving hour: mean, largest
    for j in spot:
        reach = 0.0  # strikes on pool j per trial
        for i in spot:
            if i == j:
                reach += sources[i]
            elif pools[i].region == pools[j].region:
                reach += sources[i] * model.zone_correlation
            else:
                reach += sources[i] * model.region_correlation
        strikes += reach
        strikes_max += _chunk_max(reach)
        share = min(max(pools[j].bulk_fraction, 0.0), 1.0)
        take = 1.0 - (1.0 - share) ** max(pools[j].instances_per_replica, 1)
        mean_rate, max_rate = _replica_hazards(pools[j])
        per_hour = take / horizon if horizon > 0 else 0.0
        rates[j] = (mean_rate + reach * per_hour, max_rate + _chunk_max(reach) * per_hour)
        looked_at += slots[j] * reach  # each slot scans its pool's strikes as it serves
    gaps = gaps_max = 0.0
    for j in spot:
        if model.on_preemption == "next-pool":  # every slot goes round all the spot pools
            mean, largest = (
                _round_trip([rates[k][m] for k in spot], horizon, model) for m in (0, 1)
            )
        else:
            mean, largest = (_cycles(rates[j][m], horizon, model) for m in (0, 1))
        gaps += slots[j] * (mean + kills)
        gaps_max += slots[j] * (largest + kills)
    gaps_max = _chunk_max(gaps_max)
    steps = _steps(model)
    path_hours = sum(len(p.price_path or ()) for p in pools)
    events = TRIAL_EVENTS + len(pools) + total_slots + gaps + strikes + looked_at
    trial_bytes = (
        total_slots * SLOT_BYTES
        + gaps_max * GAP_BYTES
        + strikes_max * STRIKE_BYTES
        + min(4 * gaps_max, MAX_BUCKETS) * BUCKET_BYTES
    )
    fixed = (
        total_slots * SLOT_INPUT_BYTES
        + path_hours * PATH_BYTES
        + steps * STEP_BYTES
        + len(pools) ** 2 * 8
    )
    return RunEstimate(
        trials=trials,
        workers=threads,
        slots=total_slots,
        gaps_per_trial=gaps,
        strikes_per_trial=strikes,
        events_per_trial=events,
        trial_bytes=trial_bytes,
        fixed_bytes=fixed,
    )


def _chunk_max(mean: float) -> float:
    """About the largest Poisson count of this mean among a chunk's trials."""
    return mean + 4.0 * math.sqrt(mean) + 1.0 if mean > 0 else 0.0


def _replica_hazards(pool: PoolModel) -> tuple[float, float]:
    """A spot replica's mean hazard and the largest a chunk of trials draws [1/h]."""
    from spotadvisor.sim.kernel_draws import MAX_MONTHLY_PROBABILITY as CAP

    hazard = pool.hazard
    instances = max(pool.instances_per_replica, 1)
    if hazard.rate_per_hour is not None:
        rate = max(hazard.rate_per_hour, 0.0) * instances
        return rate, rate
    low = min(max(hazard.p_low, 0.0), CAP)
    high = min(max(hazard.p_high, low), CAP)

    def integral(p: float) -> float:  # of -ln(1 - p) dp
        return (1.0 - p) * math.log1p(-p) + p

    mean = (integral(high) - integral(low)) / (high - low) if high > low else -math.log1p(-low)
    largest = -math.log1p(-max(min(high - (high - low) / CHUNK_TRIALS, CAP), low))
    scale = instances / HOURS_PER_MONTH
    return mean * scale, largest * scale


def _cycles(rate: float, horizon: float, model: FleetModel) -> float:
    """Expected notices of one slot over the horizon: serving, then down for a cold start."""
    if horizon <= 0 or rate <= 0:
        return 0.0
    notices = horizon * rate / (1.0 + rate * max(model.cold_start_hours, 0.0))
    if model.on_preemption == "on-demand":  # the slot goes on demand at its first notice
        return min(notices, 1.0)
    return notices


def _round_trip(rates: list[float], horizon: float, model: FleetModel) -> float:
    """Expected notices of a ``next-pool`` slot, which serves in each spot pool in turn."""
    if horizon <= 0 or not rates:
        return 0.0
    if min(rates) <= 0:  # it stays in a pool that never preempts, at most a round away
        return float(len(rates))
    cold = max(model.cold_start_hours, 0.0)
    return horizon * len(rates) / sum(1.0 / r + cold for r in rates)


def _steps(model: FleetModel) -> int:
    """Steps of the demand curve and of the tolerance built from it."""
    if model.load is None:
        return 1 + len(model.events)
    return 2 * len(model.load.demand.times) + len(model.events) + 1
