"""FITS HDU data -> scaled arrays in native byte order, lazy when large.

The raw bytes are read without astropy's scaling (``do_not_scale_image_data``) and
scaled here, block by block, with plain reads (:class:`~..filerows.FileRows`, not a
memory map), so a dask array reads and scales only the planes that are looked at and
an in-memory read holds the scaled array plus one band, never the file's pages too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import FileFormatError
from ..budget import over_budget_text
from ..filerows import FileRows

#: FITS BITPIX -> on-disk (big-endian) dtype.
BITPIX_DTYPES: dict[int, str] = {8: "u1", 16: ">i2", 32: ">i4", 64: ">i8", -32: ">f4", -64: ">f8"}
#: Target size of one dask chunk of a 2D image, in bytes.
CHUNK_BYTES = 64 * 2**20
#: Raw bytes read per step when data are read into memory (the band and its scaled copy
#: are what a read holds beyond its output).
READ_BAND_BYTES = 2 * 2**20

# FITS stores unsigned integers as signed ones with an offset (BZERO = 2**(bits-1)).
_PSEUDO_UNSIGNED = {
    np.dtype("int16"): (32768, np.uint16),
    np.dtype("int32"): (2**31, np.uint32),
    np.dtype("int64"): (2**63, np.uint64),
    np.dtype("uint8"): (-128, np.int8),
}


def lazy_threshold() -> int:
    """Raw data above this many bytes become dask arrays (64 MiB)."""
    return 64 * 2**20


@dataclass(frozen=True)
class Scaling:
    """``physical = BZERO + BSCALE * raw``, with ``raw == BLANK`` -> NaN."""

    raw: np.dtype
    bscale: float = 1.0
    bzero: float = 0.0
    blank: int | None = None

    @classmethod
    def from_header(cls, header: Any, raw: np.dtype) -> Scaling:
        blank = header.get("BLANK") if raw.kind in "iu" else None
        return cls(
            raw=np.dtype(raw).newbyteorder("="),
            bscale=float(header.get("BSCALE", 1.0)),
            bzero=float(header.get("BZERO", 0.0)),
            blank=int(blank) if isinstance(blank, (int, np.integer)) else None,
        )

    @property
    def unsigned(self) -> type | None:
        """The unsigned (or int8) dtype when the data are FITS pseudo-unsigned integers."""
        offset, dtype = _PSEUDO_UNSIGNED.get(self.raw, (None, None))
        if self.bscale == 1 and self.blank is None and offset is not None:
            return dtype if self.bzero == offset else None
        return None

    @property
    def dtype(self) -> np.dtype:
        """The dtype of the scaled data."""
        if self.unsigned is not None:
            return np.dtype(self.unsigned)
        plain = self.bscale == 1 and self.bzero == 0
        if self.raw.kind == "f" or (plain and self.blank is None):
            return self.raw
        return np.dtype(np.float32 if self.raw.itemsize <= 2 else np.float64)

    def apply(self, block: Any) -> np.ndarray:
        """Scale one block of raw values (any byte order) to :attr:`dtype`."""
        arr = np.asarray(block)
        if self.unsigned is not None:
            native = arr.astype(self.raw, copy=False)
            flip = np.array(1 << (8 * self.raw.itemsize - 1), dtype=np.uint64)
            width = np.dtype(f"u{self.raw.itemsize}")
            return (native.view(width) ^ flip.astype(width)).view(self.unsigned)
        out_dtype = self.dtype
        if out_dtype == self.raw and self.bscale == 1 and self.bzero == 0:
            return arr.astype(self.raw, copy=False)
        out = arr.astype(out_dtype)  # byte swap and conversion in one pass
        if self.bscale != 1:
            out *= out_dtype.type(self.bscale)
        if self.bzero != 0:
            out += out_dtype.type(self.bzero)
        if self.blank is not None:
            out[arr == self.blank] = np.nan
        return out


def _chunks(shape: tuple[int, ...], itemsize: int) -> tuple[int, ...]:
    if len(shape) >= 3:
        return (1,) * (len(shape) - 2) + tuple(shape[-2:])
    rows = max(1, min(shape[0], CHUNK_BYTES // max(1, shape[1] * itemsize)))
    return (rows, shape[1])


def _dask(source: Any, shape: tuple[int, ...], scaling: Scaling, token: str) -> Any:
    """A dask array reading ``source[block]`` through ``scaling``, chunk by chunk.

    ``dask.array.from_array`` is avoided on purpose: it copies array-like inputs, which
    for a memory map means reading the whole file.
    """
    import dask.array as da
    from dask.base import tokenize

    def read(block_info=None):
        where = block_info[None]["array-location"]
        return scaling.apply(source[tuple(slice(a, b) for a, b in where)])

    chunks = da.core.normalize_chunks(_chunks(shape, scaling.raw.itemsize), shape)
    return da.map_blocks(
        read,
        chunks=chunks,
        dtype=scaling.dtype,
        meta=np.empty((0,) * len(shape), scaling.dtype),
        name=f"fits-{tokenize(token, shape, scaling)}",
    )


def image_array(
    hdu: Any,
    path: Path,
    size: int,
    *,
    streamed: bool,
    lazy: bool | None,
    header: Any = None,
    max_pixels: int | None = None,
    windows: bool = False,
) -> tuple[Any, bool]:
    """Return ``(data, needs_open_file)`` for an image HDU opened without scaling.

    Parameters
    ----------
    hdu : astropy image HDU
        From ``fits.open(..., do_not_scale_image_data=True)``.
    path : Path
        The file, memory-mapped directly for uncompressed data.
    size : int
        The file's size in bytes, to detect truncated data before mapping it.
    streamed : bool
        The whole file is gzip/bzip2 compressed: it cannot be mapped.
    lazy : bool or None
        Force a dask array or an in-memory one; ``None`` decides by size.
    header : astropy.io.fits.Header, optional
        The HDU's header as read leniently (default ``hdu.header``).
    max_pixels : int, optional
        Data above this many pixels (all planes) are made lazy; where they cannot be
        (gzip/bzip2 files, ``lazy=False``) they are refused before reading.
    windows : bool
        Uncompressed data within ``max_pixels`` are given as :class:`ScaledRows`, read and scaled
        only where sliced (for tasks that read windows), instead of a dask array or an
        in-memory one.
    """
    from astropy.io import fits

    from .header import structure_problem, tile_problem

    header = hdu.header if header is None else header
    problem = structure_problem(header)
    if problem:
        raise FileFormatError(problem)
    bitpix = header.get("ZBITPIX") if "ZBITPIX" in header else header.get("BITPIX")
    if bitpix not in BITPIX_DTYPES:
        raise FileFormatError(f"BITPIX = {bitpix!r} is not a FITS data type")
    raw_dtype = np.dtype(BITPIX_DTYPES[bitpix])
    shape = tuple(int(n) for n in hdu.shape)
    scaling = Scaling.from_header(header, raw_dtype)
    nbytes = raw_dtype.itemsize * math.prod(shape)
    over = max_pixels is not None and math.prod(shape) > max_pixels
    lazy = (nbytes > lazy_threshold() or over) if lazy is None else lazy
    if isinstance(hdu, fits.CompImageHDU) and (problem := tile_problem(hdu)):
        raise FileFormatError(problem)
    if over and (streamed or not lazy):
        raise FileFormatError(over_budget_text(shape, max_pixels, streamed))
    stat = path.stat()
    token = f"{path.resolve()}:{stat.st_mtime_ns}:{stat.st_size}:{hdu.fileinfo()['datLoc']}"

    if isinstance(hdu, fits.CompImageHDU):
        if lazy:
            return _dask(hdu.section, shape, scaling, token), True
        return scaling.apply(hdu.data), False
    if streamed:
        raw = hdu.data
        if raw is None or tuple(raw.shape) != shape:
            raise FileFormatError("data truncated")
        return scaling.apply(raw), False
    offset = int(hdu.fileinfo()["datLoc"])
    if offset + nbytes > size:
        raise FileFormatError(
            f"data truncated: the header promises {nbytes} bytes of {shape} "
            f"{raw_dtype.name} but only {max(0, size - offset)} follow it"
        )
    # plain reads, not a memory map: mapped pages stay resident beside the scaled copy
    raw = FileRows(path, raw_dtype, offset, shape)
    if windows and not over:  # above the budget: a dask array, read with a stride
        return ScaledRows(raw, scaling), False
    if lazy:
        return _dask(raw, shape, scaling, token), False
    return read_scaled(raw, scaling), False


def read_scaled(source: FileRows, scaling: Scaling) -> np.ndarray:
    """All of ``source`` scaled, read into the output a band of rows at a time
    (memory: the output and one band of about :data:`READ_BAND_BYTES`, twice)."""
    out = np.empty(source.shape, dtype=scaling.dtype)
    row_bytes = max(1, source.nbytes // max(1, source.shape[0]))
    step = max(1, READ_BAND_BYTES // row_bytes)
    for r in range(0, source.shape[0], step):
        out[r : r + step] = scaling.apply(source.rows(r, r + step))
    return out


class ScaledRows:
    """A :class:`~..filerows.FileRows` of raw FITS values scaled where sliced.

    Behaves as the scaled array (``shape``, ``dtype``, slicing, ``np.asarray``) but reads
    only the rows a slice needs (the raw rows are kept one band at a time by the
    :class:`~..filerows.FileRows`), so a task cutting windows holds one band, not the
    plane.

    Parameters
    ----------
    raw : FileRows
        The HDU's raw values.
    scaling : Scaling
        BSCALE, BZERO and BLANK of the HDU.
    """

    def __init__(self, raw: FileRows, scaling: Scaling):
        self.raw = raw
        self.scaling = scaling
        self.shape = raw.shape
        self.ndim = raw.ndim
        self.dtype = scaling.dtype

    @property
    def nbytes(self) -> int:
        return self.dtype.itemsize * math.prod(self.shape)

    def __len__(self) -> int:
        return self.shape[0]

    def rows(self, start: int, stop: int) -> np.ndarray:
        """Scaled entries ``[start:stop]`` of the first axis, read from the file."""
        return self.scaling.apply(self.raw.rows(start, stop))

    def band(self, start: int, stop: int) -> np.ndarray:
        """Scaled rows ``[start:stop]``, read through the raw rows' band."""
        return self.scaling.apply(self.raw.band(start, stop))

    def __getitem__(self, key: Any) -> np.ndarray:
        return self.scaling.apply(self.raw[key])

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = read_scaled(self.raw, self.scaling)
        return out if dtype is None else out.astype(dtype, copy=False)
