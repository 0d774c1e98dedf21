"""Local fakes of cloud endpoints for tests (stdlib HTTP servers on 127.0.0.1 only)."""

from __future__ import annotations

from tests.fakes.aws import DEFAULT_NOW, FakeAws, LoggedRequest, load_dataset

__all__ = ["DEFAULT_NOW", "FakeAws", "LoggedRequest", "load_dataset"]
