"""What every importer returns, and the small file and data-quality flag helpers they share.

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

import numpy as np
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


def given_as_of(
    when: datetime,
    *,
    field: str = "--as-of",
    shown: str | None = None,
    now: datetime | None = None,
) -> datetime:
    """A date the user gave for when data was true, in UTC, refused when in the future.

    Data cannot be true later than now, and gates trust its age: a future date would
    make old data look fresh for as long as the clock takes to reach it. ``shown`` is the
    text the user wrote, for the message; naive times are UTC.

    Raises
    ------
    UsageError
        When ``when`` is later than now.
    """
    aware = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    if aware > (now or datetime.now(UTC)):
        raise UsageError(
            f"{shown!r} is in the future"
            if shown
            else f"{aware:%Y-%m-%d %H:%M} UTC is in the future",
            field=field,
            fix="give when the data was true, today or earlier",
        )
    return aware


def not_after_now(
    when: datetime, what: str, *, now: datetime | None = None
) -> tuple[datetime, str | None]:
    """``when``, or now when ``when`` is later, and then a note saying so.

    Every ``as_of`` an importer derives (a date in a file name, a modification time, the
    newest record or charge period in a file) goes through here: a file named for 2099, a
    clock that was wrong when a file was written or a bill whose last period ends next
    month would otherwise make data look fresh, and ``gate --max-data-age`` trusts that.

    Parameters
    ----------
    when
        The derived time; naive means UTC. A ``pd.Timestamp`` works too.
    what
        Where it came from, for the note: ``the file name``, ``the newest record``.
    now
        The present (UTC); the clock by default.

    Returns
    -------
    (as_of, note)
        ``when`` unchanged and None, or now (in ``when``'s type) and a one-line note.
    """
    now = now or datetime.now(UTC)
    aware = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    if aware <= now:
        return when, None
    clamped = pd.Timestamp(now) if isinstance(when, pd.Timestamp) else now
    return clamped, future_as_of_note(aware, what, now)


def future_as_of_note(when: datetime, what: str, used: datetime) -> str:
    """The note of ``not_after_now``: ``when`` (from ``what``) is later than now, ``used`` is kept."""
    return (
        f"as_of {when:%Y-%m-%d %H:%M} UTC from {what} is in the future; "
        f"using the time of import ({used:%Y-%m-%d %H:%M} UTC) instead; "
        "pass --as-of to say when the data was true"
    )


def resolve_as_of(path: Path, explicit: datetime | None) -> tuple[datetime, str]:
    """When a file's facts were true, and a note saying how that was decided.

    In order: the ``--as-of`` the user gave, a date in the file name, then the file's
    modification time (right for a file just downloaded, wrong for an old copy, so the
    note says so). A derived time later than now becomes now, and the note says so
    (``not_after_now``); a given one later than now is refused (``given_as_of``).

    Raises
    ------
    UsageError
        When ``explicit`` is in the future.
    """
    if explicit is not None:
        given = given_as_of(explicit)
        return given, f"{path.name}: as_of {given:%Y-%m-%d} (given)"
    named = date_in_name(path)
    if named is not None:
        when, future = not_after_now(named, "the date in the file name")
        if future is not None:
            return when, f"{path.name}: {future}"
        return named, f"{path.name}: as_of {named:%Y-%m-%d} (from the file name)"
    mtime = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
    when, future = not_after_now(mtime, "the file's modification time")
    if future is not None:
        return when, f"{path.name}: {future}"
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


def flag_where(mask: pd.Series, name: str) -> pd.Series:
    """``name`` where ``mask`` is true, None elsewhere."""
    return mask.astype(bool).map({True: name, False: None})


def _ten_thousandths(price: pd.Series) -> pd.Series:
    """Price in 1/10000 USD, rounded half up as SkyPilot's catalog does (10.18405 -> 101841).

    The small epsilon absorbs binary noise (10.18405 * 1e4 = 101840.49999...).
    """
    floored: pd.Series = np.floor(price * 10_000 + 0.5 + 1e-6)
    return floored


def judge_spot(on_demand: pd.Series, spot: pd.Series) -> tuple[pd.Series, list[pd.Series]]:
    """Spot [USD/h] with filled-in values removed, and the flags about spot vs on-demand."""
    both = on_demand.notna() & spot.notna()
    filler = both & (_ten_thousandths(spot) == _ten_thousandths(on_demand))
    market = both & ~filler
    above = market & (spot > on_demand)
    floor = market & (_ten_thousandths(spot) == _ten_thousandths(on_demand * 0.1))
    flags = [
        flag_where(filler, "spot_price_filler"),
        flag_where(above, "spot_above_on_demand"),
        flag_where(floor, "spot_price_floor_10pct"),
    ]
    return spot.mask(filler), flags
