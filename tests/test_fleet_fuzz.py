"""Any fleet file ends `simulate` with exit 0 or 2 within a time bound, never 1 (issue 21).

Fleet files are generated valid-ish (the documented example with one value replaced, a
key removed or an unknown key added) and hostile (wrong types, huge and negative
numbers, unicode, deep nesting, empty and non-YAML text), and run in process through
typer's CliRunner with a few trials. Exit 1 is "internal error" (or a policy failure,
which simulate never raises); exit 3 would mean a price missing from the data, which
the generated pools never ask for. The run's work is capped well below the real
MAX_EVENTS so that whatever a file asks for takes seconds, and a guard fails any
example that runs longer than a minute.
"""

from __future__ import annotations

import copy
import faulthandler
import re
import signal
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from spotadvisor.cli import app
from tests.conftest import ROOT

EXAMPLE: dict[str, Any] = yaml.safe_load((ROOT / "examples" / "llama70b-fleet.yaml").read_text())
# a pool that gives every input itself: no data needed, whatever the region or instance
OWN = {
    "cloud": "aws",
    "region": "us-east-1",
    "instance": "p4d.24xlarge",
    "market": "spot",
    "count": 2,
    "price_per_hour": 10.0,
    "on_demand_price_per_hour": 30.0,
    "interruption": {"band": "5-10%"},
}
SELF_CONTAINED: dict[str, Any] = {
    "workload": {"replicas": 2, "cold_start": "5m"},
    "horizon": "7d",
    "fleet": [OWN, {**OWN, "region": "us-west-2", "count": 1}],
    "policy": {"on_preemption": "next-pool"},
}
DURATION = re.compile(r"^[0-9.]+[smhdw]$")
EXAMPLE_TIMEOUT_S = 60  # per example: a run asked for by a file must take seconds
TRIALS = "20"

runner = CliRunner()

# --- values --------------------------------------------------------------------------------

numbers = st.one_of(
    st.integers(min_value=-(10**6), max_value=10**6),
    st.sampled_from([0, 1, -1, 10**5, 10**5 + 1, 10**9, 10**12, 2**63, 10**30, 10**400]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.5, 1e-300, 1e300, -0.0]),
)
durations = st.one_of(
    st.sampled_from(
        [
            *("0s", "1s", "1m", "30d", "3650d", "3651d", "36500d", "36501d", "1000000000d"),
            *("1000000w", "10h30m", "-5m", "5M", "1mo", "10", ".5h", "9" * 400 + "w"),
        ]
    ),
    st.builds(
        "{}{}".format,
        st.integers(min_value=0, max_value=10**12),
        st.sampled_from(["s", "m", "h", "d", "w"]),
    ),
)
texts = st.text(max_size=30)  # any unicode
words = st.sampled_from(  # what the keys take, so that many files still run
    [
        *("spot", "on-demand", "next-pool", "relaunch-same-pool", "independent", "history"),
        *("fixed", "exponential", "<5%", ">20%", "5-10%", "99.9", "99.9%", "5%", "150%"),
        *("aws", "gcp", "azure", "us-east-1", "use1-az4", "us-east-1a", "p4d.24xlarge", "H100"),
        *("zone-outage:use1-az1@1d+6h", "price-spike:anyx3@2d+1h", "mass-preemption:any:50%@1d"),
    ]
)
# YAML written as such into the file: forms a dumper never writes
RAW = [
    "0x" + "f" * 5_000,  # an int too long for Python to print
    "-0x" + "f" * 300,
    "1.0e+400",  # a float that is infinite
    ".inf",
    "-.inf",
    ".nan",
    "9999-12-31",  # a date at the calendar's end
    "0001-01-01",
    "2024-01-01",
    "1:30:00",  # YAML 1.1 sexagesimal
    "0o777",
    "0b1010",
    "~",
    "!!binary AAAA",
    "!!set {a, b}",
    "!!omap [a: 1]",
    "[" * 150 + "]" * 150,  # deeper than the loader takes
    "{a: " * 60 + "1" + "}" * 60,
]
raws = st.integers(min_value=0, max_value=len(RAW) - 1).map(lambda i: f"RAWTOKEN{i:02d}")
scalars = st.one_of(numbers, durations, texts, words, words, raws, st.booleans(), st.none())
gentle = st.one_of(  # values a key might well take: the run often goes on
    st.integers(min_value=0, max_value=20),
    st.floats(min_value=0, max_value=1),
    st.sampled_from(["1m", "10m", "2h", "7d", "30d"]),
    words,
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


def _paths(doc: object, prefix: tuple[object, ...] = ()) -> Iterator[tuple[object, ...]]:
    """Every place in a document: mapping keys and list items, depth first."""
    yield prefix
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            yield from _paths(value, (*prefix, index))


def _at(doc: Any, path: tuple[object, ...]) -> Any:
    for part in path:
        doc = doc[part]
    return doc


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """A known-good fleet with a few places replaced, removed, or given an unknown key.

    Half the files get hostile values anywhere (types, sizes, unicode, raw YAML); the
    other half plausible ones, so that many of them still simulate.
    """
    doc = copy.deepcopy(draw(st.sampled_from([EXAMPLE, SELF_CONTAINED])))
    hostile = draw(st.booleans())
    for _ in range(draw(st.integers(min_value=0 if hostile else 1, max_value=3))):
        places = [p for p in _paths(doc) if p]
        if not places:
            break
        path = draw(st.sampled_from(places))
        parent = _at(doc, path[:-1])
        action = draw(st.sampled_from(["replace", "replace", "replace", "remove", "add"]))
        value = values if hostile else gentle
        if action == "replace":
            parent[path[-1]] = draw(value)
        elif action == "remove":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=12))] = draw(value)
        else:
            parent.append(draw(value))
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=10**6)
    for index, raw in enumerate(RAW):  # a token is dumped plain, so it can be swapped
        text = text.replace(f"RAWTOKEN{index:02d}", raw)
    return text


@st.composite
def tweaked(draw: st.DrawFn) -> str:
    """A known-good fleet with its numbers and durations changed, small to absurd."""
    doc = copy.deepcopy(draw(st.sampled_from([EXAMPLE, SELF_CONTAINED])))
    leaves = [
        p
        for p in _paths(doc)
        if p and isinstance(_at(doc, p), int | float | str) and not isinstance(_at(doc, p), bool)
    ]
    numeric = [p for p in leaves if not isinstance(_at(doc, p), str) or DURATION.match(_at(doc, p))]
    for path in draw(st.lists(st.sampled_from(numeric), min_size=1, max_size=3, unique=True)):
        old = _at(doc, path)
        if isinstance(old, str):
            new: object = draw(durations)
        elif isinstance(old, int):
            new = draw(st.one_of(st.integers(0, 50), st.integers(-5, 10**6), numbers))
        else:
            new = draw(st.one_of(st.floats(0, 1), st.floats(0, 100), numbers))
        _at(doc, path[:-1])[path[-1]] = new
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=10**6)


@st.composite
def nested(draw: st.DrawFn) -> str:
    """A value nested deep (flow or block style), at the top or under a key."""
    depth = draw(st.sampled_from([5, 99, 100, 101, 1_000, 50_000]))
    opening, closing = draw(st.sampled_from([("[", "]"), ("{a: ", "}")]))
    body = opening * depth + "1" + closing * depth
    where = draw(st.sampled_from(["top", "workload", "pool"]))
    if where == "top":
        return body
    if where == "workload":
        return f"workload: {{replicas: 2, name: {body}}}\n"
    return "workload: {replicas: 2}\nfleet:\n  - " + "- " * min(depth, 2_000) + "1\n"


raw_texts = st.one_of(
    st.sampled_from(
        [
            *("", "   \n", "---\n", "---\na: 1\n---\nb: 2\n", "[]", "{}", "null", "42", "'x'"),
            *("workload: {replicas: 2}\nfleet: []\n", "\t- a", "a: &x [*x]", "a: !!binary AAAA"),
            *("count: " + "9" * 5_000, "workload: {replicas: 0x" + "f" * 5_000 + "}"),
        ]
    ),
    st.text(max_size=200),
)

documents = st.one_of(mutated(), mutated(), tweaked(), tweaked(), nested(), raw_texts)


# --- the guard -----------------------------------------------------------------------------


@contextmanager
def time_bound(seconds: int) -> Iterator[None]:
    """Fail a run that takes longer than ``seconds``; stop the process if it hangs.

    The alarm interrupts Python code; faulthandler's watchdog also ends a run stuck in
    compiled code (printing every thread's stack), which no exception could.
    """
    faulthandler.dump_traceback_later(seconds * 2, exit=True)
    main = threading.current_thread() is threading.main_thread()

    def expired(signum: int, frame: object) -> None:
        raise TimeoutError(f"simulate took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired) if main else None
    if main:
        signal.alarm(seconds)
    try:
        yield
    finally:
        if main:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)
        faulthandler.cancel_dump_traceback_later()


# --- the property --------------------------------------------------------------------------


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(documents)
def test_any_fleet_file_ends_in_exit_0_or_2(text: str) -> None:
    with (
        tempfile.TemporaryDirectory() as folder,
        pytest.MonkeyPatch.context() as patch,
        time_bound(EXAMPLE_TIMEOUT_S),
    ):
        patch.setattr("spotadvisor.config.limits.MAX_EVENTS", 1e7)  # seconds at most
        path = Path(folder) / "fleet.yaml"
        path.write_text(text, encoding="utf-8")
        result = runner.invoke(app, ["simulate", str(path), "--trials", TRIALS, "-f", "json"])
    if isinstance(result.exception, TimeoutError):
        raise result.exception
    assert result.exit_code in (0, 2), (result.exit_code, result.stderr, text[:2_000])
    if result.exit_code == 2:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr


def test_the_generated_files_include_valid_ones() -> None:
    """The mutations start from files that simulate (so exit 0 is reachable)."""
    for doc in (EXAMPLE, SELF_CONTAINED):
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "fleet.yaml"
            path.write_text(yaml.safe_dump(doc))
            result = runner.invoke(app, ["simulate", str(path), "--trials", TRIALS, "-f", "json"])
        assert result.exit_code == 0, result.stderr
