"""The documentation keeps up with the code."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_cli_reference_is_current() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "build_cli_reference.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_every_command_is_in_the_reference() -> None:
    sys.path.insert(0, str(ROOT / "docs"))
    try:
        from build_cli_reference import command_paths
    finally:
        sys.path.pop(0)
    reference = (ROOT / "docs" / "cli.md").read_text()
    for path in command_paths():
        assert f"## `{' '.join(['spotadvisor', *path])}`" in reference


def test_readme_has_exactly_two_setup_commands_and_ci_runs_the_second() -> None:
    readme = (ROOT / "README.md").read_text()
    blocks = readme.split("```sh\n")[1:3]
    commands = [block.split("\n```")[0].strip() for block in blocks]
    assert "spotadvisor" in commands[0] and "pytest" in commands[1]
    assert commands[1] in (ROOT / ".ci" / "run").read_text()


def test_exit_codes_are_documented() -> None:
    readme = (ROOT / "README.md").read_text()
    for code in ("0", "1", "2", "3"):
        assert f"| {code} |" in readme


def test_ci_examples_are_valid_yaml() -> None:
    import yaml

    text = (ROOT / "docs" / "ci.md").read_text()
    blocks = [b.split("\n```")[0] for b in text.split("```yaml\n")[1:]]
    assert len(blocks) >= 3
    for block in blocks:
        assert isinstance(yaml.safe_load(block), dict)
