"""World coordinates (RA/Dec, lon/lat) of the pixel under the cursor in napari's status bar.

napari builds the status text from ``layer.get_status(...)``, both on the Qt status
thread and in ``ViewerModel.update_status_from_cursor``. :func:`add_world_status` wraps
that method on one layer so its coordinates text ends with `` | `` and the text of
:func:`napari_clipcap.core.coords.worldcoords.format_world` for the layer's metadata.
:func:`install_world_status` does it for every layer of a viewer, now and later; the
reader and the sample data call it, so FITS layers get RA/Dec however they are opened.
It also widens the contrast slider of FITS layers (:func:`widen_contrast_range`).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from ..core.coords.worldcoords import format_world

logger = logging.getLogger(__name__)

__all__ = ["add_world_status", "install_world_status", "widen_contrast_range", "world_text"]

_MARK = "_clipcap_world_status"


def world_text(layer: Any, position: Any, *, world: bool = True) -> str | None:
    """World-coordinate text of ``position`` over ``layer``, or ``None``.

    Where napari shows integer pixel coordinates (images), the world position is
    that of the same pixel's centre, so the text matches the pixel and value shown.
    """
    if not getattr(layer, "metadata", None):
        return None
    data_pos = np.asarray(layer.world_to_data(position) if world else position, float)
    if data_pos.size < 2:
        return None
    integer = getattr(layer, "_use_integer_coords_in_status", None)
    if layer.metadata.get("north_up") or (integer is not None and integer()):
        data_pos = np.round(data_pos)  # the pixel whose value napari shows
    sky = format_world(layer.metadata, data_pos[-2], data_pos[-1])
    plane = plane_world_text(layer.metadata.get("wcs"), data_pos)
    return " | ".join(t for t in (plane, sky) if t) or None


def plane_world_text(wcs: Any, data_pos: np.ndarray) -> str | None:
    """World values of a cube's other axes at ``data_pos`` (numpy order, plane axes
    first), e.g. ``"FREQ 1.401e+09 Hz"`` for the displayed plane of a spectral cube."""
    naxis = getattr(wcs, "naxis", 0)
    if naxis <= 2 or len(data_pos) < naxis:
        return None
    pixel = np.asarray(data_pos[-naxis:], float)[::-1]  # FITS order: x, y, then planes
    world = wcs.wcs_pix2world(pixel[None, :], 0)[0]
    parts = []
    for axis in range(2, naxis):
        ctype = str(wcs.wcs.ctype[axis]).split("-")[0] or f"axis {axis + 1}"
        unit = str(wcs.wcs.cunit[axis] or "")
        value = float(world[axis])
        if ctype.upper() == "STOKES":
            names = {1: "I", 2: "Q", 3: "U", 4: "V"}
            parts.append(f"STOKES {names.get(round(value), round(value))}")
        else:
            parts.append(f"{ctype} {value:.6g}{' ' + unit if unit else ''}")
    return ", ".join(parts)


def add_world_status(layer: Any) -> None:
    """Make ``layer.get_status`` append world coordinates to its coordinates text.

    Idempotent. Metadata is read at every call, so a WCS added later is used too.
    """
    if getattr(layer, _MARK, False):
        return
    original = layer.get_status

    def get_status(position=None, *args: Any, world: bool = False, **kwargs: Any):
        status = original(position, *args, world=world, **kwargs)
        if position is None or not isinstance(status, dict):
            return status
        if (layer.metadata or {}).get("north_up"):
            _pixel_coordinates(layer, status, position, world)
        try:
            text = world_text(layer, position, world=world)
        except Exception:  # the status bar must never raise
            logger.debug("no world coordinates for %r", layer, exc_info=True)
            return status
        if text:
            status["coordinates"] = f"{status.get('coordinates', '')} | {text}"
            if status.get("value"):  # several layers selected: napari lists their values
                status["value"] = f"{status['value']} | {text}"
        return status

    layer.get_status = get_status
    setattr(layer, _MARK, True)


def _pixel_coordinates(layer: Any, status: dict, position: Any, world: bool) -> None:
    """Show the pixel (row, column) under the cursor, as for an unflipped image: napari
    shows world coordinates for a layer with a transform, such as a north-up sky image."""
    try:
        data = np.asarray(layer.world_to_data(position) if world else position, float)
        pixel = np.round(data[-layer.ndim :]).astype(int)
    except Exception:  # the status bar must never raise
        logger.debug("no pixel position for %r", layer, exc_info=True)
        return
    coords = f"[{', '.join(str(int(v)) for v in pixel)}]"
    status["coords"] = coords
    status["coordinates"] = f"{coords}: {status.get('value', '')}"


def widen_contrast_range(layer: Any) -> None:
    """Let the contrast slider reach ``metadata["contrast_range"]`` (set by the reader).

    napari makes the slider's range equal to the contrast limits a reader gives, so
    after a zscale the brightest stars could not be brought back without this.
    """
    wanted = getattr(layer, "metadata", {}).get("contrast_range")
    if wanted is None or not hasattr(layer, "contrast_limits_range"):
        return
    lo, hi = layer.contrast_limits_range
    limits = tuple(layer.contrast_limits)
    if wanted[0] < lo or wanted[1] > hi:
        layer.contrast_limits_range = (min(lo, wanted[0]), max(hi, wanted[1]))
        layer.contrast_limits = limits


def _on_inserted(event: Any) -> None:
    add_world_status(event.value)
    widen_contrast_range(event.value)


def install_world_status(viewer: Any) -> None:
    """Add world coordinates to the status of every layer of ``viewer``, now and later."""
    emitter = viewer.layers.events.inserted
    if _on_inserted not in list(emitter.callbacks):
        emitter.connect(_on_inserted)
    for layer in viewer.layers:
        add_world_status(layer)
        widen_contrast_range(layer)
