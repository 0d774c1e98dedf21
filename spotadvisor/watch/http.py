"""A tiny HTTP client for instance-metadata services (standard library only).

Metadata services live on a link-local address or a local name and must be reached
directly, so this client ignores proxy settings (IMDS even refuses proxied token
requests). Errors never carry header values: IMDSv2 tokens travel in headers.
"""

from __future__ import annotations

import http.client
from dataclasses import dataclass, field
from urllib.parse import urlsplit

MAX_BODY = 1 << 20  # bytes; metadata answers are small, anything bigger is garbage


class MetadataError(Exception):
    """The metadata service answered something unusable (an error status, garbage).

    Never a notice: the agent logs it and polls again. Messages hold no header values.
    """


class MetadataUnavailable(MetadataError):
    """The metadata service did not answer: connection refused or reset, a timeout."""


@dataclass(frozen=True)
class Response:
    """An HTTP answer.

    Attributes
    ----------
    status
        The HTTP status code.
    headers
        Header names in lower case (the last value of repeated headers).
    body
        The body, at most :data:`MAX_BODY` bytes.
    """

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def text(self) -> str:
        """The body as text (UTF-8, undecodable bytes replaced)."""
        return self.body.decode("utf-8", errors="replace")


def safe_url(url: str) -> str:
    """``scheme://host[:port]/path`` of ``url``: no userinfo, query or fragment."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = f"{host}:{port}" if port else host
    return f"{parts.scheme}://{netloc}{parts.path}"


def request(
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    timeout: float = 2.0,
) -> Response:
    """Send one request and read the whole answer, whatever its status.

    Parameters
    ----------
    method
        ``GET``, ``PUT``, ``POST``...
    url
        ``http://`` or ``https://`` URL.
    headers
        Request headers (values never appear in errors).
    body
        Request body, if any.
    timeout
        Seconds allowed for connecting and for each read.

    Returns
    -------
    Response
        Any status; 4xx and 5xx are answers, not exceptions.

    Raises
    ------
    MetadataUnavailable
        On connection errors, timeouts and broken answers; the message names the
        method and ``safe_url(url)`` only.
    """
    parts = urlsplit(url)
    where = f"{method} {safe_url(url)}"
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise MetadataUnavailable(f"{where}: not an http(s) URL")
    target = parts.path or "/"
    if parts.query:
        target += f"?{parts.query}"
    connection_type = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )
    try:
        port = parts.port
    except ValueError:
        raise MetadataUnavailable(f"{where}: bad port") from None
    connection = connection_type(parts.hostname, port, timeout=timeout)
    try:
        connection.request(method, target, body=body, headers=headers or {})
        answer = connection.getresponse()
        data = answer.read(MAX_BODY + 1)
        if len(data) > MAX_BODY:
            raise MetadataUnavailable(f"{where}: answer larger than {MAX_BODY} bytes")
        return Response(
            status=answer.status,
            headers={name.lower(): value for name, value in answer.getheaders()},
            body=data,
        )
    except TimeoutError:
        raise MetadataUnavailable(f"{where}: no answer within {timeout:g} s") from None
    except ConnectionRefusedError:
        raise MetadataUnavailable(f"{where}: connection refused") from None
    except (OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise MetadataUnavailable(f"{where}: {reason}") from None
    finally:
        connection.close()
