"""The synthetic billing month of tests/report, for exposure from billing."""

from tests.report.conftest import synthetic_store

__all__ = ["synthetic_store"]
