"""The parameter file: written, read back, refused when wrong, and applied to fleets."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from spotadvisor.calibrate.apply import ParamsApplier
from spotadvisor.calibrate.params import dump_params, params_document, parse_params
from spotadvisor.calibrate.report import duration_text
from spotadvisor.calibrate.run import Options, calibrate
from spotadvisor.config import RiskSettings, parse_fleet
from spotadvisor.errors import UsageError
from spotadvisor.traces import ZoneTrace
from tests.calibrate.synthetic import pool_counts

PARAMS = {
    "spotadvisor": "calibrated-parameters",
    "format": 1,
    "risk": {"bulk_reclaims_per_month": 12.5, "stockout": "1h30m", "zone_correlation": 0.9},
    "pools": [
        {
            "cloud": "aws",
            "region": "us-east-1",
            "instance": "p4d.24xlarge",
            "interruption": {"monthly_rate": 3.0},
            "risk": {"bulk_fraction": 0.7},
        },
        {
            "cloud": "gcp",
            "region": "us-central1",
            "zone": "us-central1-a",
            "instance": "a2-highgpu-8g",
            "interruption": {"monthly_rate": 40.0},
        },
        {
            "cloud": "gcp",
            "region": "us-central1",
            "instance": "a2-highgpu-8g",
            "interruption": {"monthly_rate": 20.0},
        },
    ],
}


def _trace(name: str, zone: str, counts: np.ndarray) -> ZoneTrace:
    return ZoneTrace(
        name=name,
        cloud="aws",
        zone=zone,
        region=zone[:-1],
        instance="p3.2xlarge",
        capacity=8,
        gap_seconds=300.0,
        counts=counts,
        start=None,
        source=f"/synthetic/{name}.json",
    )


def test_the_written_file_reads_back_with_the_same_values() -> None:
    rng = np.random.default_rng(1)
    traces = [
        _trace(
            f"z{i}",
            zone,
            pool_counts(
                rng,
                capacity=8,
                hours=3000,
                gap_hours=1 / 12,
                lam=0.01,
                beta=0.05,
                fbar=0.7,
                stockout=1.0,
                relaunch=1 / 12,
            ),
        )
        for i, zone in enumerate(["us-east-1a", "us-east-1b", "us-west-2a"])
    ]
    cal = calibrate(traces, Options(replicates=20))
    doc = params_document(cal, fitted_at="2025-01-01T00:00:00+00:00", version="test")
    text = dump_params(doc)
    assert text.startswith("# Engine parameters fitted by `spotadvisor calibrate`")
    params = parse_params(yaml.safe_load(text), origin="p.yaml")
    assert set(params.risk) == {
        "bulk_reclaims_per_month",
        "bulk_fraction",
        "stockout_hours",
        "zone_correlation",
        "region_correlation",
    }
    assert params.risk["bulk_fraction"] == pytest.approx(cal.risk.bulk_fraction.value, rel=1e-3)  # type: ignore[union-attr]
    # three zone entries, then two region-level entries (us-east-1 pooled, us-west-2)
    assert [p.zone for p in params.pools] == ["us-east-1a", "us-east-1b", "us-west-2a", None, None]
    assert doc["provenance"]["spotadvisor_version"] == "test"
    assert len(doc["provenance"]["traces"]) == 3
    assert "ci" in doc["pools"][0] and "risk_ci" in doc


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"spotadvisor": "fleet"}, "spotadvisor", "not a calibrated parameter file"),
        ({"format": 9}, "format", "unsupported format"),
        ({"risk": {"stockout": "soon"}}, "risk.stockout", "is not a duration"),
        ({"risk": {"zone_correlation": 1.5}}, "risk.zone_correlation", "more than 1"),
        ({"risk": {"bulk_reclaims": 1}}, "risk.bulk_reclaims", "unknown key"),
        (
            {
                "pools": [
                    {
                        "cloud": "aws",
                        "region": "us-east-1",
                        "instance": "x",
                        "interruption": {"monthly_rate": "lots"},
                    }
                ]
            },
            "pools[0].interruption.monthly_rate",
            "expected a number",
        ),
        (
            {
                "pools": [
                    {
                        "cloud": "aws",
                        "region": "us-east-1",
                        "zone": "us-west-2a",
                        "instance": "x",
                        "interruption": {"monthly_rate": 1},
                    }
                ]
            },
            "pools[0].zone",
            "is in us-west-2",
        ),
    ],
)
def test_a_bad_file_names_the_file_the_field_and_a_fix(
    change: dict[str, object], field: str, message: str
) -> None:
    with pytest.raises(UsageError) as caught:
        parse_params({**PARAMS, **change}, origin="params.yaml")
    error = caught.value
    assert error.file == "params.yaml" and error.field == field and error.fix
    assert message in error.message


FLEET = {
    "workload": {"replicas": 2},
    "risk": {"bulk_fraction": 0.5, "region_correlation": 0.2},
    "fleet": [
        {
            "cloud": "aws",
            "region": "us-east-1",
            "zone": "use1-az1",
            "instance": "p4d.24xlarge",
            "market": "spot",
            "count": 1,
        },
        {
            "cloud": "aws",
            "region": "us-east-1",
            "zone": "use1-az2",
            "instance": "p4d.24xlarge",
            "market": "spot",
            "count": 1,
            "interruption": {"band": "5-10%"},
            "risk": {"bulk_fraction": 0.2},
        },
        {
            "cloud": "gcp",
            "region": "us-central1",
            "zone": "us-central1-a",
            "instance": "a2-highgpu-8g",
            "market": "spot",
            "count": 1,
        },
        {
            "cloud": "gcp",
            "region": "us-central1",
            "zone": "us-central1-b",
            "instance": "a2-highgpu-8g",
            "market": "spot",
            "count": 1,
        },
        {
            "cloud": "aws",
            "region": "us-east-1",
            "instance": "p4d.24xlarge",
            "market": "on-demand",
            "count": 1,
        },
    ],
}


def test_precedence_pool_setting_then_fitted_pool_then_fitted_risk_then_fleet() -> None:
    fleet = parse_fleet(FLEET, origin="fleet.yaml")
    applier = ParamsApplier(parse_params(PARAMS, origin="params.yaml"))
    out = applier(fleet)
    # the params' risk: keys replace the fleet's; the keys it leaves out stay
    assert out.risk == RiskSettings(12.5, 0.5, 1.5, 0.9, 0.2)
    az1, az2, gcp_a, gcp_b, on_demand = out.pools
    # no zone entry for an AWS zone ID: the region-level entry applies
    assert az1.interruption is not None and az1.interruption.monthly_rate == 3.0
    assert az1.interruption.origin == "parameter file params.yaml"  # the pools table's source
    assert az1.risk is not None and az1.risk.bulk_fraction == 0.7
    # the fleet file's own interruption: and risk keys win
    assert az2.interruption is not None and az2.interruption.band == "5-10%"
    assert az2.interruption.origin == "fleet file"
    assert az2.risk is not None and az2.risk.bulk_fraction == 0.2
    # a zone entry beats the region entry; a zone without one gets the region's
    assert gcp_a.interruption is not None and gcp_a.interruption.monthly_rate == 40.0
    assert gcp_b.interruption is not None and gcp_b.interruption.monthly_rate == 20.0
    assert on_demand == fleet.pools[4]
    assert any("risk: block replaces" in n for n in applier.notes)
    assert any("fleet[1] keep" in n for n in applier.notes)
    # applying again changes nothing and adds no note
    notes = list(applier.notes)
    assert applier(out) == out and applier.notes == notes


def test_params_replace_risk_independent() -> None:
    fleet = parse_fleet({**FLEET, "risk": "independent"}, origin="fleet.yaml")
    out = ParamsApplier(parse_params(PARAMS, origin="params.yaml"))(fleet)
    assert not out.risk_independent and out.risk.zone_correlation == 0.9


@pytest.mark.parametrize(
    ("hours", "text"), [(0.0, "0s"), (40 / 3600, "40s"), (25 / 60, "25m"), (1.4333, "1h26m")]
)
def test_durations_are_written_as_fleet_files_read_them(hours: float, text: str) -> None:
    assert duration_text(hours) == text
