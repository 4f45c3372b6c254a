"""The package's shape: concepts as subpackages, layers that import only downwards, no
import cycles (between modules or between subpackages, deferred imports included), no
reach into another module's private state, and functions a reader can hold in mind.

The layer table below is the one of ``docs/architecture.md``; a new subpackage must be
placed in it (the test says so).
"""

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
#: The layers of core, lowest first: a part imports only parts of its own layer or
#: below, and never in a circle (docs/architecture.md says what each holds).
CORE_LAYERS: list[set[str]] = [
    {"errors", "jobs", "devices", "cache", "model_cache", "registry"},
    {"io", "scaling", "coords", "provenance", "distributed"},
    {"clip", "decoding", "samples"},
    {"vlm", "captioning", "segmentation"},
    {"tasks"},
    {"collection", "evaluation", "training"},
    {"batch"},
]
#: The doors above core: _napari first, then _qt and cli (which never import each other).
DOOR_LAYERS: list[set[str]] = [{"_napari"}, {"_qt", "cli"}]
#: A function longer than this is split (the aim is ~80 lines; this is the hard stop).
MAX_FUNCTION_LINES = 150
#: Modules of one folder sharing a ``prefix_`` that make the prefix a concept with parts:
#: such a family is a subpackage (``captioning/clipcap/``), not a row of files.
MAX_PREFIX_FAMILY = 3


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


def _part(module: str) -> str | None:
    """The layer part of a module: core's subpackage or ground-floor module, or a door."""
    parts = module.split(".")
    if len(parts) >= 3 and parts[1] == "core":
        return parts[2]
    if len(parts) >= 2 and parts[1] in {"_napari", "_qt", "cli"}:
        return parts[1]
    return None  # the package's front, __main__, core's own front


def _layer_of(part: str) -> int:
    for i, layer in enumerate(CORE_LAYERS + DOOR_LAYERS):
        if part in layer:
            return i
    raise AssertionError(
        f"{part!r} is in no layer: place it in CORE_LAYERS (tests/core/test_layout.py) and "
        "in docs/architecture.md"
    )


def _part_graph() -> dict[str, dict[str, list[str]]]:
    """``{part: {imported part: [module -> module, ...]}}`` over every import."""
    modules = _modules()
    graph: dict[str, dict[str, list[str]]] = {}
    for name, path in modules.items():
        a = _part(name)
        if a is None:
            continue
        graph.setdefault(a, {})
        for target in _imports(path, modules):
            b = _part(target)
            if b is not None and b != a:
                graph[a].setdefault(b, []).append(f"{name} -> {target}")
    return graph


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components with more than one member."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
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

    for v in list(graph):
        if v not in index:
            visit(v)
    return cycles


def test_no_import_cycles_between_subpackages():
    graph = _part_graph()
    cycles = _strongly_connected({a: set(b) for a, b in graph.items()})
    detail = {
        f"{a} -> {b}": graph[a][b][:3] for c in cycles for a in c for b in c if b in graph[a]
    }
    assert not cycles, f"import cycles between subpackages: {cycles}; edges: {detail}"


def test_every_part_imports_only_its_own_layer_or_below():
    upward = {
        f"{a} (layer {_layer_of(a) + 1}) -> {b} (layer {_layer_of(b) + 1})": edges[:3]
        for a, targets in _part_graph().items()
        for b, edges in targets.items()
        if _layer_of(b) > _layer_of(a)
    }
    assert not upward, f"imports up the layers: {upward}"


def test_the_doors_never_import_each_other():
    # one exception: `napari-clipcap view` is the command that opens the GUI itself
    opens_the_gui = {"napari_clipcap.cli.view"}
    graph = _part_graph()
    crossing = {
        f"{a} -> {b}": edges
        for a in ("_qt", "cli")
        for b in ("_qt", "cli")
        if a != b
        and (
            edges := [
                e for e in graph.get(a, {}).get(b, []) if e.split(" ")[0] not in opens_the_gui
            ]
        )
    }
    assert not crossing, crossing


def test_the_cycle_check_sees_deferred_imports(tmp_path):
    # a function-level import counts as an edge like a top-level one
    path = PKG / "core" / "captioning" / "protocol.py"
    assert any(
        isinstance(node, ast.ImportFrom) and node.col_offset > 0
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
    )
    assert _strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [
        ["a", "b", "c"]
    ]


def test_functions_are_short_enough_to_read():
    long = []
    for path in PKG.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(PKG)}:{node.lineno} {node.name} ({n} lines)")
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines (split them): {long}"


def test_a_family_of_modules_is_a_subpackage():
    families = {}
    for folder in {p.parent for p in PKG.rglob("*.py")}:
        if folder.name == "cli":  # one module per subcommand by design
            continue
        prefixes: dict[str, list[str]] = {}
        for p in folder.glob("*.py"):
            if "_" in p.stem.strip("_"):
                prefixes.setdefault(p.stem.strip("_").split("_")[0], []).append(p.name)
        for prefix, names in prefixes.items():
            if len(names) >= MAX_PREFIX_FAMILY:
                families[f"{folder.relative_to(PKG)}/{prefix}_*"] = sorted(names)
    assert not families, f"make these families subpackages: {families}"


def test_every_core_module_says_what_it_holds():
    bare = [
        str(p.relative_to(PKG))
        for p in CORE.rglob("*.py")
        if ast.get_docstring(ast.parse(p.read_text(encoding="utf-8"))) is None
    ]
    assert not bare, f"core modules without a docstring naming their concept: {bare}"


def _private_attributes() -> dict[str, set[Path]]:
    """``{"_name": {modules that set self._name}}`` over the package."""
    owners: dict[str, set[Path]] = {}
    for path in PKG.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.ctx, ast.Store)
                and isinstance(node.value, ast.Name)
                and node.value.id == "self"
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                owners.setdefault(node.attr, set()).add(path)
    return owners


def test_no_module_reaches_into_another_modules_private_state():
    owners = _private_attributes()
    reaches = []
    for path in CORE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in owners:
                mine = isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")
                if not mine and path not in owners[node.attr]:
                    reaches.append(f"{path.relative_to(PKG)}:{node.lineno} {ast.unparse(node)}")
            if isinstance(node, ast.Call) and ast.unparse(node.func).endswith(".__new__"):
                reaches.append(f"{path.relative_to(PKG)}:{node.lineno} {ast.unparse(node)}")
    assert not reaches, f"private state of another module: {reaches}"


def test_no_import_cycles_between_modules():
    modules = _modules()
    cycles = _strongly_connected({n: _imports(p, modules) for n, p in modules.items()})
    assert not cycles, f"import cycles: {cycles}"


@pytest.mark.parametrize(
    "front", sorted(n for n, p in _modules().items() if p.name == "__init__.py" and ".core." in n)
)
def test_fronts_export_what_they_list(front):
    module = importlib.import_module(front)
    for name in getattr(module, "__all__", []):
        assert getattr(module, name) is not None, f"{front}.{name}"


_WRITE_MODES = {"w", "wb", "a", "ab", "w+", "wb+", "x", "xb"}
_ATOMIC = {"atomic_path", "atomic_file", "atomic_dir"}


def _writes_outside_atomic(path: Path) -> list[str]:
    """Calls that write a file and sit in no ``with atomic_*(...)`` block."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[str] = []

    def is_atomic(node: ast.With) -> bool:
        return any(
            isinstance(item.context_expr, ast.Call)
            and ast.unparse(item.context_expr.func).split(".")[-1] in _ATOMIC
            for item in node.items
        )

    def writes(call: ast.Call) -> bool:
        name = ast.unparse(call.func)
        if name.endswith((".write_text", ".write_bytes")) or name in ("os.replace", "os.rename"):
            return True
        if name == "open" and call.args and ast.unparse(call.args[0]) != "os.devnull":
            mode = call.args[1] if len(call.args) > 1 else None
            mode = mode or next((k.value for k in call.keywords if k.arg == "mode"), None)
            return isinstance(mode, ast.Constant) and mode.value in _WRITE_MODES
        return False

    def visit(node: ast.AST, inside: bool) -> None:
        inside = inside or (isinstance(node, ast.With) and is_atomic(node))
        if isinstance(node, ast.Call) and writes(node) and not inside:
            found.append(f"{path.relative_to(PKG)}:{node.lineno} {ast.unparse(node.func)}")
        for child in ast.iter_child_nodes(node):
            visit(child, inside)

    visit(tree, False)
    return found


def test_every_file_is_written_through_core_io_atomic():
    atomic = PKG / "core" / "io" / "atomic.py"
    loose = [w for p in PKG.rglob("*.py") if p != atomic for w in _writes_outside_atomic(p)]
    assert not loose, f"files written outside core/io/atomic (write whole or not at all): {loose}"
