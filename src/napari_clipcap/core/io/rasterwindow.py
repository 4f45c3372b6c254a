"""Lazy window reads of one resolution level of a raster file, for dask.

:class:`WindowReader` is the array-like behind the levels of
:class:`~napari_clipcap.core.io.geotiff.GeoScene`: slicing it reads only the bounding
window of the slice, from the full image or an overview, and turns nodata and masked
pixels into NaN.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import FileFormatError


def open_raster(path: str | os.PathLike, **kwargs: Any):
    """Open ``path`` with rasterio, silencing the plain-TIFF georeferencing warning."""
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        return rasterio.open(path, **kwargs)


class WindowReader:
    """Array-like over one level of a GeoTIFF that reads only the windows asked for.

    The file is opened for each read, so the object is thread-safe and picklable (dask
    threads and distributed workers can share it) and keeps no file handle open.
    """

    def __init__(
        self,
        path: str,
        level: int,
        shape: tuple[int, int, int],
        dtype: np.dtype,
        nodata: Sequence[float | None],
        masked: bool = False,
    ):
        self.path = path
        self.level = level  # 0 = full resolution, k = overview k-1
        self.shape = shape
        self.dtype = np.dtype(dtype)
        self.ndim = 3
        self.nodata = list(nodata)
        self.masked = masked  # a per-dataset mask marks invalid pixels

    def __getitem__(self, key: Any) -> np.ndarray:
        key = key if isinstance(key, tuple) else (key,)
        key = key + (slice(None),) * (3 - len(key))
        ranges, drop = [], []
        for axis, (k, n) in enumerate(zip(key, self.shape)):
            if isinstance(k, (int, np.integer)):
                drop.append(axis)
                k = slice(int(k) % n, int(k) % n + 1)
            ranges.append(range(*k.indices(n)))
        out = self._read(*ranges)
        return out.squeeze(axis=tuple(drop)) if drop else out

    def _read(self, bands: range, rows: range, cols: range) -> np.ndarray:
        from rasterio.windows import Window

        if not len(bands) or not len(rows) or not len(cols):
            return np.empty((len(bands), len(rows), len(cols)), self.dtype)
        # read the bounding window with unit step, then apply any step
        r0, r1 = min(rows), max(rows) + 1
        c0, c1 = min(cols), max(cols) + 1
        kwargs = {} if self.level == 0 else {"overview_level": self.level - 1}
        window = Window(c0, r0, c1 - c0, r1 - r0)
        try:
            with open_raster(self.path, **kwargs) as src:
                out = src.read([b + 1 for b in bands], window=window)
                if self.masked:
                    out = np.concatenate([out, src.read_masks(1, window=window)[None]])
        except Exception as exc:
            raise FileFormatError(f"{self.path}: cannot read pixels: {exc}") from exc
        if rows.step != 1 or cols.step != 1:
            out = out[:, :: abs(rows.step), :: abs(cols.step)]
            out = out[:, :: -1 if rows.step < 0 else 1, :: -1 if cols.step < 0 else 1]
        valid = out
        out = out[: len(bands)].astype(self.dtype)
        for i, b in enumerate(bands):
            nd = self.nodata[b]
            if nd is not None and not np.isnan(nd):
                out[i][valid[i] == nd] = np.nan
        if self.masked:
            out[:, valid[-1] == 0] = np.nan
        return out
