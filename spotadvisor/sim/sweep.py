"""Simulate many fleets with common random numbers, on several cores.

Every fleet of a sweep is simulated from a generator seeded with the same seed, so
fleets that share pools see the same draws for them (common random numbers): the
difference between two mixes is then mostly the difference of the mixes, not of the
dice. Work is split across processes by fleet; the result does not depend on how.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from spotadvisor.sim.engine import simulate
from spotadvisor.sim.model import FleetModel
from spotadvisor.sim.results import TrialResults

# Below this much work (fleets x trials) a second process costs more than it saves.
PARALLEL_MIN_WORK = 200_000


def _one(args: tuple[FleetModel, int, int]) -> TrialResults:
    model, trials, seed = args
    return simulate(model, trials, np.random.default_rng(seed))


def default_workers() -> int:
    """Processes to use: the CPUs this process may run on."""
    return max(
        1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    )


def simulate_many(
    models: Sequence[FleetModel],
    trials: int,
    seed: int,
    *,
    workers: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> list[TrialResults]:
    """Simulate every fleet with ``trials`` trials and common random numbers.

    Parameters
    ----------
    models
        The fleets.
    trials
        Trials per fleet.
    seed
        Seed of every fleet's generator.
    workers
        Processes (default: the CPUs available); 1 runs in this process.
    on_progress
        Called with (fleets done, fleets) as results arrive.
    """
    jobs = [(model, trials, seed) for model in models]
    workers = workers or default_workers()
    if workers <= 1 or len(jobs) < 2 or len(jobs) * trials < PARALLEL_MIN_WORK:
        out = []
        for job in jobs:
            out.append(_one(job))
            if on_progress is not None:
                on_progress(len(out), len(jobs))
        return out
    context = multiprocessing.get_context(
        "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    )
    chunk = max(1, len(jobs) // (workers * 8))
    results: list[TrialResults] = []
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        for result in pool.map(_one, jobs, chunksize=chunk):
            results.append(result)
            if on_progress is not None:
                on_progress(len(results), len(jobs))
    return results
