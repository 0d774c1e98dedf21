"""Download ``s3://bucket/key`` or everything under ``s3://bucket/prefix/`` for import.

boto3 is imported inside ``download_s3`` (it is the optional ``aws`` extra). The client
follows the usual AWS configuration: credentials and region from the environment or
profile, and ``AWS_ENDPOINT_URL_S3`` (or ``AWS_ENDPOINT_URL``) for another endpoint.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from spotadvisor.errors import DataError, UsageError

SCHEME = "s3://"
# CUR 2.0 / FOCUS exports put a manifest beside the data (…/metadata/…-Manifest.json);
# it describes the export and is not billing data.
_MANIFEST = re.compile(r"(?:^|/)metadata/|manifest\.json$", re.IGNORECASE)
_ACCOUNT_ID = re.compile(r"(?<!\d)\d{12}(?!\d)")


@dataclass(frozen=True)
class Downloaded:
    """Files fetched for one ``s3://`` path.

    Attributes
    ----------
    uri
        The path as given, normalised to ``s3://bucket/key``.
    files
        (object URI, local file) per object downloaded, in key order.
    skipped
        Object URIs under a prefix that were not downloaded (export manifests).
    """

    uri: str
    files: tuple[tuple[str, Path], ...]
    skipped: tuple[str, ...]


def is_s3(path: str | Path) -> bool:
    """True for ``s3://…``, also after ``pathlib.Path`` folded it into ``s3:/…``."""
    return str(path).startswith("s3:/")


def split_s3(path: str | Path) -> tuple[str, str]:
    """(bucket, key) of ``s3://bucket/key`` (or its ``Path`` form ``s3:/bucket/key``).

    Raises
    ------
    UsageError
        When there is no bucket name.
    """
    rest = str(path)[len("s3:/") :].lstrip("/")
    bucket, _, key = rest.partition("/")
    if not bucket:
        raise UsageError(
            "an s3:// path needs a bucket",
            file=str(path),
            fix="write s3://bucket/key or s3://bucket/prefix/",
        )
    return bucket, key


def download_s3(path: str | Path, dest: Path, *, client: Any = None) -> Downloaded:
    """Download one object, or every object under a prefix, into ``dest``.

    A key that names an object is downloaded alone; otherwise it is taken as a prefix
    (``s3://bucket/exports/`` or ``s3://bucket/exports``) and every object under it is
    downloaded, except export manifests. Files keep their key's folders under
    ``dest/bucket/`` so that equal file names in different folders do not collide.

    Parameters
    ----------
    path
        ``s3://bucket/key`` or ``s3://bucket/prefix/``.
    dest
        An existing folder to download into (a temporary one, usually).
    client
        A boto3 S3 client; by default one is made from the AWS environment.

    Raises
    ------
    UsageError
        When boto3 is missing, there are no credentials, or nothing is at the path.
    DataError
        When S3 refuses or cannot be reached.
    """
    bucket, key = split_s3(path)
    uri = f"{SCHEME}{bucket}/{key}"
    if client is None:
        client = _client(uri)
    try:
        keys = _keys(client, bucket, key)
        wanted = [k for k in keys if not _MANIFEST.search(k)]
        skipped = tuple(f"{SCHEME}{bucket}/{k}" for k in keys if _MANIFEST.search(k))
        if not wanted:
            raise UsageError(
                "no objects to import there" + (" (only export manifests)" if skipped else ""),
                file=uri,
                fix="check the bucket and key; end a prefix with / to import every file in it",
            )
        files = []
        for name in wanted:
            target = dest.joinpath(bucket, *PurePosixPath(name).parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            client.download_file(bucket, name, str(target))
            files.append((f"{SCHEME}{bucket}/{name}", target))
    except UsageError:
        raise
    except Exception as exc:
        raise _s3_error(exc, uri) from None
    return Downloaded(uri, tuple(files), skipped)


def _client(uri: str) -> Any:
    try:
        import boto3
    except ImportError:
        raise UsageError(
            "reading s3:// paths needs boto3, which is not installed",
            file=uri,
            fix="pip install 'spotadvisor[aws]'",
        ) from None
    return boto3.client("s3")


def _keys(client: Any, bucket: str, key: str) -> list[str]:
    """The object ``key`` if it exists, else every object key under it as a prefix."""
    if key and not key.endswith("/"):
        try:
            client.head_object(Bucket=bucket, Key=key)
            return [key]
        except Exception as exc:
            if _error_code(exc) not in {"404", "NoSuchKey", "NotFound"}:
                raise
        prefix = key + "/"
    else:
        prefix = key
    keys: list[str] = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(str(o["Key"]) for o in page.get("Contents", []) if not o["Key"].endswith("/"))
    return sorted(keys)


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def _s3_error(exc: Exception, uri: str) -> UsageError | DataError:
    """A botocore error as a one-line spotadvisor error, without account ids."""
    kind = type(exc).__name__
    text = _ACCOUNT_ID.sub("<account>", str(exc).splitlines()[0] if str(exc) else kind)
    code = _error_code(exc)
    if kind in {"NoCredentialsError", "PartialCredentialsError"}:
        return UsageError(
            "no AWS credentials to read S3 with",
            file=uri,
            fix="set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or download "
            "the file and import it from disk",
        )
    if code in {"NoSuchBucket", "NoSuchKey", "404"}:
        return UsageError(f"not found in S3: {text}", file=uri, fix="check the bucket and key")
    if code in {"AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"}:
        return UsageError(
            f"S3 refused access: {text}",
            file=uri,
            fix="use credentials allowed s3:GetObject and s3:ListBucket on the bucket",
        )
    return DataError(
        f"cannot read from S3 ({kind}): {text}",
        file=uri,
        fix="check the network and AWS_ENDPOINT_URL_S3, then try again",
    )
