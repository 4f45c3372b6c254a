"""GeoTIFF and Cloud-Optimised GeoTIFF scenes as lazy band stacks with georeferencing.

A scene is read with rasterio into a :class:`GeoScene`: one ``(bands, rows, cols)`` dask
array per resolution level (the full image first, then each overview), read window by
window only when a slice is computed, so a 10,000 x 10,000 scene opens at once. Band
names come from band descriptions, band tags or colour interpretation; nodata (and pixels
an internal mask marks invalid) becomes NaN in a float array so that display and scaling
ignore it; the CRS and affine transform go into :meth:`GeoScene.metadata`.

Pixel coordinates follow the package contract (``x`` = column, ``y`` = row). The affine
transform maps pixel *edges*: ``transform * (col, row)`` is the upper-left corner of
pixel ``(row, col)`` (GDAL's convention).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FileFormatError
from .rasterwindow import WindowReader, open_raster

#: File name endings this module claims.
GEOTIFF_SUFFIXES: tuple[str, ...] = (".tif", ".tiff")
#: Chunk edge (pixels) of the lazy arrays; a multiple of common COG block sizes.
CHUNK = 1024
#: Band tag keys that may hold a band's name, tried in order.
_NAME_TAGS = ("BANDNAME", "BAND_NAME", "NAME", "band_name", "name", "band")


def _has_tiff_suffix(path: str | os.PathLike) -> bool:
    return str(path).lower().endswith(GEOTIFF_SUFFIXES)


def is_geospatial_tiff(path: str | os.PathLike) -> bool:
    """True when ``path`` is a TIFF that carries georeferencing or more than four bands.

    Plain TIFFs (no CRS, transform or ground control points, at most four bands) return
    False so they stay with napari's own reader; so do files rasterio cannot open.

    Parameters
    ----------
    path : str or os.PathLike
        File to test; only ``.tif`` / ``.tiff`` names are opened.

    Returns
    -------
    bool
    """
    if not _has_tiff_suffix(path) or not Path(path).is_file():
        return False
    try:
        with open_raster(path) as src:
            if src.driver not in ("GTiff", "COG"):
                return False
            gcps, _ = src.gcps
            georeferenced = src.crs is not None or not src.transform.is_identity or bool(gcps)
            return bool(georeferenced or src.count > 4)
    except Exception:  # any failure to open means "not ours"
        return False


@dataclass
class GeoScene:
    """A GeoTIFF read lazily: bands, levels and georeferencing.

    Attributes
    ----------
    path : str
        The file read.
    levels : list of dask.array.Array
        ``(bands, rows, cols)`` arrays, full resolution first, then each overview.
    band_names : list of str
        One name per band.
    crs : str or None
        The coordinate reference system as WKT, or None when the file has none.
    epsg : int or None
        The EPSG code of ``crs`` when it has one.
    transform : tuple of float
        Affine coefficients ``(a, b, c, d, e, f)``: ``x = a*col + b*row + c`` and
        ``y = d*col + e*row + f`` at pixel edges of the full-resolution level.
    nodata : list of float or None
        The nodata value of each band (None where a band has none).
    source_dtype : str
        The data type stored in the file; ``levels`` are float when nodata is set.
    colorinterp : list of str
        GDAL colour interpretation of each band (``"red"``, ``"gray"``, ...).
    transform_from_gcps : bool
        True when ``transform`` was fitted to ground control points.
    masked : bool
        True when a per-dataset mask (not an alpha band) marks invalid pixels; they
        become NaN like nodata.
    """

    path: str
    levels: list[Any]
    band_names: list[str]
    crs: str | None
    epsg: int | None
    transform: tuple[float, ...]
    nodata: list[float | None]
    source_dtype: str
    colorinterp: list[str] = field(default_factory=list)
    transform_from_gcps: bool = False
    masked: bool = False

    @property
    def data(self) -> Any:
        """The full-resolution ``(bands, rows, cols)`` dask array."""
        return self.levels[0]

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(bands, rows, cols)`` of the full-resolution level."""
        return tuple(int(s) for s in self.levels[0].shape)  # type: ignore[return-value]

    def metadata(self) -> dict[str, Any]:
        """Plain metadata for a napari layer: CRS, transform, band names, nodata, source."""
        return {
            "crs": self.crs,
            "epsg": self.epsg,
            "transform": list(self.transform),
            "transform_from_gcps": self.transform_from_gcps,
            "shape": list(self.shape[1:]),
            "band_names": list(self.band_names),
            "nodata": list(self.nodata),
            "source_dtype": self.source_dtype,
            "source_path": self.path,
        }


def _band_names(src: Any) -> list[str]:
    names = []
    for i in range(1, src.count + 1):
        name = src.descriptions[i - 1]
        if not name:
            tags = src.tags(i)
            name = next((tags[k] for k in _NAME_TAGS if tags.get(k)), None)
        if not name:
            ci = src.colorinterp[i - 1].name
            name = ci if ci in ("red", "green", "blue", "alpha") and src.count <= 4 else None
        names.append(str(name) if name else f"band {i}")
    # duplicate names would make band lookup ambiguous: number the repeats
    seen: dict[str, int] = {}
    for i, n in enumerate(names):
        if n in seen:
            names[i] = f"{n} ({i + 1})"
        seen[n] = i
    return names


def _has_dataset_mask(src: Any) -> bool:
    """A per-dataset validity mask (GDAL internal mask, not nodata and not alpha)."""
    from rasterio.enums import MaskFlags

    flags = src.mask_flag_enums
    return bool(flags) and all(
        MaskFlags.per_dataset in f and MaskFlags.alpha not in f for f in flags
    )


def _display_dtype(source: np.dtype, nodata: Sequence[float | None], masked: bool) -> np.dtype:
    if source.kind == "f":
        return source
    if masked or any(nd is not None for nd in nodata):
        return np.dtype(np.float64) if source.itemsize >= 4 else np.dtype(np.float32)
    return source


def read_geotiff(path: str | os.PathLike, *, chunk: int = CHUNK) -> GeoScene:
    """Open a GeoTIFF or COG as a lazy :class:`GeoScene`.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    chunk : int
        Edge of the square windows the lazy arrays read at once.

    Returns
    -------
    GeoScene
        Bands, resolution levels (full first, then overviews) and georeferencing.

    Raises
    ------
    FileFormatError
        When the file does not exist, is not a TIFF, is broken, or holds complex data.
    """
    import dask.array as da
    from rasterio.transform import from_gcps

    path = os.fspath(path)
    if not Path(path).is_file():
        raise FileFormatError(f"{path}: no such file")
    try:
        with open_raster(path) as src:
            if src.driver not in ("GTiff", "COG"):
                raise FileFormatError(f"{path}: not a GeoTIFF (GDAL reads it as {src.driver})")
            dtypes = set(src.dtypes)
            if len(dtypes) != 1:
                raise FileFormatError(f"{path}: bands of mixed data types {sorted(dtypes)}")
            source = np.dtype(src.dtypes[0])
            if source.kind == "c":
                raise FileFormatError(f"{path}: complex-valued bands are not supported")
            nodata = [None if v is None else float(v) for v in src.nodatavals]
            masked = _has_dataset_mask(src)
            gcps, gcp_crs = src.gcps
            from_gcp = src.transform.is_identity and bool(gcps)
            transform = from_gcps(gcps) if from_gcp else src.transform
            crs = gcp_crs if from_gcp else src.crs
            shapes = [(src.count, src.height, src.width)]
            factors = src.overviews(1)
            names = _band_names(src)
            colorinterp = [c.name for c in src.colorinterp]
            epsg = crs.to_epsg() if crs is not None else None
            wkt = crs.to_wkt() if crs is not None else None
        for k in range(len(factors)):
            with open_raster(path, overview_level=k) as ov:
                shapes.append((ov.count, ov.height, ov.width))
    except FileFormatError:
        raise
    except Exception as exc:
        raise FileFormatError(f"{path}: cannot read as GeoTIFF: {exc}") from exc
    dtype = _display_dtype(source, nodata, masked)
    levels = []
    for level, shape in enumerate(shapes):
        reader = WindowReader(path, level, shape, dtype, nodata, masked)
        levels.append(
            da.from_array(
                reader,
                chunks=(1, chunk, chunk),
                asarray=False,
                lock=False,
                fancy=False,
                name=f"geotiff-{level}-{Path(path).name}-{id(reader)}",
            )
        )
    return GeoScene(
        path=path,
        levels=levels,
        band_names=names,
        crs=wkt,
        epsg=epsg,
        transform=tuple(float(v) for v in tuple(transform)[:6]),
        nodata=nodata,
        source_dtype=str(source),
        colorinterp=colorinterp,
        transform_from_gcps=from_gcp,
        masked=masked,
    )
