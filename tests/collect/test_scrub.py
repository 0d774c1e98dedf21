"""Every error scrubber of the collectors hides credentials and leaves ordinary text alone.

Issue 21 item 14: ``run.scrub`` (every task error, and the report engines' errors),
``run.scrub_secrets`` (what the others share), ``gcp_errors.scrub_ids``, Azure's
``_redact`` / ``_classify`` and Cost Explorer's SDK errors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from spotadvisor.collect.azure import _classify as azure_classify
from spotadvisor.collect.azure import _redact
from spotadvisor.collect.cost_explorer import get_cost_and_usage
from spotadvisor.collect.gcp_errors import classify as gcp_classify
from spotadvisor.collect.gcp_errors import scrub_ids
from spotadvisor.collect.run import describe_error, scrub, scrub_secrets
from spotadvisor.errors import DataError

SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # AWS's documented example
SESSION_TOKEN = (
    "FwoGZXIvYXdzEBYaDHqa0AP1/EXAMPLEtokenPSHwbHVcp3Kl2fYZkF8W+cDQ8sVsmg0Mtre7T1ZvUXlJxN9"
)
IQOJ_TOKEN = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD6EXAMPLE+rest/of=="
JWT = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlX2J5dGVz"
GOOGLE_TOKEN = "ya29.a0AfH6SMBx3EXAMPLE-token_value.with.dots"
SAS_SIG = "sv2Fk3EXAMPLEsignatureBase64%2B%3D"

# (text, what must not survive)
SECRETS = [
    (f"aws_secret_access_key={SECRET_KEY}", SECRET_KEY),
    (f'"SecretAccessKey": "{SECRET_KEY}"', SECRET_KEY),
    (f"the key {SECRET_KEY} was rejected", SECRET_KEY),  # bare
    (f"aws_session_token={SESSION_TOKEN}", SESSION_TOKEN),
    (f"token {SESSION_TOKEN} expired", SESSION_TOKEN),  # bare FwoG...
    (f"X-Amz-Security-Token: {IQOJ_TOKEN}", IQOJ_TOKEN[:30]),
    (
        "GET https://acct.blob.core.windows.net/c/b?sv=2022-11-02&se=2025-01-01T00%3A00%3A00Z"
        f"&sr=b&sp=r&sig={SAS_SIG}",
        SAS_SIG,
    ),
    ("https://acct.blob.core.windows.net/c?se=2031-12-31T00%3A00Z&sv=2022-11-02", "2031-12-31"),
    ("https://acct.blob.core.windows.net/c?sv=2022-11-02&ss=b", "2022-11-02"),
    (f"Authorization: Bearer {JWT}", JWT[:20]),
    ("Authorization: Bearer fake-azure-token-0123456789", "fake-azure-token-0123456789"),
    (f"id_token {JWT} refused", JWT[:20]),  # a bare JWT
    ("POST /oauth2/v2.0/token client_id=abc&client_secret=Q~8Q_s3cr3t.v4lue&scope=x", "s3cr3t"),
    ('{"client_secret": "Q~8Q_s3cr3t.v4lue"}', "s3cr3t"),
    ("login failed: password=hunter2!", "hunter2"),
    ("Password: hunter2", "hunter2"),
    ("postgres://admin:Sup3rS3cret@db.example:5432/x", "Sup3rS3cret"),
    (
        "https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
        "AKIAIOSFODNN7EXAMPLE%2F20250101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature="
        "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
        "5d672d79c15b",
    ),
    ("Credential=AKIAIOSFODNN7EXAMPLE/20250101/us-east-1/ec2/aws4_request", "AKIAIOSFODNN7"),
    ("User AKIAIOSFODNN7EXAMPLE is not allowed", "AKIAIOSFODNN7EXAMPLE"),
    (f"refresh with {GOOGLE_TOKEN} failed", "a0AfH6SMBx3EXAMPLE"),
    ("key AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW is invalid", "AIzaSyA1b2C3d4"),
    (
        "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----",
        "MIIEvQIBADAN",
    ),
    ("account key 3Xampl3+AzureStorageAccountKey/" + "A1b2" * 14 + "==", "AzureStorageAccountKey"),
]

ORDINARY = [
    "us-east-1 us-west-2 eu-west-1 ap-southeast-2 europe-west4 us-central1-a eastus westus2",
    "p4d.24xlarge p5.48xlarge g5.xlarge a2-highgpu-1g a3-megagpu-8g n1-standard-8+1xT4",
    "Standard_NC24ads_A100_v4 Standard_ND96isr_H100_v5 Standard_NC40ads_H100_v5",
    "use1-az4 usw2-az1 cac1-az4 usw2-lax1-az1 us-west-2-lax-1a",
    "SKU 341A-49A5-0C07 of services/6F81-5844-456A",
    "ThrottlingException: Rate exceeded; RequestLimitExceeded: Request limit exceeded.",
    "ReadTimeout: the endpoint did not answer in time",
    "the bearer token policy was told enforce_https=False",
    "InvalidSignatureException: Signature expired; SignatureDoesNotMatch",
    "no AWS credentials found (env, profile, SSO or instance role); configure one",
    "sha1 da39a3ee5e6b4b0d3255bfef95601890afd80709 of the file",
    "get_products returned an empty PriceList in us-east-1; earlier data kept",
]


SCRUBBERS: dict[str, Callable[[str], str]] = {
    "scrub": scrub,
    "scrub_secrets": scrub_secrets,
    "scrub_ids": scrub_ids,
    "azure _redact": _redact,
}


@pytest.mark.parametrize("name", sorted(SCRUBBERS))
@pytest.mark.parametrize(("text", "secret"), SECRETS, ids=[s[1][:12] for s in SECRETS])
def test_every_scrubber_hides_every_kind_of_secret(name: str, text: str, secret: str) -> None:
    clean = SCRUBBERS[name](text)
    assert secret not in clean, clean


@pytest.mark.parametrize("name", sorted(SCRUBBERS))
@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_text_is_left_alone(name: str, text: str) -> None:
    assert SCRUBBERS[name](text) == text


def test_scrub_says_what_it_took_out() -> None:
    clean = scrub(
        f"aws_secret_access_key={SECRET_KEY} sig={SAS_SIG} Bearer {JWT} {GOOGLE_TOKEN} "
        f"client_secret=abc123 {SESSION_TOKEN} 123456789012"
    )
    assert clean == (
        "aws_secret_access_key=<redacted> sig=<redacted> Bearer <jwt> <token> "
        "client_secret=<redacted> <session-token> <account>"
    )


def test_task_errors_of_every_cloud_are_scrubbed() -> None:
    """The classifiers every collection uses run their texts through the scrubbers."""
    text = f"denied for Bearer {JWT} with client_secret=Q~8Q_s3cr3t and {SECRET_KEY}"
    for classify in (describe_error, gcp_classify, azure_classify):
        line = classify(RuntimeError(text))
        assert "s3cr3t" not in line and JWT[:20] not in line and SECRET_KEY not in line


def test_cost_explorer_sdk_errors_are_scrubbed() -> None:
    from botocore.exceptions import ClientError

    class Refusing:
        def get_cost_and_usage(self, **params: Any) -> Any:
            message = f"token {SESSION_TOKEN} of AKIAIOSFODNN7EXAMPLE in 123456789012 expired"
            raise ClientError(
                {"Error": {"Code": "ExpiredTokenException", "Message": message}},
                "GetCostAndUsage",
            )

    with pytest.raises(DataError) as info:
        get_cost_and_usage(Refusing(), start="2025-03-01", end="2025-03-02")
    text = str(info.value)
    assert SESSION_TOKEN[:20] not in text and "AKIAIOSFODNN7" not in text
    assert "123456789012" not in text and "ExpiredTokenException" in text
