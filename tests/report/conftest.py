"""Fixtures of the report tests: a local Athena (tests/fakes/athena.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

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
