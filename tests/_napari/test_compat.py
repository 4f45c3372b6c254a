"""Loading models after Mesa's OpenGL (libLLVM) is mapped must not crash napari."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import numpy as np
    import napari

    viewer = napari.Viewer(show=False)
    viewer.add_image(np.zeros((8, 8)))
    mesa = "libLLVM" in open("/proc/self/maps").read()
    from napari_clipcap._napari._compat import guard_triton

    guard_triton()
    import open_clip  # imports torchvision -> torch._dynamo -> (maybe) triton

    print("MESA" if mesa else "NO-MESA", "OK")
    viewer.close()
    """
)


@pytest.mark.slow
def test_open_clip_imports_after_the_gl_context():
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("OK")
