"""Every name of the public API resolves, and the package imports nothing heavy eagerly."""

from __future__ import annotations

import subprocess
import sys

import napari_clipcap


def test_every_public_name_resolves():
    for name in napari_clipcap._API:
        assert getattr(napari_clipcap, name) is not None, name
    assert set(napari_clipcap.__all__) == {"__version__", *napari_clipcap._API}


def test_import_is_lazy():
    code = "import sys, napari_clipcap; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
