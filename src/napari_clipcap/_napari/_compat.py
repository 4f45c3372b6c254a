"""Work-arounds for the environments napari runs in."""

from __future__ import annotations

import sys


def guard_triton() -> None:
    """Keep triton from crashing a napari that renders with Mesa (llvmpipe, radeonsi).

    Mesa's OpenGL drivers map ``libLLVM``; importing triton afterwards (torch does it
    when open_clip imports torchvision) segfaults, because triton bundles its own LLVM.
    Called before anything that may import torchvision (model loading, jobs). When
    that library is already mapped and triton is not yet imported, ``import
    triton`` is made to fail cleanly, so torch treats triton as absent (nothing here
    compiles kernels with it).
    """
    if "triton" in sys.modules or not sys.platform.startswith("linux"):
        return
    try:
        with open("/proc/self/maps") as maps:
            mapped = maps.read()
    except OSError:
        return
    if "libLLVM" in mapped:
        sys.modules["triton"] = None  # type: ignore[assignment]
