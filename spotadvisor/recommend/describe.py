"""A mix in words: pure text about a candidate, shared by the report and the renderers."""

from __future__ import annotations

from collections import OrderedDict

from spotadvisor.recommend.candidates import Candidate


def duration_text(hours: float) -> str:
    """A duration in words: minutes under two hours (``90m``), hours above (``4h``)."""
    minutes = round(hours * 60)
    return f"{minutes}m" if minutes < 120 else f"{hours:g}h"


def describe_mix(candidate: Candidate) -> str:
    """The mix in words, e.g. ``3x spot p5.48xlarge us-east-1 (use1-az4, use1-az6) + 1x on-demand``."""
    spot: OrderedDict[tuple[str, str, str], tuple[int, list[str]]] = OrderedDict()
    parts: list[str] = []
    for key, count in candidate.pools:
        if key.market == "spot":
            total, zones = spot.get((key.cloud, key.region, key.instance), (0, []))
            spot[(key.cloud, key.region, key.instance)] = (
                total + count,
                [*zones, *([key.zone] if key.zone else [])],
            )
    for (cloud, region, instance), (count, zones) in spot.items():
        where = f" ({', '.join(zones)})" if zones else ""
        parts.append(f"{count}× spot {cloud} {instance} {region}{where}")
    for key, count in candidate.pools:
        if key.market != "spot":
            same = any(key.instance == i and key.region == r for (_, r, i) in spot)
            parts.append(
                f"{count}× on-demand"
                + ("" if same else f" {key.cloud} {key.instance} {key.region}")
            )
    text = " + ".join(parts)
    extras = []
    if candidate.overprovision:
        extras.append(f"+{candidate.overprovision} spare spot")
    if candidate.fallback_after_hours is not None:
        extras.append(f"on-demand after {duration_text(candidate.fallback_after_hours)}")
    if candidate.on_preemption == "next-pool" and candidate.spot_replicas:
        extras.append("replace in the next zone")
    return text + (f"; {', '.join(extras)}" if extras else "")
