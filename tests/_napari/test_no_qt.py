"""The napari glue without Qt stays without Qt: nothing under ``_napari/`` imports the
Qt layer (``_qt``) or a Qt binding, directly or lazily inside a function."""

from __future__ import annotations

import ast
from pathlib import Path

import napari_clipcap

GLUE = Path(napari_clipcap.__file__).parent / "_napari"
QT = ("qtpy", "PyQt5", "PyQt6", "PySide2", "PySide6", "superqt")


def imported_modules(path: Path) -> list[str]:
    """Absolute names of every module ``path`` imports (relative ones resolved)."""
    package = ["napari_clipcap", *path.relative_to(GLUE.parent).with_suffix("").parts]
    if package[-1] == "__init__":
        package.append("")
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level]
                names.append(".".join([*base, node.module] if node.module else base))
            else:
                names.append(node.module or "")
    return names


def test_the_glue_imports_neither_the_qt_layer_nor_qt():
    offenders = [
        f"{path.relative_to(GLUE.parent)} imports {name}"
        for path in sorted(GLUE.rglob("*.py"))
        for name in imported_modules(path)
        if name.startswith("napari_clipcap._qt") or name.split(".")[0] in QT
    ]
    assert offenders == []


def test_relative_imports_are_resolved():
    # models/specs.py does ``from .._compat import guard_triton``
    assert "napari_clipcap._napari._compat" in imported_modules(GLUE / "models" / "specs.py")
