"""The registry of importable formats, and telling them apart.

Each format has a ``sniff`` that looks at the first 64 KB of a file and a ``read`` that
returns ``ImportBatch`` objects; ``parse_files`` picks the format of every file (or uses
the one the user named), groups files of one format and reads them together.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from spotadvisor.errors import UsageError, did_you_mean
from spotadvisor.importers.base import FileFormat, ImportBatch, read_text
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
    )
}

SNIFF_BYTES = 64 * 1024


def detect_format(path: Path) -> FileFormat:
    """The one format whose sniff accepts ``path``.

    Raises
    ------
    UsageError
        When no format, or more than one, recognises the file.
    """
    head = read_text(path)[:SNIFF_BYTES]
    matches = [f for f in FORMATS.values() if f.sniff(head)]
    if len(matches) == 1:
        return matches[0]
    names = ", ".join(FORMATS)
    if not matches:
        raise UsageError(
            "not a file format spotadvisor can import",
            file=str(path),
            fix=f"give one of: {names} (or name it with --format if it is one of them)",
        )
    raise UsageError(
        f"the file looks like several formats ({', '.join(f.name for f in matches)})",
        file=str(path),
        fix="name the right one with --format",
    )


def format_named(name: str) -> FileFormat:
    """The format called ``name``, with "did you mean" when misspelt."""
    if name in FORMATS:
        return FORMATS[name]
    raise UsageError(
        f"unknown format {name!r}",
        field="--format",
        fix=did_you_mean(name, FORMATS) or f"use one of {', '.join(FORMATS)}",
    )


def parse_files(
    paths: Sequence[Path],
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
        Files to import; folders are expanded to the files inside them (sorted).
    format_name
        Format of every file; detected per file when None.
    as_of
        When the data was true; per format default otherwise (see each importer).
    source
        Provenance name for every row; ``format:file`` otherwise.
    on_file
        Called once per file, with its format, before it is read (for progress).
    """
    files = _expand(paths)
    groups: dict[str, list[Path]] = {}
    for path in files:
        fmt = format_named(format_name) if format_name else detect_format(path)
        if on_file is not None:
            on_file(path, fmt)
        groups.setdefault(fmt.name, []).append(path)
    batches: list[ImportBatch] = []
    for name, group in groups.items():
        batches.extend(FORMATS[name].read(group, as_of, source))
    return batches


def _expand(paths: Sequence[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
            )
        elif path.exists():
            files.append(path)
        else:
            raise UsageError("file not found", file=str(path), fix="check the path and try again")
    if not files:
        raise UsageError("no files to import", fix="give files or folders that contain them")
    return files


__all__ = ["FORMATS", "FileFormat", "ImportBatch", "detect_format", "format_named", "parse_files"]
