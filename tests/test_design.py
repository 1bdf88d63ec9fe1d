"""The import rules of DESIGN.md, checked statically: the source is parsed, nothing is imported.

- ``envs`` never imports torch, ``agents``, ``marl`` or ``replays``;
- ``agents`` never imports ``envs``, ``marl`` or ``replays``;
- ``replays`` never imports ``agents`` or ``marl``;
- no import cycle among the modules of the four packages, counting imports inside functions
  (a lazy import that dodges a cycle is still a cycle); imports under ``if TYPE_CHECKING:``
  never run, so they count for the arrows but not for cycles.

``from package import name`` is an edge to ``package.name`` when that is a module of the
project, else to ``package`` itself.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("envs", "agents", "marl", "replays")
FORBIDDEN = {
    "envs": ("torch", "agents", "marl", "replays"),
    "agents": ("envs", "marl", "replays"),
    "replays": ("agents", "marl"),
}


def module_name(path: Path) -> str:
    """``agents/rules/ppo.py`` -> ``agents.rules.ppo``; a package's ``__init__.py`` -> the package."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    """Every module of the four packages, by dotted name."""
    return {module_name(path): path for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))}


def type_checking_lines(tree: ast.Module) -> set[int]:
    """Lines inside ``if TYPE_CHECKING:`` blocks."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imported_names(path: Path, module: str, modules: dict[str, Path]) -> list[tuple[str, int, bool]]:
    """Every module ``path`` imports (anywhere in the file): name, line, and whether the import
    runs (False under ``if TYPE_CHECKING:``)."""
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(), filename=str(path))
    type_only = type_checking_lines(tree)
    found = []
    for node in ast.walk(tree):
        runs = node.lineno not in type_only if isinstance(node, (ast.Import, ast.ImportFrom)) else True
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno, runs) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base if is_package else base[:-1]
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                candidate = f"{source}.{alias.name}"
                found.append((candidate if candidate in modules else source, node.lineno, runs))
    return found


def import_graph() -> tuple[dict[str, set[str]], dict[str, list[tuple[str, int, bool]]]]:
    """Edges between project modules along the imports that run, and every import of each module."""
    modules = project_modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    imports: dict[str, list[tuple[str, int, bool]]] = {}
    for name, path in modules.items():
        imports[name] = imported_names(path, name, modules)
        for target, _, runs in imports[name]:
            while target and target not in modules and "." in target:
                target = target.rsplit(".", 1)[0]
            if runs and target in modules and target != name:
                graph[name].add(target)
    return graph, imports


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


GRAPH, IMPORTS = import_graph()


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_follow_the_arrows_of_the_design(package):
    wrong = [
        f"{module.replace('.', '/')}.py:{line} imports {target}"
        for module, found in IMPORTS.items()
        if module.split(".")[0] == package
        for target, line, _ in found
        if target.split(".")[0] in FORBIDDEN[package]
    ]
    assert not wrong, f"{package} must not import {', '.join(FORBIDDEN[package])}:\n" + "\n".join(wrong)


def test_there_is_no_import_cycle():
    found = cycles(GRAPH)
    assert not found, "import cycles:\n" + "\n".join(" <-> ".join(component) for component in found)


def test_the_checks_see_real_violations(tmp_path):
    """The checking code itself: cycles, lazy, relative and type-only imports."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    source = tmp_path / "sample.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "from . import world\n"
        "if TYPE_CHECKING:\n"
        "    import torch\n"
        "def late():\n"
        "    from ..core import finite\n"
    )
    modules = {"agents.rules.world": source, "agents.core.finite": source}
    found = imported_names(source, "agents.rules.sample", modules)
    assert ("agents.rules.world", 2, True) in found
    assert ("torch", 4, False) in found
    assert ("agents.core.finite", 6, True) in found
