"""Lint and types are part of the suite, so CI fails on them like on any other test."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def run_tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_ruff_is_clean() -> None:
    done = run_tool("ruff", "check", "spotadvisor", "tests", "data", "benchmarks", "docs")
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_format_is_clean() -> None:
    done = run_tool(
        "ruff", "format", "--check", "spotadvisor", "tests", "data", "benchmarks", "docs"
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_strict_on_the_package() -> None:
    done = run_tool("mypy", "spotadvisor")
    assert done.returncode == 0, done.stdout + done.stderr
