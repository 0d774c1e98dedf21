"""How much a search will cost, before its candidates are built: refuse what cannot fit.

A search builds, per (cloud, region, instance type) group, about
``replicas x zones (up to 3) x overprovision levels x 2`` mixes, screens every one with
a short run, runs the best few in full and refines the finalists
(:mod:`spotadvisor.recommend.search`). Its work therefore grows with the square of the
replicas (more mixes, each larger), and ``--replicas 1000000000`` would never finish
building them. :func:`check_search` estimates the memory and work from the groups
alone, with each group's largest mix (every replica on spot in one zone, the most
spares) standing for all of its mixes, and refuses with the input to turn down
(``--replicas``, ``--trials``) and the largest value that fits
(:func:`spotadvisor.config.limits.check_run`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from spotadvisor.config import FleetFile
from spotadvisor.config.limits import Cost, Knob, check_run, trials_knob
from spotadvisor.config.values import number_text
from spotadvisor.errors import COMMAND_LINE
from spotadvisor.recommend.candidates import CROSS_REGION_TOP, MAX_SPOT_ZONES, OVERPROVISION_LEVELS
from spotadvisor.sim.engine import KEPT_BYTES, estimate
from spotadvisor.sim.model import FleetModel, PoolModel

MIX_BYTES = 4_000  # a candidate, its engine model (pools copied) and its summary
STAGE2 = 50  # mixes run in full: the cheapest plausible 40, the frontier, the references
FINALISTS = 10  # finalists refined (recommend.refine.FINALIST_RANKS)
FINALIST_TRIALS = 64_000  # trials a finalist gets at most (recommend.refine)


def mixes(groups: Sequence[int], replicas: int) -> int:
    """Mixes a search builds for ``replicas``, given each group's spot zones (an upper bound)."""
    variants = len(OVERPROVISION_LEVELS) * 2
    per_group = sum(1 + replicas * min(MAX_SPOT_ZONES, zones) * variants for zones in groups)
    pairs = CROSS_REGION_TOP * (CROSS_REGION_TOP - 1) // 2
    return per_group + len(groups) * pairs * 2 * 2 * 2


def search_cost(
    largest: Sequence[FleetModel],
    groups: Sequence[int],
    replicas: int,
    trials: int,
    short: int,
    workers: int | None = None,
) -> Cost:
    """Memory and work of a search whose largest mix per group is ``largest``."""
    count = mixes(groups, replicas)
    if not largest:
        return Cost(count * MIX_BYTES, 0.0)
    screening = [estimate(m, short, workers=workers) for m in largest]
    full = [estimate(m, max(trials, FINALIST_TRIALS), workers=workers) for m in largest]
    events = (
        count * max(e.events for e in screening)
        + STAGE2 * trials * max(e.events_per_trial for e in full)
        + FINALISTS * max(e.events_per_trial for e in full) * max(FINALIST_TRIALS - trials, 0)
    )
    memory = (
        max(e.bytes for e in full)  # the largest run while it ends
        + count * (MIX_BYTES + short * KEPT_BYTES)  # every mix, and its screening results
        + (STAGE2 * trials + FINALISTS * FINALIST_TRIALS) * KEPT_BYTES
    )
    return Cost(memory, events)


def check_search(
    fleet: FleetFile,
    template: FleetModel,
    heads: Sequence[PoolModel],
    groups: Sequence[int],
    replicas: int,
    short_of: Callable[[int], int],
    *,
    replicas_field: str,
    trials_field: str,
    budget: float | None = None,
    workers: int | None = None,
) -> None:
    """Refuse a search that would not fit this machine, before its mixes are built.

    Parameters
    ----------
    fleet
        The request (workload, trials).
    template
        The engine's input with every candidate pool resolved (fleet-wide settings).
    heads
        Each group's cheapest spot pool (its largest mix puts every replica there).
    groups
        Each group's number of spot zones.
    replicas
        The largest fleet size the search tries.
    short_of
        The screening run's trials for given full trials.
    replicas_field, trials_field
        Where the replicas and the trials were given: ``--replicas`` or
        ``workload.replicas``, ``--trials`` or ``trials``.
    budget, workers
        Bytes available and threads (defaults: this machine's).

    Raises
    ------
    UsageError
        Naming ``--replicas`` or ``--trials`` (or the file's key) and the largest value
        that fits.
    """
    spares = max(OVERPROVISION_LEVELS)

    def largest(size: int) -> list[FleetModel]:
        return [
            dataclasses.replace(
                template,
                pools=(dataclasses.replace(pool, count=size),),
                overprovision=spares,
                on_preemption="relaunch-same-pool",
                load=None,
            )
            for pool in heads
        ]

    trials = fleet.trials

    def with_replicas(size: float) -> Cost:
        models = largest(int(size))
        return search_cost(models, groups, int(size), trials, short_of(trials), workers)

    def with_trials(n: int) -> Cost:
        return search_cost(largest(replicas), groups, replicas, n, short_of(n), workers)

    knobs = [trials_knob(trials, trials_field.startswith("--"), fleet.origin, with_trials)]
    if template.load is None:  # under a load the sizes come from it, not from a flag
        knobs.append(
            Knob(
                origin=COMMAND_LINE if replicas_field.startswith("--") else fleet.origin,
                field=replicas_field,
                value=replicas,
                show=lambda n: f"{number_text(int(n))} replicas",
                lowest=1,
                cost=with_replicas,
            )
        )
    check_run(knobs, with_replicas(replicas), budget=budget)
