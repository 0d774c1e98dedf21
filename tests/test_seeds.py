"""Derived seeds: the same request on the same data draws the same seed; any change, a new one."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pandas as pd
import pytest

from spotadvisor.config import parse_fleet
from spotadvisor.config.scenarios import parse_scenario
from spotadvisor.config.values import Where
from spotadvisor.recommend.candidates import HostFilter
from spotadvisor.recommend.search import request_seed
from spotadvisor.schema import OFFERS
from spotadvisor.seeds import Seed, canonical, choose_seed, derive_seed, frame_digest
from spotadvisor.sim.model import FleetModel, PoolModel
from spotadvisor.sources import TableData
from tests.factories import frame, offer

FLEET = parse_fleet({"workload": {"replicas": 4, "gpus_per_replica": 8}}, origin="a.yaml")
HOSTS = HostFilter(gpu=("H100",))
POOL = PoolModel("p", "aws", "us-east-1", "use1-az4", "spot", 1, 20.0, 55.04)
TEMPLATE = FleetModel(pools=(POOL,), replicas=4, horizon_hours=720.0, cold_start_hours=1 / 6)
DATA = [frame_digest(frame([offer()]))]


def seed_of(**changes: object) -> int:
    """The derived recommend seed with one input changed."""
    args: dict[str, object] = {
        "fleet": FLEET,
        "hosts": HOSTS,
        "budget_usd": None,
        "data_identity": DATA,
        "template": TEMPLATE,
    } | changes
    chosen = request_seed(None, **args)  # type: ignore[arg-type]
    assert chosen.origin == "derived"
    return chosen.value


def test_same_inputs_give_the_same_seed_in_range() -> None:
    a, b = seed_of(), seed_of()
    assert a == b and 0 <= a < 2**32
    # equal inputs built separately (not the same objects) give it too
    again = parse_fleet({"workload": {"replicas": 4, "gpus_per_replica": 8}}, origin="a.yaml")
    assert seed_of(fleet=again, hosts=HostFilter(gpu=("H100",))) == a


@pytest.mark.parametrize(
    "changes",
    [
        {"fleet": dataclasses.replace(FLEET, trials=4000)},  # --trials
        {
            "fleet": dataclasses.replace(
                FLEET, sla=dataclasses.replace(FLEET.sla, availability=0.9995)
            )
        },
        {"fleet": dataclasses.replace(FLEET, risk_independent=True)},
        {"hosts": HostFilter(gpu=("H100",), clouds=("aws",))},  # --clouds
        {"hosts": HostFilter(gpu=("H100",), max_band_pct=10.0)},  # --max-band
        {"budget_usd": 30_000.0},  # --budget
        {"data_identity": [frame_digest(frame([offer(price_spot_usd_per_hour=20.5)]))]},  # new data
        {"data_identity": [*DATA, frame_digest(frame([offer()]))]},  # one more table
        # --params / --rates measured: a pool's hazard as resolved
        {
            "template": dataclasses.replace(
                TEMPLATE, pools=(dataclasses.replace(POOL, bulk_fraction=0.5),)
            )
        },
    ],
    ids=[
        "trials",
        "sla",
        "risk",
        "clouds",
        "max-band",
        "budget",
        "price",
        "tables",
        "params",
    ],
)
def test_a_change_to_the_request_or_the_data_changes_the_seed(changes: dict[str, object]) -> None:
    assert seed_of(**changes) != seed_of()


def test_presentation_and_what_ifs_are_not_part_of_the_request() -> None:
    # where the workload file lives, its own seed: (None when deriving) and its what-ifs
    # (run with the baseline's seed) do not move the answer
    zone_outage = parse_scenario("zone-outage:use1-az4@3d+6h", Where("a.yaml", "scenarios[0]"))
    moved = dataclasses.replace(FLEET, origin="elsewhere/b.yaml", scenarios=(zone_outage,))
    assert seed_of(fleet=moved) == seed_of()


def test_a_given_seed_wins() -> None:
    assert request_seed(7, FLEET, HOSTS, None, DATA, TEMPLATE) == Seed(7, "given")
    assert choose_seed(0, "simulate", "anything") == Seed(0, "given")  # 0 is a seed, not "none"
    assert Seed(7, "given").describe() == "seed 7 (given)"
    assert "derived" in Seed(1, "derived").describe()


def test_commands_do_not_share_seeds() -> None:
    assert derive_seed("recommend", {"a": 1}) != derive_seed("simulate", {"a": 1})


def test_canonical_form() -> None:
    assert canonical({"b": (1, 2.5), "a": None}) == {"a": None, "b": [1, 2.5]}
    assert canonical(math.nan) == "nan" and canonical(-math.inf) == "-inf"
    assert canonical(Path("x/y")) == "x/y"
    # a dataclass field with compare=False is presentation (an override's origin)
    from spotadvisor.config import InterruptionOverride

    assert canonical(InterruptionOverride(band="5-10%", origin="params.yaml")) == canonical(
        InterruptionOverride(band="5-10%")
    )
    with pytest.raises(TypeError):
        canonical(object())


def test_frame_digest_follows_content_types_and_order() -> None:
    rows = [offer(), offer(zone_id="use1-az6")]
    base = frame_digest(frame(rows))
    assert base == frame_digest(frame(rows)) and base.startswith("sha256:")
    assert frame_digest(frame(rows[::-1])) != base  # rows in another order
    assert (
        frame_digest(
            frame([offer(), offer(zone_id="use1-az6", as_of=pd.Timestamp("2026-01-01", tz="UTC"))])
        )
        != base
    )
    assert frame_digest(frame(rows).astype({"gpu_count": "float32"})) != base


def test_table_data_digest_is_its_frame_digest() -> None:
    rows = frame([offer()])
    table = TableData(OFFERS, rows, "store", "s.duckdb")
    assert table.digest == frame_digest(rows)
    record = table.provenance(ages=False)
    assert record["digest"] == table.digest and record["rows"] == 1
    assert "age_days" not in record["sources"][0] and "age_days" in table.provenance()["sources"][0]
