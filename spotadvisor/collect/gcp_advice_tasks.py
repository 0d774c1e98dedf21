"""The ``preemption`` and ``capacity`` tasks of ``collect gcp`` (Compute Engine's advice API).

``advice_tasks`` makes one task per source and (region, machine type) for the known
zones ``advice_pairs`` finds; each task calls the advice API zone by zone
(``collect.gcp_clients``) and parses the answers (``collect.gcp_advice``):
``preemption`` into measured ``interruption_history`` rows, ``capacity`` into zone
scores. ``measured_pairs`` and ``with_capacity_scores`` carry them into the collection's
finish step, and ``advice_notes`` writes the report's lines on both sources. A task
whose answers hold nothing where earlier data exists (measured rows of ``gcp-advice``,
capacity scores in offers: its ``Scope``) fails, and that data is kept.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from spotadvisor.collect.gcp_advice import (
    ADVICE_SOURCE,
    SCORE_COLUMNS,
    ZoneCapacity,
    ZonePreemption,
    apply_placement_scores,
    capacity_frame,
    measured_history_rows,
    parse_capacity_advice,
    parse_preemption_history,
)
from spotadvisor.collect.gcp_clients import (
    COMPUTE_HOST,
    Clients,
    endpoint_url,
    get_capacity_advice,
    get_capacity_history,
    transient_retry,
)
from spotadvisor.collect.gcp_errors import AdviceCallError, classify, scrub_ids
from spotadvisor.collect.gcp_options import ADVICE_SOURCES, SOURCES, GcpOptions
from spotadvisor.collect.run import Scope, Task, TaskOutput, TaskResult
from spotadvisor.importers.base import ImportBatch
from spotadvisor.schema import INTERRUPTION_HISTORY, OFFERS


def _zone_not_served(exc: BaseException) -> bool:
    """True for an answer about one zone only (HTTP 400 or 404: e.g. the machine type is
    not offered there); anything else (403, timeouts, 5xx after retries) fails the task."""
    return getattr(exc, "code", None) in (400, 404) and isinstance(
        getattr(exc, "message", None), str
    )


@dataclass(frozen=True)
class _AdviceOutput:
    """What an advice task found: capacity scores (``SCORE_COLUMNS``) and notes."""

    scores: pd.DataFrame
    notes: tuple[str, ...]

    def __len__(self) -> int:  # the task's row count
        return len(self.scores)


def _per_zone(
    machine_type: str, zones: tuple[str, ...], call: Callable[[str], dict[str, Any]]
) -> tuple[list[tuple[str, dict[str, Any]]], list[str]]:
    """``call`` for every zone; a zone the API does not serve is noted, unless none is."""
    answers: list[tuple[str, dict[str, Any]]] = []
    notes: list[str] = []
    first: BaseException | None = None
    for zone in zones:
        try:
            answers.append((zone, call(zone)))
        except Exception as exc:
            if not _zone_not_served(exc):
                raise AdviceCallError(machine_type, exc) from exc
            first = first or exc
            notes.append(f"{zone} {machine_type}: no answer ({classify(exc)})")
    if not answers and first is not None:
        raise AdviceCallError(machine_type, first) from first
    return answers, notes


def _advice_where(options: GcpOptions) -> str:
    return endpoint_url(options.compute_endpoint, COMPUTE_HOST)


def _preemption_task(
    clients: Clients,
    options: GcpOptions,
    project: str,
    region: str,
    machine_type: str,
    zones: tuple[str, ...],
) -> Task:
    def work() -> TaskOutput:
        retry = transient_retry(options.retry_deadline_s)
        client = clients.advice()

        def call(zone: str) -> dict[str, Any]:
            return get_capacity_history(
                client,
                project=project,
                region=region,
                zone=zone,
                machine_type=machine_type,
                timeout_s=options.timeout_s,
                retry=retry,
            )

        answers, notes = _per_zone(machine_type, zones, call)
        measured: list[ZonePreemption] = []
        for zone, answer in answers:
            found, zone_notes = parse_preemption_history(
                answer, zone=zone, machine_type=machine_type
            )
            notes += zone_notes
            if found is not None:
                measured.append(found)
        rows = measured_history_rows({(region, machine_type): measured}, as_of=options.now)
        batches = (
            [
                ImportBatch(
                    INTERRUPTION_HISTORY,
                    rows,
                    ADVICE_SOURCE,
                    f"gcp advice.capacityHistory {region} {machine_type}",
                    tuple(notes),
                )
            ]
            if not rows.empty
            else []
        )
        empty = pd.DataFrame(columns=SCORE_COLUMNS)
        return TaskOutput(
            batches,
            data=_AdviceOutput(empty, tuple(notes)),
            answer=f"capacityHistory returned no preemption history of {machine_type}",
        )

    return Task(
        "preemption",
        region,
        work,
        scrub_ids(
            f"AdviceClient.capacity_history({project}, {region}) at {_advice_where(options)}: "
            f"Spot preemption history of {machine_type} in {', '.join(zones)}"
        ),
        Scope(
            INTERRUPTION_HISTORY,
            "gcp",
            (region,),
            (machine_type,),
            sources=(ADVICE_SOURCE,),
            what="measured preemption rows",
        ),
    )


def _capacity_task(
    clients: Clients,
    options: GcpOptions,
    project: str,
    region: str,
    machine_type: str,
    zones: tuple[str, ...],
) -> Task:
    size = options.capacity_size

    def work() -> TaskOutput:
        retry = transient_retry(options.retry_deadline_s)
        client = clients.advice()

        def call(zone: str) -> dict[str, Any]:
            return get_capacity_advice(
                client,
                project=project,
                region=region,
                zone=zone,
                machine_type=machine_type,
                size=size,
                timeout_s=options.timeout_s,
                retry=retry,
            )

        answers, notes = _per_zone(machine_type, zones, call)
        advice: list[ZoneCapacity] = []
        for zone, answer in answers:
            found, zone_notes = parse_capacity_advice(answer, zone=zone, machine_type=machine_type)
            notes += zone_notes
            if found is not None:
                advice.append(found)
        return TaskOutput(
            data=_AdviceOutput(capacity_frame(region, advice), tuple(notes)),
            answer=f"capacity advice returned no recommendation for {machine_type}",
        )

    return Task(
        "capacity",
        region,
        work,
        scrub_ids(
            f"AdviceClient.capacity({project}, {region}) at {_advice_where(options)}: "
            f"obtainability of {size} Spot {machine_type} per zone in {', '.join(zones)}"
        ),
        Scope(
            OFFERS,
            "gcp",
            (region,),
            (machine_type,),
            ("placement_score",),
            what="capacity scores",
        ),
    )


def advice_pairs(
    options: GcpOptions, zones: pd.DataFrame
) -> dict[tuple[str, str], tuple[str, ...]]:
    """(region, machine type) -> its known zones, for the regions and machine types asked.

    n1 hosts with attached GPUs are left out: the advice API does not cover them (and
    the offers data knows no zones for them).
    """
    wanted = set(options.machine_types)
    pairs: dict[tuple[str, str], set[str]] = {}
    for region, zone, machine in zip(
        zones["region"], zones["zone"], zones["instance_type"], strict=True
    ):
        if machine not in wanted or "+" in str(machine):
            continue
        if options.regions and region not in options.regions:
            continue
        pairs.setdefault((str(region), str(machine)), set()).add(str(zone))
    return {key: tuple(sorted(found)) for key, found in sorted(pairs.items())}


def advice_tasks(
    clients: Clients, options: GcpOptions, project: str, zones: pd.DataFrame
) -> list[Task]:
    """The ``preemption`` and ``capacity`` tasks asked for, one per source and
    ``advice_pairs`` entry."""
    tasks: list[Task] = []
    pairs = advice_pairs(options, zones)
    for source, make in (("preemption", _preemption_task), ("capacity", _capacity_task)):
        if source in options.sources:
            tasks += [
                make(clients, options, project, region, machine, found)
                for (region, machine), found in pairs.items()
            ]
    return tasks


def advice_notes(
    options: GcpOptions,
    tasks: list[Task],
    results: tuple[TaskResult, ...] | list[TaskResult],
    zones: pd.DataFrame,
) -> tuple[str, ...]:
    """The report's lines on the advice sources: skipped (no project, no zones), zones
    without history, capacity scores left unwritten."""
    asked = sorted(options.sources & ADVICE_SOURCES, key=SOURCES.index)
    if not asked:
        return ()
    if not {t.source for t in tasks} & ADVICE_SOURCES:
        names = " and ".join(asked)
        if not advice_pairs(options, zones):
            return (f"{names} skipped: no known zone of the regions and machine types asked",)
        return (
            f"{names} skipped: the advice API needs a project; give --project or set the "
            "Application Default Credentials project (gcloud config set project ID)",
        )
    notes: list[str] = []
    done = [
        (r.source, r.output.data)
        for r in results
        if r.ok and isinstance(r.output.data, _AdviceOutput)
    ]
    silent = [
        n
        for source, found in done
        if source == "preemption"
        for n in found.notes
        if "no preemption history" in n
    ]
    if silent:
        shown = "; ".join(n.split(":", 1)[0] for n in silent[:5])
        more = f" and {len(silent) - 5} more" if len(silent) > 5 else ""
        notes.append(
            f"preemption: {len(silent)} zone(s) have no preemption history, so no measured "
            f"rate: {shown}{more}"
        )
    scored = sum(len(found) for source, found in done if source == "capacity")
    priced = any(r.source == "prices" and r.ok for r in results)
    if scored and not priced:
        notes.append(
            f"capacity: {scored} zone score(s) not written: scores go into this run's offers "
            "and no prices were collected (add --sources prices, as collect aws needs spot "
            "prices for placement scores)"
        )
    return tuple(notes)


def measured_pairs(results: list[TaskResult]) -> set[tuple[str, str]]:
    """(region, machine type) of the measured rows the ``preemption`` tasks produced."""
    return {
        (str(r), str(t))
        for result in results
        if result.source == "preemption" and result.ok
        for batch in result.output.batches
        for r, t in zip(batch.frame["region"], batch.frame["instance_type"], strict=True)
    }


def with_capacity_scores(
    batches: list[ImportBatch], results: list[TaskResult]
) -> list[ImportBatch]:
    """The offers batch with this run's capacity scores as ``placement_score``."""
    frames = [
        r.output.data.scores
        for r in results
        if r.source == "capacity" and r.ok and isinstance(r.output.data, _AdviceOutput)
    ]
    scores = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if scores.empty:
        return batches
    out = []
    for batch in batches:
        if batch.table is not OFFERS:
            out.append(batch)
            continue
        frame, applied = apply_placement_scores(batch.frame, scores)
        note = (
            f"placement_score of {applied} offer(s) from capacity advice: 1 + 9 x "
            f"obtainability at {len(scores)} zone(s)"
        )
        out.append(dataclasses.replace(batch, frame=frame, notes=(*batch.notes, note)))
    return out
