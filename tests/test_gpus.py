"""GPU reference: names users type, and the GPUs each instance type really has."""

from __future__ import annotations

import pytest

from spotadvisor.errors import UsageError
from spotadvisor.gpus import canonical_gpu, gpu_label, instance_gpus, parse_gpu_query


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("H100", ("H100", None)),
        ("h100", ("H100", None)),
        ("A100", ("A100", None)),  # family: matches 40 and 80 GB
        ("A100-80GB", ("A100", 80.0)),
        ("a100 80gb", ("A100", 80.0)),
        ("A100-40GB", ("A100", 40.0)),
        ("V100-32GB", ("V100", 32.0)),
        ("H100-MEGA", ("H100", 80.0)),  # GCP a3-megagpu accelerator name
        ("A10G", ("A10G", None)),  # not the same GPU as A10
        ("A10", ("A10", None)),
        ("Radeon MI25", ("MI25", 16.0)),
    ],
)
def test_canonical_names(name: str, expected: tuple[str, float | None]) -> None:
    assert canonical_gpu(name) == expected


def test_misspelt_gpu_suggests() -> None:
    with pytest.raises(UsageError) as caught:
        parse_gpu_query("H10O")
    assert "Did you mean 'H100'" in caught.value.one_line()


@pytest.mark.parametrize(
    ("cloud", "instance", "model", "count", "memory"),
    [
        ("aws", "p5.48xlarge", "H100", 8, 80),
        ("aws", "p4de.24xlarge", "A100", 8, 80),
        ("aws", "p4d.24xlarge", "A100", 8, 40),
        ("aws", "g6f.large", "L4", 0.125, 24),  # an eighth of an L4
        ("aws", "g5.12xlarge", "A10G", 4, 24),
        ("gcp", "a2-ultragpu-4g", "A100", 4, 80),
        ("gcp", "a3-megagpu-8g", "H100", 8, 80),
        ("gcp", "a3-edgegpu-8g-nolssd", "H100", 8, 80),
        ("gcp", "g2-standard-24", "L4", 2, 24),
        ("gcp", "a4-highgpu-8g", "B200", 8, 180),
        ("azure", "Standard_ND96isr_H100_v5", "H100", 8, 80),  # catalogs say 12
        ("azure", "Standard_NC24_Promo", "K80", 4, 12),
        ("azure", "Standard_NV4as_v4", "MI25", 0.125, 16),
        ("azure", "Standard_NC40ads_H100_v5", "H100", 1, 94),  # H100 NVL
    ],
)
def test_instance_gpus(cloud: str, instance: str, model: str, count: float, memory: float) -> None:
    found = instance_gpus(cloud, instance)
    assert found is not None
    assert (found.model, found.count, found.memory_gb) == (model, count, memory)


@pytest.mark.parametrize(
    ("cloud", "instance"),
    [
        ("aws", "m5.large"),
        ("gcp", "n1-standard-8"),
        ("azure", "Standard_NP10s"),
        ("aws", "p5.2xlarge"),
    ],
)
def test_not_in_reference(cloud: str, instance: str) -> None:
    assert instance_gpus(cloud, instance) is None


def test_labels() -> None:
    assert gpu_label("A100", 80.0) == "A100 80GB"
    assert gpu_label("A100", float("nan")) == "A100"
    assert gpu_label(None, None) == "unknown"
