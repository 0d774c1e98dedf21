"""Replay on hand-made traces whose answers can be worked out by hand.

Unless a test says otherwise: ticks of 60 s, windows of 100 ticks (6000 s), and an
outage of zone A from tick 20 to tick 29 (600 s, from t = 1200 s to 1800 s).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from spotadvisor.errors import UsageError
from spotadvisor.replay import (
    POLICIES,
    Policy,
    ReplayConfig,
    group_traces,
    replay_fleet,
    replay_window,
)
from spotadvisor.replay.run import window_starts
from spotadvisor.traces import ZoneTrace

GAP = 60.0
TICKS = 100
W = GAP * TICKS
RATIO = 0.25


def series(level: int, outages: tuple[tuple[int, int], ...] = ()) -> list[int]:
    """``level`` everywhere but 0 over each ``[first, last)`` tick range."""
    values = [level] * TICKS
    for first, last in outages:
        values[first:last] = [0] * (last - first)
    return values


def room(*zones: list[int]) -> npt.NDArray[np.int64]:
    return np.array(zones, dtype=np.int64)


OUTAGE = ((20, 30),)


def config(**kwargs: float) -> ReplayConfig:
    values = {"replicas": 1, "spot_price_ratio": RATIO, **kwargs}
    return ReplayConfig(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("policy", POLICIES)
def test_zone_always_full(policy: Policy) -> None:
    out = replay_window(policy, room(series(3)), GAP, config(replicas=3, cold_start_seconds=120))
    assert out.available_seconds == W
    assert (out.preemptions, out.outages, out.on_demand_seconds) == (0, 0, 0.0)
    assert out.spot_seconds == 3 * W  # cost = 3 × W × ratio / (3 × W) = the ratio


@pytest.mark.parametrize(
    ("cold", "available"),
    [(0.0, 1 - 600 / W), (120.0, 1 - 720 / W)],  # outage, plus the cold start after it
)
def test_outage_without_fallback(cold: float, available: float) -> None:
    out = replay_window(
        "relaunch-same-pool", room(series(1, OUTAGE)), GAP, config(cold_start_seconds=cold)
    )
    assert out.available_seconds / W == pytest.approx(available)
    assert (out.preemptions, out.outages) == (1, 1)
    assert out.spot_seconds == pytest.approx(W - 600)  # billed while held, cold start included


def test_outage_with_on_demand_fallback() -> None:
    """Preempted at 1200 s; on demand launched at 1200 + F, ready at 1200 + F + C."""
    cfg = config(cold_start_seconds=120, fallback_after_seconds=180)
    out = replay_window("on-demand-fallback", room(series(1, OUTAGE)), GAP, cfg)
    assert out.available_seconds == pytest.approx(W - (180 + 120))
    # Spot is back at 1800 s and ready at 1920 s, when the on-demand replica stops.
    assert out.on_demand_seconds == pytest.approx(1920 - 1380)
    assert out.spot_seconds == pytest.approx(W - 600)
    cost = (out.spot_seconds * RATIO + out.on_demand_seconds) / W
    assert cost == pytest.approx((5400 * 0.25 + 540) / 6000)


def test_fallback_not_needed_when_spot_returns_first() -> None:
    cfg = config(cold_start_seconds=60, fallback_after_seconds=900)  # waits longer than 600 s
    out = replay_window("on-demand-fallback", room(series(1, OUTAGE)), GAP, cfg)
    assert out.on_demand_seconds == 0.0
    assert out.available_seconds == pytest.approx(W - 660)


def test_next_pool_moves_where_relaunch_same_pool_waits() -> None:
    zones = room(series(1, OUTAGE), series(1))  # zone A fails, zone B never does
    cfg = config(cold_start_seconds=120)
    same = replay_window("relaunch-same-pool", zones, GAP, cfg)
    nxt = replay_window("next-pool", zones, GAP, cfg)
    assert same.available_seconds == pytest.approx(W - 720)
    assert nxt.available_seconds == pytest.approx(W - 120)  # relaunched in B at once
    assert nxt.spot_seconds == pytest.approx(W)
    assert same.preemptions == nxt.preemptions == 1


def test_even_spread_waits_for_its_zone_round_robin_does_not() -> None:
    zones = room(series(2), series(2, OUTAGE))  # one slot in each zone
    cfg = config(replicas=2, cold_start_seconds=120)
    spread = replay_window("even-spread", zones, GAP, cfg)
    robin = replay_window("round-robin", zones, GAP, cfg)
    assert spread.available_seconds == pytest.approx(W - 720)
    assert robin.available_seconds == pytest.approx(W - 120)  # zone A still had room


def test_spothedge_bridges_an_outage_on_demand() -> None:
    cfg = config(cold_start_seconds=120)
    out = replay_window("spothedge", room(series(1, OUTAGE)), GAP, cfg)
    assert out.available_seconds == pytest.approx(W - 120)  # only the on-demand cold start
    assert out.on_demand_seconds == pytest.approx(1920 - 1200)  # until spot is ready again


def test_youngest_instance_is_preempted_first() -> None:
    """Room 1 -> 2 at 600 s (second slot launches, ready at 1200 s) -> 1 at 720 s."""
    zone = [1] * 10 + [2] * 2 + [1] * (TICKS - 12)
    cfg = config(replicas=1, overprovision=1, cold_start_seconds=600)
    out = replay_window("relaunch-same-pool", room(zone), GAP, cfg)
    assert out.preemptions == 1
    assert out.available_seconds == W  # the ready replica survived


def test_on_demand_baseline() -> None:
    cfg = config(replicas=2, on_demand_replicas=1)
    assert cfg.spot_target == 1
    out = replay_window("relaunch-same-pool", room(series(1, OUTAGE)), GAP, cfg)
    assert out.on_demand_seconds == W
    assert out.available_seconds == pytest.approx(W - 600)


# --- fleets ---------------------------------------------------------------------------------


def trace(
    zone: str, values: list[int], *, capacity: int, folder: str = "f", gap: float = GAP
) -> ZoneTrace:
    return ZoneTrace(
        name=f"{zone}_v100_1",
        cloud="aws",
        zone=zone,
        region=zone[:-1],
        instance="p3.2xlarge",
        capacity=capacity,
        gap_seconds=gap,
        counts=np.array(values, dtype=np.int64),
        start=None,
        source=f"/{folder}/{zone}_v100_1.json",
    )


def staggered(ticks: int = 2000) -> list[ZoneTrace]:
    outages = {
        "us-east-1a": ((100, 300), (900, 1000), (1700, 1800)),
        "us-east-1b": ((400, 600), (1300, 1350)),
        "us-east-1c": ((1200, 1500),),
    }
    out = []
    for zone, gaps in outages.items():
        values = [4] * ticks
        for first, last in gaps:
            values[first:last] = [0] * len(values[first:last])
        out.append(trace(zone, values, capacity=4))
    return out


def periodic(ticks: int = 2000) -> list[ZoneTrace]:
    """Every zone is out for 100 ticks in every 400, the three zones staggered."""
    out = []
    for shift, zone in zip((0, 130, 260), ("us-east-1a", "us-east-1b", "us-east-1c"), strict=True):
        values = [0 if (i - shift) % 400 < 100 else 4 for i in range(ticks)]
        out.append(trace(zone, values, capacity=4))
    return out


def test_spothedge_never_worse_than_relaunch_same_pool() -> None:
    """Each 500-tick window holds a 100-tick outage of the home zone, whichever it is;
    spothedge loses at most a cold start (5 ticks) per outage that leaves it short."""
    (fleet,) = group_traces(periodic())
    cfg = ReplayConfig(replicas=3, overprovision=1, cold_start_seconds=300, spot_price_ratio=0.3)
    result = replay_fleet(
        fleet,
        cfg,
        policies=("relaunch-same-pool", "spothedge"),
        window_seconds=500 * GAP,
        offsets=12,
    )
    same, hedge = result.results
    assert np.all(hedge.availability >= same.availability)
    assert np.all(same.availability <= 1 - 100 / 500 + 1e-9)
    assert np.all(hedge.availability >= 0.9)
    assert result.starts == window_starts(2000, 500, 12)


def test_spothedge_spreads_over_zones() -> None:
    """Six slots over three zones (2 each): losing one zone leaves 4 >= 3 ready."""
    zones = room(series(6, OUTAGE), series(6), series(6))
    cfg = ReplayConfig(replicas=3, overprovision=3, cold_start_seconds=120, spot_price_ratio=0.3)
    hedge = replay_window("spothedge", zones, GAP, cfg)
    same = replay_window("relaunch-same-pool", zones, GAP, cfg)
    assert (hedge.available_seconds, hedge.on_demand_seconds, hedge.preemptions) == (W, 0.0, 2)
    assert same.available_seconds == pytest.approx(W - 720)  # all six were in zone A


def test_room_scaling() -> None:
    binary = trace("us-east-1a", [0, 1, 1], capacity=1)
    big = trace("us-east-1b", [16, 15, 0], capacity=16)
    four = trace("us-east-1c", [4, 3, 1], capacity=4)
    (fleet,) = group_traces([binary, big, four])
    assert fleet.room(4).tolist() == [[0, 4, 4], [16, 15, 0], [4, 3, 1]]
    assert fleet.room(6).tolist()[2] == [6, 4, 1]  # floor(count × 6 / 4)


def test_group_traces() -> None:
    a = trace("us-east-1a", [1] * 10, capacity=1, folder="x")
    b = trace("us-east-1b", [1] * 8, capacity=1, folder="x")
    c = trace("us-west-2a", [1] * 5, capacity=1, folder="y", gap=30.0)
    fleets = group_traces([a, b, c])
    assert [(f.label, f.counts.shape) for f in fleets] == [("x", (2, 8)), ("y", (1, 5))]
    with pytest.raises(UsageError, match="different gaps"):
        group_traces([a, c], one_fleet=True)
    (one,) = group_traces([a, b], one_fleet=True)
    assert one.label == "all traces"


def test_different_gaps_name_one_file_per_gap() -> None:
    same = [trace(z, [1] * 5, capacity=1, folder="x") for z in ("us-east-1a", "us-east-1b")]
    other = trace("us-west-2a", [1] * 5, capacity=1, folder="y", gap=30.0)
    with pytest.raises(UsageError) as raised:
        group_traces([*same, other], one_fleet=True)
    assert raised.value.one_line() == (
        "/: the traces have different gaps: x/us-east-1a_v100_1.json has 60 s, "
        "y/us-west-2a_v100_1.json has 30 s. replay traces with the same tick together, "
        "or drop --one-fleet."
    )


def test_window_starts() -> None:
    assert window_starts(100, 40, 3) == (0, 30, 60)
    assert window_starts(100, 100, 4) == (0, 0, 0, 0)


def test_bad_settings() -> None:
    (fleet,) = group_traces(staggered(50))
    with pytest.raises(UsageError):
        replay_fleet(fleet, ReplayConfig(replicas=0, spot_price_ratio=0.3))
    with pytest.raises(UsageError):
        replay_fleet(fleet, ReplayConfig(replicas=1, spot_price_ratio=0.3), offsets=0)


def test_metrics() -> None:
    (fleet,) = group_traces([trace("us-east-1a", series(1, OUTAGE), capacity=1)])
    cfg = ReplayConfig(replicas=1, spot_price_ratio=RATIO)
    (result,) = replay_fleet(fleet, cfg, policies=("relaunch-same-pool",), offsets=1).results
    assert result.availability.tolist() == [pytest.approx(0.9)]
    assert result.cost.tolist() == [pytest.approx(5400 * RATIO / 6000)]
    assert result.preemptions_per_month.tolist() == [pytest.approx(1 / (5400 / 3600 / 730))]
    assert result.on_demand_share.tolist() == [0.0]


def test_real_fleet_is_replayed_in_well_under_a_second(shared_data: Path) -> None:
    from spotadvisor.traces import read_traces

    (fleet,) = group_traces(read_traces([shared_data / "spot-traces-spothedge/data/AWS1"]))
    cfg = ReplayConfig(replicas=3, overprovision=1, cold_start_seconds=120, spot_price_ratio=1 / 3)
    result = replay_fleet(fleet, cfg, offsets=5)
    by_policy = {r.policy: r for r in result.results}
    assert (
        by_policy["spothedge"].availability.mean()
        > by_policy["relaunch-same-pool"].availability.mean()
    )
    assert all(0.0 <= r.availability.min() <= 1.0 for r in result.results)
