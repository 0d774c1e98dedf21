"""Replay policies over real traces: fleets of zones, windows, start offsets, metrics.

A *fleet* is a set of zone traces replayed together: by default the traces of one
folder and instance type (one study's zones, e.g. SpotHedge ``AWS1``), or of one file
for formats that hold a whole experiment (SpotServe logs, probe logs). Its series are
aligned at their first tick and cut to the shortest.

Each policy is replayed over ``offsets`` windows of ``window`` ticks, starting at
evenly spaced ticks of the fleet's span; for each window the zone order (which zone is
*first*, the home of the single-pool policies, where round-robin starts) is drawn at
random with ``seed``, the same for every policy, as the SpotHedge simulator does.

Room for our instances: a zone trace of capacity *c* holds up to ``max(c, S)`` of our
``S`` spot slots when all *c* are up, ``room = floor(count × max(c, S) / c)``. So a 0/1
trace (one probe instance) means the zone has room for the whole fleet or none, as in
the SpotHedge simulator's treatment of 1-node traces, and a trace of 4 or 16 nodes is
used as is when the fleet is no larger.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from spotadvisor.bands import HOURS_PER_MONTH
from spotadvisor.errors import UsageError
from spotadvisor.replay.policies import (
    POLICIES,
    Policy,
    ReplayConfig,
    WindowOutcome,
    replay_window,
)
from spotadvisor.traces import ZoneTrace


@dataclass(frozen=True)
class Fleet:
    """Zone traces replayed together.

    Attributes
    ----------
    label
        Name for outputs, e.g. ``AWS1`` or ``aws-10-26-2022 p2.xlarge``.
    traces
        The zones, in the order read.
    gap_seconds
        Common tick length [s].
    counts
        Aligned series, shape (zones, ticks), cut to the shortest [-].
    """

    label: str
    traces: tuple[ZoneTrace, ...]
    gap_seconds: float
    counts: npt.NDArray[np.int64]

    @property
    def hours(self) -> float:
        """Span of the aligned series [h]."""
        return float(self.counts.shape[1] * self.gap_seconds / 3600.0)

    @property
    def instance(self) -> str | None:
        """The instance type of the zones (they share it)."""
        return self.traces[0].instance

    def room(self, slots: int) -> npt.NDArray[np.int64]:
        """Spot instances of ours each zone can hold at each tick (module doc) [-]."""
        capacity = np.array([max(t.capacity, 1) for t in self.traces], dtype=np.float64)
        scale = np.maximum(capacity, slots) / capacity
        return np.floor(self.counts * scale[:, None] + 1e-9).astype(np.int64)


def _group_key(trace: ZoneTrace) -> tuple[str, str | None]:
    one_per_file = trace.kind in ("tick", "raw")
    return (str(Path(trace.source).parent) if one_per_file else trace.source, trace.instance)


def _check_gaps(members: Sequence[ZoneTrace]) -> None:
    """Raise when the traces of one fleet have different gaps, naming one file per gap."""
    by_gap: dict[float, ZoneTrace] = {}
    for trace in members:
        by_gap.setdefault(trace.gap_seconds, trace)
    if len(by_gap) < 2:
        return
    sources = [t.source for t in by_gap.values()]
    try:
        folder = os.path.commonpath([str(Path(s).parent) for s in sources])
    except ValueError:  # relative and absolute paths mixed
        folder = ""

    def shown(trace: ZoneTrace) -> str:
        name = os.path.relpath(trace.source, folder) if folder else trace.source
        return f"{name} ({trace.name})" if trace.kind == "probes" else name

    gaps = ", ".join(
        f"{shown(t)} has {g:g} s" for g, t in sorted(by_gap.items(), key=lambda kv: -kv[0])
    )
    raise UsageError(
        f"the traces have different gaps: {gaps}",
        file=folder or None,
        fix="replay traces with the same tick together, or drop --one-fleet",
    )


def group_traces(traces: Sequence[ZoneTrace], *, one_fleet: bool = False) -> list[Fleet]:
    """Group zone traces into fleets (module doc), or all into one with ``one_fleet``.

    Raises
    ------
    UsageError
        When the traces of a fleet have different gaps.
    """
    groups: dict[tuple[str, str | None], list[ZoneTrace]] = {}
    for trace in traces:
        groups.setdefault(("all", None) if one_fleet else _group_key(trace), []).append(trace)
    folders: dict[str, int] = {}
    for where, _ in groups:
        folders[where] = folders.get(where, 0) + 1
    fleets = []
    for (where, instance), members in groups.items():
        _check_gaps(members)
        ticks = min(len(t.counts) for t in members)
        if one_fleet:
            label = "all traces"
        elif members[0].kind == "probes":
            label = f"{Path(where).stem} {instance}"
        else:
            # a file in the working folder has "." as its folder: name the folder itself
            folder = Path(where).resolve() if where in ("", ".") else Path(where)
            label = folder.name if members[0].kind in ("tick", "raw") else Path(where).stem
            if folders[where] > 1:
                label = f"{label} {instance}"
        counts = np.stack([t.counts[:ticks] for t in members])
        fleets.append(Fleet(label, tuple(members), members[0].gap_seconds, counts))
    return fleets


@dataclass(frozen=True)
class PolicyResult:
    """One policy over all windows of a fleet; arrays hold one value per window.

    Attributes
    ----------
    policy
        The policy.
    availability
        Fraction of the window with at least N replicas ready [0-1].
    cost
        ``(spot h × spot price ratio + on-demand h) / (N × window h)`` [-]: cost relative
        to running N on-demand replicas.
    preemptions_per_month
        Preemptions per spot replica-month held [1/month] (NaN without spot hours).
    on_demand_share
        On-demand share of all instance-hours billed [0-1].
    outages
        Outages per window [-].
    preemptions
        Preemptions per window [-].
    """

    policy: Policy
    availability: npt.NDArray[np.float64]
    cost: npt.NDArray[np.float64]
    preemptions_per_month: npt.NDArray[np.float64]
    on_demand_share: npt.NDArray[np.float64]
    outages: npt.NDArray[np.float64]
    preemptions: npt.NDArray[np.float64]


@dataclass(frozen=True)
class FleetReplay:
    """Every policy replayed over one fleet.

    Attributes
    ----------
    fleet
        The fleet.
    config
        Replicas, prices, cold start and fallback.
    window_ticks
        Window length [ticks].
    starts
        First tick of each window.
    results
        One per policy, in the order asked.
    """

    fleet: Fleet
    config: ReplayConfig
    window_ticks: int
    starts: tuple[int, ...]
    results: tuple[PolicyResult, ...]

    @property
    def window_hours(self) -> float:
        """Window length [h]."""
        return self.window_ticks * self.fleet.gap_seconds / 3600.0


def _metrics(
    policy: Policy, outcomes: Sequence[WindowOutcome], config: ReplayConfig
) -> PolicyResult:
    def arr(values: Sequence[float]) -> npt.NDArray[np.float64]:
        return np.asarray(values, dtype=np.float64)

    ratio = config.spot_price_ratio
    months = [o.spot_seconds / 3600.0 / HOURS_PER_MONTH for o in outcomes]
    return PolicyResult(
        policy=policy,
        availability=arr([o.available_seconds / o.seconds for o in outcomes]),
        cost=arr(
            [
                (o.spot_seconds * ratio + o.on_demand_seconds) / (config.replicas * o.seconds)
                for o in outcomes
            ]
        ),
        preemptions_per_month=arr(
            [
                o.preemptions / m if m > 0 else math.nan
                for o, m in zip(outcomes, months, strict=True)
            ]
        ),
        on_demand_share=arr(
            [
                o.on_demand_seconds / (o.spot_seconds + o.on_demand_seconds)
                if o.spot_seconds + o.on_demand_seconds > 0
                else 0.0
                for o in outcomes
            ]
        ),
        outages=arr([o.outages for o in outcomes]),
        preemptions=arr([o.preemptions for o in outcomes]),
    )


def window_starts(ticks: int, window: int, offsets: int) -> tuple[int, ...]:
    """First ticks of ``offsets`` windows of ``window`` ticks, evenly spread over ``ticks``."""
    last = max(ticks - window, 0)
    return tuple(round(float(x)) for x in np.linspace(0, last, offsets))


def replay_fleet(
    fleet: Fleet,
    config: ReplayConfig,
    *,
    policies: Sequence[Policy] = POLICIES,
    window_seconds: float = 7 * 86400.0,
    offsets: int = 20,
    seed: int = 0,
) -> FleetReplay:
    """Replay ``policies`` over ``offsets`` windows of a fleet.

    Parameters
    ----------
    fleet
        From :func:`group_traces`.
    config
        Replicas, overprovision, cold start, fallback, spot price ratio.
    policies
        Which policies, in output order.
    window_seconds
        Window length [s]; cut to the fleet's span when longer.
    offsets
        Windows per policy (start offsets) [-].
    seed
        Seed of the zone orders.

    Returns
    -------
    FleetReplay
        Per-window metrics of each policy.

    Raises
    ------
    UsageError
        On replicas < 1, negative overprovision, window <= 0 or offsets < 1.
    """
    if config.replicas < 1 or config.overprovision < 0 or config.on_demand_replicas < 0:
        raise UsageError(
            "replicas must be >= 1, overprovision and on-demand replicas >= 0",
            field="--replicas",
        )
    if window_seconds <= 0 or offsets < 1:
        raise UsageError("the window must be > 0 and offsets >= 1", field="--window")
    ticks = fleet.counts.shape[1]
    window = max(1, min(ticks, round(window_seconds / fleet.gap_seconds)))
    starts = window_starts(ticks, window, offsets)
    rng = np.random.default_rng(seed)
    orders = [rng.permutation(fleet.counts.shape[0]) for _ in starts]
    room = fleet.room(config.spot_target)
    windows = [
        room[order, start : start + window] for order, start in zip(orders, starts, strict=True)
    ]
    results = tuple(
        _metrics(
            policy,
            [replay_window(policy, w, fleet.gap_seconds, config) for w in windows],
            config,
        )
        for policy in policies
    )
    return FleetReplay(fleet, config, window, starts, results)
