"""Which pixels of a source hold data: NaN, inf and GeoTIFF nodata are "no data".

:func:`~napari_clipcap.core.scaling.model_input.to_model_input` turns such pixels into
0 (black) for the models, so a result map can no longer tell them from dark sky or
water. These helpers read the mask from the source instead, so heatmaps can be NaN
(transparent in napari) where the source has no data:

- float data (FITS with NaN edges or BLANK values, GeoTIFF band stacks, whose nodata
  the reader turns into NaN): the finite pixels of the plane;
- a band composite of a GeoTIFF (float RGB in which nodata is already 0): the pixels
  where the composite's bands are finite in the scene the metadata names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import ClipcapError

__all__ = ["composite_valid_mask", "file_valid_mask", "plane_valid_mask", "valid_mask"]


def valid_mask(plane: Any, chunk_rows: int = 512) -> np.ndarray | None:
    """Finite pixels of one ``H x W`` or ``H x W x C`` plane (all channels finite).

    Parameters
    ----------
    plane : array-like
        NumPy, memmap or dask; read a band of rows at a time.
    chunk_rows : int
        Rows read per step.

    Returns
    -------
    ndarray of bool or None
        ``(H, W)``, True where the pixel has data; None when the data are not floating
        point (every pixel is valid).
    """
    if np.dtype(getattr(plane, "dtype", np.float64)).kind not in "fc":
        return None
    height, width = plane.shape[:2]
    out = np.empty((height, width), dtype=bool)
    for r in range(0, height, chunk_rows):
        band = np.isfinite(np.asarray(plane[r : r + chunk_rows]))
        out[r : r + chunk_rows] = band if band.ndim == 2 else band.all(axis=-1)
    return out


def plane_valid_mask(
    data: Any, index: tuple[int, ...] = (), *, rgb: bool = False
) -> np.ndarray | None:
    """:func:`valid_mask` of the plane ``data[index]`` of a layer's array.

    ``rgb`` says the last axis holds colour (it is then not a spatial axis).
    """
    if np.dtype(getattr(data, "dtype", np.float64)).kind not in "fc":
        return None
    lead = data.ndim - (3 if rgb else 2)
    idx = tuple(int(i) for i in index[:lead]) + (0,) * max(0, lead - len(index))
    return valid_mask(data[idx] if idx else data)


def composite_valid_mask(metadata: Mapping[str, Any] | None) -> np.ndarray | None:
    """Valid pixels of a GeoTIFF band composite, from the scene its metadata names.

    The layer metadata written by the GeoTIFF reader holds ``source_path``,
    ``band_names``, ``nodata`` and ``composite["bands"]``; without them (or when the
    scene has no nodata) the result is None: every pixel counts as valid.
    """
    meta = dict(metadata or {})
    comp = meta.get("composite") or {}
    path, names = meta.get("source_path"), list(meta.get("band_names") or [])
    has_nodata = any(v is not None for v in meta.get("nodata") or [])
    if not (path and comp.get("bands") and names and has_nodata):
        return None
    from ..io.geotiff import read_geotiff

    try:
        scene = read_geotiff(path)
        idx = [names.index(b) for b in comp["bands"]]
    except (ClipcapError, OSError, ValueError):
        return None  # the file went away or changed: no mask rather than a wrong one
    bands = scene.data[idx]
    return valid_mask(bands.transpose(1, 2, 0))


def file_valid_mask(image_file: Any) -> np.ndarray | None:
    """Valid pixels of an image read by :func:`~napari_clipcap.core.io.images.read_image`.

    Its ``data`` has 0 where the file has no data, so the file's raw pixels are read
    again (lazily): the plane ``read_image`` used of a FITS HDU (NaN and BLANK), or
    the composite bands of a GeoTIFF scene (nodata). Other kinds give None.
    """
    if getattr(image_file, "valid_known", False):  # taken when the pixels were read
        return image_file.valid
    if image_file.kind == "fits":
        from ..io.fits.reader import read_fits

        images = read_fits(image_file.path)
        chosen = [im for im in images if im.name == image_file.hdu] or list(images)[:1]
        return plane_valid_mask(chosen[0].data) if chosen else None
    if image_file.kind == "geotiff":
        from ..io.geoimage import scene_bands
        from ..io.geotiff import read_geotiff

        scene = read_geotiff(image_file.path)  # float (NaN) levels when nodata is set
        return valid_mask(scene.data[scene_bands(scene)].transpose(1, 2, 0))
    return None
