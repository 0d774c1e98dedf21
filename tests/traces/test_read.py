"""Trace readers on the real public traces (skipped without them) and on bad input."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from spotadvisor.cli import app
from spotadvisor.errors import UsageError
from spotadvisor.traces import ZoneTrace, read_traces, split_zone
from spotadvisor.traces.events import alive_counts, max_concurrent, parse_event_log
from spotadvisor.traces.raw import resample_raw
from spotadvisor.traces.read import sniff

SPOTHEDGE = "spot-traces-spothedge/data"
CBL = "spot-traces-cant-be-late"
RAW_2022 = "spot-traces-skypilot-spot-strategy/availability_raw/2022-10-26T22-05"
SPOTSERVE = "spot-traces-spotserve"


def by_zone(traces: list[ZoneTrace]) -> dict[str, ZoneTrace]:
    return {t.zone: t for t in traces}


# --- JSON tick traces (4a, 4b) ------------------------------------------------------------


def test_spothedge_aws1(shared_data: Path) -> None:
    zones = by_zone(read_traces([shared_data / SPOTHEDGE / "AWS1"]))
    assert sorted(zones) == ["us-east-1f", "us-east-2a", "us-west-2c"]
    east = zones["us-east-1f"]
    assert (east.name, east.cloud, east.region, east.instance) == (
        "us-east-1f_v100_1",
        "aws",
        "us-east-1",
        "p3.2xlarge",
    )
    assert east.gap_seconds == 300.0
    assert east.capacity == 4  # 4x p3.2xlarge; the "_1" of the name is GPUs per instance
    assert east.counts.dtype == np.int64
    assert len(east.counts) == 3156
    assert Counter(east.counts.tolist()) == {0: 1890, 4: 1037, 2: 79, 1: 76, 3: 74}
    assert east.duration_hours == pytest.approx(3156 * 300 / 3600)
    assert east.start is None  # SpotHedge folders carry no date
    assert east.kind == "tick"


def test_spothedge_gcp1(shared_data: Path) -> None:
    zones = by_zone(read_traces([shared_data / SPOTHEDGE / "GCP1"]))
    assert len(zones) == 6
    central = zones["us-central1-a"]
    assert (central.cloud, central.region, central.gap_seconds) == ("gcp", "us-central1", 150.0)
    assert central.instance == "a100_40gb_8"  # machine type uncertain: raw token kept
    assert len(central.counts) == 770
    dead = zones["us-east1-b"]
    assert dead.counts.max() == 0
    assert dead.capacity == 4  # the folder's largest value, not 0


def test_cant_be_late_folders(shared_data: Path) -> None:
    four = read_traces([shared_data / CBL / "preemption/4-node/aws-08-03-2023"])
    assert {t.capacity for t in four} == {4}
    assert {t.start for t in four} == {datetime(2023, 8, 3, tzinfo=UTC)}
    sixteen = read_traces([shared_data / CBL / "availability/16-node"])
    assert {t.capacity for t in sixteen} == {16}
    gcp = by_zone(read_traces([shared_data / CBL / "preemption/1-node/gcp-04-30-2023"]))
    assert gcp["us-east1-b"].instance == "c3-highcpu-88"
    assert gcp["us-east1-b"].gap_seconds == 30.0
    assert len(gcp["us-east1-b"].counts) == 5476


def test_feb_2023_availability_per_zone(shared_data: Path) -> None:
    """README 4a: mean availability from 0.17 (us-east-1a) to 0.91 (us-west-2b)."""
    zones = by_zone(read_traces([shared_data / CBL / "availability/1-node/aws-02-15-2023"]))
    assert len(zones) == 9
    assert {len(t.counts) for t in zones.values()} == {20158}
    assert {t.gap_seconds for t in zones.values()} == {195.0}
    assert zones["us-east-1a"].counts.mean() == pytest.approx(0.17, abs=0.005)
    assert zones["us-west-2b"].counts.mean() == pytest.approx(0.90, abs=0.015)


def test_folder_of_folders_is_recursive(shared_data: Path) -> None:
    skipped: list[Path] = []
    traces = read_traces([shared_data / "spot-traces-spothedge"], skipped=skipped)
    assert len(traces) == 12  # AWS1 3 + AWS2 3 + GCP1 6
    assert [p.name for p in skipped] == ["maf1_cleaned_requests_per_minute.csv"]


# --- raw timestamped traces (4c) ------------------------------------------------------------


def test_raw_traces_align_with_the_json(shared_data: Path) -> None:
    """The raw run behind 4a aws-10-26-2022: same start date, 600 s, JSON = 1 - failed."""
    for stem in ("us-west-2a_v100_1", "us-west-2b_k80_8"):
        (raw,) = read_traces([shared_data / RAW_2022 / f"{stem}.txt"])
        (tick,) = read_traces(
            [shared_data / CBL / f"availability/1-node/aws-10-26-2022/{stem}.json"]
        )
        assert raw.kind == "raw"
        assert raw.start == datetime(2022, 10, 26, 22, 5, 4, tzinfo=UTC)
        assert tick.start is not None and raw.start.date() == tick.start.date()
        assert raw.gap_seconds == 600.0
        assert len(raw.counts) == len(tick.counts) == 3895
        # Identical until the collector's clock has drifted half a gap (0.1 s a row).
        assert np.array_equal(raw.counts[:3000], tick.counts[:3000])
        assert (raw.counts != tick.counts).mean() < 0.05


def test_resample_raw_keeps_the_nearest_row() -> None:
    start = datetime(2022, 1, 1, tzinfo=UTC)
    times = [start.replace(second=0, minute=m) for m in (0, 10, 20)] + [
        datetime(2022, 1, 1, 0, 50, tzinfo=UTC)  # a 30 min hole
    ]
    counts, gap = resample_raw(times, [1, 0, 1, 0])
    assert gap == 600.0
    assert counts.tolist() == [1, 0, 1, 1, 0, 0]  # 30 min: nearest is 20; 40 min: tie -> 20


# --- SpotServe (4d) -------------------------------------------------------------------------


def test_spotserve_event_log(shared_data: Path) -> None:
    path = shared_data / SPOTSERVE / "g4dn_availability_events_full.csv"
    events = parse_event_log(path.read_text())
    assert Counter(e.kind for e in events) == {"add": 79, "remove": 74}
    assert max_concurrent(events) == 24
    (trace,) = read_traces([path])
    assert trace.kind == "events"
    assert (trace.capacity, int(trace.counts.max())) == (24, 24)
    assert trace.gap_seconds == 60.0
    assert trace.duration_hours == pytest.approx(10.8, abs=0.05)
    assert (trace.cloud, trace.zone, trace.instance) == ("aws", "", "g4dn.12xlarge")
    assert trace.counts[-1] == 79 - 74


def test_spotserve_segments(shared_data: Path) -> None:
    (trace,) = read_traces([shared_data / SPOTSERVE / "trace_seg/trace_0203.txt"])
    # 9 nodes at 0; -1 at 60 s; -2 at 120 s; +1 at 300, 360, 420, 480 s; DONE at 540 s.
    assert trace.counts.tolist() == [9, 8, 6, 6, 6, 7, 8, 9, 10]
    assert trace.capacity == 10


def test_alive_counts_between_ticks() -> None:
    events = parse_event_log("30000,add,a\n90000,add,b\n100000,remove,a\n")
    assert alive_counts(events, 60.0).tolist() == [0, 1]  # ticks at 0 and 60 s
    assert alive_counts(events, 30.0).tolist() == [0, 1, 1, 2]  # b joins at 90 s, a leaves at 100 s


# --- probe logs (4e) ------------------------------------------------------------------------


def test_probe_logs(shared_data: Path) -> None:
    path = shared_data / "spot-traces-training-on-a-dime/aws_availability_persistent_2020-03-15.log"
    traces = read_traces([path])
    assert len(traces) == 8  # us-east-1b/c x {k80, v100} x {1, 8}
    names = {t.name for t in traces}
    assert "aws_availability_persistent_2020-03-15/us-east-1b_v100x1" in names
    v100 = next(t for t in traces if t.name.endswith("us-east-1c_v100x1"))
    assert (v100.cloud, v100.region, v100.instance) == ("aws", "us-east-1", "p3.2xlarge")
    assert v100.start == datetime(2020, 3, 15, 10, 7, 33, tzinfo=UTC)
    assert v100.gap_seconds == 300.0
    assert set(v100.counts.tolist()) <= {0, 1}


# --- names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "cloud", "region"),
    [
        ("us-east-1f", "aws", "us-east-1"),
        ("ap-northeast-1a", "aws", "ap-northeast-1"),
        ("us-gov-west-1a", "aws", "us-gov-west-1"),
        ("us-central1-a", "gcp", "us-central1"),
        ("europe-west4-a", "gcp", "europe-west4"),
        ("somewhere", None, ""),
    ],
)
def test_split_zone(zone: str, cloud: str | None, region: str) -> None:
    assert split_zone(zone) == (cloud, region)


# --- bad input ------------------------------------------------------------------------------


def tick(gap: object = 60, data: object = (1, 0, 1)) -> str:
    return json.dumps({"metadata": {"gap_seconds": gap}, "data": list(data)})  # type: ignore[call-overload]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("a.json", tick(data=()), "no data"),
        ("a.json", tick(gap=0), "gap_seconds must be > 0"),
        ("a.json", tick(data=(1, -1)), "counts >= 0"),
        ("a.json", '{"metadata": {"gap_seconds": 60}, "data": [1,', "not valid JSON"),
        ("a.json", '{"metadata": {"gap_seconds": 60}}', "missing 'data'"),
        ("a.txt", "hello\n", "not a trace in any known format"),
        ("a.csv", "0,remove,node1\n", "removed while not alive"),
        ("a.csv", "0,add,node1\n5,jump,node1\n", "line 2"),
        ("a.txt", "0,2022-10-26T22:05:04.000Z,2\n", "must be 0 or 1"),
        ("a.txt", '[0, "add", {"nodes": ["a"]}]\n[60000, "add"]\n', "line 2"),
    ],
)
def test_malformed_files(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(UsageError, match=message) as caught:
        read_traces([path])
    assert caught.value.file == str(path)
    assert caught.value.exit_code == 2


def test_missing_and_empty(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        read_traces([tmp_path / "nope.json"])
    (tmp_path / "notes.txt").write_text("not a trace\n")
    with pytest.raises(UsageError, match="no traces found"):
        read_traces([tmp_path])


def test_sniff() -> None:
    assert sniff(tick()) == "tick"
    assert sniff('{"other": 1}') is None
    assert sniff("1,2022-10-26T22:05:04.000Z,1\n") == "raw"
    assert sniff("480000,add,node1\n") == "events"
    assert sniff('[0, "add", {"nodes": []}]\n') == "segments"
    assert sniff("[2020-03-01T10:00:00.000Z] Instance x running in zone z\n") == "probes"


def test_malformed_file_through_the_cli(tmp_path: Path) -> None:
    path = tmp_path / "us-east-1a_v100_1.json"
    path.write_text(tick(gap=-5))
    result = CliRunner().invoke(app, ["replay", str(path)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: {path}: metadata.gap_seconds: gap_seconds must be > 0")
