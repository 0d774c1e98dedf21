"""Notices the watch agent acts on, the JSON records it writes, and reading them back.

A notice is one event the cloud announced for this instance: a termination (AWS spot
``instance-action``, GCP ``preempted``, Azure ``Preempt``/``Terminate``), a rebalance
recommendation (AWS) or a maintenance event (GCP ``maintenance-event``, Azure
``Freeze``/``Reboot``/``Redeploy``). ``spotadvisor watch`` prints each one as a JSON line
(:meth:`Notice.record`) and appends it to ``--log``; ``report --watch-log`` reads those
logs back with :func:`read_watch_log`. The keys of a notice record are fixed
(:data:`NOTICE_KEYS`); outcome records (hook, webhook, ack, error...) share ``ts``,
``event`` and ``source`` and are skipped when reading.
"""

from __future__ import annotations

import errno
import json
import math
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, get_args

from spotadvisor.errors import UsageError

Kind = Literal["termination", "rebalance", "maintenance"]
KINDS: tuple[str, ...] = get_args(Kind)

#: the keys of a notice record, in the order they are written
NOTICE_KEYS = (
    "ts",
    "event",
    "cloud",
    "instance_id",
    "instance_type",
    "zone",
    "zone_id",
    "region",
    "action",
    "notice_time",
    "deadline",
    "seconds_left",
    "event_id",
    "source",
)
#: keys a log written by an older agent may lack (read as null)
OPTIONAL_KEYS = frozenset({"zone_id"})
SOURCE = "watch"


@dataclass(frozen=True)
class Identity:
    """What the metadata service says about this instance (None where it did not).

    Attributes
    ----------
    instance_id, instance_type, zone, region
        As the cloud names them (``i-0abc...``, ``p5.48xlarge``, ``us-east-1a``...).
    name
        The VM name (GCP, Azure); Azure scheduled events list resources by name.
    zone_id
        The AWS zone ID (``use1-az6``): zone names differ between accounts, IDs do not.
    """

    instance_id: str | None = None
    instance_type: str | None = None
    zone: str | None = None
    region: str | None = None
    name: str | None = None
    zone_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class Notice:
    """One event announced by the cloud's metadata service for this instance.

    Attributes
    ----------
    kind
        ``termination``, ``rebalance`` (advisory, AWS) or ``maintenance``.
    cloud
        ``aws``, ``gcp`` or ``azure``.
    action
        What the cloud announced: ``terminate``/``stop``/``hibernate`` (AWS),
        ``preempted`` (GCP), ``Preempt``/``Terminate`` (Azure), ``rebalance``,
        ``MIGRATE_ON_HOST_MAINTENANCE``, ``Freeze``...
    notice_time
        When the notice was first seen (UTC).
    deadline
        When the cloud will act (UTC), None when it gave no time.
    event_id
        The dedupe key: AWS action@time, GCP ``preempted:<instance>``, Azure EventId.
    instance_id, instance_type, zone, region
        The instance, where the metadata service told.
    zone_id
        The AWS zone ID (``use1-az6``), where IMDS told; None on GCP and Azure.
    """

    kind: Kind
    cloud: str
    action: str
    notice_time: datetime
    deadline: datetime | None
    event_id: str
    instance_id: str | None = None
    instance_type: str | None = None
    zone: str | None = None
    region: str | None = None
    zone_id: str | None = None

    def seconds_left(self, now: datetime) -> float | None:
        """Seconds from ``now`` to the deadline (negative once past), None without one."""
        if self.deadline is None:
            return None
        return (self.deadline - now).total_seconds()

    def record(self, now: datetime) -> dict[str, Any]:
        """The JSON log record of this notice at ``now`` (keys: :data:`NOTICE_KEYS`)."""
        left = self.seconds_left(now)
        return {
            "ts": iso(now),
            "event": self.kind,
            "cloud": self.cloud,
            "instance_id": self.instance_id,
            "instance_type": self.instance_type,
            "zone": self.zone,
            "zone_id": self.zone_id,
            "region": self.region,
            "action": self.action,
            "notice_time": iso(self.notice_time),
            "deadline": iso(self.deadline) if self.deadline is not None else None,
            "seconds_left": round(left, 1) if left is not None else None,
            "event_id": self.event_id,
            "source": SOURCE,
        }

    def with_identity(self, identity: Identity) -> Notice:
        """This notice with the instance fields filled from ``identity``."""
        from dataclasses import replace

        return replace(
            self,
            instance_id=identity.instance_id,
            instance_type=identity.instance_type,
            zone=identity.zone,
            region=identity.region,
            zone_id=identity.zone_id,
        )


def outcome(event: str, now: datetime, **fields: object) -> dict[str, Any]:
    """An outcome record (``hook``, ``webhook``, ``ack``, ``error``...) at ``now``."""
    return {"ts": iso(now), "event": event, **fields, "source": SOURCE}


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with ``Z``; milliseconds only when the time has a fraction."""
    moment = moment.astimezone(UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond // 1000:03d}"
    return text + "Z"


def utc(epoch: float) -> datetime:
    """An epoch time [s] as an aware UTC datetime."""
    return datetime.fromtimestamp(epoch, UTC)


def parse_time(text: str) -> datetime:
    """An ISO 8601 time; naive times are read as UTC.

    Raises
    ------
    ValueError
        When ``text`` is not an ISO 8601 time.
    """
    moment = datetime.fromisoformat(text.strip())
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def dumps(record: dict[str, Any]) -> str:
    """One record as one compact JSON line (without the newline)."""
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False)


class Recorder:
    """Where records go: notices to ``out``, outcomes to ``err``, both to the log.

    Thread-safe (hooks and the webhook finish in threads). A log that cannot be written
    is said once on ``err`` and otherwise ignored: it must never stop the agent.

    Each record reaches the log in one ``write`` of the whole line, opened for appending,
    so a crash can at worst leave the last line incomplete, never mix two records. If
    the file does not end with a newline (a torn line from a crash, or a hand edit), the
    record starts with one, so it is never glued onto the torn line.

    Parameters
    ----------
    out, err
        Line writers (stdout and stderr in the CLI).
    log
        JSON-lines file to append to, or None. Notices are synced to disk at once (and
        the folder, when the file is new), because the machine may be gone a minute
        later and they are what a restarted agent remembers.
    """

    def __init__(
        self, out: Callable[[str], None], err: Callable[[str], None], log: Path | None
    ) -> None:
        self.out, self.err, self.log = out, err, log
        self._lock = threading.Lock()
        self._log_failed = False

    def notice(self, record: dict[str, Any]) -> None:
        """Print a notice record on ``out`` and log it (synced)."""
        line = dumps(record)
        with self._lock:
            self.out(line)
            self._append(line, sync=True)

    def outcome(self, now: datetime, event: str, **fields: object) -> None:
        """Print an outcome record (:func:`outcome`) on ``err`` and log it."""
        line = dumps(outcome(event, now, **fields))
        with self._lock:
            self.err(line)
            self._append(line, sync=False)

    def _append(self, line: str, *, sync: bool) -> None:
        if self.log is None:
            return
        try:
            append_line(self.log, line, sync=sync)
        except OSError as exc:
            if not self._log_failed:
                self._log_failed = True
                self.err(f"warning: cannot write {self.log}: {exc.strerror or exc}")


def append_line(path: Path, line: str, *, sync: bool) -> None:
    """Append ``line`` and a newline to ``path`` in one write, on a line of its own.

    Parameters
    ----------
    path
        The file; created when missing.
    line
        One line of text, without the newline.
    sync
        fsync the file (and its folder when the file is new) before returning.

    Raises
    ------
    OSError
        When the file cannot be opened or written.
    """
    new = not path.exists()
    try:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o666)
        readable = True
    except PermissionError:  # a write-only log: no check for a torn last line
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        readable = False
    try:
        data = line.encode("utf-8") + b"\n"
        if readable and not _ends_a_line(fd):
            data = b"\n" + data
        written = os.write(fd, data)
        while written < len(data):  # only on a full disk or a signal: finish the line
            written += os.write(fd, data[written:])
        if sync:
            try:
                os.fsync(fd)
            except OSError as exc:  # a pipe or a terminal cannot be synced: nothing to lose
                if exc.errno != errno.EINVAL:
                    raise
    finally:
        os.close(fd)
    if sync and new:
        _sync_folder(path.parent)


def _ends_a_line(fd: int) -> bool:
    """Whether the file is empty or ends with a newline (True when that cannot be told)."""
    try:
        size = os.fstat(fd).st_size
        return size == 0 or os.pread(fd, 1, size - 1) == b"\n"
    except OSError:  # not a regular file (a pipe, a terminal): nothing to tear
        return True


def _sync_folder(folder: Path) -> None:
    """fsync a folder, so a file just created in it survives a crash (best effort)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read_watch_log(path: Path, *, skip: Callable[[str], None] | None = None) -> list[Notice]:
    """The notices in a ``spotadvisor watch --log`` file, each once.

    Parameters
    ----------
    path
        A JSON-lines file written by ``watch --log``.
    skip
        None: a line that is not a watch record is an error. Otherwise such lines are
        skipped, and ``skip`` gets one note per line, naming the file and the line (the
        agent reads its own log this way: a crash mid-write leaves a torn last line,
        and that must not make it forget the notices before it).

    Returns
    -------
    list of Notice
        Termination, rebalance and maintenance notices in file order; outcome records
        (hook, webhook, ack, error...) are skipped, and a notice logged again (same
        cloud, instance and ``event_id``, e.g. after an agent restart) counts once.

    Raises
    ------
    UsageError
        When the file cannot be read, or (without ``skip``) a line is not a watch
        record (the field names the line).
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(
            f"cannot read the watch log: {exc.strerror or exc}",
            file=str(path),
            fix="give the file 'spotadvisor watch --log FILE' wrote",
        ) from None
    # only "\n" ends a line: records may hold U+2028 and other characters that
    # str.splitlines() would split at
    lines = data.split(b"\n")
    torn_tail = bool(lines[-1].strip())  # the last line has no newline
    notices: dict[tuple[str, str | None, str], Notice] = {}
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            notice = _parse_line(raw, path, number)
        except UsageError as exc:
            if skip is None:
                raise
            last = torn_tail and number == len(lines)
            skip(_skipped(exc, path, number, last=last))
            continue
        if notice is not None:
            notices.setdefault((notice.cloud, notice.instance_id, notice.event_id), notice)
    return list(notices.values())


def _skipped(exc: UsageError, path: Path, number: int, *, last: bool) -> str:
    problem = exc.message.split(";", 1)[0]
    if last:
        return (
            f"skipped line {number} of {path}, the last: {problem}, an incomplete record "
            "as a crash mid-write leaves; new records start on a fresh line"
        )
    return f"skipped line {number} of {path}: {problem}; not a watch record"


def _parse_line(raw: bytes, path: Path, number: int) -> Notice | None:
    def bad(problem: str) -> UsageError:
        return UsageError(
            f"{problem}; not a record of 'spotadvisor watch --log'",
            file=str(path),
            field=f"line {number}",
            fix="give a log written by 'spotadvisor watch --log', or delete the line",
        )

    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise bad("not UTF-8 text") from None
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        raise bad("not JSON") from None
    if not isinstance(record, dict) or record.get("source") != SOURCE:
        raise bad('no "source": "watch"')
    event = record.get("event")
    if not isinstance(event, str):
        raise bad('no "event"')
    if event not in KINDS:
        return None  # an outcome record
    missing = [key for key in NOTICE_KEYS if key not in record and key not in OPTIONAL_KEYS]
    if missing:
        raise bad(f"the notice has no {', '.join(missing)}")
    for key in ("cloud", "action", "event_id", "notice_time"):
        if not isinstance(record[key], str) or not record[key]:
            raise bad(f"{key} is not text")
    for key in ("instance_id", "instance_type", "zone", "zone_id", "region", "deadline"):
        if record.get(key) is not None and not isinstance(record[key], str):
            raise bad(f"{key} is not text or null")
    left = record["seconds_left"]
    if left is not None and not (isinstance(left, int | float) and math.isfinite(left)):
        raise bad("seconds_left is not a number or null")
    try:
        notice_time = parse_time(record["notice_time"])
        deadline = parse_time(record["deadline"]) if record["deadline"] else None
    except ValueError:
        raise bad("a time is not ISO 8601") from None
    kind: Kind = event  # type: ignore[assignment]  # checked against KINDS above
    return Notice(
        kind=kind,
        cloud=record["cloud"],
        action=record["action"],
        notice_time=notice_time,
        deadline=deadline,
        event_id=record["event_id"],
        instance_id=record["instance_id"],
        instance_type=record["instance_type"],
        zone=record["zone"],
        region=record["region"],
        zone_id=record.get("zone_id"),
    )
