"""GPU models and the GPUs each instance type carries: reference facts, not prices.

Catalogs get GPU counts wrong now and then (Azure ``Standard_ND96isr_H100_v5`` is listed
with 12 GPUs; it has 8), leave them out (Azure A10 v4, GCP a2/a3/a4) or give memory in
mixed units. Importers check every row against this table, correct what it knows and
flag the correction; they never trust a catalog count silently.

Sources: the instance-type pages of AWS (EC2 accelerated computing), Google Cloud
(GPU machine types) and Microsoft Azure (GPU-optimised VM sizes); nominal memory from
the vendors' data sheets.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from spotadvisor.errors import UsageError, did_you_mean


@dataclass(frozen=True)
class GpuModel:
    """A GPU model family and its nominal per-GPU memory.

    Attributes
    ----------
    name
        Canonical name, e.g. ``A100``.
    vendor
        NVIDIA or AMD.
    memory_gb
        Nominal memory of the common variant [GB].
    """

    name: str
    vendor: str
    memory_gb: float


GPU_MODELS: dict[str, GpuModel] = {
    m.name: m
    for m in (
        GpuModel("B200", "NVIDIA", 180),
        GpuModel("H200", "NVIDIA", 141),
        GpuModel("H100", "NVIDIA", 80),
        GpuModel("A100", "NVIDIA", 40),
        GpuModel("L40S", "NVIDIA", 48),
        GpuModel("L4", "NVIDIA", 24),
        GpuModel("A10G", "NVIDIA", 24),
        GpuModel("A10", "NVIDIA", 24),
        GpuModel("V100", "NVIDIA", 16),
        GpuModel("T4", "NVIDIA", 16),
        GpuModel("P100", "NVIDIA", 16),
        GpuModel("P4", "NVIDIA", 8),
        GpuModel("K80", "NVIDIA", 12),
        GpuModel("M60", "NVIDIA", 8),
        GpuModel("MI25", "AMD", 16),
        GpuModel("V620", "AMD", 32),
    )
}

# Names that catalogs use for a model with a given memory [GB].
_VARIANTS: dict[str, tuple[str, float]] = {
    "A100-80GB": ("A100", 80),
    "A100-40GB": ("A100", 40),
    "V100-32GB": ("V100", 32),
    "V100-16GB": ("V100", 16),
    "H100-MEGA": ("H100", 80),  # GCP a3-megagpu: H100 80GB with more network bandwidth
    "H100-NVL": ("H100", 94),
    "RADEON MI25": ("MI25", 16),
    "RADEON PRO V620": ("V620", 32),
}


@dataclass(frozen=True)
class InstanceGpus:
    """What GPUs one instance type carries.

    Attributes
    ----------
    model
        Canonical model name (a key of ``GPU_MODELS``).
    count
        GPUs per instance; fractional for instance types that get a slice of one GPU.
    memory_gb
        Nominal memory per GPU [GB].
    """

    model: str
    count: float
    memory_gb: float


def _gpus(model: str, count: float, memory_gb: float | None = None) -> InstanceGpus:
    return InstanceGpus(model, count, memory_gb or GPU_MODELS[model].memory_gb)


# AWS: family -> (model, memory) and per-size GPU counts.
AWS_FAMILIES: dict[str, tuple[str, float | None, dict[str, float]]] = {
    "p2": ("K80", None, {"xlarge": 1, "8xlarge": 8, "16xlarge": 16}),
    "p3": ("V100", None, {"2xlarge": 1, "8xlarge": 4, "16xlarge": 8}),
    "p3dn": ("V100", 32, {"24xlarge": 8}),
    "p4d": ("A100", 40, {"24xlarge": 8}),
    "p4de": ("A100", 80, {"24xlarge": 8}),
    "p5": ("H100", None, {"4xlarge": 1, "48xlarge": 8}),
    "p5e": ("H200", None, {"48xlarge": 8}),
    "p5en": ("H200", None, {"48xlarge": 8}),
    "p6-b200": ("B200", None, {"48xlarge": 8}),
    "g3": ("M60", None, {"4xlarge": 1, "8xlarge": 2, "16xlarge": 4}),
    "g3s": ("M60", None, {"xlarge": 1}),
    "g4dn": (
        "T4",
        None,
        {
            "xlarge": 1,
            "2xlarge": 1,
            "4xlarge": 1,
            "8xlarge": 1,
            "16xlarge": 1,
            "12xlarge": 4,
            "metal": 8,
        },
    ),
    "g5": (
        "A10G",
        None,
        {
            "xlarge": 1,
            "2xlarge": 1,
            "4xlarge": 1,
            "8xlarge": 1,
            "16xlarge": 1,
            "12xlarge": 4,
            "24xlarge": 4,
            "48xlarge": 8,
        },
    ),
    "g6": (
        "L4",
        None,
        {
            "xlarge": 1,
            "2xlarge": 1,
            "4xlarge": 1,
            "8xlarge": 1,
            "16xlarge": 1,
            "12xlarge": 4,
            "24xlarge": 4,
            "48xlarge": 8,
        },
    ),
    "g6e": (
        "L40S",
        None,
        {
            "xlarge": 1,
            "2xlarge": 1,
            "4xlarge": 1,
            "8xlarge": 1,
            "16xlarge": 1,
            "12xlarge": 4,
            "24xlarge": 4,
            "48xlarge": 8,
        },
    ),
    "g6f": ("L4", None, {"large": 0.125, "xlarge": 0.125, "2xlarge": 0.25, "4xlarge": 0.5}),
    "gr6": ("L4", None, {"4xlarge": 1, "8xlarge": 1}),
    "gr6f": ("L4", None, {"4xlarge": 0.5}),
}

# Azure: exact VM sizes (``_Promo`` SKUs are the same hardware).
_AZURE_SIZES: dict[str, InstanceGpus] = {
    "Standard_NC6": _gpus("K80", 1),
    "Standard_NC12": _gpus("K80", 2),
    "Standard_NC24": _gpus("K80", 4),
    "Standard_NC24r": _gpus("K80", 4),
    "Standard_NC6s_v2": _gpus("P100", 1),
    "Standard_NC12s_v2": _gpus("P100", 2),
    "Standard_NC24s_v2": _gpus("P100", 4),
    "Standard_NC24rs_v2": _gpus("P100", 4),
    "Standard_NC6s_v3": _gpus("V100", 1),
    "Standard_NC12s_v3": _gpus("V100", 2),
    "Standard_NC24s_v3": _gpus("V100", 4),
    "Standard_NC24rs_v3": _gpus("V100", 4),
    "Standard_NC4as_T4_v3": _gpus("T4", 1),
    "Standard_NC8as_T4_v3": _gpus("T4", 1),
    "Standard_NC16as_T4_v3": _gpus("T4", 1),
    "Standard_NC64as_T4_v3": _gpus("T4", 4),
    "Standard_NC8ads_A10_v4": _gpus("A10", 1 / 3),
    "Standard_NC16ads_A10_v4": _gpus("A10", 2 / 3),
    "Standard_NC32ads_A10_v4": _gpus("A10", 1),
    "Standard_NC24ads_A100_v4": _gpus("A100", 1, 80),
    "Standard_NC48ads_A100_v4": _gpus("A100", 2, 80),
    "Standard_NC96ads_A100_v4": _gpus("A100", 4, 80),
    "Standard_NC40ads_H100_v5": _gpus("H100", 1, 94),  # H100 NVL
    "Standard_NC80adis_H100_v5": _gpus("H100", 2, 94),
    "Standard_NCC40ads_H100_v5": _gpus("H100", 1, 94),
    "Standard_ND40rs_v2": _gpus("V100", 8, 32),
    "Standard_ND96asr_v4": _gpus("A100", 8, 40),
    "Standard_ND96amsr_A100_v4": _gpus("A100", 8, 80),
    "Standard_ND96isr_H100_v5": _gpus("H100", 8, 80),
    "Standard_NV6": _gpus("M60", 1),
    "Standard_NV12": _gpus("M60", 2),
    "Standard_NV24": _gpus("M60", 4),
    "Standard_NV12s_v3": _gpus("M60", 1),
    "Standard_NV24s_v3": _gpus("M60", 2),
    "Standard_NV48s_v3": _gpus("M60", 4),
    "Standard_NV4as_v4": _gpus("MI25", 1 / 8),
    "Standard_NV8as_v4": _gpus("MI25", 1 / 4),
    "Standard_NV16as_v4": _gpus("MI25", 1 / 2),
    "Standard_NV32as_v4": _gpus("MI25", 1),
    "Standard_NV6ads_A10_v5": _gpus("A10", 1 / 6),
    "Standard_NV12ads_A10_v5": _gpus("A10", 1 / 3),
    "Standard_NV18ads_A10_v5": _gpus("A10", 1 / 2),
    "Standard_NV36ads_A10_v5": _gpus("A10", 1),
    "Standard_NV36adms_A10_v5": _gpus("A10", 1),
    "Standard_NV72ads_A10_v5": _gpus("A10", 2),
    "Standard_NG8ads_V620_v1": _gpus("V620", 1 / 4),
    "Standard_NG16ads_V620_v1": _gpus("V620", 1 / 2),
    "Standard_NG32ads_V620_v1": _gpus("V620", 1),
    "Standard_NG32adms_V620_v1": _gpus("V620", 1),
}

# Azure sizes with accelerators that are not GPUs (Xilinx FPGAs): skipped by importers.
AZURE_NON_GPU_PREFIXES = ("Standard_NP",)

# GCP: machine-type pattern -> (model, memory, accelerator name in price catalogs).
# The GPU count is the number before "g" at the end, or fixed per g2 size.
_GCP_GPU_FAMILIES: tuple[tuple[re.Pattern[str], str, float | None, str], ...] = (
    (re.compile(r"^a2-(?:highgpu|megagpu)-(\d+)g$"), "A100", 40, "A100"),
    (re.compile(r"^a2-ultragpu-(\d+)g$"), "A100", 80, "A100-80GB"),
    (re.compile(r"^a3-(?:highgpu|edgegpu)-(\d+)g(?:-nolssd)?$"), "H100", None, "H100"),
    (re.compile(r"^a3-megagpu-(\d+)g$"), "H100", None, "H100-MEGA"),
    (re.compile(r"^a3-ultragpu-(\d+)g(?:-nolssd)?$"), "H200", None, "H200"),
    (re.compile(r"^a4-highgpu-(\d+)g$"), "B200", None, "B200"),
)
_GCP_G2_GPUS = {4: 1, 8: 1, 12: 1, 16: 1, 24: 2, 32: 1, 48: 4, 96: 8}


def instance_gpus(cloud: str, instance_type: str) -> InstanceGpus | None:
    """The GPUs of ``instance_type`` on ``cloud``, or None when it is not in the reference.

    Parameters
    ----------
    cloud
        aws, gcp or azure.
    instance_type
        Instance type, machine type or VM size as the cloud spells it.
    """
    if cloud == "aws":
        family, _, size = instance_type.partition(".")
        if family in AWS_FAMILIES:
            model, memory, sizes = AWS_FAMILIES[family]
            if size in sizes:
                return _gpus(model, sizes[size], memory)
        return None
    if cloud == "azure":
        return _AZURE_SIZES.get(instance_type.removesuffix("_Promo"))
    if cloud == "gcp":
        found = gcp_accelerator(instance_type)
        if found is None:
            return None
        return found[0]
    return None


def gcp_accelerator(machine_type: str) -> tuple[InstanceGpus, str] | None:
    """GPUs of a GCP GPU machine type and the accelerator name its GPU price is listed under.

    GCP prices a2/a3/a4/g2 machines in two parts: the VM (cores and memory) and the
    attached GPUs, listed under an accelerator name such as ``A100-80GB``. n1 hosts with
    attached GPUs are named ``n1-standard-8+1xT4`` (see ``gcp_n1_combo``).
    """
    combo = gcp_n1_combo(machine_type)
    if combo is not None:
        _, model, count = combo
        return _gpus(model, count), model
    g2 = re.fullmatch(r"g2-standard-(\d+)", machine_type)
    if g2 and int(g2.group(1)) in _GCP_G2_GPUS:
        return _gpus("L4", _GCP_G2_GPUS[int(g2.group(1))]), "L4"
    for pattern, model, memory, accelerator in _GCP_GPU_FAMILIES:
        match = pattern.fullmatch(machine_type)
        if match:
            return _gpus(model, int(match.group(1)), memory), accelerator
    return None


def aws_gpu_instance_types() -> list[str]:
    """Every AWS GPU instance type the reference knows, e.g. ``p5.48xlarge``."""
    return sorted(
        f"{family}.{size}" for family, (_, _, sizes) in AWS_FAMILIES.items() for size in sizes
    )


def azure_gpu_sizes() -> list[str]:
    """Every Azure GPU VM size the reference knows, e.g. ``Standard_NC24ads_A100_v4``."""
    return sorted(_AZURE_SIZES)


def is_gpu_instance(cloud: str, instance_type: str) -> bool:
    """True when the reference knows ``instance_type`` as a GPU instance."""
    if instance_gpus(cloud, instance_type) is not None:
        return True
    if cloud == "aws":
        return instance_type.partition(".")[0] in AWS_FAMILIES
    return False


def canonical_gpu(name: str) -> tuple[str, float | None] | None:
    """Canonical model and memory [GB] for a catalog or user GPU name, or None if unknown.

    Memory is None when the name gives only the family (``A100`` matches 40 and 80 GB).
    Accepts any case, and ``-80GB`` / ``80GB`` / `` 80GB`` memory suffixes.
    """
    text = " ".join(name.strip().upper().replace("_", "-").split())
    if text in _VARIANTS:
        return _VARIANTS[text]
    match = re.fullmatch(r"(.+?)[- ]?(\d+)\s*GB", text)
    if match and match.group(1) in GPU_MODELS:
        return match.group(1), float(match.group(2))
    for model in GPU_MODELS:
        if text == model.upper():
            return model, None
    return None


def parse_gpu_query(name: str) -> tuple[str, float | None]:
    """Parse a user's ``--gpu`` value into (model, memory GB or None).

    Raises
    ------
    UsageError
        When the name is not a known GPU, with the closest known names.
    """
    found = canonical_gpu(name)
    if found is None:
        known = [*GPU_MODELS, "A100-80GB", "V100-32GB"]
        hint = did_you_mean(name, known)
        raise UsageError(
            f"unknown GPU model {name!r}",
            field="--gpu",
            fix=hint or f"use one of {', '.join(known)}",
        )
    return found


def gpu_label(model: str | None, memory_gb: float | None) -> str:
    """Display name of a GPU, with its memory: ``A100 80GB``; ``unknown`` when unknown."""
    if not model:
        return "unknown"
    if memory_gb is None or math.isnan(memory_gb):
        return model
    return f"{model} {memory_gb:g}GB"


# -- GCP machine shapes ------------------------------------------------------------------
#
# Sources: Google Cloud "GPU machine types" (cloud.google.com/compute/docs/gpus) and
# "Accelerator-optimized machine family" (cloud.google.com/compute/docs/accelerator-
# optimized-machines) for a2/a3/a4/g2 vCPUs and memory; "General-purpose machine family:
# N1" for n1-standard (3.75 GB of memory per vCPU); "GPUs on N1" (the table of GPU
# counts and the vCPU limit of each) for attachable GPUs. The a2/a3/a4/g2 figures agree
# with every row of the SkyPilot GCP catalog (v8) in ../shared/data.

GCP_MACHINE_SIZES: dict[str, tuple[float, float]] = {
    # machine type: (vCPUs, memory [GiB])
    "a2-highgpu-1g": (12, 85),
    "a2-highgpu-2g": (24, 170),
    "a2-highgpu-4g": (48, 340),
    "a2-highgpu-8g": (96, 680),
    "a2-megagpu-16g": (96, 1360),
    "a2-ultragpu-1g": (12, 170),
    "a2-ultragpu-2g": (24, 340),
    "a2-ultragpu-4g": (48, 680),
    "a2-ultragpu-8g": (96, 1360),
    "a3-highgpu-1g": (26, 234),
    "a3-highgpu-2g": (52, 468),
    "a3-highgpu-4g": (104, 936),
    "a3-highgpu-8g": (208, 1872),
    "a3-edgegpu-8g": (208, 1872),
    "a3-edgegpu-8g-nolssd": (208, 1872),
    "a3-megagpu-8g": (208, 1872),
    "a3-ultragpu-8g": (224, 2952),
    "a3-ultragpu-8g-nolssd": (224, 2952),
    "a4-highgpu-8g": (224, 3968),
    "g2-standard-4": (4, 16),
    "g2-standard-8": (8, 32),
    "g2-standard-12": (12, 48),
    "g2-standard-16": (16, 64),
    "g2-standard-24": (24, 96),
    "g2-standard-32": (32, 128),
    "g2-standard-48": (48, 192),
    "g2-standard-96": (96, 384),
}

N1_STANDARD_VCPUS = (1, 2, 4, 8, 16, 32, 64, 96)
N1_MEMORY_GIB_PER_VCPU = 3.75

# GPUs attachable to n1 hosts: model -> {GPUs per VM: most vCPUs the VM may have}.
GCP_N1_ATTACHABLE: dict[str, dict[int, int]] = {
    "T4": {1: 48, 2: 48, 4: 96},
    "P4": {1: 24, 2: 48, 4: 96},
    "V100": {1: 12, 2: 24, 4: 48, 8: 96},
    "P100": {1: 16, 2: 32, 4: 64},
}

# Host size spotadvisor uses for each attachable combination by default: 8 vCPUs
# (30 GiB) per GPU, within every limit above; any other valid size can be asked for.
N1_DEFAULT_VCPUS_PER_GPU = 8

_N1_COMBO = re.compile(r"n1-standard-(\d+)\+(\d+)x([A-Z0-9]+)")


@dataclass(frozen=True)
class GcpMachine:
    """A GCP GPU machine as spotadvisor prices it.

    Attributes
    ----------
    machine_type
        The name offers carry: ``a2-highgpu-1g``, or ``n1-standard-8+1xT4`` for an n1
        host with attached GPUs.
    host
        The machine type GCP bills cores and memory for (``n1-standard-8``).
    vcpus
        Virtual CPUs [vCPUs].
    memory_gib
        Memory [GiB].
    gpus
        The GPUs (model, count, memory per GPU [GB]).
    accelerator
        Name the GPU price is listed under (``A100-80GB``, ``H100-MEGA``, ``T4``).
    """

    machine_type: str
    host: str
    vcpus: float
    memory_gib: float
    gpus: InstanceGpus
    accelerator: str


def gcp_n1_combo(machine_type: str) -> tuple[str, str, int] | None:
    """(host, GPU model, GPU count) of ``n1-standard-N+KxMODEL``, or None.

    Only combinations GCP allows are recognised: a valid n1-standard size, an
    attachable model, a GPU count offered for it and a host within that count's vCPU
    limit (``GCP_N1_ATTACHABLE``).
    """
    match = _N1_COMBO.fullmatch(machine_type)
    if not match:
        return None
    vcpus, count, model = int(match.group(1)), int(match.group(2)), match.group(3)
    limits = GCP_N1_ATTACHABLE.get(model, {})
    if vcpus not in N1_STANDARD_VCPUS or count not in limits or vcpus > limits[count]:
        return None
    return f"n1-standard-{vcpus}", model, count


def gcp_machine(machine_type: str) -> GcpMachine | None:
    """vCPUs, memory [GiB] and GPUs of a GCP GPU machine, or None when not in the reference."""
    found = gcp_accelerator(machine_type)
    if found is None:
        return None
    gpus, accelerator = found
    combo = gcp_n1_combo(machine_type)
    if combo is not None:
        host = combo[0]
        vcpus = float(host.rpartition("-")[2])
        return GcpMachine(
            machine_type, host, vcpus, vcpus * N1_MEMORY_GIB_PER_VCPU, gpus, accelerator
        )
    if machine_type not in GCP_MACHINE_SIZES:
        return None
    vcpus, memory = GCP_MACHINE_SIZES[machine_type]
    return GcpMachine(machine_type, machine_type, float(vcpus), float(memory), gpus, accelerator)


def gcp_n1_default_combos() -> list[str]:
    """The n1 + attached GPU combinations collected by default, e.g. ``n1-standard-8+1xT4``."""
    return [
        f"n1-standard-{N1_DEFAULT_VCPUS_PER_GPU * count}+{count}x{model}"
        for model, limits in GCP_N1_ATTACHABLE.items()
        for count in sorted(limits)
    ]


def gcp_gpu_machine_types() -> list[str]:
    """Every GCP GPU machine the reference knows, n1 default combinations included."""
    return sorted(GCP_MACHINE_SIZES) + gcp_n1_default_combos()
