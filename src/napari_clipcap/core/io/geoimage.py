"""A GeoTIFF scene (or a window of it) as the float32 ``H x W x 3`` image models take.

Used wherever a file, rather than a napari layer, enters a model (command line, batch,
collections). The stretch limits come from the coarsest overview, so a crop looks as it
does in the whole scene, and a size bound reads an overview instead of the full image.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import InvalidInputError
from ..scaling.composites import band_limits, composite, default_composite, resolve_rgb
from .geotiff import GeoScene, read_geotiff


def scene_bands(scene: GeoScene, rgb: str | Sequence[int | str] | None = "auto") -> list[int]:
    """Band indices a scene shows as R, G, B (or one band for grey).

    ``"auto"``: the sensor's true-colour preset when the band names fit one, the RGB
    bands of an 8-bit RGB(A) file, else the first three bands (the first band alone for
    one- or two-band scenes).
    """
    n = scene.shape[0]
    if rgb is None or rgb == "auto":
        key = default_composite(scene.band_names)
        if key is not None:
            return list(resolve_rgb(key, scene.band_names))
        return [0, 1, 2] if n >= 3 else [0]
    return list(resolve_rgb(rgb, scene.band_names))


def _level_for(scene: GeoScene, max_side: int | None, window: Any) -> int:
    """The coarsest level that still has at least ``max_side`` pixels across the window."""
    if max_side is None:
        return 0
    rows, cols = scene.shape[1:]
    x0, y0, x1, y1 = window if window is not None else (0, 0, cols, rows)
    best = 0
    for k, level in enumerate(scene.levels):
        factor = cols / level.shape[2]
        if max(x1 - x0, y1 - y0) / factor >= max_side:
            best = k
    return best


def scene_image(
    source: str | os.PathLike | GeoScene,
    rgb: str | Sequence[int | str] | None = "auto",
    *,
    window: tuple[int, int, int, int] | None = None,
    max_side: int | None = None,
    max_pixels: int | None = None,
    reduce: bool = False,
    factor: bool = False,
) -> np.ndarray | tuple[np.ndarray, int]:
    """Read a scene as float32 ``H x W x 3`` in ``[0, 1]`` for the models.

    Parameters
    ----------
    source : path or GeoScene
        A GeoTIFF / COG, or a scene already opened.
    rgb : str, sequence or None
        ``"auto"`` (see :func:`scene_bands`), a preset key or three bands.
    window : (x0, y0, x1, y1), optional
        Full-resolution pixel box to read (end exclusive); default the whole scene.
    max_side : int, optional
        Read from the coarsest overview that keeps at least this many pixels across the
        window (the result may still be larger; shrink it afterwards).
    max_pixels : int, optional
        Pixel budget (default :func:`~napari_clipcap.core.io.budget.pixel_budget`): a
        crop above it is refused, or read with a stride when ``reduce``.
    reduce : bool
        Read a crop above the budget with a stride instead of refusing it.
    factor : bool
        Also return the reduction: full-resolution pixels per result pixel (an int).

    Returns
    -------
    ndarray, or (ndarray, int) when ``factor``
        The composite; 8-bit RGB files are value/255 and other scenes are stretched per
        band between the 2nd and 98th percentiles of the whole scene; nodata is 0.

    Raises
    ------
    FileFormatError
        The crop is above the pixel budget and ``reduce`` is false.
    """
    from ..errors import FileFormatError
    from .budget import over_budget, pixel_budget, reduction_step

    scene = source if isinstance(source, GeoScene) else read_geotiff(source)
    rows, cols = scene.shape[1:]
    box = (0, 0, cols, rows) if window is None else tuple(int(v) for v in window)
    x0, y0, x1, y1 = box
    if not (0 <= x0 < x1 <= cols and 0 <= y0 < y1 <= rows):
        raise InvalidInputError(f"window {box} is outside the {cols} x {rows} scene")
    k = _level_for(scene, max_side, box)
    level = scene.levels[k]
    fy, fx = rows / level.shape[1], cols / level.shape[2]
    crop = level[
        :,
        int(y0 / fy) : max(int(y0 / fy) + 1, round(y1 / fy)),
        int(x0 / fx) : max(int(x0 / fx) + 1, round(x1 / fx)),
    ]
    budget = pixel_budget(max_pixels)
    ch, cw = crop.shape[1:]
    if ch * cw > budget:
        if not reduce:
            raise FileFormatError(
                over_budget(
                    scene.path, ch, cw, budget, "add overviews (gdaladdo) or read it reduced"
                )
            )
        step = reduction_step(ch, cw, budget)
        crop = crop[:, ::step, ::step]
    idx = scene_bands(scene, rgb)
    photo = scene.source_dtype == "uint8" and scene.colorinterp[:3] == ["red", "green", "blue"]
    if photo and (rgb is None or rgb == "auto"):
        limits = [(0.0, 255.0)] * 3
    else:
        limits = band_limits(scene.levels[-1], idx)
    if len(idx) == 1:
        idx, limits = idx * 3, limits * 3
    image = composite(crop, idx, band_names=scene.band_names, limits=limits)
    if not factor:
        return image
    return image, max(1, round((x1 - x0) / image.shape[1]))
