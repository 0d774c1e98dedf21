"""``spotadvisor simulate``: Monte Carlo cost and SLA risk of one concrete fleet."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from spotadvisor.catalog import offers_view
from spotadvisor.config import FleetFile, limits, load_fleet
from spotadvisor.config.load import check_load_steps
from spotadvisor.config.scenarios import ScenarioSpec, not_applicable
from spotadvisor.config.values import Where
from spotadvisor.fleet import ResolvedFleet, resolve_fleet
from spotadvisor.schema import INTERRUPTION_HISTORY, OFFERS, SPOT_PRICE_HISTORY
from spotadvisor.seeds import Seed, SeedOrigin, choose_seed
from spotadvisor.sim.engine import simulate
from spotadvisor.sim.results import Metrics, TrialResults, summarize
from spotadvisor.sources import TableData, load_table
from spotadvisor.store import Store
from spotadvisor.whatif import ScenarioOutcome, run_scenarios


@dataclass(frozen=True)
class SimulationReport:
    """A simulated fleet: inputs as resolved, per-trial results and their summary.

    Attributes
    ----------
    resolved
        The fleet file resolved against data (inputs and their sources).
    seed
        The seed used (echoed so a run can be repeated exactly).
    seed_origin
        ``given`` (``--seed`` or the file's ``seed:``) or ``derived`` from the fleet and
        the data (:func:`fleet_seed`).
    trials
        Per-trial outcomes.
    metrics
        The summary with standard errors.
    data
        The tables the inputs came from.
    generated_at
        When the report was made (UTC): for the data's age on stderr, not part of the
        JSON (which must not change from run to run).
    scenarios
        Failure what-ifs run against this fleet (same seed and trials), if any.
    """

    resolved: ResolvedFleet
    seed: int
    trials: TrialResults
    metrics: Metrics
    data: tuple[TableData, ...]
    generated_at: datetime
    scenarios: tuple[ScenarioOutcome, ...] = ()
    seed_origin: SeedOrigin = "given"


def with_overrides(
    fleet: FleetFile,
    *,
    trials: int | None = None,
    horizon_hours: float | None = None,
    seed: int | None = None,
) -> FleetFile:
    """The fleet with command-line values in place of the file's."""
    return dataclasses.replace(
        fleet,
        trials=fleet.trials if trials is None else trials,
        horizon_hours=fleet.horizon_hours if horizon_hours is None else horizon_hours,
        seed=fleet.seed if seed is None else seed,
    )


def fleet_seed(fleet: FleetFile, data: Sequence[TableData], resolved: ResolvedFleet) -> Seed:
    """The fleet's seed when it has one, else the one derived from what decides the result.

    Derived (``spotadvisor.seeds``) from the fleet after the command-line overrides and
    ``--params`` (where the file lives, its what-ifs and ``--scenario`` left out: they
    run with the baseline's seed, so adding one does not move the baseline), the digest
    of every table read, and the resolved engine input.
    """
    request = dataclasses.replace(fleet, origin="", seed=None, scenarios=())
    return choose_seed(fleet.seed, "simulate", request, [t.digest for t in data], resolved.model)


def simulate_fleet(
    store: Store,
    path: Path,
    *,
    trials: int | None = None,
    horizon_hours: float | None = None,
    seed: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    adjust: Callable[[FleetFile], FleetFile] | None = None,
    scenarios: Sequence[ScenarioSpec] = (),
) -> SimulationReport:
    """Load a fleet file, fill its gaps from the store or snapshot, simulate, summarise.

    ``adjust`` rewrites the parsed fleet first (``--params``: fitted risk and hazards).
    Without a seed (argument or file), the seed is derived (:func:`fleet_seed`): the
    same fleet on the same data gives the same result.
    ``scenarios`` (``--scenario``) run after the file's own ``scenarios:``, each with the
    baseline's seed and trials.

    A run that would not fit this machine (memory, or more work than
    :data:`~spotadvisor.config.limits.MAX_EVENTS`) is refused before it starts, naming
    the input to turn down (:func:`~spotadvisor.config.limits.check_fleet`).
    """
    if trials is not None:
        limits.check_trials(trials)
    if horizon_hours is not None:
        limits.check_horizon(horizon_hours)
    fleet = with_overrides(load_fleet(path), trials=trials, horizon_hours=horizon_hours, seed=seed)
    if horizon_hours is not None:  # a CSV load over a longer horizon has more steps
        check_load_steps(
            fleet.workload.load, fleet.horizon_hours, Where(fleet.origin, "workload.load")
        )
    if adjust is not None:
        fleet = adjust(fleet)
    offers = load_table(store, OFFERS)
    bands = load_table(store, INTERRUPTION_HISTORY)
    data = [offers, bands]
    history = None
    if fleet.spot_prices == "history":
        history_data = load_table(store, SPOT_PRICE_HISTORY)
        data.append(history_data)
        history = history_data.frame
    snapshot_sources = offers.snapshot_sources | bands.snapshot_sources

    def label(source: str) -> str:
        return "embedded snapshot" if source in snapshot_sources else "store"

    resolved = resolve_fleet(
        fleet, offers_view(offers.frame, bands.frame), history, data_label=label
    )
    what_ifs = (*fleet.scenarios, *scenarios)
    limits.check_fleet(
        fleet,
        resolved.model,
        trials_from_cli=trials is not None,
        horizon_from_cli=horizon_hours is not None,
        runs=1 + len(what_ifs),
    )
    chosen = fleet_seed(fleet, data, resolved)
    used_seed = chosen.value
    results = simulate(
        resolved.model, fleet.trials, np.random.default_rng(used_seed), on_progress=on_progress
    )
    metrics = summarize(results, fleet.sla.availability)
    outcomes = run_scenarios(resolved.model, what_ifs, results, seed=used_seed, sla=fleet.sla)
    skipped = not_applicable(what_ifs, resolved.model.pools)
    resolved = dataclasses.replace(resolved, notes=(*resolved.notes, *skipped))
    return SimulationReport(
        resolved,
        used_seed,
        results,
        metrics,
        tuple(data),
        datetime.now(UTC),
        outcomes,
        seed_origin=chosen.origin,
    )
