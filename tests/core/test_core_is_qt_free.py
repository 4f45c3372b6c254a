"""core/ must import without Qt or napari: checked in a fresh interpreter."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import napari_clipcap.core as core


def test_core_modules_import_without_qt_or_napari():
    # every module of every subpackage (the fronts load lazily, so importing them
    # alone would prove nothing)
    modules = [m.name for m in pkgutil.walk_packages(core.__path__, "napari_clipcap.core.")]
    assert len(modules) >= 80
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "import napari_clipcap\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'napari', 'qtpy', 'PyQt5', 'PyQt6', 'PySide2', 'PySide6', 'magicgui', 'vispy'})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"core imported GUI modules: {out.stdout.strip()}"
