"""The engine, calibrated on a real trace, reproduces that trace (docs/calibrate.md, Validation).

1. Availability. The 4-node AWS trace (Can't Be Late, preemption/4-node/aws-08-03-2023):
   each zone is a pool of 4 p3.2xlarge that the collector kept relaunching. Policy: 4
   replicas in that zone, relaunch-same-pool, ``k`` needed, cold start 0 (the trace's
   own relaunch time is inside the fitted stock-out). Trace availability = share of
   ticks with at least ``k`` alive; its error is the batch-means standard error (8
   consecutive batches). The engine runs 300 trials of the trace's length (seed 1);
   its error is the Monte Carlo standard error. They must agree within
   ``2 sqrt(se_mc² + se_trace²)`` for every zone and k in {1, 2, 4}, and on average
   within 0.03.
2. All zones down. The 1-node AWS V100 set (availability/1-node/aws-02-15-2023, 9
   zones over 45 days, aligned): the share of ticks with every zone of a region empty,
   against the engine (one 1-instance pool per zone, 1 replica needed) with the
   fitted correlation and with none. With correlation the engine is within 25 % of
   the measured share; independence is at least 3x lower (33x for us-west-2).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from spotadvisor.calibrate.run import Options, aligned_sets, calibrate, pool_key
from spotadvisor.calibrate.validate import (
    agree,
    all_down_check,
    fitted_pool,
    run_engine,
    subset,
    trace_availability,
)
from spotadvisor.traces import read_traces

FOUR_NODE = "spot-traces-cant-be-late/preemption/4-node/aws-08-03-2023"
ONE_NODE = "spot-traces-cant-be-late/availability/1-node/aws-02-15-2023"


def test_engine_reproduces_the_availability_of_a_4_node_trace(shared_data: Path) -> None:
    traces = read_traces([shared_data / FOUR_NODE])
    cal = calibrate(traces, Options(replicates=0))
    fits = {f.key: f for f in cal.pools}
    gaps = []
    for trace in traces:
        pool = fitted_pool(fits[pool_key(trace)], trace.capacity)
        for k in (1, 2, 4):
            measured = trace_availability(trace.counts, k)
            engine = run_engine((pool,), k, trace.duration_hours, trials=300, seed=1)
            assert agree(engine.availability, measured, z=2.0), (trace.zone, k, engine, measured)
            gaps.append(abs(engine.availability.value - measured.value))
    assert np.mean(gaps) < 0.03


@pytest.mark.parametrize(
    ("region", "independence_below"), [("us-west-2", 10.0), ("us-east-1", 2.5)]
)
def test_engine_reproduces_all_zones_down_where_independence_does_not(
    shared_data: Path, region: str, independence_below: float
) -> None:
    traces = read_traces([shared_data / ONE_NODE])
    cal = calibrate(traces, Options(replicates=0))
    assert cal.correlation is not None and cal.correlation.zone is not None
    sets, _ = aligned_sets(traces, cal.options)
    fits = {f.key: f for f in cal.pools}
    ix = [i for i, t in enumerate(traces) if t.region == region]
    region_cz = cal.correlation.zone.value
    region_cr = cal.correlation.region.value if cal.correlation.region else 0.0
    check = all_down_check(
        subset(sets[0], ix),
        [fits[pool_key(traces[i])] for i in ix],
        [traces[i].capacity for i in ix],
        region_cz,
        region_cr,
        trials=150,
        seed=3,
    )
    engine = check.correlated.unavailability.value
    assert engine == pytest.approx(check.measured, rel=0.25)
    assert check.uncorrelated.unavailability.value * independence_below < check.measured
    # the engine without correlation is the independence product of the trace
    assert check.uncorrelated.unavailability.value == pytest.approx(
        check.independent_product, rel=0.25
    )
