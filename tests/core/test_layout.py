"""The package's shape: small fronts, small modules, a shallow core, no import cycles."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import napari_clipcap

PKG = Path(napari_clipcap.__file__).parent
CORE = PKG / "core"
#: The shared ground floor: the only modules allowed directly in core/.
GROUND_FLOOR = {
    "__init__",
    "errors",
    "jobs",
    "devices",
    "cache",
    "registry",
    "model_cache",
    "provenance",
}
MAX_LINES = 350
MAX_MODULES_PER_PACKAGE = 12


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PKG.rglob("*.py")}


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """Every package module that ``path`` imports, at any depth of its code."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in modules)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in modules:
                    found.add(sub)
                elif target in modules:
                    found.add(target)
    found.discard(name)
    return found


def test_core_holds_only_the_ground_floor():
    direct = {p.stem for p in CORE.glob("*.py")}
    assert direct <= GROUND_FLOOR, f"modules directly in core/: {sorted(direct - GROUND_FLOOR)}"


def test_packages_are_small():
    # cli/ is exempt: it holds one module per subcommand by design.
    for init in PKG.rglob("__init__.py"):
        if init.parent.name == "cli":
            continue
        n = len(list(init.parent.glob("*.py"))) - 1
        assert n <= MAX_MODULES_PER_PACKAGE, f"{init.parent.relative_to(PKG)} has {n} modules"


def test_modules_are_short():
    long = {
        str(p.relative_to(PKG)): n
        for p in PKG.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_no_import_cycles():
    modules = _modules()
    graph = {name: _imports(path, modules) for name, path in modules.items()}
    # Tarjan's strongly connected components
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"


@pytest.mark.parametrize(
    "front", sorted(n for n, p in _modules().items() if p.name == "__init__.py" and ".core." in n)
)
def test_fronts_export_what_they_list(front):
    module = importlib.import_module(front)
    for name in getattr(module, "__all__", []):
        assert getattr(module, name) is not None, f"{front}.{name}"
