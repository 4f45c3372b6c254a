"""The instance table (areas and centroids in pixels and world units) and outlines.

World units come from the image: a projected GeoTIFF gives areas in its CRS's unit
squared (m^2 for metres) from the affine's determinant and centroids in map
coordinates; a celestial WCS gives arcsec^2 from the projection plane's pixel area at the
reference point (astropy's ``proj_plane_pixel_area``; exact for a TAN image's centre,
within the projection's distortion elsewhere) and centroids as RA/Dec (or the WCS's own
sky axes) in degrees. Other images give pixel areas only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["instance_outlines", "instance_table", "world_area_unit"]


def _linear_unit(crs: str | None) -> str | None:
    """The CRS's axis unit (``"m"``, ``"ft"``...) or None for a geographic/unknown CRS."""
    if not crs:
        return None
    try:
        from rasterio.crs import CRS

        parsed = CRS.from_user_input(crs)
        unit = parsed.linear_units if parsed.is_projected else None
    except Exception:  # an unreadable CRS: no world areas, pixel areas still given
        return None
    if not unit or unit == "unknown":
        return None
    return {"metre": "m", "meter": "m", "foot": "ft", "US survey foot": "ftUS"}.get(unit, unit)


def world_area_unit(geo: Mapping[str, Any] | None, wcs: Any) -> tuple[float, str] | None:
    """``(area of one pixel, unit)``: ``m^2`` for a projected GeoTIFF, ``arcsec^2`` for a
    celestial WCS, None otherwise."""
    if geo is not None and geo.get("transform") is not None:
        unit = _linear_unit(geo.get("crs"))
        if unit is not None:
            a, b, _, d, e, _ = (float(v) for v in geo["transform"][:6])
            return abs(a * e - b * d), f"{unit}^2"
    if wcs is not None and getattr(wcs, "has_celestial", False):
        from astropy.wcs.utils import proj_plane_pixel_area

        deg2 = float(proj_plane_pixel_area(wcs.celestial))
        return deg2 * 3600.0**2, "arcsec^2"
    return None


def _world_centroid(x: float, y: float, geo, wcs) -> list[float] | None:
    """World coordinates of the pixel-edge point ``(x, y)``."""
    if geo is not None and geo.get("transform") is not None:
        from ..coords.georef import pixel_to_map

        mx, my = pixel_to_map(geo["transform"], np.array([x]), np.array([y]))
        return [float(mx[0]), float(my[0])]
    if wcs is not None and getattr(wcs, "has_celestial", False):
        world = wcs.celestial.all_pix2world([[x - 0.5, y - 0.5]], 0)[0]
        return [float(world[0]), float(world[1])]
    return None


def instance_table(
    instances: Sequence[Any], *, geo: Mapping[str, Any] | None = None, wcs: Any = None
) -> list[dict]:
    """One row per instance (id ``i + 1``, as painted by
    :func:`~napari_clipcap.core.segmentation.tiling.paint_labels`).

    Columns: ``id``, ``phrase``, ``score``, ``area_px``, ``area_world`` and
    ``area_unit`` (None without world units), ``centroid_x``/``centroid_y`` (pixel-edge
    coordinates: the mean of the pixel centres), ``centroid_world`` (map x/y or sky
    lon/lat in degrees, None without), ``box`` (``x0, y0, x1, y1``).
    """
    per_pixel = world_area_unit(geo, wcs)
    rows = []
    for i, inst in enumerate(instances):
        ys, xs = np.nonzero(inst.mask)
        cx = float(xs.mean() + inst.box[0] + 0.5)
        cy = float(ys.mean() + inst.box[1] + 0.5)
        area = int(xs.size)
        rows.append(
            {
                "id": i + 1,
                "phrase": inst.phrase,
                "score": round(float(inst.score), 6),
                "area_px": area,
                "area_world": None if per_pixel is None else area * per_pixel[0],
                "area_unit": None if per_pixel is None else per_pixel[1],
                "centroid_x": cx,
                "centroid_y": cy,
                "centroid_world": _world_centroid(cx, cy, geo, wcs),
                "box": [int(v) for v in inst.box],
            }
        )
    return rows


def instance_outlines(labels: np.ndarray, ids: Sequence[int]) -> list[np.ndarray]:
    """Each id's outline in ``labels`` as an ``(N, 2)`` pixel-edge ``(x, y)`` ring (the
    exact pixel boundary of its largest part, holes left out); the GeoJSON writer winds
    rings counter-clockwise in longitude/latitude (RFC 7946)."""
    from rasterio import features
    from shapely.geometry import shape as as_shape
    from shapely.geometry.polygon import orient

    outlines = []
    for ident in ids:
        inside = labels == int(ident)
        if not inside.any():
            outlines.append(np.zeros((0, 2)))
            continue
        rows, cols = np.nonzero(inside)
        r0, c0 = rows.min(), cols.min()
        cut = inside[r0 : rows.max() + 1, c0 : cols.max() + 1].astype(np.uint8)
        polygons = [as_shape(g) for g, v in features.shapes(cut, mask=cut.astype(bool)) if v]
        best = orient(max(polygons, key=lambda p: p.area))
        ring = np.asarray(best.exterior.coords, float)[:-1]
        outlines.append(ring + np.array([c0, r0], float))
    return outlines
