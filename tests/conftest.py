"""Shared fixtures: where the public samples are, and an isolated store per test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def find_shared_data() -> Path | None:
    """The public samples folder (../shared/data from the project), or None.

    ``SPOTADVISOR_SHARED_DATA`` wins; then a ``shared/data`` beside any ancestor of the
    checkout (covers clones made elsewhere under the same workspace).
    """
    env = os.environ.get("SPOTADVISOR_SHARED_DATA")
    if env:
        return Path(env) if Path(env).is_dir() else None
    for parent in ROOT.parents:
        candidate = parent / "shared" / "data"
        if (candidate / "README.md").is_file():
            return candidate
    fallback = Path("/work/shared/data")
    return fallback if (fallback / "README.md").is_file() else None


SHARED_DATA = find_shared_data()


@pytest.fixture
def shared_data() -> Path:
    """The public samples folder; skips the test with the reason when it is absent."""
    if SHARED_DATA is None:
        pytest.skip(
            "public samples not found: set SPOTADVISOR_SHARED_DATA to the shared/data folder"
        )
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _isolated_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own store path, so nothing touches the user's real store."""
    db = tmp_path / "store.duckdb"
    monkeypatch.setenv("SPOTADVISOR_DB", str(db))
    return db
