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


# --- local AWS endpoints (tests/fakes) --------------------------------------------------

from collections.abc import Iterator  # noqa: E402
from typing import TYPE_CHECKING  # noqa: E402

if TYPE_CHECKING:
    from tests.fakes.aws import FakeAws


@pytest.fixture
def aws_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Dummy AWS credentials, no config files, no proxies and no instance-metadata lookups.

    botocore then finds its credentials in the environment and never reaches for IMDS or
    the user's ~/.aws; clients pointed at 127.0.0.1 bypass any proxy.
    """
    absent = tmp_path / "no-such-aws-dir"
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(absent / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(absent / "credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }.items():
        monkeypatch.setenv(name, value)
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_REGION",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_EC2",
        "AWS_ENDPOINT_URL_PRICING",
        "AWS_CA_BUNDLE",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fake_aws(aws_credentials: None, shared_data: Path) -> Iterator[FakeAws]:
    """A started ``tests.fakes.aws.FakeAws`` at ``DEFAULT_NOW`` over the public samples.

    boto3 clients reach it with ``endpoint_url=fake_aws.url``; skips (with the reason)
    when the samples are absent.
    """
    from tests.fakes.aws import DEFAULT_NOW, FakeAws

    with FakeAws(DEFAULT_NOW, data_dir=shared_data) as fake:
        yield fake


@pytest.fixture
def moto_server(aws_credentials: None) -> Iterator[str]:
    """A fresh in-process moto server on 127.0.0.1; yields its ``http://host:port`` URL."""
    import urllib.request

    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    no_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        # moto's backends live in the process, not the server: start from a clean state.
        no_proxy.open(urllib.request.Request(f"{url}/moto-api/reset", method="POST")).close()
        yield url
    finally:
        server.stop()


# --- local Azure endpoints (tests/fakes/azure.py) ----------------------------------------

if TYPE_CHECKING:
    from tests.fakes.azure import FakeAzure


@pytest.fixture
def azure_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No Azure identity settings and no proxies, so nothing reaches past 127.0.0.1.

    Tests pass a ``tests.fakes.azure.FakeCredential``; with these variables gone,
    ``DefaultAzureCredential`` (if a test ever builds one) finds nothing to use.
    """
    for name in (
        "AZURE_CLIENT_ID",
        "AZURE_CLIENT_SECRET",
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_CERTIFICATE_PATH",
        "AZURE_FEDERATED_TOKEN_FILE",
        "AZURE_USERNAME",
        "AZURE_PASSWORD",
        "AZURE_AUTHORITY_HOST",
        "IDENTITY_ENDPOINT",
        "MSI_ENDPOINT",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture
def fake_azure(azure_env: None, shared_data: Path) -> Iterator[FakeAzure]:
    """A started ``tests.fakes.azure.FakeAzure`` at its ``DEFAULT_NOW`` over the samples.

    Retail Prices is at ``fake_azure.retail_url``; the SDK clients reach Resource Graph
    and Consumption with ``management_endpoint=fake_azure.url`` and a ``FakeCredential``.
    Skips (with the reason) when the samples are absent.
    """
    from tests.fakes.azure import DEFAULT_NOW, FakeAzure

    with FakeAzure(DEFAULT_NOW, data_dir=shared_data) as fake:
        yield fake


# --- local GCP endpoints (tests/fakes/gcp.py) ---------------------------------------------

if TYPE_CHECKING:
    from tests.fakes.gcp import FakeGcp


@pytest.fixture
def gcp_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No Google credentials, metadata server or proxies: nothing reaches past 127.0.0.1.

    Tests pass ``AnonymousCredentials``; should Application Default Credentials ever be
    looked up, ``GOOGLE_APPLICATION_CREDENTIALS`` names a missing file (an immediate
    ``DefaultCredentialsError``, no network), gcloud's config is an empty folder and
    the GCE metadata check is off.
    """
    for name in (
        "GOOGLE_CLOUD_PROJECT",
        "GCLOUD_PROJECT",
        "GOOGLE_API_KEY",
        "GCE_METADATA_HOST",
        "GCE_METADATA_IP",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "no-such-adc.json"))
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "no-gcloud-config"))
    monkeypatch.setenv("NO_GCE_CHECK", "True")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture
def fake_gcp(gcp_env: None, shared_data: Path) -> Iterator[FakeGcp]:
    """A started ``tests.fakes.gcp.FakeGcp`` at its ``DEFAULT_NOW`` over the samples.

    The Catalog and BigQuery clients reach it with ``api_endpoint=fake_gcp.url`` and
    ``AnonymousCredentials``; skips (with the reason) when the samples are absent.
    """
    from tests.fakes.gcp import DEFAULT_NOW, FakeGcp

    with FakeGcp(DEFAULT_NOW, data_dir=shared_data) as fake:
        yield fake
