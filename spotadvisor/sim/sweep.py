"""Simulate many fleets with common random numbers, on every core.

Every fleet of a sweep is simulated from a generator seeded with the same seed, so
fleets that share pools see the same draws for them (common random numbers): the
difference between two mixes is then mostly the difference of the mixes, not of the
dice. Fleets are spread over threads (the compiled kernel releases the GIL); with fewer
fleets than cores, each fleet's chunks are spread too. The result does not depend on how.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from spotadvisor.sim.engine import default_workers, simulate
from spotadvisor.sim.model import FleetModel
from spotadvisor.sim.results import TrialResults

__all__ = ["default_workers", "simulate_many"]


def simulate_many(
    models: Sequence[FleetModel],
    trials: int,
    seed: int,
    *,
    workers: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    first_trial: int = 0,
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
        Threads (default: the CPUs available); 1 runs in this thread.
    on_progress
        Called with (fleets done, fleets) as results arrive, in order.
    first_trial
        Index of the first trial (a multiple of ``engine.CHUNK_TRIALS``): a run of
        ``a + b`` trials equals the run of ``a`` followed by the run of ``b`` trials from
        ``first_trial=a``.
    """
    available = workers or default_workers()
    threads = min(available, len(models))
    # fewer fleets than cores (a few finalists with many trials): split their chunks too
    inner = max(1, available // max(threads, 1))

    def one(model: FleetModel) -> TrialResults:
        rng = np.random.default_rng(seed)
        return simulate(model, trials, rng, first_trial=first_trial, workers=inner)

    out: list[TrialResults] = []
    if threads <= 1:
        for model in models:
            out.append(one(model))
            if on_progress is not None:
                on_progress(len(out), len(models))
        return out
    with ThreadPoolExecutor(threads) as pool:
        for result in pool.map(one, models):
            out.append(result)
            if on_progress is not None:
                on_progress(len(out), len(models))
    return out
