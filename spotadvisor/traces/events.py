"""SpotServe node event logs (shared data README 4d).

Two forms of the same thing, nodes joining and leaving a spot cluster:

- the event log CSV, no header: ``time_ms,add|remove,nodeN``, one node a line;
- the ``trace_seg`` JSON lines: ``[t_ms, "add"|"remove"|"DONE", {"nodes": [...]}]``,
  several nodes a line; ``DONE`` ends the segment and other kinds (``"other"``, which
  carries a throughput target) change no node.

:func:`alive_counts` samples the nodes alive on a fixed tick grid from time 0.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

EVENT_LINE = re.compile(r"^\d+,(?:add|remove),\S+$")
"""A line of the event log CSV (used to sniff the format)."""


@dataclass(frozen=True)
class NodeEvent:
    """One node joining or leaving.

    Attributes
    ----------
    time_ms
        Time since the start of the log [ms].
    kind
        ``add`` or ``remove``.
    node
        Node name.
    """

    time_ms: int
    kind: Literal["add", "remove"]
    node: str


def parse_event_log(text: str) -> list[NodeEvent]:
    """Events of a ``time_ms,add|remove,nodeN`` log, in file order.

    Raises
    ------
    ValueError
        On a malformed line (message starts with its number).
    """
    events: list[NodeEvent] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        parts = line.split(",")
        if len(parts) != 3 or parts[1] not in ("add", "remove") or not parts[0].isdigit():
            raise ValueError(f"line {number}: expected 'time_ms,add|remove,node', got {line!r}")
        kind: Literal["add", "remove"] = "add" if parts[1] == "add" else "remove"
        events.append(NodeEvent(int(parts[0]), kind, parts[2]))
    return events


def parse_segments(text: str) -> tuple[list[NodeEvent], int | None]:
    """Events of a ``trace_seg`` JSON-lines file, and the ``DONE`` time [ms] if any.

    Raises
    ------
    ValueError
        On a line that is not ``[t_ms, kind, {"nodes": [...]}]``.
    """
    events: list[NodeEvent] = []
    done: int | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        try:
            time_ms, kind, payload = json.loads(line)
            nodes = [str(n) for n in payload["nodes"]]
            time_ms = int(time_ms)
        except (ValueError, TypeError, KeyError) as exc:
            raise ValueError(
                f"line {number}: expected [t_ms, kind, {{'nodes': [...]}}], got {line!r}"
            ) from exc
        if kind == "DONE":
            done = time_ms if done is None else min(done, time_ms)
        elif kind in ("add", "remove"):
            events.extend(NodeEvent(time_ms, kind, node) for node in nodes)
    return events, done


def _check_order(events: Sequence[NodeEvent]) -> None:
    """Raise ValueError unless times never go back and every node is added before removal."""
    alive: set[str] = set()
    last = 0
    for number, event in enumerate(events, start=1):
        if event.time_ms < last:
            raise ValueError(f"event {number}: time {event.time_ms} ms goes back")
        last = event.time_ms
        if event.kind == "add":
            if event.node in alive:
                raise ValueError(f"event {number}: {event.node} added twice")
            alive.add(event.node)
        else:
            if event.node not in alive:
                raise ValueError(f"event {number}: {event.node} removed while not alive")
            alive.remove(event.node)


def max_concurrent(events: Sequence[NodeEvent]) -> int:
    """Most nodes alive at once, after all events of the same instant [-]."""
    _check_order(events)
    alive = best = 0
    for i, event in enumerate(events):
        alive += 1 if event.kind == "add" else -1
        if i + 1 == len(events) or events[i + 1].time_ms != event.time_ms:
            best = max(best, alive)
    return best


def alive_counts(
    events: Sequence[NodeEvent], gap_seconds: float, end_ms: int | None = None
) -> npt.NDArray[np.int64]:
    """Nodes alive at each tick ``i × gap`` from time 0 [-].

    A tick sees every event at or before it (an event between two ticks shows from the
    next one; a node that lives less than a tick may never show). The ticks run up to
    the last event, or over ``[0, end_ms)`` when an end (``DONE``) is given.

    Raises
    ------
    ValueError
        When events go back in time or a node is removed while not alive.
    """
    _check_order(events)
    gap_ms = gap_seconds * 1000.0
    last = max((e.time_ms for e in events), default=0)
    ticks = max(1, math.ceil(end_ms / gap_ms)) if end_ms is not None else int(last // gap_ms) + 1
    times = np.array([e.time_ms for e in events], dtype=np.float64)
    steps = np.array([1 if e.kind == "add" else -1 for e in events], dtype=np.int64)
    level = np.cumsum(steps)
    # The level after the last event at or before each tick (0 before the first).
    index = np.searchsorted(times, np.arange(ticks) * gap_ms, side="right") - 1
    return np.where(index >= 0, level[np.maximum(index, 0)] if len(level) else 0, 0).astype(
        np.int64
    )
