"""Does the engine, calibrated on a trace, reproduce it? Availability and all-zones-down.

- **Trace availability** for a policy "``capacity`` replicas in the pool, relaunch in the
  same pool, ``k`` needed": the share of ticks with at least ``k`` alive. Its sampling
  error is the batch-means standard error: the trace cut into ``batches`` consecutive
  parts, ``sd(part means) / sqrt(batches)`` (ticks are strongly autocorrelated, so the
  binomial error would be far too small).
- **Engine availability**: the same policy simulated (``spotadvisor.sim``) with the
  fitted pool, cold start 0 (the trace's own relaunch time is part of the fitted
  stock-out), a horizon of the trace's length; mean over trials with its Monte Carlo
  standard error. The per-trial spread is the model's own sampling error of one trace.
- Agreement: ``|engine − trace| <= z sqrt(se_mc² + se_trace²)``.
- **All zones down**: a fleet of one pool per series (their capacities), one replica
  needed, is unavailable exactly when every pool is empty; the engine with the fitted
  correlation against the engine with none (each pool keeps its measured strike rate)
  and the trace's measured share.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from spotadvisor.bands import HOURS_PER_MONTH
from spotadvisor.calibrate.correlation import AlignedSet, source_rates
from spotadvisor.calibrate.fit import PoolFit
from spotadvisor.sim.engine import simulate
from spotadvisor.sim.model import FleetModel, Hazard, PoolModel
from spotadvisor.sim.results import Estimate


def trace_availability(counts: npt.ArrayLike, replicas: int, batches: int = 8) -> Estimate:
    """Share of ticks with at least ``replicas`` alive, with its batch-means error."""
    up = (np.asarray(counts) >= replicas).astype(np.float64)
    parts = np.array([p.mean() for p in np.array_split(up, batches) if p.size])
    return Estimate(float(up.mean()), float(parts.std(ddof=1) / math.sqrt(parts.size)))


def pool_model(
    name: str,
    region: str,
    count: int,
    *,
    hazard_per_hour: float,
    bulk_per_hour: float,
    bulk_fraction: float,
    stockout_hours: float,
) -> PoolModel:
    """An engine spot pool with fitted numbers (prices are placeholders: 1 and 3 USD/h)."""
    return PoolModel(
        name=name,
        cloud="aws",
        region=region,
        zone=name,
        market="spot",
        count=count,
        price_per_hour=1.0,
        on_demand_price_per_hour=3.0,
        hazard=Hazard.exact(hazard_per_hour),
        bulk_reclaims_per_month=bulk_per_hour * HOURS_PER_MONTH,
        bulk_fraction=min(max(bulk_fraction, 0.0), 1.0),
        stockout_hours=stockout_hours if math.isfinite(stockout_hours) else 0.0,
    )


def fitted_pool(fit: PoolFit, count: int) -> PoolModel:
    """The engine pool of a zone fit, alone (its source rate is its strike rate)."""
    share = fit.share.value if fit.capacity >= 2 and fit.strikes else 1.0
    return pool_model(
        fit.key.zone or fit.key.label,
        fit.key.region,
        count,
        hazard_per_hour=fit.independent.rate.value,
        bulk_per_hour=fit.strike_rate.value if fit.strike_exposure_hours else 0.0,
        bulk_fraction=share,
        stockout_hours=fit.stockout.stockout_hours.value,
    )


@dataclass(frozen=True)
class EngineRun:
    """Engine availability: mean with its Monte Carlo error, and the per-trial spread."""

    availability: Estimate
    trial_sd: float

    @property
    def unavailability(self) -> Estimate:
        """1 − availability, same error."""
        return Estimate(1.0 - self.availability.value, self.availability.stderr)


def run_engine(
    pools: tuple[PoolModel, ...],
    replicas: int,
    horizon_hours: float,
    *,
    trials: int,
    seed: int,
    zone_correlation: float = 0.0,
    region_correlation: float = 0.0,
) -> EngineRun:
    """Simulate relaunch-same-pool with no cold start over ``horizon_hours``."""
    model = FleetModel(
        pools=pools,
        replicas=replicas,
        horizon_hours=horizon_hours,
        cold_start_hours=0.0,
        zone_correlation=zone_correlation,
        region_correlation=region_correlation,
    )
    a = simulate(model, trials, np.random.default_rng(seed)).availability
    sd = float(a.std(ddof=1))
    return EngineRun(Estimate(float(a.mean()), sd / math.sqrt(a.size)), sd)


def agree(engine: Estimate, trace: Estimate, z: float) -> bool:
    """``|engine − trace| <= z sqrt(se_engine² + se_trace²)``."""
    return abs(engine.value - trace.value) <= z * math.hypot(engine.stderr, trace.stderr)


@dataclass(frozen=True)
class AllDownCheck:
    """All pools of a set empty at once: the trace, the engine with and without correlation."""

    measured: float
    independent_product: float
    correlated: EngineRun
    uncorrelated: EngineRun


def all_down_check(
    s: AlignedSet,
    pools: list[PoolFit],
    capacities: list[int],
    zone: float,
    region: float,
    *,
    trials: int,
    seed: int,
) -> AllDownCheck:
    """Compare the set's measured all-down share with the engine (``pools[i]`` fits series i)."""
    beta = source_rates(s, zone, region)
    hours = s.down.shape[1] * s.gap_hours

    def fleet(rates: npt.NDArray[np.float64]) -> tuple[PoolModel, ...]:
        return tuple(
            pool_model(
                f"{label}#{i}",
                region_name,
                cap,
                hazard_per_hour=fit.independent.rate.value,
                bulk_per_hour=float(rate),
                bulk_fraction=fit.share.value if cap >= 2 and fit.strikes else 1.0,
                stockout_hours=float(stockout),
            )
            for i, (label, region_name, cap, fit, rate, stockout) in enumerate(
                zip(s.labels, s.regions, capacities, pools, rates, s.stockout_hours, strict=True)
            )
        )

    return AllDownCheck(
        measured=float(s.down.all(axis=0).mean()),
        independent_product=float(np.prod(s.down.mean(axis=1))),
        correlated=run_engine(
            fleet(beta),
            1,
            hours,
            trials=trials,
            seed=seed,
            zone_correlation=zone,
            region_correlation=region,
        ),
        uncorrelated=run_engine(fleet(s.rate_per_hour), 1, hours, trials=trials, seed=seed),
    )


def subset(s: AlignedSet, indices: list[int]) -> AlignedSet:
    """The series ``indices`` of a set (e.g. the zones of one region)."""
    ix = np.array(indices)
    return AlignedSet(
        labels=tuple(s.labels[i] for i in indices),
        regions=tuple(s.regions[i] for i in indices),
        gap_hours=s.gap_hours,
        strike=s.strike[ix],
        exposed=s.exposed[ix],
        window=s.window[ix],
        up=s.up[ix],
        down=s.down[ix],
        rate_per_hour=s.rate_per_hour[ix],
        stockout_hours=s.stockout_hours[ix],
    )
