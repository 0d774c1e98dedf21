"""docs/fleet-files.md keeps up with the fleet-file parser in spotadvisor/config/.

The keys and choices are read from the parser's own calls (``Section.read(value, where,
ALLOWED)`` and ``as_choice(value, where, CHOICES)``), so a key added to the parser fails
here until it is documented.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

import spotadvisor.config
from spotadvisor.cli import app
from spotadvisor.config import parse_fleet
from spotadvisor.config.sections import Section
from spotadvisor.config.values import as_choice
from spotadvisor.config.yamlfile import read_yaml
from tests.conftest import ROOT

DOC = ROOT / "docs" / "fleet-files.md"
EXAMPLE = ROOT / "examples" / "llama70b-fleet.yaml"
CONFIG = Path(spotadvisor.config.__file__).parent

# A fenced block: the info string (``yaml``, ``text``...) and the text up to the closing fence.
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)
# An error example: a ```text block that starts with ``# NAME.yaml`` holds the broken file,
# a ```console block runs it and shows the error line and the exit code.
BROKEN_FILE = re.compile(r"\A# (\S+\.yaml)\n")
RUN = re.compile(
    r"^\$ spotadvisor simulate (\S+\.yaml)\n(error: [^\n]*)\n\$ echo \$\?\n(\d+)$", re.MULTILINE
)


def _fences(info: str) -> list[str]:
    return [body for kind, body in FENCE.findall(DOC.read_text(encoding="utf-8")) if kind == info]


def _argument(call: ast.Call, function: Callable[..., object], name: str) -> ast.expr:
    """The expression passed as parameter ``name`` of ``function`` in ``call``."""
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value
    position = list(inspect.signature(function).parameters).index(name)
    return call.args[position]


def _values(
    function: Callable[..., object], attribute: str, parameter: str, owner: str | None = None
) -> set[str]:
    """Every string in the collections passed as ``parameter`` to calls in spotadvisor/config/."""
    found: set[str] = set()
    for path in sorted(CONFIG.glob("*.py")):
        module = importlib.import_module(f"spotadvisor.config.{path.stem}")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        calls = [
            node
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and _is_call(node, attribute, owner)
        ]
        for call in calls:
            expression = ast.Expression(_argument(call, function, parameter))
            value = eval(compile(expression, str(path), "eval"), vars(module))
            found.update(str(item) for item in value)
    return found


def _is_call(node: ast.Call, attribute: str, owner: str | None) -> bool:
    func = node.func
    if owner is None:
        return isinstance(func, ast.Name) and func.id == attribute
    return (
        isinstance(func, ast.Attribute)
        and func.attr == attribute
        and isinstance(func.value, ast.Name)
        and func.value.id == owner
    )


ALLOWED_KEYS = sorted(_values(Section.read, "read", "allowed", owner="Section"))
CHOICES = sorted(_values(as_choice, "as_choice", "choices"))


def test_the_parser_declares_keys_where_this_test_looks() -> None:
    # every module-level *_KEYS tuple of the parser is one of the collections found
    declared = {
        key
        for path in sorted(CONFIG.glob("*.py"))
        for name, value in vars(importlib.import_module(f"spotadvisor.config.{path.stem}")).items()
        if name.endswith("_KEYS") and isinstance(value, tuple)
        for key in value
    }
    assert declared, "no *_KEYS tuples found in spotadvisor/config/"
    assert declared <= set(ALLOWED_KEYS)
    assert {"workload", "replicas", "fleet", "count", "band", "stockout"} <= set(ALLOWED_KEYS)


@pytest.mark.parametrize("key", ALLOWED_KEYS)
def test_every_key_the_parser_accepts_is_documented(key: str) -> None:
    assert f"`{key}`" in DOC.read_text(encoding="utf-8"), f"document `{key}` in {DOC.name}"


@pytest.mark.parametrize("choice", CHOICES)
def test_every_choice_value_is_documented(choice: str) -> None:
    assert f"`{choice}`" in DOC.read_text(encoding="utf-8"), f"document `{choice}` in {DOC.name}"


def test_the_yaml_examples_parse(tmp_path: Path) -> None:
    blocks = _fences("yaml")
    assert len(blocks) >= 2
    for index, block in enumerate(blocks):
        path = tmp_path / f"example{index}.yaml"
        path.write_text(block, encoding="utf-8")
        fleet = parse_fleet(read_yaml(path), origin=str(path))
        assert fleet.pools, f"yaml block {index} of {DOC.name} has no fleet: list"


def test_the_shipped_example_is_shown_as_it_is() -> None:
    assert EXAMPLE.read_text(encoding="utf-8") in _fences("yaml")


def test_the_error_examples_are_what_simulate_prints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {
        match.group(1): block
        for block in _fences("text")
        if (match := BROKEN_FILE.match(block)) is not None
    }
    runs = [run for block in _fences("console") for run in RUN.findall(block)]
    examples = [(name, line, int(code)) for name, line, code in runs if name in files]
    assert len(examples) >= 3, "the Errors section shows at least three real errors"
    monkeypatch.chdir(tmp_path)
    for name, line, code in examples:
        Path(name).write_text(files[name], encoding="utf-8")
        result = CliRunner().invoke(app, ["simulate", name])
        printed = [text for text in result.stderr.splitlines() if text.startswith("error:")]
        assert (result.exit_code, printed) == (code, [line]), (
            f"{name}: re-run it and paste the new message into {DOC.name}"
        )
