"""The built wheel carries the embedded snapshot and runs from it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("spotadvisor-*.whl")
    return built


def test_wheel_contains_the_snapshot(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    for table in ("offers", "interruption_history", "spot_price_history"):
        assert f"spotadvisor/_snapshot/{table}.parquet" in names
    assert "spotadvisor/_snapshot/provenance.json" in names
    assert "spotadvisor/py.typed" in names


def test_installed_wheel_runs_offers_from_its_own_snapshot(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(target)
    env = {**os.environ, "PYTHONPATH": str(target), "SPOTADVISOR_DB": str(tmp_path / "none.duckdb")}
    probe = (
        "import json, sys\n"
        "from spotadvisor.snapshot import snapshot_dir\n"
        "print(json.dumps({'snapshot': str(snapshot_dir())}))\n"
    )
    where = subprocess.run(
        [sys.executable, "-c", probe],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(where.stdout)["snapshot"].startswith(str(target))
    done = subprocess.run(
        [sys.executable, "-m", "spotadvisor", "offers", "--gpu", "H100", "--format", "json"],
        env=env,
        cwd=tmp_path,  # not the source tree, whose spotadvisor/ would shadow the wheel's
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert {o["cloud"] for o in json.loads(done.stdout)["offers"]} == {"aws", "gcp", "azure"}
