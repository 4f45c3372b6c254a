"""Georeferenced results: heatmaps as GeoTIFF, regions in map coordinates and GeoJSON.

``georef`` below is the metadata of a georeferenced layer or scene (see
:meth:`~napari_clipcap.core.io.geotiff.GeoScene.metadata`): a mapping with ``"transform"``
(affine ``a, b, c, d, e, f`` of the full-resolution pixels), ``"crs"`` and, for
resampled results, ``"shape"`` ``(rows, cols)`` of the source.

Regions are boxes ``(x0, y0, x1, y1)`` or polygons ``[(x, y), ...]`` in pixel data
coordinates (pixel edges, ``x`` = column), the package contract.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..coords.georef import geo_of, map_to_lonlat, pixel_to_map
from ..errors import FileFormatError, InvalidInputError


def geo_metadata_of(path: str | os.PathLike) -> dict[str, Any] | None:
    """Georeferencing of a GeoTIFF (``transform``, ``crs``, ``epsg``, ``shape``) or None.

    Reads only the header; returns None for files that are not georeferenced TIFFs, so
    callers can write a plain file instead.
    """
    from .geotiff import is_geospatial_tiff
    from .rasterwindow import open_raster

    if not is_geospatial_tiff(path):
        return None
    with open_raster(path) as src:
        if src.crs is None and src.transform.is_identity:
            return None
        return {
            "transform": list(tuple(src.transform)[:6]),
            "crs": src.crs.to_wkt() if src.crs else None,
            "epsg": src.crs.to_epsg() if src.crs else None,
            "shape": [src.height, src.width],
        }


def _require_geo(georef: Mapping[str, Any] | None) -> tuple[tuple[float, ...], str | None]:
    geo = geo_of(georef)
    if geo is None:
        raise InvalidInputError("the source is not georeferenced (no CRS or transform)")
    return geo


def window_transform(
    transform: Sequence[float],
    out_shape: tuple[int, int],
    window: tuple[float, float, float, float] | None = None,
    source_shape: Sequence[int] | None = None,
) -> tuple[float, ...]:
    """Affine of an array of ``out_shape`` covering ``window`` of the source pixels.

    Parameters
    ----------
    transform : sequence of float
        Source affine ``(a, b, c, d, e, f)``.
    out_shape : (int, int)
        ``(rows, cols)`` of the array to georeference.
    window : (x0, y0, x1, y1), optional
        Source pixel box the array covers; default the whole source (``source_shape``),
        or a box of ``out_shape`` at the origin when the source shape is unknown.
    source_shape : sequence of int, optional
        ``(rows, cols)`` of the source.

    Returns
    -------
    tuple of float
        The array's affine coefficients.
    """
    rows, cols = out_shape
    if window is None:
        src_rows, src_cols = (rows, cols) if source_shape is None else source_shape[-2:]
        window = (0, 0, src_cols, src_rows)
    x0, y0, x1, y1 = (float(v) for v in window)
    if x1 <= x0 or y1 <= y0:
        raise InvalidInputError(f"empty window {window}")
    sx, sy = (x1 - x0) / cols, (y1 - y0) / rows
    a, b, c, d, e, f = (float(v) for v in transform[:6])
    return (a * sx, b * sy, a * x0 + b * y0 + c, d * sx, e * sy, d * x0 + e * y0 + f)


def write_geotiff(
    path: str | os.PathLike,
    data: Any,
    georef: Mapping[str, Any],
    *,
    window: tuple[float, float, float, float] | None = None,
    band_names: Sequence[str] | None = None,
    nodata: float | None = None,
    tags: Mapping[str, Any] | None = None,
    dtype: str | None = "float32",
) -> Path:
    """Write a map (``H x W``) or bands (``Q x H x W``) as a GeoTIFF on the source's grid.

    Parameters
    ----------
    path : str or os.PathLike
        Output file (``.tif``).
    data : array-like
        Heatmap(s) or bands, NumPy or dask: written 1024 rows at a time, so a lazy
        scene is never held in memory whole; one band per map, deflate, tiled.
    georef : mapping
        Source metadata with ``transform`` and ``crs`` (and ``shape`` when ``data`` is
        smaller than the source: it is then taken to cover the whole source).
    window : (x0, y0, x1, y1), optional
        The source pixel box ``data`` covers, when it is a crop.
    band_names : sequence of str, optional
        Band descriptions, e.g. the queries of a multi-query heatmap.
    nodata : float, optional
        Nodata value to declare (NaN is usual for float maps).
    tags : mapping, optional
        Dataset tags (GDAL metadata), e.g. the query and model; values become text.
    dtype : str or None
        Data type written (float32 by default); None keeps the data's own.

    Returns
    -------
    Path
        The file written.
    """
    import rasterio
    from rasterio.windows import Window

    transform, crs = _require_geo(georef)
    arr = data if hasattr(data, "ndim") and hasattr(data, "shape") else np.asarray(data)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or 0 in arr.shape:
        raise InvalidInputError(f"a map must be H x W or Q x H x W, got {np.shape(data)}")
    out_dtype = np.dtype(arr.dtype if dtype is None else dtype)
    if out_dtype == np.bool_:
        out_dtype = np.dtype(np.uint8)
    if out_dtype.kind not in "uif":
        raise InvalidInputError(f"cannot write data of type {out_dtype} as a GeoTIFF")
    if band_names is not None and len(band_names) != arr.shape[0]:
        raise InvalidInputError(f"{len(band_names)} band names for {arr.shape[0]} maps")
    count, rows, cols = (int(n) for n in arr.shape)
    out_t = window_transform(transform, (rows, cols), window, georef.get("shape"))
    path = Path(path)
    profile = {
        "driver": "GTiff",
        "width": cols,
        "height": rows,
        "count": count,
        "dtype": out_dtype.name,
        "crs": crs,
        "transform": rasterio.Affine(*out_t),
        "compress": "deflate",
        "nodata": nodata,
    }
    if rows >= 256 and cols >= 256:
        profile.update(tiled=True, blockxsize=256, blockysize=256)
    from .atomic import atomic_path

    try:  # a kill leaves the earlier file (or none), never a cut one
        with atomic_path(path) as tmp, rasterio.open(tmp, "w", **profile) as dst:
            for r0 in range(0, rows, 1024):
                block = np.asarray(arr[:, r0 : r0 + 1024]).astype(out_dtype, copy=False)
                dst.write(block, window=Window(0, r0, cols, block.shape[1]))
            for i, name in enumerate(band_names or (), start=1):
                dst.set_band_description(i, str(name))
            if tags:
                dst.update_tags(**{str(k): str(v) for k, v in tags.items()})
    except rasterio.errors.RasterioError as exc:
        raise FileFormatError(f"{path}: cannot write GeoTIFF: {exc}") from exc
    return path


def _ring(region: Any) -> np.ndarray:
    """Closed ring ``(N + 1, 2)`` of ``(x, y)`` pixel vertices of a box or polygon."""
    arr = np.asarray(region, dtype=float)
    if arr.ndim == 1 and arr.size == 4:
        x0, y0, x1, y1 = arr
        arr = np.array([(x0, y0), (x1, y0), (x1, y1), (x0, y1)])
    elif arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] < 3:
        raise InvalidInputError(
            f"a region is a box (x0, y0, x1, y1) or >= 3 (x, y) vertices, got shape {arr.shape}"
        )
    return np.vstack([arr, arr[:1]])


def region_to_map(region: Any, georef: Mapping[str, Any]) -> dict[str, Any]:
    """Map coordinates of one region.

    Returns
    -------
    dict
        ``map_polygon`` (closed ring in the source CRS), ``map_bounds``
        ``(xmin, ymin, xmax, ymax)``, ``lonlat_polygon`` and ``lonlat_centre`` (WGS84,
        None when the CRS is unknown), and ``crs``.
    """
    transform, crs = _require_geo(georef)
    ring = _ring(region)
    xs, ys = pixel_to_map(transform, ring[:, 0], ring[:, 1])
    out: dict[str, Any] = {
        "map_polygon": np.column_stack([xs, ys]).tolist(),
        "map_bounds": [float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())],
        "crs": f"EPSG:{georef['epsg']}" if georef.get("epsg") else crs,
        "lonlat_polygon": None,
        "lonlat_centre": None,
    }
    if crs:
        lon, lat = map_to_lonlat(crs, xs, ys)
        out["lonlat_polygon"] = np.column_stack([lon, lat]).tolist()
        cx, cy = pixel_to_map(transform, ring[:-1, 0].mean(), ring[:-1, 1].mean())
        clon, clat = map_to_lonlat(crs, cx, cy)
        out["lonlat_centre"] = [float(clon[0]), float(clat[0])]
    return out
