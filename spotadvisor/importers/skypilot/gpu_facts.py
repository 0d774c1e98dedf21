"""GPU columns of SkyPilot catalog rows: model, count and memory per GPU.

The reference in ``spotadvisor.gpus`` wins where it knows the instance type; the catalog
is used where it does not (``gpu_unverified``, or ``gpu_unknown`` when the catalog says
nothing either). Disagreements are flagged rather than silently fixed: a corrected count
or model keeps the catalog's value in the flag, and ``GpuInfo`` memory, which the
catalogs give as "MiB" but sometimes mean MB, is checked against nominal in both
readings.
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass

import pandas as pd

from spotadvisor import gpus
from spotadvisor.importers.base import flag_where, join_flags
from spotadvisor.importers.skypilot.common import join_flag_columns

MEMORY_TOLERANCE = 0.10  # relative, between GpuInfo memory and nominal memory

_MB_PER_MIB = 1.048576


@dataclass(frozen=True)
class _GpuFacts:
    """GPU columns of one instance type and the flags about them."""

    model: str | None
    count: float | None
    memory_gb: float | None
    flags: tuple[str, ...]


def _gpuinfo_mib(text: str) -> tuple[float | None, bool]:
    """Memory per whole GPU from a ``GpuInfo`` dict ["MiB"], and whether it was readable.

    Fractional instances (AWS g6f) give the slice's memory and ``GpuPartitionSize``;
    dividing gives the whole GPU's memory, comparable with nominal.
    """
    if not text:
        return None, True
    try:
        info = ast.literal_eval(text)
        gpu = info["Gpus"][0]
        mib = float(gpu["MemoryInfo"]["SizeInMiB"])
        share = float(gpu.get("GpuPartitionSize") or 1.0)
    except (ValueError, SyntaxError, TypeError, KeyError, IndexError, MemoryError):
        return None, False
    return (mib / share if 0 < share <= 1 else mib), True


def _memory_flag(mib: float | None, nominal_gb: float) -> str | None:
    """``gpu_memory_mismatch`` when neither the MiB nor the MB reading is near nominal."""
    if mib is None or mib <= 0:
        return None
    as_gb = mib * _MB_PER_MIB / 1000
    as_gib = mib / 1024
    if any(abs(v - nominal_gb) <= MEMORY_TOLERANCE * nominal_gb for v in (as_gb, as_gib)):
        return None
    return f"gpu_memory_mismatch(catalog={round(as_gb, 1):g})"


def _flag_text(value: str) -> str:
    """A catalog value made safe inside a flag (no spaces or separators)."""
    return re.sub(r"[\s;()]+", "_", value.strip())


def _model_flag(catalog_name: str, reference: gpus.InstanceGpus) -> str | None:
    named = gpus.canonical_gpu(catalog_name) if catalog_name else None
    if named is None:
        return (
            None if not catalog_name else f"gpu_model_corrected(catalog={_flag_text(catalog_name)})"
        )
    model, memory = named
    off_memory = (
        memory is not None and abs(memory - reference.memory_gb) > 0.1 * reference.memory_gb
    )
    if model != reference.model or off_memory:
        return f"gpu_model_corrected(catalog={_flag_text(catalog_name)})"
    return None


def _resolve_gpu(
    cloud: str,
    instance_type: str,
    catalog_name: str,
    catalog_count: float | None,
    catalog_mib: float | None,
) -> _GpuFacts:
    """GPU facts of one instance type: the reference where it knows, else the catalog."""
    reference = gpus.instance_gpus(cloud, instance_type)
    if reference is None:
        return _unverified_gpu(catalog_name, catalog_count, catalog_mib)
    flags = [
        f"gpu_count_corrected(catalog={catalog_count:g})"
        if catalog_count is not None and not math.isclose(catalog_count, reference.count)
        else None,
        _model_flag(catalog_name, reference),
        _memory_flag(catalog_mib, reference.memory_gb),
    ]
    return _GpuFacts(
        reference.model, reference.count, reference.memory_gb, tuple(f for f in flags if f)
    )


def _unverified_gpu(name: str, count: float | None, mib: float | None) -> _GpuFacts:
    """GPU facts from the catalog alone, for an instance type the reference lacks."""
    if not name and count is None:
        return _GpuFacts(None, None, None, ("gpu_unknown",))
    named = gpus.canonical_gpu(name) if name else None
    model = named[0] if named else (name or None)
    memory: float | None = named[1] if named else None
    if memory is None and model in gpus.GPU_MODELS:
        memory = gpus.GPU_MODELS[model].memory_gb
    flags = ["gpu_unverified"]
    if memory is None and mib:
        memory = float(round(mib / 1024))  # the GiB reading never overstates memory
    elif memory is not None and (mismatch := _memory_flag(mib, memory)):
        flags.append(mismatch)
    return _GpuFacts(model, count, memory, tuple(flags))


def gpu_columns(
    cloud: str,
    instance_types: pd.Series,
    names: pd.Series,
    counts: pd.Series,
    gpu_infos: pd.Series | None,
) -> tuple[dict[str, pd.Series], pd.Series]:
    """``gpu_model``, ``gpu_count``, ``gpu_memory_gb`` per row, and a flag column.

    Facts are resolved once per distinct (type, name, count, GpuInfo) and broadcast.
    """
    infos = gpu_infos if gpu_infos is not None else pd.Series("", index=instance_types.index)
    cache: dict[tuple[str, str, float | None, str], tuple[_GpuFacts, bool]] = {}
    facts: list[_GpuFacts] = []
    unreadable: list[bool] = []
    catalog_counts = [None if math.isnan(c) else float(c) for c in counts]
    for key in zip(instance_types, names, catalog_counts, infos, strict=True):
        if key not in cache:
            mib, readable = _gpuinfo_mib(key[3]) if gpu_infos is not None else (None, True)
            cache[key] = (_resolve_gpu(cloud, key[0], key[1], key[2], mib), readable)
        facts.append(cache[key][0])
        unreadable.append(not cache[key][1])
    index = instance_types.index
    columns = {
        "gpu_model": pd.Series([f.model for f in facts], index=index, dtype="object"),
        "gpu_count": pd.Series([f.count for f in facts], index=index, dtype=float),
        "gpu_memory_gb": pd.Series([f.memory_gb for f in facts], index=index, dtype=float),
    }
    flags = join_flag_columns(
        [
            pd.Series([join_flags(*f.flags) for f in facts], index=index, dtype=object),
            flag_where(pd.Series(unreadable, index=index), "gpu_info_unreadable"),
        ],
        index,
    )
    return columns, flags
