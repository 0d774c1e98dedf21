"""The registry of importable formats, and telling them apart.

Each format has a ``sniff`` that looks at the first 64 KB of a file and a ``read`` that
returns ``ImportBatch`` objects; ``parse_files`` picks the format of every file (or uses
the one the user named), groups files of one format and reads them together.

Parquet files (magic bytes ``PAR1``) are binary: their sniff sees a CSV header line made
of the file's column names, and only the formats in ``PARQUET_FORMATS`` are tried.
Paths written ``s3://bucket/key`` or ``s3://bucket/prefix/`` are downloaded to a
temporary folder first, then detected and read like local files.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path

from spotadvisor.errors import SpotadvisorError, UsageError, did_you_mean
from spotadvisor.importers.base import FileFormat, ImportBatch, given_as_of, read_text
from spotadvisor.importers.billing.azure import AZURE_COST_DETAILS
from spotadvisor.importers.billing.common import is_parquet, parquet_header
from spotadvisor.importers.billing.cur import AWS_CUR
from spotadvisor.importers.billing.focus import FOCUS
from spotadvisor.importers.skypilot import AWS_CATALOG, AZURE_CATALOG, GCP_CATALOG
from spotadvisor.importers.spot_advisor import SPOT_ADVISOR
from spotadvisor.importers.spot_price_history import (
    SPOT_PRICE_CSV,
    SPOT_PRICE_JSON,
    SPOT_PRICE_TSV,
)

FORMATS: dict[str, FileFormat] = {
    f.name: f
    for f in (
        SPOT_ADVISOR,
        SPOT_PRICE_JSON,
        SPOT_PRICE_CSV,
        SPOT_PRICE_TSV,
        AWS_CATALOG,
        GCP_CATALOG,
        AZURE_CATALOG,
        FOCUS,
        AWS_CUR,
        AZURE_COST_DETAILS,
    )
}
PARQUET_FORMATS = frozenset({FOCUS.name, AWS_CUR.name, AZURE_COST_DETAILS.name})

SNIFF_BYTES = 64 * 1024


def detect_format(path: Path) -> FileFormat:
    """The one format whose sniff accepts ``path``.

    Raises
    ------
    UsageError
        When no format, or more than one, recognises the file.
    """
    parquet = is_parquet(path)
    if parquet:
        head = parquet_header(path)
        candidates = [f for f in FORMATS.values() if f.name in PARQUET_FORMATS]
    else:
        head = read_text(path)[:SNIFF_BYTES]
        candidates = list(FORMATS.values())
    matches = [f for f in candidates if f.sniff(head)]
    if len(matches) == 1:
        return matches[0]
    names = ", ".join(f.name for f in candidates)
    if not matches:
        raise UsageError(
            "not a Parquet file spotadvisor can import"
            if parquet
            else "not a file format spotadvisor can import",
            file=str(path),
            fix=f"give one of: {names} (or name it with --file-format if it is one of them)",
        )
    raise UsageError(
        f"the file looks like several formats ({', '.join(f.name for f in matches)})",
        file=str(path),
        fix="name the right one with --file-format",
    )


def format_named(name: str) -> FileFormat:
    """The format called ``name``, with "did you mean" when misspelt."""
    if name in FORMATS:
        return FORMATS[name]
    raise UsageError(
        f"unknown format {name!r}",
        field="--file-format",
        fix=did_you_mean(name, FORMATS) or f"use one of {', '.join(FORMATS)}",
    )


def parse_files(
    paths: Sequence[Path | str],
    *,
    format_name: str | None = None,
    as_of: datetime | None = None,
    source: str | None = None,
    on_file: Callable[[Path, FileFormat], None] | None = None,
) -> list[ImportBatch]:
    """Parse every file into batches; nothing is written anywhere.

    Parameters
    ----------
    paths
        Files to import; folders are expanded to the files inside them (sorted). Anything
        else that exists (a device, FIFO or socket) is refused, or skipped inside a folder.
        ``s3://bucket/key`` and ``s3://bucket/prefix/`` are downloaded first (boto3, the
        usual AWS environment) and their batches name the S3 objects as their origin.
    format_name
        Format of every file; detected per file when None.
    as_of
        When the data was true; per format default otherwise (see each importer). A time
        later than now is refused; derived ones later than now become now, with a note.
    source
        Provenance name for every row; ``format:file`` otherwise.
    on_file
        Called once per file, with its format, before it is read (for progress).
    """
    if as_of is not None:
        as_of = given_as_of(as_of)
    with ExitStack() as stack:
        local, remote, notes = _fetch(paths, stack)
        try:
            files, skipped = _expand(local)
            notes.extend(skipped)
            groups: dict[str, list[Path]] = {}
            for path in files:
                fmt = format_named(format_name) if format_name else detect_format(path)
                if on_file is not None:
                    on_file(path, fmt)
                groups.setdefault(fmt.name, []).append(path)
            batches: list[ImportBatch] = []
            for name, group in groups.items():
                batches.extend(FORMATS[name].read(group, as_of, source))
        except SpotadvisorError as exc:
            if exc.file in remote:  # name the S3 object, not its temporary copy
                exc.file = remote[exc.file]
            raise
    if remote:
        batches = [_name_remote(b, remote) for b in batches]
    if notes and batches:
        batches[0] = dataclasses.replace(batches[0], notes=(*notes, *batches[0].notes))
    return batches


def _fetch(
    paths: Sequence[Path | str], stack: ExitStack
) -> tuple[list[Path], dict[str, str], list[str]]:
    """Local paths (s3:// ones downloaded into a temporary folder that ``stack`` removes),
    local file -> S3 URI for the downloaded ones, and notes on what was skipped."""
    from spotadvisor.importers.billing import s3

    local: list[Path] = []
    remote: dict[str, str] = {}
    notes: list[str] = []
    folder: Path | None = None
    for path in paths:
        if not s3.is_s3(path):
            local.append(Path(path))
            continue
        if folder is None:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="spotadvisor-")))
        got = s3.download_s3(path, folder)
        for uri, file in got.files:
            local.append(file)
            remote[str(file)] = uri
        if got.skipped:
            notes.append(
                f"{got.uri}: skipped {len(got.skipped)} export manifest(s), not billing data"
            )
    return local, remote, notes


def _name_remote(batch: ImportBatch, remote: dict[str, str]) -> ImportBatch:
    """The batch with its downloaded files named by their S3 URIs."""
    if batch.origin in remote:
        return dataclasses.replace(batch, origin=remote[batch.origin])
    origin = ",".join(remote.get(part, part) for part in batch.origin.split(","))
    return dataclasses.replace(batch, origin=origin)


def _expand(paths: Sequence[Path]) -> tuple[list[Path], list[str]]:
    """The files to read, and notes on what inside folders was skipped.

    A path given by name must be a regular file or a folder: a device, FIFO or socket
    (``/dev/zero``, ``<(cmd)``) is refused before anything reads it, as it could be read
    forever. Inside folders such entries are skipped with a note, like hidden files are
    skipped without one.
    """
    files: list[Path] = []
    notes: list[str] = []
    for path in paths:
        if path.is_dir():
            special = []
            for entry in sorted(path.rglob("*")):
                if entry.name.startswith(".") or entry.is_dir():
                    continue
                if entry.is_file():
                    files.append(entry)
                elif entry.exists():  # exists() follows links: a dangling one is just absent
                    special.append(entry.name)
            if special:
                shown = ", ".join(special[:3]) + (", ..." if len(special) > 3 else "")
                notes.append(
                    f"{path}: skipped {len(special)} entr{'y' if len(special) == 1 else 'ies'} "
                    f"that {'is' if len(special) == 1 else 'are'} not a regular file "
                    f"(device, FIFO or socket): {shown}"
                )
        elif path.is_file():
            files.append(path)
        elif path.exists():
            raise UsageError(
                "not a regular file (a device, FIFO or socket), so it cannot be imported",
                file=str(path),
                fix="give a file or a folder; save a stream to a file first",
            )
        else:
            raise UsageError("file not found", file=str(path), fix="check the path and try again")
    if not files:
        raise UsageError("no files to import", fix="give files or folders that contain them")
    return files, notes


__all__ = ["FORMATS", "FileFormat", "ImportBatch", "detect_format", "format_named", "parse_files"]
