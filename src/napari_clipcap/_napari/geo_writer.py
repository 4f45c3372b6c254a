"""npe2 writer: a georeferenced image layer -> GeoTIFF with its CRS and transform.

Any image layer whose metadata holds ``crs`` and ``transform`` (the layers of the
GeoTIFF reader, and result layers that carry them, such as heatmaps over a scene) can be
saved as a GeoTIFF that overlays the source in a GIS: *File > Save Selected Layers*,
choosing napari-clipcap, or ``viewer.layers.save("out.tif", plugin="napari-clipcap")``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.coords.georef import geo_of
from ..core.errors import InvalidInputError
from ..core.io.geoexport import write_geotiff


def _band_names(count: int, meta: dict[str, Any], metadata: dict[str, Any]) -> list[str] | None:
    if meta.get("rgb"):
        names = (metadata.get("composite") or {}).get("bands") or ["red", "green", "blue"]
    elif count == 1:
        names = [meta.get("name") or "band 1"]
    else:
        names = metadata.get("band_names") or []
    names = [str(n) for n in names]
    return names if len(names) == count else None


def write_geotiff_layer(path: str, data: Any, meta: dict[str, Any]) -> list[str]:
    """npe2 single-layer writer for image layers with georeferencing.

    Parameters
    ----------
    path : str
        Output ``.tif`` / ``.tiff``.
    data : array-like or list
        The layer data (a list of levels for a multiscale layer: the full resolution
        one is written, streamed in row blocks).
    meta : dict
        The layer state napari passes (``metadata``, ``rgb``, ``multiscale``, ``name``).

    Returns
    -------
    list of str
        The path written.

    Raises
    ------
    InvalidInputError
        When the layer has no CRS or transform, or is not 2D (or bands x 2D).
    """
    metadata = dict(meta.get("metadata") or {})
    if geo_of(metadata) is None:
        raise InvalidInputError(
            f"layer {meta.get('name')!r} has no CRS or transform; save it with napari's "
            "own TIFF writer instead"
        )
    arr = data[0] if meta.get("multiscale") or isinstance(data, list) else data
    if meta.get("rgb"):
        arr = np.moveaxis(arr, -1, 0)[:3]
    if arr.ndim not in (2, 3):
        raise InvalidInputError(f"can only write 2D images or band stacks, not shape {arr.shape}")
    if arr.ndim == 2:
        arr = arr[None]
    floating = np.dtype(arr.dtype).kind == "f"
    write_geotiff(
        path,
        arr,
        metadata,
        band_names=_band_names(arr.shape[0], meta, metadata),
        nodata=float("nan") if floating else None,
        tags={"napari_layer": meta.get("name", "")},
        dtype=None,
    )
    return [path]
