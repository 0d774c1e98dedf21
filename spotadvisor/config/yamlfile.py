"""Reading a YAML file a user wrote: one-line errors with the line number, no duplicate keys.

Every file the CLI reads as YAML (fleet files, parameter files, gate policies, a fleet
read from git) comes through here, so the checks hold for all of them: a key given
twice, a document nested deeper than :data:`MAX_NESTING` levels (PyYAML composes
nodes recursively, and Python's stack would overflow), and an integer with more digits
than Python converts are one-line errors naming the file, never a traceback.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node

from spotadvisor.errors import UsageError

_MERGE_TAG = "tag:yaml.org,2002:merge"
#: Deepest nesting of lists and mappings accepted. A fleet file needs 4 levels
#: (``fleet[0].risk.stockout``); PyYAML needs 3 Python frames per level, so 100 levels
#: stay well inside Python's default limit of 1,000 frames whatever called the loader.
MAX_NESTING = 100


class _StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key given twice in one mapping.

    Plain ``safe_load`` keeps the last value silently, so a second ``workload:`` would
    hide the first.
    """

    _depth = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        """Refuse a node nested deeper than MAX_NESTING before Python's stack runs out."""
        self._depth += 1
        try:
            if self._depth > MAX_NESTING:
                event = self.peek_event()  # type: ignore[no-untyped-call]
                raise ComposerError(
                    None,
                    None,
                    f"lists and mappings nested deeper than {MAX_NESTING} levels",
                    event.start_mark,
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[object, object]:
        first_line: dict[object, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            key = self.construct_object(key_node, deep=deep)
            try:
                line = first_line.get(key)
            except TypeError:  # an unhashable key: the base class reports it
                continue
            if line is not None:
                raise ConstructorError(
                    None,
                    None,
                    f"duplicate key {key!r} (first at line {line + 1})",
                    key_node.start_mark,
                )
            first_line[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: Path) -> object:
    """The YAML document in ``path`` (one document; safe types only).

    Raises
    ------
    UsageError
        When the file cannot be read or is not valid YAML; the message gives the line.
    """
    return load_yaml_text(_read_text(path), str(path))


def load_yaml_text(text: str, origin: str) -> object:
    """The YAML document in ``text`` (e.g. a file read from git), with ``read_yaml``'s errors."""
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.MarkedYAMLError as error:
        raise _syntax_error(error, Path(origin)) from None
    except yaml.YAMLError as error:
        raise UsageError(
            f"invalid YAML: {error}", file=origin, field="", fix="fix the YAML syntax"
        ) from None
    except RecursionError:  # nesting within MAX_NESTING on a stack already deep
        raise UsageError(
            f"lists and mappings nested too deep (more than {MAX_NESTING} levels)",
            file=origin,
            field="",
            fix=f"nest at most {MAX_NESTING} levels",
        ) from None
    except ValueError as error:  # int('9' * 5000): Python converts at most 4,300 digits
        if "digits" not in str(error):
            raise
        raise UsageError(
            "a number has more digits than Python reads (4,300)",
            file=origin,
            field="",
            fix="write a smaller number",
        ) from None


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError("no such file", file=str(path), field="", fix="check the path") from None
    except IsADirectoryError:
        raise UsageError(
            "is a folder, not a file", file=str(path), field="", fix="give the path of a YAML file"
        ) from None
    except UnicodeDecodeError as error:
        raise UsageError(
            f"not UTF-8 text (byte {error.start})",
            file=str(path),
            field="",
            fix="save the file as UTF-8 YAML",
        ) from None
    except OSError as error:
        reason = error.strerror or str(error)
        raise UsageError(
            f"cannot read the file: {reason}",
            file=str(path),
            field="",
            fix="check the path and its permissions",
        ) from None


def _syntax_error(error: yaml.MarkedYAMLError, path: Path) -> UsageError:
    mark = error.problem_mark or error.context_mark
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    parts = [part for part in (error.context, error.problem) if part]
    problem = ", ".join(parts) or "syntax error"
    return UsageError(
        f"invalid YAML{where}: {problem}", file=str(path), field="", fix=_syntax_fix(error)
    )


def _syntax_fix(error: yaml.MarkedYAMLError) -> str:
    problem, context = error.problem or "", error.context or ""
    if "duplicate key" in problem:
        return "give each key once; remove or merge the repeated one"
    if "'\\t'" in problem:
        return "indent with spaces, not tabs"
    if "block scalar" in context or "cannot start any token" in problem:
        return "quote values that start with a symbol such as > or |, e.g. band: '>20%'"
    if "single document" in context:
        return "keep one document: remove the '---' line and what follows, or merge them"
    if "nested deeper" in problem:
        return f"nest at most {MAX_NESTING} levels (a fleet file needs fewer than 10)"
    return "check the indentation and the ':' after each key on that line"
