"""Pure composition of GCP GPU-machine offers from catalog part prices, and prior bands.

A machine's price is

    vCPUs x core price + memory [GiB] x RAM price + GPUs x GPU price        [USD/h]

per region and market, with the parts from ``collect.gcp_parse.parse_gcp_skus`` and the
machine's shape from ``gpus.gcp_machine``; for a family priced per GPU slice (A4: one
slice = one GPU with its share of the VM's vCPUs and memory, see ``collect.gcp_parse``)
it is GPUs x slice price. ``machine_parts`` says which parts and amounts. A machine
missing any part in a region gets no price for that market (flagged), never 0.
``compose_gcp_offers`` builds the offers; ``prior_band_rows`` writes the interruption
prior for the offered machines.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

import pandas as pd

from spotadvisor.collect.gcp_parse import ON_DEMAND, SLICE_FAMILIES, SPOT
from spotadvisor.gpus import GcpMachine, gcp_machine
from spotadvisor.importers.base import join_flags
from spotadvisor.priors import Prior
from spotadvisor.schema import INTERRUPTION_HISTORY, OFFERS, validate

# --- parts -> offers ------------------------------------------------------------------------


def pricing_family(machine_type: str) -> str:
    """The family whose core and RAM (or GPU-slice) SKUs price ``machine_type``.

    ``a3-megagpu-*`` (A3 Mega) has its own ``A3Plus`` SKUs, ``a3-ultragpu-*`` (H200) its
    ``A3Ultra`` / ``A3 Ultra`` SKUs; a3 high and edge share ``A3``; ``a4-*`` is priced
    per GPU slice; n1 hosts with attached GPUs are ``n1``.
    """
    if machine_type.startswith("a3-ultragpu"):
        return "a3-ultra"
    if machine_type.startswith("a3-megagpu"):
        return "a3plus"
    return machine_type.split("-", 1)[0]


def machine_parts(machine: GcpMachine) -> tuple[tuple[str, str, float], ...]:
    """``(part, key, amount)`` whose prices add up to the machine's price [USD/h].

    The last one is the part that carries the GPU (``gpu``, or ``slice`` for a family
    priced per GPU slice): a machine is offered where it is priced.
    """
    family = pricing_family(machine.machine_type)
    if family in SLICE_FAMILIES:
        return (("slice", family, float(machine.gpus.count)),)
    return (
        ("core", family, float(machine.vcpus)),
        ("ram", family, float(machine.memory_gib)),
        ("gpu", machine.accelerator, float(machine.gpus.count)),
    )


def _lookup(parts: pd.DataFrame) -> dict[tuple[str, str, str, str], float]:
    keys = parts["family"].where(parts["family"].notna(), parts["accelerator"])
    return {
        (str(region), str(part), str(key), str(market)): float(price)
        for region, part, key, market, price in zip(
            parts["region"],
            parts["part"],
            keys,
            parts["market"],
            parts["price_usd_per_unit_hour"],
            strict=True,
        )
    }


def _machine_price(
    machine: GcpMachine,
    region: str,
    market: str,
    prices: Mapping[tuple[str, str, str, str], float],
) -> tuple[float, list[str]]:
    """Price [USD/h] of one machine in one region and market, and the parts it lacks."""
    total, missing = 0.0, []
    for part, key, amount in machine_parts(machine):
        price = prices.get((region, part, key, market))
        if price is None:
            missing.append(part)
        else:
            total += amount * price
    return (math.nan, missing) if missing else (round(total, 6), [])


def compose_gcp_offers(
    parts: pd.DataFrame,
    machine_types: Sequence[str],
    *,
    source: str,
    as_of: datetime,
    zones: pd.DataFrame | None = None,
    regions: Sequence[str] = (),
) -> pd.DataFrame:
    """Offers of GCP GPU machines priced from their parts.

    Parameters
    ----------
    parts
        From ``parse_gcp_skus``.
    machine_types
        Machines to price (names ``gpus.gcp_machine`` knows; others are ignored).
    source, as_of
        Provenance written into every row.
    zones
        Known ``(region, zone, instance_type)`` (e.g. from offers already in the store
        or the snapshot). A machine gets one row per known zone of its region, else one
        regional row (zone empty). A region the hint names is offered even when the
        catalog lacks its GPU part (the row is then flagged, without a price).
    regions
        Only these regions; empty means every region the catalog prices.

    Returns
    -------
    pandas.DataFrame
        Validated ``offers``. A machine is offered in the regions where its GPU part
        (GPU, or GPU slice) is priced (either market) or the zone hint places it. Prices
        are vCPUs x core + GiB x RAM + GPUs x GPU, or GPUs x slice [USD/h], rounded to
        1e-6. A market lacking a part has no price and the flag
        ``on_demand_price_missing(core+ram)`` / ``spot_price_missing(slice)`` naming the
        missing parts; spot above on-demand is kept and flagged ``spot_above_on_demand``.
    """
    prices = _lookup(parts)
    priced_regions: dict[tuple[str, str], set[str]] = {}
    for region, part, key, _market in prices:
        priced_regions.setdefault((part, key), set()).add(region)
    hinted: dict[tuple[str, str], list[str]] = {}
    if zones is not None and not zones.empty:
        known = zones.dropna(subset=["region", "zone", "instance_type"])
        for region, zone, instance_type in known[["region", "zone", "instance_type"]].itertuples(
            index=False
        ):
            hinted.setdefault((str(instance_type), str(region)), []).append(str(zone))
    wanted = set(regions)
    records = []
    for name in dict.fromkeys(machine_types):
        machine = gcp_machine(name)
        if machine is None:
            continue
        gpu_part, gpu_key, _ = machine_parts(machine)[-1]
        where = set(priced_regions.get((gpu_part, gpu_key), set()))
        where |= {r for (t, r) in hinted if t == name}
        if wanted:
            where &= wanted
        for region in sorted(where):
            on_demand, od_missing = _machine_price(machine, region, ON_DEMAND, prices)
            spot, spot_missing = _machine_price(machine, region, SPOT, prices)
            flags = [
                f"on_demand_price_missing({'+'.join(od_missing)})" if od_missing else None,
                f"spot_price_missing({'+'.join(spot_missing)})" if spot_missing else None,
                "spot_above_on_demand" if spot > on_demand else None,
            ]
            zones_here: list[str | None] = [*sorted(set(hinted.get((name, region), [])))]
            for zone in zones_here or [None]:
                records.append(
                    {
                        "cloud": "gcp",
                        "region": region,
                        "zone": zone,
                        "zone_id": None,
                        "instance_type": name,
                        "gpu_model": machine.gpus.model,
                        "gpu_count": float(machine.gpus.count),
                        "gpu_memory_gb": float(machine.gpus.memory_gb),
                        "vcpus": machine.vcpus,
                        "memory_gib": machine.memory_gib,
                        "price_on_demand_usd_per_hour": on_demand,
                        "price_spot_usd_per_hour": spot,
                        "interruption_band": None,
                        "interruption_band_lower_pct": None,
                        "interruption_band_upper_pct": None,
                        "placement_score": None,
                        "quality_flags": join_flags(*flags),
                        "source": source,
                        "as_of": as_of,
                    }
                )
    frame = pd.DataFrame(records, columns=OFFERS.column_names)
    return validate(frame, OFFERS, origin=source)


# --- bands --------------------------------------------------------------------------------


def prior_band_rows(
    pairs: Iterable[tuple[str, str]], prior: Prior, *, as_of: datetime
) -> pd.DataFrame:
    """``interruption_history`` rows giving ``prior``'s band to each (region, machine).

    GCP publishes no interruption bands; every row names the prior as its ``source``
    (``prior:...``) so outputs can say the band is assumed. OS is Linux.
    """
    rows = [
        {
            "cloud": "gcp",
            "region": region,
            "instance_type": instance_type,
            "os": "Linux",
            "interruption_band": prior.label,
            "interruption_band_lower_pct": prior.lower_pct,
            "interruption_band_upper_pct": prior.upper_pct,
            "savings_pct": None,
            "source": prior.source,
            "as_of": as_of,
        }
        for region, instance_type in sorted(set(pairs))
    ]
    frame = pd.DataFrame(rows, columns=INTERRUPTION_HISTORY.column_names)
    return validate(frame, INTERRUPTION_HISTORY, origin=prior.source)
