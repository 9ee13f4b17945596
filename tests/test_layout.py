"""The package's shape, as docs/architecture.md describes it: modules of one job, none
much over 450 lines, and no import cycle between them, counting imports made inside
functions (a cycle there is a cycle all the same: it only shows later, at run time)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "site_builder"
MAX_LINES = 450


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The package's modules that `path` imports, anywhere in it but an
    `if TYPE_CHECKING:` block (never run)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, ast.ImportFrom) and child.level == 1:
                names = [child.module.split(".")[0]] if child.module else [alias.name for alias in child.names]
                found.update(name for name in names if name in modules)
            elif isinstance(child, ast.ImportFrom) and (child.module or "").startswith("site_builder."):
                found.add(child.module.split(".")[1])
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return found


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as the modules on it, or None (depth-first search, colouring)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for dep in sorted(graph[module]):
            if state.get(dep) == 1:
                return path[path.index(dep):] + [dep]
            if dep not in state and (found := visit(dep)):
                return found
        state[module] = 2
        path.pop()
        return None

    for module in sorted(graph):
        if module not in state and (found := visit(module)):
            return found
    return None


def test_no_module_imports_itself_back():
    modules = {path.stem for path in PACKAGE.glob("*.py")}
    graph = {path.stem: _imports(path, modules) - {path.stem} for path in PACKAGE.glob("*.py")}
    assert "builder" in graph["server"]  # the graph is read: the preview sits on the builder
    cycle = _cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_one():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_modules_stay_small():
    sizes = {path.name: len(path.read_text(encoding="utf-8").splitlines()) for path in PACKAGE.glob("*.py")}
    too_long = {name: lines for name, lines in sizes.items() if lines > MAX_LINES}
    assert not too_long, f"split these by job (at most {MAX_LINES} lines): {too_long}"
