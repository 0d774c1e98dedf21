"""Write docs/cli.md from the `--help` of every command (run after changing an option).

    python docs/build_cli_reference.py          # rewrite docs/cli.md
    python docs/build_cli_reference.py --check  # exit 1 if docs/cli.md is out of date

tests/test_docs.py runs the check, so the reference cannot drift from the code.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from typer.main import get_command
from typer.testing import CliRunner

from spotadvisor.cli import app

DOC = Path(__file__).resolve().parent / "cli.md"
HEADER = """# CLI reference

Generated from `--help` by `docs/build_cli_reference.py`; do not edit by hand.

Global options (`--db`, `--debug`, `--version`) go before the command:
`spotadvisor --db my.duckdb offers --gpu H100`.
"""


def command_paths() -> list[list[str]]:
    """Every command path: [], ["offers"], ["data"], ["data", "import"], ..."""
    paths: list[list[str]] = []

    def walk(command: object, path: list[str]) -> None:
        paths.append(path)
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            walk(sub, [*path, name])

    walk(get_command(app), [])
    return paths


def render() -> str:
    """The whole reference as Markdown."""
    env = {"COLUMNS": "100", "TERMINAL_WIDTH": "100", "NO_COLOR": "1", "TERM": "dumb"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        runner = CliRunner()
        parts = [HEADER]
        for path in command_paths():
            result = runner.invoke(app, [*path, "--help"], prog_name="spotadvisor")
            title = " ".join(["spotadvisor", *path])
            lines = [line.rstrip() for line in result.stdout.splitlines()]
            parts.append(f"\n## `{title}`\n\n```text\n" + "\n".join(lines).strip("\n") + "\n```\n")
        return "".join(parts)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def main() -> int:
    """Write the reference, or with --check report whether it is current."""
    text = render()
    if "--check" in sys.argv[1:]:
        if DOC.read_text() != text:
            print(
                "docs/cli.md is out of date: run python docs/build_cli_reference.py",
                file=sys.stderr,
            )
            return 1
        return 0
    DOC.write_text(text)
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
