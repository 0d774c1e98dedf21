"""Task errors of ``collect gcp``: one scrubbed line per failure.

``classify`` turns an exception into the line a failed task reports (credential and
permission problems say what to do); ``scrub_ids`` takes billing account ids, project
numbers, tokens and every credential ``run.scrub_secrets`` knows out of any text
(errors, task descriptions); ``AdviceCallError``
carries the machine type a failed advice call was for. Nothing here calls an API.
"""

from __future__ import annotations

import re

from spotadvisor.collect.run import describe_error, scrub, scrub_secrets


class AdviceCallError(Exception):
    """An advice call that failed, with the machine type it was for (in the task's error)."""

    def __init__(self, machine_type: str, cause: BaseException) -> None:
        super().__init__(f"{machine_type}: {cause}")
        self.machine_type = machine_type
        self.cause = cause


_BILLING_ACCOUNT = re.compile(
    r"(?<![0-9A-Za-z])[0-9A-F]{6}[-_][0-9A-F]{6}[-_][0-9A-F]{6}(?![0-9A-Za-z])", re.IGNORECASE
)
# BigQuery errors start with the request: "POST https://.../queries?prettyPrint=false: ..."
_REQUEST_LINE = re.compile(r"^(?:GET|POST|PUT|PATCH|DELETE) \S+: ")
_PROJECT_NUMBER = re.compile(r"(?<!\d)\d{10,13}(?!\d)")
_TOKENS = (
    (re.compile(r"ya29\.[\w.-]+"), "<token>"),
    (re.compile(r"AIza[\w-]{20,}"), "<api-key>"),
    (re.compile(r"(?i)(access_token|key)=[^\s&,]+"), r"\1=<redacted>"),
)


def scrub_ids(text: str) -> str:
    """``text`` without billing account ids, project numbers, tokens or any other
    credential (``run.scrub_secrets``)."""
    for pattern, replacement in _TOKENS:
        text = pattern.sub(replacement, text)
    text = scrub_secrets(text)
    text = _BILLING_ACCOUNT.sub("<billing-account>", text)
    return _PROJECT_NUMBER.sub("<project-number>", text)


def classify(exc: BaseException) -> str:
    """One scrubbed line for a failed task; credential and permission problems say what
    to do."""
    if isinstance(exc, AdviceCallError):  # name the machine type the call was for
        return scrub(f"{exc.machine_type}: {classify(exc.cause)}")
    name = type(exc).__name__
    if name == "DefaultCredentialsError":
        return (
            "no Google Cloud credentials found (Application Default Credentials); run "
            "'gcloud auth application-default login' or set GOOGLE_APPLICATION_CREDENTIALS"
        )
    if name in {"ReadTimeout", "ConnectTimeout", "Timeout"}:
        return f"{name}: the endpoint did not answer in time"
    code = getattr(exc, "code", None)
    message = getattr(exc, "message", None)
    if isinstance(code, int) and isinstance(message, str):  # GoogleAPICallError
        text = f"{name} (HTTP {code}): {_REQUEST_LINE.sub('', message)}"
        if code in (401, 403):
            text += " (the caller lacks this permission; grant it or leave the source out)"
    elif name == "RetryError":
        cause = getattr(exc, "cause", None)
        text = "gave up retrying" + (f": {classify(cause)}" if cause is not None else "")
    else:
        text = describe_error(exc)
    return scrub(scrub_ids(text))
