"""The compiled engine's cache: announced on the first run only, keyed on every kernel file."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from spotadvisor.sim import jit

RUN = (
    "import numpy as np\n"
    "from spotadvisor.sim.engine import simulate\n"
    "from spotadvisor.sim.model import FleetModel, Hazard, PoolModel\n"
    "pool = PoolModel('p', 'aws', 'r', 'z', 'spot', 2, 1.0, 3.0, hazard=Hazard.exact(0.05))\n"
    "model = FleetModel(pools=(pool,), replicas=1, horizon_hours=100.0, cold_start_hours=0.5)\n"
    "print(simulate(model, 50, np.random.default_rng(1)).availability.mean())\n"
)


def run_in_fresh_process(cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    return subprocess.run(
        [sys.executable, "-c", RUN], capture_output=True, text=True, env=env, check=True
    )


def test_the_first_run_compiles_into_the_user_cache_and_says_so(tmp_path: Path) -> None:
    first = run_in_fresh_process(tmp_path)
    assert "compiling the risk engine for this machine (first run only" in first.stderr
    assert "risk engine compiled in" in first.stderr
    folders = list((tmp_path / "spotadvisor" / "numba").iterdir())
    assert len(folders) == 1 and (folders[0] / "compiled").is_file()
    assert any(folders[0].rglob("*.nbi")), "numba wrote no cache index"
    second = run_in_fresh_process(tmp_path)
    assert second.stderr == "", second.stderr  # loaded from the cache without a word
    assert second.stdout == first.stdout  # and the same answer


def test_every_kernel_file_is_part_of_the_cache_key() -> None:
    """A kernel file left out of the key could be served stale after it changes."""
    here = Path(jit.__file__).parent
    kernels = {p.name for p in here.glob("kernel*.py")}
    assert kernels == set(jit.KERNEL_SOURCES)


def test_kernels_of_versions_unused_for_a_month_are_removed(tmp_path: Path) -> None:
    old = time.time() - (jit.STALE_DAYS + 1) * 86400
    current, recent, stale, bare = (tmp_path / name for name in ("cur", "recent", "stale", "bare"))
    for folder in (current, recent, stale, bare):
        folder.mkdir()
    for folder in (current, recent, stale):
        (folder / "compiled").write_text("ok\n")
    os.utime(stale / "compiled", (old, old))
    os.utime(bare, (old, old))  # a compile that never finished, long ago
    jit._prune_stale(current)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cur", "recent"]
