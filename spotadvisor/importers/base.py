"""What every importer returns, and the small file helpers they share.

Naming follows pvlib: ``read_*`` opens files, ``parse_*`` works on objects already in
memory and is where the logic (and the tests) live.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from spotadvisor.errors import UsageError
from spotadvisor.schema import Table


@dataclass(frozen=True)
class ImportBatch:
    """Rows for one canonical table, parsed from one or more files.

    Attributes
    ----------
    table
        The canonical table the rows belong to.
    frame
        The rows, already passed through ``schema.validate``.
    source
        Provenance name written into every row's ``source`` column.
    origin
        The file(s) the rows came from, for messages and the ingest log.
    notes
        Human-readable remarks: rows skipped, values flagged, how ``as_of`` was chosen.
    """

    table: Table
    frame: pd.DataFrame
    source: str
    origin: str
    notes: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class FileFormat:
    """One importable file format.

    Attributes
    ----------
    name
        What ``data import --format`` calls it.
    description
        One line for ``--help`` and the docs.
    sniff
        True when the first few KB of a file (as text) look like this format.
    read
        Reads every file of this format given in one import and returns batches.
        Files are read together because some formats split one catalog over files.
    """

    name: str
    description: str
    sniff: Callable[[str], bool]
    read: Callable[[Sequence[Path], datetime | None, str | None], list[ImportBatch]]


def read_text(path: Path) -> str:
    """The text of ``path``, gunzipped when it is gzip (by magic number, not by name).

    A UTF-8 byte-order mark is dropped.

    Raises
    ------
    UsageError
        When the file cannot be read or is not UTF-8 text.
    """
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        return raw.decode("utf-8-sig")
    except FileNotFoundError:
        raise UsageError(
            "file not found", file=str(path), fix="check the path and try again"
        ) from None
    except (OSError, UnicodeDecodeError, EOFError) as exc:
        raise UsageError(
            f"cannot read the file: {exc}",
            file=str(path),
            fix="give a readable UTF-8 text file, optionally gzipped",
        ) from None


_DATE_IN_NAME = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")


def date_in_name(path: Path) -> datetime | None:
    """The first ``YYYY-MM-DD`` in a file name, as midnight UTC, or None."""
    match = _DATE_IN_NAME.search(path.name)
    if not match:
        return None
    try:
        year, month, day = (int(g) for g in match.groups())
        return datetime(year, month, day, tzinfo=UTC)
    except ValueError:
        return None


def resolve_as_of(path: Path, explicit: datetime | None) -> tuple[datetime, str]:
    """When a file's facts were true, and a note saying how that was decided.

    In order: the ``--as-of`` the user gave, a date in the file name, then the file's
    modification time (right for a file just downloaded, wrong for an old copy, so the
    note says so).
    """
    if explicit is not None:
        return explicit, f"{path.name}: as_of {explicit:%Y-%m-%d} (given)"
    named = date_in_name(path)
    if named is not None:
        return named, f"{path.name}: as_of {named:%Y-%m-%d} (from the file name)"
    mtime = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
    return mtime, (
        f"{path.name}: as_of {mtime:%Y-%m-%d %H:%M} UTC from the file's modification time; "
        "pass --as-of if the data is older"
    )


def default_source(format_name: str, paths: Sequence[Path]) -> str:
    """Provenance name for files imported without ``--source``: ``format:file[,file]``."""
    return f"{format_name}:{','.join(p.name for p in paths)}"


def join_flags(*flags: str | None) -> str | None:
    """';'-joined data-quality flags, or None when there are none."""
    kept = [f for f in flags if f]
    return ";".join(kept) if kept else None
