"""Fit the GCP Spot interruption prior from public preemption traces in ../shared/data.

GCP publishes no interruption frequency for Spot VMs, so spotadvisor uses a *prior*:
a band of monthly interruption probabilities fitted here from three public trace
families (README sections 4a, 4b and 4e of the shared data):

``spot-2023-c3``
    ``spot-traces-cant-be-late/preemption/1-node/gcp-04-30-2023/``: one c3-highcpu-88
    Spot VM per zone (4 zones), 30 s ticks, 45.6 h; a value is 1 while a VM is alive.
``spot-2023-a100``
    ``spot-traces-spothedge/data/GCP1/``: up to 4 A100 Spot VMs per zone (6 zones, one
    never launched), 150 s ticks, 32 h; a value is the number alive.
``preemptible-2020-gpu`` (a check only, not used for the band)
    ``spot-traces-training-on-a-dime/gcp_preemptible_availability_persistent_*.log``:
    *preemptible* (not Spot) VMs with 1 or 8 K80/P100/V100 GPUs in 3 zones, March 2020,
    probed every 10-15 min.

Method
------
Preemptions are taken as a Poisson process with a constant hazard λ per instance
[1/h]. For each (trace, zone) the script counts events *k* and exposure *T*
(instance-hours alive) and gives the maximum-likelihood estimate λ̂ = k / T with the
exact (Garwood) two-sided 90 % Poisson interval

    λ_lo = χ²(0.05; 2k) / (2T),   λ_hi = χ²(0.95; 2k + 2) / (2T)   (λ_lo = 0 for k = 0),

computed here without scipy (bisection on the Poisson CDF). Counts and exposures add
up across zones, so a family or pool is fitted the same way from the sums. A rate
becomes a monthly interruption probability with p = 1 − exp(−730 λ), as in
docs/model.md.

- Tick traces: an event is every unit a value drops between consecutive ticks (a drop
  from 4 to 0 is 4 preemptions); exposure is ``gap × Σ values`` (each tick stands for
  one gap). A preemption and relaunch inside one tick (30 s or 150 s) is invisible.
- Probe logs: a lifetime runs from "Created instance X" to the first "Instance X not
  running" after it; the termination happened between the last "running" probe and
  that line, and its time is taken as their midpoint. Exposure is creation to that
  midpoint. Preemptible VMs are stopped at 24 h of age whatever the demand, so a
  termination first seen at an age of at least ``LIMIT_AGE_HOURS`` (23 h; no lifetime
  in the logs ends between 18.7 h and 23.8 h) is **censoring**, not a preemption; its
  exposure counts, its event does not. Lifetimes still running when a log ends are
  censored at their last "running" probe. "creation failed" probes are availability,
  not exposure, and are ignored. An instance is one VM, whatever its GPU count.

Decision rule for the band
--------------------------
The prior describes GCP *Spot* VMs today, so only the 2023 Spot traces decide it:

1. pool the two 2023 Spot families (all their zones): k = Σ events, T = Σ hours;
2. take the exact 90 % interval [λ_lo, λ_hi] and map it to monthly probabilities;
3. round outward to 5 % steps: the lower bound to the largest multiple of 5 % strictly
   below 100 p_lo (so the band always has width), the upper bound to the smallest
   multiple of 5 % at or above 100 p_hi, at most 100 %.

The same rule applied to each 2023 family alone and to the 2020 preemptible check is
printed too; all give the same band here. The data are thin (45.6 h and 32 h of
calendar time, one CPU machine type and one GPU machine type, spring 2023) and the
zones differ far more than Poisson noise allows (see the dispersion test), which is
why the prior is a wide band and not a point. It is also saturated: measured rates
of 10-300 preemptions per instance-month all map to p ≈ 100 %, and a band of monthly
probabilities cannot carry a mean hazard above about (1 − ln(1 − p_lo)) / 730 per hour.
docs/model.md ("GCP interruption prior") discusses what that means for the engine.

Usage::

    python data/fit_gcp_prior.py [SHARED_DATA_DIR]

SHARED_DATA_DIR defaults to ../shared/data next to the project. The numbers printed
must match ``spotadvisor.priors.GCP_SPOT_PRIOR`` (tests/test_priors.py checks it).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from spotadvisor.bands import HOURS_PER_MONTH
from spotadvisor.priors import Prior

# The trace parsers live in the package (spotadvisor.traces); re-exported here for the tests.
from spotadvisor.traces import parse_tick_trace, tick_counts, zone_and_machine
from spotadvisor.traces.probes import Lifetime, parse_probe_log

__all__ = ["Lifetime", "parse_probe_log", "parse_tick_trace", "tick_counts", "zone_and_machine"]

ROOT = Path(__file__).resolve().parents[1]

CONFIDENCE = 0.90
"""Two-sided coverage of the exact Poisson intervals."""
LIMIT_AGE_HOURS = 23.0
"""Age [h] from which a preemptible VM's termination is its 24 h limit (censoring)."""
BAND_STEP_PCT = 5
"""Band bounds are multiples of this [%]."""
SOURCE = "prior:gcp-spot-traces-2023"

C3_DIR = "spot-traces-cant-be-late/preemption/1-node/gcp-04-30-2023"
A100_DIR = "spot-traces-spothedge/data/GCP1"
PREEMPTIBLE_GLOB = "spot-traces-training-on-a-dime/gcp_preemptible_availability_persistent_*.log"

C3 = "spot-2023-c3"
A100 = "spot-2023-a100"
PREEMPTIBLE = "preemptible-2020-gpu"
SPOT_FAMILIES = (C3, A100)


# --- counts -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Count:
    """Preemptions and exposure of one (trace, zone), or of a pool of them.

    Attributes
    ----------
    family
        Trace family (``spot-2023-c3``, ``spot-2023-a100``, ``preemptible-2020-gpu``) or
        the name of a pool.
    trace
        Trace the row comes from (file stem or log date); empty for pools.
    zone
        GCP zone; empty for pools.
    machine
        Machine or accelerator, e.g. ``c3-88`` or ``v100x1``.
    events
        Preemptions counted [-].
    hours
        Exposure: instance-hours alive [h].
    censored
        Lifetimes ended by the preemptible 24 h limit, counted as censoring [-].
    series
        Zone series with exposure in the row (1 for a zone row with exposure) [-].
    """

    family: str
    trace: str
    zone: str
    machine: str
    events: int
    hours: float
    censored: int = 0
    series: int = 1


def synchronous_drops(series: Mapping[str, Sequence[int]], min_zones: int = 3) -> int:
    """Drops at ticks where at least ``min_zones`` series drop at once [-].

    A reclaim that strikes several zones (regions, even) at the same tick may be a
    bulk event or a gap in the collection; the count is reported as a sensitivity.
    """
    length = min((len(v) for v in series.values()), default=0)
    total = 0
    for i in range(1, length):
        drops = [v[i - 1] - v[i] for v in series.values() if v[i] < v[i - 1]]
        if len(drops) >= min_zones:
            total += sum(drops)
    return total


# --- probe logs (training on a dime, 2020) -------------------------------------------------
# Parsed by spotadvisor.traces.probes (parse_probe_log, Lifetime).


def lifetime_outcome(life: Lifetime) -> tuple[bool, float, bool]:
    """Whether a lifetime ended in a preemption, its exposure, and whether the 24 h limit ended it.

    Returns
    -------
    tuple[bool, float, bool]
        ``(preempted, hours, limit)``: exposure [h] runs from creation to the midpoint
        between the last "running" probe and the "not running" one (to the last
        "running" probe when the log ends first). A termination first seen at an age
        of ``LIMIT_AGE_HOURS`` or more is the 24 h limit: censored, not preempted.
    """
    if life.ended is None:
        return False, (life.last_running - life.created).total_seconds() / 3600.0, False
    end = life.last_running + (life.ended - life.last_running) / 2
    hours = (end - life.created).total_seconds() / 3600.0
    age_seen = (life.ended - life.created).total_seconds() / 3600.0
    limit = age_seen >= LIMIT_AGE_HOURS
    return not limit, hours, limit


def lifetime_counts(lifetimes: Iterable[Lifetime], family: str, trace: str) -> list[Count]:
    """One :class:`Count` per (zone, machine) of a probe log, sorted by zone and machine."""
    sums: dict[tuple[str, str], tuple[int, float, int]] = {}
    for life in lifetimes:
        preempted, hours, limit = lifetime_outcome(life)
        events, exposure, censored = sums.get((life.zone, life.machine), (0, 0.0, 0))
        sums[life.zone, life.machine] = (
            events + preempted,
            exposure + hours,
            censored + limit,
        )
    return [
        Count(family, trace, zone, machine, events, hours, censored, int(hours > 0.0))
        for (zone, machine), (events, hours, censored) in sorted(sums.items())
    ]


# --- statistics ----------------------------------------------------------------------------


def poisson_cdf(k: int, mean: float) -> float:
    """P(X <= k) for X ~ Poisson(mean) [-]."""
    if k < 0:
        return 0.0
    if mean == 0.0:
        return 1.0
    log_mean = math.log(mean)
    return min(
        1.0, math.fsum(math.exp(i * log_mean - mean - math.lgamma(i + 1)) for i in range(k + 1))
    )


def _solve_decreasing(f: Callable[[float], float], target: float) -> float:
    """The x >= 0 with f(x) = target, for f decreasing from f(0) > target to 0."""
    lo, hi = 0.0, 1.0
    while f(hi) > target:
        lo, hi = hi, 2.0 * hi
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if f(mid) > target:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-15 * hi:
            break
    return 0.5 * (lo + hi)


def poisson_interval(events: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Exact (Garwood) two-sided interval of a Poisson mean, given ``events`` counted.

    Equal to ``chi2.ppf(a/2, 2k)/2`` and ``chi2.ppf(1 - a/2, 2k + 2)/2`` with
    ``a = 1 - confidence``; the lower bound is 0 when ``events == 0``.

    Returns
    -------
    tuple[float, float]
        Bounds of the expected number of events [-].
    """
    if events < 0 or not 0.0 < confidence < 1.0:
        raise ValueError("events must be >= 0 and confidence in (0, 1)")
    tail = (1.0 - confidence) / 2.0
    upper = _solve_decreasing(lambda m: poisson_cdf(events, m), tail)
    lower = 0.0
    if events > 0:  # P(X >= k) = tail  <=>  P(X <= k - 1) = 1 - tail
        lower = _solve_decreasing(lambda m: poisson_cdf(events - 1, m), 1.0 - tail)
    return lower, upper


def rate_interval(
    events: int, hours: float, confidence: float = CONFIDENCE
) -> tuple[float, float, float]:
    """Hazard MLE and exact interval [1/h]: ``(k/T, lower, upper)``; NaN, 0, inf when T is 0."""
    if hours <= 0.0:
        return math.nan, 0.0, math.inf
    lower, upper = poisson_interval(events, confidence)
    return events / hours, lower / hours, upper / hours


def monthly_probability(rate_per_hour: float) -> float:
    """Probability of at least one preemption in 730 h at a constant hazard [fraction]."""
    if math.isnan(rate_per_hour):
        return math.nan
    return -math.expm1(-HOURS_PER_MONTH * rate_per_hour)


def chi2_sf(x: float, df: int) -> float:
    """Upper tail P(χ²_df > x) for an integer ``df >= 1`` (closed forms, no scipy)."""
    if x <= 0.0:
        return 1.0
    half = x / 2.0
    if df % 2 == 0:
        return poisson_cdf(df // 2 - 1, half)
    tail = math.erfc(math.sqrt(half))
    log_half = math.log(half)
    tail += math.fsum(
        math.exp((i + 0.5) * log_half - half - math.lgamma(i + 1.5)) for i in range((df - 1) // 2)
    )
    return min(1.0, tail)


def dispersion(counts: Sequence[Count]) -> tuple[float, int, float]:
    """Pearson test that the rows share one hazard.

    Returns
    -------
    tuple[float, int, float]
        ``(statistic, df, p_value)``: Σ (k − λ̂T)² / (λ̂T) over rows with exposure, its
        degrees of freedom (rows − 1) and the χ² upper-tail probability. NaN when
        fewer than two rows have exposure or no event was seen.
    """
    rows = [c for c in counts if c.hours > 0.0]
    events = sum(c.events for c in rows)
    hours = sum(c.hours for c in rows)
    if len(rows) < 2 or events == 0:
        return math.nan, max(len(rows) - 1, 0), math.nan
    rate = events / hours
    stat = sum((c.events - rate * c.hours) ** 2 / (rate * c.hours) for c in rows)
    df = len(rows) - 1
    return stat, df, chi2_sf(stat, df)


def pool(counts: Iterable[Count], name: str) -> Count:
    """Sum of events, exposure and censored lifetimes, as one row named ``name``."""
    rows = list(counts)
    return Count(
        family=name,
        trace="",
        zone="",
        machine="+".join(sorted({c.machine for c in rows})),
        events=sum(c.events for c in rows),
        hours=math.fsum(c.hours for c in rows),
        censored=sum(c.censored for c in rows),
        series=sum(c.series for c in rows),
    )


def band_pct(count: Count, confidence: float = CONFIDENCE) -> tuple[int, int]:
    """The decision rule: the interval of monthly p rounded outward to ``BAND_STEP_PCT``.

    Returns
    -------
    tuple[int, int]
        Band bounds [%]: the largest multiple of the step strictly below ``100 p_lo``
        (at least 0) and the smallest at or above ``100 p_hi`` (at most 100).
    """
    _, lower, upper = rate_interval(count.events, count.hours, confidence)
    p_lo, p_hi = monthly_probability(lower), monthly_probability(upper)
    step = BAND_STEP_PCT
    low = max(0, (math.ceil(round(100.0 * p_lo, 9) / step) - 1) * step)
    high = min(100, math.ceil(round(100.0 * p_hi, 9) / step) * step)
    return low, high


# --- the traces ----------------------------------------------------------------------------


def read_tick_family(folder: Path, family: str) -> tuple[list[Count], dict[str, list[int]]]:
    """Counts per file of a tick-trace folder, and the series by zone."""
    counts: list[Count] = []
    series: dict[str, list[int]] = {}
    for path in sorted(folder.glob("*.json")):
        values, gap = parse_tick_trace(path.read_text())
        zone, machine = zone_and_machine(path.stem)
        events, hours = tick_counts(values, gap)
        counts.append(Count(family, path.stem, zone, machine, events, hours, 0, int(hours > 0.0)))
        series[zone] = values
    if not counts:
        raise FileNotFoundError(f"no traces in {folder}")
    return counts, series


def read_preemptible(shared: Path) -> list[Count]:
    """Counts per (log, zone, accelerator) of the 2020 preemptible probe logs."""
    paths = sorted(shared.glob(PREEMPTIBLE_GLOB))
    if not paths:
        raise FileNotFoundError(f"no logs matching {shared / PREEMPTIBLE_GLOB}")
    counts: list[Count] = []
    for path in paths:
        trace = path.stem.rsplit("_", 1)[-1]
        with path.open() as lines:
            counts.extend(lifetime_counts(parse_probe_log(lines), PREEMPTIBLE, trace))
    return counts


@dataclass(frozen=True)
class Fit:
    """Everything the script derives from the shared data.

    Attributes
    ----------
    rows
        One :class:`Count` per (trace, zone[, accelerator]).
    synchronous_a100
        A100 drops at ticks where 3 or more zones drop at once [-].
    """

    rows: tuple[Count, ...]
    synchronous_a100: int

    def family(self, name: str) -> list[Count]:
        """Rows of one family."""
        return [c for c in self.rows if c.family == name]

    def spot(self) -> Count:
        """The 2023 Spot pool that decides the band."""
        return pool((c for c in self.rows if c.family in SPOT_FAMILIES), "spot-2023")


def fit(shared: Path) -> Fit:
    """Read the three trace families under ``shared`` (the shared data folder)."""
    c3, _ = read_tick_family(shared / C3_DIR, C3)
    a100, series = read_tick_family(shared / A100_DIR, A100)
    return Fit(tuple(c3 + a100 + read_preemptible(shared)), synchronous_drops(series))


def build_prior(result: Fit) -> Prior:
    """The GCP Spot prior the decision rule gives for these counts."""
    spot = result.spot()
    zones = {c.zone for c in result.rows if c.family in SPOT_FAMILIES and c.hours > 0.0}
    low, high = band_pct(spot)
    return Prior(
        label=f"{low}-{high}%",
        lower_pct=float(low),
        upper_pct=float(high),
        source=SOURCE,
        basis=(
            f"fitted from {spot.events} preemptions in {spot.hours:.0f} instance-hours of "
            f"public GCP Spot traces (2023, c3-highcpu-88 and A100, {spot.series} series "
            f"in {len(zones)} zones); "
            "see docs/model.md"
        ),
    )


# --- output --------------------------------------------------------------------------------


def _pct(p: float) -> str:
    """A monthly probability for the table [%]."""
    return "-" if math.isnan(p) else f"{100.0 * p:.1f}%"


def _row(c: Count, label: str) -> str:
    rate, lower, upper = rate_interval(c.events, c.hours)
    if math.isnan(rate):
        return f"| {label} | {c.events} | 0.0 | - | - | - | - | never alive |"
    p, p_lo, p_hi = (monthly_probability(x) for x in (rate, lower, upper))
    note = f"{c.censored} censored at 24 h" if c.censored else ""
    return (
        f"| {label} | {c.events} | {c.hours:.1f} | {rate:.4f} | {lower:.4f}-{upper:.4f} "
        f"| {HOURS_PER_MONTH * rate:.1f} ({HOURS_PER_MONTH * lower:.1f}-{HOURS_PER_MONTH * upper:.1f}) "
        f"| {_pct(p)} ({_pct(p_lo)}-{_pct(p_hi)}) | {note} |"
    )


HEADER = (
    "| series | events | exposure [h] | λ̂ [1/h] | 90 % CI [1/h] | per instance-month (CI) "
    "| monthly p (90 % CI) | note |\n|---|---|---|---|---|---|---|---|"
)


def report(result: Fit) -> str:
    """The per-zone table, the pools, the dispersion tests and the band, as Markdown."""
    lines = [HEADER]
    pools: list[Count] = []
    for name in (C3, A100, PREEMPTIBLE):
        rows = result.family(name)
        for c in rows:
            when = f" {c.trace}" if name == PREEMPTIBLE else ""
            lines.append(_row(c, f"{c.family}{when} {c.zone} {c.machine}"))
        pools.append(pool(rows, name))
    lines += ["", HEADER]
    spot = result.spot()
    overall = pool(result.rows, "all")
    for c in [*pools, spot, overall]:
        lines.append(_row(c, f"**{c.family}** ({c.series} series)"))
    lines += [
        "",
        "| pool | Pearson χ² | df | p-value | band by the rule |",
        "|---|---|---|---|---|",
    ]
    for name, c in zip((C3, A100, PREEMPTIBLE), pools, strict=True):
        stat, df, p_value = dispersion(result.family(name))
        low, high = band_pct(c)
        lines.append(f"| {name} | {stat:.1f} | {df} | {p_value:.2g} | {low}-{high}% |")
    stat, df, p_value = dispersion([c for c in result.rows if c.family in SPOT_FAMILIES])
    low, high = band_pct(spot)
    lines.append(f"| spot-2023 | {stat:.1f} | {df} | {p_value:.2g} | {low}-{high}% |")
    a100 = pool(result.family(A100), A100)
    without = a100.events - result.synchronous_a100
    rate, lower, upper = rate_interval(without, a100.hours)
    prior = build_prior(result)
    lines += [
        "",
        f"A100 drops at ticks where 3+ zones drop at once: {result.synchronous_a100}; "
        f"without them λ̂ = {rate:.4f}/h ({lower:.4f}-{upper:.4f}).",
        "",
        f"GCP_SPOT_PRIOR = Prior(label={prior.label!r}, lower_pct={prior.lower_pct!r}, "
        f"upper_pct={prior.upper_pct!r}, source={prior.source!r}, basis={prior.basis!r})",
    ]
    return "\n".join(lines)


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("shared", nargs="?", type=Path, default=ROOT.parent / "shared" / "data")
    args = parser.parse_args()
    print(report(fit(args.shared)))


if __name__ == "__main__":
    main()
