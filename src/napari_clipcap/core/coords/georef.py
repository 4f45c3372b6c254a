"""Map coordinates of pixels: affine transforms, CRS conversion to longitude/latitude.

Layer metadata written by :mod:`napari_clipcap.core.io.geotiff` holds ``"crs"`` (WKT),
``"epsg"`` and ``"transform"`` (affine ``a, b, c, d, e, f``, pixel edges, full
resolution). These functions turn pixel coordinates (``x`` = column, ``y`` = row) into
map coordinates in that CRS and into WGS84 longitude/latitude.

Pixel-coordinate conventions: region boxes ``x0, y0, x1, y1`` and polygon vertices are
pixel *edges* (the package contract), so they map through the transform as they are.
A cursor position from napari is a pixel *centre* coordinate (pixel ``i`` spans
``i - 0.5 .. i + 0.5``), so :func:`format_geo` adds half a pixel first.

Importing this module registers :func:`format_geo` with
:mod:`napari_clipcap.core.coords.worldcoords`, so the status bar shows map coordinates of any
layer whose metadata carries ``crs`` and ``transform`` (reading a GeoTIFF imports it).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from ..errors import InvalidInputError

logger = logging.getLogger(__name__)

WGS84 = "EPSG:4326"


def geo_of(metadata: Mapping[str, Any] | None) -> tuple[tuple[float, ...], str | None] | None:
    """The ``(transform, crs)`` of layer metadata, or None when it is not georeferenced.

    Parameters
    ----------
    metadata : mapping or None
        Layer metadata (or a :meth:`GeoScene.metadata` dict).

    Returns
    -------
    tuple or None
        The six affine coefficients and the CRS (WKT or ``"EPSG:n"``, may be None).
    """
    if not metadata or metadata.get("transform") is None:
        return None
    t = tuple(float(v) for v in metadata["transform"])
    if len(t) != 6:
        return None
    crs = metadata.get("crs")
    if not crs and metadata.get("epsg"):
        crs = f"EPSG:{int(metadata['epsg'])}"
    if crs is None and t == (1.0, 0.0, 0.0, 0.0, 1.0, 0.0):
        return None  # a plain image: identity transform and no CRS
    return t, crs


#: Metadata keys that georeference a layer; results over a scene copy them.
GEO_KEYS = ("crs", "epsg", "transform", "shape")


def geo_subset(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """The georeferencing keys of layer metadata (empty when it has none).

    A result layer made over a scene (a heatmap) that gets these in its own metadata
    shows map coordinates in the status bar and saves as a GeoTIFF on the scene's grid.
    """
    if geo_of(metadata) is None:
        return {}
    return {k: metadata[k] for k in GEO_KEYS if k in metadata}  # type: ignore[index]


def pixel_to_map(
    transform: Sequence[float], cols: Any, rows: Any
) -> tuple[np.ndarray, np.ndarray]:
    """Map coordinates of pixel-edge coordinates through an affine transform.

    Parameters
    ----------
    transform : sequence of float
        Affine ``(a, b, c, d, e, f)``.
    cols, rows : array-like
        Pixel coordinates (``x`` = column, ``y`` = row), edge convention.

    Returns
    -------
    (ndarray, ndarray)
        Map ``x`` and ``y`` in the transform's CRS.
    """
    a, b, c, d, e, f = (float(v) for v in transform[:6])
    cols = np.asarray(cols, dtype=float)
    rows = np.asarray(rows, dtype=float)
    return a * cols + b * rows + c, d * cols + e * rows + f


def map_to_pixel(transform: Sequence[float], xs: Any, ys: Any) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-edge coordinates ``(cols, rows)`` of map coordinates (inverse of
    :func:`pixel_to_map`)."""
    a, b, c, d, e, f = (float(v) for v in transform[:6])
    det = a * e - b * d
    if det == 0:
        raise InvalidInputError(f"affine transform {tuple(transform)} cannot be inverted")
    x = np.asarray(xs, dtype=float) - c
    y = np.asarray(ys, dtype=float) - f
    return (e * x - b * y) / det, (-d * x + a * y) / det


@lru_cache(maxsize=32)
def _crs(crs: str) -> Any:
    from rasterio.crs import CRS

    return CRS.from_user_input(crs)


def is_geographic(crs: str | None) -> bool:
    """True when ``crs`` is a geographic (longitude/latitude) system."""
    return bool(crs) and bool(_crs(crs).is_geographic)


def map_to_lonlat(crs: str, xs: Any, ys: Any) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 longitude and latitude (degrees) of map coordinates in ``crs``.

    Parameters
    ----------
    crs : str
        WKT, ``"EPSG:n"`` or any string rasterio's ``CRS.from_user_input`` takes.
    xs, ys : array-like
        Map coordinates in ``crs``.

    Returns
    -------
    (ndarray, ndarray)
        Longitudes and latitudes.
    """
    from rasterio.warp import transform as warp

    xs = np.atleast_1d(np.asarray(xs, dtype=float))
    ys = np.atleast_1d(np.asarray(ys, dtype=float))
    src = _crs(crs)
    if src == _crs(WGS84):
        return xs, ys
    lon, lat = warp(src, _crs(WGS84), xs.ravel().tolist(), ys.ravel().tolist())
    return np.reshape(lon, xs.shape), np.reshape(lat, ys.shape)


def crs_label(crs: str | None) -> str:
    """A short name for a CRS: ``"EPSG:32633"`` when it has a code, else its name."""
    if not crs:
        return "no CRS"
    c = _crs(crs)
    epsg = c.to_epsg()
    if epsg:
        return f"EPSG:{epsg}"
    wkt = c.to_wkt()
    return wkt.split('"')[1] if '"' in wkt else c.to_string()


def _deg(value: float, pos: str, neg: str) -> str:
    return f"{abs(value):.5f}°{pos if value >= 0 else neg}"


def format_geo(metadata: Mapping[str, Any] | None, row: float, col: float) -> str | None:
    """Status-bar text for the cursor at napari data position ``(row, col)``.

    Parameters
    ----------
    metadata : mapping or None
        Layer metadata with ``"transform"`` and ``"crs"``.
    row, col : float
        napari data coordinates (pixel centres at integers) of the full-resolution level.

    Returns
    -------
    str or None
        ``"lon 14.99995°E, lat 45.15339°N | x 500005.0, y 4999995.0 (EPSG:32633)"`` for a
        projected CRS, only the longitude/latitude part for a geographic one, map ``x, y``
        alone when the CRS is unknown; None for metadata without georeferencing.
    """
    geo = geo_of(metadata)
    if geo is None:
        return None
    transform, crs = geo
    x, y = pixel_to_map(transform, col + 0.5, row + 0.5)
    x, y = float(x), float(y)
    projected = f"x {x:.1f}, y {y:.1f}"
    if not crs:
        return f"{projected} (no CRS)"
    try:
        lon, lat = map_to_lonlat(crs, x, y)
    except Exception:  # a CRS pyproj cannot invert: the projected position only
        logger.debug("no lon/lat for CRS %s", crs_label(crs), exc_info=True)
        return f"{projected} ({crs_label(crs)})"
    lonlat = f"lon {_deg(float(lon[0]), 'E', 'W')}, lat {_deg(float(lat[0]), 'N', 'S')}"
    if is_geographic(crs):
        return lonlat
    return f"{lonlat} | {projected} ({crs_label(crs)})"
