"""Contrast limits of FITS cubes that suit the plane on screen, as DS9's zscale does.

The reader gives a cube the zscale limits of one plane and flags it with
:data:`~napari_clipcap._napari.fits_reader.FOLLOW_KEY`. :func:`install_plane_contrast`
makes the limits of every flagged layer follow the displayed plane: on insertion and at
every slider step, the zscale of the plane now shown is applied, until the user sets
limits of their own (then they are left alone). :func:`zscale_current_plane` is the
Layers > Visualize command that applies the current plane's zscale on demand and lets
the limits follow again.
"""

from __future__ import annotations

import logging
import math
import weakref
from typing import Any

import numpy as np

from ..core.scaling.intervals import ZScaleInterval

logger = logging.getLogger(__name__)

__all__ = ["displayed_index", "follow_plane", "install_plane_contrast", "zscale_current_plane"]

#: Contrast limits are estimated from at most about this many pixels of one plane.
CONTRAST_SAMPLE = 512 * 512
#: Metadata flag: zscale limits follow the displayed plane until the user sets others.
FOLLOW_KEY = "contrast_follows_plane"
#: Viewers whose cubes already follow the slider (by id; the values are weak).
_INSTALLED: dict[int, weakref.ref] = {}
#: The limits this module set last on a layer (user limits differ and stop following).
_AUTO = "_clipcap_auto_limits"


def increasing(lo: float, hi: float) -> tuple[float, float]:
    """``(lo, hi)`` with ``hi > lo`` as floats, even where 1 is below float spacing.

    Values near 2**63 (uint64 data) are 2048 apart as float64: ``lo + 1.0 == lo``
    there, and napari refuses limits that do not increase.
    """
    lo, hi = float(lo), float(hi)
    if not hi > lo:
        hi = lo + 1.0
    if not hi > lo:
        hi = float(np.nextafter(lo, np.inf))
    return lo, hi


def plane_limits(plane: Any) -> tuple[float, float]:
    """ZScale limits of a strided sample (at most about :data:`CONTRAST_SAMPLE` pixels)
    of one 2D plane; its finite range where zscale collapses."""
    step = max(1, math.ceil(math.sqrt(plane.shape[0] * plane.shape[1] / CONTRAST_SAMPLE)))
    finite = finite_values(plane[::step, ::step])
    if not finite.size:
        return (0.0, 1.0)
    vmin, vmax = ZScaleInterval().get_limits(finite)
    if not vmax > vmin:
        vmin, vmax = float(finite.min()), float(finite.max())
    return increasing(vmin, vmax)


def finite_values(values: Any) -> np.ndarray:
    sample = np.asarray(values)
    return sample[np.isfinite(sample)]


def displayed_index(viewer: Any, layer: Any) -> tuple[int, ...]:
    """The indices of ``layer``'s leading (non-displayed) axes at the viewer's slider."""
    n_lead = layer.ndim - 2
    if n_lead <= 0:
        return ()
    data_pos = np.asarray(layer.world_to_data(viewer.dims.point), float)[:n_lead]
    shape = layer.data.shape[:n_lead]
    return tuple(int(np.clip(round(v), 0, n - 1)) for v, n in zip(data_pos, shape))


def apply_plane_zscale(viewer: Any, layer: Any) -> tuple[float, float]:
    """Set ``layer``'s limits to the zscale of its displayed plane; the limits."""
    plane = layer.data[displayed_index(viewer, layer)]
    limits = plane_limits(plane)
    lo, hi = layer.contrast_limits_range
    if limits[0] < lo or limits[1] > hi:
        layer.contrast_limits_range = (min(lo, limits[0]), max(hi, limits[1]))
    layer.contrast_limits = limits
    setattr(layer, _AUTO, tuple(float(v) for v in layer.contrast_limits))
    return limits


def follow_plane(viewer: Any, layer: Any) -> bool:
    """Apply the displayed plane's zscale to a flagged cube whose limits were not changed
    by the user since this module set them; whether it did."""
    if not (getattr(layer, "metadata", None) or {}).get(FOLLOW_KEY):
        return False
    if getattr(layer, "ndim", 2) <= 2 or not hasattr(layer, "contrast_limits"):
        return False
    auto = getattr(layer, _AUTO, None)
    if auto is not None and not np.allclose(auto, layer.contrast_limits):
        return False  # the user chose limits: keep them
    try:
        apply_plane_zscale(viewer, layer)
    except Exception:  # a slider step must never raise (a lazy read failing late)
        logger.debug("plane contrast not updated", exc_info=True)
        return False
    return True


def zscale_current_plane(viewer: Any) -> None:
    """Layers > Visualize > "ZScale the current plane": DS9's zscale of the plane on
    screen for the selected image layers; a cube's limits then follow the slider again."""
    for layer in list(viewer.layers.selection) or list(viewer.layers)[-1:]:
        if hasattr(layer, "contrast_limits") and not getattr(layer, "rgb", False):
            apply_plane_zscale(viewer, layer)


def install_plane_contrast(viewer: Any) -> None:
    """Make every flagged cube of ``viewer`` follow the displayed plane, now and later."""
    known = _INSTALLED.get(id(viewer))
    if known is not None and known() is viewer:
        for layer in viewer.layers:
            follow_plane(viewer, layer)
        return
    ref = weakref.ref(viewer)
    _INSTALLED[id(viewer)] = ref

    def on_step(event: Any = None) -> None:
        live = ref()
        if live is not None:
            for layer in live.layers:
                follow_plane(live, layer)

    def on_inserted(event: Any) -> None:
        live = ref()
        if live is not None:
            follow_plane(live, event.value)

    viewer.dims.events.current_step.connect(on_step)
    viewer.layers.events.inserted.connect(on_inserted)
    on_step()
