"""Reading a YAML file a user wrote: one-line errors with the line number, no duplicate keys."""

from __future__ import annotations

from pathlib import Path

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode

from spotadvisor.errors import UsageError

_MERGE_TAG = "tag:yaml.org,2002:merge"


class _StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key given twice in one mapping.

    Plain ``safe_load`` keeps the last value silently, so a second ``workload:`` would
    hide the first.
    """

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
    text = _read_text(path)
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.MarkedYAMLError as error:
        raise _syntax_error(error, path) from None
    except yaml.YAMLError as error:
        raise UsageError(
            f"invalid YAML: {error}", file=str(path), field="", fix="fix the YAML syntax"
        ) from None


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
    return "check the indentation and the ':' after each key on that line"
