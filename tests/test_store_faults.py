"""A store that cannot be used, paths that cannot hold one, inputs that never end, Ctrl-C.

Every command that opens the store refuses one that is damaged, truncated, not a DuckDB
file or written by a newer spotadvisor with one line and exit 3 (never a silent fallback
to the embedded snapshot); a ``--db`` that cannot hold a store is exit 2; ``data import``
refuses a device or FIFO instead of reading it forever; Ctrl-C while an import writes
exits 130 and leaves the store as it was.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from spotadvisor.cli import app
from spotadvisor.errors import StoreUnreadableError, UsageError
from spotadvisor.importers.base import ImportBatch
from spotadvisor.importers.registry import parse_files
from spotadvisor.schema import INTERRUPTION_HISTORY, OFFERS, SCHEMA_VERSION
from spotadvisor.sources import load_table
from spotadvisor.store import Store
from tests.conftest import FIXTURES, ROOT
from tests.factories import frame, offer

runner = CliRunner()
EXAMPLE = ROOT / "examples" / "llama70b-fleet.yaml"
SPOT_ADVISOR = FIXTURES / "spot_advisor" / "spot-advisor-data_sample_2025-06-28.json"
OLDER_SPOT_ADVISOR = FIXTURES / "spot_advisor" / "spot-advisor-data_sample_2021-02-10.json"
FOCUS = FIXTURES / "billing" / "focus-1.0_focus_sample_subset.csv"
PRICES = FIXTURES / "spot_price_history" / "spot-price-history_p2_p3_sample.csv"

# Every command that reads the store, with arguments that get it as far as the store.
READERS = {
    "data status": ["data", "status"],
    "offers": ["offers"],
    "simulate": ["simulate", str(EXAMPLE), "--trials", "50"],
    "data export": ["data", "export", "offers"],
    "events stats": ["events", "stats"],
    "gate": ["gate", str(EXAMPLE), "--max-data-age", "30d"],
    "report": ["report", "--month", "2024-09"],
    "recommend": ["recommend", "--gpu", "A100", "--replicas", "1", "--trials", "50"],
}


def cli(db: Path | str, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--db", str(db), *args])
    return result.exit_code, result.stdout, result.stderr


def real_store(path: Path) -> Path:
    """A store holding bands, billing lines and prices, written by ``data import``."""
    code, _, err = cli(path, "data", "import", str(SPOT_ADVISOR), str(FOCUS), str(PRICES))
    assert code == 0, err
    return path


def newer_store(path: Path) -> Path:
    real_store(path)
    with duckdb.connect(str(path)) as con:
        con.execute(
            "UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION + 1)]
        )
    return path


def truncated_store(path: Path) -> Path:
    real_store(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def garbage_store(path: Path) -> Path:
    path.write_bytes(os.urandom(64 * 1024))
    return path


FAULTS = {
    "newer schema": (newer_store, "schema version"),
    "truncated": (truncated_store, "truncated"),
    "garbage": (garbage_store, "not a valid DuckDB database file"),
}


@pytest.fixture(scope="module")
def broken_stores(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("broken")
    return {
        name: make(folder / f"{name.replace(' ', '-')}.duckdb")
        for name, (make, _) in FAULTS.items()
    }


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("command", list(READERS))
def test_a_store_that_cannot_be_read_is_exit_3_for_every_command(
    broken_stores: dict[str, Path], fault: str, command: str
) -> None:
    db = broken_stores[fault]
    before = db.read_bytes()
    code, out, err = cli(db, *READERS[command])
    assert code == 3, err
    errors = [line for line in err.splitlines() if line.startswith(("error:", "internal error"))]
    assert len(errors) == 1 and errors[0].startswith(f"error: {db}: ")
    assert FAULTS[fault][1] in errors[0] and "--db" in errors[0]
    assert "Traceback" not in err and "snapshot" not in out + err  # no silent fallback
    assert out == ""
    assert db.read_bytes() == before  # a read never repairs, rewrites or drops the file


@pytest.mark.parametrize("fault", list(FAULTS))
def test_import_into_a_store_that_cannot_be_read_is_exit_3(
    broken_stores: dict[str, Path], fault: str
) -> None:
    db = broken_stores[fault]
    before = db.read_bytes()
    code, _, err = cli(db, "data", "import", str(OLDER_SPOT_ADVISOR))
    assert code == 3 and FAULTS[fault][1] in err and "Traceback" not in err
    assert db.read_bytes() == before


def test_load_table_never_falls_back_to_the_snapshot_for_a_damaged_store(tmp_path: Path) -> None:
    db = truncated_store(tmp_path / "s.duckdb")
    with pytest.raises(StoreUnreadableError, match="truncated"):
        load_table(Store(db), OFFERS)


def test_a_damaged_block_is_exit_3_not_an_internal_error(tmp_path: Path) -> None:
    db = real_store(tmp_path / "s.duckdb")
    data = bytearray(db.read_bytes())
    for i in range(16 * 1024, 24 * 1024):  # inside the first block: the catalog
        data[i] ^= 0x5A
    db.write_bytes(bytes(data))
    for command in ("data status", "report", "offers"):
        code, out, err = cli(db, *READERS[command])
        assert code == 3, (command, err)
        assert "internal error" not in err and "Traceback" not in err and out == ""


def test_a_healthy_store_with_a_write_ahead_log_still_reads(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    Store(db).write([ImportBatch(OFFERS, frame([offer()]), "test", "<test>")])
    # a writer that died after committing, before its checkpoint: the log holds the rows
    child = textwrap.dedent(
        """
        import os, sys, duckdb
        con = duckdb.connect(sys.argv[1])
        con.execute("UPDATE offers SET price_spot_usd_per_hour = 7.5")
        os._exit(0)
        """
    )
    subprocess.run([sys.executable, "-c", child, str(db)], check=True, timeout=60)
    assert Path(f"{db}.wal").exists()
    assert Store(db).read(OFFERS)["price_spot_usd_per_hour"].tolist() == [7.5]


# -- --db paths that cannot hold a store ---------------------------------------------


def unwritable_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder of mode 0555. Root may write into any folder whatever its mode, so under
    root ``os.access`` is made to answer for the folder as it does for anyone else."""
    folder = tmp_path / "locked"
    folder.mkdir(mode=0o555)
    if os.geteuid() == 0:
        real_access = os.access

        def access(path: Any, mode: int, *args: Any, **kwargs: Any) -> bool:
            if Path(path) == folder and mode & os.W_OK:
                return False
            return real_access(path, mode, *args, **kwargs)

        monkeypatch.setattr(os, "access", access)
    return folder / "s.duckdb"


@pytest.mark.parametrize(
    "where",
    ["impossible folder", "file in the way", "unwritable folder", "read-only file system"],
)
def test_a_db_path_that_cannot_hold_a_store_is_exit_2(
    tmp_path: Path, where: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if where == "impossible folder":
        db = Path("/proc/nope/x.duckdb")
    elif where == "file in the way":
        (tmp_path / "plain").write_text("a file, not a folder\n")
        db = tmp_path / "plain" / "x.duckdb"
    elif where == "unwritable folder":
        db = unwritable_folder(tmp_path, monkeypatch)
    else:
        db = Path("/proc/x.duckdb")  # procfs takes no new files, not even from root
    code, _, err = cli(db, "data", "import", str(SPOT_ADVISOR))
    assert code == 2, err
    lines = err.strip().splitlines()
    assert lines[-1].startswith(f"error: {db}: ") and "--db" in lines[-1]
    assert "internal error" not in err and "Traceback" not in err
    assert not db.exists()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_db_path_that_is_not_a_regular_file_is_exit_2(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for db in (fifo, Path("/dev/null")):
        for args in (["offers"], ["data", "import", str(SPOT_ADVISOR)]):
            code, _, err = cli(db, *args)
            assert code == 2 and "not a regular file" in err, err
    with pytest.raises(UsageError):
        Store(fifo).read(OFFERS)


# -- imports that would read forever -------------------------------------------------


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """The real command line in a child process, killed if it hangs."""
    return subprocess.run(
        [sys.executable, "-m", "spotadvisor", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        check=False,
    )


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_importing_dev_zero_is_refused_at_once(tmp_path: Path) -> None:
    done = run_cli("--db", str(tmp_path / "s.duckdb"), "data", "import", "/dev/zero")
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: /dev/zero: not a regular file (a device, FIFO or socket), so it cannot be "
        "imported. give a file or a folder; save a stream to a file first."
    )
    assert not (tmp_path / "s.duckdb").exists()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_importing_a_fifo_is_refused_and_one_in_a_folder_is_skipped(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)  # nobody writes to it: reading it would block forever
    done = run_cli("--db", str(tmp_path / "s.duckdb"), "data", "import", str(fifo))
    assert done.returncode == 2 and f"{fifo}: not a regular file" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1

    folder = tmp_path / "downloads"
    folder.mkdir()
    (folder / SPOT_ADVISOR.name).write_bytes(SPOT_ADVISOR.read_bytes())
    os.mkfifo(folder / "stream.json")
    batches = parse_files([folder])
    assert [b.table for b in batches] == [INTERRUPTION_HISTORY]
    assert any(
        "skipped 1 entry that is not a regular file" in n and "stream.json" in n
        for n in batches[0].notes
    )
    done = run_cli("--db", str(tmp_path / "s.duckdb"), "data", "import", str(folder))
    assert done.returncode == 0, done.stderr
    assert "stream.json" in done.stderr


# -- Ctrl-C while an import writes ---------------------------------------------------

# The real command line, with the store's upsert made slow inside DuckDB: after the first
# batch is staged it says so in a file, then keeps DuckDB busy with queries for up to a
# minute. SIGINT then reaches DuckDB mid-query, which turns it into an error of its own
# ("Query interrupted"), as during a large import; should DuckDB not notice, Python raises
# KeyboardInterrupt when the query returns. Either way the command must exit 130.
SLOW_WRITE = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import spotadvisor.store as sm

    marker = Path(sys.argv.pop(1))
    real = sm._upsert
    def slow(con, batch, frame_):
        result = real(con, batch, frame_)
        marker.write_text("writing")
        end = time.monotonic() + 60
        while time.monotonic() < end:
            con.execute("SELECT count(*) FROM range(1000000000)").fetchall()
        return result
    sm._upsert = slow
    from spotadvisor.cli import main
    main()
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="needs SIGINT")
def test_ctrl_c_during_an_import_write_exits_130_and_keeps_the_store(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    assert Store(db).write([ImportBatch(OFFERS, frame([offer()]), "test", "<test>")])
    marker = tmp_path / "marker"
    files = [str(OLDER_SPOT_ADVISOR), str(PRICES)]
    child = subprocess.Popen(
        [sys.executable, "-c", SLOW_WRITE, str(marker), "--db", str(db), "data", "import", *files],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert child.poll() is None, child.communicate()[1]
            assert time.monotonic() < deadline, "the import never reached its write"
            time.sleep(0.05)
        time.sleep(0.2)  # into the slow query
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=90)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 130, err
    assert "interrupted" in err and "internal error" not in err
    # the store opens, with what it held before and nothing of the interrupted import
    store = Store(db)
    assert store.read(OFFERS)["source"].tolist() == ["test"]
    assert store.read(INTERRUPTION_HISTORY).empty
    assert len(store.ingest_log()) == 1


@pytest.mark.parametrize(
    "raised",
    [RuntimeError("Query interrupted"), duckdb.InterruptException("INTERRUPT Error: Interrupted!")],
    ids=["RuntimeError", "InterruptException"],
)
def test_duckdb_reporting_ctrl_c_as_its_own_error_still_exits_130(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, raised: Exception
) -> None:
    """DuckDB catches a SIGINT that arrives mid-query and raises one of these instead."""
    import spotadvisor.store as store_module

    db = tmp_path / "s.duckdb"
    Store(db).write([ImportBatch(OFFERS, frame([offer()]), "test", "<test>")])
    real = store_module._upsert

    def interrupted(*args: object, **kwargs: object) -> object:
        real(*args, **kwargs)  # type: ignore[arg-type]
        raise raised

    monkeypatch.setattr(store_module, "_upsert", interrupted)
    with pytest.raises(KeyboardInterrupt):
        Store(db).write(
            [ImportBatch(OFFERS, frame([offer(price_spot_usd_per_hour=1.0)]), "test", "<x>")]
        )
    code, _, err = cli(db, "data", "import", str(OLDER_SPOT_ADVISOR))
    assert code == 130 and "interrupted" in err and "internal error" not in err
    monkeypatch.undo()
    back = Store(db).read(OFFERS)
    assert back["price_spot_usd_per_hour"].tolist() == [20.0]
    assert Store(db).read(INTERRUPTION_HISTORY).empty
