"""Notice records and reading ``watch --log`` files back."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from spotadvisor.errors import UsageError
from spotadvisor.report.interruptions import events_from_watch_logs
from spotadvisor.watch.notice import (
    NOTICE_KEYS,
    Identity,
    Notice,
    dumps,
    iso,
    outcome,
    read_watch_log,
)

SEEN = datetime(2026, 10, 3, 3, 0, 0, 250000, tzinfo=UTC)


def notice(kind: str = "termination", event_id: str = "terminate@2026-10-03T03:02:00Z") -> Notice:
    return Notice(
        kind=kind,  # type: ignore[arg-type]
        cloud="aws",
        action="terminate" if kind == "termination" else "rebalance",
        notice_time=SEEN,
        deadline=datetime(2026, 10, 3, 3, 2, tzinfo=UTC) if kind == "termination" else None,
        event_id=event_id,
    ).with_identity(
        Identity("i-0abc", "p5.48xlarge", "us-east-1a", "us-east-1", zone_id="use1-az6")
    )


def test_record_has_exactly_the_documented_keys_in_order() -> None:
    record = notice().record(SEEN + timedelta(seconds=0.5))
    assert tuple(record) == NOTICE_KEYS
    assert record == {
        "ts": "2026-10-03T03:00:00.750Z",
        "event": "termination",
        "cloud": "aws",
        "instance_id": "i-0abc",
        "instance_type": "p5.48xlarge",
        "zone": "us-east-1a",
        "zone_id": "use1-az6",
        "region": "us-east-1",
        "action": "terminate",
        "notice_time": "2026-10-03T03:00:00.250Z",
        "deadline": "2026-10-03T03:02:00Z",
        "seconds_left": 119.2,
        "event_id": "terminate@2026-10-03T03:02:00Z",
        "source": "watch",
    }


def test_a_notice_without_deadline_has_nulls() -> None:
    record = notice("rebalance", "rebalance@x").record(SEEN)
    assert record["deadline"] is None and record["seconds_left"] is None
    assert notice("rebalance").seconds_left(SEEN) is None


def test_iso_is_utc_with_z() -> None:
    from zoneinfo import ZoneInfo

    local = datetime(2026, 10, 3, 5, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    assert iso(local) == "2026-10-03T03:00:00Z"


def write_log(path: Path, *records: dict[str, object]) -> Path:
    path.write_text("".join(dumps(r) + "\n" for r in records))
    return path


def test_read_back_skips_outcomes_and_counts_a_notice_once(tmp_path: Path) -> None:
    first = notice()
    log = write_log(
        tmp_path / "notices.jsonl",
        first.record(SEEN),
        outcome("hook", SEEN, event_id=first.event_id, exit_code=0),
        outcome("error", SEEN, message="GET ...: connection refused"),
        notice("rebalance", "rebalance@2026-10-03T02:58:00Z").record(SEEN),
        first.record(SEEN + timedelta(seconds=5)),  # logged again after a restart
    )
    with log.open("a") as handle:
        handle.write("\n")  # blank lines are fine
    found = read_watch_log(log)
    assert [n.kind for n in found] == ["termination", "rebalance"]
    assert found[0] == first
    assert found[0].deadline == datetime(2026, 10, 3, 3, 2, tzinfo=UTC)


def test_two_instances_with_the_same_action_time_stay_apart(tmp_path: Path) -> None:
    other = Notice(**{**notice().__dict__, "instance_id": "i-0def"})
    log = write_log(tmp_path / "fleet.jsonl", notice().record(SEEN), other.record(SEEN))
    assert len(read_watch_log(log)) == 2


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("not json at all", "not JSON"),
        ('["a list"]', '"source": "watch"'),
        ('{"event": "termination", "source": "other"}', '"source": "watch"'),
        ('{"source": "watch"}', 'no "event"'),
        ('{"event": "termination", "source": "watch", "cloud": "aws"}', "has no ts"),
    ],
)
def test_a_malformed_line_names_the_file_and_line(tmp_path: Path, line: str, problem: str) -> None:
    log = tmp_path / "notices.jsonl"
    log.write_text(dumps(notice().record(SEEN)) + "\n" + line + "\n")
    with pytest.raises(UsageError) as caught:
        read_watch_log(log)
    message = caught.value.one_line()
    assert caught.value.field == "line 2" and str(log) in message
    assert problem in message and caught.value.fix


def test_bad_times_and_types_are_refused(tmp_path: Path) -> None:
    record = notice().record(SEEN)
    for key, value in (("deadline", "tomorrow"), ("seconds_left", "soon"), ("zone", 3)):
        log = write_log(tmp_path / "bad.jsonl", {**record, key: value})
        with pytest.raises(UsageError, match="line 1"):
            read_watch_log(log)


def test_the_report_reads_termination_notices(tmp_path: Path) -> None:
    log = write_log(
        tmp_path / "a.jsonl",
        notice().record(SEEN),
        notice("rebalance", "rebalance@x").record(SEEN),
    )
    copy = tmp_path / "b.jsonl"
    copy.write_text(log.read_text())
    events = events_from_watch_logs([log, copy])
    assert len(events) == 1
    assert events[0].instance_type == "p5.48xlarge" and events[0].notice_time == SEEN


def test_records_are_one_line_of_json() -> None:
    line = dumps(notice().record(SEEN))
    assert "\n" not in line and json.loads(line)["event"] == "termination"


def test_a_log_of_an_older_agent_without_zone_id_is_read(tmp_path: Path) -> None:
    record = notice().record(SEEN)
    del record["zone_id"]  # agents before zone_id wrote the other keys only
    log = tmp_path / "old.jsonl"
    log.write_text(dumps(record) + "\n")
    (found,) = read_watch_log(log)
    assert (found.zone, found.zone_id) == ("us-east-1a", None)
    record["zone_id"] = 6
    log.write_text(dumps(record) + "\n")
    with pytest.raises(UsageError, match="zone_id is not text"):
        read_watch_log(log)


def test_only_a_newline_ends_a_record(tmp_path: Path) -> None:
    # ensure_ascii=False writes U+2028 as it is, and str.splitlines() would split there
    odd = Notice(**{**notice().__dict__, "instance_type": "p5\u2028\x1c48xlarge"})
    log = write_log(tmp_path / "notices.jsonl", odd.record(SEEN))
    (found,) = read_watch_log(log)
    assert found.instance_type == "p5\u2028\x1c48xlarge"


def test_with_skip_unreadable_lines_are_named_and_the_rest_is_kept(tmp_path: Path) -> None:
    log = tmp_path / "notices.jsonl"
    first, second = notice(), notice("rebalance", "rebalance@x")
    log.write_bytes(
        dumps(first.record(SEEN)).encode()
        + b'\n{"ts": "torn\n\xff\xfe\n'
        + dumps(second.record(SEEN)).encode()
        + b'\n{"ts":"2026'
    )
    notes: list[str] = []
    found = read_watch_log(log, skip=notes.append)
    assert found == [first, second]
    assert notes == [
        f"skipped line 2 of {log}: not JSON; not a watch record",
        f"skipped line 3 of {log}: not UTF-8 text; not a watch record",
        f"skipped line 5 of {log}, the last: not JSON, an incomplete record as a crash "
        "mid-write leaves; new records start on a fresh line",
    ]
    with pytest.raises(UsageError, match="line 2"):  # the report's reading stays strict
        read_watch_log(log)
