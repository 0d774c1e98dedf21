"""Load a plan and its baseline, simulate both alike, compare them, apply the policy.

Both fleets are simulated with the same seed and number of trials (common random
numbers): trial *i* of the plan and of the baseline see the same draws wherever their
pools line up, so the per-trial differences are mostly the change, not the dice. Each
difference is reported with the standard error of the paired differences and called
significant beyond two of them.
"""

from __future__ import annotations

import dataclasses
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

from spotadvisor.bands import HOURS_PER_MONTH, UNKNOWN_BAND, parse_band
from spotadvisor.catalog import offers_view
from spotadvisor.config import FleetFile, load_fleet, parse_fleet
from spotadvisor.config.scenarios import ScenarioSpec, expand, not_applicable
from spotadvisor.config.yamlfile import load_yaml_text
from spotadvisor.errors import DataError, UsageError
from spotadvisor.fleet import ResolvedFleet, input_dates, resolve_fleet
from spotadvisor.gate.policy import GatePolicy
from spotadvisor.gate.rules import Figures, RuleResult, ScenarioFigure, evaluate
from spotadvisor.schema import INTERRUPTION_HISTORY, OFFERS
from spotadvisor.sim.engine import simulate
from spotadvisor.sim.results import Metrics, TrialResults, summarize
from spotadvisor.sources import TableData, load_table
from spotadvisor.store import Store
from spotadvisor.whatif import ScenarioOutcome, run_scenarios

GATE_SEED = 20240601  # used when the plan fixes no seed: a gate must not change run to run
SIGNIFICANT_SE = 2.0


@dataclass(frozen=True)
class Side:
    """One fleet of the comparison, simulated.

    Attributes
    ----------
    label
        The file, or ``REF:path`` for a baseline read from git.
    resolved
        Its inputs as resolved against data.
    trials
        Per-trial outcomes.
    metrics
        Their summary.
    figures
        What the rules look at.
    """

    label: str
    resolved: ResolvedFleet
    trials: TrialResults
    metrics: Metrics
    figures: Figures


@dataclass(frozen=True)
class Change:
    """A figure of both fleets and their paired difference.

    Attributes
    ----------
    name
        What is compared, e.g. ``monthly cost``.
    unit
        ``usd``, ``probability`` or ``count``.
    baseline, plan
        The two values (baseline None for a new fleet).
    difference, stderr
        Mean paired difference (plan - baseline) and its standard error.
    significant
        True when the difference is more than two standard errors from zero.
    """

    name: str
    unit: str
    baseline: float | None
    plan: float
    difference: float | None
    stderr: float | None
    significant: bool


@dataclass(frozen=True)
class GateReport:
    """Everything a gate run found.

    Attributes
    ----------
    plan, baseline
        The two sides (baseline None for a new fleet).
    baseline_note
        Why there is no baseline, or where it came from.
    changes
        Figure by figure comparison.
    results
        Every rule applied, failing rules first.
    policy
        The limits used.
    data
        The tables the inputs came from.
    data_as_of
        The oldest date among the data the plan's inputs came from (None if the file
        gave every input).
    seed, trials
        Of both simulations.
    generated_at
        When the gate ran (UTC).
    scenarios
        The plan under each failure what-if (``--scenario``, ``must_survive``).
    notes
        What the user should know, e.g. spot what-ifs an all-on-demand plan survives as is.
    """

    plan: Side
    baseline: Side | None
    baseline_note: str
    changes: tuple[Change, ...]
    results: tuple[RuleResult, ...]
    policy: GatePolicy
    data: tuple[TableData, ...]
    data_as_of: datetime | None
    seed: int
    trials: int
    generated_at: datetime
    scenarios: tuple[ScenarioOutcome, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def failed(self) -> tuple[RuleResult, ...]:
        """Failing rules that the plan broke."""
        return tuple(r for r in self.results if r.level == "fail" and not r.passed)

    @property
    def warnings(self) -> tuple[RuleResult, ...]:
        """Warn-only rules that the plan broke."""
        return tuple(r for r in self.results if r.level == "warn" and not r.passed)

    @property
    def passed(self) -> bool:
        """True when no failing rule was broken."""
        return not self.failed


def read_baseline_from_git(plan_path: Path, ref: str) -> tuple[FleetFile | None, str]:
    """The plan's path at git ``ref``, or None when the file does not exist there.

    Raises
    ------
    UsageError
        When the plan is not in a git work tree or ``ref`` is not a revision.
    """
    folder = plan_path.resolve().parent
    inside = _git(folder, "rev-parse", "--is-inside-work-tree")
    if inside.returncode != 0:
        raise UsageError(
            "not inside a git repository",
            file=str(plan_path),
            field="--baseline-ref",
            fix="run the gate from a clone, or give --baseline FILE",
        )
    if _git(folder, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").returncode != 0:
        raise UsageError(
            f"{ref!r} is not a git revision here",
            field="--baseline-ref",
            fix="fetch it first (e.g. git fetch origin main) or check the name",
        )
    label = f"{ref}:{plan_path.name}"
    shown = _git(folder, "show", f"{ref}:./{plan_path.name}")
    if shown.returncode != 0:
        return None, f"new fleet: {plan_path.name} does not exist at {ref}"
    doc = load_yaml_text(shown.stdout, label)
    return parse_fleet(doc, origin=label), f"baseline: {label}"


def _git(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["git", *args], cwd=folder, capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        raise UsageError(
            "git is not installed",
            field="--baseline-ref",
            fix="install git or give --baseline FILE",
        ) from None


def run_gate(
    store: Store,
    plan_path: Path,
    *,
    policy: GatePolicy,
    baseline_path: Path | None = None,
    baseline_ref: str | None = None,
    scenarios: tuple[ScenarioSpec, ...] = (),
) -> GateReport:
    """Simulate the plan and its baseline alike, compare them and apply ``policy``.

    Raises
    ------
    UsageError
        For bad files or options (both a baseline file and a ref).
    DataError
        When the data the plan relies on is older than the policy's ``max_data_age``.
    """
    if baseline_path is not None and baseline_ref is not None:
        raise UsageError(
            "give --baseline or --baseline-ref, not both",
            field="--baseline-ref",
            fix="drop one of them",
        )
    plan = load_fleet(plan_path)
    seed = plan.seed if plan.seed is not None else GATE_SEED
    plan = dataclasses.replace(plan, seed=seed)
    baseline: FleetFile | None = None
    note = "no baseline given: the plan is judged on its own"
    if baseline_path is not None:
        baseline, note = load_fleet(baseline_path), f"baseline: {baseline_path}"
    elif baseline_ref is not None:
        baseline, note = read_baseline_from_git(plan_path, baseline_ref)
    if baseline is not None:  # simulated exactly like the plan
        baseline = dataclasses.replace(
            baseline, seed=seed, trials=plan.trials, horizon_hours=plan.horizon_hours
        )

    offers = load_table(store, OFFERS)
    bands = load_table(store, INTERRUPTION_HISTORY)
    view = offers_view(offers.frame, bands.frame)
    snapshot = offers.snapshot_sources | bands.snapshot_sources

    def label(source: str) -> str:
        return "embedded snapshot" if source in snapshot else "store"

    plan_side = _side(str(plan_path), plan, view, label, seed)
    base_side = (
        _side(baseline.origin, baseline, view, label, seed) if baseline is not None else None
    )
    data_as_of = _oldest_input(plan_side.resolved)
    now = datetime.now(UTC)
    if policy.max_data_age_hours is not None and data_as_of is not None:
        newest = _newest_input(plan_side.resolved)
        if newest is not None and newest > now:  # a negative age says nothing about freshness
            raise DataError(
                f"some prices or bands the plan relies on are dated {newest:%Y-%m-%d %H:%M} "
                "UTC, later than now, so their age cannot be checked against max_data_age",
                file=str(plan_path),
                fix="import that data again (spotadvisor data import dates it no later "
                "than now; pass --as-of to say when it was true) or collect fresh data",
            )
        age_hours = (now - data_as_of).total_seconds() / 3600
        if age_hours > policy.max_data_age_hours:
            raise DataError(
                f"the prices and bands the plan relies on are {age_hours / 24:.0f} days old "
                f"(as of {data_as_of:%Y-%m-%d}), over max_data_age of {policy.max_data_age_hours / 24:g} days",
                file=str(plan_path),
                fix="collect fresh data (spotadvisor collect) or import it, then run the gate again",
            )
    outcomes, figures = _scenarios(plan_side, plan, scenarios, policy, seed)
    plan_side = dataclasses.replace(
        plan_side, figures=dataclasses.replace(plan_side.figures, scenarios=figures)
    )
    results = evaluate(plan_side.figures, base_side.figures if base_side else None, policy)
    return GateReport(
        plan=plan_side,
        baseline=base_side,
        baseline_note=note,
        changes=_changes(plan_side, base_side),
        results=tuple(results),
        policy=policy,
        data=(offers, bands),
        data_as_of=data_as_of,
        seed=seed,
        trials=plan.trials,
        generated_at=now,
        scenarios=outcomes,
        notes=(
            *not_applicable(asked_and_rules(scenarios, policy), plan_side.resolved.model.pools),
            *_without_baseline(policy, base_side),
        ),
    )


def _without_baseline(policy: GatePolicy, baseline: Side | None) -> list[str]:
    """Notes for increase rules that a plan without a baseline cannot be held to."""
    if baseline is not None:
        return []
    given = [
        key
        for key, limit in (
            ("max_increase", policy.fail.max_increase),
            ("warn_max_increase", policy.warn.max_increase),
        )
        if limit is not None
    ]
    return [
        f"{key} not applied: there is no baseline to compare with (give --baseline or "
        "--baseline-ref)"
        for key in given
    ]


def asked_and_rules(asked: tuple[ScenarioSpec, ...], policy: GatePolicy) -> list[ScenarioSpec]:
    """The ``--scenario`` what-ifs and every ``must_survive`` rule's, in that order."""
    return [*asked, *policy.fail.must_survive, *policy.warn.must_survive]


def _scenarios(
    side: Side,
    plan: FleetFile,
    asked: tuple[ScenarioSpec, ...],
    policy: GatePolicy,
    seed: int,
) -> tuple[tuple[ScenarioOutcome, ...], tuple[ScenarioFigure, ...]]:
    """Run ``--scenario`` and every ``must_survive`` what-if once, ``any`` expanded."""
    sources: dict[str, list[str]] = {}
    specs: list[ScenarioSpec] = []
    pools = side.resolved.model.pools
    for spec in asked_and_rules(asked, policy):
        for one in expand([spec], pools):
            sources.setdefault(one.text, []).append(spec.text)
            if all(s.text != one.text for s in specs):
                specs.append(one)
    if not specs:
        return (), ()
    outcomes = run_scenarios(side.resolved.model, specs, side.trials, seed=seed, sla=plan.sla)
    figures = tuple(
        ScenarioFigure(
            source=source,
            label=o.spec.label,
            breach_probability=o.metrics.sla_breach_probability.value,
            budget=plan.sla.max_breach_probability,
            recovery_hours=o.recovery_hours.value,
            survives=o.survives,
        )
        for o in outcomes
        for source in dict.fromkeys(sources[o.spec.text])
    )
    return outcomes, figures


def _side(label: str, fleet: FleetFile, view: object, data_label: object, seed: int) -> Side:
    resolved = resolve_fleet(fleet, view, data_label=data_label)  # type: ignore[arg-type]
    trials = simulate(resolved.model, fleet.trials, np.random.default_rng(seed))
    metrics = summarize(trials, fleet.sla.availability)
    bands = []
    for pool in resolved.pools:
        m = pool.model
        if m.market != "spot":
            continue
        if m.hazard.rate_per_hour is not None:
            band = "exact rate"
        else:
            parsed = parse_band(f"{100 * m.hazard.p_low:g}-{100 * m.hazard.p_high:g}%")
            band = UNKNOWN_BAND if m.hazard.p_high >= 1.0 else (parsed.label if parsed else "?")
            if m.hazard.p_low == 0 and parsed is not None:
                band = f"<{100 * m.hazard.p_high:g}%"
        bands.append((m.name, band))
    figures = Figures(
        monthly_cost=metrics.cost_mean.value * HOURS_PER_MONTH / fleet.horizon_hours,
        breach_probability=metrics.sla_breach_probability.value,
        availability=metrics.availability_mean.value,
        spot_bands=tuple(bands),
    )
    return Side(label, resolved, trials, metrics, figures)


def _oldest_input(resolved: ResolvedFleet) -> datetime | None:
    dates = [d for pool in resolved.pools for d in input_dates(pool).values()]
    return min(dates) if dates else None


def _newest_input(resolved: ResolvedFleet) -> datetime | None:
    dates = [d for pool in resolved.pools for d in input_dates(pool).values()]
    return max(dates) if dates else None


def _paired(plan: npt.NDArray[np.float64], base: npt.NDArray[np.float64]) -> tuple[float, float]:
    diff = plan - base
    stderr = float(diff.std(ddof=1) / np.sqrt(diff.size)) if diff.size > 1 else float("nan")
    return float(diff.mean()), stderr


def _changes(plan: Side, base: Side | None) -> tuple[Change, ...]:
    month = HOURS_PER_MONTH / plan.resolved.fleet.horizon_hours
    target = plan.resolved.fleet.sla.availability
    series: list[tuple[str, str, npt.NDArray[np.float64], npt.NDArray[np.float64] | None]] = [
        (
            "monthly cost",
            "usd",
            plan.trials.cost * month,
            base.trials.cost * month if base else None,
        ),
        (
            "SLA breach probability",
            "probability",
            (plan.trials.availability < target).astype(np.float64),
            (base.trials.availability < target).astype(np.float64) if base else None,
        ),
        (
            "availability",
            "probability",
            plan.trials.availability,
            base.trials.availability if base else None,
        ),
        (
            "interruptions per month",
            "count",
            plan.trials.interruptions * month,
            base.trials.interruptions * month if base else None,
        ),
        (
            "outages per month",
            "count",
            plan.trials.outages * month,
            base.trials.outages * month if base else None,
        ),
    ]
    out = []
    for name, unit, p, b in series:
        if b is None:
            out.append(Change(name, unit, None, float(p.mean()), None, None, False))
            continue
        mean, se = _paired(p, b)
        significant = abs(mean) > SIGNIFICANT_SE * se if se > 0 else mean != 0.0
        out.append(Change(name, unit, float(b.mean()), float(p.mean()), mean, se, significant))
    return tuple(out)
