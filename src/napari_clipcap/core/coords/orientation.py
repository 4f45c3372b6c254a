"""Sky images shown as astronomers expect: north up, east left, row 0 at the bottom.

DS9 and most astronomy viewers draw FITS row 0 at the bottom, so an image with a standard
WCS appears with north up and east to the left; napari draws row 0 at the top. A layer's
world transform can flip the rows without touching the data: pixel coordinates, regions,
shapes (read through the layer's transform) and exports keep their meaning.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from .worldcoords import celestial_part

logger = logging.getLogger(__name__)

#: ``NAPARI_CLIPCAP_NORTH_UP=0`` opens sky images as napari does, row 0 at the top.
ENV_VAR = "NAPARI_CLIPCAP_NORTH_UP"


def north_up_default() -> bool:
    """Whether sky images open north up: yes unless ``NAPARI_CLIPCAP_NORTH_UP=0``."""
    value = os.environ.get(ENV_VAR, "1").strip().lower()
    return value not in ("0", "false", "no", "off")


def north_up_placement(shape: Sequence[int], on: bool = True) -> dict[str, tuple]:
    """``scale`` and ``translate`` that show an image of ``shape`` with row 0 at the
    bottom (``on``) or at the top; the last two axes are rows and columns."""
    n, rows = len(shape), int(shape[-2])
    if not on:
        return {"scale": (1.0,) * n, "translate": (0.0,) * n}
    return {
        "scale": (1.0,) * (n - 2) + (-1.0, 1.0),
        "translate": (0.0,) * (n - 2) + (float(rows - 1), 0.0),
    }


def sky_directions(wcs: Any, shape: Sequence[int]) -> dict[str, tuple[float, float]] | None:
    """Unit vectors of north and east at the image centre, in ``(row, col)`` data pixels;
    None for a WCS without celestial axes on the image's columns and rows."""
    sky = celestial_part(wcs)
    if sky is None:
        return None
    rows, cols = int(shape[-2]), int(shape[-1])
    centre = np.array([[(cols - 1) / 2, (rows - 1) / 2]])
    try:
        lon, lat = sky.all_pix2world(centre, 0)[0]
        step = 1.0 / 3600  # one arcsecond
        cos_lat = max(float(np.cos(np.deg2rad(lat))), 1e-6)
        out = {}
        for name, (dlon, dlat) in {"N": (0.0, step), "E": (step / cos_lat, 0.0)}.items():
            x, y = sky.all_world2pix(np.array([[lon + dlon, lat + dlat]]), 0)[0]
            v = np.array([y - centre[0, 1], x - centre[0, 0]])
            norm = float(np.hypot(*v))
            if not np.isfinite(norm) or norm == 0:
                return None
            out[name] = (float(v[0] / norm), float(v[1] / norm))
    except Exception:  # a WCS that cannot be evaluated gets no compass
        logger.debug("no compass: the WCS cannot be evaluated", exc_info=True)
        return None
    return out
