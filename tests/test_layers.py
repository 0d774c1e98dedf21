"""The package's layers, checked from its imports (parsed with `ast`, nothing is imported).

Rules:

(a) Library code never imports the presentation layer: no module outside `render/`,
    `commands/` and `cli.py` imports `spotadvisor.render` or `spotadvisor.commands`.
(b) `render/` never imports `commands/`.
(c) No import cycles between top-level units at module import time. A unit is a top-level
    module (`spotadvisor/bands.py` -> `bands`) or package (`spotadvisor/sim/` -> `sim`).
    Only imports that run when a module is imported count: statements at module level,
    including those inside module-level `if`/`try`/`with` blocks, but not those inside
    `if TYPE_CHECKING:` or inside functions and classes' methods. A lazy import inside a
    function is allowed, and is how a needed back-reference breaks a cycle. Imports within
    one unit (e.g. `sim.engine` -> `sim.model`) are not edges.
(d) No module imports a `_private` name from another module (`from x import _helper`),
    nor reaches one through an imported module (`from spotadvisor import gpus` then
    `gpus._TABLE`); shared helpers are public in their home module. Dunders are not private.

Rules (a), (b) and (d) look at every import, including those inside functions.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import spotadvisor

PACKAGE = Path(spotadvisor.__file__).parent
NAME = "spotadvisor"


@dataclass(frozen=True)
class Import:
    """One imported module (and, for `from m import n`, the name) in a module."""

    module: str  # the absolute module imported from, e.g. "spotadvisor.render.json"
    name: str | None  # the name taken from it, or None for `import m`
    top_level: bool  # runs when the importing module is imported
    line: int


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _imports(path: Path) -> list[Import]:
    module = _module_name(path)
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[Import] = []

    def visit(node: ast.AST, top_level: bool) -> None:
        if isinstance(node, ast.Import):
            found.extend(Import(a.name, None, top_level, node.lineno) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            source = _resolve(module, is_package, node)
            for alias in node.names:
                found.append(Import(source, alias.name, top_level, node.lineno))
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            for child in ast.iter_child_nodes(node):
                visit(child, False)
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                visit(child, False)
            for child in node.orelse:
                visit(child, top_level)
        else:
            for child in ast.iter_child_nodes(node):
                visit(child, top_level)

    visit(tree, True)
    return found


MODULES: dict[str, list[Import]] = {
    _module_name(path): _imports(path) for path in sorted(PACKAGE.rglob("*.py"))
}


def _unit(module: str) -> str:
    """The top-level unit of a module of the package: `spotadvisor.sim.model` -> `sim`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _internal(imp: Import) -> list[str]:
    """The package's modules an import refers to (`from pkg import mod` names a module)."""
    if imp.module != NAME and not imp.module.startswith(NAME + "."):
        return []
    targets = [imp.module]
    if imp.name is not None and f"{imp.module}.{imp.name}" in MODULES:
        targets.append(f"{imp.module}.{imp.name}")
    return targets


def _in(module: str, *units: str) -> bool:
    return _unit(module) in units


def test_the_walk_sees_the_package() -> None:
    assert "spotadvisor.cli" in MODULES
    assert "spotadvisor.sim.engine" in MODULES
    edges = [t for imps in MODULES.values() for imp in imps for t in _internal(imp)]
    assert len(edges) > 200


def test_library_code_never_imports_render_or_commands() -> None:
    offenders = [
        f"{module}:{imp.line} imports {target}"
        for module, imps in MODULES.items()
        if not _in(module, "render", "commands", "cli", "__main__")
        for imp in imps
        for target in _internal(imp)
        if _in(target, "render", "commands")
    ]
    assert offenders == []


def test_render_never_imports_commands() -> None:
    offenders = [
        f"{module}:{imp.line} imports {target}"
        for module, imps in MODULES.items()
        if _in(module, "render")
        for imp in imps
        for target in _internal(imp)
        if _in(target, "commands", "cli")
    ]
    assert offenders == []


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)) is not None:
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)) is not None:
            return cycle
    return None


def test_no_import_cycles_between_top_level_units_at_import_time() -> None:
    graph: dict[str, set[str]] = {}
    for module, imps in MODULES.items():
        source = _unit(module)
        for imp in imps:
            if not imp.top_level:
                continue
            for target in _internal(imp):
                if (dest := _unit(target)) not in ("", source):
                    graph.setdefault(source, set()).add(dest)
    assert _find_cycle(graph) is None


def test_the_cycle_finder_finds_cycles() -> None:
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": {"c"}}) is None


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _private_attributes(path: Path) -> list[str]:
    """`module._name` uses in a file, where `module` is a module of the package it imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    module = _module_name(path)
    aliases: set[str] = set()
    for imp in _imports(path):
        if imp.name is not None and f"{imp.module}.{imp.name}" in MODULES:
            aliases.add(imp.name)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            aliases.update(a.asname for a in node.names if a.asname and a.name in MODULES)
        elif isinstance(node, ast.ImportFrom):
            source = _resolve(module, path.name == "__init__.py", node)
            aliases.update(
                a.asname for a in node.names if a.asname and f"{source}.{a.name}" in MODULES
            )
    return [
        f"{module}:{node.lineno} uses {node.value.id}.{node.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in aliases
        and _is_private(node.attr)
    ]


def test_no_module_imports_a_private_name_from_another() -> None:
    offenders = [
        f"{module}:{imp.line} imports {imp.name} from {imp.module}"
        for module, imps in MODULES.items()
        for imp in imps
        if imp.name is not None and _is_private(imp.name) and imp.module != module
    ]
    offenders += [
        use for path in sorted(PACKAGE.rglob("*.py")) for use in _private_attributes(path)
    ]
    assert offenders == []
