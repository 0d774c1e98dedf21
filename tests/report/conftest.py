"""Fixtures of the report tests: the synthetic month's store, a local Athena."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.report import synthetic

if TYPE_CHECKING:
    from tests.fakes.athena import FakeAthena


@pytest.fixture
def fake_athena(aws_credentials: None) -> Iterator[FakeAthena]:
    """A started ``tests.fakes.athena.FakeAthena`` with dummy AWS credentials.

    boto3 clients (and ``AthenaEngine``) reach it with ``endpoint_url=fake_athena.url``;
    tables go in with ``fake_athena.load_table`` or on ``fake_athena.duckdb``.
    """
    from tests.fakes.athena import FakeAthena

    with FakeAthena(workgroups=("finops",)) as fake:
        yield fake


@pytest.fixture(scope="module")
def synthetic_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding the synthetic month, imported with the real FOCUS importer."""
    from typer.testing import CliRunner

    from spotadvisor.cli import app

    folder = tmp_path_factory.mktemp("synthetic")
    db = folder / "store.duckdb"
    csv = synthetic.write_month(folder / "focus-2026-10.csv")
    result = CliRunner().invoke(app, ["--db", str(db), "data", "import", str(csv)])
    assert result.exit_code == 0, result.stderr
    return db
