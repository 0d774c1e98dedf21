"""How large a request may be: hard caps on absurd values, and what fits this machine.

Two kinds of limits, both :class:`~spotadvisor.errors.UsageError` (exit code 2) naming
the input and the largest value accepted:

- **Hard caps** (``MAX_*`` below) hold on every machine. They refuse values no real
  fleet has (a pool of a billion replicas, a ten-thousand-year horizon) while the file
  is parsed, with its file and key path, before anything is read or simulated.
- **What fits here** (:func:`check_run`): the engine's :func:`~spotadvisor.sim.engine.estimate`
  of a run's memory is compared with the memory available to this process
  (:func:`available_memory`), and its work with :data:`MAX_EVENTS`. A run that would
  not fit is refused before it starts, naming the input to turn down (``--trials``,
  ``horizon``, ``fleet[2].count``, ``--replicas``) and the largest value that fits.

The engine's memory does not grow with the trials beyond their result rows (trials run
in chunks of 1,000 with buffers reused from one trial to the next), so the trials bound
the time; the slots, the horizon and the interruption rates bound the memory of a trial.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from spotadvisor.bands import HOURS_PER_MONTH
from spotadvisor.config.specs import FleetFile
from spotadvisor.config.values import MAX_DURATION_HOURS, Where, number_text
from spotadvisor.errors import COMMAND_LINE, UsageError
from spotadvisor.sim.model import FleetModel, Hazard, PoolModel

# --- hard caps -----------------------------------------------------------------------------

#: Replicas in one pool, ``workload.replicas``, ``overprovision``, a load's peak,
#: ``recommend --replicas``: no cloud quota comes near 100,000 GPU replicas in one place,
#: and a trial's memory and time grow with them.
MAX_REPLICAS = 100_000
#: Trials of one run: 10^8 trials give a breach probability to 0.002 points; their
#: result rows alone take 30 GB.
MAX_TRIALS = 100_000_000
#: ``horizon``: ten years. A trial's gaps and strikes grow with it; a longer period is a
#: typo (months are ``30d``, not ``30w``).
MAX_HORIZON_HOURS = 3650 * 24.0
#: ``monthly_rate`` and ``bulk_reclaims_per_month``: one event a minute.
MAX_RATE_PER_MONTH = 43_800.0
#: ``mean_time_to_preemption``: at least a minute (the same rate as above).
MIN_MEAN_TIME_TO_PREEMPTION_HOURS = 1 / 60
#: ``price_per_hour`` and ``on_demand_price_per_hour`` [USD per instance-hour]: the
#: largest GPU instances cost about 100.
MAX_PRICE_PER_HOUR = 1_000_000.0
#: ``request_rate`` [requests/s per replica].
MAX_REQUEST_RATE = 1_000_000.0
#: ``request_duration`` [s]: a day; requests still running at a notice are lost.
MAX_REQUEST_DURATION_S = 86_400.0
#: ``gpu_memory_gb_per_replica`` [GB].
MAX_GPU_MEMORY_GB = 10_000_000.0
#: ``seed``: the engine's seeds are 64-bit.
MAX_SEED = 2**64 - 1
#: Steps of a load's demand curve (a CSV row each, or an hour of a profile): 10^7 steps
#: are 19 years of minutes and take about 10 GB to plan.
MAX_DEMAND_STEPS = 10_000_000
#: ``calibrate --bootstrap``: replicates for the correlation intervals.
MAX_BOOTSTRAP = 100_000
#: ``replay --offsets``: windows replayed per policy.
MAX_OFFSETS = 100_000

# --- what fits this machine --------------------------------------------------------------

#: Work refused [events, see spotadvisor.sim.engine]: 10^10 events take 2 minutes to an
#: hour of one core of the development machine (10-400 ns each); beyond that a run is a
#: mistake, since 10^6 trials already give a breach probability to 0.02 points.
MAX_EVENTS = 1e10
#: Share of the available memory a run may plan for: the rest is for the libraries'
#: own growth, the rendering, and the other processes of the machine.
MEMORY_SHARE = 0.8
#: Memory assumed when the system does not tell (no /proc/meminfo, no sysconf).
DEFAULT_MEMORY_BYTES = 4 * 10**9


def available_memory() -> int:
    """Memory this process can still use [bytes]: the system's, within its cgroup's limit.

    ``MemAvailable`` of /proc/meminfo (else ``os.sysconf``), and the cgroup (v2 or v1)
    limit less its usage when a container sets one. No psutil.
    """
    found: list[int] = []
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) * 1024)
                break
    if not found:
        with contextlib.suppress(ValueError, OSError, AttributeError):
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    for limit, usage in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
        (
            "/sys/fs/cgroup/memory/memory.limit_in_bytes",
            "/sys/fs/cgroup/memory/memory.usage_in_bytes",
        ),
    ):
        try:
            cap = int(Path(limit).read_text().strip())
            used = int(Path(usage).read_text().strip())
        except (OSError, ValueError):
            continue
        if cap < 1 << 60:  # v1 says "no limit" with a huge number, v2 with "max"
            found.append(max(cap - used, 0))
    return min(found) if found else DEFAULT_MEMORY_BYTES


def memory_budget() -> float:
    """Bytes a run may plan for: :data:`MEMORY_SHARE` of :func:`available_memory`."""
    return MEMORY_SHARE * available_memory()


def size_text(size: float) -> str:
    """Bytes for people: ``31 GB``, ``950 MB``, ``2.5 GB``."""
    if size >= 10**12:
        return f"{size / 10**12:,.1f} TB"
    if size >= 10**10:
        return f"{size / 10**9:,.0f} GB"
    if size >= 10**9:
        return f"{size / 10**9:.1f} GB"
    return f"{max(size, 0) / 10**6:,.0f} MB"


def horizon_text(hours: float) -> str:
    """A horizon as a fleet file writes it: ``30d``, ``36h``, ``1.5h``."""
    if hours >= 24 and (hours / 24).is_integer():
        return f"{hours / 24:.0f}d"
    if hours >= 24:
        return f"{hours / 24:.4g}d"
    return f"{hours:.4g}h"


# --- naming the inputs ---------------------------------------------------------------------


@dataclass(frozen=True)
class Cost:
    """Peak memory [bytes] and work [events] of a request's runs."""

    memory: float
    events: float


@dataclass(frozen=True)
class Knob:
    """An input a user can turn down, and how the run looks with another value of it.

    Attributes
    ----------
    origin
        The file it was given in, or :data:`~spotadvisor.errors.COMMAND_LINE`.
    field
        Its key path or flag: ``fleet[2].count``, ``horizon``, ``--trials``.
    value
        Its value.
    show
        How to write a value of it: ``1,000,000,000`` trials, ``30d``.
    lowest
        The smallest value it may take.
    cost
        What the request costs with this input at a value (the others as given).
    whole
        Whole values only (counts, trials).
    """

    origin: str
    field: str
    value: float
    show: Callable[[float], str]
    lowest: float
    cost: Callable[[float], Cost]
    whole: bool = True


def cost_of(runs: Sequence[tuple[FleetModel, int]], *, workers: int | None = None) -> Cost:
    """The memory and work of ``runs`` done one after another, their results kept.

    Memory is the largest run's own peak (:attr:`RunEstimate.bytes`) plus the results
    every run leaves behind; work adds up.
    """
    from spotadvisor.sim.engine import KEPT_BYTES, estimate

    estimates = [estimate(model, trials, workers=workers) for model, trials in runs]
    if not estimates:
        return Cost(0.0, 0.0)
    kept = sum(e.trials for e in estimates) * KEPT_BYTES
    return Cost(max(e.bytes for e in estimates) + kept, sum(e.events for e in estimates))


def trials_knob(
    trials: int, from_command_line: bool, origin: str, cost: Callable[[int], Cost]
) -> Knob:
    """``--trials`` or the file's ``trials:``."""
    return Knob(
        origin=COMMAND_LINE if from_command_line else origin,
        field="--trials" if from_command_line else "trials",
        value=trials,
        show=lambda n: f"{number_text(int(n))} trials",
        lowest=1,
        cost=lambda n: cost(int(n)),
    )


def horizon_knob(
    hours: float, from_command_line: bool, origin: str, cost: Callable[[float], Cost]
) -> Knob:
    """``--horizon`` or the file's ``horizon:``."""
    return Knob(
        origin=COMMAND_LINE if from_command_line else origin,
        field="--horizon" if from_command_line else "horizon",
        value=hours,
        show=lambda h: f"a horizon of {horizon_text(h)}",
        lowest=1.0,
        cost=cost,
        whole=False,
    )


def check_run(knobs: Sequence[Knob], cost: Cost, *, budget: float | None = None) -> None:
    """Refuse a request that would not fit in memory or take more than MAX_EVENTS.

    Parameters
    ----------
    knobs
        The inputs the user gave that size the request, in the order to blame them
        when several could be turned down as easily.
    cost
        What the request as given costs (:func:`cost_of` its runs).
    budget
        Bytes available (default: :func:`memory_budget`).

    Raises
    ------
    UsageError
        Naming the input that is too large for this machine and the largest value of
        it that fits.
    """
    if cost.events > MAX_EVENTS:
        raise _too_large(knobs, "events", MAX_EVENTS, cost)
    room = memory_budget() if budget is None else budget
    if cost.memory > room:
        raise _too_large(knobs, "memory", room, cost)


def _measure(knob: Knob, value: float, what: str) -> float:
    cost = knob.cost(value)
    return cost.events if what == "events" else cost.memory


def largest_fit(knob: Knob, what: str, limit: float) -> float | None:
    """The largest value of ``knob`` whose cost stays within ``limit``; None if none does."""
    low = knob.lowest
    if _measure(knob, low, what) > limit:
        return None
    high = knob.value
    for _ in range(200):  # costs grow with each input: bisect between a fit and a misfit
        if knob.whole and high - low <= 1:
            break
        if not knob.whole and high - low <= max(low * 1e-3, 1e-3):
            break
        middle = math.floor((low + high) / 2) if knob.whole else (low + high) / 2
        if _measure(knob, middle, what) > limit:
            high = middle
        else:
            low = middle
    return low


def _round_down(value: float, whole: bool) -> float:
    """Two significant digits, rounded down, so the value shown still fits."""
    if value <= 0:
        return value
    step = 10 ** max(math.floor(math.log10(value)) - 1, 0 if whole else -3)
    return math.floor(value / step) * step


def _too_large(knobs: Sequence[Knob], what: str, limit: float, cost: Cost) -> UsageError:
    """The error for the input that needs the smallest cut to fit."""
    best: tuple[float, Knob, float] | None = None
    for knob in knobs:
        if knob.value <= knob.lowest:
            continue
        fit = largest_fit(knob, what, limit)
        if fit is None:
            continue
        share = fit / knob.value  # the share of its value it may keep: larger is a smaller cut
        if best is None or share > best[0]:
            best = (share, knob, fit)
    if what == "events":
        need = f"about {cost.events:.1e} events of work"
        have = f"more than the {MAX_EVENTS:.0e} spotadvisor takes on (an hour or more)"
    else:
        need = f"about {size_text(cost.memory)} of memory"
        have = f"more than the {size_text(limit)} free for it here"
    if best is None:
        names = ", ".join(k.field for k in knobs) or "the fleet"
        return UsageError(
            f"this run needs {need}, {have}",
            file=knobs[0].origin if knobs else None,
            fix=f"simulate fewer or smaller fleets: turn down {names}",
        )
    _, knob, fit = best
    fix = f"the largest that fits is about {knob.show(_round_down(fit, knob.whole))}"
    if knob.field.endswith("trials"):
        fix += "; a few thousand trials give a breach probability to about 0.5 points"
    elif what == "memory":
        fix += "; fewer replicas, a shorter horizon or lower interruption rates need less"
    return UsageError(
        f"{knob.show(knob.value)} would need {need}, {have}",
        file=knob.origin,
        field=knob.field,
        fix=fix,
    )


# --- fleets ---------------------------------------------------------------------------------


def check_trials(trials: int, field: str = "--trials") -> None:
    """Refuse ``--trials`` above MAX_TRIALS (a file's ``trials:`` is checked as parsed)."""
    if trials > MAX_TRIALS:
        raise Where(COMMAND_LINE, field).error(
            f"{number_text(trials)} trials is more than spotadvisor runs "
            "(10^6 trials already give a breach probability to 0.02 points)",
            f"write at most {number_text(MAX_TRIALS)}",
        )


def check_horizon(hours: float, field: str = "--horizon", what: str = "a horizon") -> None:
    """Refuse a horizon given on the command line above MAX_HORIZON_HOURS."""
    if hours > MAX_HORIZON_HOURS:
        raise Where(COMMAND_LINE, field).error(
            f"{what} of {horizon_text(hours)} is more than spotadvisor simulates "
            "(at most 3650d, ten years)",
            "give one period, e.g. 30d for a month or 365d for a year",
        )


def check_replicas(replicas: int, field: str) -> None:
    """Refuse a replica count given on the command line above MAX_REPLICAS."""
    if replicas > MAX_REPLICAS:
        raise Where(COMMAND_LINE, field).error(
            f"{number_text(replicas)} replicas is more than spotadvisor simulates "
            "(no quota comes near it, and a trial's memory and time grow with it)",
            f"write at most {number_text(MAX_REPLICAS)}",
        )


def rough_model(fleet: FleetFile) -> FleetModel:
    """The engine's model of ``fleet`` as far as its file tells, for :func:`check_fleet`.

    Without the offers data: a spot pool with no ``interruption:`` gets the worst band
    (``>20%``, as the data gives a pool with no published band) and one instance per
    replica; prices are left at 1.
    """
    risk = fleet.risk
    pools = []
    for spec in fleet.pools:
        own = spec.risk
        override = spec.interruption
        hazard = Hazard.band(0.2, 1.0)
        if override is not None and override.monthly_rate is not None:
            hazard = Hazard.exact(override.monthly_rate / HOURS_PER_MONTH)
        elif override is not None and override.mean_time_to_preemption_hours:
            hazard = Hazard.exact(1.0 / override.mean_time_to_preemption_hours)
        spot = spec.market == "spot"
        pools.append(
            PoolModel(
                name=f"fleet[{spec.index}]",
                cloud=spec.cloud,
                region=spec.region,
                zone=spec.zone,
                market=spec.market,
                count=spec.count,
                price_per_hour=1.0,
                on_demand_price_per_hour=1.0,
                hazard=hazard if spot else Hazard(),
                bulk_reclaims_per_month=(
                    own.bulk_reclaims_per_month
                    if own and own.bulk_reclaims_per_month is not None
                    else risk.bulk_reclaims_per_month
                )
                if spot
                else 0.0,
                bulk_fraction=(
                    own.bulk_fraction
                    if own and own.bulk_fraction is not None
                    else risk.bulk_fraction
                ),
                stockout_hours=(
                    own.stockout_hours
                    if own and own.stockout_hours is not None
                    else risk.stockout_hours
                ),
            )
        )
    return FleetModel(
        pools=tuple(pools),
        replicas=fleet.workload.replicas,
        horizon_hours=fleet.horizon_hours,
        cold_start_hours=fleet.workload.cold_start_hours,
        on_preemption=fleet.policy.on_preemption,
        fallback_after_hours=fleet.policy.fallback_after_hours,
        overprovision=fleet.policy.overprovision if any(p.market == "spot" for p in pools) else 0,
        zone_correlation=risk.zone_correlation,
        region_correlation=risk.region_correlation,
    )


def check_fleet(
    fleet: FleetFile,
    model: FleetModel | None = None,
    *,
    trials_from_cli: bool = False,
    horizon_from_cli: bool = False,
    horizon_field: str | None = None,
    runs: int = 1,
    budget: float | None = None,
    workers: int | None = None,
) -> None:
    """Refuse a fleet whose simulation would not fit this machine (:func:`check_run`).

    Parameters
    ----------
    fleet
        The fleet file, after the command line's overrides.
    model
        Its engine model, resolved against the data; None: :func:`rough_model`.
    trials_from_cli, horizon_from_cli
        Whether ``--trials`` and ``--horizon`` gave them (the error names the flag).
    horizon_field
        The flag that set the horizon when it is not ``--horizon`` (``--to``).
    runs
        Runs of the model the command makes (the baseline and each what-if).
    """
    base = model if model is not None else rough_model(fleet)
    trials = fleet.trials

    def with_trials(n: int) -> Cost:
        return cost_of([(base, n)] * runs, workers=workers)

    def with_horizon(hours: float) -> Cost:
        return cost_of(
            [(dataclasses.replace(base, horizon_hours=hours), trials)] * runs, workers=workers
        )

    knobs = [trials_knob(trials, trials_from_cli, fleet.origin, with_trials)]
    horizon = horizon_knob(fleet.horizon_hours, horizon_from_cli, fleet.origin, with_horizon)
    if horizon_field is not None:
        horizon = dataclasses.replace(
            horizon,
            origin=COMMAND_LINE,
            field=horizon_field,
            show=lambda h: f"a window of {horizon_text(h)}",
        )
    knobs.append(horizon)
    for position, pool in enumerate(base.pools):
        if pool.market != "spot" or pool.count < 1:
            continue
        index = fleet.pools[position].index if position < len(fleet.pools) else position
        knobs.append(_count_knob(fleet.origin, index, position, base, trials, runs, workers))
    if base.overprovision > 0:
        knobs.append(_overprovision_knob(fleet.origin, base, trials, runs, workers))
    check_run(knobs, with_trials(trials), budget=budget)


def _count_knob(
    origin: str,
    index: int,
    position: int,
    base: FleetModel,
    trials: int,
    runs: int,
    workers: int | None,
) -> Knob:
    def with_count(n: float) -> Cost:
        pools = list(base.pools)
        pools[position] = dataclasses.replace(pools[position], count=int(n))
        model = dataclasses.replace(base, pools=tuple(pools))
        return cost_of([(model, trials)] * runs, workers=workers)

    return Knob(
        origin=origin,
        field=f"fleet[{index}].count",
        value=base.pools[position].count,
        show=lambda n: f"a pool of {number_text(int(n))} replicas",
        lowest=1,
        cost=with_count,
    )


def _overprovision_knob(
    origin: str, base: FleetModel, trials: int, runs: int, workers: int | None
) -> Knob:
    def with_spares(n: float) -> Cost:
        model = dataclasses.replace(base, overprovision=int(n))
        return cost_of([(model, trials)] * runs, workers=workers)

    return Knob(
        origin=origin,
        field="policy.overprovision",
        value=base.overprovision,
        show=lambda n: f"{number_text(int(n))} spare replicas",
        lowest=0,
        cost=with_spares,
    )


# --- load curves, before they are built ------------------------------------------------------


def demand_steps(profile: bool, interval_hours: float, horizon_hours: float) -> float:
    """Steps of a load's demand curve over the horizon: per hour (twice across a time
    zone's half hours) for a profile, per CSV row for a series."""
    if profile:
        return 2 * math.ceil(horizon_hours) + 1
    return math.ceil(horizon_hours / interval_hours)


def check_demand_steps(
    steps: float, *, origin: str, field: str, interval_text: str, horizon_hours: float
) -> None:
    """Refuse a load whose demand curve over the horizon has more than MAX_DEMAND_STEPS."""
    if steps <= MAX_DEMAND_STEPS:
        return
    raise UsageError(
        f"a load of one step per {interval_text} over a horizon of {horizon_text(horizon_hours)} "
        f"makes {number_text(int(steps))} demand steps, more than the "
        f"{number_text(MAX_DEMAND_STEPS)} a run can plan",
        file=origin,
        field=field,
        fix="give a coarser interval (e.g. 5m or 1h) or a shorter horizon",
    )


__all__ = [
    "MAX_BOOTSTRAP",
    "MAX_DEMAND_STEPS",
    "MAX_DURATION_HOURS",
    "MAX_EVENTS",
    "MAX_GPU_MEMORY_GB",
    "MAX_HORIZON_HOURS",
    "MAX_OFFSETS",
    "MAX_PRICE_PER_HOUR",
    "MAX_RATE_PER_MONTH",
    "MAX_REPLICAS",
    "MAX_REQUEST_DURATION_S",
    "MAX_REQUEST_RATE",
    "MAX_SEED",
    "MAX_TRIALS",
    "MEMORY_SHARE",
    "MIN_MEAN_TIME_TO_PREEMPTION_HOURS",
    "Cost",
    "Knob",
    "available_memory",
    "check_demand_steps",
    "check_run",
    "cost_of",
    "demand_steps",
    "horizon_knob",
    "largest_fit",
    "memory_budget",
    "size_text",
    "trials_knob",
]
