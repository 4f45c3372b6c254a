"""npe2 reader for GeoTIFF / COG scenes, over :mod:`napari_clipcap.core.io.geotiff`.

napari offers this reader every ``.tif`` / ``.tiff``; it claims only files with
georeferencing or more than four bands (plain TIFFs stay with napari's own reader) and
returns, lazily and as multiscale layers when the file has overviews:

- the band stack ``(band, y, x)`` with the band names in its metadata, hidden when a
  composite is shown (8-bit RGB(A) GeoTIFFs become one RGB layer instead);
- on top of it, a true-colour composite (float RGB in ``[0, 1]``, each band stretched
  between its 2nd and 98th percentiles over the whole scene) when the bands are those
  of Sentinel-2, Landsat 8/9 or named red/green/blue; this is also what the models see.

Every layer's metadata holds ``crs``, ``epsg`` and ``transform``, from which the status
bar shows longitude/latitude and map ``x, y`` of the pixel under the cursor.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import FileFormatError
from ..core.io.geotiff import GeoScene, is_geospatial_tiff, read_geotiff
from ..core.scaling.composites import (
    COMPOSITES,
    band_limits,
    default_composite,
    lazy_composite,
    resolve_rgb,
)
from ..core.scaling.intervals import PercentileInterval

LayerData = tuple[Any, dict[str, Any], str]


def get_geotiff_reader(path: str | list[str]) -> Callable[[Any], list[LayerData]] | None:
    """npe2 reader contribution: a reader function when every path is a geospatial TIFF."""
    paths = [path] if isinstance(path, (str, Path)) else list(path)
    if not paths or not all(is_geospatial_tiff(p) for p in paths):
        return None
    return read_geotiff_layers


def read_geotiff_layers(path: str | list[str]) -> list[LayerData]:
    """Read one or more GeoTIFFs into napari layer data tuples (see the module notes).

    A broken or unsupported file raises :class:`FileFormatError` naming the file and the
    problem; inside a napari window it is shown as one error notification instead (as
    for FITS files) and adds no layer.
    """
    from .fits_reader import _install_status, _notify_in_gui

    paths = [path] if isinstance(path, (str, Path)) else list(path)
    layers: list[LayerData] = []
    for p in paths:
        try:
            layers.extend(scene_layers(read_geotiff(p)))
        except FileFormatError as exc:
            if not _notify_in_gui(str(exc), error=True):
                raise
    if layers:
        _install_status()
    # npe2's "accepted, nothing to add" value: napari then tries no other reader
    return layers or [(None,)]


def _levels(levels: list[Any]) -> dict[str, Any]:
    multiscale = len(levels) > 1
    return {"data": levels if multiscale else levels[0], "multiscale": multiscale}


def _is_rgb_photo(scene: GeoScene) -> bool:
    return (
        scene.source_dtype == "uint8"
        and scene.shape[0] in (3, 4)
        and scene.colorinterp[:3] == ["red", "green", "blue"]
    )


def scene_layers(scene: GeoScene, composite: str | None = "auto") -> list[LayerData]:
    """Layer data tuples for a scene.

    Parameters
    ----------
    scene : GeoScene
        A scene from :func:`~napari_clipcap.core.io.geotiff.read_geotiff`.
    composite : str or None
        ``"auto"``: the true-colour preset that fits the bands, if any; a key of
        :data:`~napari_clipcap.core.scaling.composites.COMPOSITES`; or None for the band
        stack only.

    Returns
    -------
    list of (data, kwargs, "image")
    """
    meta = scene.metadata()
    name = Path(scene.path).stem
    if _is_rgb_photo(scene):
        import dask.array as da

        rgb = [da.moveaxis(level[:3], 0, -1) for level in scene.levels]
        kwargs = {"name": name, "rgb": True, "contrast_limits": (0, 255), "metadata": meta}
        data = _levels(rgb)
        return [(data.pop("data"), {**kwargs, **data}, "image")]
    # statistics from the coarsest level: a faithful sample that costs one small read
    coarse = scene.levels[-1]
    key = default_composite(scene.band_names) if composite == "auto" else composite
    show_composite = bool(key) and scene.shape[0] >= 3
    lo, hi = PercentileInterval(lower_percentile=1.0, upper_percentile=99.0).get_limits(
        np.asarray(coarse)
    )
    single = scene.shape[0] == 1
    stack = [level[0] if single else level for level in scene.levels]
    data = _levels(stack)
    kwargs = {
        "name": f"{name} bands" if show_composite else name,
        "metadata": meta,
        "colormap": "gray",
        "contrast_limits": (lo, hi if hi > lo else lo + 1.0),
        "visible": not show_composite,
        "axis_labels": ("y", "x") if single else ("band", "y", "x"),
    }
    layers: list[LayerData] = [(data.pop("data"), {**kwargs, **data}, "image")]
    if show_composite:
        idx = resolve_rgb(key, scene.band_names)
        limits = band_limits(coarse, idx)
        comp_meta = {
            **meta,
            "composite": {
                "preset": key,
                "label": COMPOSITES[key].label,
                "bands": [scene.band_names[i] for i in idx],
                "limits": [list(lim) for lim in limits],
            },
        }
        data = _levels([lazy_composite(level, idx, limits) for level in scene.levels])
        kwargs = {
            "name": f"{name} [{COMPOSITES[key].label}]",
            "rgb": True,
            "contrast_limits": (0.0, 1.0),
            "metadata": comp_meta,
        }
        layers.append((data.pop("data"), {**kwargs, **data}, "image"))
    return layers
