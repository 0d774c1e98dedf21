"""The Monte Carlo engine: many independent trials of a fleet, compiled and in parallel.

Trials run in chunks of ``CHUNK_TRIALS``; chunk ``i`` draws from the ``i``-th child of
the caller's generator, so a result depends only on the generator's state, not on how
the chunks are spread over threads (they run on every core, the compiled kernel
releasing the GIL). Each trial runs event by event in :mod:`spotadvisor.sim.kernel`;
memory is the trials' results plus a few buffers per thread, whatever the number of
trials. The model
is described in :mod:`spotadvisor.sim.model`; equations are in docs/model.md.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import numpy.typing as npt

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
